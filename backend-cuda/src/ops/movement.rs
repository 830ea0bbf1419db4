//! Data movement: permute, concat, index_select, index_add.

use crate::device::Cuda;
use crate::error::backend_err;
use crate::kernels::{TILE, TILE_ROWS};
use crate::launch::GRID_YZ_MAX;
use crate::layout::{fits_u32, plan_permute, GatherArgs, PermutePlan};
use crate::pool::Block;
use crate::storage::CudaStorage;
use cudarc::driver::LaunchConfig;
use pgcnn_core::backend::AxisLayout;
use pgcnn_core::{Element, Result};

/// Indices are consecutive (a slice): `Some(first)`.
fn consecutive(indices: &[usize]) -> Option<usize> {
    let first = *indices.first()?;
    indices
        .iter()
        .enumerate()
        .all(|(i, &j)| j == first + i)
        .then_some(first)
}

/// The positions of `indices` grouped by the index they hold (a counting sort, stable):
/// destination `d`'s positions are `sources[starts[d]..starts[d + 1]]`, ascending.
/// Returned as one table, `starts` (`len + 1` entries) then `sources`.
fn sources_by_destination(indices: &[usize], len: usize) -> Vec<usize> {
    let mut table = vec![0usize; len + 1 + indices.len()];
    let (starts, sources) = table.split_at_mut(len + 1);
    for &j in indices {
        starts[j + 1] += 1;
    }
    for d in 0..len {
        starts[d + 1] += starts[d];
    }
    let mut next = starts[..len].to_vec();
    for (i, &j) in indices.iter().enumerate() {
        sources[next[j]] = i;
        next[j] += 1;
    }
    table
}

impl Cuda {
    pub(crate) fn permute_impl<E: Element>(
        &self,
        x: &CudaStorage<E>,
        dims: &[usize],
        perm: &[usize],
    ) -> Result<CudaStorage<E>> {
        const OP: &str = "permute";
        let n: usize = dims.iter().product();
        if x.len() != n {
            return Err(backend_err(
                OP,
                format!("input holds {} elements, dims {dims:?} need {n}", x.len()),
            ));
        }
        let mut seen = vec![false; dims.len()];
        if perm.len() != dims.len()
            || !perm
                .iter()
                .all(|&p| p < dims.len() && !std::mem::replace(&mut seen[p], true))
        {
            return Err(backend_err(
                OP,
                format!("{perm:?} is not a permutation of the axes of {dims:?}"),
            ));
        }
        let y = self.alloc::<E>(OP, n)?;
        if n > 0 {
            self.permute_into::<E>(x.ptr(), y.ptr(), dims, perm)?;
        }
        Ok(y)
    }

    /// Permutes the `dims` tensor at `x` into `y` (both device addresses, no overlap).
    pub(crate) fn permute_into<E: Element>(
        &self,
        x: u64,
        y: u64,
        dims: &[usize],
        perm: &[usize],
    ) -> Result<()> {
        const OP: &str = "permute";
        let n: usize = dims.iter().product();
        let k = self.k::<E>();
        match plan_permute(dims, perm) {
            PermutePlan::Copy => self.copy_dtod(OP, y, x, n * std::mem::size_of::<E>()),
            PermutePlan::Transpose { batch, rows, cols } if fits_u32(rows.max(cols)) => {
                let tile = TILE as usize;
                let cfg = LaunchConfig {
                    grid_dim: (
                        cols.div_ceil(tile).min(GRID_YZ_MAX) as u32,
                        rows.div_ceil(tile).min(GRID_YZ_MAX) as u32,
                        batch.min(GRID_YZ_MAX) as u32,
                    ),
                    block_dim: (TILE as u32, TILE_ROWS as u32, 1),
                    shared_mem_bytes: 0,
                };
                // transpose_T(const T* x, T* y, u64 batch, u32 rows, u32 cols)
                let args = (x, y, batch as u64, rows as u32, cols as u32);
                self.launch(OP, &k.transpose, cfg, args)
            }
            PermutePlan::Transpose { batch, rows, cols } => {
                // Too long for the tiled kernel's 32-bit sides: gather instead.
                self.gather::<E>(x, y, &[batch, cols, rows], &[rows * cols, 1, cols])
            }
            PermutePlan::Gather { dims: d, strides } => self.gather::<E>(x, y, &d, &strides),
        }
    }

