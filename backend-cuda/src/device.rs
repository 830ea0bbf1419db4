//! The [`Cuda`] backend value: one device's context, stream, cuBLAS handle, compiled
//! kernels and memory pool, shared by every clone.

use crate::activity::{Activity, Counters};
use crate::error::{backend_err, driver_err};
use crate::kernel_cache::{fnv1a, ImageSource, KernelCache};
use crate::kernels::{self, Kernels, TypedKernels};
use crate::nvrtc;
use crate::pool::{Block, Pool, PoolStats};
use crate::probe::{probe_device, CudaUnavailable, DeviceInfo};
use crate::profile::{Profile, Profiler};
use crate::runtime::driver::DriverRuntime;
use crate::runtime::{DeviceRuntime, Kernel};
use crate::storage::CudaStorage;
use cudarc::driver::{CudaContext, CudaModule, DriverError};
use cudarc::nvrtc::Ptx;
use pgcnn_core::{Element, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// How f32 matrix products inside convolutions are computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MathMode {
    /// Convolutions on TF32 tensor cores (10-bit mantissa inputs, f32 accumulation),
    /// plain GEMMs in f32: PyTorch's defaults (`allow_tf32` on for cuDNN, off for matmul).
    #[default]
    Tf32,
    /// Everything in strict f32 (several times slower convolutions).
    Strict,
}

/// The CUDA backend: cheap to clone, all clones share the device state.
#[derive(Clone)]
pub struct Cuda {
    pub(crate) dev: Arc<Device>,
    pub(crate) math: MathMode,
    /// Most bytes a convolution's column matrix may take before the batch is split.
    pub(crate) column_bytes: usize,
}

/// Default of [`Cuda::with_column_budget`]: 512 MiB.
pub(crate) const COLUMN_BYTES: usize = 512 << 20;

/// Per-device state. Field order is drop order: the kernels (and their module) go
/// before the pool, which holds the runtime (context, cuBLAS) alive until its last block
/// is back.
pub(crate) struct Device {
    pub(crate) info: DeviceInfo,
    pub(crate) name: &'static str,
    pub(crate) kernels: Kernels,
    /// Timing of queued calls (see [`Cuda::start_profile`]); its events go before the
    /// context.
    pub(crate) profiler: Profiler,
    pub(crate) pool: Arc<Pool>,
    pub(crate) rt: Arc<dyn DeviceRuntime>,
    /// What has been asked of the device (see [`Cuda::activity`]); shared with the pool,
    /// whose out-of-memory retry waits for the device.
    pub(crate) activity: Arc<Counters>,
}

/// The compiled program for `target`: compiling takes a second or two, so each process
/// does it at most once per architecture however many `Cuda` values it makes, and the
/// image is kept on disk ([`KernelCache`]) for the processes after it. `fresh` skips
/// both caches (after the driver refused a cached image).
fn compiled(
    target: nvrtc::Target,
    nvrtc_version: (u32, u32),
    fresh: bool,
) -> std::result::Result<(Arc<Vec<u8>>, ImageSource), String> {
    type Images = HashMap<nvrtc::Target, (Arc<Vec<u8>>, ImageSource)>;
    static IMAGES: OnceLock<Mutex<Images>> = OnceLock::new();
    let images = IMAGES.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = images.lock().unwrap_or_else(|p| p.into_inner());
    if let (Some((img, source)), false) = (map.get(&target), fresh) {
        return Ok((Arc::clone(img), *source));
    }
    let program = kernels::program();
    let arch = target.arch_flag();
    let identity = image_identity(target, nvrtc_version, &program);
    let compile = || nvrtc::compile(&program, "pgcnn_kernels.cu", target);
    let (img, source) = match KernelCache::from_env() {
        Some(disk) if fresh => {
            let img = compile()?;
            let _ = disk.store(&arch, &identity, &img);
            (img, ImageSource::Compiled)
        }
        Some(disk) => disk.get_or_compile(&arch, &identity, compile)?,
        None => (compile()?, ImageSource::Compiled),
    };
    let img = Arc::new(img);
    map.insert(target, (Arc::clone(&img), source));
    Ok((img, source))
}

/// What a compiled image depends on: the target, the compiler and its options, and the
/// program text (by hash and length).
fn image_identity(target: nvrtc::Target, nvrtc_version: (u32, u32), program: &str) -> String {
    format!(
        "pgcnn-cuda {} | target {} | NVRTC {}.{} | options {} | program fnv1a {:016x}, {} bytes",
        env!("CARGO_PKG_VERSION"),
        target.arch_flag(),
        nvrtc_version.0,
        nvrtc_version.1,
        nvrtc::options(target).join(" "),
        fnv1a(program.as_bytes()),
        program.len()
    )
}

