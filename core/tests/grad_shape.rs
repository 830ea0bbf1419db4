//! Shape ops (permute, transpose, narrow, cat, stack, index_select, index_add, select,
//! unsqueeze, squeeze, flatten): values against index arithmetic written out here,
//! finite-difference gradient checks in f64 on the reference backend, and bad arguments
//! that must come back as errors.

use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::{check_gradients, random_tensor, GradCheck};
use pgcnn_core::{Error, Tensor};

type T = Tensor<Reference, f64>;

fn rand(rng: &mut Rng, dims: &[usize]) -> T {
    random_tensor(&Reference, rng, dims, -1.0, 1.0).unwrap()
}

/// 0, 1, 2, ... in the given shape, so that each value names its own flat position.
fn iota(dims: &[usize]) -> T {
    let n: usize = dims.iter().product();
    let v: Vec<f64> = (0..n).map(|i| i as f64).collect();
    T::from_slice(&Reference, &v, dims.to_vec()).unwrap()
}

fn values(t: &T) -> Vec<f64> {
    t.to_vec().unwrap()
}

fn grad_ok(inputs: &[T], f: impl Fn(&[T]) -> pgcnn_core::Result<T>, what: &str) {
    check_gradients(inputs, f, GradCheck::default()).unwrap_or_else(|e| panic!("{what}: {e}"));
}

#[test]
fn permute_moves_every_element_to_its_permuted_index() {
    let dims = [2, 3, 4];
    let x = iota(&dims);
    let perm = [2, 0, 1];
    let y = x.permute(&perm).unwrap();
    assert_eq!(y.dims(), &[4, 2, 3]);
    let v = values(&y);
    for a in 0..2 {
        for b in 0..3 {
            for c in 0..4 {
                // y[c, a, b] = x[a, b, c]
                assert_eq!(v[(c * 2 + a) * 3 + b], ((a * 3 + b) * 4 + c) as f64);
            }
        }
    }
    let t = x.transpose(0, 2).unwrap();
    assert_eq!(t.dims(), &[4, 3, 2]);
    assert_eq!(values(&t)[(3 * 3 + 1) * 2 + 1], ((3 + 1) * 4 + 3) as f64);
}

#[test]
fn permute_and_transpose_match_finite_differences() {
    let mut rng = Rng::seed(11);
    let x = rand(&mut rng, &[2, 3, 4]);
    for perm in [[0, 1, 2], [1, 0, 2], [2, 0, 1], [2, 1, 0], [0, 2, 1]] {
        grad_ok(
            std::slice::from_ref(&x),
            |xs| xs[0].permute(&perm),
            &format!("permute {perm:?}"),
        );
    }
    grad_ok(
        std::slice::from_ref(&x),
        |xs| xs[0].transpose(1, 2),
        "transpose",
    );
    let x4 = rand(&mut rng, &[2, 1, 3, 2]);
    grad_ok(&[x4], |xs| xs[0].permute(&[3, 1, 0, 2]), "permute rank 4");
}

#[test]
fn narrow_and_select_take_the_right_slices() {
    let x = iota(&[3, 4, 2]);
    let y = x.narrow(1, 1, 2).unwrap();
    assert_eq!(y.dims(), &[3, 2, 2]);
    let mut want = Vec::new();
    for a in 0..3 {
        for b in 1..3 {
            for c in 0..2 {
                want.push(((a * 4 + b) * 2 + c) as f64);
            }
        }
    }
    assert_eq!(values(&y), want);
    let s = x.select(0, 2).unwrap();
    assert_eq!(s.dims(), &[4, 2]);
    assert_eq!(values(&s), (16..24).map(|i| i as f64).collect::<Vec<_>>());
    let s = x.select(2, 1).unwrap();
    assert_eq!(s.dims(), &[3, 4]);
    assert_eq!(
        values(&s),
        (0..12).map(|i| (2 * i + 1) as f64).collect::<Vec<_>>()
    );
    // An empty slice is a valid, empty tensor.
    assert_eq!(x.narrow(1, 4, 0).unwrap().dims(), &[3, 0, 2]);
}

#[test]
fn narrow_select_match_finite_differences() {
    let mut rng = Rng::seed(12);
    let x = rand(&mut rng, &[3, 5, 2]);
    for (axis, start, len) in [(0, 1, 2), (1, 0, 3), (1, 2, 3), (2, 1, 1), (1, 0, 5)] {
        grad_ok(
            std::slice::from_ref(&x),
            |xs| xs[0].narrow(axis, start, len),
            &format!("narrow({axis}, {start}, {len})"),
        );
    }
    for (axis, i) in [(0, 2), (1, 3), (2, 0)] {
        grad_ok(
            std::slice::from_ref(&x),
            |xs| xs[0].select(axis, i),
            &format!("select({axis}, {i})"),
        );
    }
    // Two overlapping slices of the same tensor: the gradients must add.
    grad_ok(
        &[x],
        |xs| xs[0].narrow(1, 0, 3)?.mul(&xs[0].narrow(1, 2, 3)?),
        "overlapping narrows",
    );
}

