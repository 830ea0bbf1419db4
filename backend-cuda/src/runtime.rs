//! The few operations that touch the device — memory, copies, launches, cuBLAS — on
//! either the real driver or the kernel emulator (see [`crate::emulator`]). Everything
//! above this file is the same code on both, which is what lets the emulator check the
//! backend's planning and argument passing on a machine without a GPU.

use crate::emulator::EmulatedDevice;
use crate::ops::gemm::ColMajorCall;
use cudarc::cublas::{result as blas, sys as blas_sys};
use cudarc::driver::{result, sys, CudaContext, CudaFunction, CudaStream, LaunchConfig};
use pgcnn_core::DType;
use std::ffi::c_void;
use std::sync::Arc;
use std::time::Instant;

/// The real device through cudarc.
pub(crate) struct DriverRuntime {
    /// A raw handle rather than cudarc's `CudaBlas`, whose drop panics when cuBLAS
    /// reports an error (as it does after a device fault): teardown must not panic.
    blas: blas_sys::cublasHandle_t,
    pub(crate) stream: Arc<CudaStream>,
    pub(crate) ctx: Arc<CudaContext>,
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
}

impl Drop for DriverRuntime {
    fn drop(&mut self) {
        let _ = self.ctx.bind_to_thread();
        // SAFETY: the handle is live and used by nobody else now. An error (a device
        // that faulted earlier) leaves nothing to clean up that the process exit won't.
        let _ = unsafe { blas::destroy_handle(self.blas) };
    }
}

/// Where the primitives run.
pub(crate) enum Runtime {
    Driver(DriverRuntime),
    Emulated(EmulatedDevice),
}

/// A kernel: its name and, on the driver, its loaded function.
pub(crate) struct Kernel {
    pub(crate) name: String,
    pub(crate) function: Option<CudaFunction>,
}

/// A point in the stream's work, for timing (see [`crate::profile`]): an event on the
/// driver, the host's clock on the emulator (whose work runs synchronously).
pub(crate) enum Stamp {
    Event(sys::CUevent),
    Host(Instant),
}

// SAFETY: an event is a handle of the context, usable from any thread that binds it;
// every use below binds the context first.
unsafe impl Send for Stamp {}

/// Why an allocation failed.
pub(crate) enum AllocError {
    OutOfMemory,
    Other(String),
}

impl Runtime {
    fn stream(d: &DriverRuntime) -> sys::CUstream {
        d.stream.cu_stream()
    }

    /// Makes the context current on this thread (cheap when it already is).
    pub(crate) fn bind(&self) -> Result<(), String> {
        match self {
            Runtime::Driver(d) => d.ctx.bind_to_thread().map_err(|e| e.to_string()),
            Runtime::Emulated(_) => Ok(()),
        }
    }

