//! The [`DeviceRuntime`] of a real GPU: the driver and cuBLAS through cudarc, all work
//! queued on one stream.

use super::{AllocError, ColMajorCall, DeviceRuntime, Kernel, Stamp};
use cudarc::cublas::{result as blas, sys as blas_sys};
use cudarc::driver::{result, sys, CudaContext, CudaStream, LaunchConfig};
use pgcnn_core::DType;
use std::ffi::c_void;
use std::sync::Arc;

/// The error for a stamp the driver did not make (the emulator's host clock).
const NOT_AN_EVENT: &str = "a stamp that is not a driver event";

/// The real device through cudarc.
pub(crate) struct DriverRuntime {
    /// A raw handle rather than cudarc's `CudaBlas`, whose drop panics when cuBLAS
    /// reports an error (as it does after a device fault): teardown must not panic.
    blas: blas_sys::cublasHandle_t,
    stream: Arc<CudaStream>,
    ctx: Arc<CudaContext>,
}

// SAFETY: the handle is configured once, in `new`, and only used to queue work on the
// one stream; cuBLAS allows a handle to be shared by threads under those conditions.
unsafe impl Send for DriverRuntime {}
// SAFETY: as above.
unsafe impl Sync for DriverRuntime {}

impl DriverRuntime {
    /// Starts cuBLAS on `stream`.
    pub(crate) fn new(ctx: Arc<CudaContext>, stream: Arc<CudaStream>) -> Result<Self, String> {
        ctx.bind_to_thread().map_err(|e| e.to_string())?;
        let blas = blas::create_handle().map_err(|e| e.to_string())?;
        let rt = Self { blas, stream, ctx };
        // SAFETY: a live handle and our stream.
        unsafe { blas::set_stream(rt.blas, rt.stream.cu_stream() as _) }
            .map_err(|e| e.to_string())?;
        Ok(rt)
    }

    fn stream(&self) -> sys::CUstream {
        self.stream.cu_stream()
    }

    /// Makes the context current on this thread (cheap when it already is).
    fn bind(&self) -> Result<(), String> {
        self.ctx.bind_to_thread().map_err(|e| e.to_string())
    }
}

impl Drop for DriverRuntime {
    fn drop(&mut self) {
        let _ = self.ctx.bind_to_thread();
        // SAFETY: the handle is live and used by nobody else now. An error (a device
        // that faulted earlier) leaves nothing to clean up that the process exit won't.
        let _ = unsafe { blas::destroy_handle(self.blas) };
    }
}

impl DeviceRuntime for DriverRuntime {
    fn malloc(&self, bytes: usize) -> Result<u64, AllocError> {
        self.bind().map_err(AllocError::Other)?;
        // SAFETY: the context is current; the pointer is freed once, by `free`.
        unsafe { result::malloc_sync(bytes) }.map_err(|e| {
            if e.0 == sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY {
                AllocError::OutOfMemory
            } else {
                AllocError::Other(e.to_string())
            }
        })
    }

    fn memory_info(&self) -> Option<(usize, usize)> {
        self.bind().ok()?;
        result::mem_get_info().ok()
    }

    fn free(&self, ptr: u64, _bytes: usize) -> Result<(), String> {
        self.bind()?;
        // SAFETY: `ptr` came from malloc_sync and nobody holds it any more.
        unsafe { result::free_sync(ptr) }.map_err(|e| e.to_string())
    }

    fn launch(
        &self,
        k: &Kernel,
        cfg: LaunchConfig,
        params: &mut [*mut c_void],
    ) -> Result<(), String> {
        let Some(f) = &k.function else {
            return Err(format!("kernel {} is not loaded", k.name));
        };
        self.bind()?;
        // SAFETY: the caller's arguments match the kernel's parameters and stay alive
        // until this returns (the driver copies them at launch).
        unsafe {
            result::launch_kernel(
                f.cu_function(),
                cfg.grid_dim,
                cfg.block_dim,
                cfg.shared_mem_bytes,
                self.stream(),
                params,
            )
        }
        .map_err(|e| e.to_string())
    }

    fn memset_zero(&self, ptr: u64, bytes: usize) -> Result<(), String> {
        self.bind()?;
        // SAFETY: `ptr` is a live block of at least `bytes` bytes; queued in order.
        unsafe { result::memset_d8_async(ptr, 0, bytes, self.stream()) }.map_err(|e| e.to_string())
    }

    fn copy_dtod(&self, dst: u64, src: u64, bytes: usize) -> Result<(), String> {
        self.bind()?;
        // SAFETY: both are live blocks of at least `bytes` bytes.
        unsafe { result::memcpy_dtod_async(dst, src, bytes, self.stream()) }
            .map_err(|e| e.to_string())
    }

