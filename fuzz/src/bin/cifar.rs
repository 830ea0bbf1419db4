//! Fuzzes `parse_cifar` with each of its three layouts (CIFAR-10; CIFAR-100 fine and
//! coarse) on the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgcnn::data::{parse_cifar, CifarKind};
use pgcnn_fuzz::{check_dataset, check_scaled, outcome};

const PIXELS: usize = 3 * 32 * 32;

fuzz_target!(|data: &[u8]| {
    let mut any = false;
    for (kind, label_bytes, label_at) in [
        (CifarKind::Cifar10, 1, 0),
        (CifarKind::Cifar100Fine, 2, 1),
        (CifarKind::Cifar100Coarse, 2, 0),
    ] {
        let Ok(ds) = parse_cifar(data, kind) else {
            continue;
        };
        any = true;
        check_dataset(&ds, 3, 32, 32, kind.classes());
        let record = label_bytes + PIXELS;
        assert_eq!(data.len(), ds.len() * record, "{kind:?}: whole records");
        let mut pixels = Vec::with_capacity(ds.len() * PIXELS);
        for (i, rec) in data.chunks_exact(record).enumerate() {
            assert_eq!(ds.labels[i], rec[label_at] as usize, "{kind:?}: label {i}");
            pixels.extend_from_slice(&rec[label_bytes..]);
        }
        check_scaled(&ds.images, &pixels);
    }
    // A seed is valid for at least one of the layouts.
    outcome("CIFAR", any.then_some(()).ok_or("no layout accepted it"));
});
