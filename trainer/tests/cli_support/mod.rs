//! Helpers of the end-to-end tests that run the built `pgcnn` binary: the tiny training
//! config, running and signalling the process, and comparing run directories bit for bit.
#![allow(dead_code)] // each test binary uses a different part

use pgcnn::checkpoint::Checkpoint;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Threads of every run: fixed, since bit-identical results are promised per thread count.
pub const THREADS: &str = "2";

/// A model small enough to train 3 steps in well under a second: the benchmark preset
/// with 4 channels and a kernel net of 8 hidden units, on MNIST6-180 built from the
/// embedded digits (no files needed).
pub const TINY: &[&str] = &[
    "--preset",
    "small_se2_partial",
    "--set",
    "net.no_hidden=4",
    "--set",
    "kernel.no_hidden=8",
    "--set",
    "dataset=mnist6-180",
    "--device",
    "cpu",
    "--no-progress",
];

/// `pgcnn --threads 2 ARGS...`.
pub fn pgcnn<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgcnn"));
    cmd.arg("--threads").arg(THREADS).args(args);
    // The binary must not depend on the caller's environment for these.
    cmd.env_remove("RAYON_NUM_THREADS");
    cmd
}

/// `pgcnn --threads 2 train TINY... EXTRA... --out DIR`.
pub fn tiny_train(out: &Path, extra: &[&str]) -> Command {
    let mut args: Vec<String> = vec!["train".into()];
    args.extend(TINY.iter().map(|s| s.to_string()));
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push("--out".into());
    args.push(out.display().to_string());
    pgcnn(&args)
}

/// What a finished command left.
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    fn from(out: Output) -> Outcome {
        Outcome {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Panics unless the command succeeded.
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.code, Some(0), "command failed:\n{}", self.stderr);
        self
    }

    /// The checks every bad input must pass: exit code 1, no panic (no "panicked", no
    /// backtrace), one `error:` message, and each of `words` in it.
    pub fn assert_clean_error(&self, words: &[&str]) -> &Self {
        assert_eq!(
            self.code,
            Some(1),
            "expected exit code 1\nstderr:\n{}\nstdout:\n{}",
            self.stderr,
            self.stdout
        );
        self.assert_no_panic();
        assert!(
            self.stderr.contains("error: "),
            "no error message:\n{}",
            self.stderr
        );
        for w in words {
            assert!(
                self.stderr.contains(w),
                "the message lacks {w:?}:\n{}",
                self.stderr
            );
        }
        self
    }

    pub fn assert_no_panic(&self) {
        for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
            assert!(!self.stderr.contains(bad), "{bad}:\n{}", self.stderr);
        }
    }
}

/// Runs the command to the end.
pub fn run(mut cmd: Command) -> Outcome {
    Outcome::from(cmd.output().expect("run pgcnn"))
}

/// Starts the command with stdout and stderr captured.
pub fn spawn(mut cmd: Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start pgcnn")
}

