//! The model benchmark's output: a machine-readable line per config, a table, JSON.

use super::result::{DeviceProfile, ModelBenchResult};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

/// `bench config=NAME device=BACKEND batch=B train_step_ms=X eval_forward_ms=Y ...`:
/// one line, `key=value` pairs without spaces in the values (scripts/gpu-check.sh reads
/// `train_step_ms` and `eval_forward_ms`).
pub fn machine_line(r: &ModelBenchResult) -> String {
    let opt =
        |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
    let mut work = r.device_work.as_ref().map_or(String::new(), |w| {
        let mut counts = format!(
            " launches_per_step={} gemms_per_step={} host_waits_per_step={}",
            w.launches, w.gemms, w.host_waits
        );
        if let Some(host_ms) = w.emulated_host_ms_per_step {
            counts += &format!(" emulated_host_ms_per_step={host_ms:.3}");
        }
        counts
    });
    if let Some(p) = &r.device_profile {
        work += &format!(
            " profiled_device_ms_per_step={:.3} profiled_wall_ms_per_step={:.3}",
            p.device_ms_per_step, p.wall_ms_per_step
        );
    }
    format!(
        "bench config={} device={} threads={} batch={} steps={} train_step_ms={:.3} \
         eval_forward_ms={:.3} train_step_min_ms={:.3} eval_forward_min_ms={:.3} \
         train_gflops={:.1} eval_gflops={:.1} peak_memory_mb={} train_speedup={} \
         eval_speedup={}{work}",
        r.config,
        r.backend,
        r.threads,
        r.batch,
        r.steps,
        r.train_step_ms,
        r.eval_forward_ms,
        r.train_step_min_ms,
        r.eval_forward_min_ms,
        r.train_gflops,
        r.eval_gflops,
        opt(r.train_peak_memory_mb, 1),
        opt(r.train_speedup, 2),
        opt(r.eval_speedup, 2),
    )
}

/// A number of milliseconds with about four significant digits.
fn ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{v:.0}")
    } else if v >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Prints the results as a table with notes on how they were measured.
