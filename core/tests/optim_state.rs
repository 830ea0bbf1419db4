//! Optimiser state export and import: a resumed optimiser takes bit-identical steps.

use pgcnn_core::optim::{AdamConfig, Algorithm, Optimizer, OptimizerState, ParamGroup, SgdConfig};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::random_tensor;
use pgcnn_core::{Error, Gradients, Param, Tensor};

type B = Reference;
type P = Param<B, f32>;

const SHAPES: [&[usize]; 3] = [&[2, 3], &[4], &[1, 2, 2]];

fn model(rng: &mut Rng) -> Vec<P> {
    SHAPES
        .iter()
        .map(|d| Param::new(random_tensor(&Reference, rng, d, -1.0, 1.0).unwrap()))
        .collect()
}

/// A copy of the parameters with fresh ids, as a resumed process would build them.
fn reload(params: &[P]) -> Vec<P> {
    params
        .iter()
        .map(|p| Param::new(p.tensor().detach()))
        .collect()
}

fn groups(params: &[P]) -> Vec<ParamGroup> {
    vec![
        ParamGroup::new("rest", 0.01, [params[0].id(), params[2].id()]).with_weight_decay(0.01),
        ParamGroup::new("probs", 0.1, [params[1].id()]),
    ]
}

/// Gradients for step `k`: the middle parameter gets none on even steps.
fn grads(rng: &mut Rng, params: &[P], k: usize) -> Gradients<B, f32> {
    let mut g = Gradients::new();
    for (i, p) in params.iter().enumerate() {
        if i == 1 && k.is_multiple_of(2) {
            continue;
        }
        g.insert(
            p.id(),
            random_tensor(&Reference, rng, p.dims(), -1.0, 1.0).unwrap(),
        );
    }
    g
}

/// The same gradient values re-keyed to another set of parameters.
fn rekey(g: &Gradients<B, f32>, from: &[P], to: &[P]) -> Gradients<B, f32> {
    let mut out = Gradients::new();
    for (f, t) in from.iter().zip(to) {
        if let Some(v) = g.get(f) {
            out.insert(t.id(), v.clone());
        }
    }
    out
}

fn bits(params: &[P]) -> Vec<Vec<u32>> {
    params
        .iter()
        .map(|p| {
            p.tensor()
                .to_vec()
                .unwrap()
                .iter()
                .map(|x| x.to_bits())
                .collect()
        })
        .collect()
}

fn state_bits(s: &OptimizerState<B, f32>) -> Vec<(usize, u64, String, Vec<u32>)> {
    s.params
        .iter()
        .flat_map(|ps| {
            ps.tensors.iter().map(move |(n, t)| {
                let v = t.to_vec().unwrap().iter().map(|x| x.to_bits()).collect();
                (ps.position, ps.step, n.clone(), v)
            })
        })
        .collect()
}

fn resume_is_bit_identical(algorithm: Algorithm) {
    let mut rng = Rng::seed(20);
    let mut params = model(&mut rng);
    let mut opt = Optimizer::new(algorithm, groups(&params)).unwrap();
    for k in 0..3 {
        let g = grads(&mut rng, &params, k);
        opt.step(params.iter_mut(), &g).unwrap();
    }
    let state = opt.export_state(&params).unwrap();
    assert_eq!(state.step_count, 3);

    let mut resumed = reload(&params);
    let mut opt2 = Optimizer::new(algorithm, groups(&resumed)).unwrap();
    opt2.import_state(&resumed, &state).unwrap();
    assert_eq!(
        state_bits(&opt2.export_state(&resumed).unwrap()),
        state_bits(&state)
    );
    assert_eq!(opt2.step_count(), 3);

    for k in 3..7 {
        let g = grads(&mut rng, &params, k);
        let g2 = rekey(&g, &params, &resumed);
        opt.step(params.iter_mut(), &g).unwrap();
        opt2.step(resumed.iter_mut(), &g2).unwrap();
        assert_eq!(bits(&params), bits(&resumed), "{algorithm:?}, step {k}");
    }
}

