//! Matrix products through matrixmultiply, split over rayon's threads by this crate.
//!
//! matrixmultiply's `sgemm`/`dgemm` take any row and column strides, pack their operands
//! into cache-sized panels and run a SIMD micro-kernel chosen at run time. Each call here
//! is single-threaded; parallelism comes from running independent calls (batch elements,
//! or row blocks of one product, which write disjoint rows of C) on different threads.
//! Very tall products with a small right-hand side (a kernel net's layers over every
//! kernel coordinate) go to [`crate::tall`] instead, which does not copy the tall operand.

use crate::check;
use crate::par;
use crate::tall;
use pgcnn_core::backend::GemmDesc;
use pgcnn_core::{Element, Result};
use rayon::prelude::*;
use std::any::TypeId;
use std::mem::MaybeUninit;

/// Products smaller than this many flops run on the calling thread: below it, handing
/// out tasks costs more than the arithmetic (about 30 µs of one core).
const MIN_PARALLEL_FLOPS: usize = 1 << 21;

/// Row blocks are multiples of this (the tallest micro-kernel, AVX-512 f32, is 16 rows)
/// so that no block ends in a partly filled micro-panel.
const ROW_ALIGN: usize = 16;

/// A read-only strided matrix: element (i, j) is `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub(crate) struct MatRef<'a, E> {
    pub data: &'a [E],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

/// A writable strided matrix: element (i, j) is `data[i * rs + j * cs]`. Rows must not
/// overlap (`(cols - 1) * cs < rs` when there are several rows), so that splitting the
/// slice between rows splits the matrix.
pub(crate) struct MatMut<'a, E> {
    pub data: &'a mut [E],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

/// One past the last element a `rows × cols` view with these strides touches.
fn extent(rows: usize, cols: usize, rs: usize, cs: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * rs + (cols - 1) * cs + 1
    }
}

impl<'a, E> MatRef<'a, E> {
    /// Rows `r0..r0 + n`.
    pub(crate) fn rows(self, r0: usize, n: usize) -> Self {
        MatRef {
            data: if n == 0 {
                &[]
            } else {
                &self.data[r0 * self.rs..]
            },
            rows: n,
            ..self
        }
    }
}

/// `c = alpha · a · b + beta · c` on the calling thread. With `beta == 0`, `c` is only
/// written (its old values, even NaN, do not matter).
pub(crate) fn gemm_serial<E: Element>(
    alpha: E,
    a: MatRef<'_, E>,
    b: MatRef<'_, E>,
    beta: E,
    c: MatMut<'_, E>,
) {
    check_operands(&a, &b, &c);
    // SAFETY: `check_operands` keeps every strided access inside the slices, and `c` is
    // borrowed mutably, so nothing else reads or writes it.
    unsafe {
        gemm_raw(
            alpha,
            (a.rows, a.cols, b.cols),
            (a.data.as_ptr(), a.rs, a.cs),
            (b.data.as_ptr(), b.rs, b.cs),
            beta,
            (c.data.as_mut_ptr(), c.rs, c.cs),
        )
    }
}

/// [`gemm_serial`] into a row-major view (`a.rows × b.cols`, rows `rs` apart) of memory
/// that may not be written yet: with `beta == 0` nothing of `c` is read.
///
/// # Safety
/// With `beta != 0`, every element of the view must have been written before.
pub(crate) unsafe fn gemm_serial_into<E: Element>(
    alpha: E,
    a: MatRef<'_, E>,
    b: MatRef<'_, E>,
    beta: E,
    c: &mut [MaybeUninit<E>],
    rs: usize,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(b.rows == k, "gemm: operand sizes disagree");
    assert!(
        extent(m, k, a.rs, a.cs) <= a.data.len(),
        "gemm: a out of bounds"
    );
    assert!(
        extent(k, n, b.rs, b.cs) <= b.data.len(),
        "gemm: b out of bounds"
    );
    assert!(extent(m, n, rs, 1) <= c.len(), "gemm: c out of bounds");
    assert!(m < 2 || n <= rs, "gemm: rows of c overlap");
    // SAFETY: the asserts keep every access inside the slices; `c` is borrowed mutably;
    // with beta == 0 the product only writes `c`, else the caller vouches that the view
    // holds values.
    unsafe {
        gemm_raw(
            alpha,
            (m, k, n),
            (a.data.as_ptr(), a.rs, a.cs),
            (b.data.as_ptr(), b.rs, b.cs),
            beta,
            (c.as_mut_ptr() as *mut E, rs, 1),
        )
    }
}

