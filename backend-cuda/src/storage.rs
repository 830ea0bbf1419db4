//! The buffer type of the CUDA backend.

use crate::pool::Block;
use pgcnn_core::Element;
use std::marker::PhantomData;

/// `len` elements of `E` in device memory from the pool (no block when empty). The
/// element type lives only in the Rust type; kernels are chosen by `E::DTYPE`.
pub struct CudaStorage<E> {
    block: Option<Block>,
    len: usize,
    _element: PhantomData<E>,
}

impl<E: Element> CudaStorage<E> {
    pub(crate) fn new(block: Option<Block>, len: usize) -> Self {
        Self {
            block,
            len,
            _element: PhantomData,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The device address (0 when empty).
    pub(crate) fn ptr(&self) -> u64 {
        self.block.as_ref().map_or(0, Block::ptr)
    }

    /// The device address of element `i` (may be one past the end).
    pub(crate) fn ptr_at(&self, i: usize) -> u64 {
        self.ptr() + (i * std::mem::size_of::<E>()) as u64
    }
}

impl<E: Element> std::fmt::Debug for CudaStorage<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CudaStorage<{:?}>[{}] at {:#x}",
            E::DTYPE,
            self.len,
            self.ptr()
        )
    }
}