    fn copy_htod(&self, dst: u64, src: &[u8]) -> Result<(), String> {
        self.bind()?;
        // SAFETY: `dst` holds at least `src.len()` bytes. From pageable memory the call
        // returns only once the data is staged.
        unsafe { result::memcpy_htod_async(dst, src, self.stream()) }.map_err(|e| e.to_string())
    }

    fn copy_dtoh(&self, dst: &mut [u8], src: u64) -> Result<(), String> {
        self.bind()?;
        // SAFETY: `src` holds at least `dst.len()` bytes; we wait before returning.
        unsafe { result::memcpy_dtoh_async(dst, src, self.stream()) }.map_err(|e| e.to_string())?;
        self.stream.synchronize().map_err(|e| e.to_string())
    }

    fn synchronize(&self) -> Result<(), String> {
        self.stream.synchronize().map_err(|e| e.to_string())
    }

    fn new_stamp(&self) -> Result<Stamp, String> {
        self.bind()?;
        result::event::create(sys::CUevent_flags::CU_EVENT_DEFAULT)
            .map(Stamp::Event)
            .map_err(|e| e.to_string())
    }

    fn record(&self, stamp: &mut Stamp) -> Result<(), String> {
        let Stamp::Event(e) = stamp else {
            return Err(NOT_AN_EVENT.to_string());
        };
        self.bind()?;
        // SAFETY: a live event of this context, recorded on our stream.
        unsafe { result::event::record(*e, self.stream()) }.map_err(|e| e.to_string())
    }

    fn elapsed_ms(&self, start: &Stamp, end: &Stamp) -> Result<f64, String> {
        let (Stamp::Event(a), Stamp::Event(b)) = (start, end) else {
            return Err(NOT_AN_EVENT.to_string());
        };
        self.bind()?;
        // SAFETY: live events of this context, recorded on one stream, complete.
        unsafe { result::event::elapsed(*a, *b) }
            .map(f64::from)
            .map_err(|e| e.to_string())
    }

    fn destroy(&self, stamp: Stamp) {
        if let Stamp::Event(e) = stamp {
            if self.bind().is_ok() {
                // SAFETY: a live event nobody uses any more. An error (a device that
                // faulted) leaves nothing the process exit won't clean up.
                let _ = unsafe { result::event::destroy(e) };
            }
        }
    }

    fn gemm(
        &self,
        c: &ColMajorCall,
        dtype: DType,
        tf32: bool,
        accumulate: bool,
    ) -> Result<(), String> {
        use blas_sys::cublasComputeType_t::*;
        use blas_sys::cudaDataType::*;
        let (data_type, compute) = match dtype {
            DType::F32 if tf32 => (CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32),
            DType::F32 => (CUDA_R_32F, CUBLAS_COMPUTE_32F),
            DType::F64 => (CUDA_R_64F, CUBLAS_COMPUTE_64F),
        };
        let int = |what: &str, v: usize| {
            i32::try_from(v).map_err(|_| format!("{what} = {v} exceeds cuBLAS's 32-bit range"))
        };
        let long = |v: usize| i64::try_from(v).map_err(|_| format!("stride {v} too large"));
        let (m, n, k) = (int("m", c.m)?, int("n", c.n)?, int("k", c.k)?);
        let (lda, ldb, ldc) = (int("lda", c.lda)?, int("ldb", c.ldb)?, int("ldc", c.ldc)?);
        let batch = int("batch", c.batch)?;
        let (sa, sb, sc) = (long(c.stride_a)?, long(c.stride_b)?, long(c.stride_c)?);
        // alpha and beta in the compute type's scale type: f32 for both f32 modes.
        let (one32, zero32, one64, zero64) = (1f32, 0f32, 1f64, 0f64);
        let beta32 = if accumulate { one32 } else { zero32 };
        let beta64 = if accumulate { one64 } else { zero64 };
        let (alpha, beta): (*const c_void, *const c_void) = match dtype {
            DType::F32 => (&one32 as *const f32 as _, &beta32 as *const f32 as _),
            DType::F64 => (&one64 as *const f64 as _, &beta64 as *const f64 as _),
        };
        let op = |t: bool| {
            if t {
                blas_sys::cublasOperation_t::CUBLAS_OP_T
            } else {
                blas_sys::cublasOperation_t::CUBLAS_OP_N
            }
        };
        self.bind()?;
        // SAFETY: the handle runs on our stream; the callers checked that every matrix
        // lies inside its live block; alpha and beta are read before the call returns.
        unsafe {
            blas::gemm_strided_batched_ex(
                self.blas,
                op(c.trans_a),
                op(c.trans_b),
                m,
                n,
                k,
                alpha,
                c.a as *const c_void,
                data_type,
                lda,
                sa,
                c.b as *const c_void,
                data_type,
                ldb,
                sb,
                beta,
                c.c as *mut c_void,
                data_type,
                ldc,
                sc,
                batch,
                compute,
                blas_sys::cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT,
            )
        }
        .map_err(|e| e.to_string())
    }
}
