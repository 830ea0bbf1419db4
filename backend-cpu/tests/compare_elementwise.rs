//! The elementwise primitives of `Cpu` against the reference backend: every unary op
//! (scalar forms included) and every binary op under random broadcasting layouts, in f32
//! and f64. Both backends evaluate the same scalar functions in the same order, so the
//! results must be identical bit for bit.

mod common;

use common::{assert_same, assert_within_one_ulp, config, values, with_threads};
use pgcnn_core::backend::{Backend, BinaryOp, BroadcastLayout, UnaryOp};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::{DType, Element};
use pgcnn_cpu::Cpu;
use proptest::prelude::*;

fn unary_ops<E: Element>(s: E) -> Vec<UnaryOp<E>> {
    use UnaryOp::*;
    vec![
        Neg,
        Sin,
        Cos,
        Exp,
        Log,
        Relu,
        Sigmoid,
        Tanh,
        Square,
        Sqrt,
        Abs,
        Recip,
        Sign,
        Step,
        AddScalar(s),
        MulScalar(s),
        PowScalar(s),
        MaxScalar(s),
        MinScalar(s),
        GreaterScalar(s),
    ]
}

const BINARY_OPS: [BinaryOp; 8] = [
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Maximum,
    BinaryOp::Minimum,
    BinaryOp::Equal,
    BinaryOp::Greater,
];

/// Values in [-3, 3), with exact zeros and small integers mixed in so that Sign, Step,
/// Equal and the comparisons meet ties (and Log, Sqrt, Recip meet their edge cases).
fn mixed<E: Element>(rng: &mut Rng, n: usize) -> Vec<E> {
    let mut v: Vec<E> = values(rng, n, -3.0, 3.0);
    for x in v.iter_mut() {
        if rng.below(4) == 0 {
            *x = E::from_usize(rng.below(5)) - E::from_f64(2.0);
        }
    }
    v
}

fn check_unary<E: Element>(n: usize, seed: u64) -> Result<(), TestCaseError> {
    let mut rng = Rng::seed(seed);
    let x: Vec<E> = mixed(&mut rng, n);
    let s = E::from_f64(rng.uniform_range(-2.0, 2.0));
    for op in unary_ops(s) {
        let got = Cpu.unary(op, &x).unwrap();
        let want = Reference.unary(op, &x).unwrap();
        let what = format!("{op:?} on {n} values");
        let own_vector_code = matches!(op, UnaryOp::Sin | UnaryOp::Cos | UnaryOp::Exp);
        if own_vector_code && E::DTYPE == DType::F32 {
            let f32s = |v: &[E]| {
                v.iter()
                    .map(|x| Element::to_f64(*x) as f32)
                    .collect::<Vec<_>>()
            };
            assert_within_one_ulp(&what, &f32s(&got), &f32s(&want))?;
        } else {
            assert_same(&what, &got, &want)?;
        }
    }
    Ok(())
}

/// A random layout of an operand for `out_dims`: each axis broadcast (stride 0) with
/// probability 1/3, the others stored contiguously in a random axis order (so the
/// strides are not always row-major). Returns the strides and the buffer length.
fn operand_layout(rng: &mut Rng, out_dims: &[usize]) -> (Vec<usize>, usize) {
    let rank = out_dims.len();
    let broadcast: Vec<bool> = (0..rank).map(|_| rng.below(3) == 0).collect();
    let mut order: Vec<usize> = (0..rank).collect();
    if rng.below(2) == 0 {
        rng.shuffle(&mut order);
    }
    let mut strides = vec![0; rank];
    let mut len = 1;
    for &ax in order.iter().rev() {
        if !broadcast[ax] {
            strides[ax] = len;
            len *= out_dims[ax];
        }
    }
    (strides, len)
}

fn check_binary<E: Element>(out_dims: &[usize], seed: u64) -> Result<(), TestCaseError> {
    let mut rng = Rng::seed(seed);
    let (a_strides, a_len) = operand_layout(&mut rng, out_dims);
    let (b_strides, b_len) = operand_layout(&mut rng, out_dims);
    let a: Vec<E> = mixed(&mut rng, a_len);
    let b: Vec<E> = mixed(&mut rng, b_len);
    let layout = BroadcastLayout {
        out_dims: out_dims.to_vec(),
        a_strides,
        b_strides,
    };
    for op in BINARY_OPS {
        let got = Cpu.binary(op, &a, &b, &layout).unwrap();
        let want = Reference.binary(op, &a, &b, &layout).unwrap();
        assert_same(&format!("{op:?} {layout:?}"), &got, &want)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn unary_matches_reference(n in 0usize..300, seed in any::<u64>()) {
        with_threads(3, || {
            check_unary::<f32>(n, seed)?;
            check_unary::<f64>(n, seed)
        })?;
    }

    #[test]
    fn binary_with_broadcasting_matches_reference(
        out_dims in prop::collection::vec(1usize..5, 0..5),
        seed in any::<u64>(),
    ) {
        with_threads(3, || {
            check_binary::<f32>(&out_dims, seed)?;
            check_binary::<f64>(&out_dims, seed)
        })?;
    }
}

/// Sizes past the parallel threshold, so that the split paths run (with an odd thread
/// count, so chunks are uneven).
#[test]
fn large_elementwise_matches_reference() {
    with_threads(3, || {
        check_unary::<f32>(200_003, 1).unwrap();
        check_unary::<f64>(70_001, 2).unwrap();
        for (i, dims) in [
            &[64usize, 33, 40][..],
            &[3, 50_000],
            &[70_000, 1],
            &[257, 3, 97],
        ]
        .into_iter()
        .enumerate()
        {
            check_binary::<f32>(dims, 10 + i as u64).unwrap();
            check_binary::<f64>(dims, 20 + i as u64).unwrap();
        }
    });
}

#[test]
fn binary_rejects_layouts_that_read_past_the_buffers() {
    let a = vec![1.0f32; 6];
    let b = vec![1.0f32; 5];
    let layout = BroadcastLayout {
        out_dims: vec![2, 3],
        a_strides: vec![3, 1],
        b_strides: vec![3, 1],
    };
    assert!(Cpu.binary(BinaryOp::Add, &a, &b, &layout).is_err());
    let short = BroadcastLayout {
        out_dims: vec![2, 3],
        a_strides: vec![3],
        b_strides: vec![3, 1],
    };
    assert!(Cpu.binary(BinaryOp::Add, &a, &a, &short).is_err());
}

#[test]
fn memory_primitives_match_reference() {
    let data = [1.5f32, -2.0, 0.0, 7.25];
    let up = Cpu.upload(&data).unwrap();
    assert_eq!(Cpu.len(&up), 4);
    assert_eq!(Cpu.download(&up).unwrap(), data);
    assert_eq!(
        Cpu.full(5, 3.5f64).unwrap(),
        Reference.full(5, 3.5f64).unwrap()
    );
    assert_eq!(Cpu.full::<f32>(0, 1.0).unwrap(), Vec::<f32>::new());
}
