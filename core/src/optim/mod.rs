//! Optimisers, parameter groups, gradient clipping and learning-rate schedules
//! (docs/math.md §10).
//!
//! - [`Optimizer`]: Adam ([`AdamConfig`]) or SGD ([`SgdConfig`]) with PyTorch's exact
//!   update rules, over [`ParamGroup`]s that each have a base learning rate and weight
//!   decay. Updates are composed from detached tensor ops, so they record no graph.
//! - [`OptimizerState`]: the per-parameter state keyed by position, for checkpoints.
//! - [`clip_grad_norm`]: clipping by global 2-norm, as `clip_grad_norm_`.
//! - [`Schedule`]: warm-up + cosine, multistep, exponential, reduce-on-plateau.
//!
//! ```
//! use pgcnn_core::optim::{AdamConfig, Optimizer, ParamGroup, Schedule};
//! use pgcnn_core::{reference::Reference, Param, Tensor};
//! let b = Reference;
//! let mut w = Param::new(Tensor::<_, f64>::from_slice(&b, &[1.0, -2.0], [2])?);
//! let groups = vec![ParamGroup::new("weights", 0.1, [w.id()])];
//! let mut opt = Optimizer::adam(groups, AdamConfig::default())?;
//! let mut schedule = Schedule::constant();
//! opt.apply_schedule(&schedule)?;
//! let grads = w.tensor().square()?.sum_all()?.backward()?;
//! opt.step([&mut w], &grads)?;
//! schedule.on_iteration_end();
//! // Adam's first step moves every element by lr against the gradient's sign.
//! let v = w.tensor().to_vec()?;
//! assert!((v[0] - 0.9).abs() < 1e-7 && (v[1] + 1.9).abs() < 1e-7);
//! # Ok::<(), pgcnn_core::Error>(())
//! ```

mod adam;
mod clip;
mod groups;
mod optimizer;
mod plateau;
mod schedule;
mod sgd;
mod state;

pub use adam::AdamConfig;
pub use clip::{clip_grad_norm, global_norm};
pub use groups::ParamGroup;
pub use optimizer::{Algorithm, Optimizer};
pub use plateau::{PlateauConfig, PlateauMode, PlateauState, ThresholdMode};
pub use schedule::{Schedule, ScheduleState};
pub use sgd::SgdConfig;
pub use state::{OptimizerState, ParamState};
