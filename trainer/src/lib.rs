//! The pgcnn trainer library.
pub mod bench;
pub mod data;
pub mod config;
