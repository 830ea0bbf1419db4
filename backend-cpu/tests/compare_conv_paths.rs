//! The convolution's fast paths against the reference backend, in f32 and f64:
//! - im2col's inline copies of short rows (blocks of 8 and 4 elements, overlapping at
//!   the end, and single elements): `same` padding with odd kernels on images from 1×1
//!   up (kernels wider than the image included) and other paddings with rows of 1 to 21
//!   elements;
//! - the unpacked AVX-512 f32 products (at most 64 output channels per group, one GEMM
//!   per thread) and matrixmultiply (f64, or fewer chunks than threads): random groups,
//!   batches of several chunks and channel slabs, 1 to 3 threads, and the models' shapes;
//! - kernels that cover the whole unpadded input, done as plain products;
//! - results that are identical bit for bit from run to run (and so for resumed training
//!   runs) for a given thread count.
//!
//! Tolerances as in compare_linalg (see `common::tol`).

mod common;

use common::{assert_same, check_conv, config, grouped_conv as desc, values, with_threads};
use pgcnn_core::backend::{Backend, Conv2dDesc};
use pgcnn_core::rng::Rng;
use pgcnn_cpu::Cpu;
use proptest::prelude::*;

/// `same` padding: kernels 2p + 1 (1 to 9) on images from 1×1 up, so that the kernel is
/// often wider or taller than the image (rows with no inside column at all).
fn same_desc() -> impl Strategy<Value = Conv2dDesc> {
    (
        (1usize..5, 1usize..3, 1usize..4, 1usize..4),
        (1usize..12, 1usize..12, 0usize..5, 0usize..5),
    )
        .prop_map(|((batch, groups, cig, cog), (h, w, ph, pw))| {
            desc(
                batch,
                groups,
                cig,
                cog,
                h,
                w,
                (2 * ph + 1, 2 * pw + 1),
                (ph, pw),
            )
        })
}

/// Other paddings with output rows of 1 to 21 elements (around the 4- and 8-element
/// blocks of the inline copies).
fn other_desc() -> impl Strategy<Value = Conv2dDesc> {
    (
        (1usize..4, 1usize..3, 1usize..3, 1usize..3),
        (1usize..8, 1usize..22, 1usize..6, 1usize..6, 0usize..3),
    )
        .prop_map(|((batch, groups, cig, cog), (h, w, kh, kw, p))| {
            desc(batch, groups, cig, cog, h, w, (kh, kw), (p, p))
        })
        .prop_filter("kernel larger than the padded input", |d| {
            d.kernel_h <= d.in_h + 2 * d.pad_h && d.kernel_w <= d.in_w + 2 * d.pad_w
        })
}

/// Kernels that cover the whole unpadded input (one output pixel per image), with
/// groups and up to 40 images (products split over threads).
fn whole_desc() -> impl Strategy<Value = Conv2dDesc> {
    (
        (0usize..40, 1usize..4, 0usize..4, 0usize..5),
        (1usize..8, 1usize..8),
    )
        .prop_map(|((batch, groups, cig, cog), (h, w))| {
            desc(batch, groups, cig, cog, h, w, (h, w), (0, 0))
        })
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn whole_input_kernels_match_reference(d in whole_desc(), seed in any::<u64>(), threads in 1usize..4) {
        with_threads(threads, || {
            check_conv::<f32>(d, seed)?;
            check_conv::<f64>(d, seed)
        })?;
    }

    #[test]
    fn same_padding_matches_reference(d in same_desc(), seed in any::<u64>(), threads in 1usize..4) {
        with_threads(threads, || {
            check_conv::<f32>(d, seed)?;
            check_conv::<f64>(d, seed)
        })?;
    }

    #[test]
    fn other_paddings_match_reference(d in other_desc(), seed in any::<u64>()) {
        with_threads(2, || {
            check_conv::<f32>(d, seed)?;
            check_conv::<f64>(d, seed)
        })?;
    }
}

/// Empty batches with several groups (no offsets into the empty buffers).
#[test]
fn whole_input_kernels_with_no_images() {
    with_threads(2, || {
        for groups in [1, 3] {
            let d = desc(0, groups, 2, 3, 4, 5, (4, 5), (0, 0));
            check_conv::<f32>(d, 1).unwrap();
            check_conv::<f64>(d, 2).unwrap();
        }
    });
}

/// Several chunks (an uneven last one), several channel slabs per group, and the models'
/// shapes: small_se2_partial's 32 → 32 on 14×14 and 7×7 and its lifting convolution
/// (1 → 32 on 28×28) and its last, `valid` one (7×7 on 7×7), at reduced batch sizes.
#[test]
fn model_sized_same_convolutions_match_reference() {
    let cases = [
        desc(9, 1, 12, 5, 14, 14, (7, 7), (3, 3)),
        desc(5, 2, 7, 6, 7, 7, (7, 7), (3, 3)),
        desc(3, 1, 32, 32, 14, 14, (7, 7), (3, 3)),
        desc(6, 1, 32, 32, 7, 7, (7, 7), (3, 3)),
        desc(4, 1, 1, 32, 28, 28, (7, 7), (3, 3)),
        desc(3, 1, 6, 4, 5, 13, (5, 3), (2, 1)),
        desc(40, 1, 32, 32, 7, 7, (7, 7), (0, 0)),
    ];
    for threads in [1, 2, 3] {
        with_threads(threads, || {
            for (i, d) in cases.iter().enumerate() {
                check_conv::<f32>(*d, i as u64).unwrap();
                check_conv::<f64>(*d, 100 + i as u64).unwrap();
            }
        });
    }
}

/// The same inputs give the same bits, call after call, for a given thread count.
#[test]
fn results_repeat_bit_for_bit() {
    let d = desc(10, 1, 8, 8, 9, 9, (7, 7), (3, 3));
    let mut rng = Rng::seed(7);
    let x: Vec<f32> = values(&mut rng, d.input_len(), -1.0, 1.0);
    let w: Vec<f32> = values(&mut rng, d.weight_len(), -1.0, 1.0);
    let dy: Vec<f32> = values(&mut rng, d.output_len(), -1.0, 1.0);
    for threads in [1, 2] {
        let run = || {
            with_threads(threads, || {
                (
                    Cpu.conv2d(&x, &w, &d).unwrap(),
                    Cpu.conv2d_backward_input(&dy, &w, &d).unwrap(),
                    Cpu.conv2d_backward_weight(&x, &dy, &d).unwrap(),
                )
            })
        };
        let (a, b) = (run(), run());
        assert_same("conv2d", &a.0, &b.0).unwrap();
        assert_same("conv2d_backward_input", &a.1, &b.1).unwrap();
        assert_same("conv2d_backward_weight", &a.2, &b.2).unwrap();
    }
}
