//! `sin`, `cos` and `exp` of `f32` slices in vector registers.
//!
//! The multiplicative-filter kernel nets (MAGNet, GaborNet, FourierNet) take a sine and a
//! Gaussian of every hidden unit at every kernel coordinate, and a model that draws its
//! group elements per image evaluates them for every image: glibc's scalar `sinf`, `cosf`
//! and `expf` were a third of such a model's evaluation. Here each value is computed in
//! `f64` with branch-free code (a Cody–Waite range reduction and Taylor polynomials whose
//! truncation error is below 3e-13), then rounded once to `f32`: the result is the
//! correctly rounded value except within about 1e-13 of a rounding boundary, so it agrees
//! with glibc's to the last bit nearly always and is never more than one ulp away. The
//! loops compile to AVX-512 or AVX2 code, chosen at run time like the other kernels of this
//! crate, and to portable code elsewhere. They use no fused multiply-add, so every
//! instruction set gives bit-identical results.

use crate::wide::{best_isa, Isa};
use std::mem::MaybeUninit;

/// The functions computed here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transcendental {
    Sin,
    Cos,
    Exp,
}

/// Largest |x| whose sine and cosine the vector path reduces exactly: `x` is at most 2¹⁹
/// quarter turns from zero, so `k · PIO2_1` and `k · PIO2_2` below are exact products.
/// Larger arguments (and infinities) go to the C library, element by element.
const TRIG_LIMIT: f32 = 8.0e5;

/// `round(v)` for |v| < 2⁵¹ by adding and removing 1.5·2⁵² (ties to even); the sum's low
/// mantissa bits hold the rounded value in two's complement.
const ROUNDER: f64 = 6_755_399_441_055_744.0;

// π/2 in three parts (fdlibm's, given by their bits): the first two have 33 significant
// bits, so their products with k < 2²⁰ are exact.
const PIO2_1: f64 = f64::from_bits(0x3FF9_21FB_5440_0000);
const PIO2_2: f64 = f64::from_bits(0x3DD0_B461_1A60_0000);
const PIO2_2T: f64 = f64::from_bits(0x3BA3_198A_2E03_7073);

// ln 2 in two parts (fdlibm's): the first has 32 significant bits.
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);

/// `y[i] = f(x[i])` for `x` and `y` of the same length; every element of `y` is written.
pub(crate) fn map_f32(f: Transcendental, x: &[f32], y: &mut [MaybeUninit<f32>]) {
    map_f32_with(best_isa(), f, x, y)
}

