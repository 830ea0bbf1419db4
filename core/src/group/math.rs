//! The group law in plain f64 on the host (docs/math.md §2): the definition the tensor code
//! is tested against, and what equivariance tests use to transform inputs.
//!
//! Rotations are angles in [0, 2π); an E(2) element is a rotation after a mirror,
//! `(r, m)` acting on a position `p = (y, x)` (row, column) by
//! `A(r, m) = R(r)·D(m) = [[cos r, m·sin r], [-sin r, m·cos r]]`.

use super::GroupKind;
use crate::rng::Rng;
use alloc::vec;
use alloc::vec::Vec;
use core::f64::consts::{FRAC_PI_2, PI, TAU};
use num_traits::Float;

/// A 2×2 matrix acting on `(y, x)`, row-major.
pub type Matrix2 = [[f64; 2]; 2];

/// `angle mod 2π`, in [0, 2π). Rounding can give exactly 2π for tiny negative angles;
/// that is mapped to 0 so that the result really lies in the half-open interval.
pub fn wrap_angle(angle: f64) -> f64 {
    let w = angle - TAU * Float::floor(angle / TAU);
    if w >= TAU {
        0.0
    } else {
        w
    }
}

/// Distance between two angles on the circle, in [0, π].
pub fn angle_distance(a: f64, b: f64) -> f64 {
    let d = wrap_angle(a - b);
    d.min(TAU - d)
}

/// The product of two 2×2 matrices.
pub fn mat_mul(a: &Matrix2, b: &Matrix2) -> Matrix2 {
    let mut c = [[0.0; 2]; 2];
    for i in 0..2 {
        for j in 0..2 {
            c[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j];
        }
    }
    c
}

/// `a · p` for a position `p = [y, x]`.
pub fn mat_vec(a: &Matrix2, p: [f64; 2]) -> [f64; 2] {
    [
        a[0][0] * p[0] + a[0][1] * p[1],
        a[1][0] * p[0] + a[1][1] * p[1],
    ]
}

/// The stabiliser part of a group (the part that fixes the origin) with its action on R²:
/// everything a layer needs beyond translations. Implemented by [`T2`], [`Se2`], [`E2`].
pub trait Group {
    /// One element of the stabiliser.
    type Element: Copy + core::fmt::Debug + PartialEq;
    /// The run-time tag of this group.
    const KIND: GroupKind;

    /// The neutral element.
    fn identity() -> Self::Element;
    /// `a · b` (apply `b` first, then `a`).
    fn product(a: &Self::Element, b: &Self::Element) -> Self::Element;
    /// `a⁻¹`.
    fn inverse(a: &Self::Element) -> Self::Element;
    /// The matrix `A(a)` acting on `(y, x)`; `A(a·b) = A(a)·A(b)`.
    fn action_matrix(a: &Self::Element) -> Matrix2;
    /// The coordinates the kernel net sees for a relative element (docs/math.md §2): the
    /// rotation as `ρ/π - 1` in [-1, 1), then the mirror as ±1; `stabiliser_dim()` values.
    /// `ρ` is the element's rotation in the reference implementation's parameterisation:
    /// `r` for SO(2), `m·r mod 2π` for O(2) (its `(r, m)` is pgcnn's `(m·r, m)`).
    fn kernel_coords(a: &Self::Element) -> Vec<f64>;
    /// Elements worth testing every property on (in the spirit of escnn's
    /// `testing_elements`): the multiples of 90° (with both mirrors for E(2)), which map
    /// the kernel grid onto itself, followed by `extra` random elements.
    fn testing_elements(rng: &mut Rng, extra: usize) -> Vec<Self::Element>;
    /// A uniformly random element.
    fn random_element(rng: &mut Rng) -> Self::Element;
    /// Equality up to `tol` in every component, angles compared on the circle.
    fn approx_eq(a: &Self::Element, b: &Self::Element, tol: f64) -> bool;
    /// The element as (rotation, mirror): the form [`Elements`](super::Elements) stores.
    fn to_parts(a: &Self::Element) -> (f64, f64);

    /// Dimension of the stabiliser coordinates (0, 1 or 2).
    fn stabiliser_dim() -> usize {
        Self::KIND.stabiliser_dim()
    }
    /// The number of rotations for N samples (see [`GroupKind::rotations_for`]).
    fn rotations_for(no_samples: usize) -> crate::Result<usize> {
        Self::KIND.rotations_for(no_samples)
    }
    /// `A(a)·p`.
    fn act(a: &Self::Element, p: [f64; 2]) -> [f64; 2] {
        mat_vec(&Self::action_matrix(a), p)
    }
}

/// The rotation matrix R(r) = [[cos r, sin r], [-sin r, cos r]] on (y, x).
pub fn rotation_matrix(r: f64) -> Matrix2 {
    let (s, c) = Float::sin_cos(r);
    [[c, s], [-s, c]]
}

/// Translations only: the stabiliser is the trivial group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct T2;

