//! Learning-rate schedules against their closed forms, and reduce-on-plateau against
//! sequences worked out by hand from PyTorch's algorithm.

use core::f64::consts::PI;
use pgcnn_core::optim::{
    AdamConfig, Optimizer, ParamGroup, PlateauConfig, PlateauMode, Schedule, ThresholdMode,
};
use pgcnn_core::reference::Reference;
use pgcnn_core::{Param, Tensor};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-15 + 1e-12 * b.abs()
}

fn at_iteration(s: &mut Schedule, t: u64) {
    while s.iteration() < t {
        s.on_iteration_end();
    }
}

#[test]
fn warmup_cosine_matches_its_closed_form() {
    let (w, n, base, eta) = (10u64, 110u64, 0.1, 1e-6);
    let mut s = Schedule::warmup_cosine(w, n, eta).unwrap();
    let cosine =
        |t: u64| eta + (base - eta) * (1.0 + (PI * (t - w) as f64 / (n - w) as f64).cos()) / 2.0;
    let expect = [
        (0, 0.0), // warm-up starts at 0
        (1, base / 10.0),
        (5, base / 2.0),
        (10, base), // warm-up ends at the base rate
        (37, cosine(37)),
        (60, (base + eta) / 2.0), // cosine midpoint
        (109, cosine(109)),
        (110, eta), // eta_min at the end
        (500, eta), // and after it
    ];
    for (t, want) in expect {
        at_iteration(&mut s, t);
        let got = s.lr(base);
        assert!(close(got, want), "t = {t}: {got} vs {want}");
    }
    // Epoch hooks do not move an iteration-driven schedule.
    s.on_epoch_end(None).unwrap();
    assert!(close(s.lr(base), eta));
}

#[test]
fn warmup_cosine_edge_cases() {
    // No warm-up: the cosine starts at t = 0.
    let s = Schedule::warmup_cosine(0, 100, 0.0).unwrap();
    assert!(close(s.lr(0.5), 0.5));
    // Nothing left after the warm-up: eta_min from then on.
    let mut s = Schedule::warmup_cosine(4, 4, 1e-3).unwrap();
    at_iteration(&mut s, 2);
    assert!(close(s.lr(0.1), 0.05));
    at_iteration(&mut s, 4);
    assert!(close(s.lr(0.1), 1e-3));
    assert!(Schedule::warmup_cosine(1, 2, -1.0).is_err());
    assert!(Schedule::warmup_cosine(1, 2, f64::NAN).is_err());
}

#[test]
fn cosine_floor_is_absolute_for_every_group() {
    let (a, b) = (
        Param::<Reference, f64>::new(Tensor::zeros(&Reference, [1]).unwrap()),
        Param::<Reference, f64>::new(Tensor::zeros(&Reference, [1]).unwrap()),
    );
    let groups = vec![
        ParamGroup::new("a", 1e-3, [a.id()]),
        ParamGroup::new("b", 1e-2, [b.id()]),
    ];
    let mut opt = Optimizer::<Reference, f64>::adam(groups, AdamConfig::default()).unwrap();
    let mut s = Schedule::warmup_cosine(5, 25, 1e-6).unwrap();
    opt.apply_schedule(&s).unwrap();
    assert_eq!(opt.current_lrs(), vec![0.0, 0.0]);
    at_iteration(&mut s, 5);
    opt.apply_schedule(&s).unwrap();
    assert_eq!(opt.current_lrs(), vec![1e-3, 1e-2]);
    at_iteration(&mut s, 25);
    opt.apply_schedule(&s).unwrap();
    let lrs = opt.current_lrs();
    assert!(close(lrs[0], 1e-6) && close(lrs[1], 1e-6), "{lrs:?}");
}

#[test]
fn multistep_applies_gamma_at_each_milestone() {
    // Milestone 6 twice: gamma applies twice there, as in PyTorch.
    let mut s = Schedule::multistep(vec![6, 3, 6], 0.1).unwrap();
    let base = 2.0;
    let want = [1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 1e-3, 1e-3];
    for (epoch, &f) in want.iter().enumerate() {
        assert_eq!(s.epoch(), epoch as u64);
        assert!(close(s.lr(base), base * f), "epoch {epoch}: {}", s.lr(base));
        // Iteration hooks do not move an epoch-driven schedule.
        s.on_iteration_end();
        s.on_epoch_end(Some(0.0)).unwrap();
    }
    assert!(Schedule::multistep(vec![1], 0.0).is_err());
}

#[test]
fn exponential_multiplies_by_gamma_every_epoch() {
    let mut s = Schedule::exponential(0.9).unwrap();
    for e in 0..20 {
        assert!(close(s.lr(0.3), 0.3 * 0.9f64.powi(e)));
        s.on_epoch_end(None).unwrap();
    }
    assert!(Schedule::exponential(f64::INFINITY).is_err());
}

fn plateau(mode: PlateauMode, patience: u64, factor: f64) -> PlateauConfig {
    PlateauConfig {
        patience,
        factor,
        ..PlateauConfig::new(mode)
    }
}

/// Feeds the metrics and returns the rate (for base 1) after each epoch.
fn run(s: &mut Schedule, metrics: &[f64]) -> Vec<f64> {
    metrics
        .iter()
        .map(|&m| {
            s.on_epoch_end(Some(m)).unwrap();
            s.lr(1.0)
        })
        .collect()
}

