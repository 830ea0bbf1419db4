//! Reductions and data movement of `Cpu` against the reference backend, in f32 and f64:
//! reduce (every op), permute (random permutations), concat, index_select and index_add
//! (with repeated indices).
//!
//! Max, Min and every copy are exact. index_add adds each destination's sources in the
//! same order as the reference, so it is exact too. Sum is exact when it runs serially
//! on short axes; its parallel split over long axes adds partial sums, and runs of 16 or
//! more along the last axis (inner = 1) are summed in eight interleaved partial sums, so
//! those cases compare Sum within `common::tol` (see there for why that bound).

mod common;

use common::{assert_close, assert_same, config, tol, values, with_threads};
use pgcnn_core::backend::{AxisLayout, Backend, ReduceOp};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::Element;
use pgcnn_cpu::Cpu;
use proptest::prelude::*;

fn check_reduce<E: Element>(
    l: AxisLayout,
    seed: u64,
    exact_sum: bool,
) -> Result<(), TestCaseError> {
    let x: Vec<E> = values(&mut Rng::seed(seed), l.numel(), -2.0, 2.0);
    for op in [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min] {
        let got = Cpu.reduce(op, &x, l).unwrap();
        let want = Reference.reduce(op, &x, l).unwrap();
        let what = format!("{op:?} {l:?}");
        if op == ReduceOp::Sum && !exact_sum {
            assert_close(&what, &got, &want, tol::<E>())?;
        } else {
            assert_same(&what, &got, &want)?;
        }
    }
    Ok(())
}

fn check_permute<E: Element>(dims: &[usize], seed: u64) -> Result<(), TestCaseError> {
    let mut rng = Rng::seed(seed);
    let x: Vec<E> = values(&mut rng, dims.iter().product(), -1.0, 1.0);
    let mut perm: Vec<usize> = (0..dims.len()).collect();
    rng.shuffle(&mut perm);
    let got = Cpu.permute(&x, dims, &perm).unwrap();
    let want = Reference.permute(&x, dims, &perm).unwrap();
    assert_same(&format!("permute {dims:?} by {perm:?}"), &got, &want)
}

fn check_concat<E: Element>(
    outer: usize,
    lens: &[usize],
    inner: usize,
    seed: u64,
) -> Result<(), TestCaseError> {
    let mut rng = Rng::seed(seed);
    let bufs: Vec<Vec<E>> = lens
        .iter()
        .map(|&l| values(&mut rng, outer * l * inner, -1.0, 1.0))
        .collect();
    let parts: Vec<(&Vec<E>, usize)> = bufs.iter().zip(lens).map(|(b, &l)| (b, l)).collect();
    let got = Cpu.concat(&parts, outer, inner).unwrap();
    let want = Reference.concat(&parts, outer, inner).unwrap();
    assert_same(&format!("concat {outer} {lens:?} {inner}"), &got, &want)
}

/// index_select and index_add with `count` indices drawn with replacement (so repeats
/// are common).
fn check_indexing<E: Element>(l: AxisLayout, count: usize, seed: u64) -> Result<(), TestCaseError> {
    let mut rng = Rng::seed(seed);
    let idx: Vec<usize> = (0..count).map(|_| rng.below(l.len)).collect();
    let x: Vec<E> = values(&mut rng, l.numel(), -1.0, 1.0);
    let got = Cpu.index_select(&x, l, &idx).unwrap();
    let want = Reference.index_select(&x, l, &idx).unwrap();
    assert_same(&format!("index_select {l:?} {idx:?}"), &got, &want)?;
    let src: Vec<E> = values(&mut rng, l.outer * count * l.inner, -1.0, 1.0);
    let got = Cpu.index_add(&src, l, &idx).unwrap();
    let want = Reference.index_add(&src, l, &idx).unwrap();
    assert_same(&format!("index_add {l:?} {idx:?}"), &got, &want)
}

