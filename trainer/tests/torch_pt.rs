//! The PyTorch checkpoint reader (`pgcnn::interop::torch_pt`) on files written by torch
//! (`fixtures/torch/`, made by scripts/interop/make_torch_fixtures.py, which lists what
//! they hold in `expected.json`: every value as the bits of torch's own conversion to
//! float32), on files torch writes that the reader refuses, on files crafted with torch's
//! layout and wrong numbers, and on damaged copies. The values must be exactly torch's;
//! bad input must be an error that says what is wrong, never a panic.

mod torch_support;

use pgcnn::interop::torch_pt::{
    parse_state_dict, read_state_dict, StateDict, TorchDtype, TorchPtError, TorchTensor,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use torch_support::{
    floats, globals_sharing_a_name, nested_through_memo, tensor_pickle, torch_zip,
    zip64_claiming_all_entries,
};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/torch")
        .join(name)
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[derive(Deserialize)]
struct Expected {
    torch_version: String,
    files: BTreeMap<String, ExpectedFile>,
}

#[derive(Deserialize)]
struct ExpectedFile {
    found_under: Option<String>,
    skipped: Vec<String>,
    tensors: Vec<ExpectedTensor>,
}

#[derive(Deserialize)]
struct ExpectedTensor {
    name: String,
    shape: Vec<usize>,
    dtype: String,
    bits: Vec<u32>,
}

fn expected() -> Expected {
    serde_json::from_slice(&bytes("expected.json")).expect("expected.json parses")
}

/// Same names, shapes, dtypes and value bits (NaN payloads included).
fn same_bits(a: &[TorchTensor], b: &[TorchTensor]) -> bool {
    let key = |t: &TorchTensor| {
        let bits: Vec<u32> = t.data.iter().map(|v| v.to_bits()).collect();
        (t.name.clone(), t.shape.clone(), t.dtype, bits)
    };
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| key(x) == key(y))
}

/// Same names in the same order, shapes, dtypes and value bits as torch.
fn assert_matches(file: &str, sd: &StateDict, want: &ExpectedFile) {
    let names: Vec<&str> = sd.names().collect();
    let want_names: Vec<&str> = want.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, want_names, "{file}: names and order");
    for (t, w) in sd.iter().zip(&want.tensors) {
        assert_eq!(t.shape, w.shape, "{file}: {} shape", t.name);
        assert_eq!(t.dtype.to_string(), w.dtype, "{file}: {} dtype", t.name);
        // Bit for bit, except that any NaN matches any NaN: torch's float16 → float32
        // conversion returns 0x7fffffff for the half NaN 0x7e00, the reader the IEEE
        // widening 0x7fc00000.
        let bits: Vec<u32> = t
            .data
            .iter()
            .zip(&w.bits)
            .map(|(v, &b)| {
                if v.is_nan() && f32::from_bits(b).is_nan() {
                    b
                } else {
                    v.to_bits()
                }
            })
            .collect();
        assert_eq!(bits, w.bits, "{file}: {} values", t.name);
        assert_eq!(t.numel(), w.shape.iter().product::<usize>());
        assert!(
            std::ptr::eq(sd.get(&t.name).unwrap(), t),
            "{file}: get({})",
            t.name
        );
    }
    assert_eq!(sd.found_under(), want.found_under.as_deref(), "{file}");
    let skipped: Vec<&str> = sd.skipped().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(skipped, want.skipped, "{file}: skipped entries");
}

#[test]
fn every_valid_fixture_reads_exactly_what_torch_holds() {
    let exp = expected();
    assert!(
        exp.files.len() >= 5,
        "expected.json lists {}",
        exp.files.len()
    );
    for (file, want) in &exp.files {
        let sd = read_state_dict(&fixture(file))
            .unwrap_or_else(|e| panic!("{file} (torch {}): {e}", exp.torch_version));
        assert_matches(file, &sd, want);
        // The same from the bytes.
        let again = parse_state_dict(&bytes(file)).expect("parses from bytes");
        assert!(same_bits(again.tensors(), sd.tensors()), "{file}");
    }
}

