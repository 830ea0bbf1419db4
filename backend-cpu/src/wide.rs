//! Products of a small matrix with a very wide one, `C (m × n) = A (m × k) · B (k × n)`
//! with `m, k` up to a few dozen and `n` in the hundreds of thousands, all row-major: the
//! FFT convolution's transforms, where the DFT matrix is `A` and every plane of the batch
//! is a column of `B`.
//!
//! matrixmultiply would pack all of `B` into panels (a full extra pass over the data for
//! a few dozen multiply-adds per element) and run the short `m` side in partly masked
//! tiles. Here `B` is read in place: each tile of `R` rows × `W` columns keeps its
//! accumulators in registers across the whole `k` loop, and the `k × W` strip of `B` it
//! reads stays in L1 for all the row tiles. With AVX-512 (or AVX2) and FMA, detected at
//! run time, the tile loops compile to vector code for those instructions; elsewhere
//! they run as portable code. Columns are split over rayon's threads in fixed blocks, so
//! results do not depend on scheduling, and every column is summed in the same order
//! whatever the split.

use crate::gemm::{gemm_cols_parallel, MatMut, MatRef};
use pgcnn_core::Element;
use rayon::prelude::*;
use std::any::TypeId;
use std::mem::MaybeUninit;

/// Rows per tile.
pub(crate) const R: usize = 6;

/// A lane type the tiles run on.
pub(crate) trait Lane: Copy + Send + Sync + 'static {
    const ZERO: Self;
    /// `a · b + c`, fused where `FUSED` (one rounding), else two roundings.
    fn madd<const FUSED: bool>(a: Self, b: Self, c: Self) -> Self;
}

macro_rules! lane {
    ($t:ty) => {
        impl Lane for $t {
            const ZERO: Self = 0.0;
            #[inline(always)]
            fn madd<const FUSED: bool>(a: Self, b: Self, c: Self) -> Self {
                if FUSED {
                    a.mul_add(b, c)
                } else {
                    a * b + c
                }
            }
        }
    };
}
lane!(f32);
lane!(f64);

/// The instruction sets the tiles are compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Isa {
    Avx512,
    Avx2,
    Portable,
}

/// The best instruction set this machine has.
pub(crate) fn best_isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma") {
            return Isa::Avx512;
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return Isa::Avx2;
        }
    }
    Isa::Portable
}

/// Every instruction set this machine can run, [`best_isa`]'s and those below it: the
/// paths a test forces in turn.
#[cfg(test)]
pub(crate) fn runnable_isas() -> Vec<Isa> {
    match best_isa() {
        Isa::Avx512 => vec![Isa::Avx512, Isa::Avx2, Isa::Portable],
        Isa::Avx2 => vec![Isa::Avx2, Isa::Portable],
        Isa::Portable => vec![Isa::Portable],
    }
}

/// The operands, checked: `a` is `m × k` with row stride `k`, `b` is `k × n` with row
/// stride `ldb`, `c` is `m × n` with row stride `ldc`.
#[derive(Clone, Copy)]
pub(crate) struct Operands<T> {
    pub(crate) m: usize,
    pub(crate) k: usize,
    pub(crate) n: usize,
    pub(crate) a: *const T,
    pub(crate) b: *const T,
    pub(crate) ldb: usize,
    pub(crate) c: *mut T,
    pub(crate) ldc: usize,
}
// SAFETY: the blocks that share one `Operands` read `a` and `b` and write disjoint
// columns of `c` (see `run`).
unsafe impl<T: Send> Send for Operands<T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for Operands<T> {}

/// `c = a · b` into memory not written yet, with the best instruction set of the machine:
/// `c` holds the `a.rows × b.cols` result with row stride `ldc`, every element of which is
/// written (the elements between the rows are left as they are). The columns run in
/// `parts` blocks on rayon's threads. Panics (at every call site, never) when a view
/// leaves its slice.
pub(crate) fn product_into<E: Element>(
    a: MatRef<'_, E>,
    b: MatRef<'_, E>,
    c: &mut [MaybeUninit<E>],
    ldc: usize,
    parts: usize,
) {
    product_into_with(best_isa(), a, b, c, ldc, parts)
}

/// [`product_into`] with a chosen instruction set (at most the machine's; tests force
/// each).
pub(crate) fn product_into_with<E: Element>(
    isa: Isa,
    a: MatRef<'_, E>,
    b: MatRef<'_, E>,
    c: &mut [MaybeUninit<E>],
    ldc: usize,
    parts: usize,
) {
    assert_eq!(b.rows, a.cols, "wide product: sizes disagree");
    let (len, ptr) = (c.len(), c.as_mut_ptr() as *mut E);
    if !in_place(isa, a, b, ptr, len, ldc, parts) {
        // Element types other than f32 and f64 (none today): initialise, then multiply.
        for v in c.iter_mut() {
            v.write(E::zero());
        }
        // SAFETY: every element of `c` was just written.
        let data = unsafe { std::slice::from_raw_parts_mut(ptr, len) };
        let c = MatMut {
            data,
            rows: a.rows,
            cols: b.cols,
            rs: ldc,
            cs: 1,
        };
        gemm_cols_parallel(E::one(), a, b, E::zero(), c, parts);
    }
}

