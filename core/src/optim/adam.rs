//! Adam (Kingma & Ba), with exactly the update of `torch.optim.Adam` (amsgrad off,
//! L2 weight decay added to the gradient, not AdamW's decoupled decay):
//!
//! ```text
//! g ← g + wd·p                     (when wd ≠ 0)
//! t ← t + 1                        (per parameter, only on steps where it has a gradient)
//! m ← β1·m + (1−β1)·g              (m = (1−β1)·g on the first step)
//! v ← β2·v + (1−β2)·g²
//! p ← p − lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + ε)
//! ```
//!
//! The bias corrections and the step size are computed in `f64` and rounded once to the
//! element type, as PyTorch computes them in Python floats.

use crate::backend::{AdamHyper, Backend};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use alloc::format;
use num_traits::Float;

/// Adam's hyper-parameters other than the per-group learning rate and weight decay.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Decay rates of the first and second moment estimates.
    pub betas: (f64, f64),
    /// Added to the denominator after the square root.
    pub eps: f64,
}

impl Default for AdamConfig {
    /// PyTorch's defaults: betas (0.9, 0.999), eps 1e-8.
    fn default() -> Self {
        AdamConfig {
            betas: (0.9, 0.999),
            eps: 1e-8,
        }
    }
}

impl AdamConfig {
    /// Rejects betas outside [0, 1) and a negative or non-finite eps.
    pub(crate) fn validate(&self) -> Result<()> {
        let (b1, b2) = self.betas;
        for (name, b) in [("beta1", b1), ("beta2", b2)] {
            if !(b.is_finite() && (0.0..1.0).contains(&b)) {
                return Err(Error::bad_arg(
                    "Adam",
                    format!("{name} must lie in [0, 1), got {b}"),
                ));
            }
        }
        if !(self.eps.is_finite() && self.eps >= 0.0) {
            return Err(Error::bad_arg(
                "Adam",
                format!("eps must be finite and >= 0, got {}", self.eps),
            ));
        }
        Ok(())
    }
}

/// The names of Adam's per-parameter state tensors, as exported.
pub(crate) const ADAM_SLOTS: [&str; 2] = ["exp_avg", "exp_avg_sq"];

/// Adam's state for one parameter.
pub(crate) struct AdamSlots<B: Backend, E: Element> {
    /// How many updates this parameter has received.
    pub(crate) step: u64,
    pub(crate) exp_avg: Tensor<B, E>,
    pub(crate) exp_avg_sq: Tensor<B, E>,
}

impl<B: Backend, E: Element> Clone for AdamSlots<B, E> {
    fn clone(&self) -> Self {
        AdamSlots {
            step: self.step,
            exp_avg: self.exp_avg.clone(),
            exp_avg_sq: self.exp_avg_sq.clone(),
        }
    }
}

/// One Adam update of `value` (detached) with gradient `grad`: the new value and state.
/// `prev` is `None` on the parameter's first update. The arithmetic is the backend's
/// [`Backend::adam_update`](crate::Backend::adam_update) (one fused pass on a GPU).
pub(crate) fn adam_update<B: Backend, E: Element>(
    cfg: &AdamConfig,
    value: &Tensor<B, E>,
    grad: &Tensor<B, E>,
    prev: Option<&AdamSlots<B, E>>,
    lr: f64,
    weight_decay: f64,
) -> Result<(Tensor<B, E>, AdamSlots<B, E>)> {
    let (b1, b2) = cfg.betas;
    let step = prev.map_or(1, |s| s.step + 1);
    // A real power (libm's pow), as Python's `beta ** step` computes it.
    let t = step as f64;
    let hyper = AdamHyper {
        beta1: b1,
        beta2: b2,
        eps: cfg.eps,
        weight_decay,
        step_size: lr / (1.0 - Float::powf(b1, t)),
        bias_correction2_sqrt: Float::sqrt(1.0 - Float::powf(b2, t)),
    };
    let backend = value.backend();
    let out = backend.adam_update(
        value.storage(),
        grad.storage(),
        prev.map(|s| (s.exp_avg.storage(), s.exp_avg_sq.storage())),
        &hyper,
    )?;
    let dims = value.dims().to_vec();
    Ok((
        Tensor::from_storage(backend, out.value, dims.clone())?,
        AdamSlots {
            step,
            exp_avg: Tensor::from_storage(backend, out.exp_avg, dims.clone())?,
            exp_avg_sq: Tensor::from_storage(backend, out.exp_avg_sq, dims)?,
        },
    ))
}