#[test]
fn cat_and_stack_join_in_order() {
    let a = iota(&[2, 1, 3]);
    let b = iota(&[2, 2, 3]).add_scalar(100.0).unwrap();
    let c = T::cat(&[&a, &b], 1).unwrap();
    assert_eq!(c.dims(), &[2, 3, 3]);
    let (va, vb, vc) = (values(&a), values(&b), values(&c));
    for o in 0..2 {
        assert_eq!(vc[o * 9..o * 9 + 3], va[o * 3..o * 3 + 3]);
        assert_eq!(vc[o * 9 + 3..o * 9 + 9], vb[o * 6..o * 6 + 6]);
    }
    let c0 = T::cat(&[&a, &a], 0).unwrap();
    assert_eq!(c0.dims(), &[4, 1, 3]);
    assert_eq!(values(&c0), [va.clone(), va.clone()].concat());

    let p = iota(&[2, 3]);
    let q = p.mul_scalar(-1.0).unwrap();
    let s = T::stack(&[&p, &q], 1).unwrap();
    assert_eq!(s.dims(), &[2, 2, 3]);
    let (vp, vq, vs) = (values(&p), values(&q), values(&s));
    for i in 0..2 {
        for k in 0..3 {
            assert_eq!(vs[(i * 2) * 3 + k], vp[i * 3 + k]);
            assert_eq!(vs[(i * 2 + 1) * 3 + k], vq[i * 3 + k]);
        }
    }
    assert_eq!(T::stack(&[&p, &q], 2).unwrap().dims(), &[2, 3, 2]);
    assert_eq!(T::stack(&[&p], 0).unwrap().dims(), &[1, 2, 3]);
}

#[test]
fn cat_and_stack_match_finite_differences() {
    let mut rng = Rng::seed(13);
    let a = rand(&mut rng, &[2, 1, 3]);
    let b = rand(&mut rng, &[2, 2, 3]);
    let c = rand(&mut rng, &[2, 3, 3]);
    grad_ok(
        &[a.clone(), b.clone(), c.clone()],
        |xs| T::cat(&[&xs[0], &xs[1], &xs[2]], 1),
        "cat axis 1",
    );
    // The same tensor twice: its gradient is the sum of both slices.
    grad_ok(
        std::slice::from_ref(&b),
        |xs| T::cat(&[&xs[0], &xs[0]], 2),
        "cat self",
    );
    let d = rand(&mut rng, &[2, 3, 3]);
    for axis in 0..=3 {
        grad_ok(
            &[c.clone(), d.clone()],
            |xs| T::stack(&[&xs[0], &xs[1]], axis),
            &format!("stack axis {axis}"),
        );
    }
}

#[test]
fn index_select_gathers_and_index_add_sums_repeats() {
    let x = iota(&[3, 4]);
    let y = x.index_select(1, &[3, 0, 3]).unwrap();
    assert_eq!(y.dims(), &[3, 3]);
    assert_eq!(
        values(&y),
        vec![3.0, 0.0, 3.0, 7.0, 4.0, 7.0, 11.0, 8.0, 11.0]
    );
    let r = x.index_select(0, &[2]).unwrap();
    assert_eq!(values(&r), vec![8.0, 9.0, 10.0, 11.0]);
    // index_add: rows 0 and 2 of src both land on target row 1.
    let src = iota(&[3, 2]);
    let z = src.index_add(0, &[1, 3, 1], 4).unwrap();
    assert_eq!(z.dims(), &[4, 2]);
    assert_eq!(values(&z), vec![0.0, 0.0, 4.0, 6.0, 0.0, 0.0, 2.0, 3.0]);
}

#[test]
fn index_select_and_index_add_match_finite_differences() {
    let mut rng = Rng::seed(14);
    let x = rand(&mut rng, &[3, 4, 2]);
    grad_ok(
        std::slice::from_ref(&x),
        |xs| xs[0].index_select(1, &[3, 0, 3, 1, 3]),
        "index_select with repeats",
    );
    grad_ok(
        std::slice::from_ref(&x),
        |xs| xs[0].index_select(0, &[2, 1]),
        "index_select axis 0",
    );
    grad_ok(
        std::slice::from_ref(&x),
        |xs| xs[0].index_select(2, &[1]),
        "index_select last axis",
    );
    grad_ok(&[x], |xs| xs[0].index_add(1, &[0, 2, 2, 5], 6), "index_add");
}

