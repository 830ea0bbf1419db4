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

use crate::backend::{AdamHyper, AdamJob, Backend};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;
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

/// One parameter's Adam update: its value (detached), gradient, state (`None` before its
/// first update), learning rate and weight decay.
pub(crate) struct AdamInput<'a, B: Backend, E: Element> {
    pub(crate) value: &'a Tensor<B, E>,
    pub(crate) grad: &'a Tensor<B, E>,
    pub(crate) prev: Option<&'a AdamSlots<B, E>>,
    pub(crate) lr: f64,
    pub(crate) weight_decay: f64,
}

/// A parameter's new value and Adam state.
pub(crate) type AdamResult<B, E> = (Tensor<B, E>, AdamSlots<B, E>);

/// The Adam updates of several parameters (one optimiser step): each one's new value and
/// state, in order. The arithmetic is the backend's
/// [`crate::Backend::adam_update_many`] (on a GPU, fused
/// passes over many parameters per launch; the result is each parameter's
/// [`crate::Backend::adam_update`]).
pub(crate) fn adam_update_all<B: Backend, E: Element>(
    cfg: &AdamConfig,
    backend: &B,
    inputs: &[AdamInput<'_, B, E>],
) -> Result<Vec<AdamResult<B, E>>> {
    let (b1, b2) = cfg.betas;
    let steps: Vec<u64> = inputs
        .iter()
        .map(|i| i.prev.map_or(1, |s| s.step + 1))
        .collect();
    let jobs: Vec<AdamJob<'_, B::Storage<E>>> = inputs
        .iter()
        .zip(&steps)
        .map(|(i, &step)| {
            // A real power (libm's pow), as Python's `beta ** step` computes it.
            let t = step as f64;
            AdamJob {
                value: i.value.storage(),
                grad: i.grad.storage(),
                moments: i
                    .prev
                    .map(|s| (s.exp_avg.storage(), s.exp_avg_sq.storage())),
                hyper: AdamHyper {
                    beta1: b1,
                    beta2: b2,
                    eps: cfg.eps,
                    weight_decay: i.weight_decay,
                    step_size: i.lr / (1.0 - Float::powf(b1, t)),
                    bias_correction2_sqrt: Float::sqrt(1.0 - Float::powf(b2, t)),
                },
            }
        })
        .collect();
    let outs = backend.adam_update_many(&jobs)?;
    if outs.len() != inputs.len() {
        return Err(Error::Backend {
            backend: backend.name(),
            op: "adam_update_many",
            reason: format!("{} results for {} parameters", outs.len(), inputs.len()),
        });
    }
    outs.into_iter()
        .zip(inputs.iter().zip(steps))
        .map(|(out, (i, step))| {
            let dims = i.value.dims().to_vec();
            Ok((
                Tensor::from_storage(backend, out.value, dims.clone())?,
                AdamSlots {
                    step,
                    exp_avg: Tensor::from_storage(backend, out.exp_avg, dims.clone())?,
                    exp_avg_sq: Tensor::from_storage(backend, out.exp_avg_sq, dims)?,
                },
            ))
        })
        .collect()
}
