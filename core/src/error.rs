//! The one error type of the core: it names the operation and the shapes involved.

use alloc::string::String;
use alloc::vec::Vec;

/// Result alias used throughout the core.
pub type Result<T> = core::result::Result<T, Error>;

/// Everything that can go wrong inside the core. Bad shapes are values, never panics.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Two operands whose shapes do not fit together.
    #[error("{op}: shapes {lhs:?} and {rhs:?} are incompatible: {reason}")]
    ShapeMismatch {
        op: &'static str,
        lhs: Vec<usize>,
        rhs: Vec<usize>,
        reason: String,
    },
    /// One operand whose shape the operation cannot take.
    #[error("{op}: input of shape {shape:?} is not accepted: {reason}")]
    BadShape {
        op: &'static str,
        shape: Vec<usize>,
        reason: String,
    },
    /// An argument (axis, size, probability, ...) out of range.
    #[error("{op}: {reason}")]
    BadArgument { op: &'static str, reason: String },
    /// A backend could not do what was asked (out of memory, driver error, ...).
    #[error("backend {backend}: {op} failed: {reason}")]
    Backend {
        backend: &'static str,
        op: &'static str,
        reason: String,
    },
    /// A gradient was requested from a tensor that is not a scalar or has no graph.
    #[error("backward: {0}")]
    Backward(String),
}

impl Error {
    pub(crate) fn bad_arg(op: &'static str, reason: impl Into<String>) -> Self {
        Error::BadArgument {
            op,
            reason: reason.into(),
        }
    }
    pub(crate) fn bad_shape(op: &'static str, shape: &[usize], reason: impl Into<String>) -> Self {
        Error::BadShape {
            op,
            shape: shape.to_vec(),
            reason: reason.into(),
        }
    }
    pub(crate) fn mismatch(
        op: &'static str,
        lhs: &[usize],
        rhs: &[usize],
        reason: impl Into<String>,
    ) -> Self {
        Error::ShapeMismatch {
            op,
            lhs: lhs.to_vec(),
            rhs: rhs.to_vec(),
            reason: reason.into(),
        }
    }
}
