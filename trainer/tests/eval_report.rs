//! `pgcnn eval` on a tiny trained checkpoint: the figures are fractions, the
//! untransformed test accuracy is the run's own, the JSON has its keys, a fixed seed
//! repeats, and the binary prints the same report.

mod eval_support;

use clap::Parser;
use eval_support::{best, temp_dir, train_tiny};
use pgcnn::cli::{Cli, Command};
use pgcnn::device::DeviceRequest;
use pgcnn::eval::{eval, eval_command, transform_list, EvalOptions, Split};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::OnceLock;

/// One partial SE(2) run shared by the tests of this file.
fn run_dir() -> &'static PathBuf {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| train_tiny("report", &[]))
}

fn options() -> EvalOptions {
    EvalOptions {
        device: DeviceRequest::Cpu.into(),
        ..EvalOptions::new(best(run_dir()))
    }
}

#[test]
fn untransformed_test_accuracy_is_the_runs() {
    let report = eval(options()).unwrap();
    let m = &report.measurements;
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir().join("final.json")).unwrap())
            .unwrap();
    // Same model, split, batch size and seed as the run's final test evaluation.
    assert_eq!(m.accuracy, summary["test_acc"].as_f64().unwrap());
    assert!((m.loss - summary["test_loss"].as_f64().unwrap()).abs() < 1e-12);
    assert!((0.0..=1.0).contains(&m.accuracy));
    assert_eq!(
        m.images, 376,
        "MNIST6-180's test split from the embedded digits, seed 0"
    );
    assert_eq!(m.transforms.len(), 1);
    assert_eq!(m.transforms[0].accuracy, m.accuracy);
    assert_eq!(m.transforms[0].invariance_error_max, 0.0);
    assert_eq!(report.split, "test");
    assert_eq!(report.dataset, "MNIST6-180");
}

#[test]
fn rotations_and_mirror_through_the_cli_write_json() {
    let dir = temp_dir("report-json");
    let json = dir.join("eval.json");
    let ck = best(run_dir());
    let cli = Cli::try_parse_from([
        "pgcnn",
        "eval",
        "--checkpoint",
        ck.to_str().unwrap(),
        "--rotations",
        "0, 90,45",
        "--mirror",
        "--split",
        "val",
        "--device",
        "cpu",
        "--json",
        json.to_str().unwrap(),
        "--no-progress",
    ])
    .unwrap();
    let Command::Eval(args) = cli.command else {
        panic!("not parsed as eval: {:?}", cli.command)
    };
    eval_command(args).unwrap();
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for key in [
        "checkpoint",
        "dataset",
        "split",
        "images",
        "device",
        "batch_size",
        "seed",
        "accuracy",
        "loss",
        "convention",
        "transformations",
    ] {
        assert!(v.get(key).is_some(), "key {key} missing from {v}");
    }
    assert_eq!(v["split"], "val");
    let rows = v["transformations"].as_array().unwrap();
    let got: Vec<(f64, bool, bool)> = rows
        .iter()
        .map(|r| {
            (
                r["angle"].as_f64().unwrap(),
                r["mirror"].as_bool().unwrap(),
                r["exact"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (0.0, false, true),
            (90.0, false, true),
            (45.0, false, false),
            (0.0, true, true),
            (90.0, true, true),
            (45.0, true, false)
        ]
    );
    for r in rows {
        let acc = r["accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc), "{r}");
        let (mean, max) = (
            r["invariance_error_mean"].as_f64().unwrap(),
            r["invariance_error_max"].as_f64().unwrap(),
        );
        assert!(0.0 <= mean && mean <= max, "{r}");
        assert!(r["loss"].as_f64().unwrap() > 0.0);
    }
    // The identity row is the untransformed evaluation.
    assert_eq!(rows[0]["accuracy"], v["accuracy"]);
    assert_eq!(rows[0]["invariance_error_max"].as_f64(), Some(0.0));
    // A bilinear 45° rotation changes the logits.
    assert!(rows[2]["invariance_error_mean"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_fixed_seed_repeats_and_the_table_lists_every_row() {
    let opts = EvalOptions {
        transforms: transform_list(&[30.0, 180.0], true),
        seed: Some(7),
        batch_size: Some(50),
        split: Split::Val,
        ..options()
    };
    let a = eval(opts.clone()).unwrap();
    let b = eval(opts).unwrap();
    assert_eq!(a.measurements, b.measurements);
    assert_eq!(a.seed, 7);
    assert_eq!(a.batch_size, 50);
    let table = a.table();
    assert_eq!(table.lines().count(), 2 + 4, "{table}");
    assert!(table.contains("30°") && table.contains("180°"), "{table}");
}

#[test]
fn the_binary_prints_json_with_format_json() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pgcnn"))
        .args(["eval", "--checkpoint"])
        .arg(best(run_dir()))
        .args(["--angles", "4", "--device", "cpu", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let angles: Vec<f64> = v["transformations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["angle"].as_f64().unwrap())
        .collect();
    assert_eq!(angles, [0.0, 90.0, 180.0, 270.0]);
    assert_eq!(v["accuracy"], v["transformations"][0]["accuracy"]);
}
