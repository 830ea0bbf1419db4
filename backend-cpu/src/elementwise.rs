//! Elementwise maps: [`unary`] and broadcasting [`binary`].
//!
//! Both dispatch on the op once, outside the loop, and then run a loop specialised to
//! that op (calling the op's own `apply`, so the arithmetic is by definition the core's),
//! which lets the compiler vectorise it. The one exception: `sin`, `cos` and `exp` of `f32`
//! run [`crate::transcendental`]'s vector code instead of the C library's scalar functions
//! (the same values to the last bit nearly always, never more than one ulp apart).

use crate::check;
use crate::fresh::written;
use crate::par;
use crate::transcendental::{map_f32, Transcendental};
use pgcnn_core::backend::{BinaryOp, BroadcastLayout, UnaryOp};
use pgcnn_core::{Element, Result};
use rayon::prelude::*;
use std::any::TypeId;
use std::mem::MaybeUninit;

/// `y[i] = op(x[i])`.
pub(crate) fn unary<E: Element>(op: UnaryOp<E>, x: &[E]) -> Vec<E> {
    use UnaryOp::*;
    if let Some(y) = transcendental(op, x) {
        return y;
    }
    // Each arm rebuilds its variant inside the closure so that `apply`'s match folds away.
    macro_rules! run {
        ($($v:ident),*; $($s:ident),*) => {
            match op {
                $($v => map(x, |v| $v.apply(v)),)*
                $($s(c) => map(x, move |v| $s(c).apply(v)),)*
            }
        };
    }
    run!(Neg, Sin, Cos, Exp, Log, Relu, Sigmoid, Tanh, Square, Sqrt, Abs, Recip, Sign, Step;
         AddScalar, MulScalar, PowScalar, MaxScalar, MinScalar, GreaterScalar)
}

/// `sin`, `cos` and `exp` of `f32` values in vector registers (see [`crate::transcendental`]);
/// `None` for other ops and for `f64`, which keep the C library's functions.
fn transcendental<E: Element>(op: UnaryOp<E>, x: &[E]) -> Option<Vec<E>> {
    let f = match op {
        UnaryOp::Sin => Transcendental::Sin,
        UnaryOp::Cos => Transcendental::Cos,
        UnaryOp::Exp => Transcendental::Exp,
        _ => return None,
    };
    if TypeId::of::<E>() != TypeId::of::<f32>() {
        return None;
    }
    // SAFETY: `E` is `f32` (checked above), so the slice is one of `f32` values.
    let x32 = unsafe { std::slice::from_raw_parts(x.as_ptr() as *const f32, x.len()) };
    let y = chunked(x32, |y, x| map_f32(f, x, y));
    // SAFETY: as above, `Vec<f32>` is `Vec<E>`.
    let y = std::mem::ManuallyDrop::new(y);
    Some(unsafe { Vec::from_raw_parts(y.as_ptr() as *mut E, y.len(), y.capacity()) })
}

fn map<E: Element>(x: &[E], f: impl Fn(E) -> E + Sync) -> Vec<E> {
    chunked(x, |y, x| {
        for (o, &v) in y.iter_mut().zip(x) {
            o.write(f(v));
        }
    })
}

/// A fresh buffer the size of `x` whose chunks `run` writes in full from the same chunks
/// of `x`, in parallel when there is enough work.
fn chunked<T: Copy + Send + Sync>(
    x: &[T],
    run: impl Fn(&mut [MaybeUninit<T>], &[T]) + Sync,
) -> Vec<T> {
    written(x.len(), |y| {
        if par::worth_it(x.len()) {
            let c = par::chunk_len(x.len());
            y.par_chunks_mut(c)
                .zip(x.par_chunks(c))
                .for_each(|(y, x)| run(y, x));
        } else {
            run(y, x);
        }
    })
}

/// `y[idx] = op(a[idx · a_strides], b[idx · b_strides])` over `layout.out_dims`.
pub(crate) fn binary<E: Element>(
    op: BinaryOp,
    a: &[E],
    b: &[E],
    layout: &BroadcastLayout,
) -> Result<Vec<E>> {
    let view = View::new(a, b, layout)?;
    use BinaryOp::*;
    macro_rules! run {
        ($($v:ident),*) => {
            match op {
                $($v => view.run(a, b, |x, y| $v.apply(x, y)),)*
            }
        };
    }
    Ok(run!(Add, Sub, Mul, Div, Maximum, Minimum, Equal, Greater))
}

/// A broadcast layout with its axes simplified: size-1 axes dropped and neighbours that
/// are contiguous in both operands merged, so the innermost axis is as long as possible.
struct View {
    /// Outer axes (outermost first): sizes and the strides of `a` and `b`.
    outer: Vec<(usize, usize, usize)>,
    /// Innermost axis: size and the strides of `a` and `b`.
    inner: (usize, usize, usize),
    numel: usize,
}

