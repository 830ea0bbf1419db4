//! Model structure: parameter counts (the configs of docs/benchmarks.md and a naive
//! formula), unique hierarchical names and roles, output shapes for every net type and
//! group, evaluation without a graph, buffers that round-trip, and configs that are
//! refused.

use pgcnn_core::group::{GroupKind, SamplingMethod};
use pgcnn_core::kernel::{KernelNetConfig, KernelNetKind, ParamRole};
use pgcnn_core::layers::{ConvConfig, ForwardCtx, LayerParams};
use pgcnn_core::models::{BufferValue, Model, ModelConfig, NetKind, NormKind};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::random_tensor;
use pgcnn_core::Tensor;
use std::collections::HashSet;

const B: Reference = Reference;

/// A CKResNet as the reference's rotMNIST experiments build it (SIREN 3 layers, kernel
/// 7, BatchNorm, bias, pools after the lifting layer and block 1, 28×28 images), with the given group, samples, widths and options.
fn ckresnet(
    group: GroupKind,
    samples: usize,
    hidden: usize,
    no_hidden: usize,
    widths: &[usize],
    partial: bool,
    per_layer: bool,
) -> ModelConfig {
    let kernel = KernelNetConfig::new(KernelNetKind::Siren, hidden, 3);
    let mut conv = ConvConfig::new(1, 1, 7, group, samples, kernel);
    conv.partial = partial;
    conv.sample_per_layer = per_layer;
    conv.sampling = if samples == 1 {
        SamplingMethod::Deterministic
    } else {
        SamplingMethod::Random
    };
    let mut c = ModelConfig::new(NetKind::CKResNet, 1, 10, [28, 28], no_hidden, conv);
    c.block_widths = widths.to_vec();
    c.pool_blocks = vec![0, 1];
    c
}

fn count(config: &ModelConfig) -> usize {
    Model::<Reference, f32>::new(&B, config, &mut Rng::seed(0))
        .unwrap()
        .num_params()
}

#[test]
fn benchmark_configs_have_the_reference_counts() {
    // docs/benchmarks.md; T(2) is the reference's SE(2) with one deterministic sample.
    assert_eq!(
        count(&ckresnet(GroupKind::Se2, 4, 16, 8, &[8, 8], true, true)),
        9_111
    );
    let t2 = ckresnet(GroupKind::Se2, 1, 32, 32, &[32, 64], false, false);
    assert_eq!(count(&t2), 450_074);
    assert_eq!(
        count(&ckresnet(GroupKind::Se2, 8, 32, 32, &[32, 64], false, true)),
        467_786
    );
    assert_eq!(
        count(&ckresnet(GroupKind::Se2, 8, 32, 32, &[32, 64], true, true)),
        467_791
    );
    assert_eq!(
        count(&ckresnet(GroupKind::E2, 8, 32, 32, &[32, 64], true, true)),
        467_988
    );
    let mut cifar = ckresnet(GroupKind::Se2, 8, 32, 32, &[32, 64], true, true);
    cifar.in_channels = 3;
    cifar.image_hw = [32, 32];
    assert_eq!(count(&cifar), 469_903);
    let mut mnist6 = ckresnet(GroupKind::Se2, 8, 32, 10, &[10, 10], true, true);
    mnist6.conv.kernel = KernelNetConfig::new(KernelNetKind::Magnet, 32, 3);
    mnist6.conv.sample_per_batch_element = true;
    mnist6.classes = 2;
    assert_eq!(count(&mnist6), 48_845);
}

/// SIREN with L = 3 layers: d → h → h → out, every layer with a bias.
fn siren(d: usize, h: usize, out: usize) -> usize {
    d * h + h + h * h + h + h * out + out
}

