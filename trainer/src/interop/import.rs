//! `pgcnn import`: a model trained by the reference implementation (a state_dict saved
//! by `torch.save`) as a pgcnn checkpoint, which `pgcnn eval`, `pgcnn train --init-from`
//! (fine-tuning) and `pgcnn export` take like any other.

use super::load::{load_model, ReferenceTensor, ReferenceTensors};
use super::torch_pt::read_state_dict;
use crate::checkpoint::Checkpoint;
use crate::common::{store_model, INIT_STREAM};
use crate::config::{build_config, Config};
use crate::model_config::model_config;
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use pgcnn_core::models::Model;
use pgcnn_core::rng::Rng;
use pgcnn_cpu::Cpu;
use std::path::{Path, PathBuf};

/// `pgcnn import` arguments.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The reference's saved model: `torch.save(model.state_dict(), FILE)` (its trainer's
    /// `saved/model.pt`), or a dict holding it under "model" (its `final_model.pt`).
    #[arg(value_name = "FILE")]
    pub model: PathBuf,
    /// The config the model was trained with, as a preset (see `pgcnn presets`)...
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// ... and/or a TOML file with the reference's keys (net.*, conv.*, kernel.*,
    /// base_group.*, dataset, ...), applied over the preset.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override one key, as the reference's Hydra command line would (e.g. --set
    /// net.no_hidden=32 --set base_group.name=E2); the value is TOML.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Where to write the pgcnn checkpoint. Default: FILE with the extension
    /// .safetensors.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write over --out if it exists.
    #[arg(long)]
    pub overwrite: bool,
}

/// What an import did, for the summary line and tests.
#[derive(Debug)]
pub struct Imported {
    /// The checkpoint written.
    pub out: PathBuf,
    /// The config stored in it.
    pub config: Config,
    /// How many reference tensors were read.
    pub tensors: usize,
    /// How many values the model's parameters hold.
    pub values: usize,
}

/// Runs `pgcnn import` and prints what it did.
pub fn import_command(args: ImportArgs) -> Result<()> {
    let done = import(&args)?;
    println!(
        "imported {} tensors ({} parameter values) from {} into {}\nevaluate it with: pgcnn eval --checkpoint {}",
        done.tensors,
        done.values,
        args.model.display(),
        done.out.display(),
        done.out.display()
    );
    Ok(())
}

/// Reads the reference's state_dict, builds the configured pgcnn model, fills it (every
/// name and shape checked, see [`load_model`]) and writes the checkpoint.
pub fn import(args: &ImportArgs) -> Result<Imported> {
    if args.preset.is_none() && args.config.is_none() && args.set.is_empty() {
        bail!(
            "say which model {} holds: --preset NAME (see `pgcnn presets`), --config FILE \
             or --set KEY=VALUE with the keys it was trained with",
            args.model.display()
        );
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.model.with_extension("safetensors"));
    if out == args.model {
        bail!("--out {} is the model being imported", out.display());
    }
    if out.exists() && !args.overwrite {
        bail!(
            "--out {} exists; choose another path or add --overwrite",
            out.display()
        );
    }
    let config = import_config(args)?;
    let dict = read_state_dict(&args.model)
        .map_err(|e| anyhow!("reading {}: {e}", args.model.display()))?;
    let tensors = ReferenceTensors::new(dict.iter().map(|t| {
        (
            t.name.clone(),
            ReferenceTensor {
                shape: t.shape.clone(),
                values: t.data.clone(),
            },
        )
    }));
    let [c, h, w] = config.dataset.image_shape();
    let classes = config
        .dataset
        .classes(config.dataset_params.cifar100_coarse);
    let mcfg = model_config(&config, c, classes, [h, w])?;
    let mut model = Model::<Cpu, f32>::new(&Cpu, &mcfg, &mut Rng::seed(config.seed ^ INIT_STREAM))
        .context("building the configured model")?;
    load_model(&mut model, &config, &tensors).with_context(|| {
        format!(
            "{} does not fit the configured {} model",
            args.model.display(),
            config.net.net_type.as_str()
        )
    })?;
    let values = pgcnn_core::layers::LayerParams::num_params(&model);
    let mut ck = Checkpoint::new(config.to_toml_string()?);
    store_model(&mut ck, &model)?;
    ck.metadata
        .insert("imported_from".into(), file_name(&args.model));
    ck.save_atomic(&out)
        .map_err(|e| anyhow!("writing {}: {e}", out.display()))?;
    Ok(Imported {
        out,
        config,
        tensors: dict.len(),
        values,
    })
}

/// The configured model, with the reference's keep probabilities for a partial one
/// (its weights were trained with them) unless the config says otherwise.
fn import_config(args: &ImportArgs) -> Result<Config> {
    let mut overrides = args.set.clone();
    let keep_given = overrides.iter().any(|s| {
        s.trim_start()
            .starts_with("base_group.reference_keep_probs")
    });
    if !keep_given {
        overrides.push("base_group.reference_keep_probs=true".into());
    }
    build_config(args.preset.as_deref(), args.config.as_deref(), &overrides)
        .map_err(|e| anyhow!("{e}"))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
