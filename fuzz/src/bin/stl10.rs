//! Fuzzes `parse_stl10`: an image file and a label file joined by `split_pair` (4-byte
//! big-endian length of the image file, the image file, the label file).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgcnn::data::parse_stl10;
use pgcnn_fuzz::{check_dataset, outcome, split_pair};

const SIDE: usize = 96;

fuzz_target!(|data: &[u8]| {
    let (images, labels) = split_pair(data);
    let Some(ds) = outcome("STL-10", parse_stl10(images, labels)) else {
        return;
    };
    check_dataset(&ds, 3, SIDE, SIDE, 10);
    assert_eq!(images.len(), ds.len() * 3 * SIDE * SIDE, "whole images");
    for (i, &l) in labels.iter().enumerate() {
        assert_eq!(
            ds.labels[i] + 1,
            l as usize,
            "label {i} shifted from 1..=10"
        );
    }
    // The files store each plane column-major; the dataset holds it row-major.
    for (plane, (src, dst)) in images
        .chunks_exact(SIDE * SIDE)
        .zip(ds.images.chunks_exact(SIDE * SIDE))
        .enumerate()
    {
        for y in 0..SIDE {
            for x in 0..SIDE {
                let want = f32::from(src[x * SIDE + y]) / 255.0;
                assert_eq!(
                    dst[y * SIDE + x],
                    want,
                    "plane {plane}, row {y}, column {x}"
                );
            }
        }
    }
});
