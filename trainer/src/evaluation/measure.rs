//! The measurement: one pass over a split, each batch run untransformed and under every
//! transformation, each of them as often as the evaluation draws, accumulating the
//! accuracy and loss of the averaged logits, the accuracy of every single draw, and the
//! logit invariance error.

use super::draws::Draws;
use super::transforms::Transform;
use crate::config::EvalMode;
use crate::data::Dataset;
use anyhow::{bail, Result};
use indicatif::ProgressBar;
use pgcnn_core::layers::ForwardCtx;
use pgcnn_core::models::Model;
use pgcnn_core::rng::Rng;
use pgcnn_core::{Backend, Tensor};

/// Below this norm a logit vector counts as zero in the relative error's denominator.
const MIN_NORM: f64 = 1e-12;

/// Mixed into the seeds of draws 2, 3, ...
const EXTRA_DRAWS_STREAM: u64 = 0xd2a5_0000_0000_0000;

/// The seed of draw `k` (from 0) of an evaluation seeded with `seed`: `seed` itself for
/// the first, so that a one-draw evaluation is the single-draw one; independent seeds
/// for the others. A K-draw evaluation makes exactly the passes of the K one-draw
/// evaluations seeded with `draw_seed(seed, 0..K)`, and averages their logits.
pub fn draw_seed(seed: u64, k: usize) -> u64 {
    if k == 0 {
        seed
    } else {
        Rng::seed(seed ^ EXTRA_DRAWS_STREAM ^ k as u64).next_u64()
    }
}

/// Mean and standard deviation of the accuracy of single draws.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// Mean over the draws of the fraction of images one draw classifies correctly.
    pub mean: f64,
    /// Their sample standard deviation (divisor K − 1; 0 for one draw).
    pub std: f64,
}

impl Spread {
    /// The spread of per-draw accuracies.
    pub fn of(accuracies: &[f64]) -> Spread {
        let k = accuracies.len();
        if k == 0 {
            return Spread {
                mean: f64::NAN,
                std: f64::NAN,
            };
        }
        let mean = accuracies.iter().sum::<f64>() / k as f64;
        let std = if k < 2 {
            0.0
        } else {
            let ss: f64 = accuracies.iter().map(|a| (a - mean) * (a - mean)).sum();
            (ss / (k - 1) as f64).sqrt()
        };
        Spread { mean, std }
    }
}

/// Accuracy, loss and invariance error under one transformation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TransformEvaluation {
    /// The transformation of the inputs.
    pub transform: Transform,
    /// Whether it moved pixels exactly (no interpolation).
    pub exact: bool,
    /// Fraction of transformed images the averaged logits classify correctly.
    pub accuracy: f64,
    /// Mean cross-entropy of the averaged logits on the transformed images.
    pub loss: f64,
    /// The accuracy of single draws on the transformed images.
    pub draw_accuracy: Spread,
    /// Mean over the images of ‖f(g·x) − f(x)‖₂ / ‖f(x)‖₂ (averaged logits).
    pub invariance_error_mean: f64,
    /// Its largest value over the images.
    pub invariance_error_max: f64,
}

/// What one pass measured: the untransformed figures and one entry per transformation.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurements {
    /// Images evaluated.
    pub images: usize,
    /// How the passes were made.
    pub draws: Draws,
    /// Accuracy of the averaged logits on the untransformed images.
    pub accuracy: f64,
    /// Mean cross-entropy of the averaged logits on the untransformed images.
    pub loss: f64,
    /// The accuracy of single draws on the untransformed images.
    pub draw_accuracy: Spread,
    /// One entry per transformation, in the order given.
    pub transforms: Vec<TransformEvaluation>,
}

/// Running sums of one transformation.
#[derive(Clone, Default)]
struct Sums {
    loss: f64,
    correct: f64,
    /// Correct images per draw.
    draw_correct: Vec<f64>,
    error: f64,
    error_max: f64,
}

impl Sums {
    fn new(draws: usize) -> Self {
        Sums {
            draw_correct: vec![0.0; draws],
            ..Sums::default()
        }
    }
    fn accuracies(&self, count: f64) -> Vec<f64> {
        self.draw_correct.iter().map(|c| c / count).collect()
    }
}

/// Why [`measure()`] gave up: its `stop` asked it to, before a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the evaluation was stopped on request")
    }
}

impl std::error::Error for Stopped {}

/// What to measure: the transformations, the batch size, the seed and the draws.
#[derive(Clone, Copy, Debug)]
pub struct Plan<'a> {
    /// Besides the untransformed images, each of these (the identity may be among them).
    pub transforms: &'a [Transform],
    /// Images per forward pass.
    pub batch_size: usize,
    /// The seed of every draw.
    pub seed: u64,
    /// How many draws, and how they are made.
    pub draws: Draws,
}

