//! The convolution family: [`Backend::conv2d`] and its two gradients.
//!
//! Cases: fixed ones (the models' layer shapes at reduced batch and width, kernels that
//! cover the whole input, 1×1 kernels, empty batches, paddings wider than the kernel)
//! and random ones: odd kernel sizes 1–33 (rows and columns apart; a quarter of them any
//! size 1–12), maps 1–64 on a side,
//! `same`, `valid` and other paddings, 1–3 groups of 1–9 channels (not multiples of any
//! vector width), 1–3 images, each shrunk to a work budget so that the naive reference
//! stays quick. Every case is checked:
//! - against the reference in f32 and f64 (forward, input gradient, weight gradient);
//! - by central finite differences in f64: for `L(x, w) = ⟨conv(x, w), dy⟩`, the change
//!   of `L` along a random direction of `x` (of `w`) matches the input (weight) gradient
//!   dotted with that direction, which tests the gradients without the reference;
//! - for repeatability: a second call gives the same bits.
//!
//! Bad descriptors (groups not dividing the channels, kernels larger than the padded
//! input or of size 0, paddings that overflow, buffers of the wrong length) must be
//! errors.

use crate::data::{type_name, uniform};
use crate::{Cases, Report, Tolerance};
use pgcnn_core::backend::{Backend, Conv2dDesc};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::{Element, Result};

/// What a backend's CI run checks on the CPU (and a GPU). The work of a case is the
/// multiply-adds of one pass (`batch · cout · cin/groups · out_h · out_w · kh · kw`);
/// random cases are shrunk to `max_work`.
pub const THOROUGH: Cases = Cases {
    random: 60,
    max_work: 1_500_000,
    seed: 0xc0_17,
};

/// Fewer and smaller cases, for slow stand-ins such as the CUDA kernel emulator.
pub const QUICK: Cases = Cases {
    random: 12,
    max_work: 60_000,
    seed: 0xc0_18,
};

/// The multiply-adds of one pass of `d` (0 for a descriptor that has no output).
pub fn work(d: &Conv2dDesc) -> usize {
    if d.groups == 0 || d.kernel_h > d.in_h + 2 * d.pad_h || d.kernel_w > d.in_w + 2 * d.pad_w {
        return 0;
    }
    d.batch
        * d.out_channels
        * (d.in_channels / d.groups)
        * d.out_h()
        * d.out_w()
        * d.kernel_h
        * d.kernel_w
}

/// A convolution of `groups` groups of `cig` input and `cog` output channels each.
#[allow(clippy::too_many_arguments)]
pub fn desc(
    batch: usize,
    groups: usize,
    cig: usize,
    cog: usize,
    (h, w): (usize, usize),
    (kh, kw): (usize, usize),
    (ph, pw): (usize, usize),
) -> Conv2dDesc {
    Conv2dDesc {
        batch,
        in_channels: groups * cig,
        out_channels: groups * cog,
        groups,
        in_h: h,
        in_w: w,
        kernel_h: kh,
        kernel_w: kw,
        pad_h: ph,
        pad_w: pw,
    }
}

