//! Launching kernels: argument tuples, grid sizes.

use crate::device::Cuda;
use crate::error::backend_err;
use crate::runtime::Kernel;
use cudarc::driver::{DeviceRepr, LaunchConfig};
use pgcnn_core::Result;
use std::ffi::c_void;

/// A tuple of kernel arguments, passed by value in the kernel's parameter order.
pub(crate) trait KernelArgs {
    /// Pointers to each argument, valid while `self` is borrowed.
    fn pointers(&self) -> Vec<*mut c_void>;
}

macro_rules! kernel_args {
    ($($t:ident $i:tt),+) => {
        impl<$($t: DeviceRepr),+> KernelArgs for ($($t,)+) {
            fn pointers(&self) -> Vec<*mut c_void> {
                vec![$(&self.$i as *const $t as *mut c_void),+]
            }
        }
    };
}

kernel_args!(A 0);
kernel_args!(A 0, B 1, C 2);
kernel_args!(A 0, B 1, C 2, D 3);
kernel_args!(A 0, B 1, C 2, D 3, E 4);
kernel_args!(A 0, B 1, C 2, D 3, E 4, F 5);
kernel_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
kernel_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
kernel_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
kernel_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);

/// Threads per block of the one-dimensional kernels.
pub(crate) const BLOCK: u32 = 256;

impl Cuda {
    /// Queues `f` on the stream with `args`, which must match the kernel's parameters in
    /// order and type (each kernel's caller states them next to the CUDA signature).
    pub(crate) fn launch<A: KernelArgs>(
        &self,
        op: &'static str,
        f: &Kernel,
        cfg: LaunchConfig,
        args: A,
    ) -> Result<()> {
        let mut params = args.pointers();
        self.dev.activity.launch(op);
        // The arguments live in `args` until this returns; the driver copies them.
        self.timed(op, &f.name, || {
            self.dev
                .rt
                .launch(f, cfg, &mut params)
                .map_err(|e| backend_err(op, format!("launching {}: {e}", f.name)))
        })
    }

    /// A 1-D grid for `n` items of a grid-stride kernel: enough blocks to fill the GPU a
    /// few times over, no more (each thread then loops).
    pub(crate) fn grid_1d(&self, n: usize) -> LaunchConfig {
        let cap = self.sms() as usize * 32;
        let blocks = n.div_ceil(BLOCK as usize).clamp(1, cap);
        LaunchConfig {
            grid_dim: (blocks as u32, 1, 1),
            block_dim: (BLOCK, 1, 1),
            shared_mem_bytes: 0,
        }
    }
}

/// Grid-dimension limit of y and z.
pub(crate) const GRID_YZ_MAX: usize = 65_535;
