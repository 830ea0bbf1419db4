//! Seeds derived from the run's seed, one per purpose, so that changing one use of
//! randomness does not shift the others. `pgcnn eval` derives the same ones as the
//! training run, so that it reproduces the run's figures.

/// The model's initialisation.
pub const INIT_STREAM: u64 = 0x1417;
/// The training steps' draws (elements, keep decisions, dropout).
pub const STEP_STREAM: u64 = 0x57e9;
/// The evaluations' draws.
const EVAL_STREAM: u64 = 0xe7a1;

/// The seed the evaluation of a split draws from: the test split's differs from the
/// validation split's (and the training split's, which `pgcnn eval` can evaluate, shares
/// the validation one).
pub fn eval_seed(run_seed: u64, test: bool) -> u64 {
    run_seed ^ EVAL_STREAM ^ u64::from(test)
}
