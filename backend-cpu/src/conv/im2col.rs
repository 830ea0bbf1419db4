//! im2col for a chunk of images and a slab of input channels.
//!
//! Row `(c, ky, kx)` of the result holds, for every image of the chunk and every output
//! pixel `(oy, ox)`, the input value the kernel tap `(ky, kx)` of channel `c` meets there:
//! `x[b, c, oy + ky - pad_h, ox + kx - pad_w]`, or 0 in the padding. Each output row of
//! an image is one contiguous copy from one input row plus zero edges, so building the
//! matrix streams memory instead of gathering single elements.

use super::Geometry;
use pgcnn_core::Element;

/// Which images and channels to unfold.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slab {
    /// First image and number of images.
    pub b0: usize,
    pub images: usize,
    /// First input channel (absolute, not within the group) and number of channels.
    pub c0: usize,
    pub channels: usize,
}

/// Fills `col` (`channels · kh · kw` rows of `images · out_plane` columns) from `x`.
pub(crate) fn im2col<E: Element>(x: &[E], g: &Geometry, s: Slab, col: &mut [E]) {
    let cols = s.images * g.out_plane();
    debug_assert_eq!(col.len(), s.channels * g.kh * g.kw * cols);
    if cols == 0 {
        return;
    }
    // For each kx, the range of ox whose input column lies inside the image.
    let ox_range = |kx: usize| -> (usize, usize) {
        let shift = kx as isize - g.pad_w; // ix = ox + shift
        let lo = (-shift).clamp(0, g.out_w as isize) as usize;
        let hi = (g.in_w as isize - shift).clamp(lo as isize, g.out_w as isize) as usize;
        (lo, hi)
    };
    let mut rows = col.chunks_mut(cols);
    for c in 0..s.channels {
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                // `rows` yields exactly channels · kh · kw rows (see the assertion).
                let row = rows.next().expect("im2col: row count");
                let (lo, hi) = ox_range(kx);
                let shift = kx as isize - g.pad_w;
                for bi in 0..s.images {
                    let plane =
                        &x[((s.b0 + bi) * g.cin + s.c0 + c) * g.in_plane()..][..g.in_plane()];
                    let dst_img = &mut row[bi * g.out_plane()..][..g.out_plane()];
                    for (oy, dst) in dst_img.chunks_mut(g.out_w).enumerate() {
                        let iy = oy as isize + ky as isize - g.pad_h;
                        if iy < 0 || iy >= g.in_h as isize || lo == hi {
                            dst.fill(E::zero());
                            continue;
                        }
                        let src_row = &plane[iy as usize * g.in_w..][..g.in_w];
                        dst[..lo].fill(E::zero());
                        let start = (lo as isize + shift) as usize;
                        dst[lo..hi].copy_from_slice(&src_row[start..start + (hi - lo)]);
                        dst[hi..].fill(E::zero());
                    }
                }
            }
        }
    }
}