/// Evaluates `model` on `data` as `plan` says. `stop` is asked before each batch; when
/// it says yes the evaluation ends with the error [`Stopped`] (a training run stopping
/// on Ctrl-C does not wait for the rest of its validation). `bar` counts batches.
///
/// Randomness: draw k of batch b takes its group elements and keep decisions (where
/// the model draws them) from the b-th fork of `Rng::seed(draw_seed(seed, k))` (see
/// [`draw_seed`]); a one-draw evaluation is the reference's. Training's validation and
/// test and `pgcnn eval` all call this, so they report the same figures for the same
/// model, seed and draws. Every transformed pass
/// reuses its draw's generator: f(x) and f(g·x) see the same samples, and the invariance
/// error measures the network, not the sampling noise.
///
/// The draws are separate forward passes rather than one pass over a K-fold batch:
/// a partial layer's keep decisions are shared by its whole batch (its output has one
/// set of elements), so a single pass cannot hold K different decisions.
pub fn measure<B: Backend>(
    backend: &B,
    model: &Model<B, f32>,
    data: &Dataset,
    plan: &Plan<'_>,
    bar: &ProgressBar,
    stop: &dyn Fn() -> bool,
) -> Result<Measurements> {
    if data.is_empty() {
        bail!("there are no images to evaluate");
    }
    let draws = plan.draws;
    if draws.count == 0 {
        bail!("an evaluation needs at least one draw");
    }
    let k = draws.count;
    let shape = [data.channels, data.height, data.width];
    let norm = data.normalization.as_ref();
    let mut sources: Vec<Rng> = (0..k).map(|d| Rng::seed(draw_seed(plan.seed, d))).collect();
    // No graph: nothing is differentiated, and intermediates are freed as they die.
    let mut model = model.without_graph();
    let mut base = Sums::new(k);
    let mut sums = vec![Sums::new(k); plan.transforms.len()];
    for batch in data.batches(plan.batch_size)? {
        if stop() {
            return Err(Stopped.into());
        }
        let generators: Vec<Rng> = sources.iter_mut().map(Rng::fork).collect();
        let run = |model: &mut Model<B, f32>, images: &[f32], g: &Rng| -> Result<Tensor<B, f32>> {
            let x = Tensor::from_slice(backend, images, batch.shape.to_vec())?;
            let mut ctx = match draws.mode {
                EvalMode::Sample => ForwardCtx::eval(g.clone()),
                EvalMode::MostLikely => ForwardCtx::most_likely(g.clone()),
            };
            Ok(model.forward(&x, &mut ctx)?)
        };
        // Untransformed: every draw, and their mean.
        let mut per_draw = Vec::with_capacity(k);
        for g in &generators {
            per_draw.push(run(&mut model, &batch.images, g)?);
        }
        let logits = add_figures(&mut base, &per_draw, &batch.labels)?;
        let reference = logits.to_vec()?;
        for (t, s) in plan.transforms.iter().zip(&mut sums) {
            let moved_logits = if t.is_identity() {
                add_figures(s, &per_draw, &batch.labels)?
            } else {
                let moved = t.apply(&batch.images, shape, norm)?;
                let mut moved_draws = Vec::with_capacity(k);
                for g in &generators {
                    moved_draws.push(run(&mut model, &moved, g)?);
                }
                add_figures(s, &moved_draws, &batch.labels)?
            };
            let moved = moved_logits.to_vec()?;
            for (a, b) in reference
                .chunks(data.classes)
                .zip(moved.chunks(data.classes))
            {
                let e = relative_error(a, b);
                s.error += e;
                s.error_max = s.error_max.max(e);
            }
        }
        bar.inc(1);
    }
    let count = data.len() as f64;
    Ok(Measurements {
        images: data.len(),
        draws,
        accuracy: base.correct / count,
        loss: base.loss / count,
        draw_accuracy: Spread::of(&base.accuracies(count)),
        transforms: plan
            .transforms
            .iter()
            .zip(&sums)
            .map(|(t, s)| TransformEvaluation {
                transform: *t,
                exact: t.is_exact(data.height, data.width),
                accuracy: s.correct / count,
                loss: s.loss / count,
                draw_accuracy: Spread::of(&s.accuracies(count)),
                invariance_error_mean: s.error / count,
                invariance_error_max: s.error_max,
            })
            .collect(),
    })
}

/// Adds a batch's figures: every draw's correct count, and the summed loss and correct
/// count of the mean of the draws' logits, which it returns.
fn add_figures<B: Backend>(
    s: &mut Sums,
    draws: &[Tensor<B, f32>],
    labels: &[usize],
) -> Result<Tensor<B, f32>> {
    let n = labels.len() as f64;
    let mut total = draws[0].clone();
    for (d, logits) in draws.iter().enumerate() {
        s.draw_correct[d] += logits.accuracy(labels)? * n;
        if d > 0 {
            total = total.add(logits)?;
        }
    }
    let mean = if draws.len() == 1 {
        total
    } else {
        total.mul_scalar(1.0 / draws.len() as f32)?
    };
    s.loss += mean.cross_entropy(labels)?.to_scalar()? as f64 * n;
    s.correct += mean.accuracy(labels)? * n;
    Ok(mean)
}

/// ‖b − a‖₂ / ‖a‖₂ in f64 (the denominator at least 1e-12, never zero).
pub fn relative_error(a: &[f32], b: &[f32]) -> f64 {
    let (mut diff, mut norm) = (0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        diff += (y - x) * (y - x);
        norm += x * x;
    }
    diff.sqrt() / norm.sqrt().max(MIN_NORM)
}
