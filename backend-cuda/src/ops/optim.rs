//! Fused optimiser updates: the overrides of `Backend::adam_update`, one launch per
//! parameter instead of the fifteen maps of the provided body, and of
//! `Backend::adam_update_many`, one launch per [`ADAM_JOBS`] parameters
//! (kernels/optim.cu).

use crate::device::Cuda;
use crate::kernels::ADAM_JOBS;
use crate::storage::CudaStorage;
use cudarc::driver::{DeviceRepr, LaunchConfig};
use pgcnn_core::backend::{check_adam_lengths, AdamHyper, AdamJob as Job, AdamUpdated, Moments};
use pgcnn_core::{Element, Result};

/// The update's constants, each rounded to the element type as the provided body rounds
/// it: the C++ `AdamArgs` of kernels/optim.cu.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
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

fn flags(first: bool, h: &AdamHyper) -> i32 {
    let mut flags = 0;
    if first {
        flags |= ADAM_FIRST;
    }
    if h.weight_decay != 0.0 {
        flags |= ADAM_WEIGHT_DECAY;
    }
    flags
}

/// One parameter of `adam_update_many`: the C++ `AdamJob`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct AdamJob {
    value: u64,
    grad: u64,
    m: u64,
    v: u64,
    value_out: u64,
    m_out: u64,
    v_out: u64,
    n: u64,
    flags: i32,
    a: AdamArgs,
}

/// The jobs of one launch: the C++ `AdamJobs`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct AdamJobs {
    job: [AdamJob; ADAM_JOBS as usize],
}

// SAFETY: plain integers and doubles, laid out as the C++ structs.
unsafe impl DeviceRepr for AdamJob {}
// SAFETY: as above.
unsafe impl DeviceRepr for AdamJobs {}

/// The common length of an update's buffers (see [`check_adam_lengths`]).
fn lengths<E: Element>(
    value: &CudaStorage<E>,
    grad: &CudaStorage<E>,
    moments: Option<Moments<'_, CudaStorage<E>>>,
) -> Result<usize> {
    check_adam_lengths(
        value.len(),
        grad.len(),
        moments.map(|(m, v)| (m.len(), v.len())),
    )
}

impl Cuda {
    pub(crate) fn adam_update_impl<E: Element>(
        &self,
        value: &CudaStorage<E>,
        grad: &CudaStorage<E>,
        moments: Option<Moments<'_, CudaStorage<E>>>,
        h: &AdamHyper,
    ) -> Result<AdamUpdated<CudaStorage<E>>> {
        const OP: &str = "adam_update";
        let n = lengths(value, grad, moments)?;
        let out = AdamUpdated {
            value: self.alloc::<E>(OP, n)?,
            exp_avg: self.alloc::<E>(OP, n)?,
            exp_avg_sq: self.alloc::<E>(OP, n)?,
        };
        if n == 0 {
            return Ok(out);
        }
        let flags = flags(moments.is_none(), h);
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

    pub(crate) fn adam_update_many_impl<E: Element>(
        &self,
        jobs: &[Job<'_, CudaStorage<E>>],
    ) -> Result<Vec<AdamUpdated<CudaStorage<E>>>> {
        const OP: &str = "adam_update_many";
        let mut outs = Vec::with_capacity(jobs.len());
        let mut queued = Vec::with_capacity(jobs.len());
        for j in jobs {
            let n = lengths(j.value, j.grad, j.moments)?;
            let out = AdamUpdated {
                value: self.alloc::<E>(OP, n)?,
                exp_avg: self.alloc::<E>(OP, n)?,
                exp_avg_sq: self.alloc::<E>(OP, n)?,
            };
            if n > 0 {
                // Without moments the kernel never reads them; any valid address will do.
                let (m, v) = j
                    .moments
                    .map_or((j.value.ptr(), j.value.ptr()), |(m, v)| (m.ptr(), v.ptr()));
                queued.push(AdamJob {
                    value: j.value.ptr(),
                    grad: j.grad.ptr(),
                    m,
                    v,
                    value_out: out.value.ptr(),
                    m_out: out.exp_avg.ptr(),
                    v_out: out.exp_avg_sq.ptr(),
                    n: n as u64,
                    flags: flags(j.moments.is_none(), &j.hyper),
                    a: AdamArgs::new::<E>(&j.hyper),
                });
            }
            outs.push(out);
        }
        for chunk in queued.chunks(ADAM_JOBS as usize) {
            let mut launch = AdamJobs {
                job: [AdamJob::default(); ADAM_JOBS as usize],
            };
            launch.job[..chunk.len()].copy_from_slice(chunk);
            let longest = chunk.iter().map(|j| j.n as usize).max().unwrap_or(1);
            let cfg = LaunchConfig {
                grid_dim: (self.grid_1d(longest).grid_dim.0, chunk.len() as u32, 1),
                ..self.grid_1d(longest)
            };
            // adam_update_many_T(AdamJobs jobs)
            self.launch(OP, &self.k::<E>().adam_update_many, cfg, (launch,))?;
        }
        Ok(outs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_launch_of_jobs_fits_the_classic_parameter_limit() {
        // 8 addresses and sizes, the flags padded to 8, 8 constants: as the C++ struct.
        assert_eq!(std::mem::size_of::<AdamJob>(), 136);
        assert_eq!(std::mem::size_of::<AdamJobs>(), 136 * ADAM_JOBS as usize);
        assert!(std::mem::size_of::<AdamJobs>() <= 4096);
    }
}
