//! Exact equivariance of the layers (docs/math.md §2, §6), as properties over random
//! inputs, random kernel-net weights and odd, even and non-square image sizes.
//!
//! Conventions, worked out from docs/math.md §2: positions are (y, x) = (row, column) and
//! A(π/2) = [[0, 1], [-1, 0]] sends (1, 0) (below the centre) to (0, -1) (left of it). A
//! rotated image `f(A⁻¹·x)` therefore turns **clockwise** on screen: it is
//! `np.rot90(f, k=-1)`, `out[i, j] = f[H-1-j, i]`. A map on the group transforms as
//! `(g·F)(x, h) = F(A(g)⁻¹·x, g⁻¹·h)`, so for SE(2) on the grid h_n = 2πn/N and
//! g = k·π/2, sample n of the transformed output is sample `(n - k·N/4) mod N` of the
//! original, rotated: `np.roll(rot90(F, -k), +k·N/4, axis=N)`.
//! For E(2) the samples are the N_r rotations r_i = 2πi/N_r with m = +1, then the
//! mirrored elements (-r_i, -1) (the reference's order). g⁻¹·h for a rotation
//! g = (k·π/2, +1) is (r_h - k·π/2, m_h): with q = k·N_r/4, index i of the first half
//! comes from i - q, index i of the mirrored half from i + q (mod N_r). For a reflection
//! g = (k·π/2, -1) (mirror x ↦ -x first, then k quarter turns), g⁻¹ = g and
//! g⁻¹·h = (k·π/2 - r_h, -m_h): index i of the first half comes from index i - q of the
//! mirrored half, index i of the mirrored half from index i + q of the first.
//!
//! Each property checks the expected output twice: with the hand-written formulas above
//! (host index loops) and with the library harness (`check_equivariance`). Run with
//! `cargo test --release -p pgcnn-core --test equivariance_layers -- --nocapture` to see the error of every case.

mod equivariance_support;

use core::f64::consts::FRAC_PI_2;
use equivariance_support::*;
use pgcnn_core::equivariance::{check_equivariance, EquivarianceOptions, Signal, Transformation};
use pgcnn_core::group::{Elements, Group, GroupKind, RotoReflection, Se2, E2};
use pgcnn_core::layers::*;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::random_tensor;
use pgcnn_core::{Padding, Result};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

/// The sample permutation σ (output sample n comes from original sample σ(n)) for k
/// quarter turns after an optional mirror, from the hand formulas of the module docs.
fn hand_sigma(kind: GroupKind, n: usize, k: usize, mirror: bool) -> Vec<usize> {
    match kind {
        GroupKind::Se2 => {
            assert!(!mirror);
            assert_eq!(n % 4, 0);
            (0..n).map(|s| (s + n - k * n / 4) % n).collect()
        }
        GroupKind::E2 => {
            let nr = n / 2;
            assert_eq!(nr % 4, 0);
            let q = k * nr / 4;
            (0..n)
                .map(|s| {
                    let (i, half) = (s % nr, s / nr);
                    match (mirror, half) {
                        (false, 0) => (i + nr - q) % nr,
                        (false, _) => nr + (i + q) % nr,
                        (true, 0) => nr + (i + nr - q) % nr,
                        (true, _) => (i + q) % nr,
                    }
                })
                .collect()
        }
        GroupKind::T2 => vec![0],
    }
}

/// The transformations tested for `kind`, as (quarter turns, mirror).
fn cases(kind: GroupKind) -> Vec<(usize, bool)> {
    let mut v: Vec<(usize, bool)> = (1..4).map(|k| (k, false)).collect();
    if kind == GroupKind::E2 {
        v.extend((0..4).map(|k| (k, true)));
    }
    v
}

/// `g·F` by the hand formulas: permute samples by σ, then move every plane.
fn hand_expected(out: &GroupMap<Bk, f64>, kind: GroupKind, k: usize, mirror: bool) -> Vec<f64> {
    let v = out.tensor().to_vec().unwrap();
    let sigma = hand_sigma(kind, out.samples(), k, mirror);
    let permuted = permute_samples(&v, out.dims(), &sigma);
    host_transform(&permuted, out.dims(), k, mirror).0
}

