//! Learning-rate schedules (docs/math.md §10): cosine with linear warm-up (stepped per
//! iteration), multistep and exponential (per epoch), reduce-on-plateau (per epoch, on
//! a validation metric), or constant.
//!
//! A schedule maps each group's *base* rate to its current rate, `lr(base)`; the
//! optimiser applies it to every group ([`Optimizer::apply_schedule`]). For warm-up,
//! multistep and exponential this is a factor, `base·factor`, as PyTorch's `LambdaLR`;
//! the cosine's floor `eta_min` and the plateau's `min_lr` are absolute rates, as in
//! PyTorch's `CosineAnnealingLR` and `ReduceLROnPlateau`, so groups with different base
//! rates reach the same floor.
//!
//! The trainer's loop:
//!
//! ```text
//! opt.apply_schedule(&schedule)?;                 // before the first step
//! for each epoch {
//!     for each batch { ...; opt.step(..)?; schedule.on_iteration_end(); opt.apply_schedule(&schedule)?; }
//!     validate; schedule.on_epoch_end(Some(val_metric))?; opt.apply_schedule(&schedule)?;
//! }
//! ```
//!
//! [`Optimizer::apply_schedule`]: super::Optimizer::apply_schedule

use super::plateau::{PlateauConfig, PlateauState, ReduceOnPlateau};
use crate::error::{Error, Result};
use alloc::format;
use alloc::vec::Vec;
use core::f64::consts::PI;
use num_traits::Float;

/// What the schedule does with its counters.
#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Constant,
    WarmupCosine {
        warmup_iters: u64,
        total_iters: u64,
        eta_min: f64,
    },
    MultiStep {
        /// Sorted, repeats kept (a repeated milestone applies gamma twice, as PyTorch).
        milestones: Vec<u64>,
        gamma: f64,
    },
    Exponential {
        gamma: f64,
    },
    Plateau(ReduceOnPlateau),
}

/// A learning-rate schedule and its progress.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    kind: Kind,
    /// Iterations (optimiser steps) completed.
    iteration: u64,
    /// Epochs completed.
    epoch: u64,
}

/// A schedule's progress, as exported for checkpoints.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScheduleState {
    /// Iterations completed.
    pub iteration: u64,
    /// Epochs completed.
    pub epoch: u64,
    /// The counters of a reduce-on-plateau schedule; `None` for the others.
    pub plateau: Option<PlateauState>,
}

impl Schedule {
    fn with_kind(kind: Kind) -> Self {
        Schedule {
            kind,
            iteration: 0,
            epoch: 0,
        }
    }

    /// Every group keeps its base rate.
    pub fn constant() -> Self {
        Self::with_kind(Kind::Constant)
    }

    /// Linear warm-up then cosine decay, by iteration `t` (the number of optimiser steps
    /// done before the one that uses the rate), with `W = warmup_iters`,
    /// `N = total_iters` and `T = N − W`:
    ///
    /// ```text
    /// t < W:  lr = base · t / W                       (0 on the very first step)
    /// t ≥ W:  lr = eta_min + (base − eta_min) · (1 + cos(π · min(t − W, T) / T)) / 2
    /// ```
    ///
    /// so the rate is `base` at `t = W`, halfway between at `t = W + T/2`, and `eta_min`
    /// from `t = N` on (from `t = W` on when `T = 0`). The reference (PyTorch `LambdaLR`
    /// warm-up chained with `CosineAnnealingLR(T_max = N − W)`) also starts at 0 but
    /// takes W + 1 warm-up steps, peaking at `base·(W+1)/W`, and its cosine lags one
    /// iteration behind; this continuous form differs from it by at most `base/W`.
    pub fn warmup_cosine(warmup_iters: u64, total_iters: u64, eta_min: f64) -> Result<Self> {
        if !(eta_min.is_finite() && eta_min >= 0.0) {
            return Err(Error::bad_arg(
                "Schedule::warmup_cosine",
                format!("eta_min must be finite and >= 0, got {eta_min}"),
            ));
        }
        Ok(Self::with_kind(Kind::WarmupCosine {
            warmup_iters,
            total_iters,
            eta_min,
        }))
    }

    /// `base · gamma^k` after `k` milestones have passed, a milestone `m` passing when
    /// `m` epochs are complete (PyTorch's `MultiStepLR` stepped once per epoch).
    pub fn multistep(mut milestones: Vec<u64>, gamma: f64) -> Result<Self> {
        check_gamma("Schedule::multistep", gamma)?;
        milestones.sort_unstable();
        Ok(Self::with_kind(Kind::MultiStep { milestones, gamma }))
    }