/// Panics unless the three views agree in size and stay inside their slices (these hold by
/// construction at every call site; they guard the unsafe calls).
fn check_operands<E>(a: &MatRef<'_, E>, b: &MatRef<'_, E>, c: &MatMut<'_, E>) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(
        b.rows == k && c.rows == m && c.cols == n,
        "gemm: operand sizes disagree"
    );
    assert!(
        extent(m, k, a.rs, a.cs) <= a.data.len(),
        "gemm: a out of bounds"
    );
    assert!(
        extent(k, n, b.rs, b.cs) <= b.data.len(),
        "gemm: b out of bounds"
    );
    assert!(
        extent(m, n, c.rs, c.cs) <= c.data.len(),
        "gemm: c out of bounds"
    );
}

/// A strided matrix's base pointer and strides: `(pointer, row stride, column stride)`.
type Raw<P> = (P, usize, usize);

/// `c = alpha · a · b + beta · c` for `(m, k, n)` on raw parts, on the calling thread.
///
/// # Safety
/// Every element of the `m × k`, `k × n` and `m × n` views must lie inside live
/// allocations; `c`'s elements must be distinct (no two indices at one address), not
/// overlap `a` or `b`, and not be read or written by anyone else during the call.
unsafe fn gemm_raw<E: Element>(
    alpha: E,
    (m, k, n): (usize, usize, usize),
    (a, ars, acs): Raw<*const E>,
    (b, brs, bcs): Raw<*const E>,
    beta: E,
    (c, crs, ccs): Raw<*mut E>,
) {
    if m == 0 || n == 0 {
        return;
    }
    let at = |p: *const E, i: usize, j: usize, rs: usize, cs: usize| {
        // SAFETY: (i, j) is inside the view, which the caller keeps in bounds.
        unsafe { *p.add(i * rs + j * cs) }
    };
    if k == 0 {
        for i in 0..m {
            for j in 0..n {
                // SAFETY: as above, for c.
                let v = unsafe { &mut *c.add(i * crs + j * ccs) };
                *v = if beta == E::zero() {
                    E::zero()
                } else {
                    beta * *v
                };
            }
        }
        return;
    }
    let s = |x: usize| x as isize;
    if TypeId::of::<E>() == TypeId::of::<f32>() {
        // SAFETY: E is f32 (same TypeId), so the casts are identities; the caller keeps
        // every strided access inside its allocation.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                Element::to_f64(alpha) as f32,
                a as *const f32,
                s(ars),
                s(acs),
                b as *const f32,
                s(brs),
                s(bcs),
                Element::to_f64(beta) as f32,
                c as *mut f32,
                s(crs),
                s(ccs),
            )
        }
    } else if TypeId::of::<E>() == TypeId::of::<f64>() {
        // SAFETY: as above, with E = f64.
        unsafe {
            matrixmultiply::dgemm(
                m,
                k,
                n,
                Element::to_f64(alpha),
                a as *const f64,
                s(ars),
                s(acs),
                b as *const f64,
                s(brs),
                s(bcs),
                Element::to_f64(beta),
                c as *mut f64,
                s(crs),
                s(ccs),
            )
        }
    } else {
        // Element is only implemented for f32 and f64; this plain loop keeps any other
        // implementation correct, if slow.
        for i in 0..m {
            for j in 0..n {
                let mut acc = E::zero();
                for p in 0..k {
                    acc = acc + at(a, i, p, ars, acs) * at(b, p, j, brs, bcs);
                }
                // SAFETY: as above, for c.
                let v = unsafe { &mut *c.add(i * crs + j * ccs) };
                *v = if beta == E::zero() {
                    alpha * acc
                } else {
                    alpha * acc + beta * *v
                };
            }
        }
    }
}

