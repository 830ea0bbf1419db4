//! Evaluating a checkpoint: its config, the data, the model, the measurement.

use super::report::EvalReport;
use crate::checkpoint::Checkpoint;
use crate::common::{batches_bar, eval_seed, load_data, restore_model, INIT_STREAM};
use crate::config::{Config, Dataset as DatasetChoice, EvalMode, MAX_EVAL_DRAWS};
use crate::data::{Dataset, Splits};
use crate::device::{with_backend, BackendTask, Device, DeviceSpec};
use crate::evaluation::transforms::Transform;
use crate::evaluation::{measure, Draws, Measurements, Plan};
use crate::model_config::model_config;
use anyhow::{anyhow, bail, Context, Result};
use pgcnn_core::models::Model;
use pgcnn_core::rng::Rng;
use pgcnn_core::Backend;
use std::path::PathBuf;

/// Which part of the dataset to evaluate on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Split {
    Test,
    Val,
    Train,
}

impl Split {
    /// The name the `--split` flag takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Test => "test",
            Split::Val => "val",
            Split::Train => "train",
        }
    }

    fn pick(self, splits: Splits) -> Dataset {
        match self {
            Split::Test => splits.test,
            Split::Val => splits.val,
            Split::Train => splits.train,
        }
    }
}

/// Everything `pgcnn eval` needs, resolved from flags.
#[derive(Clone, Debug)]
pub struct EvalOptions {
    /// The checkpoint (`best.safetensors` or `last.safetensors` of a run).
    pub checkpoint: PathBuf,
    /// Evaluate on this dataset (a config spelling, e.g. `MNIST6-180`) instead of the
    /// config's.
    pub dataset: Option<String>,
    /// Where datasets are read from (`None`: the embedded digits for the MNIST family).
    pub data_dir: Option<PathBuf>,
    pub split: Split,
    /// The transformations of the inputs, each reported on its own.
    pub transforms: Vec<Transform>,
    pub device: DeviceSpec,
    /// Images per forward pass (`None`: the config's `train.batch_size`).
    pub batch_size: Option<usize>,
    /// Seed of the group-element draws (`None`: the one the training run used for this
    /// split, so that the untransformed test accuracy of `best.safetensors` is the
    /// `test_acc` of final.json).
    pub seed: Option<u64>,
    /// Draws averaged per image (`None`: the config's `train.eval_draws`, as the
    /// training run evaluated).
    pub draws: Option<usize>,
    /// Sampled or most likely (`None`: the config's `train.eval_mode`).
    pub mode: Option<EvalMode>,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

impl EvalOptions {
    /// The test split of the config's dataset, untransformed, on the best device.
    pub fn new(checkpoint: impl Into<PathBuf>) -> Self {
        EvalOptions {
            checkpoint: checkpoint.into(),
            dataset: None,
            data_dir: None,
            split: Split::Test,
            transforms: vec![Transform::IDENTITY],
            device: DeviceSpec::default(),
            batch_size: None,
            seed: None,
            draws: None,
            mode: None,
            progress: false,
        }
    }
}

/// Loads the checkpoint, its config, the data and the model, and measures.
pub fn eval(opts: EvalOptions) -> Result<EvalReport> {
    let path = &opts.checkpoint;
    // The checkpoint error's message already names its cause; the chain would repeat it.
    let ck = Checkpoint::load(path).map_err(|e| anyhow!("--checkpoint {}: {e}", path.display()))?;
    let config = Config::from_toml_str(&ck.config_toml)
        .with_context(|| format!("the config stored in {}", path.display()))?;
    let mut data_config = config.clone();
    if let Some(name) = &opts.dataset {
        data_config.dataset = name
            .parse::<DatasetChoice>()
            .map_err(|e| anyhow!("--dataset: {e}"))?;
    }
    let dataset = data_config.dataset.as_str().to_string();
    // Checked before loading (the declared shape) and after (the loaded one).
    let wanted = data_config.dataset;
    let [c, h, w] = wanted.image_shape();
    let classes = wanted.classes(data_config.dataset_params.cifar100_coarse);
    check_fit(&config, [c, classes, h, w], &dataset)?;
    let splits = load_data(&data_config, opts.data_dir.as_deref())?;
    let data = opts.split.pick(splits);
    let loaded = [data.channels, data.classes, data.height, data.width];
    let model_shape = check_fit(&config, loaded, &dataset)?;
    if data.is_empty() {
        bail!(
            "the {} split of {dataset} is empty (see dataset_params.val_fraction); \
             choose another with --split",
            opts.split.as_str()
        );
    }
    if opts.transforms.is_empty() {
        bail!("no transformations to evaluate");
    }
    let batch_size = opts.batch_size.unwrap_or(config.train.batch_size);
    if batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let requested_draws = opts.draws.unwrap_or(config.train.eval_draws);
    let mode = opts.mode.unwrap_or(config.train.eval_mode);
    check_draws(opts.draws, mode)?;
    // The training run evaluates the test split with this seed, the validation split
    // with the one below it (train/run.rs).
    let seed = opts
        .seed
        .unwrap_or_else(|| eval_seed(config.seed, opts.split == Split::Test));
    let device = Device::open(opts.device)?;
    let device_name = device.describe();
    eprintln!(
        "pgcnn eval: {} on {dataset} {} ({} images), {device_name}, {} transformation(s)",
        path.display(),
        opts.split.as_str(),
        data.len(),
        opts.transforms.len()
    );
    let (measurements, other) = with_backend(
        device,
        EvalTask {
            ck: &ck,
            config: &config,
            model_shape,
            data: &data,
            opts: &opts,
            batch_size,
            seed,
            requested_draws,
            mode,
        },
    )?;
    Ok(EvalReport {
        checkpoint: path.display().to_string(),
        dataset,
        split: opts.split.as_str().into(),
        device: device_name,
        batch_size,
        seed,
        measurements,
        other,
    })
}

/// `--eval-draws` must be a count a most-likely evaluation can honour.
fn check_draws(draws: Option<usize>, mode: EvalMode) -> Result<()> {
    match draws {
        Some(0) => bail!("--eval-draws must be at least 1"),
        Some(k) if k > MAX_EVAL_DRAWS => {
            bail!("--eval-draws {k} is more than {MAX_EVAL_DRAWS} (each draw is a full pass)")
        }
        Some(k) if k > 1 && mode == EvalMode::MostLikely => bail!(
            "--eval-draws {k} with --eval-mode most-likely: a most-likely evaluation draws \
             nothing, so every draw would be the same"
        ),
        _ => Ok(()),
    }
}

/// The model's `[channels, classes, H, W]` (from the dataset it was trained on), after
/// checking that the data's (`got`, same order) are the same.
fn check_fit(config: &Config, got: [usize; 4], dataset: &str) -> Result<[usize; 4]> {
    let trained = config.dataset;
    let [c, h, w] = trained.image_shape();
    let classes = trained.classes(config.dataset_params.cifar100_coarse);
    let [gc, gclasses, gh, gw] = got;
    if got != [c, classes, h, w] {
        bail!(
            "the model was trained on {} ({c}×{h}×{w} images, {classes} classes) and does not \
             fit {dataset} ({gc}×{gh}×{gw} images, {gclasses} classes); evaluate it on a \
             dataset of the same image shape and class count",
            trained.as_str(),
        );
    }
    Ok([c, classes, h, w])
}

struct EvalTask<'a> {
    ck: &'a Checkpoint,
    config: &'a Config,
    model_shape: [usize; 4],
    data: &'a Dataset,
    opts: &'a EvalOptions,
    batch_size: usize,
    seed: u64,
    requested_draws: usize,
    mode: EvalMode,
}

