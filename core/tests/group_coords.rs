//! The kernel grid, its mask, the transformed grids and the relative-element coordinates
//! (docs/math.md §2, §5, §6), compared with the host group law; gradient checks of the
//! tensor functions.

use core::f64::consts::{FRAC_PI_2, PI};
use pgcnn_core::group::*;
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::{check_gradients, random_tensor, GradCheck};
use pgcnn_core::Tensor;

type T = Tensor<Reference, f64>;

fn elements(
    kind: GroupKind,
    rot: &[f64],
    mir: Option<&[f64]>,
    batch: Option<usize>,
) -> Elements<Reference, f64> {
    Elements::from_values(&Reference, kind, rot, mir, batch).unwrap()
}

/// Random E(2) (or SE(2)) elements as host vectors.
fn random_parts(rng: &mut Rng, n: usize, mirrors: bool) -> (Vec<f64>, Option<Vec<f64>>) {
    let r = (0..n).map(|_| rng.uniform_range(0.0, 2.0 * PI)).collect();
    let m = mirrors.then(|| {
        (0..n)
            .map(|_| if rng.uniform() < 0.5 { 1.0 } else { -1.0 })
            .collect()
    });
    (r, m)
}

#[test]
fn quarter_turns_and_mirrors_map_the_grid_onto_itself_and_keep_the_mask() {
    for k in 1..=10 {
        let grid = KernelGrid::new(k).unwrap();
        let lin = grid.linspace();
        for i in 0..k {
            assert_eq!(lin[k - 1 - i], -lin[i], "grid of size {k} is not symmetric");
        }
        if k > 1 {
            assert_eq!((lin[0], lin[k - 1]), (-1.0, 1.0));
        }
        let points = grid.points();
        let mask = grid.mask();
        let mut rng = Rng::seed(k as u64);
        for g in E2::testing_elements(&mut rng, 0) {
            let mut seen = vec![false; k * k];
            for (idx, &p) in points.iter().enumerate() {
                let q = E2::act(&g, p);
                let (qi, qj) = grid
                    .index_of(q, 1e-12)
                    .unwrap_or_else(|| panic!("k={k}: {g:?} sends {p:?} off the grid to {q:?}"));
                assert!(
                    !seen[qi * k + qj],
                    "k={k}: {g:?} is not a bijection of the grid"
                );
                seen[qi * k + qj] = true;
                assert_eq!(
                    mask[idx],
                    mask[qi * k + qj],
                    "k={k}: mask changes under {g:?} at {p:?}"
                );
            }
        }
    }
}

#[test]
fn mask_is_the_closed_unit_disc() {
    let grid = KernelGrid::new(5).unwrap();
    let mask = grid.mask();
    // Row-major 5×5 on {-1, -0.5, 0, 0.5, 1}: the corners and their neighbours fall out.
    #[rustfmt::skip]
    let expected = [
        0, 0, 1, 0, 0,
        0, 1, 1, 1, 0,
        1, 1, 1, 1, 1,
        0, 1, 1, 1, 0,
        0, 0, 1, 0, 0,
    ];
    let got: Vec<i32> = mask.iter().map(|&b| b as i32).collect();
    assert_eq!(got, expected);
    let t: T = grid.mask_tensor(&Reference).unwrap();
    assert_eq!(t.dims(), &[5, 5]);
    assert_eq!(
        t.to_vec().unwrap(),
        expected.iter().map(|&v| v as f64).collect::<Vec<_>>()
    );
    // Points on the circle whose squared norm rounds above 1 stay inside: (0.6, 0.8).
    let grid = KernelGrid::new(11).unwrap();
    let p = [grid.linspace()[8], grid.linspace()[9]];
    assert!((p[0] - 0.6).abs() < 1e-15 && (p[1] - 0.8).abs() < 1e-15);
    assert!(grid.mask()[8 * 11 + 9]);
    assert!(!grid.mask()[9 * 11 + 9]);
    assert_eq!(KernelGrid::new(1).unwrap().points(), vec![[0.0, 0.0]]);
    assert!(KernelGrid::new(0).is_err());
}

