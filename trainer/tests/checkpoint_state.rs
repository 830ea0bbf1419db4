//! Trainer state through a checkpoint: numbers, RNG, schedule, parameters and optimiser
//! state come back bit-exactly, and a run resumed from the file takes the same steps.

use pgcnn::checkpoint::{Checkpoint, CheckpointError};
use pgcnn_core::optim::{
    AdamConfig, Algorithm, Optimizer, ParamGroup, PlateauState, ScheduleState, SgdConfig,
};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::random_tensor;
use pgcnn_core::{Gradients, Param, Tensor};

type P = Param<Reference, f32>;

const NAMES: [&str; 3] = ["lift.kernel_net.0.weight", "blocks.0.theta", "head.bias"];
const SHAPES: [&[usize]; 3] = [&[2, 3], &[1], &[4]];

fn model(rng: &mut Rng) -> Vec<P> {
    SHAPES
        .iter()
        .map(|d| Param::new(random_tensor(&Reference, rng, d, -1.0, 1.0).unwrap()))
        .collect()
}

fn zeros() -> Vec<P> {
    SHAPES
        .iter()
        .map(|d| Param::new(Tensor::zeros(&Reference, d.to_vec()).unwrap()))
        .collect()
}

fn groups(params: &[P]) -> Vec<ParamGroup> {
    vec![
        ParamGroup::new("rest", 0.01, [params[0].id(), params[2].id()]),
        ParamGroup::new("probs", 0.1, [params[1].id()]),
    ]
}