/// The fixed cases.
pub fn fixed() -> Vec<Conv2dDesc> {
    vec![
        // The models' shapes at reduced batch: block 1 and 2 of small_se2_partial (32 → 32
        // on 14×14 and 7×7), its lifting layer, rotmnist's 7×7 maps, the last `valid` layer.
        desc(3, 1, 32, 32, (14, 14), (7, 7), (3, 3)),
        desc(4, 1, 32, 32, (7, 7), (7, 7), (3, 3)),
        desc(2, 1, 1, 32, (28, 28), (7, 7), (3, 3)),
        desc(2, 1, 40, 24, (7, 7), (7, 7), (3, 3)),
        desc(6, 1, 32, 32, (7, 7), (7, 7), (0, 0)),
        desc(9, 1, 12, 5, (14, 14), (7, 7), (3, 3)),
        desc(5, 2, 7, 6, (7, 7), (7, 7), (3, 3)),
        // Per-image kernels as grouped convolutions (mnist6_180's sampling per image).
        desc(1, 4, 5, 5, (14, 14), (7, 7), (3, 3)),
        // Pointwise and rectangular kernels, uneven paddings.
        desc(2, 1, 9, 7, (9, 11), (1, 1), (0, 0)),
        desc(3, 1, 6, 4, (5, 13), (5, 3), (2, 1)),
        desc(2, 3, 2, 3, (8, 6), (3, 5), (0, 2)),
        // Paddings wider than the kernel, a 1×1 map, kernels wider than the map.
        desc(2, 1, 3, 2, (4, 4), (3, 3), (2, 2)),
        desc(2, 1, 3, 5, (2, 3), (1, 1), (3, 1)),
        desc(2, 1, 3, 5, (1, 1), (1, 1), (0, 0)),
        desc(2, 1, 2, 3, (3, 2), (7, 9), (3, 4)),
        // Kernels covering the whole input (one output pixel), with and without images.
        desc(7, 2, 3, 4, (5, 6), (5, 6), (0, 0)),
        desc(0, 3, 2, 3, (4, 5), (4, 5), (0, 0)),
        desc(0, 1, 2, 3, (6, 6), (3, 3), (1, 1)),
        // Several chunks with an uneven last one, several channel slabs per group, a
        // single image whose products are split over threads instead, even kernels.
        desc(7, 2, 12, 4, (8, 9), (7, 7), (3, 3)),
        desc(1, 1, 13, 40, (6, 7), (7, 7), (3, 3)),
        desc(5, 3, 4, 5, (9, 10), (3, 3), (1, 1)),
        desc(4, 1, 3, 33, (10, 11), (1, 1), (0, 0)),
        desc(2, 1, 11, 6, (5, 6), (5, 5), (4, 4)),
        desc(3, 2, 3, 2, (6, 7), (4, 2), (1, 3)),
        // Large kernels on large maps.
        desc(1, 1, 2, 1, (64, 64), (33, 33), (16, 16)),
        desc(1, 1, 1, 2, (40, 23), (21, 11), (10, 5)),
    ]
}

/// `count` random cases of at most `max_work` multiply-adds each.
pub fn random(rng: &mut Rng, count: usize, max_work: usize) -> Vec<Conv2dDesc> {
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        // Mostly odd sizes (what the models use), sometimes any size up to 12.
        let odd = |rng: &mut Rng| {
            if rng.below(4) == 0 {
                1 + rng.below(12)
            } else {
                2 * rng.below(17) + 1
            }
        };
        let (kh, kw) = if rng.below(2) == 0 {
            let k = odd(rng);
            (k, k)
        } else {
            (odd(rng), odd(rng))
        };
        let mut h = 1 + rng.below(64);
        let mut w = 1 + rng.below(64);
        let padding = |rng: &mut Rng, k: usize| match rng.below(4) {
            0 | 1 => k / 2,
            2 => 0,
            _ => rng.below(k + 2),
        };
        let (ph, pw) = (padding(rng, kh), padding(rng, kw));
        let mut d = desc(
            1 + rng.below(3),
            1 + rng.below(3),
            1 + rng.below(9),
            1 + rng.below(9),
            (h, w),
            (kh, kw),
            (ph, pw),
        );
        // Shrink to the budget: images, then channels, then the map.
        while work(&d) > max_work {
            if d.batch > 1 {
                d.batch -= 1;
            } else if d.in_channels > d.groups || d.out_channels > d.groups {
                d.in_channels = (d.in_channels / d.groups).div_ceil(2) * d.groups;
                d.out_channels = (d.out_channels / d.groups).div_ceil(2) * d.groups;
                if d.in_channels == d.groups && d.out_channels == d.groups {
                    d.groups = 1;
                    d.in_channels = 1;
                    d.out_channels = 1;
                }
            } else {
                h = h.div_ceil(2);
                w = w.div_ceil(2);
                d.in_h = h;
                d.in_w = w;
                if h == 1 && w == 1 {
                    break;
                }
            }
        }
        if work(&d) > 0 && work(&d) <= max_work {
            out.push(d);
        }
    }
    out
}

