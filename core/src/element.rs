//! The scalar types a tensor can hold: `f32` for training, `f64` for gradient checks.

use core::fmt::{Debug, Display};
use num_traits::Float;

/// A floating-point scalar that every backend can store and compute with.
///
/// Only `f32` and `f64` implement it; backends may rely on that (the CUDA backend
/// dispatches on [`Element::DTYPE`]).
pub trait Element:
    Float + Debug + Display + Default + Send + Sync + core::iter::Sum + 'static
{
    /// Which of the two types this is, for backends that dispatch at run time.
    const DTYPE: DType;
    /// Conversion from `f64`, rounding to nearest.
    fn from_f64(v: f64) -> Self;
    /// Conversion to `f64`, exact.
    fn to_f64(self) -> f64;
    /// Conversion from a count or index.
    fn from_usize(v: usize) -> Self {
        Self::from_f64(v as f64)
    }
}

/// Run-time tag of an [`Element`] type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F64,
}

impl Element for f32 {
    const DTYPE: DType = DType::F32;
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Element for f64 {
    const DTYPE: DType = DType::F64;
    fn from_f64(v: f64) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
}
