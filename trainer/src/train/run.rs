//! The training loop.

use super::evaluate::{evaluate, Evaluation};
use super::extend::change_epochs;
use super::files::{BEST_CHECKPOINT, CONFIG_FILE, LAST_CHECKPOINT};
use super::interrupt::stop_requested;
use super::lock::lock;
use super::resume::{check_same_run, no_checkpoint, open_resume};
use super::run_dir::{claim_new_run, remove_if_present, ExistingRun};
use super::setup::{build_optimizer, build_schedule};
use super::state::{PartialEpoch, RunProgress};
use crate::checkpoint::{write_atomic, Checkpoint};
use crate::common::{batches_bar, eval_seed, load_data, restore_model, INIT_STREAM, STEP_STREAM};
use crate::config::Config;
use crate::data::{epoch_rng, Batch, Splits};
use crate::device::{with_backend, BackendTask, Device, DeviceSpec};
use crate::evaluation::{Draws, Plan, Stopped};
use crate::metrics::{EpochMetrics, FinalSummary, LayerPartial, MetricsLog, FINAL_FILE};
use crate::model_config::model_config;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use pgcnn_core::group::TemperatureSchedule;
use pgcnn_core::layers::{ForwardCtx, LayerParams};
use pgcnn_core::models::Model;
use pgcnn_core::rng::Rng;
use pgcnn_core::{clip_grad_norm, Backend, Tensor};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Everything `pgcnn train` needs, resolved from flags.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// The validated config (preset, file and `--set` overrides applied).
    pub config: Config,
    /// The run directory (metrics, checkpoints, final.json).
    pub out: PathBuf,
    /// A new run, or the run in `out` continued.
    pub start: Start,
    /// Where datasets live (`None`: the embedded digits for the MNIST family).
    pub data_dir: Option<PathBuf>,
    pub device: DeviceSpec,
    /// Stop each epoch after this many iterations (quick checks; `None`: whole epochs).
    pub max_steps: Option<usize>,
    /// Draw a progress bar (stderr, only when it is a terminal).
    pub progress: bool,
    /// A new run starts from this checkpoint's weights and batch-norm statistics
    /// (fine-tuning; `--init-from`) instead of a fresh initialisation.
    pub init_from: Option<Checkpoint>,
}

/// How a training run starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// A new run with [`TrainOptions::config`]; what to do when its directory already
    /// holds a run.
    New(ExistingRun),
    /// Continue the run in [`TrainOptions::out`] from its last checkpoint, with its own
    /// config (`config` is not used), and, when `epochs` is given, up to that many
    /// epochs in all (docs/runs.md).
    Resume { epochs: Option<usize> },
}

/// What a finished run returns.
#[derive(Clone, Debug)]
pub struct TrainedRun {
    /// The run directory: [`TrainOptions::out`], or the free one chosen instead
    /// ([`ExistingRun::NextFree`]).
    pub out: PathBuf,
    /// What `final.json` holds.
    pub summary: FinalSummary,
}

/// Trains as `opts` says and returns the summary written to `final.json`.
///
/// The run directory is locked for the whole run (`lock.rs`): a directory that another
/// process is writing is an error naming that process.
///
/// A stop asked for by a signal ([`super::install_interrupt_handler`]) or
/// [`super::request_stop`] ends the run after the current step with a checkpoint and
/// returns an error that downcasts to [`Interrupted`](super::Interrupted).
pub fn train(mut opts: TrainOptions) -> Result<TrainedRun> {
    let mut config = opts.config.clone();
    let mut resume_from = None;
    // Held until the run ends; the operating system lets go of it if the process dies.
    let _lock = match opts.start {
        Start::Resume { epochs } => {
            // Checked before locking, so that a mistyped directory gets no lock file.
            if !opts.out.join(LAST_CHECKPOINT).exists() {
                return Err(no_checkpoint(&opts.out));
            }
            let lock = lock(&opts.out)?;
            let mut point = open_resume(&opts.out, opts.max_steps)?;
            if let Some(epochs) = epochs {
                change_epochs(&opts.out, &mut point, epochs)?;
            }
            // A resumed run continues with the config and steps per epoch it started with.
            config = point.config;
            opts.max_steps = point.max_steps;
            resume_from = Some(point.checkpoint);
            lock
        }
        Start::New(existing) => {
            let claimed = claim_new_run(&opts.out, existing)?;
            opts.out = claimed.dir;
            claimed.lock
        }
    };
    let splits = load_data(&config, opts.data_dir.as_deref())?;
    let device = Device::open(opts.device)?;
    eprintln!(
        "pgcnn train: {} on {} ({} train / {} val / {} test images), {}",
        config.dataset.as_str(),
        device.describe(),
        splits.train.len(),
        splits.val.len(),
        splits.test.len(),
        opts.out.display()
    );
    let out = opts.out.clone();
    let summary = with_backend(
        device,
        TrainTask {
            opts,
            config,
            splits,
            resume_from,
        },
    )?;
    Ok(TrainedRun { out, summary })
}

