//! f32 products for the convolutions that read the im2col matrix as it is,
//! without packing it first (AVX-512 only; elsewhere the caller uses matrixmultiply).
//!
//! With few output channels (32 in the models' group convolutions) each im2col element
//! is used only `m` times, so matrixmultiply's packing of it (one more pass over the
//! whole matrix) cost about a third of its micro-kernel's time. Here the micro-kernel
//! vectorises along the im2col rows instead (16 columns per register), which are
//! contiguous already, and broadcasts the kernel weights, which the caller keeps as
//! `[k][m]` (the `kernel_columns` layout): a tile of 8 output channels × 48 columns holds
//! 24 accumulators, and each step of `k` loads 3 vectors and 8 weights for 24 FMAs.
//!
//! The weight gradient's product `dW += dY · colᵀ` reduces along the im2col rows, so
//! there both operands are read along their rows (tiles of 4 × 4 outputs, 16 lanes of
//! partial sums each, added across the lanes at the end), and `dY` is copied once per
//! chunk into `[cout, images · plane]` rows instead of being transposed.
//!
//! Each output element is summed over `k` in order, the same way whatever the thread
//! count or tile position, so results are deterministic.
//!
//! The AVX-512 intrinsics and target feature are stable since Rust 1.89, the workspace's
//! `rust-version`. Without AVX-512 at run time the matrixmultiply path runs instead.

use pgcnn_core::Element;
use std::any::TypeId;

/// Most rows (output channels per group) for which these products beat matrixmultiply:
/// measured on the AVX-512 development machine (CPU time, 1 thread, batch 64, 7×7
/// kernels), 32 → 32 channels on 14×14 and 7×7 maps ran about 1.2 to 1.5× as fast, 64 →
/// 64 about as fast, and the forward 256 → 256 about 10% slower (packing pays off once
/// each im2col element is used by enough rows).
pub(crate) const MAX_ROWS: usize = 64;

/// Whether [`gemm`] can run on this machine (checked once by the standard library).
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `c[i·ldc + j] (+)= Σ_p a[p·lda + i] · b[p·ldb + j]` for `i < m`, `j < n`, `p < k`:
/// added to `c` when `accumulate`, else written over it. Returns false, doing nothing,
/// when [`available`] is false.
///
/// Panics when a slice is too short for the sizes and strides (never at the call site,
/// which passes the im2col buffer and the chunk's output with their own layouts).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
) -> bool {
    if !available() {
        return false;
    }
    if m == 0 || n == 0 {
        return true;
    }
    // The bounds every access below stays within (the kernels index with raw pointers).
    assert!(
        k == 0 || (k - 1) * lda + m <= a.len(),
        "direct gemm: a too short"
    );
    assert!(
        k == 0 || (k - 1) * ldb + n <= b.len(),
        "direct gemm: b too short"
    );
    assert!((m - 1) * ldc + n <= c.len(), "direct gemm: c too short");
    assert!(
        m <= lda && n <= ldb && n <= ldc,
        "direct gemm: overlapping strides"
    );
    #[cfg(target_arch = "x86_64")]
    // SAFETY: avx512f is present (checked above); the asserts keep every access of the
    // kernels (rows < m, columns < n, depth < k, with these strides) inside the slices.
    unsafe {
        avx512::gemm(m, n, k, a, lda, b, ldb, c, ldc, accumulate)
    };
    true
}

/// `c[i·ldc + j] += Σ_p a[i·lda + p] · b[j·ldb + p]` for `i < m`, `j < n`, `p < k` (the
/// weight gradient's product, both operands read along their contiguous rows; each sum
/// over `p` is formed in 16 lanes, then added across them in a fixed order). Returns
/// false, doing nothing, when [`available`] is false.
///
/// Panics when a slice is too short for the sizes and strides.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_nt_add(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) -> bool {
    if !available() {
        return false;
    }
    if m == 0 || n == 0 || k == 0 {
        return true;
    }
    assert!((m - 1) * lda + k <= a.len(), "direct gemm_nt: a too short");
    assert!((n - 1) * ldb + k <= b.len(), "direct gemm_nt: b too short");
    assert!((m - 1) * ldc + n <= c.len(), "direct gemm_nt: c too short");
    assert!(n <= ldc, "direct gemm_nt: overlapping rows of c");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: avx512f is present (checked above); the asserts keep every access of the
    // kernels (rows of a < m, rows of b < n, depth < k) inside the slices.
    unsafe {
        avx512::gemm_nt_add(m, n, k, a, lda, b, ldb, c, ldc)
    };
    true
}

