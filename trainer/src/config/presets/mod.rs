//! Named configs: the reference's experiments (its EXPERIMENTS.md), the benchmark
//! configs of docs/benchmarks.md, and two demos that train in minutes on 2 cores.
//!
//! A preset is a list of `key=value` settings applied to the default config with
//! [`Config::apply_override`], like the reference's command lines applied to its
//! `config.yaml`; the lists are written so they read side by side with those commands.
//! Keys of the reference that pgcnn does not take (`no_workers`, `train.do`, `debug`) are
//! left out, and the reference's T(2) baselines (`SE2` with one deterministic sample) are
//! written `base_group.name=T2`.

mod bench;
mod reference;

use std::fmt::Write as _;

use super::error::ConfigError;
use super::schema::Config;
use super::suggest::closest_names;

/// A named config.
#[derive(Clone, Copy, Debug)]
pub struct Preset {
    /// The name `--preset` takes.
    pub name: &'static str,
    /// One line: what it trains.
    pub summary: &'static str,
    /// Groups of space-separated `key=value` settings, applied in order to the default.
    settings: &'static [&'static str],
    /// The parameter count of the reference implementation's model for this config,
    /// where docs/benchmarks.md lists it.
    pub reference_params: Option<usize>,
}

impl Preset {
    /// The settings, one `key=value` each, in the order they are applied.
    pub fn settings(&self) -> impl Iterator<Item = &'static str> {
        self.settings
            .iter()
            .flat_map(|group| group.split_whitespace())
    }

    /// The preset's config: the default with the settings applied, validated.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        for setting in self.settings() {
            config.apply_override(setting)?;
        }
        config.validate()?;
        Ok(config)
    }
}

/// Every preset: the demos first, then the benchmark configs, then the reference's
/// experiments.
pub fn presets() -> &'static [Preset] {
    static ALL: std::sync::OnceLock<Vec<Preset>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = Vec::new();
        all.extend_from_slice(bench::DEMOS);
        all.extend_from_slice(bench::BENCHMARKS);
        all.extend_from_slice(reference::EXPERIMENTS);
        all
    })
}

/// A name reduced for matching: lower case, `_` and `-` alike.
fn normalize(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('_', "-")
}

/// The preset called `name` (case and `-`/`_` ignored); an unknown name is an error
/// suggesting the closest ones.
pub fn preset(name: &str) -> Result<&'static Preset, ConfigError> {
    let wanted = normalize(name);
    if let Some(p) = presets().iter().find(|p| normalize(p.name) == wanted) {
        return Ok(p);
    }
    let names: Vec<&str> = presets().iter().map(|p| p.name).collect();
    Err(ConfigError::UnknownPreset {
        name: name.to_string(),
        suggestions: closest_names(&wanted, &names),
    })
}

/// The listing for `pgcnn presets`: one line per preset, name then summary.
pub fn presets_table() -> String {
    let width = presets().iter().map(|p| p.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for p in presets() {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{:width$}  {}", p.name, p.summary);
    }
    out
}

/// Builds the config a run uses: the preset (or the default), then the TOML file, then
/// the `--set` overrides in order, then validation.
pub fn build_config<S: AsRef<str>>(
    preset_name: Option<&str>,
    file: Option<&std::path::Path>,
    overrides: &[S],
) -> Result<Config, ConfigError> {
    let mut config = match preset_name {
        Some(name) => preset(name)?.config()?,
        None => Config::default(),
    };
    if let Some(path) = file {
        config = config.merge_file(path)?;
    }
    config.apply_overrides(overrides)?;
    config.validate()?;
    Ok(config)
}
