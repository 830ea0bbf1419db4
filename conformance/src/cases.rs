//! How many cases a family runs, and how large.

use pgcnn_core::rng::Rng;

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

impl Cases {
    /// The cases to run, each with the seed of its values: the `fixed` ones whose `work`
    /// is at most `max_work`, then what `random` draws from a generator seeded with `seed`.
    pub fn select<C>(
        &self,
        fixed: Vec<C>,
        work: impl Fn(&C) -> usize,
        random: impl FnOnce(&mut Rng) -> Vec<C>,
    ) -> Vec<(C, u64)> {
        let mut rng = Rng::seed(self.seed);
        let mut all: Vec<C> = fixed
            .into_iter()
            .filter(|c| work(c) <= self.max_work)
            .collect();
        all.extend(random(&mut rng));
        all.into_iter()
            .enumerate()
            .map(|(i, c)| (c, self.seed.wrapping_add(i as u64)))
            .collect()
    }
}
