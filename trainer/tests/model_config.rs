//! Config → ModelConfig: every preset converts and builds, the benchmark configs have
//! exactly the reference's parameter counts, and options the core lacks are errors.

use pgcnn::config::{preset, presets, Config};
use pgcnn::model_config::model_config;
use pgcnn_core::group::{GroupKind, KeepParameterisation, SamplingMethod};
use pgcnn_core::kernel::KernelNetKind;
use pgcnn_core::layers::LayerParams;
use pgcnn_core::models::{Model, ModelConfig, NetKind, NormKind};
use pgcnn_core::{reference::Reference, rng::Rng, Padding};

/// The model config of `config` for its dataset's images and classes.
fn convert(config: &Config) -> anyhow::Result<ModelConfig> {
    let [c, h, w] = config.dataset.image_shape();
    let classes = config
        .dataset
        .classes(config.dataset_params.cifar100_coarse);
    model_config(config, c, classes, [h, w])
}

fn preset_config(name: &str) -> Config {
    preset(name).unwrap().config().unwrap()
}

fn with(overrides: &[&str]) -> Config {
    let mut c = Config::default();
    c.apply_overrides(overrides).unwrap();
    c
}

#[test]
fn every_preset_converts_and_builds() {
    for p in presets() {
        let config = p.config().unwrap();
        let mc = convert(&config).unwrap_or_else(|e| panic!("{}: {e:#}", p.name));
        assert_eq!(mc.no_blocks(), config.net.no_blocks, "{}", p.name);
        let model = Model::<Reference, f32>::new(&Reference, &mc, &mut Rng::seed(0))
            .unwrap_or_else(|e| panic!("{}: {e}", p.name));
        assert!(model.num_params() > 0, "{}", p.name);
    }
}

#[test]
fn benchmark_configs_have_the_reference_parameter_counts() {
    let expected = [
        ("small_se2_partial", 9_111),
        ("rotmnist_t2", 450_074),
        ("rotmnist_se2_full", 467_786),
        ("rotmnist_se2_partial", 467_791),
        ("rotmnist_e2_partial", 467_988),
        ("mnist6_180_se2_partial", 48_845),
        ("cifar10_se2_partial", 469_903),
    ];
    for (name, count) in expected {
        let p = preset(name).unwrap();
        assert_eq!(p.reference_params, Some(count), "{name}: preset table");
        let mc = convert(&p.config().unwrap()).unwrap();
        let model = Model::<Reference, f32>::new(&Reference, &mc, &mut Rng::seed(0)).unwrap();
        assert_eq!(model.num_params(), count, "{name}");
    }
}

#[test]
fn t2_becomes_se2_with_one_deterministic_sample() {
    let mc = convert(&preset_config("rotmnist_t2")).unwrap();
    assert_eq!(mc.conv.group, GroupKind::Se2);
    assert_eq!(mc.conv.no_samples, 1);
    assert_eq!(mc.conv.sampling, SamplingMethod::Deterministic);
    assert!(!mc.conv.partial && !mc.conv.sample_per_layer);
    assert_eq!(mc.block_widths, vec![32, 64]);
    assert_eq!(mc.pool_blocks, vec![1, 2]);
}

#[test]
fn settings_reach_the_model_config() {
    let mc = convert(&preset_config("mnist6_180_se2_partial")).unwrap();
    assert_eq!(mc.net, NetKind::CKResNet);
    assert_eq!((mc.in_channels, mc.classes, mc.image_hw), (1, 2, [28, 28]));
    assert_eq!(mc.conv.kernel.kind, KernelNetKind::Magnet);
    assert_eq!(mc.conv.kernel.hidden, 32);
    assert!(mc.conv.partial && mc.conv.sample_per_layer && mc.conv.sample_per_batch_element);
    assert_eq!(mc.conv.sampling, SamplingMethod::Random);
    assert_eq!(mc.block_widths, vec![10, 10]);

    let mc = convert(&with(&[
        "net.norm=LayerNorm",
        "conv.padding=valid",
        "conv.bias=false",
        "base_group.reference_keep_probs=true",
        "base_group.name=E2",
        "net.type=GCNN",
        "net.no_blocks=1",
        "net.dropout=0.2",
        "net.dropout_blocks=[1]",
        "kernel.size=3",
    ]))
    .unwrap();
    assert_eq!(mc.net, NetKind::Gcnn);
    assert_eq!(mc.norm, NormKind::LayerNorm);
    assert_eq!(mc.conv.padding, Padding::Valid);
    assert!(!mc.conv.bias);
    assert_eq!(mc.conv.keep, KeepParameterisation::ReferenceSigmoid2);
    assert_eq!(mc.conv.group, GroupKind::E2);
    assert_eq!((mc.dropout, mc.dropout_blocks.clone()), (0.2, vec![1]));
    assert_eq!(mc.conv.kernel_size, 3);
}

#[test]
fn augerino_presets_keep_the_group_for_the_augmentation() {
    let names: Vec<&str> = presets()
        .iter()
        .filter(|p| p.config().unwrap().net.net_type.is_augerino())
        .map(|p| p.name)
        .collect();
    assert!(!names.is_empty());
    for name in names {
        let mc = convert(&preset_config(name)).unwrap();
        assert!(mc.net.is_augerino(), "{name}");
        assert_ne!(mc.conv.group, GroupKind::T2, "{name}");
        assert_eq!(mc.conv.sampling, SamplingMethod::Random, "{name}");
    }
}

#[test]
fn unsupported_options_are_errors_naming_the_key() {
    for (overrides, key) in [
        (&["kernel.weight_norm=true"][..], "kernel.weight_norm"),
        (
            &["kernel.type=MLP", "kernel.activation=GELU"][..],
            "kernel.activation",
        ),
        (
            &["kernel.type=MLP", "kernel.norm=BatchNorm"][..],
            "kernel.norm",
        ),
    ] {
        let err = convert(&with(overrides)).unwrap_err();
        assert!(format!("{err:#}").contains(key), "{overrides:?}: {err:#}");
    }
}

#[test]
fn learnable_final_pooling_needs_the_right_final_size() {
    // rotMNIST 28×28, no pools, two blocks of same convolutions, last valid 7×7: 22×22.
    let ok = with(&[
        "net.learnable_final_pooling=true",
        "net.final_spatial_dim=[22,22]",
        "base_group.no_samples=4",
    ]);
    let mc = convert(&ok).unwrap();
    assert_eq!(mc.final_spatial_dims().unwrap(), [22, 22]);
    let model = Model::<Reference, f32>::new(&Reference, &mc, &mut Rng::seed(0)).unwrap();
    assert!(model
        .param_names()
        .contains(&"final_pool.weight".to_string()));

    let mut wrong = ok.clone();
    wrong.net.final_spatial_dim = [5, 5];
    let err = convert(&wrong).unwrap_err();
    assert!(format!("{err:#}").contains("final_spatial_dim"), "{err:#}");
}
