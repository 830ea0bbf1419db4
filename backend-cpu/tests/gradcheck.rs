//! Finite-difference gradient checks on the CPU backend in f64: matmul (every transpose,
//! shared operands) through the core's op, and conv2d through a minimal differentiable
//! wrapper whose backward rule is the backend's two gradient primitives.

mod common;

use common::grouped_conv;
use pgcnn_core::backend::{Backend, Conv2dDesc};
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::{check_gradients, random_tensor, GradCheck};
use pgcnn_core::{Result, Tensor};
use pgcnn_cpu::Cpu;

type T = Tensor<Cpu, f64>;

fn rand(rng: &mut Rng, dims: &[usize]) -> T {
    random_tensor(&Cpu, rng, dims, -1.0, 1.0).unwrap()
}

/// conv2d as a recorded op: forward through `Backend::conv2d`, backward through
/// `conv2d_backward_input` and `conv2d_backward_weight`.
fn conv(x: &T, w: &T, d: Conv2dDesc) -> Result<T> {
    let y = x.backend().conv2d(x.storage(), w.storage(), &d)?;
    let dims = [d.batch, d.out_channels, d.out_h(), d.out_w()];
    Ok(x.record(y, dims, &[x, w], move |xs: &[T], _: &T, g: &T| {
        let (x, w) = (&xs[0], &xs[1]);
        let dx = g
            .backend()
            .conv2d_backward_input(g.storage(), w.storage(), &d)?;
        let dw = g
            .backend()
            .conv2d_backward_weight(x.storage(), g.storage(), &d)?;
        Ok(vec![
            Some(g.with_storage(dx, x.shape().clone())),
            Some(g.with_storage(dw, w.shape().clone())),
        ])
    }))
}

#[test]
fn matmul_on_cpu_matches_finite_differences() {
    let mut rng = Rng::seed(11);
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let a_dims = if ta { [2, 4, 3] } else { [2, 3, 4] };
        let b_dims = if tb { [2, 5, 4] } else { [2, 4, 5] };
        let (a, b) = (rand(&mut rng, &a_dims), rand(&mut rng, &b_dims));
        let f = |xs: &[T]| xs[0].matmul_t(&xs[1], ta, tb);
        check_gradients(&[a.clone(), b.clone()], f, GradCheck::default()).unwrap();
        let shared_b = rand(&mut rng, &b_dims[1..]);
        check_gradients(&[a, shared_b], f, GradCheck::default()).unwrap();
        let shared_a = rand(&mut rng, &a_dims[1..]);
        check_gradients(&[shared_a, b], f, GradCheck::default()).unwrap();
    }
}

#[test]
fn conv2d_on_cpu_matches_finite_differences() {
    let mut rng = Rng::seed(12);
    // Square kernels and equal padding on both axes.
    let d = |batch, groups, cig, cog, h, w, k, pad| {
        grouped_conv(batch, groups, cig, cog, h, w, (k, k), (pad, pad))
    };
    // Plain, grouped, padding past kernel - 1 (the input gradient then crops), valid.
    for desc in [
        d(2, 1, 2, 3, 5, 4, 3, 1),
        d(2, 2, 2, 1, 4, 5, 3, 1),
        d(1, 1, 1, 2, 3, 3, 1, 2),
        d(2, 1, 3, 2, 6, 5, 5, 0),
    ] {
        let x = rand(
            &mut rng,
            &[desc.batch, desc.in_channels, desc.in_h, desc.in_w],
        );
        let w = rand(
            &mut rng,
            &[
                desc.out_channels,
                desc.in_per_group(),
                desc.kernel_h,
                desc.kernel_w,
            ],
        );
        let worst = check_gradients(
            &[x, w],
            |xs| conv(&xs[0], &xs[1], desc),
            GradCheck::default(),
        )
        .unwrap_or_else(|e| panic!("{desc:?}: {e}"));
        assert!(worst <= 1.0);
    }
}
