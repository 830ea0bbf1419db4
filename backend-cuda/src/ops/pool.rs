//! 2×2 max pooling and its gradient.

use crate::device::Cuda;
use crate::error::backend_err;
use crate::storage::CudaStorage;
use pgcnn_core::{Element, Result};

impl Cuda {
    pub(crate) fn max_pool2d_impl<E: Element>(
        &self,
        x: &CudaStorage<E>,
        planes: usize,
        h: usize,
        w: usize,
    ) -> Result<CudaStorage<E>> {
        const OP: &str = "max_pool2d";
        if x.len() != planes * h * w {
            return Err(backend_err(
                OP,
                format!(
                    "input holds {} elements, [{planes}, {h}, {w}] needs {}",
                    x.len(),
                    planes * h * w
                ),
            ));
        }
        let n = planes * (h / 2) * (w / 2);
        let y = self.alloc::<E>(OP, n)?;
        if n > 0 {
            // max_pool_T(const T* x, T* y, u64 planes, u64 h, u64 w)
            let args = (x.ptr(), y.ptr(), planes as u64, h as u64, w as u64);
            self.launch(OP, &self.k::<E>().max_pool, self.grid_1d(n), args)?;
        }
        Ok(y)
    }

    pub(crate) fn max_pool2d_backward_impl<E: Element>(
        &self,
        x: &CudaStorage<E>,
        dy: &CudaStorage<E>,
        planes: usize,
        h: usize,
        w: usize,
    ) -> Result<CudaStorage<E>> {
        const OP: &str = "max_pool2d_backward";
        let n = planes * (h / 2) * (w / 2);
        if x.len() != planes * h * w || dy.len() != n {
            return Err(backend_err(
                OP,
                format!(
                    "x holds {} and dy {} elements; [{planes}, {h}, {w}] needs {} and {n}",
                    x.len(),
                    dy.len(),
                    planes * h * w
                ),
            ));
        }
        // Dropped odd edges and the losers of each window get zero.
        let dx = self.zeros::<E>(OP, planes * h * w)?;
        if n > 0 {
            // max_pool_backward_T(const T* x, const T* dy, T* dx, u64 planes, u64 h, u64 w)
            let args = (
                x.ptr(),
                dy.ptr(),
                dx.ptr(),
                planes as u64,
                h as u64,
                w as u64,
            );
            self.launch(OP, &self.k::<E>().max_pool_backward, self.grid_1d(n), args)?;
        }
        Ok(dx)
    }
}
