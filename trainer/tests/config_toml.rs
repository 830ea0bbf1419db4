//! Reading configs from TOML, `--set` overrides, errors for unknown keys, bad values and
//! bad syntax, and writing configs back.

use pgcnn::config::{
    valid_keys, Config, ConfigError, Dataset, GroupName, KernelActivation, KernelNorm, KernelType,
    Location, NetType, NormType, Optimizer, Padding, SamplingMethod, Scheduler,
};

/// A config file in the temp folder, removed when dropped.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!("pgcnn-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn set(config: &mut Config, assignment: &str) {
    config
        .apply_override(assignment)
        .unwrap_or_else(|e| panic!("{assignment}: {e}"));
}

#[test]
fn default_round_trips_through_toml() {
    let config = Config::default();
    let text = config.to_toml_string().unwrap();
    assert_eq!(Config::from_toml_str(&text).unwrap(), config);
    // Every settable key but the optional one is written out.
    for key in valid_keys() {
        let leaf = key.rsplit('.').next().unwrap();
        if key != "dataset_params.val_fraction" {
            assert!(
                text.contains(&format!("{leaf} = ")),
                "{key} missing from\n{text}"
            );
        }
    }
}

#[test]
fn optional_key_round_trips_when_set() {
    let mut config = Config::default();
    set(&mut config, "dataset_params.val_fraction=0.25");
    assert_eq!(config.dataset_params.val_fraction, Some(0.25));
    let text = config.to_toml_string().unwrap();
    assert_eq!(Config::from_toml_str(&text).unwrap(), config);
}

#[test]
fn partial_file_keeps_defaults_for_missing_keys() {
    let text = "dataset = \"MNIST6-180\"\n[base_group]\nno_samples = 4\n[train]\nlr = 0.01\n";
    let config = Config::from_toml_str(text).unwrap();
    let mut expected = Config {
        dataset: Dataset::Mnist6_180,
        ..Config::default()
    };
    expected.base_group.no_samples = 4;
    expected.train.lr = 0.01;
    assert_eq!(config, expected);
}

#[test]
fn merging_a_file_replaces_only_its_keys() {
    let mut base = Config::default();
    base.train.epochs = 7;
    base.net.pool_blocks = vec![0, 1];
    let merged = base
        .merge_toml_str("[train]\nbatch_size = 8\n", "test")
        .unwrap();
    assert_eq!(merged.train.epochs, 7);
    assert_eq!(merged.train.batch_size, 8);
    assert_eq!(merged.net.pool_blocks, vec![0, 1]);
}

#[test]
fn dotted_and_inline_tables_are_read_too() {
    let text = "train.lr = 0.5\nnet = { no_hidden = 12 }\n";
    let config = Config::from_toml_str(text).unwrap();
    assert_eq!(config.train.lr, 0.5);
    assert_eq!(config.net.no_hidden, 12);
}

