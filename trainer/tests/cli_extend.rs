//! `pgcnn train --resume DIR --epochs N` on the real binary: a run continued to N epochs
//! is, bit for bit, the run started with `--epochs N` when no schedule that depends on
//! the total has moved yet (CPU backend, same seed and thread count), and says so in a
//! note and in its `config.toml` when one has (docs/runs.md).
#![cfg(unix)]

mod cli_support;

use cli_support::{
    assert_has, assert_same_run, checkpoint_epoch, metrics_without_timings, resume_cmd, run,
    run_files, spawn, tiny_train, wait, wait_for_epoch, Outcome, Scratch,
};
use pgcnn::checkpoint::Checkpoint;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

/// Learned keep-or-drop decisions (deterministic rotations) at a constant Gumbel
/// temperature, dropout, the constant learning rate: nothing depends on the total.
const CONSTANT: &[&str] = &[
    "--max-steps",
    "3",
    "--set",
    "base_group.sampling_method=deterministic",
    "--set",
    "base_group.sample_per_layer=false",
    "--set",
    "base_group.gumbel_init_temp=0.5",
    "--set",
    "base_group.gumbel_end_temp=0.5",
    "--set",
    "net.dropout=0.1",
];

/// Added to [`CONSTANT`] (a later `--set` wins): the default falling temperature and
/// the cosine schedule without warm-up, which both depend on the total from the second
/// iteration on.
const FALLING_COSINE: &[&str] = &[
    "--set",
    "base_group.gumbel_end_temp=0.0001",
    "--set",
    "train.scheduler=cosine",
];

/// The cosine schedule after one epoch of warm-up (random sampling: no Gumbel
/// decisions). Epochs of 6 steps, so that a kill just after epoch 1 is saved lands
/// well before epoch 2 is.
const WARMUP: &[&str] = &[
    "--max-steps",
    "6",
    "--set",
    "train.scheduler=cosine",
    "--set",
    "train.scheduler_params.warmup_epochs=1",
];

fn with_epochs(settings: &[&'static str], epochs: &'static str) -> Vec<&'static str> {
    let mut args = settings.to_vec();
    args.extend(["--epochs", epochs]);
    args
}

fn resume_to(dir: &Path, epochs: &str) -> Outcome {
    let out = run(resume_cmd(dir, &["--epochs", epochs]));
    out.assert_no_panic();
    out
}

fn config_toml(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("config.toml")).expect("read config.toml")
}

/// The uninterrupted 3-epoch run of [`WARMUP`], made once per test binary (kept for the
/// other tests; the target tmp dir is Cargo's to clean).
fn warmup_reference() -> PathBuf {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("pgcnn-cli-extend-reference-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        run(tiny_train(&dir, &with_epochs(WARMUP, "3"))).assert_ok();
        dir
    })
    .clone()
}

/// Starts `settings` in `dir`, kills it (SIGKILL) as soon as the checkpoint after
/// `epoch` is on disk, and checks that this is the checkpoint left.
fn killed_after_epoch(dir: &Path, settings: &[&str], epoch: u64) {
    let mut child = spawn(tiny_train(dir, settings));
    wait_for_epoch(&mut child, dir, epoch, LIMIT);
    child.kill().expect("SIGKILL");
    assert_eq!(
        wait(child, LIMIT).code,
        None,
        "the run ended before the kill"
    );
    assert_eq!(
        checkpoint_epoch(dir),
        Some(epoch),
        "the next epoch was saved before the kill landed"
    );
}

/// A finished run of `settings` with `--epochs from`, continued with `--epochs to`
/// (`continued`), and the run started with `--epochs to` (`direct`), in `scratch`;
/// returns what the continuing command printed.
fn continued_and_direct(
    scratch: &Scratch,
    settings: &[&'static str],
    from: &'static str,
    to: &'static str,
) -> Outcome {
    let (direct, continued) = (scratch.join("direct"), scratch.join("continued"));
    run(tiny_train(&direct, &with_epochs(settings, to))).assert_ok();
    run(tiny_train(&continued, &with_epochs(settings, from))).assert_ok();
    let out = resume_to(&continued, to);
    out.assert_ok();
    assert_has(
        &out.stderr,
        &format!("is set to {to} epochs (it was started with {from})"),
    );
    out
}

#[test]
fn a_finished_run_continued_is_bit_identical_when_no_schedule_depends_on_the_total() {
    let scratch = Scratch::new("extend-constant");
    let out = continued_and_direct(&scratch, CONSTANT, "1", "3");
    assert!(!out.stderr.contains("bit-identical"), "{}", out.stderr);
    let continued = scratch.join("continued");
    assert_same_run(&scratch.join("direct"), &continued);
    let config = config_toml(&continued);
    assert_has(&config, "# train.epochs was 1;");
    assert_has(
        &config,
        "No schedule that depends on train.epochs had moved yet",
    );
}

#[test]
fn a_finished_cosine_run_continued_differs_and_says_so() {
    let scratch = Scratch::new("extend-cosine");
    let settings = [CONSTANT, FALLING_COSINE].concat();
    let out = continued_and_direct(&scratch, &settings, "1", "2");
    assert_has(
        &out.stderr,
        "note: the cosine learning-rate schedule and the Gumbel temperature depend on \
         train.epochs: the 3 iterations done followed the 1-epoch curves",
    );
    assert_has(
        &out.stderr,
        "will not be bit-identical to one started with --epochs 2",
    );
    let (direct, continued) = (scratch.join("direct"), scratch.join("continued"));
    assert_has(
        &config_toml(&continued),
        "the cosine learning-rate schedule and the Gumbel temperature followed the 1-epoch \
         curves",
    );
    let epochs: Vec<_> = metrics_without_timings(&continued)
        .iter()
        .map(|m| m["epoch"].as_u64())
        .collect();
    assert_eq!(epochs, [Some(1), Some(2)]);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(continued.join("final.json")).unwrap()).unwrap();
    assert_eq!(summary["epochs"], 2, "{summary}");
    // What the note says: the weights are not those of the 2-epoch run.
    let load = |d: &Path| Checkpoint::load(&d.join("last.safetensors")).unwrap();
    let (a, b) = (load(&direct), load(&continued));
    assert_eq!(a.config_toml, b.config_toml, "both are 2-epoch runs now");
    assert!(
        a.tensors
            .iter()
            .zip(&b.tensors)
            .any(|(x, y)| x.data != y.data),
        "the continued run has the 2-epoch run's weights"
    );
}