impl BackendTask for EvalTask<'_> {
    /// The evaluation in the mode asked for, and, for a model that draws at evaluation
    /// time, the one in the other mode.
    type Output = (Measurements, Option<Measurements>);
    fn run<B: Backend>(self, backend: B, _device: &str) -> Result<Self::Output> {
        let [c, classes, h, w] = self.model_shape;
        let mcfg = model_config(self.config, c, classes, [h, w])?;
        // The same initialisation as training, though every value is then restored.
        let mut rng = Rng::seed(self.config.seed ^ INIT_STREAM);
        let mut model = Model::<B, f32>::new(&backend, &mcfg, &mut rng)
            .context("building the model the checkpoint's config describes")?;
        restore_model(self.ck, &mut model).with_context(|| {
            format!(
                "{} does not hold the model its config describes",
                self.opts.checkpoint.display()
            )
        })?;
        let draws = Draws::resolve(self.requested_draws, self.mode, model.draws_in_evaluation());
        let mut runs = vec![draws];
        if model.draws_in_evaluation() {
            runs.push(draws.other(self.requested_draws));
        }
        let bar = batches_bar(
            self.opts.progress,
            self.data.len().div_ceil(self.batch_size) * runs.len(),
            "eval",
        );
        let mut results = Vec::new();
        for draws in runs {
            let plan = Plan {
                transforms: &self.opts.transforms,
                batch_size: self.batch_size,
                seed: self.seed,
                draws,
            };
            let m = measure(&backend, &model, self.data, &plan, &bar, &|| false);
            results.push(m.inspect_err(|_| bar.finish_and_clear())?);
        }
        bar.finish_and_clear();
        let mut results = results.into_iter();
        let first = results.next().expect("one evaluation at least");
        Ok((first, results.next()))
    }
}
