//! Gradient clipping by global norm, as `torch.nn.utils.clip_grad_norm_` (norm type 2).

use crate::autodiff::{Gradients, ParamId};
use crate::backend::Backend;
use crate::element::Element;
use crate::error::Result;
use crate::tensor::Tensor;
use alloc::vec::Vec;
use num_traits::Float;

/// Added to the norm before dividing, as PyTorch does, so that a zero norm cannot divide.
const CLIP_EPS: f64 = 1e-6;

/// Scales all gradients together so that their global 2-norm is at most `max_norm`, and
/// returns the global norm *before* clipping.
///
/// The global norm is √(Σ over tensors of Σ g²) (the squares are summed on the backend
/// in the element type, one value is downloaded). When `max_norm / (norm + 1e-6) < 1`
/// every gradient is multiplied by that coefficient, exactly as PyTorch's clamped
/// `clip_coef`; otherwise nothing changes.
///
/// No clipping happens when `max_norm <= 0` or is not finite (the norm is still
/// computed and returned, for logging), nor when the norm itself is not finite: then
/// the gradients are left as they are and the caller sees the NaN or infinity and
/// decides (typically: skip the step). PyTorch would instead multiply every gradient by
/// NaN.
pub fn clip_grad_norm<B: Backend, E: Element>(
    grads: &mut Gradients<B, E>,
    max_norm: f64,
) -> Result<f64> {
    let total = global_norm(grads)?;
    let clipping_on = max_norm.is_finite() && max_norm > 0.0;
    if !clipping_on || !total.is_finite() {
        return Ok(total);
    }
    let coef = max_norm / (total + CLIP_EPS);
    if coef < 1.0 {
        let scaled: Vec<(ParamId, Tensor<B, E>)> = grads
            .iter()
            .map(|(&id, g)| Ok((id, g.detach().mul_scalar(E::from_f64(coef))?)))
            .collect::<Result<_>>()?;
        for (id, g) in scaled {
            grads.insert(id, g);
        }
    }
    Ok(total)
}

/// The 2-norm of all gradients taken together (0 when there are none).
pub fn global_norm<B: Backend, E: Element>(grads: &Gradients<B, E>) -> Result<f64> {
    let mut sum_sq: Option<Tensor<B, E>> = None;
    for (_, g) in grads.iter() {
        let s = g.detach().square()?.sum_all()?;
        sum_sq = Some(match sum_sq {
            None => s,
            Some(acc) => acc.add(&s)?,
        });
    }
    let Some(sum_sq) = sum_sq else {
        return Ok(0.0);
    };
    Ok(Float::sqrt(sum_sq.to_scalar()?.to_f64()))
}
