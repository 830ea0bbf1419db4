//! Runs are never lost, on the real binary: a run directory is written by one process at
//! a time: a second writer gets an error naming the first one's pid, and a lock left by a
//! killed process blocks nothing.
#![cfg(unix)]

mod cli_support;

use cli_support::{
    metrics_without_timings, resume_cmd, run, spawn, tiny_train, wait, wait_for_epoch, Scratch,
};
use pgcnn::train::LOCK_FILE;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

/// One epoch of one step: the quickest finished run.
const QUICK: &[&str] = &["--epochs", "1", "--max-steps", "1"];

/// Long enough (3 epochs of 6 steps, a second or more) for other processes to meet it
/// while it runs.
const LONG: &[&str] = &["--epochs", "3", "--max-steps", "6"];

/// Two runs started together on one directory: one runs to its end, the other stops at
/// once with an error naming the first; the directory holds the first run alone.
#[test]
fn two_runs_started_together_one_writes_and_the_other_names_it() {
    let scratch = Scratch::new("together");
    let dir = scratch.join("run");
    let a = spawn(tiny_train(&dir, LONG));
    let b = spawn(tiny_train(&dir, LONG));
    let (pid_a, pid_b) = (a.id(), b.id());
    let (out_a, out_b) = (wait(a, LIMIT), wait(b, LIMIT));
    let (winner, loser) = match (out_a.code, out_b.code) {
        (Some(0), _) => (pid_a, &out_b),
        (_, Some(0)) => (pid_b, &out_a),
        _ => panic!("neither run finished:\n{}\n{}", out_a.stderr, out_b.stderr),
    };
    loser.assert_clean_error(&[
        &format!(
            "{} is in use: pgcnn process {winner} is writing",
            dir.display()
        ),
        LOCK_FILE,
    ]);
    let epochs: Vec<_> = metrics_without_timings(&dir)
        .iter()
        .map(|m| m["epoch"].as_u64())
        .collect();
    assert_eq!(
        epochs,
        [Some(1), Some(2), Some(3)],
        "metrics.jsonl mixes runs"
    );
}

/// While a run writes its directory, neither `--resume` nor a new run may write it too; once it is killed (SIGKILL: no chance to clean up), its lock file is still there
/// and blocks nothing.
#[test]
fn a_second_writer_is_refused_and_a_killed_runs_lock_blocks_nothing() {
    let scratch = Scratch::new("lock");
    let dir = scratch.join("run");
    let mut child = spawn(tiny_train(&dir, LONG));
    let pid = child.id();
    wait_for_epoch(&mut child, &dir, 0, LIMIT);
    let in_use = format!("is in use: pgcnn process {pid} is writing a run there");
    run(resume_cmd(&dir, &[])).assert_clean_error(&[&in_use]);
    run(tiny_train(&dir, QUICK)).assert_clean_error(&[&in_use]);
    child.kill().expect("SIGKILL");
    assert_eq!(
        wait(child, LIMIT).code,
        None,
        "the run ended before it was killed, so the refusals prove nothing"
    );
    let lock = std::fs::read_to_string(dir.join(LOCK_FILE)).expect("the lock file stays");
    assert_eq!(lock.trim(), pid.to_string());
    let resumed = run(resume_cmd(&dir, &[]));
    resumed.assert_ok();
    resumed.assert_no_panic();
    assert!(dir.join("final.json").exists());
}