impl View {
    fn new<E>(a: &[E], b: &[E], l: &BroadcastLayout) -> Result<Self> {
        const OP: &str = "binary";
        let rank = l.out_dims.len();
        if l.a_strides.len() != rank || l.b_strides.len() != rank {
            return Err(check::fail(
                OP,
                format!(
                    "{} output axes but {} strides for a and {} for b",
                    rank,
                    l.a_strides.len(),
                    l.b_strides.len()
                ),
            ));
        }
        let numel = check::product(OP, &l.out_dims)?;
        for (name, buf_len, strides) in [("a", a.len(), &l.a_strides), ("b", b.len(), &l.b_strides)]
        {
            let need = check::strided_extent(OP, &l.out_dims, strides)?;
            if need > buf_len {
                return Err(check::fail(
                    OP,
                    format!("{name} holds {buf_len} elements, the layout reads {need}"),
                ));
            }
        }
        if numel == 0 {
            // Nothing to compute (and the strides of an empty view are not checked).
            return Ok(View {
                outer: Vec::new(),
                inner: (1, 0, 0),
                numel,
            });
        }
        let mut axes: Vec<(usize, usize, usize)> = Vec::with_capacity(rank);
        for i in 0..rank {
            let ax = (l.out_dims[i], l.a_strides[i], l.b_strides[i]);
            if ax.0 == 1 {
                continue;
            }
            match axes.last_mut() {
                // The previous (outer) axis steps exactly over this one in both operands.
                Some(prev) if prev.1 == ax.0 * ax.1 && prev.2 == ax.0 * ax.2 => {
                    *prev = (prev.0 * ax.0, ax.1, ax.2);
                }
                _ => axes.push(ax),
            }
        }
        let inner = axes.pop().unwrap_or((1, 0, 0));
        Ok(View {
            outer: axes,
            inner,
            numel,
        })
    }

    fn run<E: Element>(&self, a: &[E], b: &[E], f: impl Fn(E, E) -> E + Sync) -> Vec<E> {
        written(self.numel, |y| {
            if self.numel == 0 {
                return;
            }
            let row = self.inner.0;
            let rows = self.numel / row;
            if par::worth_it(self.numel) {
                let per = par::rows_per_chunk(rows, row);
                y.par_chunks_mut(per * row)
                    .enumerate()
                    .for_each(|(t, y)| self.run_rows(a, b, &f, t * per, y));
            } else {
                self.run_rows(a, b, &f, 0, y);
            }
        })
    }

    /// Fills `y`, which holds whole rows starting at row `first`.
    fn run_rows<E: Element>(
        &self,
        a: &[E],
        b: &[E],
        f: &impl Fn(E, E) -> E,
        first: usize,
        y: &mut [MaybeUninit<E>],
    ) {
        let (row, sa, sb) = self.inner;
        // Multi-index of row `first` over the outer axes, and its offsets.
        let mut idx = vec![0usize; self.outer.len()];
        let (mut oa, mut ob) = (0usize, 0usize);
        let mut rem = first;
        for (ax, &(d, a_s, b_s)) in self.outer.iter().enumerate().rev() {
            idx[ax] = rem % d;
            rem /= d;
            oa += idx[ax] * a_s;
            ob += idx[ax] * b_s;
        }
        for out in y.chunks_mut(row) {
            binary_row(out, a, oa, sa, b, ob, sb, f);
            for (ax, &(d, a_s, b_s)) in self.outer.iter().enumerate().rev() {
                idx[ax] += 1;
                oa += a_s;
                ob += b_s;
                if idx[ax] < d {
                    break;
                }
                idx[ax] = 0;
                oa -= a_s * d;
                ob -= b_s * d;
            }
        }
    }
}

/// One innermost row, with loops specialised for the common stride patterns.
fn binary_row<E: Element>(
    y: &mut [MaybeUninit<E>],
    a: &[E],
    oa: usize,
    sa: usize,
    b: &[E],
    ob: usize,
    sb: usize,
    f: &impl Fn(E, E) -> E,
) {
    let n = y.len();
    match (sa, sb) {
        (1, 1) => {
            for ((o, &x), &z) in y.iter_mut().zip(&a[oa..oa + n]).zip(&b[ob..ob + n]) {
                o.write(f(x, z));
            }
        }
        (1, 0) => {
            let z = b[ob];
            for (o, &x) in y.iter_mut().zip(&a[oa..oa + n]) {
                o.write(f(x, z));
            }
        }
        (0, 1) => {
            let x = a[oa];
            for (o, &z) in y.iter_mut().zip(&b[ob..ob + n]) {
                o.write(f(x, z));
            }
        }
        _ => {
            for (i, o) in y.iter_mut().enumerate() {
                o.write(f(a[oa + i * sa], b[ob + i * sb]));
            }
        }
    }
}
