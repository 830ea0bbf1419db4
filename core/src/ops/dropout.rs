//! Inverted dropout: elementwise, and per channel (PyTorch's Dropout2d/3d).
//!
//! The keep mask is drawn on the host from the caller's [`Rng`], so a seed fixes it on
//! every backend, and uploaded; the output is `x · mask`, so the gradient (the same mask)
//! comes from autodiff of the product.

use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;

impl<B: Backend, E: Element> Tensor<B, E> {
    /// Zeroes each element with probability `p` and scales the kept ones by `1/(1-p)`,
    /// so the expected value is unchanged. The identity, drawing nothing from `rng`,
    /// when `!training` or `p == 0`. `p` must lie in [0, 1), in either mode.
    pub fn dropout(&self, p: f64, rng: &mut Rng, training: bool) -> Result<Self> {
        check_probability("dropout", p)?;
        if !training || p == 0.0 {
            return Ok(self.clone());
        }
        let mask = keep_mask(self, self.dims().to_vec(), p, rng)?;
        self.mul(&mask)
    }

    /// Channel dropout on `[B, C, ...]` (PyTorch's Dropout2d on images, Dropout3d on group
    /// maps): each whole map `[b, c, ...]` is zeroed with probability `p`, the kept ones
    /// scaled by `1/(1-p)`; one draw per (b, c), in row-major order. The identity, drawing
    /// nothing, when `!training` or `p == 0`. `p` must lie in [0, 1).
    pub fn dropout_channels(&self, p: f64, rng: &mut Rng, training: bool) -> Result<Self> {
        const OP: &str = "dropout_channels";
        check_probability(OP, p)?;
        if self.rank() < 2 {
            return Err(Error::bad_shape(
                OP,
                self.dims(),
                "needs [B, C, ...] (rank 2 or more)",
            ));
        }
        if !training || p == 0.0 {
            return Ok(self.clone());
        }
        // [B, C, 1, ..., 1]: one mask value broadcast over each map.
        let mut mask_dims = alloc::vec![1; self.rank()];
        mask_dims[..2].copy_from_slice(&self.dims()[..2]);
        let mask = keep_mask(self, mask_dims, p, rng)?;
        self.mul(&mask)
    }
}

fn check_probability(op: &'static str, p: f64) -> Result<()> {
    // NaN fails this test too.
    if !(0.0..1.0).contains(&p) {
        return Err(Error::bad_arg(
            op,
            format!("the drop probability {p} is not in [0, 1)"),
        ));
    }
    Ok(())
}

/// A detached tensor of shape `dims` holding `1/(1-p)` with probability `1-p` and 0
/// otherwise, on `like`'s backend.
fn keep_mask<B: Backend, E: Element>(
    like: &Tensor<B, E>,
    dims: Vec<usize>,
    p: f64,
    rng: &mut Rng,
) -> Result<Tensor<B, E>> {
    let scale = E::from_f64(1.0 / (1.0 - p));
    let n: usize = dims.iter().product();
    let values: Vec<E> = (0..n)
        .map(|_| if rng.uniform() >= p { scale } else { E::zero() })
        .collect();
    Tensor::from_slice(like.backend(), &values, dims)
}
