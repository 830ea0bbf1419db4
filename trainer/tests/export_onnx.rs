//! `pgcnn export --onnx` checked by an independent runtime: the exported plain CNN, run by
//! tract (a pure-Rust ONNX runtime that knows nothing of pgcnn), gives pgcnn's
//! most-likely logits on every model kind: CKResNet and GCNN; T(2), SE(2) and E(2);
//! partial (θ-grids, keep logits, the mirror kept or dropped, per-image draws) and full;
//! batch and layer norms, `last_conv_T2`, the learned final pooling, width-changing
//! shortcuts. And a trained run's export scores `pgcnn eval --eval-mode most-likely`'s
//! test accuracy.
//!
//! The comparison: `max_i |onnx_i - pgcnn_i| / max(max_i |pgcnn_i|, 1e-6)` over all
//! logits of the batch, at most [`TOLERANCE`].

use pgcnn::config::{build_config, EvalMode};
use pgcnn::export::proto::ModelProto;
use pgcnn::export::{export, export_onnx, ExportOptions, Provenance};
use pgcnn::model_config::model_config;
use pgcnn_core::layers::{ForwardCtx, LayerParams};
use pgcnn_core::models::{BufferValue, Model, ModelConfig, NetKind};
use pgcnn_core::rng::Rng;
use pgcnn_core::Tensor;
use pgcnn_cpu::Cpu;
use prost::Message;

/// The largest relative difference of the logits allowed (the 1e-5).
const TOLERANCE: f64 = 1e-5;

/// Image size of the random models (small, so that each case takes well under a second).
const HW: [usize; 2] = [14, 14];

/// Runs an ONNX file with tract.
mod runtime {
    use tract_onnx::prelude::*;

    /// The logits the model in `bytes` gives for `images` `[dims]`, row-major.
    pub fn run(bytes: &[u8], images: &[f32], dims: [usize; 4]) -> Vec<f32> {
        let model = tract_onnx::onnx()
            .model_for_read(&mut std::io::Cursor::new(bytes))
            .expect("tract reads the file")
            .with_input_fact(0, f32::fact(dims).into())
            .expect("the input fact")
            .into_optimized()
            .expect("tract optimises the model")
            .into_runnable()
            .expect("a runnable plan");
        let [b, c, h, w] = dims;
        let input: Tensor = tract_ndarray::Array4::from_shape_vec((b, c, h, w), images.to_vec())
            .expect("the image shape")
            .into();
        let out = model
            .run(tvec!(input.into()))
            .expect("tract runs the model");
        out[0]
            .to_plain_array_view::<f32>()
            .expect("f32 logits")
            .iter()
            .copied()
            .collect()
    }
}

/// `max |a - b| / max(max |b|, 1e-6)`.
fn relative_difference(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "logit counts differ");
    let diff = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).abs())
        .fold(0.0, f64::max);
    let scale = b.iter().map(|y| f64::from(*y).abs()).fold(1e-6, f64::max);
    diff / scale
}

/// A config of the small_se2_partial family made small, with `overrides` on top, for
/// images of [`HW`].
fn small_config(overrides: &[&str]) -> ModelConfig {
    small_config_for(overrides, HW)
}

/// The same for images of `hw`.
fn small_config_for(overrides: &[&str], hw: [usize; 2]) -> ModelConfig {
    let mut settings = vec![
        "net.no_hidden=4",
        "kernel.no_hidden=8",
        "kernel.size=5",
        "net.no_blocks=1",
        "net.pool_blocks=[0]",
    ];
    settings.extend_from_slice(overrides);
    let config = build_config(Some("small_se2_partial"), None, &settings).unwrap();
    model_config(&config, 1, 10, hw).unwrap()
}

/// What the partial layers are given to have learned.
#[derive(Clone, Copy)]
struct Learned {
    /// θ of random sampling (N' = ⌈N_r·θ⌉ rotations).
    theta: f64,
    /// Keep logits of deterministic sampling, cycled over the rotations.
    rotation_logits: [f64; 3],
    /// The mirror's keep logit (E(2)).
    mirror_logit: f64,
}

const KEEP_SOME: Learned = Learned {
    theta: 0.6,
    rotation_logits: [2.0, -1.0, 0.5],
    mirror_logit: 1.5,
};
const DROP_MIRROR: Learned = Learned {
    theta: 0.3,
    rotation_logits: [-2.0, 1.0, -0.5],
    mirror_logit: -1.5,
};

