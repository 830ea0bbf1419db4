//! The pointwise group convolution (docs/math.md §6), the residual shortcut of CKResNet
//! blocks: kernel size 1, the kernel net sees only `coords(h_n⁻¹·g_j)`, no bias, never
//! partial, and its kernel net is half as wide as the block's.

use super::config::ConvConfig;
use super::conv_common::{
    check_channels, conv_kernel_net, conv_over_samples, kernel_values, record_kernel_norm,
    ParamList,
};
use super::ctx::ForwardCtx;
use super::group_map::GroupMap;
use super::LayerParams;
use crate::autodiff::Param;
use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::group::{relative_coords, Elements, GroupKind};
use crate::kernel::{KernelNet, KernelNetwork, ParamRole};
use crate::ops::Padding;
use crate::rng::Rng;
use crate::tensor::Tensor;
use alloc::string::String;
use alloc::vec::Vec;

/// A pointwise group convolution from the input's elements to given output elements
/// (the block's, so that the shortcut can be added to the block's output).
///
/// For T(2) the relative element is always the identity and has no coordinates; the
/// kernel net then sees the single constant coordinate 1 (input dimension 1), which
/// makes the layer an ordinary learned 1×1 convolution. (The constant 0 would not do:
/// a SIREN's first layer maps it to sin(0) = 0 at initialisation.)
#[derive(Clone, Debug)]
pub struct PointwiseGroupConv<B: Backend, E: Element> {
    config: ConvConfig,
    kernel_net: KernelNetwork<B, E>,
}

impl<B: Backend, E: Element> PointwiseGroupConv<B, E> {
    /// Builds the shortcut for a block configured by `block` (its channels, group and
    /// kernel net): kernel size 1, no bias, not partial, hidden width halved (at
    /// least 1).
    pub fn new(backend: &B, block: ConvConfig, rng: &mut Rng) -> Result<Self> {
        let mut config = block;
        config.kernel_size = 1;
        config.padding = Padding::Same;
        config.bias = false;
        config.partial = false;
        config.kernel.hidden = (config.kernel.hidden / 2).max(1);
        config.validate("PointwiseGroupConv::new")?;
        let in_dim = config.group.stabiliser_dim().max(1);
        let kernel_net = conv_kernel_net(backend, &config, in_dim, rng)?;
        Ok(PointwiseGroupConv { config, kernel_net })
    }

    /// The settings (as adjusted by [`PointwiseGroupConv::new`]).
    pub fn config(&self) -> &ConvConfig {
        &self.config
    }
    /// The kernel net.
    pub fn kernel_net(&self) -> &KernelNetwork<B, E> {
        &self.kernel_net
    }

    /// The kernel `[Nout·Cout, Cin·Nin, 1, 1]` (leading factor B when either side is
    /// drawn per image).
    pub fn kernel(&self, out: &Elements<B, E>, inp: &Elements<B, E>) -> Result<Tensor<B, E>> {
        if out.kind() != self.config.group {
            return Err(Error::bad_arg(
                "PointwiseGroupConv::kernel",
                alloc::format!(
                    "the layer is for {} but the elements are {}",
                    self.config.group,
                    out.kind()
                ),
            ));
        }
        let (co, ci) = (self.config.out_channels, self.config.in_channels);
        let mut coords = relative_coords(out, inp)?; // [(B,) Nout, Nin, s]
        if self.config.group == GroupKind::T2 {
            // relative_coords gives [(B,) Nout, Nin, 0] here: give the axis one entry.
            let mut d = coords.dims().to_vec();
            let last = d.len() - 1;
            d[last] = 1;
            coords = Tensor::ones(out.rotations().backend(), d)?;
        }
        let batched = coords.rank() == 4;
        // [(B,) Nout, Nin, Co, Ci] -> [(B,) Nout, Co, Ci, Nin]
        let values = kernel_values(&self.kernel_net, &coords, co, ci)?;
        let perm: &[usize] = if batched {
            &[0, 1, 3, 4, 2]
        } else {
            &[0, 2, 3, 1]
        };
        let rows = if batched { coords.dims()[0] } else { 1 } * out.len() * co;
        values.permute(perm)?.reshape([rows, ci * inp.len(), 1, 1])
    }

    /// The shortcut of `input` onto the elements `out`.
    pub fn forward(
        &self,
        input: &GroupMap<B, E>,
        out: &Elements<B, E>,
        ctx: &mut ForwardCtx<B, E>,
    ) -> Result<GroupMap<B, E>> {
        const OP: &str = "PointwiseGroupConv::forward";
        let d = input.dims();
        check_channels(OP, d, self.config.in_channels)?;
        let kernel = self.kernel(out, input.elements())?;
        record_kernel_norm(ctx, &kernel, None)?;
        let per_image = out.batch().or(input.elements().batch());
        let x = input.tensor().reshape([d[0], d[1] * d[2], d[3], d[4]])?;
        let y = conv_over_samples(
            OP,
            &x,
            &kernel,
            per_image,
            out.len(),
            self.config.out_channels,
            Padding::Same,
        )?;
        GroupMap::new(y, out.clone())
    }

    fn list(&self) -> ParamList<'_, B, E> {
        ParamList {
            net: &self.kernel_net,
            bias: None,
            partial: Vec::new(),
        }
    }
}

impl<B: Backend, E: Element> LayerParams<B, E> for PointwiseGroupConv<B, E> {
    fn params(&self) -> Vec<&Param<B, E>> {
        self.list().params()
    }
    fn params_mut(&mut self) -> Vec<&mut Param<B, E>> {
        self.kernel_net.params_mut()
    }
    fn param_names(&self) -> Vec<String> {
        self.list().names()
    }
    fn param_roles(&self) -> Vec<ParamRole> {
        self.list().roles()
    }
}
