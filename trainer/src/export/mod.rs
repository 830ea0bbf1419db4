//! `pgcnn export`: a trained model as a plain CNN in ONNX, for runtimes that know nothing
//! of groups (onnxruntime, tract, ...).
//!
//! A partial G-CNN draws group elements while it evaluates; a plain CNN cannot. The export
//! fixes them once, at the elements of the most-likely evaluation (docs/evaluation.md):
//! every grid without its random offset, every partial layer keeping the elements its
//! learned keep probabilities favour. Each group convolution then becomes one `Conv`
//! whose kernel is the layer's kernel net sampled at those elements, and the network's
//! logits are those of `pgcnn eval --eval-mode most-likely`. The file's metadata records
//! the elements of every layer and the rule that chose them (docs/export.md).
//!
//! The parts, one idea a file: the ONNX messages ([`proto`]), building a graph
//! (`graph`), lowering a network layer by layer (`lower`), the metadata ([`metadata`]),
//! the file (`onnx`), and the command (`run`, `args`).
//!
//! ```no_run
//! use pgcnn::export::{export, ExportOptions};
//! let summary = export(&ExportOptions {
//!     source: "runs/demo-mnist6-180-partial".into(),
//!     onnx: "demo.onnx".into(),
//! })?;
//! print!("{}", summary.describe());
//! # Ok::<(), anyhow::Error>(())
//! ```

mod args;
mod graph;
mod lower;
pub mod metadata;
mod onnx;
pub mod proto;
mod run;

pub use args::{export_command, ExportArgs};
pub use metadata::{LayerElements, Provenance};
pub use onnx::{export_onnx, Exported, IR_VERSION, OPSET};
pub use run::{export, ExportOptions, ExportSummary};
