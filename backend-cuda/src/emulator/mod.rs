//! The kernel emulator (cargo feature `emulator`, off by default): the CUDA C++ kernels
//! compiled for the CPU with g++ and run block by block, with host memory standing in
//! for device memory and a plain loop for cuBLAS (which reads f32 inputs as TF32 when
//! TF32 is on, see [`gemm`]). [`Cuda::emulated`] builds a backend on it, so that the
//! backend — its launch planning, argument passing, chunking and kernels — can be compared
//! with the reference on a machine without a GPU. Slow, and not the real thing: it says
//! nothing about the driver, cuBLAS or GPU memory ordering. It is test machinery, which
//! is why a default build, and `cargo install pgcnn`, leave it out.
//!
//! Stricter than a GPU in two ways, to catch what a GPU would let pass silently: every
//! device block is handed out filled with NaN bytes (0xFF), so a kernel that reads memory
//! nothing wrote yields NaN instead of the zeros fresh host memory tends to hold; and
//! every block sits between two guard zones, checked after each launch, GEMM and copy,
//! so a write past either end is an error naming the kernel. The zone after a block
//! starts where the request ended, not where the pool's size class does, so a write one
//! element too far is caught even where a GPU's rounding would hide it.

mod build;
mod gemm;
mod heap;

use crate::device::Cuda;
use crate::kernels::Kernels;
use crate::probe::DeviceInfo;
use crate::runtime::{AllocError, ColMajorCall, DeviceRuntime, Kernel, Stamp};
use build::Emulator;
use cudarc::driver::LaunchConfig;
use pgcnn_core::DType;
use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// One emulated device: the process's [`Emulator`] (which devices share, as they share
/// its heap) and the time this device's work has spent in it.
struct EmulatedDevice {
    emu: Arc<Emulator>,
    /// Nanoseconds spent doing this device's work (kernels, GEMMs, fills, copies, the
    /// heap's checks, and waiting for another device's launch to finish), so that the
    /// host code's own time is the rest (see [`Self::timed`]).
    busy_ns: AtomicU64,
}

impl EmulatedDevice {
    /// Runs `work`, which stands for the device's, and counts its time as the device's.
    /// A GPU runs that work beside the host; here it runs inside the host's calls, so
    /// the wall time of a step less [`DeviceRuntime::emulated_device_ns`] is what the
    /// backend's host code (autodiff, planning, the pool, argument packing) costs by
    /// itself.
    fn timed<R>(&self, work: impl FnOnce() -> R) -> R {
        let start = Instant::now();
        let r = work();
        let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.busy_ns.fetch_add(ns, Ordering::Relaxed);
        r
    }
}

impl DeviceRuntime for EmulatedDevice {
    fn malloc(&self, bytes: usize) -> Result<u64, AllocError> {
        self.timed(|| self.emu.heap.malloc(bytes))
            .ok_or(AllocError::OutOfMemory)
    }

    fn free(&self, ptr: u64, bytes: usize) -> Result<(), String> {
        // SAFETY: from the heap's malloc with this size, and nobody holds it any more.
        self.timed(|| unsafe { self.emu.heap.free(ptr, bytes) })
    }

    fn hand_out(&self, ptr: u64, used: usize) -> Result<(), String> {
        // SAFETY: a live block from malloc, handed to no one else.
        self.timed(|| unsafe { self.emu.heap.hand_out(ptr, used) })
    }

    fn launch(
        &self,
        k: &Kernel,
        cfg: LaunchConfig,
        params: &mut [*mut c_void],
    ) -> Result<(), String> {
        self.timed(|| self.emu.launch(&k.name, cfg, params))
    }

    fn memset_zero(&self, ptr: u64, bytes: usize) -> Result<(), String> {
        self.timed(|| {
            // SAFETY: `ptr` is a live block of at least `bytes` bytes, in host memory.
            unsafe { std::ptr::write_bytes(ptr as *mut u8, 0, bytes) };
            self.emu.heap.check_guards("a fill")
        })
    }

