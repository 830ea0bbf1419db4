//! `pgcnn eval`: the accuracy of a checkpoint's model on a dataset split and, under
//! rotated and mirrored inputs, its accuracy and the invariance error of its logits —
//! the paper's analysis of how much equivariance a partial network kept.
//!
//! The checkpoint holds the run's config; it says how to build the model and which
//! dataset it was trained on (`--dataset` evaluates on another one of the same image
//! shape and class count). Transformations follow docs/math.md §2 (see [`crate::evaluation::transforms`]).
//!
//! ```no_run
//! use pgcnn::eval::{eval, EvalOptions, Split, Transform};
//! let report = eval(EvalOptions {
//!     transforms: pgcnn::eval::transform_list(&[0.0, 90.0, 45.0], true),
//!     ..EvalOptions::new("runs/demo/best.safetensors")
//! })?;
//! println!("{}", report.table());
//! # Ok::<(), anyhow::Error>(())
//! ```

mod args;
mod report;
mod run;

pub use crate::evaluation::transforms::{
    equally_spaced, parse_rotations, transform_list, Transform,
};
pub use crate::evaluation::{relative_error, Measurements, TransformEvaluation};
pub use args::{eval_command, EvalArgs, OutputFormat};
pub use report::{EvalReport, CONVENTION};
pub use run::{eval, EvalOptions, Split};