/// Every check of the family on `backend`, comparing with the reference within `tol`
/// (the finite-difference checks, in f64, have their own bound).
pub fn check_all<B: Backend>(backend: &B, report: &mut Report, cases: &Cases, tol: Tolerance) {
    let all = cases.select(fixed(), work, |rng| {
        random(rng, cases.random, cases.max_work)
    });
    for (d, seed) in &all {
        compare::<B, f32>(backend, report, d, *seed, tol);
        compare::<B, f64>(backend, report, d, *seed, tol);
        finite_differences(backend, report, d, *seed);
        repeatable::<B, f32>(backend, report, d, *seed);
    }
    errors(backend, report);
}

fn values<E: Element>(rng: &mut Rng, n: usize) -> Vec<E> {
    uniform(rng, n, -1.0, 1.0)
}

/// The operands of one case: `x`, `w`, `dy`.
fn operands<E: Element>(d: &Conv2dDesc, seed: u64) -> (Vec<E>, Vec<E>, Vec<E>) {
    let mut rng = Rng::seed(seed);
    let x = values(&mut rng, d.input_len());
    let w = values(&mut rng, d.weight_len());
    let dy = values(&mut rng, d.output_len());
    (x, w, dy)
}

/// The three passes on `backend`, host buffers in and out.
fn passes<B: Backend, E: Element>(
    b: &B,
    d: &Conv2dDesc,
    (x, w, dy): (&[E], &[E], &[E]),
) -> [Result<Vec<E>>; 3] {
    let up = |v: &[E]| b.upload(v);
    [
        (|| b.download(&b.conv2d(&up(x)?, &up(w)?, d)?))(),
        (|| b.download(&b.conv2d_backward_input(&up(dy)?, &up(w)?, d)?))(),
        (|| b.download(&b.conv2d_backward_weight(&up(x)?, &up(dy)?, d)?))(),
    ]
}

const PASSES: [&str; 3] = ["conv2d", "conv2d_backward_input", "conv2d_backward_weight"];

fn compare<B: Backend, E: Element>(
    b: &B,
    r: &mut Report,
    d: &Conv2dDesc,
    seed: u64,
    tol: Tolerance,
) {
    let (x, w, dy) = operands::<E>(d, seed);
    let got = passes(b, d, (&x, &w, &dy));
    let want = passes(&Reference, d, (&x, &w, &dy));
    for ((name, got), want) in PASSES.iter().zip(got).zip(want) {
        let what = format!("{name} {} {d:?}", type_name::<E>());
        match want {
            Ok(want) => r.close(&what, got, &want, tol.of::<E>()),
            Err(e) => r.close::<E>(&what, Err(e), &[], 0.0),
        }
    }
}

