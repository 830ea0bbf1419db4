//! The fused normalisation of `Cpu` (forward and backward, with and without the affine)
//! against the reference backend's composed default, on random `[outer, channels, inner]`
//! layouts (sizes 1 included) in f32 and f64; then sizes past the parallel threshold under
//! several thread counts, which must agree bit for bit with each other.
//!
//! The two differ by rounding only: the CPU sums in f64 with a shift and several
//! accumulators, the reference in `E` in plain order, so results are compared within
//! [`common::tol`].

mod common;

use common::{assert_close, assert_same, config, tol, values, with_threads};
use pgcnn_core::backend::{Backend, NormBackward, NormForward, NormLayout};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::Element;
use pgcnn_cpu::Cpu;
use proptest::prelude::*;

/// Random inputs for `l`: values in [-3, 3) plus a per-case offset, `dy`, and an affine
/// (gamma in [0.5, 1.5), beta in [-1, 1)).
struct Case<E> {
    x: Vec<E>,
    dy: Vec<E>,
    gamma: Vec<E>,
    beta: Vec<E>,
    eps: E,
}

fn case<E: Element>(l: NormLayout, seed: u64) -> Case<E> {
    let mut rng = Rng::seed(seed);
    let offset = rng.uniform_range(-2.0, 2.0);
    Case {
        x: values(&mut rng, l.numel(), offset - 3.0, offset + 3.0),
        dy: values(&mut rng, l.numel(), -1.0, 1.0),
        gamma: values(&mut rng, l.channels, 0.5, 1.5),
        beta: values(&mut rng, l.channels, -1.0, 1.0),
        eps: E::from_f64(1e-5),
    }
}

/// Forward and backward on `backend`, with the affine or without.
fn run<B: Backend<Storage<E> = Vec<E>>, E: Element>(
    backend: &B,
    l: NormLayout,
    c: &Case<E>,
    affine: bool,
) -> (NormForward<Vec<E>>, NormBackward<Vec<E>>) {
    let fwd = backend
        .normalize_forward(&c.x, l, c.eps, affine.then_some((&c.gamma, &c.beta)))
        .unwrap();
    let bwd = backend
        .normalize_backward::<E>(
            &c.dy,
            &c.x,
            &fwd.mean,
            &fwd.rstd,
            affine.then_some(&c.gamma),
            l,
        )
        .unwrap();
    (fwd, bwd)
}

fn check<E: Element>(l: NormLayout, seed: u64) -> Result<(), TestCaseError> {
    let c = case::<E>(l, seed);
    for affine in [false, true] {
        let (gf, gb) = run(&Cpu, l, &c, affine);
        let (wf, wb) = run(&Reference, l, &c, affine);
        let what = |s: &str| format!("{s} of {l:?} (affine {affine})");
        assert_close(&what("y"), &gf.y, &wf.y, tol::<E>())?;
        assert_close(&what("mean"), &gf.mean, &wf.mean, tol::<E>())?;
        assert_close(&what("var"), &gf.var, &wf.var, tol::<E>())?;
        assert_close(&what("rstd"), &gf.rstd, &wf.rstd, tol::<E>())?;
        assert_close(&what("dx"), &gb.dx, &wb.dx, tol::<E>())?;
        assert_close(&what("dgamma"), &gb.dgamma, &wb.dgamma, tol::<E>())?;
        assert_close(&what("dbeta"), &gb.dbeta, &wb.dbeta, tol::<E>())?;
    }
    Ok(())
}

/// Sizes 1 to 6 per axis, with a one-in-three chance of exactly 1 on each.
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![Just(1usize), 1usize..7]
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn normalize_matches_reference(
        outer in size(),
        channels in size(),
        inner in size(),
        seed in any::<u64>(),
    ) {
        let l = NormLayout { outer, channels, inner };
        with_threads(3, || {
            check::<f32>(l, seed)?;
            check::<f64>(l, seed)
        })?;
    }
}

