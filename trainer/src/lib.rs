//! The pgcnn trainer as a library: the command line, datasets, configs, the training
//! loop, benchmarks and the ONNX export. `main.rs` only calls [`cli::main`], so tests and fuzz targets
//! reach everything here directly.

pub mod bench;
pub mod bench_model;
pub mod checkpoint;
pub mod cli;
pub mod common;
pub mod config;
pub mod data;
pub mod device;
pub mod eval;
pub mod evaluation;
pub mod export;
pub mod heap_policy;
pub mod interop;
pub mod metrics;
pub mod model_config;
pub mod report;
pub mod threads;
pub mod train;
