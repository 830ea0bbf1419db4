//! The kernel benchmark: GFLOP/s of the CPU backend's GEMM and convolutions on the layer
//! shapes of the benchmark configs (docs/benchmarks.md), in f32.
//!
//! The GEMM (2048³) is the practical ceiling; a convolution's forward, input-gradient and
//! weight-gradient passes each cost `Conv2dDesc::flops()` as a direct convolution, so a
//! training step's convolution work is counted as three times that, and the report gives
//! its rate as a fraction of the GEMM's. Each shape is timed with both algorithms of the
//! CPU backend (im2col + GEMM, and FFT, which does far fewer flops: its rate is
//! *effective*, the direct convolution's flops over its time, and can exceed the GEMM's),
//! and the report marks the one the backend's cost model picks. Every figure is the median of several timed runs after
//! untimed warm-up runs; the ratio of the fastest runs is given as well, since on a
//! machine shared with other work the fastest run is the least disturbed one. Threads are
//! rayon's current pool (see `pgcnn_cpu`).

use anyhow::Context;
use pgcnn_core::backend::{Backend, Conv2dDesc, GemmDesc};
use pgcnn_core::rng::Rng;
use pgcnn_cpu::{with_conv_algorithm, ConvAlgorithm, Cpu};
use std::io::Write;
use std::time::Instant;

/// What to measure and how often.
#[derive(Clone, Debug)]
pub struct KernelBenchOptions {
    /// Timed rounds (each runs every kernel once); medians are reported (at least 1).
    pub repetitions: usize,
    /// Untimed rounds before timing.
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
    /// The rate of the fastest run: on a machine shared with other work, the closest to
    /// what the hardware does undisturbed.
    pub best_gflops: f64,
}

/// One convolution shape's measurement (median seconds per pass, and rates).
#[derive(Clone, Debug, PartialEq)]
pub struct ConvResult {
    pub name: &'static str,
    pub desc: Conv2dDesc,
    /// The algorithm timed (`Im2col` or `Fft`).
    pub algorithm: ConvAlgorithm,
    /// Whether the backend's cost model picks this algorithm for this shape.
    pub chosen: bool,
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
    /// Like `total_gflops`, from the fastest run of each pass.
    pub best_total_gflops: f64,
    /// `best_total_gflops` over the GEMM's `best_gflops`.
    pub best_ratio_to_gemm: Option<f64>,
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
///   block 2 is 256 → 512 and 512 → 512 on 7×7; the lifting layer 1 → 256 on 28×28;
/// - rotmnist_t2 (no_hidden 32, one sample, pool after blocks 1 and 2): block 1 is
///   32 → 32 on 28×28, block 2 32 → 64 and 64 → 64 on 14×14;
/// - small_se2_partial (no_hidden 8, N = 4, pool after the lifting layer and block 1):
///   block 1 is 32 → 32 on 14×14, block 2 32 → 32 on 7×7;
/// - mnist6_180_se2_partial (no_hidden 10, N = 8, a sample per image, pool after blocks 1
///   and 2): each image has its own kernels, so a layer is one convolution of a single
///   "image" with 64 groups of 80 → 80 channels, on 28×28 (block 1) and 14×14 (block 2).
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
        ("rotmnist_se2_partial lifting", conv(1, 256, 28)),
        ("rotmnist_se2_partial block 1", conv(256, 256, 14)),
        ("rotmnist_se2_partial block 2a", conv(256, 512, 7)),
        ("rotmnist_se2_partial block 2b", conv(512, 512, 7)),
        ("rotmnist_t2 block 1", conv(32, 32, 28)),
        ("rotmnist_t2 block 2a", conv(32, 64, 14)),
        ("rotmnist_t2 block 2b", conv(64, 64, 14)),
        ("small_se2_partial block 1", conv(32, 32, 14)),
        ("small_se2_partial block 2", conv(32, 32, 7)),
        (
            "mnist6_180_se2_partial block 1",
            Conv2dDesc {
                batch: 1,
                groups: 64,
                ..conv(64 * 80, 64 * 80, 28)
            },
        ),
        (
            "mnist6_180_se2_partial block 2",
            Conv2dDesc {
                batch: 1,
                groups: 64,
                ..conv(64 * 80, 64 * 80, 14)
            },
        ),
    ]
}