struct TrainTask {
    opts: TrainOptions,
    config: Config,
    splits: Splits,
    resume_from: Option<Checkpoint>,
}

impl BackendTask for TrainTask {
    type Output = FinalSummary;
    fn run<B: Backend>(self, backend: B, _device: &str) -> Result<FinalSummary> {
        Trainer::new(backend, self.opts, self.config, self.splits)?.run(self.resume_from)
    }
}

pub(super) struct Trainer<B: Backend> {
    pub(super) backend: B,
    pub(super) opts: TrainOptions,
    pub(super) config: Config,
    pub(super) config_toml: String,
    /// Shared, so that an epoch's batch iterator does not borrow the trainer.
    pub(super) splits: Arc<Splits>,
    pub(super) model: Model<B, f32>,
    pub(super) optimizer: pgcnn_core::Optimizer<B, f32>,
    pub(super) schedule: pgcnn_core::Schedule,
    pub(super) temperature: TemperatureSchedule,
    pub(super) iters_per_epoch: usize,
    /// The draws of the validation and test evaluations.
    pub(super) draws: Draws,
    pub(super) progress: RunProgress,
    /// What the checkpoint on disk holds ("the initial state", "epoch 2", ...), for the
    /// message of a run that stops on an error.
    pub(super) last_saved: String,
}

/// One training step's figures.
struct StepResult {
    loss: f64,
    accuracy: f64,
    images: usize,
}

impl<B: Backend> Trainer<B> {
    fn new(backend: B, opts: TrainOptions, config: Config, splits: Splits) -> Result<Self> {
        let train = &splits.train;
        let mcfg = model_config(
            &config,
            train.channels,
            train.classes,
            [train.height, train.width],
        )?;
        let seed = config.seed;
        let mut model = Model::<B, f32>::new(&backend, &mcfg, &mut Rng::seed(seed ^ INIT_STREAM))
            .context("building the model")?;
        if let Some(ck) = &opts.init_from {
            restore_model(ck, &mut model).context(
                "--init-from: the checkpoint does not fit the model this config describes",
            )?;
        }
        let optimizer = build_optimizer(&config, &model)?;
        let batches = train.len().div_ceil(config.train.batch_size).max(1);
        let iters_per_epoch = opts.max_steps.map_or(batches, |m| m.clamp(1, batches));
        let schedule = build_schedule(&config, iters_per_epoch)?;
        let total_iters = iters_per_epoch * config.train.epochs;
        let temperature = TemperatureSchedule {
            init: config.base_group.gumbel_init_temp,
            end: config.base_group.gumbel_end_temp,
            iterations: total_iters,
        };
        let config_toml = config.to_toml_string()?;
        let max_steps = opts.max_steps;
        let t = &config.train;
        let draws = Draws::resolve(t.eval_draws, t.eval_mode, model.draws_in_evaluation());
        Ok(Trainer {
            backend,
            opts,
            config,
            config_toml,
            splits: Arc::new(splits),
            model,
            optimizer,
            schedule,
            temperature,
            iters_per_epoch,
            draws,
            progress: RunProgress {
                epoch: 0,
                iteration: 0,
                best_val_acc: f64::NEG_INFINITY,
                best_val_loss: f64::INFINITY,
                best_epoch: 0,
                epochs_without_improvement: 0,
                seconds: 0.0,
                rng: Rng::seed(seed ^ STEP_STREAM),
                partial_epoch: PartialEpoch::default(),
                max_steps,
            },
            last_saved: "none".to_string(),
        })
    }