/// Waits for a started command, failing the test after `limit`.
pub fn wait(child: Child, limit: Duration) -> Outcome {
    let started = Instant::now();
    let mut child = child;
    loop {
        if child.try_wait().expect("wait for pgcnn").is_some() {
            return Outcome::from(child.wait_with_output().expect("collect output"));
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collect output");
            panic!(
                "pgcnn did not finish within {limit:?}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends SIGINT (Ctrl-C) to a running child.
pub fn interrupt(child: &Child) {
    assert!(signal(child, "INT", 1), "kill -INT failed");
}

/// Sends signal `name` to the child `times` times from one `kill` (microseconds apart);
/// false when it could not be delivered (the child has exited).
pub fn signal(child: &Child, name: &str, times: usize) -> bool {
    let pid = child.id().to_string();
    Command::new("kill")
        .arg(format!("-{name}"))
        .args(std::iter::repeat_n(&pid, times))
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run kill")
        .success()
}

/// The epoch count stored in `dir/last.safetensors`, if the file is there and whole.
pub fn checkpoint_epoch(dir: &Path) -> Option<u64> {
    let ck = Checkpoint::load(&dir.join("last.safetensors")).ok()?;
    ck.u64("run.epoch").ok()
}

/// Polls until `dir/last.safetensors` has finished `epoch` epochs (and fails the test
/// if the child exits or `limit` passes first).
pub fn wait_for_epoch(child: &mut Child, dir: &Path, epoch: u64, limit: Duration) {
    let started = Instant::now();
    while checkpoint_epoch(dir).is_none_or(|e| e < epoch) {
        if let Some(status) = child.try_wait().expect("poll pgcnn") {
            panic!("pgcnn exited ({status}) before epoch {epoch} was saved");
        }
        assert!(
            started.elapsed() < limit,
            "epoch {epoch} not saved in {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A fresh scratch directory under Cargo's target tmp dir, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("pgcnn-cli-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside the scratch directory (not created).
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `bytes` to `name` and returns the path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create sub-dir");
        }
        std::fs::write(&p, bytes).expect("write file");
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Metadata entries that record wall-clock time, the only things two identical runs may
/// differ in.
const TIMING_KEYS: &[&str] = &["run.seconds"];

/// Panics unless the two checkpoints hold the same tensors, bit for bit (NaN payloads
/// included), and the same metadata apart from timings.
pub fn assert_same_checkpoint(a: &Path, b: &Path) {
    let ca = Checkpoint::load(a).unwrap_or_else(|e| panic!("{}: {e}", a.display()));
    let cb = Checkpoint::load(b).unwrap_or_else(|e| panic!("{}: {e}", b.display()));
    assert_eq!(ca.config_toml, cb.config_toml, "configs differ");
    let names = |c: &Checkpoint| c.tensors.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ca), names(&cb), "tensor names differ");
    let mut differing = Vec::new();
    for (ta, tb) in ca.tensors.iter().zip(&cb.tensors) {
        let bits = |d: &[f32]| d.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
        if ta.dims != tb.dims || bits(&ta.data) != bits(&tb.data) {
            differing.push(ta.name.clone());
        }
    }
    assert!(
        differing.is_empty(),
        "{} and {} differ in {} tensors, e.g. {:?}",
        a.display(),
        b.display(),
        differing.len(),
        &differing[..differing.len().min(8)]
    );
    let meta = |c: &Checkpoint| {
        let mut m = c.metadata.clone();
        m.retain(|k, _| !TIMING_KEYS.contains(&k.as_str()));
        m
    };
    assert_eq!(meta(&ca), meta(&cb), "metadata differ");
}

/// The epoch records of `dir/metrics.jsonl` without their timings.
pub fn metrics_without_timings(dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).expect("read metrics.jsonl");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            if let Some(obj) = v.as_object_mut() {
                obj.remove("seconds");
                obj.remove("images_per_second");
            }
            v
        })
        .collect()
}

/// Panics unless two finished runs ended with the same weights, optimiser state,
/// metrics and test result (timings aside).
pub fn assert_same_run(a: &Path, b: &Path) {
    assert_same_checkpoint(&a.join("last.safetensors"), &b.join("last.safetensors"));
    assert_same_checkpoint(&a.join("best.safetensors"), &b.join("best.safetensors"));
    assert_eq!(
        metrics_without_timings(a),
        metrics_without_timings(b),
        "metrics.jsonl differ"
    );
    let summary = |d: &Path| {
        let text = std::fs::read_to_string(d.join("final.json")).expect("read final.json");
        let mut v: serde_json::Value = serde_json::from_str(&text).expect("final.json is JSON");
        if let Some(obj) = v.as_object_mut() {
            obj.remove("seconds");
        }
        v
    };
    assert_eq!(summary(a), summary(b), "final.json differ");
}

/// The files of a run directory and their bytes, except the lock file (its content is
/// the pid of the last process that locked the directory).
pub fn run_files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.file_name().is_some_and(|n| n != pgcnn::train::LOCK_FILE))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read a run file"))
        })
        .collect()
}

/// `pgcnn train --resume DIR --no-progress --device cpu EXTRA...`.
pub fn resume_cmd(dir: &Path, extra: &[&str]) -> Command {
    let d = dir.display().to_string();
    let mut args = vec![
        "train",
        "--resume",
        d.as_str(),
        "--no-progress",
        "--device",
        "cpu",
    ];
    args.extend_from_slice(extra);
    pgcnn(&args)
}

/// Panics, showing `text`, unless it contains `part`.
pub fn assert_has(text: &str, part: &str) {
    assert!(text.contains(part), "{part:?} is not in:\n{text}");
}
