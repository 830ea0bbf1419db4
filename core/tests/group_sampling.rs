//! Sampling group elements (docs/math.md §3) and learned partial equivariance
//! (docs/math.md §4): grid values, strata, N' from θ, relaxed-Bernoulli keep decisions,
//! gradient checks.

use core::f64::consts::{FRAC_PI_2, PI, TAU};
use pgcnn_core::group::*;
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::{check_gradients, GradCheck};
use pgcnn_core::{Param, Tensor};

type T = Tensor<Reference, f64>;
const B: Reference = Reference;

fn sample(
    kind: GroupKind,
    n: usize,
    method: SamplingMethod,
    batch: Option<usize>,
    rng: &mut Rng,
) -> Elements<Reference, f64> {
    sample_group(&B, kind, n, method, batch, rng).unwrap()
}

fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}

#[test]
fn deterministic_grids_are_cn_and_dn() {
    let mut rng = Rng::seed(0);
    let se2 = sample(
        GroupKind::Se2,
        4,
        SamplingMethod::Deterministic,
        None,
        &mut rng,
    );
    assert_eq!(
        se2.rotation_values(),
        &[0.0, FRAC_PI_2, PI, 3.0 * FRAC_PI_2]
    );
    assert!(se2.mirrors().is_none() && !se2.requires_grad());
    let e2 = sample(
        GroupKind::E2,
        8,
        SamplingMethod::Deterministic,
        None,
        &mut rng,
    );
    // D4 in the reference's order: the rotations, then the mirrored elements
    // (-r_i mod 2π, -1) (docs/math.md §3).
    let quarter = [0.0, FRAC_PI_2, PI, 3.0 * FRAC_PI_2];
    let mirrored = [0.0, TAU - FRAC_PI_2, TAU - PI, TAU - 3.0 * FRAC_PI_2];
    assert_eq!(
        e2.rotation_values(),
        [quarter, mirrored].concat().as_slice()
    );
    assert_eq!(mirrored[1], 3.0 * FRAC_PI_2);
    assert_eq!(mirrored[3], FRAC_PI_2);
    assert_eq!(
        e2.mirror_values().unwrap(),
        &[1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0]
    );
    let batched = sample(
        GroupKind::Se2,
        3,
        SamplingMethod::Deterministic,
        Some(2),
        &mut rng,
    );
    assert_eq!(batched.rotations().dims(), &[2, 3]);
    assert_eq!(
        batched.rotation_values()[..3],
        batched.rotation_values()[3..]
    );
    let t2 = sample(GroupKind::T2, 8, SamplingMethod::Random, None, &mut rng);
    assert_eq!((t2.len(), t2.rotation_values()), (1, &[0.0][..]));
    assert!(
        sample_group::<_, f64>(&B, GroupKind::E2, 5, SamplingMethod::Random, None, &mut rng)
            .is_err()
    );
}

#[test]
fn random_draws_are_stratified_with_one_offset_per_draw() {
    let mut rng = Rng::seed(1);
    let n = 8;
    let els = sample(GroupKind::Se2, n, SamplingMethod::Random, Some(6), &mut rng);
    let v = els.rotation_values();
    let step = TAU / n as f64;
    let mut firsts = Vec::new();
    for row in v.chunks(n) {
        for (i, &r) in row.iter().enumerate() {
            assert!(
                r >= step * i as f64 && r < step * (i + 1) as f64,
                "r_{i} = {r} outside its stratum"
            );
            assert!(
                (r - row[0] - step * i as f64).abs() < 1e-12,
                "one offset per draw"
            );
        }
        firsts.push(row[0]);
    }
    firsts.sort_by(f64::total_cmp);
    firsts.dedup();
    assert_eq!(firsts.len(), 6, "every batch element gets its own draw");
    // E(2): the mirrored half holds the draw's rotations negated (mod 2π).
    let e2 = sample(GroupKind::E2, 6, SamplingMethod::Random, None, &mut rng);
    let r = e2.rotation_values();
    for i in 0..3 {
        let turn = (r[i] + r[3 + i]).rem_euclid(TAU);
        assert!(turn.min(TAU - turn) < 1e-12, "{r:?}");
    }
    assert!(r[0] < TAU / 3.0);
    assert_eq!(
        e2.mirror_values().unwrap(),
        &[1.0, 1.0, 1.0, -1.0, -1.0, -1.0]
    );
    // Repeatable under the seed.
    let a = sample(
        GroupKind::Se2,
        4,
        SamplingMethod::Random,
        None,
        &mut Rng::seed(7),
    );
    let b = sample(
        GroupKind::Se2,
        4,
        SamplingMethod::Random,
        None,
        &mut Rng::seed(7),
    );
    assert_eq!(a.rotation_values(), b.rotation_values());
}

