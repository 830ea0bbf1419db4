//! The Augerino baselines (docs/math.md §8): a T(2) network applied to copies of the input
//! transformed by group elements drawn from a learned subset, its logits averaged.
//!
//! The elements come from a [`PartialEquivariance`] over the whole group (random
//! sampling): N' = ⌈N·|θ|⌉ rotations stratified over [-πθ, πθ) (docs/math.md §4) and, for
//! E(2), the mirrored copies when the mirror's keep decision says so. θ learns through
//! the rotated images: [`transform_images`] is bilinear resampling written with
//! differentiable ops, so the loss reaches θ through the sampling positions.

use super::config::ModelConfig;
use crate::autodiff::Param;
use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::group::{
    Elements, PartialConfig, PartialEquivariance, PartialReport, PartialSample, SamplingMethod,
};
use crate::kernel::ParamRole;
use crate::layers::{ForwardCtx, LayerParams};
use crate::tensor::Tensor;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// `g·f` for every element `g = (r, m)` of `elements` (`[N]`, one set for the batch):
/// `(g·f)(p) = f(A(g)⁻¹·p)` with positions `p = (y, x)` relative to the image centre
/// ((H-1)/2, (W-1)/2) and `A(r, m) = R(r)·D(m)` as in docs/math.md §2, by bilinear
/// interpolation with zeros outside the image. `images` `[B, C, H, W]` gives
/// `[N·B, C, H, W]`, copy-major (copy n is rows n·B..(n+1)·B). Differentiable in the
/// images and in the angles.
///
/// A quarter turn (r = π/2) is exactly [`crate::equivariance::Transformation::rot90`]
/// on square images (a clockwise turn on screen), the mirror `x ↦ -x` reverses columns.
pub fn transform_images<B: Backend, E: Element>(
    images: &Tensor<B, E>,
    elements: &Elements<B, E>,
) -> Result<Tensor<B, E>> {
    const OP: &str = "transform_images";
    let d = images.dims();
    if d.len() != 4 {
        return Err(Error::bad_shape(OP, d, "the images must be [B, C, H, W]"));
    }
    if elements.batch().is_some() {
        return Err(Error::bad_arg(
            OP,
            "one set of elements for the whole batch ([N]) is expected",
        ));
    }
    let (b, c, h, w) = (d[0], d[1], d[2], d[3]);
    let n = elements.len();
    let backend = images.backend();
    let (cy, cx) = ((h as f64 - 1.0) / 2.0, (w as f64 - 1.0) / 2.0);
    let ys: Vec<f64> = (0..h * w).map(|i| (i / w) as f64 - cy).collect();
    let xs: Vec<f64> = (0..h * w).map(|i| (i % w) as f64 - cx).collect();
    let ys = Tensor::from_f64s(backend, &ys, [1, h, w])?;
    let xs = Tensor::from_f64s(backend, &xs, [1, h, w])?;
    let r = elements.rotations().reshape([n, 1, 1])?;
    let (cos, sin) = (r.cos()?, r.sin()?);
    // A(r, m)⁻¹ = A(r, m)ᵀ = [[cos r, -sin r], [m·sin r, m·cos r]].
    let src_y = cos
        .mul(&ys)?
        .sub(&sin.mul(&xs)?)?
        .add_scalar(E::from_f64(cy))?;
    let mut src_x = sin.mul(&ys)?.add(&cos.mul(&xs)?)?;
    if let Some(m) = elements.mirror_values() {
        src_x = src_x.mul(&Tensor::from_f64s(backend, m, [n, 1, 1])?)?;
    }
    let src_x = src_x.add_scalar(E::from_f64(cx))?;
    // [B, C, N, H, W] -> [N, B, C, H, W] -> [N·B, C, H, W]
    images
        .grid_sample_bilinear(&src_y, &src_x)?
        .permute(&[2, 0, 1, 3, 4])?
        .reshape([n * b, c, h, w])
}

/// An Augerino baseline: the learned subset (role `Probs`) and the T(2) network `N`
/// run on the transformed copies. `N` is a [`Model`](super::Model) (built from
/// `ModelConfig::augerino_inner`); the type is generic in it because a model is in turn
/// one of several networks, an Augerino among them, and a type cannot hold itself.
/// [`Model::forward`](super::Model::forward) runs it: [`Augerino::copies`], the
/// network, then [`Copies::average`].
#[derive(Clone, Debug)]
pub struct Augerino<B: Backend, E: Element, N> {
    augment: PartialEquivariance<B, E>,
    net: Box<N>,
}

