//! Learned partial equivariance (docs/math.md §4): the parameters of a partial layer, the
//! elements and gates it draws for every group and sampling method, its report, the
//! monotonic loss, and a whole kernel pipeline with the gradient reaching θ.

use core::f64::consts::{FRAC_PI_2, PI, TAU};
use pgcnn_core::group::*;
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::{check_gradients, GradCheck};
use pgcnn_core::{Param, Tensor};

type T = Tensor<Reference, f64>;
const B: Reference = Reference;

fn set(p: &mut Param<Reference, f64>, values: &[f64]) {
    p.set(Tensor::from_slice(&B, values, [values.len()]).unwrap())
        .unwrap();
}

#[test]
fn partial_se2_with_theta() {
    let mut rng = Rng::seed(30);
    let mut layer = PartialEquivariance::<Reference, f64>::new(
        &B,
        PartialConfig::new(GroupKind::Se2, 8, SamplingMethod::Random),
    )
    .unwrap();
    assert_eq!(layer.params().len(), 1);
    assert_eq!(layer.theta().unwrap().tensor().to_vec().unwrap(), vec![1.0]);
    let s = layer
        .sample(None, KeepMode::Sample { temperature: 0.5 }, &mut rng)
        .unwrap();
    assert!(s.gates.is_none());
    assert_eq!(s.elements.len(), 8);
    assert!(s.elements.requires_grad());
    // θ = 1: stratified over the whole circle (wrapped from [-π, π)).
    let mut v: Vec<f64> = s
        .elements
        .rotation_values()
        .iter()
        .map(|&r| wrap_angle(r + PI))
        .collect();
    v.sort_by(f64::total_cmp);
    for (i, r) in v.iter().enumerate() {
        assert!(*r >= TAU * i as f64 / 8.0 && *r < TAU * (i + 1) as f64 / 8.0);
    }
    // θ = 0.3: three rotations in [-0.3π, 0.3π), per batch element.
    set(layer.params_mut()[0], &[0.3]);
    let s = layer
        .sample(Some(5), KeepMode::MostLikely, &mut rng)
        .unwrap();
    assert_eq!(s.elements.rotations().dims(), &[5, 3]);
    // The most likely pass takes the grid without an offset: θ·(2π·i/3 − π) in every row.
    let grid: Vec<f64> = (0..3).map(|i| 0.3 * (TAU * i as f64 / 3.0 - PI)).collect();
    for row in s.elements.rotation_values().chunks(3) {
        for (r, g) in row.iter().zip(&grid) {
            assert!(angle_distance(*r, *g) < 1e-12, "{row:?} is not {grid:?}");
        }
    }
    // The gradient of any use of the elements reaches θ.
    let grads = s
        .elements
        .rotations()
        .sin()
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    assert!(grads.get(layer.theta().unwrap()).is_some());
    let report = layer.report().unwrap();
    assert_eq!(report.theta, Some(0.3));
    assert!(report.rotation_keep.is_empty() && report.mirror_keep.is_none());
    assert_eq!(report.to_string(), "SE2 theta=0.3000");
    assert!(PartialEquivariance::<Reference, f64>::new(
        &B,
        PartialConfig::new(GroupKind::T2, 1, SamplingMethod::Random)
    )
    .is_err());
}