/// Independently of expected.json: the views of `base` in state_dict.pt are what their
/// Python expressions say, computed here from `base`.
#[test]
fn views_of_one_storage_are_read_through_their_offsets_and_strides() {
    let sd = read_state_dict(&fixture("state_dict.pt")).unwrap();
    let base = sd.get("base").unwrap();
    assert_eq!(base.shape, [4, 5]);
    let at = |r: usize, c: usize| base.data[r * 5 + c];
    let t = sd.get("transposed").unwrap();
    assert_eq!(t.shape, [5, 4]);
    assert!((0..5).all(|c| (0..4).all(|r| t.data[c * 4 + r] == at(r, c))));
    let w = sd.get("window").unwrap(); // base[1:, 2:]
    assert_eq!(w.shape, [3, 3]);
    assert!((0..3).all(|r| (0..3).all(|c| w.data[r * 3 + c] == at(r + 1, c + 2))));
    let s = sd.get("stepped").unwrap(); // base[::2, 1::2]
    assert_eq!(s.shape, [2, 2]);
    assert_eq!(s.data, [at(0, 1), at(0, 3), at(2, 1), at(2, 3)]);
    let row = sd.get("row").unwrap(); // base[2]
    assert_eq!(row.data, (0..5).map(|c| at(2, c)).collect::<Vec<_>>());
    let e = sd.get("expanded").unwrap(); // tensor([2.5]).expand(3, 2)
    assert_eq!(
        (e.shape.as_slice(), e.data.as_slice()),
        (&[3, 2][..], &[2.5; 6][..])
    );
    let scalar = sd.get("scalar").unwrap();
    assert_eq!(
        (scalar.shape.len(), scalar.data.as_slice()),
        (0, &[3.25][..])
    );
    let empty = sd.get("empty").unwrap();
    assert_eq!((empty.shape.as_slice(), empty.numel()), (&[0, 3][..], 0));
    let count = sd.get("1.num_batches_tracked").unwrap();
    assert_eq!(
        (count.dtype, count.is_float(), count.data.as_slice()),
        (TorchDtype::I64, false, &[1.0][..])
    );
    assert!(sd.get("0.weight").unwrap().is_float());
}

/// What kind of error, and a phrase its message must contain.
fn assert_refused(file: &str, bytes: &[u8], kind: &str, phrase: &str) {
    let err = match parse_state_dict(bytes) {
        Ok(sd) => panic!("{file}: accepted ({} tensors)", sd.len()),
        Err(e) => e,
    };
    let got = match &err {
        TorchPtError::Corrupt { .. } => "corrupt",
        TorchPtError::Unsupported { .. } => "unsupported",
        TorchPtError::NoStateDict { .. } => "no state dict",
        TorchPtError::Io { .. } => "io",
    };
    let msg = err.to_string();
    assert_eq!(got, kind, "{file}: {msg}");
    assert!(msg.contains(phrase), "{file}: {msg:?} lacks {phrase:?}");
}

#[test]
fn files_the_reader_refuses_say_why() {
    let cases = [
        ("legacy.pt", "unsupported", "legacy PyTorch format"),
        ("torchscript.pt", "unsupported", "TorchScript"),
        (
            "list.pt",
            "no state dict",
            "holds a list of 1 items, not a dict",
        ),
        ("optimizer_only.pt", "no state dict", "no tensor"),
        ("complex.pt", "unsupported", "complex tensors are not read"),
        ("compressed.pt", "unsupported", "compressed (method 8)"),
        (
            "view_past_end.pt",
            "corrupt",
            "reaches past the end of storage \"0\", which holds 6 elements",
        ),
        ("huge_view.pt", "corrupt", "passes the budget"),
        ("overflowing_size.pt", "corrupt", "overflows"),
        (
            "declared_mismatch.pt",
            "corrupt",
            "the pickle declares 10 elements",
        ),
        (
            "missing_storage.pt",
            "corrupt",
            "no entry \"archive/data/7\"",
        ),
        (
            "unknown_storage.pt",
            "unsupported",
            "unknown type torch.Float7Storage",
        ),
    ];
    for (file, kind, phrase) in cases {
        assert_refused(file, &bytes(file), kind, phrase);
        // Errors name the tensor where there is one.
        if file.ends_with("view.pt") || file.starts_with("view_") || file.starts_with("declared") {
            let msg = parse_state_dict(&bytes(file)).unwrap_err().to_string();
            assert!(msg.contains("tensor \"w\""), "{file}: {msg}");
        }
    }
    let missing = read_state_dict(&fixture("no_such_file.pt")).unwrap_err();
    assert!(matches!(missing, TorchPtError::Io { .. }), "{missing}");
    assert!(missing.to_string().contains("no_such_file.pt"), "{missing}");
}

