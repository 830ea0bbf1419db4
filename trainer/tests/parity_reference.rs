//! Parity with the reference implementation (the authors' PyTorch code).
//!
//! Each fixture in tests/fixtures/parity/ was written by
//! scripts/interop/make_parity_fixtures.py running the reference: the reference's
//! parameters under its own names, an input, the group elements it used (in pgcnn's
//! parameterisation) and its output. Here pgcnn builds the same layer or model, loads
//! the parameters through its name mapping (src/interop/) and must give the same output
//! within 1e-5 relative to the output's largest value.

use pgcnn::config::Config;
use pgcnn::interop::load::{load_conv, load_model, ReferenceTensor, ReferenceTensors};
use pgcnn::interop::reference_names::ConvNaming;
use pgcnn::model_config::{conv_config, model_config};
use pgcnn_core::group::{sample_group, SamplingMethod};
use pgcnn_core::layers::{
    ForwardCtx, GroupBatchNorm, GroupConv, GroupLayerNorm, GroupMap, LayerParams, LiftingConv,
    PointwiseGroupConv,
};
use pgcnn_core::models::Model;
use pgcnn_core::rng::Rng;
use pgcnn_core::{Elements, GroupKind, Tensor};
use pgcnn_cpu::Cpu;
use safetensors::SafeTensors;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The bound on |pgcnn − reference| / max |reference| (f32 on both sides).
const TOLERANCE: f64 = 1e-5;

struct Fixture {
    name: String,
    case: Value,
    tensors: ReferenceTensors,
}

impl Fixture {
    fn load(path: &Path) -> Fixture {
        let bytes = std::fs::read(path).unwrap();
        let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
        let case = meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get("case"))
            .expect("a fixture carries its case");
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let tensors = ReferenceTensors::new(st.tensors().into_iter().map(|(name, view)| {
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (
                name,
                ReferenceTensor {
                    shape: view.shape().to_vec(),
                    values,
                },
            )
        }));
        Fixture {
            name: path.file_stem().unwrap().to_string_lossy().into_owned(),
            case: serde_json::from_str(case).unwrap(),
            tensors,
        }
    }

    fn has(&self, name: &str) -> bool {
        self.tensors.0.contains_key(name)
    }

    fn values(&self, name: &str) -> Vec<f32> {
        self.tensors.0[name].values.clone()
    }

    fn tensor(&self, name: &str) -> Tensor<Cpu, f32> {
        let t = &self.tensors.0[name];
        Tensor::from_slice(&Cpu, &t.values, t.shape.clone()).unwrap()
    }

    fn str(&self, key: &str) -> String {
        self.case[key].as_str().unwrap().to_string()
    }

    fn usize(&self, key: &str) -> usize {
        self.case[key].as_u64().unwrap() as usize
    }

    /// The elements stored as `<prefix>_rotations` and `<prefix>_mirrors`.
    fn elements(&self, prefix: &str, kind: GroupKind) -> Elements<Cpu, f32> {
        let r: Vec<f64> = self
            .values(&format!("{prefix}_rotations"))
            .iter()
            .map(|&v| v as f64)
            .collect();
        let m_name = format!("{prefix}_mirrors");
        let m: Option<Vec<f64>> = self
            .has(&m_name)
            .then(|| self.values(&m_name).iter().map(|&v| v as f64).collect());
        Elements::from_values(&Cpu, kind, &r, m.as_deref(), None).unwrap()
    }

    /// The pgcnn config of a layer case (the reference's keys).
    fn config(&self) -> Config {
        let mut c = Config::default();
        let group = self.str("group");
        let samples = self.usize("no_samples");
        let method = self.case["sampling_method"]
            .as_str()
            .unwrap_or("deterministic");
        let partial = self.case["partial"].as_bool().unwrap_or(false);
        let sets = [
            format!("kernel.type=\"{}\"", self.str("kernel")),
            "kernel.no_hidden=8".into(),
            "kernel.no_layers=3".into(),
            "kernel.omega0=10.0".into(),
            format!("kernel.size={}", self.usize("size").max(1)),
            "kernel.norm=\"Identity\"".into(),
            format!("base_group.name=\"{group}\""),
            format!("base_group.no_samples={samples}"),
            format!("base_group.sampling_method=\"{method}\""),
            format!("conv.padding=\"{}\"", self.str("padding")),
            format!("conv.partial_equiv={partial}"),
            "base_group.reference_keep_probs=true".into(),
        ];
        c.apply_overrides(&sets).unwrap();
        c
    }

    fn check(&self, ours: &Tensor<Cpu, f32>) {
        let want = &self.tensors.0["output"];
        assert_eq!(
            ours.dims(),
            want.shape.as_slice(),
            "{}: output shape",
            self.name
        );
        let got = ours.to_vec().unwrap();
        let scale = want
            .values
            .iter()
            .fold(0.0f64, |a, &v| a.max((v as f64).abs()))
            .max(1e-30);
        let worst = got
            .iter()
            .zip(&want.values)
            .map(|(&a, &b)| (a as f64 - b as f64).abs())
            .fold(0.0, f64::max);
        println!(
            "{}: max error {:.2e} of {:.3e}",
            self.name,
            worst / scale,
            scale
        );
        assert!(
            worst / scale <= TOLERANCE,
            "{}: pgcnn differs from the reference by {:.3e} relative (bound {TOLERANCE:e})",
            self.name,
            worst / scale
        );
    }
}