/// The count docs/math.md §6–§8 gives a SIREN CKResNet, written out by hand.
fn ckresnet_formula(c: &ModelConfig) -> usize {
    let conv = &c.conv;
    let s = conv.group.stabiliser_dim();
    let h = conv.kernel.hidden;
    let bias = |co: usize| if conv.bias { co } else { 0 };
    let partial = if !conv.partial {
        0
    } else {
        let n_r = conv.group.rotations_for(conv.no_samples).unwrap();
        let rotations = match conv.sampling {
            SamplingMethod::Random => 1,
            SamplingMethod::Deterministic => n_r - 1,
        };
        rotations + usize::from(conv.group == GroupKind::E2)
    };
    let gconv = |ci: usize, co: usize| siren(2 + s, h, ci * co) + bias(co) + partial;
    let norm = |ch: usize| 2 * ch;
    let mut total = siren(2, h, c.in_channels * c.no_hidden) + bias(c.no_hidden);
    total += norm(c.no_hidden);
    let mut ci = c.no_hidden;
    for &co in &c.block_widths {
        total += gconv(ci, co) + gconv(co, co) + norm(co);
        if ci != co || conv.sample_per_layer || conv.partial {
            total += siren(s.max(1), h / 2, ci * co);
        }
        ci = co;
    }
    total + gconv(ci, ci) + norm(ci) + ci * c.classes + c.classes
}

#[test]
fn counts_follow_the_formula() {
    let cases = [
        ckresnet(GroupKind::Se2, 4, 6, 3, &[3, 5], false, false),
        ckresnet(GroupKind::Se2, 4, 6, 3, &[3, 3], true, true),
        ckresnet(GroupKind::E2, 4, 4, 2, &[4], true, true),
        ckresnet(GroupKind::T2, 1, 4, 2, &[2, 3], false, false),
        {
            let mut c = ckresnet(GroupKind::E2, 8, 4, 2, &[2, 3], true, true);
            c.conv.sampling = SamplingMethod::Deterministic;
            c.conv.sample_per_layer = false;
            c.conv.bias = false;
            c
        },
    ];
    for c in &cases {
        assert_eq!(count(c), ckresnet_formula(c), "{c:?}");
    }
}

/// A small config for fast runs on 12×12 images.
fn small(net: NetKind, group: GroupKind) -> ModelConfig {
    let kernel = KernelNetConfig::new(KernelNetKind::Siren, 6, 3);
    let samples = match group {
        GroupKind::T2 => 1,
        _ => 4,
    };
    let mut conv = ConvConfig::new(1, 1, 3, group, samples, kernel);
    conv.sample_per_layer = group != GroupKind::T2;
    conv.partial = group != GroupKind::T2 && !net.is_augerino();
    conv.sampling = if group == GroupKind::T2 {
        SamplingMethod::Deterministic
    } else {
        SamplingMethod::Random
    };
    if net.is_augerino() {
        conv.sample_per_layer = false;
    }
    let mut c = ModelConfig::new(net, 2, 5, [12, 12], 3, conv);
    c.block_widths = vec![3, 4];
    c.pool_blocks = if net.is_ckresnet() {
        vec![0, 2]
    } else {
        vec![1]
    };
    if !net.is_ckresnet() {
        c.dropout_blocks = vec![2];
        c.dropout = 0.3;
    }
    c
}

const NETS: [NetKind; 4] = [
    NetKind::CKResNet,
    NetKind::Gcnn,
    NetKind::AugerinoCKResNet,
    NetKind::AugerinoGcnn,
];
const GROUPS: [GroupKind; 3] = [GroupKind::T2, GroupKind::Se2, GroupKind::E2];

fn images(batch: usize, hw: [usize; 2]) -> Tensor<Reference, f64> {
    random_tensor(&B, &mut Rng::seed(42), &[batch, 2, hw[0], hw[1]], 0.0, 1.0).unwrap()
}

#[test]
fn every_net_and_group_gives_logits_of_the_right_shape() {
    for net in NETS {
        for group in GROUPS {
            let c = small(net, group);
            if net.is_augerino() && group == GroupKind::T2 {
                assert!(Model::<Reference, f64>::new(&B, &c, &mut Rng::seed(0)).is_err());
                continue;
            }
            let mut model = Model::<Reference, f64>::new(&B, &c, &mut Rng::seed(0))
                .unwrap_or_else(|e| panic!("{net:?} {group:?}: {e}"));
            for training in [true, false] {
                let mut ctx = if training {
                    ForwardCtx::train(Rng::seed(1), 0.5)
                } else {
                    ForwardCtx::eval(Rng::seed(1))
                };
                let y = model
                    .forward(&images(3, c.image_hw), &mut ctx)
                    .unwrap_or_else(|e| panic!("{net:?} {group:?}: {e}"));
                assert_eq!(y.dims(), &[3, 5], "{net:?} {group:?}");
                assert!(y.to_vec().unwrap().iter().all(|v| v.is_finite()));
            }
        }
    }
}

