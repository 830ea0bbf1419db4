//! pgcnn-cpu: the CPU backend of pgcnn.
//!
//! [`Cpu`] implements [`pgcnn_core::Backend`] on host memory (`Vec<E>` buffers) for `f32`
//! and `f64`:
//!
//! - matrix products go through [`matrixmultiply`]'s single-threaded `sgemm`/`dgemm`
//!   (with run-time detection of AVX2/FMA/AVX-512), split over threads by this crate:
//!   over the batch, or over row blocks when the batch is smaller than the thread count;
//! - 2-D convolutions (forward and both gradients, grouped) take, per shape, the cheaper of
//!   two algorithms by a cost model ([`ConvAlgorithm`], [`with_conv_algorithm`]): products
//!   of spectra on the smallest exact circles (FFT: for 7×7 kernels about 15× less
//!   arithmetic on 14×14 maps), or im2col + GEMM over chunks of images, each thread with
//!   its own bounded buffers, the input gradient being itself a convolution (of `dy` with
//!   the flipped, transposed kernel), so it needs no col2im;
//! - elementwise, reduction, data-movement and pooling primitives run in parallel over
//!   large contiguous chunks once a buffer is big enough to pay for it;
//! - the per-channel normalisations (batch, layer, instance norm) run fused: one pass for
//!   the statistics (f64 sums), one writing the output, forward and backward alike.
//!
//! # Threads
//!
//! All parallel work runs on rayon's current pool: the global pool unless the caller runs
//! inside [`rayon::ThreadPool::install`]. Its size is therefore whatever
//! `RAYON_NUM_THREADS` says, or what the program set up with
//! [`rayon::ThreadPoolBuilder::build_global`] (the trainer's `--threads`), or else the
//! number of logical CPUs. [`Cpu::threads`] reports it.
//!
//! # Example
//!
//! ```
//! use pgcnn_core::{Backend, Tensor};
//! use pgcnn_cpu::Cpu;
//!
//! let cpu = Cpu;
//! let a = Tensor::<_, f32>::from_slice(&cpu, &[1.0, 2.0, 3.0, 4.0], [2, 2])?;
//! let b = Tensor::from_slice(&cpu, &[5.0, 6.0, 7.0, 8.0], [2, 2])?;
//! assert_eq!(a.matmul(&b)?.to_vec()?, vec![19.0, 22.0, 43.0, 50.0]);
//! assert_eq!(cpu.name(), "cpu");
//! # Ok::<(), pgcnn_core::Error>(())
//! ```

mod check;
mod conv;
mod elementwise;
mod fresh;
mod gemm;
mod movement;
mod norm;
mod par;
mod pool;
mod reduce;
mod tall;
mod transcendental;
mod transpose;
mod wide;

pub use conv::{with_conv_algorithm, ConvAlgorithm};

use pgcnn_core::backend::{
    Affine, AxisLayout, Backend, BinaryOp, BroadcastLayout, Conv2dDesc, GemmDesc, NormBackward,
    NormForward, NormLayout, ReduceOp, UnaryOp,
};
use pgcnn_core::{Element, Result};

/// The CPU backend. A unit struct: it holds no state, buffers are plain `Vec`s, and the
/// threads are rayon's (see the crate documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cpu;

impl Cpu {
    /// Number of threads the parallel primitives use when called from here: the size of
    /// rayon's current pool.
    pub fn threads(&self) -> usize {
        rayon::current_num_threads()
    }

    /// The convolution algorithm the cost model picks for `d` in `E` (what runs unless
    /// [`with_conv_algorithm`] forces one), or an error naming what is wrong with `d`.
    pub fn conv_algorithm<E: Element>(&self, d: &Conv2dDesc) -> Result<ConvAlgorithm> {
        conv::auto_algorithm::<E>(d)
    }
}

impl Backend for Cpu {
    type Storage<E: Element> = Vec<E>;

