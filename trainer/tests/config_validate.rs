//! The rules of `Config::validate`: every broken rule is an error naming the key and
//! its value, and odd values never panic.

use pgcnn::config::{Config, ConfigError, Problem};

/// A config built from the default by `--set` style assignments (which must parse).
fn config_with(assignments: &[&str]) -> Config {
    let mut config = Config::default();
    for a in assignments {
        config
            .apply_override(a)
            .unwrap_or_else(|e| panic!("{a}: {e}"));
    }
    config
}

/// The problems of the default config changed by `assignments`.
fn problems(assignments: &[&str]) -> Vec<Problem> {
    config_with(assignments).problems()
}

/// Asserts that `assignments` break a rule reported on `key` with value `value`, and
/// that the message mentions `needle`.
fn assert_rule(assignments: &[&str], key: &str, value: &str, needle: &str) {
    let found = problems(assignments);
    let hit = found
        .iter()
        .find(|p| p.key == key)
        .unwrap_or_else(|| panic!("{assignments:?}: no problem on {key}, got {found:?}"));
    assert_eq!(hit.value, value, "{assignments:?}");
    assert!(
        hit.reason.contains(needle),
        "{assignments:?}: `{}` lacks `{needle}`",
        hit.reason
    );
    // The error's message carries key and value too.
    let message = config_with(assignments).validate().unwrap_err().to_string();
    assert!(message.contains(&format!("{key} = {value}")), "{message}");
}

#[test]
fn default_config_is_valid() {
    assert_eq!(Config::default().problems(), Vec::new());
    Config::default().validate().unwrap();
}

#[test]
fn kernel_size_must_be_odd_and_bounded() {
    assert_rule(&["kernel.size=4"], "kernel.size", "4", "odd");
    assert_rule(&["kernel.size=0"], "kernel.size", "0", "odd");
    assert_rule(&["kernel.size=101"], "kernel.size", "101", "99");
    assert!(problems(&["kernel.size=1"]).is_empty());
}

#[test]
fn channels_and_samples_must_be_positive() {
    assert_rule(&["net.no_hidden=0"], "net.no_hidden", "0", "between 1");
    assert_rule(
        &["kernel.no_hidden=0"],
        "kernel.no_hidden",
        "0",
        "between 1",
    );
    assert_rule(
        &["base_group.no_samples=0"],
        "base_group.no_samples",
        "0",
        "between 1",
    );
    assert_rule(&["net.no_hidden=100000"], "net.no_hidden", "100000", "4096");
    // Zero channels is reported once, not again through the block widths.
    assert_eq!(problems(&["net.no_hidden=0"]).len(), 1);
}

#[test]
fn shortcut_kernel_net_needs_two_hidden_units() {
    let partial = [
        "base_group.sampling_method=random",
        "base_group.sample_per_layer=true",
        "conv.partial_equiv=true",
        "kernel.no_hidden=1",
    ];
    assert_rule(&partial, "kernel.no_hidden", "1", "half as wide");
    // Without a pointwise shortcut one hidden unit is fine.
    assert!(problems(&["kernel.no_hidden=1"]).is_empty());
}

#[test]
fn kernel_net_layers_and_omega0() {
    assert_rule(&["kernel.no_layers=1"], "kernel.no_layers", "1", "SIREN");
    assert!(problems(&["kernel.type=MAGNet", "kernel.no_layers=1"]).is_empty());
    assert_rule(&["kernel.omega0=0"], "kernel.omega0", "0.0", "> 0");
    assert_rule(&["kernel.omega0=nan"], "kernel.omega0", "nan", "finite");
    // ω0 is SIREN's: other kernels ignore it, but cannot learn it.
    assert!(problems(&["kernel.type=Fourier", "kernel.omega0=0"]).is_empty());
    assert_rule(
        &["kernel.type=Gabor", "kernel.learn_omega0=true"],
        "kernel.learn_omega0",
        "true",
        "SIREN",
    );
}

