//! Random tensors, and how far two lists of values are apart.

use crate::backend::Backend;
use crate::element::Element;
use crate::error::Result;
use crate::rng::Rng;
use crate::tensor::Tensor;
use alloc::vec::Vec;

/// A tensor of uniform values in [lo, hi).
pub fn random_tensor<B: Backend, E: Element>(
    backend: &B,
    rng: &mut Rng,
    dims: &[usize],
    lo: f64,
    hi: f64,
) -> Result<Tensor<B, E>> {
    let n: usize = dims.iter().product();
    let v: Vec<f64> = (0..n).map(|_| rng.uniform_range(lo, hi)).collect();
    Tensor::from_f64s(backend, &v, dims.to_vec())
}

/// Largest |a - b| / (atol + rtol·|b|) over two equally long slices; at most 1 means
/// every element is within tolerance. NaN anywhere gives infinity.
pub fn tolerance_ratio(a: &[f64], b: &[f64], atol: f64, rtol: f64) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    let mut worst: f64 = 0.0;
    for (&x, &y) in a.iter().zip(b) {
        let r = (x - y).abs() / (atol + rtol * y.abs());
        if r.is_nan() {
            return f64::INFINITY;
        }
        worst = worst.max(r);
    }
    worst
}
