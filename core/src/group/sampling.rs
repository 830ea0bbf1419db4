//! Sampling the whole stabiliser (docs/math.md §3): deterministic grids (C_N, D_{N/2}) and
//! stratified random grids with one random offset per draw.

use super::{Elements, GroupKind};
use crate::backend::Backend;
use crate::element::Element;
use crate::error::Result;
use crate::rng::Rng;
use alloc::vec::Vec;
use core::f64::consts::TAU;

/// How a layer picks its group elements (the config's `sampling_method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SamplingMethod {
    /// The fixed grid `r_i = 2π·i/N_r`: the discrete subgroup C_N (SE(2)) or D_{N/2} (E(2)).
    Deterministic,
    /// The stratified grid `r_i = 2π·(i + u)/N_r`, one `u ~ U[0, 1)` per draw.
    Random,
}

/// The angles `2π·(i + offset)/n` for i = 0..n-1: the deterministic grid for offset 0, one
/// stratified random draw for `offset = u ∈ [0, 1)`.
pub fn rotation_grid(n: usize, offset: f64) -> Vec<f64> {
    (0..n)
        .map(|i| TAU * (i as f64 + offset) / n as f64)
        .collect()
}

/// Host values of one draw of `n_r` rotations, laid out for `kind`: for E(2) the
/// rotations `r_i` with m = +1, then the mirrored elements `(-r_i mod 2π, -1)`.
///
/// The mirrored half is the reference implementation's `(r_i, -1)` written in pgcnn's
/// parameterisation (its element `(r, m)` is pgcnn's `(m·r, m)`), so the samples come in
/// the reference's order: for the deterministic D4 grid (0,+1), (π/2,+1), (π,+1),
/// (3π/2,+1), (0,-1), (3π/2,-1), (π,-1), (π/2,-1) (docs/math.md §3).
pub(crate) fn lay_out(kind: GroupKind, rotations: &[f64]) -> (Vec<f64>, Option<Vec<f64>>) {
    if kind.has_mirrors() {
        let n = rotations.len();
        let mut r = rotations.to_vec();
        r.extend(rotations.iter().map(|&v| mirrored_rotation(v)));
        let m = (0..2 * n).map(|i| if i < n { 1.0 } else { -1.0 }).collect();
        (r, Some(m))
    } else {
        (rotations.to_vec(), None)
    }
}

/// The rotation pgcnn gives the mirrored sample paired with rotation `r`: `-r mod 2π`,
/// in [0, 2π) (0 stays 0, not 2π).
pub(crate) fn mirrored_rotation(r: f64) -> f64 {
    // `%` keeps the sign of its left side; `+ 0.0` turns -0.0 into 0.0.
    let v = (-r) % TAU;
    let v = if v < 0.0 { v + TAU } else { v };
    if v >= TAU {
        0.0
    } else {
        v + 0.0
    }
}

/// Samples the whole stabiliser of `kind` with `no_samples` = N samples, as the lifting
/// layer always does and a group convolution that is not partial does when it draws its
/// own elements. With `batch = Some(B)` every batch element gets its own draw (`[B, N]`
/// tensors; for the deterministic grid all rows are equal). The result carries no
/// gradient. T(2) gives its single identity element whatever N is.
pub fn sample_group<B: Backend, E: Element>(
    backend: &B,
    kind: GroupKind,
    no_samples: usize,
    method: SamplingMethod,
    batch: Option<usize>,
    rng: &mut Rng,
) -> Result<Elements<B, E>> {
    let n_r = kind.rotations_for(no_samples)?;
    let rows = batch.unwrap_or(1);
    let mut rotations = Vec::new();
    let mut mirrors = Vec::new();
    for _ in 0..rows {
        let u = match (kind, method) {
            (GroupKind::T2, _) | (_, SamplingMethod::Deterministic) => 0.0,
            (_, SamplingMethod::Random) => rng.uniform(),
        };
        let (r, m) = lay_out(kind, &rotation_grid(n_r, u));
        rotations.extend(r);
        if let Some(m) = m {
            mirrors.extend(m);
        }
    }
    let mirrors = kind.has_mirrors().then_some(mirrors.as_slice());
    Elements::from_values(backend, kind, &rotations, mirrors, batch)
}
