//! `pgcnn bench --config NAME`: the model benchmark. For each benchmark config
//! (docs/benchmarks.md, or any preset): the median time of a training step (forward,
//! cross-entropy and the trainer's other loss terms, backward, optimiser step, the loss
//! read back to the host) and of an evaluation forward (logits downloaded), GFLOP/s of
//! the convolutions, peak memory, and, given the reference implementation's figures
//! measured on this machine (`--reference FILE`, see [`mod@reference`]), the ratios to them.
//!
//! How it measures (docs/benchmarks.md): the model and optimiser are built from the preset
//! as `pgcnn train` builds them, on a fixed batch of random images and labels (fixed
//! seeds); `warmup` untimed steps, then `steps` timed ones, each read from the clock
//! after the device has finished it (a GPU is synchronised); medians and minima are
//! reported. Then the same for evaluation forwards. Flops are counted from the config
//! ([`flops`]): a training step is three times the forward's convolution work. Peak
//! memory: see [`memory`].
//!
//! Output: one line per config as it finishes,
//! `bench config=NAME device=... batch=64 train_step_ms=<median> eval_forward_ms=<median> ...`
//! (what scripts/gpu-check.sh reads), then a table; `--json FILE` writes every result.

pub mod flops;
pub mod memory;
pub mod reference;
mod report;
mod result;
mod run;

pub use memory::{CountingAlloc, MemoryMethod};
pub use reference::{ReferenceFigures, ReferenceTable, BENCHMARK_CONFIGS};
pub use report::{machine_line, write_json, write_table};
pub use result::{DeviceProfile, DeviceProfileRow, DeviceWork, ModelBenchResult};
pub use run::data_shape;

use crate::config::{build_config, Config};
use crate::device::{with_backend, BackendTask, Device, DeviceSpec};
use anyhow::{bail, Context, Result};
use pgcnn_core::Backend;
use std::io::Write;

/// How to run the model benchmark.
#[derive(Clone, Debug)]
pub struct ModelBenchOptions {
    /// Images per step (`None`: the config's `train.batch_size`).
    pub batch: Option<usize>,
    /// Untimed steps (and untimed forwards) first.
    pub warmup: usize,
    /// Timed steps (and timed forwards), at least 1.
    pub steps: usize,
    /// Training steps profiled after the timed ones, on CUDA (0: none).
    pub profile_steps: usize,
    /// The reference's figures measured on this machine, to report ratios against.
    pub reference: Option<ReferenceTable>,
}

/// The preset names `name` stands for: every benchmark config for `all`, else itself.
pub fn config_names(name: &str) -> Vec<String> {
    if name.trim().eq_ignore_ascii_case("all") {
        BENCHMARK_CONFIGS.iter().map(|s| s.to_string()).collect()
    } else {
        vec![name.to_string()]
    }
}

/// Runs the benchmark on the presets `name` stands for ([`config_names`]), each with
/// the `--set` style `overrides` applied, on `device`. Prints a line per config to `out`
/// as it finishes, then the table; writes the results as JSON to `json` if given.
pub fn model_bench(
    name: &str,
    overrides: &[String],
    opts: &ModelBenchOptions,
    device: impl Into<DeviceSpec>,
    json: Option<&std::path::Path>,
    out: &mut dyn Write,
) -> Result<Vec<ModelBenchResult>> {
    if opts.steps == 0 {
        bail!("--steps must be at least 1");
    }
    if opts.batch == Some(0) {
        bail!("--batch must be at least 1");
    }
    let configs = config_names(name)
        .into_iter()
        .map(|n| {
            let config = build_config(Some(&n), None, overrides)
                .with_context(|| format!("the config of {n}"))?;
            Ok((n, config))
        })
        .collect::<Result<Vec<_>>>()?;
    let device = Device::open(device)?;
    let results = with_backend(
        device,
        BenchTask {
            configs,
            opts: opts.clone(),
            out: &mut *out,
        },
    )?;
    write_table(&results, out)?;
    if let Some(path) = json {
        write_json(&results, path)?;
    }
    Ok(results)
}

struct BenchTask<'a> {
    configs: Vec<(String, Config)>,
    opts: ModelBenchOptions,
    out: &'a mut dyn Write,
}

