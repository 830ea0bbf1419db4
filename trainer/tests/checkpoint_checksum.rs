//! Checkpoint checksums: every tensor is written with the CRC-32 of its bytes, a tensor
//! whose bytes changed afterwards (a NaN written in, a flipped bit) is refused with its
//! name and the file's, and files of format version 1 (no checksums) still load,
//! reported as unchecked, with a note from the binary.

mod cli_support;

use cli_support::{pgcnn, run, tiny_train, Scratch};
use pgcnn::checkpoint::{Checkpoint, CheckpointError, Integrity, NamedTensor, CHECKSUM_PREFIX};
use serde_json::Value;
use std::ops::Range;

fn sample() -> Checkpoint {
    let mut c = Checkpoint::new("seed = 1\n");
    c.metadata.insert("run.epoch".into(), "3".into());
    c.push(NamedTensor::new("a", vec![2, 2], vec![1.0, -2.0, 0.5, 4.0]).unwrap())
        .unwrap();
    c.push(NamedTensor::new("b.weight", vec![3], vec![5.0, 6.0, 7.0]).unwrap())
        .unwrap();
    c.push(NamedTensor::new("empty", vec![0], vec![]).unwrap())
        .unwrap();
    c
}

/// The header length and the parsed JSON header of safetensors bytes.
fn header(bytes: &[u8]) -> (usize, Value) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (n, serde_json::from_slice(&bytes[8..8 + n]).unwrap())
}

/// The same file with its header changed by `edit` (the tensor bytes are kept).
fn edit_header(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Vec<u8> {
    let (n, mut h) = header(bytes);
    edit(h["__metadata__"].as_object_mut().unwrap());
    let text = serde_json::to_vec(&h).unwrap();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + n..]);
    out
}

/// The file as pgcnn wrote it before checksums: format version 1, no `pgcnn.crc32.*`.
fn to_format_1(bytes: &[u8]) -> Vec<u8> {
    edit_header(bytes, |m| {
        m.retain(|k, _| !k.starts_with(CHECKSUM_PREFIX));
        m.insert("pgcnn.format_version".into(), "1".into());
    })
}

