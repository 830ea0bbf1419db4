//! Stochastic gradient descent with momentum, dampening and Nesterov momentum, with
//! exactly the update of `torch.optim.SGD`:
//!
//! ```text
//! d ← g + wd·p                          (when wd ≠ 0)
//! b ← d                                 (first step with momentum: the buffer is d itself)
//! b ← μ·b + (1−dampening)·d             (later steps)
//! d ← d + μ·b  (Nesterov)   or   d ← b  (classical)          (when μ ≠ 0)
//! p ← p − lr·d
//! ```

use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use alloc::format;

/// SGD's hyper-parameters other than the per-group learning rate and weight decay.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct SgdConfig {
    /// Momentum factor μ; 0 is plain SGD (and keeps no state).
    pub momentum: f64,
    /// Dampening of the gradient's contribution to the momentum buffer.
    pub dampening: f64,
    /// Nesterov momentum; needs momentum > 0 and dampening 0 (as PyTorch).
    pub nesterov: bool,
}

impl SgdConfig {
    /// Rejects what PyTorch rejects: negative momentum, and Nesterov without momentum or
    /// with dampening. Also non-finite values.
    pub(crate) fn validate(&self) -> Result<()> {
        if !(self.momentum.is_finite() && self.momentum >= 0.0) {
            return Err(Error::bad_arg(
                "SGD",
                format!("momentum must be finite and >= 0, got {}", self.momentum),
            ));
        }
        if !self.dampening.is_finite() {
            return Err(Error::bad_arg(
                "SGD",
                format!("dampening must be finite, got {}", self.dampening),
            ));
        }
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(Error::bad_arg(
                "SGD",
                format!(
                    "Nesterov momentum requires momentum > 0 and dampening 0, got momentum {} and dampening {}",
                    self.momentum, self.dampening
                ),
            ));
        }
        Ok(())
    }
}

/// The name of SGD's per-parameter state tensor, as exported.
pub(crate) const SGD_SLOTS: [&str; 1] = ["momentum_buffer"];

/// A parameter's new value and its new momentum buffer (`None` without momentum).
pub(crate) type ValueAndBuffer<B, E> = (Tensor<B, E>, Option<Tensor<B, E>>);

/// One SGD update of `value` (detached) with gradient `grad`: the new value and the new
/// momentum buffer (`None` when momentum is 0). `buffer` is `None` on the first step.
pub(crate) fn sgd_update<B: Backend, E: Element>(
    cfg: &SgdConfig,
    value: &Tensor<B, E>,
    grad: &Tensor<B, E>,
    buffer: Option<&Tensor<B, E>>,
    lr: f64,
    weight_decay: f64,
) -> Result<ValueAndBuffer<B, E>> {
    let e = E::from_f64;
    let mut d = if weight_decay != 0.0 {
        grad.add(&value.mul_scalar(e(weight_decay))?)?
    } else {
        grad.clone()
    };
    let mut new_buffer = None;
    if cfg.momentum != 0.0 {
        let mu = e(cfg.momentum);
        let b = match buffer {
            None => d.clone(),
            Some(b) => b
                .mul_scalar(mu)?
                .add(&d.mul_scalar(e(1.0 - cfg.dampening))?)?,
        };
        d = if cfg.nesterov {
            d.add(&b.mul_scalar(mu)?)?
        } else {
            b.clone()
        };
        new_buffer = Some(b.detach());
    }
    let new_value = value.add(&d.mul_scalar(e(-lr))?)?.detach();
    Ok((new_value, new_buffer))
}
