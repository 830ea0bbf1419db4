//! Opening a run directory for `--resume`, and the checks that keep a checkpoint good:
//! it belongs to the run (its configuration matches the run's `config.toml`), its
//! stored configuration is valid, and nothing non-finite is ever written as "the last
//! good checkpoint".

use super::files::{CONFIG_FILE, LAST_CHECKPOINT};
use super::state::{read_progress, RunProgress};
use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::config::Config;
use anyhow::{bail, Context, Result};
use std::path::Path;

/// What `--resume DIR` continues from.
pub struct ResumePoint {
    /// The configuration stored in the checkpoint, validated.
    pub config: Config,
    /// `--max-steps` of the run (`None`: whole epochs).
    pub max_steps: Option<usize>,
    /// The counters stored in the checkpoint.
    pub progress: RunProgress,
    /// The checkpoint (`DIR/last.safetensors`).
    pub checkpoint: Checkpoint,
}

/// Loads `out/last.safetensors` and checks it against the run: its configuration must
/// parse, be valid and equal `out/config.toml` (when that file exists; see
/// [`check_same_run`]); a `--max-steps`
/// given now must equal the run's (a different one would change the schedule and the
/// epochs, so the resumed run would not continue the interrupted one).
pub fn open_resume(out: &Path, max_steps: Option<usize>) -> Result<ResumePoint> {
    let path = out.join(LAST_CHECKPOINT);
    if !path.exists() {
        return Err(no_checkpoint(out));
    }
    let ck = Checkpoint::load(&path)
        .with_context(|| format!("--resume {}: cannot read the checkpoint", out.display()))?;
    let config = Config::from_toml_str(&ck.config_toml)
        .and_then(|c| c.validate().map(|()| c))
        .with_context(|| format!("the config stored in {}", path.display()))?;
    let config_file = out.join(CONFIG_FILE);
    if config_file.exists() {
        let text = std::fs::read_to_string(&config_file)
            .with_context(|| format!("reading {}", config_file.display()))?;
        check_same_run(&ck, &text).with_context(|| {
            format!(
                "{} does not belong to the run in {} (its {CONFIG_FILE})",
                path.display(),
                out.display()
            )
        })?;
    }
    let progress = read_progress(&ck).with_context(|| format!("reading {}", path.display()))?;
    if let Some(m) = max_steps {
        if Some(m) != progress.max_steps {
            bail!(
                "--max-steps {m} differs from the run's ({}): a resumed run keeps the steps \
                 per epoch it started with; leave --max-steps out",
                progress
                    .max_steps
                    .map_or("none".to_string(), |s| s.to_string())
            );
        }
    }
    if progress.max_steps == Some(0) {
        bail!("{}: run.max_steps is 0", path.display());
    }
    Ok(ResumePoint {
        config,
        max_steps: progress.max_steps,
        progress,
        checkpoint: ck,
    })
}

/// The error of `--resume DIR` where DIR has no last checkpoint.
pub fn no_checkpoint(out: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "--resume {}: there is no checkpoint {} to continue from (a run writes it before its \
         first step; a run stopped earlier has to be started again)",
        out.display(),
        out.join(LAST_CHECKPOINT).display()
    )
}

/// Checks that `ck` belongs to the run whose config is `run_toml`: the two configs are
/// equal, except perhaps in `train.epochs`, which `--resume DIR --epochs N` rewrites in
/// the run's files one after the other, so that a kill between two of those writes
/// leaves them with different counts (the last checkpoint's is the run's).
pub fn check_same_run(ck: &Checkpoint, run_toml: &str) -> Result<(), CheckpointError> {
    match ck.check_config(run_toml) {
        Err(CheckpointError::ConfigMismatch(diffs))
            if diffs.iter().any(|d| d.key != "train.epochs") =>
        {
            Err(CheckpointError::ConfigMismatch(diffs))
        }
        Err(CheckpointError::ConfigMismatch(_)) => Ok(()),
        other => other,
    }
}

/// The name of the first tensor of `ck` that no good run holds: a NaN anywhere, or an
/// infinity in the model (parameters, batch-norm statistics). Such a checkpoint is never
/// written, so that the last checkpoint on disk stays usable. An infinity in an
/// optimiser slot is allowed: Adam's `exp_avg_sq` overflows to +inf under huge gradients
/// and then only shrinks that parameter's steps to zero.
pub fn first_non_finite(ck: &Checkpoint) -> Option<&str> {
    ck.tensors
        .iter()
        .find(|t| {
            if t.name.starts_with("optim.") {
                t.data.iter().any(|v| v.is_nan())
            } else {
                t.data.iter().any(|v| !v.is_finite())
            }
        })
        .map(|t| t.name.as_str())
}