/// The three layers on one random configuration.
struct Net {
    lift: LiftingConv<Bk, f64>,
    gconv: GroupConv<Bk, f64>,
    pointwise: PointwiseGroupConv<Bk, f64>,
}

impl Net {
    fn new(
        kind: GroupKind,
        n: usize,
        cin: usize,
        cout: usize,
        k: usize,
        valid: bool,
        seed: u64,
    ) -> Self {
        let mut rng = Rng::seed(seed);
        let mut lift = LiftingConv::new(&BK, det_config(kind, cin, cout, k, n), &mut rng).unwrap();
        let mut gc_cfg = det_config(kind, cout, cout, k, n);
        if valid {
            gc_cfg.padding = Padding::Valid;
        }
        let mut gconv = GroupConv::new(&BK, gc_cfg, &mut rng).unwrap();
        let mut pointwise =
            PointwiseGroupConv::new(&BK, det_config(kind, cout, 2, 1, n), &mut rng).unwrap();
        randomise(&mut lift, &mut rng);
        randomise(&mut gconv, &mut rng);
        randomise(&mut pointwise, &mut rng);
        Net {
            lift,
            gconv,
            pointwise,
        }
    }
    /// Lifting, group and pointwise outputs.
    fn run(&self, x: &T) -> Result<[GroupMap<Bk, f64>; 3]> {
        let mut ctx = ForwardCtx::eval(Rng::seed(0));
        let l = self.lift.forward(x, &mut ctx)?;
        let g = self.gconv.forward(&l, &mut ctx)?;
        let p = self.pointwise.forward(&l, l.elements(), &mut ctx)?;
        Ok([l, g, p])
    }
}

/// One property case: every layer output against the hand formulas and the harness;
/// returns the printed line and the worst error.
fn measure(
    kind: GroupKind,
    n: usize,
    (h, w): (usize, usize),
    cin: usize,
    cout: usize,
    k: usize,
    valid: bool,
    seed: u64,
) -> (String, f64) {
    let net = Net::new(kind, n, cin, cout, k, valid, seed);
    let x: T = random_tensor(
        &BK,
        &mut Rng::seed(seed ^ 0xabc),
        &[2, cin, h, w],
        -1.0,
        1.0,
    )
    .unwrap();
    let base = net.run(&x).unwrap();
    let mut worst: f64 = 0.0;
    let mut line = format!("{kind} N={n} {h}x{w} k={k} cin={cin} cout={cout} valid={valid}:");
    for (turns, mirror) in cases(kind) {
        let (xv, xd) = host_transform(&x.to_vec().unwrap(), x.dims(), turns, mirror);
        let moved = net.run(&tensor(&xv, &xd)).unwrap();
        let errs: Vec<f64> = (0..3)
            .map(|i| {
                rel_error(
                    &moved[i].tensor().to_vec().unwrap(),
                    &hand_expected(&base[i], kind, turns, mirror),
                )
            })
            .collect();
        let g = Transformation {
            quarter_turns: turns as u8,
            mirrored: mirror,
            shift: (0, 0),
        };
        line += &format!(
            " {g} lift {:.1e} gconv {:.1e} pointwise {:.1e};",
            errs[0], errs[1], errs[2]
        );
        worst = errs
            .iter()
            .fold(worst, |a, &b| if b.is_nan() { f64::NAN } else { a.max(b) });
    }
    // The library harness on the same layers must agree.
    for i in 0..3 {
        let report = check_equivariance(
            &Signal::Image(x.clone()),
            |s: &Signal<Bk, f64>| Ok(Signal::Group(net.run(s.tensor())?[i].clone())),
            &pgcnn_core::equivariance::standard_transformations(kind),
            EquivarianceOptions::default(),
        )
        .unwrap();
        line += &format!(" harness[{i}] max {:.1e};", report.max_relative_error());
        worst = worst.max(report.max_relative_error());
    }
    (line, worst)
}

