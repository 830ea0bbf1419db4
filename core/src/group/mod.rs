//! Groups, sampled group elements and the coordinates kernel nets see (docs/math.md §1–§5).
//!
//! Two levels:
//!
//! - **Host math** ([`Group`], with [`T2`], [`Se2`], [`E2`]): the group law in f64, the
//!   definition everything else is tested against, and what equivariance tests use to
//!   transform inputs. [`KernelGrid`] is the k × k kernel grid and its circular mask.
//! - **Tensors**: [`Elements`] holds sampled elements as tensors, so that gradients reach
//!   the parameters they were drawn with. The functions a layer needs:
//!
//! | layer (docs/math.md §6) | elements                                   | kernel-net input |
//! |-------------------------|--------------------------------------------|------------------|
//! | lifting convolution     | [`sample_group`] (never partial)           | [`acted_grid`] `[N, k, k, 2]` |
//! | group convolution       | input's, [`sample_group`], or [`PartialEquivariance::sample`] | [`group_conv_coords`] `[Nout, Nin, k, k, 2+s]` |
//! | pointwise group conv    | as the group convolution (never partial)   | [`relative_coords`] `[Nout, Nin, s]` |
//!
//! With per-batch-element sampling every tensor gets a leading batch axis `[B, ..]`.
//! Reshape the input to `[P, d]` for the kernel net (see [`crate::kernel`]); its output
//! `[P, Cout·Cin]` then reads as `[.., Cout, Cin]` behind the position axes. Multiply
//! kernels by [`KernelGrid::mask_tensor`] (`[k, k]`, the same for every element, since
//! every A(h) is orthogonal). A partial layer also multiplies its output samples by the
//! gates of its [`PartialSample`] (see there).
//!
//! ```
//! use pgcnn_core::group::*;
//! use pgcnn_core::{reference::Reference, rng::Rng};
//! let mut rng = Rng::seed(0);
//! let b = Reference;
//! let grid = KernelGrid::new(5)?;
//! // A lifting layer's elements and its kernel-net input.
//! let lift = sample_group::<_, f64>(&b, GroupKind::Se2, 4, SamplingMethod::Random, None, &mut rng)?;
//! assert_eq!(acted_grid(&lift, &grid)?.dims(), &[4, 5, 5, 2]);
//! // A partial group convolution on top of it.
//! let partial = PartialEquivariance::new(&b, PartialConfig::new(GroupKind::Se2, 4, SamplingMethod::Random))?;
//! let drawn = partial.sample(None, KeepMode::Sample { temperature: 0.5 }, &mut rng)?;
//! let coords = group_conv_coords(&drawn.elements, &lift, &grid)?;
//! assert_eq!(coords.dims(), &[4, 4, 5, 5, 3]); // θ = 1: N' = N
//! # Ok::<(), pgcnn_core::Error>(())
//! ```

mod bernoulli;
mod concat;
mod elements;
mod grid;
mod kind;
mod math;
mod partial;
mod relative;
mod sampling;

pub use bernoulli::{
    logistic_noise, relaxed_bernoulli, straight_through, KeepDraw, KeepParameterisation,
    TemperatureSchedule,
};
pub use concat::{concat_last, stack_last};
pub use elements::Elements;
pub use grid::{acted_grid, KernelGrid, MASK_TOLERANCE};
pub use kind::GroupKind;
pub use math::{
    angle_distance, mat_mul, mat_vec, rotation_matrix, wrap_angle, Group, Matrix2, RotoReflection,
    Se2, E2, T2,
};
pub use partial::{
    monotonic_loss, partial_rotations, rotation_count, KeepMode, PartialConfig,
    PartialEquivariance, PartialReport, PartialSample,
};
pub use relative::{group_conv_coords, relative_coords};
pub use sampling::{rotation_grid, sample_group, SamplingMethod};
