//! Checkpoints: model weights, optimiser and schedule state, RNG state and the run's
//! configuration in one safetensors file, written atomically.
//!
//! # File format (for the README)
//!
//! A pgcnn checkpoint (`best.safetensors`, `last.safetensors`) is a standard
//! [safetensors](https://github.com/huggingface/safetensors) file, so other tools
//! (Python's `safetensors.torch.load_file`, `safetensors.numpy`, candle, ...) can read its
//! weights directly:
//!
//! - an 8-byte little-endian header length, a JSON header, then the raw tensor bytes;
//! - every tensor is `F32`, little-endian, row-major (C order), with its full shape;
//! - tensors are stored by name in the header; pgcnn reads them back in name order.
//!
//! Tensor names:
//!
//! | name | content |
//! | --- | --- |
//! | `<module path>.<parameter>` | a model parameter or buffer, named by the model, e.g. `lift.kernel_net.0.weight`, `blocks.2.norm.running_mean` |
//! | `optim.<position>.<slot>` | optimiser state of the parameter at `<position>` in the model's parameter list: `exp_avg`, `exp_avg_sq` (Adam), `momentum_buffer` (SGD) |
//!
//! The `__metadata__` header (a JSON object of strings) holds:
//!
//! | key | value |
//! | --- | --- |
//! | `pgcnn.format` | `pgcnn-checkpoint` (files without it are rejected) |
//! | `pgcnn.format_version` | `2` (`1`: written before checksums, see below) |
//! | `pgcnn.config` | the run's full configuration as TOML text |
//! | `pgcnn.crc32.<tensor name>` | the CRC-32 (IEEE, as gzip's) of the tensor's bytes, 8 lowercase hexadecimal digits; one per tensor |
//! | `pgcnn.version` | the version of pgcnn that wrote the file |
//! | `pgcnn.o2_convention` | `reference`: E(2) weights use the reference implementation's kernel-net coordinate and sample order; an E(2) model in a file without it is refused |
//! | `optim.algorithm`, `optim.step_count`, `optim.positions`, `optim.slots`, `optim.<position>.step` | optimiser counters ([`Checkpoint::put_optimizer_state`]) |
//! | `schedule.iteration`, `schedule.epoch`, `schedule.plateau.*` | learning-rate schedule progress ([`Checkpoint::put_schedule_state`]) |
//! | `rng.<name>` | an RNG state: four u64 as decimal numbers separated by commas ([`Checkpoint::set_rng`]) |
//! | anything else | the trainer's counters (e.g. `epoch`, `step`, `best_val_acc`) |
//!
//! Integers are stored as decimal strings, floats as Rust's shortest round-trip decimal
//! form (`inf`, `-inf` and `NaN` included), so every value reads back bit-exactly.
//!
//! Loading checks every tensor's bytes against its `pgcnn.crc32.*` entry and refuses a
//! mismatch, naming the tensor and the file: a bit flipped on disk or a value patched by
//! hand is an error rather than a model evaluated on damaged weights. Files of format
//! version `1` (written before the checksums) still load, with a note that their
//! tensors could not be checked ([`Integrity::Unchecked`]).
//!
//! Checkpoints are replaced atomically ([`write_atomic`]): a run killed at any moment
//! leaves either the previous checkpoint or the new one, plus at most a stale
//! `.<name>.tmp` file that the next write overwrites.

mod atomic;
mod checksum;
mod codec;
mod config_diff;
mod error;
mod state;

