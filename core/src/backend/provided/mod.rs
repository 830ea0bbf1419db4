//! The default bodies of [`Backend`](super::Backend)'s provided methods: the
//! normalisation and the Adam update spelt out with the backend's own elementwise maps and
//! reductions. Every backend gets them for free (the reference backend uses them as they
//! are); they also define what a fused override must compute. Each step is a full pass
//! over the buffer (and on a GPU a kernel launch), which is why the CPU and CUDA backends
//! override them.
//!
//! They are written against [`Primitives`], the four primitives they use, which
//! `backend/mod.rs` implements for every backend: so the trait's file depends on its
//! default bodies and not the other way round.

pub(crate) mod adam;
pub(crate) mod norm;

use super::desc::{AxisLayout, BroadcastLayout};
use super::ops::{BinaryOp, ReduceOp, UnaryOp};
use crate::element::Element;
use crate::error::Result;

/// The primitives the provided bodies compose, with the meaning of the
/// [`Backend`](super::Backend) methods of the same names.
pub(crate) trait Primitives {
    type Buffer<E: Element>;
    fn name(&self) -> &'static str;
    fn len<E: Element>(&self, s: &Self::Buffer<E>) -> usize;
    fn unary<E: Element>(&self, op: UnaryOp<E>, x: &Self::Buffer<E>) -> Result<Self::Buffer<E>>;
    fn binary<E: Element>(
        &self,
        op: BinaryOp,
        a: &Self::Buffer<E>,
        b: &Self::Buffer<E>,
        layout: &BroadcastLayout,
    ) -> Result<Self::Buffer<E>>;
    fn reduce<E: Element>(
        &self,
        op: ReduceOp,
        x: &Self::Buffer<E>,
        layout: AxisLayout,
    ) -> Result<Self::Buffer<E>>;
}