/// [`map_f32`] with a chosen instruction set (at most the machine's; tests force each).
pub(crate) fn map_f32_with(isa: Isa, f: Transcendental, x: &[f32], y: &mut [MaybeUninit<f32>]) {
    assert_eq!(x.len(), y.len(), "transcendental map: lengths differ");
    match isa {
        // SAFETY: `best_isa` (or a test that checked the machine) chose these features.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { map_avx512(f, x, y) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { map_avx2(f, x, y) },
        _ => map_portable(f, x, y),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn map_avx512(f: Transcendental, x: &[f32], y: &mut [MaybeUninit<f32>]) {
    map_portable(f, x, y)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn map_avx2(f: Transcendental, x: &[f32], y: &mut [MaybeUninit<f32>]) {
    map_portable(f, x, y)
}

/// The loops; inlined into each instruction set's function above, whose features the
/// compiler then vectorises them for.
#[inline(always)]
fn map_portable(f: Transcendental, x: &[f32], y: &mut [MaybeUninit<f32>]) {
    match f {
        Transcendental::Sin => each(x, y, |v| sin_shifted(v, 0)),
        Transcendental::Cos => each(x, y, |v| sin_shifted(v, 1)),
        Transcendental::Exp => each(x, y, exp),
    }
    if f != Transcendental::Exp {
        // Rare: arguments too large for the reduction above go to the C library's `f64`
        // functions (whose `f32` ones are not always correctly rounded out there).
        // Infinities give NaN there; NaN stays NaN on the vector path.
        for (o, &v) in y.iter_mut().zip(x) {
            if v.abs() > TRIG_LIMIT {
                let d = v as f64;
                o.write(if f == Transcendental::Sin {
                    d.sin()
                } else {
                    d.cos()
                } as f32);
            }
        }
    }
}

#[inline(always)]
fn each(x: &[f32], y: &mut [MaybeUninit<f32>], f: impl Fn(f32) -> f32) {
    for (o, &v) in y.iter_mut().zip(x) {
        o.write(f(v));
    }
}

/// `sin(x + quarter · π/2)` for |x| ≤ [`TRIG_LIMIT`] (quarter 0: sine, 1: cosine).
#[inline(always)]
fn sin_shifted(x: f32, quarter: u64) -> f32 {
    let d = x as f64;
    let t = d * core::f64::consts::FRAC_2_PI + ROUNDER;
    let k = t - ROUNDER;
    // The quadrant of x + quarter·π/2: sin, cos, −sin, −cos of the reduced argument.
    let n = t.to_bits().wrapping_add(quarter);
    let r = ((d - k * PIO2_1) - k * PIO2_2) - k * PIO2_2T;
    let z = r * r;
    let s = r + r * z * horner(&SIN_TAIL, z);
    let c = 1.0 + z * horner(&COS_TAIL, z);
    let v = if n & 1 == 0 { s } else { c };
    f64::from_bits(v.to_bits() ^ ((n & 2) << 62)) as f32
}

/// `(sin r − r) / r³` as a polynomial in `z = r²`, highest power first (Taylor to r¹³;
/// for |r| ≤ π/4 the truncation is below 3e-14 relative).
const SIN_TAIL: [f64; 6] = [
    1.0 / 6_227_020_800.0,
    -1.0 / 39_916_800.0,
    1.0 / 362_880.0,
    -1.0 / 5_040.0,
    1.0 / 120.0,
    -1.0 / 6.0,
];

/// `(cos r − 1) / r²` as a polynomial in `z = r²`, highest power first (Taylor to r¹⁴;
/// truncation below 2e-15).
const COS_TAIL: [f64; 7] = [
    -1.0 / 87_178_291_200.0,
    1.0 / 479_001_600.0,
    -1.0 / 3_628_800.0,
    1.0 / 40_320.0,
    -1.0 / 720.0,
    1.0 / 24.0,
    -1.0 / 2.0,
];

/// 1/n! for n = 10 down to 0: exp's Taylor coefficients, highest power first.
const EXP_TAYLOR: [f64; 11] = [
    1.0 / 3_628_800.0,
    1.0 / 362_880.0,
    1.0 / 40_320.0,
    1.0 / 5_040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    1.0 / 2.0,
    1.0,
    1.0,
];

/// The polynomial with `coefficients` (highest power first) at `x`, by Horner's rule.
#[inline(always)]
fn horner(coefficients: &[f64], x: f64) -> f64 {
    coefficients.iter().fold(0.0, |acc, &c| acc * x + c)
}

/// `exp(x)`, rounded once to `f32` (overflow to infinity and underflow through the
/// subnormals as the conversion from `f64` rounds them).
#[inline(always)]
fn exp(x: f32) -> f32 {
    // Past these bounds the f32 result is already infinity or zero; clamping keeps 2^k
    // a normal f64. (Comparisons with NaN are false, so NaN passes through.)
    let d = x as f64;
    let d = if d < -160.0 { -160.0 } else { d };
    let d = if d > 100.0 { 100.0 } else { d };
    let t = d * core::f64::consts::LOG2_E + ROUNDER;
    let k = t - ROUNDER;
    let r = (d - k * LN2_HI) - k * LN2_LO;
    // Taylor to r¹⁰ for |r| ≤ ln2/2: truncation below 3e-13 relative.
    let p = horner(&EXP_TAYLOR, r);
    // 2^k from k's two's-complement low bits (k + 1023 lies in 1..2046 here).
    let scale = f64::from_bits(t.to_bits().wrapping_add(1023) << 52);
    (p * scale) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wide::runnable_isas;

    fn run(isa: Isa, f: Transcendental, x: &[f32]) -> Vec<f32> {
        crate::fresh::written(x.len(), |y| map_f32_with(isa, f, x, y))
    }

    /// Distance in units in the last place (0 for equal values, both NaN, or ±0).
    fn ulps(a: f32, b: f32) -> u32 {
        if a.is_nan() && b.is_nan() || a == b {
            return 0;
        }
        if a.is_nan() || b.is_nan() || a.is_sign_negative() != b.is_sign_negative() {
            return u32::MAX;
        }
        a.to_bits().abs_diff(b.to_bits())
    }

    /// Arguments over every scale the kernel nets meet and beyond: a deterministic
    /// spread of magnitudes, signs and mantissas, plus the special values.
    fn arguments(max_abs: f32) -> Vec<f32> {
        let mut v = vec![
            0.0,
            -0.0,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1e-30,
            -1e-38,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            let mag = (max_abs as f64).powf(u) * if state & 1 == 0 { 1.0 } else { 1e-6 };
            let sign = if state & 2 == 0 { 1.0 } else { -1.0 };
            v.push((sign * mag) as f32);
        }
        // Near multiples of π/2, where the reduction loses the most.
        for k in -2000i32..2000 {
            let m = k as f64 * core::f64::consts::FRAC_PI_2;
            v.extend([m as f32, (m as f32).next_up(), (m as f32).next_down()]);
        }
        v
    }

    /// Checks one function against `f64` truth: never more than one ulp away, and the
    /// correctly rounded value for all but a handful of arguments.
    fn check(f: Transcendental, x: &[f32], truth: impl Fn(f64) -> f64) {
        let want: Vec<f32> = x.iter().map(|&v| truth(v as f64) as f32).collect();
        for isa in runnable_isas() {
            let got = run(isa, f, x);
            let mut off = 0;
            for ((&v, &g), &w) in x.iter().zip(&got).zip(&want) {
                let d = ulps(g, w);
                assert!(
                    d <= 1,
                    "{f:?} {isa:?} of {v:e}: {g:e}, want {w:e} ({d} ulp)"
                );
                off += (d > 0) as usize;
            }
            assert!(
                off * 100_000 <= x.len(),
                "{f:?} {isa:?}: {off} of {} not correctly rounded",
                x.len()
            );
            // Every instruction set gives the same bits.
            let portable = run(Isa::Portable, f, x);
            assert!(
                got.iter().zip(&portable).all(|(a, b)| ulps(*a, *b) == 0),
                "{f:?} {isa:?} differs"
            );
        }
    }

    #[test]
    fn sine_and_cosine_are_correctly_rounded_nearly_everywhere() {
        let x = arguments(2.0e6);
        check(Transcendental::Sin, &x, f64::sin);
        check(Transcendental::Cos, &x, f64::cos);
    }

    #[test]
    fn exp_is_correctly_rounded_nearly_everywhere() {
        let mut x = arguments(120.0);
        // Overflow, underflow and the subnormal range.
        x.extend([
            88.72, 88.73, 89.0, -87.3, -103.0, -103.97, -104.0, -150.0, -1e4, 1e4,
        ]);
        check(Transcendental::Exp, &x, f64::exp);
    }

    #[test]
    fn lengths_that_are_not_multiples_of_a_vector_are_written_in_full() {
        for n in [0, 1, 7, 15, 17, 33] {
            let x: Vec<f32> = (0..n).map(|i| i as f32 * 0.37 - 2.0).collect();
            for f in [
                Transcendental::Sin,
                Transcendental::Cos,
                Transcendental::Exp,
            ] {
                let got = run(best_isa(), f, &x);
                assert_eq!(got.len(), n);
                check(
                    f,
                    &x,
                    match f {
                        Transcendental::Sin => f64::sin,
                        Transcendental::Cos => f64::cos,
                        Transcendental::Exp => f64::exp,
                    },
                );
            }
        }
    }
}
