//! Invariance of whole models' logits (f64, reference backend) under the transformations
//! of their group, measured with the equivariance harness: quarter turns for SE(2), and
//! the reflections of D4 too for E(2). Exact up to round-off, since the deterministic
//! grids (and, at θ = 1, the stratified random ones) are closed under quarter turns.

use pgcnn_core::equivariance::{
    check_equivariance, standard_transformations, EquivarianceOptions, Signal,
};
use pgcnn_core::group::{GroupKind, SamplingMethod};
use pgcnn_core::kernel::{KernelNetConfig, KernelNetKind};
use pgcnn_core::layers::{ConvConfig, ForwardCtx};
use pgcnn_core::models::{Model, ModelConfig, NetKind, NormKind};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::random_tensor;

const B: Reference = Reference;

/// A full (not partial) net on the deterministic grid: 12×12 images, kernel 5, widths
/// [3, 4] (block 1 with the identity shortcut, block 2 with a pointwise one).
fn full(net: NetKind, group: GroupKind, samples: usize) -> ModelConfig {
    let kernel = KernelNetConfig::new(KernelNetKind::Siren, 8, 3);
    let mut conv = ConvConfig::new(1, 1, 5, group, samples, kernel);
    conv.sampling = SamplingMethod::Deterministic;
    let mut c = ModelConfig::new(net, 1, 4, [12, 12], 3, conv);
    c.block_widths = vec![3, 4];
    c.pool_blocks = if net == NetKind::CKResNet {
        vec![0] // 12 → 6, then the last valid 5×5 convolution: 2×2
    } else {
        vec![1]
    };
    c
}

/// The largest relative error of the logits over the group's standard transformations,
/// in a training pass (batch statistics) and an evaluation pass (running statistics).
fn worst_error(config: &ModelConfig) -> f64 {
    let mut model = Model::<Reference, f64>::new(&B, config, &mut Rng::seed(0)).unwrap();
    let x = random_tensor(&B, &mut Rng::seed(1), &[2, 1, 12, 12], 0.0, 1.0).unwrap();
    let ts = standard_transformations(config.conv.group);
    let mut worst: f64 = 0.0;
    for training in [true, false] {
        let report = check_equivariance(
            &Signal::Image(x.clone()),
            |s| {
                // Seeded afresh: both passes draw the same elements.
                let mut ctx = if training {
                    ForwardCtx::train(Rng::seed(7), 0.5)
                } else {
                    ForwardCtx::eval(Rng::seed(7))
                };
                Ok(Signal::Invariant(model.forward(s.tensor(), &mut ctx)?))
            },
            &ts,
            EquivarianceOptions::default(),
        )
        .unwrap();
        println!(
            "{:?} {} training={training}: {report}",
            config.net, config.conv.group
        );
        worst = worst.max(report.max_relative_error());
    }
    worst
}

#[test]
fn a_full_se2_ckresnet_is_invariant_to_quarter_turns() {
    let err = worst_error(&full(NetKind::CKResNet, GroupKind::Se2, 4));
    assert!(err < 1e-10, "{err:e}");
}

#[test]
fn a_full_e2_ckresnet_is_invariant_to_the_symmetries_of_the_square() {
    let mut c = full(NetKind::CKResNet, GroupKind::E2, 8);
    c.norm = NormKind::LayerNorm;
    let err = worst_error(&c);
    assert!(err < 1e-10, "{err:e}");
}

#[test]
fn a_full_se2_gcnn_is_invariant_to_quarter_turns() {
    let err = worst_error(&full(NetKind::Gcnn, GroupKind::Se2, 8));
    assert!(err < 1e-10, "{err:e}");
}

#[test]
fn a_partial_ckresnet_at_theta_one_is_invariant_too() {
    // θ = 1: each layer draws a stratified grid of 4 rotations over the whole circle,
    // closed under quarter turns; per-image draws exercise the grouped convolutions.
    let mut c = full(NetKind::CKResNet, GroupKind::Se2, 4);
    c.conv.sampling = SamplingMethod::Random;
    c.conv.sample_per_layer = true;
    c.conv.sample_per_batch_element = true;
    c.conv.partial = true;
    let err = worst_error(&c);
    assert!(err < 1e-10, "{err:e}");
}

#[test]
fn the_check_can_fail() {
    // last_conv_T2 ends in a plain convolution (on the identity alone): not invariant.
    let mut c = full(NetKind::CKResNet, GroupKind::Se2, 4);
    c.last_conv_t2 = true;
    let err = worst_error(&c);
    assert!(err > 1e-4, "{err:e}");
}