#[test]
fn other_formats_are_named() {
    assert_refused("empty", b"", "corrupt", "the file is empty");
    assert_refused(
        "text",
        b"hello world",
        "corrupt",
        "not a zip archive (it starts with 68 65 6c 6c",
    );
    assert_refused(
        "pickle",
        b"\x80\x02]q\x00.",
        "unsupported",
        "a plain pickle",
    );
    let mut st = 2u64.to_le_bytes().to_vec();
    st.extend_from_slice(b"{}");
    assert_refused("safetensors", &st, "unsupported", "a safetensors file");
}

#[test]
fn truncated_archives_are_errors() {
    let full = bytes("state_dict.pt");
    assert_refused(
        "cut in half",
        &full[..full.len() / 2],
        "corrupt",
        "end-of-central-directory",
    );
    assert_refused(
        "cut by one",
        &full[..full.len() - 1],
        "corrupt",
        "end-of-central-directory",
    );
    // Every prefix: an error, never a panic, never a success.
    for n in 0..full.len() {
        assert!(
            parse_state_dict(&full[..n]).is_err(),
            "prefix of {n} bytes accepted"
        );
    }
}

/// A byte of a storage changed on disk: the CRC-32 the archive records catches it, and
/// the error names the entry.
#[test]
fn a_damaged_storage_is_a_checksum_error() {
    let mut file = bytes("state_dict.pt");
    // `row` = base[2] = [0.25, 0.375, 0.5, 0.625, 0.75], inside base's storage.
    let pattern: Vec<u8> = [0.25f32, 0.375, 0.5, 0.625, 0.75]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let at = file
        .windows(pattern.len())
        .position(|w| w == pattern.as_slice())
        .expect("base's values are in the file");
    file[at + 3] ^= 0x01;
    assert_refused("flipped", &file, "corrupt", "CRC-32 mismatch");
    let msg = parse_state_dict(&file).unwrap_err().to_string();
    assert!(msg.contains("/data/"), "names the storage entry: {msg}");
}

/// Every single byte of a valid file flipped in turn: an error or a state dict, never a
/// panic; and a flip that is accepted changed nothing that is read (a padding byte, a
/// time stamp, an entry the reader does not use): the tensors are the original ones.
/// Every byte of the pickle and of the storages is covered by a CRC-32.
#[test]
fn every_flipped_byte_is_refused_or_changes_nothing() {
    for file in ["proto4.pt", "parameters.pt"] {
        let orig = bytes(file);
        let want = parse_state_dict(&orig).unwrap();
        let mut accepted = 0;
        for i in 0..orig.len() {
            let mut b = orig.clone();
            b[i] ^= 0xff;
            if let Ok(sd) = parse_state_dict(&b) {
                accepted += 1;
                assert!(
                    same_bits(sd.tensors(), want.tensors()),
                    "{file}: byte {i} flipped"
                );
                assert_eq!(sd.skipped(), want.skipped(), "{file}: byte {i} flipped");
            }
        }
        assert!(accepted < orig.len(), "{file}: every flip accepted");
    }
}

