//! Parameter groups, learning-rate factors, skipped parameters and rejected inputs.

use pgcnn_core::optim::{AdamConfig, Optimizer, ParamGroup, Schedule, SgdConfig};
use pgcnn_core::reference::Reference;
use pgcnn_core::{Error, Gradients, Param, Tensor};

type P = Param<Reference, f64>;

fn param(v: &[f64]) -> P {
    Param::new(Tensor::from_slice(&Reference, v, [v.len()]).unwrap())
}

fn grads(pairs: &[(&P, &[f64])]) -> Gradients<Reference, f64> {
    let mut g = Gradients::new();
    for (p, v) in pairs {
        g.insert(
            p.id(),
            Tensor::from_slice(&Reference, v, [v.len()]).unwrap(),
        );
    }
    g
}

fn values(p: &P) -> Vec<f64> {
    p.tensor().to_vec().unwrap()
}

#[test]
fn each_group_uses_its_own_learning_rate_and_weight_decay() {
    let (mut w, mut theta, mut omega) =
        (param(&[1.0, 2.0]), param(&[1.0, 2.0]), param(&[1.0, 2.0]));
    let groups = vec![
        ParamGroup::new("weights", 0.1, [w.id()]),
        ParamGroup::new("probs", 0.01, [theta.id()]),
        ParamGroup::new("omega0", 0.5, [omega.id()]).with_weight_decay(1.0),
    ];
    let mut opt = Optimizer::sgd(groups, SgdConfig::default()).unwrap();
    assert_eq!(opt.current_lrs(), vec![0.1, 0.01, 0.5]);
    let g: &[f64] = &[1.0, -1.0];
    let gs = grads(&[(&w, g), (&theta, g), (&omega, g)]);
    opt.step([&mut w, &mut theta, &mut omega], &gs).unwrap();
    assert_eq!(values(&w), vec![1.0 - 0.1, 2.0 + 0.1]);
    assert_eq!(values(&theta), vec![1.0 - 0.01, 2.0 + 0.01]);
    // Weight decay 1 adds p to the gradient: d = (2, 1).
    assert_eq!(values(&omega), vec![1.0 - 0.5 * 2.0, 2.0 - 0.5 * 1.0]);
    assert_eq!(opt.step_count(), 1);
}

#[test]
fn lr_factor_and_schedules_scale_every_groups_base_rate() {
    let (a, b) = (param(&[0.0]), param(&[0.0]));
    let groups = vec![
        ParamGroup::new("a", 0.2, [a.id()]),
        ParamGroup::new("b", 0.02, [b.id()]),
    ];
    let mut opt = Optimizer::<Reference, f64>::adam(groups, AdamConfig::default()).unwrap();
    opt.set_lr_factor(0.5).unwrap();
    assert_eq!(opt.current_lrs(), vec![0.1, 0.01]);
    let mut s = Schedule::exponential(0.5).unwrap();
    s.on_epoch_end(None).unwrap();
    s.on_epoch_end(None).unwrap();
    opt.apply_schedule(&s).unwrap();
    assert_eq!(opt.current_lrs(), vec![0.05, 0.005]);
    // The base rates are untouched.
    assert_eq!(opt.groups()[0].lr, 0.2);
    // A factor that makes a rate invalid is refused and changes nothing.
    assert!(opt.set_lr_factor(-1.0).is_err());
    assert!(opt.set_lr_factor(f64::NAN).is_err());
    assert_eq!(opt.current_lrs(), vec![0.05, 0.005]);
}

#[test]
fn parameters_without_a_gradient_are_skipped_and_keep_their_adam_state() {
    let lr = 0.1;
    let (mut a, mut b) = (param(&[1.0, 1.0]), param(&[1.0, 1.0]));
    let groups = vec![ParamGroup::new("all", lr, [a.id(), b.id()])];
    let mut opt = Optimizer::adam(groups, AdamConfig::default()).unwrap();
    let g: &[f64] = &[0.5, -2.0];
    for _ in 0..3 {
        let gs = grads(&[(&b, g)]);
        opt.step([&mut a, &mut b], &gs).unwrap();
    }
    assert_eq!(
        values(&a),
        vec![1.0, 1.0],
        "a had no gradient and must not move"
    );
    let state = opt.export_state([&a, &b]).unwrap();
    assert_eq!(state.params.len(), 1, "only b has state");
    assert_eq!((state.params[0].position, state.params[0].step), (1, 3));
    assert_eq!(state.step_count, 3);
    // a's first real update is a first Adam step (step counter 1): exactly ±lr up to eps.
    let gs = grads(&[(&a, g), (&b, g)]);
    opt.step([&mut a, &mut b], &gs).unwrap();
    let moved: Vec<f64> = values(&a).iter().map(|v| v - 1.0).collect();
    assert!(
        (moved[0] + lr).abs() < 1e-8 && (moved[1] - lr).abs() < 1e-8,
        "{moved:?}"
    );
    let state = opt.export_state([&a, &b]).unwrap();
    assert_eq!(state.params[0].step, 1);
    assert_eq!(state.params[1].step, 4);
}

