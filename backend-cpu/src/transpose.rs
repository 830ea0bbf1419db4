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

/// [`transpose`] with the rows of `dst` split over rayon's threads in fixed blocks, once
/// the matrix is large enough to pay for the hand-out.
pub(crate) fn par_transpose<E: Copy + Send + Sync>(
    src: &[E],
    rows: usize,
    cols: usize,
    dst: &mut [E],
) {
    use rayon::prelude::*;
    assert!(src.len() >= rows * cols && dst.len() >= rows * cols);
    let len = rows * cols;
    if !crate::par::worth_it(len) || rows == 0 {
        transpose(src, rows, cols, dst);
        return;
    }
    // Blocks of whole dst rows (columns of src), a multiple of the tile height.
    let per = crate::par::rows_per_chunk(cols, rows).next_multiple_of(TILE);
    dst[..len]
        .par_chunks_mut(per * rows)
        .enumerate()
        .for_each(|(block, dst)| {
            let j_start = block * per;
            let j_count = dst.len() / rows;
            // Tiles of 8 dst rows × 16 dst columns: each dst row gets one whole cache line
            // per tile, and 8 lines stay apart in L1 even when `rows` is a power of two
            // (which maps lines `rows` elements apart onto one cache set).
            for j0 in (0..j_count).step_by(DST_ROWS) {
                let j1 = (j0 + DST_ROWS).min(j_count);
                for i0 in (0..rows).step_by(TILE) {
                    let i1 = (i0 + TILE).min(rows);
                    for j in j0..j1 {
                        let out = &mut dst[j * rows + i0..j * rows + i1];
                        for (d, i) in out.iter_mut().zip(i0..i1) {
                            *d = src[i * cols + j_start + j];
                        }
                    }
                }
            }
        });
}

/// Destination rows per tile of [`par_transpose`].
const DST_ROWS: usize = 8;