#[test]
fn overrides_of_every_value_type() {
    let mut c = Config::default();
    set(&mut c, "train.lr=0.01");
    assert_eq!(c.train.lr, 0.01);
    set(&mut c, "train.lr_probs=1e-4");
    assert_eq!(c.train.lr_probs, 1e-4);
    // An integer where a float is expected.
    set(&mut c, "kernel.omega0=30");
    assert_eq!(c.kernel.omega0, 30.0);
    set(&mut c, "train.epochs=12");
    assert_eq!(c.train.epochs, 12);
    set(&mut c, "seed=42");
    assert_eq!(c.seed, 42);
    set(&mut c, "conv.partial_equiv=true");
    assert!(c.conv.partial_equiv);
    // The reference's Python spelling.
    set(&mut c, "conv.partial_equiv=False");
    assert!(!c.conv.partial_equiv);
    set(&mut c, "kernel.weight_norm=True");
    assert!(c.kernel.weight_norm);
    // Bare and quoted strings.
    set(&mut c, "dataset=CIFAR10");
    assert_eq!(c.dataset, Dataset::Cifar10);
    set(&mut c, "dataset=\"MNIST6-M\"");
    assert_eq!(c.dataset, Dataset::Mnist6M);
    set(&mut c, "net.type=GCNN");
    assert_eq!(c.net.net_type, NetType::GCNN);
    // Arrays, with and without spaces.
    set(&mut c, "net.block_width_factors=[1,1,2,1]");
    assert_eq!(c.net.block_width_factors, vec![1.0, 1.0, 2.0, 1.0]);
    set(&mut c, "net.pool_blocks=[2, 5]");
    assert_eq!(c.net.pool_blocks, vec![2, 5]);
    set(&mut c, "net.final_spatial_dim=[2,2]");
    assert_eq!(c.net.final_spatial_dim, [2, 2]);
    set(&mut c, "net.dropout_blocks=[]");
    assert!(c.net.dropout_blocks.is_empty());
    // Nested group, spaces around `=`.
    set(&mut c, "train.scheduler_params.warmup_epochs = 5");
    assert_eq!(c.train.scheduler_params.warmup_epochs, 5);
    // An empty value is the empty string: the reference's "no norm" and "no schedule".
    set(&mut c, "kernel.norm=");
    assert_eq!(c.kernel.norm, KernelNorm::Identity);
    set(&mut c, "train.scheduler=None");
    assert_eq!(c.train.scheduler, Scheduler::Constant);
}

#[test]
fn choices_accept_the_documented_spellings() {
    let mut c = Config::default();
    for (spelling, group) in [
        ("SE2", GroupName::Se2),
        ("SE(2)", GroupName::Se2),
        ("se2", GroupName::Se2),
        ("E(2)", GroupName::E2),
        ("O2", GroupName::E2),
        ("T(2)", GroupName::T2),
    ] {
        set(&mut c, &format!("base_group.name={spelling}"));
        assert_eq!(c.base_group.name, group, "{spelling}");
    }
    for (spelling, dataset) in [
        ("rotMNIST", Dataset::RotMnist),
        ("rotmnist", Dataset::RotMnist),
        ("mnist6_180", Dataset::Mnist6_180),
        ("CIFAR-100", Dataset::Cifar100),
        ("rotMNIST-synthetic", Dataset::RotMnistSynthetic),
    ] {
        set(&mut c, &format!("dataset={spelling}"));
        assert_eq!(c.dataset, dataset, "{spelling}");
    }
    // Rendering uses the canonical spelling.
    set(&mut c, "base_group.name=se(2)");
    assert!(c.to_toml_string().unwrap().contains("name = \"SE2\""));
}

/// Every variant reads back from its canonical spelling (no alias shadows another).
fn assert_spellings_round_trip<T>(all: &[T])
where
    T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + std::str::FromStr,
    T::Err: std::fmt::Debug,
{
    for &v in all {
        assert_eq!(v.to_string().parse::<T>().unwrap(), v);
    }
}

#[test]
fn every_choice_reads_back_its_canonical_spelling() {
    assert_spellings_round_trip(NetType::ALL);
    assert_spellings_round_trip(NormType::ALL);
    assert_spellings_round_trip(Padding::ALL);
    assert_spellings_round_trip(KernelType::ALL);
    assert_spellings_round_trip(KernelNorm::ALL);
    assert_spellings_round_trip(KernelActivation::ALL);
    assert_spellings_round_trip(GroupName::ALL);
    assert_spellings_round_trip(SamplingMethod::ALL);
    assert_spellings_round_trip(Optimizer::ALL);
    assert_spellings_round_trip(Scheduler::ALL);
    assert_spellings_round_trip(Dataset::ALL);
}

fn unknown_key_suggestions(err: ConfigError) -> (String, Vec<String>) {
    match err {
        ConfigError::UnknownKey {
            key, suggestions, ..
        } => (key, suggestions),
        other => panic!("expected an unknown key, got {other}"),
    }
}

