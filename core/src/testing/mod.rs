//! Tools for testing ops and backends: finite-difference gradient checks and random
//! tensors. Public so that backend crates and the cross-crate tests share them.

mod gradcheck;
mod values;

pub use gradcheck::{check_gradients, GradCheck};
pub use values::{random_tensor, tolerance_ratio};
