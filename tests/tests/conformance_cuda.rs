//! The backend conformance suite (`pgcnn-conformance`) on the CUDA backend: on the GPU
//! (skipped, with the reason, without one; PGCNN_REQUIRE_CUDA=1 makes that a failure)
//! and on the kernel emulator (see cuda_support/mod.rs), which runs fewer, smaller cases,
//! with the grids of its own two "SMs" and again with an H100's (grids, and the splits
//! of long axes in reductions and normalisations, follow the SM count).
//!
//! TF32 convolutions read f32 inputs with a 10-bit mantissa, so they are held to 2e-3
//! (relative to the result's largest magnitude); strict f32 and f64 to the full-precision
//! tolerance. The math mode is about convolutions: every other family runs in both modes
//! on the GPU, held to the full-precision tolerance in either, and in the default mode on
//! the emulator. The convolution family also runs with a column budget of 1, so that every
//! image is its own chunk.

mod cuda_support;

use cuda_support::{emulator, emulator_with_multiprocessors, gpu, H100_MULTIPROCESSORS};
use pgcnn_conformance::{
    adam, binary, conv, gemm, memory, movement, norm, pool, reduce, unary, Cases, Report, Tolerance,
};
use pgcnn_core::backend::Backend;
use pgcnn_core::rng::Rng;
use pgcnn_cuda::{Cuda, MathMode};

const TF32: Tolerance = Tolerance {
    f32: 2e-3,
    ..Tolerance::FULL
};

/// A family's entry point, for CUDA.
type Family = fn(&Cuda, &mut Report, &Cases, Tolerance);

/// `family` on `c` in both math modes, held to the full-precision tolerance.
fn in_both_modes(c: &Cuda, family: Family, cases: &Cases) {
    for mode in [MathMode::Strict, MathMode::Tf32] {
        let mut report = Report::new(format!("{c:?}, {mode:?}"));
        family(&c.with_math(mode), &mut report, cases, Tolerance::FULL);
        report.finish();
    }
}

/// `family` on the GPU in both modes, with `THOROUGH` cases.
fn on_the_gpu(family: Family, cases: &Cases) {
    if let Some(c) = gpu() {
        in_both_modes(&c, family, cases);
    }
}

/// `family` on the emulator, with its own grids and with an H100's, with `QUICK` cases.
fn on_the_emulator(family: Family, cases: &Cases) {
    let emulators = [
        emulator(),
        emulator_with_multiprocessors(H100_MULTIPROCESSORS),
    ];
    for c in emulators.into_iter().flatten() {
        let mut report = Report::new(format!("{c:?}"));
        family(&c, &mut report, cases, Tolerance::FULL);
        report.finish();
    }
}

fn conv_family(c: &Cuda, cases: &Cases) {
    for (mode, tol) in [(MathMode::Strict, Tolerance::FULL), (MathMode::Tf32, TF32)] {
        for (budget, dev) in [
            ("", c.with_math(mode)),
            (", chunked", c.with_math(mode).with_column_budget(1)),
        ] {
            let mut report = Report::new(format!("{c:?}, {mode:?}{budget}"));
            conv::check_all(&dev, &mut report, cases, tol);
            report.finish();
        }
    }
}

#[test]
fn gpu_conv_family() {
    if let Some(c) = gpu() {
        conv_family(&c, &conv::THOROUGH);
    }
}

// The emulator's GEMM cuts f32 inputs to TF32 as tensor cores do, so its TF32 run checks
// the tolerance the GPU's uses.
#[test]
fn emulated_conv_family() {
    if let Some(c) = emulator() {
        conv_family(&c, &conv::QUICK);
    }
}

#[test]
fn emulated_conv_family_with_an_h100s_grids() {
    if let Some(c) = emulator_with_multiprocessors(H100_MULTIPROCESSORS) {
        conv_family(&c, &conv::QUICK);
    }
}

// Plain products keep full f32 in either mode, so the emulator runs both too.
#[test]
fn gpu_gemm_family() {
    on_the_gpu(gemm::check_all, &gemm::THOROUGH);
}

#[test]
fn emulated_gemm_family() {
    if let Some(c) = emulator() {
        in_both_modes(&c, gemm::check_all, &gemm::QUICK);
    }
}

/// For each family named: `$gpu` runs it on the GPU with its `THOROUGH` cases, `$emulated`
/// on the emulator with its `QUICK` ones.
macro_rules! family_tests {
    ($($family:ident: $gpu:ident, $emulated:ident;)*) => {$(
        #[test]
        fn $gpu() {
            on_the_gpu($family::check_all, &$family::THOROUGH);
        }

        #[test]
        fn $emulated() {
            on_the_emulator($family::check_all, &$family::QUICK);
        }
    )*};
}

family_tests! {
    memory: gpu_memory_family, emulated_memory_family;
    unary: gpu_unary_family, emulated_unary_family;
    binary: gpu_binary_family, emulated_binary_family;
    reduce: gpu_reduce_family, emulated_reduce_family;
    movement: gpu_movement_family, emulated_movement_family;
    pool: gpu_pool_family, emulated_pool_family;
    adam: gpu_adam_family, emulated_adam_family;
}

// On the GPU, the normalisations also of real training steps' sizes.
#[test]
fn gpu_norm_family() {
    on_the_gpu(norm::check_all, &norm::TRAINING_SIZES);
}

#[test]
fn emulated_norm_family() {
    on_the_emulator(norm::check_all, &norm::QUICK);
}

/// A step of many parameters takes one launch per 28 non-empty ones (what
/// `adam_update_many` is for; the adam family checks its results).
#[test]
fn adam_update_many_batches_its_launches() {
    for c in [gpu(), emulator()].into_iter().flatten() {
        let mut rng = Rng::seed(61);
        let updates = adam::many();
        let params: Vec<adam::Parameter<f32>> = updates
            .iter()
            .map(|u| adam::Parameter::new(u, &mut rng))
            .collect();
        let up = adam::upload(&c, &params).expect("uploading the parameters");
        let before = c.activity();
        c.adam_update_many(&adam::jobs(&up, &params))
            .expect("the step");
        let launches = c.activity().since(&before).launches;
        let nonempty = updates.iter().filter(|u| u.n > 0).count();
        assert_eq!(
            launches,
            nonempty.div_ceil(28) as u64,
            "{c:?}: {launches} launches for {nonempty} parameters"
        );
    }
}