#[test]
fn se2_layers_rotate_spatially_and_shift_by_n_over_4() {
    let log = ErrorLog::default();
    let strategy = (
        any::<u64>(),
        (5usize..=9, 5usize..=9),
        prop_oneof![Just(4usize), Just(8)],
        1usize..=2,
        1usize..=2,
        prop_oneof![Just(3usize), Just(5)],
        any::<bool>(),
    );
    TestRunner::new(proptest_config(8))
        .run(&strategy, |(seed, hw, n, cin, cout, k, valid)| {
            let (line, worst) = measure(GroupKind::Se2, n, hw, cin, cout, k, valid, seed);
            prop_assert!(worst <= EXACT_BOUND, "{}", line);
            log.record(line, worst);
            Ok(())
        })
        .unwrap();
    log.assert_below(
        "SE(2) lifting / group / pointwise convolutions under quarter turns",
        EXACT_BOUND,
    );
}

#[test]
fn e2_layers_follow_rotations_and_reflections() {
    let log = ErrorLog::default();
    let strategy = (
        any::<u64>(),
        (5usize..=8, 5usize..=8),
        prop_oneof![Just(8usize), Just(16)],
        1usize..=2,
        any::<bool>(),
    );
    TestRunner::new(proptest_config(6))
        .run(&strategy, |(seed, hw, n, cin, valid)| {
            let (line, worst) = measure(GroupKind::E2, n, hw, cin, 2, 3, valid, seed);
            prop_assert!(worst <= EXACT_BOUND, "{}", line);
            log.record(line, worst);
            Ok(())
        })
        .unwrap();
    log.assert_below(
        "E(2) lifting / group / pointwise convolutions under D4",
        EXACT_BOUND,
    );
}

#[test]
fn hand_permutations_are_the_group_law() {
    // σ from the hand formulas equals the index of g⁻¹·h_n found with the host group
    // law, and the library's sample_permutation.
    for (kind, n) in [(GroupKind::Se2, 8), (GroupKind::E2, 8), (GroupKind::E2, 16)] {
        let el = pgcnn_core::group::sample_group::<Bk, f64>(
            &BK,
            kind,
            n,
            pgcnn_core::group::SamplingMethod::Deterministic,
            None,
            &mut Rng::seed(0),
        )
        .unwrap();
        for (turns, mirror) in cases(kind) {
            let g = RotoReflection::new(turns as f64 * FRAC_PI_2, if mirror { -1.0 } else { 1.0 });
            let sigma = hand_sigma(kind, n, turns, mirror);
            for (s, &src) in sigma.iter().enumerate() {
                let want = E2::product(&E2::inverse(&g), &el.element(0, s).unwrap());
                assert!(
                    E2::approx_eq(&el.element(0, src).unwrap(), &want, 1e-12),
                    "{kind} {g:?} sample {s}"
                );
            }
            let t = Transformation {
                quarter_turns: turns as u8,
                mirrored: mirror,
                shift: (0, 0),
            };
            assert_eq!(t.sample_permutation(&el).unwrap(), vec![sigma]);
        }
    }
}

#[test]
fn a_quarter_turn_moves_pixels_as_spec_action_says() {
    // A hot pixel at (y, x) relative to the centre of a 5×5 image lands at A(π/2)·(y, x).
    let c = 2isize;
    for (y, x) in [(1isize, 0isize), (0, 1), (2, -1), (-1, -2)] {
        let mut img = vec![0.0; 25];
        img[((c + y) * 5 + (c + x)) as usize] = 1.0;
        let moved = Transformation::rot90(1)
            .apply_spatial(&tensor(&img, &[5, 5]))
            .unwrap()
            .to_vec()
            .unwrap();
        let q = Se2::act(&FRAC_PI_2, [y as f64, x as f64]);
        let (qy, qx) = (q[0].round() as isize, q[1].round() as isize);
        let hot = moved.iter().position(|&v| v == 1.0).unwrap() as isize;
        assert_eq!((hot / 5 - c, hot % 5 - c), (qy, qx), "pixel ({y}, {x})");
        // Below the centre goes to the left of it: clockwise on screen, np.rot90(k=-1).
        if (y, x) == (1, 0) {
            assert_eq!((qy, qx), (0, -1));
        }
        // The host formula of the tests agrees with the library.
        assert_eq!(host_transform(&img, &[5, 5], 1, false).0, moved);
        // The mirror is x ↦ -x.
        let m = Transformation::mirror()
            .apply_spatial(&tensor(&img, &[5, 5]))
            .unwrap()
            .to_vec()
            .unwrap();
        let hot = m.iter().position(|&v| v == 1.0).unwrap() as isize;
        let q = E2::act(&RotoReflection::new(0.0, -1.0), [y as f64, x as f64]);
        assert_eq!(
            (hot / 5 - c, hot % 5 - c),
            (q[0].round() as isize, q[1].round() as isize)
        );
    }
}

