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

use crate::element::Element;
use crate::error::Result;
use alloc::vec::Vec;
use core::fmt::Debug;

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
        crate::reference::norm::normalize_forward(self, x, layout, eps, affine)
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
        crate::reference::norm::normalize_backward(self, dy, x, mean, rstd, gamma, layout)
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
        crate::reference::adam::adam_update(self, value, grad, moments, h)
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

/// What [`Backend::capabilities`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Where the primitives run.
    pub device: DeviceKind,
    /// The device is a stand-in that runs the backend's work elsewhere (the CUDA
    /// backend's kernel emulator runs its kernels on the CPU): its results count, its
    /// timings say nothing about the device it stands for.
    pub emulated: bool,
    /// The backend can time its device work by op (the CUDA backend's profile).
    pub device_profile: bool,
}

impl Capabilities {
    /// A backend that computes on the host, synchronously: the CPU and the reference.
    pub const HOST: Capabilities = Capabilities {
        device: DeviceKind::Cpu,
        emulated: false,
        device_profile: false,
    };
}

/// The kind of device a backend computes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    Cpu,
    Gpu,
}

/// One parameter's update in [`Backend::adam_update_many`]: the arguments of
/// [`Backend::adam_update`].
#[derive(Debug)]
pub struct AdamJob<'a, S> {
    pub value: &'a S,
    pub grad: &'a S,
    pub moments: Option<Moments<'a, S>>,
    pub hyper: AdamHyper,
}

// Derived Clone/Copy would ask S: Clone; the job holds only references.
impl<S> Clone for AdamJob<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S> Copy for AdamJob<'_, S> {}

/// Adam's first and second moment estimates `(exp_avg, exp_avg_sq)` for
/// [`Backend::adam_update`].
pub type Moments<'a, S> = (&'a S, &'a S);

/// The constants of one [`Backend::adam_update`] (in f64; the update rounds each to the
/// element type).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamHyper {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// L2 decay added to the gradient; 0 adds nothing.
    pub weight_decay: f64,
    /// `lr / (1 - beta1^t)` for the parameter's t-th update.
    pub step_size: f64,
    /// `sqrt(1 - beta2^t)`.
    pub bias_correction2_sqrt: f64,
}

/// What [`Backend::adam_update`] returns: the new value and moments.
#[derive(Debug)]
pub struct AdamUpdated<S> {
    pub value: S,
    pub exp_avg: S,
    pub exp_avg_sq: S,
}

/// A contiguous buffer viewed as `[outer, channels, inner]` for a per-channel
/// normalisation: each channel's statistics cover its `outer · inner` values.
///
/// One layout covers the norms of `[B, C, rest...]` (with `R = prod(rest)`): batch norm
/// is `[B, C, R]`, instance norm `[1, B·C, R]`, layer norm `[1, B, C·R]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NormLayout {
    pub outer: usize,
    pub channels: usize,
    pub inner: usize,
}

impl NormLayout {
    pub fn numel(&self) -> usize {
        self.outer * self.channels * self.inner
    }
    /// Values per channel, `outer · inner`.
    pub fn count(&self) -> usize {
        self.outer * self.inner
    }
}

/// A per-channel scale and shift `(gamma, beta)` for [`Backend::normalize_forward`],
/// `[channels]` each.
pub type Affine<'a, S> = (&'a S, &'a S);

/// What [`Backend::normalize_forward`] returns: the output, and per channel
/// (`[channels]` each) the mean, the biased variance and `1 / sqrt(var + eps)`.
#[derive(Debug)]
pub struct NormForward<S> {
    pub y: S,
    pub mean: S,
    pub var: S,
    pub rstd: S,
}

/// What [`Backend::normalize_backward`] returns: the input gradient, and per channel
/// (`[channels]` each) the gradients of the affine scale and shift.
#[derive(Debug)]
pub struct NormBackward<S> {
    pub dx: S,
    pub dgamma: S,
    pub dbeta: S,
}

/// Elementwise maps of one operand. Scalar forms carry their scalar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp<E> {
    Neg,
    Sin,
    Cos,
    Exp,
    Log,
    Relu,
    Sigmoid,
    Tanh,
    Square,
    Sqrt,
    Abs,
    Recip,
    /// -1, 0 or 1.
    Sign,
    /// 1 where x > 0, else 0 (the derivative of ReLU).
    Step,
    AddScalar(E),
    MulScalar(E),
    /// x^p.
    PowScalar(E),
    /// max(x, s).
    MaxScalar(E),
    /// min(x, s).
    MinScalar(E),
    /// 1 where x > s, else 0.
    GreaterScalar(E),
}

impl<E: Element> UnaryOp<E> {
    /// The map itself, on one scalar: the definition every backend must match.
    pub fn apply(self, x: E) -> E {
        use UnaryOp::*;
        let zero = E::zero();
        let one = E::one();
        match self {
            Neg => -x,
            Sin => x.sin(),
            Cos => x.cos(),
            Exp => x.exp(),
            Log => x.ln(),
            Relu => {
                if x > zero {
                    x
                } else {
                    zero
                }
            }
            Sigmoid => one / (one + (-x).exp()),
            Tanh => x.tanh(),
            Square => x * x,
            Sqrt => x.sqrt(),
            Abs => x.abs(),
            Recip => one / x,
            Sign => {
                if x > zero {
                    one
                } else if x < zero {
                    -one
                } else {
                    zero
                }
            }
            Step => {
                if x > zero {
                    one
                } else {
                    zero
                }
            }
            AddScalar(s) => x + s,
            MulScalar(s) => x * s,
            PowScalar(p) => x.powf(p),
            MaxScalar(s) => {
                if x > s {
                    x
                } else {
                    s
                }
            }
            MinScalar(s) => {
                if x < s {
                    x
                } else {
                    s
                }
            }
            GreaterScalar(s) => {
                if x > s {
                    one
                } else {
                    zero
                }
            }
        }
    }
}