#[test]
fn rotation_count_follows_theta() {
    for (n_r, theta, want) in [
        (8, 1.0, 8),
        (8, 0.5, 4),
        (8, 0.51, 5),
        (8, 0.0, 1),
        (8, 1e-9, 1),
        (8, -0.3, 3),
        (8, 2.5, 8),
        (1, 0.2, 1),
    ] {
        assert_eq!(
            rotation_count(n_r, theta).unwrap(),
            want,
            "N_r {n_r}, θ {theta}"
        );
    }
    assert!(rotation_count(8, f64::NAN).is_err());
    assert!(rotation_count(8, f64::INFINITY).is_err());
}

#[test]
fn partial_rotations_are_a_stratified_sample_of_the_scaled_circle() {
    let theta: T = Tensor::from_slice(&B, &[0.5], [1]).unwrap();
    let n_prime = rotation_count(8, 0.5).unwrap();
    let r = partial_rotations(&theta, n_prime, &[0.25], false).unwrap();
    let want: Vec<f64> = (0..4)
        .map(|i| 0.5 * (-PI + TAU * (i as f64 + 0.25) / 4.0))
        .collect();
    assert!(close(&r.to_vec().unwrap(), &want, 1e-15));
    // Batched: one row per offset, each in its strata of [-πθ, πθ).
    let rb = partial_rotations(&theta, 4, &[0.0, 0.999], true).unwrap();
    assert_eq!(rb.dims(), &[2, 4]);
    let v = rb.to_vec().unwrap();
    for (k, row) in v.chunks(4).enumerate() {
        for (i, &x) in row.iter().enumerate() {
            let lo = 0.5 * (-PI + TAU * i as f64 / 4.0);
            let hi = 0.5 * (-PI + TAU * (i + 1) as f64 / 4.0);
            assert!(
                x >= lo && x < hi,
                "row {k} r_{i} = {x} outside [{lo}, {hi})"
            );
        }
    }
    assert!(partial_rotations(&theta, 4, &[0.1, 0.2], false).is_err());
    assert!(partial_rotations(&theta, 0, &[0.1], false).is_err());
}

#[test]
fn gradients_reach_theta_through_samples_grids_and_coordinates() {
    let grid = KernelGrid::new(3).unwrap();
    let n_r = 8;
    for theta in [0.8, 0.37, -0.6] {
        let t: T = Tensor::from_slice(&B, &[theta], [1]).unwrap();
        let rows = |xs: &[T], batched: bool, offsets: &[f64]| -> pgcnn_core::Result<T> {
            let n_prime = rotation_count(n_r, xs[0].to_scalar()?)?;
            partial_rotations(&xs[0], n_prime, offsets, batched)
        };
        check_gradients(
            std::slice::from_ref(&t),
            |xs| rows(xs, false, &[0.3]),
            GradCheck::default(),
        )
        .unwrap_or_else(|e| panic!("θ {theta} rotations: {e}"));
        check_gradients(
            std::slice::from_ref(&t),
            |xs| rows(xs, true, &[0.3, 0.7]),
            GradCheck::default(),
        )
        .unwrap_or_else(|e| panic!("θ {theta} batched rotations: {e}"));
        check_gradients(
            std::slice::from_ref(&t),
            |xs| {
                acted_grid(
                    &Elements::new(GroupKind::Se2, rows(xs, false, &[0.3])?, None)?,
                    &grid,
                )
            },
            GradCheck::default(),
        )
        .unwrap_or_else(|e| panic!("θ {theta} acted grid: {e}"));
        // A partial layer's kernel-net input over fixed input elements (offsets chosen so
        // that no relative angle sits on the wrap-around).
        let inp =
            Elements::from_values(&B, GroupKind::Se2, &[0.05, 1.6, 3.2, 4.75], None, None).unwrap();
        check_gradients(
            std::slice::from_ref(&t),
            |xs| {
                group_conv_coords(
                    &Elements::new(GroupKind::Se2, rows(xs, false, &[0.41])?, None)?,
                    &inp,
                    &grid,
                )
            },
            GradCheck::default(),
        )
        .unwrap_or_else(|e| panic!("θ {theta} group conv coords: {e}"));
    }
}

