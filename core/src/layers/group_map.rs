//! A feature map on the group: the tensor `[B, C, N, H, W]` together with the N group
//! elements its samples belong to (docs/math.md §1), and the operations that keep or drop
//! the group axis (pooling, activations, residual sums).

use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::group::Elements;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// A map on the group: `tensor` `[B, C, N, H, W]`, sample `n` belonging to element `n`
/// of `elements` (`[N]` shared by the batch, or `[B, N]` drawn per batch element).
#[derive(Clone, Debug)]
pub struct GroupMap<B: Backend, E: Element> {
    tensor: Tensor<B, E>,
    elements: Elements<B, E>,
}

impl<B: Backend, E: Element> GroupMap<B, E> {
    /// Pairs a tensor with its elements, checking that the tensor is `[B, C, N, H, W]`
    /// with N = `elements.len()` and, for per-batch elements, the same B.
    pub fn new(tensor: Tensor<B, E>, elements: Elements<B, E>) -> Result<Self> {
        let d = tensor.dims();
        if d.len() != 5 {
            return Err(Error::bad_shape(
                "GroupMap::new",
                d,
                "a map on the group is [B, C, N, H, W]",
            ));
        }
        if d[2] != elements.len() {
            return Err(Error::mismatch(
                "GroupMap::new",
                d,
                elements.rotations().dims(),
                "the group axis (2) must hold one sample per element",
            ));
        }
        if let Some(b) = elements.batch() {
            if b != d[0] {
                return Err(Error::mismatch(
                    "GroupMap::new",
                    d,
                    elements.rotations().dims(),
                    "per-batch elements must have one row per batch element",
                ));
            }
        }
        Ok(GroupMap { tensor, elements })
    }

    /// The values, `[B, C, N, H, W]`.
    pub fn tensor(&self) -> &Tensor<B, E> {
        &self.tensor
    }
    /// The elements the samples belong to.
    pub fn elements(&self) -> &Elements<B, E> {
        &self.elements
    }
    /// Both parts, by value.
    pub fn into_parts(self) -> (Tensor<B, E>, Elements<B, E>) {
        (self.tensor, self.elements)
    }
    /// `[B, C, N, H, W]`.
    pub fn dims(&self) -> &[usize] {
        self.tensor.dims()
    }
    /// B.
    pub fn batch(&self) -> usize {
        self.dims()[0]
    }
    /// C.
    pub fn channels(&self) -> usize {
        self.dims()[1]
    }
    /// N.
    pub fn samples(&self) -> usize {
        self.dims()[2]
    }

    /// The same elements with another tensor of the same B, N layout (checked as in
    /// [`GroupMap::new`]): for pointwise operations written on tensors.
    pub fn with_tensor(&self, tensor: Tensor<B, E>) -> Result<Self> {
        GroupMap::new(tensor, self.elements.clone())
    }
    /// Applies a tensor function that keeps the `[B, ?, N, ?, ?]` layout.
    pub fn map(&self, f: impl FnOnce(&Tensor<B, E>) -> Result<Tensor<B, E>>) -> Result<Self> {
        self.with_tensor(f(&self.tensor)?)
    }

    /// ReLU.
    pub fn relu(&self) -> Result<Self> {
        self.map(|t| t.relu())
    }
    /// Elementwise dropout (PyTorch's Dropout, used inside CKResNet blocks).
    pub fn dropout(&self, p: f64, rng: &mut Rng, training: bool) -> Result<Self> {
        self.map(|t| t.dropout(p, rng, training))
    }
    /// Channel dropout: whole `[b, c]` maps over (N, H, W) (PyTorch's Dropout3d, the
    /// GCNN's "2-D dropout" on the group map).
    pub fn dropout_channels(&self, p: f64, rng: &mut Rng, training: bool) -> Result<Self> {
        self.map(|t| t.dropout_channels(p, rng, training))
    }
    /// 2×2 max pooling with stride 2 on every group sample (docs/math.md §6); an odd last
    /// row or column is dropped.
    pub fn spatial_max_pool(&self) -> Result<Self> {
        self.map(|t| t.max_pool2d())
    }
    /// The residual sum `self + other`: same shape, and the same elements (equal
    /// values), since samples are added position by position.
    pub fn add(&self, other: &Self) -> Result<Self> {
        if self.dims() != other.dims() {
            return Err(Error::mismatch(
                "GroupMap::add",
                self.dims(),
                other.dims(),
                "residual sums need equal shapes",
            ));
        }
        let same = self.elements.kind() == other.elements.kind()
            && self.elements.batch() == other.elements.batch()
            && self.elements.rotation_values() == other.elements.rotation_values()
            && self.elements.mirror_values() == other.elements.mirror_values();
        if !same {
            return Err(Error::bad_arg(
                "GroupMap::add",
                "the two maps live on different group elements (give the shortcut the \
                 block's output elements)",
            ));
        }
        self.with_tensor(self.tensor.add(&other.tensor)?)
    }

    /// Global max over (N, H, W): `[B, C]`, invariant (CKResNet's final pooling).
    pub fn global_max_pool(&self) -> Result<Tensor<B, E>> {
        self.tensor.max_axes(&[2, 3, 4], false)
    }
    /// Global mean over (N, H, W): `[B, C]`, invariant (GCNN's final pooling).
    pub fn global_mean_pool(&self) -> Result<Tensor<B, E>> {
        self.tensor.mean_axes(&[2, 3, 4], false)
    }
    /// The mean over the samples, `[B, C, H, W]` (CKResNet's `last_conv_T2`).
    pub fn mean_over_samples(&self) -> Result<Tensor<B, E>> {
        self.tensor.mean_axes(&[2], false)
    }
}
