//! The presets: all valid, round-tripping, named consistently with their settings, and
//! the benchmark and demo presets exactly as docs/benchmarks.md describes them.

use std::collections::HashSet;

use pgcnn::config::{
    build_config, preset, presets, presets_table, Config, ConfigError, Dataset, GroupName,
    KernelType, NetType, NormType, Optimizer, Padding, SamplingMethod, Scheduler,
};

fn config_of(name: &str) -> Config {
    preset(name)
        .unwrap_or_else(|e| panic!("{e}"))
        .config()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_preset_parses_validates_and_round_trips() {
    for p in presets() {
        let config = p.config().unwrap_or_else(|e| panic!("{}: {e}", p.name));
        config.validate().unwrap();
        let text = config.to_toml_string().unwrap();
        let back = Config::from_toml_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.name));
        assert_eq!(back, config, "{}", p.name);
        assert!(p.settings().all(|s| s.contains('=')), "{}", p.name);
    }
}

#[test]
fn names_are_unique_and_the_table_has_one_line_each() {
    let names: HashSet<&str> = presets().iter().map(|p| p.name).collect();
    assert_eq!(names.len(), presets().len());
    let table = presets_table();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), presets().len());
    for (line, p) in lines.iter().zip(presets()) {
        assert!(line.starts_with(p.name), "{line}");
        assert!(line.ends_with(p.summary), "{line}");
        assert!(!p.summary.is_empty() && !p.summary.contains('\n'));
    }
}

#[test]
fn lookup_ignores_case_and_dash_underscore_and_suggests_on_a_miss() {
    assert_eq!(
        preset("DEMO_MNIST6_180_PARTIAL").unwrap().name,
        "demo-mnist6-180-partial"
    );
    assert_eq!(
        preset("rotmnist-se2-partial").unwrap().name,
        "rotmnist_se2_partial"
    );
    for (typo, expected) in [
        ("demo-mnist6-180-partal", "demo-mnist6-180-partial"),
        ("rotmnist_se2_parital", "rotmnist_se2_partial"),
        ("cifar10-ckresnet-se2-ful", "cifar10-ckresnet-se2-full"),
    ] {
        match preset(typo) {
            Err(ConfigError::UnknownPreset { suggestions, .. }) => {
                assert_eq!(
                    suggestions.first().map(String::as_str),
                    Some(expected),
                    "{typo}"
                )
            }
            other => panic!("{typo}: {other:?}"),
        }
    }
    let message = preset("nothing-like-it-at-all").unwrap_err().to_string();
    assert!(message.contains("pgcnn presets"), "{message}");
}

#[test]
fn demos_differ_only_in_partial_equivariance() {
    let partial = config_of("demo-mnist6-180-partial");
    let mut full = config_of("demo-mnist6-180-full");
    assert!(partial.conv.partial_equiv);
    assert!(!full.conv.partial_equiv);
    full.conv.partial_equiv = true;
    assert_eq!(full, partial);
}

#[test]
fn demo_is_small_se2_partial_on_embedded_mnist6_180() {
    let c = config_of("demo-mnist6-180-partial");
    assert_eq!(c.dataset, Dataset::Mnist6_180);
    assert!(c.dataset.has_embedded());
    assert_eq!(c.base_group.name, GroupName::Se2);
    assert_eq!(c.base_group.no_samples, 4);
    assert_eq!(c.base_group.sampling_method, SamplingMethod::Random);
    assert!(c.base_group.sample_per_layer && !c.base_group.sample_per_batch_element);
    assert_eq!(c.kernel.kernel_type, KernelType::Siren);
    assert_eq!(
        (c.kernel.no_hidden, c.kernel.no_layers, c.kernel.size),
        (16, 3, 7)
    );
    assert_eq!(c.net.net_type, NetType::CKResNet);
    assert_eq!((c.net.no_hidden, c.net.no_blocks), (8, 2));
    assert_eq!(c.net.block_width_factors, vec![0.0]);
    assert_eq!(c.net.pool_blocks, vec![0, 1]);
    assert_eq!(c.train.optimizer, Optimizer::Adam);
    assert_eq!((c.train.lr, c.train.lr_probs), (1e-3, 1e-3));
    assert_eq!(c.train.batch_size, 64);
    assert!((10..=20).contains(&c.train.epochs));
    assert_eq!(c.train.scheduler, Scheduler::Constant);
    assert_eq!(c.seed, 0);
    // Same network as the benchmark config.
    let small = config_of("small_se2_partial");
    assert_eq!((small.net.clone(), small.kernel.clone()), (c.net, c.kernel));
    assert_eq!(small.base_group, c.base_group);
    assert_eq!(small.dataset, Dataset::RotMnist);
}

