//! What the model benchmark reports: one [`ModelBenchResult`] per config, with what a
//! step asked of a GPU and where its time went.

use super::reference::ReferenceFigures;
use serde::Serialize;

/// One config's figures (times in milliseconds, memory in MB = 10⁶ bytes).
#[derive(Clone, Debug, Serialize)]
pub struct ModelBenchResult {
    pub config: String,
    /// The device, as `Device::describe` says it.
    pub device: String,
    pub backend: String,
    /// CPU threads (rayon's pool).
    pub threads: usize,
    pub batch: usize,
    pub warmup: usize,
    pub steps: usize,
    pub params: usize,
    /// `[C, H, W]` of the random images.
    pub image_shape: [usize; 3],
    pub classes: usize,
    /// Convolution flops of one forward pass (see [`flops`](super::flops)).
    pub forward_gflop: f64,
    /// Median training step.
    pub train_step_ms: f64,
    pub train_step_min_ms: f64,
    /// Every timed step, in order.
    pub train_step_times_ms: Vec<f64>,
    /// Median evaluation forward.
    pub eval_forward_ms: f64,
    pub eval_forward_min_ms: f64,
    pub eval_forward_times_ms: Vec<f64>,
    /// `3 · forward_gflop` per median training step.
    pub train_gflops: f64,
    /// `forward_gflop` per median evaluation forward.
    pub eval_gflops: f64,
    /// Peak memory during the training steps (warm-up included).
    pub train_peak_memory_mb: Option<f64>,
    /// Peak memory during the evaluation forwards.
    pub eval_peak_memory_mb: Option<f64>,
    /// What the peaks are ([`MemoryMethod::as_str`](super::MemoryMethod::as_str)).
    pub memory_method: &'static str,
    /// The loss of the first and last timed steps.
    pub first_loss: f64,
    pub last_loss: f64,
    /// The reference's figures for this config, from `--reference FILE`.
    pub reference: Option<ReferenceFigures>,
    /// Why the reference file gave no figures to compare with, when one was given.
    pub reference_note: Option<String>,
    /// Reference time over ours (> 1: pgcnn is faster).
    pub train_speedup: Option<f64>,
    pub eval_speedup: Option<f64>,
    /// 1-minute load average of the machine when the config started (others' work
    /// slows a shared machine).
    pub load_average: Option<f64>,
    /// What one training step asked of the GPU (CUDA only): on a GPU a small model's
    /// step is bound by launches and host waits rather than arithmetic.
    pub device_work: Option<DeviceWork>,
    /// Where the GPU's time went in the profiled steps (CUDA with `--profile`).
    pub device_profile: Option<DeviceProfile>,
}

/// Device time of a training step by op and work, the mean of the profiled steps
/// (see [`pgcnn_cuda::Profile`] for what a row's time includes).
#[derive(Clone, Debug, Serialize)]
pub struct DeviceProfile {
    pub steps: usize,
    /// Host clock per profiled step (more than a timed step: recording the timing
    /// events costs the host about a microsecond per call).
    pub wall_ms_per_step: f64,
    /// The rows' device time per step.
    pub device_ms_per_step: f64,
    /// Most time first.
    pub rows: Vec<DeviceProfileRow>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DeviceProfileRow {
    /// The backend op that queued the work.
    pub op: String,
    /// What ran: a kernel, `cuBLAS GEMM`, `fill`, a copy.
    pub work: String,
    pub calls_per_step: f64,
    pub ms_per_step: f64,
}

impl DeviceProfile {
    /// The mean per step of `p`, measured over `steps` training steps.
    pub fn from_profile(p: &pgcnn_cuda::Profile, steps: usize) -> Self {
        let per = |v: f64| v / steps.max(1) as f64;
        DeviceProfile {
            steps,
            wall_ms_per_step: per(p.wall_ms),
            device_ms_per_step: per(p.device_ms()),
            rows: p
                .rows
                .iter()
                .map(|r| DeviceProfileRow {
                    op: r.op.to_string(),
                    work: r.work.clone(),
                    calls_per_step: per(r.calls as f64),
                    ms_per_step: per(r.device_ms),
                })
                .collect(),
        }
    }
}

/// The work one training step queued on a GPU, and how often the host waited for it.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceWork {
    /// Kernel launches.
    pub launches: u64,
    /// cuBLAS GEMM calls.
    pub gemms: u64,
    /// Fills and device-to-device or host-to-device copies.
    pub fills_and_copies: u64,
    /// Times the host waited for the device (downloads, synchronisations).
    pub host_waits: u64,
    /// The ops with the most launches, most first.
    pub top_launches: Vec<(String, u64)>,
    /// On the kernel emulator only: a timed training step's mean wall time less the
    /// emulator's stand-in for the device work, i.e. what the backend's host code
    /// (autodiff, launch planning, the pool, argument packing) costs per step by itself
    /// on this machine. On a GPU the host additionally pays the driver for each launch.
    pub emulated_host_ms_per_step: Option<f64>,
}

impl DeviceWork {
    pub(super) fn from_activity(
        a: &pgcnn_cuda::Activity,
        emulated_host_ms_per_step: Option<f64>,
    ) -> Self {
        DeviceWork {
            emulated_host_ms_per_step,
            launches: a.launches,
            gemms: a.gemms,
            fills_and_copies: a.memsets + a.device_copies + a.host_uploads,
            host_waits: a.host_waits(),
            top_launches: a
                .top_ops(6)
                .into_iter()
                .map(|(op, n)| (op.to_string(), n))
                .collect(),
        }
    }
}