/// Starts [`WARMUP`] with `--epochs started`, kills it once the checkpoint after epoch
/// `killed_after` is saved, continues it with `--epochs 3`, checks that it ends as the
/// uninterrupted 3-epoch run did, and returns what the continuing command printed.
fn stopped_then_continued_to_3(tag: &str, started: &'static str, killed_after: u64) -> Outcome {
    let scratch = Scratch::new(tag);
    let dir = scratch.join("run");
    killed_after_epoch(&dir, &with_epochs(WARMUP, started), killed_after);
    let out = resume_to(&dir, "3");
    out.assert_ok();
    assert_same_run(&warmup_reference(), &dir);
    out
}

/// A run started with 2 epochs and stopped (killed) inside its warm-up, then continued
/// to 3: the rates it used are those of the 3-epoch run, which it becomes.
#[test]
fn a_run_stopped_in_its_warm_up_continued_to_more_epochs_is_bit_identical() {
    let out = stopped_then_continued_to_3("extend-warmup", "2", 1);
    assert_has(&out.stderr, "is set to 3 epochs (it was started with 2)");
    assert!(!out.stderr.contains("bit-identical"), "{}", out.stderr);
}

/// A run started with `--epochs 3`, stopped past its warm-up and resumed with
/// `--epochs 3`: the count is the run's own, so nothing changes.
#[test]
fn a_run_stopped_and_resumed_with_its_own_epochs_is_bit_identical() {
    let out = stopped_then_continued_to_3("extend-same", "3", 2);
    assert!(!out.stderr.contains("is set to"), "{}", out.stderr);
}

#[test]
fn fewer_epochs_than_the_run_has_trained_is_an_error_that_changes_nothing() {
    let scratch = Scratch::new("extend-fewer");
    let dir = scratch.join("run");
    run(tiny_train(&dir, &["--epochs", "2", "--max-steps", "1"])).assert_ok();
    let before = run_files(&dir);
    resume_to(&dir, "1").assert_clean_error(&[
        "--epochs 1: the run in",
        "has already trained 2 epochs, so it needs at least --epochs 2",
    ]);
    assert!(before == run_files(&dir), "the run's files changed");
}

/// A run that stopped early (no better validation accuracy for
/// `train.max_epochs_no_improvement` epochs) stays stopped when continued, as the run
/// started with more epochs would have. A learning rate too small to move an f32 weight
/// and layer norms (no running statistics) make every validation the same, so the run
/// stops after epoch 2 of 5.
#[test]
fn a_run_that_stopped_early_stays_stopped() {
    let scratch = Scratch::new("extend-early-stop");
    let dir = scratch.join("run");
    let stalled = [
        "--epochs",
        "5",
        "--max-steps",
        "1",
        "--set",
        "train.max_epochs_no_improvement=1",
        "--set",
        "train.lr=1e-46",
        "--set",
        "train.lr_probs=1e-46",
        "--set",
        "net.norm=LayerNorm",
    ];
    let out = run(tiny_train(&dir, &stalled));
    out.assert_ok();
    assert_has(&out.stderr, "stopping early");
    assert_eq!(metrics_without_timings(&dir).len(), 2, "{}", out.stderr);
    let out = resume_to(&dir, "6");
    out.assert_ok();
    assert_has(
        &out.stderr,
        "note: the run stopped early (train.max_epochs_no_improvement = 1",
    );
    assert_eq!(metrics_without_timings(&dir).len(), 2, "{}", out.stderr);
    assert_has(&out.stdout, "\"epochs\":2");
}

/// `--epochs N` writes the new count into the last checkpoint, then the best one, then
/// `config.toml`: a run killed between those writes (here: its `config.toml` still says
/// another count) still resumes, with the last checkpoint's count.
#[test]
fn a_config_toml_with_another_epoch_count_still_resumes() {
    let scratch = Scratch::new("extend-torn");
    let dir = scratch.join("run");
    run(tiny_train(&dir, &["--epochs", "1", "--max-steps", "1"])).assert_ok();
    let path = dir.join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let torn = text.replace("\nepochs = 1\n", "\nepochs = 7\n");
    assert_ne!(text, torn, "config.toml has no `epochs = 1` line:\n{text}");
    std::fs::write(&path, torn).unwrap();
    let out = run(resume_cmd(&dir, &[]));
    out.assert_ok();
    assert_has(&out.stdout, "\"epochs\":1");
}