/// Central differences of `L = ⟨conv(x, w), dy⟩` along random directions of `x` and `w`,
/// against the gradients dotted with those directions, in f64.
fn finite_differences<B: Backend>(b: &B, r: &mut Report, d: &Conv2dDesc, seed: u64) {
    let (x, w, dy) = operands::<f64>(d, seed ^ 0x5eed);
    let mut rng = Rng::seed(seed ^ 0xd1);
    let vx: Vec<f64> = values(&mut rng, x.len());
    let vw: Vec<f64> = values(&mut rng, w.len());
    let h = 1e-3;
    let loss = |x: &[f64], w: &[f64]| -> Result<(f64, f64)> {
        let y = b.download(&b.conv2d(&b.upload(x)?, &b.upload(w)?, d)?)?;
        Ok((
            dot(&y, &dy),
            y.iter().zip(&dy).map(|(a, b)| (a * b).abs()).sum(),
        ))
    };
    let step = |v: &[f64], dir: &[f64], s: f64| -> Vec<f64> {
        v.iter().zip(dir).map(|(a, b)| a + s * b).collect()
    };
    let [_, dx, dw] = passes(b, d, (&x, &w, &dy));
    let checks = [
        (
            "conv2d_backward_input",
            dx,
            loss(&step(&x, &vx, h), &w).and_then(|p| Ok((p, loss(&step(&x, &vx, -h), &w)?))),
            &vx,
        ),
        (
            "conv2d_backward_weight",
            dw,
            loss(&x, &step(&w, &vw, h)).and_then(|p| Ok((p, loss(&x, &step(&w, &vw, -h))?))),
            &vw,
        ),
    ];
    for (name, grad, losses, dir) in checks {
        let what = format!("{name} finite differences {d:?}");
        match (grad, losses) {
            (Ok(g), Ok(((plus, scale_p), (minus, scale_m)))) => {
                let fd = (plus - minus) / (2.0 * h);
                // L is linear in each argument, so the difference is exact up to the
                // rounding of the two sums (each of size about their absolute terms).
                let scale = (scale_p + scale_m) / (2.0 * h) + dot_abs(&g, dir);
                r.close_scalar(&what, dot(&g, dir), fd, 1e-11, scale);
            }
            (Err(e), _) | (_, Err(e)) => r.close::<f64>(&what, Err(e), &[], 0.0),
        }
    }
}

/// Two calls give the same bits.
fn repeatable<B: Backend, E: Element>(b: &B, r: &mut Report, d: &Conv2dDesc, seed: u64) {
    let (x, w, dy) = operands::<E>(d, seed);
    let first = passes(b, d, (&x, &w, &dy));
    let second = passes(b, d, (&x, &w, &dy));
    for ((name, a), b) in PASSES.iter().zip(first).zip(second) {
        if let (Ok(a), Ok(b)) = (a, b) {
            r.same(&format!("{name} repeated {d:?}"), &a, &b);
        }
    }
}

/// Bad descriptors and buffers are errors.
fn errors<B: Backend>(b: &B, r: &mut Report) {
    let buf = |n: usize| b.upload(&vec![0.5f32; n]);
    let run = |d: Conv2dDesc, xl: usize, wl: usize, yl: usize| -> [Result<()>; 3] {
        [
            (|| b.conv2d(&buf(xl)?, &buf(wl)?, &d).map(drop))(),
            (|| b.conv2d_backward_input(&buf(yl)?, &buf(wl)?, &d).map(drop))(),
            (|| b.conv2d_backward_weight(&buf(xl)?, &buf(yl)?, &d).map(drop))(),
        ]
    };
    let mut bad = |what: &str, results: [Result<()>; 3]| {
        for (name, got) in PASSES.iter().zip(results) {
            r.error(&format!("{name} with {what}"), got);
        }
    };
    let d = Conv2dDesc {
        groups: 2,
        ..desc(1, 1, 3, 4, (5, 5), (3, 3), (1, 1))
    };
    bad("groups not dividing the channels", run(d, 75, 18, 100));
    let d = desc(1, 1, 1, 1, (2, 2), (5, 5), (0, 0));
    bad("a kernel larger than the padded input", run(d, 4, 25, 1));
    let d = desc(1, 1, 0, 0, (2, 2), (1, 1), (0, 0));
    bad("zero groups", run(Conv2dDesc { groups: 0, ..d }, 0, 0, 0));
    let d = desc(2, 1, 3, 4, (5, 5), (3, 3), (1, 1));
    bad("buffers of the wrong length", run(d, 149, 107, 199));
    let d = desc(1, 1, 4, 4, (4, 4), (3, 0), (1, 1));
    bad("a kernel of width 0", run(d, 64, 0, 112));
    // The padded height overflows: refused before any size is computed from it.
    let d = desc(1, 2, 2, 2, (4, 4), (3, 3), (usize::MAX / 2, 1));
    bad("a padding that overflows", run(d, 64, 72, 64));
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn dot_abs(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x * y).abs()).sum()
}