/// One row of the configuration table of docs/benchmarks.md.
struct Row {
    name: &'static str,
    shape: [usize; 3],
    classes: usize,
    group: GroupName,
    samples: usize,
    random: bool,
    per_batch_element: bool,
    partial: bool,
    kernel_hidden: usize,
    kernel: KernelType,
    no_hidden: usize,
    widths: &'static [f64],
    pool_blocks: &'static [usize],
    params: usize,
}

const TABLE: &[Row] = &[
    Row {
        name: "small_se2_partial",
        shape: [1, 28, 28],
        classes: 10,
        group: GroupName::Se2,
        samples: 4,
        random: true,
        per_batch_element: false,
        partial: true,
        kernel_hidden: 16,
        kernel: KernelType::Siren,
        no_hidden: 8,
        widths: &[0.0],
        pool_blocks: &[0, 1],
        params: 9_111,
    },
    Row {
        name: "rotmnist_t2",
        shape: [1, 28, 28],
        classes: 10,
        group: GroupName::T2,
        samples: 1,
        random: false,
        per_batch_element: false,
        partial: false,
        kernel_hidden: 32,
        kernel: KernelType::Siren,
        no_hidden: 32,
        widths: &[1.0, 1.0, 2.0, 1.0],
        pool_blocks: &[1, 2],
        params: 450_074,
    },
    Row {
        name: "rotmnist_se2_full",
        shape: [1, 28, 28],
        classes: 10,
        group: GroupName::Se2,
        samples: 8,
        random: true,
        per_batch_element: false,
        partial: false,
        kernel_hidden: 32,
        kernel: KernelType::Siren,
        no_hidden: 32,
        widths: &[1.0, 1.0, 2.0, 1.0],
        pool_blocks: &[0, 1],
        params: 467_786,
    },
    Row {
        name: "rotmnist_se2_partial",
        shape: [1, 28, 28],
        classes: 10,
        group: GroupName::Se2,
        samples: 8,
        random: true,
        per_batch_element: false,
        partial: true,
        kernel_hidden: 32,
        kernel: KernelType::Siren,
        no_hidden: 32,
        widths: &[1.0, 1.0, 2.0, 1.0],
        pool_blocks: &[0, 1],
        params: 467_791,
    },
    Row {
        name: "rotmnist_e2_partial",
        shape: [1, 28, 28],
        classes: 10,
        group: GroupName::E2,
        samples: 8,
        random: true,
        per_batch_element: false,
        partial: true,
        kernel_hidden: 32,
        kernel: KernelType::Siren,
        no_hidden: 32,
        widths: &[1.0, 1.0, 2.0, 1.0],
        pool_blocks: &[0, 1],
        params: 467_988,
    },
    Row {
        name: "mnist6_180_se2_partial",
        shape: [1, 28, 28],
        classes: 2,
        group: GroupName::Se2,
        samples: 8,
        random: true,
        per_batch_element: true,
        partial: true,
        kernel_hidden: 32,
        kernel: KernelType::MagNet,
        no_hidden: 10,
        widths: &[0.0],
        pool_blocks: &[1, 2],
        params: 48_845,
    },
    Row {
        name: "cifar10_se2_partial",
        shape: [3, 32, 32],
        classes: 10,
        group: GroupName::Se2,
        samples: 8,
        random: true,
        per_batch_element: false,
        partial: true,
        kernel_hidden: 32,
        kernel: KernelType::Siren,
        no_hidden: 32,
        widths: &[1.0, 1.0, 2.0, 1.0],
        pool_blocks: &[1, 2],
        params: 469_903,
    },
];

