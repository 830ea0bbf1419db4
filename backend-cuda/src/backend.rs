//! `impl Backend for Cuda`: each primitive forwards to its family in `ops/`.

use crate::device::Cuda;
use crate::storage::CudaStorage;
use pgcnn_core::backend::{
    AdamHyper, AdamJob, AdamUpdated, Affine, AxisLayout, Backend, BinaryOp, BroadcastLayout,
    Capabilities, Conv2dDesc, DeviceKind, GemmDesc, Moments, NormBackward, NormForward, NormLayout,
    ReduceOp, UnaryOp,
};
use pgcnn_core::{Element, Result};

impl Backend for Cuda {
    type Storage<E: Element> = CudaStorage<E>;

    fn name(&self) -> &'static str {
        self.dev.name
    }

    /// A GPU that profiles its work; on the kernel emulator a stand-in, whose timings
    /// say nothing about a GPU.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            device: DeviceKind::Gpu,
            emulated: self.dev.rt.is_emulated(),
            device_profile: true,
        }
    }

    fn upload<E: Element>(&self, data: &[E]) -> Result<CudaStorage<E>> {
        self.upload_impl(data)
    }
    fn download<E: Element>(&self, s: &CudaStorage<E>) -> Result<Vec<E>> {
        self.download_impl(s)
    }
    fn full<E: Element>(&self, len: usize, value: E) -> Result<CudaStorage<E>> {
        self.full_impl(len, value)
    }
    fn len<E: Element>(&self, s: &CudaStorage<E>) -> usize {
        s.len()
    }

    fn unary<E: Element>(&self, op: UnaryOp<E>, x: &CudaStorage<E>) -> Result<CudaStorage<E>> {
        self.unary_impl(op, x)
    }
    fn binary<E: Element>(
        &self,
        op: BinaryOp,
        a: &CudaStorage<E>,
        b: &CudaStorage<E>,
        layout: &BroadcastLayout,
    ) -> Result<CudaStorage<E>> {
        self.binary_impl(op, a, b, layout)
    }

    fn reduce<E: Element>(
        &self,
        op: ReduceOp,
        x: &CudaStorage<E>,
        layout: AxisLayout,
    ) -> Result<CudaStorage<E>> {
        self.reduce_impl(op, x, layout)
    }

    fn permute<E: Element>(
        &self,
        x: &CudaStorage<E>,
        dims: &[usize],
        perm: &[usize],
    ) -> Result<CudaStorage<E>> {
        self.permute_impl(x, dims, perm)
    }
    fn concat<E: Element>(
        &self,
        parts: &[(&CudaStorage<E>, usize)],
        outer: usize,
        inner: usize,
    ) -> Result<CudaStorage<E>> {
        self.concat_impl(parts, outer, inner)
    }
    fn index_select<E: Element>(
        &self,
        x: &CudaStorage<E>,
        layout: AxisLayout,
        indices: &[usize],
    ) -> Result<CudaStorage<E>> {
        self.index_select_impl(x, layout, indices)
    }
    fn index_add<E: Element>(
        &self,
        src: &CudaStorage<E>,
        layout: AxisLayout,
        indices: &[usize],
    ) -> Result<CudaStorage<E>> {
        self.index_add_impl(src, layout, indices)
    }

    fn gemm<E: Element>(
        &self,
        a: &CudaStorage<E>,
        b: &CudaStorage<E>,
        desc: &GemmDesc,
    ) -> Result<CudaStorage<E>> {
        self.gemm_impl(a, b, desc)
    }
    fn conv2d<E: Element>(
        &self,
        x: &CudaStorage<E>,
        w: &CudaStorage<E>,
        desc: &Conv2dDesc,
    ) -> Result<CudaStorage<E>> {
        self.conv2d_impl(x, w, desc)
    }
    fn conv2d_backward_input<E: Element>(
        &self,
        dy: &CudaStorage<E>,
        w: &CudaStorage<E>,
        desc: &Conv2dDesc,
    ) -> Result<CudaStorage<E>> {
        self.conv2d_backward_input_impl(dy, w, desc)
    }
    fn conv2d_backward_weight<E: Element>(
        &self,
        x: &CudaStorage<E>,
        dy: &CudaStorage<E>,
        desc: &Conv2dDesc,
    ) -> Result<CudaStorage<E>> {
        self.conv2d_backward_weight_impl(x, dy, desc)
    }

    fn max_pool2d<E: Element>(
        &self,
        x: &CudaStorage<E>,
        planes: usize,
        h: usize,
        w: usize,
    ) -> Result<CudaStorage<E>> {
        self.max_pool2d_impl(x, planes, h, w)
    }
    fn max_pool2d_backward<E: Element>(
        &self,
        x: &CudaStorage<E>,
        dy: &CudaStorage<E>,
        planes: usize,
        h: usize,
        w: usize,
    ) -> Result<CudaStorage<E>> {
        self.max_pool2d_backward_impl(x, dy, planes, h, w)
    }

    fn normalize_forward<E: Element>(
        &self,
        x: &CudaStorage<E>,
        layout: NormLayout,
        eps: E,
        affine: Option<Affine<'_, CudaStorage<E>>>,
    ) -> Result<NormForward<CudaStorage<E>>> {
        self.normalize_forward_impl(x, layout, eps, affine)
    }
    fn normalize_backward<E: Element>(
        &self,
        dy: &CudaStorage<E>,
        x: &CudaStorage<E>,
        mean: &CudaStorage<E>,
        rstd: &CudaStorage<E>,
        gamma: Option<&CudaStorage<E>>,
        layout: NormLayout,
    ) -> Result<NormBackward<CudaStorage<E>>> {
        self.normalize_backward_impl(dy, x, mean, rstd, gamma, layout)
    }
    fn adam_update<E: Element>(
        &self,
        value: &CudaStorage<E>,
        grad: &CudaStorage<E>,
        moments: Option<Moments<'_, CudaStorage<E>>>,
        h: &AdamHyper,
    ) -> Result<AdamUpdated<CudaStorage<E>>> {
        self.adam_update_impl(value, grad, moments, h)
    }

    fn adam_update_many<E: Element>(
        &self,
        jobs: &[AdamJob<'_, CudaStorage<E>>],
    ) -> Result<Vec<AdamUpdated<CudaStorage<E>>>> {
        self.adam_update_many_impl(jobs)
    }
}
