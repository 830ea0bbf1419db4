//! The transformations equivariance is tested with: a quarter turn of the plane after an
//! optional mirror, then an optional translation, acting on images exactly (pixel
//! permutations) and on the sample axis of group maps by the group law.

use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::group::{angle_distance, Elements, Group, RotoReflection, E2};
use crate::tensor::Tensor;
use alloc::vec::Vec;
use core::f64::consts::FRAC_PI_2;

/// Elements whose angles differ by at most this much (radians) are taken as equal when
/// following samples through a transformation (f32 grids are off by ~1e-7).
pub const ELEMENT_MATCH_TOLERANCE: f64 = 1e-4;

/// `x ↦ A(g)·x + t` on pixel positions `x = (y, x)` (row, column; origin at the image
/// centre), with `g = (k·π/2, m)` an element of O(2) as in docs/math.md §2.
///
/// Direction: `A(π/2)` sends `(y, x) = (1, 0)` (below the centre) to `(0, -1)` (left of
/// it), so on a displayed image (rows downwards) a quarter turn rotates the content
/// **clockwise**: the transformed image is NumPy's `np.rot90(img, k=-1)` (`out[i, j] =
/// img[H-1-j, i]`). The mirror (`m = -1`) reverses the columns (`x ↦ -x`,
/// `np.fliplr`), and is applied before the rotation. A function `f` becomes
/// `f(A(g)⁻¹·(x - t))`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Transformation {
    /// k in 0..4: the rotation by k·π/2.
    pub quarter_turns: u8,
    /// True for the mirror m = -1 (first).
    pub mirrored: bool,
    /// The translation (dy, dx) in pixels (last), with zeros shifted in.
    pub shift: (isize, isize),
}

impl Transformation {
    /// The identity.
    pub const IDENTITY: Transformation = Transformation {
        quarter_turns: 0,
        mirrored: false,
        shift: (0, 0),
    };
    /// The rotation by k·π/2 (k taken mod 4): `np.rot90(img, -k)`.
    pub fn rot90(k: u8) -> Self {
        Transformation {
            quarter_turns: k % 4,
            ..Self::IDENTITY
        }
    }
    /// The mirror `x ↦ -x` (columns reversed): the element (0, -1).
    pub fn mirror() -> Self {
        Transformation {
            mirrored: true,
            ..Self::IDENTITY
        }
    }
    /// The vertical flip `y ↦ -y` (rows reversed): the element (π, -1).
    pub fn flip() -> Self {
        Transformation {
            quarter_turns: 2,
            mirrored: true,
            shift: (0, 0),
        }
    }
    /// The reflection `(k·π/2, -1)`: the mirror, then k quarter turns.
    pub fn reflection(k: u8) -> Self {
        Transformation {
            quarter_turns: k % 4,
            mirrored: true,
            shift: (0, 0),
        }
    }
    /// The translation by (dy, dx) pixels.
    pub fn translation(dy: isize, dx: isize) -> Self {
        Transformation {
            shift: (dy, dx),
            ..Self::IDENTITY
        }
    }
    /// The three non-trivial quarter turns (C4 without the identity): SE(2)'s tests.
    pub fn quarter_turns() -> Vec<Self> {
        (1..4).map(Self::rot90).collect()
    }
    /// The four reflections of D4: the mirror, the flip and the two diagonals.
    pub fn reflections() -> Vec<Self> {
        (0..4).map(Self::reflection).collect()
    }
    /// A few translations (for T(2) networks, compared away from the borders).
    pub fn translations() -> Vec<Self> {
        alloc::vec![
            Self::translation(1, 0),
            Self::translation(0, -2),
            Self::translation(-1, 2)
        ]
    }
    /// The stabiliser part as an O(2) element (r, m).
    pub fn element(&self) -> RotoReflection {
        RotoReflection::new(
            self.quarter_turns as f64 * FRAC_PI_2,
            if self.mirrored { -1.0 } else { 1.0 },
        )
    }
    /// The largest |shift| component, in pixels.
    pub fn shift_extent(&self) -> usize {
        self.shift.0.unsigned_abs().max(self.shift.1.unsigned_abs())
    }

