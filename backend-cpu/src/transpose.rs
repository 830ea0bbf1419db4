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
/// in a fresh buffer written once (never zeroed first), the rows of the result split over
/// rayon's threads in fixed blocks once the matrix is large enough to pay for it.
pub(crate) fn transposed<E: Copy + Send + Sync>(src: &[E], rows: usize, cols: usize) -> Vec<E> {
    use rayon::prelude::*;
    let len = rows * cols;
    assert!(src.len() >= len);
    let mut out: Vec<E> = Vec::with_capacity(len);
    if len > 0 {
        let dst = &mut out.spare_capacity_mut()[..len];
        // Blocks of whole result rows (columns of src), a multiple of the tile height.
        let per = if crate::par::worth_it(len) {
            crate::par::rows_per_chunk(cols, rows).next_multiple_of(TILE)
        } else {
            cols
        };
        dst.par_chunks_mut(per * rows)
            .enumerate()
            .for_each(|(block, dst)| {
                let j_start = block * per;
                let j_count = dst.len() / rows;
                // Tiles of 8 result rows × 16 result columns: each result row gets one
                // whole cache line per tile, and 8 lines stay apart in L1 even when
                // `rows` is a power of two (which maps lines `rows` elements apart onto
                // one cache set).
                for j0 in (0..j_count).step_by(DST_ROWS) {
                    let j1 = (j0 + DST_ROWS).min(j_count);
                    for i0 in (0..rows).step_by(TILE) {
                        let i1 = (i0 + TILE).min(rows);
                        for j in j0..j1 {
                            let row = &mut dst[j * rows + i0..j * rows + i1];
                            for (d, i) in row.iter_mut().zip(i0..i1) {
                                d.write(src[i * cols + j_start + j]);
                            }
                        }
                    }
                }
            });
    }
    // SAFETY: the blocks cover `..len` (whole result rows each), and every element of
    // each block was written above.
    unsafe { out.set_len(len) };
    out
}

/// Result rows per tile of [`transposed`].
const DST_ROWS: usize = 8;
