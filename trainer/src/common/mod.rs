//! What `pgcnn train` and `pgcnn eval` share, below both: the seed streams, loading the
//! data a config names, restoring a model from a checkpoint, and the evaluation's
//! progress bar. (The measurement itself is [`crate::evaluation`].)

mod data;
mod progress;
mod restore;
mod streams;

pub use data::load_data;
pub use progress::batches_bar;
pub use restore::{restore_model, store_model};
pub use streams::{eval_seed, INIT_STREAM, STEP_STREAM};
