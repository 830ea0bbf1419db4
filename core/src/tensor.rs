//! The tensor: a shared, immutable, contiguous buffer on a backend, its shape, and
//! (when it depends on a parameter) the op node that made it.

use crate::autodiff::{BackwardFn, Origin, ParamId};
use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// An n-dimensional array of `E` on backend `B`. Cloning is cheap (reference counted);
/// tensors are never mutated in place, every op returns a new one.
pub struct Tensor<B: Backend, E: Element = f32> {
    inner: Arc<Inner<B, E>>,
}

struct Inner<B: Backend, E: Element> {
    storage: Arc<B::Storage<E>>,
    shape: Shape,
    backend: B,
    origin: Option<Origin<B, E>>,
}

impl<B: Backend, E: Element> Clone for Tensor<B, E> {
    fn clone(&self) -> Self {
        Tensor {
            inner: self.inner.clone(),
        }
    }
}

impl<B: Backend, E: Element> core::fmt::Debug for Tensor<B, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Tensor<{}, {:?}>{:?}{}",
            self.inner.backend.name(),
            E::DTYPE,
            self.dims(),
            if self.requires_grad() { " (grad)" } else { "" }
        )
    }
}

impl<B: Backend, E: Element> Tensor<B, E> {
    /// Wraps a backend buffer. The buffer must hold exactly `shape.numel()` elements.
    pub fn from_storage(
        backend: &B,
        storage: B::Storage<E>,
        shape: impl Into<Shape>,
    ) -> Result<Self> {
        let shape = shape.into();
        let len = backend.len(&storage);
        if len != shape.numel() {
            return Err(Error::bad_shape(
                "from_storage",
                shape.dims(),
                alloc::format!("the buffer holds {len} elements"),
            ));
        }
        Ok(Self::make(backend.clone(), Arc::new(storage), shape, None))
    }

    fn make(
        backend: B,
        storage: Arc<B::Storage<E>>,
        shape: Shape,
        origin: Option<Origin<B, E>>,
    ) -> Self {
        Tensor {
            inner: Arc::new(Inner {
                storage,
                shape,
                backend,
                origin,
            }),
        }
    }

    /// Copies host data into a new tensor of the given shape.
    pub fn from_slice(backend: &B, data: &[E], shape: impl Into<Shape>) -> Result<Self> {
        let shape = shape.into();
        if data.len() != shape.numel() {
            return Err(Error::bad_shape(
                "from_slice",
                shape.dims(),
                alloc::format!("{} values were given", data.len()),
            ));
        }
        Self::from_storage(backend, backend.upload(data)?, shape)
    }

    /// Host `f64` values converted to `E`.
    pub fn from_f64s(backend: &B, data: &[f64], shape: impl Into<Shape>) -> Result<Self> {
        let v: Vec<E> = data.iter().map(|&x| E::from_f64(x)).collect();
        Self::from_slice(backend, &v, shape)
    }

    pub fn full(backend: &B, shape: impl Into<Shape>, value: E) -> Result<Self> {
        let shape = shape.into();
        Self::from_storage(backend, backend.full(shape.numel(), value)?, shape)
    }
    pub fn zeros(backend: &B, shape: impl Into<Shape>) -> Result<Self> {
        Self::full(backend, shape, E::zero())
    }
    pub fn ones(backend: &B, shape: impl Into<Shape>) -> Result<Self> {
        Self::full(backend, shape, E::one())
    }
    /// A rank-0 tensor.
    pub fn scalar(backend: &B, value: E) -> Result<Self> {
        Self::full(backend, Shape(Vec::new()), value)
    }

    pub fn shape(&self) -> &Shape {
        &self.inner.shape
    }
    pub fn dims(&self) -> &[usize] {
        self.inner.shape.dims()
    }
    pub fn rank(&self) -> usize {
        self.inner.shape.rank()
    }
    pub fn numel(&self) -> usize {
        self.inner.shape.numel()
    }
    pub fn backend(&self) -> &B {
        &self.inner.backend
    }
    pub fn storage(&self) -> &B::Storage<E> {
        &self.inner.storage
    }