    fn run(mut self, resume_from: Option<Checkpoint>) -> Result<FinalSummary> {
        let out = self.opts.out.clone();
        std::fs::create_dir_all(&out)
            .with_context(|| format!("creating the run directory {}", out.display()))?;
        let mut log = if let Some(ck) = resume_from {
            self.resume(&ck)?;
            MetricsLog::resume(&out, self.progress.epoch)?.0
        } else {
            // The directory holds no run, or one that --overwrite replaces: its best model
            // must not stand in for this run's, nor its summary for this run's.
            remove_if_present(&out.join(BEST_CHECKPOINT))?;
            remove_if_present(&out.join(FINAL_FILE))?;
            write_atomic(&out.join(CONFIG_FILE), self.config_toml.as_bytes())?;
            let log = MetricsLog::create(&out)?;
            // The initial state, so that a run killed in its first epoch can be resumed.
            self.save_last("the initial state")?;
            log
        };
        eprintln!(
            "model: {} parameters; {} epochs of {} iterations, batch {}; evaluation: {}",
            self.model.num_params(),
            self.config.train.epochs,
            self.iters_per_epoch,
            self.config.train.batch_size,
            self.draws.describe()
        );
        self.optimizer.apply_schedule(&self.schedule)?;
        while self.progress.epoch < self.config.train.epochs {
            // Before an epoch rather than after one, so that a run resumed (or continued
            // with --epochs) after its early stop stops too, as it did.
            let patience = self.config.train.max_epochs_no_improvement;
            if patience > 0 && self.progress.epochs_without_improvement >= patience {
                eprintln!("stopping early: no better validation accuracy for {patience} epochs");
                break;
            }
            if stop_requested() {
                return Err(self.interrupted().into());
            }
            let record = self.train_epoch()?;
            let epoch = record.epoch;
            self.end_epoch(&record, &mut log)
                .with_context(|| self.stopped_at(&format!("the end of epoch {epoch}")))?;
        }
        self.finish(&out)
    }

    /// Trains one epoch, or what is left of it after a stop inside it, and evaluates on
    /// the validation split. On a stop request, saves the position inside the epoch and
    /// returns [`Interrupted`](super::Interrupted).
    fn train_epoch(&mut self) -> Result<EpochMetrics> {
        let started = Instant::now();
        let epoch = self.progress.epoch + 1;
        let t = self.config.train.clone();
        let mut order_rng = epoch_rng(self.config.seed, epoch as u64);
        let splits = Arc::clone(&self.splits);
        let batches = splits
            .train
            .shuffled_batches(t.batch_size, &mut order_rng)?;
        let bar = self.progress_bar(epoch);
        let first = self.progress.partial_epoch.steps;
        bar.set_position(first as u64);
        let (mut images_now, mut seconds_now) = (0usize, 0.0f64);
        // The order depends on the epoch only, so the steps done before a stop are
        // skipped and the rest run as they would have.
        for (step, batch) in batches.take(self.iters_per_epoch).enumerate().skip(first) {
            let step_started = Instant::now();
            let r = self.train_step(&batch).with_context(|| {
                self.stopped_at(&format!(
                    "epoch {epoch}, step {} of {}",
                    step + 1,
                    self.iters_per_epoch
                ))
            })?;
            let part = &mut self.progress.partial_epoch;
            part.steps = step + 1;
            part.loss_sum += r.loss * r.images as f64;
            part.correct += r.accuracy * r.images as f64;
            part.seen += r.images;
            images_now += r.images;
            seconds_now += step_started.elapsed().as_secs_f64();
            bar.set_message(format!(
                "loss {:.4}  acc {:.2}%  {:.0} img/s",
                part.loss_sum / part.seen as f64,
                100.0 * part.correct / part.seen as f64,
                images_now as f64 / seconds_now.max(1e-9)
            ));
            bar.inc(1);
            if stop_requested() {
                bar.finish_and_clear();
                let what = format!("epoch {epoch}, step {}", step + 1);
                return Err(self.stop_on_request(started, &what));
            }
        }
        bar.finish_and_clear();
        let val = match self.evaluate_split(false) {
            Ok(val) => val,
            // A stop during the validation: the steps are all done and saved as such, so
            // a resumed run starts with this validation.
            Err(e) if e.is::<Stopped>() => {
                let what = format!("epoch {epoch}, before its validation");
                return Err(self.stop_on_request(started, &what));
            }
            Err(e) => {
                return Err(e.context(self.stopped_at(&format!("the validation of epoch {epoch}"))))
            }
        };
        let part = std::mem::take(&mut self.progress.partial_epoch);
        let seen = part.seen.max(1) as f64;
        let (train_loss, train_acc) = (part.loss_sum / seen, part.correct / seen);
        let val_metric = if val.images > 0 {
            Some(val.accuracy)
        } else {
            None
        };
        self.schedule.on_epoch_end(val_metric.or(Some(train_acc)))?;
        self.optimizer.apply_schedule(&self.schedule)?;
        self.progress.epoch = epoch;
        self.update_best(epoch, &val, train_acc, train_loss);
        let seconds = started.elapsed().as_secs_f64();
        self.progress.seconds += seconds;
        Ok(EpochMetrics {
            epoch,
            lr: self.optimizer.current_lrs()[0],
            train_loss,
            train_acc,
            val_loss: (val.images > 0).then_some(val.loss),
            val_acc: (val.images > 0).then_some(val.accuracy),
            val_draw_acc_mean: (val.images > 0).then_some(val.draw_accuracy.mean),
            val_draw_acc_std: (val.images > 0).then_some(val.draw_accuracy.std),
            seconds,
            images_per_second: images_now as f64 / seconds_now.max(1e-9),
            partial: Vec::new(),
        })
    }

