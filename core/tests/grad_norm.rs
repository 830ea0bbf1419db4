//! Normalisations: finite-difference gradient checks in f64 on the reference backend (in
//! training and evaluation mode), running statistics against a hand computation, the
//! moments of the outputs, and the errors for bad input.

use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::{check_gradients, random_tensor, tolerance_ratio, GradCheck};
use pgcnn_core::{Error, RunningStats, Tensor};

type T = Tensor<Reference, f64>;

fn rand(rng: &mut Rng, dims: &[usize], lo: f64, hi: f64) -> T {
    random_tensor(&Reference, rng, dims, lo, hi).unwrap()
}

fn close(a: &[f64], b: &[f64], what: &str) {
    let r = tolerance_ratio(a, b, 1e-10, 1e-9);
    assert!(r <= 1.0, "{what}: {a:?} vs {b:?} (ratio {r})");
}

/// Values of `[B, C, rest...]` as `v[b][c]` = the `rest` values of map (b, c).
fn maps(x: &T) -> Vec<Vec<Vec<f64>>> {
    let d = x.dims();
    let (b, c) = (d[0], d[1]);
    let rest: usize = d[2..].iter().product();
    let v = x.to_vec().unwrap();
    (0..b)
        .map(|i| {
            (0..c)
                .map(|j| v[(i * c + j) * rest..(i * c + j + 1) * rest].to_vec())
                .collect()
        })
        .collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}
fn biased_var(v: &[f64]) -> f64 {
    let m = mean(v);
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64
}

/// Every value of channel `c` over the batch and the remaining axes.
fn channel_values(x: &T, c: usize) -> Vec<f64> {
    maps(x).iter().flat_map(|s| s[c].clone()).collect()
}

#[test]
fn normalize_matches_naive_and_finite_differences() {
    let mut rng = Rng::seed(10);
    let x = rand(&mut rng, &[2, 3, 4], -1.0, 2.0);
    for axes in [&[0isize][..], &[1], &[-1], &[0, 2], &[1, 2], &[0, 1, 2]] {
        check_gradients(
            std::slice::from_ref(&x),
            |xs| xs[0].normalize(axes, 1e-5),
            GradCheck::default(),
        )
        .unwrap_or_else(|e| panic!("axes {axes:?}: {e}"));
    }
    // Over the last axis: each row of 4 normalised on its own.
    let y = x.normalize(&[-1], 1e-5).unwrap().to_vec().unwrap();
    let v = x.to_vec().unwrap();
    let want: Vec<f64> = v
        .chunks(4)
        .flat_map(|row| {
            let (m, s) = (mean(row), (biased_var(row) + 1e-5).sqrt());
            row.iter().map(move |r| (r - m) / s).collect::<Vec<_>>()
        })
        .collect();
    close(&y, &want, "normalize over the last axis");
}

#[test]
fn batch_norm_training_matches_finite_differences() {
    let mut rng = Rng::seed(11);
    for dims in [&[4usize, 3][..], &[3, 2, 2, 3], &[2, 2, 3, 2, 2]] {
        let c = dims[1];
        let x = rand(&mut rng, dims, -1.0, 1.0);
        let gamma = rand(&mut rng, &[c], 0.5, 1.5);
        let beta = rand(&mut rng, &[c], -0.5, 0.5);
        check_gradients(
            &[x.clone(), gamma, beta],
            |xs| {
                let mut stats = RunningStats::new(&Reference, c)?;
                xs[0].batch_norm(Some(&xs[1]), Some(&xs[2]), &mut stats, true, 1e-5)
            },
            GradCheck::default(),
        )
        .unwrap_or_else(|e| panic!("{dims:?} affine: {e}"));
        check_gradients(
            &[x],
            |xs| {
                let mut stats = RunningStats::new(&Reference, c)?;
                xs[0].batch_norm(None, None, &mut stats, true, 1e-5)
            },
            GradCheck::default(),
        )
        .unwrap_or_else(|e| panic!("{dims:?} plain: {e}"));
    }
}

