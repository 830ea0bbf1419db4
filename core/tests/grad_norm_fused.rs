//! The norms as one fused op (`Backend::normalize_forward` / `normalize_backward`, here
//! the reference backend's provided bodies): finite-difference checks in f64 on layouts
//! with size-1 axes, one channel or one value per row, partial affines; and values,
//! gradients and running statistics against the composite formula the norms used before
//! (means, subtraction, square root, division, then `· gamma + beta`), in training and
//! evaluation mode, including the composite fallback of `normalize` over non-adjacent
//! axes.

use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::{check_gradients, random_tensor, tolerance_ratio, GradCheck};
use pgcnn_core::{Param, Result, RunningStats, Tensor};

type T = Tensor<Reference, f64>;

fn rand(rng: &mut Rng, dims: &[usize], lo: f64, hi: f64) -> T {
    random_tensor(&Reference, rng, dims, lo, hi).unwrap()
}

fn close(a: &T, b: &T, what: &str) {
    assert_eq!(a.dims(), b.dims(), "{what}: shapes");
    let (a, b) = (a.to_vec().unwrap(), b.to_vec().unwrap());
    let r = tolerance_ratio(&a, &b, 1e-10, 1e-9);
    assert!(r <= 1.0, "{what}: {a:?} vs {b:?} (ratio {r})");
}

/// The composite normalisation the norms were built from.
fn composite(x: &T, axes: &[isize], eps: f64) -> Result<T> {
    let mean = x.mean_axes(axes, true)?;
    let var = x.sub(&mean)?.square()?.mean_axes(axes, true)?;
    x.sub(&mean)?.div(&var.add_scalar(eps)?.sqrt()?)
}

/// `[1, C, 1, ...]` of `x`'s rank, for a per-channel vector.
fn per_channel(v: &T, rank: usize) -> T {
    let mut d = vec![1; rank];
    d[1] = v.numel();
    v.reshape(d).unwrap()
}

/// Values of `f(inputs)` and the gradients of `Σ w · f(inputs)` for fixed random `w`.
fn value_and_grads(inputs: &[T], f: impl Fn(&[T]) -> Result<T>) -> (T, Vec<T>) {
    let params: Vec<Param<Reference, f64>> = inputs.iter().map(|t| Param::new(t.clone())).collect();
    let leaves: Vec<T> = params.iter().map(|p| p.tensor().clone()).collect();
    let y = f(&leaves).unwrap();
    let w = rand(&mut Rng::seed(99), y.dims(), -1.0, 1.0);
    let grads = y.mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
    let g = params
        .iter()
        .map(|p| grads.get(p).unwrap().clone())
        .collect();
    (y.detach(), g)
}

fn same_values_and_grads(
    inputs: &[T],
    fused: impl Fn(&[T]) -> Result<T>,
    old: impl Fn(&[T]) -> Result<T>,
    what: &str,
) {
    let (y1, g1) = value_and_grads(inputs, fused);
    let (y2, g2) = value_and_grads(inputs, old);
    close(&y1, &y2, &format!("{what}: values"));
    for (i, (a, b)) in g1.iter().zip(&g2).enumerate() {
        close(a, b, &format!("{what}: gradient of input {i}"));
    }
}

#[test]
fn normalize_matches_composite_and_finite_differences_on_odd_layouts() {
    let mut rng = Rng::seed(20);
    let cases: [(&[usize], &[isize]); 8] = [
        (&[1, 3, 1, 4], &[0, 2, 3]), // outer 1, size-1 axes on both sides
        (&[2, 1, 3], &[0]),          // kept axes 1 (size 1) and 2: inner 1
        (&[3, 4], &[0]),             // batch-norm layout of [B, C]
        (&[3, 4], &[1]),             // one channel per row: outer 1, inner 4
        (&[2, 3, 4], &[0, 1, 2]),    // every axis: one channel
        (&[2, 3, 4], &[1]),          // kept axes 0 and 2 not adjacent: composite path
        (&[2, 3, 2, 2], &[0, 2]),    // kept axes 1 and 3 not adjacent: composite path
        (&[1, 1, 5], &[-1, 0]),      // negative axis, a single channel
    ];
    for (dims, axes) in cases {
        let x = rand(&mut rng, dims, -1.0, 2.0);
        check_gradients(
            std::slice::from_ref(&x),
            |xs| xs[0].normalize(axes, 1e-5),
            GradCheck::default(),
        )
        .unwrap_or_else(|e| panic!("{dims:?} over {axes:?}: {e}"));
        same_values_and_grads(
            std::slice::from_ref(&x),
            |xs| xs[0].normalize(axes, 1e-5),
            |xs| composite(&xs[0], axes, 1e-5),
            &format!("{dims:?} over {axes:?}"),
        );
    }
}

