//! A checkpoint from a different configuration is refused with the differing keys.

use pgcnn::checkpoint::{config_differences, Checkpoint, CheckpointError, ConfigDifference};
use pgcnn::config::Config;

const STORED: &str = r#"
dataset = "rotmnist"
seed = 0
[net]
width = 32
blocks = 2
[train]
lr = 0.001
epochs = 300
widths = [1, 2]
[train.sub]
a = true
"#;

#[test]
fn formatting_order_and_number_spelling_do_not_matter() {
    let same = r#"
seed = 0.0   # a float equal to the integer
dataset = "rotmnist"
[train]
widths = [1.0, 2]
epochs = 300
lr = 1e-3
[train.sub]
a = true
[net]
blocks = 2
width = 32
"#;
    Checkpoint::new(STORED).check_config(same).unwrap();
    assert!(config_differences(STORED, same).unwrap().is_empty());
}

#[test]
fn mismatch_lists_every_differing_dotted_key() {
    let other = r#"
dataset = "rotmnist"
seed = 0
[net]
width = 64
[train]
lr = 0.01
epochs = 300
widths = [1, 2, 3]
momentum = 0.9
[train.sub]
a = false
"#;
    let err = Checkpoint::new(STORED).check_config(other).unwrap_err();
    let CheckpointError::ConfigMismatch(diffs) = &err else {
        panic!("expected a mismatch, got {err}");
    };
    let keys: Vec<&str> = diffs.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "net.blocks",
            "net.width",
            "train.lr",
            "train.momentum",
            "train.sub.a",
            "train.widths"
        ]
    );
    assert_eq!(
        diffs[0],
        ConfigDifference {
            key: "net.blocks".into(),
            stored: Some("2".into()),
            expected: None
        }
    );
    assert_eq!(diffs[1].stored.as_deref(), Some("32"));
    assert_eq!(diffs[1].expected.as_deref(), Some("64"));
    assert_eq!(diffs[3].stored, None);
    let msg = err.to_string();
    assert!(msg.contains("different configuration"), "{msg}");
    assert!(msg.contains("6 keys differ"), "{msg}");
    assert!(
        msg.contains("net.width: checkpoint 32, this run 64"),
        "{msg}"
    );
    assert!(
        msg.contains("net.blocks: checkpoint 2, this run (absent)"),
        "{msg}"
    );
}

#[test]
fn a_table_replaced_by_a_value_is_one_difference() {
    let diffs = config_differences("[net]\nwidth = 1\n", "net = 3\n").unwrap();
    assert_eq!(diffs.len(), 1);
    assert_eq!(diffs[0].key, "net");
    assert_eq!(diffs[0].stored.as_deref(), Some("{...}"));
}

#[test]
fn invalid_toml_is_a_syntax_error_not_a_mismatch() {
    let err = Checkpoint::new("x = ").check_config(STORED).unwrap_err();
    assert!(matches!(err, CheckpointError::ConfigSyntax { .. }), "{err}");
    assert!(err.to_string().contains("checkpoint's"), "{err}");
    let err = Checkpoint::new(STORED).check_config("[oops").unwrap_err();
    assert!(matches!(err, CheckpointError::ConfigSyntax { .. }), "{err}");
}

#[test]
fn typed_config_round_trips_through_a_checkpoint() {
    let config = Config::default();
    let text = config.to_toml_string().unwrap();
    let mut c = Checkpoint::new(text.clone());
    c.set_u64("epoch", 1);
    let back = Checkpoint::from_bytes(&c.to_bytes().unwrap()).unwrap();
    back.check_config(&text).unwrap();
    let mut changed = config.clone();
    changed.apply_override("train.lr=0.5").unwrap();
    let err = back
        .check_config(&changed.to_toml_string().unwrap())
        .unwrap_err();
    let CheckpointError::ConfigMismatch(diffs) = err else {
        panic!("expected a mismatch");
    };
    assert_eq!(diffs.len(), 1);
    assert_eq!(diffs[0].key, "train.lr");
    assert_eq!(diffs[0].expected.as_deref(), Some("0.5"));
}
