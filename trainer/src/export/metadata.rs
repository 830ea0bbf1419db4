//! What the exported file says about itself (`ModelProto.metadata_props`): which group
//! elements every convolution was sampled at and why those, the layout of the activations,
//! what the input must be, and where the model came from. docs/export.md lists the keys.

use super::proto::StringStringEntryProto;
use pgcnn_core::group::PartialReport;
use pgcnn_core::GroupKind;
use serde_json::{json, Value};

/// The value of `pgcnn.elements.choice`: how the fixed elements were chosen.
pub const CHOICE: &str = "most-likely";

/// The value of `pgcnn.elements.rule`: the most-likely choice, spelled out.
pub const RULE: &str = "the elements of pgcnn's most-likely evaluation \
    (`--eval-mode most-likely`, ForwardCtx::most_likely), drawn once: every grid of \
    rotations without its random offset (the lifting layer and layers that are not \
    partial: 2π·i/N_r, i = 0..N_r-1; a partial layer with a learned θ: \
    θ·(-π + 2π·i/N'), N' = ⌈N_r·|θ|⌉), a partial layer keeping exactly the rotations \
    (and the mirror) whose learned keep probability is above 0.5, the identity always; \
    E(2) samples are the rotations with mirror +1, then the same rotations mirrored";

/// The value of `pgcnn.layout`.
pub const LAYOUT: &str = "every activation between the lifting layer and the global \
    pooling is [batch, C·N, H, W]: channel c·N + n holds channel c on element n of the \
    layer's elements (pgcnn's [batch, C, N, H, W] with its two middle axes merged); each \
    group convolution is one Conv with weight [Cout·Nout, Cin·Nin, k, k], its kernels \
    sampled at the fixed elements and masked to the disc";

/// Format version of the metadata (`pgcnn.export.format_version`).
pub const FORMAT_VERSION: &str = "1";

/// The fixed elements one convolution's output lives on.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerElements {
    /// The layer, named as its parameters are (`lift`, `blocks.0.conv1`, `last`, ...).
    pub layer: String,
    /// The group.
    pub group: GroupKind,
    /// Rotation angles in radians, in [0, 2π).
    pub rotations: Vec<f64>,
    /// Whether each element is mirrored (E(2); all false otherwise).
    pub mirrored: Vec<bool>,
    /// What a partial layer had learned, from which its elements follow.
    pub learned: Option<PartialReport>,
}

impl LayerElements {
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.rotations.len()
    }
    /// Never true: a layer has at least one element.
    pub fn is_empty(&self) -> bool {
        self.rotations.is_empty()
    }

    /// The JSON value of `pgcnn.elements.<layer>`.
    pub fn to_json(&self) -> Value {
        let learned = self.learned.as_ref().map_or(Value::Null, |r| {
            json!({
                "theta": r.theta,
                "rotation_keep_probabilities": r.rotation_keep,
                "mirror_keep_probability": r.mirror_keep,
            })
        });
        json!({
            "group": self.group.name(),
            "count": self.len(),
            "angles_degrees": self
                .rotations
                .iter()
                .map(|r| round_degrees(r.to_degrees()))
                .collect::<Vec<_>>(),
            "angles_radians": self.rotations,
            "mirrored": self.mirrored,
            "partial": learned,
        })
    }
}

/// Degrees to 1e-9, so that 90° reads 90 and not 89.99999999999999.
fn round_degrees(d: f64) -> f64 {
    (d * 1e9).round() / 1e9
}

/// Where the model came from and what its input is, for the metadata.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Provenance {
    /// The checkpoint exported, as given.
    pub checkpoint: Option<String>,
    /// The run's config as TOML.
    pub config_toml: Option<String>,
    /// What the input images are (pixel scale, normalisation).
    pub input: String,
}

/// The metadata entries of an exported model, keys in a fixed order.
pub fn metadata(
    net: &str,
    group: GroupKind,
    layers: &[LayerElements],
    provenance: &Provenance,
) -> Vec<StringStringEntryProto> {
    let mut entries: Vec<(String, String)> = vec![
        ("pgcnn.export.format_version".into(), FORMAT_VERSION.into()),
        ("pgcnn.version".into(), env!("CARGO_PKG_VERSION").into()),
        ("pgcnn.net".into(), net.into()),
        ("pgcnn.group".into(), group.name().into()),
        ("pgcnn.layout".into(), LAYOUT.into()),
        ("pgcnn.input".into(), provenance.input.clone()),
        ("pgcnn.elements.choice".into(), CHOICE.into()),
        ("pgcnn.elements.rule".into(), RULE.into()),
        (
            "pgcnn.elements.layers".into(),
            layers
                .iter()
                .map(|l| l.layer.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
    ];
    for l in layers {
        entries.push((
            format!("pgcnn.elements.{}", l.layer),
            l.to_json().to_string(),
        ));
    }
    if let Some(c) = &provenance.checkpoint {
        entries.push(("pgcnn.checkpoint".into(), c.clone()));
    }
    if let Some(c) = &provenance.config_toml {
        entries.push(("pgcnn.config".into(), c.clone()));
    }
    entries
        .into_iter()
        .map(|(key, value)| StringStringEntryProto { key, value })
        .collect()
}