    fn name(&self) -> &'static str {
        "cpu"
    }

    fn upload<E: Element>(&self, data: &[E]) -> Result<Vec<E>> {
        Ok(data.to_vec())
    }
    fn download<E: Element>(&self, s: &Vec<E>) -> Result<Vec<E>> {
        Ok(s.clone())
    }
    fn full<E: Element>(&self, len: usize, value: E) -> Result<Vec<E>> {
        Ok(vec![value; len])
    }
    fn len<E: Element>(&self, s: &Vec<E>) -> usize {
        s.len()
    }

    fn unary<E: Element>(&self, op: UnaryOp<E>, x: &Vec<E>) -> Result<Vec<E>> {
        Ok(elementwise::unary(op, x))
    }

    fn binary<E: Element>(
        &self,
        op: BinaryOp,
        a: &Vec<E>,
        b: &Vec<E>,
        layout: &BroadcastLayout,
    ) -> Result<Vec<E>> {
        elementwise::binary(op, a, b, layout)
    }

    fn reduce<E: Element>(&self, op: ReduceOp, x: &Vec<E>, layout: AxisLayout) -> Result<Vec<E>> {
        reduce::reduce(op, x, layout)
    }

    fn permute<E: Element>(&self, x: &Vec<E>, dims: &[usize], perm: &[usize]) -> Result<Vec<E>> {
        movement::permute(x, dims, perm)
    }

    fn concat<E: Element>(
        &self,
        parts: &[(&Vec<E>, usize)],
        outer: usize,
        inner: usize,
    ) -> Result<Vec<E>> {
        let parts: Vec<(&[E], usize)> = parts.iter().map(|(p, l)| (p.as_slice(), *l)).collect();
        movement::concat(&parts, outer, inner)
    }

    fn index_select<E: Element>(
        &self,
        x: &Vec<E>,
        layout: AxisLayout,
        indices: &[usize],
    ) -> Result<Vec<E>> {
        movement::index_select(x, layout, indices)
    }

    fn index_add<E: Element>(
        &self,
        src: &Vec<E>,
        layout: AxisLayout,
        indices: &[usize],
    ) -> Result<Vec<E>> {
        movement::index_add(src, layout, indices)
    }

    fn gemm<E: Element>(&self, a: &Vec<E>, b: &Vec<E>, desc: &GemmDesc) -> Result<Vec<E>> {
        gemm::batched(a, b, desc)
    }

    fn conv2d<E: Element>(&self, x: &Vec<E>, w: &Vec<E>, desc: &Conv2dDesc) -> Result<Vec<E>> {
        conv::forward(x, w, desc)
    }

    fn conv2d_backward_input<E: Element>(
        &self,
        dy: &Vec<E>,
        w: &Vec<E>,
        desc: &Conv2dDesc,
    ) -> Result<Vec<E>> {
        conv::backward_input(dy, w, desc)
    }

    fn conv2d_backward_weight<E: Element>(
        &self,
        x: &Vec<E>,
        dy: &Vec<E>,
        desc: &Conv2dDesc,
    ) -> Result<Vec<E>> {
        conv::backward_weight(x, dy, desc)
    }

    fn max_pool2d<E: Element>(
        &self,
        x: &Vec<E>,
        planes: usize,
        h: usize,
        w: usize,
    ) -> Result<Vec<E>> {
        pool::max_pool2d(x, planes, h, w)
    }

    fn max_pool2d_backward<E: Element>(
        &self,
        x: &Vec<E>,
        dy: &Vec<E>,
        planes: usize,
        h: usize,
        w: usize,
    ) -> Result<Vec<E>> {
        pool::max_pool2d_backward(x, dy, planes, h, w)
    }

    fn normalize_forward<E: Element>(
        &self,
        x: &Vec<E>,
        layout: NormLayout,
        eps: E,
        affine: Option<Affine<'_, Vec<E>>>,
    ) -> Result<NormForward<Vec<E>>> {
        norm::forward(
            x,
            layout,
            eps,
            affine.map(|(g, b)| (g.as_slice(), b.as_slice())),
        )
    }

    fn normalize_backward<E: Element>(
        &self,
        dy: &Vec<E>,
        x: &Vec<E>,
        mean: &Vec<E>,
        rstd: &Vec<E>,
        gamma: Option<&Vec<E>>,
        layout: NormLayout,
    ) -> Result<NormBackward<Vec<E>>> {
        norm::backward(dy, x, mean, rstd, gamma.map(Vec::as_slice), layout)
    }
}