/// The tiled product into `c` (`len` elements from `c`, the result's rows `ldc` apart,
/// written without being read), or false, doing nothing, for layouts and element types
/// it does not handle. Panics (at every call site, never) when a view leaves its slice.
fn in_place<E: Element>(
    isa: Isa,
    a: MatRef<'_, E>,
    b: MatRef<'_, E>,
    c: *mut E,
    len: usize,
    ldc: usize,
    parts: usize,
) -> bool {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if a.rs != k || a.cs != 1 || b.cs != 1 {
        return false;
    }
    let fits = |len: usize, rows: usize, cols: usize, rs: usize| {
        rows == 0 || cols == 0 || (rows - 1) * rs + cols <= len
    };
    assert!(
        fits(a.data.len(), m, k, k) && fits(b.data.len(), k, n, b.rs) && fits(len, m, n, ldc),
        "wide product: a view leaves its slice"
    );
    assert!(m < 2 || n <= ldc, "wide product: rows of c overlap");
    if m == 0 || n == 0 {
        return true;
    }
    let ldb = b.rs;
    let ops = |a: *const E, b: *const E, c: *mut E| Operands {
        m,
        k,
        n,
        a,
        b,
        ldb,
        c,
        ldc,
    };
    if TypeId::of::<E>() == TypeId::of::<f32>() {
        let o = ops(a.data.as_ptr(), b.data.as_ptr(), c);
        // SAFETY: E is f32 (same TypeId), so the casts are identities; the asserts above
        // keep every access inside the slices, and the caller holds `c` exclusively.
        unsafe { run::<f32, 32>(isa, o.cast(), parts) };
        true
    } else if TypeId::of::<E>() == TypeId::of::<f64>() {
        let o = ops(a.data.as_ptr(), b.data.as_ptr(), c);
        // SAFETY: as above, with E = f64.
        unsafe { run::<f64, 16>(isa, o.cast(), parts) };
        true
    } else {
        false
    }
}

impl<T> Operands<T> {
    /// The same operands seen as another element type (of the same size, checked by the
    /// caller through its TypeId).
    fn cast<U>(self) -> Operands<U> {
        Operands {
            m: self.m,
            k: self.k,
            n: self.n,
            a: self.a as *const U,
            b: self.b as *const U,
            ldb: self.ldb,
            c: self.c as *mut U,
            ldc: self.ldc,
        }
    }
}

