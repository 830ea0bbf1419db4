//! The primitives, one family per file, as inherent methods of [`Cuda`](crate::Cuda)
//! that the `Backend` implementation calls.

mod conv;
mod elementwise;
pub(crate) mod gemm;
mod memory;
mod movement;
mod norm;
mod optim;
mod pool;
mod reduce;
