//! Loss and accuracy of a model on a dataset, in evaluation mode.

use crate::data::Dataset;
use anyhow::Result;
use pgcnn_core::layers::ForwardCtx;
use pgcnn_core::models::Model;
use pgcnn_core::rng::Rng;
use pgcnn_core::{Backend, Tensor};

/// Mean loss and accuracy (a fraction) over a dataset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: f64,
    pub images: usize,
}

/// Evaluates `model` on `data` in batches of `batch_size`. Group elements are still drawn
/// at random where the model samples them (as the reference does), from a generator
/// seeded with `seed`, so the same model and seed give the same figures.
pub fn evaluate<B: Backend>(
    backend: &B,
    model: &mut Model<B, f32>,
    data: &Dataset,
    batch_size: usize,
    seed: u64,
) -> Result<Evaluation> {
    let mut rng = Rng::seed(seed);
    let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0.0f64, 0usize);
    for batch in data.batches(batch_size)? {
        let x = Tensor::from_slice(backend, &batch.images, batch.shape.to_vec())?;
        let mut ctx = ForwardCtx::eval(rng.fork());
        // Detached: evaluation records no graph.
        let logits = model.forward(&x, &mut ctx)?.detach();
        let n = batch.labels.len();
        loss_sum += logits.cross_entropy(&batch.labels)?.to_scalar()? as f64 * n as f64;
        correct += logits.accuracy(&batch.labels)? * n as f64;
        seen += n;
    }
    if seen == 0 {
        return Ok(Evaluation {
            loss: f64::NAN,
            accuracy: f64::NAN,
            images: 0,
        });
    }
    Ok(Evaluation {
        loss: loss_sum / seen as f64,
        accuracy: correct / seen as f64,
        images: seen,
    })
}
