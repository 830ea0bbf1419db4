//! The backend conformance suite: each family of [`Backend`](pgcnn_core::Backend)
//! primitives is checked once, generic over the backend, against the naive
//! [`Reference`](pgcnn_core::reference::Reference) backend (the executable definition of
//! every primitive), with one tolerance rule and one [`Report`].
//!
//! A backend's test instantiates the families it wants to hold to:
//!
//! ```
//! use pgcnn_conformance::{conv, Cases, Report, Tolerance};
//! use pgcnn_core::reference::Reference;
//!
//! // The reference against itself: trivially conformant, and quick.
//! let mut report = Report::new("reference");
//! let cases = Cases { random: 4, max_work: 20_000, seed: 1 };
//! conv::check_all(&Reference, &mut report, &cases, Tolerance::FULL);
//! report.finish();
//! ```
//!
//! Families so far: [`conv`] (forward convolution and both gradients: comparisons with
//! the reference in f32 and f64, finite-difference checks of both gradients in f64,
//! bit-for-bit repeatability, errors for bad descriptors) and [`gemm`] (batched matrix
//! products in every transpose and batch-stride layout, the very tall products of kernel
//! nets included: comparisons in f32 and f64, repeatability, errors). A new primitive is
//! checked on every backend by writing its family here once.

mod cases;
pub mod conv;
pub mod data;
pub mod gemm;
mod report;

pub use cases::Cases;
pub use report::{ulp_distance, Report, Tolerance};
