//! The (partial) group convolution (docs/math.md §4, §6): a map on input elements
//! g_1..g_Nin to a map on output elements h_1..h_Nout, with
//! `K[n][co, ci, j](p) = kernel_net(concat(A(h_n⁻¹)·p, coords(h_n⁻¹·g_j)))[co, ci]` on the
//! circular support, summed over ci and j as one conv2d with Cin·Nin input channels
//! (no 1/N factor).

use super::config::ConvConfig;
use super::conv_common::{
    add_bias, check_channels, conv_over_samples, kernel_values, record_kernel_norm, ConvParts,
    ParamList,
};
use super::ctx::ForwardCtx;
use super::group_map::GroupMap;
use super::LayerParams;
use crate::autodiff::Param;
use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::group::{
    group_conv_coords, sample_group, Elements, KernelGrid, PartialConfig, PartialEquivariance,
    PartialReport, PartialSample,
};
use crate::kernel::{KernelNet, KernelNetwork, ParamRole};
use crate::rng::Rng;
use crate::tensor::Tensor;
use alloc::string::String;
use alloc::vec::Vec;

/// A group convolution: kernel net (input dimension 2 + s), bias, config and, for a
/// partial layer, its learned subset ([`PartialEquivariance`], role `Probs`).
///
/// Output elements: a partial layer draws them from its learned subset every pass; a
/// layer with `sample_per_layer` draws the whole group; otherwise it reuses its input's.
#[derive(Clone, Debug)]
pub struct GroupConv<B: Backend, E: Element> {
    config: ConvConfig,
    kernel_net: KernelNetwork<B, E>,
    bias: Option<Param<B, E>>,
    partial: Option<PartialEquivariance<B, E>>,
    grid: KernelGrid,
    mask: Tensor<B, E>,
    backend: B,
}

