//! Profiling aid: runs one pass of the block-1 convolution of rotmnist_se2_partial
//! (batch 64, 256 → 256 channels, 14×14, 7×7 kernel, f32) a few times and prints the best
//! wall-clock rate and, on Linux, the rate per CPU-second of the process (which load from
//! other processes on a shared machine disturbs much less).
//!
//! `cargo run --release -p pgcnn-cpu --example conv_pass -- fwd|bwd-in|bwd-w [runs]
//! [auto|im2col|fft]`, e.g. under `perf record`. For the full benchmark see `pgcnn::bench`.

use pgcnn_core::backend::{Backend, Conv2dDesc};
use pgcnn_cpu::{with_conv_algorithm, ConvAlgorithm, Cpu};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let pass = args.next().unwrap_or_else(|| "fwd".into());
    let runs: usize = args.next().map_or(Ok(3), |r| r.parse())?;
    let algorithm = match args.next().as_deref() {
        None | Some("auto") => ConvAlgorithm::Auto,
        Some("im2col") => ConvAlgorithm::Im2col,
        Some("fft") => ConvAlgorithm::Fft,
        Some(other) => return Err(format!("unknown algorithm {other}").into()),
    };
    let d = Conv2dDesc {
        batch: 64,
        in_channels: 256,
        out_channels: 256,
        groups: 1,
        in_h: 14,
        in_w: 14,
        kernel_h: 7,
        kernel_w: 7,
        pad_h: 3,
        pad_w: 3,
    };
    let values = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
            .collect()
    };
    let (x, w, dy) = (
        values(d.input_len()),
        values(d.weight_len()),
        values(d.output_len()),
    );
    let (mut best, mut best_cpu) = (f64::MAX, f64::MAX);
    for _ in 0..runs.max(1) {
        let (start, cpu_start) = (Instant::now(), cpu_seconds());
        let out = with_conv_algorithm(algorithm, || match pass.as_str() {
            "fwd" => Ok(Cpu.conv2d(&x, &w, &d)),
            "bwd-in" => Ok(Cpu.conv2d_backward_input(&dy, &w, &d)),
            "bwd-w" => Ok(Cpu.conv2d_backward_weight(&x, &dy, &d)),
            other => Err(format!("unknown pass {other}")),
        })?;
        std::hint::black_box(out?);
        best = best.min(start.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (cpu_start, cpu_seconds()) {
            best_cpu = best_cpu.min(b - a);
        }
    }
    let threads = Cpu.threads() as f64;
    print!(
        "{pass}: best {best:.3} s, {:.1} GFLOP/s",
        d.flops() / best / 1e9
    );
    if best_cpu < f64::MAX {
        let rate = d.flops() * threads / best_cpu / 1e9;
        print!("; {best_cpu:.2} CPU-s, {rate:.1} GFLOP/s per {threads} CPU-s");
    }
    println!();
    Ok(())
}

/// User + system CPU seconds of this process so far (Linux; 100 clock ticks a second).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 2..)?
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some((ticks(11)? + ticks(12)?) / 100.0)
}
