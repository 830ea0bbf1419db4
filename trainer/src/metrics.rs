//! The metrics log of a run: `metrics.jsonl`, one JSON object per epoch, and
//! `final.json`, the summary of the best model.
//!
//! # Files (for the README)
//!
//! `metrics.jsonl` holds one [`EpochMetrics`] object per line, appended and flushed at
//! the end of every epoch, e.g.
//!
//! ```json
//! {"epoch":1,"lr":0.001,"train_loss":1.93,"train_acc":0.31,"val_loss":1.52,"val_acc":0.47,
//!  "val_draw_acc_mean":0.45,"val_draw_acc_std":0.03,"seconds":12.5,"images_per_second":4321.0,
//!  "partial":[{"layer":"lift","theta":0.98,"keep_probs":[]},{"layer":"blocks.0","theta":0.91,"keep_probs":[0.73]}]}
//! ```
//!
//! (on one line). `epoch` counts from 1; accuracies are fractions in [0, 1];
//! `val_loss`/`val_acc` (of the logits averaged over the evaluation's draws) and
//! `val_draw_acc_mean`/`val_draw_acc_std` (the spread of single draws, docs/evaluation.md)
//! are absent when the run has no validation split; `partial` lists
//! every group convolution's learned θ (absent when the layer learns none) and its
//! element / mirror keep probabilities (empty when it has none). Non-finite numbers
//! (a diverged loss) are written as the strings `"NaN"`, `"inf"`, `"-inf"`, which keeps
//! every line valid JSON; readers also accept `null` as NaN.
//!
//! On `--resume`, [`MetricsLog::resume`] keeps the lines of the epochs the checkpoint
//! covers (`epoch <= checkpoint epoch`) and drops the rest, including a line cut short
//! by a kill, so the log never holds an epoch twice. The training loop appends an
//! epoch's line *before* writing that epoch's checkpoint, so no covered epoch is lost.
//!
//! `final.json` ([`FinalSummary`]) is written atomically at the end of a run.

use crate::checkpoint::write_atomic;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The name of the metrics log inside a run directory.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// The name of the run summary inside a run directory.
pub const FINAL_FILE: &str = "final.json";

/// What can go wrong while writing or reading the metrics files.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The operating system refused a file operation.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line (or final.json) is not a valid record.
    #[error("{}:{line}: {reason}", path.display())]
    Parse {
        /// The file being read.
        path: PathBuf,
        /// The 1-based line number (1 for final.json errors before any line).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Writing a file atomically failed.
    #[error(transparent)]
    Write(#[from] crate::checkpoint::CheckpointError),
}

/// Result alias of the metrics module.
pub type Result<T> = std::result::Result<T, MetricsError>;

fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> MetricsError + 'a {
    move |source| MetricsError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// The learned partial equivariance of one group convolution at the end of an epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerPartial {
    /// The layer's name (as in the checkpoint's tensor names, e.g. `blocks.0.conv1`).
    pub layer: String,
    /// The learned θ (fraction of the group sampled), absent when the layer has none.
    #[serde(
        default,
        with = "json_float::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub theta: Option<f64>,
    /// Keep probabilities of the layer's discrete elements or mirror, if any.
    #[serde(default, with = "json_float::vec")]
    pub keep_probs: Vec<f64>,
}

/// One line of `metrics.jsonl`: the state of the run at the end of an epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// The epoch just finished, counting from 1.
    pub epoch: usize,
    /// The learning rate of the main parameter group at the end of the epoch.
    #[serde(with = "json_float")]
    pub lr: f64,
    /// Mean training loss over the epoch.
    #[serde(with = "json_float")]
    pub train_loss: f64,
    /// Training accuracy over the epoch, a fraction.
    #[serde(with = "json_float")]
    pub train_acc: f64,
    /// Validation loss, absent without a validation split.
    #[serde(
        default,
        with = "json_float::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub val_loss: Option<f64>,
    /// Validation accuracy (fraction), absent without a validation split.
    #[serde(
        default,
        with = "json_float::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub val_acc: Option<f64>,
    /// Mean over the evaluation's draws of the validation accuracy of one draw (equal to
    /// `val_acc` for a single draw); absent without a validation split.
    #[serde(
        default,
        with = "json_float::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub val_draw_acc_mean: Option<f64>,
    /// Standard deviation of the single draws' validation accuracy (0 for one draw).
    #[serde(
        default,
        with = "json_float::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub val_draw_acc_std: Option<f64>,
    /// Wall-clock seconds the epoch took (training and validation).
    #[serde(with = "json_float")]
    pub seconds: f64,
    /// Training throughput.
    #[serde(with = "json_float")]
    pub images_per_second: f64,
    /// Every group convolution's learned θ and keep probabilities.
    #[serde(default)]
    pub partial: Vec<LayerPartial>,
}

