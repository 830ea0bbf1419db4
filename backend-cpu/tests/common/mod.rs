//! Shared helpers of the CPU backend's tests: random values, running a test inside a pool
//! of a chosen size, and grouped convolution descriptors.
#![allow(dead_code)] // each test file uses its own subset

use pgcnn_core::backend::Conv2dDesc;
use pgcnn_core::rng::Rng;
use pgcnn_core::Element;

/// `n` uniform values in `[lo, hi)`, rounded to `E`.
pub fn values<E: Element>(rng: &mut Rng, n: usize, lo: f64, hi: f64) -> Vec<E> {
    pgcnn_conformance::data::uniform(rng, n, lo, hi)
}

/// Runs `f` inside a rayon pool of `threads` threads, so that the parallel splits are
/// exercised (and uneven) whatever the machine.
pub fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("building a rayon pool")
        .install(f)
}

/// A convolution of `groups` groups of `cig` input and `cog` output channels each, on
/// `h × w` images, with kernel `k` and padding `pad` (both `(rows, columns)`).
#[allow(clippy::too_many_arguments)]
pub fn grouped_conv(
    batch: usize,
    groups: usize,
    cig: usize,
    cog: usize,
    h: usize,
    w: usize,
    k: (usize, usize),
    pad: (usize, usize),
) -> Conv2dDesc {
    pgcnn_conformance::conv::desc(batch, groups, cig, cog, (h, w), k, pad)
}
