//! The reverse walk over the graph.

use super::{Gradients, Origin};
use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

impl<B: Backend, E: Element> Tensor<B, E> {
    /// Gradients of this one-element tensor (the loss) with respect to every parameter
    /// it depends on.
    pub fn backward(&self) -> Result<Gradients<B, E>> {
        if self.numel() != 1 {
            return Err(Error::Backward(format!(
                "the loss must have one element, this tensor has shape {:?}",
                self.dims()
            )));
        }
        self.backward_with(&Tensor::ones(self.backend(), self.shape().clone())?)
    }

    /// Gradients with respect to every parameter, given the gradient `seed` of some scalar
    /// with respect to this tensor (a vector-Jacobian product).
    pub fn backward_with(&self, seed: &Tensor<B, E>) -> Result<Gradients<B, E>> {
        if seed.dims() != self.dims() {
            return Err(Error::mismatch(
                "backward",
                self.dims(),
                seed.dims(),
                "the seed gradient must have the output's shape",
            ));
        }
        let mut result = Gradients::new();
        if !self.requires_grad() {
            return Ok(result);
        }
        let order = topological_order(self);
        let mut pending: BTreeMap<usize, Tensor<B, E>> = BTreeMap::new();
        pending.insert(self.node_id(), seed.detach());
        for node in order.iter().rev() {
            let Some(grad) = pending.remove(&node.node_id()) else {
                continue;
            };
            match node.origin() {
                None => {}
                Some(Origin::Param(id)) => {
                    let g = match result.map.remove(id) {
                        Some(prev) => prev.add(&grad)?,
                        None => grad,
                    };
                    result.map.insert(*id, g);
                }
                Some(Origin::Op { inputs, backward }) => {
                    let detached: Vec<Tensor<B, E>> = inputs.iter().map(|t| t.detach()).collect();
                    let grads = backward.backward(&detached, &node.detach(), &grad)?;
                    if grads.len() != inputs.len() {
                        return Err(Error::Backward(format!(
                            "a backward rule returned {} gradients for {} inputs",
                            grads.len(),
                            inputs.len()
                        )));
                    }
                    for (input, g) in inputs.iter().zip(grads) {
                        let Some(g) = g else { continue };
                        if !input.requires_grad() {
                            continue;
                        }
                        if g.dims() != input.dims() {
                            return Err(Error::Backward(format!(
                                "a backward rule returned a gradient of shape {:?} for an input of shape {:?}",
                                g.dims(),
                                input.dims()
                            )));
                        }
                        let id = input.node_id();
                        let g = match pending.remove(&id) {
                            Some(prev) => prev.add(&g)?,
                            None => g,
                        };
                        pending.insert(id, g);
                    }
                }
            }
        }
        Ok(result)
    }
}

/// Nodes that require a gradient, each after all of its inputs. Iterative, so deep
/// graphs cannot overflow the stack.
fn topological_order<B: Backend, E: Element>(root: &Tensor<B, E>) -> Vec<Tensor<B, E>> {
    let mut order = Vec::new();
    let mut visited = BTreeSet::new();
    // (node, whether its inputs were already pushed)
    let mut stack = vec![(root.clone(), false)];
    while let Some((node, expanded)) = stack.pop() {
        if expanded {
            order.push(node);
            continue;
        }
        if !visited.insert(node.node_id()) {
            continue;
        }
        stack.push((node.clone(), true));
        if let Some(Origin::Op { inputs, .. }) = node.origin() {
            for input in inputs {
                if input.requires_grad() && !visited.contains(&input.node_id()) {
                    stack.push((input.clone(), false));
                }
            }
        }
    }
    order
}
