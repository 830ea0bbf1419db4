//! Output buffers that are written in full by the op that makes them, so they are never
//! zeroed first: for a memory-bound op, zeroing a fresh buffer is a whole extra pass over
//! memory (a `memset` was 6% of a per-image-sampling model's evaluation).

use std::mem::MaybeUninit;

/// A buffer of `len` elements that `fill` writes in full.
///
/// Every caller's `fill` must write all `len` elements of the slice it gets; this is a
/// contract of the callers in this crate (each covers its output exactly once, by rows,
/// chunks or tiles laid end to end), so the function is private to the crate.
pub(crate) fn written<E>(len: usize, fill: impl FnOnce(&mut [MaybeUninit<E>])) -> Vec<E> {
    let mut v: Vec<E> = Vec::with_capacity(len);
    fill(&mut v.spare_capacity_mut()[..len]);
    // SAFETY: `fill` wrote all `len` elements (the contract above); `E` values are plain
    // numbers, so there is nothing to drop if a caller's contract were ever broken.
    unsafe { v.set_len(len) };
    v
}
