//! What the reader returns: the tensors of a state dict, in the file's order, with their
//! names, shapes, original element types and values as `f32`.

use super::dtype::TorchDtype;
use std::collections::HashMap;

/// One tensor of a state dict.
#[derive(Debug, Clone, PartialEq)]
pub struct TorchTensor {
    /// The state dict's key, e.g. `"blocks.0.conv1.kernel_net.0.weight"`.
    pub name: String,
    /// The shape (`[]` for a scalar, a `0` for an empty tensor); `data.len()` is its
    /// product.
    pub shape: Vec<usize>,
    /// The element type in the file (`data` holds the values converted to `f32`; see
    /// [`TorchDtype`] for which conversions are exact).
    pub dtype: TorchDtype,
    /// The values in row-major (C) order, whatever the strides of the stored view.
    pub data: Vec<f32>,
}

impl TorchTensor {
    /// The number of elements (the product of the shape).
    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor was floating point in the file (parameters and running
    /// statistics); integer tensors such as a batch norm's `num_batches_tracked` are
    /// usually skipped by an importer.
    pub fn is_float(&self) -> bool {
        self.dtype.is_float()
    }
}

/// An entry of the state dict that is not a tensor (e.g. a module's `_extra_state`),
/// skipped by the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedEntry {
    /// The key.
    pub name: String,
    /// What the value is, e.g. `"the integer 3"` or `"a dict of 2 entries"`.
    pub what: String,
}

/// The tensors of a PyTorch state dict, in the order the file lists them.
///
/// Read with [`read_state_dict`](super::read_state_dict) or
/// [`parse_state_dict`](super::parse_state_dict).
#[derive(Debug, Clone, Default)]
pub struct StateDict {
    tensors: Vec<TorchTensor>,
    index: HashMap<String, usize>,
    skipped: Vec<SkippedEntry>,
    found_under: Option<String>,
}

impl StateDict {
    /// Builds one from tensors with distinct names (the reader checks them).
    pub(crate) fn new(
        tensors: Vec<TorchTensor>,
        skipped: Vec<SkippedEntry>,
        found_under: Option<String>,
    ) -> Self {
        let index = tensors
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        StateDict {
            tensors,
            index,
            skipped,
            found_under,
        }
    }

    /// The tensor with this name.
    pub fn get(&self, name: &str) -> Option<&TorchTensor> {
        self.index.get(name).map(|&i| &self.tensors[i])
    }

    /// Every tensor, in the file's order.
    pub fn tensors(&self) -> &[TorchTensor] {
        &self.tensors
    }

    /// Iterates over the tensors in the file's order.
    pub fn iter(&self) -> std::slice::Iter<'_, TorchTensor> {
        self.tensors.iter()
    }

    /// The names, in the file's order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.iter().map(|t| t.name.as_str())
    }

    /// The number of tensors.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether there are no tensors.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// The entries of the state dict that were not tensors, skipped.
    pub fn skipped(&self) -> &[SkippedEntry] {
        &self.skipped
    }

    /// `Some(key)` when the file was a dict that holds the state dict under `key` (the
    /// reference implementation's `final_model.pt` holds it under `"model"`, beside the
    /// optimiser's and the schedule's state); `None` when the file is the state dict.
    pub fn found_under(&self) -> Option<&str> {
        self.found_under.as_deref()
    }

    /// The tensors, in the file's order.
    pub fn into_tensors(self) -> Vec<TorchTensor> {
        self.tensors
    }
}

impl<'a> IntoIterator for &'a StateDict {
    type Item = &'a TorchTensor;
    type IntoIter = std::slice::Iter<'a, TorchTensor>;
    fn into_iter(self) -> Self::IntoIter {
        self.tensors.iter()
    }
}
