//! Differentiable concatenation along the last axis, with broadcasting of the leading
//! axes, built from matmul and add only.
//!
//! The coordinate tensors of this module are small (a few thousand rows of 2–4 values),
//! so embedding each part with a constant 0/1 selection matrix costs nothing worth
//! mentioning, and its gradient comes for free from the matmul and add rules.

use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use alloc::vec;
use alloc::vec::Vec;

/// Concatenates `parts` along their last axis. Leading axes broadcast (NumPy rules), so
/// a `[N, 1, k, k, 2]` part and an `[N, M, 1, 1, 1]` part give `[N, M, k, k, 3]`.
/// Every part needs rank ≥ 1 and a nonzero last axis.
pub fn concat_last<B: Backend, E: Element>(parts: &[&Tensor<B, E>]) -> Result<Tensor<B, E>> {
    let Some(first) = parts.first() else {
        return Err(Error::bad_arg("concat_last", "no tensors to concatenate"));
    };
    for p in parts {
        if p.rank() == 0 || p.dims()[p.rank() - 1] == 0 {
            return Err(Error::bad_shape(
                "concat_last",
                p.dims(),
                "every part needs a nonempty last axis",
            ));
        }
    }
    let widths: Vec<usize> = parts.iter().map(|p| p.dims()[p.rank() - 1]).collect();
    let total: usize = widths.iter().sum();
    let backend = first.backend();
    let mut sum: Option<Tensor<B, E>> = None;
    let mut offset = 0;
    for (p, &w) in parts.iter().zip(&widths) {
        // Selection matrix [w, total] with ones at (i, offset + i).
        let mut sel = vec![E::zero(); w * total];
        for i in 0..w {
            sel[i * total + offset + i] = E::one();
        }
        let sel = Tensor::from_slice(backend, &sel, [w, total])?;
        let embedded = if p.rank() == 1 {
            p.reshape([1, w])?.matmul(&sel)?.reshape([total])?
        } else {
            p.matmul(&sel)?
        };
        sum = Some(match sum {
            None => embedded,
            Some(s) => s.add(&embedded)?,
        });
        offset += w;
    }
    // There was at least one part, so `sum` is set.
    Ok(sum.unwrap())
}

/// Stacks equally broadcastable tensors along a new last axis: `[..]` parts give
/// `[.., parts.len()]`.
pub fn stack_last<B: Backend, E: Element>(parts: &[&Tensor<B, E>]) -> Result<Tensor<B, E>> {
    let expanded: Vec<Tensor<B, E>> = parts
        .iter()
        .map(|p| {
            let mut d = p.dims().to_vec();
            d.push(1);
            p.reshape(d)
        })
        .collect::<Result<_>>()?;
    let refs: Vec<&Tensor<B, E>> = expanded.iter().collect();
    concat_last(&refs)
}
