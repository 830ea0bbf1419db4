//! How many CPU threads pgcnn uses: `--threads`, else RAYON_NUM_THREADS, else every core.

use anyhow::{bail, Context, Result};

/// Builds rayon's global pool once, before any parallel work. `requested` comes from
/// `--threads`; `None` leaves rayon's own choice (RAYON_NUM_THREADS, else all cores).
/// Returns the number of threads in use.
pub fn configure_threads(requested: Option<usize>) -> Result<usize> {
    if let Some(n) = requested {
        if n == 0 {
            bail!("--threads must be at least 1 (got 0)");
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .with_context(|| format!("could not start a pool of {n} threads"))?;
    } else if let Ok(v) = std::env::var("RAYON_NUM_THREADS") {
        // rayon reads it itself; reject nonsense instead of silently ignoring it.
        match v.trim().parse::<usize>() {
            Ok(_) => {}
            Err(_) => bail!("RAYON_NUM_THREADS={v:?} is not a whole number"),
        }
    }
    Ok(rayon::current_num_threads())
}
