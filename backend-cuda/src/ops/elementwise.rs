//! Unary and binary elementwise maps.

use crate::device::Cuda;
use crate::error::backend_err;
use crate::kernels::{binary_code, unary_code};
use crate::layout::{coalesce_broadcast, fits_u32, max_offset, BroadcastArgs};
use crate::storage::CudaStorage;
use pgcnn_core::backend::{BinaryOp, BroadcastLayout, UnaryOp};
use pgcnn_core::{Element, Result};

impl Cuda {
    pub(crate) fn unary_impl<E: Element>(
        &self,
        op: UnaryOp<E>,
        x: &CudaStorage<E>,
    ) -> Result<CudaStorage<E>> {
        let n = x.len();
        let y = self.alloc::<E>("unary", n)?;
        if n > 0 {
            let (code, s) = unary_code(op);
            // unary_T(const T* x, T* y, u64 n, int op, double s)
            let args = (x.ptr(), y.ptr(), n as u64, code, s);
            self.launch("unary", &self.k::<E>().unary, self.grid_1d(n), args)?;
        }
        Ok(y)
    }

    pub(crate) fn binary_impl<E: Element>(
        &self,
        op: BinaryOp,
        a: &CudaStorage<E>,
        b: &CudaStorage<E>,
        layout: &BroadcastLayout,
    ) -> Result<CudaStorage<E>> {
        const OP: &str = "binary";
        let rank = layout.out_dims.len();
        if layout.a_strides.len() != rank || layout.b_strides.len() != rank {
            return Err(backend_err(
                OP,
                format!(
                    "layout has {rank} dims but {} and {} strides",
                    layout.a_strides.len(),
                    layout.b_strides.len()
                ),
            ));
        }
        let n = layout.numel();
        let y = self.alloc::<E>(OP, n)?;
        if n == 0 {
            return Ok(y);
        }
        // Never read past an operand, whatever the layout says.
        for (name, s, strides) in [("a", a, &layout.a_strides), ("b", b, &layout.b_strides)] {
            let need = max_offset(&layout.out_dims, strides) + 1;
            if s.len() < need {
                return Err(backend_err(
                    OP,
                    format!(
                        "operand {name} holds {} elements, the layout reads {need}",
                        s.len()
                    ),
                ));
            }
        }
        let code = binary_code(op);
        let k = self.k::<E>();
        let (dims, sa, sb) =
            coalesce_broadcast(&layout.out_dims, &layout.a_strides, &layout.b_strides);
        let cfg = self.grid_1d(n);
        if dims.len() <= 1
            && sa.first().copied().unwrap_or(1) == 1
            && sb.first().copied().unwrap_or(1) == 1
        {
            // binary_same_T(const T* a, const T* b, T* y, u64 n, int op)
            let args = (a.ptr(), b.ptr(), y.ptr(), n as u64, code);
            self.launch(OP, &k.binary_same, cfg, args)?;
            return Ok(y);
        }
        let too_many = || {
            backend_err(
                OP,
                format!(
                    "{} axes remain after merging (dims {:?}); at most {} are supported",
                    dims.len(),
                    layout.out_dims,
                    crate::kernels::MAX_RANK
                ),
            )
        };
        if fits_u32(n.max(a.len()).max(b.len())) {
            let l = BroadcastArgs::<u32>::new(&dims, &sa, &sb).ok_or_else(too_many)?;
            // binary_bcast_i32_T(const T* a, const T* b, T* y, u32 n, int op, Broadcast<u32> l)
            let args = (a.ptr(), b.ptr(), y.ptr(), n as u32, code, l);
            self.launch(OP, &k.binary_bcast_i32, cfg, args)?;
        } else {
            let l = BroadcastArgs::<u64>::new(&dims, &sa, &sb).ok_or_else(too_many)?;
            let args = (a.ptr(), b.ptr(), y.ptr(), n as u64, code, l);
            self.launch(OP, &k.binary_bcast_i64, cfg, args)?;
        }
        Ok(y)
    }
}
