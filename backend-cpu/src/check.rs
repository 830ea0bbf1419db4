//! Argument checks shared by the primitives: every bad size becomes an error value
//! naming the primitive, never a panic or an out-of-bounds access. The descriptors'
//! checks are the core's, which every backend shares (`pgcnn_core::backend`'s
//! `validate`); these name this backend in them.

use pgcnn_core::backend::{check_len, checked_product, invalid};
use pgcnn_core::Error;
use pgcnn_core::Result;

/// The backend's name in its errors.
pub(crate) const NAME: &str = "cpu";

/// An error from this backend about primitive `op`.
pub(crate) fn fail(op: &'static str, reason: String) -> Error {
    invalid(NAME, op, reason)
}

/// Checks that buffer `what` of `op` holds exactly `want` elements.
pub(crate) fn len(op: &'static str, what: &str, got: usize, want: usize) -> Result<()> {
    check_len(NAME, op, what, got, want)
}

/// The product of `factors`, or an error when it overflows `usize`.
pub(crate) fn product(op: &'static str, factors: &[usize]) -> Result<usize> {
    checked_product(NAME, op, factors)
}

/// One past the largest offset a strided view of `dims` with `strides` reads (0 when the
/// view is empty), or an error on overflow.
pub(crate) fn strided_extent(op: &'static str, dims: &[usize], strides: &[usize]) -> Result<usize> {
    if dims.contains(&0) {
        return Ok(0);
    }
    let overflow = || {
        fail(
            op,
            format!("dims {dims:?} with strides {strides:?} overflow"),
        )
    };
    let mut last = 0usize;
    for (&d, &s) in dims.iter().zip(strides) {
        let step = (d - 1).checked_mul(s).ok_or_else(overflow)?;
        last = last.checked_add(step).ok_or_else(overflow)?;
    }
    last.checked_add(1).ok_or_else(overflow)
}
