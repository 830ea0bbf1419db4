//! Which curves go into which chart.

use super::chart::{ChartSpec, Curve, PALETTE};
use crate::metrics::EpochMetrics;
use plotters::chart::SeriesLabelPosition;

const TRAIN: usize = 0;
const VAL: usize = 1;

fn curve(label: &str, color: usize, points: Vec<(f64, f64)>, dash: Option<u32>) -> Curve {
    Curve {
        label: label.to_string(),
        points,
        color: PALETTE[color % PALETTE.len()],
        dash,
    }
}

/// Train and validation curves of one quantity; the validation curve only when the run
/// has a validation split.
fn train_val(
    epochs: &[EpochMetrics],
    train: impl Fn(&EpochMetrics) -> f64,
    val: impl Fn(&EpochMetrics) -> Option<f64>,
) -> Vec<Curve> {
    let x = |m: &EpochMetrics| m.epoch as f64;
    let mut curves = vec![curve(
        "train",
        TRAIN,
        epochs.iter().map(|m| (x(m), train(m))).collect(),
        None,
    )];
    let val_points: Vec<(f64, f64)> = epochs
        .iter()
        .filter_map(|m| val(m).map(|v| (x(m), v)))
        .collect();
    if !val_points.is_empty() {
        curves.push(curve("validation", VAL, val_points, None));
    }
    curves
}

/// Train and validation loss.
pub(crate) fn loss(epochs: &[EpochMetrics]) -> ChartSpec {
    ChartSpec {
        title: "Loss".to_string(),
        y_label: "loss".to_string(),
        curves: train_val(epochs, |m| m.train_loss, |m| m.val_loss),
        y_range: None,
        y_clamp: None,
        legend: SeriesLabelPosition::UpperRight,
    }
}

/// Train and validation accuracy.
pub(crate) fn accuracy(epochs: &[EpochMetrics]) -> ChartSpec {
    ChartSpec {
        title: "Accuracy".to_string(),
        y_label: "accuracy (fraction)".to_string(),
        curves: train_val(epochs, |m| m.train_acc, |m| m.val_acc),
        y_range: None,
        y_clamp: Some((0.0, 1.0)),
        legend: SeriesLabelPosition::LowerRight,
    }
}

/// Each layer's θ (solid) and keep probabilities (dashed, same colour), in the order
/// layers first appear.
pub(crate) fn theta(epochs: &[EpochMetrics]) -> ChartSpec {
    let mut layers: Vec<&str> = Vec::new();
    for m in epochs {
        for p in &m.partial {
            if !layers.contains(&p.layer.as_str()) {
                layers.push(&p.layer);
            }
        }
    }
    let mut curves = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        let entries = || {
            epochs.iter().filter_map(move |m| {
                m.partial
                    .iter()
                    .find(|p| p.layer == *layer)
                    .map(|p| (m.epoch as f64, p))
            })
        };
        let thetas: Vec<(f64, f64)> = entries()
            .filter_map(|(x, p)| p.theta.map(|t| (x, t)))
            .collect();
        if !thetas.is_empty() {
            curves.push(curve(&format!("{layer} θ"), i, thetas, None));
        }
        let n_probs = entries()
            .map(|(_, p)| p.keep_probs.len())
            .max()
            .unwrap_or(0);
        for k in 0..n_probs {
            let points: Vec<(f64, f64)> = entries()
                .filter_map(|(x, p)| p.keep_probs.get(k).map(|&v| (x, v)))
                .collect();
            let label = if n_probs == 1 {
                format!("{layer} keep prob.")
            } else {
                format!("{layer} keep prob. {}", k + 1)
            };
            curves.push(curve(&label, i, points, Some(8 + 4 * (k % 4) as u32)));
        }
    }
    let title = if curves.is_empty() {
        "Learned partial equivariance (no layer learns θ in this run)"
    } else {
        "Learned partial equivariance per layer"
    };
    ChartSpec {
        title: title.to_string(),
        y_label: "θ (solid), keep probability (dashed)".to_string(),
        curves,
        y_range: Some((0.0, 1.02)),
        y_clamp: None,
        legend: SeriesLabelPosition::LowerLeft,
    }
}
