//! Finite-difference gradient checks of the elementwise, reduction and matmul ops, in f64
//! on the reference backend.

use pgcnn_core::backend::UnaryOp;
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::{check_gradients, random_tensor, GradCheck};
use pgcnn_core::Tensor;

type T = Tensor<Reference, f64>;

fn rand(rng: &mut Rng, dims: &[usize], lo: f64, hi: f64) -> T {
    random_tensor(&Reference, rng, dims, lo, hi).unwrap()
}

#[test]
fn unary_ops_match_finite_differences() {
    let mut rng = Rng::seed(1);
    use UnaryOp::*;
    let ops: &[(UnaryOp<f64>, f64, f64)] = &[
        (Neg, -2.0, 2.0),
        (Sin, -3.0, 3.0),
        (Cos, -3.0, 3.0),
        (Exp, -2.0, 2.0),
        (Log, 0.2, 3.0),
        (Relu, -2.0, 2.0),
        (Sigmoid, -4.0, 4.0),
        (Tanh, -2.0, 2.0),
        (Square, -2.0, 2.0),
        (Sqrt, 0.2, 3.0),
        (Abs, -2.0, 2.0),
        (Recip, 0.5, 3.0),
        (AddScalar(0.7), -2.0, 2.0),
        (MulScalar(-1.3), -2.0, 2.0),
        (PowScalar(2.5), 0.2, 2.0),
        (MaxScalar(0.1), -2.0, 2.0),
        (MinScalar(0.1), -2.0, 2.0),
    ];
    for &(op, lo, hi) in ops {
        let x = rand(&mut rng, &[3, 4], lo, hi);
        let worst = check_gradients(&[x], |xs| xs[0].map(op), GradCheck::default())
            .unwrap_or_else(|e| panic!("{op:?}: {e}"));
        println!("{op:?}: worst tolerance ratio {worst:.3}");
    }
}

#[test]
fn binary_ops_with_broadcasting_match_finite_differences() {
    let mut rng = Rng::seed(2);
    let shapes: &[(&[usize], &[usize])] = &[
        (&[2, 3], &[2, 3]),
        (&[2, 1, 4], &[3, 1]),
        (&[4], &[2, 3, 4]),
        (&[], &[2, 2]),
    ];
    for (sa, sb) in shapes {
        let a = rand(&mut rng, sa, 0.5, 2.0);
        let b = rand(&mut rng, sb, 0.5, 2.0);
        for name in ["add", "sub", "mul", "div", "maximum", "minimum"] {
            check_gradients(
                &[a.clone(), b.clone()],
                |xs| match name {
                    "add" => xs[0].add(&xs[1]),
                    "sub" => xs[0].sub(&xs[1]),
                    "mul" => xs[0].mul(&xs[1]),
                    "div" => xs[0].div(&xs[1]),
                    "maximum" => xs[0].maximum(&xs[1]),
                    _ => xs[0].minimum(&xs[1]),
                },
                GradCheck::default(),
            )
            .unwrap_or_else(|e| panic!("{name} {sa:?} {sb:?}: {e}"));
        }
    }
}

#[test]
fn reductions_match_finite_differences() {
    let mut rng = Rng::seed(3);
    let x = rand(&mut rng, &[2, 3, 4], -1.0, 1.0);
    for axes in [&[0isize][..], &[1], &[-1], &[0, 2], &[0, 1, 2]] {
        for keep in [false, true] {
            check_gradients(
                std::slice::from_ref(&x),
                |xs| xs[0].sum_axes(axes, keep),
                GradCheck::default(),
            )
            .unwrap();
            check_gradients(
                std::slice::from_ref(&x),
                |xs| xs[0].mean_axes(axes, keep),
                GradCheck::default(),
            )
            .unwrap();
            check_gradients(
                std::slice::from_ref(&x),
                |xs| xs[0].max_axes(axes, keep),
                GradCheck::default(),
            )
            .unwrap();
        }
    }
    check_gradients(&[x], |xs| xs[0].mean_all(), GradCheck::default()).unwrap();
}

#[test]
fn matmul_in_every_layout_matches_finite_differences() {
    let mut rng = Rng::seed(4);
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let a_dims = if ta { [2, 4, 3] } else { [2, 3, 4] };
        let b_dims = if tb { [2, 5, 4] } else { [2, 4, 5] };
        let a = rand(&mut rng, &a_dims, -1.0, 1.0);
        let b = rand(&mut rng, &b_dims, -1.0, 1.0);
        check_gradients(
            &[a.clone(), b.clone()],
            |xs| xs[0].matmul_t(&xs[1], ta, tb),
            GradCheck::default(),
        )
        .unwrap();
        // Shared right-hand matrix.
        let b2 = rand(&mut rng, &b_dims[1..], -1.0, 1.0);
        check_gradients(
            &[a.clone(), b2.clone()],
            |xs| xs[0].matmul_t(&xs[1], ta, tb),
            GradCheck::default(),
        )
        .unwrap();
        // Shared left-hand matrix.
        let a2 = rand(&mut rng, &a_dims[1..], -1.0, 1.0);
        check_gradients(
            &[a2, b],
            |xs| xs[0].matmul_t(&xs[1], ta, tb),
            GradCheck::default(),
        )
        .unwrap();
    }
    let x = rand(&mut rng, &[2, 3, 4], -1.0, 1.0);
    let w = rand(&mut rng, &[5, 4], -1.0, 1.0);
    let bias = rand(&mut rng, &[5], -1.0, 1.0);
    check_gradients(
        &[x, w, bias],
        |xs| xs[0].linear(&xs[1], Some(&xs[2])),
        GradCheck::default(),
    )
    .unwrap();
}

#[test]
fn detach_stops_gradients_and_reuse_accumulates() {
    let b = Reference;
    let p = pgcnn_core::Param::new(T::from_slice(&b, &[2.0, 3.0], [2]).unwrap());
    let x = p.tensor();
    // x*x + detach(x)*x: d/dx = 2x + x = 3x (the detached factor is a constant).
    let loss = x
        .mul(x)
        .unwrap()
        .add(&x.detach().mul(x).unwrap())
        .unwrap()
        .sum_all()
        .unwrap();
    let g = loss.backward().unwrap();
    assert_eq!(g.get(&p).unwrap().to_vec().unwrap(), vec![6.0, 9.0]);
    let nothing = x
        .detach()
        .square()
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    assert!(nothing.is_empty());
}