#[test]
fn relaxed_bernoulli_has_correct_gradients_and_straight_through_passes_them() {
    let logits: T = Tensor::from_slice(&B, &[-1.0, 0.3, 2.0, 0.0], [4]).unwrap();
    let noise = [0.4, -0.2, -2.5, 0.9];
    for keep in [
        KeepParameterisation::Sigmoid,
        KeepParameterisation::ReferenceSigmoid2,
    ] {
        for tau in [0.7, 0.2] {
            check_gradients(
                std::slice::from_ref(&logits),
                |xs| relaxed_bernoulli(&keep.logits(&xs[0])?, &noise, tau),
                GradCheck::default(),
            )
            .unwrap_or_else(|e| panic!("{keep:?} τ {tau}: {e}"));
        }
    }
    // Values: sigmoid((l + noise)/τ).
    let y = relaxed_bernoulli(&logits, &noise, 0.5)
        .unwrap()
        .to_vec()
        .unwrap();
    let want: Vec<f64> = [-1.0, 0.3, 2.0, 0.0]
        .iter()
        .zip(&noise)
        .map(|(l, n)| 1.0 / (1.0 + (-(l + n) / 0.5f64).exp()))
        .collect();
    assert!(close(&y, &want, 1e-15));
    // Straight-through: exactly 0/1 forward, the relaxed sample's gradient backward.
    let p = Param::new(logits.clone());
    let relaxed = relaxed_bernoulli(p.tensor(), &noise, 0.5).unwrap();
    let draw = straight_through(&relaxed).unwrap();
    assert_eq!(draw.keep, vec![false, true, false, true]);
    assert_eq!(draw.gates.to_vec().unwrap(), vec![0.0, 1.0, 0.0, 1.0]);
    let w: T = Tensor::from_slice(&B, &[0.3, -1.2, 0.8, 2.0], [4]).unwrap();
    let g_st = draw
        .gates
        .mul(&w)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let g_relaxed = relaxed
        .mul(&w)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    assert_eq!(
        g_st.get(&p).unwrap().to_vec().unwrap(),
        g_relaxed.get(&p).unwrap().to_vec().unwrap()
    );
    assert!(relaxed_bernoulli(&logits, &noise, 0.0).is_err());
    assert!(relaxed_bernoulli(&logits, &noise[..2], 0.5).is_err());
}

#[test]
fn keep_frequencies_match_the_keep_probability() {
    let mut rng = Rng::seed(21);
    let draws = 20_000;
    for (keep, p) in [
        (KeepParameterisation::Sigmoid, 1.0),
        (KeepParameterisation::Sigmoid, -2.0),
        (KeepParameterisation::ReferenceSigmoid2, 1.0),
    ] {
        let logits = keep
            .logits(&Tensor::<Reference, f64>::full(&B, [draws], p).unwrap())
            .unwrap();
        let noise = logistic_noise(&mut rng, draws);
        // The temperature does not change the hard decision, only the gradient.
        let kept = straight_through(&relaxed_bernoulli(&logits, &noise, 1e-4).unwrap())
            .unwrap()
            .keep;
        let freq = kept.iter().filter(|&&k| k).count() as f64 / draws as f64;
        let want = keep.keep_probability(p);
        assert!(
            (freq - want).abs() < 0.015,
            "{keep:?} p {p}: kept {freq}, probability {want}"
        );
    }
    // The reference form pins the probability in [0.5, 0.731].
    for p in [-50.0, 0.0, 50.0] {
        let q = KeepParameterisation::ReferenceSigmoid2.keep_probability(p);
        assert!((0.5..=0.7311).contains(&q), "{q}");
    }
}

#[test]
fn temperature_falls_linearly_then_stays() {
    let s = TemperatureSchedule::new(1000);
    assert_eq!(s.temperature(0), 0.5);
    assert!((s.temperature(500) - (0.5 + 1e-4) / 2.0).abs() < 1e-15);
    assert_eq!(s.temperature(1000), 1e-4);
    assert_eq!(s.temperature(5000), 1e-4);
    assert_eq!(TemperatureSchedule::new(0).temperature(3), 1e-4);
}
