//! im2col for a chunk of images and a slab of input channels.
//!
//! Row `(c, ky, kx)` of the result holds, for every image of the chunk and every output
//! pixel `(oy, ox)`, the input value the kernel tap `(ky, kx)` of channel `c` meets there:
//! `x[b, c, oy + ky - pad_h, ox + kx - pad_w]`, or 0 in the padding. Each output row of
//! an image is one contiguous copy from one input row, so building the matrix streams
//! memory instead of gathering single elements. The rows of small images are short (7 to
//! 28 elements in the models), so the copies are inlined instead of calling `memcpy`,
//! whose call cost dominated. (For `same` padding, copying all of an image's rows for a
//! tap at once and zeroing the padding columns in between again was measured too: as
//! fast on 14×14 and 28×28 images, slower on 7×7 ones.)
//!
//! Which positions fall in the padding depends only on the geometry and the number of
//! columns, not on the channels or images unfolded, so a [`ColBuffer`] zeroes them once
//! and every later im2col into it only copies the inside values.

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

/// A reusable im2col buffer whose padding positions are zero.
#[derive(Default)]
pub(crate) struct ColBuffer<E> {
    data: Vec<E>,
    /// Columns of the layout the buffer holds (its padding positions are zero for it).
    cols: usize,
}

impl<E: Element> ColBuffer<E> {
    /// Unfolds `s` into the buffer and returns it as a `channels · kh · kw` × `images ·
    /// out_plane` row-major matrix. All calls on one buffer must share the geometry `g`.
    pub(crate) fn fill(&mut self, x: &[E], g: &Geometry, s: Slab) -> &[E] {
        let cols = s.images * g.out_plane();
        let len = s.channels * g.kh * g.kw * cols;
        if self.cols != cols {
            // Another layout: its padding is elsewhere, start again from zeros.
            self.data.clear();
            self.cols = cols;
        }
        if self.data.len() < len {
            self.data.resize(len, E::zero());
        }
        im2col_inside(x, g, s, &mut self.data[..len]);
        &self.data[..len]
    }
}

/// Writes the values of `col` (`channels · kh · kw` rows of `images · out_plane` columns)
/// that come from inside the input; the padding positions are left as they are.
fn im2col_inside<E: Element>(x: &[E], g: &Geometry, s: Slab, col: &mut [E]) {
    let cols = s.images * g.out_plane();
    if cols == 0 {
        return;
    }
    let (ow, plane) = (g.out_w, g.out_plane());
    // For each kx, the range of ox whose input column lies inside the image.
    let ox_range = |kx: usize| -> (usize, usize) {
        let shift = kx as isize - g.pad_w; // ix = ox + shift
        let lo = (-shift).clamp(0, ow as isize) as usize;
        let hi = (g.in_w as isize - shift).clamp(lo as isize, ow as isize) as usize;
        (lo, hi)
    };
    // Likewise the range of oy for each ky.
    let oy_range = |ky: usize| -> (usize, usize) {
        let shift = ky as isize - g.pad_h;
        let lo = (-shift).clamp(0, g.out_h as isize) as usize;
        let hi = (g.in_h as isize - shift).clamp(lo as isize, g.out_h as isize) as usize;
        (lo, hi)
    };
    let mut rows = col.chunks_mut(cols);
    for c in 0..s.channels {
        for ky in 0..g.kh {
            let (y_lo, y_hi) = oy_range(ky);
            for kx in 0..g.kw {
                // `rows` yields exactly channels · kh · kw rows (the caller sized `col`).
                let row = rows.next().expect("im2col: row count");
                let (x_lo, x_hi) = ox_range(kx);
                if x_lo == x_hi || y_lo == y_hi {
                    continue;
                }
                // Input column of output column x_lo; non-negative by the range above.
                let ix0 = (x_lo as isize + kx as isize - g.pad_w) as usize;
                let iy0 = (y_lo as isize + ky as isize - g.pad_h) as usize;
                for bi in 0..s.images {
                    let src = &x[((s.b0 + bi) * g.cin + s.c0 + c) * g.in_plane()..][..g.in_plane()];
                    let dst = &mut row[bi * plane..][..plane];
                    let len = x_hi - x_lo;
                    for (i, oy) in (y_lo..y_hi).enumerate() {
                        let from = &src[(iy0 + i) * g.in_w + ix0..][..len];
                        copy_short(&mut dst[oy * ow + x_lo..][..len], from);
                    }
                }
            }
        }
    }
}

