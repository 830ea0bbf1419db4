//! Kill-and-resume on the real binary: a run killed (SIGKILL) or interrupted (SIGINT,
//! Ctrl-C) at some moment and continued with `pgcnn train --resume DIR` ends with the
//! same weights, optimiser state, metrics and test accuracy, bit for bit, as a run that
//! was never stopped (CPU backend, same seed and thread count).
#![cfg(unix)]

mod cli_support;

use cli_support::{
    assert_same_run, interrupt, pgcnn, run, signal, spawn, tiny_train, wait, wait_for_epoch,
    Outcome, Scratch,
};
use pgcnn::checkpoint::Checkpoint;
use pgcnn::train::SAME_REQUEST;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

/// Adam with the cosine schedule, dropout, the kernel-norm penalty and clipping: 3
/// epochs of 6 steps.
const ADAM: &[&str] = &[
    "--set",
    "train.epochs=3",
    "--max-steps",
    "6",
    "--set",
    "net.dropout=0.1",
    "--set",
    "train.scheduler=cosine",
    "--set",
    "train.weight_decay=0.0001",
    "--set",
    "train.gradient_clip=1.0",
];

/// SGD with momentum, the plateau schedule (state carried across epochs) and the
/// monotonic penalty.
const SGD: &[&str] = &[
    "--set",
    "train.epochs=3",
    "--max-steps",
    "6",
    "--set",
    "train.optimizer=SGD",
    "--set",
    "train.lr=0.01",
    "--set",
    "train.optimizer_params.momentum=0.9",
    "--set",
    "train.scheduler=plateau",
    "--set",
    "train.scheduler_params.patience=0",
    "--set",
    "train.monotonic_decay_loss=0.01",
];

/// One short step per epoch and a long validation (nine tenths of the images, in batches
/// of 8): a signal a little after a step lands in the validation.
const LONG_VALIDATION: &[&str] = &[
    "--set",
    "train.epochs=2",
    "--max-steps",
    "1",
    "--set",
    "train.batch_size=8",
    "--set",
    "dataset_params.val_fraction=0.9",
];

/// The uninterrupted run of `settings`, made once per test binary (kept for the other
/// tests; the target tmp dir is Cargo's to clean).
fn reference(settings: &'static [&'static str]) -> PathBuf {
    static ADAM_RUN: OnceLock<PathBuf> = OnceLock::new();
    static SGD_RUN: OnceLock<PathBuf> = OnceLock::new();
    static LONG_VALIDATION_RUN: OnceLock<PathBuf> = OnceLock::new();
    let (cell, tag) = if std::ptr::eq(settings, ADAM) {
        (&ADAM_RUN, "adam")
    } else if std::ptr::eq(settings, SGD) {
        (&SGD_RUN, "sgd")
    } else if std::ptr::eq(settings, LONG_VALIDATION) {
        (&LONG_VALIDATION_RUN, "long-validation")
    } else {
        panic!("no reference run for {settings:?}")
    };
    cell.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("pgcnn-cli-reference-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        run(tiny_train(&dir, settings)).assert_ok();
        dir
    })
    .clone()
}

/// Starts a run of `settings` in `dir`, waits until checkpoint `epoch` is written and
/// then `delay` more, calls `send` to signal it, and returns how it ended: without a
/// panic and with exit code 130, as every run stopped on request ends.
fn stop_on_request(
    dir: &Path,
    settings: &'static [&'static str],
    epoch: u64,
    delay: Duration,
    send: impl FnOnce(&std::process::Child),
) -> Outcome {
    let mut child = spawn(tiny_train(dir, settings));
    wait_for_epoch(&mut child, dir, epoch, LIMIT);
    std::thread::sleep(delay);
    send(&child);
    let stopped = wait(child, LIMIT);
    stopped.assert_no_panic();
    assert_eq!(stopped.code, Some(130), "{}", stopped.stderr);
    stopped
}

fn resume(dir: &Path) -> Outcome {
    let out = run(pgcnn(&[
        "train",
        "--resume",
        &dir.display().to_string(),
        "--no-progress",
        "--device",
        "cpu",
    ]));
    out.assert_ok();
    out.assert_no_panic();
    out
}

#[test]
fn sigkill_during_epoch_2_then_resume_is_bit_identical() {
    let scratch = Scratch::new("kill");
    let dir = scratch.join("run");
    let mut child = spawn(tiny_train(&dir, ADAM));
    wait_for_epoch(&mut child, &dir, 1, LIMIT);
    std::thread::sleep(Duration::from_millis(150));
    child.kill().expect("SIGKILL");
    let killed = wait(child, LIMIT);
    assert_eq!(killed.code, None, "the run ended before it was killed");
    assert!(!dir.join("final.json").exists());
    let resumed = resume(&dir);
    assert!(
        resumed.stderr.contains("resuming after epoch"),
        "{}",
        resumed.stderr
    );
    assert_same_run(&reference(ADAM), &dir);
}

#[test]
fn two_kills_in_epochs_1_and_3_then_resume_is_bit_identical() {
    let scratch = Scratch::new("kill2");
    let dir = scratch.join("run");
    // First kill: inside epoch 1, after the initial checkpoint.
    let mut child = spawn(tiny_train(&dir, ADAM));
    wait_for_epoch(&mut child, &dir, 0, LIMIT);
    std::thread::sleep(Duration::from_millis(300));
    child.kill().expect("SIGKILL");
    assert_eq!(
        wait(child, LIMIT).code,
        None,
        "the run ended before the kill"
    );
    // Second kill: inside epoch 3 of the resumed run.
    let mut child = spawn(pgcnn(&[
        "train",
        "--resume",
        &dir.display().to_string(),
        "--no-progress",
    ]));
    wait_for_epoch(&mut child, &dir, 2, LIMIT);
    std::thread::sleep(Duration::from_millis(100));
    child.kill().expect("SIGKILL");
    assert_eq!(
        wait(child, LIMIT).code,
        None,
        "the run ended before the kill"
    );
    resume(&dir);
    assert_same_run(&reference(ADAM), &dir);
}