/// `acted_grid` agrees with `A(h⁻¹)·p` from the host law.
fn check_acted_grid<G: Group>(kind: GroupKind, rng: &mut Rng, batch: Option<usize>) {
    let k = 4;
    let grid = KernelGrid::new(k).unwrap();
    let rows = batch.unwrap_or(1);
    let n = 3;
    let hs: Vec<G::Element> = (0..rows * n).map(|_| G::random_element(rng)).collect();
    let parts: Vec<(f64, f64)> = hs.iter().map(G::to_parts).collect();
    let r: Vec<f64> = parts.iter().map(|p| p.0).collect();
    let m: Vec<f64> = parts.iter().map(|p| p.1).collect();
    let els = elements(kind, &r, kind.has_mirrors().then_some(&m[..]), batch);
    let t = acted_grid(&els, &grid).unwrap();
    let mut want_dims: Vec<usize> = batch.into_iter().collect();
    want_dims.extend_from_slice(&[n, k, k, 2]);
    assert_eq!(t.dims(), want_dims.as_slice());
    let v = t.to_vec().unwrap();
    for (e, h) in hs.iter().enumerate() {
        for (idx, &p) in grid.points().iter().enumerate() {
            let q = G::act(&G::inverse(h), p);
            let at = (e * k * k + idx) * 2;
            assert!(
                (v[at] - q[0]).abs() < 1e-12 && (v[at + 1] - q[1]).abs() < 1e-12,
                "{kind}: element {e} point {idx}"
            );
        }
    }
}

#[test]
fn acted_grid_matches_the_host_action() {
    let mut rng = Rng::seed(11);
    for batch in [None, Some(2)] {
        check_acted_grid::<Se2>(GroupKind::Se2, &mut rng, batch);
        check_acted_grid::<E2>(GroupKind::E2, &mut rng, batch);
    }
    // T(2): the grid itself.
    let grid = KernelGrid::new(3).unwrap();
    let t = acted_grid(
        &Elements::<Reference, f64>::identity(&Reference, GroupKind::T2).unwrap(),
        &grid,
    )
    .unwrap();
    let flat: Vec<f64> = grid.points().iter().flat_map(|p| [p[0], p[1]]).collect();
    assert_eq!(t.to_vec().unwrap(), flat);
}

#[test]
fn a_quarter_turn_element_sees_a_permuted_grid() {
    let grid = KernelGrid::new(7).unwrap();
    let els = elements(
        GroupKind::Se2,
        &[0.0, FRAC_PI_2, PI, 3.0 * FRAC_PI_2],
        None,
        None,
    );
    let v = acted_grid(&els, &grid).unwrap().to_vec().unwrap();
    for n in 0..4 {
        let mut seen = [false; 49];
        for idx in 0..49 {
            let q = [v[(n * 49 + idx) * 2], v[(n * 49 + idx) * 2 + 1]];
            let (i, j) = grid
                .index_of(q, 1e-12)
                .expect("a quarter turn keeps grid points on the grid");
            seen[i * 7 + j] = true;
            assert_eq!(grid.mask()[idx], grid.mask()[i * 7 + j]);
        }
        assert!(seen.iter().all(|&s| s));
    }
}

/// `relative_coords` agrees with `coords(h⁻¹·g)` from the host law.
fn check_relative<G: Group>(
    kind: GroupKind,
    rng: &mut Rng,
    out_batch: Option<usize>,
    in_batch: Option<usize>,
) {
    let (n_out, n_in) = (3, 4);
    let draw = |rng: &mut Rng, rows: usize, n: usize| -> Vec<G::Element> {
        (0..rows * n).map(|_| G::random_element(rng)).collect()
    };
    let hs = draw(rng, out_batch.unwrap_or(1), n_out);
    let gs = draw(rng, in_batch.unwrap_or(1), n_in);
    let make = |xs: &[G::Element], batch| {
        let r: Vec<f64> = xs.iter().map(|x| G::to_parts(x).0).collect();
        let m: Vec<f64> = xs.iter().map(|x| G::to_parts(x).1).collect();
        elements(kind, &r, kind.has_mirrors().then_some(&m[..]), batch)
    };
    let (out, inp) = (make(&hs, out_batch), make(&gs, in_batch));
    let t = relative_coords(&out, &inp).unwrap();
    let s = kind.stabiliser_dim();
    let rows = out_batch.or(in_batch);
    let mut want: Vec<usize> = rows.into_iter().collect();
    want.extend_from_slice(&[n_out, n_in, s]);
    assert_eq!(t.dims(), want.as_slice());
    let v = t.to_vec().unwrap();
    for b in 0..rows.unwrap_or(1) {
        for n in 0..n_out {
            for j in 0..n_in {
                let h = &hs[out_batch.map_or(0, |_| b) * n_out + n];
                let g = &gs[in_batch.map_or(0, |_| b) * n_in + j];
                let want = G::kernel_coords(&G::product(&G::inverse(h), g));
                let at = ((b * n_out + n) * n_in + j) * s;
                for c in 0..s {
                    assert!(
                        (v[at + c] - want[c]).abs() < 1e-9,
                        "{kind} ({b},{n},{j}) coord {c}: {} vs {}",
                        v[at + c],
                        want[c]
                    );
                }
                assert!((-1.0..=1.0).contains(&v[at]));
            }
        }
    }
}