    /// `y[i] = x[offset of i]` with output dims `d` and input strides `strides`.
    fn gather<E: Element>(&self, x: u64, y: u64, d: &[usize], strides: &[usize]) -> Result<()> {
        const OP: &str = "permute";
        let n: usize = d.iter().product();
        let k = self.k::<E>();
        let too_many = || {
            backend_err(
                OP,
                format!(
                    "{} axes remain after merging; at most 8 are supported",
                    d.len()
                ),
            )
        };
        let cfg = self.grid_1d(n);
        if fits_u32(n) {
            let l = GatherArgs::<u32>::new(d, strides).ok_or_else(too_many)?;
            // permute_i32_T(const T* x, T* y, u32 n, Gather<u32> l)
            self.launch(OP, &k.permute_i32, cfg, (x, y, n as u32, l))
        } else {
            let l = GatherArgs::<u64>::new(d, strides).ok_or_else(too_many)?;
            self.launch(OP, &k.permute_i64, cfg, (x, y, n as u64, l))
        }
    }

    /// `rows` rows of `row_len` elements from `x` (row pitch `src_stride`) to `y` (row
    /// pitch `dst_stride`); addresses include any offsets.
    pub(crate) fn copy_rows<E: Element>(
        &self,
        op: &'static str,
        x: u64,
        src_stride: usize,
        y: u64,
        dst_stride: usize,
        rows: usize,
        row_len: usize,
    ) -> Result<()> {
        let n = rows * row_len;
        if n == 0 {
            return Ok(());
        }
        if rows == 1 || (src_stride == row_len && dst_stride == row_len) {
            return self.copy_dtod(op, y, x, n * std::mem::size_of::<E>());
        }
        // copy_rows_T(const T* x, u64 src_stride, T* y, u64 dst_stride, u64 rows, u64 row_len)
        let args = (
            x,
            src_stride as u64,
            y,
            dst_stride as u64,
            rows as u64,
            row_len as u64,
        );
        self.launch(op, &self.k::<E>().copy_rows, self.grid_1d(n), args)
    }

    pub(crate) fn concat_impl<E: Element>(
        &self,
        parts: &[(&CudaStorage<E>, usize)],
        outer: usize,
        inner: usize,
    ) -> Result<CudaStorage<E>> {
        const OP: &str = "concat";
        for (i, (p, len)) in parts.iter().enumerate() {
            if p.len() != outer * len * inner {
                return Err(backend_err(
                    OP,
                    format!(
                        "part {i} holds {} elements, [{outer}, {len}, {inner}] needs {}",
                        p.len(),
                        outer * len * inner
                    ),
                ));
            }
        }
        let total: usize = parts.iter().map(|(_, len)| len).sum();
        let y = self.alloc::<E>(OP, outer * total * inner)?;
        let mut offset = 0;
        for (p, len) in parts {
            self.copy_rows::<E>(
                OP,
                p.ptr(),
                len * inner,
                y.ptr_at(offset * inner),
                total * inner,
                outer,
                len * inner,
            )?;
            offset += len;
        }
        Ok(y)
    }

    fn check_indices(op: &'static str, indices: &[usize], len: usize) -> Result<()> {
        match indices.iter().find(|&&j| j >= len) {
            Some(j) => Err(backend_err(
                op,
                format!("index {j} out of range for an axis of length {len}"),
            )),
            None if len > u32::MAX as usize => Err(backend_err(
                op,
                format!("axis of length {len} exceeds the 32-bit index range"),
            )),
            None => Ok(()),
        }
    }

    /// The indices on the device as u32.
    fn upload_indices(&self, op: &'static str, indices: &[usize]) -> Result<Option<Block>> {
        let words: Vec<u8> = indices
            .iter()
            .flat_map(|&j| (j as u32).to_ne_bytes())
            .collect();
        let block = self.raw(op, words.len())?;
        if let Some(b) = &block {
            self.write_bytes(op, b.ptr(), &words)?;
        }
        Ok(block)
    }