/// Loads `image` (for `target`) into `ctx` as a module.
fn load_image(
    ctx: &Arc<CudaContext>,
    target: nvrtc::Target,
    image: &[u8],
) -> std::result::Result<Arc<CudaModule>, String> {
    let ptx = match target {
        nvrtc::Target::Cubin(_) => Ptx::from_binary(image.to_vec()),
        nvrtc::Target::Ptx(_) => {
            let text = String::from_utf8_lossy(image);
            Ptx::from_src(text.trim_end_matches('\0').to_string())
        }
    };
    ctx.load_module(ptx)
        .map_err(|e| format!("loading the module: {e}"))
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

fn static_name(ordinal: usize) -> &'static str {
    const NAMES: [&str; 16] = [
        "cuda:0", "cuda:1", "cuda:2", "cuda:3", "cuda:4", "cuda:5", "cuda:6", "cuda:7", "cuda:8",
        "cuda:9", "cuda:10", "cuda:11", "cuda:12", "cuda:13", "cuda:14", "cuda:15",
    ];
    NAMES.get(ordinal).copied().unwrap_or("cuda")
}

impl Cuda {
    /// Opens device `ordinal` with TF32 convolutions: checks the libraries, starts the
    /// driver, compiles the kernels for this GPU (once per process) and starts cuBLAS.
    /// Every failure is a [`CudaUnavailable`] whose message is one line.
    pub fn new(ordinal: usize) -> std::result::Result<Cuda, CudaUnavailable> {
        let info = probe_device(ordinal)?;
        let setup = |what: &'static str| {
            move |e: DriverError| CudaUnavailable::Driver {
                what,
                reason: e.to_string(),
            }
        };
        let ctx = CudaContext::new(ordinal).map_err(setup("creating the context"))?;
        let stream = ctx.default_stream();
        let (major, minor) = info.compute_capability;
        let archs = nvrtc::supported_archs().map_err(CudaUnavailable::Kernels)?;
        let target =
            nvrtc::choose_target(major, minor, &archs).map_err(CudaUnavailable::Kernels)?;
        let kernels_err = |e: String| CudaUnavailable::Kernels(one_line(&e));
        let (image, source) = compiled(target, info.nvrtc_version, false).map_err(kernels_err)?;
        let module = match (load_image(&ctx, target, &image), source) {
            (Ok(m), _) => m,
            // An image from the disk cache that the driver refuses (a driver update,
            // say): compile afresh, which also replaces the entry.
            (Err(_), ImageSource::Disk) => {
                let (image, _) = compiled(target, info.nvrtc_version, true).map_err(kernels_err)?;
                load_image(&ctx, target, &image).map_err(CudaUnavailable::Kernels)?
            }
            (Err(e), ImageSource::Compiled) => return Err(CudaUnavailable::Kernels(e)),
        };
        let kernels = Kernels::load(|name| {
            let function = module
                .load_function(name)
                .map_err(|e| format!("kernel {name} missing from the module: {e}"))?;
            Ok(Kernel {
                name: name.to_string(),
                function: Some(function),
            })
        })
        .map_err(CudaUnavailable::Kernels)?;
        let driver = DriverRuntime::new(ctx, stream).map_err(CudaUnavailable::Cublas)?;
        Ok(Self::assemble(
            info,
            static_name(ordinal),
            kernels,
            Arc::new(driver),
        ))
    }

    /// A backend on `rt`, whose kernels are `kernels`.
    pub(crate) fn assemble(
        info: DeviceInfo,
        name: &'static str,
        kernels: Kernels,
        rt: Arc<dyn DeviceRuntime>,
    ) -> Cuda {
        let activity = Arc::new(Counters::default());
        Cuda {
            dev: Arc::new(Device {
                info,
                name,
                kernels,
                profiler: Profiler::new(Arc::clone(&rt)),
                pool: Pool::new(Arc::clone(&rt), Arc::clone(&activity)),
                rt,
                activity,
            }),
            math: MathMode::default(),
            column_bytes: COLUMN_BYTES,
        }
    }

    /// The same device with another [`MathMode`] (clones share everything else).
    pub fn with_math(&self, math: MathMode) -> Cuda {
        Cuda {
            math,
            ..self.clone()
        }
    }

    /// The same device with another limit on a convolution's column matrix (im2col
    /// buffer); batches whose matrix would be larger run in chunks of images. Smaller
    /// budgets save memory and cost speed; tests use tiny ones to exercise chunking.
    #[doc(hidden)]
    pub fn with_column_budget(&self, bytes: usize) -> Cuda {
        Cuda {
            column_bytes: bytes,
            ..self.clone()
        }
    }

    /// The current [`MathMode`].
    pub fn math(&self) -> MathMode {
        self.math
    }

    /// What the driver reported about this device.
    pub fn info(&self) -> &DeviceInfo {
        &self.dev.info
    }

    /// Waits until all queued work has finished (for timing: synchronise before reading
    /// the clock), and reports any error a kernel raised since the last check.
    pub fn synchronize(&self) -> Result<()> {
        self.dev.activity.synchronization();
        self.dev.rt.synchronize().map_err(driver_err("synchronize"))
    }

    /// What has been asked of the device since it was opened: launches by op, cuBLAS
    /// calls, copies, waits. [`Activity::since`] gives one stretch of work, e.g. a
    /// training step; the counts are the same on the emulator as on a GPU.
    pub fn activity(&self) -> Activity {
        Activity {
            emulated_device_ns: self.dev.rt.emulated_device_ns(),
            ..self.dev.activity.snapshot()
        }
    }

    /// Starts timing every call that queues device work (see [`Profile`]); a
    /// profile already running starts over. [`Cuda::finish_profile`] reads the times.
    pub fn start_profile(&self) {
        self.dev.profiler.start();
    }

    /// Stops profiling, waits for the device and returns the device time of every call
    /// queued since [`Cuda::start_profile`], by op and work (empty if none was started).
    pub fn finish_profile(&self) -> Result<Profile> {
        self.dev.profiler.stop();
        self.synchronize()?;
        self.dev.profiler.collect()
    }

    /// [`Profiler::timed`] on this device.
    pub(crate) fn timed<T>(
        &self,
        op: &'static str,
        work: &str,
        call: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        self.dev.profiler.timed(op, work, call)
    }

    /// The allocator's counters.
    pub fn pool_stats(&self) -> PoolStats {
        self.dev.pool.stats()
    }

    /// Returns cached device memory to the driver (it is kept for reuse otherwise).
    pub fn release_cached_memory(&self) -> Result<()> {
        self.dev.activity.synchronization();
        self.dev
            .pool
            .release_cached()
            .map_err(driver_err("release_cached_memory"))
    }

    /// The kernels of element type `E`.
    pub(crate) fn k<E: Element>(&self) -> &TypedKernels {
        self.dev.kernels.of::<E>()
    }

    /// A raw block of at least `bytes` bytes (None for 0).
    pub(crate) fn raw(&self, op: &'static str, bytes: usize) -> Result<Option<Block>> {
        if bytes == 0 {
            return Ok(None);
        }
        self.dev.pool.alloc(bytes).map(Some).map_err(driver_err(op))
    }

    /// Uninitialised storage of `len` elements.
    pub(crate) fn alloc<E: Element>(&self, op: &'static str, len: usize) -> Result<CudaStorage<E>> {
        let bytes = len
            .checked_mul(std::mem::size_of::<E>())
            .ok_or_else(|| backend_err(op, format!("{len} elements overflow the address space")))?;
        Ok(CudaStorage::new(self.raw(op, bytes)?, len))
    }

    /// Storage of `len` zeros.
    pub(crate) fn zeros<E: Element>(&self, op: &'static str, len: usize) -> Result<CudaStorage<E>> {
        let s = self.alloc::<E>(op, len)?;
        self.memset_zero(op, s.ptr(), len * std::mem::size_of::<E>())?;
        Ok(s)
    }

    pub(crate) fn memset_zero(&self, op: &'static str, ptr: u64, bytes: usize) -> Result<()> {
        if bytes == 0 {
            return Ok(());
        }
        self.dev.activity.memset();
        self.timed(op, "fill", || {
            self.dev.rt.memset_zero(ptr, bytes).map_err(driver_err(op))
        })
    }

    /// Device-to-device copy of `bytes` bytes, queued on the stream.
    pub(crate) fn copy_dtod(
        &self,
        op: &'static str,
        dst: u64,
        src: u64,
        bytes: usize,
    ) -> Result<()> {
        if bytes == 0 {
            return Ok(());
        }
        self.dev.activity.device_copy();
        self.timed(op, "device copy", || {
            self.dev
                .rt
                .copy_dtod(dst, src, bytes)
                .map_err(driver_err(op))
        })
    }

    /// The SM count, for sizing grids.
    pub(crate) fn sms(&self) -> u32 {
        self.dev.info.multiprocessors.max(1)
    }
}

impl std::fmt::Debug for Cuda {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cuda({}, {:?})", self.dev.info, self.math)
    }
}