/// `small` with full (not partial) layers on the fixed grid: nothing drawn in evaluation.
fn full_deterministic(net: NetKind, group: GroupKind) -> ModelConfig {
    let mut c = small(net, group);
    c.conv.partial = false;
    c.conv.sampling = SamplingMethod::Deterministic;
    c
}

#[test]
fn draws_in_evaluation_says_whether_two_seeds_can_disagree_and_most_likely_never_draws() {
    let configs = NETS.iter().flat_map(|&net| {
        GROUPS
            .iter()
            .flat_map(move |&g| [small(net, g), full_deterministic(net, g)])
    });
    let mut drawing = 0;
    for c in configs {
        let Ok(mut model) = Model::<Reference, f64>::new(&B, &c, &mut Rng::seed(0)) else {
            continue; // Augerino over T(2) is refused (tested above).
        };
        let what = format!("{:?} {:?} partial={}", c.net, c.conv.group, c.conv.partial);
        let x = images(2, c.image_hw);
        let mut pass = |ctx: ForwardCtx<Reference, f64>| {
            let mut ctx = ctx;
            model.forward(&x, &mut ctx).unwrap().to_vec().unwrap()
        };
        let (a, b) = (
            pass(ForwardCtx::eval(Rng::seed(1))),
            pass(ForwardCtx::eval(Rng::seed(2))),
        );
        let (m1, m2) = (
            pass(ForwardCtx::most_likely(Rng::seed(1))),
            pass(ForwardCtx::most_likely(Rng::seed(2))),
        );
        assert_eq!(m1, m2, "{what}: a most-likely pass draws nothing");
        assert!(m1.iter().all(|v| v.is_finite()), "{what}");
        let draws = model.draws_in_evaluation();
        assert_eq!(draws, a != b, "{what}: draws_in_evaluation() = {draws}");
        drawing += usize::from(draws);
    }
    assert!(drawing >= 8, "only {drawing} of the configs draw");
}

#[test]
fn a_model_without_graph_evaluates_the_same_and_records_nothing() {
    for net in NETS {
        for group in [GroupKind::Se2, GroupKind::E2] {
            let c = small(net, group);
            let mut model = Model::<Reference, f64>::new(&B, &c, &mut Rng::seed(0)).unwrap();
            let mut frozen = model.without_graph();
            let x = images(2, c.image_hw);
            let tracked = model
                .forward(&x, &mut ForwardCtx::eval(Rng::seed(3)))
                .unwrap();
            let untracked = frozen
                .forward(&x, &mut ForwardCtx::eval(Rng::seed(3)))
                .unwrap();
            assert!(
                tracked.requires_grad(),
                "{net:?} {group:?}: the model records a graph"
            );
            assert!(
                !untracked.requires_grad(),
                "{net:?} {group:?}: the copy records none"
            );
            assert_eq!(
                tracked.to_vec().unwrap(),
                untracked.to_vec().unwrap(),
                "{net:?} {group:?}"
            );
            // The original still trains: its parameters are tracked.
            assert!(model.params().iter().all(|p| p.tensor().requires_grad()));
        }
    }
}

