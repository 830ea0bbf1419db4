//! Softmax, log-softmax, cross entropy, accuracy and dropout: finite-difference gradient
//! checks in f64 on the reference backend, comparisons with naive formulas, and errors.

use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::{check_gradients, random_tensor, tolerance_ratio, GradCheck};
use pgcnn_core::{Param, Tensor};

type T = Tensor<Reference, f64>;

fn rand(rng: &mut Rng, dims: &[usize], lo: f64, hi: f64) -> T {
    random_tensor(&Reference, rng, dims, lo, hi).unwrap()
}

fn close(a: &[f64], b: &[f64], what: &str) {
    let r = tolerance_ratio(a, b, 1e-10, 1e-9);
    assert!(r <= 1.0, "{what}: {a:?} vs {b:?} (ratio {r})");
}

/// -log softmax(row)[label], computed the long way in f64 with a max shift.
fn naive_nll(row: &[f64], label: usize) -> f64 {
    let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let lse = m + row.iter().map(|x| (x - m).exp()).sum::<f64>().ln();
    lse - row[label]
}

#[test]
fn softmax_and_log_softmax_match_naive_and_finite_differences() {
    let mut rng = Rng::seed(20);
    let x = rand(&mut rng, &[2, 3, 4], -3.0, 3.0);
    for axis in [0isize, 1, 2, -1] {
        check_gradients(
            std::slice::from_ref(&x),
            |xs| xs[0].softmax(axis),
            GradCheck::default(),
        )
        .unwrap_or_else(|e| panic!("softmax axis {axis}: {e}"));
        check_gradients(
            std::slice::from_ref(&x),
            |xs| xs[0].log_softmax(axis),
            GradCheck::default(),
        )
        .unwrap_or_else(|e| panic!("log_softmax axis {axis}: {e}"));
    }
    // Along the last axis, against the textbook formula.
    let v = x.to_vec().unwrap();
    let want: Vec<f64> = v
        .chunks(4)
        .flat_map(|row| {
            let s: f64 = row.iter().map(|x| x.exp()).sum();
            row.iter().map(move |x| x.exp() / s).collect::<Vec<_>>()
        })
        .collect();
    close(&x.softmax(-1).unwrap().to_vec().unwrap(), &want, "softmax");
    let logs: Vec<f64> = want.iter().map(|p| p.ln()).collect();
    close(
        &x.log_softmax(-1).unwrap().to_vec().unwrap(),
        &logs,
        "log_softmax",
    );
    // Huge logits stay finite.
    let big = T::from_slice(&Reference, &[1000.0, -1000.0, 999.0], [1, 3]).unwrap();
    let p = big.softmax(1).unwrap().to_vec().unwrap();
    let lp = big.log_softmax(1).unwrap().to_vec().unwrap();
    assert!(p.iter().chain(&lp).all(|v| v.is_finite()), "{p:?} {lp:?}");
    close(&[p.iter().sum::<f64>()], &[1.0], "softmax sums to one");
    assert!(x.softmax(3).is_err() && x.log_softmax(-4).is_err());
    assert!(T::zeros(&Reference, [2, 0]).unwrap().softmax(1).is_err());
}

#[test]
fn cross_entropy_matches_the_composite_formula_and_finite_differences() {
    let mut rng = Rng::seed(21);
    let (b, k) = (5, 4);
    let x = rand(&mut rng, &[b, k], -3.0, 3.0);
    let labels = [0usize, 3, 1, 3, 2];
    check_gradients(
        std::slice::from_ref(&x),
        |xs| xs[0].cross_entropy(&labels),
        GradCheck::default(),
    )
    .unwrap();

    // Value and gradient of the fused op equal those of -mean(onehot · log_softmax).
    let mut onehot = vec![0.0; b * k];
    for (i, &l) in labels.iter().enumerate() {
        onehot[i * k + l] = 1.0;
    }
    let onehot = T::from_slice(&Reference, &onehot, [b, k]).unwrap();
    let p = Param::new(x.clone());
    let fused = p.tensor().cross_entropy(&labels).unwrap();
    let composite = p
        .tensor()
        .log_softmax(1)
        .unwrap()
        .mul(&onehot)
        .unwrap()
        .sum_all()
        .unwrap()
        .mul_scalar(-1.0 / b as f64)
        .unwrap();
    assert_eq!(fused.rank(), 0);
    close(
        &fused.to_vec().unwrap(),
        &composite.to_vec().unwrap(),
        "loss",
    );
    let gf = fused.backward().unwrap();
    let gc = composite.backward().unwrap();
    close(
        &gf.get(&p).unwrap().to_vec().unwrap(),
        &gc.get(&p).unwrap().to_vec().unwrap(),
        "gradient",
    );

    // And the naive -log(softmax) mean.
    let v = x.to_vec().unwrap();
    let naive: f64 = v
        .chunks(k)
        .zip(labels)
        .map(|(row, l)| naive_nll(row, l))
        .sum::<f64>()
        / b as f64;
    close(&[fused.to_scalar().unwrap()], &[naive], "naive loss");
    // Without a parameter no graph is recorded.
    assert!(!x.cross_entropy(&labels).unwrap().requires_grad());
}

