//! How many cases a family runs, and how large.

/// Which cases to run: every family has fixed cases and adds random ones; each family
/// says what its unit of work is and offers two sets, `THOROUGH` (what a backend's CI run
/// checks on the CPU and a GPU) and `QUICK` (fewer and smaller cases, for slow stand-ins
/// such as the CUDA kernel emulator).
#[derive(Clone, Copy, Debug)]
pub struct Cases {
    /// Random cases on top of the fixed ones.
    pub random: usize,
    /// Largest work of a case, in the family's multiply-adds: fixed cases above it are
    /// left out (and random ones shrunk to it where the family draws large ones).
    pub max_work: usize,
    pub seed: u64,
}
