//! The command line: parses flags with clap, sets up threads and the backend, and runs
//! one subcommand. Errors reach the user as one readable message and a non-zero exit.
//!
//! The flags' doc comments are clap's `--help` text, written for a terminal: brackets and
//! angle brackets there (`[1,2]`, `<preset>`) are what the user types, not links or HTML.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

use crate::bench::{kernel_bench, KernelBenchOptions};
use crate::bench_model::{model_bench, ModelBenchOptions};
use crate::config::{build_config, presets_table};
use crate::device::DeviceSpec;
use crate::threads::{configure_threads, on_pool};
use crate::train::{
    install_interrupt_handler, train, ExistingRun, Interrupted, Start, TrainOptions,
};
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// The preset `pgcnn train` runs when given no preset and no config file.
pub const DEFAULT_PRESET: &str = "demo-mnist6-180-partial";

/// pgcnn: partial group convolutional networks (Romero & Lohit, NeurIPS 2022) on the CPU
/// or on CUDA GPUs.
#[derive(Parser, Debug)]
#[command(name = "pgcnn", version, about, long_about = None)]
pub struct Cli {
    /// CPU threads for the CPU backend (default: RAYON_NUM_THREADS, else every core).
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a model. With no arguments, trains the demo-mnist6-180-partial preset (an
    /// SE(2) partial CKResNet on MNIST6-180 built from the embedded digits) into
    /// runs/demo-mnist6-180-partial, or runs/demo-mnist6-180-partial-2, -3, ... when that
    /// already holds a run: a run is never written over unless --overwrite asks.
    Train(TrainArgs),
    /// List the presets (the reference's experiments and the benchmark configs), or
    /// print one as TOML with --show NAME.
    Presets(PresetsArgs),
    /// Plot a run's loss, accuracy and learned θ curves (PNG and SVG) from its
    /// metrics.jsonl.
    Report(ReportArgs),
    /// Benchmark on random data: `--config NAME` (or `all`) times training steps and
    /// evaluation forwards of a benchmark config (on CUDA it also counts a step's
    /// kernel launches and waits for the GPU, and `--profile` times them by op and
    /// kernel); `--kernels` measures the CPU backend's GEMM and convolutions (GFLOP/s) on
    /// the configs' layer shapes.
    Bench(BenchArgs),
    /// Evaluate a checkpoint: test accuracy and, with --rotations/--angles/--mirror, the
    /// accuracy and logit invariance error under rotated and mirrored inputs.
    Eval(crate::eval::EvalArgs),
    /// Import a model trained by the reference implementation (the authors' PyTorch
    /// code): reads the state_dict torch.save wrote, maps every name and shape onto the
    /// configured pgcnn model (a name or shape that does not fit is an error naming it)
    /// and writes a pgcnn checkpoint for eval, train --init-from and export. No Python
    /// needed. Example: pgcnn import saved/model.pt --preset rotmnist_se2_partial.
    Import(crate::interop::import::ImportArgs),
    /// Write a trained model as a plain CNN in ONNX (--onnx FILE), for runtimes that know
    /// nothing of groups: each group convolution's kernel sampled once at the elements of
    /// the most-likely evaluation (recorded in the file's metadata), so its logits are
    /// those of `pgcnn eval --eval-mode most-likely`. See docs/export.md.
    Export(crate::export::ExportArgs),
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Measure the compute kernels (GEMM 2048³ and the configs' convolutions).
    #[arg(long, conflicts_with = "config")]
    pub kernels: bool,
    /// Time a model: a preset name (small_se2_partial, rotmnist_se2_partial, ... see
    /// `pgcnn presets`), or `all` for every benchmark config.
    #[arg(long, value_name = "NAME")]
    pub config: Option<String>,
    /// Model benchmark: images per step (default: the config's train.batch_size).
    #[arg(long, value_name = "N")]
    pub batch: Option<usize>,
    /// Model benchmark: timed training steps, and as many timed evaluation forwards;
    /// medians are reported.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub steps: usize,
    /// Model benchmark: override one config key, as `pgcnn train --set`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Model benchmark: the device (auto, cpu, cuda or cuda:N) and its f32 math.
    #[command(flatten)]
    pub device: DeviceSpec,
    /// Model benchmark: also write the results to FILE as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Model benchmark: report the ratio to the reference implementation's figures in
    /// FILE, measured on this machine in the same session (a ratio with figures from
    /// another machine or day means nothing): one JSON object per line with "config",
    /// "batch", "train_step_s_median" and "eval_fwd_s_median" (optional: "device",
    /// "threads", "peak_mem_mb"), as the reference's benchmark script prints them.
    #[arg(long, value_name = "FILE", conflicts_with = "kernels")]
    pub reference: Option<PathBuf>,
    /// Model benchmark on CUDA: after the timed steps, time every kernel, GEMM and copy
    /// of 3 more training steps and print where the GPU's time goes, by op and kernel
    /// (the timed figures are unaffected; the CPU has no such profile).
    #[arg(long, conflicts_with = "kernels")]
    pub profile: bool,
    /// Kernel benchmark: timed repetitions per kernel; the median is reported.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub repetitions: usize,
    /// Untimed warm-up runs: per kernel (default 1), or training steps and evaluation
    /// forwards before the timed ones (default 3).
    #[arg(long, value_name = "N")]
    pub warmup: Option<usize>,
    /// Skip the GEMM ceiling measurement.
    #[arg(long)]
    pub no_gemm: bool,
    /// Only convolution shapes whose name contains this text.
    #[arg(long, value_name = "TEXT")]
    pub conv_filter: Option<String>,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Start from this preset (see `pgcnn presets`). Default: demo-mnist6-180-partial,
    /// unless --config is given.
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// A TOML config file with the reference's keys (net.*, conv.*, kernel.*,
    /// base_group.*, train.*, dataset, dataset_params.*, seed), applied over the preset.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override one key, e.g. --set train.lr=0.01 --set net.pool_blocks=[1,2]
    /// (repeatable; the value is TOML, a bare word is a string).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Shortcut for --set seed=N.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Shortcut for --set train.epochs=N. With --resume: continue the run up to N epochs
    /// in all (a finished run of E epochs trains N - E more). The cosine learning rate (after its
    /// warm-up) and the Gumbel temperature depend on the total: they follow the N-epoch
    /// curves from there on, and a note says when that keeps the run from being
    /// bit-identical to one started with --epochs N (docs/runs.md).
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Shortcut for --set train.eval_draws=K: the validation and test evaluations
    /// average every image's logits over K independent draws of group elements and keep
    /// decisions (for a model that draws at evaluation time; the best model is chosen
    /// on the averaged validation accuracy). Default: automatic (docs/evaluation.md);
    /// 1 is the reference's single draw.
    #[arg(long, value_name = "K")]
    pub eval_draws: Option<usize>,
    /// Shortcut for --set train.eval_mode=MODE: sample (draw as in training) or
    /// most-likely (draw nothing: keep the elements whose keep probability is above one
    /// half, on grids without their random offset).
    #[arg(long, value_name = "MODE")]
    pub eval_mode: Option<String>,
    /// Run directory for config.toml, metrics.jsonl, checkpoints and final.json. If DIR
    /// holds a run, it is an error (naming --resume and --overwrite). Default:
    /// runs/<preset or config name>, or the first free runs/<name>-2, -3, ... when that
    /// holds a run (a note says so).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace the run in the run directory (its config.toml, metrics.jsonl, checkpoints
    /// and final.json), if there is one, instead of refusing (--out) or choosing a fresh
    /// directory (the default).
    #[arg(long)]
    pub overwrite: bool,
    /// Continue the run in DIR from its last checkpoint, with the config stored there
    /// (--epochs N changes its length). A run directory is written by one process at a
    /// time: another one writing DIR is an error naming its pid.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["preset", "config", "set", "seed", "out", "overwrite", "eval_draws", "eval_mode"])]
    pub resume: Option<PathBuf>,
    /// Fine-tune: start a new run from the weights (and batch-norm statistics) of this
    /// checkpoint, a run's best.safetensors or one written by `pgcnn import`. The run's
    /// config is the checkpoint's, with --config and --set applied over it (the model's
    /// shape must stay the same); the optimiser and schedules start afresh.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["resume", "preset"])]
    pub init_from: Option<PathBuf>,
    /// Where datasets are read from (default: the embedded MNIST digits, for the
    /// MNIST-based datasets).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(flatten)]
    pub device: DeviceSpec,
    /// Stop every epoch after N iterations (for quick checks).
    #[arg(long, value_name = "N")]
    pub max_steps: Option<usize>,
    /// Do not draw the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Args, Debug)]
pub struct PresetsArgs {
    /// Print this preset's full config as TOML.
    #[arg(long, value_name = "NAME")]
    pub show: Option<String>,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A run directory (holding metrics.jsonl).
    pub dir: PathBuf,
}

/// Runs the command line and turns errors into a message on stderr and exit code 1
/// (130 for a training run stopped by Ctrl-C after writing its checkpoint).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<Interrupted>().is_some() => {
            eprintln!("{e}");
            ExitCode::from(Interrupted::EXIT_CODE as u8)
        }
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes joined by ": ", as `{:#}` writes them, except that a cause
/// whose text already ends the message is left out (errors that print their source, such
/// as "reading x: No such file", would otherwise repeat it).
pub fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn run(cli: Cli) -> Result<()> {
    let threads = configure_threads(cli.threads)?;
    on_pool(|| run_command(cli.command, threads))
}

fn run_command(command: Command, threads: usize) -> Result<()> {
    match command {
        Command::Train(args) => train_command(args),
        Command::Presets(args) => presets_command(args),
        Command::Report(args) => {
            for path in crate::report::report(&args.dir)? {
                println!("{}", path.display());
            }
            Ok(())
        }
        Command::Bench(args) => bench(args, threads),
        Command::Eval(args) => crate::eval::eval_command(args),
        Command::Import(args) => crate::interop::import::import_command(args),
        Command::Export(args) => crate::export::export_command(args),
    }
}

fn train_command(args: TrainArgs) -> Result<()> {
    let progress = !args.no_progress && std::io::stderr().is_terminal();
    let mut init_from = None;
    let (config, out, start) = if let Some(dir) = args.resume {
        // The config comes from the checkpoint; this one is a placeholder replaced there.
        let start = Start::Resume {
            epochs: args.epochs,
        };
        (crate::config::Config::default(), dir, start)
    } else {
        let preset = match (&args.preset, &args.config) {
            (Some(p), _) => Some(p.clone()),
            (None, None) => Some(DEFAULT_PRESET.to_string()),
            (None, Some(_)) => None,
        };
        let mut overrides = args.set.clone();
        if let Some(seed) = args.seed {
            overrides.push(format!("seed={seed}"));
        }
        if let Some(epochs) = args.epochs {
            overrides.push(format!("train.epochs={epochs}"));
        }
        if let Some(k) = args.eval_draws {
            overrides.push(format!("train.eval_draws={k}"));
        }
        if let Some(mode) = &args.eval_mode {
            overrides.push(format!(
                "train.eval_mode={}",
                toml::Value::String(mode.clone())
            ));
        }
        let (config, init) = match &args.init_from {
            Some(path) => {
                let (config, ck) = fine_tuning_config(path, args.config.as_deref(), &overrides)?;
                (config, Some(ck))
            }
            None => (
                build_config(preset.as_deref(), args.config.as_deref(), &overrides)?,
                None,
            ),
        };
        init_from = init;
        let preset = if args.init_from.is_some() {
            None
        } else {
            preset
        };
        let name = args
            .init_from
            .as_deref()
            .and_then(|p| p.file_stem())
            .map(|s| format!("{}-finetuned", s.to_string_lossy()));
        let name = name.or(preset).unwrap_or_else(|| {
            args.config
                .as_deref()
                .and_then(|p| p.file_stem())
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "run".into())
        });
        // A directory the user named is theirs to decide about; the default one is
        // passed over for a fresh one, so that a repeated command keeps both runs.
        let existing = match (args.overwrite, &args.out) {
            (true, _) => ExistingRun::Overwrite,
            (false, Some(_)) => ExistingRun::Refuse,
            (false, None) => ExistingRun::NextFree,
        };
        let out = args.out.unwrap_or_else(|| PathBuf::from("runs").join(name));
        (config, out, Start::New(existing))
    };
    if args.max_steps == Some(0) {
        bail!("--max-steps must be at least 1");
    }
    if let Err(why) = install_interrupt_handler() {
        eprintln!("warning: {why}; Ctrl-C will stop the run without a last checkpoint");
    }
    let run = train(TrainOptions {
        config,
        out,
        start,
        data_dir: args.data_dir,
        device: args.device,
        max_steps: args.max_steps,
        progress,
        init_from,
    })?;
    let (summary, out) = (run.summary, run.out);
    println!(
        "{}",
        serde_json::json!({
            "test_acc": summary.test_acc,
            "best_val_acc": summary.best_val_acc,
            "best_epoch": summary.best_epoch,
            "epochs": summary.epochs,
            "out": out.display().to_string(),
        })
    );
    Ok(())
}

/// The config of a run fine-tuned from `path`: the checkpoint's own, with `file` and
/// `overrides` applied over it; and the checkpoint.
fn fine_tuning_config(
    path: &std::path::Path,
    file: Option<&std::path::Path>,
    overrides: &[String],
) -> Result<(crate::config::Config, crate::checkpoint::Checkpoint)> {
    let ck = crate::checkpoint::Checkpoint::load(path)
        .map_err(|e| anyhow::anyhow!("--init-from {}: {e}", path.display()))?;
    let mut config = crate::config::Config::from_toml_str(&ck.config_toml)
        .with_context(|| format!("the config stored in {}", path.display()))?;
    if let Some(f) = file {
        config = config.merge_file(f)?;
    }
    config.apply_overrides(overrides)?;
    config.validate()?;
    Ok((config, ck))
}

fn presets_command(args: PresetsArgs) -> Result<()> {
    match args.show {
        Some(name) => print!(
            "{}",
            crate::config::preset(&name)?.config()?.to_toml_string()?
        ),
        None => print!("{}", presets_table()),
    }
    Ok(())
}

fn bench(args: BenchArgs, threads: usize) -> Result<()> {
    if let Some(name) = &args.config {
        return model_bench_command(name, &args);
    }
    if !args.kernels {
        bail!(
            "say what to benchmark: `pgcnn bench --config NAME` (or `--config all`) times a \
             model's training step and evaluation forward; `pgcnn bench --kernels` measures \
             GEMM and convolution GFLOP/s"
        );
    }
    if args.repetitions == 0 {
        bail!("--repetitions must be at least 1");
    }
    eprintln!("pgcnn bench: CPU backend, {threads} threads");
    let opts = KernelBenchOptions {
        repetitions: args.repetitions,
        warmup: args.warmup.unwrap_or(1),
        gemm: !args.no_gemm,
        conv: true,
        conv_filter: args.conv_filter,
    };
    kernel_bench(&opts, &mut std::io::stdout())?;
    Ok(())
}

/// Training steps `pgcnn bench --profile` profiles.
const PROFILE_STEPS: usize = 3;

/// `pgcnn bench --config NAME`: the model benchmark, its table on stdout.
fn model_bench_command(name: &str, args: &BenchArgs) -> Result<()> {
    let opts = ModelBenchOptions {
        batch: args.batch,
        warmup: args.warmup.unwrap_or(3),
        steps: args.steps,
        profile_steps: if args.profile { PROFILE_STEPS } else { 0 },
        reference: args
            .reference
            .as_deref()
            .map(crate::bench_model::ReferenceTable::read)
            .transpose()?,
    };
    model_bench(
        name,
        &args.set,
        &opts,
        args.device,
        args.json.as_deref(),
        &mut std::io::stdout(),
    )?;
    Ok(())
}
