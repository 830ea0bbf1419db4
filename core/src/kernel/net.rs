//! What every kernel net is: the [`KernelNet`] trait, and the optimiser group of each
//! of its parameters.

use crate::autodiff::Param;
use crate::backend::Backend;
use crate::element::Element;
use crate::error::Result;
use crate::tensor::Tensor;
use alloc::string::String;
use alloc::vec::Vec;

/// The optimiser group a parameter belongs to (docs/math.md §10: three learning rates).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ParamRole {
    /// Ordinary weights: `train.lr`.
    Main,
    /// A learnable SIREN ω0: `train.lr_omega0`.
    Omega0,
    /// θ and keep logits of partial equivariance: `train.lr_probs`.
    Probs,
}

/// A continuous kernel: coordinates `[P, in_dim]` to values `[P, out_dim]`.
pub trait KernelNet<B: Backend, E: Element> {
    /// The coordinate dimension d (2 for lifting, 2 + s for group convolutions, s for
    /// pointwise ones).
    fn in_dim(&self) -> usize;
    /// The output width, Cout·Cin.
    fn out_dim(&self) -> usize;
    /// Every parameter, in a fixed order.
    fn params(&self) -> Vec<&Param<B, E>>;
    /// Every parameter, mutably (for optimiser steps and checkpoints), same order.
    fn params_mut(&mut self) -> Vec<&mut Param<B, E>>;
    /// A stable name per parameter ("layers.0.weight", "omega0", ...), same order.
    fn param_names(&self) -> Vec<String>;
    /// The optimiser group of each parameter, same order.
    fn param_roles(&self) -> Vec<ParamRole>;
    /// The net evaluated with `params` (one tensor per parameter, in the order of
    /// [`KernelNet::params`], same shapes) in place of its own values: the functional
    /// form, for gradient checks and for evaluating other weights (e.g. an average).
    fn forward_with(&self, coords: &Tensor<B, E>, params: &[Tensor<B, E>]) -> Result<Tensor<B, E>>;

    /// The net on `coords` `[P, in_dim]`, giving `[P, out_dim]`.
    fn forward(&self, coords: &Tensor<B, E>) -> Result<Tensor<B, E>> {
        let values: Vec<Tensor<B, E>> = self.params().iter().map(|p| p.tensor().clone()).collect();
        self.forward_with(coords, &values)
    }
    /// The number of learnable scalars.
    fn num_params(&self) -> usize {
        self.params().iter().map(|p| p.numel()).sum()
    }
}