/// Batch norm in training mode, with every combination of gamma and beta, against
/// finite differences and against the composite formula, running statistics included.
#[test]
fn batch_norm_training_matches_composite_with_partial_affines() {
    let mut rng = Rng::seed(21);
    let eps = 1e-5;
    for dims in [&[4usize, 3][..], &[2, 3, 1, 2], &[3, 2, 2, 1, 3]] {
        let c = dims[1];
        let x = rand(&mut rng, dims, -1.0, 3.0);
        let gamma = rand(&mut rng, &[c], 0.5, 1.5);
        let beta = rand(&mut rng, &[c], -0.5, 0.5);
        let axes: Vec<isize> = (0..dims.len() as isize).filter(|&a| a != 1).collect();
        for (use_g, use_b) in [(true, false), (false, true), (true, true), (false, false)] {
            let mut inputs = vec![x.clone()];
            inputs.extend(use_g.then(|| gamma.clone()));
            inputs.extend(use_b.then(|| beta.clone()));
            let pick = |xs: &[T]| {
                let g = use_g.then(|| xs[1].clone());
                let b = use_b.then(|| xs[if use_g { 2 } else { 1 }].clone());
                (g, b)
            };
            let fused = |xs: &[T]| {
                let (g, b) = pick(xs);
                let mut stats = RunningStats::new(&Reference, c)?;
                xs[0].batch_norm(g.as_ref(), b.as_ref(), &mut stats, true, eps)
            };
            let old = |xs: &[T]| {
                let (g, b) = pick(xs);
                let mut y = composite(&xs[0], &axes, eps)?;
                if let Some(g) = g {
                    y = y.mul(&per_channel(&g, dims.len()))?;
                }
                if let Some(b) = b {
                    y = y.add(&per_channel(&b, dims.len()))?;
                }
                Ok(y)
            };
            let what = format!("{dims:?} gamma {use_g} beta {use_b}");
            check_gradients(&inputs, fused, GradCheck::default())
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            same_values_and_grads(&inputs, fused, old, &what);
        }

        // Running statistics: momentum 0.1 towards the batch mean and unbiased variance.
        let mut stats = RunningStats::new(&Reference, c).unwrap();
        x.batch_norm(Some(&gamma), Some(&beta), &mut stats, true, eps)
            .unwrap();
        let n = (x.numel() / c) as f64;
        let mean = x.mean_axes(&axes, false).unwrap();
        let var = x
            .sub(&x.mean_axes(&axes, true).unwrap())
            .unwrap()
            .square()
            .unwrap()
            .mean_axes(&axes, false)
            .unwrap();
        let want_mean = mean.mul_scalar(0.1).unwrap();
        let want_var = var
            .mul_scalar(0.1 * n / (n - 1.0))
            .unwrap()
            .add_scalar(0.9)
            .unwrap();
        close(stats.mean(), &want_mean, "running mean");
        close(stats.var(), &want_var, "running var");
    }
}