/// Ctrl-C: the run finishes its step, saves the position inside the epoch, says how to
/// resume and exits with 130; the resumed run continues from the next step.
#[test]
fn sigint_saves_mid_epoch_and_resume_is_bit_identical() {
    let scratch = Scratch::new("sigint");
    let dir = scratch.join("run");
    let stopped = stop_on_request(&dir, SGD, 1, Duration::from_millis(200), interrupt);
    assert!(stopped.stdout.is_empty(), "a summary was printed");
    let resume_hint = format!("pgcnn train --resume {}", dir.display());
    assert!(stopped.stderr.contains(&resume_hint), "{}", stopped.stderr);
    // "interrupted at epoch E, step S of 6": the checkpoint records the same place.
    let line = stopped
        .stderr
        .lines()
        .find(|l| l.starts_with("interrupted at epoch "))
        .unwrap_or_else(|| panic!("no interruption message:\n{}", stopped.stderr));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .take(3)
        .map(|s| s.parse().unwrap())
        .collect();
    let (epoch, step) = (numbers[0], numbers[1]);
    assert_eq!(numbers[2], 6, "{line}");
    let ck = Checkpoint::load(&dir.join("last.safetensors")).expect("the checkpoint loads");
    assert_eq!(ck.u64("run.epoch").unwrap(), epoch - 1, "{line}");
    assert_eq!(ck.u64("run.epoch_steps").unwrap(), step, "{line}");
    assert!(!dir.join("final.json").exists());
    let resumed = resume(&dir);
    if step > 0 {
        let expect = format!("resuming at epoch {epoch}, step {step}");
        assert!(resumed.stderr.contains(&expect), "{}", resumed.stderr);
    }
    assert_same_run(&reference(SGD), &dir);
}

/// A second Ctrl-C stops at once; the checkpoint on disk is still whole.
#[test]
fn double_sigint_exits_at_once_and_resume_is_bit_identical() {
    let scratch = Scratch::new("sigint2");
    let dir = scratch.join("run");
    let mut child = spawn(tiny_train(&dir, SGD));
    wait_for_epoch(&mut child, &dir, 1, LIMIT);
    interrupt(&child);
    // Past the window in which a repeat counts as the same request. The run may have
    // finished its step and stopped by then: then there is no second signal to send.
    std::thread::sleep(SAME_REQUEST + Duration::from_millis(20));
    let second = signal(&child, "INT", 1);
    let stopped = wait(child, LIMIT);
    stopped.assert_no_panic();
    assert_eq!(stopped.code, Some(130), "{}", stopped.stderr);
    if second {
        assert!(
            stopped.stderr.contains("interrupted twice: stopping now")
                || stopped.stderr.contains("interrupted at epoch "),
            "{}",
            stopped.stderr
        );
    }
    Checkpoint::load(&dir.join("last.safetensors")).expect("the checkpoint stays whole");
    resume(&dir);
    assert_same_run(&reference(SGD), &dir);
}

/// GNU `timeout` signals the run and then its whole process group, so a run under it
/// gets two SIGTERMs microseconds apart: one request, which saves the position inside
/// the epoch like a single Ctrl-C, rather than a second one that stops without saving.
#[test]
fn two_sigterms_at_once_are_one_request() {
    let scratch = Scratch::new("sigterm2");
    let dir = scratch.join("run");
    let stopped = stop_on_request(&dir, SGD, 1, Duration::from_millis(200), |child| {
        assert!(signal(child, "TERM", 2), "kill -TERM failed")
    });
    assert!(
        !stopped.stderr.contains("interrupted twice"),
        "{}",
        stopped.stderr
    );
    assert!(
        stopped
            .stderr
            .lines()
            .any(|l| l.starts_with("interrupted at epoch ")),
        "{}",
        stopped.stderr
    );
    resume(&dir);
    assert_same_run(&reference(SGD), &dir);
}

/// Ctrl-C during a validation stops it instead of waiting for its end; the checkpoint
/// holds the epoch's steps as done, and the resumed run starts with that validation.
#[test]
fn sigint_during_validation_stops_it_and_resume_is_bit_identical() {
    let scratch = Scratch::new("sigint-val");
    let dir = scratch.join("run");
    // The initial checkpoint is written just before the first step.
    let stopped = stop_on_request(
        &dir,
        LONG_VALIDATION,
        0,
        Duration::from_millis(150),
        interrupt,
    );
    // Not "epoch 2, step 0": the validation of epoch 1 did not run to its end.
    assert!(
        stopped
            .stderr
            .contains("interrupted at epoch 1, step 1 of 1"),
        "{}",
        stopped.stderr
    );
    let ck = Checkpoint::load(&dir.join("last.safetensors")).expect("the checkpoint loads");
    assert_eq!(ck.u64("run.epoch").unwrap(), 0);
    assert_eq!(ck.u64("run.epoch_steps").unwrap(), 1);
    let resumed = resume(&dir);
    assert!(
        resumed.stderr.contains("resuming at epoch 1, step 1"),
        "{}",
        resumed.stderr
    );
    assert_same_run(&reference(LONG_VALIDATION), &dir);
}
