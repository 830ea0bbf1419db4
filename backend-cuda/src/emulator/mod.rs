//! The kernel emulator: the CUDA C++ kernels compiled for the CPU with g++ and run
//! block by block, with host memory standing in for device memory and a plain loop for
//! cuBLAS (which reads f32 inputs as TF32 when TF32 is on, see [`gemm`]).
//! [`Cuda::emulated`](crate::Cuda::emulated) builds a backend on it, so that the
//! backend — its launch planning, argument passing, chunking and kernels — can be compared
//! with the reference on a machine without a GPU. Slow, and not the real thing: it says
//! nothing about the driver, cuBLAS or GPU memory ordering.
//!
//! Stricter than a GPU in two ways, to catch what a GPU would let pass silently: every
//! device block is handed out filled with NaN bytes (0xFF), so a kernel that reads memory
//! nothing wrote yields NaN instead of the zeros fresh host memory tends to hold; and
//! every block sits between two guard zones, checked after each launch, GEMM and copy,
//! so a write past either end is an error naming the kernel. The zone after a block
//! starts where the request ended, not where the pool's size class does, so a write one
//! element too far is caught even where a GPU's rounding would hide it.

mod heap;

use heap::Heap;

use crate::kernels::{kernel_names, program};
use crate::ops::gemm::ColMajorCall;
use cudarc::driver::LaunchConfig;
use pgcnn_core::DType;
use std::ffi::{c_char, c_void, CString};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// `pgcnn_emu_launch(name, grid[3], block[3], params)`: 0 on success, -1 for an unknown name.
type LaunchFn =
    unsafe extern "C" fn(*const c_char, *const u32, *const u32, *mut *mut c_void) -> i32;

/// A loaded emulator library.
pub(crate) struct Emulator {
    launch: LaunchFn,
    // The emulated grid lives in C++ globals (grid and block sizes, the barrier, the
    // __shared__ arrays), so launches from concurrent threads take turns.
    running: Mutex<()>,
    /// Emulated device memory.
    pub(crate) heap: Heap,
    // Keeps the code behind `launch` mapped.
    _lib: libloading::Library,
}

/// The C++ translation unit: shim, kernels, launcher, and a dispatch by kernel name.
fn translation_unit() -> String {
    let mut s = String::from(include_str!("shim.hpp"));
    s.push_str(&program());
    s.push_str(include_str!("launch.hpp"));
    s.push_str(
        "extern \"C\" int pgcnn_emu_launch(const char* name, const unsigned* g, const unsigned* b, void** p) {\n",
    );
    for name in kernel_names() {
        // Only these kernels meet at __syncthreads; the rest can run thread by thread.
        let syncs = name.starts_with("reduce_rows")
            || name.starts_with("transpose")
            || name.starts_with("norm_sums");
        s.push_str(&format!(
            "    if (std::strcmp(name, \"{name}\") == 0) return emu::run({name}, {syncs}, g, b, p);\n"
        ));
    }
    s.push_str("    return -1;\n}\n");
    s
}

impl Emulator {
    /// The process's emulator, built into `dir` on first use.
    pub(crate) fn shared(dir: &Path) -> Result<Arc<Self>, String> {
        static BUILT: OnceLock<Mutex<Option<Arc<Emulator>>>> = OnceLock::new();
        let cell = BUILT.get_or_init(|| Mutex::new(None));
        let mut slot = cell.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(emu) = slot.as_ref() {
            return Ok(Arc::clone(emu));
        }
        let emu = Arc::new(Self::build(dir)?);
        *slot = Some(Arc::clone(&emu));
        Ok(emu)
    }