    /// Copies the values to the host.
    pub fn to_vec(&self) -> Result<Vec<E>> {
        self.inner.backend.download(&self.inner.storage)
    }
    /// The single value of a one-element tensor.
    pub fn to_scalar(&self) -> Result<E> {
        if self.numel() != 1 {
            return Err(Error::bad_shape(
                "to_scalar",
                self.dims(),
                "it has more than one element",
            ));
        }
        Ok(self.to_vec()?[0])
    }

    /// True when gradients flow back through this tensor to some parameter.
    pub fn requires_grad(&self) -> bool {
        self.inner.origin.is_some()
    }

    /// The same values, cut from the graph: no gradient flows through the result.
    pub fn detach(&self) -> Self {
        if self.inner.origin.is_none() {
            return self.clone();
        }
        Self::make(
            self.inner.backend.clone(),
            self.inner.storage.clone(),
            self.inner.shape.clone(),
            None,
        )
    }

    /// The same values under another shape with the same number of elements (free:
    /// the buffer is shared).
    pub fn reshape(&self, shape: impl Into<Shape>) -> Result<Self> {
        let shape = shape.into();
        if shape.numel() != self.numel() {
            return Err(Error::mismatch(
                "reshape",
                self.dims(),
                shape.dims(),
                "element counts differ",
            ));
        }
        let from = self.inner.shape.clone();
        let storage = self.inner.storage.clone();
        Ok(self.record_shared(
            storage,
            shape,
            &[self],
            move |_: &[Tensor<B, E>], _: &Tensor<B, E>, g: &Tensor<B, E>| {
                Ok(alloc::vec![Some(g.reshape(from.clone())?)])
            },
        ))
    }

    /// Identity of this tensor node (valid while it is alive).
    pub(crate) fn node_id(&self) -> usize {
        Arc::as_ptr(&self.inner) as *const u8 as usize
    }
    pub(crate) fn origin(&self) -> Option<&Origin<B, E>> {
        self.inner.origin.as_ref()
    }

    /// A parameter leaf: the same values, marked so that gradients are collected for `id`.
    pub(crate) fn as_param_leaf(&self, id: ParamId) -> Self {
        Self::make(
            self.inner.backend.clone(),
            self.inner.storage.clone(),
            self.inner.shape.clone(),
            Some(Origin::Param(id)),
        )
    }

    /// Makes the result of an op from a fresh buffer. When any input requires a gradient,
    /// the result remembers the inputs and `backward`, which maps (inputs, output, output
    /// gradient) to one gradient per input (`None` for inputs it does not differentiate).
    /// Inputs and output reach `backward` detached, so backward work records nothing.
    pub fn record(
        &self,
        storage: B::Storage<E>,
        shape: impl Into<Shape>,
        inputs: &[&Tensor<B, E>],
        backward: impl BackwardFn<B, E> + 'static,
    ) -> Self {
        self.record_shared(Arc::new(storage), shape.into(), inputs, backward)
    }

    fn record_shared(
        &self,
        storage: Arc<B::Storage<E>>,
        shape: Shape,
        inputs: &[&Tensor<B, E>],
        backward: impl BackwardFn<B, E> + 'static,
    ) -> Self {
        let origin = if inputs.iter().any(|t| t.requires_grad()) {
            Some(Origin::Op {
                inputs: inputs.iter().map(|t| (*t).clone()).collect(),
                backward: Box::new(backward),
            })
        } else {
            None
        };
        Self::make(self.inner.backend.clone(), storage, shape, origin)
    }

    /// Builds a tensor on the same backend from a fresh buffer, with no graph.
    pub fn with_storage(&self, storage: B::Storage<E>, shape: impl Into<Shape>) -> Self {
        Self::make(
            self.inner.backend.clone(),
            Arc::new(storage),
            shape.into(),
            None,
        )
    }
}
