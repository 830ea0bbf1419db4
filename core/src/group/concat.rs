//! Concatenation along the last axis with broadcasting of the leading axes: the
//! coordinate tensors of this module combine parts shaped for broadcasting (a
//! `[N, 1, k, k, 2]` position part with an `[N, M, 1, 1, s]` element part).

use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use alloc::vec::Vec;

/// Concatenates `parts` along their last axis. Leading axes broadcast (NumPy rules), so
/// a `[N, 1, k, k, 2]` part and an `[N, M, 1, 1, 1]` part give `[N, M, k, k, 3]`.
/// Every part needs rank ≥ 1 and a nonzero last axis.
pub fn concat_last<B: Backend, E: Element>(parts: &[&Tensor<B, E>]) -> Result<Tensor<B, E>> {
    if parts.is_empty() {
        return Err(Error::bad_arg("concat_last", "no tensors to concatenate"));
    }
    for p in parts {
        if p.rank() == 0 || p.dims()[p.rank() - 1] == 0 {
            return Err(Error::bad_shape(
                "concat_last",
                p.dims(),
                "every part needs a nonempty last axis",
            ));
        }
    }
    // The broadcast of the leading axes, right-aligned.
    let lead_rank = parts.iter().map(|p| p.rank() - 1).max().unwrap_or(0);
    let mut lead = alloc::vec![1usize; lead_rank];
    for p in parts {
        let own = &p.dims()[..p.rank() - 1];
        let offset = lead_rank - own.len();
        for (i, &d) in own.iter().enumerate() {
            let l = &mut lead[offset + i];
            if *l == 1 {
                *l = d;
            } else if d != 1 && d != *l {
                return Err(Error::mismatch(
                    "concat_last",
                    parts[0].dims(),
                    p.dims(),
                    "the leading axes do not broadcast together",
                ));
            }
        }
    }
    let full: Vec<Tensor<B, E>> = parts
        .iter()
        .map(|p| {
            let mut d = lead.clone();
            d.push(p.dims()[p.rank() - 1]);
            if p.dims() == d.as_slice() {
                Ok((*p).clone())
            } else {
                p.broadcast_to(&d)
            }
        })
        .collect::<Result<_>>()?;
    let refs: Vec<&Tensor<B, E>> = full.iter().collect();
    Tensor::cat(&refs, lead_rank)
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