    /// Compiles the kernels with `g++` into `dir` and loads them. Every build gets its
    /// own file name: overwriting a loaded library would crash the process.
    fn build(dir: &Path) -> Result<Self, String> {
        static BUILDS: AtomicUsize = AtomicUsize::new(0);
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let n = BUILDS.fetch_add(1, Ordering::Relaxed);
        let src = dir.join(format!("pgcnn_emu_{}_{n}.cpp", std::process::id()));
        let lib = dir.join(format!("libpgcnn_emu_{}_{n}.so", std::process::id()));
        std::fs::write(&src, translation_unit())
            .map_err(|e| format!("writing {}: {e}", src.display()))?;
        let out = Command::new("g++")
            .args([
                "-std=c++20",
                "-O1",
                "-shared",
                "-fPIC",
                "-pthread",
                "-w",
                "-o",
            ])
            .arg(&lib)
            .arg(&src)
            .output()
            .map_err(|e| format!("running g++: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "g++ failed on {}:\n{}",
                src.display(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        // SAFETY: the library is ours, just built; its initialisers do nothing.
        let loaded = unsafe { libloading::Library::new(&lib) }
            .map_err(|e| format!("loading {}: {e}", lib.display()));
        // Once mapped (or failed), the files are no longer needed; a failed removal only
        // leaves a file behind.
        let _ = std::fs::remove_file(&lib);
        let _ = std::fs::remove_file(&src);
        let lib = loaded?;
        // SAFETY: the symbol is defined above with exactly this signature.
        let launch = unsafe { lib.get::<LaunchFn>(b"pgcnn_emu_launch\0") }
            .map_err(|e| format!("pgcnn_emu_launch: {e}"))?;
        let launch = *launch;
        Ok(Self {
            launch,
            running: Mutex::new(()),
            heap: Heap::default(),
            _lib: lib,
        })
    }

    pub(crate) fn launch(
        &self,
        name: &str,
        cfg: LaunchConfig,
        params: &mut [*mut c_void],
    ) -> Result<(), String> {
        let (g, b) = (cfg.grid_dim, cfg.block_dim);
        // The limits of every GPU since compute capability 3.0 (sm_75 is our oldest
        // target), so that a launch the hardware would refuse fails here too.
        let refused = [g.0, g.1, g.2, b.0, b.1, b.2].contains(&0)
            || g.0 > i32::MAX as u32
            || g.1 > 65_535
            || g.2 > 65_535
            || b.0 > 1024
            || b.1 > 1024
            || b.2 > 64
            || b.0 * b.1 * b.2 > 1024
            || cfg.shared_mem_bytes > 48 * 1024;
        if refused {
            return Err(format!("{name}: invalid launch {cfg:?}"));
        }
        let cname = CString::new(name).map_err(|_| format!("bad kernel name {name:?}"))?;
        let (grid, block) = ([g.0, g.1, g.2], [b.0, b.1, b.2]);
        let _turn = self.running.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: the parameters match the kernel (the caller's contract, as on a GPU).
        let rc = unsafe {
            (self.launch)(
                cname.as_ptr(),
                grid.as_ptr(),
                block.as_ptr(),
                params.as_mut_ptr(),
            )
        };
        if rc != 0 {
            return Err(format!("the emulator has no kernel {name}"));
        }
        self.heap.check_guards(name)
    }
}

/// One emulated device: the process's [`Emulator`] (which devices share, as they share
/// its heap) and the time this device's work has spent in it.
pub(crate) struct EmulatedDevice {
    emu: Arc<Emulator>,
    /// Nanoseconds spent doing this device's work (kernels, GEMMs, fills, copies, the
    /// heap's checks, and waiting for another device's launch to finish), so that the
    /// host code's own time is the rest (see [`Self::timed`]).
    busy_ns: AtomicU64,
}

impl EmulatedDevice {
    pub(crate) fn new(emu: Arc<Emulator>) -> Self {
        Self {
            emu,
            busy_ns: AtomicU64::new(0),
        }
    }

    /// Runs `work`, which stands for the device's, and counts its time as the device's.
    /// A GPU runs that work beside the host; here it runs inside the host's calls, so
    /// the wall time of a step less [`Self::busy_ns`] is what the backend's host code
    /// (autodiff, planning, the pool, argument packing) costs by itself.
    pub(crate) fn timed<R>(&self, work: impl FnOnce() -> R) -> R {
        let start = Instant::now();
        let r = work();
        let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.busy_ns.fetch_add(ns, Ordering::Relaxed);
        r
    }

    /// Total of [`Self::timed`] so far.
    pub(crate) fn busy_ns(&self) -> u64 {
        self.busy_ns.load(Ordering::Relaxed)
    }
}

impl std::ops::Deref for EmulatedDevice {
    type Target = Emulator;

    fn deref(&self) -> &Emulator {
        &self.emu
    }
}

/// cuBLAS's strided batched GEMM on host memory (see [`ColMajorCall`]), accumulating in
/// the element type. With `tf32`, f32 inputs are cut to TF32 before they are multiplied,
/// as tensor cores read them ("only the first 10 bits of the input mantissa are read"):
/// the low 13 mantissa bits dropped, which errs toward zero and so is the less accurate
/// of the two conversions a GPU may use. That makes the emulated TF32 comparisons a test
/// of the tolerances the GPU's TF32 comparisons use.
///
/// # Safety
/// Every matrix the call describes must lie in live memory.
pub(crate) unsafe fn gemm(
    c: &ColMajorCall,
    dtype: DType,
    tf32: bool,
    accumulate: bool,
) -> Result<(), String> {
    // SAFETY: forwarded.
    unsafe {
        match dtype {
            DType::F32 if tf32 => gemm_typed::<f32>(c, accumulate, tf32_truncate),
            DType::F32 => gemm_typed::<f32>(c, accumulate, |v| v),
            DType::F64 => gemm_typed::<f64>(c, accumulate, |v| v),
        }
    }
    Ok(())
}

/// `v` with its mantissa cut to TF32's 10 bits (infinities and NaN unchanged).
fn tf32_truncate(v: f32) -> f32 {
    if v.is_finite() {
        f32::from_bits(v.to_bits() & !0x1fff)
    } else {
        v
    }
}

unsafe fn gemm_typed<T: num_like::Num>(c: &ColMajorCall, accumulate: bool, input: fn(T) -> T) {
    let (a, b, out) = (c.a as *const T, c.b as *const T, c.c as *mut T);
    for t in 0..c.batch {
        // SAFETY (whole block): offsets stay inside the matrices, per the caller.
        unsafe {
            let (a0, b0, c0) = (
                a.add(t * c.stride_a),
                b.add(t * c.stride_b),
                out.add(t * c.stride_c),
            );
            for j in 0..c.n {
                for i in 0..c.m {
                    let mut acc = T::ZERO;
                    for p in 0..c.k {
                        let av = if c.trans_a {
                            *a0.add(p + i * c.lda)
                        } else {
                            *a0.add(i + p * c.lda)
                        };
                        let bv = if c.trans_b {
                            *b0.add(j + p * c.ldb)
                        } else {
                            *b0.add(p + j * c.ldb)
                        };
                        acc = acc + input(av) * input(bv);
                    }
                    let dst = c0.add(i + j * c.ldc);
                    *dst = if accumulate { *dst + acc } else { acc };
                }
            }
        }
    }
}

mod num_like {
    /// The arithmetic the host GEMM needs.
    pub trait Num: Copy + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self> {
        const ZERO: Self;
    }
    impl Num for f32 {
        const ZERO: Self = 0.0;
    }
    impl Num for f64 {
        const ZERO: Self = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tf32_keeps_ten_mantissa_bits_and_cuts_toward_zero() {
        let ulp = |e: i32| 2f32.powi(e);
        // Representable in TF32: unchanged.
        for v in [
            0.0,
            -0.0,
            1.0,
            -3.5,
            1.0 + ulp(-10),
            ulp(-100),
            1.5 * ulp(127),
        ] {
            assert_eq!(tf32_truncate(v).to_bits(), v.to_bits(), "{v}");
        }
        // Below TF32's last bit: cut, toward zero for either sign.
        assert_eq!(tf32_truncate(1.0 + ulp(-11)), 1.0);
        assert_eq!(tf32_truncate(1.0 + ulp(-10) + ulp(-11)), 1.0 + ulp(-10));
        assert_eq!(tf32_truncate(-(1.0 + ulp(-23))), -1.0);
        assert_eq!(tf32_truncate(f32::MAX), f32::from_bits(0x7f7f_e000));
        assert_eq!(tf32_truncate(f32::INFINITY), f32::INFINITY);
        assert!(tf32_truncate(f32::NAN).is_nan());
    }

    /// `[a0 a1] · [b0 b1]ᵀ` in `mem = [a0, a1, b0, b1, out]`, returning `out`.
    fn dot2<T: Copy>(mut mem: [T; 5], dtype: DType, tf32: bool) -> T {
        let base = mem.as_mut_ptr();
        let at = |i: usize| base.wrapping_add(i) as u64;
        let call = ColMajorCall {
            trans_a: false,
            trans_b: false,
            m: 1,
            n: 1,
            k: 2,
            a: at(0),
            lda: 1,
            stride_a: 2,
            b: at(2),
            ldb: 2,
            stride_b: 2,
            c: at(4),
            ldc: 1,
            stride_c: 1,
            batch: 1,
        };
        // SAFETY: every matrix lies in `mem`.
        unsafe { gemm(&call, dtype, tf32, false) }.unwrap();
        mem[4]
    }

    /// Inputs TF32 cannot hold: strict math keeps them, TF32 cuts them; f64 ignores it.
    #[test]
    fn tf32_gemm_cuts_f32_inputs_only() {
        let x = 1.0 + 2f32.powi(-12);
        assert_eq!(dot2([x, 1.0, 1.0, x, 0.0], DType::F32, false), 2.0 * x);
        assert_eq!(dot2([x, 1.0, 1.0, x, 0.0], DType::F32, true), 2.0);
        let y = 1.0 + 2f64.powi(-40);
        assert_eq!(dot2([y, 1.0, 1.0, y, 0.0], DType::F64, true), 2.0 * y);
    }
}
