//! Loss and accuracy of a model on a dataset, in evaluation mode.

use crate::data::Dataset;
use crate::evaluation::{measure, Plan, Spread};
use anyhow::Result;
use indicatif::ProgressBar;
use pgcnn_core::models::Model;
use pgcnn_core::Backend;

/// Mean loss and accuracy (a fraction) over a dataset, of the logits averaged over the
/// evaluation's draws, and the spread of single draws' accuracy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: f64,
    pub draw_accuracy: Spread,
    pub images: usize,
}

/// Evaluates `model` on `data` as `plan` says (its transformations are ignored). Group
/// elements and keep decisions are drawn where the model draws them (as the reference
/// does), `plan.draws.count` times per image with the logits averaged, so the same
/// model, seed and draws give the same figures — the ones `pgcnn eval` reports
/// untransformed, since both are [`measure()`] (here with no transformations). An empty
/// dataset gives NaN loss and accuracy. `bar` counts batches; `stop` is asked before
/// each, and ends the evaluation with the error
/// [`Stopped`](crate::evaluation::Stopped) when it says yes.
pub fn evaluate<B: Backend>(
    backend: &B,
    model: &Model<B, f32>,
    data: &Dataset,
    plan: &Plan<'_>,
    bar: &ProgressBar,
    stop: &dyn Fn() -> bool,
) -> Result<Evaluation> {
    if data.is_empty() {
        return Ok(Evaluation {
            loss: f64::NAN,
            accuracy: f64::NAN,
            draw_accuracy: Spread::of(&[]),
            images: 0,
        });
    }
    let plan = Plan {
        transforms: &[],
        ..*plan
    };
    let m = measure(backend, model, data, &plan, bar, stop)?;
    Ok(Evaluation {
        loss: m.loss,
        accuracy: m.accuracy,
        draw_accuracy: m.draw_accuracy,
        images: m.images,
    })
}
