//! The dataset a config names, loaded.

use crate::config::Config;
use crate::data::{self, DataParams, DatasetName, Splits};
use anyhow::{anyhow, Context, Result};
use std::path::Path;

/// Loads the dataset the config names, from `data_dir` or the embedded digits.
pub fn load_data(config: &Config, data_dir: Option<&Path>) -> Result<Splits> {
    let name: DatasetName = config
        .dataset
        .as_str()
        .parse()
        .map_err(|e| anyhow!("dataset {}: {e}", config.dataset.as_str()))?;
    let p = &config.dataset_params;
    let params = DataParams {
        rot_interval: p.rot_interval,
        val_fraction: p.val_fraction,
        test_fraction: p.test_fraction,
        cifar100_coarse: p.cifar100_coarse,
        normalize: p.normalize,
    };
    data::load(name, data_dir, &params, config.seed)
        .with_context(|| format!("loading dataset {}", config.dataset.as_str()))
}