    pub(crate) fn index_select_impl<E: Element>(
        &self,
        x: &CudaStorage<E>,
        l: AxisLayout,
        indices: &[usize],
    ) -> Result<CudaStorage<E>> {
        const OP: &str = "index_select";
        if x.len() != l.numel() {
            return Err(backend_err(
                OP,
                format!(
                    "input holds {} elements, the layout needs {}",
                    x.len(),
                    l.numel()
                ),
            ));
        }
        Self::check_indices(OP, indices, l.len)?;
        let m = indices.len();
        let y = self.alloc::<E>(OP, l.outer * m * l.inner)?;
        if y.is_empty() {
            return Ok(y);
        }
        if let Some(first) = consecutive(indices) {
            let src = x.ptr_at(first * l.inner);
            self.copy_rows::<E>(
                OP,
                src,
                l.len * l.inner,
                y.ptr(),
                m * l.inner,
                l.outer,
                m * l.inner,
            )?;
            return Ok(y);
        }
        let idx = self.upload_indices(OP, indices)?;
        let idx = idx.as_ref().map_or(0, Block::ptr);
        // index_select_T(const T* x, T* y, const u32* idx, u64 outer, u64 len, u64 nidx, u64 inner)
        let args = (
            x.ptr(),
            y.ptr(),
            idx,
            l.outer as u64,
            l.len as u64,
            m as u64,
            l.inner as u64,
        );
        self.launch(OP, &self.k::<E>().index_select, self.grid_1d(y.len()), args)?;
        Ok(y)
    }

    pub(crate) fn index_add_impl<E: Element>(
        &self,
        src: &CudaStorage<E>,
        l: AxisLayout,
        indices: &[usize],
    ) -> Result<CudaStorage<E>> {
        const OP: &str = "index_add";
        let m = indices.len();
        if src.len() != l.outer * m * l.inner {
            return Err(backend_err(
                OP,
                format!(
                    "source holds {} elements, [{}, {m}, {}] needs {}",
                    src.len(),
                    l.outer,
                    l.inner,
                    l.outer * m * l.inner
                ),
            ));
        }
        Self::check_indices(OP, indices, l.len)?;
        if src.is_empty() || l.numel() == 0 {
            return self.zeros::<E>(OP, l.numel());
        }
        if let Some(first) = consecutive(indices) {
            let y = self.zeros::<E>(OP, l.numel())?;
            let dst = y.ptr_at(first * l.inner);
            self.copy_rows::<E>(
                OP,
                src.ptr(),
                m * l.inner,
                dst,
                l.len * l.inner,
                l.outer,
                m * l.inner,
            )?;
            return Ok(y);
        }
        if m > u32::MAX as usize {
            return Err(backend_err(
                OP,
                format!("{m} indices exceed the 32-bit index range"),
            ));
        }
        // Every element of y is written: no zeroing.
        let y = self.alloc::<E>(OP, l.numel())?;
        let table = self.upload_indices(OP, &sources_by_destination(indices, l.len))?;
        let starts = table.as_ref().map_or(0, Block::ptr);
        let sources = starts + 4 * (l.len as u64 + 1);
        // index_add_T(const T* src, T* y, const u32* starts, const u32* sources, u64 outer,
        //             u64 len, u64 nidx, u64 inner)
        let args = (
            src.ptr(),
            y.ptr(),
            starts,
            sources,
            l.outer as u64,
            l.len as u64,
            m as u64,
            l.inner as u64,
        );
        self.launch(OP, &self.k::<E>().index_add, self.grid_1d(y.len()), args)?;
        Ok(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_runs() {
        assert_eq!(consecutive(&[3, 4, 5]), Some(3));
        assert_eq!(consecutive(&[0]), Some(0));
        assert_eq!(consecutive(&[]), None);
        assert_eq!(consecutive(&[1, 3]), None);
        assert_eq!(consecutive(&[2, 1]), None);
    }

    #[test]
    fn sources_grouped_by_destination_in_order() {
        // Destinations 0..4 of [2, 0, 2, 3, 0, 2]: 0 <- {1, 4}, 1 <- {}, 2 <- {0, 2, 5},
        // 3 <- {3}.
        let t = sources_by_destination(&[2, 0, 2, 3, 0, 2], 4);
        assert_eq!(&t[..5], &[0, 2, 2, 5, 6]);
        assert_eq!(&t[5..], &[1, 4, 0, 2, 5, 3]);
        assert_eq!(sources_by_destination(&[], 3), vec![0; 4]);
        // Random lists: every position once, under its index, ascending.
        let mut state = 12345u64;
        for _ in 0..50 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = 1 + (state >> 60) as usize;
            let idx: Vec<usize> = (0..(state >> 58) as usize)
                .map(|i| ((state >> (i % 50)) as usize + i * 7) % len)
                .collect();
            let t = sources_by_destination(&idx, len);
            let (starts, sources) = t.split_at(len + 1);
            assert_eq!(starts[len], idx.len());
            for d in 0..len {
                let mine = &sources[starts[d]..starts[d + 1]];
                let want: Vec<usize> = (0..idx.len()).filter(|&i| idx[i] == d).collect();
                assert_eq!(mine, &want[..], "destination {d} of {idx:?}");
            }
        }
    }
}
