//! Fuzzes `parse_mnist`: an IDX image file and an IDX label file (raw or gzip), joined into
//! one input by `split_pair` (4-byte big-endian length of the image file, the image file,
//! the label file).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgcnn::data::{parse_idx_images, parse_idx_labels, parse_mnist};
use pgcnn_fuzz::{check_dataset, check_scaled, outcome, split_pair};

fuzz_target!(|data: &[u8]| {
    let (images, labels) = split_pair(data);
    let Some(ds) = outcome("MNIST", parse_mnist(images, labels)) else {
        return;
    };
    // Accepted as a whole, so each part parses on its own.
    let img = parse_idx_images(images).expect("images parsed inside parse_mnist");
    let lab = parse_idx_labels(labels).expect("labels parsed inside parse_mnist");
    check_dataset(&ds, 1, img.rows, img.cols, 10);
    assert_eq!(ds.len(), img.count, "image count");
    let lab: Vec<usize> = lab.iter().map(|&l| l as usize).collect();
    assert_eq!(ds.labels, lab, "labels");
    check_scaled(&ds.images, &img.pixels);
});
