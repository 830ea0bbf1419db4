//! GEMM and max pooling of `Cpu` against the reference backend, in f32 and f64: GEMM in
//! all four transpose combinations with batch strides (0 included), and 2×2 max pooling
//! with ties. (Convolutions are checked by the conformance suite: conformance.rs.)
//!
//! GEMMs sum in another order than the reference (blocked, and split
//! over threads), so they are compared within `common::tol` relative to the result's
//! magnitude (see there for the bound). Pooling only compares and copies: exact.

mod common;

use common::{assert_close, assert_same, config, tol, values, with_threads};
use pgcnn_core::backend::{Backend, Conv2dDesc, GemmDesc};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::Element;
use pgcnn_cpu::Cpu;
use proptest::prelude::*;

/// Buffer length a batch of strided matrices needs.
fn needed(batch: usize, stride: usize, one: usize) -> usize {
    if batch == 0 || one == 0 {
        0
    } else {
        (batch - 1) * stride + one
    }
}

fn check_gemm<E: Element>(d: GemmDesc, seed: u64) -> Result<(), TestCaseError> {
    let mut rng = Rng::seed(seed);
    let a: Vec<E> = values(
        &mut rng,
        needed(d.batch, d.a_batch_stride, d.m * d.k),
        -1.0,
        1.0,
    );
    let b: Vec<E> = values(
        &mut rng,
        needed(d.batch, d.b_batch_stride, d.k * d.n),
        -1.0,
        1.0,
    );
    let got = Cpu.gemm(&a, &b, &d).unwrap();
    let want = Reference.gemm(&a, &b, &d).unwrap();
    assert_close(&format!("{d:?}"), &got, &want, tol::<E>())
}

fn check_pool<E: Element>(
    planes: usize,
    h: usize,
    w: usize,
    seed: u64,
) -> Result<(), TestCaseError> {
    let mut rng = Rng::seed(seed);
    // Small integers: windows often hold their maximum twice (the first one must win).
    let x: Vec<E> = (0..planes * h * w)
        .map(|_| E::from_usize(rng.below(4)))
        .collect();
    let dy: Vec<E> = values(&mut rng, planes * (h / 2) * (w / 2), -1.0, 1.0);
    let what = format!("max_pool2d {planes}×{h}×{w}");
    let got = Cpu.max_pool2d(&x, planes, h, w).unwrap();
    assert_same(
        &what,
        &got,
        &Reference.max_pool2d(&x, planes, h, w).unwrap(),
    )?;
    let got = Cpu.max_pool2d_backward(&x, &dy, planes, h, w).unwrap();
    let want = Reference
        .max_pool2d_backward(&x, &dy, planes, h, w)
        .unwrap();
    assert_same(&format!("{what} backward"), &got, &want)
}

fn gemm_desc() -> impl Strategy<Value = GemmDesc> {
    (
        0usize..4,
        0usize..9,
        0usize..9,
        0usize..9,
        any::<bool>(),
        any::<bool>(),
        0usize..3,
        0usize..3,
    )
        .prop_map(|(batch, m, n, k, a_trans, b_trans, sa, sb)| {
            // Batch stride: 0 (shared), packed, or with a gap between matrices.
            let stride = |choice: usize, size: usize| [0, size, size + 3][choice];
            GemmDesc {
                batch,
                m,
                n,
                k,
                a_trans,
                b_trans,
                a_batch_stride: stride(sa, m * k),
                b_batch_stride: stride(sb, k * n),
            }
        })
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn gemm_matches_reference(d in gemm_desc(), seed in any::<u64>()) {
        with_threads(3, || {
            check_gemm::<f32>(d, seed)?;
            check_gemm::<f64>(d, seed)
        })?;
    }

    #[test]
    fn max_pool_matches_reference(planes in 0usize..5, h in 0usize..9, w in 0usize..9, seed in any::<u64>()) {
        with_threads(3, || {
            check_pool::<f32>(planes, h, w, seed)?;
            check_pool::<f64>(planes, h, w, seed)
        })?;
    }
}

/// Products big enough to be split: over the batch, over row blocks, and a batch folded
/// into one tall product (shared right-hand matrix).
#[test]
fn large_gemms_match_reference() {
    let g = |batch, m, n, k, a_trans, b_trans, a_shared: bool, b_shared: bool| GemmDesc {
        batch,
        m,
        n,
        k,
        a_trans,
        b_trans,
        a_batch_stride: if a_shared { 0 } else { m * k },
        b_batch_stride: if b_shared { 0 } else { k * n },
    };
    with_threads(3, || {
        let cases = [
            g(1, 200, 100, 100, false, false, false, false),
            g(1, 150, 90, 110, true, true, false, false),
            g(5, 64, 64, 64, false, true, false, false),
            g(2, 100, 70, 80, true, false, false, true),
            g(4, 60, 100, 50, false, false, false, true),
            g(3, 70, 60, 90, false, false, true, false),
        ];
        for (i, d) in cases.into_iter().enumerate() {
            check_gemm::<f32>(d, i as u64).unwrap();
            check_gemm::<f64>(d, 100 + i as u64).unwrap();
        }
    });
}

#[test]
fn bad_descriptors_are_errors() {
    let v = vec![0.0f32; 64];
    let gemm = GemmDesc {
        batch: 2,
        m: 4,
        n: 4,
        k: 4,
        a_trans: false,
        b_trans: false,
        a_batch_stride: 16,
        b_batch_stride: 16,
    };
    assert!(Cpu.gemm(&v[..31].to_vec(), &v, &gemm).is_err());
    assert!(Cpu.gemm(&v, &v[..20].to_vec(), &gemm).is_err());
    let conv = Conv2dDesc {
        batch: 1,
        in_channels: 4,
        out_channels: 4,
        groups: 2,
        in_h: 4,
        in_w: 4,
        kernel_h: 3,
        kernel_w: 3,
        pad_h: 1,
        pad_w: 1,
    };
    let w = vec![0.0f32; conv.weight_len()];
    assert!(Cpu.conv2d(&v, &w, &conv).is_ok());
    assert!(Cpu.conv2d(&v[..63].to_vec(), &w, &conv).is_err());
    assert!(Cpu.conv2d(&v, &w[..5].to_vec(), &conv).is_err());
    assert!(Cpu
        .conv2d(&v, &w, &Conv2dDesc { groups: 0, ..conv })
        .is_err());
    assert!(Cpu
        .conv2d(&v, &w, &Conv2dDesc { groups: 3, ..conv })
        .is_err());
    assert!(Cpu
        .conv2d(
            &v,
            &w,
            &Conv2dDesc {
                kernel_h: 7,
                ..conv
            }
        )
        .is_err());
    assert!(Cpu
        .conv2d(
            &v,
            &w,
            &Conv2dDesc {
                kernel_w: 0,
                ..conv
            }
        )
        .is_err());
    assert!(Cpu
        .conv2d_backward_input(&v[..10].to_vec(), &w, &conv)
        .is_err());
    assert!(Cpu
        .conv2d_backward_weight(&v, &v[..10].to_vec(), &conv)
        .is_err());
    let huge = Conv2dDesc {
        pad_h: usize::MAX / 2,
        ..conv
    };
    assert!(Cpu.conv2d(&v, &w, &huge).is_err());
    assert!(Cpu.max_pool2d(&v, 2, 4, 5).is_err());
    assert!(Cpu
        .max_pool2d_backward(&v, &v[..3].to_vec(), 4, 4, 4)
        .is_err());
}
