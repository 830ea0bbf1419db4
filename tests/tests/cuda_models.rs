//! Whole models on the CUDA backend against the naive reference: a few training steps
//! of small partial G-CNNs (lifting, group and pointwise convolutions with their kernel
//! nets, partial sampling, norms, pooling, the loss terms, SGD with momentum), compared
//! step by step — logits, loss, every parameter's gradient, every parameter after the
//! update, the running statistics. The primitive tests check each op alone; these check
//! that the ops the models compose, in the orders and layouts the models use them, agree.
//!
//! Also measured here, on the emulator as on a GPU: after warm-up a training step
//! allocates no device memory, and the same steps run twice give the same bits (no
//! kernel's result depends on how its threads were scheduled).

mod cuda_support;

use cuda_support::{emulator, gpu, Report};
use pgcnn_core::backend::Backend;
use pgcnn_core::group::{GroupKind, SamplingMethod};
use pgcnn_core::kernel::{KernelNetConfig, KernelNetKind};
use pgcnn_core::layers::{ConvConfig, ForwardCtx, LayerParams};
use pgcnn_core::models::{BufferValue, Model, ModelConfig, NetKind, NormKind};
use pgcnn_core::optim::{Optimizer, ParamGroup, SgdConfig};
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_core::testing::random_tensor;
use pgcnn_core::{Element, Error, Result};
use pgcnn_cuda::{Cuda, MathMode};

/// A small model of each kind the docs/benchmarks.md configs use, on 10×10 images of 2
/// channels, 3 classes.
struct Case {
    name: &'static str,
    net: NetKind,
    group: GroupKind,
    norm: NormKind,
    kernel: KernelNetKind,
    partial: bool,
    /// How often a training step waits for the device: once for the loss, and for each
    /// partial layer once per value its sampling needs on the host (θ for N', a keep
    /// decision). None: not asserted (Augerino reads its learned angles back to place
    /// its rotated sampling grids).
    host_waits: Option<u64>,
}

const CASES: [Case; 5] = [
    // rotmnist_se2_partial, small_se2_partial
    Case {
        name: "CKResNet SE(2) partial, batch norm, SIREN",
        net: NetKind::CKResNet,
        group: GroupKind::Se2,
        norm: NormKind::BatchNorm,
        kernel: KernelNetKind::Siren,
        partial: true,
        // the loss, and θ of each of the five partial group convolutions
        host_waits: Some(6),
    },
    // rotmnist_se2_full
    Case {
        name: "CKResNet SE(2) full, batch norm, SIREN",
        net: NetKind::CKResNet,
        group: GroupKind::Se2,
        norm: NormKind::BatchNorm,
        kernel: KernelNetKind::Siren,
        partial: false,
        host_waits: Some(1),
    },
    // rotmnist_e2_partial, with layer norm and a Gabor kernel net for breadth
    Case {
        name: "GCNN E(2) partial, layer norm, Gabor",
        net: NetKind::Gcnn,
        group: GroupKind::E2,
        norm: NormKind::LayerNorm,
        kernel: KernelNetKind::Gabor,
        partial: true,
        // the loss, and θ and the mirror's keep decision of each of the two layers
        host_waits: Some(5),
    },
    // rotmnist_t2
    Case {
        name: "CKResNet T(2), batch norm, MLP",
        net: NetKind::CKResNet,
        group: GroupKind::T2,
        norm: NormKind::BatchNorm,
        kernel: KernelNetKind::Mlp,
        partial: false,
        host_waits: Some(1),
    },
    Case {
        name: "Augerino GCNN SE(2), batch norm, SIREN",
        net: NetKind::AugerinoGcnn,
        group: GroupKind::Se2,
        norm: NormKind::BatchNorm,
        kernel: KernelNetKind::Siren,
        partial: false,
        host_waits: None,
    },
];

const IMAGES: [usize; 4] = [3, 2, 10, 10];
const LABELS: [usize; 3] = [0, 2, 1];
const STEPS: usize = 3;

fn config(case: &Case) -> ModelConfig {
    let kernel = KernelNetConfig::new(case.kernel, 8, 3);
    let mut conv = ConvConfig::new(1, 1, 3, case.group, 4, kernel);
    conv.partial = case.partial;
    conv.sample_per_layer = case.partial;
    conv.sampling = SamplingMethod::Random;
    // A batch norm cancels the conv biases before it: their gradient is rounding noise,
    // which the weight-decay penalty's ‖bias‖₂ (not squared: gradient b/‖b‖) turns into
    // a step of fixed size in a random direction, different on every backend. So only
    // the layer-norm case has biases.
    conv.bias = case.norm == NormKind::LayerNorm;
    let mut c = ModelConfig::new(case.net, IMAGES[1], 3, [IMAGES[2], IMAGES[3]], 3, conv);
    c.block_widths = vec![3, 4];
    c.norm = case.norm;
    c.pool_blocks = if case.net.is_ckresnet() {
        vec![1]
    } else {
        vec![2]
    };
    c
}

