//! Products of a very tall matrix with a small one, `C (m × n) = A (m × k) · B (k × n)`
//! with `m` in the hundreds of thousands and `k, n` at most a few hundred: the linear
//! layers of a kernel net applied to every kernel coordinate (for a model that draws its
//! group elements per image, 200,000 coordinates by 3 to 32 inputs by 32 to 100 outputs).
//!
//! matrixmultiply packs all of `A` into panels first: with `k` this small, that copy costs
//! about as much as the arithmetic (a quarter of such a model's evaluation went to
//! packing). Here `A` is read in place, row-major; only `B` is copied, once, into a
//! zero-padded row-major block that stays in L1. Each tile of `R` rows × `W` columns keeps
//! its accumulators in registers across the whole `k` loop (the tile kernel of
//! [`crate::wide`], so the same instruction sets are used, chosen at run time). Rows are
//! split over rayon's threads in fixed blocks, and every element is summed in the same
//! order whatever the split.

use crate::fresh::written;
use crate::gemm::MatRef;
use crate::par;
use crate::wide::{best_isa, tile, Isa, Lane, Operands, R};
use pgcnn_core::Element;
use rayon::prelude::*;
use std::any::TypeId;
use std::mem::MaybeUninit;

/// Largest `k` and `n` handled here: `B` (`k × n`, padded) must sit in L1 with room for
/// the rows of `A` that stream past it.
const MAX_K: usize = 128;
const MAX_N: usize = 256;

/// Smallest `m` worth it: below, matrixmultiply's packing is cheap next to its kernel.
const MIN_M: usize = 1024;

/// Whether a product of these sizes is one this module serves.
pub(crate) fn suits(m: usize, k: usize, n: usize) -> bool {
    m >= MIN_M && (1..=MAX_K).contains(&k) && (1..=MAX_N).contains(&n)
}

/// `a · b` for row-major `a` (`rs == cols`, `cs == 1`) and `b` with any strides, as a
/// new row-major `a.rows × b.cols` buffer; `None` for other layouts and element types.
pub(crate) fn product<E: Element>(a: MatRef<'_, E>, b: MatRef<'_, E>) -> Option<Vec<E>> {
    product_with(best_isa(), a, b)
}

/// [`product`] with a chosen instruction set (at most the machine's; tests force each).
pub(crate) fn product_with<E: Element>(
    isa: Isa,
    a: MatRef<'_, E>,
    b: MatRef<'_, E>,
) -> Option<Vec<E>> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if b.rows != k || a.rs != k || a.cs != 1 || m == 0 || k == 0 || n == 0 {
        return None;
    }
    assert!(
        (m - 1) * k + k <= a.data.len() && (k - 1) * b.rs + (n - 1) * b.cs < b.data.len(),
        "tall product: a view leaves its slice"
    );
    let is = |t: TypeId| TypeId::of::<E>() == t;
    if is(TypeId::of::<f32>()) {
        Some(if n > 16 {
            run::<E, f32, 32>(isa, a, b)
        } else {
            run::<E, f32, 16>(isa, a, b)
        })
    } else if is(TypeId::of::<f64>()) {
        Some(if n > 8 {
            run::<E, f64, 16>(isa, a, b)
        } else {
            run::<E, f64, 8>(isa, a, b)
        })
    } else {
        None
    }
}

