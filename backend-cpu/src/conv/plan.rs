//! How a convolution is cut into pieces: chunks of images (the unit of parallel work and
//! the N side of each GEMM) and slabs of input channels (the K side of each GEMM, and the
//! size of the im2col buffer).
//!
//! The numbers come from profiling the block-1 convolution of rotmnist_se2_partial on a
//! 2-core AVX-512 machine (4 MB of L2 per core): with chunks of about 768 columns and slabs
//! of about 256 rows (one matrixmultiply `kc` block), the im2col buffer (~0.75 MB), the
//! chunk's output (~0.75 MB for 256 channels) and matrixmultiply's packing buffers all
//! stay in L2, and the micro-kernel gets about 77% of the time against about 70% with
//! twice the sizes (the rest is im2col and packing, which then read from L2, not L3).

use super::Geometry;

/// Aim for this many GEMM columns (images × output pixels) per chunk.
const TARGET_COLUMNS: usize = 768;

/// Aim for this many im2col rows (channels × kernel taps) per slab.
const TARGET_SLAB_ROWS: usize = 256;

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
        let taps = (g.kh * g.kw).max(1);
        // Most images one im2col buffer of a single channel can hold.
        let fit = (MAX_COL_ELEMENTS / (taps * plane)).max(1);
        let want_images = TARGET_COLUMNS.div_ceil(plane).min(fit);
        let rounds = ((batch as f64 / (threads * want_images) as f64).round() as usize).max(1);
        let images = batch.div_ceil((threads * rounds).min(batch)).min(fit);
        let chunks = batch.div_ceil(images);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(batch: usize, cin: usize, hw: usize, k: usize) -> Geometry {
        Geometry {
            batch,
            cin,
            cout: 8,
            groups: 1,
            in_h: hw,
            in_w: hw,
            kh: k,
            kw: k,
            pad_h: (k / 2) as isize,
            pad_w: (k / 2) as isize,
            out_h: hw,
            out_w: hw,
        }
    }

    #[test]
    fn block_one_gets_equal_chunks_of_about_800_columns() {
        let p = Plan::new(&geometry(64, 256, 14, 7), 2);
        assert_eq!(
            p,
            Plan {
                images: 4,
                chunks: 16,
                slab: 5
            }
        );
    }

    #[test]
    fn every_plan_covers_the_batch_and_bounds_the_buffers() {
        for batch in [1, 2, 3, 7, 64, 100] {
            for threads in [1, 2, 3, 16] {
                for (cin, hw, k) in [(1, 5, 3), (256, 14, 7), (3, 200, 5), (64, 512, 3)] {
                    let g = geometry(batch, cin, hw, k);
                    let p = Plan::new(&g, threads);
                    assert!(p.images >= 1 && p.slab >= 1 && p.slab <= cin);
                    assert_eq!(p.chunks, batch.div_ceil(p.images));
                    let col = p.slab * k * k * p.images * g.out_plane();
                    // Only a single channel of a single image may exceed the cap.
                    assert!(col <= MAX_COL_ELEMENTS || (p.slab == 1 && p.images == 1));
                }
            }
        }
    }
}
