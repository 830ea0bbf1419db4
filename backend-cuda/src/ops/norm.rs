//! Fused per-channel normalisation of `[outer, channels, inner]` (batch, layer and
//! instance norm): the overrides of `Backend::normalize_forward` and
//! `Backend::normalize_backward`, three launches each instead of the dozen of the
//! composed default (kernels/norm.cu).
//!
//! Accuracy: the per-channel sums are accumulated in double for both element types (on
//! an H100 double throughput is ample for a pass that is memory bound), the forward's
//! shifted by the channel's first value as on the CPU backend (backend-cpu/src/norm.rs),
//! so the variance does not cancel; statistics and coefficients are derived in double
//! and rounded once. Deterministic: every sum has one fixed order (a block tree, then
//! the chunks in order), no float atomics.

use super::reduce::chunks_for;
use crate::device::Cuda;
use crate::error::NAME;
use crate::kernels::REDUCE_BLOCK;
use crate::storage::CudaStorage;
use cudarc::driver::{DeviceRepr, LaunchConfig};
use pgcnn_core::backend::{check_len, Affine, NormBackward, NormForward, NormLayout};
use pgcnn_core::{Element, Result};

/// Sizes of one normalisation and the split of each channel's values into chunks: the
/// C++ `NormDims` of kernels/norm.cu.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NormDims {
    outer: u64,
    channels: u64,
    inner: u64,
    nchunks: u64,
    chunk: u64,
}

// SAFETY: five u64, laid out as the C++ struct.
unsafe impl DeviceRepr for NormDims {}

/// Blocks per SM the statistics pass aims for (of up to REDUCE_BLOCK threads).
const BLOCKS_PER_SM: usize = 4;
/// Fewest values a chunk gets when a channel is split.
const MIN_CHUNK: usize = 4 * REDUCE_BLOCK as usize;

/// Splits each channel's `count` values into chunks so that `channels · nchunks` blocks
/// give `sms` multiprocessors work; one chunk when the channels alone are enough.
fn plan(l: NormLayout, sms: usize) -> NormDims {
    let count = l.count();
    let wanted = chunks_for(l.channels, count, BLOCKS_PER_SM * sms, MIN_CHUNK);
    let chunk = count.div_ceil(wanted).max(1);
    NormDims {
        outer: l.outer as u64,
        channels: l.channels as u64,
        inner: l.inner as u64,
        nchunks: count.div_ceil(chunk).max(1) as u64,
        chunk: chunk as u64,
    }
}

impl Cuda {
    /// See `Backend::normalize_forward`.
    pub(crate) fn normalize_forward_impl<E: Element>(
        &self,
        x: &CudaStorage<E>,
        l: NormLayout,
        eps: E,
        affine: Option<Affine<'_, CudaStorage<E>>>,
    ) -> Result<NormForward<CudaStorage<E>>> {
        const OP: &str = "normalize_forward";
        let numel = l.validate(NAME, OP)?;
        check_len(NAME, OP, "input", x.len(), numel)?;
        if let Some((g, b)) = affine {
            check_len(NAME, OP, "gamma", g.len(), l.channels)?;
            check_len(NAME, OP, "beta", b.len(), l.channels)?;
        }
        let out = NormForward {
            y: self.alloc::<E>(OP, numel)?,
            mean: self.alloc::<E>(OP, l.channels)?,
            var: self.alloc::<E>(OP, l.channels)?,
            rstd: self.alloc::<E>(OP, l.channels)?,
        };
        if numel == 0 {
            return Ok(out);
        }
        let d = plan(l, self.sms() as usize);
        let partial = self.norm_sums::<E>(OP, x.ptr(), 0, 0, d)?;
        // Per channel (scale, shift) of y = (x - mean) · scale + shift.
        let coef = self.alloc::<E>(OP, 2 * l.channels)?;
        let (gamma, beta) = affine.map_or((0, 0), |(g, b)| (g.ptr(), b.ptr()));
        let k = self.k::<E>();
        // norm_finish_forward_T(const double* partial, const T* x, const T* gamma,
        //     const T* beta, T* mean, T* var, T* rstd, T* coef, NormDims d, double eps)
        let args = (
            partial.ptr(),
            x.ptr(),
            gamma,
            beta,
            out.mean.ptr(),
            out.var.ptr(),
            out.rstd.ptr(),
            coef.ptr(),
            d,
            eps.to_f64(),
        );
        self.launch(OP, &k.norm_finish_forward, self.grid_1d(l.channels), args)?;
        // norm_apply_forward_T(const T* x, const T* mean, const T* coef, T* y, u64 n,
        //     u64 channels, u64 inner)
        let args = (
            x.ptr(),
            out.mean.ptr(),
            coef.ptr(),
            out.y.ptr(),
            numel as u64,
            d.channels,
            d.inner,
        );
        self.launch(OP, &k.norm_apply_forward, self.grid_1d(numel), args)?;
        Ok(out)
    }

