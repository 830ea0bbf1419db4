//! The kernel benchmark: GFLOP/s of the CPU backend's GEMM and convolutions on the layer
//! shapes of the benchmark configs (/work/shared/BENCHMARKS.md), in f32.
//!
//! The GEMM (2048³) is the practical ceiling; a convolution's forward, input-gradient and
//! weight-gradient passes each cost `Conv2dDesc::flops()`, so a training step's
//! convolution work is counted as three times that, and the report gives its rate as a
//! fraction of the GEMM's. Every figure is the median of several timed runs after
//! untimed warm-up runs. Threads are rayon's current pool (see `pgcnn_cpu`).

use anyhow::Context;
use pgcnn_core::backend::{Backend, Conv2dDesc, GemmDesc};
use pgcnn_core::rng::Rng;
use pgcnn_cpu::Cpu;
use std::io::Write;
use std::time::Instant;

/// What to measure and how often.
#[derive(Clone, Debug)]
pub struct KernelBenchOptions {
    /// Timed runs of each kernel; the median is reported (at least 1).
    pub repetitions: usize,
    /// Untimed runs of each kernel before timing.
    pub warmup: usize,
    /// Measure the 2048³ GEMM.
    pub gemm: bool,
    /// Measure the convolutions.
    pub conv: bool,
    /// Only the convolution shapes whose name contains this text (all when `None`).
    pub conv_filter: Option<String>,
}

impl Default for KernelBenchOptions {
    fn default() -> Self {
        KernelBenchOptions {
            repetitions: 5,
            warmup: 1,
            gemm: true,
            conv: true,
            conv_filter: None,
        }
    }
}

/// The GEMM measurement.
#[derive(Clone, Debug, PartialEq)]
pub struct GemmResult {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    /// Median seconds per product.
    pub seconds: f64,
    pub gflops: f64,
}

/// One convolution shape's measurement (median seconds per pass, and rates).
#[derive(Clone, Debug, PartialEq)]
pub struct ConvResult {
    pub name: &'static str,
    pub desc: Conv2dDesc,
    pub forward_s: f64,
    pub backward_input_s: f64,
    pub backward_weight_s: f64,
    pub forward_gflops: f64,
    pub backward_input_gflops: f64,
    pub backward_weight_gflops: f64,
    /// `3 · flops / (forward_s + backward_input_s + backward_weight_s)`.
    pub total_gflops: f64,
    /// `total_gflops` over the GEMM's GFLOP/s, when the GEMM was measured.
    pub ratio_to_gemm: Option<f64>,
}

/// Everything the benchmark measured.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelBenchReport {
    /// Threads of rayon's pool during the run.
    pub threads: usize,
    pub gemm: Option<GemmResult>,
    pub conv: Vec<ConvResult>,
}

/// The convolution shapes measured, named after the layer they come from (batch 64,
/// 7×7 kernels, `same` padding, f32). A group convolution on N samples is one conv2d with
/// `channels · N` input and output channels, so:
/// - rotmnist_se2_partial (no_hidden 32, N = 8, widths [1, 1, 2, 1], pool after the
///   lifting layer and block 1): block 1 is 256 → 256 on 14×14 (half the model's work),
///   block 2 is 256 → 512 and 512 → 512 on 7×7;
/// - small_se2_partial (no_hidden 8, N = 4, pool after the lifting layer and block 1):
///   block 1 is 32 → 32 on 14×14, block 2 32 → 32 on 7×7.
///
/// The lifting layers (1 input channel) are too small to matter and are left out.
pub fn conv_shapes() -> Vec<(&'static str, Conv2dDesc)> {
    let conv = |cin, cout, hw| Conv2dDesc {
        batch: 64,
        in_channels: cin,
        out_channels: cout,
        groups: 1,
        in_h: hw,
        in_w: hw,
        kernel_h: 7,
        kernel_w: 7,
        pad_h: 3,
        pad_w: 3,
    };
    vec![
        ("rotmnist_se2_partial block 1", conv(256, 256, 14)),
        ("rotmnist_se2_partial block 2a", conv(256, 512, 7)),
        ("rotmnist_se2_partial block 2b", conv(512, 512, 7)),
        ("small_se2_partial block 1", conv(32, 32, 14)),
        ("small_se2_partial block 2", conv(32, 32, 7)),
    ]
}

