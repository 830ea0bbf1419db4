//! The pgcnn trainer library.
pub mod bench;
