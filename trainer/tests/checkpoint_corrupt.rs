//! Corrupt checkpoint bytes are errors that say what is wrong, never panics or huge
//! allocations.

use pgcnn::checkpoint::{Checkpoint, CheckpointError, NamedTensor};

const META: &str = r#""__metadata__":{"pgcnn.format":"pgcnn-checkpoint","pgcnn.format_version":"1","pgcnn.config":"seed = 1"}"#;

/// A safetensors file from a header (JSON text) and the data bytes.
fn raw(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn corrupt_reason(bytes: &[u8]) -> String {
    match Checkpoint::from_bytes(bytes) {
        Err(e @ CheckpointError::Corrupt { .. }) => e.to_string(),
        Err(other) => panic!("expected a corruption error, got {other}"),
        Ok(_) => panic!("corrupt bytes were accepted"),
    }
}

fn valid() -> Vec<u8> {
    let mut c = Checkpoint::new("seed = 1\n[net]\nwidth = 8\n");
    c.push(NamedTensor::new("a", vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]).unwrap())
        .unwrap();
    c.push(NamedTensor::new("b", vec![3], vec![5.0, 6.0, 7.0]).unwrap())
        .unwrap();
    c.to_bytes().unwrap()
}

#[test]
fn handmade_file_is_accepted() {
    let data: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|x| x.to_le_bytes()).collect();
    let header = format!(r#"{{{META},"w":{{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}}}"#);
    let c = Checkpoint::from_bytes(&raw(&header, &data)).unwrap();
    assert_eq!(c.config_toml, "seed = 1");
    assert_eq!(c.tensors[0].data, [1.0, 2.0]);
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = valid();
    for len in 0..bytes.len() {
        let reason = corrupt_reason(&bytes[..len]);
        assert!(!reason.is_empty());
    }
    assert!(corrupt_reason(&bytes[..3]).contains("shorter than the 8-byte"));
    assert!(corrupt_reason(&bytes[..40]).contains("only 32 follow"));
}

#[test]
fn trailing_bytes_are_an_error() {
    let mut bytes = valid();
    bytes.extend_from_slice(&[0, 0, 0, 0]);
    corrupt_reason(&bytes);
}

#[test]
fn header_claiming_a_terabyte_is_refused_without_allocating() {
    let mut bytes = (1u64 << 40).to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    let reason = corrupt_reason(&bytes);
    assert!(reason.contains("1099511627776"), "{reason}");
    let mut bytes = u64::MAX.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    corrupt_reason(&bytes);
}

#[test]
fn bad_header_lengths_are_errors() {
    // Shorter than the JSON: the header is cut in the middle.
    let mut bytes = valid();
    bytes[..8].copy_from_slice(&10u64.to_le_bytes());
    corrupt_reason(&bytes);
    // Zero.
    bytes[..8].copy_from_slice(&0u64.to_le_bytes());
    corrupt_reason(&bytes);
}

#[test]
fn wrong_dtype_is_named() {
    let header = format!(r#"{{{META},"w":{{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}}}"#);
    let reason = corrupt_reason(&raw(&header, &[0; 4]));
    assert!(
        reason.contains("F16") && reason.contains("\"w\""),
        "{reason}"
    );
    let header = format!(r#"{{{META},"w":{{"dtype":"Q9","shape":[2],"data_offsets":[0,4]}}}}"#);
    corrupt_reason(&raw(&header, &[0; 4]));
}

#[test]
fn overlapping_and_out_of_bounds_offsets_are_errors() {
    let overlap = format!(
        r#"{{{META},"a":{{"dtype":"F32","shape":[4],"data_offsets":[0,16]}},"b":{{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}}}"#
    );
    corrupt_reason(&raw(&overlap, &[0; 24]));
    let gap = format!(
        r#"{{{META},"a":{{"dtype":"F32","shape":[2],"data_offsets":[0,8]}},"b":{{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}}}"#
    );
    corrupt_reason(&raw(&gap, &[0; 20]));
    let beyond = format!(r#"{{{META},"a":{{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}}}"#);
    corrupt_reason(&raw(&beyond, &[0; 8]));
    let wrong_size =
        format!(r#"{{{META},"a":{{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}}}"#);
    corrupt_reason(&raw(&wrong_size, &[0; 16]));
    let overflow = format!(
        r#"{{{META},"a":{{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,16]}}}}"#
    );
    corrupt_reason(&raw(&overflow, &[0; 16]));
    let reversed = format!(r#"{{{META},"a":{{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}}}"#);
    corrupt_reason(&raw(&reversed, &[0; 8]));
}

#[test]
fn non_utf8_and_non_json_headers_are_errors() {
    corrupt_reason(&raw("{\"a\":\u{0}}", &[]));
    let mut bytes = raw("{\"x\":\"yy\"}", &[]);
    bytes[14] = 0xff;
    let reason = corrupt_reason(&bytes);
    assert!(reason.contains("UTF-8"), "{reason}");
    corrupt_reason(&raw("[1, 2, 3]", &[]));
    corrupt_reason(&raw(&"[".repeat(10_000), &[]));
}

#[test]
fn files_without_pgcnn_entries_are_refused() {
    let t = r#""w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#;
    let foreign = format!(r#"{{"__metadata__":{{"format":"pt"}},{t}}}"#);
    let reason = corrupt_reason(&raw(&foreign, &[0; 4]));
    assert!(reason.contains("pgcnn.format"), "{reason}");
    let no_config = format!(
        r#"{{"__metadata__":{{"pgcnn.format":"pgcnn-checkpoint","pgcnn.format_version":"1"}},{t}}}"#
    );
    assert!(corrupt_reason(&raw(&no_config, &[0; 4])).contains("pgcnn.config"));
    let future = format!(
        r#"{{"__metadata__":{{"pgcnn.format":"pgcnn-checkpoint","pgcnn.format_version":"3","pgcnn.config":""}},{t}}}"#
    );
    assert!(corrupt_reason(&raw(&future, &[0; 4])).contains("version"));
}

/// A deterministic stand-in for the fuzz target: many single- and multi-byte mutations
/// of a valid file must each parse or fail, without panicking.
#[test]
fn mutated_files_never_panic() {
    let bytes = valid();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..4000 {
        let mut m = bytes.clone();
        for _ in 0..1 + next() % 4 {
            let i = (next() as usize) % m.len();
            m[i] = next() as u8;
        }
        let _ = Checkpoint::from_bytes(&m);
    }
}

#[test]
fn corrupt_file_on_disk_names_the_file() {
    let dir = std::env::temp_dir().join(format!("pgcnn-ckpt-corrupt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.safetensors");
    let bytes = valid();
    std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
    let err = Checkpoint::load(&path).unwrap_err().to_string();
    assert!(err.contains("bad.safetensors"), "{err}");
    let mut huge = (1u64 << 40).to_le_bytes().to_vec();
    huge.extend_from_slice(b"{}");
    std::fs::write(&path, &huge).unwrap();
    let err = Checkpoint::load(&path).unwrap_err().to_string();
    assert!(err.contains("claims 1099511627776 bytes"), "{err}");
    std::fs::write(&path, b"abc").unwrap();
    assert!(Checkpoint::load(&path).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
