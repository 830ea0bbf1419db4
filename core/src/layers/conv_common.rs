//! What the three convolutions share: evaluating the kernel net on coordinates, the one
//! conv2d over all output samples (grouped over the batch for per-image elements), the
//! bias, the kernel-norm penalty terms and the parameter listing.

use super::config::ConvConfig;
use super::ctx::ForwardCtx;
use crate::autodiff::Param;
use crate::backend::Backend;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::group::KernelGrid;
use crate::kernel::{KernelNet, KernelNetwork, ParamRole};
use crate::ops::{Conv2dOptions, Padding};
use crate::rng::Rng;
use crate::tensor::Tensor;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The kernel net on `coords` `[lead.., d]`: values `[lead.., Cout, Cin]`.
pub(crate) fn kernel_values<B: Backend, E: Element>(
    net: &KernelNetwork<B, E>,
    coords: &Tensor<B, E>,
    c_out: usize,
    c_in: usize,
) -> Result<Tensor<B, E>> {
    let dims = coords.dims();
    let (lead, d) = dims.split_at(dims.len() - 1);
    let rows: usize = lead.iter().product();
    let values = net.forward(&coords.reshape([rows, d[0]])?)?;
    let mut out = lead.to_vec();
    out.extend_from_slice(&[c_out, c_in]);
    values.reshape(out)
}

/// One conv2d for every output sample: `x` `[B, Cx, H, W]` with `kernel`
/// `[Bk·Nout·Cout, Cx, k, k]` (samples major, then output channels), where `Bk` is
/// `Some(B)` for kernels drawn per batch element (then the convolution is grouped over
/// the batch) and 1 otherwise. Returns `[B, Cout, Nout, H', W']`.
pub(crate) fn conv_over_samples<B: Backend, E: Element>(
    op: &'static str,
    x: &Tensor<B, E>,
    kernel: &Tensor<B, E>,
    per_image: Option<usize>,
    n_out: usize,
    c_out: usize,
    padding: Padding,
) -> Result<Tensor<B, E>> {
    let d = x.dims();
    let (b, cx, h, w) = (d[0], d[1], d[2], d[3]);
    let y = match per_image {
        None => x.conv2d(kernel, None, Conv2dOptions::new(padding))?,
        Some(bk) => {
            if bk != b {
                return Err(Error::mismatch(
                    op,
                    d,
                    kernel.dims(),
                    format!("kernels were drawn for {bk} images but the batch holds {b}"),
                ));
            }
            x.reshape([1, b * cx, h, w])?.conv2d(
                kernel,
                None,
                Conv2dOptions::new(padding).with_groups(b),
            )?
        }
    };
    let (oh, ow) = (y.dims()[2], y.dims()[3]);
    y.reshape([b, n_out, c_out, oh, ow])?
        .permute(&[0, 2, 1, 3, 4])
}

/// Adds a per-channel bias `[Cout]` to `[B, Cout, N, H, W]`.
pub(crate) fn add_bias<B: Backend, E: Element>(
    y: &Tensor<B, E>,
    bias: Option<&Param<B, E>>,
) -> Result<Tensor<B, E>> {
    match bias {
        Some(b) => y.add(&b.tensor().reshape([1, b.numel(), 1, 1, 1])?),
        None => Ok(y.clone()),
    }
}

/// The kernel net of a convolution with `config`: `in_dim` coordinates in, one value per
/// (output, input) channel pair out.
pub(crate) fn conv_kernel_net<B: Backend, E: Element>(
    backend: &B,
    config: &ConvConfig,
    in_dim: usize,
    rng: &mut Rng,
) -> Result<KernelNetwork<B, E>> {
    KernelNetwork::new(
        backend,
        &config.kernel,
        in_dim,
        config.out_channels * config.in_channels,
        rng,
    )
}

/// What the lifting and the group convolution build alike from their config: the kernel
/// net (on `in_dim` coordinates, `Cout·Cin` outputs), the bias (zero, as the reference
/// initialises it), and the kernel grid with its circular mask.
pub(crate) struct ConvParts<B: Backend, E: Element> {
    pub kernel_net: KernelNetwork<B, E>,
    pub bias: Option<Param<B, E>>,
    pub grid: KernelGrid,
    pub mask: Tensor<B, E>,
}

impl<B: Backend, E: Element> ConvParts<B, E> {
    /// Builds the parts of a convolution with `config`, initialising the kernel net from
    /// `rng`.
    pub(crate) fn new(
        backend: &B,
        config: &ConvConfig,
        in_dim: usize,
        rng: &mut Rng,
    ) -> Result<Self> {
        let kernel_net = conv_kernel_net(backend, config, in_dim, rng)?;
        let bias = if config.bias {
            Some(Param::new(Tensor::zeros(backend, [config.out_channels])?))
        } else {
            None
        };
        let grid = KernelGrid::new(config.kernel_size)?;
        let mask = grid.mask_tensor(backend)?;
        Ok(ConvParts {
            kernel_net,
            bias,
            grid,
            mask,
        })
    }
}

/// Pushes `‖kernel‖₂ + ‖bias‖₂` to the context when it collects kernel norms.
pub(crate) fn record_kernel_norm<B: Backend, E: Element>(
    ctx: &mut ForwardCtx<B, E>,
    kernel: &Tensor<B, E>,
    bias: Option<&Param<B, E>>,
) -> Result<()> {
    if let Some(norms) = ctx.kernel_norms.as_mut() {
        // l2_norm, not sqrt(sum(x²)): biases start at 0, where the latter's gradient
        // is NaN.
        let mut n = kernel.l2_norm()?;
        if let Some(b) = bias {
            n = n.add(&b.tensor().l2_norm()?)?;
        }
        norms.push(n);
    }
    Ok(())
}

/// Checks an input group map's channel count against the layer.
pub(crate) fn check_channels(op: &'static str, dims: &[usize], c_in: usize) -> Result<()> {
    if dims[1] != c_in {
        return Err(Error::bad_shape(
            op,
            dims,
            format!("the layer expects {c_in} input channels"),
        ));
    }
    Ok(())
}

/// The parameter lists of a convolution: kernel net, then bias, then (partial layers)
/// θ / logits. `partial` holds the partial parameters with their names.
pub(crate) struct ParamList<'a, B: Backend, E: Element> {
    pub net: &'a KernelNetwork<B, E>,
    pub bias: Option<&'a Param<B, E>>,
    pub partial: Vec<(&'static str, &'a Param<B, E>)>,
}

impl<'a, B: Backend, E: Element> ParamList<'a, B, E> {
    pub(crate) fn params(&self) -> Vec<&'a Param<B, E>> {
        let mut v = self.net.params();
        v.extend(self.bias);
        v.extend(self.partial.iter().map(|(_, p)| *p));
        v
    }
    pub(crate) fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .net
            .param_names()
            .into_iter()
            .map(|n| format!("kernel_net.{n}"))
            .collect();
        if self.bias.is_some() {
            v.push("bias".into());
        }
        v.extend(self.partial.iter().map(|(n, _)| format!("partial.{n}")));
        v
    }
    pub(crate) fn roles(&self) -> Vec<ParamRole> {
        let mut v = self.net.param_roles();
        if self.bias.is_some() {
            v.push(ParamRole::Main);
        }
        v.extend(self.partial.iter().map(|_| ParamRole::Probs));
        v
    }
}