/// Splits the columns into `parts` blocks (multiples of `W`) and runs each.
///
/// # Safety
/// `ops` must describe in-bounds views with distinct elements of `c`, which nothing else
/// accesses during the call.
unsafe fn run<T: Lane, const W: usize>(isa: Isa, ops: Operands<T>, parts: usize) {
    let per = ops.n.div_ceil(parts.max(1)).next_multiple_of(W);
    let blocks = ops.n.div_ceil(per);
    let one = |block: usize| {
        let j0 = block * per;
        let cols = per.min(ops.n - j0);
        // SAFETY: columns j0..j0 + cols are inside the views, and this block alone writes
        // them.
        unsafe {
            match isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => columns_avx512::<T, W>(ops, j0, cols),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => columns_avx2::<T, W>(ops, j0, cols),
                _ => columns::<T, W, false>(ops, j0, cols),
            }
        }
    };
    if blocks <= 1 {
        one(0);
    } else {
        (0..blocks).into_par_iter().for_each(one);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn columns_avx512<T: Lane, const W: usize>(ops: Operands<T>, j0: usize, cols: usize) {
    // SAFETY: forwarded from the caller.
    unsafe { columns::<T, W, true>(ops, j0, cols) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn columns_avx2<T: Lane, const W: usize>(ops: Operands<T>, j0: usize, cols: usize) {
    // SAFETY: forwarded from the caller.
    unsafe { columns::<T, W, true>(ops, j0, cols) }
}

/// Columns `j0..j0 + cols` of `c`: full `W`-wide strips by tiles of `R` rows (then single
/// rows), and the last, narrower strip column by column.
#[inline(always)]
unsafe fn columns<T: Lane, const W: usize, const FUSED: bool>(
    ops: Operands<T>,
    j0: usize,
    cols: usize,
) {
    let full = cols / W * W;
    for j in (j0..j0 + full).step_by(W) {
        // The first tile of a strip also asks for the strip after next: the rows of `b`
        // are far apart (one stream per row, more than the hardware prefetcher follows).
        let ahead = if j + 3 * W <= j0 + full {
            Some(j + 2 * W)
        } else {
            None
        };
        let mut i = 0;
        while i + R <= ops.m {
            // SAFETY: rows i..i + R and columns j..j + W are inside the views, and so are
            // the prefetched columns.
            unsafe { tile::<T, R, W, FUSED>(ops, i, j, if i == 0 { ahead } else { None }) };
            i += R;
        }
        while i < ops.m {
            // SAFETY: as above, one row.
            unsafe { tile::<T, 1, W, FUSED>(ops, i, j, if i == 0 { ahead } else { None }) };
            i += 1;
        }
    }
    for j in j0 + full..j0 + cols {
        for i in 0..ops.m {
            let mut acc = T::ZERO;
            for p in 0..ops.k {
                // SAFETY: (i, p), (p, j) and (i, j) are inside the views.
                unsafe {
                    acc = T::madd::<FUSED>(
                        *ops.a.add(i * ops.k + p),
                        *ops.b.add(p * ops.ldb + j),
                        acc,
                    );
                }
            }
            // SAFETY: as above.
            unsafe { *ops.c.add(i * ops.ldc + j) = acc };
        }
    }
}

/// Asks the cache for the line holding `p` (a hint: never faults).
#[inline(always)]
fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it never reads or faults, whatever the address.
    unsafe {
        core::arch::x86_64::_mm_prefetch(p as *const i8, core::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// One `RR × W` tile of `c` at `(i, j)`, accumulated over all of `k` in registers,
/// prefetching the rows of `b` at `prefetch_column` on the way.
#[inline(always)]
pub(crate) unsafe fn tile<T: Lane, const RR: usize, const W: usize, const FUSED: bool>(
    ops: Operands<T>,
    i: usize,
    j: usize,
    prefetch_column: Option<usize>,
) {
    let mut acc = [[T::ZERO; W]; RR];
    for p in 0..ops.k {
        if let Some(col) = prefetch_column {
            let next = ops.b.wrapping_add(p * ops.ldb + col);
            prefetch(next as *const u8);
            prefetch(next.wrapping_add(W / 2) as *const u8);
        }
        // SAFETY: row p, columns j..j + W of b are inside its view.
        let b: [T; W] =
            unsafe { core::ptr::read_unaligned(ops.b.add(p * ops.ldb + j) as *const [T; W]) };
        for r in 0..RR {
            // SAFETY: (i + r, p) is inside a's view.
            let a = unsafe { *ops.a.add((i + r) * ops.k + p) };
            for (acc, &b) in acc[r].iter_mut().zip(&b) {
                *acc = T::madd::<FUSED>(a, b, *acc);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        // SAFETY: row i + r, columns j..j + W of c are inside its view.
        unsafe {
            core::ptr::write_unaligned(ops.c.add((i + r) * ops.ldc + j) as *mut [T; W], *acc)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(m: usize, k: usize, n: usize, a: &[f64], b: &[f64], ldb: usize) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * ldb + j]).sum();
            }
        }
        c
    }

    fn check<E: Element>(isa: Isa) {
        for (m, k, n, parts) in [
            (1, 1, 1, 1),
            (7, 5, 70, 2),
            (34, 28, 333, 3),
            (13, 1, 31, 1),
            (6, 9, 64, 4),
        ] {
            let ldb = n + 3;
            let a: Vec<f64> = (0..m * k).map(|v| ((v * 37) % 11) as f64 - 5.0).collect();
            let b: Vec<f64> = (0..k * ldb).map(|v| ((v * 53) % 13) as f64 - 6.0).collect();
            let want = plain(m, k, n, &a, &b, ldb);
            let ae: Vec<E> = a.iter().map(|&v| E::from_f64(v)).collect();
            let be: Vec<E> = b.iter().map(|&v| E::from_f64(v)).collect();
            let mut c: Vec<E> = Vec::with_capacity(m * n);
            let a = MatRef {
                data: &ae,
                rows: m,
                cols: k,
                rs: k,
                cs: 1,
            };
            let b = MatRef {
                data: &be,
                rows: k,
                cols: n,
                rs: ldb,
                cs: 1,
            };
            product_into_with(isa, a, b, &mut c.spare_capacity_mut()[..m * n], n, parts);
            // SAFETY: the product writes all m · n elements of its result.
            unsafe { c.set_len(m * n) };
            // Small integers: every path is exact.
            for (g, w) in c.iter().zip(&want) {
                assert_eq!(Element::to_f64(*g), *w, "{isa:?} {m}×{k}×{n}");
            }
        }
    }

    #[test]
    fn every_instruction_set_matches_a_plain_product() {
        for isa in runnable_isas() {
            check::<f32>(isa);
            check::<f64>(isa);
        }
    }
}
