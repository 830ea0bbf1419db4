//! Averaged and most-likely evaluation: a K-draw evaluation is the K single-draw
//! evaluations of its draw seeds with their logits averaged, a most-likely one draws
//! nothing, a model that draws nothing is evaluated once, and a run selects and reports
//! on the averaged figures (which `pgcnn eval` reproduces).

mod eval_support;

use eval_support::{best, train_tiny};
use pgcnn::config::EvalMode;
use pgcnn::device::DeviceRequest;
use pgcnn::eval::{eval, EvalOptions, EvalReport};
use pgcnn::evaluation::draw_seed;
use pgcnn::metrics::{read_jsonl, FinalSummary};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A partial SE(2) run whose evaluations average 3 draws.
fn run_dir() -> &'static PathBuf {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| train_tiny("draws", &["train.eval_draws=3"]))
}

fn eval_with(ck: &Path, draws: Option<usize>, mode: Option<EvalMode>, seed: u64) -> EvalReport {
    eval(EvalOptions {
        device: DeviceRequest::Cpu.into(),
        draws,
        mode,
        seed: Some(seed),
        ..EvalOptions::new(ck)
    })
    .unwrap()
}

#[test]
fn k_draws_are_the_single_draw_evaluations_of_the_draw_seeds() {
    let ck = best(run_dir());
    let seed = 17;
    let averaged = eval_with(&ck, Some(3), None, seed).measurements;
    assert_eq!(averaged.draws.count, 3);
    let singles: Vec<f64> = (0..3)
        .map(|k| {
            let m = eval_with(&ck, Some(1), None, draw_seed(seed, k)).measurements;
            assert_eq!(m.draws.count, 1);
            assert_eq!(m.draw_accuracy.mean, m.accuracy);
            assert_eq!(m.draw_accuracy.std, 0.0);
            m.accuracy
        })
        .collect();
    let mean = singles.iter().sum::<f64>() / 3.0;
    let var = singles.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / 2.0;
    assert!(
        (averaged.draw_accuracy.mean - mean).abs() < 1e-12,
        "{singles:?}"
    );
    assert!(
        (averaged.draw_accuracy.std - var.sqrt()).abs() < 1e-12,
        "{singles:?}"
    );
    // The first draw is the single-draw evaluation of the seed itself.
    assert_eq!(draw_seed(seed, 0), seed);
    assert_ne!(draw_seed(seed, 1), draw_seed(seed, 2));
    assert!((0.0..=1.0).contains(&averaged.accuracy));
}

#[test]
fn most_likely_draws_nothing_and_is_shown_beside_the_sampled_figures() {
    let ck = best(run_dir());
    let a = eval_with(&ck, None, Some(EvalMode::MostLikely), 1);
    let b = eval_with(&ck, None, Some(EvalMode::MostLikely), 2);
    assert_eq!(a.measurements.draws.count, 1);
    assert_eq!(a.measurements.accuracy, b.measurements.accuracy);
    assert_eq!(a.measurements.loss, b.measurements.loss);
    // Beside a most-likely report, the sampled one (the run's 3 draws), and vice versa.
    let other = a.other.as_ref().expect("the sampled figures beside");
    assert_eq!((other.draws.mode, other.draws.count), (EvalMode::Sample, 3));
    let sampled = eval_with(&ck, None, None, 1);
    assert_eq!(sampled.measurements.draws.count, 3);
    let beside = sampled
        .other
        .as_ref()
        .expect("the most-likely figures beside");
    assert_eq!(beside.draws.mode, EvalMode::MostLikely);
    assert_eq!(beside.accuracy, a.measurements.accuracy);
    assert_eq!(other.accuracy, sampled.measurements.accuracy);
    let table = sampled.table();
    assert!(
        table.contains("3 draws averaged") && table.contains("most likely"),
        "{table}"
    );
    let json = sampled.to_json();
    assert_eq!(json["eval_draws"], 3);
    assert_eq!(json["other_mode"]["eval_mode"], "most-likely");
}

#[test]
fn a_model_that_draws_nothing_is_evaluated_once() {
    let run = train_tiny(
        "draws-none",
        &[
            "conv.partial_equiv=false",
            "base_group.sampling_method=deterministic",
            "base_group.sample_per_layer=false",
            "base_group.sample_per_batch_element=false",
        ],
    );
    let report = eval_with(&best(&run), Some(5), None, 3);
    assert_eq!(report.measurements.draws.count, 1);
    assert!(report.other.is_none());
    let summary = FinalSummary::read(&run.join("final.json")).unwrap();
    assert_eq!(summary.eval_draws, Some(1));
}

#[test]
fn a_run_selects_and_reports_on_the_averaged_figures() {
    let run = run_dir();
    let summary = FinalSummary::read(&run.join("final.json")).unwrap();
    assert_eq!(summary.eval_draws, Some(3));
    assert_eq!(summary.eval_mode.as_deref(), Some("sample"));
    let (mean, std) = (
        summary.test_draw_acc_mean.unwrap(),
        summary.test_draw_acc_std.unwrap(),
    );
    assert!((0.0..=1.0).contains(&mean) && std >= 0.0);
    let epochs = read_jsonl(&run.join("metrics.jsonl")).unwrap();
    let best_epoch = &epochs[summary.best_epoch - 1];
    assert_eq!(best_epoch.val_acc, Some(summary.best_val_acc));
    assert!(best_epoch.val_draw_acc_mean.is_some() && best_epoch.val_draw_acc_std.is_some());
    // `pgcnn eval` with the run's defaults measures what the run reported.
    let report = eval(EvalOptions {
        device: DeviceRequest::Cpu.into(),
        ..EvalOptions::new(best(run))
    })
    .unwrap();
    assert_eq!(report.measurements.accuracy, summary.test_acc);
    assert_eq!(report.measurements.draw_accuracy.mean, mean);
    assert_eq!(report.measurements.draws.count, 3);
}
