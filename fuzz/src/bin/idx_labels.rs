//! Fuzzes `parse_idx_labels`: IDX label files, raw or gzip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgcnn::data::parse_idx_labels;
use pgcnn_fuzz::{inflate_whole, outcome};

fuzz_target!(|data: &[u8]| {
    let Some(labels) = outcome("IDX labels", parse_idx_labels(data)) else {
        return;
    };
    // Raw, or gzip: then the whole input is gzip that inflates to exactly the file.
    let file = inflate_whole(data).unwrap_or_else(|| data.to_vec());
    assert_eq!(labels, file[8..], "labels");
});
