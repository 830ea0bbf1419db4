//! Shared helpers of the cross-crate tests.

/// The README's Rust examples (groups, kernel nets, layers, the equivariance harness, a
/// model on ndarray data), compiled and run as doctests, so the README cannot drift from
/// the code.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoc;
