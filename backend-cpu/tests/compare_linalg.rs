//! Max pooling of `Cpu` against the reference backend, in f32 and f64, 2×2 with ties:
//! pooling only compares and copies, so the results must be exact. (Convolutions and GEMM
//! are checked by the conformance suite: conformance.rs.)

mod common;

use common::{assert_same, config, values, with_threads};
use pgcnn_core::backend::{Backend, Conv2dDesc};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::Element;
use pgcnn_cpu::Cpu;
use proptest::prelude::*;

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

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn max_pool_matches_reference(planes in 0usize..5, h in 0usize..9, w in 0usize..9, seed in any::<u64>()) {
        with_threads(3, || {
            check_pool::<f32>(planes, h, w, seed)?;
            check_pool::<f64>(planes, h, w, seed)
        })?;
    }
}

#[test]
fn bad_descriptors_are_errors() {
    let v = vec![0.0f32; 64];
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