#[test]
fn plateau_reduces_after_patience() {
    let mut s = Schedule::reduce_on_plateau(plateau(PlateauMode::Max, 2, 0.5)).unwrap();
    // Improvements at epochs 1-2, then three bad epochs: the third exceeds patience 2.
    let lrs = run(&mut s, &[0.5, 0.6, 0.6, 0.59, 0.6, 0.6, 0.6, 0.6]);
    assert_eq!(lrs, vec![1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]);

    // Mode min on a loss, patience 0: every non-improving epoch reduces.
    let mut s = Schedule::reduce_on_plateau(plateau(PlateauMode::Min, 0, 0.1)).unwrap();
    let lrs = run(&mut s, &[1.0, 0.5, 0.7, 0.4]);
    assert!(close(lrs[2], 0.1) && close(lrs[3], 0.1), "{lrs:?}");
}

#[test]
fn plateau_threshold_is_relative_by_default_or_absolute() {
    // Rel, mode min, threshold 0.1: 0.95 is not below 1.0·0.9, so not an improvement.
    let cfg = PlateauConfig {
        threshold: 0.1,
        ..plateau(PlateauMode::Min, 0, 0.5)
    };
    let mut s = Schedule::reduce_on_plateau(cfg).unwrap();
    assert_eq!(run(&mut s, &[1.0, 0.95, 0.8]), vec![1.0, 0.5, 0.5]);
    // Abs, mode max, threshold 0.05: 0.54 is not above 0.5 + 0.05, 0.56 is.
    let cfg = PlateauConfig {
        threshold: 0.05,
        threshold_mode: ThresholdMode::Abs,
        ..plateau(PlateauMode::Max, 0, 0.5)
    };
    let mut s = Schedule::reduce_on_plateau(cfg).unwrap();
    assert_eq!(run(&mut s, &[0.5, 0.54, 0.56]), vec![1.0, 0.5, 0.5]);
}

#[test]
fn plateau_cooldown_suspends_counting() {
    let cfg = PlateauConfig {
        cooldown: 2,
        ..plateau(PlateauMode::Max, 0, 0.5)
    };
    let mut s = Schedule::reduce_on_plateau(cfg).unwrap();
    // Epoch 1 sets best; 2 reduces and starts a cooldown of 2 (epochs 3, 4 do not
    // count); 5 reduces again.
    let lrs = run(&mut s, &[0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    assert_eq!(lrs, vec![1.0, 0.5, 0.5, 0.5, 0.25, 0.25]);
}

#[test]
fn plateau_respects_min_lr_and_eps() {
    let cfg = PlateauConfig {
        min_lr: 1e-3,
        ..plateau(PlateauMode::Min, 0, 0.1)
    };
    let mut s = Schedule::reduce_on_plateau(cfg).unwrap();
    let mut seq = Vec::new();
    for m in [1.0, 2.0, 2.0, 2.0, 2.0] {
        s.on_epoch_end(Some(m)).unwrap();
        seq.push((s.lr(0.1), s.lr(5e-4)));
    }
    let want = [
        (0.1, 5e-4),
        (0.01, 5e-4),
        (1e-3, 5e-4),
        (1e-3, 5e-4),
        (1e-3, 5e-4),
    ];
    for (g, w) in seq.iter().zip(want) {
        assert!(close(g.0, w.0) && g.1 == w.1, "{seq:?}");
    }
    // A reduction by less than eps (1e-8) is not applied.
    assert_eq!(s.lr(1.5e-8), 1.5e-8);
}

#[test]
fn plateau_needs_a_metric_and_treats_nan_as_no_improvement() {
    let mut s = Schedule::reduce_on_plateau(plateau(PlateauMode::Max, 0, 0.5)).unwrap();
    assert!(s.on_epoch_end(None).is_err());
    assert_eq!(s.epoch(), 0);
    assert_eq!(run(&mut s, &[0.5, f64::NAN]), vec![1.0, 0.5]);
    for bad in [0.0, 1.0, -0.5, f64::NAN] {
        assert!(Schedule::reduce_on_plateau(plateau(PlateauMode::Max, 0, bad)).is_err());
    }
}

#[test]
fn schedule_state_round_trips() {
    let cfg = PlateauConfig {
        cooldown: 1,
        ..plateau(PlateauMode::Max, 1, 0.5)
    };
    let metrics = [0.3, 0.4, 0.4, 0.4, 0.45, 0.4, 0.4, 0.4, 0.4];
    let mut full = Schedule::reduce_on_plateau(cfg).unwrap();
    let mut first = Schedule::reduce_on_plateau(cfg).unwrap();
    let whole = run(&mut full, &metrics);
    run(&mut first, &metrics[..4]);
    let state = first.export_state();
    let mut resumed = Schedule::reduce_on_plateau(cfg).unwrap();
    resumed.import_state(&state).unwrap();
    assert_eq!(resumed, first);
    assert_eq!(run(&mut resumed, &metrics[4..]), whole[4..].to_vec());

    let mut cos = Schedule::warmup_cosine(3, 30, 1e-6).unwrap();
    at_iteration(&mut cos, 17);
    let mut cos2 = Schedule::warmup_cosine(3, 30, 1e-6).unwrap();
    cos2.import_state(&cos.export_state()).unwrap();
    assert_eq!(cos2.lr(0.1), cos.lr(0.1));

    // Plateau counters only fit a plateau schedule, and a plateau schedule needs them.
    assert!(cos2.import_state(&state).is_err());
    assert!(resumed.import_state(&cos.export_state()).is_err());
}
