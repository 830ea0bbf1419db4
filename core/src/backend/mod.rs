//! The Backend trait: the handful of primitives a device must run.
//!
//! Tensors are always contiguous and row-major, so every primitive takes plain
//! buffers plus a small descriptor of sizes, and returns a fresh buffer. Higher
//! operations (broadcast gradients, norms, losses, optimisers) are composed from
//! these in the core and run unchanged on every backend; their backward rules are
//! written once, against this trait.
//!
//! The contract of each primitive is stated here, once; the naive
//! [`Reference`](crate::reference::Reference) backend is its executable definition.
//!
//! The folder, in the order its files depend on each other:
//!
//! - `ops.rs`: the op enums ([`UnaryOp`], [`BinaryOp`], [`ReduceOp`]) with their scalar
//!   definitions;
//! - `desc.rs`: the descriptors the primitives take ([`GemmDesc`], [`Conv2dDesc`], the
//!   layouts) and the results of the provided ones;
//! - `validate.rs`: the one check of each descriptor (and of the buffers against it)
//!   that every backend calls first, so that all of them refuse the same inputs with
//!   the same words;
//! - `capabilities.rs`: what a backend is ([`Capabilities`]), for code that reports on it;
//! - `provided/`: the default bodies of the provided methods, composed from the
//!   primitives (written against the four they use, so that they need nothing from this
//!   file);
//! - this file: the trait.

mod capabilities;
mod desc;
mod ops;
mod provided;
mod validate;

pub use capabilities::{Capabilities, DeviceKind};
pub use desc::{
    AdamHyper, AdamJob, AdamUpdated, Affine, AxisLayout, BroadcastLayout, Conv2dDesc, GemmDesc,
    Moments, NormBackward, NormForward, NormLayout,
};
pub use ops::{BinaryOp, ReduceOp, UnaryOp};
pub use validate::{check_adam_lengths, check_len, checked_product, invalid, ConvLens};

use crate::element::Element;
use crate::error::Result;
use alloc::vec::Vec;
use core::fmt::Debug;
use provided::Primitives;

