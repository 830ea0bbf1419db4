//! Finite-difference gradient checks in f64.

use crate::autodiff::Param;
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;

/// Settings of a gradient check.
#[derive(Clone, Copy, Debug)]
pub struct GradCheck {
    /// Step of the central difference.
    pub eps: f64,
    pub atol: f64,
    pub rtol: f64,
    /// Seed of the random weights that turn the output into a scalar.
    pub seed: u64,
}

impl Default for GradCheck {
    fn default() -> Self {
        GradCheck {
            eps: 1e-6,
            atol: 1e-6,
            rtol: 1e-5,
            seed: 0x5eed,
        }
    }
}

/// Compares the gradients autodiff gives for `f` with central finite differences, for
/// every element of every input. The output is reduced to a scalar with random weights
/// (so that every output element matters). Returns the largest tolerance ratio (at most
/// 1 passes), or an error naming the first input and element that fails.
pub fn check_gradients<B: Backend>(
    inputs: &[Tensor<B, f64>],
    f: impl Fn(&[Tensor<B, f64>]) -> Result<Tensor<B, f64>>,
    opts: GradCheck,
) -> Result<f64> {
    let params: Vec<Param<B, f64>> = inputs.iter().map(|t| Param::new(t.clone())).collect();
    let tracked: Vec<Tensor<B, f64>> = params.iter().map(|p| p.tensor().clone()).collect();
    let out = f(&tracked)?;
    let mut rng = Rng::seed(opts.seed);
    let weights = super::random_tensor::<B, f64>(out.backend(), &mut rng, out.dims(), -1.0, 1.0)?;
    let loss =
        |xs: &[Tensor<B, f64>]| -> Result<f64> { f(xs)?.mul(&weights)?.sum_all()?.to_scalar() };
    let grads = out.mul(&weights)?.sum_all()?.backward()?;

    let mut worst: f64 = 0.0;
    let mut values: Vec<Vec<f64>> = inputs.iter().map(|t| t.to_vec()).collect::<Result<_>>()?;
    for (i, p) in params.iter().enumerate() {
        let analytic = match grads.get(p) {
            Some(g) => g.to_vec()?,
            None => alloc::vec![0.0; p.numel()],
        };
        for j in 0..values[i].len() {
            let orig = values[i][j];
            let eval = |v: f64, values: &mut Vec<Vec<f64>>| -> Result<f64> {
                values[i][j] = v;
                let xs: Vec<Tensor<B, f64>> = values
                    .iter()
                    .zip(inputs)
                    .map(|(v, t)| Tensor::from_slice(t.backend(), v, t.shape().clone()))
                    .collect::<Result<_>>()?;
                loss(&xs)
            };
            let plus = eval(orig + opts.eps, &mut values)?;
            let minus = eval(orig - opts.eps, &mut values)?;
            values[i][j] = orig;
            let numeric = (plus - minus) / (2.0 * opts.eps);
            let ratio = (analytic[j] - numeric).abs() / (opts.atol + opts.rtol * numeric.abs());
            if ratio.is_nan() || ratio > 1.0 {
                return Err(Error::Backward(format!(
                    "gradient check failed for input {i} (shape {:?}) element {j}: autodiff {} vs finite difference {}",
                    inputs[i].dims(),
                    analytic[j],
                    numeric
                )));
            }
            worst = worst.max(ratio);
        }
    }
    Ok(worst)
}
