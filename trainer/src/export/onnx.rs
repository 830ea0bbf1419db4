//! A model as an ONNX file: the lowered graph ([`super::lower`]), its input and output,
//! the operator set and the metadata ([`super::metadata`]).

use super::graph::{float_value, Dim};
use super::lower::lower;
use super::metadata::{metadata, LayerElements, Provenance};
use super::proto::{ModelProto, OperatorSetIdProto};
use anyhow::Result;
use pgcnn_core::models::{Model, NetKind};
use pgcnn_core::Backend;
use prost::Message;

/// ONNX IR version 8 (ONNX 1.10 and later read it).
pub const IR_VERSION: i64 = 8;
/// The default (`ai.onnx`) operator set: 17 (every operator used is the same from 13 to
/// 17; ReduceMean and ReduceMax take their axes as an attribute there).
pub const OPSET: i64 = 17;

/// An exported model.
#[derive(Clone, Debug, PartialEq)]
pub struct Exported {
    /// The ONNX model.
    pub model: ModelProto,
    /// The fixed elements of every convolution, in network order (also in the metadata).
    pub layers: Vec<LayerElements>,
}

impl Exported {
    /// The bytes of the `.onnx` file.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.model.encode_to_vec()
    }
}

/// `model` (a CKResNet or a GCNN, in f32) as a plain CNN in ONNX: input `images`
/// `[batch, C, H, W]`, output `logits` `[batch, classes]`, every group convolution's
/// kernel sampled once at the elements of the most-likely evaluation.
pub fn export_onnx<B: Backend>(
    backend: &B,
    model: &Model<B, f32>,
    provenance: &Provenance,
) -> Result<Exported> {
    let cfg = model.config();
    let lowered = lower(backend, model)?;
    let [h, w] = cfg.image_hw;
    let input = float_value(
        &lowered.input,
        &[
            Dim::Named("batch"),
            Dim::Fixed(cfg.in_channels),
            Dim::Fixed(h),
            Dim::Fixed(w),
        ],
        &provenance.input,
    );
    let output = float_value(
        &lowered.output,
        &[Dim::Named("batch"), Dim::Fixed(cfg.classes)],
        "the logits (no softmax)",
    );
    let net = if cfg.net == NetKind::Gcnn {
        "GCNN"
    } else {
        "CKResNet"
    };
    let doc = format!(
        "pgcnn {net} ({}, {}) as a plain CNN at fixed group elements: {} \
         (the most-likely choice; see metadata pgcnn.elements.*)",
        cfg.conv.group.name(),
        if cfg.conv.partial {
            "partial"
        } else {
            "not partial"
        },
        lowered
            .layers
            .iter()
            .map(|l| format!("{} {}", l.layer, l.len()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let graph = lowered.graph.finish("pgcnn", &doc, input, output);
    let model = ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "pgcnn".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        domain: String::new(),
        model_version: 1,
        doc_string: doc,
        graph: Some(graph),
        metadata_props: metadata(net, cfg.conv.group, &lowered.layers, provenance),
    };
    Ok(Exported {
        model,
        layers: lowered.layers,
    })
}
