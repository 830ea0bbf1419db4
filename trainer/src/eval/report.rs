//! The result of `pgcnn eval`, as a table for people and as JSON for scripts.
//!
//! # JSON (for the README)
//!
//! ```json
//! {"checkpoint": "runs/x/best.safetensors", "dataset": "MNIST6-180", "split": "test",
//!  "images": 405, "device": "cpu (2 threads)", "batch_size": 64, "seed": 59296,
//!  "accuracy": 0.9926, "loss": 0.0213,
//!  "convention": "...",
//!  "transformations": [
//!    {"angle": 90.0, "mirror": false, "exact": true, "accuracy": 0.51, "loss": 2.3,
//!     "invariance_error_mean": 0.84, "invariance_error_max": 1.9}]}
//! ```
//!
//! `accuracy` and `loss` are those of the untransformed images; accuracies are fractions
//! in [0, 1]; `angle` is in degrees (positive: clockwise as displayed), `mirror` says the
//! image was flipped horizontally before the rotation, `exact` that the transformation
//! was a pixel permutation (no interpolation). The invariance error of an image is
//! ‖f(g·x) − f(x)‖₂ / ‖f(x)‖₂ on the logits; `_mean` averages it over the split,
//! `_max` is its largest value. Non-finite numbers are written as the strings `"NaN"`,
//! `"inf"`, `"-inf"`, as in metrics.jsonl.

use super::measure::Measurements;
use serde_json::{json, Value};
use std::fmt::Write;

/// How the transformations act, stated in every JSON report.
pub const CONVENTION: &str = "docs/math.md §2: mirror x first (if mirror), then rotate by \
    angle degrees about the image centre, positive = clockwise as displayed (rows \
    downwards); exact pixel permutation for multiples of 90° on square images, else \
    bilinear with zero (background) fill";

/// Everything `pgcnn eval` reports.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalReport {
    /// The checkpoint evaluated, as given.
    pub checkpoint: String,
    /// The dataset evaluated on (the config's spelling, e.g. `MNIST6-180`).
    pub dataset: String,
    /// `test`, `val` or `train`.
    pub split: String,
    /// The backend, described.
    pub device: String,
    /// Images per forward pass.
    pub batch_size: usize,
    /// The seed of the group-element draws.
    pub seed: u64,
    /// The figures.
    pub measurements: Measurements,
}

/// A JSON number, or `"NaN"` / `"inf"` / `"-inf"` (JSON has no non-finite numbers).
fn number(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else if v.is_nan() {
        json!("NaN")
    } else if v > 0.0 {
        json!("inf")
    } else {
        json!("-inf")
    }
}

/// `v` as `1.234e-05`: a fixed width for errors from 1e-7 (float noise) to 10.
fn scientific(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let s = format!("{v:.3e}");
    match s.split_once('e') {
        Some((mantissa, exp)) => match exp.parse::<i32>() {
            Ok(e) => format!("{mantissa}e{e:+03}"),
            Err(_) => s,
        },
        None => s,
    }
}

impl EvalReport {
    /// The report as a JSON object (see the module documentation).
    pub fn to_json(&self) -> Value {
        let m = &self.measurements;
        let transformations: Vec<Value> = m
            .transforms
            .iter()
            .map(|t| {
                json!({
                    "angle": number(t.transform.angle_degrees),
                    "mirror": t.transform.mirror,
                    "exact": t.exact,
                    "accuracy": number(t.accuracy),
                    "loss": number(t.loss),
                    "invariance_error_mean": number(t.invariance_error_mean),
                    "invariance_error_max": number(t.invariance_error_max),
                })
            })
            .collect();
        json!({
            "checkpoint": self.checkpoint,
            "dataset": self.dataset,
            "split": self.split,
            "images": m.images,
            "device": self.device,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "accuracy": number(m.accuracy),
            "loss": number(m.loss),
            "convention": CONVENTION,
            "transformations": transformations,
        })
    }

    /// The report as text: a summary line and one table row per transformation.
    pub fn table(&self) -> String {
        let m = &self.measurements;
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(
            s,
            "{} on {} {} ({} images): accuracy {:.2}%, loss {:.4}",
            self.checkpoint,
            self.dataset,
            self.split,
            m.images,
            100.0 * m.accuracy,
            m.loss
        );
        let _ = writeln!(
            s,
            "{:>8}  {:>6}  {:>5}  {:>8}  {:>8}  {:>14}  {:>14}",
            "angle", "mirror", "exact", "accuracy", "loss", "inv. err. mean", "inv. err. max"
        );
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        for t in &m.transforms {
            let _ = writeln!(
                s,
                "{:>8}  {:>6}  {:>5}  {:>7.2}%  {:>8.4}  {:>14}  {:>14}",
                format!("{}°", t.transform.angle_degrees),
                yes_no(t.transform.mirror),
                yes_no(t.exact),
                100.0 * t.accuracy,
                t.loss,
                scientific(t.invariance_error_mean),
                scientific(t.invariance_error_max)
            );
        }
        s
    }
}