/// A device that owns buffers and runs primitives on them.
pub trait Backend: Clone + Debug + Send + Sync + 'static {
    /// A buffer of `E` on the device, holding a contiguous row-major tensor.
    type Storage<E: Element>: Debug + Send + Sync;

    /// A short name for messages ("cpu", "cuda:0", "reference"). Code that needs to know
    /// what kind of device it runs on asks [`Backend::capabilities`], never the name.
    fn name(&self) -> &'static str;

    /// What kind of device this is, for code that reports on a backend (benchmarks,
    /// logs) rather than computing with it. The default describes a host backend.
    fn capabilities(&self) -> Capabilities {
        Capabilities::HOST
    }

    // ---- memory -------------------------------------------------------------------

    /// Copies host data to the device.
    fn upload<E: Element>(&self, data: &[E]) -> Result<Self::Storage<E>>;
    /// Copies a buffer back to the host.
    fn download<E: Element>(&self, s: &Self::Storage<E>) -> Result<Vec<E>>;
    /// A buffer of `len` copies of `value`.
    fn full<E: Element>(&self, len: usize, value: E) -> Result<Self::Storage<E>> {
        self.upload(&alloc::vec![value; len])
    }
    /// Number of elements in a buffer.
    fn len<E: Element>(&self, s: &Self::Storage<E>) -> usize;

    // ---- elementwise ----------------------------------------------------------------

    /// `y[i] = op(x[i])`.
    fn unary<E: Element>(&self, op: UnaryOp<E>, x: &Self::Storage<E>) -> Result<Self::Storage<E>>;

    /// `y[idx] = op(a[idx · a_strides], b[idx · b_strides])` for every multi-index `idx`
    /// of `layout.out_dims`; a stride of 0 broadcasts that axis.
    fn binary<E: Element>(
        &self,
        op: BinaryOp,
        a: &Self::Storage<E>,
        b: &Self::Storage<E>,
        layout: &BroadcastLayout,
    ) -> Result<Self::Storage<E>>;

    // ---- reductions -----------------------------------------------------------------

    /// Reduces the middle axis of `x` viewed as `[outer, len, inner]`, giving `[outer, inner]`.
    /// `len` is at least 1.
    fn reduce<E: Element>(
        &self,
        op: ReduceOp,
        x: &Self::Storage<E>,
        layout: AxisLayout,
    ) -> Result<Self::Storage<E>>;

    // ---- data movement ----------------------------------------------------------------

    /// Transposes axes: `y` has dims `dims[perm[i]]`, and `y[j] = x[j permuted back]`.
    fn permute<E: Element>(
        &self,
        x: &Self::Storage<E>,
        dims: &[usize],
        perm: &[usize],
    ) -> Result<Self::Storage<E>>;

    /// Concatenates buffers viewed as `[outer, len_i, inner]` along the middle axis.
    fn concat<E: Element>(
        &self,
        parts: &[(&Self::Storage<E>, usize)],
        outer: usize,
        inner: usize,
    ) -> Result<Self::Storage<E>>;

    /// `y[o, i, n] = x[o, indices[i], n]` with `x` viewed as `layout`; every index is below
    /// `layout.len` (the caller checks). Slicing is the case of consecutive indices.
    fn index_select<E: Element>(
        &self,
        x: &Self::Storage<E>,
        layout: AxisLayout,
        indices: &[usize],
    ) -> Result<Self::Storage<E>>;

    /// The adjoint of [`Backend::index_select`]: `y` is `layout` (zeros), and
    /// `y[o, indices[i], n] += src[o, i, n]`, summing repeated indices.
    fn index_add<E: Element>(
        &self,
        src: &Self::Storage<E>,
        layout: AxisLayout,
        indices: &[usize],
    ) -> Result<Self::Storage<E>>;

    // ---- linear algebra and convolution ----------------------------------------------

    /// Batched matrix product `c[b] = op(a[b]) · op(b[b])`, `c` contiguous `[batch, m, n]`.
    /// See [`GemmDesc`] for the layouts of `a` and `b`.
    fn gemm<E: Element>(
        &self,
        a: &Self::Storage<E>,
        b: &Self::Storage<E>,
        desc: &GemmDesc,
    ) -> Result<Self::Storage<E>>;

    /// Cross-correlation, stride 1, zero padding, grouped: `x` `[batch, cin, h, w]`,
    /// `w` `[cout, cin/groups, kh, kw]`, result `[batch, cout, oh, ow]` (see [`Conv2dDesc`]).
    fn conv2d<E: Element>(
        &self,
        x: &Self::Storage<E>,
        w: &Self::Storage<E>,
        desc: &Conv2dDesc,
    ) -> Result<Self::Storage<E>>;

    /// Gradient of [`Backend::conv2d`] with respect to `x`, given `dy`.
    fn conv2d_backward_input<E: Element>(
        &self,
        dy: &Self::Storage<E>,
        w: &Self::Storage<E>,
        desc: &Conv2dDesc,
    ) -> Result<Self::Storage<E>>;

    /// Gradient of [`Backend::conv2d`] with respect to `w`, given `dy`.
    fn conv2d_backward_weight<E: Element>(
        &self,
        x: &Self::Storage<E>,
        dy: &Self::Storage<E>,
        desc: &Conv2dDesc,
    ) -> Result<Self::Storage<E>>;

    // ---- pooling ----------------------------------------------------------------------

    /// 2×2 max pooling with stride 2 on `planes` planes of `h × w` (odd edges dropped,
    /// as PyTorch's floor mode): result `[planes, h/2, w/2]`.
    fn max_pool2d<E: Element>(
        &self,
        x: &Self::Storage<E>,
        planes: usize,
        h: usize,
        w: usize,
    ) -> Result<Self::Storage<E>>;

    /// Gradient of [`Backend::max_pool2d`]: each window's `dy` goes to the first position
    /// (row-major within the window) holding the window's maximum.
    fn max_pool2d_backward<E: Element>(
        &self,
        x: &Self::Storage<E>,
        dy: &Self::Storage<E>,
        planes: usize,
        h: usize,
        w: usize,
    ) -> Result<Self::Storage<E>>;

    // ---- normalisation (provided: composed from the primitives above) ----------------

    /// Per-channel normalisation of `x` viewed as `layout` (see [`NormLayout`]): for each
    /// channel `c`, the mean `m_c` and biased variance `v_c` over all `(outer, inner)`
    /// values, `rstd_c = 1 / sqrt(v_c + eps)`, and
    /// `y = (x - m_c) · rstd_c`, or `(x - m_c) · rstd_c · gamma_c + beta_c` with `affine`
    /// `(gamma, beta)` (`[channels]` each). `layout.count()` is at least 1.
    ///
    /// The default composes reductions and broadcast maps (many passes); backends
    /// override it with fused loops. Overrides may accumulate in higher precision.
    fn normalize_forward<E: Element>(
        &self,
        x: &Self::Storage<E>,
        layout: NormLayout,
        eps: E,
        affine: Option<Affine<'_, Self::Storage<E>>>,
    ) -> Result<NormForward<Self::Storage<E>>> {
        provided::norm::normalize_forward(self, x, layout, eps, affine)
    }

    /// Gradients of [`Backend::normalize_forward`] given `dy`, the input `x` and the
    /// forward's `mean` and `rstd`: with `xhat = (x - m_c) · rstd_c` and `n = count()`,
    /// `dbeta_c = Σ dy`, `dgamma_c = Σ dy · xhat` (sums over the channel's values) and
    /// `dx = gamma_c · rstd_c · (dy - dbeta_c / n - xhat · dgamma_c / n)`, with
    /// `gamma_c = 1` when `gamma` is `None`.
    ///
    /// Provided like the forward; overrides fuse it into two passes.
    fn normalize_backward<E: Element>(
        &self,
        dy: &Self::Storage<E>,
        x: &Self::Storage<E>,
        mean: &Self::Storage<E>,
        rstd: &Self::Storage<E>,
        gamma: Option<&Self::Storage<E>>,
        layout: NormLayout,
    ) -> Result<NormBackward<Self::Storage<E>>> {
        provided::norm::normalize_backward(self, dy, x, mean, rstd, gamma, layout)
    }

    // ---- optimiser updates (provided) ------------------------------------------------

    /// One Adam update of a parameter (torch.optim.Adam, L2 weight decay), elementwise
    /// over buffers of equal length, with every constant of `h` rounded to `E` first:
    ///
    /// `g = grad + weight_decay · value` (just `grad` when the decay is 0),
    /// `m' = beta1 · m + (1 - beta1) · g`, `v' = beta2 · v + (1 - beta2) · g²`
    /// (`m' = (1 - beta1) · g` and `v' = (1 - beta2) · g²` when `moments` is `None`, the
    /// parameter's first update), and
    /// `value' = value + (m' / (sqrt(v') · (1 / bias_correction2_sqrt) + eps)) · (-step_size)`.
    ///
    /// The default runs these as separate maps, one rounding per operation; overrides
    /// fuse them into one pass and must round the same way (no fused multiply-add), so
    /// that every backend takes bit-identical steps.
    fn adam_update<E: Element>(
        &self,
        value: &Self::Storage<E>,
        grad: &Self::Storage<E>,
        moments: Option<Moments<'_, Self::Storage<E>>>,
        h: &AdamHyper,
    ) -> Result<AdamUpdated<Self::Storage<E>>> {
        provided::adam::adam_update(self, value, grad, moments, h)
    }

    /// [`Backend::adam_update`] of several parameters at once (an optimiser step), in
    /// `jobs`' order; each result is the one `adam_update` gives for that job alone. The
    /// default calls it job by job; a GPU override updates many parameters per launch.
    fn adam_update_many<E: Element>(
        &self,
        jobs: &[AdamJob<'_, Self::Storage<E>>],
    ) -> Result<Vec<AdamUpdated<Self::Storage<E>>>> {
        jobs.iter()
            .map(|j| self.adam_update(j.value, j.grad, j.moments, &j.hyper))
            .collect()
    }
}

/// Every backend has the primitives the provided bodies compose.
impl<B: Backend> Primitives for B {
    type Buffer<E: Element> = B::Storage<E>;

    fn name(&self) -> &'static str {
        Backend::name(self)
    }
    fn len<E: Element>(&self, s: &B::Storage<E>) -> usize {
        Backend::len(self, s)
    }
    fn unary<E: Element>(&self, op: UnaryOp<E>, x: &B::Storage<E>) -> Result<B::Storage<E>> {
        Backend::unary(self, op, x)
    }
    fn binary<E: Element>(
        &self,
        op: BinaryOp,
        a: &B::Storage<E>,
        b: &B::Storage<E>,
        layout: &BroadcastLayout,
    ) -> Result<B::Storage<E>> {
        Backend::binary(self, op, a, b, layout)
    }
    fn reduce<E: Element>(
        &self,
        op: ReduceOp,
        x: &B::Storage<E>,
        layout: AxisLayout,
    ) -> Result<B::Storage<E>> {
        Backend::reduce(self, op, x, layout)
    }
}
