//! The descriptors the primitives take (sizes and layouts of plain buffers), and what
//! the provided primitives return. Their checks, shared by every backend, are in
//! `validate.rs`.

use alloc::vec::Vec;

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

/// How the two operands of [`Backend::binary`](super::Backend::binary) are read.
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

/// One parameter's update in
/// [`Backend::adam_update_many`](super::Backend::adam_update_many): the arguments of
/// [`Backend::adam_update`](super::Backend::adam_update).
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
/// [`Backend::adam_update`](super::Backend::adam_update).
pub type Moments<'a, S> = (&'a S, &'a S);

/// The constants of one [`Backend::adam_update`](super::Backend::adam_update) (in f64;
/// the update rounds each to the element type).
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

/// What [`Backend::adam_update`](super::Backend::adam_update) returns: the new value and moments.
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

/// A per-channel scale and shift `(gamma, beta)` for
/// [`Backend::normalize_forward`](super::Backend::normalize_forward), `[channels]` each.
pub type Affine<'a, S> = (&'a S, &'a S);

/// What [`Backend::normalize_forward`](super::Backend::normalize_forward) returns: the
/// output, and per channel (`[channels]` each) the mean, the biased variance and
/// `1 / sqrt(var + eps)`.
#[derive(Debug)]
pub struct NormForward<S> {
    pub y: S,
    pub mean: S,
    pub var: S,
    pub rstd: S,
}

/// What [`Backend::normalize_backward`](super::Backend::normalize_backward) returns: the
/// input gradient, and per channel (`[channels]` each) the gradients of the affine scale
/// and shift.
#[derive(Debug)]
pub struct NormBackward<S> {
    pub dx: S,
    pub dgamma: S,
    pub dbeta: S,
}
