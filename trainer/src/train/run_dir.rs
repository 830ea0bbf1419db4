//! Claiming the directory of a new run: a run is never written over unless asked.
//!
//! Running the same command twice must not silently replace the first run's checkpoints
//! and metrics. So a directory that holds a run (any of its files) is, as the caller
//! chooses, refused with an error that names `--overwrite` and `--resume`, replaced, or
//! passed over for the first free `DIR-2`, `DIR-3`, ... The directory is locked
//! ([`super::lock`]) before it is looked at, so that two runs started together cannot
//! both find it free.

use super::files::{BEST_CHECKPOINT, CONFIG_FILE, LAST_CHECKPOINT};
use super::lock::{lock, try_lock, RunLock};
use crate::metrics::{FINAL_FILE, METRICS_FILE};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// What a new run does when its directory already holds a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExistingRun {
    /// Stop with an error naming `--overwrite` and `--resume` (a directory the user
    /// named with `--out`: writing elsewhere would surprise a script that reads it).
    Refuse,
    /// Replace it (`--overwrite`).
    Overwrite,
    /// Write the new run into the first free `DIR-2`, `DIR-3`, ... and say so (the
    /// default directory `runs/NAME`, so that repeating a command keeps both runs).
    NextFree,
}

/// The files `pgcnn train` writes into a run directory; one of them makes it hold a run.
const RUN_FILES: [&str; 5] = [
    CONFIG_FILE,
    METRICS_FILE,
    LAST_CHECKPOINT,
    BEST_CHECKPOINT,
    FINAL_FILE,
];

/// The most directories [`ExistingRun::NextFree`] tries (`DIR`, `DIR-2`, ...).
const MAX_CANDIDATES: usize = 1000;

/// Whether `dir` holds (some of) a run's files.
pub fn holds_run(dir: &Path) -> bool {
    RUN_FILES.iter().any(|f| dir.join(f).exists())
}

/// A run directory claimed for a new run, locked until dropped.
#[derive(Debug)]
pub struct Claimed {
    /// The directory the run writes (`out`, or `out-N` for [`ExistingRun::NextFree`]).
    pub dir: PathBuf,
    pub lock: RunLock,
}

/// Creates and locks the directory of a new run, handling an earlier run in `out` as
/// `existing` says. The earlier run's files are left in place for
/// [`ExistingRun::Overwrite`]: the new run replaces them when it starts writing, so an
/// error before then (a dataset that is missing) loses nothing.
pub fn claim_new_run(out: &Path, existing: ExistingRun) -> Result<Claimed> {
    if existing == ExistingRun::NextFree {
        return claim_next_free(out);
    }
    create_dir(out)?;
    let lock = lock(out)?;
    if holds_run(out) {
        if existing == ExistingRun::Refuse {
            bail!(
                "{} {}; a new run does not write over it: {}, or choose another --out DIR",
                out.display(),
                describe_run(out),
                choices(out)
            );
        }
        eprintln!("note: replacing the run in {} (--overwrite)", out.display());
    }
    Ok(Claimed {
        dir: out.to_path_buf(),
        lock,
    })
}

/// [`ExistingRun::NextFree`]: the first of `out`, `out-2`, `out-3`, ... that holds no
/// run and is not locked by another process.
fn claim_next_free(out: &Path) -> Result<Claimed> {
    let Some(name) = out.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        bail!("{} does not name a directory", out.display());
    };
    // Why `out` itself was passed over, for the note.
    let mut why_not_out: Option<String> = None;
    for n in 1..=MAX_CANDIDATES {
        let dir = if n == 1 {
            out.to_path_buf()
        } else {
            out.with_file_name(format!("{name}-{n}"))
        };
        if dir.exists() && !dir.is_dir() {
            why_not_out.get_or_insert_with(|| "is a file".to_string());
            continue;
        }
        create_dir(&dir)?;
        let why_not = match try_lock(&dir)? {
            Err(in_use) => format!("is being written by {}", in_use.holder()),
            Ok(_) if holds_run(&dir) => {
                let mut why = describe_run(&dir).to_string();
                why += " (--overwrite replaces it";
                if dir.join(LAST_CHECKPOINT).exists() {
                    why += &format!(", `pgcnn train --resume {}` continues it", dir.display());
                }
                why + ")"
            }
            Ok(lock) => {
                if let Some(why) = why_not_out {
                    eprintln!(
                        "note: {} {why}; this run goes to {}",
                        out.display(),
                        dir.display()
                    );
                }
                return Ok(Claimed { dir, lock });
            }
        };
        why_not_out.get_or_insert(why_not);
    }
    bail!(
        "{} and {} more directories named after it hold runs; give --out DIR",
        out.display(),
        MAX_CANDIDATES - 1
    )
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the run directory {}", dir.display()))
}

/// "holds a finished run", "holds an unfinished run" or "holds the files of a run".
fn describe_run(dir: &Path) -> &'static str {
    if dir.join(FINAL_FILE).exists() {
        "holds a finished run"
    } else if dir.join(LAST_CHECKPOINT).exists() {
        "holds an unfinished run"
    } else {
        "holds the files of a run"
    }
}

/// What the user can do about the run in `dir` instead of choosing another directory:
/// continue it (when it has a checkpoint) or replace it.
fn choices(dir: &Path) -> String {
    let replace = "replace it with --overwrite";
    if dir.join(LAST_CHECKPOINT).exists() {
        format!(
            "continue it with `pgcnn train --resume {}` (add --epochs N to train it longer), \
             {replace}",
            dir.display()
        )
    } else {
        replace.to_string()
    }
}

/// Removes the file at `path` if there is one.
pub fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}
