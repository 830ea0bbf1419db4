//! `pgcnn train`: everything of docs/math.md §10 — Adam or SGD with three parameter groups,
//! the learning-rate schedules, the Gumbel temperature schedule, the monotonic and
//! weight-decay penalties, gradient clipping, the best model chosen on validation
//! accuracy (ties broken by loss), its test accuracy at the end — with metrics,
//! checkpoints and resumption.
//!
//! Resumption is exact: on the CPU backend, with the same thread count, a run stopped
//! at any moment (killed, or stopped by Ctrl-C) and continued with `--resume` ends with
//! the same weights, bit for bit, as a run never stopped. What makes it so:
//!
//! - a checkpoint holds everything later steps read: parameters, batch-norm running
//!   statistics and counts, optimiser slots and step counts, the schedule's position,
//!   the training generator's state, the global iteration (Gumbel temperature), the best
//!   result so far, and, after a Ctrl-C, the steps done in the unfinished epoch with its
//!   running sums;
//! - the batch order of an epoch comes from [`crate::data::epoch_rng`]`(seed, epoch)`,
//!   not from a generator carried across epochs, and evaluation draws from generators
//!   seeded afresh, so a repeated epoch or skipped steps see the same batches;
//! - checkpoints are replaced atomically (temporary file, fsync, rename) at the start
//!   (the initial state), after every epoch, and on Ctrl-C; a kill loses at most the work
//!   since the last one, which the resumed run repeats identically.
//!
//! A run is never lost to another: a new run does not write into a directory that holds
//! one unless asked (`run_dir.rs`), one process at a time writes a run directory
//! (`lock.rs`), and `--resume DIR --epochs N` continues a finished run, bit-identical to
//! an N-epoch run where its schedules allow (`extend.rs`; docs/runs.md).

mod checkpointing;
mod evaluate;
mod extend;
mod files;
mod interrupt;
mod lock;
mod resume;
mod run;
mod run_dir;
mod setup;
mod state;

pub use evaluate::{evaluate, Evaluation};
pub use interrupt::{
    install_interrupt_handler, request_stop, stop_requested, Interrupted, SAME_REQUEST,
};
pub use lock::{RunDirInUse, LOCK_FILE};
pub use resume::{check_same_run, first_non_finite, open_resume, ResumePoint};
pub use run::{train, Start, TrainOptions, TrainedRun};
pub use run_dir::{holds_run, ExistingRun};
pub use setup::{build_optimizer, build_schedule};
pub use state::{read_progress, restore, snapshot, PartialEpoch, RunProgress};

pub use files::{BEST_CHECKPOINT, CONFIG_FILE, LAST_CHECKPOINT};
