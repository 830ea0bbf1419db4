//! The trainer's checkpoint bookkeeping: resuming from a checkpoint, writing the last
//! and best ones (never a state that holds NaN), and the messages of a run that stops
//! (on an error or a signal) saying where its last good state is.

use super::interrupt::Interrupted;
use super::resume::first_non_finite;
use super::run::Trainer;
use super::state::{restore, snapshot};
use super::{BEST_CHECKPOINT, LAST_CHECKPOINT};
use crate::checkpoint::Checkpoint;
use anyhow::{bail, Context, Result};
use pgcnn_core::Backend;
use std::time::Instant;

impl<B: Backend> Trainer<B> {
    /// Puts a checkpoint's state into the freshly built trainer, after checking that its
    /// position fits this run.
    pub(super) fn resume(&mut self, ck: &Checkpoint) -> Result<()> {
        self.progress = restore(
            ck,
            &self.backend,
            &mut self.model,
            &mut self.optimizer,
            &mut self.schedule,
        )
        .context("resuming from the last checkpoint")?;
        let p = &self.progress;
        let steps = p.partial_epoch.steps;
        if steps > self.iters_per_epoch || (steps > 0 && p.epoch >= self.config.train.epochs) {
            bail!(
                "the checkpoint is at step {steps} of epoch {}, but the run has {} epochs of \
                 {} steps",
                p.epoch + 1,
                self.config.train.epochs,
                self.iters_per_epoch
            );
        }
        self.last_saved = if steps > 0 {
            eprintln!("resuming at epoch {}, step {steps}", p.epoch + 1);
            format!("epoch {}, step {steps}", p.epoch + 1)
        } else if p.epoch == 0 {
            eprintln!("resuming from the initial state");
            "the initial state".to_string()
        } else {
            eprintln!("resuming after epoch {}", p.epoch);
            format!("after epoch {}", p.epoch)
        };
        Ok(())
    }

    /// The run's state as a checkpoint, refused when it holds values no good run has
    /// ([`first_non_finite`]), so that the checkpoint on disk stays the last good one.
    pub(super) fn checked_snapshot(&self) -> Result<Checkpoint> {
        let ck = snapshot(
            &self.config_toml,
            &self.model,
            &self.optimizer,
            &self.schedule,
            &self.progress,
        )?;
        if let Some(name) = first_non_finite(&ck) {
            bail!(
                "tensor {name} holds NaN or infinite values (the training diverged), so it \
                 was not saved"
            );
        }
        Ok(ck)
    }

    /// Writes `ck` to `last.safetensors` (first to `best.safetensors` when `best`);
    /// `what` describes the state for later messages.
    pub(super) fn write_checkpoint(
        &mut self,
        ck: &Checkpoint,
        what: &str,
        best: bool,
    ) -> Result<()> {
        let out = &self.opts.out;
        if best {
            ck.save_atomic(&out.join(BEST_CHECKPOINT))?;
        }
        ck.save_atomic(&out.join(LAST_CHECKPOINT))?;
        self.last_saved = what.to_string();
        Ok(())
    }

    pub(super) fn save_last(&mut self, what: &str) -> Result<()> {
        let ck = self.checked_snapshot()?;
        self.write_checkpoint(&ck, what, false)
    }

    /// The context of an error that stops training at `place`.
    pub(super) fn stopped_at(&self, place: &str) -> String {
        format!(
            "training stopped at {place}; the last good checkpoint is {} ({})",
            self.opts.out.join(LAST_CHECKPOINT).display(),
            self.last_saved
        )
    }

    /// Ends the run on a stop request at `what` (a place in the epoch that started at
    /// `epoch_started`): adds the epoch's time so far, saves the position, and returns
    /// the error that says how to resume ([`Interrupted`]).
    pub(super) fn stop_on_request(&mut self, epoch_started: Instant, what: &str) -> anyhow::Error {
        self.progress.seconds += epoch_started.elapsed().as_secs_f64();
        match self.save_last(what) {
            Ok(()) => self.interrupted().into(),
            Err(e) => e.context(format!("saving the checkpoint at {what}")),
        }
    }

    /// The error of a run stopped by a signal, its state saved.
    pub(super) fn interrupted(&self) -> Interrupted {
        Interrupted {
            out: self.opts.out.clone(),
            epoch: self.progress.epoch + 1,
            step: self.progress.partial_epoch.steps,
            steps: self.iters_per_epoch,
        }
    }
}
