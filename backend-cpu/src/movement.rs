//! Data movement: permute, concat, index_select and its adjoint index_add.
//!
//! All of them write disjoint runs of the output, so they split over output rows. The
//! adjoint index_add is turned around (for every destination row, the list of source rows
//! that land there) so that it too writes each output row from one task only, and adds
//! in the same order as the reference.

use crate::check;
use crate::par;
use pgcnn_core::backend::AxisLayout;
use pgcnn_core::{Element, Result};
use rayon::prelude::*;

/// `y` has dims `dims[perm[i]]`; `y[j] = x[j permuted back]`.
pub(crate) fn permute<E: Element>(x: &[E], dims: &[usize], perm: &[usize]) -> Result<Vec<E>> {
    const OP: &str = "permute";
    let rank = dims.len();
    let mut seen = vec![false; rank];
    if perm.len() != rank
        || perm
            .iter()
            .any(|&p| p >= rank || std::mem::replace(&mut seen[p], true))
    {
        return Err(check::fail(
            OP,
            format!("{perm:?} is not a permutation of the {rank} axes of {dims:?}"),
        ));
    }
    let numel = check::product(OP, dims)?;
    check::len(OP, "input", x.len(), numel)?;
    if numel == 0 {
        return Ok(Vec::new());
    }
    // Output axes as (size, stride in x), size-1 axes dropped, and output-neighbours that
    // are also neighbours in x merged.
    let mut in_strides = vec![1usize; rank];
    for i in (0..rank.saturating_sub(1)).rev() {
        in_strides[i] = in_strides[i + 1] * dims[i + 1];
    }
    let mut axes: Vec<(usize, usize)> = Vec::with_capacity(rank);
    for &p in perm {
        let ax = (dims[p], in_strides[p]);
        if ax.0 == 1 {
            continue;
        }
        match axes.last_mut() {
            Some(prev) if prev.1 == ax.0 * ax.1 => *prev = (prev.0 * ax.0, ax.1),
            _ => axes.push(ax),
        }
    }
    let (row, stride) = axes.pop().unwrap_or((1, 1));
    let mut y = vec![E::zero(); numel];
    let fill = |first_row: usize, y: &mut [E]| {
        let mut idx = vec![0usize; axes.len()];
        let mut off = 0usize;
        let mut rem = first_row;
        for (ax, &(d, s)) in axes.iter().enumerate().rev() {
            idx[ax] = rem % d;
            rem /= d;
            off += idx[ax] * s;
        }
        for out in y.chunks_mut(row) {
            if stride == 1 {
                out.copy_from_slice(&x[off..off + row]);
            } else {
                for (i, o) in out.iter_mut().enumerate() {
                    *o = x[off + i * stride];
                }
            }
            for (ax, &(d, s)) in axes.iter().enumerate().rev() {
                idx[ax] += 1;
                off += s;
                if idx[ax] < d {
                    break;
                }
                idx[ax] = 0;
                off -= s * d;
            }
        }
    };
    if par::worth_it(numel) {
        let per = par::rows_per_chunk(numel / row, row);
        y.par_chunks_mut(per * row)
            .enumerate()
            .for_each(|(t, y)| fill(t * per, y));
    } else {
        fill(0, &mut y);
    }
    Ok(y)
}

/// Concatenates `[outer, len_i, inner]` buffers along the middle axis.
pub(crate) fn concat<E: Element>(
    parts: &[(&[E], usize)],
    outer: usize,
    inner: usize,
) -> Result<Vec<E>> {
    const OP: &str = "concat";
    let mut total = 0usize;
    for (i, (p, len)) in parts.iter().enumerate() {
        let want = check::product(OP, &[outer, *len, inner])?;
        check::len(OP, &format!("part {i}"), p.len(), want)?;
        total = total
            .checked_add(*len)
            .ok_or_else(|| check::fail(OP, "the total length overflows".into()))?;
    }
    let row = check::product(OP, &[total, inner])?;
    let numel = check::product(OP, &[outer, row])?;
    let mut y = vec![E::zero(); numel];
    if numel == 0 {
        return Ok(y);
    }
    let fill = |o: usize, y: &mut [E]| {
        let mut at = 0;
        for (p, len) in parts {
            let n = len * inner;
            y[at..at + n].copy_from_slice(&p[o * n..(o + 1) * n]);
            at += n;
        }
    };
    if par::worth_it(numel) {
        y.par_chunks_mut(row)
            .enumerate()
            .with_min_len(par::rows_per_chunk(outer, row))
            .for_each(|(o, y)| fill(o, y));
    } else {
        y.chunks_mut(row).enumerate().for_each(|(o, y)| fill(o, y));
    }
    Ok(y)
}

