//! Reductions over the middle axis of [outer, len, inner].

use crate::device::Cuda;
use crate::error::backend_err;
use crate::kernels::{reduce_code, REDUCE_BLOCK};
use crate::storage::CudaStorage;
use cudarc::driver::LaunchConfig;
use pgcnn_core::backend::{AxisLayout, ReduceOp};
use pgcnn_core::{Element, Result};

/// How many chunks to split the reduced axis into, so that `outputs` results computed
/// by `per_output` threads each still give the GPU `want` threads; 1 when the axis is
/// short or the outputs alone are enough.
pub(crate) fn chunks_for(outputs: usize, len: usize, want: usize, min_chunk: usize) -> usize {
    if outputs >= want || len <= 2 * min_chunk {
        return 1;
    }
    let by_work = want.div_ceil(outputs.max(1));
    let by_len = len / min_chunk;
    by_work.min(by_len).max(1)
}

impl Cuda {
    pub(crate) fn reduce_impl<E: Element>(
        &self,
        op: ReduceOp,
        x: &CudaStorage<E>,
        l: AxisLayout,
    ) -> Result<CudaStorage<E>> {
        const OP: &str = "reduce";
        // Checked: an empty input may come with huge axes, whose products must be
        // refused, not wrapped (or a panic in debug).
        let (Some(numel), Some(outputs)) = (
            l.outer
                .checked_mul(l.len)
                .and_then(|n| n.checked_mul(l.inner)),
            l.outer.checked_mul(l.inner),
        ) else {
            return Err(backend_err(
                OP,
                format!("{l:?} overflows the address space"),
            ));
        };
        if x.len() != numel {
            return Err(backend_err(
                OP,
                format!("input holds {} elements, the layout needs {numel}", x.len()),
            ));
        }
        if l.len == 0 && outputs > 0 {
            return Err(backend_err(OP, "cannot reduce an axis of length 0"));
        }
        let y = self.alloc::<E>(OP, outputs)?;
        if y.is_empty() {
            return Ok(y);
        }
        self.reduce_into::<E>(op, x.ptr(), y.ptr(), l)?;
        Ok(y)
    }

    /// Reduces `x` (device address, layout `l`) into `y` (`outer * inner` elements),
    /// through a buffer of partial results when the axis is long and the output short.
    fn reduce_into<E: Element>(&self, op: ReduceOp, x: u64, y: u64, l: AxisLayout) -> Result<()> {
        let outputs = l.outer * l.inner;
        let (want, min_chunk) = if l.inner == 1 {
            // Row kernel: one block per output, so count blocks.
            (2 * self.sms() as usize, 4 * REDUCE_BLOCK as usize)
        } else {
            (64 * self.sms() as usize * 32, 16)
        };
        let wanted = chunks_for(outputs, l.len, want, min_chunk);
        if wanted == 1 {
            return self.reduce_pass::<E>(op, x, y, l, l.len);
        }
        // Equal chunks; their count can come out below the request.
        let chunk = l.len.div_ceil(wanted);
        let nchunks = l.len.div_ceil(chunk);
        let partial = self.alloc::<E>("reduce", l.outer * nchunks * l.inner)?;
        self.reduce_pass::<E>(op, x, partial.ptr(), l, chunk)?;
        let second = AxisLayout {
            outer: l.outer,
            len: nchunks,
            inner: l.inner,
        };
        self.reduce_pass::<E>(op, partial.ptr(), y, second, nchunks)
    }

    /// One kernel launch: `[outer, len, inner] -> [outer, ceil(len / chunk), inner]`
    /// (`chunk` >= 1).
    fn reduce_pass<E: Element>(
        &self,
        op: ReduceOp,
        x: u64,
        y: u64,
        l: AxisLayout,
        chunk: usize,
    ) -> Result<()> {
        let nchunks = l.len.div_ceil(chunk);
        let chunk = chunk as u64;
        let code = reduce_code(op);
        let k = self.k::<E>();
        if l.inner == 1 {
            let threads = (chunk as usize)
                .next_power_of_two()
                .clamp(32, REDUCE_BLOCK as usize) as u32;
            let blocks = (l.outer * nchunks).clamp(1, self.sms() as usize * 64) as u32;
            let cfg = LaunchConfig {
                grid_dim: (blocks, 1, 1),
                block_dim: (threads, 1, 1),
                shared_mem_bytes: 0,
            };
            // reduce_rows_T(const T* x, T* y, u64 outer, u64 len, u64 nchunks, u64 chunk, int op)
            let args = (
                x,
                y,
                l.outer as u64,
                l.len as u64,
                nchunks as u64,
                chunk,
                code,
            );
            self.launch("reduce", &k.reduce_rows, cfg, args)
        } else {
            let cfg = self.grid_1d(l.outer * nchunks * l.inner);
            // reduce_cols_T(const T* x, T* y, u64 outer, u64 len, u64 inner, u64 nchunks,
            //               u64 chunk, int op)
            let args = (
                x,
                y,
                l.outer as u64,
                l.len as u64,
                l.inner as u64,
                nchunks as u64,
                chunk,
                code,
            );
            self.launch("reduce", &k.reduce_cols, cfg, args)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::chunks_for;

    #[test]
    fn many_outputs_need_no_split() {
        assert_eq!(chunks_for(100_000, 1_000_000, 8192, 16), 1);
    }

    #[test]
    fn short_axes_need_no_split() {
        assert_eq!(chunks_for(1, 20, 8192, 16), 1);
    }

    #[test]
    fn one_long_row_is_split_but_chunks_stay_long() {
        let n = chunks_for(1, 1_000_000, 264, 1024);
        assert_eq!(n, 264);
        let n = chunks_for(1, 10_000, 264, 1024);
        assert_eq!(n, 9);
        assert!(10_000 / n >= 1024);
    }
}
