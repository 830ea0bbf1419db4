//! Runs are never lost, on the real binary: a new run does not write over a directory that
//! holds one (`--out DIR` is refused, the default directory moves on to `runs/NAME-2`)
//! unless `--overwrite` asks, and a run directory is written by one process at a time:
//! a second writer gets an error naming the first one's pid, and a lock left by a killed
//! process blocks nothing.
#![cfg(unix)]

mod cli_support;

use cli_support::{
    assert_has, metrics_without_timings, pgcnn, resume_cmd, run, run_files, spawn, tiny_train,
    wait, wait_for_epoch, Outcome, Scratch, TINY,
};
use pgcnn::train::LOCK_FILE;
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

/// One epoch of one step: the quickest finished run.
const QUICK: &[&str] = &["--epochs", "1", "--max-steps", "1"];

/// Long enough (3 epochs of 6 steps, a second or more) for other processes to meet it
/// while it runs.
const LONG: &[&str] = &["--epochs", "3", "--max-steps", "6"];

/// `pgcnn train TINY... QUICK...` without --out, run in `cwd` (so into `cwd/runs/`).
fn train_default_dir(cwd: &Path) -> Outcome {
    let mut args = vec!["train"];
    args.extend_from_slice(TINY);
    args.extend_from_slice(QUICK);
    let mut cmd = pgcnn(&args);
    cmd.current_dir(cwd);
    let out = run(cmd);
    out.assert_no_panic();
    out
}

#[test]
fn a_new_run_into_a_directory_that_holds_one_is_refused_and_changes_nothing() {
    let scratch = Scratch::new("refuse");
    let dir = scratch.join("run");
    run(tiny_train(&dir, QUICK)).assert_ok();
    let before = run_files(&dir);
    let d = dir.display().to_string();
    run(tiny_train(&dir, QUICK)).assert_clean_error(&[
        &format!("{d} holds a finished run; a new run does not write over it"),
        &format!("`pgcnn train --resume {d}`"),
        "--overwrite",
        "another --out DIR",
    ]);
    assert!(before == run_files(&dir), "the first run's files changed");
}

#[test]
fn overwrite_replaces_the_run() {
    let scratch = Scratch::new("overwrite");
    let dir = scratch.join("run");
    run(tiny_train(&dir, &["--epochs", "2", "--max-steps", "1"])).assert_ok();
    let before = run_files(&dir);
    let mut again = QUICK.to_vec();
    again.extend(["--seed", "7", "--overwrite"]);
    let out = run(tiny_train(&dir, &again));
    out.assert_ok();
    assert_has(&out.stderr, "note: replacing the run in");
    let after = run_files(&dir);
    assert_ne!(before["last.safetensors"], after["last.safetensors"]);
    assert_eq!(
        metrics_without_timings(&dir).len(),
        1,
        "the earlier epochs stayed"
    );
    assert_has(&String::from_utf8_lossy(&after["config.toml"]), "seed = 7");
}

/// The README's first command run twice: the second run goes to `runs/NAME-2` and says
/// so; the first is untouched.
#[test]
fn the_default_directory_moves_on_to_a_free_one() {
    let scratch = Scratch::new("default-dir");
    let first = scratch.join("runs/small_se2_partial");
    let out = train_default_dir(scratch.path());
    out.assert_ok();
    assert_has(&out.stdout, "\"out\":\"runs/small_se2_partial\"");
    let before = run_files(&first);
    let out = train_default_dir(scratch.path());
    out.assert_ok();
    assert_has(
        &out.stderr,
        "note: runs/small_se2_partial holds a finished run (--overwrite replaces it, \
             `pgcnn train --resume runs/small_se2_partial` continues it); this run goes to \
             runs/small_se2_partial-2",
    );
    assert_has(&out.stdout, "\"out\":\"runs/small_se2_partial-2\"");
    assert!(before == run_files(&first), "the first run's files changed");
    assert!(scratch.join("runs/small_se2_partial-2/final.json").exists());
}

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

/// While a run writes its directory, neither `--resume` nor `--overwrite` may write it
/// too; once it is killed (SIGKILL: no chance to clean up), its lock file is still there
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
    let mut overwrite = QUICK.to_vec();
    overwrite.push("--overwrite");
    run(tiny_train(&dir, &overwrite)).assert_clean_error(&[&in_use]);
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
