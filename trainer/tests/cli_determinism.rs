//! The same seed and thread count give bit-identical results on the CPU backend: two
//! runs of the real binary end with the same weights, optimiser state, metrics and test
//! accuracy; a different seed does not.

mod cli_support;

use cli_support::{assert_same_run, run, tiny_train, Scratch};
use pgcnn::checkpoint::Checkpoint;

/// Settings that use every source of randomness and state the loop has: dropout,
/// per-layer group samples, the cosine schedule, the kernel-norm penalty and clipping.
const EXTRA: &[&str] = &[
    "--set",
    "train.epochs=2",
    "--max-steps",
    "3",
    "--set",
    "net.dropout=0.1",
    "--set",
    "train.scheduler=cosine",
    "--set",
    "train.weight_decay=0.0001",
    "--set",
    "train.gradient_clip=1.0",
];

#[test]
fn same_seed_and_threads_give_identical_runs() {
    let dir = Scratch::new("determinism");
    let (a, b) = (dir.join("a"), dir.join("b"));
    run(tiny_train(&a, EXTRA)).assert_ok();
    run(tiny_train(&b, EXTRA)).assert_ok();
    assert_same_run(&a, &b);
}

#[test]
fn another_seed_gives_other_weights() {
    let dir = Scratch::new("seeds");
    let (a, b) = (dir.join("a"), dir.join("b"));
    let short = ["--set", "train.epochs=1", "--max-steps", "1"];
    run(tiny_train(&a, &short)).assert_ok();
    let mut other = short.to_vec();
    other.extend(["--seed", "7"]);
    run(tiny_train(&b, &other)).assert_ok();
    let load = |d: &std::path::Path| Checkpoint::load(&d.join("last.safetensors")).unwrap();
    let (ca, cb) = (load(&a), load(&b));
    let weight = |c: &Checkpoint| c.require_tensor("lift.bias").unwrap().data.clone();
    assert_ne!(weight(&ca), weight(&cb), "the seed changes nothing");
}