#[test]
fn relative_coords_match_the_host_law() {
    let mut rng = Rng::seed(12);
    for (ob, ib) in [
        (None, None),
        (Some(2), None),
        (None, Some(2)),
        (Some(3), Some(3)),
    ] {
        check_relative::<Se2>(GroupKind::Se2, &mut rng, ob, ib);
        check_relative::<E2>(GroupKind::E2, &mut rng, ob, ib);
    }
}

#[test]
fn relative_coords_of_an_element_with_itself_are_the_identity() {
    let (r, m) = random_parts(&mut Rng::seed(5), 5, true);
    let els = elements(GroupKind::E2, &r, m.as_deref(), None);
    let v = relative_coords(&els, &els).unwrap().to_vec().unwrap();
    for n in 0..5 {
        let at = (n * 5 + n) * 2;
        assert_eq!((v[at], v[at + 1]), (-1.0, 1.0));
    }
    let t2 = Elements::<Reference, f64>::identity(&Reference, GroupKind::T2).unwrap();
    assert_eq!(relative_coords(&t2, &t2).unwrap().dims(), &[1, 1, 0]);
}

#[test]
fn group_conv_coords_concatenate_grid_and_relative_elements() {
    let mut rng = Rng::seed(13);
    let grid = KernelGrid::new(3).unwrap();
    for kind in [GroupKind::Se2, GroupKind::E2] {
        let s = kind.stabiliser_dim();
        let (r, m) = random_parts(&mut rng, 2 * 4, kind.has_mirrors());
        let out = elements(kind, &r[..4], m.as_ref().map(|m| &m[..4]), None);
        let inp = elements(kind, &r[4..], m.as_ref().map(|m| &m[4..]), None);
        let t = group_conv_coords(&out, &inp, &grid).unwrap();
        assert_eq!(t.dims(), &[4, 4, 3, 3, 2 + s]);
        let v = t.to_vec().unwrap();
        let spatial = acted_grid(&out, &grid).unwrap().to_vec().unwrap();
        let rel = relative_coords(&out, &inp).unwrap().to_vec().unwrap();
        for n in 0..4 {
            for j in 0..4 {
                for p in 0..9 {
                    let at = ((n * 4 + j) * 9 + p) * (2 + s);
                    assert_eq!(
                        &v[at..at + 2],
                        &spatial[(n * 9 + p) * 2..(n * 9 + p) * 2 + 2]
                    );
                    assert_eq!(
                        &v[at + 2..at + 2 + s],
                        &rel[(n * 4 + j) * s..(n * 4 + j + 1) * s]
                    );
                }
            }
        }
    }
    // Batched output elements over shared input elements.
    let out = elements(GroupKind::Se2, &[0.1, 0.2, 0.3, 0.4], None, Some(2));
    let inp = elements(GroupKind::Se2, &[0.5, 0.6, 0.7], None, None);
    assert_eq!(
        group_conv_coords(&out, &inp, &grid).unwrap().dims(),
        &[2, 2, 3, 3, 3, 3]
    );
    // T(2): the plain grid.
    let t2 = Elements::<Reference, f64>::identity(&Reference, GroupKind::T2).unwrap();
    assert_eq!(
        group_conv_coords(&t2, &t2, &grid).unwrap().dims(),
        &[1, 1, 3, 3, 2]
    );
}

#[test]
fn mismatched_elements_are_errors() {
    let se2 = elements(GroupKind::Se2, &[0.1, 0.2], None, None);
    let e2 = elements(GroupKind::E2, &[0.1, 0.2], Some(&[1.0, -1.0]), None);
    assert!(relative_coords(&se2, &e2).is_err());
    let b2 = elements(GroupKind::Se2, &[0.1, 0.2], None, Some(2));
    let b1 = elements(GroupKind::Se2, &[0.1, 0.2], None, Some(1));
    assert!(relative_coords(&b2, &b1).is_err());
    // Bad element tensors.
    assert!(
        Elements::<Reference, f64>::from_values(&Reference, GroupKind::E2, &[0.1], None, None)
            .is_err()
    );
    assert!(Elements::<Reference, f64>::from_values(
        &Reference,
        GroupKind::E2,
        &[0.1],
        Some(&[0.5]),
        None
    )
    .is_err());
    assert!(Elements::<Reference, f64>::from_values(
        &Reference,
        GroupKind::Se2,
        &[0.1],
        Some(&[1.0]),
        None
    )
    .is_err());
    assert!(Elements::<Reference, f64>::from_values(
        &Reference,
        GroupKind::T2,
        &[0.0, 0.0],
        None,
        None
    )
    .is_err());
    assert!(Elements::<Reference, f64>::from_values(
        &Reference,
        GroupKind::Se2,
        &[f64::NAN],
        None,
        None
    )
    .is_err());
    assert!(Elements::<Reference, f64>::from_values(
        &Reference,
        GroupKind::Se2,
        &[0.1, 0.2, 0.3],
        None,
        Some(2)
    )
    .is_err());
    assert!(se2.element(0, 2).is_err());
}