/// The copies of a batch an Augerino's network runs on, with what was drawn to make
/// them.
pub struct Copies<B: Backend, E: Element> {
    /// `[N'·B, C, H, W]`, copy-major.
    pub images: Tensor<B, E>,
    drawn: PartialSample<B, E>,
    batch: usize,
}

impl<B: Backend, E: Element, N> Augerino<B, E, N> {
    /// The baseline around `net` (the config is validated by [`Model::new`](super::Model::new)):
    /// the subset of `config.conv.group` with `no_samples` copies and θ = 1 (the whole
    /// circle).
    pub(crate) fn new(backend: &B, config: &ModelConfig, net: N) -> Result<Self> {
        let c = &config.conv;
        let augment = PartialEquivariance::new(
            backend,
            PartialConfig {
                keep: c.keep,
                ..PartialConfig::new(c.group, c.no_samples, SamplingMethod::Random)
            },
        )?;
        Ok(Augerino {
            augment,
            net: Box::new(net),
        })
    }

    /// The inner T(2) network.
    pub fn net(&self) -> &N {
        &self.net
    }
    /// The inner network, mutably (its forward, its buffers).
    pub(crate) fn net_mut(&mut self) -> &mut N {
        &mut self.net
    }
    /// θ (and the E(2) mirror's keep probability).
    pub fn report(&self) -> Result<PartialReport> {
        self.augment.report()
    }

    /// Draws this pass's elements and transforms `images` `[B, C, H, W]` by each.
    pub fn copies(
        &self,
        images: &Tensor<B, E>,
        ctx: &mut ForwardCtx<B, E>,
    ) -> Result<Copies<B, E>> {
        let drawn = self.augment.sample(None, ctx.keep_mode(), &mut ctx.rng)?;
        let batch = images.dims().first().copied().unwrap_or(0);
        let images = transform_images(images, &drawn.elements)?;
        Ok(Copies {
            images,
            drawn,
            batch,
        })
    }

    fn augment_names(&self) -> Vec<String> {
        let a = &self.augment;
        [
            a.theta().map(|_| "theta"),
            a.rotation_logits().map(|_| "rotation_logits"),
            a.mirror_logit().map(|_| "mirror_logit"),
        ]
        .into_iter()
        .flatten()
        .map(|n| format!("augment.{n}"))
        .collect()
    }
}

impl<B: Backend, E: Element> Copies<B, E> {
    /// Logits `[B, classes]` from the network's `[N'·B, classes]` on the copies: their
    /// mean over the copies, each multiplied by its keep gate (1 in the forward pass).
    pub fn average(&self, logits: Tensor<B, E>) -> Result<Tensor<B, E>> {
        let n = self.drawn.elements.len();
        let k = logits.dims()[1];
        let mut logits = logits.reshape([n, self.batch, k])?;
        if let Some(g) = &self.drawn.gates {
            logits = logits.mul(&g.reshape([n, 1, 1])?)?;
        }
        logits.mean_axes(&[0], false)
    }
}

impl<B: Backend, E: Element, N: LayerParams<B, E>> LayerParams<B, E> for Augerino<B, E, N> {
    fn params(&self) -> Vec<&Param<B, E>> {
        let mut v = self.augment.params();
        v.extend(self.net.params());
        v
    }
    fn params_mut(&mut self) -> Vec<&mut Param<B, E>> {
        let mut v = self.augment.params_mut();
        v.extend(self.net.params_mut());
        v
    }
    fn param_names(&self) -> Vec<String> {
        let mut v = self.augment_names();
        v.extend(
            self.net
                .param_names()
                .into_iter()
                .map(|n| format!("net.{n}")),
        );
        v
    }
    fn param_roles(&self) -> Vec<ParamRole> {
        let mut v: Vec<ParamRole> = self
            .augment
            .params()
            .iter()
            .map(|_| ParamRole::Probs)
            .collect();
        v.extend(self.net.param_roles());
        v
    }
}
