//! Property tests of the host group law (docs/math.md §2): axioms, the action law, kernel
//! coordinates, testing elements and sample counts.

use core::f64::consts::{FRAC_PI_2, PI, TAU};
use pgcnn_core::group::*;
use pgcnn_core::rng::Rng;
use proptest::prelude::*;

const TOL: f64 = 1e-9;

fn mat_close(a: &Matrix2, b: &Matrix2, tol: f64) -> bool {
    (0..2).all(|i| (0..2).all(|j| (a[i][j] - b[i][j]).abs() <= tol))
}

/// Group axioms and the action law for three elements of `G`.
fn check_laws<G: Group>(a: G::Element, b: G::Element, c: G::Element) {
    let e = G::identity();
    // Associativity.
    let left = G::product(&G::product(&a, &b), &c);
    let right = G::product(&a, &G::product(&b, &c));
    assert!(G::approx_eq(&left, &right, TOL), "{left:?} vs {right:?}");
    // Identity on both sides.
    assert!(G::approx_eq(&G::product(&e, &a), &a, TOL));
    assert!(G::approx_eq(&G::product(&a, &e), &a, TOL));
    // Inverse on both sides.
    assert!(G::approx_eq(&G::product(&a, &G::inverse(&a)), &e, TOL));
    assert!(G::approx_eq(&G::product(&G::inverse(&a), &a), &e, TOL));
    // A(a·b) = A(a)·A(b) and A(a⁻¹) = A(a)⁻¹.
    let ab = G::action_matrix(&G::product(&a, &b));
    let a_b = mat_mul(&G::action_matrix(&a), &G::action_matrix(&b));
    assert!(mat_close(&ab, &a_b, TOL), "{ab:?} vs {a_b:?}");
    let inv = mat_mul(&G::action_matrix(&G::inverse(&a)), &G::action_matrix(&a));
    assert!(mat_close(&inv, &[[1.0, 0.0], [0.0, 1.0]], TOL));
    // Orthogonality (why one mask fits every element): |A p| = |p|.
    let p = [0.3, -0.7];
    let q = G::act(&a, p);
    assert!(((q[0] * q[0] + q[1] * q[1]) - (p[0] * p[0] + p[1] * p[1])).abs() < TOL);
}

fn angle() -> impl Strategy<Value = f64> {
    // Beyond [0, 2π) on purpose: products must wrap.
    -20.0f64..20.0
}

fn roto_reflection() -> impl Strategy<Value = RotoReflection> {
    (angle(), any::<bool>())
        .prop_map(|(r, mirrored)| RotoReflection::new(r, if mirrored { -1.0 } else { 1.0 }))
}

proptest! {
    #[test]
    fn se2_laws(a in angle(), b in angle(), c in angle()) {
        check_laws::<Se2>(wrap_angle(a), wrap_angle(b), wrap_angle(c));
        // Products stay in [0, 2π).
        let p = Se2::product(&wrap_angle(a), &wrap_angle(b));
        prop_assert!((0.0..TAU).contains(&p));
    }

    #[test]
    fn e2_laws(a in roto_reflection(), b in roto_reflection(), c in roto_reflection()) {
        check_laws::<E2>(a, b, c);
        let p = E2::product(&a, &b);
        prop_assert!((0.0..TAU).contains(&p.r));
    }

    #[test]
    fn se2_is_the_unmirrored_part_of_e2(a in angle(), b in angle()) {
        let (ea, eb) = (RotoReflection::new(a, 1.0), RotoReflection::new(b, 1.0));
        let prod = E2::product(&ea, &eb);
        prop_assert!(!prod.mirrored);
        prop_assert!(angle_distance(prod.r, Se2::product(&wrap_angle(a), &wrap_angle(b))) < TOL);
        prop_assert!(mat_close(&E2::action_matrix(&ea), &Se2::action_matrix(&wrap_angle(a)), 1e-12));
    }

    #[test]
    fn kernel_coords_lie_in_their_ranges(a in roto_reflection()) {
        let c = E2::kernel_coords(&a);
        prop_assert_eq!(c.len(), 2);
        prop_assert!((-1.0..1.0).contains(&c[0]));
        // The rotation as the reference parameterises O(2): m·r (docs/math.md §2).
        let rho = wrap_angle(a.m() * a.r);
        prop_assert!((c[0] - (rho / PI - 1.0)).abs() < 1e-15);
        prop_assert_eq!(c[1], a.m());
        let s = Se2::kernel_coords(&rho);
        prop_assert_eq!(s.len(), 1);
        prop_assert_eq!(s[0], c[0]);
        if !a.mirrored {
            prop_assert_eq!(Se2::kernel_coords(&a.r)[0], c[0]);
        }
    }
}

