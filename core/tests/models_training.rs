//! Training-side behaviour of the models, in f64 on the reference backend: gradients
//! reach every parameter (θ included), θ's gradient matches finite differences, the
//! monotonic loss and weight-decay penalty, partial reports, and train vs eval passes.

use pgcnn_core::group::{GroupKind, SamplingMethod};
use pgcnn_core::kernel::{KernelNetConfig, KernelNetKind, ParamRole};
use pgcnn_core::layers::{ConvConfig, ForwardCtx, LayerParams};
use pgcnn_core::models::{BufferValue, Model, ModelConfig, NetKind, NormKind};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::random_tensor;
use pgcnn_core::Tensor;

const B: Reference = Reference;
type M = Model<Reference, f64>;

/// A small partial (or, for Augerino, augmenting) net with random sampling on 12×12
/// images of 2 channels, 3 classes.
fn config(net: NetKind, group: GroupKind) -> ModelConfig {
    let kernel = KernelNetConfig::new(KernelNetKind::Siren, 8, 3);
    let mut conv = ConvConfig::new(1, 1, 3, group, 4, kernel);
    conv.partial = !net.is_augerino();
    conv.sample_per_layer = !net.is_augerino();
    conv.sampling = SamplingMethod::Random;
    let mut c = ModelConfig::new(net, 2, 3, [12, 12], 3, conv);
    c.block_widths = vec![3, 4];
    c.pool_blocks = if net.is_ckresnet() {
        vec![0, 1]
    } else {
        vec![1]
    };
    c
}

fn images(seed: u64) -> Tensor<Reference, f64> {
    random_tensor(&B, &mut Rng::seed(seed), &[4, 2, 12, 12], 0.0, 1.0).unwrap()
}

const LABELS: [usize; 4] = [0, 2, 1, 2];

/// Conv biases that a norm over the whole (N, H, W) of their channel cancels: their
/// gradient is zero by construction (as in the reference).
fn bias_cancelled_by_norm(name: &str, norm: NormKind) -> bool {
    // An Augerino baseline's network is under "net.".
    let name = name.strip_prefix("net.").unwrap_or(name);
    let conv_bias = name == "lift.bias"
        || name == "last.bias"
        || name.ends_with(".conv1.bias")
        || name.ends_with(".conv2.bias")
        || name.ends_with(".conv.bias");
    let per_sample_norm = name.starts_with("blocks.");
    conv_bias && (norm == NormKind::BatchNorm || per_sample_norm)
}

fn max_abs(t: &Tensor<Reference, f64>) -> f64 {
    // NaN propagates (f64::max would drop it).
    t.to_vec().unwrap().iter().fold(0.0, |a, v| {
        if v.is_nan() || a.is_nan() {
            f64::NAN
        } else {
            a.max(v.abs())
        }
    })
}

#[test]
fn gradients_reach_every_parameter() {
    let cases = [
        (NetKind::CKResNet, GroupKind::Se2, NormKind::BatchNorm),
        (NetKind::CKResNet, GroupKind::E2, NormKind::LayerNorm),
        (NetKind::Gcnn, GroupKind::Se2, NormKind::BatchNorm),
        (NetKind::Gcnn, GroupKind::E2, NormKind::LayerNorm),
        (
            NetKind::AugerinoCKResNet,
            GroupKind::Se2,
            NormKind::BatchNorm,
        ),
        (NetKind::AugerinoGcnn, GroupKind::Se2, NormKind::LayerNorm),
    ];
    for (net, group, norm) in cases {
        let mut c = config(net, group);
        c.norm = norm;
        let mut model = M::new(&B, &c, &mut Rng::seed(0)).unwrap();
        let mut ctx = ForwardCtx::train(Rng::seed(1), 0.5).collecting_kernel_norms();
        let loss = model
            .forward(&images(2), &mut ctx)
            .unwrap()
            .cross_entropy(&LABELS)
            .unwrap()
            .add(&model.weight_decay_penalty(&ctx, 1e-3).unwrap())
            .unwrap();
        let grads = loss.backward().unwrap();
        let mut thetas = 0;
        for ((p, name), role) in model
            .params()
            .iter()
            .zip(model.param_names())
            .zip(model.param_roles())
        {
            // The E(2) mirror's logit only learns from draws that keep the mirror.
            if name.ends_with("mirror_logit") {
                continue;
            }
            let g = grads.get(p).map(max_abs).unwrap_or(0.0);
            if role == ParamRole::Main && bias_cancelled_by_norm(&name, norm) {
                assert!(
                    g < 1e-9,
                    "{net:?} {group:?}: {name} should get none, got {g:e}"
                );
                assert!(!g.is_nan(), "{net:?} {group:?}: {name}: NaN gradient");
                continue;
            }
            assert!(
                g > 1e-12,
                "{net:?} {group:?} {norm:?}: no gradient for {name} ({g})"
            );
            thetas += usize::from(name.ends_with("theta"));
        }
        let expected_thetas = match net {
            NetKind::CKResNet => 5,
            NetKind::Gcnn => 2,
            _ => 1,
        };
        assert_eq!(thetas, expected_thetas, "{net:?} {group:?}");
    }
}

