//! cuBLAS's GEMM on the emulator: a plain loop over host memory.

use crate::runtime::ColMajorCall;
use pgcnn_core::DType;

/// cuBLAS's strided batched GEMM on host memory (see [`ColMajorCall`]), accumulating in
/// the element type. With `tf32`, f32 inputs are cut to TF32 before they are multiplied,
/// as tensor cores read them ("only the first 10 bits of the input mantissa are read"):
/// the low 13 mantissa bits dropped, which errs toward zero and so is the less accurate
/// of the two conversions a GPU may use. That makes the emulated TF32 comparisons a test
/// of the tolerances the GPU's TF32 comparisons use.
///
/// # Safety
/// Every matrix the call describes must lie in live memory.
pub(crate) unsafe fn gemm(
    c: &ColMajorCall,
    dtype: DType,
    tf32: bool,
    accumulate: bool,
) -> Result<(), String> {
    // SAFETY: forwarded.
    unsafe {
        match dtype {
            DType::F32 if tf32 => gemm_typed::<f32>(c, accumulate, tf32_truncate),
            DType::F32 => gemm_typed::<f32>(c, accumulate, |v| v),
            DType::F64 => gemm_typed::<f64>(c, accumulate, |v| v),
        }
    }
    Ok(())
}

/// `v` with its mantissa cut to TF32's 10 bits (infinities and NaN unchanged).
fn tf32_truncate(v: f32) -> f32 {
    if v.is_finite() {
        f32::from_bits(v.to_bits() & !0x1fff)
    } else {
        v
    }
}

unsafe fn gemm_typed<T: num_like::Num>(c: &ColMajorCall, accumulate: bool, input: fn(T) -> T) {
    let (a, b, out) = (c.a as *const T, c.b as *const T, c.c as *mut T);
    for t in 0..c.batch {
        // SAFETY (whole block): offsets stay inside the matrices, per the caller.
        unsafe {
            let (a0, b0, c0) = (
                a.add(t * c.stride_a),
                b.add(t * c.stride_b),
                out.add(t * c.stride_c),
            );
            for j in 0..c.n {
                for i in 0..c.m {
                    let mut acc = T::ZERO;
                    for p in 0..c.k {
                        let av = if c.trans_a {
                            *a0.add(p + i * c.lda)
                        } else {
                            *a0.add(i + p * c.lda)
                        };
                        let bv = if c.trans_b {
                            *b0.add(j + p * c.ldb)
                        } else {
                            *b0.add(p + j * c.ldb)
                        };
                        acc = acc + input(av) * input(bv);
                    }
                    let dst = c0.add(i + j * c.ldc);
                    *dst = if accumulate { *dst + acc } else { acc };
                }
            }
        }
    }
}

mod num_like {
    /// The arithmetic the host GEMM needs.
    pub trait Num: Copy + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self> {
        const ZERO: Self;
    }
    impl Num for f32 {
        const ZERO: Self = 0.0;
    }
    impl Num for f64 {
        const ZERO: Self = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tf32_keeps_ten_mantissa_bits_and_cuts_toward_zero() {
        let ulp = |e: i32| 2f32.powi(e);
        // Representable in TF32: unchanged.
        for v in [
            0.0,
            -0.0,
            1.0,
            -3.5,
            1.0 + ulp(-10),
            ulp(-100),
            1.5 * ulp(127),
        ] {
            assert_eq!(tf32_truncate(v).to_bits(), v.to_bits(), "{v}");
        }
        // Below TF32's last bit: cut, toward zero for either sign.
        assert_eq!(tf32_truncate(1.0 + ulp(-11)), 1.0);
        assert_eq!(tf32_truncate(1.0 + ulp(-10) + ulp(-11)), 1.0 + ulp(-10));
        assert_eq!(tf32_truncate(-(1.0 + ulp(-23))), -1.0);
        assert_eq!(tf32_truncate(f32::MAX), f32::from_bits(0x7f7f_e000));
        assert_eq!(tf32_truncate(f32::INFINITY), f32::INFINITY);
        assert!(tf32_truncate(f32::NAN).is_nan());
    }

    /// `[a0 a1] · [b0 b1]ᵀ` in `mem = [a0, a1, b0, b1, out]`, returning `out`.
    fn dot2<T: Copy>(mut mem: [T; 5], dtype: DType, tf32: bool) -> T {
        let base = mem.as_mut_ptr();
        let at = |i: usize| base.wrapping_add(i) as u64;
        let call = ColMajorCall {
            trans_a: false,
            trans_b: false,
            m: 1,
            n: 1,
            k: 2,
            a: at(0),
            lda: 1,
            stride_a: 2,
            b: at(2),
            ldb: 2,
            stride_b: 2,
            c: at(4),
            ldc: 1,
            stride_c: 1,
            batch: 1,
        };
        // SAFETY: every matrix lies in `mem`.
        unsafe { gemm(&call, dtype, tf32, false) }.unwrap();
        mem[4]
    }

    /// Inputs TF32 cannot hold: strict math keeps them, TF32 cuts them; f64 ignores it.
    #[test]
    fn tf32_gemm_cuts_f32_inputs_only() {
        let x = 1.0 + 2f32.powi(-12);
        assert_eq!(dot2([x, 1.0, 1.0, x, 0.0], DType::F32, false), 2.0 * x);
        assert_eq!(dot2([x, 1.0, 1.0, x, 0.0], DType::F32, true), 2.0);
        let y = 1.0 + 2f64.powi(-40);
        assert_eq!(dot2([y, 1.0, 1.0, y, 0.0], DType::F64, true), 2.0 * y);
    }
}
