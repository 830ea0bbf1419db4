//! Measuring a model on a split, as training's validation and test and `pgcnn eval` all
//! do: the transformations of the inputs ([`transforms`]), the draws an evaluation
//! averages ([`Draws`]) and the measurement itself ([`measure()`]). See
//! docs/evaluation.md.

mod draws;
mod measure;
pub mod transforms;

pub use draws::{Draws, DEFAULT_EVAL_DRAWS};
pub use measure::{
    draw_seed, measure, relative_error, Measurements, Plan, Spread, Stopped, TransformEvaluation,
};
pub use transforms::Transform;
