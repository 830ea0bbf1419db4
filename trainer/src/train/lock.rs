//! The lock of a run directory: one process at a time writes a run.
//!
//! `pgcnn train`, new or resumed, holds an exclusive advisory lock on `DIR/pgcnn.lock`
//! (std's `File::try_lock`: `flock` on Unix, `LockFileEx` on Windows) for as long as it
//! writes the run. Without it two runs started on the same directory would both run to
//! the end, replacing each other's checkpoints and interleaving their metrics.
//!
//! The operating system releases the lock when the process ends, however it ends
//! (SIGKILL, a crash, a power cut), so a lock left by a dead process never blocks the
//! next run: there is no stale-lock detection to get wrong. The holder writes its pid
//! into the file so that a second writer's error can name it. The file itself stays after
//! the run: deleting a locked file would let a process that opened it just before lock
//! the deleted file while a third process creates and locks a new one of the same name.

use anyhow::{Context, Result};
use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The lock file inside a run directory.
pub const LOCK_FILE: &str = "pgcnn.lock";

/// How long a process that finds the lock taken waits for the holder's pid to appear:
/// the holder writes it just after taking the lock, so an empty file is only ever seen
/// for a moment.
const PID_WAIT: Duration = Duration::from_millis(200);

/// The exclusive lock of a run directory, held until dropped (or the process ends).
#[derive(Debug)]
pub struct RunLock {
    /// Kept open: closing the file releases the lock.
    _file: File,
}

/// The error of a run directory that another process is writing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunDirInUse {
    /// The run directory.
    pub dir: PathBuf,
    /// The pid the holder wrote into the lock file (`None`: unreadable, e.g. on Windows,
    /// where a locked file cannot be read by others).
    pub pid: Option<u32>,
}

impl RunDirInUse {
    /// "pgcnn process PID", or "another pgcnn process" when the pid is unknown.
    pub fn holder(&self) -> String {
        match self.pid {
            Some(pid) => format!("pgcnn process {pid}"),
            None => "another pgcnn process".to_string(),
        }
    }
}

impl fmt::Display for RunDirInUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is in use: {} is writing a run there (it holds the lock {}); wait for it \
             to end, or stop it (Ctrl-C saves its state), or write to another directory",
            self.dir.display(),
            self.holder(),
            self.dir.join(LOCK_FILE).display()
        )
    }
}

impl std::error::Error for RunDirInUse {}

/// Takes the lock of the existing directory `dir` without waiting: `Ok(Err(_))` when
/// another process holds it, `Err` when the lock file cannot be opened or written.
pub fn try_lock(dir: &Path) -> Result<std::result::Result<RunLock, RunDirInUse>> {
    let path = dir.join(LOCK_FILE);
    // Not truncated on opening: the file may hold the pid of a process that still
    // holds the lock.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Ok(Err(RunDirInUse {
                dir: dir.to_path_buf(),
                pid: holder_pid(&mut file),
            }))
        }
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
    write_pid(&mut file).with_context(|| format!("writing to the lock file {}", path.display()))?;
    Ok(Ok(RunLock { _file: file }))
}

/// Takes the lock of the existing directory `dir`, or fails with [`RunDirInUse`].
pub fn lock(dir: &Path) -> Result<RunLock> {
    Ok(try_lock(dir)??)
}

fn write_pid(file: &mut File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(format!("{}\n", std::process::id()).as_bytes())?;
    file.sync_all()
}

/// The pid in a lock file held by another process, waiting up to [`PID_WAIT`] for the
/// holder to write it.
fn holder_pid(file: &mut File) -> Option<u32> {
    let started = Instant::now();
    loop {
        let mut text = String::new();
        let read = file.rewind().and_then(|()| file.read_to_string(&mut text));
        if read.is_err() {
            return None;
        }
        if let Ok(pid) = text.trim().parse() {
            return Some(pid);
        }
        if started.elapsed() >= PID_WAIT {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pgcnn-lock-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The lock is per open file, so a second open in the same process meets it as
    /// another process would.
    #[test]
    fn a_second_writer_is_refused_with_the_holders_pid_until_the_first_lets_go() {
        let dir = scratch("second");
        let first = lock(&dir).unwrap();
        let busy = try_lock(&dir).unwrap().unwrap_err();
        assert_eq!(busy.pid, Some(std::process::id()));
        let message = lock(&dir).unwrap_err().to_string();
        assert!(
            message.contains(&format!("pgcnn process {}", std::process::id())),
            "{message}"
        );
        assert!(message.contains(LOCK_FILE), "{message}");
        drop(first);
        let again = lock(&dir);
        assert!(again.is_ok(), "{again:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_lock_file_left_behind_blocks_nothing() {
        let dir = scratch("left");
        std::fs::write(dir.join(LOCK_FILE), "4194304\n").unwrap();
        lock(&dir).unwrap();
        let pid = std::fs::read_to_string(dir.join(LOCK_FILE)).unwrap();
        assert_eq!(pid, format!("{}\n", std::process::id()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