/// What one training step produced, as f64 lists by name.
type Step = Vec<(String, Vec<f64>)>;

fn f64s<B: Backend, E: Element>(t: &pgcnn_core::Tensor<B, E>) -> Result<Vec<f64>> {
    Ok(t.to_vec()?.into_iter().map(Element::to_f64).collect())
}

/// Where [`train`] is in a step, for a caller that measures the step's work.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// Step `n` (from 0) is about to start.
    Start(usize),
    /// Step `n`'s work is all queued and its loss read; nothing else has been read back.
    Queued(usize),
}

/// `steps` training steps of `case`'s model (seeded identically on every backend):
/// per step the logits, the loss (with the monotonic and weight-decay terms), every
/// gradient, every parameter after the update and every running statistic. Calls
/// `mark` at the start of each step and once its work is queued.
fn train<B: Backend, E: Element>(
    b: &B,
    case: &Case,
    steps: usize,
    theta_lr: f64,
    mut mark: impl FnMut(Mark),
) -> Result<Vec<Step>> {
    let cfg = config(case);
    let mut model = Model::<B, E>::new(b, &cfg, &mut Rng::seed(11))?;
    let x = random_tensor(b, &mut Rng::seed(12), &IMAGES, -1.0, 1.0)?;
    let names = model.param_names();
    // θ in its own group: a changing θ changes how many rotations a layer samples
    // (N' = ⌈N_r·θ⌉), and so the shapes of the step.
    let (mut thetas, mut others) = (Vec::new(), Vec::new());
    for (p, name) in model.params().iter().zip(&names) {
        if name.ends_with("theta") {
            &mut thetas
        } else {
            &mut others
        }
        .push(p.id());
    }
    let groups = vec![
        ParamGroup::new("weights", 0.05, others).with_weight_decay(1e-4),
        ParamGroup::new("theta", theta_lr, thetas),
    ];
    let mut opt = Optimizer::sgd(
        groups,
        SgdConfig {
            momentum: 0.9,
            dampening: 0.0,
            nesterov: false,
        },
    )?;
    let mut rng = Rng::seed(13);
    let mut out = Vec::new();
    for step in 0..steps {
        mark(Mark::Start(step));
        let mut ctx = ForwardCtx::train(rng.fork(), 0.5).collecting_kernel_norms();
        let logits = model.forward(&x, &mut ctx)?;
        let loss = logits
            .cross_entropy(&LABELS)?
            .add(&model.monotonic_loss(0.1)?)?
            .add(&model.weight_decay_penalty(&ctx, 1e-3)?)?;
        let loss_value = loss.to_scalar()?;
        let grads = loss.backward()?;
        opt.step(model.params_mut(), &grads)?;
        mark(Mark::Queued(step));
        // The step ends here; what follows reads its results back for the comparison.
        let mut values = vec![
            ("loss".to_string(), vec![Element::to_f64(loss_value)]),
            ("logits".to_string(), f64s(&logits)?),
        ];
        for (p, name) in model.params().iter().zip(&names) {
            let g = grads
                .get(p)
                .ok_or_else(|| Error::Backward(format!("no gradient for {name}")))?;
            values.push((format!("d {name}"), f64s(g)?));
            values.push((format!("{name} after the update"), f64s(p.tensor())?));
        }
        for (name, v) in model.buffers() {
            match v {
                BufferValue::Tensor(t) => values.push((name, f64s(&t)?)),
                BufferValue::Count(n) => values.push((name, vec![n as f64])),
            }
        }
        out.push(values);
    }
    Ok(out)
}

/// How closely a precision must follow the f64 reference.
struct Tolerance {
    /// Steps compared: f64 all of them; f32 the first, since a max pool's or ReLU's
    /// near-tie that rounds the other way sends a gradient elsewhere, and the runs part.
    steps: usize,
    /// Loss and logits: continuous in the inputs, so rounding moves them little.
    values: f64,
    /// Gradients and updated parameters (discontinuous at those near-ties).
    gradients: f64,
}

/// Every case's steps on `c` in `E` against the reference in f64.
fn compare_models<E: Element>(c: &Cuda, tol: Tolerance) {
    let mut r = Report::new(c, tol.values);
    for case in &CASES {
        let want = match train::<Reference, f64>(&Reference, case, tol.steps, 0.05, |_| ()) {
            Ok(w) => w,
            Err(e) => panic!("{}: the reference failed: {e}", case.name),
        };
        match train::<Cuda, E>(c, case, tol.steps, 0.05, |_| ()) {
            Ok(got) => {
                let steps = got.iter().zip(&want).enumerate();
                for (i, (g, w)) in steps {
                    for ((name, gv), (_, wv)) in g.iter().zip(w) {
                        let what = format!("{} step {}: {name}", case.name, i + 1);
                        let got = gv.iter().map(|v| E::from_f64(*v)).collect();
                        let want: Vec<E> = wv.iter().map(|v| E::from_f64(*v)).collect();
                        let rel = if name == "loss" || name == "logits" {
                            tol.values
                        } else {
                            tol.gradients
                        };
                        // Noise-level values (a mean near 0) are judged on the scale
                        // of the model's activations, which are of order 1.
                        r.check_floor(what, Ok(got), &want, rel, 1e-3);
                    }
                }
            }
            Err(e) => r.failures.push(format!("{}: error {e}", case.name)),
        }
    }
    r.finish();
}