/// A model of `cfg` with random kernels nets and head (its initialisation), random
/// biases, norm affines and running statistics, and the partial layers' parameters set
/// to `learned`.
fn random_model(cfg: &ModelConfig, learned: Learned, seed: u64) -> Model<Cpu, f32> {
    let b = Cpu;
    let mut rng = Rng::seed(seed);
    let mut model = Model::<Cpu, f32>::new(&b, cfg, &mut rng).unwrap();
    let names = model.param_names();
    for (name, p) in names.iter().zip(model.params_mut()) {
        let n = p.numel();
        let values: Option<Vec<f64>> = if name.ends_with("partial.theta") {
            Some(vec![learned.theta])
        } else if name.ends_with("partial.rotation_logits") {
            Some((0..n).map(|i| learned.rotation_logits[i % 3]).collect())
        } else if name.ends_with("partial.mirror_logit") {
            Some(vec![learned.mirror_logit])
        } else if name.contains("kernel_net") || name.starts_with("head") {
            None
        } else if name.contains("norm") && name.ends_with("weight") {
            Some((0..n).map(|_| rng.uniform_range(0.5, 1.5)).collect())
        } else if name.ends_with("bias") {
            Some((0..n).map(|_| rng.uniform_range(-0.3, 0.3)).collect())
        } else {
            None
        };
        if let Some(v) = values {
            let dims = p.dims().to_vec();
            p.set(Tensor::from_f64s(&b, &v, dims).unwrap()).unwrap();
        }
    }
    for (name, value) in model.buffers() {
        if let BufferValue::Tensor(t) = value {
            let (lo, hi) = if name.ends_with("running_var") {
                (0.5, 2.0)
            } else {
                (-0.5, 0.5)
            };
            let v: Vec<f64> = (0..t.numel()).map(|_| rng.uniform_range(lo, hi)).collect();
            let t = Tensor::from_f64s(&b, &v, t.dims().to_vec()).unwrap();
            model.set_buffer(&name, BufferValue::Tensor(t)).unwrap();
        }
    }
    model
}

/// Random images `[batch, C, H, W]`.
fn random_images(cfg: &ModelConfig, batch: usize, seed: u64) -> (Vec<f32>, [usize; 4]) {
    let dims = [batch, cfg.in_channels, cfg.image_hw[0], cfg.image_hw[1]];
    let mut rng = Rng::seed(seed);
    let v = (0..dims.iter().product::<usize>())
        .map(|_| rng.uniform_range(-1.0, 2.0) as f32)
        .collect();
    (v, dims)
}

/// pgcnn's most-likely logits.
fn pgcnn_logits(model: &mut Model<Cpu, f32>, images: &[f32], dims: [usize; 4]) -> Vec<f32> {
    let x = Tensor::from_slice(&Cpu, images, dims.to_vec()).unwrap();
    let mut ctx = ForwardCtx::most_likely(Rng::seed(7));
    model.forward(&x, &mut ctx).unwrap().to_vec().unwrap()
}

/// Exports a random model of `overrides`, runs it with tract and with pgcnn, and checks
/// the logits and the recorded elements; returns the element counts per layer.
fn check(case: &str, cfg: &ModelConfig, learned: Learned) -> Vec<(String, usize)> {
    let mut model = random_model(cfg, learned, 11);
    let exported = export_onnx(&Cpu, &model, &Provenance::default()).unwrap();
    let bytes = exported.to_bytes();
    let (images, dims) = random_images(cfg, 3, 5);
    let onnx = runtime::run(&bytes, &images, dims);
    let ours = pgcnn_logits(&mut model, &images, dims);
    let rel = relative_difference(&onnx, &ours);
    let counts: Vec<(String, usize)> = exported
        .layers
        .iter()
        .map(|l| (l.layer.clone(), l.len()))
        .collect();
    eprintln!(
        "{case}: {} bytes, relative difference {rel:.2e}, elements {counts:?}",
        bytes.len()
    );
    assert!(
        rel <= TOLERANCE,
        "{case}: ONNX logits {onnx:?} differ from pgcnn's {ours:?} by {rel:.3e} (relative)"
    );
    // The file says which elements each layer used, and why.
    let decoded = ModelProto::decode(bytes.as_slice()).unwrap();
    let meta = |key: &str| {
        decoded
            .metadata_props
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.value.clone())
    };
    assert_eq!(
        meta("pgcnn.elements.choice").as_deref(),
        Some("most-likely")
    );
    for l in &exported.layers {
        let v: serde_json::Value =
            serde_json::from_str(&meta(&format!("pgcnn.elements.{}", l.layer)).unwrap()).unwrap();
        assert_eq!(v["count"], l.len(), "{case}: {}", l.layer);
    }
    counts
}

