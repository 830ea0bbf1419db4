//! Reverse-mode automatic differentiation.
//!
//! Every tensor that depends on a [`Param`] carries the op node that made it: its inputs
//! and a backward rule. [`Tensor::backward`] orders the graph topologically and walks it
//! in reverse, summing the gradient that reaches each node, and returns the gradients of
//! the parameters as [`Gradients`]. Backward rules run on detached tensors, so nothing
//! is recorded while differentiating.

mod param;
mod walk;

pub use param::{Gradients, Param, ParamId};

use crate::backend::Backend;
use crate::element::Element;
use crate::error::Result;
use crate::tensor::Tensor;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// A backward rule: given the op's inputs, its output and the gradient of the loss with
/// respect to the output, the gradient with respect to each input (`None` where the op
/// does not differentiate that input, e.g. an index or a mask).
pub trait BackwardFn<B: Backend, E: Element>: Send + Sync {
    fn backward(
        &self,
        inputs: &[Tensor<B, E>],
        output: &Tensor<B, E>,
        grad: &Tensor<B, E>,
    ) -> Result<Vec<Option<Tensor<B, E>>>>;
}

impl<B, E, F> BackwardFn<B, E> for F
where
    B: Backend,
    E: Element,
    F: Fn(&[Tensor<B, E>], &Tensor<B, E>, &Tensor<B, E>) -> Result<Vec<Option<Tensor<B, E>>>>
        + Send
        + Sync,
{
    fn backward(
        &self,
        inputs: &[Tensor<B, E>],
        output: &Tensor<B, E>,
        grad: &Tensor<B, E>,
    ) -> Result<Vec<Option<Tensor<B, E>>>> {
        self(inputs, output, grad)
    }
}

/// Where a tensor that requires a gradient came from.
pub(crate) enum Origin<B: Backend, E: Element> {
    /// A parameter: its gradient is collected under this id.
    Param(ParamId),
    /// The output of an op.
    Op {
        inputs: Vec<Tensor<B, E>>,
        backward: Box<dyn BackwardFn<B, E>>,
    },
}
