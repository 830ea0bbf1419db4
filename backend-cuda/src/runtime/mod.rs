//! The device runtime: the few operations that touch a device — memory, copies, kernel
//! launches, cuBLAS's GEMM, waits and timing stamps — as one trait, [`DeviceRuntime`].
//! Everything above it (the pool, launch planning, argument packing, the ops) is the same
//! code whichever runtime runs underneath, which is what lets the kernel emulator check
//! that code on a machine without a GPU.
//!
//! Two implement it: [`driver::DriverRuntime`], the real device through cudarc, and,
//! with the `emulator` feature, the emulator's `EmulatedDevice` (`crate::emulator`),
//! which runs the same kernel sources on the CPU. A [`Device`](crate::device) holds one
//! as `Arc<dyn DeviceRuntime>`: one virtual call per device operation, next to the
//! driver call's own microseconds.
//!
//! Device memory is plain addresses (`u64`), as the driver hands them out; the callers
//! (the pool, the ops) guarantee that each address lies in a live block of the size they
//! pass, as they would to the driver.

pub(crate) mod driver;

use cudarc::driver::{sys, CudaFunction, LaunchConfig};
use pgcnn_core::DType;
use std::ffi::c_void;
use std::time::Instant;

/// What a device does for the backend. Errors are the runtime's own message, which the
/// caller wraps with the op it served.
pub(crate) trait DeviceRuntime: Send + Sync {
    /// A new block of `bytes` (> 0) bytes.
    fn malloc(&self, bytes: usize) -> Result<u64, AllocError>;

    /// Frees a block of `bytes` bytes from [`DeviceRuntime::malloc`], which nobody uses
    /// any more.
    fn free(&self, ptr: u64, bytes: usize) -> Result<(), String>;

    /// Prepares a block for a user who asked for `used` of its bytes (the pool calls it
    /// on every hand-out). Nothing on a GPU, whose memory holds whatever was there; the
    /// emulator poisons the bytes and guards the rest.
    fn hand_out(&self, _ptr: u64, _used: usize) -> Result<(), String> {
        Ok(())
    }

    /// The device's free and total memory in bytes, where it can say.
    fn memory_info(&self) -> Option<(usize, usize)> {
        None
    }

    /// Queues a kernel. `params` point at the arguments, in the kernel's order and
    /// types; they need to live only until this returns.
    fn launch(
        &self,
        k: &Kernel,
        cfg: LaunchConfig,
        params: &mut [*mut c_void],
    ) -> Result<(), String>;

    /// Queues zeroing `bytes` bytes at `ptr`.
    fn memset_zero(&self, ptr: u64, bytes: usize) -> Result<(), String>;

    /// Queues a copy of `bytes` bytes between two blocks (never overlapping).
    fn copy_dtod(&self, dst: u64, src: u64, bytes: usize) -> Result<(), String>;

    /// Host to device. Returns once `src` may be dropped.
    fn copy_htod(&self, dst: u64, src: &[u8]) -> Result<(), String>;

    /// Device to host, waiting for all queued work first.
    fn copy_dtoh(&self, dst: &mut [u8], src: u64) -> Result<(), String>;

    /// Queues a strided batched column-major GEMM (cuBLAS's `GemmStridedBatchedEx`),
    /// with alpha 1 and beta 0, or 1 when `accumulate`. `tf32` allows TF32 tensor cores
    /// for f32.
    fn gemm(
        &self,
        c: &ColMajorCall,
        dtype: DType,
        tf32: bool,
        accumulate: bool,
    ) -> Result<(), String>;

    /// Waits until all queued work has finished, reporting any error it raised.
    fn synchronize(&self) -> Result<(), String>;

    /// A new timing stamp, not yet recorded.
    fn new_stamp(&self) -> Result<Stamp, String>;

    /// Records `stamp` at this point of the queued work.
    fn record(&self, stamp: &mut Stamp) -> Result<(), String>;

    /// Milliseconds between two recorded stamps whose work has finished.
    fn elapsed_ms(&self, start: &Stamp, end: &Stamp) -> Result<f64, String>;

    /// Frees a stamp.
    fn destroy(&self, stamp: Stamp);

    /// True for a stand-in that runs the device's work on the host (the emulator): its
    /// results count, its timings say nothing about a GPU.
    fn is_emulated(&self) -> bool {
        false
    }

    /// Nanoseconds a stand-in spent doing the device's work so far, inside the host's
    /// calls (None on a GPU, whose work runs beside the host).
    fn emulated_device_ns(&self) -> Option<u64> {
        None
    }
}

/// A kernel: its name and, on the driver, its loaded function.
pub(crate) struct Kernel {
    pub(crate) name: String,
    pub(crate) function: Option<CudaFunction>,
}

/// A point in the queued work, for timing (see [`crate::profile`]): an event on the
/// driver, the host's clock on a runtime whose work runs inside the host's calls.
pub(crate) enum Stamp {
    Event(sys::CUevent),
    #[cfg_attr(not(feature = "emulator"), allow(dead_code))] // made by the emulator
    Host(Instant),
}

// SAFETY: an event is a handle of the context, usable from any thread that binds it;
// the driver runtime binds the context before every use.
unsafe impl Send for Stamp {}

/// Why an allocation failed.
pub(crate) enum AllocError {
    OutOfMemory,
    Other(String),
}

/// The arguments of a strided batched column-major GEMM, cuBLAS's way: for each batch
/// `t`, `C[t] (m×n) = op(A[t]) (m×k) · op(B[t]) (k×n)` with leading dimensions `ld*` and
/// batch strides `stride_*` in elements (`crate::ops::gemm` derives it from a row-major
/// product).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ColMajorCall {
    pub trans_a: bool,
    pub trans_b: bool,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: u64,
    pub lda: usize,
    pub stride_a: usize,
    pub b: u64,
    pub ldb: usize,
    pub stride_b: usize,
    pub c: u64,
    pub ldc: usize,
    pub stride_c: usize,
    pub batch: usize,
}