#[test]
fn elements_are_wrapped_into_one_turn() {
    let els = elements(
        GroupKind::Se2,
        &[-FRAC_PI_2, 2.0 * PI + 0.5, -1e-300, 4.0 * PI],
        None,
        None,
    );
    let v = els.rotation_values();
    assert!((v[0] - 3.0 * FRAC_PI_2).abs() < 1e-12);
    assert!((v[1] - 0.5).abs() < 1e-12);
    assert!(v.iter().all(|&r| (0.0..=2.0 * PI).contains(&r)));
    assert_eq!(els.rotations().to_vec().unwrap(), v);
    // f32 host copies equal the device values bit for bit.
    let e32 = Elements::<Reference, f32>::from_values(
        &Reference,
        GroupKind::Se2,
        &[-0.3, 7.0],
        None,
        None,
    )
    .unwrap();
    let dev: Vec<f64> = e32
        .rotations()
        .to_vec()
        .unwrap()
        .iter()
        .map(|&x| x as f64)
        .collect();
    assert_eq!(dev, e32.rotation_values());
}

#[test]
fn transformed_grids_and_relative_coords_have_correct_gradients() {
    let mut rng = Rng::seed(14);
    let grid = KernelGrid::new(3).unwrap();
    // Angles well inside (0, 2π) and apart, so that no wrap is crossed by the differences.
    let rot: T = Tensor::from_slice(&Reference, &[0.4, 1.9, 3.3, 5.1], [4]).unwrap();
    let mirrors: T = Tensor::from_slice(&Reference, &[1.0, -1.0, -1.0, 1.0], [4]).unwrap();
    for kind in [GroupKind::Se2, GroupKind::E2] {
        let m = kind.has_mirrors().then(|| mirrors.clone());
        check_gradients(
            std::slice::from_ref(&rot),
            |xs| acted_grid(&Elements::new(kind, xs[0].clone(), m.clone())?, &grid),
            GradCheck::default(),
        )
        .unwrap_or_else(|e| panic!("{kind} acted_grid: {e}"));
        let inp: T = Tensor::from_slice(&Reference, &[0.9, 2.6, 4.4], [3]).unwrap();
        let m_in: T = Tensor::from_slice(&Reference, &[-1.0, 1.0, 1.0], [3]).unwrap();
        let m_in = kind.has_mirrors().then_some(m_in);
        check_gradients(
            &[rot.clone(), inp.clone()],
            |xs| {
                let out = Elements::new(kind, xs[0].clone(), m.clone())?;
                let inp = Elements::new(kind, xs[1].clone(), m_in.clone())?;
                group_conv_coords(&out, &inp, &grid)
            },
            GradCheck::default(),
        )
        .unwrap_or_else(|e| panic!("{kind} group_conv_coords: {e}"));
    }
    // Batched rotations.
    let batched: T = Tensor::from_slice(&Reference, &[0.4, 1.9, 3.3, 5.1], [2, 2]).unwrap();
    check_gradients(
        &[batched],
        |xs| acted_grid(&Elements::new(GroupKind::Se2, xs[0].clone(), None)?, &grid),
        GradCheck::default(),
    )
    .unwrap();
    // concat_last with broadcasting leading axes.
    let a: T = random_tensor(&Reference, &mut rng, &[2, 1, 2], -1.0, 1.0).unwrap();
    let b: T = random_tensor(&Reference, &mut rng, &[3, 1], -1.0, 1.0).unwrap();
    check_gradients(
        &[a.clone(), b.clone()],
        |xs| concat_last(&[&xs[0], &xs[1]]),
        GradCheck::default(),
    )
    .unwrap();
    let c = concat_last(&[&a, &b]).unwrap();
    assert_eq!(c.dims(), &[2, 3, 3]);
    let (av, bv, cv) = (
        a.to_vec().unwrap(),
        b.to_vec().unwrap(),
        c.to_vec().unwrap(),
    );
    for i in 0..2 {
        for j in 0..3 {
            assert_eq!(
                &cv[(i * 3 + j) * 3..(i * 3 + j) * 3 + 2],
                &av[i * 2..i * 2 + 2]
            );
            assert_eq!(cv[(i * 3 + j) * 3 + 2], bv[j]);
        }
    }
    let s = stack_last(&[&b, &b]).unwrap();
    assert_eq!(s.dims(), &[3, 1, 2]);
    assert!(concat_last::<Reference, f64>(&[]).is_err());
}