fn check_indices(op: &'static str, l: AxisLayout, indices: &[usize]) -> Result<()> {
    if let Some(&bad) = indices.iter().find(|&&j| j >= l.len) {
        return Err(check::fail(
            op,
            format!(
                "index {bad} is out of range for an axis of length {}",
                l.len
            ),
        ));
    }
    Ok(())
}

/// `y[o, i, n] = x[o, indices[i], n]`.
pub(crate) fn index_select<E: Element>(
    x: &[E],
    l: AxisLayout,
    indices: &[usize],
) -> Result<Vec<E>> {
    const OP: &str = "index_select";
    check::len(
        OP,
        "input",
        x.len(),
        check::product(OP, &[l.outer, l.len, l.inner])?,
    )?;
    check_indices(OP, l, indices)?;
    let k = indices.len();
    let numel = check::product(OP, &[l.outer, k, l.inner])?;
    let mut y = vec![E::zero(); numel];
    if numel == 0 {
        return Ok(y);
    }
    // Output row r is (o, i) = (r / k, r % k).
    let copy_row = |r: usize, y: &mut [E]| {
        let (o, i) = (r / k, r % k);
        y.copy_from_slice(&x[(o * l.len + indices[i]) * l.inner..][..l.inner]);
    };
    if par::worth_it(numel) {
        y.par_chunks_mut(l.inner)
            .enumerate()
            .with_min_len(par::rows_per_chunk(l.outer * k, l.inner))
            .for_each(|(r, y)| copy_row(r, y));
    } else {
        y.chunks_mut(l.inner)
            .enumerate()
            .for_each(|(r, y)| copy_row(r, y));
    }
    Ok(y)
}

/// `y` is `layout` (zeros) and `y[o, indices[i], n] += src[o, i, n]`.
pub(crate) fn index_add<E: Element>(src: &[E], l: AxisLayout, indices: &[usize]) -> Result<Vec<E>> {
    const OP: &str = "index_add";
    let k = indices.len();
    check::len(
        OP,
        "source",
        src.len(),
        check::product(OP, &[l.outer, k, l.inner])?,
    )?;
    check_indices(OP, l, indices)?;
    let numel = check::product(OP, &[l.outer, l.len, l.inner])?;
    let mut y = vec![E::zero(); numel];
    if numel == 0 {
        return Ok(y);
    }
    // sources[starts[j]..starts[j + 1]]: the positions i with indices[i] == j, ascending.
    let mut starts = vec![0usize; l.len + 1];
    for &j in indices {
        starts[j + 1] += 1;
    }
    for j in 0..l.len {
        starts[j + 1] += starts[j];
    }
    let mut next = starts.clone();
    let mut sources = vec![0usize; k];
    for (i, &j) in indices.iter().enumerate() {
        sources[next[j]] = i;
        next[j] += 1;
    }
    // Output row r is (o, j) = (r / len, r % len).
    let add_row = |r: usize, y: &mut [E]| {
        let (o, j) = (r / l.len, r % l.len);
        for &i in &sources[starts[j]..starts[j + 1]] {
            for (acc, &v) in y.iter_mut().zip(&src[(o * k + i) * l.inner..][..l.inner]) {
                *acc = *acc + v;
            }
        }
    };
    if par::worth_it(numel.max(src.len())) {
        y.par_chunks_mut(l.inner)
            .enumerate()
            .with_min_len(par::rows_per_chunk(l.outer * l.len, l.inner))
            .for_each(|(r, y)| add_row(r, y));
    } else {
        y.chunks_mut(l.inner)
            .enumerate()
            .for_each(|(r, y)| add_row(r, y));
    }
    Ok(y)
}
