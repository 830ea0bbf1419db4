//! Turning a config into the pieces of a run: the optimiser with its three parameter
//! groups, and the learning-rate schedule (the data: [`crate::common::load_data`]).

use crate::config::{Config, Optimizer as OptimizerChoice, Scheduler};
use anyhow::Result;
use pgcnn_core::kernel::ParamRole;
use pgcnn_core::layers::LayerParams;
use pgcnn_core::models::Model;
use pgcnn_core::optim::{AdamConfig, Algorithm, PlateauConfig, PlateauMode, SgdConfig};
use pgcnn_core::{Backend, Optimizer, ParamGroup, Schedule};

/// Learning rate of a group: 0 in the config means "the same as train.lr"
/// (docs/math.md §10).
fn or_main(lr: f64, main: f64) -> f64 {
    if lr == 0.0 {
        main
    } else {
        lr
    }
}

/// The optimiser of docs/math.md §10: three parameter groups (everything else at
/// `train.lr`, θ / keep logits at `train.lr_probs`, a learned SIREN ω0 at
/// `train.lr_omega0`). `train.weight_decay` is not an L2 term of the optimiser but the
/// kernel-norm penalty added to the loss, as the reference does.
pub fn build_optimizer<B: Backend>(
    config: &Config,
    model: &Model<B, f32>,
) -> Result<Optimizer<B, f32>> {
    let t = &config.train;
    let mut main = Vec::new();
    let mut probs = Vec::new();
    let mut omega = Vec::new();
    for (p, role) in model.params().into_iter().zip(model.param_roles()) {
        match role {
            ParamRole::Main => main.push(p.id()),
            ParamRole::Probs => probs.push(p.id()),
            ParamRole::Omega0 => omega.push(p.id()),
        }
    }
    let groups = vec![
        ParamGroup::new("main", t.lr, main),
        ParamGroup::new("probs", or_main(t.lr_probs, t.lr), probs),
        ParamGroup::new("omega0", or_main(t.lr_omega0, t.lr), omega),
    ];
    let algorithm = match t.optimizer {
        OptimizerChoice::Adam => Algorithm::Adam(AdamConfig::default()),
        OptimizerChoice::Sgd => Algorithm::Sgd(SgdConfig {
            momentum: t.optimizer_params.momentum,
            dampening: 0.0,
            nesterov: t.optimizer_params.nesterov,
        }),
    };
    Ok(Optimizer::new(algorithm, groups)?)
}

/// The learning-rate schedule of `train.scheduler`, counting `iters_per_epoch`
/// iterations per epoch.
pub fn build_schedule(config: &Config, iters_per_epoch: usize) -> Result<Schedule> {
    let t = &config.train;
    let s = &t.scheduler_params;
    let ipe = iters_per_epoch as u64;
    let schedule = match t.scheduler {
        Scheduler::Constant => Schedule::constant(),
        Scheduler::Cosine => Schedule::warmup_cosine(
            s.warmup_epochs as u64 * ipe,
            t.epochs as u64 * ipe,
            s.eta_min,
        )?,
        Scheduler::MultiStep => Schedule::multistep(
            s.decay_steps.iter().map(|&e| e as u64).collect(),
            1.0 / s.decay_factor,
        )?,
        Scheduler::Exponential => Schedule::exponential(1.0 / s.decay_factor)?,
        Scheduler::Plateau => {
            let mut p = PlateauConfig::new(PlateauMode::Max);
            p.factor = 1.0 / s.decay_factor;
            p.patience = s.patience as u64;
            Schedule::reduce_on_plateau(p)?
        }
    };
    Ok(schedule)
}
