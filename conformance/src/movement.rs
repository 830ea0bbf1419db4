//! The data-movement family: [`Backend::permute`], [`Backend::concat`],
//! [`Backend::index_select`] and its adjoint [`Backend::index_add`].
//!
//! Copies change no value, so every backend must equal the reference bit for bit. So
//! must `index_add`: each destination adds its sources in the order of the indices, from
//! zero, as the reference does (which makes training steps reproducible across backends).
//!
//! Cases: fixed ones (transposes of matrices and of every axis order up to six axes,
//! size-1 and empty axes, an empty tensor with a huge axis, concatenations with empty
//! parts and empty outer or inner sizes, selections of consecutive indices — a slice —
//! reversed, repeated and none, more indices than travel inside CUDA kernel parameters,
//! and sizes past the CPU's parallel threshold) and random ones (permutations of up to
//! five axes of 1 to 4; one to three parts of lengths 0–3; up to eleven indices drawn
//! with repeats). Every case is checked in f32 and f64, against the reference and for
//! repeatability. Axis lists that are not permutations, buffers of the wrong length and
//! indices out of range must be errors.

use crate::data::{type_name, uniform};
use crate::{Cases, Report, Tolerance};
use pgcnn_core::backend::{AxisLayout, Backend};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::{Element, Result};

/// What a backend's CI run checks on the CPU (and a GPU): 48 random cases of each of the
/// three kinds. The work of a case is the number of values it moves.
pub const THOROUGH: Cases = Cases {
    random: 144,
    max_work: 200_000,
    seed: 0x30_61,
};

/// Fewer and smaller cases, for slow stand-ins such as the CUDA kernel emulator.
pub const QUICK: Cases = Cases {
    random: 12,
    max_work: 20_000,
    seed: 0x30_62,
};

/// One case of one of the four primitives.
#[derive(Clone, Debug, PartialEq)]
pub enum Case {
    /// `permute(x, dims, perm)`.
    Permute { dims: Vec<usize>, perm: Vec<usize> },
    /// `concat` of parts `[outer, lens[i], inner]`.
    Concat {
        outer: usize,
        lens: Vec<usize>,
        inner: usize,
    },
    /// `index_select` of `[outer, len, inner]` by `indices`, and `index_add` back.
    Indexing {
        layout: AxisLayout,
        indices: Vec<usize>,
    },
}

impl Case {
    /// The number of values the case moves (0 for empty tensors, however large an axis).
    pub fn work(&self) -> usize {
        let product = |v: &[usize]| v.iter().try_fold(1usize, |a, &b| a.checked_mul(b));
        let n = match self {
            Case::Permute { dims, .. } => product(dims),
            Case::Concat { outer, lens, inner } => product(&[*outer, lens.iter().sum(), *inner]),
            Case::Indexing { layout: l, indices } => {
                let m = l.len.max(indices.len());
                product(&[l.outer, m, l.inner])
            }
        };
        n.unwrap_or(usize::MAX)
    }
}

fn permute(dims: &[usize], perm: &[usize]) -> Case {
    Case::Permute {
        dims: dims.to_vec(),
        perm: perm.to_vec(),
    }
}

fn concat(outer: usize, lens: &[usize], inner: usize) -> Case {
    Case::Concat {
        outer,
        lens: lens.to_vec(),
        inner,
    }
}

fn indexing(outer: usize, len: usize, inner: usize, indices: &[usize]) -> Case {
    Case::Indexing {
        layout: AxisLayout { outer, len, inner },
        indices: indices.to_vec(),
    }
}

/// The fixed cases.
pub fn fixed() -> Vec<Case> {
    let reversed: Vec<usize> = (0..8).rev().collect();
    // Indices in a scrambled order with repeats: i·step mod len.
    let spread = |count: usize, step: usize, len: usize| -> Vec<usize> {
        (0..count).map(|i| (i * step) % len).collect()
    };
    vec![
        permute(&[33, 70], &[1, 0]),
        permute(&[3, 40, 37], &[0, 2, 1]),
        permute(&[3, 40, 37], &[1, 0, 2]),
        permute(&[2, 3, 4, 5], &[3, 1, 0, 2]),
        permute(&[2, 3, 4, 5], &[0, 1, 3, 2]),
        permute(&[2, 3, 4, 5], &[2, 3, 0, 1]),
        permute(&[2, 1, 4, 1, 3], &[4, 3, 2, 1, 0]),
        permute(&[2, 3, 2, 3, 2, 3], &[5, 3, 1, 4, 2, 0]),
        permute(&[6, 5], &[0, 1]),
        permute(&[], &[]),
        permute(&[5, 0, 3], &[2, 1, 0]),
        permute(&[0, usize::MAX / 2, 3], &[2, 1, 0]),
        permute(&[7, 40, 3, 90], &[3, 0, 2, 1]),
        permute(&[70_000, 2], &[1, 0]),
        concat(2, &[3, 0, 4], 5),
        concat(1, &[2, 5], 3),
        concat(4, &[1, 1, 1], 1),
        concat(0, &[2, 3], 4),
        concat(3, &[2, 3], 0),
        concat(30, &[700, 1, 1300], 2),
        indexing(3, 6, 4, &[1, 2, 3]),
        indexing(3, 6, 4, &[5, 0, 2]),
        indexing(3, 6, 4, &[2, 2, 0, 2]),
        indexing(1, 8, 1, &reversed),
        indexing(5, 4, 1, &[3]),
        indexing(2, 3, 7, &[]),
        indexing(0, 3, 7, &[1, 1]),
        indexing(2, 10, 3, &spread(6000, 7, 10)),
        indexing(40, 30, 100, &spread(50, 7, 30)),
        indexing(1, 300, 400, &spread(500, 37, 300)),
    ]
}

