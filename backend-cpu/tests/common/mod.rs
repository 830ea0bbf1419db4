//! Shared helpers of the comparison tests: random values, the two comparisons (exact and
//! within a tolerance), running a test inside a pool of a chosen size, and the
//! convolution check.
#![allow(dead_code)] // each test file uses its own subset

use pgcnn_core::backend::{Backend, Conv2dDesc};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::tolerance_ratio;
use pgcnn_core::{DType, Element};
use pgcnn_cpu::Cpu;
use proptest::prelude::*;

/// `n` uniform values in `[lo, hi)`, rounded to `E`.
pub fn values<E: Element>(rng: &mut Rng, n: usize, lo: f64, hi: f64) -> Vec<E> {
    (0..n)
        .map(|_| E::from_f64(rng.uniform_range(lo, hi)))
        .collect()
}

/// Checks that two results are identical bit for bit (NaN matching NaN): for primitives
/// that do the same arithmetic in the same order as the reference (or none at all).
pub fn assert_same<E: Element>(what: &str, got: &[E], want: &[E]) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.len(), want.len(), "{}: lengths differ", what);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let same = Element::to_f64(g).to_bits() == Element::to_f64(w).to_bits()
            || (g.is_nan() && w.is_nan());
        prop_assert!(
            same,
            "{}: element {} is {} but the reference gives {}",
            what,
            i,
            g,
            w
        );
    }
    Ok(())
}

/// Checks that two `f32` results differ by at most one unit in the last place (NaN
/// matching NaN): for sine, cosine and exponential, which the CPU backend computes with its
/// own vector code rather than the C library's functions the reference calls.
pub fn assert_within_one_ulp(what: &str, got: &[f32], want: &[f32]) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.len(), want.len(), "{}: lengths differ", what);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = (g.is_nan() && w.is_nan())
            || g == w
            || (g.is_sign_negative() == w.is_sign_negative()
                && g.to_bits().abs_diff(w.to_bits()) <= 1);
        prop_assert!(
            ok,
            "{}: element {} is {} but the reference gives {}",
            what,
            i,
            g,
            w
        );
    }
    Ok(())
}

/// Relative tolerance of [`assert_close`] for `E`.
///
/// Sums (reductions, GEMMs, convolutions) run in a different order than the reference's
/// plain loops, so they differ by rounding: for `k` terms of magnitude at most 1 the
/// error is about `k · ε · max|term|` in the worst case and `√k · ε` typically, with ε =
/// 6e-8 (f32) or 1.1e-16 (f64). With the test sizes (k below a few thousand) 1e-4 for f32
/// and 1e-11 for f64 leave a wide margin over rounding, while any indexing mistake (a
/// wrong or missing term) is of the order of the values themselves and fails at once.
pub fn tol<E: Element>() -> f64 {
    match E::DTYPE {
        DType::F32 => 1e-4,
        DType::F64 => 1e-11,
    }
}

/// Checks `|got - want| <= tol · (max|want| + |want|)` elementwise (through
/// `pgcnn_core::testing::tolerance_ratio`): the absolute part scales with the largest
/// magnitude of the result, since a sum's rounding error scales with its terms, not with
/// its (possibly cancelled) value.
pub fn assert_close<E: Element>(
    what: &str,
    got: &[E],
    want: &[E],
    tol: f64,
) -> Result<(), TestCaseError> {
    let got: Vec<f64> = got.iter().map(|&v| Element::to_f64(v)).collect();
    let want: Vec<f64> = want.iter().map(|&v| Element::to_f64(v)).collect();
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let ratio = tolerance_ratio(&got, &want, tol * scale, tol);
    prop_assert!(
        ratio <= 1.0,
        "{}: tolerance ratio {} (tol {}, scale {})\n got  {:?}\n want {:?}",
        what,
        ratio,
        tol,
        scale,
        &got[..got.len().min(16)],
        &want[..want.len().min(16)]
    );
    Ok(())
}

/// Runs `f` inside a rayon pool of `threads` threads, so that the parallel splits are
/// exercised (and uneven) whatever the machine.
pub fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("building a rayon pool")
        .install(f)
}

/// Proptest settings: `cases` random cases, no failure persistence files.
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A convolution of `groups` groups of `cig` input and `cog` output channels each, on
/// `h × w` images, with kernel `k` and padding `pad` (both `(rows, columns)`).
#[allow(clippy::too_many_arguments)]
pub fn grouped_conv(
    batch: usize,
    groups: usize,
    cig: usize,
    cog: usize,
    h: usize,
    w: usize,
    k: (usize, usize),
    pad: (usize, usize),
) -> Conv2dDesc {
    pgcnn_conformance::conv::desc(batch, groups, cig, cog, (h, w), k, pad)
}

/// The CPU convolution and both its gradients against the reference on random values.
pub fn check_conv<E: Element>(d: Conv2dDesc, seed: u64) -> Result<(), TestCaseError> {
    let mut rng = Rng::seed(seed);
    let x: Vec<E> = values(&mut rng, d.input_len(), -1.0, 1.0);
    let w: Vec<E> = values(&mut rng, d.weight_len(), -1.0, 1.0);
    let dy: Vec<E> = values(&mut rng, d.output_len(), -1.0, 1.0);
    let t = tol::<E>();
    let got = Cpu.conv2d(&x, &w, &d).unwrap();
    let want = Reference.conv2d(&x, &w, &d).unwrap();
    assert_close(&format!("conv2d {d:?}"), &got, &want, t)?;
    let got = Cpu.conv2d_backward_input(&dy, &w, &d).unwrap();
    let want = Reference.conv2d_backward_input(&dy, &w, &d).unwrap();
    assert_close(&format!("conv2d_backward_input {d:?}"), &got, &want, t)?;
    let got = Cpu.conv2d_backward_weight(&x, &dy, &d).unwrap();
    let want = Reference.conv2d_backward_weight(&x, &dy, &d).unwrap();
    assert_close(&format!("conv2d_backward_weight {d:?}"), &got, &want, t)
}