fn layout() -> impl Strategy<Value = AxisLayout> {
    (0usize..6, 1usize..9, 0usize..6).prop_map(|(outer, len, inner)| AxisLayout {
        outer,
        len,
        inner,
    })
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn reduce_matches_reference(l in layout(), seed in any::<u64>()) {
        with_threads(3, || {
            check_reduce::<f32>(l, seed, true)?;
            check_reduce::<f64>(l, seed, true)
        })?;
    }

    #[test]
    fn permute_matches_reference(
        dims in prop::collection::vec(1usize..5, 0..6),
        seed in any::<u64>(),
    ) {
        with_threads(3, || {
            check_permute::<f32>(&dims, seed)?;
            check_permute::<f64>(&dims, seed)
        })?;
    }

    #[test]
    fn concat_matches_reference(
        outer in 0usize..5,
        lens in prop::collection::vec(0usize..4, 1..4),
        inner in 0usize..5,
        seed in any::<u64>(),
    ) {
        with_threads(3, || {
            check_concat::<f32>(outer, &lens, inner, seed)?;
            check_concat::<f64>(outer, &lens, inner, seed)
        })?;
    }

    #[test]
    fn index_select_and_add_match_reference(
        l in layout(),
        count in 0usize..12,
        seed in any::<u64>(),
    ) {
        with_threads(3, || {
            check_indexing::<f32>(l, count, seed)?;
            check_indexing::<f64>(l, count, seed)
        })?;
    }
}

/// Sizes past the parallel threshold, covering each split of reduce (many rows, few long
/// rows, long reductions into few outputs) and of the movement primitives.
#[test]
fn large_reductions_and_movement_match_reference() {
    with_threads(3, || {
        let l = |outer, len, inner| AxisLayout { outer, len, inner };
        for (i, lay) in [
            l(300, 40, 7),
            l(2, 50, 1500),
            l(1, 100_000, 1),
            l(2, 30_000, 3),
            // Sums over the last axis: a norm's statistics (many long runs), and short
            // runs around the eight-accumulator path's thresholds.
            l(64, 3136, 1),
            l(3, 15, 1),
            l(3, 16, 1),
            l(3, 37, 1),
        ]
        .into_iter()
        .enumerate()
        {
            check_reduce::<f32>(lay, i as u64, false).unwrap();
            check_reduce::<f64>(lay, i as u64, false).unwrap();
        }
        check_permute::<f32>(&[7, 40, 3, 90], 1).unwrap();
        check_permute::<f64>(&[70_000, 2], 2).unwrap();
        check_concat::<f32>(30, &[700, 1, 1300], 2, 3).unwrap();
        check_indexing::<f32>(l(40, 30, 100), 50, 4).unwrap();
        check_indexing::<f64>(l(1, 300, 400), 500, 5).unwrap();
    });
}

#[test]
fn bad_arguments_are_errors() {
    let x = vec![0.0f64; 6];
    let l = AxisLayout {
        outer: 1,
        len: 3,
        inner: 2,
    };
    assert!(Cpu.permute(&x, &[2, 3], &[0, 0]).is_err());
    assert!(Cpu.permute(&x, &[2, 3], &[1]).is_err());
    assert!(Cpu.permute(&x, &[2, 4], &[1, 0]).is_err());
    assert!(Cpu.index_select(&x, l, &[3]).is_err());
    assert!(Cpu.index_add(&x, l, &[0, 1, 5]).is_err());
    assert!(Cpu.index_add(&x, l, &[0]).is_err());
    assert!(Cpu
        .reduce(
            ReduceOp::Sum,
            &x,
            AxisLayout {
                outer: 2,
                len: 0,
                inner: 3
            }
        )
        .is_err());
    assert!(Cpu
        .reduce(
            ReduceOp::Sum,
            &x,
            AxisLayout {
                outer: 1,
                len: 5,
                inner: 1
            }
        )
        .is_err());
    assert!(Cpu.concat(&[(&x, 2)], 1, 2).is_err());
}

#[test]
fn empty_tensors_with_huge_axes_do_not_overflow() {
    let empty: Vec<f32> = Vec::new();
    let dims = [0, usize::MAX / 2, 3];
    assert_eq!(Cpu.permute(&empty, &dims, &[2, 1, 0]).unwrap(), empty);
    let layout = pgcnn_core::backend::BroadcastLayout {
        out_dims: dims.to_vec(),
        a_strides: vec![usize::MAX / 2, 7, 1],
        b_strides: vec![0, usize::MAX / 3, 0],
    };
    let got = Cpu.binary(pgcnn_core::backend::BinaryOp::Add, &empty, &empty, &layout);
    assert_eq!(got.unwrap(), empty);
    let huge = AxisLayout {
        outer: usize::MAX / 2,
        len: 0,
        inner: 3,
    };
    assert!(Cpu.reduce(ReduceOp::Sum, &empty, huge).is_err());
}
