//! `pgcnn report DIR`: PNG and SVG plots of a run, drawn from its `metrics.jsonl`.
//!
//! Writes into DIR: `loss.png`/`.svg` (train and validation loss over epochs),
//! `accuracy.png`/`.svg` (train and validation accuracy) and `theta.png`/`.svg` (each
//! layer's learned θ as a solid line, its keep probabilities as dashed lines of the same
//! colour). Text is rendered with an embedded font (see `fonts.rs`), so no system font
//! library is needed.

mod chart;
mod fonts;
mod plots;

use crate::metrics::{read_jsonl, EpochMetrics, MetricsError, METRICS_FILE};
use std::path::{Path, PathBuf};

/// What can go wrong while making the plots.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The directory has no metrics log.
    #[error("{} does not exist: is {} the --out directory of a `pgcnn train` run?", path.display(), path.parent().map(|p| p.display().to_string()).unwrap_or_default())]
    NoMetrics {
        /// The missing `metrics.jsonl`.
        path: PathBuf,
    },
    /// The metrics log holds no epoch yet.
    #[error("{} holds no epoch yet: nothing to plot (has the run finished its first epoch?)", path.display())]
    Empty {
        /// The empty `metrics.jsonl`.
        path: PathBuf,
    },
    /// The metrics log cannot be read or parsed.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// A plot could not be drawn or written.
    #[error("drawing {}: {reason}", file.display())]
    Draw {
        /// The plot file.
        file: PathBuf,
        /// What failed.
        reason: String,
    },
}

/// Reads `dir/metrics.jsonl` and writes the six plots into `dir`; returns their paths
/// (`loss`, `accuracy`, `theta`, each PNG then SVG).
pub fn report(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let path = dir.join(METRICS_FILE);
    if !path.is_file() {
        return Err(ReportError::NoMetrics { path });
    }
    let epochs = read_jsonl(&path)?;
    if epochs.is_empty() {
        return Err(ReportError::Empty { path });
    }
    report_epochs(&epochs, dir)
}

/// Writes the six plots of `epochs` into `out_dir` (which must exist); returns their
/// paths in the order of [`report`].
pub fn report_epochs(epochs: &[EpochMetrics], out_dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let charts = [
        ("loss", plots::loss(epochs)),
        ("accuracy", plots::accuracy(epochs)),
        ("theta", plots::theta(epochs)),
    ];
    let mut written = Vec::with_capacity(2 * charts.len());
    for (stem, spec) in &charts {
        let png = out_dir.join(format!("{stem}.png"));
        chart::write_png(spec, &png).map_err(|reason| ReportError::Draw {
            file: png.clone(),
            reason,
        })?;
        written.push(png);
        let svg = out_dir.join(format!("{stem}.svg"));
        chart::write_svg(spec, &svg).map_err(|reason| ReportError::Draw {
            file: svg.clone(),
            reason,
        })?;
        written.push(svg);
    }
    Ok(written)
}
