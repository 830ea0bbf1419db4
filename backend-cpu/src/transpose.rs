//! Cache-friendly transposition of a row-major matrix, in square tiles so that both the
//! reads and the writes stay within a few cache lines at a time.

/// Side of the tiles.
const TILE: usize = 16;

/// `dst[j · rows + i] = src[i · cols + j]` for a `rows × cols` matrix `src`.
pub(crate) fn transpose<E: Copy>(src: &[E], rows: usize, cols: usize, dst: &mut [E]) {
    debug_assert!(src.len() >= rows * cols && dst.len() >= rows * cols);
    for i0 in (0..rows).step_by(TILE) {
        let i1 = (i0 + TILE).min(rows);
        for j0 in (0..cols).step_by(TILE) {
            let j1 = (j0 + TILE).min(cols);
            for i in i0..i1 {
                for j in j0..j1 {
                    dst[j * rows + i] = src[i * cols + j];
                }
            }
        }
    }
}

/// The transpose of the `rows × cols` matrix `src` (`[j · rows + i] = src[i · cols + j]`),
/// in a fresh buffer written once (never zeroed first): [`reversed`] with one middle index.
pub(crate) fn transposed<E: Copy + Send + Sync>(src: &[E], rows: usize, cols: usize) -> Vec<E> {
    reversed(src, rows, 1, cols)
}

/// Result rows per tile of [`reversed`]: 8 rows keep their cache lines apart in L1 even
/// when the row length is a power of two (which maps lines that far apart onto one set).
const DST_ROWS: usize = 8;

/// `src [outer][inner][len]` with its three axes reversed: `[len][inner][outer]`, in a fresh
/// buffer written once, blocks of `len` split over rayon's threads once the tensor is
/// large enough to pay for it. (With `inner == 1` it is a transpose: [`transposed`].)
pub(crate) fn reversed<E: Copy + Send + Sync>(
    src: &[E],
    outer: usize,
    inner: usize,
    len: usize,
) -> Vec<E> {
    use rayon::prelude::*;
    let total = outer * inner * len;
    assert!(src.len() >= total);
    let slab = inner * outer;
    let mut out: Vec<E> = Vec::with_capacity(total);
    if total > 0 {
        let dst = &mut out.spare_capacity_mut()[..total];
        let per = if crate::par::worth_it(total) {
            crate::par::rows_per_chunk(len, slab).next_multiple_of(DST_ROWS)
        } else {
            len
        };
        dst.par_chunks_mut(per * slab)
            .enumerate()
            .for_each(|(block, dst)| {
                let l_start = block * per;
                let l_count = dst.len() / slab;
                // For each inner index, tiles of 8 positions × 16 outer indices: reads of
                // 8 neighbouring positions, writes of 16 neighbouring outer indices.
                for l0 in (0..l_count).step_by(DST_ROWS) {
                    let l1 = (l0 + DST_ROWS).min(l_count);
                    for i in 0..inner {
                        for o0 in (0..outer).step_by(TILE) {
                            let o1 = (o0 + TILE).min(outer);
                            for l in l0..l1 {
                                let row = &mut dst[(l * inner + i) * outer..][o0..o1];
                                for (d, o) in row.iter_mut().zip(o0..o1) {
                                    d.write(src[(o * inner + i) * len + l_start + l]);
                                }
                            }
                        }
                    }
                }
            });
    }
    // SAFETY: the blocks cover `..total` (whole `[inner][outer]` slabs each), and every
    // element of each slab was written above.
    unsafe { out.set_len(total) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reversing_three_axes_and_transposing_agree_with_plain_loops() {
        for (outer, inner, len) in [(1, 1, 1), (3, 5, 7), (17, 2, 40), (64, 3, 49), (2, 1, 300)] {
            let src: Vec<u32> = (0..(outer * inner * len) as u32).collect();
            let r = reversed(&src, outer, inner, len);
            for o in 0..outer {
                for i in 0..inner {
                    for l in 0..len {
                        assert_eq!(
                            r[(l * inner + i) * outer + o],
                            src[(o * inner + i) * len + l]
                        );
                    }
                }
            }
            let t = transposed(&src, outer * inner, len);
            for q in 0..outer * inner {
                for l in 0..len {
                    assert_eq!(t[l * outer * inner + q], src[q * len + l]);
                }
            }
        }
        // Large enough to be split over threads.
        let src: Vec<u32> = (0..64 * 256 * 49).collect();
        let r = reversed(&src, 64, 256, 49);
        assert_eq!(
            r[(48 * 256 + 255) * 64 + 63],
            src[(63 * 256 + 255) * 49 + 48]
        );
        let t = transposed(&src, 64 * 256, 49);
        assert_eq!(t[48 * 64 * 256 + 5], src[5 * 49 + 48]);
    }
}