#[test]
fn benchmark_presets_match_the_table() {
    for row in TABLE {
        let p = preset(row.name).unwrap();
        let c = p.config().unwrap();
        let n = row.name;
        assert_eq!(c.dataset.image_shape(), row.shape, "{n}");
        assert_eq!(
            c.dataset.classes(c.dataset_params.cifar100_coarse),
            row.classes,
            "{n}"
        );
        assert_eq!(c.base_group.name, row.group, "{n}");
        assert_eq!(c.base_group.no_samples, row.samples, "{n}");
        let method = if row.random {
            SamplingMethod::Random
        } else {
            SamplingMethod::Deterministic
        };
        assert_eq!(c.base_group.sampling_method, method, "{n}");
        // "random, per layer" for every random row.
        assert_eq!(c.base_group.sample_per_layer, row.random, "{n}");
        assert_eq!(
            c.base_group.sample_per_batch_element, row.per_batch_element,
            "{n}"
        );
        assert_eq!(c.conv.partial_equiv, row.partial, "{n}");
        assert_eq!(c.kernel.no_hidden, row.kernel_hidden, "{n}");
        assert_eq!(c.kernel.kernel_type, row.kernel, "{n}");
        assert_eq!(c.net.no_hidden, row.no_hidden, "{n}");
        assert_eq!(c.net.no_blocks, 2, "{n}");
        assert_eq!(c.net.block_width_factors, row.widths, "{n}");
        assert_eq!(c.net.pool_blocks, row.pool_blocks, "{n}");
        assert_eq!(p.reference_params, Some(row.params), "{n}");
        // The table's header: CKResNet, 3-layer kernel nets with ω0 10, kernel size 7,
        // padding same, BatchNorm, dropout 0, Adam lr 1e-3, batch 64.
        assert_eq!(c.net.net_type, NetType::CKResNet, "{n}");
        assert_eq!(
            (c.kernel.no_layers, c.kernel.omega0, c.kernel.size),
            (3, 10.0, 7),
            "{n}"
        );
        assert_eq!(c.conv.padding, Padding::Same, "{n}");
        assert_eq!(c.net.norm, NormType::BatchNorm, "{n}");
        assert_eq!(c.net.dropout, 0.0, "{n}");
        assert_eq!(
            (c.train.optimizer, c.train.lr),
            (Optimizer::Adam, 1e-3),
            "{n}"
        );
        assert_eq!(c.train.batch_size, 64, "{n}");
    }
    let benchmarks = presets()
        .iter()
        .filter(|p| p.reference_params.is_some())
        .count();
    assert_eq!(benchmarks, TABLE.len());
}

#[test]
fn reference_experiments_are_all_there_and_named_by_their_settings() {
    let experiments: Vec<_> = presets()
        .iter()
        .filter(|p| p.name.contains("-ckresnet-") || p.name.contains("-gcnn-"))
        .collect();
    // MNIST6-180 2, MNIST6-M 2, rotMNIST 7 + 4, CIFAR-10 7 + 4, CIFAR-100 7 + 4.
    assert_eq!(experiments.len(), 37);
    for p in experiments {
        let c = p.config().unwrap();
        let n = p.name;
        let dataset = match n
            .split("-ckresnet-")
            .next()
            .unwrap()
            .split("-gcnn-")
            .next()
            .unwrap()
        {
            "mnist6-180" => Dataset::Mnist6_180,
            "mnist6-m" => Dataset::Mnist6M,
            "rotmnist" => Dataset::RotMnist,
            "cifar10" => Dataset::Cifar10,
            "cifar100" => Dataset::Cifar100,
            other => panic!("{n}: dataset {other}"),
        };
        assert_eq!(c.dataset, dataset, "{n}");
        let augerino = n.ends_with("-augerino");
        let net = match (n.contains("-gcnn-"), augerino) {
            (false, false) => NetType::CKResNet,
            (false, true) => NetType::AugerinoCKResNet,
            (true, false) => NetType::GCNN,
            (true, true) => NetType::AugerinoGCNN,
        };
        assert_eq!(c.net.net_type, net, "{n}");
        let group = if n.ends_with("-t2") {
            GroupName::T2
        } else if n.contains("-e2-") {
            GroupName::E2
        } else {
            assert!(n.contains("-se2-"), "{n}");
            GroupName::Se2
        };
        assert_eq!(c.base_group.name, group, "{n}");
        assert_eq!(c.conv.partial_equiv, n.ends_with("-partial"), "{n}");
        assert_eq!(c.seed, 0, "{n}");
        let (epochs, batch) = if n.contains("-gcnn-") {
            (205, 128)
        } else {
            (300, 64)
        };
        assert_eq!((c.train.epochs, c.train.batch_size), (epochs, batch), "{n}");
    }
}

