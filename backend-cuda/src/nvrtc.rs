//! Run-time compilation of the kernel sources with NVRTC, for the GPU at hand.
//!
//! The sources are compiled to a CUBIN for the device's exact architecture when this
//! NVRTC knows it (no JIT at load time, and a CUBIN from a newer NVRTC still loads on
//! an older driver of the same major version); otherwise to PTX for the newest
//! architecture NVRTC knows below the device, which the driver compiles on load.

use cudarc::nvrtc::{result, sys};
use std::ffi::{c_char, CStr, CString};

/// What to compile for: a CUBIN for `sm_XY`, or PTX for `compute_XY` (XY = 10·major + minor).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// Machine code for exactly this architecture.
    Cubin(u32),
    /// PTX for this virtual architecture, finished by the driver.
    Ptx(u32),
}

impl Target {
    /// The `--gpu-architecture` value.
    pub fn arch_flag(self) -> String {
        match self {
            Target::Cubin(a) => format!("sm_{a}"),
            Target::Ptx(a) => format!("compute_{a}"),
        }
    }
}

/// Why NVRTC cannot be used, in one line, or `Ok` when libnvrtc loads.
pub fn available() -> Result<(), String> {
    // SAFETY: only tries to dlopen the library under its usual names.
    if unsafe { sys::is_culib_present() } {
        Ok(())
    } else {
        Err(format!(
            "NVRTC not found (tried {}); install the CUDA 13 toolkit or put its lib64 on LD_LIBRARY_PATH",
            cudarc::get_lib_name_candidates("nvrtc")
                .iter()
                .filter(|n| n.contains(".so."))
                .take(1)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// NVRTC's own version (major, minor). Call [`available`] first: a missing library panics
/// inside cudarc.
pub fn version() -> Result<(i32, i32), String> {
    let (mut major, mut minor) = (0, 0);
    // SAFETY: two valid out-pointers.
    unsafe { sys::nvrtcVersion(&mut major, &mut minor) }
        .result()
        .map_err(|e| format!("nvrtcVersion failed: {e}"))?;
    Ok((major, minor))
}

/// The real architectures this NVRTC can compile for, as 10·major + minor, ascending.
pub fn supported_archs() -> Result<Vec<u32>, String> {
    let mut n = 0;
    // SAFETY: valid out-pointer.
    unsafe { sys::nvrtcGetNumSupportedArchs(&mut n) }
        .result()
        .map_err(|e| format!("nvrtcGetNumSupportedArchs failed: {e}"))?;
    let mut archs = vec![0i32; n.max(0) as usize];
    // SAFETY: the buffer holds the number of entries NVRTC just reported.
    unsafe { sys::nvrtcGetSupportedArchs(archs.as_mut_ptr()) }
        .result()
        .map_err(|e| format!("nvrtcGetSupportedArchs failed: {e}"))?;
    let mut archs: Vec<u32> = archs
        .into_iter()
        .filter(|&a| a > 0)
        .map(|a| a as u32)
        .collect();
    archs.sort_unstable();
    Ok(archs)
}

/// The best target for a device of compute capability `major.minor` among `supported`.
pub fn choose_target(major: u32, minor: u32, supported: &[u32]) -> Result<Target, String> {
    let want = 10 * major + minor;
    if supported.contains(&want) {
        return Ok(Target::Cubin(want));
    }
    match supported.iter().copied().filter(|&a| a <= want).max() {
        Some(a) => Ok(Target::Ptx(a)),
        None => Err(format!(
            "this NVRTC cannot compile for compute capability {major}.{minor} (it supports {supported:?})"
        )),
    }
}

/// The compiler options for `target`.
pub fn options(target: Target) -> Vec<String> {
    vec![
        format!("--gpu-architecture={}", target.arch_flag()),
        // Precise division and square root (the defaults, stated): results are compared
        // with the reference at tight tolerances in f64.
        "--prec-div=true".to_string(),
        "--prec-sqrt=true".to_string(),
    ]
}

/// Compiles one CUDA C++ source; returns the CUBIN or the NUL-terminated PTX text, ready
/// for `cuModuleLoadData`. The error carries NVRTC's log.
pub fn compile(source: &str, name: &str, target: Target) -> Result<Vec<u8>, String> {
    let src = CString::new(source).map_err(|_| format!("{name}: source contains a NUL byte"))?;
    let cname = CString::new(name).map_err(|_| format!("{name}: name contains a NUL byte"))?;
    let prog = result::create_program(&src, Some(&cname))
        .map_err(|e| format!("{name}: nvrtcCreateProgram failed: {e}"))?;
    let options = options(target);
    // SAFETY: `prog` was just created and is destroyed exactly once below; `src` and
    // `cname` outlive it.
    let out = unsafe {
        let compiled = result::compile_program(prog, &options);
        let out = match compiled {
            Ok(()) => image(prog, target).map_err(|e| format!("{name}: {e}")),
            Err(e) => Err(format!(
                "{name}: NVRTC compile for {} failed ({e}):\n{}",
                target.arch_flag(),
                log(prog)
            )),
        };
        // A failure to free the program leaks a little host memory and changes nothing.
        let _ = result::destroy_program(prog);
        out
    };
    out
}

/// The compiled image of a successfully compiled program.
///
/// # Safety
/// `prog` is a live, compiled program.
unsafe fn image(prog: sys::nvrtcProgram, target: Target) -> Result<Vec<u8>, String> {
    let mut size = 0usize;
    match target {
        Target::Cubin(_) => {
            // SAFETY (whole block): valid out-pointers; the buffer has the size NVRTC reported.
            unsafe { sys::nvrtcGetCUBINSize(prog, &mut size) }
                .result()
                .map_err(|e| format!("nvrtcGetCUBINSize failed: {e}"))?;
            let mut buf = vec![0u8; size];
            unsafe { sys::nvrtcGetCUBIN(prog, buf.as_mut_ptr() as *mut c_char) }
                .result()
                .map_err(|e| format!("nvrtcGetCUBIN failed: {e}"))?;
            Ok(buf)
        }
        Target::Ptx(_) => {
            // SAFETY: as above; the PTX size includes its terminating NUL.
            unsafe { sys::nvrtcGetPTXSize(prog, &mut size) }
                .result()
                .map_err(|e| format!("nvrtcGetPTXSize failed: {e}"))?;
            let mut buf = vec![0u8; size];
            unsafe { sys::nvrtcGetPTX(prog, buf.as_mut_ptr() as *mut c_char) }
                .result()
                .map_err(|e| format!("nvrtcGetPTX failed: {e}"))?;
            Ok(buf)
        }
    }
}

/// NVRTC's log of a program, or a note that it could not be read.
///
/// # Safety
/// `prog` is a live program.
unsafe fn log(prog: sys::nvrtcProgram) -> String {
    // SAFETY: the caller guarantees `prog`; the log is NUL-terminated.
    match unsafe { result::get_program_log(prog) } {
        Ok(raw) if !raw.is_empty() => unsafe { CStr::from_ptr(raw.as_ptr()) }
            .to_string_lossy()
            .into_owned(),
        _ => "(no log)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_architecture_gets_a_cubin() {
        assert_eq!(choose_target(9, 0, &[75, 80, 90]), Ok(Target::Cubin(90)));
    }

    #[test]
    fn unknown_newer_architecture_gets_ptx_of_the_newest_below() {
        assert_eq!(choose_target(12, 1, &[75, 80, 90]), Ok(Target::Ptx(90)));
        assert_eq!(choose_target(8, 6, &[75, 80, 90]), Ok(Target::Ptx(80)));
    }

    #[test]
    fn older_architecture_than_any_supported_is_an_error() {
        assert!(choose_target(6, 1, &[75, 80]).is_err());
    }

    #[test]
    fn arch_flags() {
        assert_eq!(Target::Cubin(90).arch_flag(), "sm_90");
        assert_eq!(Target::Ptx(89).arch_flag(), "compute_89");
    }
}
