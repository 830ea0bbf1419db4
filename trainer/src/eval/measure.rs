//! The measurement: one pass over a split, each batch run untransformed and under every
//! transformation, accumulating accuracy, loss and the logit invariance error.

use super::transforms::Transform;
use crate::data::Dataset;
use anyhow::{bail, Result};
use indicatif::ProgressBar;
use pgcnn_core::layers::ForwardCtx;
use pgcnn_core::models::Model;
use pgcnn_core::rng::Rng;
use pgcnn_core::{Backend, Tensor};

/// Below this norm a logit vector counts as zero in the relative error's denominator.
const MIN_NORM: f64 = 1e-12;

/// Accuracy, loss and invariance error under one transformation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TransformEvaluation {
    /// The transformation of the inputs.
    pub transform: Transform,
    /// Whether it moved pixels exactly (no interpolation).
    pub exact: bool,
    /// Fraction of transformed images classified correctly.
    pub accuracy: f64,
    /// Mean cross-entropy on the transformed images.
    pub loss: f64,
    /// Mean over the images of ‖f(g·x) − f(x)‖₂ / ‖f(x)‖₂ (logits).
    pub invariance_error_mean: f64,
    /// Its largest value over the images.
    pub invariance_error_max: f64,
}

/// What one pass measured: the untransformed figures and one entry per transformation.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurements {
    /// Images evaluated.
    pub images: usize,
    /// Accuracy on the untransformed images.
    pub accuracy: f64,
    /// Mean cross-entropy on the untransformed images.
    pub loss: f64,
    /// One entry per transformation, in the order given.
    pub transforms: Vec<TransformEvaluation>,
}

/// Running sums of one transformation.
#[derive(Clone, Copy, Default)]
struct Sums {
    loss: f64,
    correct: f64,
    error: f64,
    error_max: f64,
}

/// Why [`measure`] gave up: its `stop` asked it to, before a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the evaluation was stopped on request")
    }
}

impl std::error::Error for Stopped {}

/// Evaluates `model` on `data` in batches of `batch_size`, untransformed and under each
/// of `transforms`. `stop` is asked before each batch; when it says yes the evaluation
/// ends with the error [`Stopped`] (a training run stopping on Ctrl-C does not wait for
/// the rest of its validation).
///
/// Randomness: batch k draws its group elements (where the model samples them) from the
/// k-th fork of `Rng::seed(seed)`; [`crate::train::evaluate`] is this function with no
/// transformations, so training and `pgcnn eval` report the same figures. Every
/// transformed pass of a batch reuses that batch's generator: f(x) and f(g·x) see the
/// same samples, and the invariance error measures the network, not the sampling noise.
pub fn measure<B: Backend>(
    backend: &B,
    model: &Model<B, f32>,
    data: &Dataset,
    transforms: &[Transform],
    batch_size: usize,
    seed: u64,
    bar: &ProgressBar,
    stop: &dyn Fn() -> bool,
) -> Result<Measurements> {
    if data.is_empty() {
        bail!("there are no images to evaluate");
    }
    let shape = [data.channels, data.height, data.width];
    let norm = data.normalization.as_ref();
    let mut rng = Rng::seed(seed);
    // No graph: nothing is differentiated, and intermediates are freed as they die.
    let mut model = model.without_graph();
    let mut base = Sums::default();
    let mut sums = vec![Sums::default(); transforms.len()];
    for batch in data.batches(batch_size)? {
        if stop() {
            return Err(Stopped.into());
        }
        let batch_rng = rng.fork();
        let run = |model: &mut Model<B, f32>, images: &[f32]| -> Result<Tensor<B, f32>> {
            let x = Tensor::from_slice(backend, images, batch.shape.to_vec())?;
            let mut ctx = ForwardCtx::eval(batch_rng.clone());
            Ok(model.forward(&x, &mut ctx)?)
        };
        let logits = run(&mut model, &batch.images)?;
        let reference = logits.to_vec()?;
        add_figures(&mut base, &logits, &batch.labels)?;
        for (t, s) in transforms.iter().zip(&mut sums) {
            let moved_logits = if t.is_identity() {
                logits.clone()
            } else {
                run(&mut model, &t.apply(&batch.images, shape, norm)?)?
            };
            add_figures(s, &moved_logits, &batch.labels)?;
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
        accuracy: base.correct / count,
        loss: base.loss / count,
        transforms: transforms
            .iter()
            .zip(&sums)
            .map(|(t, s)| TransformEvaluation {
                transform: *t,
                exact: t.is_exact(data.height, data.width),
                accuracy: s.correct / count,
                loss: s.loss / count,
                invariance_error_mean: s.error / count,
                invariance_error_max: s.error_max,
            })
            .collect(),
    })
}

/// Adds a batch's summed loss and correct count.
fn add_figures<B: Backend>(s: &mut Sums, logits: &Tensor<B, f32>, labels: &[usize]) -> Result<()> {
    let n = labels.len() as f64;
    s.loss += logits.cross_entropy(labels)?.to_scalar()? as f64 * n;
    s.correct += logits.accuracy(labels)? * n;
    Ok(())
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
