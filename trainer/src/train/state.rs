//! What a checkpoint holds of a run, and putting it back.
//!
//! Tensors: every parameter under its model name (`lift.kernel_net.layers.0.weight`,
//! ...), every batch-norm running statistic (`<norm>.running_mean`, `.running_var`),
//! and the optimiser's slots (`optim.<position>.exp_avg`, ...). Metadata: the epoch
//! count, the global iteration, the best validation result, the training generator's
//! state, the schedule's state, the batch norms' `num_batches_tracked`, the position
//! inside an unfinished epoch (a run stopped by Ctrl-C) with that epoch's running sums,
//! and the run's `--max-steps`.

use crate::checkpoint::Checkpoint;
use crate::common::{restore_model, store_model};
use anyhow::{Context, Result};
use pgcnn_core::layers::LayerParams;
use pgcnn_core::models::Model;
use pgcnn_core::rng::Rng;
use pgcnn_core::{Backend, Optimizer, Schedule};

/// Progress of a run that is not in the model or the optimiser.
#[derive(Clone, Debug, PartialEq)]
pub struct RunProgress {
    /// Epochs finished.
    pub epoch: usize,
    /// Training iterations finished.
    pub iteration: u64,
    /// Best validation accuracy so far, its loss and epoch (0: none yet).
    pub best_val_acc: f64,
    pub best_val_loss: f64,
    pub best_epoch: usize,
    /// Epochs since the best one (early stopping).
    pub epochs_without_improvement: usize,
    /// Seconds trained so far, over all sessions.
    pub seconds: f64,
    /// The generator that draws every training step's randomness.
    pub rng: Rng,
    /// The epoch in progress: steps done and running sums (zero between epochs).
    pub partial_epoch: PartialEpoch,
    /// `--max-steps` of the run (iterations per epoch cap); a resumed run keeps it.
    pub max_steps: Option<usize>,
}

/// How far an unfinished epoch got: its first `steps` steps are in the weights, and the
/// sums of their losses and accuracies (weighted by batch size) give the epoch's
/// training figures (which can drive a plateau schedule), so they are saved exactly.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PartialEpoch {
    /// Steps of the epoch done.
    pub steps: usize,
    /// Sum over those steps of loss × batch size.
    pub loss_sum: f64,
    /// Sum over those steps of accuracy × batch size.
    pub correct: f64,
    /// Images seen.
    pub seen: usize,
}

/// Builds a checkpoint of the whole run.
pub fn snapshot<B: Backend>(
    config_toml: &str,
    model: &Model<B, f32>,
    optimizer: &Optimizer<B, f32>,
    schedule: &Schedule,
    progress: &RunProgress,
) -> Result<Checkpoint> {
    let mut ck = Checkpoint::new(config_toml);
    store_model(&mut ck, model)?;
    let state = optimizer.export_state(model.params())?;
    ck.put_optimizer_state(&state)?;
    ck.put_schedule_state(&schedule.export_state());
    ck.set_u64("run.epoch", progress.epoch as u64);
    ck.set_u64("run.iteration", progress.iteration);
    ck.set_f64("run.best_val_acc", progress.best_val_acc);
    ck.set_f64("run.best_val_loss", progress.best_val_loss);
    ck.set_u64("run.best_epoch", progress.best_epoch as u64);
    ck.set_u64(
        "run.epochs_without_improvement",
        progress.epochs_without_improvement as u64,
    );
    ck.set_f64("run.seconds", progress.seconds);
    ck.set_rng("run.rng", &progress.rng);
    let part = &progress.partial_epoch;
    ck.set_u64("run.epoch_steps", part.steps as u64);
    ck.set_f64("run.epoch_loss_sum", part.loss_sum);
    ck.set_f64("run.epoch_correct", part.correct);
    ck.set_u64("run.epoch_seen", part.seen as u64);
    if let Some(m) = progress.max_steps {
        ck.set_u64("run.max_steps", m as u64);
    }
    Ok(ck)
}

/// Restores everything [`snapshot`] stored into a freshly built model, optimiser and
/// schedule; returns the run's progress.
pub fn restore<B: Backend>(
    ck: &Checkpoint,
    backend: &B,
    model: &mut Model<B, f32>,
    optimizer: &mut Optimizer<B, f32>,
    schedule: &mut Schedule,
) -> Result<RunProgress> {
    restore_model(ck, model)?;
    let state = ck.optimizer_state(backend)?;
    optimizer
        .import_state(model.params(), &state)
        .context("restoring the optimiser state")?;
    schedule
        .import_state(&ck.schedule_state()?)
        .context("restoring the schedule")?;
    optimizer.apply_schedule(schedule)?;
    read_progress(ck)
}

/// The counters [`snapshot`] stored, without touching a model. Checkpoints written
/// before mid-epoch stops existed have no `run.epoch_*` entries: they are read as a
/// finished epoch.
pub fn read_progress(ck: &Checkpoint) -> Result<RunProgress> {
    let partial_epoch = if ck.metadata.contains_key("run.epoch_steps") {
        PartialEpoch {
            steps: to_usize(ck.u64("run.epoch_steps")?)?,
            loss_sum: ck.f64("run.epoch_loss_sum")?,
            correct: ck.f64("run.epoch_correct")?,
            seen: to_usize(ck.u64("run.epoch_seen")?)?,
        }
    } else {
        PartialEpoch::default()
    };
    let max_steps = if ck.metadata.contains_key("run.max_steps") {
        Some(to_usize(ck.u64("run.max_steps")?)?)
    } else {
        None
    };
    Ok(RunProgress {
        epoch: to_usize(ck.u64("run.epoch")?)?,
        iteration: ck.u64("run.iteration")?,
        best_val_acc: ck.f64("run.best_val_acc")?,
        best_val_loss: ck.f64("run.best_val_loss")?,
        best_epoch: to_usize(ck.u64("run.best_epoch")?)?,
        epochs_without_improvement: to_usize(ck.u64("run.epochs_without_improvement")?)?,
        seconds: ck.f64("run.seconds")?,
        rng: ck.rng("run.rng")?,
        partial_epoch,
        max_steps,
    })
}

fn to_usize(v: u64) -> Result<usize> {
    usize::try_from(v).with_context(|| format!("the checkpoint's counter {v} is too large"))
}