/// A pointer that may cross threads: each task of [`gemm_cols_parallel`] writes its own
/// columns of `c` through it.
#[derive(Clone, Copy)]
struct SendPtr<E>(*mut E);
// SAFETY: the tasks sharing it write disjoint elements (see `gemm_cols_parallel`).
unsafe impl<E: Send> Send for SendPtr<E> {}
// SAFETY: as above.
unsafe impl<E: Send> Sync for SendPtr<E> {}

impl<E> SendPtr<E> {
    /// The pointer (a method, so that closures capture the whole `SendPtr`).
    fn get(self) -> *mut E {
        self.0
    }
}

/// Columns per block are multiples of this (matrixmultiply's widest f32 micro-panel), so
/// that no block but the last ends in a partly filled panel.
const COL_ALIGN: usize = 32;

/// `c = alpha · a · b + beta · c` with the columns of `c` split into `parts` blocks
/// computed on different threads (each a single-threaded product): for short, very wide
/// products (few rows to split, hundreds of thousands of columns), such as the FFT
/// convolution's transforms. Blocks are fixed by the sizes and `parts`, so the result
/// does not depend on scheduling.
pub(crate) fn gemm_cols_parallel<E: Element>(
    alpha: E,
    a: MatRef<'_, E>,
    b: MatRef<'_, E>,
    beta: E,
    c: MatMut<'_, E>,
    parts: usize,
) {
    let n = c.cols;
    let per = n.div_ceil(parts.max(1)).next_multiple_of(COL_ALIGN);
    if parts <= 1 || per >= n {
        gemm_serial(alpha, a, b, beta, c);
        return;
    }
    check_operands(&a, &b, &c);
    // Distinct (row, column) pairs must be distinct elements, or two blocks could write
    // one address.
    let rows_apart = c.rows < 2 || extent(1, c.cols, c.rs, c.cs) <= c.rs;
    let cols_apart = c.cols < 2 || extent(c.rows, 1, c.rs, c.cs) <= c.cs;
    assert!(rows_apart || cols_apart, "gemm: elements of c overlap");
    let (m, k) = (a.rows, a.cols);
    let (ap, bp, cp) = (
        a.data.as_ptr() as usize,
        b.data.as_ptr() as usize,
        SendPtr(c.data.as_mut_ptr()),
    );
    (0..n.div_ceil(per)).into_par_iter().for_each(|block| {
        let j0 = block * per;
        let cols = per.min(n - j0);
        // SAFETY: the checks above keep every access of the whole product in bounds; this
        // block reads a and its own columns of b, and writes only its own columns of c,
        // which no other block touches (c's elements are distinct); `c` is borrowed
        // mutably for the whole call, so no one else reads or writes it meanwhile.
        unsafe {
            gemm_raw(
                alpha,
                (m, k, cols),
                (ap as *const E, a.rs, a.cs),
                ((bp as *const E).add(j0 * b.cs), b.rs, b.cs),
                beta,
                (cp.get().add(j0 * c.cs), c.rs, c.cs),
            )
        }
    });
}