#[test]
fn a_wrong_direction_or_shift_sign_is_detected() {
    let net = Net::new(GroupKind::Se2, 8, 1, 2, 5, false, 42);
    let x: T = random_tensor(&BK, &mut Rng::seed(5), &[1, 1, 7, 7], -1.0, 1.0).unwrap();
    let base = net.run(&x).unwrap();
    let mut lines = Vec::new();
    for turns in [1usize, 3] {
        let (xv, xd) = host_transform(&x.to_vec().unwrap(), x.dims(), turns, false);
        let moved = net.run(&tensor(&xv, &xd)).unwrap();
        let (wv, wd) = host_transform(&x.to_vec().unwrap(), x.dims(), 4 - turns, false);
        let wrong_dir = net.run(&tensor(&wv, &wd)).unwrap();
        for layer in 0..2 {
            let got = moved[layer].tensor().to_vec().unwrap();
            let right = rel_error(
                &got,
                &hand_expected(&base[layer], GroupKind::Se2, turns, false),
            );
            // The shift with the opposite sign: σ of the inverse rotation.
            let v = base[layer].tensor().to_vec().unwrap();
            let bad_sigma = hand_sigma(GroupKind::Se2, 8, 4 - turns, false);
            let bad = host_transform(
                &permute_samples(&v, base[layer].dims(), &bad_sigma),
                base[layer].dims(),
                turns,
                false,
            )
            .0;
            let wrong_shift = rel_error(&got, &bad);
            let no_shift = rel_error(
                &got,
                &host_transform(&v, base[layer].dims(), turns, false).0,
            );
            // The input rotated counter-clockwise (np.rot90(k=+1)) against the clockwise
            // expectation.
            let wrong_direction = rel_error(
                &wrong_dir[layer].tensor().to_vec().unwrap(),
                &hand_expected(&base[layer], GroupKind::Se2, turns, false),
            );
            let line = format!(
                "layer {layer} rot90x{turns}: right {right:.1e}, shift sign flipped {wrong_shift:.2}, no shift {no_shift:.2}, input turned the other way {wrong_direction:.2}"
            );
            println!("{line}");
            assert!(right <= EXACT_BOUND, "{line}");
            assert!(
                wrong_shift > 0.1 && no_shift > 0.1 && wrong_direction > 0.1,
                "{line}"
            );
            lines.push(right);
        }
    }
    println!(
        "direction checks: max error of the right convention {:.1e}",
        lines.iter().cloned().fold(0.0, f64::max)
    );
}