#[test]
fn unknown_override_key_suggests_the_closest_valid_key() {
    for (given, expected) in [
        ("train.lrr", "train.lr"),
        ("kernel.omega_0", "kernel.omega0"),
        ("lr", "train.lr"),
        ("trian.epochs", "train.epochs"),
        ("net.omega0", "kernel.omega0"),
        ("base_group.no_sample", "base_group.no_samples"),
        ("net.last_conv_t2", "net.last_conv_T2"),
        (
            "train.scheduler_params.warmup",
            "train.scheduler_params.warmup_epochs",
        ),
    ] {
        let err = Config::default()
            .apply_override(&format!("{given}=1"))
            .unwrap_err();
        let message = err.to_string();
        let (key, suggestions) = unknown_key_suggestions(err);
        assert_eq!(key, given);
        assert_eq!(
            suggestions.first().map(String::as_str),
            Some(expected),
            "{given}"
        );
        assert!(
            message.contains(&format!("did you mean `{expected}`")),
            "{message}"
        );
    }
}

#[test]
fn ambiguous_unknown_key_lists_every_close_key() {
    let err = Config::default().apply_override("no_hidden=3").unwrap_err();
    let (_, suggestions) = unknown_key_suggestions(err);
    assert!(suggestions.contains(&"net.no_hidden".to_string()));
    assert!(suggestions.contains(&"kernel.no_hidden".to_string()));
}

#[test]
fn far_fetched_key_gets_no_suggestion() {
    let err = Config::default()
        .apply_override("completely_unrelated_setting=1")
        .unwrap_err();
    let (_, suggestions) = unknown_key_suggestions(err);
    assert!(suggestions.is_empty());
}

#[test]
fn reference_only_keys_are_explained() {
    for key in ["no_workers", "train.do", "wandb.project", "device", "debug"] {
        let err = Config::default()
            .apply_override(&format!("{key}=3"))
            .unwrap_err();
        assert!(
            matches!(&err, ConfigError::UnknownKey { note: Some(_), .. }),
            "{key}: {err}"
        );
        assert!(err.to_string().contains("reference"), "{err}");
    }
}

#[test]
fn unknown_key_in_a_file_has_its_position_and_suggestion() {
    let text = "seed = 1\n\n[train]\nepochs = 3\nlrr = 0.1\n";
    let err = Config::from_toml_str(text).unwrap_err();
    match &err {
        ConfigError::UnknownKey {
            key,
            location,
            suggestions,
            ..
        } => {
            assert_eq!(key, "train.lrr");
            assert_eq!(*location, Some(Location { line: 5, column: 1 }));
            assert_eq!(suggestions, &vec!["train.lr".to_string()]);
        }
        other => panic!("{other}"),
    }
    // A misspelt group is reported with its first key, so the suggestion can match.
    let err = Config::from_toml_str("[kernell]\nomega0 = 3\n").unwrap_err();
    let (key, suggestions) = unknown_key_suggestions(err);
    assert_eq!(key, "kernell.omega0");
    assert_eq!(suggestions, vec!["kernel.omega0".to_string()]);
}

#[test]
fn wrong_type_in_a_file_names_the_key_and_position() {
    let text = "[net]\nno_hidden = 8\n\n[train]\nepochs = \"ten\"\n";
    let err = Config::from_toml_str(text).unwrap_err();
    match &err {
        ConfigError::BadValue { key, location, .. } => {
            assert_eq!(key, "train.epochs");
            assert_eq!(
                *location,
                Some(Location {
                    line: 5,
                    column: 10
                })
            );
        }
        other => panic!("{other}"),
    }
    let message = err.to_string();
    assert!(message.contains("line 5, column 10"), "{message}");
    assert!(message.contains("`train.epochs`"), "{message}");
}