    /// One optimisation step on one batch.
    fn train_step(&mut self, batch: &Batch) -> Result<StepResult> {
        let t = &self.config.train;
        let x = Tensor::from_slice(&self.backend, &batch.images, batch.shape.to_vec())?;
        let tau = self
            .temperature
            .temperature(self.progress.iteration as usize);
        let mut ctx = ForwardCtx::train(self.progress.rng.fork(), tau);
        if t.weight_decay > 0.0 {
            ctx = ctx.collecting_kernel_norms();
        }
        let logits = self.model.forward(&x, &mut ctx)?;
        let mut loss = logits.cross_entropy(&batch.labels)?;
        if t.monotonic_decay_loss > 0.0 {
            loss = loss.add(&self.model.monotonic_loss(t.monotonic_decay_loss)?)?;
        }
        if t.weight_decay > 0.0 {
            loss = loss.add(&self.model.weight_decay_penalty(&ctx, t.weight_decay)?)?;
        }
        let loss_value = loss.to_scalar()? as f64;
        if !loss_value.is_finite() {
            bail!(
                "the loss became {loss_value}: the training diverged (a lower train.lr or \
                 train.gradient_clip may help)"
            );
        }
        let accuracy = logits.accuracy(&batch.labels)?;
        let mut grads = loss.backward()?;
        if t.gradient_clip > 0.0 {
            clip_grad_norm(&mut grads, t.gradient_clip)?;
        }
        self.optimizer.step(self.model.params_mut(), &grads)?;
        self.schedule.on_iteration_end();
        self.optimizer.apply_schedule(&self.schedule)?;
        self.progress.iteration += 1;
        Ok(StepResult {
            loss: loss_value,
            accuracy,
            images: batch.labels.len(),
        })
    }

    /// After an epoch: the θ report, the metrics line, the checkpoints. A state that
    /// cannot be saved ([`Self::checked_snapshot`]) stops the run before the metrics line
    /// is logged, so the log and the last checkpoint stay in step.
    fn end_epoch(&mut self, record: &EpochMetrics, log: &mut MetricsLog) -> Result<()> {
        let mut record = record.clone();
        record.partial = self.partial_report()?;
        eprintln!("{}", describe_epoch(&record, self.config.train.epochs));
        let ck = self.checked_snapshot()?;
        log.append(&record)?;
        let best = self.progress.best_epoch == record.epoch;
        self.write_checkpoint(&ck, &format!("after epoch {}", record.epoch), best)
    }

    /// The best model is the one with the highest validation accuracy, ties broken by
    /// the lower validation loss; without a validation split, the training figures.
    fn update_best(&mut self, epoch: usize, val: &Evaluation, train_acc: f64, train_loss: f64) {
        let (acc, loss) = if val.images > 0 {
            (val.accuracy, val.loss)
        } else {
            (train_acc, train_loss)
        };
        let p = &mut self.progress;
        let better = acc > p.best_val_acc || (acc == p.best_val_acc && loss < p.best_val_loss);
        if better {
            p.best_val_acc = acc;
            p.best_val_loss = loss;
            p.best_epoch = epoch;
            p.epochs_without_improvement = 0;
        } else {
            p.epochs_without_improvement += 1;
        }
    }

