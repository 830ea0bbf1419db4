//! Fuzzes the checkpoint reader and `--resume`'s restore: one input is the bytes of a
//! `last.safetensors`.
//!
//! The bytes are parsed (`Checkpoint::from_bytes`); an accepted checkpoint must encode
//! and parse back to the same content, its stored config must parse or be refused
//! cleanly, and it is compared with and restored into the model, optimiser and schedule
//! of a fixed tiny run (`RUN` below: the seeds are that run's checkpoints, written by
//! `make_trainer_seeds.py`, and one written before checkpoints carried checksums), as
//! `pgcnn train --resume` does. A restore must fail cleanly or succeed, and after a
//! success a new snapshot must hold exactly the tensors that were read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgcnn::checkpoint::{Checkpoint, NamedTensor};
use pgcnn::config::{build_config, Config};
use pgcnn::model_config::model_config;
use pgcnn::train::{build_optimizer, build_schedule, read_progress, restore, snapshot};
use pgcnn_core::models::Model;
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_fuzz::outcome;
use std::sync::OnceLock;

/// The run whose checkpoints the seeds are: `pgcnn train --preset small_se2_partial`
/// with these settings, on MNIST6-180 (1 channel, 2 classes, 28×28).
pub const RUN: [&str; 3] = ["net.no_hidden=4", "kernel.no_hidden=8", "dataset=mnist6-180"];

fn run_config() -> &'static (Config, String) {
    static CONFIG: OnceLock<(Config, String)> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let c = build_config(Some("small_se2_partial"), None, &RUN).expect("the fixed config");
        let text = c.to_toml_string().expect("writes as TOML");
        (c, text)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(ck) = outcome("checkpoint", Checkpoint::from_bytes(data)) else {
        return;
    };
    // Encoded and parsed again: the same content.
    let bytes = ck.to_bytes().expect("a parsed checkpoint encodes");
    let back = Checkpoint::from_bytes(&bytes).expect("an encoded checkpoint parses");
    assert_eq!(back.config_toml, ck.config_toml, "config");
    assert_eq!(back.metadata, ck.metadata, "metadata");
    assert_same_tensors(&back.tensors, &ck.tensors);

    // What --resume reads besides the tensors: never a panic.
    if let Ok(stored) = Config::from_toml_str(&ck.config_toml) {
        let _ = stored.validate();
    }
    let _ = read_progress(&ck);
    let (config, config_toml) = run_config();
    let _ = ck.check_config(config_toml);

    // Restored into the fixed run, as --resume does.
    let mcfg = model_config(config, 1, 2, [28, 28]).expect("the fixed model config");
    let mut model =
        Model::<Reference, f32>::new(&Reference, &mcfg, &mut Rng::seed(0)).expect("the model");
    let mut optimizer = build_optimizer(config, &model).expect("the optimiser");
    let mut schedule = build_schedule(config, 1).expect("the schedule");
    let restored = restore(&ck, &Reference, &mut model, &mut optimizer, &mut schedule);
    let Some(progress) = outcome("restore", restored) else {
        return;
    };
    // Every tensor written back is the one read.
    let again = snapshot(&ck.config_toml, &model, &optimizer, &schedule, &progress)
        .expect("a restored run snapshots");
    for t in &again.tensors {
        let read = ck
            .tensor(&t.name)
            .unwrap_or_else(|| panic!("{} was restored from nothing", t.name));
        assert_same_tensors(std::slice::from_ref(t), std::slice::from_ref(read));
    }
});

/// Same names, shapes and bits (NaN payloads included).
fn assert_same_tensors(a: &[NamedTensor], b: &[NamedTensor]) {
    assert_eq!(a.len(), b.len(), "tensor count");
    for (x, y) in a.iter().zip(b) {
        assert_eq!((&x.name, &x.dims), (&y.name, &y.dims), "name or shape");
        let bits = |t: &NamedTensor| t.data.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
        assert!(bits(x) == bits(y), "values of {}", x.name);
    }
}