#[test]
fn group_sample_counts() {
    assert_rule(
        &["base_group.name=E2", "base_group.no_samples=7"],
        "base_group.no_samples",
        "7",
        "even",
    );
    assert!(problems(&["base_group.name=E2", "base_group.no_samples=4"]).is_empty());
    assert_rule(
        &["base_group.name=T2"],
        "base_group.no_samples",
        "8",
        "set it to 1",
    );
    assert!(problems(&["base_group.name=T2", "base_group.no_samples=1"]).is_empty());
    assert_rule(
        &[
            "base_group.name=T2",
            "base_group.no_samples=1",
            "base_group.sampling_method=random",
        ],
        "base_group.sampling_method",
        "\"random\"",
        "deterministic",
    );
    assert_rule(
        &[
            "base_group.name=T2",
            "base_group.no_samples=1",
            "conv.partial_equiv=true",
        ],
        "conv.partial_equiv",
        "true",
        "T(2)",
    );
}

#[test]
fn sampling_options_must_agree() {
    assert_rule(
        &["base_group.sample_per_layer=true"],
        "base_group.sample_per_layer",
        "true",
        "random",
    );
    assert_rule(
        &["base_group.sample_per_batch_element=true"],
        "base_group.sample_per_batch_element",
        "true",
        "random",
    );
    assert_rule(
        &[
            "base_group.sampling_method=random",
            "conv.partial_equiv=true",
        ],
        "base_group.sample_per_layer",
        "false",
        "partial",
    );
    assert_rule(
        &["base_group.gumbel_end_temp=0"],
        "base_group.gumbel_end_temp",
        "0.0",
        "> 0",
    );
}

#[test]
fn augerino_constraints() {
    let base = [
        "net.type=AugerinoCKResNet",
        "base_group.sampling_method=random",
    ];
    assert!(problems(&base).is_empty());
    let mut partial = base.to_vec();
    partial.extend([
        "base_group.sample_per_layer=true",
        "conv.partial_equiv=true",
    ]);
    assert_rule(&partial, "conv.partial_equiv", "true", "T(2) network");
    assert_rule(
        &["net.type=AugerinoGCNN"],
        "base_group.sampling_method",
        "\"deterministic\"",
        "random",
    );
    assert_rule(
        &[
            "net.type=AugerinoGCNN",
            "base_group.name=T2",
            "base_group.no_samples=1",
        ],
        "base_group.name",
        "\"T2\"",
        "SE2 or E2",
    );
}

#[test]
fn block_width_factors() {
    // Odd length, counts that do not sum to no_blocks, [0] with more entries.
    assert_rule(
        &["net.block_width_factors=[1,1,2]", "net.no_blocks=3"],
        "net.block_width_factors",
        "[1.0, 1.0, 2.0]",
        "pairs",
    );
    assert_rule(
        &["net.block_width_factors=[1,1,2,2]"],
        "net.block_width_factors",
        "[1.0, 1.0, 2.0, 2.0]",
        "summing to net.no_blocks = 2",
    );
    assert_rule(
        &["net.block_width_factors=[0,2]"],
        "net.block_width_factors",
        "[0.0, 2.0]",
        "must be [0]",
    );
    assert_rule(
        &["net.block_width_factors=[1,1.5,2,0.5]", "net.no_blocks=2"],
        "net.block_width_factors",
        "[1.0, 1.5, 2.0, 0.5]",
        "whole counts",
    );
    assert_rule(
        &["net.block_width_factors=[0.01,2]"],
        "net.block_width_factors",
        "[0.01, 2.0]",
        "0 channels",
    );
    assert_rule(
        &["net.block_width_factors=[-1,2]"],
        "net.block_width_factors",
        "[-1.0, 2.0]",
        "factors > 0",
    );
    assert!(problems(&["net.block_width_factors=[1,1,2,1]"]).is_empty());
    assert_eq!(
        config_with(&["net.block_width_factors=[1,1,2,1]"]).block_widths(),
        Some(vec![32, 64])
    );
    assert_eq!(Config::default().block_widths(), Some(vec![32, 32]));
}

#[test]
fn pool_and_dropout_block_indices() {
    assert_rule(
        &["net.pool_blocks=[0,3]"],
        "net.pool_blocks",
        "[0, 3]",
        "out of range 0..=2",
    );
    assert_rule(
        &["net.type=GCNN", "net.pool_blocks=[0]"],
        "net.pool_blocks",
        "[0]",
        "out of range 1..=2",
    );
    assert_rule(
        &["net.dropout_blocks=[1]"],
        "net.dropout_blocks",
        "[1]",
        "GCNN only",
    );
    assert_rule(
        &["net.type=GCNN", "net.dropout_blocks=[3]"],
        "net.dropout_blocks",
        "[3]",
        "out of range 1..=2",
    );
    assert!(problems(&[
        "net.type=GCNN",
        "net.dropout_blocks=[1,2]",
        "net.pool_blocks=[1]"
    ])
    .is_empty());
}

