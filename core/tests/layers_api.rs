//! The layers' interface: parameter names and optimiser roles, partial reports, kernel
//! norms for the weight-decay penalty, pooling and norms on group maps, and errors (not
//! panics) for bad configurations and inputs.

use pgcnn_core::group::*;
use pgcnn_core::kernel::{KernelNetConfig, KernelNetKind, ParamRole};
use pgcnn_core::layers::*;
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::random_tensor;
use pgcnn_core::{Padding, Tensor};

type T = Tensor<Reference, f64>;
const BK: Reference = Reference;

fn kernel_cfg() -> KernelNetConfig {
    let mut k = KernelNetConfig::new(KernelNetKind::Siren, 6, 2);
    k.omega0 = 3.0;
    k
}

fn config(kind: GroupKind, cin: usize, cout: usize, k: usize, n: usize) -> ConvConfig {
    ConvConfig::new(cin, cout, k, kind, n, kernel_cfg())
}

#[test]
fn params_come_with_names_and_roles() {
    let mut rng = Rng::seed(7);
    let mut kcfg = kernel_cfg();
    kcfg.learn_omega0 = true;
    let mut cfg = ConvConfig::new(2, 3, 3, GroupKind::E2, 4, kcfg);
    cfg.partial = true;
    let g = GroupConv::<_, f64>::new(&BK, cfg.clone(), &mut rng).unwrap();
    let (names, roles) = (g.param_names(), g.param_roles());
    assert_eq!(names.len(), g.params().len());
    assert_eq!(roles.len(), g.params().len());
    let role_of = |n: &str| roles[names.iter().position(|x| x == n).unwrap()];
    assert_eq!(role_of("bias"), ParamRole::Main);
    assert_eq!(role_of("partial.theta"), ParamRole::Probs);
    assert_eq!(role_of("partial.mirror_logit"), ParamRole::Probs);
    assert_eq!(role_of("kernel_net.omega0"), ParamRole::Omega0);
    assert!(names.iter().any(|n| n.starts_with("kernel_net.")));
    assert_eq!(g.params_with_role(ParamRole::Probs).len(), 2);
    assert_eq!(g.theta().unwrap().tensor().to_vec().unwrap(), vec![1.0]);
    let report = g.partial_report().unwrap().unwrap();
    assert_eq!(report.theta, Some(1.0));
    assert!(report.mirror_keep.is_some());
    // Every parameter is reachable mutably, in the same order.
    let mut g2 = g.clone();
    let ids: Vec<_> = g.params().iter().map(|p| p.id()).collect();
    let ids_mut: Vec<_> = g2.params_mut().iter().map(|p| p.id()).collect();
    assert_eq!(ids, ids_mut);

    let lift = LiftingConv::<_, f64>::new(
        &BK,
        ConvConfig {
            partial: false,
            ..cfg.clone()
        },
        &mut rng,
    )
    .unwrap();
    assert!(lift.params_with_role(ParamRole::Probs).is_empty());
    assert_eq!(lift.param_names().last().map(String::as_str), Some("bias"));
    let pw = PointwiseGroupConv::<_, f64>::new(&BK, cfg, &mut rng).unwrap();
    assert!(pw
        .param_names()
        .iter()
        .all(|n| n.starts_with("kernel_net.")));
    let plain =
        GroupConv::<_, f64>::new(&BK, config(GroupKind::Se2, 1, 1, 3, 4), &mut rng).unwrap();
    assert!(plain.partial_report().unwrap().is_none());
}

#[test]
fn kernel_norms_are_collected_on_request() {
    let mut rng = Rng::seed(8);
    let cfg = config(GroupKind::Se2, 1, 2, 3, 4);
    let lift = LiftingConv::<_, f64>::new(&BK, cfg.clone(), &mut rng).unwrap();
    let x: T = random_tensor(&BK, &mut rng, &[1, 1, 5, 5], -1.0, 1.0).unwrap();
    let mut ctx = ForwardCtx::train(Rng::seed(1), 0.5).collecting_kernel_norms();
    let out = lift.forward(&x, &mut ctx).unwrap();
    let norms = ctx.kernel_norms.take().unwrap();
    assert_eq!(norms.len(), 1);
    let k = lift.kernel(out.elements()).unwrap().to_vec().unwrap();
    let want = k.iter().map(|v| v * v).sum::<f64>().sqrt(); // bias is zero
    assert!((norms[0].to_scalar().unwrap() - want).abs() < 1e-12);
    let mut quiet = ForwardCtx::train(Rng::seed(1), 0.5);
    lift.forward(&x, &mut quiet).unwrap();
    assert!(quiet.kernel_norms.is_none());
}

