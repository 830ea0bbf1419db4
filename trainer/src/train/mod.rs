//! `pgcnn train`: everything of SPEC §10 — Adam or SGD with three parameter groups,
//! the learning-rate schedules, the Gumbel temperature schedule, the monotonic and
//! weight-decay penalties, gradient clipping, the best model chosen on validation
//! accuracy (ties broken by loss), its test accuracy at the end — with metrics,
//! checkpoints and resumption.

mod evaluate;
mod run;
mod setup;
mod state;

pub use evaluate::{evaluate, Evaluation};
pub use run::{train, TrainOptions};
/// The seed streams `pgcnn eval` shares, so that it reproduces the run's figures.
pub(crate) use run::{EVAL_STREAM, INIT_STREAM};
pub use setup::{build_optimizer, build_schedule, load_data};
pub use state::{restore, restore_model, snapshot, RunProgress};

/// File names inside a run directory.
pub const LAST_CHECKPOINT: &str = "last.safetensors";
pub const BEST_CHECKPOINT: &str = "best.safetensors";
/// The config of the run, as TOML (also stored in every checkpoint's header).
pub const CONFIG_FILE: &str = "config.toml";
