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
        let mut reduced = vec![false; self.rank()];
        for &ax in &norm {
            reduced[ax] = true;
        }
        let kept = self.reduce_marked(op, &reduced)?;
        if keepdim {
            return Ok(kept);
        }
        let dims: Vec<usize> = (0..self.rank())
            .filter(|&ax| !reduced[ax])
            .map(|ax| self.dims()[ax])
            .collect();
        kept.reshape(dims)
    }

    /// Reduces every axis marked in `reduced` (one flag per axis), keeping each as an
    /// axis of length 1. Neighbouring marked axes are reduced together, as one axis of
    /// their combined length (a reshape, which is free), so that a run of axes costs one
    /// reduction, not one per axis: `[a, b, c, d]` reduced over a, b and d is
    /// `[a·b, c, d]` reduced over its first and last axes. Axes of length 1 join either
    /// neighbour.
    pub(crate) fn reduce_marked(&self, op: ReduceOp, reduced: &[bool]) -> Result<Self> {
        debug_assert_eq!(reduced.len(), self.rank());
        let runs = merged_runs(self.dims(), reduced);
        let kept_dims: Vec<usize> = self
            .dims()
            .iter()
            .zip(reduced)
            .map(|(&len, &r)| if r { 1 } else { len })
            .collect();
        if !runs.iter().any(|&(_, r)| r) {
            // Only axes of length 1 to reduce (or none): nothing to add up.
            return self.reshape(kept_dims);
        }
        let mut t = self.reshape(runs.iter().map(|&(len, _)| len).collect::<Vec<_>>())?;
        // Last run first; with keepdim the axis numbers stay valid anyway.
        for (ax, _) in runs.iter().enumerate().rev().filter(|(_, &(_, r))| r) {
            t = t.reduce_axis(op, ax, true)?;
        }
        t.reshape(kept_dims)
    }
}

/// The axes of `dims` as runs of (combined length, reduced?): neighbouring axes with the
/// same flag in `reduced` merged, axes of length 1 left out.
fn merged_runs(dims: &[usize], reduced: &[bool]) -> Vec<(usize, bool)> {
    let mut runs: Vec<(usize, bool)> = Vec::new();
    for (&len, &r) in dims.iter().zip(reduced) {
        if len == 1 {
            continue;
        }
        match runs.last_mut() {
            Some((combined, last)) if *last == r => *combined *= len,
            _ => runs.push((len, r)),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::Reference;

    #[test]
    fn neighbouring_reduced_axes_merge_and_unit_axes_join_either_side() {
        let (t, f) = (true, false);
        assert_eq!(
            merged_runs(&[2, 3, 4, 5], &[t, t, f, t]),
            vec![(6, t), (4, f), (5, t)]
        );
        assert_eq!(merged_runs(&[2, 1, 3], &[t, f, t]), vec![(6, t)]);
        assert_eq!(merged_runs(&[2, 1, 3], &[f, t, f]), vec![(6, f)]);
        assert_eq!(merged_runs(&[4, 7, 7], &[f, t, t]), vec![(4, f), (49, t)]);
        assert_eq!(merged_runs(&[1, 1], &[t, t]), vec![]);
        assert_eq!(merged_runs(&[], &[]), vec![]);
    }

    /// Every subset of the axes of a [2, 3, 1, 4] tensor, summed and maxed through the
    /// merged runs, against sums and maxima written out element by element.
    #[test]
    fn merged_reductions_equal_the_elementwise_definition() {
        let b = Reference;
        let dims = [2usize, 3, 1, 4];
        let n: usize = dims.iter().product();
        let values: Vec<f64> = (0..n).map(|i| ((i * 7 % 11) as f64) - 5.0).collect();
        let x = Tensor::<_, f64>::from_slice(&b, &values, dims.to_vec()).unwrap();
        for mask in 0..16u32 {
            let reduced: Vec<bool> = (0..4).map(|a| mask & (1 << a) != 0).collect();
            let kept: Vec<usize> = (0..4)
                .map(|a| if reduced[a] { 1 } else { dims[a] })
                .collect();
            let mut sums = vec![0.0; kept.iter().product()];
            let mut maxs = vec![f64::NEG_INFINITY; sums.len()];
            for (i, &v) in values.iter().enumerate() {
                // Index of element i in the kept shape.
                let (mut rest, mut at, mut stride) = (i, 0, 1);
                for a in (0..4).rev() {
                    let c = rest % dims[a];
                    rest /= dims[a];
                    if !reduced[a] {
                        at += c * stride;
                    }
                    stride *= kept[a];
                }
                sums[at] += v;
                maxs[at] = maxs[at].max(v);
            }
            let s = x.reduce_marked(ReduceOp::Sum, &reduced).unwrap();
            let m = x.reduce_marked(ReduceOp::Max, &reduced).unwrap();
            assert_eq!(s.dims(), &kept[..], "{reduced:?}");
            assert_eq!(s.to_vec().unwrap(), sums, "{reduced:?}");
            assert_eq!(m.to_vec().unwrap(), maxs, "{reduced:?}");
        }
    }

    /// A maximum over several axes shares its gradient equally among all the elements
    /// that reach it (as PyTorch's amax), not axis by axis.
    #[test]
    fn max_over_axes_shares_the_gradient_among_all_ties() {
        let b = Reference;
        let x = crate::Param::new(
            Tensor::<_, f64>::from_slice(&b, &[3.0, 3.0, 3.0, 1.0], [2, 2]).unwrap(),
        );
        let y = x.tensor().max_axes(&[0, 1], false).unwrap();
        let g = y.backward().unwrap();
        let third = 1.0 / 3.0;
        assert_eq!(
            g.get(&x).unwrap().to_vec().unwrap(),
            vec![third, third, third, 0.0]
        );
    }
}
