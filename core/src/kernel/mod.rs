//! Continuous kernel nets (docs/math.md §7): small networks that map kernel-net coordinates
//! `[P, d]` (positions and relative group elements, see [`crate::group`]) to kernel values
//! `[P, Cout·Cin]`, read as `[P, Cout, Cin]` (out-major).
//!
//! Every net is a struct holding [`Param`](crate::Param)s and implements [`KernelNet`];
//! [`KernelNetwork`] picks one from a [`KernelNetConfig`] at run time. Initialisation
//! draws from the [`Rng`](crate::rng::Rng) passed in, so a seed fixes it.
//!
//! ```
//! use pgcnn_core::kernel::*;
//! use pgcnn_core::{reference::Reference, rng::Rng, Tensor};
//! let mut rng = Rng::seed(1);
//! let cfg = KernelNetConfig::new(KernelNetKind::Siren, 16, 3);
//! let net = KernelNetwork::<_, f64>::new(&Reference, &cfg, 3, 4 * 2, &mut rng)?;
//! let coords = Tensor::zeros(&Reference, [10, 3])?;
//! assert_eq!(net.forward(&coords)?.dims(), &[10, 8]);
//! # Ok::<(), pgcnn_core::Error>(())
//! ```

mod dense;
mod mfn;
mod mlp;
mod net;
mod network;
mod siren;

pub use mfn::{FilterKind, Mfn, MfnInit};
pub use mlp::{Activation, KernelNorm, Mlp};
pub use net::{KernelNet, ParamRole};
pub use network::{KernelNetConfig, KernelNetKind, KernelNetwork};
pub use siren::Siren;
