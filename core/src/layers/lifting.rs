//! The lifting convolution (docs/math.md §6): an image `[B, Cin, H, W]` to a map on the
//! group `[B, Cout, N, H, W]`, `out[:, :, n] = conv2d(f, K_n) + bias` with
//! `K_n[co, ci](p) = kernel_net(A(h_n⁻¹)·p)[co, ci]` on the circular support.

use super::config::ConvConfig;
use super::conv_common::{
    add_bias, conv_over_samples, kernel_values, record_kernel_norm, ConvParts, ParamList,
};
use super::ctx::ForwardCtx;
use super::group_map::GroupMap;
use super::LayerParams;
use crate::autodiff::Param;
use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::group::{acted_grid, sample_group, Elements, KernelGrid};
use crate::kernel::{KernelNetwork, ParamRole};
use crate::rng::Rng;
use crate::tensor::Tensor;
use alloc::string::String;
use alloc::vec::Vec;

/// A lifting convolution: its kernel net (input dimension 2), bias and config. It
/// always samples the whole group (never partial), drawing fresh elements every pass.
#[derive(Clone, Debug)]
pub struct LiftingConv<B: Backend, E: Element> {
    config: ConvConfig,
    kernel_net: KernelNetwork<B, E>,
    bias: Option<Param<B, E>>,
    grid: KernelGrid,
    mask: Tensor<B, E>,
    backend: B,
}

impl<B: Backend, E: Element> LiftingConv<B, E> {
    /// Builds the layer, initialising the kernel net from `rng`. `config.partial` must
    /// be false (lifting layers sample the whole group).
    pub fn new(backend: &B, config: ConvConfig, rng: &mut Rng) -> Result<Self> {
        const OP: &str = "LiftingConv::new";
        config.validate(OP)?;
        if config.partial {
            return Err(Error::bad_arg(
                OP,
                "the lifting convolution always samples the whole group; partial \
                 equivariance starts at the first group convolution",
            ));
        }
        let ConvParts {
            kernel_net,
            bias,
            grid,
            mask,
        } = ConvParts::new(backend, &config, 2, rng)?;
        Ok(LiftingConv {
            config,
            kernel_net,
            bias,
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

    /// Draws the elements of one pass for a batch of `batch` images (per image when the
    /// config samples per batch element).
    pub fn sample_elements(
        &self,
        batch: usize,
        ctx: &mut ForwardCtx<B, E>,
    ) -> Result<Elements<B, E>> {
        let per_image = self.config.batched_draws().then_some(batch);
        sample_group(
            &self.backend,
            self.config.group,
            self.config.no_samples,
            ctx.sampling(self.config.sampling),
            per_image,
            &mut ctx.rng,
        )
    }

    /// The sampled, masked kernel for `elements`: `[N·Cout, Cin, k, k]`, or
    /// `[B·N·Cout, Cin, k, k]` for per-image elements (sample-major, then Cout).
    pub fn kernel(&self, elements: &Elements<B, E>) -> Result<Tensor<B, E>> {
        if elements.kind() != self.config.group {
            return Err(Error::bad_arg(
                "LiftingConv::kernel",
                alloc::format!(
                    "the layer is for {} but the elements are {}",
                    self.config.group,
                    elements.kind()
                ),
            ));
        }
        let (co, ci, k) = (
            self.config.out_channels,
            self.config.in_channels,
            self.config.kernel_size,
        );
        let coords = acted_grid(elements, &self.grid)?; // [(B,) N, k, k, 2]
        let values = kernel_values(&self.kernel_net, &coords, co, ci)?; // [(B,) N, k, k, Co, Ci]
        let perm: &[usize] = if elements.batch().is_some() {
            &[0, 1, 4, 5, 2, 3]
        } else {
            &[0, 3, 4, 1, 2]
        };
        let rows = elements.batch().unwrap_or(1) * elements.len() * co;
        values
            .permute(perm)?
            .mul(&self.mask)?
            .reshape([rows, ci, k, k])
    }

    /// The layer on `image` `[B, Cin, H, W]` with given output elements (`[N]` or
    /// `[B, N]`): `[B, Cout, N, H', W']` on those elements.
    pub fn forward_on(
        &self,
        image: &Tensor<B, E>,
        elements: &Elements<B, E>,
        ctx: &mut ForwardCtx<B, E>,
    ) -> Result<GroupMap<B, E>> {
        const OP: &str = "LiftingConv::forward";
        let d = image.dims();
        if d.len() != 4 || d[1] != self.config.in_channels {
            return Err(Error::bad_shape(
                OP,
                d,
                alloc::format!(
                    "the lifting convolution takes images [B, {}, H, W]",
                    self.config.in_channels
                ),
            ));
        }
        let kernel = self.kernel(elements)?;
        record_kernel_norm(ctx, &kernel, self.bias.as_ref())?;
        let y = conv_over_samples(
            OP,
            image,
            &kernel,
            elements.batch(),
            elements.len(),
            self.config.out_channels,
            self.config.padding,
        )?;
        GroupMap::new(add_bias(&y, self.bias.as_ref())?, elements.clone())
    }

    /// The layer on `image` `[B, Cin, H, W]`: draws its elements, then
    /// [`LiftingConv::forward_on`].
    pub fn forward(
        &self,
        image: &Tensor<B, E>,
        ctx: &mut ForwardCtx<B, E>,
    ) -> Result<GroupMap<B, E>> {
        let batch = image.dims().first().copied().unwrap_or(0);
        let elements = self.sample_elements(batch, ctx)?;
        self.forward_on(image, &elements, ctx)
    }

    fn list(&self) -> ParamList<'_, B, E> {
        ParamList {
            net: &self.kernel_net,
            bias: self.bias.as_ref(),
            partial: Vec::new(),
        }
    }
}

impl<B: Backend, E: Element> LayerParams<B, E> for LiftingConv<B, E> {
    fn params(&self) -> Vec<&Param<B, E>> {
        self.list().params()
    }
    fn params_mut(&mut self) -> Vec<&mut Param<B, E>> {
        let mut v = crate::kernel::KernelNet::params_mut(&mut self.kernel_net);
        v.extend(self.bias.as_mut());
        v
    }
    fn param_names(&self) -> Vec<String> {
        self.list().names()
    }
    fn param_roles(&self) -> Vec<ParamRole> {
        self.list().roles()
    }
}
