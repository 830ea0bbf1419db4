//! The error type of the PyTorch checkpoint reader: every way a `.pt` file can fail to be
//! read is a value that names the file, the archive entry or tensor, and what is wrong.

use std::path::PathBuf;

/// What can go wrong while reading a PyTorch checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum TorchPtError {
    /// The operating system could not read the file.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The bytes are not a valid PyTorch checkpoint: not a zip archive, a truncated or
    /// corrupt entry, a pickle that does not parse, a tensor whose view lies outside its
    /// storage, ...
    #[error("{context}: not a valid PyTorch checkpoint: {reason}")]
    Corrupt {
        /// The file or buffer being read.
        context: String,
        /// What is wrong, naming the entry, the pickle position or the tensor.
        reason: String,
    },
    /// A valid PyTorch file that this reader does not read: the legacy (pre-1.6)
    /// format, a TorchScript archive, compressed entries, complex or quantized tensors,
    /// pickle protocol 5 buffers, ...
    #[error("{context}: {reason}")]
    Unsupported {
        /// The file or buffer being read.
        context: String,
        /// What it holds and, where there is one, what to do instead.
        reason: String,
    },
    /// The file holds no state dict where one was looked for (e.g. a list, or a dict
    /// without tensors).
    #[error("{context}: no state dict found: {reason}")]
    NoStateDict {
        /// The file or buffer being read.
        context: String,
        /// What the file holds instead.
        reason: String,
    },
}

/// What went wrong inside one stage of the reader, before the file's name is attached:
/// the stages (zip, pickle, tensors) return these, [`super::read`] wraps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// Malformed input.
    Corrupt(String),
    /// Valid input this reader does not handle.
    Unsupported(String),
    /// No state dict where one was looked for.
    NoStateDict(String),
}

impl Problem {
    /// Attaches the file or buffer name.
    pub(crate) fn in_context(self, context: &str) -> TorchPtError {
        let context = context.to_string();
        match self {
            Problem::Corrupt(reason) => TorchPtError::Corrupt { context, reason },
            Problem::Unsupported(reason) => TorchPtError::Unsupported { context, reason },
            Problem::NoStateDict(reason) => TorchPtError::NoStateDict { context, reason },
        }
    }

    /// Prefixes the reason with where it happened (an entry, a tensor).
    pub(crate) fn at(self, place: &str) -> Problem {
        match self {
            Problem::Corrupt(r) => Problem::Corrupt(format!("{place}: {r}")),
            Problem::Unsupported(r) => Problem::Unsupported(format!("{place}: {r}")),
            Problem::NoStateDict(r) => Problem::NoStateDict(format!("{place}: {r}")),
        }
    }
}

/// A [`Problem::Corrupt`] from anything printable.
pub(crate) fn corrupt(reason: impl Into<String>) -> Problem {
    Problem::Corrupt(reason.into())
}

/// A [`Problem::Unsupported`] from anything printable.
pub(crate) fn unsupported(reason: impl Into<String>) -> Problem {
    Problem::Unsupported(reason.into())
}
