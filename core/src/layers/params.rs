//! What every layer is: a set of named parameters with their optimiser roles.

use crate::autodiff::Param;
use crate::backend::Backend;
use crate::element::Element;
use crate::kernel::ParamRole;
use alloc::string::String;
use alloc::vec::Vec;

/// The parameters of a layer, each with a stable name and its optimiser role. All four
/// lists are in the same order.
pub trait LayerParams<B: Backend, E: Element> {
    /// Every parameter, in a fixed order.
    fn params(&self) -> Vec<&Param<B, E>>;
    /// Every parameter, mutably (optimiser steps, checkpoints), same order.
    fn params_mut(&mut self) -> Vec<&mut Param<B, E>>;
    /// A stable name per parameter ("kernel_net.layers.0.weight", "bias",
    /// "partial.theta", ...), same order.
    fn param_names(&self) -> Vec<String>;
    /// The optimiser group of each parameter, same order.
    fn param_roles(&self) -> Vec<ParamRole>;

    /// The number of learnable scalars.
    fn num_params(&self) -> usize {
        self.params().iter().map(|p| p.numel()).sum()
    }
    /// The parameters of one role (e.g. `ParamRole::Probs` for the `lr_probs` group).
    fn params_with_role(&self, role: ParamRole) -> Vec<&Param<B, E>> {
        self.params()
            .into_iter()
            .zip(self.param_roles())
            .filter(|(_, r)| *r == role)
            .map(|(p, _)| p)
            .collect()
    }
}