pub fn write_table(results: &[ModelBenchResult], out: &mut dyn Write) -> Result<()> {
    let Some(first) = results.first() else {
        return Ok(());
    };
    writeln!(
        out,
        "{:<24} {:>5} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8} {:>9} {:>10} {:>10} {:>8} {:>8}",
        "config",
        "batch",
        "train ms",
        "(min)",
        "eval ms",
        "(min)",
        "train",
        "eval",
        "peak",
        "ref train",
        "ref eval",
        "speed-up",
        "speed-up"
    )?;
    writeln!(
        out,
        "{:<24} {:>5} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8} {:>9} {:>10} {:>10} {:>8} {:>8}",
        "", "", "median", "", "median", "", "GFLOP/s", "GFLOP/s", "MB", "ms", "ms", "train", "eval"
    )?;
    let dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    for r in results {
        let reference = r.reference.as_ref();
        writeln!(
            out,
            "{:<24} {:>5} {:>10} {:>10} {:>10} {:>10} {:>8.1} {:>8.1} {:>9} {:>10} {:>10} {:>8} {:>8}",
            r.config,
            r.batch,
            ms(r.train_step_ms),
            ms(r.train_step_min_ms),
            ms(r.eval_forward_ms),
            ms(r.eval_forward_min_ms),
            r.train_gflops,
            r.eval_gflops,
            dash(r.train_peak_memory_mb.map(|m| format!("{m:.1}"))),
            dash(reference.map(|f| ms(f.train_step_ms))),
            dash(reference.map(|f| ms(f.eval_forward_ms))),
            dash(r.train_speedup.map(|s| format!("{s:.2}x"))),
            dash(r.eval_speedup.map(|s| format!("{s:.2}x"))),
        )?;
    }
    writeln!(
        out,
        "device: {}; {} warm-up + {} timed steps (and forwards) per config; load average at \
         start: {}",
        first.device,
        first.warmup,
        first.steps,
        results
            .iter()
            .map(|r| r.load_average.map_or("-".into(), |l| format!("{l:.2}")))
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    writeln!(
        out,
        "GFLOP/s: convolution flops counted from the config (forward ×3 per training step); \
         peak: {} during the training steps",
        first.memory_method
    )?;
    for r in results {
        if let Some(w) = &r.device_work {
            let top: Vec<String> = w
                .top_launches
                .iter()
                .map(|(op, n)| format!("{op} {n}"))
                .collect();
            writeln!(
                out,
                "{}: one training step queued {} kernel launches, {} GEMMs and {} fills/copies, \
                 and waited for the device {} times; most launches: {}",
                r.config,
                w.launches,
                w.gemms,
                w.fills_and_copies,
                w.host_waits,
                top.join(", ")
            )?;
            if let Some(host_ms) = w.emulated_host_ms_per_step {
                writeln!(
                    out,
                    "{}: on the kernel emulator, a step's host code took {host_ms:.1} ms by \
                     itself (its wall time less the emulated device work); on a GPU the \
                     host also pays the driver for each launch",
                    r.config
                )?;
            }
        }
    }
    for r in results {
        if let Some(p) = &r.device_profile {
            write_profile(&r.config, p, out)?;
        }
    }
    for r in results {
        if let Some(f) = &r.reference {
            let threads = f
                .threads
                .map_or(String::new(), |t| format!(", {t} threads"));
            writeln!(
                out,
                "ref {}: the reference implementation from {} ({}{threads}, batch {}); \
                 speed-up = ref / ours, fair only when both ran on this machine in one session",
                r.config, f.source, f.device, f.batch
            )?;
        }
        if let Some(why) = &r.reference_note {
            writeln!(out, "ref {}: no ratio: {why}", r.config)?;
        }
    }
    Ok(())
}

/// Rows of a device profile printed before the rest are summed into one line.
const PROFILE_ROWS: usize = 15;

/// Prints where the GPU's time went in a training step, by op and work.
fn write_profile(config: &str, p: &DeviceProfile, out: &mut dyn Write) -> Result<()> {
    writeln!(
        out,
        "{config}: device time of a training step by op and work (mean of {} profiled \
         steps): {} ms of device work in {} ms of wall time",
        p.steps,
        ms(p.device_ms_per_step),
        ms(p.wall_ms_per_step)
    )?;
    writeln!(
        out,
        "  {:<24} {:<26} {:>10} {:>10} {:>6}",
        "op", "work", "calls", "ms", "share"
    )?;
    let share = |v: f64| {
        if p.device_ms_per_step > 0.0 {
            format!("{:.1}%", 100.0 * v / p.device_ms_per_step)
        } else {
            "-".into()
        }
    };
    for row in p.rows.iter().take(PROFILE_ROWS) {
        writeln!(
            out,
            "  {:<24} {:<26} {:>10} {:>10} {:>6}",
            row.op,
            row.work,
            format!("{:.1}", row.calls_per_step),
            format!("{:.3}", row.ms_per_step),
            share(row.ms_per_step)
        )?;
    }
    let rest = p.rows.get(PROFILE_ROWS..).unwrap_or_default();
    if !rest.is_empty() {
        let ms_rest: f64 = rest.iter().map(|r| r.ms_per_step).sum();
        let calls_rest: f64 = rest.iter().map(|r| r.calls_per_step).sum();
        writeln!(
            out,
            "  {:<24} {:<26} {:>10} {:>10} {:>6}",
            format!("({} more rows)", rest.len()),
            "",
            format!("{calls_rest:.1}"),
            format!("{ms_rest:.3}"),
            share(ms_rest)
        )?;
    }
    writeln!(
        out,
        "  (a row's time runs from when the GPU reached the call to the end of its work, so \
         a GPU left waiting for the host shows as time in the calls it waited for)"
    )?;
    Ok(())
}

/// Writes the results to `path` as a JSON array of objects.
pub fn write_json(results: &[ModelBenchResult], path: &Path) -> Result<()> {
    let text = serde_json::to_string_pretty(results)?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}