/// Gradients drawn from `rng` (so the data RNG's state matters for the continuation).
fn grads(rng: &mut Rng, params: &[P]) -> Gradients<Reference, f32> {
    let mut g = Gradients::new();
    for p in params {
        g.insert(
            p.id(),
            random_tensor(&Reference, rng, p.dims(), -1.0, 1.0).unwrap(),
        );
    }
    g
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

fn resume_through_file(algorithm: Algorithm) {
    let mut rng = Rng::seed(5);
    let mut params = model(&mut rng);
    let mut opt = Optimizer::new(algorithm, groups(&params)).unwrap();
    for _ in 0..3 {
        let g = grads(&mut rng, &params);
        opt.step(params.iter_mut(), &g).unwrap();
    }
    let mut ckpt = Checkpoint::new("seed = 5\n");
    ckpt.put_params(NAMES.iter().zip(&params)).unwrap();
    ckpt.put_optimizer_state(&opt.export_state(&params).unwrap())
        .unwrap();
    ckpt.set_rng("rng.data", &rng);
    ckpt.set_u64("step", 3);

    let dir = std::env::temp_dir().join(format!(
        "pgcnn-ckpt-state-{}-{}",
        opt_name(&algorithm),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("last.safetensors");
    ckpt.save_atomic(&path).unwrap();
    let loaded = Checkpoint::load(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    // A "new process": fresh parameters, optimiser and RNG, all from the file.
    let mut resumed = zeros();
    loaded
        .load_params(NAMES.iter().zip(resumed.iter_mut()))
        .unwrap();
    assert_eq!(bits(&resumed), bits(&params));
    let mut opt2 = Optimizer::new(algorithm, groups(&resumed)).unwrap();
    opt2.import_state(&resumed, &loaded.optimizer_state(&Reference).unwrap())
        .unwrap();
    let mut rng2 = loaded.rng("rng.data").unwrap();
    assert_eq!(loaded.u64("step").unwrap(), 3);

    for k in 0..4 {
        let g = grads(&mut rng, &params);
        opt.step(params.iter_mut(), &g).unwrap();
        let g2 = grads(&mut rng2, &resumed);
        opt2.step(resumed.iter_mut(), &g2).unwrap();
        assert_eq!(bits(&params), bits(&resumed), "step {k}");
    }
}

fn opt_name(a: &Algorithm) -> &'static str {
    match a {
        Algorithm::Adam(_) => "adam",
        Algorithm::Sgd(_) => "sgd",
    }
}

#[test]
fn adam_run_resumed_from_a_file_is_bit_identical() {
    resume_through_file(Algorithm::Adam(AdamConfig::default()));
}

#[test]
fn sgd_momentum_run_resumed_from_a_file_is_bit_identical() {
    resume_through_file(Algorithm::Sgd(SgdConfig {
        momentum: 0.9,
        dampening: 0.0,
        nesterov: false,
    }));
}

#[test]
fn sgd_without_state_tensors_round_trips() {
    let mut rng = Rng::seed(6);
    let mut params = model(&mut rng);
    let algorithm = Algorithm::Sgd(SgdConfig {
        momentum: 0.0,
        dampening: 0.0,
        nesterov: false,
    });
    let mut opt = Optimizer::new(algorithm, groups(&params)).unwrap();
    let g = grads(&mut rng, &params);
    opt.step(params.iter_mut(), &g).unwrap();
    let state = opt.export_state(&params).unwrap();
    let mut ckpt = Checkpoint::new("");
    ckpt.put_optimizer_state(&state).unwrap();
    let back = Checkpoint::from_bytes(&ckpt.to_bytes().unwrap()).unwrap();
    let restored = back.optimizer_state(&Reference).unwrap();
    assert_eq!(restored.algorithm, state.algorithm);
    assert_eq!(restored.step_count, 1);
    assert_eq!(restored.params.len(), state.params.len());
    let mut opt2 = Optimizer::new(algorithm, groups(&params)).unwrap();
    opt2.import_state(&params, &restored).unwrap();
}

#[test]
fn numbers_and_schedule_state_are_bit_exact() {
    let mut c = Checkpoint::new("");
    c.set_u64("big", u64::MAX);
    let floats = [
        0.1,
        -0.0,
        f64::MIN_POSITIVE / 3.0,
        1e308,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];
    for (i, &v) in floats.iter().enumerate() {
        c.set_f64(&format!("f{i}"), v);
    }
    c.set_f64("nan", f64::NAN);
    c.set_u64s("list", &[3, 0, u64::MAX]);
    c.set_u64s("none", &[]);
    let plateau = ScheduleState {
        iteration: 1234,
        epoch: 7,
        plateau: Some(PlateauState {
            best: f64::INFINITY,
            num_bad_epochs: 2,
            cooldown_counter: 1,
            reductions: 3,
        }),
    };
    c.put_schedule_state(&plateau);
    let back = Checkpoint::from_bytes(&c.to_bytes().unwrap()).unwrap();
    assert_eq!(back.u64("big").unwrap(), u64::MAX);
    for (i, &v) in floats.iter().enumerate() {
        assert_eq!(back.f64(&format!("f{i}")).unwrap().to_bits(), v.to_bits());
    }
    assert!(back.f64("nan").unwrap().is_nan());
    assert_eq!(back.u64s("list").unwrap(), [3, 0, u64::MAX]);
    assert!(back.u64s("none").unwrap().is_empty());
    assert_eq!(back.schedule_state().unwrap(), plateau);

    // A later save of a schedule without plateau drops the plateau keys.
    let mut c2 = back.clone();
    let plain = ScheduleState {
        iteration: 5,
        epoch: 1,
        plateau: None,
    };
    c2.put_schedule_state(&plain);
    assert_eq!(c2.schedule_state().unwrap(), plain);
}

#[test]
fn rng_state_resumes_the_same_sequence() {
    let mut rng = Rng::seed(11);
    for _ in 0..10 {
        rng.next_u64();
    }
    let mut c = Checkpoint::new("");
    c.set_rng("rng.shuffle", &rng);
    let mut back = Checkpoint::from_bytes(&c.to_bytes().unwrap())
        .unwrap()
        .rng("rng.shuffle")
        .unwrap();
    for _ in 0..5 {
        assert_eq!(back.next_u64(), rng.next_u64());
    }
}

#[test]
fn bad_stored_values_are_errors_naming_the_key() {
    let mut c = Checkpoint::new("");
    c.metadata.insert("epoch".into(), "-3".into());
    c.metadata.insert("rng.data".into(), "1,2,3".into());
    c.metadata.insert("lr".into(), "fast".into());
    assert!(c.u64("epoch").unwrap_err().to_string().contains("epoch"));
    assert!(c.rng("rng.data").unwrap_err().to_string().contains("4"));
    assert!(c.f64("lr").unwrap_err().to_string().contains("lr"));
    assert!(matches!(c.u64("absent"), Err(CheckpointError::Missing(_))));
    assert!(matches!(
        c.optimizer_state(&Reference),
        Err(CheckpointError::Missing(_))
    ));
}

#[test]
fn loading_params_of_another_shape_changes_nothing() {
    let mut rng = Rng::seed(8);
    let params = model(&mut rng);
    let mut c = Checkpoint::new("");
    c.put_params(NAMES.iter().zip(&params)).unwrap();
    let mut target = zeros();
    target[2] = Param::new(Tensor::zeros(&Reference, vec![5]).unwrap());
    let before = bits(&target);
    let err = c
        .load_params(NAMES.iter().zip(target.iter_mut()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("head.bias") && err.contains("[4]") && err.contains("[5]"),
        "{err}"
    );
    assert_eq!(bits(&target), before);
    let err = c
        .load_params([("missing.weight", &mut target[0])])
        .unwrap_err();
    assert!(matches!(err, CheckpointError::Missing(_)), "{err}");
}
