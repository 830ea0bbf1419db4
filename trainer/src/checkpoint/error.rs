//! The error type of checkpoints: every way a checkpoint can fail to be written, read
//! or matched against the running configuration is a value that says what and where.

use std::fmt;
use std::path::PathBuf;

/// Result alias of the checkpoint module.
pub type Result<T> = std::result::Result<T, CheckpointError>;

/// What can go wrong while writing, reading, validating or using a checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The operating system refused a file operation.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done ("writing", "reading", "renaming to", ...).
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The bytes are not a valid pgcnn checkpoint (truncated, corrupt header, bad
    /// offsets, unsupported dtype, missing config, ...).
    #[error("{context}: not a valid pgcnn checkpoint: {reason}")]
    Corrupt {
        /// The file or buffer being parsed.
        context: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The checkpoint was written with a different configuration.
    #[error("{}", mismatch_message(.0))]
    ConfigMismatch(Vec<ConfigDifference>),
    /// A configuration given as TOML text does not parse.
    #[error("{which} configuration is not valid TOML: {reason}")]
    ConfigSyntax {
        /// "the checkpoint's" or "the expected".
        which: &'static str,
        /// The parser's message.
        reason: String,
    },
    /// A metadata entry or tensor that the caller asked for is absent.
    #[error("the checkpoint has no {0}")]
    Missing(String),
    /// A value given to or read from a checkpoint does not fit (a tensor whose data
    /// does not match its shape, a duplicate or reserved name, a metadata value that
    /// does not parse, a stored shape that differs from the model's, ...).
    #[error("{0}")]
    Invalid(String),
    /// Moving a tensor to or from a backend failed.
    #[error(transparent)]
    Core(#[from] pgcnn_core::Error),
}

impl CheckpointError {
    /// A [`CheckpointError::Corrupt`] about `context`.
    pub fn corrupt(context: impl Into<String>, reason: impl Into<String>) -> Self {
        CheckpointError::Corrupt {
            context: context.into(),
            reason: reason.into(),
        }
    }

    /// An I/O error while doing `action` on `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CheckpointError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// One key on which two configurations differ. `None` means the key is absent on that
/// side. Values are shown in TOML syntax; whole tables as `{...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigDifference {
    /// The dotted key, e.g. `model.width` or `train.lr`.
    pub key: String,
    /// The value in the checkpoint.
    pub stored: Option<String>,
    /// The value in the configuration of the current run.
    pub expected: Option<String>,
}

impl fmt::Display for ConfigDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".to_string());
        write!(
            f,
            "{}: checkpoint {}, this run {}",
            self.key,
            show(&self.stored),
            show(&self.expected)
        )
    }
}

fn mismatch_message(diffs: &[ConfigDifference]) -> String {
    let keys: Vec<&str> = diffs.iter().map(|d| d.key.as_str()).collect();
    let mut msg = format!(
        "the checkpoint was written with a different configuration ({} {}: {}):",
        diffs.len(),
        if diffs.len() == 1 {
            "key differs"
        } else {
            "keys differ"
        },
        keys.join(", ")
    );
    for d in diffs {
        msg.push_str("\n  ");
        msg.push_str(&d.to_string());
    }
    msg
}
