//! The backend conformance suite (`pgcnn-conformance`) on the CPU backend.
//!
//! The convolution family runs with each algorithm forced in turn (im2col + GEMM, FFT)
//! and with the cost model's own choice, on 1, 2 and 3 threads, so that every path is
//! compared with the reference and checked by finite differences on every case shape,
//! whichever path the cost model would pick for it. The GEMM family runs on 1, 2 and 3
//! threads (its tall cases take the crate's own tall-product kernel).

use pgcnn_conformance::{conv, gemm, Report, Tolerance};
use pgcnn_cpu::{with_conv_algorithm, ConvAlgorithm, Cpu};

fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("building a rayon pool")
        .install(f)
}

fn conv_family(algorithm: ConvAlgorithm) {
    for threads in [1, 2, 3] {
        let mut report = Report::new(format!("cpu, {algorithm:?}, {threads} threads"));
        with_threads(threads, || {
            with_conv_algorithm(algorithm, || {
                conv::check_all(&Cpu, &mut report, &conv::THOROUGH, Tolerance::FULL)
            })
        });
        report.finish();
    }
}

#[test]
fn conv_family_with_the_cost_models_choice() {
    conv_family(ConvAlgorithm::Auto);
}

#[test]
fn conv_family_on_im2col() {
    conv_family(ConvAlgorithm::Im2col);
}

#[test]
fn conv_family_on_fft() {
    conv_family(ConvAlgorithm::Fft);
}

#[test]
fn gemm_family() {
    for threads in [1, 2, 3] {
        let mut report = Report::new(format!("cpu, {threads} threads"));
        with_threads(threads, || {
            gemm::check_all(&Cpu, &mut report, &gemm::THOROUGH, Tolerance::FULL)
        });
        report.finish();
    }
}
