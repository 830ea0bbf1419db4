//! When and how finely the memory-bound primitives go parallel.
//!
//! A rayon task costs a few microseconds to hand out and join, and a core streams a few
//! elements per nanosecond, so splitting only pays once there are tens of thousands of
//! elements per task. Below [`MIN_PARALLEL`] elements a primitive runs on the calling
//! thread; above, each task gets at least [`MIN_CHUNK`] elements.

/// Smallest number of elements (of output, or of work) worth splitting over threads.
pub(crate) const MIN_PARALLEL: usize = 1 << 16;

/// Smallest number of elements one parallel task should handle.
pub(crate) const MIN_CHUNK: usize = 1 << 14;

/// Number of threads in rayon's current pool.
pub(crate) fn threads() -> usize {
    rayon::current_num_threads()
}

/// Whether `work` elements are worth splitting over the pool.
pub(crate) fn worth_it(work: usize) -> bool {
    work >= MIN_PARALLEL && threads() > 1
}

/// Elements per task when splitting `work` elements: about four tasks per thread (so that
/// uneven tasks balance out), never fewer than [`MIN_CHUNK`] elements each.
pub(crate) fn chunk_len(work: usize) -> usize {
    let tasks = 4 * threads();
    work.div_ceil(tasks).max(MIN_CHUNK)
}

/// Rows per task when splitting `rows` rows of `row_len` elements each.
pub(crate) fn rows_per_chunk(rows: usize, row_len: usize) -> usize {
    let elems = chunk_len(rows.saturating_mul(row_len.max(1)));
    (elems / row_len.max(1)).clamp(1, rows.max(1))
}