#[test]
fn partial_discrete_rotations_keep_the_identity_and_gate_the_rest() {
    let mut rng = Rng::seed(31);
    let mut layer = PartialEquivariance::<Reference, f64>::new(
        &B,
        PartialConfig::new(GroupKind::Se2, 4, SamplingMethod::Deterministic),
    )
    .unwrap();
    assert_eq!(layer.params().len(), 1);
    assert_eq!(layer.rotation_logits().unwrap().dims(), &[3]);
    // Logits that decide for sure: keep π/2 and 3π/2, drop π.
    set(layer.params_mut()[0], &[40.0, -40.0, 40.0]);
    for mode in [KeepMode::Sample { temperature: 0.5 }, KeepMode::MostLikely] {
        let s = layer.sample(Some(2), mode, &mut rng).unwrap();
        assert_eq!(
            s.elements.rotation_values(),
            &[
                0.0,
                FRAC_PI_2,
                3.0 * FRAC_PI_2,
                0.0,
                FRAC_PI_2,
                3.0 * FRAC_PI_2
            ]
        );
        assert!(!s.elements.requires_grad());
        match mode {
            KeepMode::MostLikely => assert!(s.gates.is_none()),
            _ => assert_eq!(
                s.gates.as_ref().unwrap().to_vec().unwrap(),
                vec![1.0, 1.0, 1.0]
            ),
        }
    }
    // Moderate logits: the gradient reaches exactly the kept, non-identity logits.
    set(layer.params_mut()[0], &[0.2, 0.1, -0.1]);
    let mut checked = 0;
    for _ in 0..20 {
        let s = layer
            .sample(None, KeepMode::Sample { temperature: 2.0 }, &mut rng)
            .unwrap();
        let gates = s.gates.unwrap();
        assert_eq!(gates.to_vec().unwrap(), vec![1.0; s.elements.len()]);
        let w: T = Tensor::from_f64s(
            &B,
            &(0..s.elements.len())
                .map(|i| 1.0 + i as f64)
                .collect::<Vec<_>>(),
            [s.elements.len()],
        )
        .unwrap();
        let g = gates
            .mul(&w)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let kept: Vec<usize> = s
            .elements
            .rotation_values()
            .iter()
            .map(|r| (r / FRAC_PI_2).round() as usize)
            .collect();
        let Some(g) = g.get(layer.rotation_logits().unwrap()) else {
            continue;
        };
        let g = g.to_vec().unwrap();
        for i in 1..4 {
            assert_eq!(
                g[i - 1] != 0.0,
                kept.contains(&i),
                "rotation {i}: gradient {g:?}, kept {kept:?}"
            );
        }
        checked += 1;
    }
    assert!(checked > 10);
    let report = layer.report().unwrap();
    assert_eq!(report.rotation_keep.len(), 3);
    assert!((report.rotation_keep[0] - 1.0 / (1.0 + (-0.2f64).exp())).abs() < 1e-15);
}

#[test]
fn partial_e2_adds_mirrored_copies_when_the_mirror_is_kept() {
    let mut rng = Rng::seed(32);
    let mut layer = PartialEquivariance::<Reference, f64>::new(
        &B,
        PartialConfig::new(GroupKind::E2, 8, SamplingMethod::Random),
    )
    .unwrap();
    assert_eq!(layer.params().len(), 2);
    set(layer.params_mut()[0], &[0.5]);
    set(layer.params_mut()[1], &[40.0]);
    let s = layer
        .sample(Some(3), KeepMode::Sample { temperature: 0.5 }, &mut rng)
        .unwrap();
    // N_r = 4, θ = 0.5: N' = 2 rotations, with both mirrors.
    assert_eq!(s.elements.rotations().dims(), &[3, 4]);
    for (row, m) in s
        .elements
        .rotation_values()
        .chunks(4)
        .zip(s.elements.mirror_values().unwrap().chunks(4))
    {
        // The mirrored elements are the reference's (r_i, -1): (-r_i mod 2π, -1) in
        // pgcnn's parameterisation.
        for i in 0..2 {
            let turn = (row[i] + row[2 + i]).rem_euclid(TAU);
            assert!(turn.min(TAU - turn) < 1e-12, "{row:?}");
        }
        assert_eq!(m, &[1.0, 1.0, -1.0, -1.0]);
    }
    let gates = s.gates.unwrap();
    assert_eq!(gates.to_vec().unwrap(), vec![1.0; 4]);
    // Only the mirrored half carries the mirror logit's gradient: check it is the
    // relaxed sample's (sigmoid'((40 + L)/τ)/τ is tiny but the path exists) by using a
    // moderate logit instead.
    set(layer.params_mut()[1], &[3.0]);
    let mut found = false;
    for _ in 0..50 {
        let s = layer
            .sample(None, KeepMode::Sample { temperature: 5.0 }, &mut rng)
            .unwrap();
        if s.elements.len() == 4 {
            let gates = s.gates.unwrap();
            let front: T = Tensor::from_slice(&B, &[1.0, 1.0, 0.0, 0.0], [4]).unwrap();
            let g = gates
                .mul(&front)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let g = g
                .get(layer.mirror_logit().unwrap())
                .map_or(0.0, |g| g.to_scalar().unwrap());
            assert_eq!(g, 0.0, "the unmirrored half has no mirror gradient");
            let back: T = Tensor::from_slice(&B, &[0.0, 0.0, 1.0, 1.0], [4]).unwrap();
            let g = gates
                .mul(&back)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            assert!(
                g.get(layer.mirror_logit().unwrap())
                    .unwrap()
                    .to_scalar()
                    .unwrap()
                    != 0.0
            );
            found = true;
            break;
        }
    }
    assert!(found);
    // Mirror dropped: only the unmirrored rotations, no gates.
    set(layer.params_mut()[1], &[-40.0]);
    let s = layer
        .sample(None, KeepMode::Sample { temperature: 0.5 }, &mut rng)
        .unwrap();
    assert_eq!(s.elements.len(), 2);
    assert_eq!(s.elements.mirror_values().unwrap(), &[1.0, 1.0]);
    assert!(s.gates.is_none());
    let s = layer.sample(None, KeepMode::MostLikely, &mut rng).unwrap();
    assert_eq!(s.elements.len(), 2);
    let r = layer.report().unwrap();
    assert_eq!(r.theta, Some(0.5));
    assert!(r.mirror_keep.unwrap() < 1e-15);
}