/// `c = alpha · a · b + beta · c` with the rows of `c` split into `parts` blocks computed
/// on different threads (each a single-threaded product).
pub(crate) fn gemm_rows_parallel<E: Element>(
    alpha: E,
    a: MatRef<'_, E>,
    b: MatRef<'_, E>,
    beta: E,
    c: MatMut<'_, E>,
    parts: usize,
) {
    let m = c.rows;
    let per = m.div_ceil(parts.max(1)).next_multiple_of(ROW_ALIGN);
    if parts <= 1 || per >= m {
        gemm_serial(alpha, a, b, beta, c);
        return;
    }
    assert!(
        c.rows < 2 || extent(1, c.cols, c.rs, c.cs) <= c.rs,
        "gemm: rows of c overlap"
    );
    let mut blocks = Vec::with_capacity(m.div_ceil(per));
    let (mut rest, mut r0) = (c.data, 0);
    while r0 < m {
        let n = per.min(m - r0);
        let (head, tail) = if r0 + n < m {
            rest.split_at_mut(n * c.rs)
        } else {
            (rest, &mut [][..])
        };
        blocks.push((r0, n, head));
        rest = tail;
        r0 += n;
    }
    blocks.into_par_iter().for_each(|(r0, n, data)| {
        let c = MatMut {
            data,
            rows: n,
            cols: c.cols,
            rs: c.rs,
            cs: c.cs,
        };
        gemm_serial(alpha, a.rows(r0, n), b, beta, c);
    });
}

/// The backend's batched GEMM (see [`GemmDesc`]).
pub(crate) fn batched<E: Element>(a: &[E], b: &[E], d: &GemmDesc) -> Result<Vec<E>> {
    const OP: &str = "gemm";
    let total = d.validate(check::NAME, OP, a.len(), b.len())?;
    let (ars, acs) = d.a_strides();
    let (brs, bcs) = d.b_strides();
    let mn = check::product(OP, &[d.m, d.n])?;
    // A batch of row-major A's against one shared B is one tall product.
    let (batch, m, a_bs) =
        if d.batch > 1 && d.b_batch_stride == 0 && !d.a_trans && d.a_batch_stride == d.m * d.k {
            (1, d.batch * d.m, 0)
        } else {
            (d.batch, d.m, d.a_batch_stride)
        };
    if batch == 1 && !d.a_trans && tall::suits(m, d.k, d.n) {
        let am = MatRef {
            data: a,
            rows: m,
            cols: d.k,
            rs: d.k,
            cs: 1,
        };
        let bm = MatRef {
            data: b,
            rows: d.k,
            cols: d.n,
            rs: brs,
            cs: bcs,
        };
        if let Some(c) = tall::product(am, bm) {
            return Ok(c);
        }
    }
    let mut c = vec![E::zero(); total];
    if c.is_empty() || d.k == 0 {
        return Ok(c);
    }
    let flops = 2usize
        .saturating_mul(d.batch)
        .saturating_mul(mn)
        .saturating_mul(d.k);
    let threads = par::threads();
    let parallel = flops >= MIN_PARALLEL_FLOPS && threads > 1;
    let one = |bi: usize, c: &mut [E], parts: usize| {
        let am = MatRef {
            data: &a[bi * a_bs..],
            rows: m,
            cols: d.k,
            rs: ars,
            cs: acs,
        };
        let bm = MatRef {
            data: &b[bi * d.b_batch_stride..],
            rows: d.k,
            cols: d.n,
            rs: brs,
            cs: bcs,
        };
        let cm = MatMut {
            data: c,
            rows: m,
            cols: d.n,
            rs: d.n,
            cs: 1,
        };
        gemm_rows_parallel(E::one(), am, bm, E::zero(), cm, parts);
    };
    if !parallel {
        c.chunks_mut(m * d.n)
            .enumerate()
            .for_each(|(bi, c)| one(bi, c, 1));
    } else if batch >= threads {
        c.par_chunks_mut(m * d.n)
            .enumerate()
            .for_each(|(bi, c)| one(bi, c, 1));
    } else {
        let parts = threads.div_ceil(batch);
        c.par_chunks_mut(m * d.n)
            .enumerate()
            .for_each(|(bi, c)| one(bi, c, parts));
    }
    Ok(c)
}
