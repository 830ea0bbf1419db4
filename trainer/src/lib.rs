//! The pgcnn trainer library.
pub mod bench;
pub mod config;
pub mod data;
pub mod model_config;
