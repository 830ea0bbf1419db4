//! `pgcnn import` of models trained by the reference implementation's own code.
//!
//! tests/fixtures/torch_trained/ holds CKResNets (SE(2) and E(2)) built by the
//! reference's model constructor, trained for 25 Adam steps with its loss and saved with
//! `torch.save(model.state_dict())`, as its trainer saves them, beside 16 inputs and the
//! reference's evaluation logits on them (scripts/interop/make_trained_reference.py).
//! Imported into pgcnn, the models must give those logits within 1e-4.

mod cli_support;

use cli_support::{pgcnn, run};
use pgcnn::checkpoint::Checkpoint;
use pgcnn::common::restore_model;
use pgcnn::config::Config;
use pgcnn::model_config::model_config;
use pgcnn_core::layers::ForwardCtx;
use pgcnn_core::models::Model;
use pgcnn_core::rng::Rng;
use pgcnn_core::Tensor;
use pgcnn_cpu::Cpu;
use safetensors::SafeTensors;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/torch_trained")
        .join(name)
}

/// The inputs, the reference's logits and the config as `--set` arguments.
fn expected(name: &str) -> (Tensor<Cpu, f32>, Vec<f32>, Vec<String>) {
    let bytes = std::fs::read(fixture(&format!("{name}.logits.safetensors"))).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let sets: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(meta.metadata().as_ref().unwrap().get("sets").unwrap()).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let floats = |n: &str| -> (Vec<usize>, Vec<f32>) {
        let v = st.tensor(n).unwrap();
        let data = v
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        (v.shape().to_vec(), data)
    };
    let (shape, input) = floats("input");
    let (_, logits) = floats("logits");
    let mut args = Vec::new();
    for (k, v) in sets {
        // Keys pgcnn's config has no use for (the reference's training length) stay out.
        if k.starts_with("train.") || k.starts_with("base_group.gumbel") {
            continue;
        }
        let v = match v.as_array() {
            // The reference writes [-1] for "no pooling"; pgcnn [].
            Some(a) if a.iter().any(|x| x.as_i64() == Some(-1)) => "[]".to_string(),
            _ => v.to_string(),
        };
        args.push("--set".into());
        args.push(format!("{k}={v}"));
    }
    (
        Tensor::from_slice(&Cpu, &input, shape).unwrap(),
        logits,
        args,
    )
}

fn import(name: &str, sets: &[String], out: &std::path::Path) -> cli_support::Outcome {
    let mut args = vec![
        "import".to_string(),
        fixture(&format!("{name}.pt")).display().to_string(),
    ];
    args.extend(sets.iter().cloned());
    args.push("--out".into());
    args.push(out.display().to_string());
    run(pgcnn(&args))
}

#[test]
fn reference_trained_ckresnets_import_with_the_references_logits() {
    let dir = tempfile_dir("import_ok");
    for name in ["ckresnet_se2", "ckresnet_e2"] {
        let (input, want, sets) = expected(name);
        let out = dir.join(format!("{name}.safetensors"));
        let outcome = import(name, &sets, &out);
        outcome.assert_ok();
        assert!(
            outcome.stdout.contains("pgcnn eval --checkpoint"),
            "{}",
            outcome.stdout
        );

        let ck = Checkpoint::load(&out).unwrap();
        let config = Config::from_toml_str(&ck.config_toml).unwrap();
        let [c, h, w] = config.dataset.image_shape();
        let mcfg = model_config(&config, c, config.dataset.classes(false), [h, w]).unwrap();
        let mut model = Model::<Cpu, f32>::new(&Cpu, &mcfg, &mut Rng::seed(9)).unwrap();
        restore_model(&ck, &mut model).unwrap();
        let got = model
            .forward(&input, &mut ForwardCtx::eval(Rng::seed(1)))
            .unwrap()
            .to_vec()
            .unwrap();
        let worst = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        println!("{name}: largest logit difference {worst:.2e}");
        assert!(worst <= 1e-4, "{name}: logits differ by {worst}");
    }
}

