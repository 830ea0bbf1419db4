//! The result of `pgcnn eval`, as a table for people and as JSON for scripts.
//!
//! # JSON (for the README)
//!
//! ```json
//! {"checkpoint": "runs/x/best.safetensors", "dataset": "MNIST6-180", "split": "test",
//!  "images": 405, "device": "cpu (2 threads)", "batch_size": 64, "seed": 59296,
//!  "eval_mode": "sample", "eval_draws": 8,
//!  "accuracy": 0.9926, "loss": 0.0213,
//!  "draw_accuracy_mean": 0.9812, "draw_accuracy_std": 0.0104,
//!  "convention": "...",
//!  "transformations": [
//!    {"angle": 90.0, "mirror": false, "exact": true, "accuracy": 0.51, "loss": 2.3,
//!     "draw_accuracy_mean": 0.50, "draw_accuracy_std": 0.01,
//!     "invariance_error_mean": 0.84, "invariance_error_max": 1.9}],
//!  "other_mode": {"eval_mode": "most-likely", "eval_draws": 1, "accuracy": 0.9901, ...,
//!                 "transformations": [...]}}
//! ```
//!
//! `accuracy` and `loss` are those of the logits averaged over `eval_draws` draws, on the
//! untransformed images; `draw_accuracy_mean`/`_std` are the mean and standard deviation
//! over the draws of the accuracy of one draw. `other_mode` holds the same figures
//! measured the other way (most likely beside sampled, or sampled beside most likely)
//! for a model that draws at evaluation time, and is `null` for one that draws nothing.
//! Accuracies are fractions
//! in [0, 1]; `angle` is in degrees (positive: clockwise as displayed), `mirror` says the
//! image was flipped horizontally before the rotation, `exact` that the transformation
//! was a pixel permutation (no interpolation). The invariance error of an image is
//! ‖f(g·x) − f(x)‖₂ / ‖f(x)‖₂ on the logits; `_mean` averages it over the split,
//! `_max` is its largest value. Non-finite numbers are written as the strings `"NaN"`,
//! `"inf"`, `"-inf"`, as in metrics.jsonl.

use crate::evaluation::Measurements;
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
    /// The figures, in the mode asked for.
    pub measurements: Measurements,
    /// The same measured in the other mode, for a model that draws at evaluation time.
    pub other: Option<Measurements>,
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

/// The figures of one evaluation, as JSON (without the run's context).
fn figures_json(m: &Measurements) -> Value {
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
                "draw_accuracy_mean": number(t.draw_accuracy.mean),
                "draw_accuracy_std": number(t.draw_accuracy.std),
                "invariance_error_mean": number(t.invariance_error_mean),
                "invariance_error_max": number(t.invariance_error_max),
            })
        })
        .collect();
    json!({
        "eval_mode": m.draws.mode.as_str(),
        "eval_draws": m.draws.count,
        "accuracy": number(m.accuracy),
        "loss": number(m.loss),
        "draw_accuracy_mean": number(m.draw_accuracy.mean),
        "draw_accuracy_std": number(m.draw_accuracy.std),
        "transformations": transformations,
    })
}

/// `95.12 ± 1.04%`, or `-` for one draw (no spread to show).
fn spread_cell(mean: f64, std: f64, draws: usize) -> String {
    if draws < 2 {
        "-".into()
    } else {
        format!("{:.2} ± {:.2}%", 100.0 * mean, 100.0 * std)
    }
}

impl EvalReport {
    /// The report as a JSON object (see the module documentation).
    pub fn to_json(&self) -> Value {
        let m = &self.measurements;
        let mut out = json!({
            "checkpoint": self.checkpoint,
            "dataset": self.dataset,
            "split": self.split,
            "images": m.images,
            "device": self.device,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "convention": CONVENTION,
        });
        let fields = out.as_object_mut().expect("a JSON object");
        if let Value::Object(figures) = figures_json(m) {
            fields.extend(figures);
        }
        fields.insert(
            "other_mode".into(),
            self.other.as_ref().map_or(Value::Null, figures_json),
        );
        out
    }

    /// The report as text: a summary line and one table row per transformation, with
    /// the spread of single draws and the other mode's accuracy where there are such.
    pub fn table(&self) -> String {
        let m = &self.measurements;
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = write!(
            s,
            "{} on {} {} ({} images): accuracy {:.2}%, loss {:.4}",
            self.checkpoint,
            self.dataset,
            self.split,
            m.images,
            100.0 * m.accuracy,
            m.loss
        );
        if m.draws.count > 1 {
            let _ = write!(
                s,
                " ({}; single draws {})",
                m.draws.describe(),
                spread_cell(m.draw_accuracy.mean, m.draw_accuracy.std, m.draws.count)
            );
        } else if self.other.is_some() {
            let _ = write!(s, " ({})", m.draws.describe());
        }
        if let Some(o) = &self.other {
            let _ = write!(
                s,
                "; {}: accuracy {:.2}%, loss {:.4}",
                o.draws.describe(),
                100.0 * o.accuracy,
                o.loss
            );
        }
        s.push('\n');
        // Columns: the spread of single draws and the other mode's accuracy only where
        // there are such figures.
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let mut columns: Vec<(String, Vec<String>)> = vec![
            (
                "angle".into(),
                m.transforms
                    .iter()
                    .map(|t| format!("{}°", t.transform.angle_degrees))
                    .collect(),
            ),
            (
                "mirror".into(),
                m.transforms
                    .iter()
                    .map(|t| yes_no(t.transform.mirror).into())
                    .collect(),
            ),
            (
                "exact".into(),
                m.transforms
                    .iter()
                    .map(|t| yes_no(t.exact).into())
                    .collect(),
            ),
            (
                "accuracy".into(),
                m.transforms
                    .iter()
                    .map(|t| format!("{:.2}%", 100.0 * t.accuracy))
                    .collect(),
            ),
        ];
        if m.draws.count > 1 {
            columns.push((
                "single draws".into(),
                m.transforms
                    .iter()
                    .map(|t| spread_cell(t.draw_accuracy.mean, t.draw_accuracy.std, m.draws.count))
                    .collect(),
            ));
        }
        if let Some(o) = &self.other {
            columns.push((
                o.draws.describe(),
                o.transforms
                    .iter()
                    .map(|t| format!("{:.2}%", 100.0 * t.accuracy))
                    .collect(),
            ));
        }
        columns.push((
            "loss".into(),
            m.transforms
                .iter()
                .map(|t| format!("{:.4}", t.loss))
                .collect(),
        ));
        columns.push((
            "inv. err. mean".into(),
            m.transforms
                .iter()
                .map(|t| scientific(t.invariance_error_mean))
                .collect(),
        ));
        columns.push((
            "inv. err. max".into(),
            m.transforms
                .iter()
                .map(|t| scientific(t.invariance_error_max))
                .collect(),
        ));
        let widths: Vec<usize> = columns
            .iter()
            .map(|(h, cells)| {
                cells
                    .iter()
                    .chain([h])
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: Vec<&str>| -> String {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, &w)| format!("{c:>w$}"))
                .collect();
            padded.join("  ")
        };
        let _ = writeln!(
            s,
            "{}",
            line(columns.iter().map(|(h, _)| h.as_str()).collect())
        );
        for row in 0..m.transforms.len() {
            let _ = writeln!(
                s,
                "{}",
                line(columns.iter().map(|(_, c)| c[row].as_str()).collect())
            );
        }
        s
    }
}
