//! `pgcnn export`: a checkpoint's model, restored on the CPU, written as ONNX.

use super::metadata::{LayerElements, Provenance};
use super::onnx::export_onnx;
use crate::checkpoint::{write_atomic, Checkpoint};
use crate::common::{restore_model, INIT_STREAM};
use crate::config::Config;
use crate::data::DatasetName;
use crate::model_config::model_config;
use crate::train::BEST_CHECKPOINT;
use anyhow::{anyhow, bail, Context, Result};
use pgcnn_core::models::Model;
use pgcnn_core::rng::Rng;
use pgcnn_cpu::Cpu;
use std::path::{Path, PathBuf};

/// What to export, and where to.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// A checkpoint file, or a run directory (its `best.safetensors`).
    pub source: PathBuf,
    /// The ONNX file to write (replaced atomically if it exists).
    pub onnx: PathBuf,
}

/// What was written.
#[derive(Clone, Debug)]
pub struct ExportSummary {
    /// The checkpoint exported.
    pub checkpoint: PathBuf,
    /// The file written.
    pub onnx: PathBuf,
    /// Its size in bytes.
    pub bytes: usize,
    /// `CKResNet` or `GCNN`, and the group.
    pub net: String,
    /// The fixed elements of every convolution.
    pub layers: Vec<LayerElements>,
}

impl ExportSummary {
    /// A few lines for the terminal: the file, the model and every layer's elements.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "wrote {} ({} bytes): {} from {}, at the elements of the most-likely evaluation:\n",
            self.onnx.display(),
            self.bytes,
            self.net,
            self.checkpoint.display()
        );
        let width = self.layers.iter().map(|l| l.layer.len()).max().unwrap_or(0);
        for l in &self.layers {
            let elements: Vec<String> = l
                .rotations
                .iter()
                .zip(&l.mirrored)
                .map(|(r, &m)| format!("{:.1}°{}", r.to_degrees(), if m { "m" } else { "" }))
                .collect();
            s.push_str(&format!(
                "  {:width$}  {:>2}  {}\n",
                l.layer,
                l.len(),
                elements.join(" ")
            ));
        }
        s
    }
}

/// The checkpoint `source` names: the file itself, or a run directory's best one.
fn checkpoint_path(source: &Path) -> Result<PathBuf> {
    if source.is_dir() {
        let best = source.join(BEST_CHECKPOINT);
        if !best.is_file() {
            bail!(
                "{} holds no {BEST_CHECKPOINT} (a run writes it after its first epoch); name \
                 a checkpoint file instead, e.g. {}",
                source.display(),
                source.join("last.safetensors").display()
            );
        }
        return Ok(best);
    }
    if !source.exists() {
        bail!(
            "{} does not exist (give a run directory or a checkpoint file)",
            source.display()
        );
    }
    Ok(source.to_path_buf())
}

/// Refuses an output path that cannot be written before any work is done.
fn check_output(onnx: &Path) -> Result<()> {
    if onnx.is_dir() {
        bail!(
            "--onnx {}: is a directory; name the file to write",
            onnx.display()
        );
    }
    let parent = onnx.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = parent {
        if !dir.is_dir() {
            bail!(
                "--onnx {}: the directory {} does not exist",
                onnx.display(),
                dir.display()
            );
        }
    }
    Ok(())
}

/// What the model's input is: the images as pgcnn's data loader gives them.
fn input_description(config: &Config) -> String {
    let [c, h, w] = config.dataset.image_shape();
    let mut s = format!(
        "images [batch, {c}, {h}, {w}], float32, rows top to bottom: pixels scaled to [0, 1]"
    );
    if config.dataset_params.normalize {
        if let Ok(name) = config.dataset.as_str().parse::<DatasetName>() {
            let (mean, std) = name.normalization();
            s.push_str(&format!(
                ", then normalised per channel as (x - mean[c]) / std[c] with mean {mean:?} \
                 and std {std:?} ({name}, as pgcnn's data loader does)"
            ));
        }
    }
    s
}

/// Loads the checkpoint, rebuilds its model on the CPU and writes it as ONNX.
pub fn export(opts: &ExportOptions) -> Result<ExportSummary> {
    check_output(&opts.onnx)?;
    let path = checkpoint_path(&opts.source)?;
    // The checkpoint error's message names the file and its cause; the chain would
    // repeat the cause.
    let ck = Checkpoint::load(&path).map_err(|e| anyhow!("{e}"))?;
    let config = Config::from_toml_str(&ck.config_toml)
        .with_context(|| format!("the config stored in {}", path.display()))?;
    let [c, h, w] = config.dataset.image_shape();
    let classes = config
        .dataset
        .classes(config.dataset_params.cifar100_coarse);
    let mcfg = model_config(&config, c, classes, [h, w])?;
    let backend = Cpu;
    // The same initialisation as training, though every value is then restored.
    let mut rng = Rng::seed(config.seed ^ INIT_STREAM);
    let mut model = Model::<Cpu, f32>::new(&backend, &mcfg, &mut rng)
        .context("building the model the checkpoint's config describes")?;
    restore_model(&ck, &mut model).with_context(|| {
        format!(
            "{} does not hold the model its config describes",
            path.display()
        )
    })?;
    let provenance = Provenance {
        checkpoint: Some(path.display().to_string()),
        config_toml: Some(ck.config_toml.clone()),
        input: input_description(&config),
    };
    let exported = export_onnx(&backend, &model, &provenance)
        .with_context(|| format!("exporting {}", path.display()))?;
    let bytes = exported.to_bytes();
    write_atomic(&opts.onnx, &bytes).map_err(|e| anyhow!("--onnx {}: {e}", opts.onnx.display()))?;
    Ok(ExportSummary {
        checkpoint: path,
        onnx: opts.onnx.clone(),
        bytes: bytes.len(),
        net: format!(
            "{} {}{}",
            if mcfg.net.is_ckresnet() {
                "CKResNet"
            } else {
                "GCNN"
            },
            mcfg.conv.group.name(),
            if mcfg.conv.partial { " partial" } else { "" }
        ),
        layers: exported.layers,
    })
}
