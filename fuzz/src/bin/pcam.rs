//! Fuzzes `parse_pcam`: one input is a PCam image file (`*_x.h5`) and its label file
//! (`*_y.h5`), joined by `split_pair`.
//!
//! The checks before anything is allocated (declared counts backed by stored data) are
//! what the `LimitedAlloc` allocator holds to account. An accepted pair must give what the
//! files hold: both datasets read whole by hdf5-pure (not in pgcnn's windows of rows), the
//! images transposed from HWC to CHW and scaled by 1/255, the labels as stored.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgcnn::data::parse_pcam;
use pgcnn_fuzz::{check_dataset, check_scaled, outcome, split_pair};

/// Image side and bytes per image (HWC, 3 channels).
const SIDE: usize = 96;
const IMAGE_BYTES: usize = SIDE * SIDE * 3;

fuzz_target!(|data: &[u8]| {
    let (x, y) = split_pair(data);
    let Some(ds) = outcome("PCam", parse_pcam(x.to_vec(), y.to_vec())) else {
        return;
    };
    check_dataset(&ds, 3, SIDE, SIDE, 2);
    let whole = |file: &[u8], name: &str| {
        hdf5_pure::File::from_bytes(file.to_vec())
            .and_then(|f| f.dataset(name)?.read_raw())
            .unwrap_or_else(|e| panic!("accepted, yet `{name}` does not read whole: {e}"))
    };
    let labels: Vec<usize> = whole(y, "y").into_iter().map(usize::from).collect();
    assert_eq!(ds.labels, labels, "labels");
    let hwc = whole(x, "x");
    assert_eq!(hwc.len(), ds.len() * IMAGE_BYTES, "image bytes");
    // Channel c of pixel p is byte 3·p + c of an image.
    let chw: Vec<u8> = hwc
        .chunks_exact(IMAGE_BYTES)
        .flat_map(|img| (0..3).flat_map(move |c| (0..SIDE * SIDE).map(move |p| img[3 * p + c])))
        .collect();
    check_scaled(&ds.images, &chw);
});