#[test]
fn unit_axes_and_flatten_reshape_as_described() {
    let x = iota(&[2, 3, 4]);
    assert_eq!(x.unsqueeze(0).unwrap().dims(), &[1, 2, 3, 4]);
    assert_eq!(x.unsqueeze(2).unwrap().dims(), &[2, 3, 1, 4]);
    assert_eq!(x.unsqueeze(3).unwrap().dims(), &[2, 3, 4, 1]);
    let u = x.unsqueeze(1).unwrap();
    assert_eq!(u.squeeze(1).unwrap().dims(), &[2, 3, 4]);
    assert_eq!(values(&u), values(&x));
    assert_eq!(x.flatten(0, 1).unwrap().dims(), &[6, 4]);
    assert_eq!(x.flatten(1, 2).unwrap().dims(), &[2, 12]);
    assert_eq!(x.flatten(0, 2).unwrap().dims(), &[24]);
    assert_eq!(x.flatten(1, 1).unwrap().dims(), &[2, 3, 4]);
    assert_eq!(values(&x.flatten(1, 2).unwrap()), values(&x));
}

#[test]
fn unit_axes_and_flatten_match_finite_differences() {
    let mut rng = Rng::seed(15);
    let x = rand(&mut rng, &[2, 1, 3]);
    grad_ok(
        std::slice::from_ref(&x),
        |xs| xs[0].unsqueeze(3),
        "unsqueeze",
    );
    grad_ok(std::slice::from_ref(&x), |xs| xs[0].squeeze(1), "squeeze");
    grad_ok(
        std::slice::from_ref(&x),
        |xs| xs[0].flatten(0, 2),
        "flatten",
    );
    // Composite: the per-sample reshuffle used by grouped convolution.
    grad_ok(
        &[x],
        |xs| xs[0].squeeze(1)?.transpose(0, 1)?.flatten(0, 1),
        "squeeze, transpose, flatten",
    );
}

fn is_bad_argument(r: pgcnn_core::Result<T>) -> bool {
    matches!(
        r,
        Err(Error::BadArgument { .. } | Error::BadShape { .. } | Error::ShapeMismatch { .. })
    )
}

#[test]
fn bad_axes_indices_and_shapes_are_errors() {
    let x = iota(&[2, 3, 4]);
    // Not permutations: a repeat, a missing axis, an axis out of range, the wrong length.
    for perm in [&[0, 0, 1][..], &[0, 1], &[0, 1, 3], &[0, 1, 2, 3]] {
        assert!(is_bad_argument(x.permute(perm)), "permute {perm:?}");
    }
    assert!(is_bad_argument(x.transpose(0, 3)));
    assert!(is_bad_argument(x.narrow(3, 0, 1)));
    assert!(is_bad_argument(x.narrow(1, 2, 2)));
    assert!(is_bad_argument(x.narrow(1, 4, 1)));
    assert!(is_bad_argument(x.narrow(1, usize::MAX, 2)));
    assert!(is_bad_argument(x.index_select(2, &[0, 4])));
    assert!(is_bad_argument(x.index_select(3, &[0])));
    assert!(is_bad_argument(x.index_add(1, &[0, 1], 5)));
    assert!(is_bad_argument(x.index_add(1, &[0, 1, 5], 5)));
    assert!(is_bad_argument(x.select(1, 3)));
    assert!(is_bad_argument(x.select(3, 0)));
    assert!(is_bad_argument(x.unsqueeze(4)));
    assert!(is_bad_argument(x.squeeze(0)));
    assert!(is_bad_argument(x.squeeze(3)));
    assert!(is_bad_argument(x.flatten(2, 1)));
    assert!(is_bad_argument(x.flatten(0, 3)));
    let y = iota(&[2, 2, 4]);
    let z = iota(&[2, 3]);
    assert!(is_bad_argument(T::cat(&[&x, &iota(&[3, 3, 4])], 1)));
    assert!(is_bad_argument(T::cat(&[&x, &z], 0)));
    assert!(is_bad_argument(T::cat(&[&x, &y], 3)));
    assert!(is_bad_argument(T::cat(&[], 0)));
    assert!(is_bad_argument(T::stack(&[&x, &y], 0)));
    assert!(is_bad_argument(T::stack(&[&x, &x], 4)));
    assert!(is_bad_argument(T::stack(&[], 0)));
    // Joining along the axis where the parts differ is fine.
    assert_eq!(T::cat(&[&x, &y], 1).unwrap().dims(), &[2, 5, 4]);
}
