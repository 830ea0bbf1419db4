//! Differentiable operations on tensors, one file per family. Each op computes its
//! forward through backend primitives and records a backward rule built from ops.

mod binary;
mod conv;
mod dropout;
mod grid_sample;
mod l2_norm;
mod loss;
mod matmul;
pub(crate) mod norm;
mod pool;
mod reduce;
mod shape_ops;
mod unary;

pub use conv::{Conv2dOptions, Padding};
