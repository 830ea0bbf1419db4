//! Ops that move or rearrange elements without arithmetic: permutations, slices,
//! concatenation, gathers along an axis, and the reshapes that add or drop unit axes.
//!
//! Every gather (`narrow`, `index_select`, `select`) is one backend `index_select`, and its
//! gradient is the adjoint `index_add`; the two are recorded as each other's backward so
//! that gradients of gradients stay differentiable.

use crate::backend::{AxisLayout, Backend};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

/// Checks that `axis` names an axis of `dims`.
fn check_axis(op: &'static str, axis: usize, dims: &[usize]) -> Result<()> {
    if axis >= dims.len() {
        return Err(Error::bad_arg(
            op,
            format!(
                "axis {axis} is out of range for shape {dims:?} (rank {})",
                dims.len()
            ),
        ));
    }
    Ok(())
}

/// The `[outer, len, inner]` view of `dims` around `axis` (which must be valid).
fn axis_layout(dims: &[usize], axis: usize) -> AxisLayout {
    AxisLayout {
        outer: dims[..axis].iter().product(),
        len: dims[axis],
        inner: dims[axis + 1..].iter().product(),
    }
}

impl<B: Backend, E: Element> Tensor<B, E> {
    /// Reorders the axes: axis `i` of the result is axis `perm[i]` of `self`.
    /// `perm` must hold every axis number below the rank exactly once.
    pub fn permute(&self, perm: &[usize]) -> Result<Self> {
        let dims = self.dims();
        let mut seen = vec![false; dims.len()];
        let valid = perm.len() == dims.len()
            && perm
                .iter()
                .all(|&p| p < dims.len() && !core::mem::replace(&mut seen[p], true));
        if !valid {
            return Err(Error::bad_arg(
                "permute",
                format!(
                    "{perm:?} is not a permutation of the {} axes of shape {dims:?}",
                    dims.len()
                ),
            ));
        }
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return Ok(self.clone());
        }
        let y = self.backend().permute(self.storage(), dims, perm)?;
        let out_dims: Vec<usize> = perm.iter().map(|&p| dims[p]).collect();
        // The inverse permutation sends each result axis back where it came from.
        let mut inverse = vec![0; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p] = i;
        }
        Ok(self.record(
            y,
            out_dims,
            &[self],
            move |_: &[Tensor<B, E>], _: &Tensor<B, E>, g: &Tensor<B, E>| {
                Ok(vec![Some(g.permute(&inverse)?)])
            },
        ))
    }

    /// Swaps axes `a` and `b`.
    pub fn transpose(&self, a: usize, b: usize) -> Result<Self> {
        check_axis("transpose", a, self.dims())?;
        check_axis("transpose", b, self.dims())?;
        let mut perm: Vec<usize> = (0..self.rank()).collect();
        perm.swap(a, b);
        self.permute(&perm)
    }

    /// The slice `start .. start + len` of `axis`, keeping the axis (with size `len`).
    pub fn narrow(&self, axis: usize, start: usize, len: usize) -> Result<Self> {
        check_axis("narrow", axis, self.dims())?;
        let size = self.dims()[axis];
        match start.checked_add(len) {
            Some(end) if end <= size => {}
            _ => {
                return Err(Error::bad_arg(
                    "narrow",
                    format!(
                        "slice {start}..{start}+{len} does not fit axis {axis} of size {size} \
                         in shape {:?}",
                        self.dims()
                    ),
                ))
            }
        }
        if start == 0 && len == size {
            return Ok(self.clone());
        }
        self.gather_axis(axis, (start..start + len).collect())
    }

    /// The entries `indices` of `axis`, in that order (repeats allowed): the result has
    /// `indices.len()` along `axis`. Gradients of repeated entries add up.
    pub fn index_select(&self, axis: usize, indices: &[usize]) -> Result<Self> {
        check_axis("index_select", axis, self.dims())?;
        let size = self.dims()[axis];
        if let Some(&bad) = indices.iter().find(|&&i| i >= size) {
            return Err(Error::bad_arg(
                "index_select",
                format!(
                    "index {bad} is out of range for axis {axis} of size {size} in shape {:?}",
                    self.dims()
                ),
            ));
        }
        self.gather_axis(axis, indices.to_vec())
    }

    /// The adjoint of [`Tensor::index_select`]: a tensor with `size` entries along `axis`,
    /// zero except that entry `i` of `self` along `axis` is added at `indices[i]`.
    pub fn index_add(&self, axis: usize, indices: &[usize], size: usize) -> Result<Self> {
        check_axis("index_add", axis, self.dims())?;
        if indices.len() != self.dims()[axis] {
            return Err(Error::bad_arg(
                "index_add",
                format!(
                    "{} indices were given for axis {axis} of shape {:?}",
                    indices.len(),
                    self.dims()
                ),
            ));
        }
        if let Some(&bad) = indices.iter().find(|&&i| i >= size) {
            return Err(Error::bad_arg(
                "index_add",
                format!("index {bad} is out of range for a target axis of size {size}"),
            ));
        }
        self.scatter_axis(axis, indices.to_vec(), size)
    }

    /// Entry `index` of `axis`, with that axis removed.
    pub fn select(&self, axis: usize, index: usize) -> Result<Self> {
        check_axis("select", axis, self.dims())?;
        let size = self.dims()[axis];
        if index >= size {
            return Err(Error::bad_arg(
                "select",
                format!(
                    "index {index} is out of range for axis {axis} of size {size} in shape {:?}",
                    self.dims()
                ),
            ));
        }
        let mut out_dims = self.dims().to_vec();
        out_dims.remove(axis);
        self.narrow(axis, index, 1)?.reshape(out_dims)
    }

    /// Inserts an axis of size 1 before axis `axis` (`axis == rank` appends one).
    pub fn unsqueeze(&self, axis: usize) -> Result<Self> {
        if axis > self.rank() {
            return Err(Error::bad_arg(
                "unsqueeze",
                format!(
                    "axis {axis} is out of range for inserting into shape {:?} (at most {})",
                    self.dims(),
                    self.rank()
                ),
            ));
        }
        let mut dims = self.dims().to_vec();
        dims.insert(axis, 1);
        self.reshape(dims)
    }

    /// Removes axis `axis`, which must have size 1.
    pub fn squeeze(&self, axis: usize) -> Result<Self> {
        check_axis("squeeze", axis, self.dims())?;
        if self.dims()[axis] != 1 {
            return Err(Error::bad_shape(
                "squeeze",
                self.dims(),
                format!("axis {axis} has size {}, not 1", self.dims()[axis]),
            ));
        }
        let mut dims = self.dims().to_vec();
        dims.remove(axis);
        self.reshape(dims)
    }

    /// Merges axes `from ..= to` (both included) into one.
    pub fn flatten(&self, from: usize, to: usize) -> Result<Self> {
        check_axis("flatten", to, self.dims())?;
        if from > to {
            return Err(Error::bad_arg(
                "flatten",
                format!("first axis {from} is after last axis {to}"),
            ));
        }
        let dims = self.dims();
        let mut out = dims[..from].to_vec();
        out.push(dims[from..=to].iter().product());
        out.extend_from_slice(&dims[to + 1..]);
        self.reshape(out)
    }

    /// Joins tensors along `axis`. All must have the same rank and agree on every other
    /// axis; at least one is needed.
    pub fn cat(parts: &[&Self], axis: usize) -> Result<Self> {
        let first = match parts.first() {
            Some(t) => *t,
            None => return Err(Error::bad_arg("cat", "no tensors to concatenate")),
        };
        check_axis("cat", axis, first.dims())?;
        for p in &parts[1..] {
            let fits = p.rank() == first.rank()
                && p.dims()
                    .iter()
                    .zip(first.dims())
                    .enumerate()
                    .all(|(i, (a, b))| i == axis || a == b);
            if !fits {
                return Err(Error::mismatch(
                    "cat",
                    first.dims(),
                    p.dims(),
                    format!("parts must agree on every axis but {axis}"),
                ));
            }
        }
        let lens: Vec<usize> = parts.iter().map(|p| p.dims()[axis]).collect();
        let layout = axis_layout(first.dims(), axis);
        let buffers: Vec<(&B::Storage<E>, usize)> = parts
            .iter()
            .zip(&lens)
            .map(|(p, &len)| (p.storage(), len))
            .collect();
        let y = first
            .backend()
            .concat(&buffers, layout.outer, layout.inner)?;
        let mut out_dims = first.dims().to_vec();
        out_dims[axis] = lens.iter().sum();
        Ok(first.record(
            y,
            out_dims,
            parts,
            move |_: &[Tensor<B, E>], _: &Tensor<B, E>, g: &Tensor<B, E>| {
                // Each part's gradient is its own slice of the output gradient.
                let mut start = 0;
                let mut grads = Vec::with_capacity(lens.len());
                for &len in &lens {
                    grads.push(Some(g.narrow(axis, start, len)?));
                    start += len;
                }
                Ok(grads)
            },
        ))
    }

    /// Joins equally shaped tensors along a new axis `axis` (`axis == rank` appends it).
    pub fn stack(parts: &[&Self], axis: usize) -> Result<Self> {
        let first = match parts.first() {
            Some(t) => *t,
            None => return Err(Error::bad_arg("stack", "no tensors to stack")),
        };
        if let Some(p) = parts.iter().find(|p| p.dims() != first.dims()) {
            return Err(Error::mismatch(
                "stack",
                first.dims(),
                p.dims(),
                "stacked tensors must have the same shape",
            ));
        }
        if axis > first.rank() {
            return Err(Error::bad_arg(
                "stack",
                format!(
                    "axis {axis} is out of range for stacking tensors of shape {:?}",
                    first.dims()
                ),
            ));
        }
        let lifted: Vec<Self> = parts
            .iter()
            .map(|p| p.unsqueeze(axis))
            .collect::<Result<_>>()?;
        let refs: Vec<&Self> = lifted.iter().collect();
        Self::cat(&refs, axis)
    }

    /// `index_select` without checks (the caller validated `axis` and `indices`).
    fn gather_axis(&self, axis: usize, indices: Vec<usize>) -> Result<Self> {
        let layout = axis_layout(self.dims(), axis);
        let y = self
            .backend()
            .index_select(self.storage(), layout, &indices)?;
        let mut out_dims = self.dims().to_vec();
        out_dims[axis] = indices.len();
        Ok(self.record(
            y,
            out_dims,
            &[self],
            move |xs: &[Tensor<B, E>], _: &Tensor<B, E>, g: &Tensor<B, E>| {
                let size = xs[0].dims()[axis];
                Ok(vec![Some(g.scatter_axis(axis, indices.clone(), size)?)])
            },
        ))
    }

    /// `index_add` without checks (the caller validated `axis`, `indices` and `size`).
    fn scatter_axis(&self, axis: usize, indices: Vec<usize>, size: usize) -> Result<Self> {
        let mut out_dims = self.dims().to_vec();
        out_dims[axis] = size;
        let layout = axis_layout(&out_dims, axis);
        let y = self.backend().index_add(self.storage(), layout, &indices)?;
        Ok(self.record(
            y,
            out_dims,
            &[self],
            move |_: &[Tensor<B, E>], _: &Tensor<B, E>, g: &Tensor<B, E>| {
                Ok(vec![Some(g.gather_axis(axis, indices.clone())?)])
            },
        ))
    }
}
