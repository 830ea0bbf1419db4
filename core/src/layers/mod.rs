//! The layers of partial group convolutional networks (docs/math.md §5–§6): lifting, group
//! and pointwise group convolutions with continuous kernels, pooling and norms on maps over
//! the group.
//!
//! Every layer maps a [`GroupMap`] (a tensor `[B, C, N, H, W]` plus the N sampled group
//! elements its samples belong to) to another; the lifting convolution takes an image
//! `[B, C, H, W]`. Randomness (element draws, keep-or-drop decisions, dropout), the
//! training flag and the Gumbel temperature travel in a [`ForwardCtx`], so layers are
//! used through `&self` (norms with running statistics through `&mut self`).
//!
//! Parameters are reached through [`LayerParams`]: each with a stable name and its
//! optimiser role ([`ParamRole`](crate::kernel::ParamRole): `Main`, `Omega0` for a
//! learned SIREN ω0, `Probs` for θ and keep logits of partial equivariance, which get
//! their own learning rate).
//!
//! ```
//! use pgcnn_core::layers::*;
//! use pgcnn_core::group::{GroupKind, SamplingMethod};
//! use pgcnn_core::kernel::{KernelNetConfig, KernelNetKind};
//! use pgcnn_core::{reference::Reference, rng::Rng, Padding, Tensor};
//! let b = Reference;
//! let mut rng = Rng::seed(0);
//! let kernel = KernelNetConfig::new(KernelNetKind::Siren, 8, 2);
//! let mut cfg = ConvConfig::new(1, 2, 3, GroupKind::Se2, 4, kernel);
//! cfg.sampling = SamplingMethod::Deterministic;
//! let lift = LiftingConv::<_, f64>::new(&b, cfg.clone(), &mut rng)?;
//! let gconv = GroupConv::new(&b, ConvConfig { in_channels: 2, ..cfg }, &mut rng)?;
//! let mut ctx = ForwardCtx::eval(Rng::seed(1));
//! let image = Tensor::<_, f64>::ones(&b, [1, 1, 6, 6])?;
//! let h = lift.forward(&image, &mut ctx)?.relu()?;
//! let h = gconv.forward(&h, &mut ctx)?;
//! assert_eq!(h.tensor().dims(), &[1, 2, 4, 6, 6]);
//! assert_eq!(h.global_max_pool()?.dims(), &[1, 2]);
//! # Ok::<(), pgcnn_core::Error>(())
//! ```

mod config;
mod conv_common;
mod ctx;
mod group_conv;
mod group_map;
mod lifting;
mod norm;
mod params;
mod pointwise;

pub use config::ConvConfig;
pub use ctx::ForwardCtx;
pub use group_conv::GroupConv;
pub use group_map::GroupMap;
pub use lifting::LiftingConv;
pub use norm::{GroupBatchNorm, GroupLayerNorm, PER_SAMPLE_NORM_EPS};
pub use params::LayerParams;
pub use pointwise::PointwiseGroupConv;