#[test]
fn wrong_types_and_choices_in_overrides_name_the_key() {
    for (assignment, key, needle) in [
        ("train.lr=abc", "train.lr", "expected f64"),
        ("net.no_hidden=-1", "net.no_hidden", "-1"),
        ("conv.bias=yes", "conv.bias", "expected a boolean"),
        ("net.pool_blocks=1", "net.pool_blocks", "sequence"),
        (
            "net.pool_blocks=[1,2",
            "net.pool_blocks",
            "not a valid TOML value",
        ),
        (
            "net.final_spatial_dim=[1,2,3]",
            "net.final_spatial_dim",
            "3",
        ),
        (
            "net.type=ResNet",
            "net.type",
            "expected one of CKResNet, GCNN",
        ),
        (
            "base_group.name=SE3",
            "base_group.name",
            "did you mean `SE2`",
        ),
        (
            "train.optimizer=adamw",
            "train.optimizer",
            "did you mean `Adam`",
        ),
        ("dataset=ImageNet", "dataset", "unknown dataset"),
    ] {
        let mut config = Config::default();
        let err = config.apply_override(assignment).unwrap_err();
        assert!(
            matches!(&err, ConfigError::BadValue { key: k, .. } if k == key),
            "{assignment}: {err}"
        );
        let message = err.to_string();
        assert!(message.contains(needle), "{assignment}: {message}");
        assert!(message.contains(assignment), "{message}");
        // A failed override leaves the config as it was.
        assert_eq!(config, Config::default());
    }
}

#[test]
fn setting_a_group_of_keys_is_an_error() {
    let err = Config::default().apply_override("train=3").unwrap_err();
    assert!(err.to_string().contains("group of keys"), "{err}");
    assert_eq!(err.keys(), vec!["train"]);
}

#[test]
fn malformed_overrides_are_errors() {
    for bad in ["train.lr", "=3", "  = 3"] {
        let err = Config::default().apply_override(bad).unwrap_err();
        assert!(
            matches!(err, ConfigError::BadOverride { .. }),
            "{bad}: {err}"
        );
    }
}

#[test]
fn toml_syntax_error_reports_line_and_column() {
    let text = "seed = 0\n[train]\nlr = 0.1\nepochs = [1, 2\n";
    let err = Config::from_toml_str(text).unwrap_err();
    match &err {
        ConfigError::Syntax { location, .. } => assert_eq!(location.line, 4),
        other => panic!("{other}"),
    }
    let text = "seed = 0\nkernel.size = = 3\n";
    let err = Config::from_toml_str(text).unwrap_err();
    match &err {
        ConfigError::Syntax { location, .. } => {
            assert_eq!(
                *location,
                Location {
                    line: 2,
                    column: 15
                }
            )
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("line 2, column 15"), "{err}");
}

#[test]
fn file_errors_carry_the_path() {
    let file = TempFile::new("bad.toml", "[train]\nbatch_size = 0.5\n");
    let err = Config::from_file(&file.0).unwrap_err();
    let message = err.to_string();
    assert!(message.contains(&file.0.display().to_string()), "{message}");
    assert!(message.contains("line 2"), "{message}");
    assert!(message.contains("train.batch_size"), "{message}");

    let missing = std::env::temp_dir().join("pgcnn-config-that-does-not-exist.toml");
    let err = Config::from_file(&missing).unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }));
    assert!(err.to_string().contains("pgcnn-config-that-does-not-exist"));
}

#[test]
fn file_round_trip() {
    let mut config = Config::default();
    set(&mut config, "net.type=GCNN");
    set(&mut config, "net.pool_blocks=[1]");
    set(&mut config, "train.optimizer_params.momentum=0.9");
    set(&mut config, "train.optimizer=SGD");
    let file = TempFile::new("round.toml", &config.to_toml_string().unwrap());
    assert_eq!(Config::from_file(&file.0).unwrap(), config);
}

#[test]
fn seed_beyond_toml_integers_cannot_be_rendered() {
    let config = Config {
        seed: u64::MAX,
        ..Config::default()
    };
    assert!(matches!(
        config.to_toml_string(),
        Err(ConfigError::Render { .. })
    ));
}
