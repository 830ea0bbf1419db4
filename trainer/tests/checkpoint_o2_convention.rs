//! E(2) checkpoints written before pgcnn took the reference implementation's E(2)
//! conventions (the kernel net's rotation coordinate, the order of the mirrored samples)
//! are refused: their weights would compute another network now. Every checkpoint
//! pgcnn writes records the convention; SE(2) and T(2) models never depended on it.

use pgcnn::checkpoint::{Checkpoint, O2_CONVENTION, O2_CONVENTION_KEY};
use pgcnn::cli::describe;
use pgcnn::common::{restore_model, store_model};
use pgcnn::config::Config;
use pgcnn::model_config::model_config;
use pgcnn_core::models::Model;
use pgcnn_core::rng::Rng;
use pgcnn_cpu::Cpu;

fn model(group: &str) -> (Config, Model<Cpu, f32>) {
    let mut config = Config::default();
    config
        .apply_overrides(&[
            format!("base_group.name=\"{group}\""),
            "base_group.no_samples=4".to_string(),
            "net.no_hidden=4".to_string(),
            "kernel.no_hidden=8".to_string(),
        ])
        .unwrap();
    let mcfg = model_config(&config, 1, 10, [28, 28]).unwrap();
    let model = Model::new(&Cpu, &mcfg, &mut Rng::seed(1)).unwrap();
    (config, model)
}

fn saved(config: &Config, model: &Model<Cpu, f32>) -> Checkpoint {
    let mut ck = Checkpoint::new(config.to_toml_string().unwrap());
    store_model(&mut ck, model).unwrap();
    Checkpoint::from_bytes(&ck.to_bytes().unwrap()).unwrap()
}

#[test]
fn checkpoints_record_the_reference_e2_convention() {
    let (config, model) = model("E2");
    let ck = saved(&config, &model);
    assert_eq!(
        ck.metadata.get(O2_CONVENTION_KEY).map(String::as_str),
        Some(O2_CONVENTION)
    );
    let (_, mut fresh) = self::model("E2");
    restore_model(&ck, &mut fresh).unwrap();
}

#[test]
fn an_e2_checkpoint_without_the_convention_is_refused() {
    let (config, model) = model("E2");
    let mut ck = saved(&config, &model);
    ck.metadata.remove(O2_CONVENTION_KEY);
    let (_, mut fresh) = self::model("E2");
    let e = restore_model(&ck, &mut fresh).unwrap_err();
    let text = describe(&e);
    assert!(
        text.contains("E(2) checkpoint") && text.contains("train it again"),
        "{text}"
    );
    // Another value is refused too (a convention this pgcnn does not know).
    ck.metadata
        .insert(O2_CONVENTION_KEY.to_string(), "pgcnn-2025".to_string());
    assert!(restore_model(&ck, &mut fresh).is_err());
}

#[test]
fn se2_checkpoints_without_the_convention_still_load() {
    let (config, model) = model("SE2");
    let mut ck = saved(&config, &model);
    ck.metadata.remove(O2_CONVENTION_KEY);
    let (_, mut fresh) = self::model("SE2");
    restore_model(&ck, &mut fresh).unwrap();
}
