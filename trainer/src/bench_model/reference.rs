//! The benchmark configs of BENCHMARKS.md and the reference implementation's (PyTorch)
//! figures measured on them, to compare with.

use serde::Serialize;

/// The configs of BENCHMARKS.md's table, in its order (`--config all`).
pub const BENCHMARK_CONFIGS: [&str; 7] = [
    "small_se2_partial",
    "rotmnist_t2",
    "rotmnist_se2_full",
    "rotmnist_se2_partial",
    "rotmnist_e2_partial",
    "mnist6_180_se2_partial",
    "cifar10_se2_partial",
];

/// The kind of machine a figure was measured on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MachineKind {
    /// The 2-core development machine (AMD EPYC, AVX2+FMA), PyTorch with 2 threads.
    Cpu2Core,
    /// NVIDIA H100 80GB HBM3, TF32 on for convolutions (PyTorch's default).
    H100,
}

/// One of the reference's measurements (batch 64, medians after warm-up).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReferenceFigures {
    /// What it was measured on, in words.
    pub machine: &'static str,
    pub train_step_ms: f64,
    pub eval_forward_ms: f64,
    /// Peak GPU memory (the H100 figures only).
    pub peak_memory_mb: Option<f64>,
}

/// The reference's figures for `config` at batch 64 on `machine`, where BENCHMARKS.md
/// has them.
pub fn reference_figures(config: &str, machine: MachineKind) -> Option<ReferenceFigures> {
    match machine {
        MachineKind::Cpu2Core => {
            let (train_s, eval_s) = match config {
                "small_se2_partial" => (0.132, 0.039),
                "rotmnist_t2" => (0.42, 0.12),
                "rotmnist_se2_partial" => (6.90, 1.97),
                _ => return None,
            };
            Some(ReferenceFigures {
                machine: "PyTorch 2.15 CPU, 2-core AMD EPYC, 2 threads",
                train_step_ms: train_s * 1e3,
                eval_forward_ms: eval_s * 1e3,
                peak_memory_mb: None,
            })
        }
        MachineKind::H100 => {
            let (train, eval, mem) = match config {
                "rotmnist_t2" => (19.1, 7.3, 182.0),
                "rotmnist_se2_full" => (23.5, 10.7, 656.0),
                "rotmnist_se2_partial" => (29.0, 13.1, 688.0),
                "rotmnist_e2_partial" => (50.4, 18.7, 689.0),
                "mnist6_180_se2_partial" => (82.3, 29.9, 6734.0),
                "cifar10_se2_partial" => (44.5, 15.4, 1210.0),
                "small_se2_partial" => (30.9, 11.4, 127.0),
                _ => return None,
            };
            Some(ReferenceFigures {
                machine: "PyTorch 2.11, NVIDIA H100 80GB HBM3, TF32",
                train_step_ms: train,
                eval_forward_ms: eval,
                peak_memory_mb: Some(mem),
            })
        }
    }
}