impl<B: Backend, E: Element> GroupConv<B, E> {
    /// Builds the layer, initialising the kernel net from `rng`; a partial layer starts
    /// at θ = 1 / logits 1 (the whole group, see [`PartialConfig::new`]).
    pub fn new(backend: &B, config: ConvConfig, rng: &mut Rng) -> Result<Self> {
        const OP: &str = "GroupConv::new";
        config.validate(OP)?;
        let in_dim = 2 + config.group.stabiliser_dim();
        let ConvParts {
            kernel_net,
            bias,
            grid,
            mask,
        } = ConvParts::new(backend, &config, in_dim, rng)?;
        let partial = if config.partial {
            let pc = PartialConfig {
                keep: config.keep,
                ..PartialConfig::new(config.group, config.no_samples, config.sampling)
            };
            Some(PartialEquivariance::new(backend, pc)?)
        } else {
            None
        };
        Ok(GroupConv {
            config,
            kernel_net,
            bias,
            partial,
            grid,
            mask,
            backend: backend.clone(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &ConvConfig {
        &self.config
    }
    /// The kernel net.
    pub fn kernel_net(&self) -> &KernelNetwork<B, E> {
        &self.kernel_net
    }
    /// The bias `[Cout]`, when the layer has one.
    pub fn bias(&self) -> Option<&Param<B, E>> {
        self.bias.as_ref()
    }
    /// The learned subset of a partial layer.
    pub fn partial(&self) -> Option<&PartialEquivariance<B, E>> {
        self.partial.as_ref()
    }
    /// θ of a partial layer with random sampling (what the monotonic loss takes).
    pub fn theta(&self) -> Option<&Param<B, E>> {
        self.partial.as_ref().and_then(|p| p.theta())
    }
    /// What a partial layer has learned (θ, keep probabilities), for the per-epoch
    /// report; `None` for a layer that is not partial.
    pub fn partial_report(&self) -> Result<Option<PartialReport>> {
        self.partial.as_ref().map(|p| p.report()).transpose()
    }

    /// The output elements of one pass on `input` (and the gates of a partial layer's
    /// keep decisions, see [`PartialSample`]).
    pub fn output_elements(
        &self,
        input: &GroupMap<B, E>,
        ctx: &mut ForwardCtx<B, E>,
    ) -> Result<PartialSample<B, E>> {
        let per_image = self.config.batched_draws().then_some(input.batch());
        if let Some(p) = &self.partial {
            let mode = ctx.keep_mode();
            return p.sample(per_image, mode, &mut ctx.rng);
        }
        let elements = if self.config.sample_per_layer {
            sample_group(
                &self.backend,
                self.config.group,
                self.config.no_samples,
                ctx.sampling(self.config.sampling),
                per_image,
                &mut ctx.rng,
            )?
        } else {
            input.elements().clone()
        };
        Ok(PartialSample {
            elements,
            gates: None,
        })
    }

    /// The sampled, masked kernel from input elements `inp` to output elements `out`:
    /// `[Nout·Cout, Cin·Nin, k, k]`, or with a leading factor B when either side is drawn
    /// per image (sample-major, then Cout; input channel-major, then element).
    pub fn kernel(&self, out: &Elements<B, E>, inp: &Elements<B, E>) -> Result<Tensor<B, E>> {
        if out.kind() != self.config.group {
            return Err(Error::bad_arg(
                "GroupConv::kernel",
                alloc::format!(
                    "the layer is for {} but the elements are {}",
                    self.config.group,
                    out.kind()
                ),
            ));
        }
        let (co, ci, k) = (
            self.config.out_channels,
            self.config.in_channels,
            self.config.kernel_size,
        );
        // [(B,) Nout, Nin, k, k, 2 + s]
        let coords = group_conv_coords(out, inp, &self.grid)?;
        let batched = coords.rank() == 6;
        // [(B,) Nout, Nin, k, k, Co, Ci] -> [(B,) Nout, Co, Ci, Nin, k, k]
        let values = kernel_values(&self.kernel_net, &coords, co, ci)?;
        let perm: &[usize] = if batched {
            &[0, 1, 5, 6, 2, 3, 4]
        } else {
            &[0, 4, 5, 1, 2, 3]
        };
        let rows = if batched { coords.dims()[0] } else { 1 } * out.len() * co;
        values
            .permute(perm)?
            .mul(&self.mask)?
            .reshape([rows, ci * inp.len(), k, k])
    }

    /// The layer on `input` with given output elements and optional gates `[Nout]`
    /// (multiplying output sample n; see [`PartialSample`]).
    pub fn forward_on(
        &self,
        input: &GroupMap<B, E>,
        out: &Elements<B, E>,
        gates: Option<&Tensor<B, E>>,
        ctx: &mut ForwardCtx<B, E>,
    ) -> Result<GroupMap<B, E>> {
        const OP: &str = "GroupConv::forward";
        let d = input.dims();
        check_channels(OP, d, self.config.in_channels)?;
        let kernel = self.kernel(out, input.elements())?;
        record_kernel_norm(ctx, &kernel, self.bias.as_ref())?;
        let per_image = out.batch().or(input.elements().batch());
        let x = input.tensor().reshape([d[0], d[1] * d[2], d[3], d[4]])?;
        let y = conv_over_samples(
            OP,
            &x,
            &kernel,
            per_image,
            out.len(),
            self.config.out_channels,
            self.config.padding,
        )?;
        let mut y = add_bias(&y, self.bias.as_ref())?;
        if let Some(g) = gates {
            if g.dims() != [out.len()] {
                return Err(Error::mismatch(
                    OP,
                    g.dims(),
                    &[out.len()],
                    "one gate per output element",
                ));
            }
            y = y.mul(&g.reshape([1, 1, out.len(), 1, 1])?)?;
        }
        GroupMap::new(y, out.clone())
    }

    /// The layer on `input`: picks its output elements
    /// ([`GroupConv::output_elements`]), then [`GroupConv::forward_on`].
    pub fn forward(
        &self,
        input: &GroupMap<B, E>,
        ctx: &mut ForwardCtx<B, E>,
    ) -> Result<GroupMap<B, E>> {
        let drawn = self.output_elements(input, ctx)?;
        self.forward_on(input, &drawn.elements, drawn.gates.as_ref(), ctx)
    }

    fn list(&self) -> ParamList<'_, B, E> {
        let mut partial = Vec::new();
        if let Some(p) = &self.partial {
            partial.extend(p.theta().map(|t| ("theta", t)));
            partial.extend(p.rotation_logits().map(|t| ("rotation_logits", t)));
            partial.extend(p.mirror_logit().map(|t| ("mirror_logit", t)));
        }
        ParamList {
            net: &self.kernel_net,
            bias: self.bias.as_ref(),
            partial,
        }
    }
}

impl<B: Backend, E: Element> LayerParams<B, E> for GroupConv<B, E> {
    fn params(&self) -> Vec<&Param<B, E>> {
        self.list().params()
    }
    fn params_mut(&mut self) -> Vec<&mut Param<B, E>> {
        let mut v = self.kernel_net.params_mut();
        v.extend(self.bias.as_mut());
        if let Some(p) = self.partial.as_mut() {
            v.extend(p.params_mut());
        }
        v
    }
    fn param_names(&self) -> Vec<String> {
        self.list().names()
    }
    fn param_roles(&self) -> Vec<ParamRole> {
        self.list().roles()
    }
}