impl Group for T2 {
    type Element = ();
    const KIND: GroupKind = GroupKind::T2;
    fn identity() {}
    fn product(_: &(), _: &()) {}
    fn inverse(_: &()) {}
    fn action_matrix(_: &()) -> Matrix2 {
        [[1.0, 0.0], [0.0, 1.0]]
    }
    fn kernel_coords(_: &()) -> Vec<f64> {
        Vec::new()
    }
    fn testing_elements(_: &mut Rng, _: usize) -> Vec<()> {
        vec![()]
    }
    fn random_element(_: &mut Rng) {}
    fn approx_eq(_: &(), _: &(), _: f64) -> bool {
        true
    }
    fn to_parts(_: &()) -> (f64, f64) {
        (0.0, 1.0)
    }
}

/// Rotations: the stabiliser SO(2), an element is an angle in [0, 2π).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Se2;

impl Group for Se2 {
    type Element = f64;
    const KIND: GroupKind = GroupKind::Se2;
    fn identity() -> f64 {
        0.0
    }
    fn product(a: &f64, b: &f64) -> f64 {
        wrap_angle(a + b)
    }
    fn inverse(a: &f64) -> f64 {
        wrap_angle(-a)
    }
    fn action_matrix(a: &f64) -> Matrix2 {
        rotation_matrix(*a)
    }
    fn kernel_coords(a: &f64) -> Vec<f64> {
        vec![wrap_angle(*a) / PI - 1.0]
    }
    fn testing_elements(rng: &mut Rng, extra: usize) -> Vec<f64> {
        let mut v: Vec<f64> = (0..4).map(|i| i as f64 * FRAC_PI_2).collect();
        v.extend((0..extra).map(|_| Self::random_element(rng)));
        v
    }
    fn random_element(rng: &mut Rng) -> f64 {
        rng.uniform_range(0.0, TAU)
    }
    fn approx_eq(a: &f64, b: &f64, tol: f64) -> bool {
        angle_distance(*a, *b) <= tol
    }
    fn to_parts(a: &f64) -> (f64, f64) {
        (*a, 1.0)
    }
}

/// An element of O(2): rotation `r` (in [0, 2π)) after the mirror `D(m)`, where
/// `m = -1` (mirrored) flips x.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RotoReflection {
    /// The rotation angle.
    pub r: f64,
    /// True for `m = -1`.
    pub mirrored: bool,
}

impl RotoReflection {
    /// The element `(r, m)` for `m = ±1` (any negative `m` means mirrored).
    pub fn new(r: f64, m: f64) -> Self {
        RotoReflection {
            r: wrap_angle(r),
            mirrored: m < 0.0,
        }
    }
    /// The mirror as ±1.
    pub fn m(&self) -> f64 {
        if self.mirrored {
            -1.0
        } else {
            1.0
        }
    }
}

/// Rotations and mirrors: the stabiliser O(2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct E2;

impl Group for E2 {
    type Element = RotoReflection;
    const KIND: GroupKind = GroupKind::E2;
    fn identity() -> RotoReflection {
        RotoReflection::new(0.0, 1.0)
    }
    /// `(r1, m1)·(r2, m2) = (r1 + m1·r2, m1·m2)`.
    fn product(a: &RotoReflection, b: &RotoReflection) -> RotoReflection {
        RotoReflection::new(a.r + a.m() * b.r, a.m() * b.m())
    }
    /// `(r, m)⁻¹ = (-m·r, m)`.
    fn inverse(a: &RotoReflection) -> RotoReflection {
        RotoReflection::new(-a.m() * a.r, a.m())
    }
    fn action_matrix(a: &RotoReflection) -> Matrix2 {
        let (s, c) = Float::sin_cos(a.r);
        let m = a.m();
        [[c, m * s], [-s, m * c]]
    }
    fn kernel_coords(a: &RotoReflection) -> Vec<f64> {
        vec![wrap_angle(a.m() * a.r) / PI - 1.0, a.m()]
    }
    fn testing_elements(rng: &mut Rng, extra: usize) -> Vec<RotoReflection> {
        let mut v = Vec::new();
        for m in [1.0, -1.0] {
            for i in 0..4 {
                v.push(RotoReflection::new(i as f64 * FRAC_PI_2, m));
            }
        }
        v.extend((0..extra).map(|_| Self::random_element(rng)));
        v
    }
    fn random_element(rng: &mut Rng) -> RotoReflection {
        let r = rng.uniform_range(0.0, TAU);
        let m = if rng.uniform() < 0.5 { 1.0 } else { -1.0 };
        RotoReflection::new(r, m)
    }
    fn approx_eq(a: &RotoReflection, b: &RotoReflection, tol: f64) -> bool {
        a.mirrored == b.mirrored && angle_distance(a.r, b.r) <= tol
    }
    fn to_parts(a: &RotoReflection) -> (f64, f64) {
        (a.r, a.m())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_angle_is_half_open() {
        assert_eq!(wrap_angle(0.0), 0.0);
        assert_eq!(wrap_angle(TAU), 0.0);
        assert!((wrap_angle(-FRAC_PI_2) - 3.0 * FRAC_PI_2).abs() < 1e-15);
        assert!(wrap_angle(-1e-300) < TAU);
        assert!((wrap_angle(5.0 * TAU + 1.0) - 1.0).abs() < 1e-12);
    }
}
