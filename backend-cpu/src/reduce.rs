//! Reductions of the middle axis of `[outer, len, inner]`.
//!
//! Rows of the output are independent, so the work splits over output rows when there
//! are enough of them; a long reduction into few outputs (a full sum, say) instead splits
//! `len` into blocks whose partial results are then combined.

use crate::check;
use crate::par;
use pgcnn_core::backend::{AxisLayout, ReduceOp};
use pgcnn_core::{Element, Result};
use rayon::prelude::*;

/// `y[o, i] = op over j of x[o, j, i]`.
pub(crate) fn reduce<E: Element>(op: ReduceOp, x: &[E], l: AxisLayout) -> Result<Vec<E>> {
    const OP: &str = "reduce";
    let numel = check::product(OP, &[l.outer, l.len, l.inner])?;
    check::len(OP, "input", x.len(), numel)?;
    let out_len = check::product(OP, &[l.outer, l.inner])?;
    if l.len == 0 && out_len > 0 {
        return Err(check::fail(OP, "cannot reduce an axis of length 0".into()));
    }
    let mut y = vec![E::zero(); out_len];
    if out_len == 0 {
        return Ok(y);
    }
    let combine = move |acc: E, v: E| match op {
        ReduceOp::Sum => acc + v,
        ReduceOp::Max => acc.max(v),
        ReduceOp::Min => acc.min(v),
    };
    let threads = par::threads();
    if !par::worth_it(numel) {
        reduce_block(x, l, 0, l.len, &mut y, combine);
    } else if l.outer >= threads {
        // Whole output rows per task.
        let per = par::rows_per_chunk(l.outer, l.len * l.inner);
        y.par_chunks_mut(per * l.inner)
            .enumerate()
            .for_each(|(t, y)| {
                let rows = y.len() / l.inner;
                let x = &x[t * per * l.len * l.inner..][..rows * l.len * l.inner];
                let sub = AxisLayout { outer: rows, ..l };
                reduce_block(x, sub, 0, l.len, y, combine);
            });
    } else if l.inner >= threads * 64 {
        // Few rows but long ones: split each row's columns.
        for (o, y) in y.chunks_mut(l.inner).enumerate() {
            let x = &x[o * l.len * l.inner..][..l.len * l.inner];
            let cols = par::rows_per_chunk(l.inner, l.len);
            y.par_chunks_mut(cols).enumerate().for_each(|(t, y)| {
                reduce_columns(x, l.len, l.inner, t * cols, y, combine);
            });
        }
    } else {
        // Few outputs, long reductions: partial results over blocks of `len`.
        let per = par::rows_per_chunk(l.len, out_len);
        let partials: Vec<Vec<E>> = (0..l.len.div_ceil(per))
            .into_par_iter()
            .map(|t| {
                let mut part = vec![E::zero(); out_len];
                reduce_block(
                    x,
                    l,
                    t * per,
                    (t * per + per).min(l.len),
                    &mut part,
                    combine,
                );
                part
            })
            .collect();
        y.copy_from_slice(&partials[0]);
        for part in &partials[1..] {
            for (acc, &v) in y.iter_mut().zip(part) {
                *acc = combine(*acc, v);
            }
        }
    }
    Ok(y)
}

/// Reduces positions `j0..j1` (non-empty) of the middle axis of all of `x` into `y`.
fn reduce_block<E: Element>(
    x: &[E],
    l: AxisLayout,
    j0: usize,
    j1: usize,
    y: &mut [E],
    combine: impl Fn(E, E) -> E,
) {
    if l.inner == 1 {
        // Contiguous runs (a sum over the last axis): see `reduce_run`.
        for (o, y) in y.iter_mut().enumerate() {
            *y = reduce_run(&x[o * l.len + j0..o * l.len + j1], &combine);
        }
        return;
    }
    for (o, y) in y.chunks_mut(l.inner).enumerate() {
        let base = o * l.len * l.inner;
        y.copy_from_slice(&x[base + j0 * l.inner..][..l.inner]);
        for j in j0 + 1..j1 {
            for (acc, &v) in y.iter_mut().zip(&x[base + j * l.inner..][..l.inner]) {
                *acc = combine(*acc, v);
            }
        }
    }
}

/// Reduces a non-empty contiguous run into one value with eight independent
/// accumulators: one accumulator would chain every addition on the previous one (a few
/// cycles each) and leave the loop unvectorised, which made long sums over the last
/// axis (norm statistics, bias gradients) several times slower than the memory allows.
fn reduce_run<E: Element>(run: &[E], combine: &impl Fn(E, E) -> E) -> E {
    const LANES: usize = 8;
    if run.len() < 2 * LANES {
        return run[1..].iter().fold(run[0], |acc, &v| combine(acc, v));
    }
    let mut acc = [E::zero(); LANES];
    acc.copy_from_slice(&run[..LANES]);
    let chunks = run[LANES..].chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (a, &v) in acc.iter_mut().zip(chunk) {
            *a = combine(*a, v);
        }
    }
    let total = acc[1..].iter().fold(acc[0], |t, &v| combine(t, v));
    rest.iter().fold(total, |t, &v| combine(t, v))
}

/// Reduces columns `c0..c0 + y.len()` of one `[len, inner]` slab `x` into `y`.
fn reduce_columns<E: Element>(
    x: &[E],
    len: usize,
    inner: usize,
    c0: usize,
    y: &mut [E],
    combine: impl Fn(E, E) -> E,
) {
    let w = y.len();
    y.copy_from_slice(&x[c0..c0 + w]);
    for j in 1..len {
        for (acc, &v) in y.iter_mut().zip(&x[j * inner + c0..][..w]) {
            *acc = combine(*acc, v);
        }
    }
}