#[test]
fn partial_e2_discrete_combines_rotation_and_mirror_gates() {
    let mut rng = Rng::seed(33);
    let mut layer = PartialEquivariance::<Reference, f64>::new(
        &B,
        PartialConfig::new(GroupKind::E2, 8, SamplingMethod::Deterministic),
    )
    .unwrap();
    assert_eq!(layer.params().len(), 2);
    set(layer.params_mut()[0], &[40.0, -40.0, 40.0]);
    set(layer.params_mut()[1], &[40.0]);
    let s = layer
        .sample(None, KeepMode::Sample { temperature: 0.5 }, &mut rng)
        .unwrap();
    let kept = [0.0, FRAC_PI_2, 3.0 * FRAC_PI_2];
    // Mirrored: (-r_i mod 2π, -1), in the same order (docs/math.md §3).
    let mirrored = [0.0, TAU - FRAC_PI_2, TAU - 3.0 * FRAC_PI_2];
    assert_eq!(
        s.elements.rotation_values(),
        [kept, mirrored].concat().as_slice()
    );
    assert_eq!(
        s.elements.mirror_values().unwrap(),
        &[1.0, 1.0, 1.0, -1.0, -1.0, -1.0]
    );
    assert_eq!(s.gates.unwrap().to_vec().unwrap(), vec![1.0; 6]);
    // The reference's parameterisation pins probabilities: logits of ±40 keep 73%/50%.
    let mut cfg = PartialConfig::new(GroupKind::E2, 4, SamplingMethod::Deterministic);
    cfg.keep = KeepParameterisation::ReferenceSigmoid2;
    let layer = PartialEquivariance::<Reference, f64>::new(&B, cfg).unwrap();
    let r = layer.report().unwrap();
    assert!(
        (r.rotation_keep[0] - 1.0 / (1.0 + (-1.0 / (1.0 + (-2.0f64).exp())).exp())).abs() < 1e-15
    );
    assert!(r.to_string().starts_with("E2 rotations=[0.707"));
}

#[test]
fn monotonic_loss_penalises_later_layers_with_larger_theta() {
    let thetas: Vec<T> = [1.0, 0.8, 0.9, 0.95]
        .iter()
        .map(|&v| Tensor::from_slice(&B, &[v], [1]).unwrap())
        .collect();
    let refs: Vec<&T> = thetas.iter().collect();
    let loss = monotonic_loss(&B, &refs, 2.0).unwrap();
    assert_eq!(loss.dims(), &[] as &[usize]);
    assert!((loss.to_scalar().unwrap() - 2.0 * 0.15).abs() < 1e-12);
    check_gradients(
        &thetas,
        |xs| {
            let refs: Vec<&T> = xs.iter().collect();
            monotonic_loss(&B, &refs, 2.0)
        },
        GradCheck::default(),
    )
    .unwrap();
    assert_eq!(
        monotonic_loss::<Reference, f64>(&B, &refs[..1], 2.0)
            .unwrap()
            .to_scalar()
            .unwrap(),
        0.0
    );
    assert_eq!(
        monotonic_loss::<Reference, f64>(&B, &[], 2.0)
            .unwrap()
            .to_scalar()
            .unwrap(),
        0.0
    );
}