fn count(counts: &[(String, usize)], layer: &str) -> usize {
    counts
        .iter()
        .find(|(l, _)| l == layer)
        .unwrap_or_else(|| panic!("no layer {layer} in {counts:?}"))
        .1
}

#[test]
fn ckresnet_se2_partial_theta() {
    // The demo's network: random sampling per layer, θ = 0.6 keeps ⌈4·0.6⌉ = 3 rotations.
    let cfg = small_config(&["conv.partial_equiv=true"]);
    let counts = check("CKResNet SE(2) partial θ", &cfg, KEEP_SOME);
    assert_eq!(count(&counts, "lift"), 4);
    assert_eq!(count(&counts, "blocks.0.conv1"), 3);
}

#[test]
fn ckresnet_se2_full() {
    // Elements reused from the lifting layer: identity shortcuts.
    let cfg = small_config(&[
        "conv.partial_equiv=false",
        "base_group.sample_per_layer=false",
        "net.no_blocks=2",
    ]);
    let counts = check("CKResNet SE(2) full", &cfg, KEEP_SOME);
    assert_eq!(count(&counts, "last"), 4);
}

#[test]
fn ckresnet_e2_partial_keep_logits() {
    // Deterministic sampling: keep logits per rotation and the mirror's; D4.
    let cfg = small_config(&[
        "base_group.name=E2",
        "base_group.no_samples=8",
        "base_group.sampling_method=deterministic",
        "base_group.sample_per_layer=false",
        "conv.partial_equiv=true",
    ]);
    let counts = check("CKResNet E(2) partial, mirror kept", &cfg, KEEP_SOME);
    // Rotations 1..3 with logits 2, -1, 0.5: 90° and 270° kept, with the identity 3 of
    // 4, and the mirror: 6 elements.
    assert_eq!(count(&counts, "lift"), 8);
    assert_eq!(count(&counts, "blocks.0.conv1"), 6);
    let counts = check("CKResNet E(2) partial, mirror dropped", &cfg, DROP_MIRROR);
    // Logits -2, 1, -0.5: the identity and 180°, no mirror.
    assert_eq!(count(&counts, "blocks.0.conv1"), 2);
}

#[test]
fn ckresnet_e2_full_wider_blocks() {
    // Width 4 then 8: a pointwise shortcut changes the width.
    let cfg = small_config(&[
        "base_group.name=E2",
        "base_group.no_samples=4",
        "conv.partial_equiv=false",
        "net.no_blocks=2",
        "net.block_width_factors=[1,1,2,1]",
    ]);
    check("CKResNet E(2) full", &cfg, KEEP_SOME);
}

#[test]
fn ckresnet_t2() {
    let cfg = small_config(&[
        "base_group.name=T2",
        "base_group.no_samples=1",
        "base_group.sampling_method=deterministic",
        "base_group.sample_per_layer=false",
        "conv.partial_equiv=false",
    ]);
    let counts = check("CKResNet T(2)", &cfg, KEEP_SOME);
    assert_eq!(count(&counts, "lift"), 1);
}

#[test]
fn ckresnet_core_t2_group() {
    // The core's own T(2) group (the trainer builds T(2) as SE(2) with one sample).
    let mut cfg = small_config(&["conv.partial_equiv=false"]);
    cfg.conv.group = pgcnn_core::GroupKind::T2;
    cfg.conv.no_samples = 1;
    check("CKResNet core T(2)", &cfg, KEEP_SOME);
}

#[test]
fn ckresnet_e2_partial_per_image_with_layer_norm() {
    // Per-image draws: the most-likely pass gives every image the same elements.
    let cfg = small_config(&[
        "base_group.name=E2",
        "base_group.no_samples=8",
        "base_group.sample_per_batch_element=true",
        "conv.partial_equiv=true",
        "net.norm=LayerNorm",
        "net.dropout=0.3",
    ]);
    let counts = check("CKResNet E(2) partial per image", &cfg, KEEP_SOME);
    // θ = 0.6 of 4 rotations: 3, with the mirror 6.
    assert_eq!(count(&counts, "blocks.0.conv1"), 6);
}

