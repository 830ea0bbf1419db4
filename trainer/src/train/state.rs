//! What a checkpoint holds of a run, and putting it back.
//!
//! Tensors: every parameter under its model name (`lift.kernel_net.layers.0.weight`,
//! ...), every batch-norm running statistic (`<norm>.running_mean`, `.running_var`),
//! and the optimiser's slots (`optim.<position>.exp_avg`, ...). Metadata: the epoch
//! count, the global iteration, the best validation result, the training generator's
//! state, the schedule's state and the batch norms' `num_batches_tracked`.

use crate::checkpoint::Checkpoint;
use anyhow::{Context, Result};
use pgcnn_core::layers::LayerParams;
use pgcnn_core::models::{BufferValue, Model};
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
    let names = model.param_names();
    ck.put_params(names.iter().zip(model.params()))?;
    for (name, value) in model.buffers() {
        match value {
            BufferValue::Tensor(t) => ck.put_tensor(&name, &t)?,
            BufferValue::Count(c) => ck.set_u64(&format!("buffer.{name}"), c),
        }
    }
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
    Ok(ck)
}

/// Loads the model's parameters and buffers from a checkpoint (every shape is checked
/// before anything changes).
pub fn restore_model<B: Backend>(ck: &Checkpoint, model: &mut Model<B, f32>) -> Result<()> {
    let names = model.param_names();
    ck.load_params(names.iter().zip(model.params_mut()))
        .context("restoring the parameters")?;
    for (name, value) in model.buffers() {
        let restored = match value {
            BufferValue::Tensor(t) => {
                let backend = t.backend().clone();
                BufferValue::Tensor(ck.load_tensor::<B>(&backend, &name, Some(t.dims()))?)
            }
            BufferValue::Count(_) => BufferValue::Count(ck.u64(&format!("buffer.{name}"))?),
        };
        model
            .set_buffer(&name, restored)
            .with_context(|| format!("restoring buffer {name}"))?;
    }
    Ok(())
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
    Ok(RunProgress {
        epoch: ck.u64("run.epoch")? as usize,
        iteration: ck.u64("run.iteration")?,
        best_val_acc: ck.f64("run.best_val_acc")?,
        best_val_loss: ck.f64("run.best_val_loss")?,
        best_epoch: ck.u64("run.best_epoch")? as usize,
        epochs_without_improvement: ck.u64("run.epochs_without_improvement")? as usize,
        seconds: ck.f64("run.seconds")?,
        rng: ck.rng("run.rng")?,
    })
}
