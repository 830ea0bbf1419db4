//! How the process's heap treats the large, short-lived buffers of tensor ops.
//!
//! Every op returns a fresh buffer, and a training step frees and reallocates the same
//! sizes (hundreds of kilobytes to tens of megabytes) hundreds of times. By default glibc
//! serves blocks above a (dynamic) threshold with `mmap` and returns them with `munmap`,
//! and trims the heap's free top back to the system: each reuse then costs page faults,
//! zeroing by the kernel and TLB shootdowns across threads. Measured on the 2-core
//! development machine (`pgcnn bench --threads 2 --config small_se2_partial`), these
//! settings cut the training step from about 160 ms to 135 ms; the price is that freed
//! memory stays with the process (its peak is what a run needs anyway). Taking no block
//! from `mmap` at all (below) then cut a mnist6_180_se2_partial step from 22.5 s to 12.0
//! s, at the same peak resident set (12.1 and 11.9 GB).

/// Blocks up to this size come from the heap, not from `mmap` (glibc's largest allowed
/// threshold on 64-bit systems).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 32 << 20;

/// No block at all comes from `mmap`: larger ones too are carved from the heap and reused
/// after a free. The threshold above cannot go past 32 MiB, and the kernel nets of a model
/// that samples per image allocate hundreds of blocks of 50–400 MB per step: each fresh
/// mapping was zeroed page by page by the kernel, 36% of a mnist6_180_se2_partial step.
/// (glibc still maps memory when the heap cannot grow.)
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_MAX: libc::c_int = 0;

/// One arena for all threads: with no `mmap`, a thread arena (64 MiB at most) cannot hold
/// a large block, and the work runs on pool threads; one heap also keeps what one thread
/// frees for the next op on another.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENA_MAX: libc::c_int = 1;

/// Free memory at the top of the heap is returned to the system only above this size.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 1 << 30;

/// Extra memory requested each time the heap grows, so that growth is rare.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TOP_PAD: libc::c_int = 64 << 20;

/// Applies the settings above where the C library is glibc; elsewhere does nothing.
/// Settings given by the user through glibc's `MALLOC_*_` environment variables win.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let settings = [
            (
                "MALLOC_MMAP_THRESHOLD_",
                libc::M_MMAP_THRESHOLD,
                MMAP_THRESHOLD,
            ),
            (
                "MALLOC_TRIM_THRESHOLD_",
                libc::M_TRIM_THRESHOLD,
                TRIM_THRESHOLD,
            ),
            ("MALLOC_TOP_PAD_", libc::M_TOP_PAD, TOP_PAD),
            ("MALLOC_MMAP_MAX_", libc::M_MMAP_MAX, MMAP_MAX),
            ("MALLOC_ARENA_MAX", libc::M_ARENA_MAX, ARENA_MAX),
        ];
        for (env, param, value) in settings {
            if std::env::var_os(env).is_none() {
                // SAFETY: mallopt only changes allocator parameters; it is called before
                // any other thread exists. A refused value (return 0) leaves glibc's
                // default, which is correct, only slower.
                unsafe {
                    libc::mallopt(param, value);
                }
            }
        }
    }
}
