//! Building the emulator: the kernel sources, a C++ shim that stands in for CUDA's
//! built-ins, and a launcher, compiled by g++ into a shared library that is loaded once
//! per process.

use super::heap::Heap;
use crate::kernels::{kernel_names, program};
use cudarc::driver::LaunchConfig;
use std::ffi::{c_char, c_void, CString};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

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