/// `count` random cases, a third of each primitive.
pub fn random(rng: &mut Rng, count: usize) -> Vec<Case> {
    (0..count)
        .map(|i| match i % 3 {
            0 => {
                let dims: Vec<usize> = (0..rng.below(6)).map(|_| 1 + rng.below(4)).collect();
                let mut perm: Vec<usize> = (0..dims.len()).collect();
                rng.shuffle(&mut perm);
                permute(&dims, &perm)
            }
            1 => {
                let lens: Vec<usize> = (0..1 + rng.below(3)).map(|_| rng.below(4)).collect();
                concat(rng.below(5), &lens, rng.below(5))
            }
            _ => {
                let (outer, len, inner) = (rng.below(6), 1 + rng.below(8), rng.below(6));
                let indices: Vec<usize> = (0..rng.below(12)).map(|_| rng.below(len)).collect();
                indexing(outer, len, inner, &indices)
            }
        })
        .collect()
}

/// Every check of the family on `backend` (all exact: the tolerance is not needed).
pub fn check_all<B: Backend>(backend: &B, report: &mut Report, cases: &Cases, _tol: Tolerance) {
    let work = |c: &Case| c.work();
    for (c, seed) in cases.select(fixed(), work, |rng| random(rng, cases.random)) {
        compare::<B, f32>(backend, report, &c, seed);
        compare::<B, f64>(backend, report, &c, seed);
    }
    errors(backend, report);
}

/// Each primitive of case `c` on `b`, with its name: one result for a permutation or a
/// concatenation, two (select, then add) for indexing.
fn run<B: Backend, E: Element>(b: &B, c: &Case, seed: u64) -> Vec<(&'static str, Result<Vec<E>>)> {
    let mut rng = Rng::seed(seed);
    let mut draw = |n: usize| -> Vec<E> { uniform(&mut rng, n, -1.0, 1.0) };
    match c {
        Case::Permute { dims, perm } => {
            let x = draw(c.work());
            let got = (|| b.download(&b.permute(&b.upload(&x)?, dims, perm)?))();
            vec![("permute", got)]
        }
        Case::Concat { outer, lens, inner } => {
            let parts: Vec<Vec<E>> = lens.iter().map(|l| draw(outer * l * inner)).collect();
            let got = (|| {
                let up: Vec<_> = parts.iter().map(|p| b.upload(p)).collect::<Result<_>>()?;
                let refs: Vec<_> = up.iter().zip(lens).map(|(p, &l)| (p, l)).collect();
                b.download(&b.concat(&refs, *outer, *inner)?)
            })();
            vec![("concat", got)]
        }
        Case::Indexing { layout: l, indices } => {
            let x = draw(l.numel());
            let src = draw(l.outer * indices.len() * l.inner);
            let select = (|| b.download(&b.index_select(&b.upload(&x)?, *l, indices)?))();
            let add = (|| b.download(&b.index_add(&b.upload(&src)?, *l, indices)?))();
            vec![("index_select", select), ("index_add", add)]
        }
    }
}

fn compare<B: Backend, E: Element>(b: &B, r: &mut Report, c: &Case, seed: u64) {
    let got = run::<B, E>(b, c, seed);
    let again = run::<B, E>(b, c, seed);
    let want = run::<Reference, E>(&Reference, c, seed);
    for (((name, got), (_, again)), (_, want)) in got.into_iter().zip(again).zip(want) {
        let what = format!("{name} {} {c:?}", type_name::<E>());
        r.repeatable(&what, &got, again);
        match want {
            Ok(want) => r.identical(&what, got, &want),
            Err(e) => r.error(&format!("{what} (the reference refuses it: {e})"), got),
        }
    }
}

/// Axis lists that are not permutations, buffers of the wrong length, indices out of
/// range. (The trait leaves checking indices to callers; backends refuse them anyway
/// rather than read or write outside a buffer.)
fn errors<B: Backend>(b: &B, r: &mut Report) {
    let up = |n: usize| b.upload(&vec![0.5f32; n]);
    let l = AxisLayout {
        outer: 1,
        len: 3,
        inner: 2,
    };
    let permute = |n: usize, dims: &[usize], perm: &[usize]| b.permute(&up(n)?, dims, perm);
    r.error("permute by a repeated axis", permute(6, &[2, 3], &[0, 0]));
    r.error("permute by too few axes", permute(6, &[2, 3], &[1]));
    r.error(
        "permute by an axis out of range",
        permute(6, &[2, 3], &[0, 2]),
    );
    r.error(
        "permute of a buffer of the wrong length",
        permute(6, &[2, 4], &[1, 0]),
    );
    let concat = |n: usize| b.concat(&[(&up(4)?, 2), (&up(n)?, 1)], 1, 2);
    r.error("concat of a part of the wrong length", concat(3));
    r.error(
        "index_select of a short buffer",
        (|| b.index_select(&up(5)?, l, &[0]))(),
    );
    r.error(
        "index_select out of range",
        (|| b.index_select(&up(6)?, l, &[0, 3]))(),
    );
    r.error(
        "index_add out of range",
        (|| b.index_add(&up(6)?, l, &[0, 1, 5]))(),
    );
    r.error(
        "index_add of a short source",
        (|| b.index_add(&up(6)?, l, &[0]))(),
    );
}
