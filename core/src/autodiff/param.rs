//! Parameters (the leaves gradients are collected for) and the gradients of a step.

use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use alloc::collections::BTreeMap;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Identity of a parameter, stable across optimiser steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParamId(usize);

static NEXT_PARAM_ID: AtomicUsize = AtomicUsize::new(0);

impl ParamId {
    fn fresh() -> Self {
        ParamId(NEXT_PARAM_ID.fetch_add(1, Ordering::Relaxed))
    }
}

/// A learnable tensor. Using [`Param::tensor`] in a computation makes the result depend
/// on it; [`Tensor::backward`] then returns its gradient under [`Param::id`].
pub struct Param<B: Backend, E: Element = f32> {
    id: ParamId,
    value: Tensor<B, E>,
}

impl<B: Backend, E: Element> Clone for Param<B, E> {
    /// A copy with the same id (for checkpoints and snapshots); both copies receive
    /// the same gradients.
    fn clone(&self) -> Self {
        Param {
            id: self.id,
            value: self.value.clone(),
        }
    }
}

impl<B: Backend, E: Element> core::fmt::Debug for Param<B, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Param({:?}, {:?})", self.id.0, self.value)
    }
}

impl<B: Backend, E: Element> Param<B, E> {
    /// A new parameter with a fresh id holding `value` (detached first).
    pub fn new(value: Tensor<B, E>) -> Self {
        let id = ParamId::fresh();
        Param {
            id,
            value: value.as_param_leaf(id),
        }
    }
    pub fn id(&self) -> ParamId {
        self.id
    }
    /// The value, tracked: computations with it record a graph back to this parameter.
    pub fn tensor(&self) -> &Tensor<B, E> {
        &self.value
    }
    /// Replaces the value (an optimiser step, a loaded checkpoint); the shape must not change.
    pub fn set(&mut self, value: Tensor<B, E>) -> Result<()> {
        if value.dims() != self.value.dims() {
            return Err(Error::mismatch(
                "Param::set",
                self.value.dims(),
                value.dims(),
                "a parameter keeps its shape",
            ));
        }
        self.value = value.as_param_leaf(self.id);
        Ok(())
    }
    /// Stops tracking: computations with the value record no graph, until the next
    /// [`Param::set`]. For evaluation, where nothing is differentiated (see
    /// [`Model::without_graph`](crate::models::Model::without_graph)).
    pub fn untrack(&mut self) {
        self.value = self.value.detach();
    }
    pub fn dims(&self) -> &[usize] {
        self.value.dims()
    }
    pub fn numel(&self) -> usize {
        self.value.numel()
    }
}

/// The gradients of one backward pass, by parameter. Parameters the loss does not
/// depend on have none.
pub struct Gradients<B: Backend, E: Element = f32> {
    pub(crate) map: BTreeMap<ParamId, Tensor<B, E>>,
}

impl<B: Backend, E: Element> Gradients<B, E> {
    pub fn new() -> Self {
        Gradients {
            map: BTreeMap::new(),
        }
    }
    pub fn get(&self, p: &Param<B, E>) -> Option<&Tensor<B, E>> {
        self.map.get(&p.id())
    }
    pub fn get_id(&self, id: ParamId) -> Option<&Tensor<B, E>> {
        self.map.get(&id)
    }
    pub fn insert(&mut self, id: ParamId, g: Tensor<B, E>) {
        self.map.insert(id, g);
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&ParamId, &Tensor<B, E>)> {
        self.map.iter()
    }
}

impl<B: Backend, E: Element> Default for Gradients<B, E> {
    fn default() -> Self {
        Self::new()
    }
}
