//! The values the families feed to backends: uniform draws, values that tie, and the
//! special values (NaN, infinities, signed zeros, the extremes) that maps and selections
//! must treat exactly as the reference does.

use pgcnn_core::rng::Rng;
use pgcnn_core::{DType, Element};

/// `n` uniform values in `[lo, hi)`, rounded to `E`.
pub fn uniform<E: Element>(rng: &mut Rng, n: usize, lo: f64, hi: f64) -> Vec<E> {
    (0..n)
        .map(|_| E::from_f64(rng.uniform_range(lo, hi)))
        .collect()
}

/// `n` multiples of 0.5 in `[-2, 2]`: equal values are common, so comparisons meet ties
/// (where the first maximum must win, and `Equal` is 1).
pub fn steps<E: Element>(rng: &mut Rng, n: usize) -> Vec<E> {
    (0..n)
        .map(|_| E::from_f64(rng.uniform_range(-4.0, 4.0).round() / 2.0))
        .collect()
}

/// `n` values in `[-3, 3)` of which about a quarter are the integers −2 to 2: exact
/// zeros and equal values, where `Sign`, `Step` and the comparisons switch and `Log`,
/// `Sqrt` and `Recip` meet their edge cases.
pub fn mixed<E: Element>(rng: &mut Rng, n: usize) -> Vec<E> {
    (0..n)
        .map(|_| {
            if rng.below(4) == 0 {
                E::from_usize(rng.below(5)) - E::from_f64(2.0)
            } else {
                E::from_f64(rng.uniform_range(-3.0, 3.0))
            }
        })
        .collect()
}

/// `n` values of either sign whose magnitudes spread evenly over `10^lo` to `10^hi`:
/// large arguments (the range reductions of sine and cosine, overflowing exponentials)
/// and small ones.
pub fn wide<E: Element>(rng: &mut Rng, n: usize, lo: f64, hi: f64) -> Vec<E> {
    (0..n)
        .map(|_| {
            let v = 10f64.powf(rng.uniform_range(lo, hi));
            E::from_f64(if rng.below(2) == 0 { v } else { -v })
        })
        .collect()
}

/// NaN, both infinities and both zeros: what every map, sum and selection must pass on
/// exactly as the reference does.
pub fn non_finite<E: Element>() -> Vec<E> {
    vec![
        E::nan(),
        E::infinity(),
        E::neg_infinity(),
        E::zero(),
        -E::zero(),
    ]
}

/// [`non_finite`] and the extremes of `E`: the largest finite values, the smallest normal
/// one and a subnormal one, and ±1.
pub fn specials<E: Element>() -> Vec<E> {
    let mut v = non_finite::<E>();
    v.extend([
        E::max_value(),
        E::min_value(),
        E::min_positive_value(),
        E::min_positive_value() / E::from_f64(1024.0),
        E::one(),
        -E::one(),
    ]);
    v
}

/// Overwrites about one value in `every` of `v` with one of `with`.
pub fn sprinkle<E: Element>(rng: &mut Rng, v: &mut [E], with: &[E], every: usize) {
    for x in v.iter_mut() {
        if rng.below(every) == 0 {
            *x = with[rng.below(with.len())];
        }
    }
}

/// `v` in f64 (exactly).
pub fn to_f64<E: Element>(v: &[E]) -> Vec<f64> {
    v.iter().map(|&x| Element::to_f64(x)).collect()
}

/// `v` rounded to `E`.
pub fn from_f64<E: Element>(v: &[f64]) -> Vec<E> {
    v.iter().map(|&x| E::from_f64(x)).collect()
}

/// "f32" or "f64", for messages.
pub fn type_name<E: Element>() -> &'static str {
    match E::DTYPE {
        DType::F32 => "f32",
        DType::F64 => "f64",
    }
}
