//! `pgcnn train --resume DIR --epochs N`: continuing a run to another number of epochs.
//!
//! The run becomes the run of `train.epochs = N`: its checkpoints and `config.toml` say
//! N from then on, and every schedule is the one an N-epoch run has. Two schedules are
//! computed from the total number of iterations (docs/runs.md):
//!
//! - the cosine learning rate (`train.scheduler = cosine`) after its warm-up: the
//!   warm-up itself does not depend on the total;
//! - the Gumbel temperature of learned keep-or-drop decisions (deterministic or E(2)
//!   partial convolutions), unless `gumbel_init_temp = gumbel_end_temp`.
//!
//! The iterations already done used the old total. Where those values are the ones the
//! new total gives (no such schedule, a run still in its warm-up, a temperature that is
//! constant or has been used once), the continued run is, bit for bit, the run started
//! with `--epochs N`; otherwise it is not, and the trainer says so on the terminal and in
//! a comment of `config.toml`. The alternative, keeping the old curves and training the
//! extra epochs at their end values (a learning rate at `eta_min`), would make extending
//! a finished cosine run useless.

use super::files::{BEST_CHECKPOINT, CONFIG_FILE, LAST_CHECKPOINT};
use super::resume::ResumePoint;
use super::run_dir::remove_if_present;
use crate::checkpoint::Checkpoint;
use crate::config::{Config, GroupName, SamplingMethod, Scheduler};
use crate::metrics::FINAL_FILE;
use anyhow::{bail, Context, Result};
use std::path::Path;

/// Sets the run in `out` (its resume point `point`) to `epochs` epochs: checks that it
/// has not trained more, rewrites its checkpoints and `config.toml` with the new count,
/// removes its `final.json` (written again when the run ends), and says which schedules
/// keep it from being the run started with `epochs`. Does nothing when the count is the
/// run's own.
pub fn change_epochs(out: &Path, point: &mut ResumePoint, epochs: usize) -> Result<()> {
    let old = point.config.train.epochs;
    if epochs == old {
        return Ok(());
    }
    let p = &point.progress;
    let steps = p.partial_epoch.steps;
    let least = p.epoch + usize::from(steps > 0);
    if epochs < least {
        let done = if steps > 0 {
            format!("{} epochs and {steps} steps of the next", p.epoch)
        } else {
            format!("{} epochs", p.epoch)
        };
        bail!(
            "--epochs {epochs}: the run in {} has already trained {done}, so it needs at least \
             --epochs {least}",
            out.display()
        );
    }
    let mut config = point.config.clone();
    config.train.epochs = epochs;
    config
        .validate()
        .with_context(|| format!("--epochs {epochs} for the run in {}", out.display()))?;
    let moved = moved_schedules(&point.config, point);
    let history = extension_comment(old, epochs, point, &moved);
    eprintln!(
        "the run in {} is set to {epochs} epochs (it was started with {old})",
        out.display()
    );
    if !moved.is_empty() {
        eprintln!(
            "note: {} {} on train.epochs: the {} iterations done followed the {old}-epoch \
             curves and the rest follow the {epochs}-epoch ones, so this run will not be \
             bit-identical to one started with --epochs {epochs} (docs/runs.md)",
            moved.join(" and "),
            if moved.len() == 1 {
                "depends"
            } else {
                "depend"
            },
            p.iteration
        );
    }
    let patience = config.train.max_epochs_no_improvement;
    if patience > 0 && p.epochs_without_improvement >= patience && epochs > p.epoch {
        eprintln!(
            "note: the run stopped early (train.max_epochs_no_improvement = {patience} \
             epochs without a better validation accuracy), so it trains no further, as a \
             run started with --epochs {epochs} would not"
        );
    }
    write_new_epochs(out, point, &config, &history)?;
    point.config = config;
    Ok(())
}

/// The schedules that depend on `train.epochs` and have already been used at values
/// that another total would change: by [`change_epochs`]'s rules, the continued run
/// differs from one started with the new count exactly when this is not empty.
fn moved_schedules(config: &Config, point: &ResumePoint) -> Vec<&'static str> {
    let p = &point.progress;
    let t = &config.train;
    let mut moved = Vec::new();
    // The cosine part starts at the base rate whatever the total, at the end of the
    // warm-up, so the rates used so far are the same while no step past it was taken.
    let warmup = t.scheduler_params.warmup_epochs;
    let past_warmup = p.epoch > warmup || (p.epoch == warmup && p.partial_epoch.steps > 0);
    if t.scheduler == Scheduler::Cosine && past_warmup {
        moved.push("the cosine learning-rate schedule");
    }
    // The temperature is `init` at iteration 0 whatever the total.
    let g = &config.base_group;
    if uses_gumbel(config) && g.gumbel_init_temp != g.gumbel_end_temp && p.iteration > 1 {
        moved.push("the Gumbel temperature");
    }
    moved
}

/// Whether the model draws keep-or-drop decisions at the Gumbel temperature: partial
/// convolutions with keep logits, which deterministic rotations and the E(2) mirror
/// have (docs/math.md §4).
fn uses_gumbel(config: &Config) -> bool {
    let g = &config.base_group;
    config.conv.partial_equiv
        && g.name != GroupName::T2
        && (g.sampling_method == SamplingMethod::Deterministic || g.name == GroupName::E2)
}

/// The lines `config.toml` gets, above the config, for this change of `train.epochs`.
fn extension_comment(old: usize, new: usize, point: &ResumePoint, moved: &[&str]) -> String {
    let p = &point.progress;
    let mut text = format!(
        "# train.epochs was {old}; `pgcnn train --resume DIR --epochs {new}` made it {new} \
         after {} iterations (epoch {}).\n",
        p.iteration, p.epoch
    );
    if moved.is_empty() {
        text += &format!(
            "# No schedule that depends on train.epochs had moved yet: the run is the one \
             train.epochs = {new} gives from the start.\n"
        );
    } else {
        text += &format!(
            "# Of the schedules that depend on train.epochs, {} followed the {old}-epoch \
             curves for those iterations and the {new}-epoch ones after, so the run differs \
             from one started with train.epochs = {new}.\n",
            moved.join(" and ")
        );
    }
    text
}

/// Writes the new count into the run: first `final.json` goes (the run is no longer
/// finished), then the last checkpoint, which a later `--resume` reads its config from,
/// then the best one and `config.toml`, which [`super::resume`] accepts with another
/// `train.epochs` should a kill fall between these writes.
fn write_new_epochs(
    out: &Path,
    point: &mut ResumePoint,
    config: &Config,
    history: &str,
) -> Result<()> {
    let toml = config.to_toml_string()?;
    remove_if_present(&out.join(FINAL_FILE))?;
    point.checkpoint.config_toml = toml.clone();
    point
        .checkpoint
        .save_atomic(&out.join(LAST_CHECKPOINT))
        .context("writing the new train.epochs into the last checkpoint")?;
    let best_path = out.join(BEST_CHECKPOINT);
    if best_path.exists() {
        let mut best = Checkpoint::load(&best_path)?;
        best.config_toml = toml.clone();
        best.save_atomic(&best_path)
            .context("writing the new train.epochs into the best checkpoint")?;
    }
    let config_path = out.join(CONFIG_FILE);
    // Earlier changes of train.epochs stay on record above the config.
    let earlier: String = std::fs::read_to_string(&config_path)
        .unwrap_or_default()
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let text = format!("{earlier}{history}{toml}");
    crate::checkpoint::write_atomic(&config_path, text.as_bytes())?;
    Ok(())
}
