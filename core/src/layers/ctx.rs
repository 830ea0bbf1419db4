//! What a forward pass needs besides the input: randomness, the training flag, the
//! Gumbel temperature, and (on request) the kernel norms for the weight-decay penalty.

use crate::backend::Backend;
use crate::element::Element;
use crate::group::{KeepMode, SamplingMethod};
use crate::rng::Rng;
use crate::tensor::Tensor;
use alloc::vec::Vec;

/// The per-call context of [`crate::layers`] forward passes.
///
/// Every random draw of a forward pass (sampled group elements, keep-or-drop decisions,
/// dropout masks) comes from `rng`, in network order, so a seed fixes a whole pass: two
/// passes with equally seeded contexts draw the same elements (what equivariance tests
/// rely on).
#[derive(Debug)]
pub struct ForwardCtx<B: Backend, E: Element> {
    /// The source of every draw.
    pub rng: Rng,
    /// Training mode: batch norms use batch statistics and update their running ones,
    /// dropout drops.
    pub training: bool,
    /// τ of the relaxed Bernoulli keep decisions (see
    /// [`TemperatureSchedule`](crate::group::TemperatureSchedule)).
    pub temperature: f64,
    /// In evaluation, draw nothing: keep exactly the elements with keep probability above
    /// 0.5 and take every grid without its random offset (the reference draws in
    /// evaluation too, which is the default). See [`ForwardCtx::most_likely`].
    pub most_likely_in_eval: bool,
    /// When `Some`, every convolution (lifting, group and pointwise, in the order of the
    /// forward pass) pushes `‖sampled kernel‖₂ + ‖bias‖₂` (a rank-0 tensor) here: the
    /// terms of the weight-decay penalty of docs/math.md §10.
    pub kernel_norms: Option<Vec<Tensor<B, E>>>,
}

impl<B: Backend, E: Element> ForwardCtx<B, E> {
    /// A training pass at Gumbel temperature `temperature`.
    pub fn train(rng: Rng, temperature: f64) -> Self {
        ForwardCtx {
            rng,
            training: true,
            temperature,
            most_likely_in_eval: false,
            kernel_norms: None,
        }
    }
    /// An evaluation pass (temperature 1e-4, the end of the default schedule).
    pub fn eval(rng: Rng) -> Self {
        ForwardCtx {
            rng,
            training: false,
            temperature: 1e-4,
            most_likely_in_eval: false,
            kernel_norms: None,
        }
    }
    /// A deterministic evaluation pass: the most likely network instead of a random draw
    /// of one. Partial layers keep exactly the elements whose keep probability exceeds
    /// 0.5, and every grid of elements (a partial layer's θ-scaled one, a randomly
    /// sampled layer's stratified one) is taken without its random offset, so `rng` is
    /// never drawn from and two passes give the same logits.
    pub fn most_likely(rng: Rng) -> Self {
        ForwardCtx {
            most_likely_in_eval: true,
            ..Self::eval(rng)
        }
    }
    /// The same context collecting kernel norms (see [`ForwardCtx::kernel_norms`]).
    pub fn collecting_kernel_norms(mut self) -> Self {
        self.kernel_norms = Some(Vec::new());
        self
    }
    /// How a layer configured to sample its elements by `configured` samples them in this
    /// pass: a most-likely evaluation takes the grid without its random offset.
    pub fn sampling(&self, configured: SamplingMethod) -> SamplingMethod {
        if !self.training && self.most_likely_in_eval {
            SamplingMethod::Deterministic
        } else {
            configured
        }
    }
    /// How partial layers decide which elements to keep in this pass.
    pub fn keep_mode(&self) -> KeepMode {
        if !self.training && self.most_likely_in_eval {
            KeepMode::MostLikely
        } else {
            KeepMode::Sample {
                temperature: self.temperature,
            }
        }
    }
}