    fn copy_dtod(&self, dst: u64, src: u64, bytes: usize) -> Result<(), String> {
        self.timed(|| {
            // SAFETY: both are live blocks of at least `bytes` bytes, never overlapping.
            unsafe { std::ptr::copy_nonoverlapping(src as *const u8, dst as *mut u8, bytes) };
            self.emu.heap.check_guards("a device-to-device copy")
        })
    }

    fn copy_htod(&self, dst: u64, src: &[u8]) -> Result<(), String> {
        self.timed(|| {
            // SAFETY: `dst` holds at least `src.len()` bytes.
            unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst as *mut u8, src.len()) };
            self.emu.heap.check_guards("an upload")
        })
    }

    fn copy_dtoh(&self, dst: &mut [u8], src: u64) -> Result<(), String> {
        // SAFETY: `src` holds at least `dst.len()` bytes; the work before ran already.
        self.timed(|| unsafe {
            std::ptr::copy_nonoverlapping(src as *const u8, dst.as_mut_ptr(), dst.len());
        });
        Ok(())
    }

    fn gemm(
        &self,
        c: &ColMajorCall,
        dtype: DType,
        tf32: bool,
        accumulate: bool,
    ) -> Result<(), String> {
        self.timed(|| {
            // SAFETY: the callers checked that every matrix lies in its block.
            unsafe { gemm::gemm(c, dtype, tf32, accumulate) }?;
            self.emu.heap.check_guards("a GEMM")
        })
    }

    /// The work ran inside the calls that queued it.
    fn synchronize(&self) -> Result<(), String> {
        Ok(())
    }

    fn new_stamp(&self) -> Result<Stamp, String> {
        Ok(Stamp::Host(Instant::now()))
    }

    fn record(&self, stamp: &mut Stamp) -> Result<(), String> {
        *stamp = Stamp::Host(Instant::now());
        Ok(())
    }

    fn elapsed_ms(&self, start: &Stamp, end: &Stamp) -> Result<f64, String> {
        match (start, end) {
            (Stamp::Host(a), Stamp::Host(b)) => {
                Ok(b.saturating_duration_since(*a).as_secs_f64() * 1e3)
            }
            _ => Err("the emulator has no driver events".to_string()),
        }
    }

    fn destroy(&self, _stamp: Stamp) {}

    fn is_emulated(&self) -> bool {
        true
    }

    fn emulated_device_ns(&self) -> Option<u64> {
        Some(self.busy_ns.load(Ordering::Relaxed))
    }
}

impl Cuda {
    /// The backend on the kernel emulator (see the `emulator` module): the same host code
    /// and kernel sources, run on the CPU through g++, built in `dir`. For tests on
    /// machines without a GPU; needs g++ with C++20. Errors say why it cannot be built.
    #[doc(hidden)]
    pub fn emulated(dir: &std::path::Path) -> Result<Cuda, String> {
        // Few SMs keep the emulated grids small.
        Self::emulated_with_multiprocessors(dir, 2)
    }

    /// [`Cuda::emulated`] sized as a GPU with `multiprocessors` SMs: grids, and how
    /// reductions and normalisations split long axes, follow the SM count, so an H100's
    /// 132 plans the work as an H100 would (more slowly on the emulator).
    #[doc(hidden)]
    pub fn emulated_with_multiprocessors(
        dir: &std::path::Path,
        multiprocessors: u32,
    ) -> Result<Cuda, String> {
        let emu = Emulator::shared(dir)?;
        let kernels = Kernels::load(|name| {
            Ok(Kernel {
                name: name.to_string(),
                function: None,
            })
        })?;
        let info = DeviceInfo {
            ordinal: 0,
            device_count: 1,
            name: "kernel emulator (CPU)".to_string(),
            compute_capability: (0, 0),
            total_memory: 0,
            multiprocessors,
            driver_version: (0, 0),
            nvrtc_version: (0, 0),
        };
        let rt = Arc::new(EmulatedDevice {
            emu,
            busy_ns: AtomicU64::new(0),
        });
        Ok(Cuda::assemble(info, "cuda-emulator", kernels, rt))
    }
}
