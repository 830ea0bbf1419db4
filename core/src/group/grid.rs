//! The kernel grid, its circular mask and its transformed copies (docs/math.md §5).
//!
//! A kernel of size k lives on the grid p = (y, x), y and x in linspace(-1, 1, k). For an
//! output element h the kernel net is evaluated at A(h⁻¹)·p, and kernel values with
//! |A(h⁻¹)·p| > 1 are zeroed.

use super::concat::stack_last;
use super::Elements;
use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use alloc::vec::Vec;

/// Slack of the circular mask: a grid point is inside when |p| ≤ 1 + `MASK_TOLERANCE`.
/// Points exactly on the unit circle (such as (0, ±1)) stay inside however rounding
/// falls, so every rotation of the grid keeps the same support.
pub const MASK_TOLERANCE: f64 = 1e-6;

/// The k × k grid of kernel positions (host values).
#[derive(Clone, Debug, PartialEq)]
pub struct KernelGrid {
    coords: Vec<f64>,
}

impl KernelGrid {
    /// The grid of size `k ≥ 1`. Values are `(2i - (k-1)) / (k-1)`, which is
    /// linspace(-1, 1, k) computed so that the grid is exactly symmetric
    /// (`coords[k-1-i] == -coords[i]`): a 90° rotation then maps it onto itself up to the
    /// rounding of cos and sin. For k = 1 the single position is the centre 0.
    pub fn new(k: usize) -> Result<Self> {
        if k == 0 {
            return Err(Error::bad_arg("KernelGrid::new", "kernel size must be ≥ 1"));
        }
        let coords = if k == 1 {
            alloc::vec![0.0]
        } else {
            let d = (k - 1) as f64;
            (0..k).map(|i| (2.0 * i as f64 - d) / d).collect()
        };
        Ok(KernelGrid { coords })
    }
    /// The kernel size k.
    pub fn size(&self) -> usize {
        self.coords.len()
    }
    /// linspace(-1, 1, k).
    pub fn linspace(&self) -> &[f64] {
        &self.coords
    }
    /// All positions `[y, x]`, row-major: index `i·k + j` is `(y_i, x_j)`.
    pub fn points(&self) -> Vec<[f64; 2]> {
        let mut v = Vec::with_capacity(self.coords.len() * self.coords.len());
        for &y in &self.coords {
            for &x in &self.coords {
                v.push([y, x]);
            }
        }
        v
    }
    /// The circular support, row-major like [`KernelGrid::points`]: |p| ≤ 1 (with
    /// [`MASK_TOLERANCE`]). Since every A(h) is orthogonal, |A(h⁻¹)·p| = |p|: the mask is
    /// one and the same for every sampled element.
    pub fn mask(&self) -> Vec<bool> {
        let limit = (1.0 + MASK_TOLERANCE) * (1.0 + MASK_TOLERANCE);
        self.points()
            .iter()
            .map(|p| p[0] * p[0] + p[1] * p[1] <= limit)
            .collect()
    }
    /// The grid index `(i, j)` of the position nearest to `p`, if one lies within `tol`
    /// in both coordinates (for tests that follow a point through a transformation).
    pub fn index_of(&self, p: [f64; 2], tol: f64) -> Option<(usize, usize)> {
        let find = |v: f64| self.coords.iter().position(|&c| (c - v).abs() <= tol);
        Some((find(p[0])?, find(p[1])?))
    }
    /// The y and x coordinates as two `[k, k]` tensors.
    pub fn tensors<B: Backend, E: Element>(
        &self,
        backend: &B,
    ) -> Result<(Tensor<B, E>, Tensor<B, E>)> {
        let k = self.size();
        let pts = self.points();
        let ys: Vec<f64> = pts.iter().map(|p| p[0]).collect();
        let xs: Vec<f64> = pts.iter().map(|p| p[1]).collect();
        Ok((
            Tensor::from_f64s(backend, &ys, [k, k])?,
            Tensor::from_f64s(backend, &xs, [k, k])?,
        ))
    }
    /// The mask as a `[k, k]` tensor of 1 (inside) and 0 (outside), to multiply kernels
    /// `[.., k, k]` with.
    pub fn mask_tensor<B: Backend, E: Element>(&self, backend: &B) -> Result<Tensor<B, E>> {
        let k = self.size();
        let m: Vec<f64> = self
            .mask()
            .iter()
            .map(|&b| if b { 1.0 } else { 0.0 })
            .collect();
        Tensor::from_f64s(backend, &m, [k, k])
    }
}

/// The kernel positions seen from each element: `A(h_n⁻¹)·p` for every element `h_n` and
/// grid position `p`, as `[N, k, k, 2]` (or `[B, N, k, k, 2]` for batched elements), last
/// axis (y, x). This is the lifting convolution's kernel-net input (docs/math.md §6); the
/// gradient reaches the angles (and θ behind them).
///
/// With A(h)⁻¹ = D(m)·R(-r): `y' = cos r·y - sin r·x`, `x' = m·(sin r·y + cos r·x)`.
pub fn acted_grid<B: Backend, E: Element>(
    elements: &Elements<B, E>,
    grid: &KernelGrid,
) -> Result<Tensor<B, E>> {
    let backend = elements.rotations().backend();
    let (gy, gx) = grid.tensors::<B, E>(backend)?;
    let mut dims = elements.rotations().dims().to_vec();
    dims.extend_from_slice(&[1, 1]);
    let r = elements.rotations().reshape(dims.clone())?;
    let (c, s) = (r.cos()?, r.sin()?);
    let y = c.mul(&gy)?.sub(&s.mul(&gx)?)?;
    let mut x = s.mul(&gy)?.add(&c.mul(&gx)?)?;
    if let Some(m) = elements.mirrors() {
        x = x.mul(&m.reshape(dims)?)?;
    }
    stack_last(&[&y, &x])
}