pub use atomic::{temp_path_for, write_atomic};
pub use checksum::{Integrity, CHECKSUM_PREFIX};
pub use config_diff::config_differences;
pub use error::{CheckpointError, ConfigDifference, Result};

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Header key whose value identifies the file as a pgcnn checkpoint.
pub const FORMAT_KEY: &str = "pgcnn.format";
/// The value of [`FORMAT_KEY`].
pub const FORMAT_NAME: &str = "pgcnn-checkpoint";
/// Header key of the format version.
pub const FORMAT_VERSION_KEY: &str = "pgcnn.format_version";
/// The format version this code writes (and reads): tensors with checksums.
pub const FORMAT_VERSION: &str = "2";
/// The earlier format version, without checksums, still read.
pub const FORMAT_VERSION_UNCHECKED: &str = "1";
/// Header key of the configuration (TOML text).
pub const CONFIG_KEY: &str = "pgcnn.config";
/// Metadata key of the pgcnn version that wrote the file (set by [`Checkpoint::new`]).
pub const VERSION_KEY: &str = "pgcnn.version";
/// Metadata key of the E(2) conventions the weights were trained with (set by
/// [`Checkpoint::new`] to [`O2_CONVENTION`]). Files without it were written before pgcnn
/// took the reference implementation's E(2) kernel-net coordinate and sample order
/// (docs/math.md §11): their E(2) models would compute something else now.
pub const O2_CONVENTION_KEY: &str = "pgcnn.o2_convention";
/// The value of [`O2_CONVENTION_KEY`]: the reference's conventions.
pub const O2_CONVENTION: &str = "reference";

/// One tensor of a checkpoint: a name, a shape and its values in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    /// The tensor's name (see the module documentation for the scheme).
    pub name: String,
    /// The shape; `data.len()` is its product.
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<f32>,
}

impl NamedTensor {
    /// A tensor whose data length must equal the product of `dims`.
    pub fn new(name: impl Into<String>, dims: Vec<usize>, data: Vec<f32>) -> Result<Self> {
        let t = NamedTensor {
            name: name.into(),
            dims,
            data,
        };
        t.validate()?;
        Ok(t)
    }

    fn validate(&self) -> Result<()> {
        if self.name.is_empty() || self.name == "__metadata__" {
            return Err(CheckpointError::Invalid(format!(
                "{:?} cannot be a tensor name",
                self.name
            )));
        }
        let numel = self.dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if numel != Some(self.data.len()) {
            return Err(CheckpointError::Invalid(format!(
                "tensor {:?}: shape {:?} does not hold {} values",
                self.name,
                self.dims,
                self.data.len()
            )));
        }
        Ok(())
    }
}

/// Everything needed to continue or evaluate a run: its configuration, counters and
/// tensors. See the module documentation for how it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The run's configuration as TOML text, stored verbatim.
    pub config_toml: String,
    /// Counters and state as strings (format version, epoch, step, RNG state, best
    /// validation accuracy, ...). The keys `pgcnn.format`, `pgcnn.format_version`,
    /// `pgcnn.config` and `pgcnn.crc32.*` are reserved.
    pub metadata: BTreeMap<String, String>,
    /// The tensors, names unique. Loading returns them sorted by name.
    pub tensors: Vec<NamedTensor>,
}

impl Checkpoint {
    /// An empty checkpoint of a run with this configuration, its metadata holding
    /// [`VERSION_KEY`] = the version of this crate.
    pub fn new(config_toml: impl Into<String>) -> Self {
        let mut metadata = BTreeMap::new();
        metadata.insert(
            VERSION_KEY.to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        );
        metadata.insert(O2_CONVENTION_KEY.to_string(), O2_CONVENTION.to_string());
        Checkpoint {
            config_toml: config_toml.into(),
            metadata,
            tensors: Vec::new(),
        }
    }

    /// Adds a tensor; its name must be new and its data must fit its shape.
    pub fn push(&mut self, tensor: NamedTensor) -> Result<()> {
        tensor.validate()?;
        if self.tensor(&tensor.name).is_some() {
            return Err(CheckpointError::Invalid(format!(
                "tensor {:?} is stored twice",
                tensor.name
            )));
        }
        self.tensors.push(tensor);
        Ok(())
    }

    /// The tensor called `name`, if any.
    pub fn tensor(&self, name: &str) -> Option<&NamedTensor> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The tensor called `name`, or [`CheckpointError::Missing`].
    pub fn require_tensor(&self, name: &str) -> Result<&NamedTensor> {
        self.tensor(name)
            .ok_or_else(|| CheckpointError::Missing(format!("tensor {name:?}")))
    }

