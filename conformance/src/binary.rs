//! The binary family: [`Backend::binary`], every [`BinaryOp`] under broadcasting and
//! strided layouts.
//!
//! Every op is IEEE arithmetic or a comparison, so every backend must equal the reference
//! exactly (NaN matching NaN), special values included.
//!
//! Cases: fixed ones (NumPy-style broadcasts of shapes against each other and against
//! scalars, a transposed operand, an operand read every other element, empty outputs —
//! one with huge axes and strides, which must not overflow — and outputs past the CPU's
//! parallel threshold) and random ones: up to four axes of 1 to 4 (sometimes 0), each
//! operand broadcast along a third of the axes, its other axes stored in a random order,
//! every other element in a quarter of them. Values: in `[-3, 3)` with zeros and small
//! integers mixed in, or multiples of 0.5 (ties for the comparisons), with special values
//! sprinkled into half. Every case is checked in f32 and f64, against the reference and
//! for repeatability. Layouts whose strides read past a buffer, or whose stride lists do
//! not match the output's rank, must be errors.

use crate::data::{mixed, non_finite, sprinkle, steps, type_name};
use crate::{Cases, Report, Tolerance};
use pgcnn_core::backend::{Backend, BinaryOp, BroadcastLayout};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::shape::{broadcast_shapes, broadcast_strides, contiguous_strides};
use pgcnn_core::{Element, Result};

/// What a backend's CI run checks on the CPU (and a GPU). The work of a case is its
/// number of output elements.
pub const THOROUGH: Cases = Cases {
    random: 48,
    max_work: 160_000,
    seed: 0xb1_21,
};

/// Fewer and smaller cases, for slow stand-ins such as the CUDA kernel emulator.
pub const QUICK: Cases = Cases {
    random: 12,
    max_work: 20_000,
    seed: 0xb1_22,
};

/// Every op.
pub const OPS: [BinaryOp; 8] = [
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Maximum,
    BinaryOp::Minimum,
    BinaryOp::Equal,
    BinaryOp::Greater,
];

/// One case: the layout, how many values each operand holds, how they are drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    pub layout: BroadcastLayout,
    pub a_len: usize,
    pub b_len: usize,
    /// Multiples of 0.5 rather than [`mixed`] values.
    pub steps: bool,
    /// Special values sprinkled in, one in this many (0: none).
    pub sprinkle: usize,
}

impl Case {
    /// A case of `layout`, with buffers just long enough for it.
    pub fn new(layout: BroadcastLayout, steps: bool, sprinkle: usize) -> Self {
        let a_len = extent(&layout.out_dims, &layout.a_strides);
        let b_len = extent(&layout.out_dims, &layout.b_strides);
        Case {
            layout,
            a_len,
            b_len,
            steps,
            sprinkle,
        }
    }
}

/// One past the largest offset `strides` reach over `dims` (0 for an empty view).
pub fn extent(dims: &[usize], strides: &[usize]) -> usize {
    if dims.contains(&0) {
        return 0;
    }
    1 + dims
        .iter()
        .zip(strides)
        .map(|(&d, &s)| (d - 1) * s)
        .sum::<usize>()
}

/// The NumPy broadcast of shape `a` against shape `b`.
pub fn broadcast(a: &[usize], b: &[usize]) -> BroadcastLayout {
    let out = broadcast_shapes("conformance", a, b).unwrap_or_default();
    BroadcastLayout {
        a_strides: broadcast_strides(a, &out),
        b_strides: broadcast_strides(b, &out),
        out_dims: out,
    }
}

/// The fixed cases.
pub fn fixed() -> Vec<Case> {
    let shapes: [(&[usize], &[usize]); 10] = [
        (&[], &[]),
        (&[1000], &[1000]),
        (&[4, 3, 5, 6], &[1, 3, 1, 1]),
        (&[4, 3, 5, 6], &[]),
        (&[], &[7, 2]),
        (&[3, 1, 5], &[1, 4, 1]),
        (&[2, 3, 4, 5, 6], &[3, 1, 5, 1]),
        (&[1, 7], &[6, 1]),
        (&[64, 10], &[64, 1]),
        (&[1, 3, 1, 1], &[2, 3, 4, 4]),
    ];
    let mut v: Vec<Case> = shapes
        .iter()
        .enumerate()
        .map(|(i, (a, b))| Case::new(broadcast(a, b), i % 2 == 1, 16 * (i % 3)))
        .collect();
    let layout = |dims: &[usize], a: &[usize], b: &[usize]| BroadcastLayout {
        out_dims: dims.to_vec(),
        a_strides: a.to_vec(),
        b_strides: b.to_vec(),
    };
    // A transposed operand, an operand read every other element, empty outputs (one
    // whose huge axes and strides would overflow any size computed from them).
    v.push(Case::new(layout(&[33, 70], &[70, 1], &[1, 33]), false, 16));
    v.push(Case::new(layout(&[500], &[2], &[1]), true, 0));
    v.push(Case::new(
        layout(&[3, 0, 2], &[0, 2, 1], &[2, 2, 1]),
        false,
        0,
    ));
    let huge = usize::MAX / 2;
    v.push(Case::new(
        layout(&[0, huge, 3], &[huge, 7, 1], &[0, usize::MAX / 3, 0]),
        false,
        0,
    ));
    // Past the CPU's parallel threshold: layouts drawn as the random cases' are.
    let mut rng = Rng::seed(0xb1);
    for dims in [
        &[64usize, 33, 40][..],
        &[3, 50_000],
        &[70_000, 1],
        &[257, 3, 97],
    ] {
        v.push(drawn(&mut rng, dims));
    }
    v
}

