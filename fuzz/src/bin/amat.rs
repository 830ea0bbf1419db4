//! Fuzzes `parse_amat_bytes`: rotMNIST `.amat` text (784 pixel values in [0, 1] and a
//! float label per line).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgcnn::data::parse_amat_bytes;
use pgcnn_fuzz::{check_dataset, outcome};

fuzz_target!(|data: &[u8]| {
    let Some(ds) = outcome("amat", parse_amat_bytes(data)) else {
        return;
    };
    check_dataset(&ds, 1, 28, 28, 10);
    // One image per non-blank line (lines are text once accepted; blank as `str::trim`).
    let lines = data
        .split(|&b| b == b'\n')
        .filter(|l| {
            !std::str::from_utf8(l)
                .expect("accepted text")
                .trim()
                .is_empty()
        })
        .count();
    assert_eq!(ds.len(), lines, "images vs non-blank lines");
});