/// Pickles written here (torch's opcodes, chosen numbers) in a torch-layout archive: the
/// strides decide the order, and wrong numbers are errors that name the tensor.
#[test]
fn crafted_views_and_their_errors() {
    let six = floats(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    let read = |pickle: &[u8]| parse_state_dict(&torch_zip(pickle, &[("0", &six)]));
    let sd = read(&tensor_pickle(6, 0, &[2, 3], &[3, 1])).unwrap();
    assert_eq!(sd.get("w").unwrap().data, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    let sd = read(&tensor_pickle(6, 0, &[3, 2], &[1, 3])).unwrap();
    assert_eq!(sd.get("w").unwrap().data, [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    let sd = read(&tensor_pickle(6, 5, &[], &[])).unwrap(); // a scalar at offset 5
    assert_eq!(sd.get("w").unwrap().data, [5.0]);
    // A stride on an axis of size 1 reaches nothing, whatever its value.
    let sd = read(&tensor_pickle(6, 1, &[1, 2], &[i32::MAX, 2])).unwrap();
    assert_eq!(sd.get("w").unwrap().data, [1.0, 3.0]);

    let cases: [(Vec<u8>, &str); 6] = [
        (
            tensor_pickle(6, 0, &[2, 3], &[1]),
            "size [2, 3] and stride [1] differ in length",
        ),
        (
            tensor_pickle(6, -1, &[2], &[1]),
            "the storage offset is -1, negative",
        ),
        (
            tensor_pickle(6, 0, &[2, -3], &[3, 1]),
            "size item 1 is -3, negative",
        ),
        (
            tensor_pickle(6, 4, &[2, 2], &[1, 1]),
            "reaches past the end",
        ),
        (
            tensor_pickle(7, 0, &[2], &[1]),
            "the pickle declares 7 elements",
        ),
        (
            tensor_pickle(6, 0, &[2], &[1])[..36].to_vec(),
            "without a STOP opcode",
        ),
    ];
    for (pickle, phrase) in cases {
        let err = read(&pickle).unwrap_err().to_string();
        assert!(err.contains(phrase), "{err:?} lacks {phrase:?}");
        if !phrase.contains("STOP") {
            assert!(err.contains("tensor \"w\""), "{err}");
        }
    }
    // The pickle's position and opcode are named.
    let mut p = tensor_pickle(6, 0, &[2], &[1]);
    p.insert(p.len() - 1, b'0'); // POP the dict before STOP
    let err = read(&p).unwrap_err().to_string();
    assert!(
        err.contains("archive/data.pkl") && err.contains("opcode STOP"),
        "{err}"
    );
}

/// The hostile files of trainer/tests/data_alloc.rs (which checks that they allocate
/// little) fail for the reason they are built for.
#[test]
fn hostile_files_fail_for_their_reason() {
    let six = floats(&[0.0; 6]);
    let cases = [
        (
            torch_zip(&nested_through_memo(40), &[]),
            "the file holds a list of 2 items",
        ),
        (
            torch_zip(&globals_sharing_a_name(64 << 10, 5000), &[]),
            "the file holds a list of 5000 items",
        ),
        (
            zip64_claiming_all_entries(torch_zip(&tensor_pickle(6, 0, &[6], &[1]), &[("0", &six)])),
            "central directory entry 3 (of 18446744073709551615 claimed)",
        ),
        (
            torch_zip(
                &tensor_pickle(6, 0, &[1 << 20, 1 << 20], &[0, 0]),
                &[("0", &six)],
            ),
            "passes the budget",
        ),
    ];
    for (file, phrase) in cases {
        let err = parse_state_dict(&file).unwrap_err().to_string();
        assert!(err.contains(phrase), "{err:?} lacks {phrase:?}");
    }
    // The zip64 record is read: without the claim the same archive reads.
    let plain = torch_zip(&tensor_pickle(6, 0, &[6], &[1]), &[("0", &six)]);
    assert_eq!(parse_state_dict(&plain).unwrap().len(), 1);
}