#[test]
fn options_give_logits_of_the_right_shape() {
    let mut variants = Vec::new();
    for group in GROUPS {
        let mut c = small(NetKind::CKResNet, group);
        c.last_conv_t2 = true;
        variants.push(c);
        let mut c = small(NetKind::CKResNet, group);
        c.conv.partial = false;
        c.learnable_final_pooling = true;
        variants.push(c.clone());
        c.last_conv_t2 = true;
        variants.push(c);
        let mut c = small(NetKind::Gcnn, group);
        c.norm = NormKind::LayerNorm;
        variants.push(c);
    }
    // Per-image draws, deterministic partial layers, a net with no blocks, odd sizes.
    let mut c = small(NetKind::CKResNet, GroupKind::Se2);
    c.conv.sample_per_batch_element = true;
    variants.push(c);
    let mut c = small(NetKind::CKResNet, GroupKind::E2);
    c.conv.sampling = SamplingMethod::Deterministic;
    c.conv.sample_per_layer = false;
    variants.push(c);
    let mut c = small(NetKind::CKResNet, GroupKind::Se2);
    c.block_widths.clear();
    c.pool_blocks = vec![0];
    variants.push(c);
    let mut c = small(NetKind::CKResNet, GroupKind::Se2);
    c.image_hw = [13, 15];
    variants.push(c);
    for c in variants {
        let mut model = Model::<Reference, f64>::new(&B, &c, &mut Rng::seed(0))
            .unwrap_or_else(|e| panic!("{c:?}: {e}"));
        let mut ctx = ForwardCtx::train(Rng::seed(1), 0.5);
        let y = model
            .forward(&images(2, c.image_hw), &mut ctx)
            .unwrap_or_else(|e| panic!("{c:?}: {e}"));
        assert_eq!(y.dims(), &[2, 5], "{c:?}");
    }
}

