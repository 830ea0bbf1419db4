//! The Euclidean norm of a whole tensor, with PyTorch's gradient at zero.
//!
//! `square → sum → sqrt` has the right value but, at x = 0 (e.g. a zero-initialised
//! bias in the weight-decay penalty of docs/math.md §10), its gradient is `2x · 1/(2·0)` =
//! 0 · ∞ = NaN, which would poison every parameter on the first step. `torch.norm`
//! gives the subgradient 0 there; so does this op.

use crate::backend::{Backend, UnaryOp};
use crate::element::Element;
use crate::error::Result;
use crate::tensor::Tensor;
use alloc::vec;
use alloc::vec::Vec;

impl<B: Backend, E: Element> Tensor<B, E> {
    /// `‖self‖₂ = √(Σ x²)` over every element, rank 0. Gradient `x / ‖x‖`, and 0 when
    /// `‖x‖ = 0`.
    pub fn l2_norm(&self) -> Result<Self> {
        let sum_sq = self.detach().square()?.sum_all()?;
        let norm = self.backend().unary(UnaryOp::Sqrt, sum_sq.storage())?;
        Ok(self.record(
            norm,
            Vec::new(),
            &[self],
            move |xs: &[Tensor<B, E>], y: &Tensor<B, E>, g: &Tensor<B, E>| {
                // Where ‖x‖ = 0 every x is 0, so any nonzero divisor gives the 0 wanted;
                // the clamp avoids 0/0 without reading the value back to the host.
                let divisor = y.clamp_min(E::min_positive_value())?;
                Ok(vec![Some(xs[0].mul(&g.div(&divisor)?)?)])
            },
        ))
    }
}
