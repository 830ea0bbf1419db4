//! The pgcnn trainer library.
pub mod bench;
pub mod config;
