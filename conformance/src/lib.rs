//! The backend conformance suite: each family of [`Backend`](pgcnn_core::Backend)
//! primitives is checked once, generic over the backend, against the naive
//! [`Reference`](pgcnn_core::reference::Reference) backend (the executable definition of
//! every primitive), with one [`Tolerance`] and one [`Report`]. Together the families
//! cover every primitive of the trait.
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
//! The families, each comparing fixed edge cases and random ones with the reference in
//! f32 and f64, checking that a second call gives the same bits, and (where a primitive
//! can refuse its input) asking for errors:
//!
//! - [`memory`]: upload, download, fill and length, bit for bit;
//! - [`unary`]: every elementwise map of one operand, special values included; the
//!   IEEE-exact ones exactly, the math-library functions within an ulp bound;
//! - [`binary`]: every elementwise map of two operands under broadcasting and strided
//!   layouts, exactly;
//! - [`reduce`]: sums (within the relative bound, against the reference in f64), maxima
//!   and minima (exactly, NaN passed over) along one axis;
//! - [`movement`]: permutations, concatenation, gathers and their adjoint (scatter-adds in
//!   index order), bit for bit;
//! - [`pool`]: 2×2 max pooling and its gradient, ties and NaN included, exactly;
//! - [`norm`]: the fused per-channel normalisations (batch, layer, instance norm),
//!   forward and backward, with and without the affine, within the relative bound
//!   against the reference in f64;
//! - [`adam`]: the Adam step of one parameter and of many at once, bit for bit (the
//!   trait asks every backend to round it as its default body does);
//! - [`gemm`]: batched matrix products in every transpose and batch-stride layout, the
//!   very tall products of kernel nets included;
//! - [`conv`]: forward convolution and both gradients, with finite-difference checks of
//!   both gradients in f64.
//!
//! One [`Tolerance`] says how far results may be from the reference's (relative bounds
//! for sums, ulp bounds for math-library functions; everything else exactly), one
//! [`Report`] collects every disagreement. A new primitive is checked on every backend by
//! writing its checks here once, in its family (see docs/conformance.md).

pub mod adam;
pub mod binary;
mod cases;
pub mod conv;
pub mod data;
pub mod gemm;
pub mod memory;
pub mod movement;
pub mod norm;
pub mod pool;
pub mod reduce;
mod report;
pub mod unary;

pub use cases::Cases;
pub use report::{ulp_distance, Report, Tolerance};