/// The loss of one seeded evaluation pass with θ of parameter `index` set to `theta`.
fn loss_at(model: &mut M, index: usize, theta: f64) -> (f64, f64) {
    model.params_mut()[index]
        .set(Tensor::from_f64s(&B, &[theta], [1]).unwrap())
        .unwrap();
    let mut ctx = ForwardCtx::eval(Rng::seed(5));
    let loss = model
        .forward(&images(3), &mut ctx)
        .unwrap()
        .cross_entropy(&LABELS)
        .unwrap();
    let grads = loss.backward().unwrap();
    let g = grads
        .get(model.params()[index])
        .unwrap()
        .to_scalar()
        .unwrap();
    (loss.to_scalar().unwrap(), g)
}

#[test]
fn theta_gradients_match_finite_differences() {
    // θ = 0.7 with N = 4: N' = ⌈2.8⌉ = 3 rotations on either side of the step.
    for (net, theta_name) in [
        (NetKind::CKResNet, "blocks.1.conv1.partial.theta"),
        (NetKind::CKResNet, "last.partial.theta"),
        (NetKind::Gcnn, "layers.0.conv.partial.theta"),
        (NetKind::AugerinoCKResNet, "augment.theta"),
        (NetKind::AugerinoGcnn, "augment.theta"),
    ] {
        let mut model = M::new(&B, &config(net, GroupKind::Se2), &mut Rng::seed(0)).unwrap();
        let index = model
            .param_names()
            .iter()
            .position(|n| n == theta_name)
            .unwrap();
        let eps = 1e-6;
        let (_, analytic) = loss_at(&mut model, index, 0.7);
        let (plus, _) = loss_at(&mut model, index, 0.7 + eps);
        let (minus, _) = loss_at(&mut model, index, 0.7 - eps);
        let numeric = (plus - minus) / (2.0 * eps);
        let err = (analytic - numeric).abs() / (1e-7 + 1e-4 * numeric.abs());
        assert!(
            err <= 1.0,
            "{net:?} {theta_name}: autodiff {analytic:e} vs finite difference {numeric:e}"
        );
        assert!(
            numeric.abs() > 1e-8,
            "{net:?} {theta_name}: θ has no effect"
        );
    }
}

#[test]
fn monotonic_loss_penalises_later_layers_that_grow() {
    let mut model = M::new(
        &B,
        &config(NetKind::CKResNet, GroupKind::Se2),
        &mut Rng::seed(0),
    )
    .unwrap();
    assert_eq!(model.thetas().len(), 5);
    assert_eq!(model.monotonic_loss(0.1).unwrap().to_scalar().unwrap(), 0.0);
    // θ = [1, 0.5, 0.8, 0.8, 1.2]: relu steps 0 + 0.3 + 0 + 0.4 = 0.7.
    let values = [1.0, 0.5, 0.8, 0.8, 1.2];
    let names = model.param_names();
    let mut k = 0;
    for (p, n) in model.params_mut().into_iter().zip(&names) {
        if n.ends_with("theta") {
            p.set(Tensor::from_f64s(&B, &[values[k]], [1]).unwrap())
                .unwrap();
            k += 1;
        }
    }
    let loss = model.monotonic_loss(0.1).unwrap();
    assert!((loss.to_scalar().unwrap() - 0.07).abs() < 1e-12);
    let grads = loss.backward().unwrap();
    let theta_grads: Vec<f64> = model
        .params()
        .iter()
        .zip(&names)
        .filter(|(_, n)| n.ends_with("theta"))
        .map(|(p, _)| grads.get(p).map_or(0.0, |g| g.to_scalar().unwrap()))
        .collect();
    let want = [0.0, -0.1, 0.1, -0.1, 0.1];
    for (g, w) in theta_grads.iter().zip(want) {
        assert!((g - w).abs() < 1e-12, "{theta_grads:?}");
    }
    // Nets without θ (deterministic sampling, Augerino) have no monotonic loss.
    let mut c = config(NetKind::CKResNet, GroupKind::Se2);
    c.conv.sampling = SamplingMethod::Deterministic;
    c.conv.sample_per_layer = false;
    let det = M::new(&B, &c, &mut Rng::seed(0)).unwrap();
    assert!(det.thetas().is_empty());
    let aug = M::new(
        &B,
        &config(NetKind::AugerinoCKResNet, GroupKind::Se2),
        &mut Rng::seed(0),
    )
    .unwrap();
    assert!(aug.thetas().is_empty());
}