#[test]
fn ckresnet_only_options() {
    assert_rule(
        &["net.type=GCNN", "net.last_conv_T2=true"],
        "net.last_conv_T2",
        "true",
        "CKResNet only",
    );
    assert_rule(
        &[
            "net.type=AugerinoCKResNet",
            "base_group.sampling_method=random",
            "net.learnable_final_pooling=true",
        ],
        "net.learnable_final_pooling",
        "true",
        "CKResNet only",
    );
    assert_rule(
        &[
            "base_group.sampling_method=random",
            "base_group.sample_per_layer=true",
            "conv.partial_equiv=true",
            "net.learnable_final_pooling=true",
        ],
        "net.learnable_final_pooling",
        "true",
        "partial_equiv",
    );
    assert_rule(
        &["net.final_spatial_dim=[0,1]"],
        "net.final_spatial_dim",
        "[0, 1]",
        "≥ 1",
    );
}

#[test]
fn training_numbers() {
    assert_rule(&["train.epochs=0"], "train.epochs", "0", "between 1");
    assert_rule(
        &["train.batch_size=0"],
        "train.batch_size",
        "0",
        "between 1",
    );
    assert_rule(&["train.lr=0"], "train.lr", "0.0", "> 0");
    assert_rule(&["train.lr=inf"], "train.lr", "inf", "finite");
    assert_rule(&["train.lr_probs=-1e-3"], "train.lr_probs", "-0.001", "≥ 0");
    assert_rule(&["train.lr_omega0=nan"], "train.lr_omega0", "nan", "finite");
    assert_rule(
        &["train.gradient_clip=-1"],
        "train.gradient_clip",
        "-1.0",
        "≥ 0",
    );
    assert_rule(
        &["train.weight_decay=-1"],
        "train.weight_decay",
        "-1.0",
        "≥ 0",
    );
    assert_rule(
        &["train.monotonic_decay_loss=-1"],
        "train.monotonic_decay_loss",
        "-1.0",
        "≥ 0",
    );
    assert_rule(&["net.dropout=1"], "net.dropout", "1.0", "[0, 1)");
    // 0 means "same as lr" for the group rates.
    assert!(problems(&["train.lr_probs=0", "train.lr_omega0=0"]).is_empty());
}

#[test]
fn optimizer_options() {
    assert_rule(
        &["train.optimizer_params.momentum=0.9"],
        "train.optimizer_params.momentum",
        "0.9",
        "SGD only",
    );
    assert_rule(
        &[
            "train.optimizer=SGD",
            "train.optimizer_params.nesterov=true",
        ],
        "train.optimizer_params.nesterov",
        "true",
        "momentum > 0",
    );
    assert_rule(
        &["train.optimizer=SGD", "train.optimizer_params.momentum=1.5"],
        "train.optimizer_params.momentum",
        "1.5",
        "[0, 1)",
    );
    assert!(problems(&[
        "train.optimizer=SGD",
        "train.optimizer_params.momentum=0.9",
        "train.optimizer_params.nesterov=true"
    ])
    .is_empty());
}

#[test]
fn scheduler_options() {
    assert_rule(
        &["train.scheduler_params.warmup_epochs=5"],
        "train.scheduler_params.warmup_epochs",
        "5",
        "cosine",
    );
    assert_rule(
        &[
            "train.scheduler=cosine",
            "train.epochs=5",
            "train.scheduler_params.warmup_epochs=5",
        ],
        "train.scheduler_params.warmup_epochs",
        "5",
        "below train.epochs = 5",
    );
    assert_rule(
        &["train.scheduler=multistep"],
        "train.scheduler_params.decay_steps",
        "[]",
        "at least one",
    );
    assert_rule(
        &[
            "train.scheduler=multistep",
            "train.epochs=10",
            "train.scheduler_params.decay_steps=[5,10]",
        ],
        "train.scheduler_params.decay_steps",
        "[5, 10]",
        "never reached",
    );
    assert_rule(
        &[
            "train.scheduler=exponential",
            "train.scheduler_params.decay_factor=0.5",
        ],
        "train.scheduler_params.decay_factor",
        "0.5",
        "≥ 1",
    );
    assert_rule(
        &["train.scheduler_params.eta_min=-1"],
        "train.scheduler_params.eta_min",
        "-1.0",
        "≥ 0",
    );
    assert!(problems(&[
        "train.scheduler=multistep",
        "train.scheduler_params.decay_steps=[100,200]"
    ])
    .is_empty());
}

