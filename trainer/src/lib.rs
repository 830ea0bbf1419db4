//! The pgcnn trainer library.
pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod metrics;
pub mod report;
