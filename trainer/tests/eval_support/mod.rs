//! Tiny trained checkpoints for the `eval_*` tests: the small_se2_partial network made
//! narrow, trained two steps on MNIST6-180 from the embedded digits (a second or two).

#![allow(dead_code)] // Each test binary uses part of this module.

use pgcnn::config::build_config;
use pgcnn::device::DeviceRequest;
use pgcnn::train::{train, ExistingRun, Start, TrainOptions, BEST_CHECKPOINT};
use std::path::PathBuf;

/// A fresh directory under the system's temporary one, unique to this process.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pgcnn-eval-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Trains small_se2_partial, narrowed and with `overrides` on top, for two steps on
/// MNIST6-180 into a new directory `name`; returns the run directory.
pub fn train_tiny(name: &str, overrides: &[&str]) -> PathBuf {
    let mut settings = vec![
        "dataset=MNIST6-180",
        "train.epochs=1",
        "train.batch_size=32",
        "net.no_hidden=4",
        "kernel.no_hidden=8",
        "kernel.size=5",
    ];
    settings.extend_from_slice(overrides);
    let config = build_config(Some("small_se2_partial"), None, &settings).unwrap();
    let out = temp_dir(name);
    train(TrainOptions {
        config,
        out: out.clone(),
        start: Start::New(ExistingRun::Refuse),
        data_dir: None,
        device: DeviceRequest::Cpu.into(),
        max_steps: Some(2),
        progress: false,
        init_from: None,
    })
    .unwrap();
    out
}

/// The best checkpoint of a run directory.
pub fn best(run: &std::path::Path) -> PathBuf {
    run.join(BEST_CHECKPOINT)
}
