//! The configuration of a training run: the reference's keys (`net.*`, `conv.*`,
//! `kernel.*`, `base_group.*`, `train.*`, `dataset`, `dataset_params.*`, `seed`) plus a
//! few pgcnn adds, typed, with defaults, read from TOML files and `--set key=value`
//! overrides, validated, and written back as TOML; and the named presets.
//!
//! What the command line calls:
//!
//! - [`build_config`]`(preset, file, overrides)`: preset (or default) → file → overrides
//!   → [`Config::validate`]; every error says where (file and line, or the `--set`
//!   argument), which key, and what was wrong, and an unknown key comes with the closest
//!   valid ones.
//! - [`Config::to_toml_string`]: the full config as TOML (checkpoints, `presets --show`);
//!   [`Config::from_toml_str`] reads it back to an equal config.
//! - [`presets_table`] for `pgcnn presets`, [`preset`]`(name)` for one preset.
//!
//! A config file is partial TOML: keys it leaves out keep their values from the layer
//! below. Example:
//!
//! ```toml
//! dataset = "MNIST6-180"
//! [base_group]
//! name = "SE2"
//! no_samples = 4
//! [train]
//! lr = 1e-3
//! ```

mod choices;
mod error;
mod keys;
mod presets;
mod schema;
mod suggest;
mod toml_io;
mod validate;

pub use choices::{
    Dataset, EvalMode, GroupName, KernelActivation, KernelNorm, KernelType, NetType, NormType,
    Optimizer, Padding, SamplingMethod, Scheduler, UnknownChoice,
};
pub use error::{ConfigError, Location, Problem};
pub use keys::valid_keys;
pub use presets::{build_config, preset, presets, presets_table, Preset};
pub use schema::{
    BaseGroup, Config, Conv, DatasetParams, Kernel, Net, OptimizerParams, SchedulerParams, Train,
};
pub use validate::{
    MAX_BATCH, MAX_BLOCKS, MAX_CHANNELS, MAX_EPOCHS, MAX_EVAL_DRAWS, MAX_KERNEL_LAYERS,
    MAX_KERNEL_SIZE, MAX_SAMPLES,
};
