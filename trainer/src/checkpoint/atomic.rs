//! Crash-safe file replacement: a reader (or a resumed run) sees either the old file or
//! the new one, never a mixture, whenever the process is killed.

use super::error::{CheckpointError, Result};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The temporary file that [`write_atomic`] writes before renaming it over `path`:
/// `.<file name>.tmp` in the same directory (a rename is only atomic within one file
/// system). The name is fixed, so a temporary file left by a killed process is simply
/// overwritten by the next write instead of accumulating; the price is that two
/// processes must not write the same path at once, which the lock of the run directory
/// (`crate::train`, `lock.rs`) rules out.
pub fn temp_path_for(path: &Path) -> Result<PathBuf> {
    let Some(name) = path.file_name() else {
        return Err(CheckpointError::Invalid(format!(
            "cannot write {}: the path does not name a file",
            path.display()
        )));
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".tmp");
    Ok(path.with_file_name(tmp_name))
}

/// Replaces the file at `path` with `bytes` atomically: writes a temporary file in the
/// same directory ([`temp_path_for`]), fsyncs it, renames it over `path`, then fsyncs
/// the directory so that the rename itself survives a power cut. On error the
/// temporary file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path_for(path)?;
    let result = write_and_sync(&tmp, bytes)
        .and_then(|()| {
            fs::rename(&tmp, path).map_err(|e| CheckpointError::io("renaming to", path, e))
        })
        .and_then(|()| sync_parent_dir(path));
    if result.is_err() {
        // Best effort: the original error is the one worth reporting.
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_and_sync(tmp: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(tmp)
        .map_err(|e| CheckpointError::io("creating", tmp, e))?;
    file.write_all(bytes)
        .map_err(|e| CheckpointError::io("writing", tmp, e))?;
    file.sync_all()
        .map_err(|e| CheckpointError::io("syncing", tmp, e))
}

/// Makes a completed rename durable. Directories cannot be opened for syncing on every
/// platform; where they cannot, the rename is still atomic, only its durability after a
/// power cut is left to the file system.
fn sync_parent_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if cfg!(unix) {
        let handle = File::open(dir).map_err(|e| CheckpointError::io("opening", dir, e))?;
        handle
            .sync_all()
            .map_err(|e| CheckpointError::io("syncing directory", dir, e))?;
    }
    Ok(())
}