fn fixtures(prefix: &str) -> Vec<Fixture> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parity");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "safetensors")
                && p.file_name().unwrap().to_string_lossy().starts_with(prefix)
        })
        .collect();
    paths.sort();
    assert!(
        !paths.is_empty(),
        "no {prefix}* fixtures in {}",
        dir.display()
    );
    paths.iter().map(|p| Fixture::load(p)).collect()
}

fn kind_of(group: &str) -> GroupKind {
    match group {
        "E2" => GroupKind::E2,
        _ => GroupKind::Se2,
    }
}

/// A layer of the case's kind with the fixture's parameters, its input and elements.
fn conv_case(f: &Fixture) {
    let config = f.config();
    let mut conv = conv_config(&config).unwrap();
    conv.in_channels = f.usize("c_in");
    conv.out_channels = f.usize("c_out");
    let kind = conv.group;
    let naming = ConvNaming::of(&config);
    let rotations = kind.rotations_for(conv.no_samples).unwrap();
    let cpu = Cpu;
    let rng = &mut Rng::seed(1);
    let mut ctx = ForwardCtx::eval(Rng::seed(2));
    let out = match f.str("layer").as_str() {
        "lifting" => {
            let mut layer = LiftingConv::<Cpu, f32>::new(&cpu, conv, rng).unwrap();
            load_conv(&mut layer, &naming, rotations, &f.tensors, "layer.").unwrap();
            layer
                .forward_on(&f.tensor("input"), &f.elements("out", kind), &mut ctx)
                .unwrap()
        }
        "group" => {
            let mut layer = GroupConv::<Cpu, f32>::new(&cpu, conv, rng).unwrap();
            load_conv(&mut layer, &naming, rotations, &f.tensors, "layer.").unwrap();
            let x = GroupMap::new(f.tensor("input"), f.elements("in", kind)).unwrap();
            layer
                .forward_on(&x, &f.elements("out", kind), None, &mut ctx)
                .unwrap()
        }
        "pointwise" => {
            let mut layer = PointwiseGroupConv::<Cpu, f32>::new(&cpu, conv, rng).unwrap();
            load_conv(&mut layer, &naming, rotations, &f.tensors, "layer.").unwrap();
            let x = GroupMap::new(f.tensor("input"), f.elements("in", kind)).unwrap();
            layer
                .forward(&x, &f.elements("out", kind), &mut ctx)
                .unwrap()
        }
        other => panic!("{}: unknown layer {other}", f.name),
    };
    f.check(out.tensor());
}

/// Lifting, group and pointwise convolutions, and partial layers on the elements the
/// reference drew (θ-grids, kept rotations, the mirror): the learned-subset parameters
/// load, and the convolution matches.
#[test]
fn convolutions_match_the_reference() {
    for prefix in ["lifting_", "group_", "pointwise_", "partial_"] {
        for f in fixtures(prefix) {
            conv_case(&f);
        }
    }
}