#[test]
fn the_harness_detects_non_equivariant_layers() {
    let net = Net::new(GroupKind::Se2, 4, 1, 2, 3, false, 3);
    let x: T = random_tensor(&BK, &mut Rng::seed(6), &[1, 1, 6, 6], -1.0, 1.0).unwrap();
    let el = pgcnn_core::group::sample_group::<Bk, f64>(
        &BK,
        GroupKind::Se2,
        4,
        pgcnn_core::group::SamplingMethod::Deterministic,
        None,
        &mut Rng::seed(0),
    )
    .unwrap();
    let ts = Transformation::quarter_turns();
    let opts = EquivarianceOptions::default();
    // 1. Kernels that do not turn with the elements (every sample uses K_e), labelled with
    //    the grid: a plain CNN pretending to be a group convolution.
    let identity = Elements::from_values(&BK, GroupKind::Se2, &[0.0; 4], None, None).unwrap();
    let unturned = |s: &Signal<Bk, f64>| -> Result<Signal<Bk, f64>> {
        let mut ctx = ForwardCtx::eval(Rng::seed(0));
        let y = net.lift.forward_on(s.tensor(), &identity, &mut ctx)?;
        Ok(Signal::Group(GroupMap::new(
            y.tensor().clone(),
            el.clone(),
        )?))
    };
    let r1 = check_equivariance(&Signal::Image(x.clone()), unturned, &ts, opts).unwrap();
    // 2. A tiny position-dependent perturbation of an equivariant layer.
    let ramp: Vec<f64> = (0..2 * 4 * 36).map(|i| ((i % 6) as f64) * 1e-6).collect();
    let ramp = tensor(&ramp, &[1, 2, 4, 6, 6]);
    let perturbed = |s: &Signal<Bk, f64>| -> Result<Signal<Bk, f64>> {
        let y = net.run(s.tensor())?[0].clone();
        Ok(Signal::Group(y.map(|t| t.add(&ramp))?))
    };
    let r2 = check_equivariance(&Signal::Image(x.clone()), perturbed, &ts, opts).unwrap();
    // 3. The layer itself.
    let exact = |s: &Signal<Bk, f64>| Ok(Signal::Group(net.run(s.tensor())?[0].clone()));
    let r3 = check_equivariance(&Signal::Image(x), exact, &ts, opts).unwrap();
    println!("unturned kernels: {r1}\nperturbed by 1e-6 ramp: {r2}\nexact layer: {r3}");
    assert!(r1.errors.iter().all(|e| e.relative_error > 0.1), "{r1}");
    assert!(r2.errors.iter().all(|e| e.relative_error > 1e-8), "{r2}");
    assert!(r3.within(EXACT_BOUND), "{r3}");
}

#[test]
fn t2_layers_are_translation_equivariant_away_from_the_border() {
    // T(2) networks are ordinary CNNs: translations commute with them wherever the zero
    // padding is out of reach (receptive radius 1 + 2 for a 3×3 and a 5×5 layer).
    let log = ErrorLog::default();
    for seed in 0..3u64 {
        let mut rng = Rng::seed(seed);
        let mut lift =
            LiftingConv::new(&BK, det_config(GroupKind::T2, 1, 2, 3, 1), &mut rng).unwrap();
        let mut gconv =
            GroupConv::new(&BK, det_config(GroupKind::T2, 2, 2, 5, 1), &mut rng).unwrap();
        randomise(&mut lift, &mut rng);
        randomise(&mut gconv, &mut rng);
        let x: T = random_tensor(&BK, &mut rng, &[1, 1, 16, 15], -1.0, 1.0).unwrap();
        let f = |s: &Signal<Bk, f64>| -> Result<Signal<Bk, f64>> {
            let mut ctx = ForwardCtx::eval(Rng::seed(0));
            Ok(Signal::Group(
                gconv.forward(&lift.forward(s.tensor(), &mut ctx)?, &mut ctx)?,
            ))
        };
        let ts = pgcnn_core::equivariance::standard_transformations(GroupKind::T2);
        let inside = EquivarianceOptions {
            receptive_radius: 3,
        };
        let r = check_equivariance(&Signal::Image(x.clone()), f, &ts, inside).unwrap();
        // Without the margin, the border (zeros shifted in, padding) differs.
        let r0 = EquivarianceOptions {
            receptive_radius: 0,
        };
        let near = check_equivariance(
            &Signal::Image(random_tensor(&BK, &mut rng, &[1, 1, 12, 11], -1.0, 1.0).unwrap()),
            f,
            &ts,
            r0,
        )
        .unwrap();
        assert!(
            near.max_relative_error() > 1e-3,
            "the border region must show up: {near}"
        );
        log.record(
            format!("T2 seed {seed}: interior [{r}]; including the border [{near}]"),
            r.max_relative_error(),
        );
    }
    log.assert_below("T(2) layers under translations (interior)", EXACT_BOUND);
}
