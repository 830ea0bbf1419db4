//! pgcnn-core: tensors, the [`Backend`] trait, reverse-mode autodiff and the building
//! blocks of partial group convolutional networks (Romero & Lohit, NeurIPS 2022).
//!
//! The core is `#![no_std]` + `alloc`: it knows no hardware, files or threads.
//! Backends (the CPU one in `pgcnn-cpu`, the CUDA one in `pgcnn-cuda`) implement the
//! small [`Backend`] trait; everything else — gradients, layers, optimisers — is
//! written once against it. [`reference::Reference`] is the slow, obvious backend that
//! defines the right answer.
//!
//! ```
//! use pgcnn_core::{reference::Reference, Param, Tensor};
//! let b = Reference;
//! let w = Param::new(Tensor::<_, f64>::from_slice(&b, &[1.0, 2.0, 3.0], [3])?);
//! let x = Tensor::from_slice(&b, &[4.0, 5.0, 6.0], [3])?;
//! let loss = w.tensor().mul(&x)?.sum_all()?; // w · x
//! let grads = loss.backward()?;
//! assert_eq!(grads.get(&w).unwrap().to_vec()?, vec![4.0, 5.0, 6.0]);
//! # Ok::<(), pgcnn_core::Error>(())
//! ```
#![no_std]

extern crate alloc;

pub mod autodiff;
pub mod backend;
pub mod element;
pub mod equivariance;
pub mod error;
pub mod group;
pub mod kernel;
pub mod layers;
pub mod models;
#[cfg(feature = "ndarray")]
pub mod ndarray_interop;
mod ops;
pub mod optim;
pub mod reference;
pub mod rng;
pub mod shape;
pub mod tensor;
pub mod testing;

pub use autodiff::{Gradients, Param, ParamId};
pub use backend::Backend;
pub use element::{DType, Element};
pub use error::{Error, Result};
pub use group::{Elements, GroupKind};
pub use kernel::{KernelNet, KernelNetwork, ParamRole};
pub use ops::norm::RunningStats;
pub use ops::{Conv2dOptions, Padding};
pub use optim::{clip_grad_norm, Optimizer, ParamGroup, Schedule};
pub use shape::Shape;
pub use tensor::Tensor;

/// The [ndarray](https://docs.rs/ndarray) crate the conversions of [`ndarray_interop`] are
/// written against (cargo feature `ndarray`), so that callers name the same version.
#[cfg(feature = "ndarray")]
pub use ndarray;