/// With θ fixed (so that every step has the same shapes), a step after two warm-up
/// steps allocates no device memory and waits for the device only where it must (see
/// [`Case::host_waits`]). Prints what a step asks of the device.
fn steps_are_steady(c: &Cuda) {
    for case in &CASES {
        let mut start = (c.pool_stats(), c.activity());
        let mut last = None;
        train::<Cuda, f32>(c, case, STEPS, 0.0, |m| match m {
            Mark::Start(_) => start = (c.pool_stats(), c.activity()),
            Mark::Queued(step) => {
                let allocations = c.pool_stats().device_allocations - start.0.device_allocations;
                last = Some((step, allocations, c.activity().since(&start.1)));
            }
        })
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let (step, allocations, activity) = last.expect("at least one step");
        println!(
            "{c:?} {}: step {}: {activity}; most launches: {:?}",
            case.name,
            step + 1,
            activity.top_ops(8)
        );
        assert_eq!(
            allocations, 0,
            "{}: a step after warm-up allocated",
            case.name
        );
        if let Some(waits) = case.host_waits {
            assert_eq!(
                activity.host_waits(),
                waits,
                "{}: a step waited for the device more (or less) often than it needs to",
                case.name
            );
        }
    }
}

/// The same training steps of `cases`, run twice on `c`, agree bit for bit: every value
/// [`train`] reads back, every step.
fn runs_repeat_bit_for_bit(c: &Cuda, cases: &[Case]) {
    for case in cases {
        let run = || {
            train::<Cuda, f32>(c, case, STEPS, 0.05, |_| ())
                .unwrap_or_else(|e| panic!("{}: {e}", case.name))
        };
        let (first, second) = (run(), run());
        for (step, (a, b)) in first.iter().zip(&second).enumerate() {
            for ((name, x), (_, y)) in a.iter().zip(b) {
                let same =
                    x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits());
                assert!(
                    same,
                    "{} step {}: {name} differs between two identical runs",
                    case.name,
                    step + 1
                );
            }
        }
    }
}

const F64: Tolerance = Tolerance {
    steps: STEPS,
    values: 1e-9,
    gradients: 1e-9,
};
// The worst f32 gradient on the emulator was 1e-2 of its largest (a SIREN kernel net's
// bias); TF32 products keep 10 mantissa bits instead of 23.
const F32: Tolerance = Tolerance {
    steps: 1,
    values: 2e-3,
    gradients: 5e-2,
};
const TF32: Tolerance = Tolerance {
    steps: 1,
    values: 2e-2,
    gradients: 0.25,
};

// ---- the tests ---------------------------------------------------------------------------------

#[test]
fn gpu_models_match_reference() {
    if let Some(c) = gpu() {
        compare_models::<f64>(&c, F64);
        compare_models::<f32>(&c.with_math(MathMode::Strict), F32);
        compare_models::<f32>(&c, TF32);
    }
}

#[test]
fn gpu_model_steps_are_steady() {
    if let Some(c) = gpu() {
        steps_are_steady(&c);
    }
}

#[test]
fn gpu_runs_repeat_bit_for_bit() {
    if let Some(c) = gpu() {
        runs_repeat_bit_for_bit(&c, &CASES);
        runs_repeat_bit_for_bit(&c.with_math(MathMode::Strict), &CASES[..1]);
    }
}

#[test]
fn emulated_runs_repeat_bit_for_bit() {
    // One model (the partial SE(2) CKResNet of the rotMNIST benchmarks): the emulator is
    // slow, and its kernels are the GPU's sources.
    if let Some(c) = emulator() {
        runs_repeat_bit_for_bit(&c, &CASES[..1]);
    }
}

#[test]
fn emulated_models_match_reference() {
    if let Some(c) = emulator() {
        compare_models::<f64>(&c, F64);
        compare_models::<f32>(&c.with_math(MathMode::Strict), F32);
        // TF32 as the GPU computes it (the emulator cuts GEMM inputs the same way).
        compare_models::<f32>(&c, TF32);
    }
}

#[test]
fn emulated_model_steps_are_steady() {
    if let Some(c) = emulator() {
        steps_are_steady(&c);
    }
}