/// The appendable `metrics.jsonl` of a run directory.
#[derive(Debug)]
pub struct MetricsLog {
    path: PathBuf,
    file: File,
}

impl MetricsLog {
    /// Creates `dir` if needed and starts an empty `dir/metrics.jsonl` (replacing any).
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(io_err("creating", dir))?;
        let path = dir.join(METRICS_FILE);
        let file = File::create(&path).map_err(io_err("creating", &path))?;
        Ok(MetricsLog { path, file })
    }

    /// Reopens the log of a run resumed from a checkpoint that covers `epochs_done`
    /// epochs: keeps the lines of epochs `1..=epochs_done` (byte for byte), drops later
    /// ones and a last line cut short by a kill, rewrites the file atomically and
    /// returns the log, ready to append, with the kept records. A missing log is
    /// created empty; any other unreadable line is an error naming it.
    pub fn resume(dir: &Path, epochs_done: usize) -> Result<(Self, Vec<EpochMetrics>)> {
        let path = dir.join(METRICS_FILE);
        if !path.exists() {
            return Ok((Self::create(dir)?, Vec::new()));
        }
        let bytes = std::fs::read(&path).map_err(io_err("reading", &path))?;
        let text = String::from_utf8_lossy(&bytes);
        let torn_tail = !text.is_empty() && !text.ends_with('\n');
        let lines: Vec<&str> = text.lines().collect();
        let mut kept_text = String::new();
        let mut kept = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let record = match parse_line(line) {
                Ok(r) => r,
                Err(_) if torn_tail && i + 1 == lines.len() => break,
                Err(reason) => {
                    return Err(MetricsError::Parse {
                        path,
                        line: i + 1,
                        reason,
                    })
                }
            };
            if record.epoch <= epochs_done {
                kept_text.push_str(line);
                kept_text.push('\n');
                kept.push(record);
            }
        }
        write_atomic(&path, kept_text.as_bytes())?;
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io_err("opening", &path))?;
        Ok((MetricsLog { path, file }, kept))
    }

    /// Appends one epoch as a line and flushes it to the disk, so that the line
    /// survives a kill right after.
    pub fn append(&mut self, m: &EpochMetrics) -> Result<()> {
        let mut line = serde_json::to_string(m).map_err(|e| MetricsError::Parse {
            path: self.path.clone(),
            line: 0,
            reason: format!("cannot encode epoch {}: {e}", m.epoch),
        })?;
        line.push('\n');
        // One write call per line: a kill leaves at most one torn last line.
        self.file
            .write_all(line.as_bytes())
            .map_err(io_err("writing", &self.path))?;
        self.file.flush().map_err(io_err("writing", &self.path))?;
        self.file.sync_data().map_err(io_err("syncing", &self.path))
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads a `metrics.jsonl`; an unreadable line is an error naming its number. Blank
/// lines are skipped.
pub fn read_jsonl(path: &Path) -> Result<Vec<EpochMetrics>> {
    let bytes = std::fs::read(path).map_err(io_err("reading", path))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        MetricsError::Parse {
            path: path.to_path_buf(),
            line,
            reason: "not UTF-8 text".to_string(),
        }
    })?;
    parse_jsonl(text).map_err(|(line, reason)| MetricsError::Parse {
        path: path.to_path_buf(),
        line,
        reason,
    })
}

/// Parses the text of a `metrics.jsonl`; on error returns the 1-based line number and
/// the reason.
pub fn parse_jsonl(text: &str) -> std::result::Result<Vec<EpochMetrics>, (usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(parse_line(line).map_err(|r| (i + 1, r))?);
    }
    Ok(out)
}

fn parse_line(line: &str) -> std::result::Result<EpochMetrics, String> {
    serde_json::from_str(line).map_err(|e| e.to_string())
}

