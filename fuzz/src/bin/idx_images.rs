//! Fuzzes `parse_idx_images`: IDX image files, raw or gzip (the gzip seeds let the fuzzer
//! reach the decoder; `idx_gzip` reaches the header logic behind it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgcnn::data::parse_idx_images;
use pgcnn_fuzz::{inflate_whole, outcome};

fuzz_target!(|data: &[u8]| {
    let Some(img) = outcome("IDX images", parse_idx_images(data)) else {
        return;
    };
    assert!(
        img.rows > 0 && img.cols > 0,
        "{}×{} images",
        img.rows,
        img.cols
    );
    let claimed = img.count as u128 * img.rows as u128 * img.cols as u128;
    assert_eq!(img.pixels.len() as u128, claimed, "pixels vs header");
    // Raw, or gzip: then the whole input is gzip that inflates to exactly the file.
    let file = inflate_whole(data).unwrap_or_else(|| data.to_vec());
    assert_eq!(file.len(), 16 + img.pixels.len(), "file length");
    assert_eq!(img.pixels, file[16..], "pixels");
});
