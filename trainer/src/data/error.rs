//! The error type of the dataset layer: every way a dataset can fail to load is a value
//! that says what was expected and what was found, never a panic.

use std::fmt;
use std::path::PathBuf;

/// Result alias of the dataset layer.
pub type Result<T> = std::result::Result<T, DataError>;

/// What can go wrong while finding, reading, parsing or splitting a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The files of a dataset are not on disk (or no directory was given for a dataset
    /// that has no embedded copy). The message names the files, where to get them and
    /// the flag to pass.
    #[error("{0}")]
    Missing(MissingFiles),
    /// A file (or byte buffer) is not in the format its loader expects: wrong magic,
    /// truncated, sizes that do not add up, labels out of range, ...
    #[error("{context}: {reason}")]
    Format {
        /// The file or buffer being parsed.
        context: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The operating system could not read a file.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A parameter (fraction, batch size, angle, ...) out of range.
    #[error("{0}")]
    BadParam(String),
}

impl DataError {
    /// A format error about `context` (a file name or a description of the buffer).
    pub fn format(context: impl Into<String>, reason: impl Into<String>) -> Self {
        DataError::Format {
            context: context.into(),
            reason: reason.into(),
        }
    }

    /// Re-labels a format error with the file it came from (parsers of byte buffers do
    /// not know the file name; the path loaders add it).
    pub fn in_file(self, path: &std::path::Path) -> Self {
        match self {
            DataError::Format { context, reason } => DataError::Format {
                context: format!("{} ({context})", path.display()),
                reason,
            },
            other => other,
        }
    }
}

/// The description of a dataset that is not on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingFiles {
    /// The dataset's name as the `--dataset` flag spells it.
    pub dataset: String,
    /// The directory searched; `None` when no `--data-dir` was given.
    pub dir: Option<PathBuf>,
    /// Sub-directories of `dir` that were searched as well (the layouts the archives
    /// unpack to).
    pub subdirs: Vec<String>,
    /// The files expected (any one name of each alternative group).
    pub files: Vec<String>,
    /// Where to obtain the files.
    pub source: String,
}

impl fmt::Display for MissingFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.dir {
            Some(dir) => {
                write!(
                    f,
                    "dataset `{}` not found in {}",
                    self.dataset,
                    dir.display()
                )?;
                if !self.subdirs.is_empty() {
                    write!(
                        f,
                        " (nor in its sub-directories {})",
                        self.subdirs.join(", ")
                    )?;
                }
                writeln!(f, ".")?;
            }
            None => writeln!(
                f,
                "dataset `{}` has no embedded copy and no data directory was given.",
                self.dataset
            )?,
        }
        writeln!(f, "Expected files: {}.", self.files.join(", "))?;
        writeln!(f, "Get them from {}.", self.source)?;
        write!(
            f,
            "Then pass --data-dir DIR, with DIR the directory that holds them."
        )
    }
}
