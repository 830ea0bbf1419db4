//! Elementwise maps of two tensors, with NumPy broadcasting.

use crate::backend::{Backend, BinaryOp, BroadcastLayout, ReduceOp};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::{broadcast_shapes, broadcast_strides};
use crate::tensor::Tensor;
use alloc::vec;

impl<B: Backend, E: Element> Tensor<B, E> {
    /// Applies `op` to broadcast pairs of elements, recording its derivative.
    pub fn zip(&self, op: BinaryOp, rhs: &Self) -> Result<Self> {
        let out = broadcast_shapes(op_name(op), self.dims(), rhs.dims())?;
        let layout = BroadcastLayout {
            a_strides: broadcast_strides(self.dims(), &out),
            b_strides: broadcast_strides(rhs.dims(), &out),
            out_dims: out.clone(),
        };
        let y = self
            .backend()
            .binary(op, self.storage(), rhs.storage(), &layout)?;
        Ok(self.record(
            y,
            out,
            &[self, rhs],
            move |xs: &[Tensor<B, E>], y: &Tensor<B, E>, g: &Tensor<B, E>| {
                let (a, b) = (&xs[0], &xs[1]);
                use BinaryOp::*;
                let (da, db) = match op {
                    Add => (Some(g.clone()), Some(g.clone())),
                    Sub => (Some(g.clone()), Some(g.neg()?)),
                    Mul => (Some(g.mul(b)?), Some(g.mul(a)?)),
                    Div => (Some(g.div(b)?), Some(g.mul(y)?.div(b)?.neg()?)),
                    Maximum | Minimum => {
                        // The gradient goes to the operand that was chosen (a on ties).
                        let chose_a = a.zip(Equal, y)?;
                        let chose_b = chose_a.neg()?.add_scalar(E::one())?;
                        (Some(g.mul(&chose_a)?), Some(g.mul(&chose_b)?))
                    }
                    Equal | Greater => (None, None),
                };
                Ok(vec![
                    da.map(|d| d.sum_to(a.dims())).transpose()?,
                    db.map(|d| d.sum_to(b.dims())).transpose()?,
                ])
            },
        ))
    }

    pub fn add(&self, rhs: &Self) -> Result<Self> {
        self.zip(BinaryOp::Add, rhs)
    }
    pub fn sub(&self, rhs: &Self) -> Result<Self> {
        self.zip(BinaryOp::Sub, rhs)
    }
    pub fn mul(&self, rhs: &Self) -> Result<Self> {
        self.zip(BinaryOp::Mul, rhs)
    }
    pub fn div(&self, rhs: &Self) -> Result<Self> {
        self.zip(BinaryOp::Div, rhs)
    }
    pub fn maximum(&self, rhs: &Self) -> Result<Self> {
        self.zip(BinaryOp::Maximum, rhs)
    }
    pub fn minimum(&self, rhs: &Self) -> Result<Self> {
        self.zip(BinaryOp::Minimum, rhs)
    }
    /// 1 where equal, else 0 (no gradient).
    pub fn eq_mask(&self, rhs: &Self) -> Result<Self> {
        self.zip(BinaryOp::Equal, rhs)
    }
    /// 1 where `self > rhs`, else 0 (no gradient).
    pub fn gt_mask(&self, rhs: &Self) -> Result<Self> {
        self.zip(BinaryOp::Greater, rhs)
    }

    /// Sums a broadcast result back down to `dims` (the adjoint of broadcasting): over
    /// the leading axes `dims` lacks and the axes where `dims` has 1, neighbouring ones
    /// in one reduction.
    pub fn sum_to(&self, dims: &[usize]) -> Result<Self> {
        if self.dims() == dims {
            return Ok(self.clone());
        }
        let own = self.dims();
        let bad = || {
            Error::mismatch(
                "sum_to",
                own,
                dims,
                "the shape is not one that broadcasts to the tensor's",
            )
        };
        let offset = own.len().checked_sub(dims.len()).ok_or_else(bad)?;
        let mut reduced = vec![false; own.len()];
        for (ax, &len) in own.iter().enumerate() {
            let target = if ax < offset { 1 } else { dims[ax - offset] };
            if len != target {
                if target != 1 {
                    return Err(bad());
                }
                reduced[ax] = true;
            }
        }
        self.reduce_marked(ReduceOp::Sum, &reduced)?
            .reshape(dims.to_vec())
    }

    /// Broadcasts to `dims` explicitly (a copy).
    pub fn broadcast_to(&self, dims: &[usize]) -> Result<Self> {
        let zeros = Tensor::zeros(self.backend(), dims.to_vec())?;
        let out = self.add(&zeros)?;
        if out.dims() != dims {
            return Err(crate::error::Error::mismatch(
                "broadcast_to",
                self.dims(),
                dims,
                "the tensor does not broadcast to that shape",
            ));
        }
        Ok(out)
    }
}

fn op_name(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "add",
        BinaryOp::Sub => "sub",
        BinaryOp::Mul => "mul",
        BinaryOp::Div => "div",
        BinaryOp::Maximum => "maximum",
        BinaryOp::Minimum => "minimum",
        BinaryOp::Equal => "eq_mask",
        BinaryOp::Greater => "gt_mask",
    }
}

#[cfg(test)]
mod tests {
    use crate::reference::Reference;
    use crate::tensor::Tensor;
    use alloc::string::ToString;
    use alloc::vec;
    use alloc::vec::Vec;

    #[test]
    fn sum_to_adds_over_broadcast_axes() {
        let b = Reference;
        let v: Vec<f64> = (0..24).map(f64::from).collect();
        let x = Tensor::<_, f64>::from_slice(&b, &v, [2, 3, 4]).unwrap();
        // [2, 3, 4] -> [3, 1]: over the leading axis and the last.
        let want: Vec<f64> = (0..3)
            .map(|j| {
                (0..2)
                    .flat_map(|i| (0..4).map(move |k| (i * 12 + j * 4 + k) as f64))
                    .sum()
            })
            .collect();
        let got = x.sum_to(&[3, 1]).unwrap();
        assert_eq!(got.dims(), &[3, 1]);
        assert_eq!(got.to_vec().unwrap(), want);
        assert_eq!(x.sum_to(&[2, 3, 4]).unwrap().to_vec().unwrap(), v);
        assert_eq!(x.sum_to(&[]).unwrap().to_vec().unwrap(), vec![276.0]);
    }

    #[test]
    fn sum_to_a_shape_that_does_not_broadcast_is_an_error() {
        let b = Reference;
        let x = Tensor::<_, f64>::zeros(&b, [2, 3]).unwrap();
        for dims in [&[2usize][..], &[4, 3], &[1, 2, 3]] {
            let e = x.sum_to(dims).unwrap_err().to_string();
            assert!(
                e.contains("sum_to") && e.contains("broadcast"),
                "{dims:?}: {e}"
            );
        }
    }
}
