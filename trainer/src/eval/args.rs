//! The flags of `pgcnn eval` and the command itself (the CLI's `Command::Eval` calls
//! [`eval_command`]).

use super::run::{eval, EvalOptions, Split};
use crate::checkpoint::write_atomic;
use crate::config::EvalMode;
use crate::device::DeviceSpec;
use crate::evaluation::transforms::{equally_spaced, parse_rotations, transform_list};
use anyhow::{Context, Result};
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;

/// How the report is printed on stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A summary line and a table.
    Table,
    /// The JSON report.
    Json,
}

/// `pgcnn eval --checkpoint FILE [...]`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The checkpoint to evaluate (a run's best.safetensors or last.safetensors).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: PathBuf,
    /// Evaluate on this dataset instead of the one the model was trained on (same image
    /// shape and class count), e.g. MNIST, rotMNIST-synthetic, MNIST6-180.
    #[arg(long, value_name = "NAME")]
    pub dataset: Option<String>,
    /// Where datasets are read from (default: the embedded MNIST digits, for the
    /// MNIST-based datasets).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Which split to evaluate on.
    #[arg(long, value_enum, default_value_t = Split::Test)]
    pub split: Split,
    /// Rotate the inputs by each of these angles in degrees (comma-separated, e.g.
    /// 0,90,180,270), positive = clockwise as displayed; multiples of 90° are exact,
    /// other angles bilinear. Default: 0 only.
    #[arg(long, value_name = "DEGREES", allow_hyphen_values = true)]
    pub rotations: Option<String>,
    /// Rotate the inputs by N equally spaced angles in [0°, 360°) (0, 360/N, ...).
    #[arg(long, value_name = "N", conflicts_with = "rotations")]
    pub angles: Option<usize>,
    /// Also evaluate every angle on mirrored inputs (a horizontal flip, then the
    /// rotation).
    #[arg(long)]
    pub mirror: bool,
    #[command(flatten)]
    pub device: DeviceSpec,
    /// Images per forward pass (default: the config's train.batch_size).
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// Seed of the group elements drawn where the model samples them (default: the one
    /// the training run evaluated this split with).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Average every image's logits over K independent draws of group elements and keep
    /// decisions (for a model that draws at evaluation time; default: the run's
    /// train.eval_draws, as its validation and test were measured). 1 is the
    /// reference's single draw.
    #[arg(long, value_name = "K")]
    pub eval_draws: Option<usize>,
    /// sample: draw as in training, averaging --eval-draws draws; most-likely: draw
    /// nothing (keep the elements whose keep probability is above one half, on grids
    /// without their random offset). The report shows the other mode beside it.
    /// Default: the run's train.eval_mode.
    #[arg(long, value_name = "MODE", value_parser = parse_mode)]
    pub eval_mode: Option<EvalMode>,
    /// Print the report as a table or as JSON on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Also write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Do not draw the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

impl EvalArgs {
    /// The options these flags ask for.
    pub fn options(&self) -> Result<EvalOptions> {
        let angles = match (&self.rotations, self.angles) {
            (Some(list), _) => parse_rotations(list)?,
            (None, Some(n)) => equally_spaced(n)?,
            (None, None) => vec![0.0],
        };
        Ok(EvalOptions {
            checkpoint: self.checkpoint.clone(),
            dataset: self.dataset.clone(),
            data_dir: self.data_dir.clone(),
            split: self.split,
            transforms: transform_list(&angles, self.mirror),
            device: self.device,
            batch_size: self.batch_size,
            seed: self.seed,
            draws: self.eval_draws,
            mode: self.eval_mode,
            progress: !self.no_progress && std::io::stderr().is_terminal(),
        })
    }
}

/// `--eval-mode`'s value: `sample` or `most-likely` (case and punctuation ignored).
fn parse_mode(text: &str) -> Result<EvalMode, crate::config::UnknownChoice> {
    text.parse()
}

/// Runs `pgcnn eval`: measures, prints the table or the JSON, writes `--json FILE`.
pub fn eval_command(args: EvalArgs) -> Result<()> {
    let report = eval(args.options()?)?;
    let json = report.to_json();
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&json)? + "\n";
        write_atomic(path, text.as_bytes())
            .with_context(|| format!("--json {}", path.display()))?;
    }
    match args.format {
        OutputFormat::Table => print!("{}", report.table()),
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&json)?),
    }
    Ok(())
}
