//! Fuzzes `ReferenceTable::parse`: the reference benchmark's JSON lines that
//! `pgcnn bench --reference FILE` reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgcnn::bench_model::ReferenceTable;
use pgcnn_core::backend::{Capabilities, DeviceKind};
use pgcnn_fuzz::outcome;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(table) = outcome("bench_reference", ReferenceTable::parse(text, "fuzz")) else {
        return;
    };
    assert!(!table.figures.is_empty() || !table.failed.is_empty());
    for (config, f) in &table.figures {
        assert!(
            f.train_step_ms > 0.0 && f.train_step_ms.is_finite(),
            "{config}"
        );
        assert!(
            f.eval_forward_ms > 0.0 && f.eval_forward_ms.is_finite(),
            "{config}"
        );
        assert!(f.batch >= 1, "{config}");
        // Asking for its own config and batch on its own device gives it back.
        assert!(
            ["cpu", "cuda", "-"].contains(&f.device.as_str()),
            "{config}"
        );
        let device = if f.device == "cuda" {
            Capabilities {
                device: DeviceKind::Gpu,
                emulated: false,
                device_profile: true,
            }
        } else {
            Capabilities::HOST
        };
        if !table.failed.contains_key(config) {
            assert!(
                table.figures_for(config, f.batch, device).is_ok(),
                "{config}"
            );
        }
    }
});
