//! Conversions between tensors and [`ndarray`] arrays, for programs that hold their data
//! in ndarray (cargo feature `ndarray`, off by default; the core stays `no_std`: ndarray
//! is used without its `std` feature).
//!
//! - [`Tensor::from_ndarray`]`(backend, &array)` copies an array of any dimension and any
//!   memory layout (a transposed view, a slice with steps, negative strides) into a new
//!   tensor of the same shape; the tensor is row-major as always.
//! - [`Tensor::to_ndarray`] copies a tensor to the host as an [`ArrayD`] (dynamic
//!   dimension), [`Tensor::to_ndarray_dim`] as an array of a fixed dimension (`Ix2`,
//!   `Ix4`, ...), an error when the ranks differ.
//!
//! The crate re-exports the ndarray it was built with as `pgcnn_core::ndarray`, so that
//! callers name the same version.
//!
//! ```
//! use pgcnn_core::ndarray::{array, Array2, Axis};
//! use pgcnn_core::{reference::Reference, Tensor};
//! let b = Reference;
//! let a = array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]];
//! // A transposed view is copied in its logical (row-major) order.
//! let t = Tensor::from_ndarray(&b, &a.t())?;
//! assert_eq!(t.dims(), &[3, 2]);
//! assert_eq!(t.to_vec()?, vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
//! let back: Array2<f32> = t.to_ndarray_dim()?;
//! assert_eq!(back, a.t());
//! let sums = t.sum_axes(&[1], false)?; // [3]
//! assert_eq!(sums.to_ndarray()?, a.t().sum_axis(Axis(1)).into_dyn());
//! # Ok::<(), pgcnn_core::Error>(())
//! ```

use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;
use ndarray::{Array, ArrayBase, ArrayD, Data, Dimension, IxDyn};

impl<B: Backend, E: Element> Tensor<B, E> {
    /// Copies `array` (any dimension, any memory layout) into a new tensor of the same
    /// shape on `backend`. A standard-layout (row-major, contiguous) array is uploaded
    /// from its slice directly; any other is first gathered in logical order.
    pub fn from_ndarray<S, D>(backend: &B, array: &ArrayBase<S, D>) -> Result<Self>
    where
        S: Data<Elem = E>,
        D: Dimension,
    {
        let shape = array.shape().to_vec();
        match array.as_slice() {
            Some(values) => Tensor::from_slice(backend, values, shape),
            None => {
                let values: Vec<E> = array.iter().copied().collect();
                Tensor::from_slice(backend, &values, shape)
            }
        }
    }

    /// Copies the tensor to the host as an array of dynamic dimension, of the tensor's
    /// shape, in standard (row-major) layout.
    pub fn to_ndarray(&self) -> Result<ArrayD<E>> {
        let values = self.to_vec()?;
        ArrayD::from_shape_vec(IxDyn(self.dims()), values)
            .map_err(|e| Error::bad_shape("to_ndarray", self.dims(), format!("{e}")))
    }

    /// Copies the tensor to the host as an array of the fixed dimension `D` (`Ix1`,
    /// `Ix2`, ..., or `IxDyn`); an error when the tensor's rank is not `D`'s.
    pub fn to_ndarray_dim<D: Dimension>(&self) -> Result<Array<E, D>> {
        if let Some(rank) = D::NDIM {
            if rank != self.rank() {
                return Err(Error::bad_shape(
                    "to_ndarray_dim",
                    self.dims(),
                    format!(
                        "an array of dimension {rank} was asked for, the tensor has rank {}",
                        self.rank()
                    ),
                ));
            }
        }
        self.to_ndarray()?
            .into_dimensionality::<D>()
            .map_err(|e| Error::bad_shape("to_ndarray_dim", self.dims(), format!("{e}")))
    }
}
