//! Matrix products through cuBLAS.
//!
//! cuBLAS is column-major. A row-major `[r, c]` matrix is, to cuBLAS, the column-major
//! `c × r` matrix — its transpose — so the row-major `C = A·B` is computed as the
//! column-major `Cᵀ = Bᵀ·Aᵀ`: pass B first, swap m and n, keep every transpose flag.

use crate::device::Cuda;
use crate::error::{backend_err, NAME};
use crate::runtime::ColMajorCall;
use crate::storage::CudaStorage;
use pgcnn_core::backend::GemmDesc;
use pgcnn_core::{Element, Result};

/// A batched row-major product on device addresses: for each batch `t`,
/// `C[t] (m×n) = op(A[t]) (m×k) · op(B[t]) (k×n)` (+ `C[t]` when `accumulate`), where
/// `A[t]` is stored `[m, k]`, or `[k, m]` when `a_trans`, at `a + t·a_stride` elements,
/// likewise B, and C is `[m, n]` at `c + t·c_stride`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RowGemm {
    pub batch: usize,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: u64,
    pub a_trans: bool,
    pub a_stride: usize,
    pub b: u64,
    pub b_trans: bool,
    pub b_stride: usize,
    pub c: u64,
    pub c_stride: usize,
    pub accumulate: bool,
}

impl RowGemm {
    /// `Cᵀ = op(B)ᵀ · op(A)ᵀ` in cuBLAS's terms.
    pub(crate) fn col_major(&self) -> ColMajorCall {
        ColMajorCall {
            trans_a: self.b_trans,
            trans_b: self.a_trans,
            m: self.n,
            n: self.m,
            k: self.k,
            a: self.b,
            lda: if self.b_trans { self.k } else { self.n },
            stride_a: self.b_stride,
            b: self.a,
            ldb: if self.a_trans { self.m } else { self.k },
            stride_b: self.a_stride,
            c: self.c,
            ldc: self.n,
            stride_c: self.c_stride,
            batch: self.batch,
        }
    }
}

impl Cuda {
    /// Queues a [`RowGemm`]; `tf32` allows TF32 tensor cores for f32.
    pub(crate) fn row_gemm<E: Element>(
        &self,
        op: &'static str,
        g: &RowGemm,
        tf32: bool,
    ) -> Result<()> {
        if g.batch == 0 || g.m == 0 || g.n == 0 {
            return Ok(());
        }
        if g.k == 0 {
            // An empty sum: C = 0 (or unchanged when accumulating).
            if !g.accumulate {
                for t in 0..g.batch {
                    let at = g.c + (t * g.c_stride * std::mem::size_of::<E>()) as u64;
                    self.memset_zero(op, at, g.m * g.n * std::mem::size_of::<E>())?;
                }
            }
            return Ok(());
        }
        self.dev.activity.gemm();
        self.timed(op, "cuBLAS GEMM", || {
            self.dev
                .rt
                .gemm(&g.col_major(), E::DTYPE, tf32, g.accumulate)
                .map_err(|e| backend_err(op, format!("cuBLAS: {e}")))
        })
    }

    pub(crate) fn gemm_impl<E: Element>(
        &self,
        a: &CudaStorage<E>,
        b: &CudaStorage<E>,
        d: &GemmDesc,
    ) -> Result<CudaStorage<E>> {
        const OP: &str = "gemm";
        let len = d.validate(NAME, OP, a.len(), b.len())?;
        let y = self.alloc::<E>(OP, len)?;
        let mut g = RowGemm {
            batch: d.batch,
            m: d.m,
            n: d.n,
            k: d.k,
            a: a.ptr(),
            a_trans: d.a_trans,
            a_stride: d.a_batch_stride,
            b: b.ptr(),
            b_trans: d.b_trans,
            b_stride: d.b_batch_stride,
            c: y.ptr(),
            c_stride: d.m * d.n,
            accumulate: false,
        };
        if d.batch > 1 && d.b_batch_stride == 0 && !d.a_trans && d.a_batch_stride == d.m * d.k {
            // One shared B and back-to-back row-major A's: a single taller product.
            g.m *= g.batch;
            g.batch = 1;
        }
        // Plain products stay in strict f32 in every mode, as PyTorch's matmul does by
        // default; only convolutions follow the MathMode.
        self.row_gemm::<E>(OP, &g, false)?;
        Ok(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgcnn_core::backend::Backend;
    use pgcnn_core::reference::Reference;

    /// cuBLAS's strided batched GEMM, column-major, on a host array with addresses as
    /// element offsets: the contract `col_major` is written against.
    fn cublas_model(c: &ColMajorCall, mem: &mut [f64]) {
        for t in 0..c.batch {
            let (a0, b0, c0) = (
                c.a as usize + t * c.stride_a,
                c.b as usize + t * c.stride_b,
                c.c as usize + t * c.stride_c,
            );
            for j in 0..c.n {
                for i in 0..c.m {
                    let mut acc = 0.0;
                    for p in 0..c.k {
                        // op(A)[i, p] and op(B)[p, j], column-major with leading dims.
                        let av = if c.trans_a {
                            mem[a0 + p + i * c.lda]
                        } else {
                            mem[a0 + i + p * c.lda]
                        };
                        let bv = if c.trans_b {
                            mem[b0 + j + p * c.ldb]
                        } else {
                            mem[b0 + p + j * c.ldb]
                        };
                        acc += av * bv;
                    }
                    mem[c0 + i + j * c.ldc] = acc;
                }
            }
        }
    }

    #[test]
    fn column_major_call_computes_the_row_major_product() {
        for (a_trans, b_trans) in [(false, false), (true, false), (false, true), (true, true)] {
            for (batch, a_shared, b_shared) in [
                (1, false, false),
                (3, false, false),
                (3, true, false),
                (3, false, true),
            ] {
                let (m, n, k) = (4, 5, 3);
                let d = GemmDesc {
                    batch,
                    m,
                    n,
                    k,
                    a_trans,
                    b_trans,
                    a_batch_stride: if a_shared { 0 } else { m * k },
                    b_batch_stride: if b_shared { 0 } else { k * n },
                };
                let a: Vec<f64> = (0..batch * m * k)
                    .map(|v| (v as f64 * 0.37).sin())
                    .collect();
                let b: Vec<f64> = (0..batch * k * n)
                    .map(|v| (v as f64 * 0.71).cos())
                    .collect();
                let want = Reference.gemm(&a, &b, &d).unwrap();
                // Lay a, b, c out in one "device memory".
                let (a0, b0, c0) = (0, a.len(), a.len() + b.len());
                let mut mem = [a.clone(), b.clone(), vec![f64::NAN; batch * m * n]].concat();
                let g = RowGemm {
                    batch,
                    m,
                    n,
                    k,
                    a: a0 as u64,
                    a_trans,
                    a_stride: d.a_batch_stride,
                    b: b0 as u64,
                    b_trans,
                    b_stride: d.b_batch_stride,
                    c: c0 as u64,
                    c_stride: m * n,
                    accumulate: false,
                };
                cublas_model(&g.col_major(), &mut mem);
                let got = &mem[c0..];
                for (x, y) in got.iter().zip(&want) {
                    assert!((x - y).abs() < 1e-12, "{d:?}: {got:?} vs {want:?}");
                }
            }
        }
    }
}