/// `final.json`: the result of a run, for the best model (chosen on validation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalSummary {
    /// Test accuracy of the best model, a fraction.
    #[serde(with = "json_float")]
    pub test_acc: f64,
    /// Test loss of the best model.
    #[serde(
        default,
        with = "json_float::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub test_loss: Option<f64>,
    /// Mean over the evaluation's draws of the test accuracy of one draw.
    #[serde(
        default,
        with = "json_float::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub test_draw_acc_mean: Option<f64>,
    /// Standard deviation of the single draws' test accuracy (0 for one draw).
    #[serde(
        default,
        with = "json_float::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub test_draw_acc_std: Option<f64>,
    /// How many draws the evaluations averaged (absent in runs before pgcnn averaged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_draws: Option<usize>,
    /// `sample` or `most-likely` (absent in runs before pgcnn had the choice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_mode: Option<String>,
    /// The best validation accuracy, a fraction.
    #[serde(with = "json_float")]
    pub best_val_acc: f64,
    /// The epoch (from 1) of the best model.
    pub best_epoch: usize,
    /// Epochs trained.
    pub epochs: usize,
    /// Total wall-clock seconds of training.
    #[serde(
        default,
        with = "json_float::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub seconds: Option<f64>,
    /// The best model's learned θ and keep probabilities per layer.
    #[serde(default)]
    pub partial: Vec<LayerPartial>,
}

impl FinalSummary {
    /// Writes `dir/final.json` (pretty-printed) atomically and returns its path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        let path = dir.join(FINAL_FILE);
        let mut text = serde_json::to_string_pretty(self).map_err(|e| MetricsError::Parse {
            path: path.clone(),
            line: 0,
            reason: format!("cannot encode the summary: {e}"),
        })?;
        text.push('\n');
        write_atomic(&path, text.as_bytes())?;
        Ok(path)
    }

    /// Reads a `final.json`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(io_err("reading", path))?;
        serde_json::from_str(&text).map_err(|e| MetricsError::Parse {
            path: path.to_path_buf(),
            line: e.line(),
            reason: e.to_string(),
        })
    }
}

/// Serde adapters for floats that keep non-finite values: JSON has no NaN or infinity,
/// and serde_json would write `null` and then refuse to read it back into an `f64`.
mod json_float {
    use serde::de::{self, Visitor};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::fmt;

    /// An `f64` written as a number when finite, else as `"NaN"`, `"inf"`, `"-inf"`.
    #[derive(Clone, Copy)]
    pub struct JsonF64(pub f64);

    impl Serialize for JsonF64 {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let v = self.0;
            if v.is_finite() {
                s.serialize_f64(v)
            } else if v.is_nan() {
                s.serialize_str("NaN")
            } else if v > 0.0 {
                s.serialize_str("inf")
            } else {
                s.serialize_str("-inf")
            }
        }
    }

    impl<'de> Deserialize<'de> for JsonF64 {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(FloatVisitor)
        }
    }

    struct FloatVisitor;

    impl Visitor<'_> for FloatVisitor {
        type Value = JsonF64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number, \"NaN\", \"inf\", \"-inf\" or null")
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<JsonF64, E> {
            Ok(JsonF64(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<JsonF64, E> {
            Ok(JsonF64(v as f64))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<JsonF64, E> {
            Ok(JsonF64(v as f64))
        }
        fn visit_unit<E: de::Error>(self) -> Result<JsonF64, E> {
            Ok(JsonF64(f64::NAN))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<JsonF64, E> {
            match v.to_ascii_lowercase().as_str() {
                "nan" => Ok(JsonF64(f64::NAN)),
                "inf" | "+inf" | "infinity" | "+infinity" => Ok(JsonF64(f64::INFINITY)),
                "-inf" | "-infinity" => Ok(JsonF64(f64::NEG_INFINITY)),
                _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
            }
        }
    }

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        JsonF64(*v).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        JsonF64::deserialize(d).map(|x| x.0)
    }

    /// `Option<f64>`: `None` is written as `null` and read from `null` or absence.
    pub mod option {
        use super::JsonF64;
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
            v.map(JsonF64).serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
            Option::<JsonF64>::deserialize(d).map(|o| o.map(|x| x.0))
        }
    }

    /// `Vec<f64>` element by element.
    pub mod vec {
        use super::JsonF64;
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
            let wrapped: Vec<JsonF64> = v.iter().copied().map(JsonF64).collect();
            wrapped.serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
            Vec::<JsonF64>::deserialize(d).map(|v| v.into_iter().map(|x| x.0).collect())
        }
    }
}