    /// The safetensors bytes of this checkpoint.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        codec::encode(self)
    }

    /// Parses and validates checkpoint bytes. Never panics and allocates no more than
    /// about the input's length, whatever the input: bad length prefixes, headers that
    /// are not UTF-8 or JSON, dtypes other than F32, overlapping, out-of-bounds or
    /// ill-sized byte ranges, tensors whose bytes do not match their checksums, and files
    /// without the pgcnn header entries are errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Self::from_bytes_with_integrity(bytes)?.0)
    }

    /// [`Checkpoint::from_bytes`], also saying whether the tensors were checked against
    /// stored checksums (a format version 1 file has none).
    pub fn from_bytes_with_integrity(bytes: &[u8]) -> Result<(Self, Integrity)> {
        codec::decode(bytes, "checkpoint bytes")
    }

    /// Writes the checkpoint to `path` atomically ([`write_atomic`]).
    pub fn save_atomic(&self, path: &Path) -> Result<()> {
        let bytes = self.to_bytes()?;
        write_atomic(path, &bytes)
    }

    /// Reads and validates the checkpoint at `path`. A file written before checkpoints
    /// carried checksums loads with a one-line note on stderr saying that its tensors
    /// could not be checked.
    pub fn load(path: &Path) -> Result<Self> {
        let (checkpoint, integrity) = Self::load_with_integrity(path)?;
        if let Some(note) = integrity.note(&path.display().to_string()) {
            eprintln!("note: {note}");
        }
        Ok(checkpoint)
    }

    /// [`Checkpoint::load`] without the note: returns whether the tensors were checked
    /// against stored checksums. The header length is checked against the file's size
    /// before the file is read.
    pub fn load_with_integrity(path: &Path) -> Result<(Self, Integrity)> {
        let mut file = File::open(path).map_err(|e| CheckpointError::io("opening", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| CheckpointError::io("reading", path, e))?
            .len();
        let mut prefix = [0u8; 8];
        if len < 8 {
            return Err(CheckpointError::corrupt(
                path.display().to_string(),
                format!("{len} bytes, shorter than the 8-byte header length"),
            ));
        }
        file.read_exact(&mut prefix)
            .map_err(|e| CheckpointError::io("reading", path, e))?;
        codec::check_claimed_header(u64::from_le_bytes(prefix), len - 8)
            .map_err(|r| CheckpointError::corrupt(path.display().to_string(), r))?;
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        bytes.extend_from_slice(&prefix);
        file.read_to_end(&mut bytes)
            .map_err(|e| CheckpointError::io("reading", path, e))?;
        codec::decode(&bytes, &path.display().to_string())
    }

    /// Checks that the checkpoint was written with the configuration `expected_toml`
    /// (compared as parsed TOML, see [`config_differences`]); otherwise
    /// [`CheckpointError::ConfigMismatch`] lists every differing dotted key with both
    /// values.
    pub fn check_config(&self, expected_toml: &str) -> Result<()> {
        let diffs = config_differences(&self.config_toml, expected_toml)?;
        if diffs.is_empty() {
            Ok(())
        } else {
            Err(CheckpointError::ConfigMismatch(diffs))
        }
    }

    /// Checks names, shapes and reserved keys before writing.
    fn validate(&self) -> Result<()> {
        let reserved = |k: &str| {
            [FORMAT_KEY, FORMAT_VERSION_KEY, CONFIG_KEY].contains(&k)
                || k.starts_with(CHECKSUM_PREFIX)
        };
        if let Some(key) = self.metadata.keys().find(|k| reserved(k)) {
            return Err(CheckpointError::Invalid(format!(
                "metadata key {key:?} is reserved (set by the writer)"
            )));
        }
        let mut names = std::collections::BTreeSet::new();
        for t in &self.tensors {
            t.validate()?;
            if !names.insert(t.name.as_str()) {
                return Err(CheckpointError::Invalid(format!(
                    "tensor {:?} is stored twice",
                    t.name
                )));
            }
        }
        Ok(())
    }
}