#[test]
fn cross_entropy_is_finite_for_huge_logits() {
    let x = T::from_slice(
        &Reference,
        &[1000.0, -1000.0, 0.0, -1000.0, 1000.0, 1000.0],
        [2, 3],
    )
    .unwrap();
    let labels = [1usize, 0];
    let p = Param::new(x.clone());
    let loss = p.tensor().cross_entropy(&labels).unwrap();
    // Row 0: lse ≈ 1000, picks -1000; row 1: lse = 1000 + ln 2, picks -1000.
    let want = (2000.0 + 2000.0 + 2f64.ln()) / 2.0;
    close(&[loss.to_scalar().unwrap()], &[want], "huge logits");
    let g = loss.backward().unwrap();
    let g = g.get(&p).unwrap().to_vec().unwrap();
    assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
    // (softmax - onehot) / B: row 0 ≈ [1, -1, 0] / 2, row 1 ≈ [-1, 0.5, 0.5] / 2.
    close(
        &g,
        &[0.5, -0.5, 0.0, -0.5, 0.25, 0.25],
        "huge logits gradient",
    );
    // In f32 too.
    let x32 =
        Tensor::<Reference, f32>::from_slice(&Reference, &[1000.0, -1000.0, 0.0], [1, 3]).unwrap();
    let l32 = x32.cross_entropy(&[1]).unwrap().to_scalar().unwrap();
    assert!((l32 - 2000.0).abs() < 1e-2, "{l32}");
}

#[test]
fn bad_labels_and_logits_are_errors() {
    let x = T::zeros(&Reference, [3, 4]).unwrap();
    assert!(x.cross_entropy(&[0, 1]).is_err(), "too few labels");
    assert!(x.cross_entropy(&[0, 1, 2, 3]).is_err(), "too many labels");
    let e = x.cross_entropy(&[0, 4, 1]).unwrap_err();
    assert!(format!("{e}").contains("label 4"), "{e}");
    assert!(x.accuracy(&[0, 1]).is_err());
    assert!(x.accuracy(&[0, 9, 1]).is_err());
    let flat = T::zeros(&Reference, [4]).unwrap();
    assert!(flat.cross_entropy(&[0]).is_err());
    assert!(flat.argmax_rows().is_err());
    assert!(T::zeros(&Reference, [0, 4])
        .unwrap()
        .cross_entropy(&[])
        .is_err());
    assert!(T::zeros(&Reference, [2, 0])
        .unwrap()
        .cross_entropy(&[0, 0])
        .is_err());
    assert!(T::zeros(&Reference, [2, 0]).unwrap().argmax_rows().is_err());
}

#[test]
fn argmax_and_accuracy_count_correct_rows() {
    let x = T::from_slice(
        &Reference,
        &[
            0.1,
            0.7,
            0.2, // 1
            3.0,
            -1.0,
            3.0, // tie: first
            -5.0,
            -4.0,
            -6.0, // 1
            f64::NAN,
            1.0,
            0.0, // NaN never wins: 1
        ],
        [4, 3],
    )
    .unwrap();
    assert_eq!(x.argmax_rows().unwrap(), vec![1, 0, 1, 1]);
    assert_eq!(x.accuracy(&[1, 0, 1, 1]).unwrap(), 1.0);
    assert_eq!(x.accuracy(&[1, 2, 0, 1]).unwrap(), 0.5);
    assert_eq!(x.accuracy(&[0, 2, 0, 0]).unwrap(), 0.0);
}

