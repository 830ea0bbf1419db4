//! The names of the files a run directory holds (besides the metrics files of
//! [`crate::metrics`] and the lock of `lock.rs`).

/// The checkpoint of the latest state, replaced after every epoch.
pub const LAST_CHECKPOINT: &str = "last.safetensors";
/// The checkpoint of the best model so far (best validation accuracy).
pub const BEST_CHECKPOINT: &str = "best.safetensors";
/// The config of the run, as TOML (also stored in every checkpoint's header).
pub const CONFIG_FILE: &str = "config.toml";
