//! The equivariance harness on its own: transformations of images (composition laws,
//! translations with zeros shifted in), sample permutations (per batch row, and errors
//! for element sets a transformation does not preserve), and the checks of
//! `check_equivariance` (outputs of different kinds or shapes, margins larger than the
//! image, reports).

use core::f64::consts::{FRAC_PI_2, PI};
use pgcnn_core::equivariance::*;
use pgcnn_core::group::{sample_group, Elements, GroupKind, SamplingMethod};
use pgcnn_core::layers::GroupMap;
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::random_tensor;
use pgcnn_core::Tensor;

type T = Tensor<Reference, f64>;
const BK: Reference = Reference;

fn values(t: &T) -> Vec<f64> {
    t.to_vec().unwrap()
}

#[test]
fn transformations_compose_like_the_group() {
    let mut rng = Rng::seed(1);
    let x: T = random_tensor(&BK, &mut rng, &[2, 3, 5, 4], -1.0, 1.0).unwrap();
    let apply = |t: &Transformation, x: &T| t.apply_spatial(x).unwrap();
    // Four quarter turns are the identity; a quarter turn swaps H and W.
    let mut y = x.clone();
    for i in 0..4 {
        y = apply(&Transformation::rot90(1), &y);
        let want: &[usize] = if i % 2 == 0 {
            &[2, 3, 4, 5]
        } else {
            &[2, 3, 5, 4]
        };
        assert_eq!(y.dims(), want);
    }
    assert_eq!(values(&y), values(&x));
    // rot90(k) is k quarter turns; reflection(k) is the mirror, then k quarter turns.
    for k in 0..4u8 {
        let mut turned = x.clone();
        for _ in 0..k {
            turned = apply(&Transformation::rot90(1), &turned);
        }
        assert_eq!(
            values(&apply(&Transformation::rot90(k), &x)),
            values(&turned)
        );
        let mut refl = apply(&Transformation::mirror(), &x);
        for _ in 0..k {
            refl = apply(&Transformation::rot90(1), &refl);
        }
        assert_eq!(
            values(&apply(&Transformation::reflection(k), &x)),
            values(&refl)
        );
    }
    // Reflections are involutions; the flip reverses the rows.
    for t in Transformation::reflections() {
        assert_eq!(values(&apply(&t, &apply(&t, &x))), values(&x), "{t}");
    }
    let flipped = values(&apply(&Transformation::flip(), &x));
    let xv = values(&x);
    for p in 0..6 {
        for i in 0..5 {
            for j in 0..4 {
                assert_eq!(flipped[p * 20 + i * 4 + j], xv[p * 20 + (4 - i) * 4 + j]);
            }
        }
    }
    // The element of a transformation is (k·π/2, m).
    let e = Transformation::reflection(3).element();
    assert!((e.r - 3.0 * FRAC_PI_2).abs() < 1e-15 && e.mirrored);
    assert_eq!(Transformation::flip().element().r, PI);
}

#[test]
fn translations_shift_in_zeros() {
    let x = T::from_f64s(&BK, &(1..=12).map(f64::from).collect::<Vec<_>>(), [3, 4]).unwrap();
    let y = values(
        &Transformation::translation(1, -2)
            .apply_spatial(&x)
            .unwrap(),
    );
    #[rustfmt::skip]
    let want = [
        0.0, 0.0, 0.0, 0.0,
        3.0, 4.0, 0.0, 0.0,
        7.0, 8.0, 0.0, 0.0,
    ];
    assert_eq!(y, want);
    let gone = values(&Transformation::translation(5, 0).apply_spatial(&x).unwrap());
    assert!(gone.iter().all(|&v| v == 0.0));
    assert_eq!(Transformation::translation(1, -2).shift_extent(), 2);
    assert_eq!(
        format!("{}", Transformation::translation(1, -2)),
        "shift(1,-2)"
    );
    assert_eq!(
        format!("{}", Transformation::reflection(1)),
        "rot90x1∘mirror"
    );
    assert_eq!(format!("{}", Transformation::IDENTITY), "identity");
}

#[test]
fn sample_permutations_follow_each_batch_row() {
    // Row 1 holds the C4 grid in another order, so its permutation differs from row 0's.
    let r = [
        0.0,
        FRAC_PI_2,
        PI,
        3.0 * FRAC_PI_2,
        PI,
        3.0 * FRAC_PI_2,
        0.0,
        FRAC_PI_2,
    ];
    let el =
        Elements::<Reference, f64>::from_values(&BK, GroupKind::Se2, &r, None, Some(2)).unwrap();
    let perms = Transformation::rot90(1).sample_permutation(&el).unwrap();
    assert_eq!(perms, vec![vec![3, 0, 1, 2], vec![3, 0, 1, 2]]);
    let perms = Transformation::rot90(2).sample_permutation(&el).unwrap();
    assert_eq!(perms, vec![vec![2, 3, 0, 1], vec![2, 3, 0, 1]]);
    let r2 = [
        0.0,
        FRAC_PI_2,
        PI,
        3.0 * FRAC_PI_2,
        FRAC_PI_2,
        0.0,
        3.0 * FRAC_PI_2,
        PI,
    ];
    let el2 =
        Elements::<Reference, f64>::from_values(&BK, GroupKind::Se2, &r2, None, Some(2)).unwrap();
    // Row 1 = [π/2, 0, 3π/2, π]: g⁻¹·h_n = h_n - π/2 sits at indices 1, 2, 3, 0.
    let perms = Transformation::rot90(1).sample_permutation(&el2).unwrap();
    assert_eq!(perms, vec![vec![3, 0, 1, 2], vec![1, 2, 3, 0]]);

    // The transformed map takes each row's own permutation.
    let mut rng = Rng::seed(2);
    let t: T = random_tensor(&BK, &mut rng, &[2, 1, 4, 3, 3], -1.0, 1.0).unwrap();
    let map = GroupMap::new(t.clone(), el2).unwrap();
    let moved = Signal::Group(map)
        .transform(&Transformation::rot90(1))
        .unwrap();
    let mv = values(moved.tensor());
    let spatial = |row: usize, n: usize| {
        let plane = t.narrow(0, row, 1).unwrap().narrow(2, n, 1).unwrap();
        values(&Transformation::rot90(1).apply_spatial(&plane).unwrap())
    };
    for (row, perm) in [(0usize, [3usize, 0, 1, 2]), (1, [1, 2, 3, 0])] {
        for (n, &src) in perm.iter().enumerate() {
            let got = &mv[(row * 4 + n) * 9..][..9];
            assert_eq!(got, spatial(row, src).as_slice(), "row {row} sample {n}");
        }
    }
}