#[test]
fn dropout_matches_finite_differences_in_both_modes() {
    let mut rng = Rng::seed(22);
    let x = rand(&mut rng, &[3, 2, 4], -1.0, 1.0);
    for training in [true, false] {
        // A fresh generator per evaluation, so every evaluation draws the same mask.
        check_gradients(
            std::slice::from_ref(&x),
            |xs| xs[0].dropout(0.4, &mut Rng::seed(5), training),
            GradCheck::default(),
        )
        .unwrap_or_else(|e| panic!("dropout training={training}: {e}"));
        check_gradients(
            std::slice::from_ref(&x),
            |xs| xs[0].dropout_channels(0.4, &mut Rng::seed(5), training),
            GradCheck::default(),
        )
        .unwrap_or_else(|e| panic!("dropout_channels training={training}: {e}"));
    }
}

#[test]
fn dropout_is_identity_when_off_and_repeatable_under_a_seed() {
    let mut rng = Rng::seed(23);
    let x = rand(&mut rng, &[4, 3, 5], -1.0, 1.0);
    let before = rng.state();
    for (p, training) in [(0.0, true), (0.5, false)] {
        let y = x.dropout(p, &mut rng, training).unwrap();
        assert_eq!(y.to_vec().unwrap(), x.to_vec().unwrap());
        let y = x.dropout_channels(p, &mut rng, training).unwrap();
        assert_eq!(y.to_vec().unwrap(), x.to_vec().unwrap());
    }
    assert_eq!(
        rng.state(),
        before,
        "nothing may be drawn when dropout is off"
    );

    let a = x.dropout(0.5, &mut Rng::seed(9), true).unwrap();
    let b = x.dropout(0.5, &mut Rng::seed(9), true).unwrap();
    let c = x.dropout(0.5, &mut Rng::seed(10), true).unwrap();
    assert_eq!(a.to_vec().unwrap(), b.to_vec().unwrap());
    assert_ne!(a.to_vec().unwrap(), c.to_vec().unwrap());
    // Kept values are scaled by 1/(1-p) = 2.
    for (y, x) in a.to_vec().unwrap().iter().zip(x.to_vec().unwrap()) {
        assert!(*y == 0.0 || (y - 2.0 * x).abs() < 1e-15, "{y} from {x}");
    }
}

#[test]
fn dropout_keeps_the_right_fraction_and_the_mean() {
    let (p, n) = (0.3, 100_000);
    let ones = T::ones(&Reference, [n]).unwrap();
    let y = ones
        .dropout(p, &mut Rng::seed(24), true)
        .unwrap()
        .to_vec()
        .unwrap();
    let kept = y.iter().filter(|&&v| v != 0.0).count() as f64 / n as f64;
    assert!((kept - (1.0 - p)).abs() < 0.01, "kept fraction {kept}");
    let mean = y.iter().sum::<f64>() / n as f64;
    assert!((mean - 1.0).abs() < 0.015, "mean {mean}");
    assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-12));
}

#[test]
fn channel_dropout_drops_whole_maps() {
    let (p, b, c) = (0.5, 40, 50);
    let ones = T::ones(&Reference, [b, c, 3, 2]).unwrap();
    let y = ones
        .dropout_channels(p, &mut Rng::seed(25), true)
        .unwrap()
        .to_vec()
        .unwrap();
    let mut kept = 0;
    for map in y.chunks(6) {
        assert!(map.iter().all(|&v| v == map[0]), "a map is split: {map:?}");
        assert!(map[0] == 0.0 || map[0] == 2.0);
        kept += (map[0] != 0.0) as usize;
    }
    let frac = kept as f64 / (b * c) as f64;
    assert!((frac - 0.5).abs() < 0.05, "kept fraction {frac}");
    // On [B, C] it drops single values.
    let flat = T::ones(&Reference, [2, 3]).unwrap();
    assert!(flat.dropout_channels(p, &mut Rng::seed(1), true).is_ok());
}

#[test]
fn bad_dropout_probabilities_are_errors() {
    let x = T::ones(&Reference, [2, 3, 2]).unwrap();
    let mut rng = Rng::seed(26);
    for p in [1.0, 1.5, -0.1, f64::NAN] {
        for training in [true, false] {
            assert!(x.dropout(p, &mut rng, training).is_err(), "p = {p}");
            assert!(x.dropout_channels(p, &mut rng, training).is_err());
        }
    }
    let v = T::ones(&Reference, [5]).unwrap();
    assert!(v.dropout_channels(0.5, &mut rng, true).is_err());
    assert!(v.dropout(0.5, &mut rng, true).is_ok());
}
