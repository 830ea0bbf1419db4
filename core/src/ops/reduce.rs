//! Sums, means and maxima over axes.

use crate::backend::{AxisLayout, Backend, ReduceOp};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use alloc::vec;
use alloc::vec::Vec;

impl<B: Backend, E: Element> Tensor<B, E> {
    /// Reduces one axis. With `keepdim` the axis stays with size 1.
    pub fn reduce_axis(&self, op: ReduceOp, axis: usize, keepdim: bool) -> Result<Self> {
        if axis >= self.rank() {
            return Err(Error::bad_arg(
                "reduce",
                alloc::format!("axis {axis} is out of range for shape {:?}", self.dims()),
            ));
        }
        let (outer, len, inner) = self.shape().split_at_axis(axis);
        if len == 0 {
            return Err(Error::bad_shape(
                "reduce",
                self.dims(),
                "cannot reduce an empty axis",
            ));
        }
        let y = self
            .backend()
            .reduce(op, self.storage(), AxisLayout { outer, len, inner })?;
        let mut kept = self.dims().to_vec();
        kept[axis] = 1;
        let out_dims: Vec<usize> = if keepdim {
            kept.clone()
        } else {
            self.dims()
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != axis)
                .map(|(_, &d)| d)
                .collect()
        };
        Ok(self.record(
            y,
            out_dims,
            &[self],
            move |xs: &[Tensor<B, E>], y: &Tensor<B, E>, g: &Tensor<B, E>| {
                let x = &xs[0];
                let g = g.reshape(kept.clone())?;
                let dx = match op {
                    ReduceOp::Sum => g.broadcast_to(x.dims())?,
                    ReduceOp::Max | ReduceOp::Min => {
                        // Ties share the gradient equally.
                        let mask = x.eq_mask(&y.reshape(kept.clone())?)?;
                        let count = mask.reduce_axis(ReduceOp::Sum, axis, true)?;
                        mask.mul(&g.div(&count)?)?
                    }
                };
                Ok(vec![Some(dx)])
            },
        ))
    }

    /// Sum over the given axes (negative counts from the end).
    pub fn sum_axes(&self, axes: &[isize], keepdim: bool) -> Result<Self> {
        self.reduce_axes(ReduceOp::Sum, axes, keepdim)
    }
    /// Mean over the given axes.
    pub fn mean_axes(&self, axes: &[isize], keepdim: bool) -> Result<Self> {
        let mut count = 1usize;
        for &a in axes {
            count *= self.dims()[self.shape().axis("mean", a)?];
        }
        self.sum_axes(axes, keepdim)?
            .mul_scalar(E::one() / E::from_usize(count))
    }
    /// Maximum over the given axes.
    pub fn max_axes(&self, axes: &[isize], keepdim: bool) -> Result<Self> {
        self.reduce_axes(ReduceOp::Max, axes, keepdim)
    }
    /// Sum of all elements, as a rank-0 tensor.
    pub fn sum_all(&self) -> Result<Self> {
        self.reshape(vec![self.numel()])?.sum_axes(&[0], false)
    }
    /// Mean of all elements, as a rank-0 tensor.
    pub fn mean_all(&self) -> Result<Self> {
        self.sum_all()?
            .mul_scalar(E::one() / E::from_usize(self.numel()))
    }

    /// `axes` (negative counts from the end) as axis numbers in increasing order; an
    /// error for an axis out of range or given twice.
    pub(crate) fn distinct_axes(&self, axes: &[isize]) -> Result<Vec<usize>> {
        let mut norm: Vec<usize> = axes
            .iter()
            .map(|&a| self.shape().axis("reduce", a))
            .collect::<Result<_>>()?;
        norm.sort_unstable();
        if norm.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::bad_arg(
                "reduce",
                alloc::format!("axes {axes:?} repeat an axis"),
            ));
        }
        Ok(norm)
    }

    fn reduce_axes(&self, op: ReduceOp, axes: &[isize], keepdim: bool) -> Result<Self> {
        let norm = self.distinct_axes(axes)?;
        let mut t = self.clone();
        // Last axis first, so the remaining axis numbers stay valid without keepdim.
        for &ax in norm.iter().rev() {
            t = t.reduce_axis(op, ax, keepdim)?;
        }
        Ok(t)
    }
}