#[test]
fn batch_norm_eval_matches_finite_differences() {
    let mut rng = Rng::seed(12);
    let dims = [2, 3, 2, 2, 3];
    let x = rand(&mut rng, &dims, -1.0, 1.0);
    let gamma = rand(&mut rng, &[3], 0.5, 1.5);
    let beta = rand(&mut rng, &[3], -0.5, 0.5);
    let mut stats = RunningStats::new(&Reference, 3).unwrap();
    stats
        .set(
            &T::from_slice(&Reference, &[0.2, -0.1, 0.4], [3]).unwrap(),
            &T::from_slice(&Reference, &[0.5, 1.5, 2.0], [3]).unwrap(),
        )
        .unwrap();
    check_gradients(
        &[x, gamma, beta],
        |xs| {
            let mut s = stats.clone();
            xs[0].batch_norm(Some(&xs[1]), Some(&xs[2]), &mut s, false, 1e-5)
        },
        GradCheck::default(),
    )
    .unwrap();
}

#[test]
fn running_statistics_after_two_steps_match_hand_computation() {
    let mut rng = Rng::seed(13);
    let (c, eps) = (3, 1e-5);
    let gamma = rand(&mut rng, &[c], 0.5, 1.5);
    let beta = rand(&mut rng, &[c], -0.5, 0.5);
    let mut stats = RunningStats::new(&Reference, c).unwrap();
    assert_eq!(stats.momentum(), 0.1);
    let (mut rm, mut rv) = (vec![0.0; c], vec![1.0; c]);
    for step in 0..2 {
        let x = rand(&mut rng, &[2, c, 3, 2], -1.0 + step as f64, 2.0);
        let y = x
            .batch_norm(Some(&gamma), Some(&beta), &mut stats, true, eps)
            .unwrap();
        let (g, bt) = (gamma.to_vec().unwrap(), beta.to_vec().unwrap());
        for ch in 0..c {
            let v = channel_values(&x, ch);
            let n = v.len() as f64;
            let (m, var) = (mean(&v), biased_var(&v));
            rm[ch] = 0.9 * rm[ch] + 0.1 * m;
            rv[ch] = 0.9 * rv[ch] + 0.1 * var * n / (n - 1.0);
            // The output is normalised with the batch's biased variance.
            let want: Vec<f64> = v
                .iter()
                .map(|x| (x - m) / (var + eps).sqrt() * g[ch] + bt[ch])
                .collect();
            close(&channel_values(&y, ch), &want, "training output");
        }
    }
    close(&stats.mean().to_vec().unwrap(), &rm, "running mean");
    close(&stats.var().to_vec().unwrap(), &rv, "running var");
    assert_eq!(stats.batches_tracked(), 2);
    assert!(!stats.mean().requires_grad() && !stats.var().requires_grad());

    // Evaluation normalises with the running statistics and leaves them unchanged.
    let x = rand(&mut rng, &[1, c, 2, 2], -1.0, 1.0);
    let y = x
        .batch_norm(Some(&gamma), Some(&beta), &mut stats, false, eps)
        .unwrap();
    let (g, bt) = (gamma.to_vec().unwrap(), beta.to_vec().unwrap());
    for ch in 0..c {
        let want: Vec<f64> = channel_values(&x, ch)
            .iter()
            .map(|x| (x - rm[ch]) / (rv[ch] + eps).sqrt() * g[ch] + bt[ch])
            .collect();
        close(&channel_values(&y, ch), &want, "eval output");
    }
    close(
        &stats.mean().to_vec().unwrap(),
        &rm,
        "running mean after eval",
    );
    close(
        &stats.var().to_vec().unwrap(),
        &rv,
        "running var after eval",
    );
    assert_eq!(stats.batches_tracked(), 2);
}