/// Evaluation mode (running statistics folded into one scale and shift) against the
/// composite `(x - mean) / sqrt(var + eps) · gamma + beta`, values and gradients.
#[test]
fn batch_norm_eval_matches_composite() {
    let mut rng = Rng::seed(22);
    let eps = 1e-5;
    let dims = [3usize, 4, 2, 3];
    let x = rand(&mut rng, &dims, -2.0, 2.0);
    let gamma = rand(&mut rng, &[4], 0.5, 1.5);
    let beta = rand(&mut rng, &[4], -0.5, 0.5);
    let rm = rand(&mut rng, &[4], -0.5, 0.5);
    let rv = rand(&mut rng, &[4], 0.2, 2.0);
    let mut stats = RunningStats::new(&Reference, 4).unwrap();
    stats.set(&rm, &rv).unwrap();
    let inputs = [x, gamma, beta];
    let fused = |xs: &[T]| {
        let mut s = stats.clone();
        xs[0].batch_norm(Some(&xs[1]), Some(&xs[2]), &mut s, false, eps)
    };
    let old = |xs: &[T]| {
        let (m, v) = (per_channel(&rm, 4), per_channel(&rv, 4));
        xs[0]
            .sub(&m)?
            .div(&v.add_scalar(eps)?.sqrt()?)?
            .mul(&per_channel(&xs[1], 4))?
            .add(&per_channel(&xs[2], 4))
    };
    same_values_and_grads(&inputs, fused, old, "eval");
    // Only gamma, only beta, neither.
    let (g, b) = (&inputs[1], &inputs[2]);
    for (gg, bb) in [(Some(g), None), (None, Some(b)), (None, None)] {
        let mut s = stats.clone();
        let y = inputs[0].batch_norm(gg, bb, &mut s, false, eps).unwrap();
        let mut want = inputs[0]
            .sub(&per_channel(&rm, 4))
            .unwrap()
            .div(&per_channel(&rv, 4).add_scalar(eps).unwrap().sqrt().unwrap())
            .unwrap();
        if let Some(g) = gg {
            want = want.mul(&per_channel(g, 4)).unwrap();
        }
        if let Some(b) = bb {
            want = want.add(&per_channel(b, 4)).unwrap();
        }
        close(&y, &want, "eval with a partial affine");
        assert_eq!(s.batches_tracked(), 0);
    }
}

#[test]
fn layer_and_instance_norm_match_composite() {
    let mut rng = Rng::seed(23);
    for dims in [&[2usize, 3][..], &[1, 2, 3, 2], &[3, 2, 1, 2, 2]] {
        let c = dims[1];
        let rank = dims.len();
        let x = rand(&mut rng, dims, -1.0, 4.0);
        let gamma = rand(&mut rng, &[c], 0.5, 1.5);
        let beta = rand(&mut rng, &[c], -0.5, 0.5);
        let ln_axes: Vec<isize> = (1..rank as isize).collect();
        same_values_and_grads(
            &[x.clone(), gamma, beta],
            |xs| xs[0].layer_norm(Some(&xs[1]), Some(&xs[2]), 1e-12),
            |xs| {
                composite(&xs[0], &ln_axes, 1e-12)?
                    .mul(&per_channel(&xs[1], rank))?
                    .add(&per_channel(&xs[2], rank))
            },
            &format!("layer_norm {dims:?}"),
        );
        if rank >= 3 {
            let in_axes: Vec<isize> = (2..rank as isize).collect();
            same_values_and_grads(
                &[x],
                |xs| xs[0].instance_norm(1e-5),
                |xs| composite(&xs[0], &in_axes, 1e-5),
                &format!("instance_norm {dims:?}"),
            );
        }
    }
}

/// Empty tensors keep the composite path: a kept axis of size 0 gives an empty result,
/// a reduced axis of size 0 an error, as before.
#[test]
fn empty_tensors_behave_as_before() {
    let x = T::zeros(&Reference, [0, 3, 2]).unwrap();
    assert_eq!(x.normalize(&[1, 2], 1e-5).unwrap().dims(), &[0, 3, 2]);
    assert_eq!(x.layer_norm(None, None, 1e-5).unwrap().dims(), &[0, 3, 2]);
    assert!(x.normalize(&[0], 1e-5).is_err());
    let mut stats = RunningStats::new(&Reference, 3).unwrap();
    assert!(x.batch_norm(None, None, &mut stats, true, 1e-5).is_err());
}
