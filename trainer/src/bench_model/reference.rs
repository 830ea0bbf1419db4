//! The benchmark configs (docs/benchmarks.md) and the reference implementation's figures
//! to compare with, read from a file the user passes (`pgcnn bench --reference FILE`).
//!
//! A speed ratio only means something when both sides ran on the same machine in the
//! same session, so pgcnn carries no reference figures of its own: the file holds what
//! the reference's benchmark script printed on this machine, one JSON object per line:
//!
//! ```text
//! {"config": "rotmnist_se2_partial", "device": "cpu", "batch": 64, "threads": 2,
//!  "train_step_s_median": 3.55, "eval_fwd_s_median": 0.97}
//! ```
//!
//! (`config`, `batch`, `train_step_s_median` and `eval_fwd_s_median` are required; `device`
//! (`cpu` or `cuda`), `threads` and `peak_mem_mb` are read when present; other keys are
//! ignored. A line with
//! an `error` key records a config the reference failed to run; blank lines are skipped.)

use anyhow::{bail, Context, Result};
use pgcnn_core::backend::{Capabilities, DeviceKind};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The configs of the benchmark table (docs/benchmarks.md), in its order (`--config all`).
pub const BENCHMARK_CONFIGS: [&str; 7] = [
    "small_se2_partial",
    "rotmnist_t2",
    "rotmnist_se2_full",
    "rotmnist_se2_partial",
    "rotmnist_e2_partial",
    "mnist6_180_se2_partial",
    "cifar10_se2_partial",
];

/// One of the reference's measurements, as its benchmark script reported it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReferenceFigures {
    /// Where it was read: `FILE line N`.
    pub source: String,
    /// `cpu` or `cuda` (`-` when the line does not say).
    pub device: String,
    pub threads: Option<usize>,
    pub batch: usize,
    pub train_step_ms: f64,
    pub eval_forward_ms: f64,
    /// Peak GPU memory (CUDA runs only).
    pub peak_memory_mb: Option<f64>,
}

/// A reference file's contents: figures by config, and the configs it failed on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReferenceTable {
    pub figures: BTreeMap<String, ReferenceFigures>,
    /// Config → the reference's error message.
    pub failed: BTreeMap<String, String>,
}

impl ReferenceTable {
    /// Reads and checks `path` (see the module documentation for the format).
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the reference figures {}", path.display()))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses the lines of a reference file; `name` labels errors and sources.
    pub fn parse(text: &str, name: &str) -> Result<Self> {
        let mut table = ReferenceTable::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let at = format!("{name} line {}", i + 1);
            let value: serde_json::Value = serde_json::from_str(line).with_context(|| {
                format!("{at}: not a JSON object (expected the reference benchmark's JSON lines)")
            })?;
            let Some(obj) = value.as_object() else {
                bail!("{at}: not a JSON object (expected the reference benchmark's JSON lines)");
            };
            let config = match obj.get("config").and_then(|v| v.as_str()) {
                Some(c) if !c.is_empty() => c.to_string(),
                _ => bail!("{at}: missing \"config\" (the config's name, a string)"),
            };
            if let Some(err) = obj.get("error") {
                let message = err.as_str().map_or_else(|| err.to_string(), str::to_string);
                table.failed.insert(config, message);
                continue;
            }
            let number = |key: &str, what: &str| -> Result<f64> {
                match obj.get(key).and_then(|v| v.as_f64()) {
                    Some(v) if v.is_finite() && v > 0.0 => Ok(v),
                    Some(v) => bail!("{at}: \"{key}\" is {v}, but {what} must be positive"),
                    None => bail!("{at}: missing \"{key}\" ({what}, a number)"),
                }
            };
            let batch = number("batch", "the batch size")?;
            if batch.fract() != 0.0 {
                bail!("{at}: \"batch\" is {batch}, not a whole number");
            }
            let device = match obj.get("device") {
                None => "-".to_string(),
                Some(v) => match v.as_str() {
                    Some(d @ ("cpu" | "cuda")) => d.to_string(),
                    _ => bail!("{at}: \"device\" is {v}, expected \"cpu\" or \"cuda\""),
                },
            };
            let figures = ReferenceFigures {
                source: at.clone(),
                device,
                threads: obj
                    .get("threads")
                    .and_then(|v| v.as_u64())
                    .map(|t| t as usize),
                batch: batch as usize,
                train_step_ms: number(
                    "train_step_s_median",
                    "the median training step in seconds",
                )? * 1e3,
                eval_forward_ms: number(
                    "eval_fwd_s_median",
                    "the median evaluation forward in seconds",
                )? * 1e3,
                peak_memory_mb: obj.get("peak_mem_mb").and_then(|v| v.as_f64()),
            };
            // A later line for the same config (a later round) replaces an earlier one.
            table.failed.remove(&config);
            table.figures.insert(config, figures);
        }
        if table.figures.is_empty() && table.failed.is_empty() {
            bail!("{name}: no figures in it (expected the reference benchmark's JSON lines)");
        }
        Ok(table)
    }

    /// The figures to compare a run of `config` at `batch` on a backend with `device`'s
    /// capabilities with, or why there are none.
    pub fn figures_for(
        &self,
        config: &str,
        batch: usize,
        device: Capabilities,
    ) -> std::result::Result<&ReferenceFigures, String> {
        if let Some(err) = self.failed.get(config) {
            return Err(format!("the reference failed on {config}: {err}"));
        }
        let Some(f) = self.figures.get(config) else {
            return Err(format!("the reference figures have no {config}"));
        };
        if f.batch != batch {
            return Err(format!(
                "the reference figures for {config} ({}) are for batch {}, this run is batch {batch}",
                f.source, f.batch
            ));
        }
        if device.emulated {
            return Err(format!(
                "this run is on a stand-in for a device (the kernel emulator), whose times \
                 say nothing about the device the reference figures for {config} ({}) were \
                 measured on",
                f.source
            ));
        }
        // The reference's names for its devices.
        let ours = match device.device {
            DeviceKind::Cpu => "cpu",
            DeviceKind::Gpu => "cuda",
        };
        if f.device != "-" && f.device != ours {
            return Err(format!(
                "the reference figures for {config} ({}) were measured on {}, this run is on {ours}",
                f.source, f.device
            ));
        }
        Ok(f)
    }
}
