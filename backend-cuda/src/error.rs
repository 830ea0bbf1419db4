//! The backend's errors: every failure is a [`pgcnn_core::Error::Backend`] naming the op.

use pgcnn_core::Error;

/// The backend's name in its errors.
pub(crate) const NAME: &str = "cuda";

/// A backend error of op `op`.
pub(crate) fn backend_err(op: &'static str, reason: impl Into<String>) -> Error {
    Error::Backend {
        backend: NAME,
        op,
        reason: reason.into(),
    }
}

/// Maps a driver (or other CUDA library) error of op `op`.
pub(crate) fn driver_err<D: std::fmt::Display>(op: &'static str) -> impl Fn(D) -> Error {
    move |e| backend_err(op, e.to_string())
}