#[test]
fn norms_and_pools_keep_the_elements_and_reduce_the_right_axes() {
    let mut rng = Rng::seed(9);
    let el = sample_group(
        &BK,
        GroupKind::Se2,
        4,
        SamplingMethod::Deterministic,
        None,
        &mut rng,
    )
    .unwrap();
    let t: T = random_tensor(&BK, &mut rng, &[2, 3, 4, 6, 6], -1.0, 1.0).unwrap();
    let m = GroupMap::new(t.clone(), el).unwrap();
    assert_eq!(m.spatial_max_pool().unwrap().dims(), &[2, 3, 4, 3, 3]);
    let gmax = m.global_max_pool().unwrap().to_vec().unwrap();
    let gmean = m.global_mean_pool().unwrap().to_vec().unwrap();
    let v = t.to_vec().unwrap();
    for bc in 0..6 {
        let s = &v[bc * 144..(bc + 1) * 144];
        assert_eq!(gmax[bc], s.iter().cloned().fold(f64::MIN, f64::max));
        assert!((gmean[bc] - s.iter().sum::<f64>() / 144.0).abs() < 1e-12);
    }
    let ps = m.per_sample_norm().unwrap().tensor().to_vec().unwrap();
    let mean: f64 = ps[..144].iter().sum::<f64>() / 144.0;
    assert!(mean.abs() < 1e-12);
    let mut bn = GroupBatchNorm::new(&BK, 3).unwrap();
    let y = bn.forward(&m, true).unwrap().tensor().to_vec().unwrap();
    let c0: f64 = (0..2)
        .map(|b| y[b * 432..b * 432 + 144].iter().sum::<f64>())
        .sum();
    assert!(
        c0.abs() < 1e-10,
        "batch norm centres each channel over (B, N, H, W)"
    );
    assert!(bn.stats().batches_tracked() == 1);
    let ln = GroupLayerNorm::new(&BK, 3).unwrap();
    let y = ln.forward(&m).unwrap().tensor().to_vec().unwrap();
    assert!(
        y[..432].iter().sum::<f64>().abs() < 1e-10,
        "layer norm centres each sample"
    );
    assert_eq!(bn.param_roles(), vec![ParamRole::Main; 2]);
    assert_eq!(ln.params().len(), 2);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let mut rng = Rng::seed(10);
    let cfg = config(GroupKind::Se2, 2, 2, 3, 4);
    assert!(LiftingConv::<_, f64>::new(
        &BK,
        ConvConfig {
            kernel_size: 4,
            ..cfg.clone()
        },
        &mut rng
    )
    .is_err());
    assert!(LiftingConv::<_, f64>::new(
        &BK,
        ConvConfig {
            in_channels: 0,
            ..cfg.clone()
        },
        &mut rng
    )
    .is_err());
    assert!(LiftingConv::<_, f64>::new(
        &BK,
        ConvConfig {
            partial: true,
            ..cfg.clone()
        },
        &mut rng
    )
    .is_err());
    assert!(GroupConv::<_, f64>::new(
        &BK,
        ConvConfig {
            group: GroupKind::E2,
            no_samples: 3,
            ..cfg.clone()
        },
        &mut rng
    )
    .is_err());
    assert!(GroupConv::<_, f64>::new(
        &BK,
        ConvConfig {
            group: GroupKind::T2,
            partial: true,
            ..cfg.clone()
        },
        &mut rng
    )
    .is_err());
    let lift = LiftingConv::<_, f64>::new(&BK, cfg.clone(), &mut rng).unwrap();
    let g = GroupConv::<_, f64>::new(&BK, cfg.clone(), &mut rng).unwrap();
    let mut ctx = ForwardCtx::eval(Rng::seed(0));
    let wrong_channels = T::zeros(&BK, [1, 3, 5, 5]).unwrap();
    assert!(lift.forward(&wrong_channels, &mut ctx).is_err());
    assert!(lift
        .forward(&T::zeros(&BK, [1, 2, 5]).unwrap(), &mut ctx)
        .is_err());
    let h = lift
        .forward(&T::zeros(&BK, [1, 2, 5, 5]).unwrap(), &mut ctx)
        .unwrap();
    let e2 = sample_group(
        &BK,
        GroupKind::E2,
        4,
        SamplingMethod::Random,
        None,
        &mut rng,
    )
    .unwrap();
    assert!(
        g.forward_on(&h, &e2, None, &mut ctx).is_err(),
        "elements of another group"
    );
    let bad_gates = T::ones(&BK, [3]).unwrap();
    assert!(g
        .forward_on(&h, h.elements(), Some(&bad_gates), &mut ctx)
        .is_err());
    assert!(GroupMap::new(
        T::zeros(&BK, [1, 2, 3, 5, 5]).unwrap(),
        h.elements().clone()
    )
    .is_err());
    assert!(h.add(&h).is_ok());
    let e2_map = GroupMap::new(h.tensor().clone(), e2.clone()).unwrap();
    assert!(h.add(&e2_map).is_err(), "elements of another group");
    let other = sample_group(
        &BK,
        GroupKind::Se2,
        4,
        SamplingMethod::Random,
        None,
        &mut rng,
    )
    .unwrap();
    assert!(
        h.add(&GroupMap::new(h.tensor().clone(), other).unwrap())
            .is_err(),
        "different elements"
    );
    // A 3x3 image is too small for a valid 5x5 kernel.
    let valid = LiftingConv::<_, f64>::new(
        &BK,
        ConvConfig {
            kernel_size: 5,
            padding: Padding::Valid,
            ..cfg
        },
        &mut rng,
    )
    .unwrap();
    assert!(valid
        .forward(&T::zeros(&BK, [1, 2, 3, 3]).unwrap(), &mut ctx)
        .is_err());
}
