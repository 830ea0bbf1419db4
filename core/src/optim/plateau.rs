//! Reduce-on-plateau: lower the learning rate when a validation metric stops improving,
//! as `torch.optim.lr_scheduler.ReduceLROnPlateau`.

use crate::error::{Error, Result};
use alloc::format;

/// Whether a larger or a smaller metric is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlateauMode {
    /// Lower is better (a loss).
    Min,
    /// Higher is better (an accuracy).
    Max,
}

/// How `threshold` defines a significant improvement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThresholdMode {
    /// Better than `best·(1 ∓ threshold)` (PyTorch's default, `rel`).
    Rel,
    /// Better than `best ∓ threshold`.
    Abs,
}

/// The settings of a reduce-on-plateau schedule (PyTorch's names and meanings).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlateauConfig {
    pub mode: PlateauMode,
    /// Each reduction multiplies the learning rate by this, in (0, 1).
    pub factor: f64,
    /// How many epochs without improvement are tolerated; the rate drops on the next.
    pub patience: u64,
    /// How much better a metric must be to count as an improvement.
    pub threshold: f64,
    pub threshold_mode: ThresholdMode,
    /// Epochs after a reduction during which bad epochs are not counted.
    pub cooldown: u64,
    /// No group's rate is lowered below this (one that starts below stays where it is).
    pub min_lr: f64,
    /// A reduction smaller than this is not applied.
    pub eps: f64,
}

impl PlateauConfig {
    /// PyTorch's defaults: factor 0.1, patience 10, threshold 1e-4 (relative),
    /// cooldown 0, min_lr 0, eps 1e-8.
    pub fn new(mode: PlateauMode) -> Self {
        PlateauConfig {
            mode,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let op = "ReduceOnPlateau";
        if !(self.factor > 0.0 && self.factor < 1.0) {
            return Err(Error::bad_arg(
                op,
                format!("factor must lie in (0, 1), got {}", self.factor),
            ));
        }
        for (name, v) in [
            ("threshold", self.threshold),
            ("min_lr", self.min_lr),
            ("eps", self.eps),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::bad_arg(
                    op,
                    format!("{name} must be finite and >= 0, got {v}"),
                ));
            }
        }
        Ok(())
    }
}

/// The counters of a reduce-on-plateau schedule, as exported for checkpoints.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlateauState {
    /// The best metric so far (±infinity before the first epoch).
    pub best: f64,
    /// Epochs since the last improvement (reset by a reduction and during cooldown).
    pub num_bad_epochs: u64,
    /// Epochs of cooldown left.
    pub cooldown_counter: u64,
    /// How many reductions have happened.
    pub reductions: u64,
}

/// The schedule itself: settings plus counters.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ReduceOnPlateau {
    pub(crate) config: PlateauConfig,
    pub(crate) state: PlateauState,
}

impl ReduceOnPlateau {
    pub(crate) fn new(config: PlateauConfig) -> Result<Self> {
        config.validate()?;
        let best = match config.mode {
            PlateauMode::Min => f64::INFINITY,
            PlateauMode::Max => f64::NEG_INFINITY,
        };
        Ok(ReduceOnPlateau {
            config,
            state: PlateauState {
                best,
                num_bad_epochs: 0,
                cooldown_counter: 0,
                reductions: 0,
            },
        })
    }

    /// Whether `metric` improves on `best` by more than the threshold. NaN never does.
    fn is_better(&self, metric: f64, best: f64) -> bool {
        let t = self.config.threshold;
        match (self.config.mode, self.config.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => metric < best * (1.0 - t),
            (PlateauMode::Min, ThresholdMode::Abs) => metric < best - t,
            (PlateauMode::Max, ThresholdMode::Rel) => metric > best * (1.0 + t),
            (PlateauMode::Max, ThresholdMode::Abs) => metric > best + t,
        }
    }

    /// One epoch's metric, in PyTorch's order: improvement check, cooldown, reduction.
    pub(crate) fn observe(&mut self, metric: f64) {
        let better = self.is_better(metric, self.state.best);
        let s = &mut self.state;
        if better {
            s.best = metric;
            s.num_bad_epochs = 0;
        } else {
            s.num_bad_epochs += 1;
        }
        if s.cooldown_counter > 0 {
            s.cooldown_counter -= 1;
            s.num_bad_epochs = 0;
        }
        if s.num_bad_epochs > self.config.patience {
            s.reductions += 1;
            s.cooldown_counter = self.config.cooldown;
            s.num_bad_epochs = 0;
        }
    }

    /// The rate of a group with base rate `base` after the reductions so far: each one
    /// is `max(lr·factor, min_lr)`, applied only when it lowers the rate by more than
    /// eps. Replaying them one by one reproduces PyTorch's rounding and its eps rule.
    pub(crate) fn lr(&self, base: f64) -> f64 {
        let mut lr = base;
        for _ in 0..self.state.reductions {
            let new = (lr * self.config.factor).max(self.config.min_lr);
            if lr - new > self.config.eps {
                lr = new;
            } else {
                // Once a reduction is too small to apply, every later one is too.
                break;
            }
        }
        lr
    }
}