#[test]
fn a_partial_layer_pipeline_composes_in_f32() {
    // What a partial group convolution does before its conv2d: draw, build the kernel-net
    // input, evaluate the net, mask, gate; and check that θ gets a gradient.
    use pgcnn_core::kernel::{KernelNetConfig, KernelNetKind, KernelNetwork};
    use pgcnn_core::KernelNet;
    let mut rng = Rng::seed(40);
    let (k, cin, cout) = (3, 2, 3);
    let grid = KernelGrid::new(k).unwrap();
    let lift = sample_group::<_, f32>(
        &B,
        GroupKind::E2,
        4,
        SamplingMethod::Random,
        Some(2),
        &mut rng,
    )
    .unwrap();
    let mut cfg = PartialConfig::new(GroupKind::E2, 4, SamplingMethod::Random);
    cfg.init_theta = 0.7;
    let layer = PartialEquivariance::<Reference, f32>::new(&B, cfg).unwrap();
    let drawn = layer
        .sample(Some(2), KeepMode::Sample { temperature: 0.5 }, &mut rng)
        .unwrap();
    let (n_out, n_in) = (drawn.elements.len(), lift.len());
    let coords = group_conv_coords(&drawn.elements, &lift, &grid).unwrap();
    assert_eq!(coords.dims(), &[2, n_out, n_in, k, k, 4]);
    let net = KernelNetwork::<Reference, f32>::new(
        &B,
        &KernelNetConfig::new(KernelNetKind::Siren, 8, 3),
        4,
        cout * cin,
        &mut rng,
    )
    .unwrap();
    let p = coords.numel() / 4;
    let kernel = net.forward(&coords.reshape([p, 4]).unwrap()).unwrap();
    let kernel = kernel.reshape([2, n_out, n_in, k, k, cout * cin]).unwrap();
    // Mask over the (k, k) axes, gates over the output-sample axis.
    let mask = grid
        .mask_tensor::<Reference, f32>(&B)
        .unwrap()
        .reshape([k, k, 1])
        .unwrap();
    let mut kernel = kernel.mul(&mask).unwrap();
    if let Some(g) = &drawn.gates {
        kernel = kernel
            .mul(&g.reshape([n_out, 1, 1, 1, 1]).unwrap())
            .unwrap();
    }
    let grads = kernel
        .square()
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let g = grads
        .get(layer.theta().unwrap())
        .unwrap()
        .to_scalar()
        .unwrap();
    assert!(g.is_finite() && g != 0.0);
}

/// The host copies of sampled elements (computed on the host, never read back) equal the
/// values the tensors hold, bit for bit: random θ, every sampling path (θ, discrete keep
/// logits, the E(2) mirror), batched and not, in f32 and f64.
#[test]
fn host_copies_of_sampled_elements_equal_the_tensors() {
    use pgcnn_core::Element;
    fn check<E: Element>(seed: u64) {
        let mut rng = Rng::seed(seed);
        let configs = [
            (GroupKind::Se2, 8, SamplingMethod::Random),
            (GroupKind::Se2, 6, SamplingMethod::Deterministic),
            (GroupKind::E2, 8, SamplingMethod::Random),
            (GroupKind::E2, 12, SamplingMethod::Deterministic),
        ];
        for (kind, n, sampling) in configs {
            let mut layer =
                PartialEquivariance::<Reference, E>::new(&B, PartialConfig::new(kind, n, sampling))
                    .unwrap();
            for _ in 0..20 {
                // θ anywhere in (0, 1.2] (wraps past ±π at the top), logits either way.
                for (i, p) in layer.params_mut().into_iter().enumerate() {
                    let theta = i == 0 && sampling == SamplingMethod::Random;
                    let v: Vec<E> = (0..p.tensor().numel())
                        .map(|_| match theta {
                            true => rng.uniform_range(0.01, 1.2),
                            false => rng.uniform_range(-3.0, 3.0),
                        })
                        .map(E::from_f64)
                        .collect();
                    let dims = p.tensor().dims().to_vec();
                    p.set(Tensor::from_slice(&B, &v, dims).unwrap()).unwrap();
                }
                let batch = [None, Some(3)][rng.below(2)];
                let mode = KeepMode::Sample { temperature: 0.5 };
                let s = layer.sample(batch, mode, &mut rng).unwrap();
                let device: Vec<f64> = s
                    .elements
                    .rotations()
                    .to_vec()
                    .unwrap()
                    .iter()
                    .map(|&v| Element::to_f64(v))
                    .collect();
                assert_eq!(
                    s.elements.rotation_values(),
                    &device[..],
                    "{kind:?} {sampling:?}"
                );
                let mirrors = s.elements.mirrors().map(|m| {
                    m.to_vec()
                        .unwrap()
                        .iter()
                        .map(|&v| Element::to_f64(v))
                        .collect::<Vec<f64>>()
                });
                assert_eq!(
                    s.elements.mirror_values(),
                    mirrors.as_deref(),
                    "{kind:?} {sampling:?}"
                );
            }
        }
    }
    check::<f64>(40);
    check::<f32>(41);
}