/// `count` random cases: up to four axes of 1 to 4 (one in ten with an axis of 0).
pub fn random(rng: &mut Rng, count: usize) -> Vec<Case> {
    (0..count)
        .map(|_| {
            let mut dims: Vec<usize> = (0..rng.below(5)).map(|_| 1 + rng.below(4)).collect();
            if !dims.is_empty() && rng.below(10) == 0 {
                let ax = rng.below(dims.len());
                dims[ax] = 0;
            }
            drawn(rng, &dims)
        })
        .collect()
}

/// A case over `dims` with random operand layouts and values.
fn drawn(rng: &mut Rng, dims: &[usize]) -> Case {
    let layout = BroadcastLayout {
        a_strides: operand(rng, dims),
        b_strides: operand(rng, dims),
        out_dims: dims.to_vec(),
    };
    Case::new(layout, rng.below(2) == 0, [0, 16][rng.below(2)])
}

/// Strides of an operand over `dims`: each axis broadcast (stride 0) with probability 1/3,
/// the others stored in a random axis order half the time (so the strides are not always
/// row-major), every other element a quarter of the time.
fn operand(rng: &mut Rng, dims: &[usize]) -> Vec<usize> {
    let rank = dims.len();
    let broadcast: Vec<bool> = (0..rank).map(|_| rng.below(3) == 0).collect();
    let mut order: Vec<usize> = (0..rank).collect();
    if rng.below(2) == 0 {
        rng.shuffle(&mut order);
    }
    let mut span = if rng.below(4) == 0 { 2 } else { 1 };
    let mut strides = vec![0; rank];
    for &ax in order.iter().rev() {
        if !broadcast[ax] {
            strides[ax] = span;
            span *= dims[ax];
        }
    }
    strides
}

/// Every check of the family on `backend` (all exact: the tolerance is not needed).
pub fn check_all<B: Backend>(backend: &B, report: &mut Report, cases: &Cases, _tol: Tolerance) {
    // Empty outputs are no work, however large their other axes.
    let work = |c: &Case| match c.layout.out_dims.contains(&0) {
        true => 0,
        false => c.layout.numel(),
    };
    for (c, seed) in cases.select(fixed(), work, |rng| random(rng, cases.random)) {
        compare::<B, f32>(backend, report, &c, seed);
        compare::<B, f64>(backend, report, &c, seed);
    }
    errors(backend, report);
}

/// The operands of case `c`.
pub fn operands<E: Element>(c: &Case, seed: u64) -> (Vec<E>, Vec<E>) {
    let mut rng = Rng::seed(seed);
    let mut draw = |n: usize| -> Vec<E> {
        let mut v = if c.steps {
            steps(&mut rng, n)
        } else {
            mixed(&mut rng, n)
        };
        if c.sprinkle > 0 {
            sprinkle(&mut rng, &mut v, &non_finite(), c.sprinkle);
        }
        v
    };
    let a = draw(c.a_len);
    let b = draw(c.b_len);
    (a, b)
}

fn compare<B: Backend, E: Element>(b: &B, r: &mut Report, c: &Case, seed: u64) {
    let (x, y) = operands::<E>(c, seed);
    let l = &c.layout;
    for op in OPS {
        let what = format!("binary {op:?} {} {l:?}", type_name::<E>());
        let got = apply(b, op, &x, &y, l);
        r.repeatable(&what, &got, apply(b, op, &x, &y, l));
        match apply(&Reference, op, &x, &y, l) {
            Ok(want) => r.exact(&what, got, &want),
            Err(e) => r.error(&format!("{what} (the reference refuses it: {e})"), got),
        }
    }
}

/// `op` on `backend`, host buffers in and out.
fn apply<B: Backend, E: Element>(
    b: &B,
    op: BinaryOp,
    x: &[E],
    y: &[E],
    l: &BroadcastLayout,
) -> Result<Vec<E>> {
    b.download(&b.binary(op, &b.upload(x)?, &b.upload(y)?, l)?)
}

/// Layouts that read past a buffer, or whose stride lists do not match the rank.
fn errors<B: Backend>(b: &B, r: &mut Report) {
    let run = |na: usize, nb: usize, a_strides: &[usize], b_strides: &[usize]| -> Result<_> {
        let layout = BroadcastLayout {
            out_dims: vec![2, 3],
            a_strides: a_strides.to_vec(),
            b_strides: b_strides.to_vec(),
        };
        let v = vec![1.0f32; na.max(nb)];
        b.binary(
            BinaryOp::Add,
            &b.upload(&v[..na])?,
            &b.upload(&v[..nb])?,
            &layout,
        )
    };
    let packed = contiguous_strides(&[2, 3]);
    r.error("binary with a too short", run(5, 6, &packed, &packed));
    r.error("binary with b too short", run(6, 5, &packed, &packed));
    r.error(
        "binary with b's strides past it",
        run(6, 6, &packed, &[3, 2]),
    );
    r.error("binary with one stride for a", run(6, 6, &[3], &packed));
    r.error(
        "binary with three strides for b",
        run(6, 6, &packed, &[3, 1, 1]),
    );
}