#[test]
fn element_sets_a_transformation_leaves_are_an_error() {
    let mut rng = Rng::seed(3);
    let se2 = sample_group::<_, f64>(
        &BK,
        GroupKind::Se2,
        4,
        SamplingMethod::Deterministic,
        None,
        &mut rng,
    )
    .unwrap();
    assert!(
        Transformation::mirror().sample_permutation(&se2).is_err(),
        "SE2 has no mirrors"
    );
    let c3 = sample_group::<_, f64>(
        &BK,
        GroupKind::Se2,
        3,
        SamplingMethod::Deterministic,
        None,
        &mut rng,
    )
    .unwrap();
    assert!(
        Transformation::rot90(1).sample_permutation(&c3).is_err(),
        "C3 lacks quarter turns"
    );
    assert!(Transformation::rot90(2).sample_permutation(&c3).is_err());
    let random = sample_group::<_, f64>(
        &BK,
        GroupKind::E2,
        8,
        SamplingMethod::Random,
        None,
        &mut rng,
    )
    .unwrap();
    assert!(
        Transformation::rot90(1).sample_permutation(&random).is_ok(),
        "stratified grids are closed under quarter turns"
    );
    assert!(
        Transformation::mirror().sample_permutation(&random).is_ok(),
        "and, their mirrored half being (-r_i, -1), under the mirror"
    );
    let unpaired = Elements::<Reference, f64>::from_values(
        &BK,
        GroupKind::E2,
        &[0.3, 0.3],
        Some(&[1.0, -1.0]),
        None,
    )
    .unwrap();
    assert!(
        Transformation::mirror()
            .sample_permutation(&unpaired)
            .is_err(),
        "(0.3, +1) and (0.3, -1) are not closed under the mirror"
    );
    let t2 = Elements::<Reference, f64>::identity(&BK, GroupKind::T2).unwrap();
    assert!(Transformation::rot90(1).sample_permutation(&t2).is_err());
    assert_eq!(
        Transformation::translation(2, 1)
            .sample_permutation(&t2)
            .unwrap(),
        vec![vec![0]]
    );
}

#[test]
fn check_equivariance_reports_and_rejects_mismatches() {
    let mut rng = Rng::seed(4);
    let x: T = random_tensor(&BK, &mut rng, &[1, 1, 6, 6], -1.0, 1.0).unwrap();
    let input = Signal::Image(x);
    let ts = standard_transformations(GroupKind::E2);
    assert_eq!(ts.len(), 7);
    assert_eq!(standard_transformations(GroupKind::Se2).len(), 3);
    let opts = EquivarianceOptions::default();
    // A transposition-invariant function of the image: the sum of squares.
    let ok = check_equivariance(
        &input,
        |s| Ok(Signal::Invariant(s.tensor().square()?.sum_all()?)),
        &ts,
        opts,
    )
    .unwrap();
    assert!(ok.within(1e-14) && ok.max_relative_error() < 1e-14, "{ok}");
    assert_eq!(ok.errors.len(), 7);
    // Pixel (0, 0) is not invariant: errors of order 1 are reported, not hidden.
    let corner = check_equivariance(
        &input,
        |s| {
            Ok(Signal::Invariant(
                s.tensor().narrow(3, 0, 1)?.narrow(2, 0, 1)?,
            ))
        },
        &ts,
        opts,
    )
    .unwrap();
    assert!(!corner.within(1e-3), "{corner}");
    assert!(corner.errors.iter().all(|e| e.max_abs_error >= 0.0));
    // A function whose output kind changes is an error.
    let mut calls = 0;
    let flaky = check_equivariance(
        &input,
        |s| {
            calls += 1;
            Ok(if calls == 1 {
                Signal::Invariant(s.tensor().sum_all()?)
            } else {
                Signal::Image(s.tensor().clone())
            })
        },
        &ts,
        opts,
    );
    assert!(flaky.is_err());
    // A margin that leaves nothing to compare is an error.
    let big = EquivarianceOptions {
        receptive_radius: 3,
    };
    let shifted = check_equivariance(
        &input,
        |s| Ok(s.clone()),
        &Transformation::translations(),
        big,
    );
    assert!(shifted.is_err());
    // The identity function is exactly equivariant under every transformation.
    let id = check_equivariance(
        &input,
        |s| Ok(s.clone()),
        &Transformation::quarter_turns(),
        opts,
    )
    .unwrap();
    assert_eq!(id.max_relative_error(), 0.0);
}