/// Where tensor `name`'s bytes lie in the file.
fn data_range(bytes: &[u8], name: &str) -> Range<usize> {
    let (n, h) = header(bytes);
    let offsets = &h[name]["data_offsets"];
    let at = |i: usize| 8 + n + offsets[i].as_u64().unwrap() as usize;
    at(0)..at(1)
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) bit by bit: an implementation
/// independent of the one pgcnn uses, to check the documented format.
fn crc32_reference(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn corrupt_reason(bytes: &[u8]) -> String {
    match Checkpoint::from_bytes(bytes) {
        Err(e @ CheckpointError::Corrupt { .. }) => e.to_string(),
        Err(other) => panic!("expected a corruption error, got {other}"),
        Ok(_) => panic!("damaged bytes were accepted"),
    }
}

#[test]
fn every_tensor_is_written_with_the_crc32_of_its_bytes() {
    // The reference is the standard CRC-32 (its published check value).
    assert_eq!(crc32_reference(b"123456789"), 0xCBF4_3926);
    let c = sample();
    let bytes = c.to_bytes().unwrap();
    let (_, h) = header(&bytes);
    let meta = h["__metadata__"].as_object().unwrap();
    assert_eq!(meta["pgcnn.format_version"], "2");
    let sums: Vec<&String> = meta
        .keys()
        .filter(|k| k.starts_with(CHECKSUM_PREFIX))
        .collect();
    assert_eq!(
        sums.len(),
        c.tensors.len(),
        "one checksum per tensor: {sums:?}"
    );
    for t in &c.tensors {
        let want = format!(
            "{:08x}",
            crc32_reference(&bytes[data_range(&bytes, &t.name)])
        );
        assert_eq!(meta[&format!("pgcnn.crc32.{}", t.name)], want, "{}", t.name);
    }
    // Read back: verified, and the checksums are not part of the metadata.
    let (back, integrity) = Checkpoint::from_bytes_with_integrity(&bytes).unwrap();
    assert_eq!(integrity, Integrity::Verified);
    assert_eq!(back.metadata, c.metadata);
    assert_eq!(back.tensors.len(), 3);
}

#[test]
fn a_nan_written_into_a_tensor_is_refused_naming_the_tensor() {
    let bytes = sample().to_bytes().unwrap();
    let mut bad = bytes.clone();
    let at = data_range(&bytes, "b.weight").start + 4; // its second value
    bad[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let reason = corrupt_reason(&bad);
    assert!(
        reason.contains("tensor \"b.weight\": its bytes do not match the checksum"),
        "{reason}"
    );
    assert!(reason.contains("altered or damaged"), "{reason}");
    // Any bit of any tensor: the tensor that holds it is the one named.
    for name in ["a", "b.weight"] {
        for i in data_range(&bytes, name) {
            for bit in [0, 7] {
                let mut bad = bytes.clone();
                bad[i] ^= 1 << bit;
                let reason = corrupt_reason(&bad);
                assert!(
                    reason.contains(&format!("tensor {name:?}: its bytes")),
                    "byte {i}: {reason}"
                );
            }
        }
    }
}

#[test]
fn a_damaged_file_is_refused_naming_the_file_and_the_tensor() {
    let dir = Scratch::new("ckpt-crc");
    let path = dir.join("best.safetensors");
    sample().save_atomic(&path).unwrap();
    let (_, integrity) = Checkpoint::load_with_integrity(&path).unwrap();
    assert_eq!(integrity, Integrity::Verified);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = data_range(&bytes, "a").start;
    bytes[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let err = Checkpoint::load(&path).unwrap_err().to_string();
    assert!(
        err.contains(&path.display().to_string()) && err.contains("tensor \"a\": its bytes"),
        "{err}"
    );
}

#[test]
fn checksum_entries_that_do_not_fit_the_tensors_are_refused() {
    let bytes = sample().to_bytes().unwrap();
    let missing = edit_header(&bytes, |m| {
        m.remove("pgcnn.crc32.a");
    });
    assert!(
        corrupt_reason(&missing).contains("tensor \"a\" has no checksum (no \"pgcnn.crc32.a\""),
        "{}",
        corrupt_reason(&missing)
    );
    let extra = edit_header(&bytes, |m| {
        m.insert("pgcnn.crc32.gone".into(), "00000000".into());
    });
    assert!(corrupt_reason(&extra).contains("checksum for tensor \"gone\", which the file"));
    for text in ["", "1234567", "123456789", "+1234567", "xyzxyzxy"] {
        let malformed = edit_header(&bytes, |m| {
            m.insert("pgcnn.crc32.b.weight".into(), text.into());
        });
        let reason = corrupt_reason(&malformed);
        assert!(
            reason.contains("not 8 hexadecimal digits"),
            "{text:?}: {reason}"
        );
    }
    // Two tensors' checksums swapped: both are intact, but not what the header says.
    let swapped = edit_header(&bytes, |m| {
        let a = m["pgcnn.crc32.a"].clone();
        m.insert("pgcnn.crc32.a".into(), m["pgcnn.crc32.b.weight"].clone());
        m.insert("pgcnn.crc32.b.weight".into(), a);
    });
    assert!(corrupt_reason(&swapped).contains("tensor \"a\": its bytes do not match"));
    // Upper-case hexadecimal is the same checksum.
    let upper = edit_header(&bytes, |m| {
        for v in m.values_mut() {
            if let Some(s) = v.as_str().filter(|s| s.len() == 8) {
                *v = Value::String(s.to_uppercase());
            }
        }
    });
    assert_eq!(
        Checkpoint::from_bytes(&upper).unwrap(),
        Checkpoint::from_bytes(&bytes).unwrap()
    );
}

#[test]
fn format_1_files_without_checksums_still_load_unchecked() {
    let c = sample();
    let old = to_format_1(&c.to_bytes().unwrap());
    assert!(!String::from_utf8_lossy(&old).contains(CHECKSUM_PREFIX));
    let (back, integrity) = Checkpoint::from_bytes_with_integrity(&old).unwrap();
    assert_eq!(integrity, Integrity::Unchecked);
    assert_eq!(
        (&back.metadata, &back.config_toml),
        (&c.metadata, &c.config_toml)
    );
    assert_eq!(
        back.tensors,
        Checkpoint::from_bytes(&c.to_bytes().unwrap())
            .unwrap()
            .tensors
    );
    // Nothing to check a format 1 file against: damage goes unnoticed, hence the note.
    let mut damaged = old.clone();
    let at = data_range(&old, "a").start;
    damaged[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(Checkpoint::from_bytes(&damaged).unwrap().tensors[0].data[0].is_nan());
    let note = Integrity::Unchecked.note("run/last.safetensors").unwrap();
    assert!(
        note.starts_with("run/last.safetensors was written before")
            && note.contains("format version 1")
            && !note.contains('\n'),
        "{note}"
    );
    assert_eq!(Integrity::Verified.note("run/last.safetensors"), None);
    // Saved again, it has checksums.
    let (_, again) = Checkpoint::from_bytes_with_integrity(&back.to_bytes().unwrap()).unwrap();
    assert_eq!(again, Integrity::Verified);
    // A format 1 file never had checksum entries: one is refused rather than kept as
    // metadata that could not be saved again.
    let odd = edit_header(&old, |m| {
        m.insert("pgcnn.crc32.a".into(), "00000000".into());
    });
    assert!(corrupt_reason(&odd).contains("format version 1 has no checksums"));
    // Versions other than 1 and 2 are still refused.
    let future = edit_header(&old, |m| {
        m.insert("pgcnn.format_version".into(), "3".into());
    });
    assert!(corrupt_reason(&future).contains("reads versions \"1\" and \"2\""));
}

#[test]
fn checksum_keys_cannot_be_set_by_hand() {
    let mut c = sample();
    c.metadata.insert("pgcnn.crc32.a".into(), "00000000".into());
    let err = c.to_bytes().unwrap_err().to_string();
    assert!(err.contains("\"pgcnn.crc32.a\" is reserved"), "{err}");
}

#[test]
fn the_binary_evaluates_a_format_1_checkpoint_with_a_note() {
    let dir = Scratch::new("ckpt-v1");
    let run_dir = dir.join("run");
    run(tiny_train(
        &run_dir,
        &["--set", "train.epochs=1", "--max-steps", "1"],
    ))
    .assert_ok();
    let path = run_dir.join("last.safetensors");
    let eval = || {
        let p = path.display().to_string();
        run(pgcnn(&[
            "eval",
            "--checkpoint",
            p.as_str(),
            "--device",
            "cpu",
        ]))
    };
    // Written now: checked, no note.
    let fresh = eval();
    fresh.assert_ok();
    assert!(!fresh.stderr.contains("note:"), "{}", fresh.stderr);
    // The same file as format 1: evaluated, with one line saying it was not checked.
    std::fs::write(&path, to_format_1(&std::fs::read(&path).unwrap())).unwrap();
    let old = eval();
    old.assert_ok();
    let notes: Vec<&str> = old
        .stderr
        .lines()
        .filter(|l| l.starts_with("note:"))
        .collect();
    assert_eq!(
        notes,
        [format!(
            "note: {}",
            Integrity::Unchecked
                .note(&path.display().to_string())
                .unwrap()
        )],
        "{}",
        old.stderr
    );
    assert_eq!(old.stdout, fresh.stdout, "the same measurements");
}