#[test]
fn t2_is_trivial() {
    check_laws::<T2>((), (), ());
    assert_eq!(T2::action_matrix(&()), [[1.0, 0.0], [0.0, 1.0]]);
    assert!(T2::kernel_coords(&()).is_empty());
    assert_eq!(T2::stabiliser_dim(), 0);
}

#[test]
fn action_matrix_is_spec_form() {
    // A(r, m) = [[cos r, m sin r], [-sin r, m cos r]].
    let a = RotoReflection::new(0.3, -1.0);
    let m = E2::action_matrix(&a);
    let (s, c) = 0.3f64.sin_cos();
    assert!(mat_close(&m, &[[c, -s], [-s, -c]], 1e-15));
    // A 90° rotation sends (y, x) = (0, 1) to (1, 0) and (1, 0) to (0, -1).
    let q = Se2::act(&FRAC_PI_2, [0.0, 1.0]);
    assert!((q[0] - 1.0).abs() < 1e-15 && q[1].abs() < 1e-15);
    let q = Se2::act(&FRAC_PI_2, [1.0, 0.0]);
    assert!(q[0].abs() < 1e-15 && (q[1] + 1.0).abs() < 1e-15);
    // The mirror flips x only.
    let q = E2::act(&RotoReflection::new(0.0, -1.0), [0.25, 0.5]);
    assert_eq!(q, [0.25, -0.5]);
    // Inverse of a mirrored element is itself-like: (r, -1)⁻¹ = (r, -1).
    let inv = E2::inverse(&a);
    assert!(inv.mirrored && angle_distance(inv.r, 0.3) < 1e-15);
}

#[test]
fn testing_elements_hold_the_right_multiples() {
    let mut rng = Rng::seed(3);
    let se2 = Se2::testing_elements(&mut rng, 3);
    assert_eq!(se2.len(), 7);
    for (i, r) in se2[..4].iter().enumerate() {
        assert_eq!(*r, i as f64 * FRAC_PI_2);
    }
    assert!(se2[4..].iter().all(|r| (0.0..TAU).contains(r)));
    let e2 = E2::testing_elements(&mut rng, 2);
    assert_eq!(e2.len(), 10);
    assert_eq!(e2.iter().take(8).filter(|g| g.mirrored).count(), 4);
    assert_eq!(T2::testing_elements(&mut rng, 5).len(), 1);
    // The same seed gives the same elements.
    assert_eq!(
        Se2::testing_elements(&mut Rng::seed(9), 4),
        Se2::testing_elements(&mut Rng::seed(9), 4)
    );
}

#[test]
fn sample_counts_follow_spec() {
    assert_eq!(GroupKind::Se2.rotations_for(8).unwrap(), 8);
    assert_eq!(GroupKind::E2.rotations_for(8).unwrap(), 4);
    assert_eq!(GroupKind::E2.samples_for(8).unwrap(), 8);
    assert_eq!(GroupKind::T2.rotations_for(8).unwrap(), 1);
    assert_eq!(GroupKind::T2.samples_for(8).unwrap(), 1);
    assert!(GroupKind::E2.rotations_for(7).is_err());
    assert!(GroupKind::E2.rotations_for(0).is_err());
    assert!(GroupKind::Se2.rotations_for(0).is_err());
    assert_eq!(Se2::stabiliser_dim(), 1);
    assert_eq!(E2::stabiliser_dim(), 2);
    assert_eq!("SE(2)".parse::<GroupKind>().unwrap(), GroupKind::Se2);
    assert_eq!("e2".parse::<GroupKind>().unwrap(), GroupKind::E2);
    assert_eq!("T2".parse::<GroupKind>().unwrap(), GroupKind::T2);
    assert!("SO3".parse::<GroupKind>().is_err());
    assert_eq!(GroupKind::E2.to_string(), "E2");
}