    /// See `Backend::normalize_backward`.
    pub(crate) fn normalize_backward_impl<E: Element>(
        &self,
        dy: &CudaStorage<E>,
        x: &CudaStorage<E>,
        mean: &CudaStorage<E>,
        rstd: &CudaStorage<E>,
        gamma: Option<&CudaStorage<E>>,
        l: NormLayout,
    ) -> Result<NormBackward<CudaStorage<E>>> {
        const OP: &str = "normalize_backward";
        let numel = l.validate(NAME, OP)?;
        check_len(NAME, OP, "dy", dy.len(), numel)?;
        check_len(NAME, OP, "input", x.len(), numel)?;
        check_len(NAME, OP, "mean", mean.len(), l.channels)?;
        check_len(NAME, OP, "rstd", rstd.len(), l.channels)?;
        if let Some(g) = gamma {
            check_len(NAME, OP, "gamma", g.len(), l.channels)?;
        }
        let out = NormBackward {
            dx: self.alloc::<E>(OP, numel)?,
            dgamma: self.alloc::<E>(OP, l.channels)?,
            dbeta: self.alloc::<E>(OP, l.channels)?,
        };
        if numel == 0 {
            return Ok(out);
        }
        let d = plan(l, self.sms() as usize);
        let partial = self.norm_sums::<E>(OP, x.ptr(), dy.ptr(), mean.ptr(), d)?;
        // Per channel (k, a, b) of dx = k · (dy - a - (x - mean) · b).
        let coef = self.alloc::<E>(OP, 3 * l.channels)?;
        let k = self.k::<E>();
        // norm_finish_backward_T(const double* partial, const T* rstd, const T* gamma,
        //     T* dgamma, T* dbeta, T* coef, NormDims d)
        let args = (
            partial.ptr(),
            rstd.ptr(),
            gamma.map_or(0, CudaStorage::ptr),
            out.dgamma.ptr(),
            out.dbeta.ptr(),
            coef.ptr(),
            d,
        );
        self.launch(OP, &k.norm_finish_backward, self.grid_1d(l.channels), args)?;
        // norm_apply_backward_T(const T* dy, const T* x, const T* mean, const T* coef,
        //     T* dx, u64 n, u64 channels, u64 inner)
        let args = (
            dy.ptr(),
            x.ptr(),
            mean.ptr(),
            coef.ptr(),
            out.dx.ptr(),
            numel as u64,
            d.channels,
            d.inner,
        );
        self.launch(OP, &k.norm_apply_backward, self.grid_1d(numel), args)?;
        Ok(out)
    }

    /// The statistics pass: two double sums per (channel, chunk), `[channels, nchunks,
    /// 2]`, from the pool. With `dy` 0 (null) the forward's, else the backward's.
    fn norm_sums<E: Element>(
        &self,
        op: &'static str,
        x: u64,
        dy: u64,
        mean: u64,
        d: NormDims,
    ) -> Result<CudaStorage<f64>> {
        let blocks = (d.channels * d.nchunks) as usize;
        let partial = self.alloc::<f64>(op, 2 * blocks)?;
        // At least a few values per thread: short channels (instance norm) get small
        // blocks rather than idle lanes.
        let threads = (d.chunk as usize / 4)
            .next_power_of_two()
            .clamp(32, REDUCE_BLOCK as usize) as u32;
        // About one wave of resident blocks; more channels loop inside the kernel.
        let cap = self.sms() as usize * 32;
        let cfg = LaunchConfig {
            grid_dim: (blocks.clamp(1, cap) as u32, 1, 1),
            block_dim: (threads, 1, 1),
            shared_mem_bytes: 0,
        };
        // norm_sums_T(const T* x, const T* dy, const T* mean, double* partial, NormDims d)
        let args = (x, dy, mean, partial.ptr(), d);
        self.launch(op, &self.k::<E>().norm_sums, cfg, args)?;
        Ok(partial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(outer: usize, channels: usize, inner: usize) -> NormLayout {
        NormLayout {
            outer,
            channels,
            inner,
        }
    }

    #[test]
    fn many_channels_get_one_chunk_each() {
        let d = plan(l(1, 4096, 49), 132);
        assert_eq!((d.nchunks, d.chunk), (1, 49));
    }

    #[test]
    fn few_long_channels_are_split_into_long_chunks() {
        // Batch norm of [64, 4, 28, 28] on an H100: 4 channels of 50176 values.
        let d = plan(l(64, 4, 784), 132);
        assert!(d.nchunks > 1);
        assert!(d.chunk as usize >= MIN_CHUNK);
        assert!(d.nchunks * d.chunk >= 64 * 784);
        assert!((d.nchunks - 1) * d.chunk < 64 * 784, "no empty chunk");
    }

    #[test]
    fn a_short_channel_is_one_chunk() {
        let d = plan(l(1, 1, 1), 132);
        assert_eq!((d.nchunks, d.chunk), (1, 1));
    }

    #[test]
    fn bad_layouts_are_errors() {
        assert!(l(0, 3, 5).validate(NAME, "t").is_err());
        assert!(l(2, 3, 0).validate(NAME, "t").is_err());
        assert!(l(usize::MAX, 2, 2).validate(NAME, "t").is_err());
        assert_eq!(l(2, 0, 5).validate(NAME, "t").ok(), Some(0));
        assert_eq!(l(2, 3, 5).validate(NAME, "t").ok(), Some(30));
    }
}