/// Elementwise maps of two operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Maximum,
    Minimum,
    /// 1 where a == b, else 0.
    Equal,
    /// 1 where a > b, else 0.
    Greater,
}

impl BinaryOp {
    /// The map itself, on one pair of scalars.
    pub fn apply<E: Element>(self, a: E, b: E) -> E {
        use BinaryOp::*;
        match self {
            Add => a + b,
            Sub => a - b,
            Mul => a * b,
            Div => a / b,
            Maximum => {
                if a >= b {
                    a
                } else {
                    b
                }
            }
            Minimum => {
                if a <= b {
                    a
                } else {
                    b
                }
            }
            Equal => {
                if a == b {
                    E::one()
                } else {
                    E::zero()
                }
            }
            Greater => {
                if a > b {
                    E::one()
                } else {
                    E::zero()
                }
            }
        }
    }
}

/// Reductions over one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    Sum,
    Max,
    Min,
}

/// A contiguous buffer viewed as `[outer, len, inner]` around one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AxisLayout {
    pub outer: usize,
    pub len: usize,
    pub inner: usize,
}

impl AxisLayout {
    pub fn numel(&self) -> usize {
        self.outer * self.len * self.inner
    }
}

/// How the two operands of [`Backend::binary`] are read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BroadcastLayout {
    pub out_dims: Vec<usize>,
    /// Element strides of `a` along each output axis (0 where `a` is broadcast).
    pub a_strides: Vec<usize>,
    /// Element strides of `b` along each output axis (0 where `b` is broadcast).
    pub b_strides: Vec<usize>,
}

impl BroadcastLayout {
    pub fn numel(&self) -> usize {
        self.out_dims.iter().product()
    }
    /// True when both operands are read exactly in output order (no broadcasting).
    pub fn is_same_shape(&self) -> bool {
        let s = crate::shape::contiguous_strides(&self.out_dims);
        self.a_strides == s && self.b_strides == s
    }
}

/// A batched GEMM, in the spirit of matrixmultiply's strided contract.
///
/// `a[b]` starts at element `b · a_batch_stride` and is stored row-major as `[m, k]`,
/// or as `[k, m]` when `a_trans` (so the product uses its transpose). Likewise `b[b]`
/// is `[k, n]`, or `[n, k]` when `b_trans`. A batch stride of 0 shares one matrix
/// across the batch. The result is contiguous `[batch, m, n]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemmDesc {
    pub batch: usize,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a_trans: bool,
    pub b_trans: bool,
    pub a_batch_stride: usize,
    pub b_batch_stride: usize,
}

impl GemmDesc {
    /// Row stride and column stride of `a[b]` read as an `[m, k]` matrix.
    pub fn a_strides(&self) -> (usize, usize) {
        if self.a_trans {
            (1, self.m)
        } else {
            (self.k, 1)
        }
    }
    /// Row stride and column stride of `b[b]` read as a `[k, n]` matrix.
    pub fn b_strides(&self) -> (usize, usize) {
        if self.b_trans {
            (1, self.k)
        } else {
            (self.n, 1)
        }
    }
    pub fn flops(&self) -> f64 {
        2.0 * (self.batch * self.m * self.n * self.k) as f64
    }
}

/// A stride-1, zero-padded, grouped 2-D cross-correlation (PyTorch's `conv2d`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dDesc {
    pub batch: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    /// Channels are split into `groups` independent convolutions; both channel counts
    /// are multiples of it.
    pub groups: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    pub pad_h: usize,
    pub pad_w: usize,
}

impl Conv2dDesc {
    pub fn out_h(&self) -> usize {
        self.in_h + 2 * self.pad_h + 1 - self.kernel_h
    }
    pub fn out_w(&self) -> usize {
        self.in_w + 2 * self.pad_w + 1 - self.kernel_w
    }
    pub fn in_per_group(&self) -> usize {
        self.in_channels / self.groups
    }
    pub fn out_per_group(&self) -> usize {
        self.out_channels / self.groups
    }
    pub fn input_len(&self) -> usize {
        self.batch * self.in_channels * self.in_h * self.in_w
    }
    pub fn weight_len(&self) -> usize {
        self.out_channels * self.in_per_group() * self.kernel_h * self.kernel_w
    }
    pub fn output_len(&self) -> usize {
        self.batch * self.out_channels * self.out_h() * self.out_w()
    }
    /// Multiply-adds of the forward pass, times two.
    pub fn flops(&self) -> f64 {
        2.0 * (self.batch
            * self.out_channels
            * self.out_h()
            * self.out_w()
            * self.in_per_group()
            * self.kernel_h
            * self.kernel_w) as f64
    }
}
