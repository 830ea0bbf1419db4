//! How many CPU threads pgcnn uses (`--threads`, else RAYON_NUM_THREADS, else every core),
//! and where its work runs: on one of the pool's threads.

use anyhow::{bail, Context, Result};

/// Stack of each pool thread: the commands run on one of them (see [`on_pool`]), so it
/// gets a main thread's usual size rather than rayon's 2 MiB default.
const STACK_BYTES: usize = 8 << 20;

/// Builds rayon's global pool once, before any parallel work. `requested` comes from
/// `--threads`; `None` leaves the count to rayon (RAYON_NUM_THREADS, else all cores).
/// Returns the number of threads in use.
pub fn configure_threads(requested: Option<usize>) -> Result<usize> {
    let mut builder = rayon::ThreadPoolBuilder::new().stack_size(STACK_BYTES);
    if let Some(n) = requested {
        if n == 0 {
            bail!("--threads must be at least 1 (got 0)");
        }
        builder = builder.num_threads(n);
    } else if let Ok(v) = std::env::var("RAYON_NUM_THREADS") {
        // rayon reads it itself; reject nonsense instead of silently ignoring it.
        match v.trim().parse::<usize>() {
            Ok(_) => {}
            Err(_) => bail!("RAYON_NUM_THREADS={v:?} is not a whole number"),
        }
    }
    // A pool built before (a second call in one process) is kept as it is.
    if let Err(e) = builder.build_global() {
        if requested.is_some_and(|n| n != rayon::current_num_threads()) {
            return Err(e).with_context(|| {
                format!(
                    "could not start a pool of {} threads",
                    requested.unwrap_or(0)
                )
            });
        }
    }
    Ok(rayon::current_num_threads())
}

/// Runs `f` on one of the global pool's threads and returns what it returns (a panic in
/// `f` comes back as a panic here).
///
/// Why: the CPU backend's primitives split their work with rayon, and a split started on
/// a pool thread is a cheap fork and join, while one started from outside the pool (the
/// main thread) is queued to the pool and waited for on a lock, waking and putting
/// threads to sleep for every primitive. A training step calls hundreds of primitives;
/// measured on small_se2_partial (2 threads), those wake-ups took about a quarter of
/// the step.
pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_runs_on_a_pool_thread_and_returns_its_value() {
        assert!(rayon::current_thread_index().is_none());
        let (inside, value) = on_pool(|| (rayon::current_thread_index(), 42));
        assert!(inside.is_some());
        assert_eq!(value, 42);
    }
}