/// The algorithms every shape is timed with.
const ALGORITHMS: [ConvAlgorithm; 2] = [ConvAlgorithm::Im2col, ConvAlgorithm::Fft];

/// One timed kernel: its flops and a closure that runs it once.
struct Kernel<'a> {
    flops: f64,
    run: Box<dyn FnMut() -> pgcnn_core::Result<Vec<f32>> + 'a>,
    /// Seconds of each timed run.
    times: Vec<f64>,
}

impl<'a> Kernel<'a> {
    fn new(flops: f64, run: impl FnMut() -> pgcnn_core::Result<Vec<f32>> + 'a) -> Self {
        Kernel {
            flops,
            run: Box::new(run),
            times: Vec::new(),
        }
    }
    fn median(&self) -> f64 {
        let mut t = self.times.clone();
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    }
    fn gflops(&self) -> f64 {
        self.flops / self.median() / 1e9
    }
    fn best(&self) -> f64 {
        self.times.iter().copied().fold(f64::INFINITY, f64::min)
    }
}

/// Runs the benchmark, prints its table to `out` and returns the results.
///
/// The kernels are timed in rounds (each round runs every kernel once), so that load
/// from other processes on a shared machine falls on all of them alike instead of on
/// whichever happened to run at the wrong moment; the ratios are then fair even when
/// the absolute rates are not.
pub fn kernel_bench(
    opts: &KernelBenchOptions,
    out: &mut dyn Write,
) -> anyhow::Result<KernelBenchReport> {
    let cpu = Cpu;
    let mut rng = Rng::seed(0xbe4c);
    let reps = opts.repetitions.max(1);
    let threads = cpu.threads();
    writeln!(
        out,
        "kernel benchmark: f32, {threads} threads, median of {reps} rounds after {} warm-up",
        opts.warmup
    )?;

    const GEMM_SIZE: usize = 2048;
    let gemm_desc = GemmDesc {
        batch: 1,
        m: GEMM_SIZE,
        n: GEMM_SIZE,
        k: GEMM_SIZE,
        a_trans: false,
        b_trans: false,
        a_batch_stride: 0,
        b_batch_stride: 0,
    };
    let filter = opts.conv_filter.as_deref().unwrap_or("");
    let shapes: Vec<(&'static str, Conv2dDesc)> = if opts.conv {
        conv_shapes()
            .into_iter()
            .filter(|(n, _)| n.contains(filter))
            .collect()
    } else {
        Vec::new()
    };

    // Operands first (they outlive the kernels that borrow them).
    let gemm_ops = if opts.gemm {
        let len = GEMM_SIZE * GEMM_SIZE;
        Some((random(&cpu, &mut rng, len)?, random(&cpu, &mut rng, len)?))
    } else {
        None
    };
    let conv_ops: Vec<(Vec<f32>, Vec<f32>, Vec<f32>)> = shapes
        .iter()
        .map(|(_, d)| {
            Ok((
                random(&cpu, &mut rng, d.input_len())?,
                random(&cpu, &mut rng, d.weight_len())?,
                random(&cpu, &mut rng, d.output_len())?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;

    let mut kernels: Vec<Kernel> = Vec::new();
    if let Some((a, b)) = &gemm_ops {
        kernels.push(Kernel::new(gemm_desc.flops(), move || {
            cpu.gemm(a, b, &gemm_desc)
        }));
    }
    for ((_, d), (x, w, dy)) in shapes.iter().zip(&conv_ops) {
        let d = *d;
        for algo in ALGORITHMS {
            kernels.push(Kernel::new(d.flops(), move || {
                with_conv_algorithm(algo, || cpu.conv2d(x, w, &d))
            }));
            kernels.push(Kernel::new(d.flops(), move || {
                with_conv_algorithm(algo, || cpu.conv2d_backward_input(dy, w, &d))
            }));
            kernels.push(Kernel::new(d.flops(), move || {
                with_conv_algorithm(algo, || cpu.conv2d_backward_weight(x, dy, &d))
            }));
        }
    }

    for round in 0..opts.warmup + reps {
        for k in kernels.iter_mut() {
            let start = Instant::now();
            std::hint::black_box((k.run)().context("running a benchmark kernel")?);
            if round >= opts.warmup {
                k.times.push(start.elapsed().as_secs_f64());
            }
        }
    }

    let mut report = KernelBenchReport {
        threads,
        gemm: None,
        conv: Vec::new(),
    };
    let mut rest = &kernels[..];
    if opts.gemm {
        let k = &rest[0];
        rest = &rest[1..];
        let g = GemmResult {
            m: GEMM_SIZE,
            n: GEMM_SIZE,
            k: GEMM_SIZE,
            seconds: k.median(),
            gflops: k.gflops(),
            best_gflops: k.flops / k.best() / 1e9,
        };
        writeln!(
            out,
            "GEMM {}x{}x{}: {:.3} s, {:.1} GFLOP/s (best run {:.1})",
            g.m, g.n, g.k, g.seconds, g.gflops, g.best_gflops
        )?;
        report.gemm = Some(g);
    }
    if !shapes.is_empty() {
        writeln!(
            out,
            "{:<30} {:>17} {:>8} {:>7} {:>7} {:>7} {:>7} {:>10} {:>10}",
            "conv2d GFLOP/s (effective)",
            "shape",
            "algo",
            "fwd",
            "bwd-in",
            "bwd-w",
            "total",
            "total/GEMM",
            "best runs"
        )?;
    }
    let timed = shapes
        .iter()
        .flat_map(|s| ALGORITHMS.map(|a| (s, a)))
        .zip(rest.chunks(3));
    for (((name, desc), algorithm), k) in timed {
        let chosen = cpu.conv_algorithm::<f32>(desc)? == algorithm;
        let (f, bi, bw) = (&k[0], &k[1], &k[2]);
        let total_s = f.median() + bi.median() + bw.median();
        let total_gflops = 3.0 * desc.flops() / total_s / 1e9;
        let best_total_gflops = 3.0 * desc.flops() / (f.best() + bi.best() + bw.best()) / 1e9;
        let r = ConvResult {
            name,
            desc: *desc,
            algorithm,
            chosen,
            forward_s: f.median(),
            backward_input_s: bi.median(),
            backward_weight_s: bw.median(),
            forward_gflops: f.gflops(),
            backward_input_gflops: bi.gflops(),
            backward_weight_gflops: bw.gflops(),
            total_gflops,
            ratio_to_gemm: report.gemm.as_ref().map(|g| total_gflops / g.gflops),
            best_total_gflops,
            best_ratio_to_gemm: report
                .gemm
                .as_ref()
                .map(|g| best_total_gflops / g.best_gflops),
        };
        let shape = format!(
            "{}→{} {}x{} k{}",
            desc.in_channels, desc.out_channels, desc.in_h, desc.in_w, desc.kernel_h
        );
        let ratio = |r: Option<f64>| r.map_or("-".to_string(), |v| format!("{v:.2}"));
        let algo = match algorithm {
            ConvAlgorithm::Fft => "fft",
            _ => "im2col",
        };
        writeln!(
            out,
            "{:<30} {:>17} {:>7}{} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>10} {:>10}",
            name,
            shape,
            algo,
            if chosen { "*" } else { " " },
            r.forward_gflops,
            r.backward_input_gflops,
            r.backward_weight_gflops,
            r.total_gflops,
            ratio(r.ratio_to_gemm),
            ratio(r.best_ratio_to_gemm)
        )?;
        report.conv.push(r);
    }
    if !shapes.is_empty() {
        writeln!(
            out,
            "effective GFLOP/s: a direct convolution's flops over the time taken; \
             *: the algorithm the CPU backend picks for the shape"
        )?;
    }
    Ok(report)
}

/// A buffer of uniform values in [-1, 1).
fn random(cpu: &Cpu, rng: &mut Rng, len: usize) -> anyhow::Result<Vec<f32>> {
    let v: Vec<f32> = (0..len)
        .map(|_| rng.uniform_range(-1.0, 1.0) as f32)
        .collect();
    Ok(cpu.upload(&v)?)
}