    /// `base · gamma^e` after `e` complete epochs (PyTorch's `ExponentialLR`).
    pub fn exponential(gamma: f64) -> Result<Self> {
        check_gamma("Schedule::exponential", gamma)?;
        Ok(Self::with_kind(Kind::Exponential { gamma }))
    }

    /// Reduce-on-plateau on the metric given to [`Schedule::on_epoch_end`].
    pub fn reduce_on_plateau(config: PlateauConfig) -> Result<Self> {
        Ok(Self::with_kind(Kind::Plateau(ReduceOnPlateau::new(
            config,
        )?)))
    }

    /// A short name for logs: "constant", "cosine", "multistep", "exponential", "plateau".
    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::Constant => "constant",
            Kind::WarmupCosine { .. } => "cosine",
            Kind::MultiStep { .. } => "multistep",
            Kind::Exponential { .. } => "exponential",
            Kind::Plateau(_) => "plateau",
        }
    }

    /// Iterations completed.
    pub fn iteration(&self) -> u64 {
        self.iteration
    }

    /// Epochs completed.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Call after every optimiser step.
    pub fn on_iteration_end(&mut self) {
        self.iteration += 1;
    }

    /// Call after every epoch, with the validation metric (accuracy for mode max, loss for
    /// mode min). Reduce-on-plateau needs it and reports its absence as an error; the
    /// other schedules ignore it. A NaN metric counts as no improvement.
    pub fn on_epoch_end(&mut self, metric: Option<f64>) -> Result<()> {
        if let Kind::Plateau(p) = &mut self.kind {
            let Some(m) = metric else {
                return Err(Error::bad_arg(
                    "Schedule::on_epoch_end",
                    "reduce-on-plateau needs the epoch's validation metric",
                ));
            };
            p.observe(m);
        }
        self.epoch += 1;
        Ok(())
    }

    /// The current rate of a group whose base rate is `base`.
    pub fn lr(&self, base: f64) -> f64 {
        match &self.kind {
            Kind::Constant => base,
            Kind::WarmupCosine {
                warmup_iters,
                total_iters,
                eta_min,
            } => warmup_cosine_lr(base, self.iteration, *warmup_iters, *total_iters, *eta_min),
            Kind::MultiStep { milestones, gamma } => {
                let passed = milestones.iter().filter(|&&m| m <= self.epoch).count();
                base * Float::powi(*gamma, clamp_i32(passed as u64))
            }
            Kind::Exponential { gamma } => base * Float::powi(*gamma, clamp_i32(self.epoch)),
            Kind::Plateau(p) => p.lr(base),
        }
    }

    /// The schedule's progress, for a checkpoint.
    pub fn export_state(&self) -> ScheduleState {
        ScheduleState {
            iteration: self.iteration,
            epoch: self.epoch,
            plateau: match &self.kind {
                Kind::Plateau(p) => Some(p.state),
                _ => None,
            },
        }
    }

    /// Restores progress exported by a schedule of the same kind. Plateau state must be
    /// present exactly for a reduce-on-plateau schedule.
    pub fn import_state(&mut self, state: &ScheduleState) -> Result<()> {
        match (&mut self.kind, state.plateau) {
            (Kind::Plateau(p), Some(ps)) => p.state = ps,
            (Kind::Plateau(_), None) => {
                return Err(Error::bad_arg(
                    "Schedule::import_state",
                    "the state has no reduce-on-plateau counters but this schedule is reduce-on-plateau",
                ))
            }
            (_, Some(_)) => {
                return Err(Error::bad_arg(
                    "Schedule::import_state",
                    format!(
                        "the state has reduce-on-plateau counters but this schedule is {:?}",
                        self.name()
                    ),
                ))
            }
            (_, None) => {}
        }
        self.iteration = state.iteration;
        self.epoch = state.epoch;
        Ok(())
    }
}

/// The warm-up + cosine formula of [`Schedule::warmup_cosine`].
fn warmup_cosine_lr(base: f64, t: u64, warmup: u64, total: u64, eta_min: f64) -> f64 {
    if t < warmup {
        return base * t as f64 / warmup as f64;
    }
    let span = total.saturating_sub(warmup);
    let progress = if span == 0 {
        1.0
    } else {
        (t - warmup).min(span) as f64 / span as f64
    };
    eta_min + (base - eta_min) * (1.0 + Float::cos(PI * progress)) / 2.0
}

fn check_gamma(op: &'static str, gamma: f64) -> Result<()> {
    if !(gamma.is_finite() && gamma > 0.0) {
        return Err(Error::bad_arg(
            op,
            format!("gamma must be finite and > 0, got {gamma}"),
        ));
    }
    Ok(())
}

/// An exponent for `powi`; beyond i32::MAX the power has long under- or overflowed.
fn clamp_i32(n: u64) -> i32 {
    n.min(i32::MAX as u64) as i32
}