    fn evaluate_split(&mut self, test: bool) -> Result<Evaluation> {
        let data = if test {
            &self.splits.test
        } else {
            &self.splits.val
        };
        let batch_size = self.config.train.batch_size;
        let plan = Plan {
            transforms: &[],
            batch_size,
            seed: eval_seed(self.config.seed, test),
            draws: self.draws,
        };
        let bar = batches_bar(
            self.opts.progress && !data.is_empty(),
            data.len().div_ceil(batch_size),
            if test { "test" } else { "validation" },
        );
        // The validation stops on Ctrl-C like the steps; the final test evaluation, the
        // last thing a finished run does, runs to its end.
        let stop: &dyn Fn() -> bool = if test { &|| false } else { &stop_requested };
        let result = evaluate(&self.backend, &self.model, data, &plan, &bar, stop);
        bar.finish_and_clear();
        result
    }

    fn partial_report(&self) -> Result<Vec<LayerPartial>> {
        Ok(self
            .model
            .partial_reports()?
            .into_iter()
            .map(|(layer, r)| {
                let mut keep_probs = r.rotation_keep.clone();
                keep_probs.extend(r.mirror_keep);
                LayerPartial {
                    layer,
                    theta: r.theta,
                    keep_probs,
                }
            })
            .collect())
    }

    fn progress_bar(&self, epoch: usize) -> ProgressBar {
        if !self.opts.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(self.iters_per_epoch as u64);
        bar.set_style(
            ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg} ({eta})")
                .expect("the template is a valid constant")
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("{epoch}/{}", self.config.train.epochs));
        bar
    }

    /// Loads the best checkpoint, measures its test accuracy and writes final.json.
    fn finish(&mut self, out: &Path) -> Result<FinalSummary> {
        let best_path = out.join(BEST_CHECKPOINT);
        if best_path.exists() {
            let best = Checkpoint::load(&best_path)?;
            check_same_run(&best, &self.config_toml)
                .with_context(|| format!("{} does not belong to this run", best_path.display()))?;
            restore_model(&best, &mut self.model)
                .with_context(|| format!("loading {}", best_path.display()))?;
        }
        let test = self.evaluate_split(true)?;
        let summary = FinalSummary {
            test_acc: test.accuracy,
            test_loss: Some(test.loss),
            test_draw_acc_mean: Some(test.draw_accuracy.mean),
            test_draw_acc_std: Some(test.draw_accuracy.std),
            eval_draws: Some(self.draws.count),
            eval_mode: Some(self.draws.mode.as_str().to_string()),
            best_val_acc: self.progress.best_val_acc,
            best_epoch: self.progress.best_epoch,
            epochs: self.progress.epoch,
            seconds: Some(self.progress.seconds),
            partial: self.partial_report()?,
        };
        let path = summary.write(out)?;
        let spread = if self.draws.count > 1 {
            format!(
                ", {}; single draws {:.2} ± {:.2}%",
                self.draws.describe(),
                100.0 * test.draw_accuracy.mean,
                100.0 * test.draw_accuracy.std
            )
        } else {
            String::new()
        };
        eprintln!(
            "test accuracy of the best model (epoch {}): {:.2}%{spread}  (best validation \
             {:.2}%); {}",
            summary.best_epoch,
            100.0 * summary.test_acc,
            100.0 * summary.best_val_acc,
            path.display()
        );
        Ok(summary)
    }
}

fn describe_epoch(m: &EpochMetrics, epochs: usize) -> String {
    let mut s = format!(
        "epoch {}/{}: train loss {:.4} acc {:.2}%",
        m.epoch,
        epochs,
        m.train_loss,
        100.0 * m.train_acc
    );
    if let (Some(l), Some(a)) = (m.val_loss, m.val_acc) {
        s += &format!(", val loss {l:.4} acc {:.2}%", 100.0 * a);
        if let (Some(mean), Some(std)) = (m.val_draw_acc_mean, m.val_draw_acc_std) {
            if std > 0.0 || mean != a {
                s += &format!(" (single draws {:.2} ± {:.2}%)", 100.0 * mean, 100.0 * std);
            }
        }
    }
    s += &format!(", {:.1} s, {:.0} img/s", m.seconds, m.images_per_second);
    let thetas: Vec<String> = m
        .partial
        .iter()
        .filter_map(|p| p.theta.map(|t| format!("{t:.2}")))
        .collect();
    if !thetas.is_empty() {
        s += &format!(", θ [{}]", thetas.join(", "));
    }
    s
}