#[test]
fn a_config_that_does_not_fit_is_an_error_naming_the_tensor() {
    let dir = tempfile_dir("import_bad");
    let (_, _, mut sets) = expected("ckresnet_se2");
    sets.push("--set".into());
    sets.push("net.no_hidden=16".into());
    let out = dir.join("wide.safetensors");
    import("ckresnet_se2", &sets, &out).assert_clean_error(&[
        "lift_conv.kernelnet.kernel_net.4.weight",
        "shape",
        "is the config the one the model was trained with",
    ]);
    assert!(!out.exists());
    // E(2) weights under an SE(2) config: the kernel nets' inputs differ.
    let (_, _, sets) = expected("ckresnet_e2");
    let mut se2 = sets.clone();
    se2.extend(["--set".into(), "base_group.name=\"SE2\"".into()]);
    import("ckresnet_e2", &se2, &dir.join("se2.safetensors")).assert_clean_error(&["shape"]);
}

#[test]
fn bad_import_requests_are_clean_errors() {
    let dir = tempfile_dir("import_requests");
    // No config at all.
    run(pgcnn(&[
        "import",
        &fixture("ckresnet_se2.pt").display().to_string(),
    ]))
    .assert_clean_error(&["--preset", "--config", "--set"]);
    // Not a PyTorch file.
    let junk = dir.join("junk.pt");
    std::fs::write(&junk, b"not a checkpoint at all").unwrap();
    run(pgcnn(&[
        "import",
        &junk.display().to_string(),
        "--preset",
        "demo-mnist6-180-partial",
    ]))
    .assert_clean_error(&["junk.pt"]);
    // An existing output is kept unless --overwrite.
    let (_, _, sets) = expected("ckresnet_se2");
    let out = dir.join("taken.safetensors");
    std::fs::write(&out, b"keep me").unwrap();
    import("ckresnet_se2", &sets, &out).assert_clean_error(&["exists", "--overwrite"]);
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
}

/// An imported model fine-tunes with `pgcnn train --init-from`: with a vanishing
/// learning rate the run's weights stay the imported ones; a config whose model differs
/// is an error.
#[test]
fn an_imported_model_fine_tunes_from_its_weights() {
    let dir = tempfile_dir("import_finetune");
    let (_, _, sets) = expected("ckresnet_se2");
    let imported = dir.join("imported.safetensors");
    import("ckresnet_se2", &sets, &imported).assert_ok();
    let run_dir = dir.join("run");
    let file = imported.display().to_string();
    let out = run_dir.display().to_string();
    run(pgcnn(&[
        "train",
        "--init-from",
        &file,
        "--set",
        "train.lr=1e-30",
        "--epochs",
        "1",
        "--max-steps",
        "1",
        "--device",
        "cpu",
        "--no-progress",
        "--out",
        &out,
    ]))
    .assert_ok();
    let before = Checkpoint::load(&imported).unwrap();
    let after = Checkpoint::load(&run_dir.join("last.safetensors")).unwrap();
    for name in [
        "lift.kernel_net.layers.0.weight",
        "head.weight",
        "blocks.1.conv2.bias",
    ] {
        let (a, b) = (
            &before.require_tensor(name).unwrap().data,
            &after.require_tensor(name).unwrap().data,
        );
        assert_eq!(a.len(), b.len(), "{name}");
        for (x, y) in a.iter().zip(b) {
            assert!(
                (x - y).abs() <= 1e-20 + 1e-6 * x.abs(),
                "{name}: {x} became {y}"
            );
        }
    }
    run(pgcnn(&[
        "train",
        "--init-from",
        &file,
        "--set",
        "net.no_hidden=16",
        "--epochs",
        "1",
        "--max-steps",
        "1",
        "--device",
        "cpu",
        "--no-progress",
        "--out",
        &dir.join("wide").display().to_string(),
    ]))
    .assert_clean_error(&["--init-from", "does not fit"]);
}

fn tempfile_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pgcnn-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