#[test]
fn adam_resume_is_bit_identical() {
    resume_is_bit_identical(Algorithm::Adam(AdamConfig::default()));
}

#[test]
fn sgd_with_momentum_resume_is_bit_identical() {
    let cfg = SgdConfig {
        momentum: 0.9,
        dampening: 0.0,
        nesterov: true,
    };
    resume_is_bit_identical(Algorithm::Sgd(cfg));
}

#[test]
fn exported_state_names_positions_and_steps() {
    let mut rng = Rng::seed(21);
    let mut params = model(&mut rng);
    let mut opt = Optimizer::adam(groups(&params), AdamConfig::default()).unwrap();
    for k in 0..3 {
        let g = grads(&mut rng, &params, k);
        opt.step(params.iter_mut(), &g).unwrap();
    }
    let s = opt.export_state(&params).unwrap();
    assert_eq!(s.algorithm, "adam");
    let summary: Vec<(usize, u64, Vec<&str>)> = s
        .params
        .iter()
        .map(|p| {
            (
                p.position,
                p.step,
                p.tensors.iter().map(|(n, _)| n.as_str()).collect(),
            )
        })
        .collect();
    let names = vec!["exp_avg", "exp_avg_sq"];
    // The middle parameter had a gradient only on step 1 of 0..3.
    assert_eq!(
        summary,
        vec![(0, 3, names.clone()), (1, 1, names.clone()), (2, 3, names)]
    );
    for p in &s.params {
        for (_, t) in &p.tensors {
            assert_eq!(t.dims(), params[p.position].dims());
        }
    }
    // A list that misses a parameter with state would lose it: refused.
    assert!(opt.export_state(&params[..2]).is_err());
}

#[test]
fn import_rejects_mismatches_and_changes_nothing() {
    let mut rng = Rng::seed(22);
    let mut params = model(&mut rng);
    let mut opt = Optimizer::adam(groups(&params), AdamConfig::default()).unwrap();
    let g = grads(&mut rng, &params, 1);
    opt.step(params.iter_mut(), &g).unwrap();
    let good = opt.export_state(&params).unwrap();

    let fresh = reload(&params);
    let mut target = Optimizer::adam(groups(&fresh), AdamConfig::default()).unwrap();

    // A state tensor of the wrong shape.
    let mut bad = good.clone();
    bad.params[0].tensors[1].1 = Tensor::zeros(&Reference, [3, 2]).unwrap();
    let err = target.import_state(&fresh, &bad).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");

    // Positions given in another order: shapes no longer fit.
    let swapped: Vec<&P> = vec![&fresh[1], &fresh[0], &fresh[2]];
    assert!(target.import_state(swapped, &good).is_err());

    // A position beyond the list.
    assert!(target.import_state(&fresh[..2], &good).is_err());

    // A missing or unknown tensor name.
    let mut bad = good.clone();
    bad.params[0].tensors.pop();
    assert!(target.import_state(&fresh, &bad).is_err());
    let mut bad = good.clone();
    bad.params[0].tensors[0].0 = "momentum_buffer".into();
    assert!(target.import_state(&fresh, &bad).is_err());

    // State of another algorithm.
    let mut sgd = Optimizer::sgd(groups(&fresh), SgdConfig::default()).unwrap();
    assert!(sgd.import_state(&fresh, &good).is_err());

    // A duplicated position.
    let mut bad = good.clone();
    let dup = bad.params[0].clone();
    bad.params.push(dup);
    assert!(target.import_state(&fresh, &bad).is_err());

    // Nothing was imported by the failed attempts.
    assert_eq!(target.step_count(), 0);
    assert!(target.export_state(&fresh).unwrap().params.is_empty());
    target.import_state(&fresh, &good).unwrap();
    assert_eq!(target.step_count(), 1);
}