#[test]
fn bad_groups_and_configs_are_rejected() {
    let a = param(&[1.0]);
    let twice = vec![
        ParamGroup::new("x", 0.1, [a.id()]),
        ParamGroup::new("y", 0.1, [a.id()]),
    ];
    assert!(matches!(
        Optimizer::<Reference, f64>::adam(twice, AdamConfig::default()),
        Err(Error::BadArgument { .. })
    ));
    let neg = vec![ParamGroup::new("x", -0.1, [a.id()])];
    assert!(Optimizer::<Reference, f64>::adam(neg, AdamConfig::default()).is_err());
    let nan_wd = vec![ParamGroup::new("x", 0.1, [a.id()]).with_weight_decay(f64::NAN)];
    assert!(Optimizer::<Reference, f64>::adam(nan_wd, AdamConfig::default()).is_err());
    let g = || vec![ParamGroup::new("x", 0.1, [a.id()])];
    let bad_beta = AdamConfig {
        betas: (1.0, 0.999),
        eps: 1e-8,
    };
    assert!(Optimizer::<Reference, f64>::adam(g(), bad_beta).is_err());
    let nesterov_no_momentum = SgdConfig {
        momentum: 0.0,
        dampening: 0.0,
        nesterov: true,
    };
    assert!(Optimizer::<Reference, f64>::sgd(g(), nesterov_no_momentum).is_err());
    let nesterov_dampening = SgdConfig {
        momentum: 0.9,
        dampening: 0.1,
        nesterov: true,
    };
    assert!(Optimizer::<Reference, f64>::sgd(g(), nesterov_dampening).is_err());
}

#[test]
fn bad_steps_are_errors_and_change_nothing() {
    let (mut a, mut b, mut stray) = (param(&[1.0, 2.0]), param(&[3.0]), param(&[5.0]));
    let groups = vec![ParamGroup::new("all", 0.1, [a.id(), b.id()])];
    let mut opt = Optimizer::adam(groups, AdamConfig::default()).unwrap();

    // b's gradient has the wrong shape: a (listed first, valid) must not move either.
    let gs = grads(&[(&a, &[1.0, 1.0]), (&b, &[1.0, 1.0])]);
    let err = opt.step([&mut a, &mut b], &gs).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
    assert_eq!(values(&a), vec![1.0, 2.0]);
    assert_eq!(opt.step_count(), 0);
    assert!(opt.export_state([&a, &b]).unwrap().params.is_empty());

    // A parameter in no group.
    let gs = grads(&[(&a, &[1.0, 1.0])]);
    let err = opt.step([&mut a, &mut stray], &gs).unwrap_err();
    assert!(err.to_string().contains("no parameter group"), "{err}");
    assert_eq!(values(&a), vec![1.0, 2.0]);

    // The same parameter twice (a clone shares the id).
    let mut a2 = a.clone();
    let err = opt.step([&mut a, &mut a2], &gs).unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
    assert_eq!(values(&a), vec![1.0, 2.0]);
}

#[test]
fn updates_record_no_graph() {
    let mut a = param(&[1.0, 2.0]);
    let groups = vec![ParamGroup::new("all", 0.1, [a.id()])];
    let mut opt = Optimizer::adam(groups, AdamConfig::default()).unwrap();
    for _ in 0..2 {
        let loss = a.tensor().square().unwrap().sum_all().unwrap();
        let gs = loss.backward().unwrap();
        opt.step([&mut a], &gs).unwrap();
        // The new value is a fresh parameter leaf: its gradient is collected under a's
        // id and the loss graph does not reach through the previous update.
        let gs = a.tensor().sum_all().unwrap().backward().unwrap();
        assert_eq!(gs.len(), 1);
        assert_eq!(gs.get(&a).unwrap().to_vec().unwrap(), vec![1.0, 1.0]);
    }
}
