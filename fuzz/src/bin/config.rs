//! Fuzzes the config readers: a TOML config file layered on the defaults, then `--set`
//! overrides, then validation, as `pgcnn train --config FILE --set ...` does.
//!
//! One input is two parts joined by `split_pair`: the TOML text, and the overrides, one
//! `key=value` per line (both UTF-8; other inputs are skipped). An accepted config must
//! write itself as TOML and read back to the same config, must compare equal to that
//! text as a checkpoint would compare it, and turning it into a model (for the image
//! shapes of every dataset) must give a model config or an error, never a panic; small
//! models are also built.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgcnn::checkpoint::config_differences;
use pgcnn::config::Config;
use pgcnn::model_config::model_config;
use pgcnn_core::models::Model;
use pgcnn_core::reference::Reference;
use pgcnn_core::rng::Rng;
use pgcnn_fuzz::{outcome, split_pair};

/// (channels, classes, [H, W]) of MNIST, MNIST6-*, CIFAR-10, CIFAR-100 and STL-10.
const SHAPES: [(usize, usize, [usize; 2]); 5] = [
    (1, 10, [28, 28]),
    (1, 2, [28, 28]),
    (3, 10, [32, 32]),
    (3, 100, [32, 32]),
    (3, 10, [96, 96]),
];

/// Models up to about this many weights are built (a few milliseconds each); larger
/// ones only go through the checks of `model_config`.
const MAX_BUILT_WEIGHTS: usize = 200_000;

fuzz_target!(|data: &[u8]| {
    let (file, sets) = split_pair(data);
    let (Ok(text), Ok(sets)) = (std::str::from_utf8(file), std::str::from_utf8(sets)) else {
        return;
    };
    let result = Config::default()
        .merge_toml_str(text, "fuzz input")
        .and_then(|mut c| {
            for line in sets.lines() {
                c.apply_override(line)?;
            }
            c.validate()?;
            Ok(c)
        });
    let Some(config) = outcome("config", result) else {
        return;
    };

    // Written out and read back: the same config, and the same text again.
    let written = config.to_toml_string().expect("a valid config writes as TOML");
    let back = Config::from_toml_str(&written).expect("the written config reads back");
    back.validate().expect("the read-back config is valid");
    let again = back.to_toml_string().expect("writes again");
    assert_eq!(written, again, "the TOML round trip changed the config");
    let diffs = config_differences(&written, &again).expect("both parse");
    assert!(diffs.is_empty(), "a config differs from itself: {diffs:?}");

    for (channels, classes, hw) in SHAPES {
        let Ok(mcfg) = model_config(&config, channels, classes, hw) else {
            continue;
        };
        if rough_weights(&config, channels, classes) <= MAX_BUILT_WEIGHTS {
            // May refuse (an error), must not panic.
            let _ = Model::<Reference, f32>::new(&Reference, &mcfg, &mut Rng::seed(1));
        }
    }
});

/// An upper estimate of the weights of the model `config` describes: every layer's
/// kernel net (hidden layers and an output layer of `cin · cout` values per hidden
/// unit) plus the head.
fn rough_weights(config: &Config, channels: usize, classes: usize) -> usize {
    let widest = config
        .block_widths()
        .unwrap_or_default()
        .into_iter()
        .chain([config.net.no_hidden, channels])
        .max()
        .unwrap_or(1);
    let k = &config.kernel;
    let per_layer = k
        .no_hidden
        .saturating_mul(k.no_hidden)
        .saturating_mul(k.no_layers)
        .saturating_add(k.no_hidden.saturating_mul(widest).saturating_mul(widest));
    per_layer
        .saturating_mul(config.net.no_blocks.saturating_mul(3).saturating_add(3))
        .saturating_add(widest.saturating_mul(classes))
}