#[test]
fn ckresnet_last_conv_t2_and_learned_pooling() {
    // 28×28 (the config's rotMNIST), pool → 14×14, the last (valid) 5×5 convolution
    // → 10×10.
    let cfg = small_config_for(
        &[
            "conv.partial_equiv=false",
            "net.last_conv_T2=true",
            "net.learnable_final_pooling=true",
            "net.final_spatial_dim=[10,10]",
        ],
        [28, 28],
    );
    let counts = check("CKResNet last_conv_T2, learned pooling", &cfg, KEEP_SOME);
    assert_eq!(count(&counts, "last"), 1);
}

#[test]
fn gcnn_se2_partial_per_image_layer_norm() {
    let cfg = small_config(&[
        "net.type=GCNN",
        "net.no_blocks=2",
        "net.pool_blocks=[1]",
        "net.dropout_blocks=[1]",
        "net.dropout=0.2",
        "net.norm=LayerNorm",
        "base_group.sample_per_batch_element=true",
        "conv.partial_equiv=true",
    ]);
    assert_eq!(cfg.net, NetKind::Gcnn);
    check("GCNN SE(2) partial per image", &cfg, KEEP_SOME);
}

#[test]
fn gcnn_e2_partial_and_full() {
    for partial in ["true", "false"] {
        let setting = format!("conv.partial_equiv={partial}");
        let cfg = small_config(&[
            "net.type=GCNN",
            "net.no_blocks=2",
            "net.pool_blocks=[1]",
            "base_group.name=E2",
            "base_group.no_samples=4",
            setting.as_str(),
        ]);
        check(&format!("GCNN E(2) partial={partial}"), &cfg, DROP_MIRROR);
    }
}

#[test]
fn gcnn_se2_full_and_t2() {
    for (group, samples) in [("SE2", 4), ("T2", 1)] {
        let setting = format!("base_group.name={group}");
        let count = format!("base_group.no_samples={samples}");
        let cfg = small_config(&[
            "net.type=GCNN",
            "net.no_blocks=2",
            "net.pool_blocks=[1]",
            "conv.partial_equiv=false",
            "base_group.sampling_method=deterministic",
            "base_group.sample_per_layer=false",
            setting.as_str(),
            count.as_str(),
        ]);
        check(&format!("GCNN {group} full"), &cfg, KEEP_SOME);
    }
}

#[test]
fn augerino_is_refused_with_a_reason() {
    let cfg = small_config(&[
        "net.type=AugerinoCKResNet",
        "base_group.sample_per_layer=false",
        "conv.partial_equiv=false",
    ]);
    let model = Model::<Cpu, f32>::new(&Cpu, &cfg, &mut Rng::seed(0)).unwrap();
    let err = export_onnx(&Cpu, &model, &Provenance::default()).unwrap_err();
    assert!(err.to_string().contains("Augerino"), "{err}");
}

