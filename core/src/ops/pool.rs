//! 2×2 max pooling with stride 2 over the last two axes.

use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use alloc::vec;

impl<B: Backend, E: Element> Tensor<B, E> {
    /// 2×2 max pooling, stride 2, over the last two axes of a tensor of rank at least 2;
    /// every leading axis is a batch of planes, so `[B, C, H, W]` and group feature maps
    /// `[B, C, N, H, W]` pool alike. An odd last row or column is dropped (PyTorch's floor
    /// mode). The gradient of each window goes to its first maximum (row-major).
    pub fn max_pool2d(&self) -> Result<Self> {
        let dims = self.dims();
        let rank = dims.len();
        if rank < 2 {
            return Err(Error::bad_shape(
                "max_pool2d",
                dims,
                "pooling needs at least two axes (height and width)",
            ));
        }
        let (h, w) = (dims[rank - 2], dims[rank - 1]);
        if h < 2 || w < 2 {
            return Err(Error::bad_shape(
                "max_pool2d",
                dims,
                alloc::format!("a {h}x{w} plane is too small: pooling would go below 1x1"),
            ));
        }
        let planes: usize = dims[..rank - 2].iter().product();
        let y = self.backend().max_pool2d(self.storage(), planes, h, w)?;
        let mut out_dims = dims.to_vec();
        out_dims[rank - 2] = h / 2;
        out_dims[rank - 1] = w / 2;
        Ok(self.record(
            y,
            out_dims,
            &[self],
            move |xs: &[Tensor<B, E>], _: &Tensor<B, E>, g: &Tensor<B, E>| {
                let x = &xs[0];
                let dx = g
                    .backend()
                    .max_pool2d_backward(x.storage(), g.storage(), planes, h, w)?;
                Ok(vec![Some(g.with_storage(dx, x.shape().clone()))])
            },
        ))
    }
}