/// Runs the benchmark, printing a table to `out` as results arrive, and returns them.
pub fn kernel_bench(
    opts: &KernelBenchOptions,
    out: &mut dyn Write,
) -> anyhow::Result<KernelBenchReport> {
    let cpu = Cpu;
    let mut rng = Rng::seed(0xbe4c);
    let mut report = KernelBenchReport {
        threads: cpu.threads(),
        gemm: None,
        conv: Vec::new(),
    };
    writeln!(
        out,
        "kernel benchmark: f32, {} threads, median of {} runs after {} warm-up",
        report.threads,
        opts.repetitions.max(1),
        opts.warmup
    )?;
    if opts.gemm {
        let g = bench_gemm(&cpu, &mut rng, opts, 2048)?;
        writeln!(
            out,
            "GEMM {}x{}x{}: {:.3} s, {:.1} GFLOP/s",
            g.m, g.n, g.k, g.seconds, g.gflops
        )?;
        report.gemm = Some(g);
    }
    if opts.conv {
        writeln!(
            out,
            "{:<30} {:>22} {:>9} {:>9} {:>9} {:>9} {:>10}",
            "conv2d (GFLOP/s)", "shape", "fwd", "bwd-in", "bwd-w", "total", "total/GEMM"
        )?;
        let filter = opts.conv_filter.as_deref().unwrap_or("");
        for (name, desc) in conv_shapes()
            .into_iter()
            .filter(|(n, _)| n.contains(filter))
        {
            let gemm = report.gemm.as_ref().map(|g| g.gflops);
            let r = bench_conv(&cpu, &mut rng, opts, name, desc, gemm)?;
            let shape = format!(
                "{}→{} {}x{} k{}",
                desc.in_channels, desc.out_channels, desc.in_h, desc.in_w, desc.kernel_h
            );
            let ratio = r
                .ratio_to_gemm
                .map_or("-".to_string(), |v| format!("{v:.2}"));
            writeln!(
                out,
                "{:<30} {:>22} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>10}",
                name,
                shape,
                r.forward_gflops,
                r.backward_input_gflops,
                r.backward_weight_gflops,
                r.total_gflops,
                ratio
            )?;
            report.conv.push(r);
        }
    }
    Ok(report)
}

/// Median seconds of `f` over `opts.repetitions` runs after `opts.warmup` untimed ones.
fn median_seconds(
    opts: &KernelBenchOptions,
    mut f: impl FnMut() -> pgcnn_core::Result<Vec<f32>>,
) -> anyhow::Result<f64> {
    for _ in 0..opts.warmup {
        std::hint::black_box(f()?);
    }
    let mut times = Vec::with_capacity(opts.repetitions.max(1));
    for _ in 0..opts.repetitions.max(1) {
        let start = Instant::now();
        std::hint::black_box(f()?);
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn random(cpu: &Cpu, rng: &mut Rng, len: usize) -> anyhow::Result<Vec<f32>> {
    let v: Vec<f32> = (0..len)
        .map(|_| rng.uniform_range(-1.0, 1.0) as f32)
        .collect();
    Ok(cpu.upload(&v)?)
}

fn bench_gemm(
    cpu: &Cpu,
    rng: &mut Rng,
    opts: &KernelBenchOptions,
    size: usize,
) -> anyhow::Result<GemmResult> {
    let desc = GemmDesc {
        batch: 1,
        m: size,
        n: size,
        k: size,
        a_trans: false,
        b_trans: false,
        a_batch_stride: 0,
        b_batch_stride: 0,
    };
    let a = random(cpu, rng, size * size)?;
    let b = random(cpu, rng, size * size)?;
    let seconds = median_seconds(opts, || cpu.gemm(&a, &b, &desc)).context("GEMM benchmark")?;
    Ok(GemmResult {
        m: size,
        n: size,
        k: size,
        seconds,
        gflops: desc.flops() / seconds / 1e9,
    })
}

fn bench_conv(
    cpu: &Cpu,
    rng: &mut Rng,
    opts: &KernelBenchOptions,
    name: &'static str,
    desc: Conv2dDesc,
    gemm_gflops: Option<f64>,
) -> anyhow::Result<ConvResult> {
    let x = random(cpu, rng, desc.input_len())?;
    let w = random(cpu, rng, desc.weight_len())?;
    let dy = random(cpu, rng, desc.output_len())?;
    let ctx = || format!("convolution benchmark {name}");
    let forward_s = median_seconds(opts, || cpu.conv2d(&x, &w, &desc)).with_context(ctx)?;
    let backward_input_s =
        median_seconds(opts, || cpu.conv2d_backward_input(&dy, &w, &desc)).with_context(ctx)?;
    let backward_weight_s =
        median_seconds(opts, || cpu.conv2d_backward_weight(&x, &dy, &desc)).with_context(ctx)?;
    let flops = desc.flops();
    let total_gflops = 3.0 * flops / (forward_s + backward_input_s + backward_weight_s) / 1e9;
    Ok(ConvResult {
        name,
        desc,
        forward_s,
        backward_input_s,
        backward_weight_s,
        forward_gflops: flops / forward_s / 1e9,
        backward_input_gflops: flops / backward_input_s / 1e9,
        backward_weight_gflops: flops / backward_weight_s / 1e9,
        total_gflops,
        ratio_to_gemm: gemm_gflops.map(|g| total_gflops / g),
    })
}