#[test]
fn dataset_params_and_seed() {
    assert_rule(
        &["dataset_params.rot_interval=200"],
        "dataset_params.rot_interval",
        "200.0",
        "[0, 180]",
    );
    assert_rule(
        &["dataset_params.val_fraction=1"],
        "dataset_params.val_fraction",
        "1.0",
        "[0, 1)",
    );
    assert_rule(
        &["dataset_params.test_fraction=-0.1"],
        "dataset_params.test_fraction",
        "-0.1",
        "[0, 1)",
    );
    let config = Config {
        seed: u64::MAX,
        ..Config::default()
    };
    let found = config.problems();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].key, "seed");
    // A seed too large for TOML in a file is an error naming the key.
    let err = Config::from_toml_str("seed = 18446744073709551615\n").unwrap_err();
    assert_eq!(err.keys(), vec!["seed"], "{err}");
}

#[test]
fn feature_maps_must_stay_large_enough() {
    // 28 → 14 → 7 → 3: too small for the last 7×7 valid convolution.
    assert_rule(
        &["net.pool_blocks=[0,1,2]"],
        "net.pool_blocks",
        "[0, 1, 2]",
        "3×3",
    );
    // Valid padding everywhere: 28 - 6·5 < 0 before the last layer.
    assert_rule(&["conv.padding=valid"], "kernel.size", "7", "valid padding");
    // GCNN: 28 → 14 → 7 → 3 → 1, then a fifth pool has nothing to pool.
    assert_rule(
        &[
            "net.type=GCNN",
            "net.no_blocks=5",
            "net.pool_blocks=[1,2,3,4,5]",
        ],
        "net.pool_blocks",
        "[1, 2, 3, 4, 5]",
        "too small to pool",
    );
    assert!(problems(&[
        "net.type=GCNN",
        "net.no_blocks=4",
        "net.pool_blocks=[1,2,3,4]"
    ])
    .is_empty());
    // Learnable final pooling must match the last convolution's output: 32 → 16 → 8 → 2.
    let cifar = [
        "dataset=CIFAR10",
        "net.pool_blocks=[1,2]",
        "net.learnable_final_pooling=true",
    ];
    assert_rule(&cifar, "net.final_spatial_dim", "[1, 1]", "[2, 2]");
    let mut fixed = cifar.to_vec();
    fixed.push("net.final_spatial_dim=[2,2]");
    assert!(problems(&fixed).is_empty());
}

#[test]
fn every_broken_rule_is_reported_at_once() {
    let err = config_with(&["kernel.size=4", "train.epochs=0", "net.no_hidden=0"])
        .validate()
        .unwrap_err();
    match &err {
        ConfigError::Invalid { problems } => assert_eq!(problems.len(), 3, "{err}"),
        other => panic!("{other}"),
    }
    let mut keys = err.keys();
    keys.sort();
    assert_eq!(keys, vec!["kernel.size", "net.no_hidden", "train.epochs"]);
}

#[test]
fn extreme_values_are_errors_not_panics() {
    let extremes = [
        "net.no_hidden=9223372036854775807",
        "net.no_blocks=9223372036854775807",
        "kernel.size=9223372036854775807",
        "kernel.no_hidden=9223372036854775807",
        "base_group.no_samples=9223372036854775807",
        "net.block_width_factors=[1e300,2]",
        "net.block_width_factors=[1,1e300]",
        "net.block_width_factors=[inf,nan]",
        "net.pool_blocks=[9223372036854775807]",
        "train.epochs=9223372036854775807",
        "train.batch_size=9223372036854775807",
        "net.final_spatial_dim=[9223372036854775807,0]",
    ];
    for e in extremes {
        let found = problems(&[e]);
        assert!(!found.is_empty(), "{e} passed validation");
    }
    let steps = [
        "train.scheduler=multistep",
        "train.scheduler_params.decay_steps=[9223372036854775807]",
    ];
    assert!(!problems(&steps).is_empty());
}
