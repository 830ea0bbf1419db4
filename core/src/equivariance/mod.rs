//! Measuring equivariance (in the spirit of e3nn's `assert_equivariant` and escnn's
//! `check_equivariance`): run a layer or model `f` on a transformed input `g·x` and
//! compare with the transformed output `g·f(x)`, for every transformation of a set.
//!
//! Inputs and outputs are [`Signal`]s, which know how a transformation acts on them:
//! images move in the plane, maps on the group also have their sample axis permuted by
//! the group law (sample n of `g·F` is sample σ(n) of `F` with `h_{σ(n)} = g⁻¹·h_n`),
//! invariant values (pooled features, logits) stay as they are.
//!
//! ```
//! use pgcnn_core::equivariance::*;
//! use pgcnn_core::{reference::Reference, Tensor};
//! let b = Reference;
//! let x = Tensor::<_, f64>::from_f64s(&b, &(0..16).map(f64::from).collect::<Vec<_>>(), [1, 1, 4, 4])?;
//! // The sum over the image is invariant, the square of an image equivariant.
//! let sum = |s: &Signal<Reference, f64>| Ok(Signal::Invariant(s.tensor().sum_all()?));
//! let sq = |s: &Signal<Reference, f64>| Ok(Signal::Image(s.tensor().square()?));
//! let ts = Transformation::quarter_turns();
//! let opts = EquivarianceOptions::default();
//! assert!(check_equivariance(&Signal::Image(x.clone()), sum, &ts, opts)?.max_relative_error() < 1e-15);
//! assert!(check_equivariance(&Signal::Image(x), sq, &ts, opts)?.max_relative_error() < 1e-15);
//! # Ok::<(), pgcnn_core::Error>(())
//! ```

mod transform;

pub use transform::{Transformation, ELEMENT_MATCH_TOLERANCE};

use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::group::GroupKind;
use crate::layers::GroupMap;
use crate::tensor::Tensor;
use alloc::vec::Vec;

/// A value a transformation acts on.
#[derive(Clone, Debug)]
pub enum Signal<B: Backend, E: Element> {
    /// An image or plain feature map `[.., H, W]`: moved in the plane.
    Image(Tensor<B, E>),
    /// A map on the group: moved in the plane, samples permuted by the group law.
    Group(GroupMap<B, E>),
    /// An invariant value: unchanged.
    Invariant(Tensor<B, E>),
}

impl<B: Backend, E: Element> Signal<B, E> {
    /// The values.
    pub fn tensor(&self) -> &Tensor<B, E> {
        match self {
            Signal::Image(t) | Signal::Invariant(t) => t,
            Signal::Group(m) => m.tensor(),
        }
    }
    /// The group map, for [`Signal::Group`].
    pub fn group_map(&self) -> Option<&GroupMap<B, E>> {
        match self {
            Signal::Group(m) => Some(m),
            _ => None,
        }
    }
    /// `g·self`. A group map keeps its elements (the transformed map lives on the same
    /// samples, reordered).
    pub fn transform(&self, g: &Transformation) -> Result<Self> {
        Ok(match self {
            Signal::Image(t) => Signal::Image(g.apply_spatial(t)?),
            Signal::Invariant(t) => Signal::Invariant(t.clone()),
            Signal::Group(m) => {
                let perms = g.sample_permutation(m.elements())?;
                let t = m.tensor();
                let permuted = if perms.iter().all(|p| *p == perms[0]) {
                    t.index_select(2, &perms[0])?
                } else {
                    let rows: Vec<Tensor<B, E>> = perms
                        .iter()
                        .enumerate()
                        .map(|(b, p)| t.narrow(0, b, 1)?.index_select(2, p))
                        .collect::<Result<_>>()?;
                    let refs: Vec<&Tensor<B, E>> = rows.iter().collect();
                    Tensor::cat(&refs, 0)?
                };
                Signal::Group(m.with_tensor(g.apply_spatial(&permuted)?)?)
            }
        })
    }
    fn variant(&self) -> &'static str {
        match self {
            Signal::Image(_) => "image",
            Signal::Group(_) => "group map",
            Signal::Invariant(_) => "invariant value",
        }
    }
}

/// Settings of [`check_equivariance`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EquivarianceOptions {
    /// How far (pixels) the model looks around an output position: the sum of
    /// `(k - 1)/2` over its convolutions. Only used for translations, which are exact
    /// only away from the zero-padded borders: for them the comparison skips
    /// `receptive_radius + |shift|` pixels at every edge. Rotations and mirrors about the
    /// image centre are exact everywhere and compare everything.
    pub receptive_radius: usize,
}

/// The measured error for one transformation.
#[derive(Clone, Debug, PartialEq)]
pub struct EquivarianceError {
    /// The transformation g.
    pub transformation: Transformation,
    /// `‖f(g·x) - g·f(x)‖₂ / ‖g·f(x)‖₂` (the absolute error when `g·f(x)` is zero).
    pub relative_error: f64,
    /// `max |f(g·x) - g·f(x)|`.
    pub max_abs_error: f64,
}