/// `v` as `&[f32]` when `E` is f32.
pub(crate) fn as_f32<E: Element>(v: &[E]) -> Option<&[f32]> {
    // SAFETY: E is f32 (same TypeId): same layout and length.
    (TypeId::of::<E>() == TypeId::of::<f32>())
        .then(|| unsafe { std::slice::from_raw_parts(v.as_ptr() as *const f32, v.len()) })
}

/// `v` as `&mut [f32]` when `E` is f32.
pub(crate) fn as_f32_mut<E: Element>(v: &mut [E]) -> Option<&mut [f32]> {
    // SAFETY: as in `as_f32`; the borrow of `v` is moved into the result.
    (TypeId::of::<E>() == TypeId::of::<f32>())
        .then(|| unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut f32, v.len()) })
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// Columns per register.
    const W: usize = 16;
    /// Output channels per tile.
    const R: usize = 8;

    /// See [`super::gemm`]; the caller has checked avx512f and the bounds.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn gemm(
        m: usize,
        n: usize,
        k: usize,
        a: &[f32],
        lda: usize,
        b: &[f32],
        ldb: usize,
        c: &mut [f32],
        ldc: usize,
        accumulate: bool,
    ) {
        let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        let mut j = 0;
        // Panels of 48 columns, then of 16, then one masked panel of the last n % 16.
        while j < n {
            let left = n - j;
            let (vectors, width) = if left >= 3 * W {
                (3, 3 * W)
            } else if left >= W {
                (1, W)
            } else {
                (1, left)
            };
            // All lanes, or the first `width` of the single vector of a partial panel.
            let mask: __mmask16 = if width >= W {
                0xffff
            } else {
                ((1u32 << width) - 1) as __mmask16
            };
            let mut i = 0;
            while i < m {
                let rows = (m - i).min(R);
                // SAFETY (all arms): rows i..i + rows < m, columns j..j + width ≤ n, the
                // last vector masked to the columns that exist; see `gemm`.
                unsafe {
                    let (ap, bp, cp) = (a.add(i), b.add(j), c.add(i * ldc + j));
                    match (rows, vectors) {
                        (R, 3) => tile::<R, 3>(k, ap, lda, bp, ldb, cp, ldc, mask, accumulate),
                        (R, _) => tile::<R, 1>(k, ap, lda, bp, ldb, cp, ldc, mask, accumulate),
                        (_, 3) => {
                            for r in 0..rows {
                                let (ap, cp) = (ap.add(r), cp.add(r * ldc));
                                tile::<1, 3>(k, ap, lda, bp, ldb, cp, ldc, mask, accumulate);
                            }
                        }
                        _ => {
                            for r in 0..rows {
                                let (ap, cp) = (ap.add(r), cp.add(r * ldc));
                                tile::<1, 1>(k, ap, lda, bp, ldb, cp, ldc, mask, accumulate);
                            }
                        }
                    }
                }
                i += rows;
            }
            j += width;
        }
    }

    /// See [`super::gemm_nt_add`]; the caller has checked avx512f and the bounds.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn gemm_nt_add(
        m: usize,
        n: usize,
        k: usize,
        a: &[f32],
        lda: usize,
        b: &[f32],
        ldb: usize,
        c: &mut [f32],
        ldc: usize,
    ) {
        const RA: usize = 4;
        const RB: usize = 4;
        let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        // The lanes of the last, partial vector of each row.
        let tail = k % W;
        let tail_mask: __mmask16 = ((1u32 << tail) - 1) as __mmask16;
        let mut j = 0;
        while j < n {
            let cols = (n - j).min(RB);
            let mut i = 0;
            while i < m {
                let rows = (m - i).min(RA);
                // SAFETY (all arms): rows of a below m, rows of b below n, depth below k
                // (the partial vector masked); see `gemm_nt_add`.
                unsafe {
                    let (ap, bp, cp) = (a.add(i * lda), b.add(j * ldb), c.add(i * ldc + j));
                    let args = (k, ap, lda, bp, ldb, cp, ldc, tail_mask);
                    match (rows, cols) {
                        (RA, RB) => nt_tile::<RA, RB>(args),
                        (RA, _) => {
                            for q in 0..cols {
                                let (bq, cq) = (bp.add(q * ldb), cp.add(q));
                                nt_tile::<RA, 1>((k, ap, lda, bq, ldb, cq, ldc, tail_mask));
                            }
                        }
                        _ => {
                            for r in 0..rows {
                                let (ar, cr) = (ap.add(r * lda), cp.add(r * ldc));
                                for q in 0..cols {
                                    let (bq, cq) = (bp.add(q * ldb), cr.add(q));
                                    nt_tile::<1, 1>((k, ar, lda, bq, ldb, cq, ldc, tail_mask));
                                }
                            }
                        }
                    }
                }
                i += rows;
            }
            j += cols;
        }
    }

    /// Arguments of [`nt_tile`]: depth, a and its row stride, b and its row stride, c and
    /// its row stride, the lanes of the last partial vector.
    type NtArgs = (
        usize,
        *const f32,
        usize,
        *const f32,
        usize,
        *mut f32,
        usize,
        __mmask16,
    );

    /// One tile of the weight-gradient product: `RA` rows of `a` against `RB` rows of `b`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn nt_tile<const RA: usize, const RB: usize>(args: NtArgs) {
        let (k, a, lda, b, ldb, c, ldc, tail_mask) = args;
        let mut acc = [[_mm512_setzero_ps(); RB]; RA];
        // SAFETY: the caller keeps rows and depth inside the slices; lanes past k of the
        // last vector are masked off.
        unsafe {
            let mut p = 0;
            while p < k {
                let mask = if p + W <= k { 0xffff } else { tail_mask };
                let mut av = [_mm512_setzero_ps(); RA];
                for r in 0..RA {
                    av[r] = _mm512_maskz_loadu_ps(mask, a.add(r * lda + p));
                }
                for q in 0..RB {
                    let bv = _mm512_maskz_loadu_ps(mask, b.add(q * ldb + p));
                    for r in 0..RA {
                        acc[r][q] = _mm512_fmadd_ps(av[r], bv, acc[r][q]);
                    }
                }
                p += W;
            }
            for r in 0..RA {
                for q in 0..RB {
                    let ptr = c.add(r * ldc + q);
                    *ptr += _mm512_reduce_add_ps(acc[r][q]);
                }
            }
        }
    }

    /// One tile: `ROWS` rows of `c` × `V` vectors of 16 columns (the last masked by
    /// `mask`), summed over `k`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile<const ROWS: usize, const V: usize>(
        k: usize,
        a: *const f32,
        lda: usize,
        b: *const f32,
        ldb: usize,
        c: *mut f32,
        ldc: usize,
        mask: __mmask16,
        accumulate: bool,
    ) {
        let lane_mask = |v: usize| if v + 1 == V { mask } else { 0xffff };
        let mut acc = [[_mm512_setzero_ps(); V]; ROWS];
        // SAFETY: the caller keeps rows < ROWS, depth < k and the unmasked lanes inside
        // the slices; masked-off lanes are neither read nor written.
        unsafe {
            for p in 0..k {
                let brow = b.add(p * ldb);
                let mut bv = [_mm512_setzero_ps(); V];
                for v in 0..V {
                    bv[v] = _mm512_maskz_loadu_ps(lane_mask(v), brow.add(v * W));
                }
                let arow = a.add(p * lda);
                for r in 0..ROWS {
                    let w = _mm512_set1_ps(*arow.add(r));
                    for v in 0..V {
                        acc[r][v] = _mm512_fmadd_ps(w, bv[v], acc[r][v]);
                    }
                }
            }
            for r in 0..ROWS {
                for v in 0..V {
                    let ptr = c.add(r * ldc + v * W);
                    let mut sum = acc[r][v];
                    if accumulate {
                        sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(lane_mask(v), ptr));
                    }
                    _mm512_mask_storeu_ps(ptr, lane_mask(v), sum);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every tile shape and edge: rows around the tile height, columns around 16 and 48,
    /// strides wider than the matrices, and both writing and accumulating.
    #[test]
    fn matches_a_plain_product() {
        if !available() {
            return;
        }
        let value = |i: usize| ((i * 7919 % 1009) as f32 - 500.0) / 500.0;
        for m in [1, 3, 8, 9, 17, 32] {
            for n in [1, 5, 16, 17, 47, 48, 49, 64, 100] {
                for k in [0, 1, 7, 20] {
                    for accumulate in [false, true] {
                        let (lda, ldb, ldc) = (m + 2, n + 3, n + 1);
                        let a: Vec<f32> = (0..k * lda).map(value).collect();
                        let b: Vec<f32> = (0..k * ldb).map(|i| value(i + 17)).collect();
                        let c0: Vec<f32> = (0..m * ldc).map(|i| value(i + 5)).collect();
                        let mut c = c0.clone();
                        assert!(gemm(m, n, k, &a, lda, &b, ldb, &mut c, ldc, accumulate));
                        for i in 0..m {
                            for j in 0..ldc {
                                let got = c[i * ldc + j];
                                if j >= n {
                                    assert_eq!(got, c0[i * ldc + j], "column {j} past n written");
                                    continue;
                                }
                                let mut want = if accumulate {
                                    c0[i * ldc + j] as f64
                                } else {
                                    0.0
                                };
                                for p in 0..k {
                                    want += a[p * lda + i] as f64 * b[p * ldb + j] as f64;
                                }
                                assert!(
                                    (got as f64 - want).abs() <= 1e-5 * (1.0 + want.abs()),
                                    "m {m} n {n} k {k} accumulate {accumulate} ({i}, {j}): {got} vs {want}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    /// The weight-gradient product: every tile shape and edge (rows of `a` around 4,
    /// rows of `b` around 4, depths around 16), strides wider than the rows.
    #[test]
    fn nt_matches_a_plain_product() {
        if !available() {
            return;
        }
        let value = |i: usize| ((i * 7919 % 1009) as f32 - 500.0) / 500.0;
        for m in [1, 3, 4, 5, 9, 32] {
            for n in [1, 3, 4, 5, 11, 49] {
                for k in [1, 7, 16, 17, 40, 100] {
                    let (lda, ldb, ldc) = (k + 3, k + 1, n + 2);
                    let a: Vec<f32> = (0..m * lda).map(value).collect();
                    let b: Vec<f32> = (0..n * ldb).map(|i| value(i + 17)).collect();
                    let c0: Vec<f32> = (0..m * ldc).map(|i| value(i + 5)).collect();
                    let mut c = c0.clone();
                    assert!(gemm_nt_add(m, n, k, &a, lda, &b, ldb, &mut c, ldc));
                    for i in 0..m {
                        for j in 0..ldc {
                            let got = c[i * ldc + j];
                            if j >= n {
                                assert_eq!(got, c0[i * ldc + j], "column {j} past n written");
                                continue;
                            }
                            let mut want = c0[i * ldc + j] as f64;
                            for p in 0..k {
                                want += a[i * lda + p] as f64 * b[j * ldb + p] as f64;
                            }
                            assert!(
                                (got as f64 - want).abs() <= 1e-5 * (1.0 + want.abs()),
                                "m {m} n {n} k {k} ({i}, {j}): {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }
}