/// The deterministic grids in the reference's order (for E(2): the rotations, then the
/// mirrored elements (−r_i mod 2π, −1)).
#[test]
fn deterministic_samples_are_the_references_in_its_order() {
    for f in fixtures("sampling_") {
        let kind = kind_of(&f.str("group"));
        let n = f.usize("no_samples");
        let ours = sample_group::<Cpu, f32>(
            &Cpu,
            kind,
            n,
            SamplingMethod::Deterministic,
            None,
            &mut Rng::seed(0),
        )
        .unwrap();
        let want = f.elements("out", kind);
        for i in 0..n {
            let (a, b) = (ours.element(0, i).unwrap(), want.element(0, i).unwrap());
            let turn = (a.r - b.r).rem_euclid(std::f64::consts::TAU);
            assert!(
                turn.min(std::f64::consts::TAU - turn) < 1e-6 && a.m() == b.m(),
                "{}: sample {i} is ({}, {}) in pgcnn, ({}, {}) in the reference",
                f.name,
                a.r,
                a.m(),
                b.r,
                b.m()
            );
        }
    }
}

#[test]
fn norms_and_pools_match_the_reference() {
    let cpu = Cpu;
    for f in fixtures("norm_").into_iter().chain(fixtures("pool_")) {
        let x = f.tensor("input");
        let n = x.dims()[2];
        let elements = sample_group::<Cpu, f32>(
            &cpu,
            GroupKind::Se2,
            n,
            SamplingMethod::Deterministic,
            None,
            &mut Rng::seed(0),
        )
        .unwrap();
        let map = GroupMap::new(x, elements).unwrap();
        let out = match f.str("layer").as_str() {
            "batch_norm" => {
                let mut norm = GroupBatchNorm::<Cpu, f32>::new(&cpu, map.channels()).unwrap();
                let names = norm.param_names();
                for (name, p) in names.iter().zip(norm.params_mut()) {
                    p.set(f.tensor(&format!("layer.{name}"))).unwrap();
                }
                norm.stats_mut()
                    .set(
                        &f.tensor("layer.running_mean"),
                        &f.tensor("layer.running_var"),
                    )
                    .unwrap();
                norm.forward(&map, false).unwrap().tensor().clone()
            }
            "layer_norm" => {
                let mut norm = GroupLayerNorm::<Cpu, f32>::new(&cpu, map.channels()).unwrap();
                let names = norm.param_names();
                for (name, p) in names.iter().zip(norm.params_mut()) {
                    p.set(f.tensor(&format!("layer.layer_norm.{name}")))
                        .unwrap();
                }
                norm.forward(&map).unwrap().tensor().clone()
            }
            "per_sample_norm" => map.per_sample_norm().unwrap().tensor().clone(),
            "max_pool" => map.spatial_max_pool().unwrap().tensor().clone(),
            "global_max_pool" => map.global_max_pool().unwrap(),
            "global_mean_pool" => map.global_mean_pool().unwrap(),
            other => panic!("{}: unknown layer {other}", f.name),
        };
        let want = f.tensors.0["output"].shape.clone();
        f.check(&out.reshape(want).unwrap());
    }
}

/// Whole models in evaluation: the reference's state_dict (DataParallel names and all)
/// loaded through the model-level mapping, the same logits.
#[test]
fn whole_models_match_the_reference() {
    for f in fixtures("model_") {
        let mut config = Config::default();
        let sets: Vec<String> = f.case["config"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        config.apply_overrides(&sets).unwrap();
        let [c, h, w] = config.dataset.image_shape();
        let classes = config.dataset.classes(false);
        let mcfg = model_config(&config, c, classes, [h, w]).unwrap();
        let cpu = Cpu;
        let mut model = Model::<Cpu, f32>::new(&cpu, &mcfg, &mut Rng::seed(3)).unwrap();
        let model_tensors = ReferenceTensors::new(
            f.tensors
                .0
                .iter()
                .filter(|(n, _)| n.as_str() != "input" && n.as_str() != "output")
                .map(|(n, t)| (n.clone(), t.clone())),
        );
        load_model(&mut model, &config, &model_tensors)
            .unwrap_or_else(|e| panic!("{}: {e}", f.name));
        let logits = model
            .forward(&f.tensor("input"), &mut ForwardCtx::eval(Rng::seed(4)))
            .unwrap();
        f.check(&logits);
    }
}