/// The errors of every transformation checked.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct EquivarianceReport {
    /// One entry per transformation, in the order given.
    pub errors: Vec<EquivarianceError>,
}

impl EquivarianceReport {
    /// The largest relative error (0 for no transformations).
    pub fn max_relative_error(&self) -> f64 {
        self.errors
            .iter()
            .map(|e| e.relative_error)
            .fold(0.0, |a, b| if b.is_nan() || b > a { b } else { a })
    }
    /// True when every relative error is at most `tolerance` (NaN fails).
    pub fn within(&self, tolerance: f64) -> bool {
        self.errors.iter().all(|e| e.relative_error <= tolerance)
    }
}

impl core::fmt::Display for EquivarianceReport {
    /// One `name: relative error` pair per transformation, comma separated.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}: {:.2e}", e.transformation, e.relative_error)?;
        }
        Ok(())
    }
}

/// The transformations worth testing a model for `kind` with: T(2) translations (pass a
/// `receptive_radius`), SE(2) the three quarter turns, E(2) those and the four
/// reflections of D4.
pub fn standard_transformations(kind: GroupKind) -> Vec<Transformation> {
    match kind {
        GroupKind::T2 => Transformation::translations(),
        GroupKind::Se2 => Transformation::quarter_turns(),
        GroupKind::E2 => {
            let mut v = Transformation::quarter_turns();
            v.extend(Transformation::reflections());
            v
        }
    }
}

/// Runs `f` on `input` and on every `g·input`, and measures how far `f(g·x)` is from
/// `g·f(x)` ([`EquivarianceError`]). `f` must be deterministic: with random sampling,
/// build a freshly seeded [`ForwardCtx`](crate::layers::ForwardCtx) inside it, so that
/// both passes draw the same elements (a stratified random grid with N divisible by 4
/// is closed under quarter turns; mirrors need the deterministic grid).
///
/// Errors: `f` failing, outputs of different kinds or shapes, or output elements that
/// are not closed under a transformation.
pub fn check_equivariance<B: Backend, E: Element>(
    input: &Signal<B, E>,
    mut f: impl FnMut(&Signal<B, E>) -> Result<Signal<B, E>>,
    transformations: &[Transformation],
    opts: EquivarianceOptions,
) -> Result<EquivarianceReport> {
    let base = f(input)?;
    let mut errors = Vec::with_capacity(transformations.len());
    for g in transformations {
        let expected = base.transform(g)?;
        let got = f(&input.transform(g)?)?;
        if got.variant() != expected.variant() || got.tensor().dims() != expected.tensor().dims() {
            return Err(Error::mismatch(
                "check_equivariance",
                got.tensor().dims(),
                expected.tensor().dims(),
                alloc::format!(
                    "f(g·x) is a {} but g·f(x) a {} (g = {g})",
                    got.variant(),
                    expected.variant()
                ),
            ));
        }
        let margin = match (&expected, g.shift_extent()) {
            (Signal::Invariant(_), _) | (_, 0) => 0,
            (_, s) => opts.receptive_radius + s,
        };
        let a = interior(got.tensor(), margin)?;
        let b = interior(expected.tensor(), margin)?;
        errors.push(compare(g, &a, &b));
    }
    Ok(EquivarianceReport { errors })
}

/// The values of `t` at least `margin` pixels from every edge of its last two axes.
fn interior<B: Backend, E: Element>(t: &Tensor<B, E>, margin: usize) -> Result<Vec<f64>> {
    let mut t = t.clone();
    if margin > 0 {
        let r = t.rank();
        for axis in [r - 2, r - 1] {
            let n = t.dims()[axis];
            if n <= 2 * margin {
                return Err(Error::bad_shape(
                    "check_equivariance",
                    t.dims(),
                    alloc::format!(
                        "nothing is left to compare after skipping {margin} pixels at each \
                         edge (receptive radius plus shift): use a larger image"
                    ),
                ));
            }
            t = t.narrow(axis, margin, n - 2 * margin)?;
        }
    }
    Ok(t.to_vec()?.iter().map(|&v| Element::to_f64(v)).collect())
}

fn compare(g: &Transformation, got: &[f64], expected: &[f64]) -> EquivarianceError {
    let (mut diff2, mut norm2, mut max_abs) = (0.0f64, 0.0f64, 0.0f64);
    for (&a, &b) in got.iter().zip(expected) {
        let d = a - b;
        diff2 += d * d;
        norm2 += b * b;
        // f64::max drops a NaN, so keep it explicitly.
        max_abs = if d.is_nan() || max_abs.is_nan() {
            f64::NAN
        } else {
            max_abs.max(d.abs())
        };
    }
    let diff = num_traits::Float::sqrt(diff2);
    let norm = num_traits::Float::sqrt(norm2);
    EquivarianceError {
        transformation: *g,
        relative_error: if norm > 0.0 { diff / norm } else { diff },
        max_abs_error: max_abs,
    }
}