    /// Transforms the last two axes (H, W) of `x` (rank ≥ 2), differentiably. A quarter
    /// turn swaps H and W.
    pub fn apply_spatial<B: Backend, E: Element>(&self, x: &Tensor<B, E>) -> Result<Tensor<B, E>> {
        let r = x.rank();
        if r < 2 {
            return Err(Error::bad_shape(
                "Transformation::apply_spatial",
                x.dims(),
                "needs [.., H, W]",
            ));
        }
        let mut y = x.clone();
        if self.mirrored {
            y = reverse(&y, r - 1)?;
        }
        for _ in 0..self.quarter_turns {
            // out[i, j] = in[H-1-j, i]: transpose, then reverse the columns.
            y = reverse(&y.transpose(r - 2, r - 1)?, r - 1)?;
        }
        if self.shift.0 != 0 {
            y = shift_axis(&y, r - 2, self.shift.0)?;
        }
        if self.shift.1 != 0 {
            y = shift_axis(&y, r - 1, self.shift.1)?;
        }
        Ok(y)
    }

    /// For every batch row of `elements`, the permutation σ of the sample axis with
    /// `h_{σ(n)} = g⁻¹·h_n`: the transformed map's sample n is the original's sample
    /// σ(n), moved in the plane. An error when the elements are not closed under g
    /// (e.g. SE(2) elements and a mirror, or a random grid and a mirror).
    pub fn sample_permutation<B: Backend, E: Element>(
        &self,
        elements: &Elements<B, E>,
    ) -> Result<Vec<Vec<usize>>> {
        let g_inv = E2::inverse(&self.element());
        let rows = elements.batch().unwrap_or(1);
        let n = elements.len();
        let mut out = Vec::with_capacity(rows);
        for b in 0..rows {
            let row: Vec<RotoReflection> = (0..n)
                .map(|j| elements.element(b, j))
                .collect::<Result<_>>()?;
            let mut perm = Vec::with_capacity(n);
            for h in &row {
                let target = E2::product(&g_inv, h);
                let found = row.iter().position(|e| {
                    e.mirrored == target.mirrored
                        && angle_distance(e.r, target.r) <= ELEMENT_MATCH_TOLERANCE
                });
                match found {
                    Some(j) => perm.push(j),
                    None => {
                        return Err(Error::bad_arg(
                            "Transformation::sample_permutation",
                            alloc::format!(
                                "the {} elements of batch row {b} are not closed under {self}: \
                                 no sample at g⁻¹·h = {target:?} (deterministic grids with N \
                                 divisible by 4 rotations are closed under quarter turns and, \
                                 for E2, mirrors)",
                                elements.kind()
                            ),
                        ))
                    }
                }
            }
            out.push(perm);
        }
        Ok(out)
    }
}

impl core::fmt::Display for Transformation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut parts: Vec<alloc::string::String> = Vec::new();
        if self.shift != (0, 0) {
            parts.push(alloc::format!("shift({},{})", self.shift.0, self.shift.1));
        }
        if self.quarter_turns != 0 {
            parts.push(alloc::format!("rot90x{}", self.quarter_turns));
        }
        if self.mirrored {
            parts.push("mirror".into());
        }
        if parts.is_empty() {
            return f.write_str("identity");
        }
        f.write_str(&parts.join("∘"))
    }
}

/// `x` with axis `axis` reversed.
fn reverse<B: Backend, E: Element>(x: &Tensor<B, E>, axis: usize) -> Result<Tensor<B, E>> {
    let n = x.dims()[axis];
    let idx: Vec<usize> = (0..n).rev().collect();
    x.index_select(axis, &idx)
}

/// `x` moved by `by` entries along `axis` (positive: towards higher indices), zeros
/// shifted in; a shift of the whole length or more gives zeros.
fn shift_axis<B: Backend, E: Element>(
    x: &Tensor<B, E>,
    axis: usize,
    by: isize,
) -> Result<Tensor<B, E>> {
    let n = x.dims()[axis];
    let s = by.unsigned_abs().min(n);
    let mut zd = x.dims().to_vec();
    zd[axis] = s;
    if s == n {
        return Tensor::zeros(x.backend(), x.dims().to_vec());
    }
    let zeros = Tensor::zeros(x.backend(), zd)?;
    if by > 0 {
        Tensor::cat(&[&zeros, &x.narrow(axis, 0, n - s)?], axis)
    } else {
        Tensor::cat(&[&x.narrow(axis, s, n - s)?, &zeros], axis)
    }
}