    pub(crate) fn malloc(&self, bytes: usize) -> Result<u64, AllocError> {
        match self {
            Runtime::Driver(_) => {
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
            Runtime::Emulated(emu) => emu
                .timed(|| emu.heap.malloc(bytes))
                .ok_or(AllocError::OutOfMemory),
        }
    }

    /// The device's free and total memory in bytes (None on the emulator, or if the
    /// driver cannot say).
    pub(crate) fn memory_info(&self) -> Option<(usize, usize)> {
        match self {
            Runtime::Driver(_) => {
                self.bind().ok()?;
                result::mem_get_info().ok()
            }
            Runtime::Emulated(_) => None,
        }
    }

    /// Prepares a block for a user who asked for `used` of its bytes: nothing on a GPU
    /// (whose memory holds whatever was there); on the emulator NaN bytes, so that a read
    /// of memory nothing wrote shows, and a guard zone after the `used` bytes (see
    /// [`crate::emulator`]).
    pub(crate) fn hand_out(&self, ptr: u64, used: usize) -> Result<(), String> {
        match self {
            Runtime::Driver(_) => Ok(()),
            // SAFETY: a live block from malloc, handed to no one else.
            Runtime::Emulated(emu) => emu.timed(|| unsafe { emu.heap.hand_out(ptr, used) }),
        }
    }

    /// Frees a block of `bytes` bytes from [`Runtime::malloc`].
    pub(crate) fn free(&self, ptr: u64, bytes: usize) -> Result<(), String> {
        match self {
            Runtime::Driver(_) => {
                self.bind()?;
                // SAFETY: `ptr` came from malloc_sync and nobody holds it any more.
                unsafe { result::free_sync(ptr) }.map_err(|e| e.to_string())
            }
            // SAFETY: as above, from the emulator's malloc with this size.
            Runtime::Emulated(emu) => emu.timed(|| unsafe { emu.heap.free(ptr, bytes) }),
        }
    }

    /// Queues a kernel. `params` point at the arguments, in the kernel's order and types.
    pub(crate) fn launch(
        &self,
        k: &Kernel,
        cfg: LaunchConfig,
        params: &mut [*mut c_void],
    ) -> Result<(), String> {
        match (self, &k.function) {
            (Runtime::Driver(d), Some(f)) => {
                self.bind()?;
                // SAFETY: the caller's arguments match the kernel's parameters and stay
                // alive until this returns (the driver copies them at launch).
                unsafe {
                    result::launch_kernel(
                        f.cu_function(),
                        cfg.grid_dim,
                        cfg.block_dim,
                        cfg.shared_mem_bytes,
                        Self::stream(d),
                        params,
                    )
                }
                .map_err(|e| e.to_string())
            }
            (Runtime::Emulated(emu), _) => emu.timed(|| emu.launch(&k.name, cfg, params)),
            (Runtime::Driver(_), None) => Err(format!("kernel {} is not loaded", k.name)),
        }
    }

    pub(crate) fn memset_zero(&self, ptr: u64, bytes: usize) -> Result<(), String> {
        match self {
            Runtime::Driver(d) => {
                self.bind()?;
                // SAFETY: `ptr` is a live block of at least `bytes` bytes; queued in order.
                unsafe { result::memset_d8_async(ptr, 0, bytes, Self::stream(d)) }
                    .map_err(|e| e.to_string())
            }
            Runtime::Emulated(emu) => emu.timed(|| {
                // SAFETY: as above, in host memory.
                unsafe { std::ptr::write_bytes(ptr as *mut u8, 0, bytes) };
                emu.heap.check_guards("a fill")
            }),
        }
    }

    pub(crate) fn copy_dtod(&self, dst: u64, src: u64, bytes: usize) -> Result<(), String> {
        match self {
            Runtime::Driver(d) => {
                self.bind()?;
                // SAFETY: both are live blocks of at least `bytes` bytes.
                unsafe { result::memcpy_dtod_async(dst, src, bytes, Self::stream(d)) }
                    .map_err(|e| e.to_string())
            }
            Runtime::Emulated(emu) => emu.timed(|| {
                // SAFETY: as above; the callers never pass overlapping ranges.
                unsafe { std::ptr::copy_nonoverlapping(src as *const u8, dst as *mut u8, bytes) };
                emu.heap.check_guards("a device-to-device copy")
            }),
        }
    }

    /// Host to device. Returns once `src` may be dropped.
    pub(crate) fn copy_htod(&self, dst: u64, src: &[u8]) -> Result<(), String> {
        match self {
            Runtime::Driver(d) => {
                self.bind()?;
                // SAFETY: `dst` holds at least `src.len()` bytes. From pageable memory the
                // call returns only once the data is staged.
                unsafe { result::memcpy_htod_async(dst, src, Self::stream(d)) }
                    .map_err(|e| e.to_string())
            }
            Runtime::Emulated(emu) => emu.timed(|| {
                // SAFETY: as above.
                unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst as *mut u8, src.len()) };
                emu.heap.check_guards("an upload")
            }),
        }
    }

    /// Device to host, waiting for all queued work first.
    pub(crate) fn copy_dtoh(&self, dst: &mut [u8], src: u64) -> Result<(), String> {
        match self {
            Runtime::Driver(d) => {
                self.bind()?;
                // SAFETY: `src` holds at least `dst.len()` bytes; we wait before returning.
                unsafe { result::memcpy_dtoh_async(dst, src, Self::stream(d)) }
                    .map_err(|e| e.to_string())?;
                d.stream.synchronize().map_err(|e| e.to_string())
            }
            // SAFETY: as above.
            Runtime::Emulated(emu) => emu.timed(|| unsafe {
                std::ptr::copy_nonoverlapping(src as *const u8, dst.as_mut_ptr(), dst.len());
                Ok(())
            }),
        }
    }

    /// Time the emulator spent on the device's work so far (None on a GPU, whose work
    /// runs beside the host).
    pub(crate) fn emulated_device_ns(&self) -> Option<u64> {
        match self {
            Runtime::Driver(_) => None,
            Runtime::Emulated(emu) => Some(emu.busy_ns()),
        }
    }

    pub(crate) fn synchronize(&self) -> Result<(), String> {
        match self {
            Runtime::Driver(d) => d.stream.synchronize().map_err(|e| e.to_string()),
            Runtime::Emulated(_) => Ok(()),
        }
    }

    /// A new stamp, not yet recorded.
    pub(crate) fn new_stamp(&self) -> Result<Stamp, String> {
        match self {
            Runtime::Driver(_) => {
                self.bind()?;
                result::event::create(sys::CUevent_flags::CU_EVENT_DEFAULT)
                    .map(Stamp::Event)
                    .map_err(|e| e.to_string())
            }
            Runtime::Emulated(_) => Ok(Stamp::Host(Instant::now())),
        }
    }

    /// Records `stamp` at this point of the stream's work.
    pub(crate) fn record(&self, stamp: &mut Stamp) -> Result<(), String> {
        match (self, stamp) {
            (Runtime::Driver(d), Stamp::Event(e)) => {
                self.bind()?;
                // SAFETY: a live event of this context, recorded on our stream.
                unsafe { result::event::record(*e, Self::stream(d)) }.map_err(|e| e.to_string())
            }
            (_, s) => {
                *s = Stamp::Host(Instant::now());
                Ok(())
            }
        }
    }

    /// Milliseconds between two recorded stamps whose work has finished.
    pub(crate) fn elapsed_ms(&self, start: &Stamp, end: &Stamp) -> Result<f64, String> {
        match (start, end) {
            (Stamp::Event(a), Stamp::Event(b)) => {
                self.bind()?;
                // SAFETY: live events of this context, recorded on one stream, complete.
                unsafe { result::event::elapsed(*a, *b) }
                    .map(f64::from)
                    .map_err(|e| e.to_string())
            }
            (Stamp::Host(a), Stamp::Host(b)) => {
                Ok(b.saturating_duration_since(*a).as_secs_f64() * 1e3)
            }
            _ => Err("a driver event timed against a host clock".to_string()),
        }
    }

    /// Frees a stamp's event (nothing for a host clock).
    pub(crate) fn destroy(&self, stamp: Stamp) {
        if let Stamp::Event(e) = stamp {
            if self.bind().is_ok() {
                // SAFETY: a live event nobody uses any more. An error (a device that
                // faulted) leaves nothing the process exit won't clean up.
                let _ = unsafe { result::event::destroy(e) };
            }
        }
    }

    /// A strided batched column-major GEMM (cuBLAS's `GemmStridedBatchedEx`), with
    /// alpha 1 and beta 0 or 1. `tf32` allows TF32 tensor cores for f32.
    pub(crate) fn gemm(
        &self,
        c: &ColMajorCall,
        dtype: DType,
        tf32: bool,
        accumulate: bool,
    ) -> Result<(), String> {
        let d = match self {
            Runtime::Driver(d) => d,
            Runtime::Emulated(emu) => {
                return emu.timed(|| {
                    // SAFETY: the callers checked that every matrix lies in its block.
                    unsafe { crate::emulator::gemm(c, dtype, tf32, accumulate) }?;
                    emu.heap.check_guards("a GEMM")
                });
            }
        };
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
                d.blas,
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