/// The three norms' layouts at sizes past the parallel threshold (2^16 elements): close
/// to the reference, and identical whatever the number of threads.
#[test]
fn large_layouts_match_reference_under_any_thread_count() {
    let layouts = [
        // batch norm of [8, 16, 4, 12, 12]
        NormLayout {
            outer: 8,
            channels: 16,
            inner: 576,
        },
        // layer norm of the same
        NormLayout {
            outer: 1,
            channels: 8,
            inner: 9216,
        },
        // instance norm of the same
        NormLayout {
            outer: 1,
            channels: 128,
            inner: 576,
        },
        // one channel, and inner 1
        NormLayout {
            outer: 1,
            channels: 1,
            inner: 70_000,
        },
        NormLayout {
            outer: 4096,
            channels: 20,
            inner: 1,
        },
    ];
    for (i, l) in layouts.into_iter().enumerate() {
        let c = case::<f32>(l, 40 + i as u64);
        let (wf, wb) = run(&Reference, l, &c, true);
        let (f1, b1) = with_threads(1, || run(&Cpu, l, &c, true));
        assert_close("y", &f1.y, &wf.y, tol::<f32>()).unwrap();
        assert_close("dx", &b1.dx, &wb.dx, tol::<f32>()).unwrap();
        assert_close("dgamma", &b1.dgamma, &wb.dgamma, tol::<f32>()).unwrap();
        for threads in [2, 3, 5] {
            let (f, b) = with_threads(threads, || run(&Cpu, l, &c, true));
            let what = |s: &str| format!("{s} of {l:?} on {threads} threads");
            assert_same(&what("y"), &f.y, &f1.y).unwrap();
            assert_same(&what("mean"), &f.mean, &f1.mean).unwrap();
            assert_same(&what("rstd"), &f.rstd, &f1.rstd).unwrap();
            assert_same(&what("dx"), &b.dx, &b1.dx).unwrap();
            assert_same(&what("dgamma"), &b.dgamma, &b1.dgamma).unwrap();
            assert_same(&what("dbeta"), &b.dbeta, &b1.dbeta).unwrap();
        }
    }
}

/// The variance stays accurate when the values sit far from zero with a small spread,
/// where a plain one-pass `E[x²] - E[x]²` would cancel: values 1000 + [-1e-3, 1e-3) in
/// f64, against a two-pass computation here.
#[test]
fn variance_is_accurate_far_from_zero() {
    let l = NormLayout {
        outer: 3,
        channels: 2,
        inner: 50,
    };
    let mut rng = Rng::seed(7);
    let x: Vec<f64> = values(&mut rng, l.numel(), 1000.0 - 1e-3, 1000.0 + 1e-3);
    let f = Cpu.normalize_forward(&x, l, 0.0, None).unwrap();
    for c in 0..2 {
        let v: Vec<f64> = (0..3)
            .flat_map(|o| x[(o * 2 + c) * 50..][..50].to_vec())
            .collect();
        let m = v.iter().sum::<f64>() / 150.0;
        let var = v.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / 150.0;
        assert!((f.mean[c] - m).abs() < 1e-12, "{} vs {m}", f.mean[c]);
        assert!(
            ((f.var[c] - var) / var).abs() < 1e-9,
            "{} vs {var}",
            f.var[c]
        );
    }
}

/// Bad buffer lengths and a layout with no values per channel are errors.
#[test]
fn bad_sizes_are_errors() {
    let l = NormLayout {
        outer: 2,
        channels: 3,
        inner: 4,
    };
    let x = vec![0.5f32; 24];
    assert!(Cpu
        .normalize_forward(&x[..23].to_vec(), l, 1e-5, None)
        .is_err());
    let short = vec![1.0f32; 2];
    let three = vec![1.0f32; 3];
    assert!(Cpu
        .normalize_forward(&x, l, 1e-5, Some((&short, &three)))
        .is_err());
    let empty = NormLayout { inner: 0, ..l };
    assert!(Cpu
        .normalize_forward(&Vec::new(), empty, 1e-5, None)
        .is_err());
    assert!(Cpu
        .normalize_backward(&x, &x, &three, &short, None, l)
        .is_err());
    assert!(Cpu
        .normalize_backward(&x[..20].to_vec(), &x, &three, &three, None, l)
        .is_err());
}
