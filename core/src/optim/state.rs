//! The exported state of an optimiser, for checkpoints and bit-identical resume.
//!
//! [`ParamId`](crate::ParamId)s are not stable across processes, so the state of a
//! parameter is keyed by its *position* in the list of parameters given to
//! [`Optimizer::export_state`](super::Optimizer::export_state); the resumed run must
//! give [`Optimizer::import_state`](super::Optimizer::import_state) its parameters in the
//! same order.

use crate::backend::Backend;
use crate::element::Element;
use crate::tensor::Tensor;
use alloc::string::String;
use alloc::vec::Vec;

/// Everything an optimiser remembers between steps (not its hyper-parameters or
/// learning rates, which the trainer rebuilds from its configuration and schedule).
pub struct OptimizerState<B: Backend, E: Element = f32> {
    /// `"adam"` or `"sgd"`; importing into the other kind is an error.
    pub algorithm: String,
    /// How many times [`Optimizer::step`](super::Optimizer::step) was called.
    pub step_count: u64,
    /// The parameters that have state, in increasing position.
    pub params: Vec<ParamState<B, E>>,
}

/// The state of one parameter.
pub struct ParamState<B: Backend, E: Element = f32> {
    /// The parameter's index in the list given to export and import.
    pub position: usize,
    /// How many updates the parameter has received (Adam's bias corrections need it;
    /// SGD records it too).
    pub step: u64,
    /// Named tensors of the parameter's shape: `exp_avg`, `exp_avg_sq` for Adam,
    /// `momentum_buffer` for SGD with momentum.
    pub tensors: Vec<(String, Tensor<B, E>)>,
}

impl<B: Backend, E: Element> Clone for OptimizerState<B, E> {
    fn clone(&self) -> Self {
        OptimizerState {
            algorithm: self.algorithm.clone(),
            step_count: self.step_count,
            params: self.params.clone(),
        }
    }
}

impl<B: Backend, E: Element> Clone for ParamState<B, E> {
    fn clone(&self) -> Self {
        ParamState {
            position: self.position,
            step: self.step,
            tensors: self.tensors.clone(),
        }
    }
}

impl<B: Backend, E: Element> core::fmt::Debug for OptimizerState<B, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OptimizerState")
            .field("algorithm", &self.algorithm)
            .field("step_count", &self.step_count)
            .field("params", &self.params)
            .finish()
    }
}

impl<B: Backend, E: Element> core::fmt::Debug for ParamState<B, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ParamState")
            .field("position", &self.position)
            .field("step", &self.step)
            .field("tensors", &self.tensors)
            .finish()
    }
}