#[test]
fn names_are_unique_hierarchical_and_match_the_roles() {
    for net in NETS {
        for group in [GroupKind::Se2, GroupKind::E2] {
            let model =
                Model::<Reference, f64>::new(&B, &small(net, group), &mut Rng::seed(0)).unwrap();
            let names = model.param_names();
            let roles = model.param_roles();
            assert_eq!(names.len(), model.params().len());
            assert_eq!(roles.len(), names.len());
            let unique: HashSet<&String> = names.iter().collect();
            assert_eq!(unique.len(), names.len(), "{net:?} {group:?}: {names:?}");
            for (n, r) in names.iter().zip(&roles) {
                let probs = n.contains(".partial.") || n.starts_with("augment.");
                assert_eq!(*r == ParamRole::Probs, probs, "{n}");
            }
            let mut mutable =
                Model::<Reference, f64>::new(&B, &small(net, group), &mut Rng::seed(0)).unwrap();
            let ids: Vec<_> = mutable
                .params_mut()
                .iter()
                .map(|p| p.dims().to_vec())
                .collect();
            let want: Vec<_> = model.params().iter().map(|p| p.dims().to_vec()).collect();
            assert_eq!(ids, want, "params_mut follows params");
        }
    }
    let model = Model::<Reference, f64>::new(
        &B,
        &small(NetKind::CKResNet, GroupKind::Se2),
        &mut Rng::seed(0),
    )
    .unwrap();
    let names = model.param_names();
    for expected in [
        "lift.kernel_net.layers.0.weight",
        "lift.bias",
        "lift_norm.weight",
        "blocks.0.conv1.partial.theta",
        "blocks.0.conv2.kernel_net.output.bias",
        "blocks.1.shortcut.kernel_net.layers.0.weight",
        "blocks.1.norm.bias",
        "last.partial.theta",
        "last_norm.weight",
        "head.weight",
        "head.bias",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    let augerino = Model::<Reference, f64>::new(
        &B,
        &small(NetKind::AugerinoCKResNet, GroupKind::E2),
        &mut Rng::seed(0),
    )
    .unwrap();
    let names = augerino.param_names();
    assert_eq!(&names[..2], &["augment.theta", "augment.mirror_logit"]);
    assert!(names.contains(&"net.head.weight".to_string()));
}

#[test]
fn buffers_round_trip() {
    for net in NETS {
        let c = small(net, GroupKind::Se2);
        let mut trained = Model::<Reference, f64>::new(&B, &c, &mut Rng::seed(0)).unwrap();
        for step in 0..2 {
            let mut ctx = ForwardCtx::train(Rng::seed(step), 0.5);
            trained.forward(&images(2, c.image_hw), &mut ctx).unwrap();
        }
        let buffers = trained.buffers();
        // Lifting norm, 2 blocks and (CKResNet) the last norm: three buffers each.
        let norms = if net.is_ckresnet() { 4 } else { 3 };
        assert_eq!(buffers.len(), 3 * norms, "{net:?}");
        let mut fresh = Model::<Reference, f64>::new(&B, &c, &mut Rng::seed(9)).unwrap();
        for (name, value) in &buffers {
            fresh.set_buffer(name, value.clone()).unwrap();
        }
        for ((n1, v1), (n2, v2)) in buffers.iter().zip(fresh.buffers()) {
            assert_eq!(n1, &n2);
            match (v1, v2) {
                (BufferValue::Tensor(a), BufferValue::Tensor(b)) => {
                    assert_eq!(a.to_vec().unwrap(), b.to_vec().unwrap(), "{n1}")
                }
                (BufferValue::Count(a), BufferValue::Count(b)) => assert_eq!(*a, b, "{n1}"),
                _ => panic!("{n1}: kinds differ"),
            }
        }
        let counts: Vec<u64> = buffers
            .iter()
            .filter_map(|(_, v)| match v {
                BufferValue::Count(c) => Some(*c),
                _ => None,
            })
            .collect();
        assert!(counts.iter().all(|&c| c == 2), "{net:?}: {counts:?}");
    }
    let c = small(NetKind::CKResNet, GroupKind::Se2);
    let mut m = Model::<Reference, f64>::new(&B, &c, &mut Rng::seed(0)).unwrap();
    let t = || BufferValue::Tensor(Tensor::zeros(&B, [3]).unwrap());
    assert!(m.set_buffer("nowhere.running_mean", t()).is_err());
    assert!(m
        .set_buffer("lift_norm.running_mean", BufferValue::Count(1))
        .is_err());
    assert!(m.set_buffer("lift_norm.weight", t()).is_err());
    assert!(m
        .set_buffer(
            "lift_norm.running_var",
            BufferValue::Tensor(Tensor::zeros(&B, [4]).unwrap())
        )
        .is_err());
    assert!(m.set_buffer("lift_norm.running_var", t()).is_ok());
    // LayerNorm has no running statistics.
    let mut c = small(NetKind::Gcnn, GroupKind::Se2);
    c.norm = NormKind::LayerNorm;
    let m = Model::<Reference, f64>::new(&B, &c, &mut Rng::seed(0)).unwrap();
    assert!(m.buffers().is_empty());
}

#[test]
fn bad_configs_and_inputs_are_errors() {
    let base = small(NetKind::CKResNet, GroupKind::Se2);
    let mut bad = Vec::new();
    let mut c = base.clone();
    c.pool_blocks = vec![3];
    bad.push(c);
    let mut c = base.clone();
    c.block_widths = vec![3, 0];
    bad.push(c);
    let mut c = base.clone();
    c.learnable_final_pooling = true; // partial
    bad.push(c);
    let mut c = base.clone();
    c.dropout_blocks = vec![1]; // GCNN only
    bad.push(c);
    let mut c = base.clone();
    c.pool_blocks = vec![0, 1, 2]; // 12 → 6 → 3 → 1, too small for the 3×3 valid conv
    bad.push(c);
    let mut c = small(NetKind::AugerinoCKResNet, GroupKind::Se2);
    c.conv.partial = true;
    bad.push(c);
    let mut c = small(NetKind::Gcnn, GroupKind::Se2);
    c.last_conv_t2 = true;
    bad.push(c);
    let mut c = base.clone();
    c.dropout = 1.0;
    bad.push(c);
    for c in bad {
        assert!(
            Model::<Reference, f64>::new(&B, &c, &mut Rng::seed(0)).is_err(),
            "{c:?}"
        );
    }
    let mut m = Model::<Reference, f64>::new(&B, &base, &mut Rng::seed(0)).unwrap();
    let mut ctx = ForwardCtx::eval(Rng::seed(0));
    for dims in [&[2, 1, 12, 12][..], &[2, 12, 12], &[0, 2, 12, 12]] {
        let x = Tensor::zeros(&B, dims.to_vec()).unwrap();
        assert!(m.forward(&x, &mut ctx).is_err(), "{dims:?}");
    }
}
