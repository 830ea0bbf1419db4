//! metrics.jsonl and final.json: round trips, line-numbered errors, resume truncation.

use pgcnn::metrics::{
    parse_jsonl, read_jsonl, EpochMetrics, FinalSummary, LayerPartial, MetricsError, MetricsLog,
    FINAL_FILE, METRICS_FILE,
};
use std::path::{Path, PathBuf};

/// A directory under the system's temporary directory, removed (with its contents) on drop.
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A path for a directory that the test creates (or lets the code under test create).
fn tempdir(tag: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("pgcnn-metrics-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    TempDir(dir)
}

fn epoch(n: usize) -> EpochMetrics {
    EpochMetrics {
        epoch: n,
        lr: 1e-3 / n as f64,
        train_loss: 2.0 / n as f64,
        train_acc: 0.1 * n as f64,
        val_loss: Some(2.5 / n as f64),
        val_acc: Some(0.09 * n as f64),
        val_draw_acc_mean: Some(0.085 * n as f64),
        val_draw_acc_std: Some(0.004),
        seconds: 12.25,
        images_per_second: 4000.5,
        partial: vec![
            LayerPartial {
                layer: "lift".into(),
                theta: Some(1.0 - 0.05 * n as f64),
                keep_probs: vec![],
            },
            LayerPartial {
                layer: "blocks.0.conv1".into(),
                theta: None,
                keep_probs: vec![0.7, 0.6],
            },
        ],
    }
}

fn bits(m: &[EpochMetrics]) -> String {
    // Debug output of f64 is exact, and NaN compares equal as text.
    format!("{m:?}")
}

#[test]
fn append_then_read_round_trips() {
    let root = tempdir("roundtrip");
    let dir = root.join("nested");
    let mut log = MetricsLog::create(&dir).unwrap();
    assert_eq!(log.path(), dir.join(METRICS_FILE));
    let mut written: Vec<EpochMetrics> = (1..=3).map(epoch).collect();
    written[1].val_loss = None;
    written[1].val_acc = None;
    written[2].train_loss = f64::NAN;
    written[2].partial[0].theta = Some(f64::INFINITY);
    written[2].partial[1].keep_probs = vec![f64::NEG_INFINITY, 0.5];
    for m in &written {
        log.append(m).unwrap();
    }
    // Each line is flushed: readable while the log is still open.
    let read = read_jsonl(log.path()).unwrap();
    assert_eq!(bits(&read), bits(&written));
    let text = std::fs::read_to_string(log.path()).unwrap();
    assert_eq!(text.lines().count(), 3);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for key in [
            "epoch",
            "lr",
            "train_loss",
            "train_acc",
            "seconds",
            "images_per_second",
            "partial",
        ] {
            assert!(v.get(key).is_some(), "{key} missing in {line}");
        }
    }
    assert!(!text.lines().nth(1).unwrap().contains("val_acc"));
    assert!(text
        .lines()
        .nth(2)
        .unwrap()
        .contains(r#""train_loss":"NaN""#));
}

#[test]
fn parse_errors_name_the_line() {
    let dir = tempdir("parse");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(METRICS_FILE);
    let good = serde_json::to_string(&epoch(1)).unwrap();
    std::fs::write(
        &path,
        format!("{good}\n\n{{\"epoch\": 2, \"lr\": \"fast\"}}\n{good}\n"),
    )
    .unwrap();
    let err = read_jsonl(&path).unwrap_err();
    let MetricsError::Parse { line, .. } = &err else {
        panic!("expected a parse error, got {err}");
    };
    assert_eq!(*line, 3);
    let msg = err.to_string();
    assert!(msg.contains(&format!("{}:3:", path.display())), "{msg}");
    assert_eq!(parse_jsonl("\n[1]\n").unwrap_err().0, 2);
    // Invalid UTF-8 on the second line.
    std::fs::write(&path, b"{}\n\xff\xfe\n").unwrap();
    assert!(matches!(
        read_jsonl(&path),
        Err(MetricsError::Parse { line: 2, .. })
    ));
}

#[test]
fn null_and_strings_are_read_as_non_finite() {
    let line = r#"{"epoch":1,"lr":null,"train_loss":"inf","train_acc":0,"seconds":1,"images_per_second":"-Infinity","val_acc":null}"#;
    let m = &parse_jsonl(line).unwrap()[0];
    assert!(m.lr.is_nan());
    assert_eq!(m.train_loss, f64::INFINITY);
    assert_eq!(m.images_per_second, f64::NEG_INFINITY);
    assert_eq!(m.val_acc, None);
    assert!(m.partial.is_empty());
    assert!(parse_jsonl(r#"{"epoch":1,"lr":"fast"}"#).is_err());
}

#[test]
fn resume_keeps_the_checkpointed_epochs_and_drops_a_torn_line() {
    let dir = tempdir("resume");
    let mut log = MetricsLog::create(&dir).unwrap();
    for n in 1..=5 {
        log.append(&epoch(n)).unwrap();
    }
    drop(log);
    let path = dir.join(METRICS_FILE);
    let mut text = std::fs::read_to_string(&path).unwrap();
    let original = text.clone();
    // A kill in the middle of writing epoch 6.
    text.push_str(r#"{"epoch":6,"lr":0.0001,"train_lo"#);
    std::fs::write(&path, &text).unwrap();

    let (mut log, kept) = MetricsLog::resume(&dir, 3).unwrap();
    assert_eq!(kept.iter().map(|m| m.epoch).collect::<Vec<_>>(), [1, 2, 3]);
    let now = std::fs::read_to_string(&path).unwrap();
    let first3: String = original.lines().take(3).map(|l| format!("{l}\n")).collect();
    assert_eq!(now, first3, "kept lines are unchanged bytes");
    log.append(&epoch(4)).unwrap();
    let read = read_jsonl(&path).unwrap();
    assert_eq!(
        read.iter().map(|m| m.epoch).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert!(!dir.join(".metrics.jsonl.tmp").exists());

    // Resuming where all epochs are covered keeps all; a missing log starts empty.
    let (_, kept) = MetricsLog::resume(&dir, 10).unwrap();
    assert_eq!(kept.len(), 4);
    let fresh = tempdir("resume-fresh");
    let (mut log, kept) = MetricsLog::resume(&fresh, 2).unwrap();
    assert!(kept.is_empty());
    log.append(&epoch(3)).unwrap();
    assert_eq!(read_jsonl(&fresh.join(METRICS_FILE)).unwrap().len(), 1);
}

#[test]
fn resume_refuses_a_corrupt_line_in_the_middle() {
    let dir = tempdir("resume-corrupt");
    std::fs::create_dir_all(&dir).unwrap();
    let good = serde_json::to_string(&epoch(1)).unwrap();
    std::fs::write(
        dir.join(METRICS_FILE),
        format!("{good}\nnot json\n{good}\n"),
    )
    .unwrap();
    let err = MetricsLog::resume(&dir, 5).unwrap_err();
    assert!(matches!(err, MetricsError::Parse { line: 2, .. }), "{err}");
    // The log is left as it was.
    assert_eq!(
        std::fs::read_to_string(dir.join(METRICS_FILE))
            .unwrap()
            .lines()
            .count(),
        3
    );
}

#[test]
fn final_summary_round_trips_and_has_the_required_keys() {
    let dir = tempdir("final");
    std::fs::create_dir_all(&dir).unwrap();
    let summary = FinalSummary {
        test_acc: 0.9871,
        test_loss: Some(0.04),
        test_draw_acc_mean: Some(0.9805),
        test_draw_acc_std: Some(0.0061),
        eval_draws: Some(8),
        eval_mode: Some("sample".into()),
        best_val_acc: 0.99,
        best_epoch: 17,
        epochs: 20,
        seconds: Some(321.5),
        partial: epoch(17).partial,
    };
    let path = summary.write(&dir).unwrap();
    assert_eq!(path, dir.join(FINAL_FILE));
    assert_eq!(FinalSummary::read(&path).unwrap(), summary);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v["test_acc"], 0.9871);
    assert_eq!(v["best_val_acc"], 0.99);
    assert_eq!(v["epochs"], 20);
    assert_eq!(v["eval_draws"], 8);
    assert_eq!(v["test_draw_acc_std"], 0.0061);
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, [FINAL_FILE]);
    // The minimal form of the issue reads too.
    std::fs::write(
        &path,
        r#"{"test_acc": 0.5, "best_val_acc": 0.6, "best_epoch": 1, "epochs": 2}"#,
    )
    .unwrap();
    assert_eq!(FinalSummary::read(&path).unwrap().test_loss, None);
    std::fs::write(&path, "{\n\"test_acc\": }").unwrap();
    assert!(matches!(
        FinalSummary::read(&path),
        Err(MetricsError::Parse { line: 2, .. })
    ));
}