impl BackendTask for BenchTask<'_> {
    type Output = Vec<ModelBenchResult>;
    fn run<B: Backend>(self, backend: B, device: &str) -> Result<Self::Output> {
        let mut results = Vec::new();
        if self.opts.profile_steps > 0 && !backend.capabilities().device_profile {
            eprintln!("note: --profile times GPU work; {device} has none, so nothing is profiled");
        }
        for (name, config) in &self.configs {
            eprintln!(
                "bench {name}: batch {}, {} warm-up + {} timed steps, then as many \
                 evaluation forwards, on {device}",
                self.opts.batch.unwrap_or(config.train.batch_size),
                self.opts.warmup,
                self.opts.steps
            );
            let r = bench_one(&backend, device, name, config, &self.opts)
                .with_context(|| format!("benchmarking {name}"))?;
            writeln!(self.out, "{}", machine_line(&r))?;
            self.out.flush()?;
            results.push(r);
        }
        Ok(results)
    }
}

/// Benchmarks one config (`name` labels it and picks the reference figures) on
/// `backend`, described as `device`.
pub fn bench_one<B: Backend>(
    backend: &B,
    device: &str,
    name: &str,
    config: &Config,
    opts: &ModelBenchOptions,
) -> Result<ModelBenchResult> {
    if opts.steps == 0 {
        bail!("--steps must be at least 1");
    }
    let batch = opts.batch.unwrap_or(config.train.batch_size);
    if batch == 0 {
        bail!("the batch size must be at least 1");
    }
    let load_average = load_average();
    let m = run::measure(
        backend,
        config,
        batch,
        opts.warmup,
        opts.steps,
        opts.profile_steps,
    )?;
    let ms = |v: &[f64]| v.iter().map(|s| s * 1e3).collect::<Vec<f64>>();
    let (train_ms, eval_ms) = (ms(&m.train_s), ms(&m.eval_s));
    let (train_med, eval_med) = (median(&train_ms), median(&eval_ms));
    let gflop = m.forward_flops / 1e9;
    let (reference, reference_note) = match &opts.reference {
        None => (None, None),
        Some(table) => match table.figures_for(name, batch, backend.capabilities()) {
            Ok(f) => (Some(f.clone()), None),
            Err(why) => (None, Some(why)),
        },
    };
    let emulated_host_ms = m.emulated_device_s.map(|device_s| {
        (m.train_s.iter().sum::<f64>() - device_s) * 1e3 / m.train_s.len().max(1) as f64
    });
    let mb = |b: Option<u64>| b.map(|b| b as f64 / 1e6);
    Ok(ModelBenchResult {
        config: name.to_string(),
        device: device.to_string(),
        backend: backend.name().to_string(),
        threads: rayon::current_num_threads(),
        batch,
        warmup: opts.warmup,
        steps: opts.steps,
        params: m.params,
        image_shape: m.image_shape,
        classes: m.classes,
        forward_gflop: gflop,
        train_step_ms: train_med,
        train_step_min_ms: train_ms.iter().copied().fold(f64::INFINITY, f64::min),
        eval_forward_ms: eval_med,
        eval_forward_min_ms: eval_ms.iter().copied().fold(f64::INFINITY, f64::min),
        train_gflops: 3.0 * gflop / (train_med / 1e3),
        eval_gflops: gflop / (eval_med / 1e3),
        train_peak_memory_mb: mb(m.train_peak_bytes),
        eval_peak_memory_mb: mb(m.eval_peak_bytes),
        memory_method: m.memory_method,
        first_loss: m.losses.first().copied().unwrap_or(f64::NAN),
        last_loss: m.losses.last().copied().unwrap_or(f64::NAN),
        train_speedup: reference.as_ref().map(|r| r.train_step_ms / train_med),
        eval_speedup: reference.as_ref().map(|r| r.eval_forward_ms / eval_med),
        reference,
        reference_note,
        train_step_times_ms: train_ms,
        eval_forward_times_ms: eval_ms,
        load_average,
        device_work: m
            .step_activity
            .as_ref()
            .map(|a| DeviceWork::from_activity(a, emulated_host_ms)),
        device_profile: m
            .profile
            .as_ref()
            .map(|p| DeviceProfile::from_profile(p, opts.profile_steps)),
    })
}

/// The median (the mean of the middle two for an even count); NaN when empty.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The 1-minute load average (Linux), if readable.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