/// The product with lanes `T` (which is `E`, checked by the caller) in strips `W` wide.
fn run<E: Element, T: Lane, const W: usize>(
    isa: Isa,
    a: MatRef<'_, E>,
    b: MatRef<'_, E>,
) -> Vec<E> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    // B, zero-padded to whole strips: the last strip computes a full tile and keeps
    // only its first columns.
    let np = n.next_multiple_of(W);
    let mut packed = vec![E::zero(); k * np];
    for p in 0..k {
        for j in 0..n {
            packed[p * np + j] = b.data[p * b.rs + j * b.cs];
        }
    }
    let per = m
        .div_ceil(4 * par::threads())
        .max(par::MIN_CHUNK.div_ceil(n))
        .next_multiple_of(R);
    written(m * n, |c| {
        let block = |(t, c): (usize, &mut [MaybeUninit<E>])| {
            let rows = c.len() / n;
            let ops = Operands {
                m: rows,
                k,
                n,
                a: a.data[t * per * k..].as_ptr() as *const T,
                b: packed.as_ptr() as *const T,
                ldb: np,
                c: c.as_mut_ptr() as *mut T,
                ldc: n,
            };
            // SAFETY: `E` is `T` (checked by the caller through their TypeIds); the block
            // covers rows t·per.. of `a` and of `c` (whole rows, as `c` is split by rows),
            // `packed` holds `k` rows of `np` columns, and this block alone writes its `c`.
            unsafe {
                match isa {
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx512 => rows_avx512::<T, W>(ops),
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx2 => rows_avx2::<T, W>(ops),
                    _ => rows_of::<T, W, false>(ops),
                }
            }
        };
        if par::worth_it(m * n) {
            c.par_chunks_mut(per * n).enumerate().for_each(block);
        } else {
            c.chunks_mut(per * n).enumerate().for_each(block);
        }
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn rows_avx512<T: Lane, const W: usize>(ops: Operands<T>) {
    // SAFETY: forwarded from the caller.
    unsafe { rows_of::<T, W, true>(ops) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_avx2<T: Lane, const W: usize>(ops: Operands<T>) {
    // SAFETY: forwarded from the caller.
    unsafe { rows_of::<T, W, true>(ops) }
}

/// All of `c` (`ops.m` rows): for each strip of `W` columns of the padded `b`, the rows
/// in tiles of `R` (then single rows). A strip that reaches past `n` is computed into a
/// scratch tile and only its first columns are copied out.
///
/// # Safety
/// `a` holds `m × k` row-major, `b` holds `k` rows of `ldb ≥ n.next_multiple_of(W)`
/// columns, `c` holds `m × n` row-major (`ldc == n`) that nothing else accesses.
#[inline(always)]
unsafe fn rows_of<T: Lane, const W: usize, const FUSED: bool>(ops: Operands<T>) {
    for j in (0..ops.n).step_by(W) {
        let width = W.min(ops.n - j);
        // The strip's view: b and c start at column j.
        // SAFETY: j < n ≤ ldb and j < ldc.
        let strip = unsafe {
            Operands {
                b: ops.b.add(j),
                c: ops.c.add(j),
                ..ops
            }
        };
        let mut i = 0;
        while i < ops.m {
            let tall = if i + R <= ops.m { R } else { 1 };
            // SAFETY: rows i..i + tall of a and c, and the strip's W padded columns of b,
            // are inside the views; full strips write W columns of c, partial ones write
            // the scratch tile.
            unsafe {
                if width == W {
                    if tall == R {
                        tile::<T, R, W, FUSED>(strip, i, 0, None)
                    } else {
                        tile::<T, 1, W, FUSED>(strip, i, 0, None)
                    }
                } else {
                    let mut scratch = [[T::ZERO; W]; R];
                    let into = Operands {
                        a: strip.a.add(i * ops.k),
                        c: scratch.as_mut_ptr() as *mut T,
                        ldc: W,
                        ..strip
                    };
                    if tall == R {
                        tile::<T, R, W, FUSED>(into, 0, 0, None)
                    } else {
                        tile::<T, 1, W, FUSED>(into, 0, 0, None)
                    }
                    for (r, row) in scratch.iter().enumerate().take(tall) {
                        let out = strip.c.add((i + r) * ops.ldc);
                        core::ptr::copy_nonoverlapping(row.as_ptr(), out, width);
                    }
                }
            }
            i += tall;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wide::runnable_isas;

    /// Small integers: every product and sum is exact, so any ISA and any order must
    /// give exactly the plain loop's result.
    fn check<E: Element>() {
        for (m, k, n, b_trans) in [
            (1, 1, 1, false),
            (5, 3, 32, true),
            (1030, 3, 32, true),
            (1031, 6, 100, false),
            (2047, 32, 100, true),
            (1500, 100, 3, false),
            (1025, 7, 17, true),
            (1024, 128, 256, false),
        ] {
            let a: Vec<E> = (0..m * k)
                .map(|v| E::from_f64(((v * 37) % 11) as f64 - 5.0))
                .collect();
            let b: Vec<E> = (0..k * n)
                .map(|v| E::from_f64(((v * 53) % 13) as f64 - 6.0))
                .collect();
            let (rs, cs) = if b_trans { (1, k) } else { (n, 1) };
            let want: Vec<E> = (0..m * n)
                .map(|ij| {
                    let (i, j) = (ij / n, ij % n);
                    (0..k).map(|p| a[i * k + p] * b[p * rs + j * cs]).sum()
                })
                .collect();
            let am = MatRef {
                data: &a,
                rows: m,
                cols: k,
                rs: k,
                cs: 1,
            };
            let bm = MatRef {
                data: &b,
                rows: k,
                cols: n,
                rs,
                cs,
            };
            for isa in runnable_isas() {
                for threads in [1, 3] {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .unwrap();
                    let got = pool.install(|| product_with(isa, am, bm)).unwrap();
                    assert!(got == want, "{m}×{k}×{n} {isa:?} {threads} threads");
                }
            }
        }
    }

    #[test]
    fn tall_products_are_exact_on_integers_f32() {
        check::<f32>();
    }

    #[test]
    fn tall_products_are_exact_on_integers_f64() {
        check::<f64>();
    }

    #[test]
    fn other_layouts_are_declined() {
        let a = vec![1.0f32; 12];
        let transposed = MatRef {
            data: &a,
            rows: 3,
            cols: 4,
            rs: 1,
            cs: 3,
        };
        let b = MatRef {
            data: &a,
            rows: 4,
            cols: 3,
            rs: 3,
            cs: 1,
        };
        assert!(product(transposed, b).is_none());
        assert!(!suits(10, 4, 3) && suits(MIN_M, 4, 3) && !suits(MIN_M, MAX_K + 1, 3));
    }
}
