//! pgcnn-cuda: the [`Backend`](pgcnn_core::Backend) on NVIDIA GPUs.
//!
//! Everything CUDA is loaded at run time through cudarc (docs/design.md §7, "Why cudarc
//! and not cust"), so this crate builds, and its tests run, on machines without CUDA;
//! there [`probe()`] and [`Cuda::new`] return a [`CudaUnavailable`] that says why in one
//! line.
//!
//! - Kernels: CUDA C++ in `src/kernels/`, compiled with NVRTC for the GPU found, once per
//!   process and kept on disk for the next ([`nvrtc`], [`kernels`], [`kernel_cache`]).
//! - Products and convolutions: cuBLAS, with TF32 tensor cores for f32 convolutions by
//!   default ([`MathMode`]).
//! - Memory: a caching pool, so that a training step allocates nothing after the first.
//! - Normalisation (batch, layer, instance norm): fused kernels, three launches per
//!   direction, with per-channel sums in double in a fixed order (deterministic).
//! - One stream (the default one); only `download`, and uploads over 16 KiB (a copy from
//!   pageable memory), wait for the device.
//! - With the cargo feature `emulator` (off by default; test machinery, see
//!   docs/design.md §7): a kernel emulator (`Cuda::emulated`, hidden from the docs) that
//!   runs the same host code and kernel sources on the CPU through g++, so that the
//!   comparison tests check the backend on machines without a GPU.
//!
//! ```no_run
//! use pgcnn_cuda::{probe, Cuda};
//! match probe() {
//!     Ok(info) => {
//!         let cuda = Cuda::new(info.ordinal)?;
//!         println!("using {}", cuda.info());
//!     }
//!     Err(why) => println!("CUDA unavailable: {why}"),
//! }
//! # Ok::<(), pgcnn_cuda::CudaUnavailable>(())
//! ```
//!
//! Where a GPU's time goes ([`Cuda::start_profile`]), and what was asked of it
//! ([`Cuda::activity`]):
//!
//! ```no_run
//! use pgcnn_core::Tensor;
//! use pgcnn_cuda::Cuda;
//! let cuda = Cuda::new(0)?;
//! let x = Tensor::<Cuda, f32>::full(&cuda, [512, 512], 0.5)?;
//! let before = cuda.activity();
//! cuda.start_profile();
//! let y = x.matmul(&x)?.relu()?.sum_all()?;
//! println!("{}", y.to_scalar()?);
//! let profile = cuda.finish_profile()?;
//! println!("{}", cuda.activity().since(&before)); // launches, GEMMs, copies, waits
//! for row in &profile.rows {
//!     println!("{} / {}: {} calls, {:.3} ms", row.op, row.work, row.calls, row.device_ms);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod activity;
mod backend;
mod device;
#[cfg(feature = "emulator")]
mod emulator;
mod error;
pub mod kernel_cache;
pub mod kernels;
mod launch;
mod layout;
pub mod nvrtc;
mod ops;
mod pool;
mod probe;
mod profile;
mod runtime;
mod storage;

pub use activity::Activity;
pub use device::{Cuda, MathMode};
pub use pool::PoolStats;
pub use probe::{check_libraries, probe, probe_device, CudaUnavailable, DeviceInfo};
pub use profile::{Profile, ProfileRow};
pub use storage::CudaStorage;

/// Parses a `--device` value's CUDA part: `"cuda"` is device 0, `"cuda:N"` device N.
/// `None` for anything else.
pub fn parse_cuda_device(s: &str) -> Option<usize> {
    match s.strip_prefix("cuda") {
        Some("") => Some(0),
        Some(rest) => rest.strip_prefix(':')?.parse().ok(),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::parse_cuda_device;

    #[test]
    fn device_names() {
        assert_eq!(parse_cuda_device("cuda"), Some(0));
        assert_eq!(parse_cuda_device("cuda:0"), Some(0));
        assert_eq!(parse_cuda_device("cuda:3"), Some(3));
        assert_eq!(parse_cuda_device("cuda:"), None);
        assert_eq!(parse_cuda_device("cuda:x"), None);
        assert_eq!(parse_cuda_device("cudax"), None);
        assert_eq!(parse_cuda_device("cpu"), None);
    }
}
