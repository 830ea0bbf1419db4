//! Fused optimiser updates: the override of `Backend::adam_update`, one launch per
//! parameter instead of the fifteen maps of the provided body (kernels/optim.cu).

use crate::device::Cuda;
use crate::storage::CudaStorage;
use cudarc::driver::DeviceRepr;
use pgcnn_core::backend::{AdamHyper, AdamUpdated, Moments};
use pgcnn_core::{Element, Result};

/// The update's constants, each rounded to the element type as the provided body rounds
/// it: the C++ `AdamArgs` of kernels/optim.cu.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
struct AdamArgs {
    weight_decay: f64,
    beta1: f64,
    one_minus_beta1: f64,
    beta2: f64,
    one_minus_beta2: f64,
    inv_bias_correction2_sqrt: f64,
    eps: f64,
    neg_step_size: f64,
}

// SAFETY: eight f64, laid out as the C++ struct.
unsafe impl DeviceRepr for AdamArgs {}

impl AdamArgs {
    fn new<E: Element>(h: &AdamHyper) -> Self {
        let r = |v: f64| E::from_f64(v).to_f64();
        AdamArgs {
            weight_decay: r(h.weight_decay),
            beta1: r(h.beta1),
            one_minus_beta1: r(1.0 - h.beta1),
            beta2: r(h.beta2),
            one_minus_beta2: r(1.0 - h.beta2),
            inv_bias_correction2_sqrt: (E::one() / E::from_f64(h.bias_correction2_sqrt)).to_f64(),
            eps: r(h.eps),
            neg_step_size: r(-h.step_size),
        }
    }
}

/// Flag bits of the kernel's `flags` (kernels/optim.cu).
const ADAM_FIRST: i32 = 1;
const ADAM_WEIGHT_DECAY: i32 = 2;

impl Cuda {
    pub(crate) fn adam_update_impl<E: Element>(
        &self,
        value: &CudaStorage<E>,
        grad: &CudaStorage<E>,
        moments: Option<Moments<'_, CudaStorage<E>>>,
        h: &AdamHyper,
    ) -> Result<AdamUpdated<CudaStorage<E>>> {
        const OP: &str = "adam_update";
        let n = pgcnn_core::reference::check_adam_lengths(self, value, grad, moments)?;
        let out = AdamUpdated {
            value: self.alloc::<E>(OP, n)?,
            exp_avg: self.alloc::<E>(OP, n)?,
            exp_avg_sq: self.alloc::<E>(OP, n)?,
        };
        if n == 0 {
            return Ok(out);
        }
        let mut flags = 0;
        if moments.is_none() {
            flags |= ADAM_FIRST;
        }
        if h.weight_decay != 0.0 {
            flags |= ADAM_WEIGHT_DECAY;
        }
        // Without moments the kernel never reads them; any valid pointer will do.
        let (m, v) = moments.map_or((value.ptr(), value.ptr()), |(m, v)| (m.ptr(), v.ptr()));
        // adam_update_T(const T* value, const T* grad, const T* m, const T* v,
        //               T* value_out, T* m_out, T* v_out, u64 n, int flags, AdamArgs a)
        let args = (
            value.ptr(),
            grad.ptr(),
            m,
            v,
            out.value.ptr(),
            out.exp_avg.ptr(),
            out.exp_avg_sq.ptr(),
            n as u64,
            flags,
            AdamArgs::new::<E>(h),
        );
        self.launch(OP, &self.k::<E>().adam_update, self.grid_1d(n), args)?;
        Ok(out)
    }
}
