//! The flags of `pgcnn export` and the command itself (the CLI's `Command::Export` calls
//! [`export_command`]).
//!
//! The flags' doc comments are clap's `--help` text: brackets there (`[batch, C, H, W]`)
//! are shapes, not links.
#![allow(rustdoc::broken_intra_doc_links)]

use super::run::{export, ExportOptions};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

/// `pgcnn export RUN_DIR_OR_CHECKPOINT --onnx FILE`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// A run directory (its best.safetensors is exported) or a checkpoint file.
    #[arg(value_name = "RUN_DIR_OR_CHECKPOINT")]
    pub source: PathBuf,
    /// Write the model to FILE as ONNX (opset 17): a plain CNN of Conv,
    /// BatchNormalization, Relu, MaxPool, Add, reductions and Gemm, each group
    /// convolution's kernel sampled once at the elements of the most-likely evaluation
    /// (as `pgcnn eval --eval-mode most-likely`), which the file's metadata lists
    /// (docs/export.md). Input `images` [batch, C, H, W] as pgcnn's data loader gives
    /// them, output `logits` [batch, classes].
    #[arg(long, value_name = "FILE")]
    pub onnx: PathBuf,
}

/// Runs `pgcnn export`: writes the file and prints what it holds.
pub fn export_command(args: ExportArgs) -> Result<()> {
    let summary = export(&ExportOptions {
        source: args.source,
        onnx: args.onnx,
    })?;
    print!("{}", summary.describe());
    Ok(())
}
