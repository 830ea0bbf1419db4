//! Argument checks shared by the primitives: every bad size becomes an error value
//! naming the primitive, never a panic or an out-of-bounds access.

use pgcnn_core::Error;
use pgcnn_core::Result;

/// An error from this backend about primitive `op`.
pub(crate) fn fail(op: &'static str, reason: String) -> Error {
    Error::Backend {
        backend: "cpu",
        op,
        reason,
    }
}

/// Checks that buffer `what` of `op` holds exactly `want` elements.
pub(crate) fn len(op: &'static str, what: &str, got: usize, want: usize) -> Result<()> {
    if got != want {
        return Err(fail(
            op,
            format!("{what} holds {got} elements, the descriptor needs {want}"),
        ));
    }
    Ok(())
}

/// The product of `factors`, or an error when it overflows `usize`.
pub(crate) fn product(op: &'static str, factors: &[usize]) -> Result<usize> {
    factors.iter().try_fold(1usize, |acc, &f| {
        acc.checked_mul(f)
            .ok_or_else(|| fail(op, format!("the sizes {factors:?} overflow")))
    })
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
