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
