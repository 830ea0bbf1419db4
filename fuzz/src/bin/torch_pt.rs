//! Fuzzes the PyTorch checkpoint reader, `pgcnn::interop::torch_pt::parse_state_dict`: one
//! input is a `.pt` file (a zip archive around a pickle and raw storages).
//!
//! The seeds are the reader's test fixtures (files torch.save wrote), and copies of some
//! with their CRC-32 fields zeroed (the reader checks a CRC only where one is recorded),
//! so that mutations of the pickle and the storages reach the pickle machine and the
//! tensor views instead of stopping at a checksum. An accepted file must be consistent:
//! every tensor holds the product of its shape in values, names are unique and found by
//! `get`, and all tensors together stay within the reader's budget of values per byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgcnn::interop::torch_pt::{parse_state_dict, MAX_VALUES_PER_BYTE};
use pgcnn_fuzz::outcome;
use std::collections::HashSet;

fuzz_target!(|data: &[u8]| {
    let Some(sd) = outcome("torch_pt", parse_state_dict(data)) else {
        return;
    };
    let mut names = HashSet::new();
    let mut total = 0usize;
    for t in &sd {
        let numel = t.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        assert_eq!(numel, Some(t.data.len()), "{}: shape {:?}", t.name, t.shape);
        assert!(names.insert(t.name.as_str()), "{} twice", t.name);
        assert!(
            std::ptr::eq(sd.get(&t.name).expect("get finds it"), t),
            "{}",
            t.name
        );
        total += t.data.len();
    }
    assert_eq!(sd.len(), sd.tensors().len());
    assert!(
        total <= data.len() * MAX_VALUES_PER_BYTE,
        "{total} values from {} bytes",
        data.len()
    );
    for s in sd.skipped() {
        assert!(
            sd.get(&s.name).is_none(),
            "{} is skipped and a tensor",
            s.name
        );
    }
});