/// A trained run's export: the same test accuracy as `pgcnn eval --eval-mode most-likely`
/// and the same logits, image by image, through the command's own path (checkpoint →
/// file).
#[test]
fn trained_run_export_gives_the_most_likely_accuracy() {
    use pgcnn::device::DeviceRequest;
    use pgcnn::train::{train, ExistingRun, Start, TrainOptions};

    let dir = std::env::temp_dir().join(format!("pgcnn-export-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let run = dir.join("run");
    let config = build_config(
        Some("demo-mnist6-180-partial"),
        None,
        &[
            "train.epochs=1",
            "train.batch_size=32",
            "net.no_hidden=4",
            "kernel.no_hidden=8",
            "kernel.size=5",
        ],
    )
    .unwrap();
    train(TrainOptions {
        config,
        out: run.clone(),
        start: Start::New(ExistingRun::Refuse),
        data_dir: None,
        device: DeviceRequest::Cpu.into(),
        max_steps: Some(4),
        progress: false,
        init_from: None,
    })
    .unwrap();
    check_run(&run, &dir.join("model.onnx"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same on a run of your own (the demo, say), named by `PGCNN_EXPORT_RUN`:
/// `PGCNN_EXPORT_RUN=runs/demo-mnist6-180-partial cargo test --release -p pgcnn --test
/// export_onnx -- --ignored --nocapture`.
#[test]
#[ignore = "needs a run directory in PGCNN_EXPORT_RUN"]
fn export_of_the_run_in_pgcnn_export_run() {
    let run = std::path::PathBuf::from(
        std::env::var("PGCNN_EXPORT_RUN").expect("PGCNN_EXPORT_RUN names a run directory"),
    );
    let file = std::env::temp_dir().join(format!("pgcnn-export-{}.onnx", std::process::id()));
    check_run(&run, &file);
    let _ = std::fs::remove_file(&file);
}

/// Exports the best checkpoint of `run` to `file` with `pgcnn export`'s code, runs the
/// test split through tract and through pgcnn's most-likely forward, and compares the
/// logits and the accuracy (also with `pgcnn eval --eval-mode most-likely`'s).
fn check_run(run: &std::path::Path, file: &std::path::Path) {
    use pgcnn::common::{load_data, restore_model};
    use pgcnn::config::Config;
    use pgcnn::device::DeviceRequest;
    use pgcnn::eval::{eval, EvalOptions};
    use pgcnn::train::BEST_CHECKPOINT;

    let started = std::time::Instant::now();
    let summary = export(&ExportOptions {
        source: run.to_path_buf(),
        onnx: file.to_path_buf(),
    })
    .unwrap();
    eprint!("{}", summary.describe());
    eprintln!("export: {:.2} s", started.elapsed().as_secs_f64());
    let bytes = std::fs::read(file).unwrap();

    // pgcnn's most-likely evaluation of the same checkpoint.
    let report = eval(EvalOptions {
        mode: Some(EvalMode::MostLikely),
        draws: Some(1),
        device: DeviceRequest::Cpu.into(),
        ..EvalOptions::new(run.join(BEST_CHECKPOINT))
    })
    .unwrap();

    // The exported model on the test split, in batches, by tract; pgcnn's logits beside.
    let stored = Config::from_toml_str(&summary_config(&bytes)).unwrap();
    let test = load_data(&stored, None).unwrap().test;
    let ck = pgcnn::checkpoint::Checkpoint::load(&run.join(BEST_CHECKPOINT)).unwrap();
    let mcfg = model_config(
        &stored,
        test.channels,
        test.classes,
        [test.height, test.width],
    )
    .unwrap();
    let mut model = Model::<Cpu, f32>::new(&Cpu, &mcfg, &mut Rng::seed(0)).unwrap();
    restore_model(&ck, &mut model).unwrap();
    let per_image = test.image_len();
    let batch = 64;
    let (mut correct, mut agree) = (0, 0);
    let mut worst: f64 = 0.0;
    let argmax = |row: &[f32]| {
        (0..row.len())
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .unwrap()
    };
    let started = std::time::Instant::now();
    for start in (0..test.len()).step_by(batch) {
        let n = batch.min(test.len() - start);
        let images = &test.images[start * per_image..(start + n) * per_image];
        let dims = [n, test.channels, test.height, test.width];
        let onnx = runtime::run(&bytes, images, dims);
        let ours = pgcnn_logits(&mut model, images, dims);
        worst = worst.max(relative_difference(&onnx, &ours));
        let rows = onnx.chunks(test.classes).zip(ours.chunks(test.classes));
        for (i, (a, b)) in rows.enumerate() {
            correct += usize::from(argmax(a) == test.labels[start + i]);
            agree += usize::from(argmax(a) == argmax(b));
        }
    }
    let accuracy = correct as f64 / test.len() as f64;
    eprintln!(
        "{}: ONNX (tract) test accuracy {:.4} on {} images, pgcnn eval --eval-mode \
         most-likely {:.4}; predictions agree on {agree}; largest relative difference of a \
         batch's logits {worst:.2e} ({:.1} s for both)",
        run.display(),
        accuracy,
        test.len(),
        report.measurements.accuracy,
        started.elapsed().as_secs_f64()
    );
    assert!(worst <= TOLERANCE, "{worst:.3e}");
    assert_eq!(agree, test.len(), "the predictions of ONNX and pgcnn");
    let pgcnn_correct = (report.measurements.accuracy * test.len() as f64).round() as usize;
    assert_eq!(correct, pgcnn_correct, "images classified correctly");
}

/// The config TOML stored in an exported file's metadata.
fn summary_config(bytes: &[u8]) -> String {
    ModelProto::decode(bytes)
        .unwrap()
        .metadata_props
        .into_iter()
        .find(|e| e.key == "pgcnn.config")
        .expect("pgcnn.config in the metadata")
        .value
}
