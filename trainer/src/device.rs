//! `--device auto|cpu|cuda[:N]` and `--gpu-math tf32|strict`: which backend runs, and
//! how a GPU multiplies f32 matrices, decided once, in one place.
//!
//! The rest of the trainer is generic over the backend; [`with_backend`] makes the one
//! top-level choice and calls the generic code with the concrete type, so there is no
//! per-op dynamic dispatch.
//!
//! For developers, in a `pgcnn` built with the cargo feature `emulator` (off by default):
//! with `PGCNN_CUDA_EMULATOR=DIR` in the environment, `--device cuda` runs the CUDA
//! backend on its kernel emulator (built in DIR with g++), which executes the same host
//! code and kernel sources on the CPU — very slowly, but with the same launches, copies
//! and waits as a GPU, so `pgcnn bench --device cuda` can count them on a machine without
//! one. A `pgcnn` built without the feature refuses the variable rather than ignore it.

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use pgcnn_cpu::Cpu;
use pgcnn_cuda::{parse_cuda_device, Cuda, MathMode};
use std::fmt;
use std::str::FromStr;

/// What the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DeviceRequest {
    /// CUDA when the driver, NVRTC and cuBLAS load and a device answers, else the CPU.
    #[default]
    Auto,
    Cpu,
    /// A CUDA device by ordinal; an error (never a fallback) when it is not usable.
    Cuda(usize),
}

impl FromStr for DeviceRequest {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(DeviceRequest::Auto),
            "cpu" => Ok(DeviceRequest::Cpu),
            other => match parse_cuda_device(other) {
                Some(n) => Ok(DeviceRequest::Cuda(n)),
                None => Err(format!(
                    "unknown device {s:?}: use auto, cpu, cuda or cuda:N (N = 0, 1, ...)"
                )),
            },
        }
    }
}

impl fmt::Display for DeviceRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceRequest::Auto => write!(f, "auto"),
            DeviceRequest::Cpu => write!(f, "cpu"),
            DeviceRequest::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// How f32 matrix products inside convolutions run on a GPU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum GpuMath {
    /// TF32 tensor cores: inputs rounded to a 10-bit mantissa, f32 accumulation
    /// (PyTorch's default for convolutions).
    #[default]
    Tf32,
    /// Full f32 throughout: several times slower convolutions, results within f32
    /// rounding of the CPU's.
    Strict,
}

impl From<GpuMath> for MathMode {
    fn from(m: GpuMath) -> MathMode {
        match m {
            GpuMath::Tf32 => MathMode::Tf32,
            GpuMath::Strict => MathMode::Strict,
        }
    }
}

/// `--device` and `--gpu-math`, shared by `train`, `eval` and `bench`.
#[derive(Args, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceSpec {
    /// auto (CUDA if it works, else the CPU), cpu, cuda or cuda:N.
    #[arg(
        long = "device",
        id = "device",
        default_value = "auto",
        value_name = "DEVICE"
    )]
    pub request: DeviceRequest,
    /// How CUDA computes the f32 matrix products of convolutions: tf32 (tensor cores,
    /// PyTorch's default) or strict (full f32, slower). The CPU always computes in f32.
    #[arg(long, value_enum, default_value_t = GpuMath::Tf32, value_name = "MODE")]
    pub gpu_math: GpuMath,
}

impl From<DeviceRequest> for DeviceSpec {
    /// The request with the default math (TF32 on a GPU).
    fn from(request: DeviceRequest) -> Self {
        DeviceSpec {
            request,
            gpu_math: GpuMath::default(),
        }
    }
}

/// Names a directory: `--device cuda` then runs on the kernel emulator (module docs).
const EMULATOR_VAR: &str = "PGCNN_CUDA_EMULATOR";

/// The CUDA backend on the kernel emulator, built in `dir`.
#[cfg(feature = "emulator")]
fn emulator(dir: &std::path::Path) -> Result<Cuda> {
    Cuda::emulated(dir).map_err(|why| {
        anyhow::anyhow!("{EMULATOR_VAR} is set but the kernel emulator could not be built: {why}")
    })
}

/// Without the `emulator` feature there is none to run.
#[cfg(not(feature = "emulator"))]
fn emulator(_dir: &std::path::Path) -> Result<Cuda> {
    bail!(
        "{EMULATOR_VAR} is set, but this pgcnn was built without the kernel emulator \
         (cargo feature `emulator`)"
    )
}

/// The backend chosen, ready to use.
pub enum Device {
    Cpu(Cpu),
    Cuda(Box<Cuda>),
}

impl Device {
    /// Resolves a request, with the spec's math on a GPU. `auto` says in one line on
    /// stderr why it fell back to the CPU.
    pub fn open(spec: impl Into<DeviceSpec>) -> Result<Device> {
        let spec = spec.into();
        Ok(match Self::open_request(spec.request)? {
            Device::Cuda(c) => Device::Cuda(Box::new(c.with_math(spec.gpu_math.into()))),
            cpu => cpu,
        })
    }

    fn open_request(request: DeviceRequest) -> Result<Device> {
        if let (DeviceRequest::Cuda(0), Some(dir)) = (request, std::env::var_os(EMULATOR_VAR)) {
            return Ok(Device::Cuda(Box::new(emulator(std::path::Path::new(
                &dir,
            ))?)));
        }
        match request {
            DeviceRequest::Cpu => Ok(Device::Cpu(Cpu)),
            DeviceRequest::Cuda(n) => match Cuda::new(n) {
                Ok(c) => Ok(Device::Cuda(Box::new(c))),
                Err(why) => bail!("--device cuda:{n} is not usable: {why}"),
            },
            DeviceRequest::Auto => match pgcnn_cuda::probe() {
                Ok(info) => match Cuda::new(info.ordinal) {
                    Ok(c) => Ok(Device::Cuda(Box::new(c))),
                    Err(why) => {
                        eprintln!("device auto: using the CPU ({why})");
                        Ok(Device::Cpu(Cpu))
                    }
                },
                Err(why) => {
                    eprintln!("device auto: using the CPU ({why})");
                    Ok(Device::Cpu(Cpu))
                }
            },
        }
    }

    /// A short description for logs ("cpu (2 threads)", "cuda:0 NVIDIA H100 ...").
    pub fn describe(&self) -> String {
        match self {
            Device::Cpu(_) => format!("cpu ({} threads)", rayon::current_num_threads()),
            Device::Cuda(c) => {
                let math = match c.math() {
                    MathMode::Tf32 => "TF32 convolutions",
                    MathMode::Strict => "strict f32",
                };
                format!("{}, {math}", c.info())
            }
        }
    }
}

/// Code that runs on any backend: the one place where the backend type is chosen.
pub trait BackendTask {
    type Output;
    fn run<B: pgcnn_core::Backend>(self, backend: B, device: &str) -> Result<Self::Output>;
}

/// Runs `task` on the chosen device's backend.
pub fn with_backend<T: BackendTask>(device: Device, task: T) -> Result<T::Output> {
    let name = device.describe();
    match device {
        Device::Cpu(b) => task.run(b, &name),
        Device::Cuda(b) => task.run(*b, &name),
    }
}
