//! Matrix products (batched, optionally transposed operands) and the linear layer op.

use crate::backend::{Backend, GemmDesc};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use alloc::vec;
use alloc::vec::Vec;

impl<B: Backend, E: Element> Tensor<B, E> {
    /// `self · rhs` over the last two axes; leading axes are batch axes, equal on both
    /// sides, or absent on one side (that matrix is then shared by the whole batch).
    pub fn matmul(&self, rhs: &Self) -> Result<Self> {
        self.matmul_t(rhs, false, false)
    }

    /// `op(self) · op(rhs)` where `op` transposes the last two axes when its flag is set.
    pub fn matmul_t(&self, rhs: &Self, a_trans: bool, b_trans: bool) -> Result<Self> {
        let (a, b) = (self.dims(), rhs.dims());
        if a.len() < 2 || b.len() < 2 {
            return Err(Error::mismatch(
                "matmul",
                a,
                b,
                "both operands need at least two axes",
            ));
        }
        let (ra, ca) = (a[a.len() - 2], a[a.len() - 1]);
        let (rb, cb) = (b[b.len() - 2], b[b.len() - 1]);
        let (m, k) = if a_trans { (ca, ra) } else { (ra, ca) };
        let (kb, n) = if b_trans { (cb, rb) } else { (rb, cb) };
        if k != kb {
            return Err(Error::mismatch(
                "matmul",
                a,
                b,
                alloc::format!(
                    "inner sizes differ ({k} and {kb}) with transposes ({a_trans}, {b_trans})"
                ),
            ));
        }
        let (a_batch, b_batch) = (&a[..a.len() - 2], &b[..b.len() - 2]);
        let batch_dims: Vec<usize> = if a_batch.is_empty() {
            b_batch.to_vec()
        } else if b_batch.is_empty() || a_batch == b_batch {
            a_batch.to_vec()
        } else {
            return Err(Error::mismatch("matmul", a, b, "batch axes differ"));
        };
        let batch: usize = batch_dims.iter().product();
        let desc = GemmDesc {
            batch,
            m,
            n,
            k,
            a_trans,
            b_trans,
            a_batch_stride: if a_batch.is_empty() { 0 } else { m * k },
            b_batch_stride: if b_batch.is_empty() { 0 } else { k * n },
        };
        let c = self.backend().gemm(self.storage(), rhs.storage(), &desc)?;
        let mut out_dims = batch_dims;
        out_dims.extend_from_slice(&[m, n]);
        Ok(self.record(
            c,
            out_dims,
            &[self, rhs],
            move |xs: &[Tensor<B, E>], _: &Tensor<B, E>, g: &Tensor<B, E>| {
                let (a, b) = (&xs[0], &xs[1]);
                let da = if a_trans {
                    b.matmul_t(g, b_trans, true)?
                } else {
                    g.matmul_t(b, false, !b_trans)?
                };
                let db = if b_trans {
                    g.matmul_t(a, true, a_trans)?
                } else {
                    a.matmul_t(g, !a_trans, false)?
                };
                // A shared matrix collects the gradient of every batch element.
                Ok(vec![Some(da.sum_to(a.dims())?), Some(db.sum_to(b.dims())?)])
            },
        ))
    }

    /// A fully connected layer: `x · wᵀ + bias` for `x` `[..., in]`, `w` `[out, in]`,
    /// `bias` `[out]`; the result is `[..., out]`.
    pub fn linear(&self, w: &Self, bias: Option<&Self>) -> Result<Self> {
        let x = self.dims();
        if x.is_empty() || w.rank() != 2 || x[x.len() - 1] != w.dims()[1] {
            return Err(Error::mismatch(
                "linear",
                x,
                w.dims(),
                "needs x [..., in] and w [out, in]",
            ));
        }
        let rows: usize = x[..x.len() - 1].iter().product();
        let y = self
            .reshape(vec![rows, w.dims()[1]])?
            .matmul_t(w, false, true)?;
        let y = match bias {
            Some(b) => {
                if b.dims() != [w.dims()[0]] {
                    return Err(Error::mismatch(
                        "linear",
                        w.dims(),
                        b.dims(),
                        "bias must be [out]",
                    ));
                }
                y.add(b)?
            }
            None => y,
        };
        let mut out = x[..x.len() - 1].to_vec();
        out.push(w.dims()[0]);
        y.reshape(out)
    }
}