#[test]
fn weight_decay_sums_the_kernel_norms_of_every_convolution() {
    let mut model = M::new(
        &B,
        &config(NetKind::CKResNet, GroupKind::Se2),
        &mut Rng::seed(0),
    )
    .unwrap();
    let mut ctx = ForwardCtx::train(Rng::seed(1), 0.5).collecting_kernel_norms();
    model.forward(&images(2), &mut ctx).unwrap();
    let norms = ctx.kernel_norms.as_ref().unwrap();
    // Lifting, 2 blocks × (2 group convolutions + shortcut), the last.
    assert_eq!(norms.len(), 8);
    let sum: f64 = norms.iter().map(|n| n.to_scalar().unwrap()).sum();
    let penalty = model.weight_decay_penalty(&ctx, 0.01).unwrap();
    assert_eq!(penalty.dims(), &[] as &[usize]);
    assert!((penalty.to_scalar().unwrap() - 0.01 * sum).abs() < 1e-12 * sum);
    assert!(sum > 0.0);
    // Without collected norms: an error, unless the weight is 0.
    let plain = ForwardCtx::<Reference, f64>::train(Rng::seed(1), 0.5);
    assert!(model.weight_decay_penalty(&plain, 0.01).is_err());
    assert_eq!(
        model
            .weight_decay_penalty(&plain, 0.0)
            .unwrap()
            .to_scalar()
            .unwrap(),
        0.0
    );
}

#[test]
fn partial_reports_name_every_partial_layer() {
    let model = M::new(
        &B,
        &config(NetKind::CKResNet, GroupKind::E2),
        &mut Rng::seed(0),
    )
    .unwrap();
    let reports = model.partial_reports().unwrap();
    let names: Vec<&str> = reports.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "blocks.0.conv1",
            "blocks.0.conv2",
            "blocks.1.conv1",
            "blocks.1.conv2",
            "last"
        ]
    );
    for (_, r) in &reports {
        assert_eq!(r.theta, Some(1.0));
        assert!(r.mirror_keep.is_some());
    }
    let aug = M::new(
        &B,
        &config(NetKind::AugerinoGcnn, GroupKind::E2),
        &mut Rng::seed(0),
    )
    .unwrap();
    let reports = aug.partial_reports().unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].0, "augment");
    assert_eq!(reports[0].1.theta, Some(1.0));
    let mut c = config(NetKind::CKResNet, GroupKind::Se2);
    c.conv.partial = false;
    let full = M::new(&B, &c, &mut Rng::seed(0)).unwrap();
    assert!(full.partial_reports().unwrap().is_empty());
}

fn count_of(model: &M, name: &str) -> u64 {
    model
        .buffers()
        .into_iter()
        .find_map(|(n, v)| match v {
            BufferValue::Count(c) if n == name => Some(c),
            _ => None,
        })
        .unwrap()
}

#[test]
fn training_passes_update_statistics_and_evaluation_passes_do_not() {
    // A fully equivariant net on the deterministic grid, with dropout.
    let mut c = config(NetKind::CKResNet, GroupKind::Se2);
    c.conv.partial = false;
    c.conv.sample_per_layer = false;
    c.conv.sampling = SamplingMethod::Deterministic;
    c.dropout = 0.5;
    let mut model = M::new(&B, &c, &mut Rng::seed(0)).unwrap();
    let x = images(4);
    let eval = |m: &mut M, seed| {
        m.forward(&x, &mut ForwardCtx::eval(Rng::seed(seed)))
            .unwrap()
            .to_vec()
            .unwrap()
    };
    let before = eval(&mut model, 1);
    assert_eq!(before, eval(&mut model, 2), "evaluation draws nothing here");
    assert_eq!(count_of(&model, "lift_norm.num_batches_tracked"), 0);
    let train = |m: &mut M, seed| {
        m.forward(&x, &mut ForwardCtx::train(Rng::seed(seed), 0.5))
            .unwrap()
            .to_vec()
            .unwrap()
    };
    assert_ne!(
        train(&mut model, 1),
        train(&mut model, 2),
        "dropout differs"
    );
    assert_eq!(count_of(&model, "blocks.1.norm.num_batches_tracked"), 2);
    assert_ne!(before, eval(&mut model, 1), "running statistics moved");
}