#[test]
fn reference_experiment_details() {
    let c = config_of("rotmnist-gcnn-t2");
    assert_eq!((c.train.lr, c.train.lr_probs), (0.01, 1e-3));
    assert_eq!(
        (c.kernel.size, c.kernel.no_hidden, c.kernel.omega0),
        (3, 8, 10.0)
    );
    assert_eq!(c.net.dropout, 0.3);
    assert_eq!(c.net.dropout_blocks, vec![2, 5, 8]);
    assert_eq!(c.net.pool_blocks, vec![2, 5]);
    assert_eq!(
        c.block_widths(),
        Some(vec![128, 256, 256, 256, 256, 256, 256, 256])
    );
    assert_eq!(c.train.scheduler, Scheduler::Cosine);
    assert_eq!(c.train.scheduler_params.warmup_epochs, 5);

    let c = config_of("cifar10-gcnn-t2");
    assert_eq!(
        (c.kernel.omega0, c.net.dropout, c.train.weight_decay),
        (30.0, 0.1, 1e-4)
    );

    let c = config_of("rotmnist-ckresnet-se2-partial");
    assert_eq!(c.train.monotonic_decay_loss, 0.001);
    assert_eq!(c.train.lr_probs, 0.0);

    let c = config_of("cifar10-ckresnet-e2-full");
    assert!(c.net.learnable_final_pooling);
    assert_eq!(c.net.final_spatial_dim, [2, 2]);

    let c = config_of("cifar100-ckresnet-e2-full");
    assert!(c.net.last_conv_t2);

    let c = config_of("cifar100-gcnn-se2-augerino");
    assert_eq!((c.train.lr_probs, c.train.weight_decay), (0.001, 0.0));
    assert!(!c.base_group.sample_per_layer);

    let c = config_of("mnist6-180-ckresnet-se2-full");
    assert_eq!(c.kernel.kernel_type, KernelType::Fourier);
    assert_eq!((c.net.no_hidden, c.net.norm), (20, NormType::LayerNorm));
    // The reference's MNIST6 commands set no schedule: its default, none.
    assert_eq!(c.train.scheduler, Scheduler::Constant);
    assert_eq!(c.train.scheduler_params.warmup_epochs, 0);
}

#[test]
fn build_config_layers_preset_file_and_overrides() {
    let path = std::env::temp_dir().join(format!("pgcnn-{}-layer.toml", std::process::id()));
    std::fs::write(&path, "[train]\nepochs = 3\nbatch_size = 16\n").unwrap();
    let c = build_config(
        Some("demo-mnist6-180-full"),
        Some(&path),
        &["train.batch_size=8"],
    );
    let c = c.unwrap();
    assert_eq!(c.train.epochs, 3); // from the file
    assert_eq!(c.train.batch_size, 8); // the override beats the file
    assert_eq!(c.net.no_hidden, 8); // from the preset
                                    // The result is validated.
    let err = build_config(
        Some("demo-mnist6-180-full"),
        Some(&path),
        &["kernel.size=6"],
    );
    assert!(matches!(err, Err(ConfigError::Invalid { .. })));
    std::fs::remove_file(&path).unwrap();
    // No preset, no file: the default.
    assert_eq!(
        build_config::<&str>(None, None, &[]).unwrap(),
        Config::default()
    );
    assert!(matches!(
        build_config::<&str>(Some("no-such-preset"), None, &[]),
        Err(ConfigError::UnknownPreset { .. })
    ));
}
