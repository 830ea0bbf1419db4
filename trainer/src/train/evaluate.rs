//! Loss and accuracy of a model on a dataset, in evaluation mode.

use crate::data::Dataset;
use crate::eval::measure;
use anyhow::Result;
use indicatif::ProgressBar;
use pgcnn_core::models::Model;
use pgcnn_core::Backend;

/// Mean loss and accuracy (a fraction) over a dataset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: f64,
    pub images: usize,
}

/// Evaluates `model` on `data` in batches of `batch_size`. Group elements are still drawn
/// at random where the model samples them (as the reference does), from a generator
/// seeded with `seed`, so the same model and seed give the same figures — the same
/// figures `pgcnn eval` reports untransformed, since both are [`measure`] (here with no
/// transformations). An empty dataset gives NaN loss and accuracy. `bar` counts batches;
/// `stop` is asked before each, and ends the evaluation with the error
/// [`Stopped`](crate::eval::Stopped) when it says yes.
pub fn evaluate<B: Backend>(
    backend: &B,
    model: &Model<B, f32>,
    data: &Dataset,
    batch_size: usize,
    seed: u64,
    bar: &ProgressBar,
    stop: &dyn Fn() -> bool,
) -> Result<Evaluation> {
    if data.is_empty() {
        return Ok(Evaluation {
            loss: f64::NAN,
            accuracy: f64::NAN,
            images: 0,
        });
    }
    let m = measure(backend, model, data, &[], batch_size, seed, bar, stop)?;
    Ok(Evaluation {
        loss: m.loss,
        accuracy: m.accuracy,
        images: m.images,
    })
}
