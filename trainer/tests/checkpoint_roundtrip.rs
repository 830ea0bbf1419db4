//! Checkpoints: bit-exact round trips through bytes and files, atomic replacement.

use pgcnn::checkpoint::{temp_path_for, Checkpoint, CheckpointError, NamedTensor, CONFIG_KEY};
use std::path::{Path, PathBuf};

const CONFIG: &str = "seed = 3\n[train]\nlr = 0.001\nepochs = 5\n";

/// Values that a lossy format would mangle: signed zeros, subnormals, extremes, NaN
/// payloads and infinities.
fn awkward_values() -> Vec<f32> {
    vec![
        0.0,
        -0.0,
        f32::MIN_POSITIVE,
        f32::from_bits(1),
        -f32::from_bits(0x007f_ffff),
        f32::MAX,
        f32::MIN,
        f32::EPSILON,
        1.0 / 3.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::from_bits(0x7fc0_1234),
    ]
}

fn sample() -> Checkpoint {
    let mut c = Checkpoint::new(CONFIG);
    c.metadata.insert("epoch".into(), "4".into());
    c.metadata
        .insert("note".into(), "ünïcode, \"quotes\"\nand lines".into());
    c.push(NamedTensor::new("lift.kernel_net.0.weight", vec![3, 4], awkward_values()).unwrap())
        .unwrap();
    c.push(NamedTensor::new("blocks.0.bias", vec![2], vec![1.5, -2.25]).unwrap())
        .unwrap();
    c.push(NamedTensor::new("scalar", vec![], vec![7.0]).unwrap())
        .unwrap();
    c.push(NamedTensor::new("empty", vec![0, 5], vec![]).unwrap())
        .unwrap();
    c
}

fn bits(c: &Checkpoint) -> Vec<(String, Vec<usize>, Vec<u32>)> {
    let mut v: Vec<_> = c
        .tensors
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                t.dims.clone(),
                t.data.iter().map(|x| x.to_bits()).collect(),
            )
        })
        .collect();
    v.sort();
    v
}

fn assert_same(a: &Checkpoint, b: &Checkpoint) {
    assert_eq!(a.config_toml, b.config_toml);
    assert_eq!(a.metadata, b.metadata);
    assert_eq!(bits(a), bits(b));
}

#[test]
fn bytes_round_trip_is_bit_exact() {
    let c = sample();
    let bytes = c.to_bytes().unwrap();
    let back = Checkpoint::from_bytes(&bytes).unwrap();
    assert_same(&c, &back);
    // Loading returns the tensors in name order.
    let names: Vec<&str> = back.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "blocks.0.bias",
            "empty",
            "lift.kernel_net.0.weight",
            "scalar"
        ]
    );
    assert_eq!(back.metadata["pgcnn.version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn file_is_plain_safetensors_with_config_in_header() {
    let bytes = sample().to_bytes().unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    assert_eq!(header["__metadata__"][CONFIG_KEY], CONFIG);
    assert_eq!(header["__metadata__"]["pgcnn.format"], "pgcnn-checkpoint");
    let w = &header["lift.kernel_net.0.weight"];
    assert_eq!(w["dtype"], "F32");
    assert_eq!(w["shape"], serde_json::json!([3, 4]));
    // Row-major little-endian F32 at the stated offsets.
    let start = 8 + n + w["data_offsets"][0].as_u64().unwrap() as usize;
    let first = f32::from_le_bytes(bytes[start..start + 4].try_into().unwrap());
    assert_eq!(first.to_bits(), awkward_values()[0].to_bits());
    let second = f32::from_le_bytes(bytes[start + 4..start + 8].try_into().unwrap());
    assert_eq!(second.to_bits(), (-0.0f32).to_bits());
}

#[test]
fn save_and_load_leave_no_temporary_file() {
    let dir = tempdir("save");
    let path = dir.join("last.safetensors");
    let c = sample();
    c.save_atomic(&path).unwrap();
    assert_same(&c, &Checkpoint::load(&path).unwrap());
    assert_eq!(listing(&dir), ["last.safetensors"]);
    // Replacing it works and leaves only the new file.
    let mut c2 = c.clone();
    c2.metadata.insert("epoch".into(), "5".into());
    c2.save_atomic(&path).unwrap();
    assert_same(&c2, &Checkpoint::load(&path).unwrap());
    assert_eq!(listing(&dir), ["last.safetensors"]);
}

#[test]
fn leftover_temporary_file_does_not_hurt_the_previous_checkpoint() {
    let dir = tempdir("leftover");
    let path = dir.join("best.safetensors");
    let old = sample();
    old.save_atomic(&path).unwrap();
    // A kill in the middle of the next save leaves a half-written temporary file.
    let tmp = temp_path_for(&path).unwrap();
    assert_eq!(tmp.parent(), path.parent());
    let full = old.to_bytes().unwrap();
    std::fs::write(&tmp, &full[..full.len() / 2]).unwrap();
    assert_same(&old, &Checkpoint::load(&path).unwrap());
    // The next save overwrites the stale file and leaves none.
    let mut new = old.clone();
    new.metadata.insert("epoch".into(), "9".into());
    new.save_atomic(&path).unwrap();
    assert_same(&new, &Checkpoint::load(&path).unwrap());
    assert_eq!(listing(&dir), ["best.safetensors"]);
}

#[test]
fn failed_rename_keeps_the_target_and_removes_the_temporary_file() {
    let dir = tempdir("failed");
    // The target is a non-empty directory: the rename fails.
    let path = dir.join("last.safetensors");
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("keep"), b"x").unwrap();
    let err = sample().save_atomic(&path).unwrap_err();
    assert!(matches!(err, CheckpointError::Io { .. }), "{err}");
    assert!(path.join("keep").exists());
    assert_eq!(listing(&dir), ["last.safetensors"]);
}

#[test]
fn invalid_checkpoints_are_refused_before_writing() {
    assert!(NamedTensor::new("w", vec![2, 3], vec![0.0; 5]).is_err());
    assert!(NamedTensor::new("", vec![1], vec![0.0]).is_err());
    assert!(NamedTensor::new("__metadata__", vec![1], vec![0.0]).is_err());
    let mut c = sample();
    let dup = NamedTensor::new("scalar", vec![], vec![1.0]).unwrap();
    assert!(c.push(dup.clone()).is_err());
    c.tensors.push(dup);
    assert!(c.to_bytes().is_err());
    let mut c = sample();
    c.metadata.insert(CONFIG_KEY.into(), "x = 1".into());
    let err = c.to_bytes().unwrap_err().to_string();
    assert!(err.contains("reserved"), "{err}");
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let dir = tempdir("missing");
    let err = Checkpoint::load(&dir.join("nope.safetensors")).unwrap_err();
    assert!(matches!(err, CheckpointError::Io { .. }));
    assert!(err.to_string().contains("nope.safetensors"), "{err}");
}

/// A directory under the system's temporary directory, removed (with its contents) on drop.
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir(tag: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!(
        "pgcnn-ckpt-{tag}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