#[test]
fn running_statistics_are_settable_and_momentum_is_checked() {
    let mut stats = RunningStats::<Reference, f64>::new(&Reference, 2)
        .unwrap()
        .with_momentum(0.5)
        .unwrap();
    assert_eq!(stats.channels(), 2);
    let m = T::from_slice(&Reference, &[1.0, 2.0], [2]).unwrap();
    let v = T::from_slice(&Reference, &[3.0, 4.0], [2]).unwrap();
    stats.set(&m, &v).unwrap();
    stats.set_batches_tracked(7);
    assert_eq!(stats.mean().to_vec().unwrap(), vec![1.0, 2.0]);
    assert_eq!(stats.var().to_vec().unwrap(), vec![3.0, 4.0]);
    assert_eq!(stats.batches_tracked(), 7);
    // One step with momentum 0.5 on a batch whose channel values are {0, 2} and {4, 4}.
    let x = T::from_slice(&Reference, &[0.0, 4.0, 2.0, 4.0], [2, 2]).unwrap();
    x.batch_norm(None, None, &mut stats, true, 1e-5).unwrap();
    // mean: (1+1)/2, (2+4)/2; unbiased var: 2 and 0, so (3+2)/2, (4+0)/2.
    close(&stats.mean().to_vec().unwrap(), &[1.0, 3.0], "mean");
    close(&stats.var().to_vec().unwrap(), &[2.5, 2.0], "var");

    let wrong = T::zeros(&Reference, [3]).unwrap();
    assert!(matches!(
        stats.set(&wrong, &v),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(stats.set(&m, &wrong).is_err());
    for bad in [-0.1, 1.5, f64::NAN] {
        assert!(RunningStats::<Reference, f64>::new(&Reference, 2)
            .unwrap()
            .with_momentum(bad)
            .is_err());
    }
    assert!(RunningStats::<Reference, f64>::new(&Reference, 0).is_err());
}

#[test]
fn layer_and_instance_norm_match_finite_differences() {
    let mut rng = Rng::seed(14);
    for dims in [&[2usize, 3][..], &[2, 3, 2, 2], &[2, 2, 3, 2, 2]] {
        let c = dims[1];
        let x = rand(&mut rng, dims, -1.0, 1.0);
        let gamma = rand(&mut rng, &[c], 0.5, 1.5);
        let beta = rand(&mut rng, &[c], -0.5, 0.5);
        check_gradients(
            &[x.clone(), gamma, beta],
            |xs| xs[0].layer_norm(Some(&xs[1]), Some(&xs[2]), 1e-12),
            GradCheck::default(),
        )
        .unwrap_or_else(|e| panic!("layer_norm {dims:?}: {e}"));
        check_gradients(
            std::slice::from_ref(&x),
            |xs| xs[0].layer_norm(None, None, 1e-12),
            GradCheck::default(),
        )
        .unwrap_or_else(|e| panic!("layer_norm plain {dims:?}: {e}"));
        if dims.len() >= 3 {
            check_gradients(&[x], |xs| xs[0].instance_norm(1e-5), GradCheck::default())
                .unwrap_or_else(|e| panic!("instance_norm {dims:?}: {e}"));
        }
    }
}

#[test]
fn layer_norm_gives_zero_mean_unit_variance_per_sample() {
    let mut rng = Rng::seed(15);
    let x = rand(&mut rng, &[3, 2, 3, 2, 2], -2.0, 5.0);
    let y = x.layer_norm(None, None, 1e-12).unwrap();
    for sample in maps(&y) {
        let all: Vec<f64> = sample.concat();
        assert!(mean(&all).abs() < 1e-12, "mean {}", mean(&all));
        assert!((biased_var(&all) - 1.0).abs() < 1e-9);
        // Not per channel: a single channel's mean is generally not zero.
        assert!(sample.iter().any(|m| mean(m).abs() > 1e-3));
    }
    // The affine is per channel.
    let gamma = T::from_slice(&Reference, &[2.0, -1.0], [2]).unwrap();
    let beta = T::from_slice(&Reference, &[0.5, 3.0], [2]).unwrap();
    let ya = x.layer_norm(Some(&gamma), Some(&beta), 1e-12).unwrap();
    for (s, sa) in maps(&y).iter().zip(maps(&ya)) {
        for (c, (g, b)) in [(2.0, 0.5), (-1.0, 3.0)].into_iter().enumerate() {
            let want: Vec<f64> = s[c].iter().map(|v| v * g + b).collect();
            close(&sa[c], &want, "layer_norm affine");
        }
    }
    // Only gamma, or only beta.
    let yg = x.layer_norm(Some(&gamma), None, 1e-12).unwrap();
    let yb = x.layer_norm(None, Some(&beta), 1e-12).unwrap();
    let both = yg.add(&yb).unwrap().sub(&y).unwrap();
    close(
        &both.to_vec().unwrap(),
        &ya.to_vec().unwrap(),
        "gamma + beta",
    );
}

#[test]
fn instance_norm_gives_zero_mean_unit_variance_per_map() {
    let mut rng = Rng::seed(16);
    let x = rand(&mut rng, &[2, 3, 4, 3, 3], -2.0, 5.0);
    let y = x.instance_norm(1e-12).unwrap();
    for sample in maps(&y) {
        for m in sample {
            assert!(mean(&m).abs() < 1e-12);
            assert!((biased_var(&m) - 1.0).abs() < 1e-9);
        }
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let b = Reference;
    let mut stats = RunningStats::<Reference, f64>::new(&b, 3).unwrap();
    let x = T::ones(&b, [2, 3, 2, 2]).unwrap();
    let c3 = T::ones(&b, [3]).unwrap();
    let c2 = T::ones(&b, [2]).unwrap();
    let c13 = T::ones(&b, [1, 3]).unwrap();

    // Rank below 2 and zero channels.
    let flat = T::ones(&b, [6]).unwrap();
    assert!(flat.batch_norm(None, None, &mut stats, true, 1e-5).is_err());
    assert!(flat.layer_norm(None, None, 1e-12).is_err());
    assert!(flat.instance_norm(1e-5).is_err());
    let empty = T::ones(&b, [2, 0, 3]).unwrap();
    assert!(empty
        .batch_norm(None, None, &mut stats, false, 1e-5)
        .is_err());
    assert!(empty.layer_norm(None, None, 1e-12).is_err());
    assert!(empty.instance_norm(1e-5).is_err());
    assert!(T::ones(&b, [2, 3]).unwrap().instance_norm(1e-5).is_err());

    // Affine parameters of the wrong shape.
    for (g, bt) in [
        (Some(&c2), None),
        (None, Some(&c2)),
        (Some(&c13), Some(&c3)),
    ] {
        let e = x.batch_norm(g, bt, &mut stats, true, 1e-5).unwrap_err();
        assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
        assert!(x.layer_norm(g, bt, 1e-12).is_err());
    }
    // Statistics for another number of channels.
    let mut stats2 = RunningStats::<Reference, f64>::new(&b, 2).unwrap();
    assert!(x.batch_norm(None, None, &mut stats2, false, 1e-5).is_err());

    // One value per channel in training: the variance is undefined.
    let one = T::ones(&b, [1, 3, 1, 1]).unwrap();
    let e = one
        .batch_norm(None, None, &mut stats, true, 1e-5)
        .unwrap_err();
    assert!(format!("{e}").contains("variance"), "{e}");
    assert_eq!(stats.batches_tracked(), 0, "a failed step must not update");
    // ... but evaluation of a single sample is fine.
    assert!(one.batch_norm(None, None, &mut stats, false, 1e-5).is_ok());

    // Bad eps and bad axes.
    for eps in [-1e-5, f64::NAN, f64::INFINITY] {
        assert!(x.normalize(&[1], eps).is_err());
        assert!(x.batch_norm(None, None, &mut stats, true, eps).is_err());
        assert!(x.layer_norm(None, None, eps).is_err());
    }
    assert!(x.normalize(&[], 1e-5).is_err());
    assert!(x.normalize(&[4], 1e-5).is_err());
    assert!(x.normalize(&[1, 1], 1e-5).is_err());
}