/// `dst.copy_from_slice(src)` for the short rows of small images, without a call to
/// `memcpy` (whose call and dispatch cost more than copying a few dozen elements): blocks
/// of 8 (or 4) elements, the last one overlapping the one before when the length is not a
/// multiple, and at most 3 elements one by one. No loop here copies element by element,
/// which the compiler would turn back into a `memcpy` call.
#[inline(always)]
fn copy_short<E: Copy>(dst: &mut [E], src: &[E]) {
    let n = dst.len();
    assert_eq!(n, src.len(), "copy_short: lengths differ");
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            copy_block::<E, 8>(&mut dst[i..], &src[i..]);
            i += 8;
        }
        copy_block::<E, 8>(&mut dst[n - 8..], &src[n - 8..]);
    } else if n >= 4 {
        copy_block::<E, 4>(dst, src);
        copy_block::<E, 4>(&mut dst[n - 4..], &src[n - 4..]);
    } else {
        if n > 0 {
            dst[0] = src[0];
        }
        if n > 1 {
            dst[1] = src[1];
        }
        if n > 2 {
            dst[2] = src[2];
        }
    }
}

/// Copies the first `B` elements of `src` to `dst` (a fixed-size copy, compiled inline).
#[inline(always)]
fn copy_block<E: Copy, const B: usize>(dst: &mut [E], src: &[E]) {
    let d: &mut [E; B] = (&mut dst[..B]).try_into().expect("B elements");
    *d = <[E; B]>::try_from(&src[..B]).expect("B elements");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The buffer reused across layouts must give what a fresh one gives.
    #[test]
    fn reused_buffers_keep_their_padding_zero() {
        let g = Geometry {
            batch: 3,
            cin: 2,
            cout: 1,
            groups: 1,
            in_h: 3,
            in_w: 4,
            kh: 3,
            kw: 2,
            pad_h: 1,
            pad_w: 1,
            out_h: 3,
            out_w: 5,
        };
        let x: Vec<f64> = (0..g.batch * g.cin * g.in_plane())
            .map(|i| i as f64 + 1.0)
            .collect();
        let slabs = [
            Slab {
                b0: 0,
                images: 2,
                c0: 0,
                channels: 2,
            },
            Slab {
                b0: 2,
                images: 1,
                c0: 1,
                channels: 1,
            },
            Slab {
                b0: 1,
                images: 2,
                c0: 1,
                channels: 1,
            },
            Slab {
                b0: 0,
                images: 1,
                c0: 0,
                channels: 2,
            },
        ];
        let mut reused = ColBuffer::default();
        for s in slabs {
            let fresh = ColBuffer::default().fill(&x, &g, s).to_vec();
            assert_eq!(reused.fill(&x, &g, s), &fresh[..]);
            // Spot check against the definition.
            let cols = s.images * g.out_plane();
            for (r, row) in fresh.chunks(cols).enumerate() {
                let (c, ky, kx) = (r / (g.kh * g.kw), r / g.kw % g.kh, r % g.kw);
                for (j, &v) in row.iter().enumerate() {
                    let (bi, oy, ox) = (j / g.out_plane(), j / g.out_w % g.out_h, j % g.out_w);
                    let (iy, ix) = (oy + ky, ox + kx); // padded coordinates
                    let inside = (1..=g.in_h).contains(&iy) && (1..=g.in_w).contains(&ix);
                    let want = if inside {
                        x[(((s.b0 + bi) * g.cin + s.c0 + c) * g.in_h + iy - 1) * g.in_w + ix - 1]
                    } else {
                        0.0
                    };
                    assert_eq!(v, want, "{s:?} row {r} column {j}");
                }
            }
        }
    }
}
