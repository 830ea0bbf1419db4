//! How a convolution is cut into pieces: chunks of images (the unit of parallel work and
//! the N side of each GEMM) and slabs of input channels (the K side of each GEMM, and the
//! size of the im2col buffer).
//!
//! The numbers come from measurement on a 2-core AVX-512 machine (see the crate's kernel
//! benchmark): GEMMs of about 1–2k columns keep matrixmultiply near its peak, and an im2col
//! slab of about 512 rows stays in a core's L2 cache between being written and being packed.

use super::Geometry;

/// Aim for this many GEMM columns (images × output pixels) per chunk.
const TARGET_COLUMNS: usize = 1536;

/// Aim for this many im2col rows (channels × kernel taps) per slab.
const TARGET_SLAB_ROWS: usize = 512;

/// Cap on one im2col buffer (elements): bounds memory for very large images, where a
/// chunk is one image and a slab one channel anyway.
const MAX_COL_ELEMENTS: usize = 1 << 22;

/// The cut of one convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Images per chunk (the last chunk may hold fewer).
    pub images: usize,
    /// Number of chunks: `ceil(batch / images)`.
    pub chunks: usize,
    /// Input channels per im2col slab (the last slab of a group may hold fewer).
    pub slab: usize,
}

impl Plan {
    /// Cuts `g` for `threads` threads. Chunks come in multiples of the thread count when
    /// the batch allows, so that the threads get equal work.
    pub fn new(g: &Geometry, threads: usize) -> Self {
        let threads = threads.max(1);
        let batch = g.batch.max(1);
        let plane = g.out_plane().max(1);
        let want_images = TARGET_COLUMNS.div_ceil(plane);
        let rounds = ((batch as f64 / (threads * want_images) as f64).round() as usize).max(1);
        let images = batch.div_ceil((threads * rounds).min(batch));
        let chunks = batch.div_ceil(images);
        let taps = (g.kh * g.kw).max(1);
        let by_rows = TARGET_SLAB_ROWS / taps;
        let by_memory = MAX_COL_ELEMENTS / (taps * images * plane);
        let slab = by_rows.min(by_memory).clamp(1, g.cin_g().max(1));
        Plan {
            images,
            chunks,
            slab,
        }
    }
}
