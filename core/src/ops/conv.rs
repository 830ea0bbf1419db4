//! 2-D convolution (stride 1, zero padding, grouped), as PyTorch's `conv2d`.
//!
//! Grouped convolution is also how per-sample kernels run in one call: reshape a batch
//! `[B, Cin, H, W]` to `[1, B·Cin, H, W]`, stack each image's kernels to
//! `[B·Cout, Cin, kh, kw]`, and use `groups = B`.

use crate::backend::{Backend, Conv2dDesc};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec;

/// How the input of [`Tensor::conv2d`] is padded with zeros.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Padding {
    /// The output keeps the input's height and width; the kernel sizes must be odd.
    #[default]
    Same,
    /// No padding: the output shrinks by `kernel - 1` on each axis.
    Valid,
    /// `h` zero rows above and below, `w` zero columns left and right.
    Explicit { h: usize, w: usize },
}

/// Settings of [`Tensor::conv2d`] besides its operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dOptions {
    pub padding: Padding,
    /// Input and output channels split into this many independent convolutions.
    pub groups: usize,
}

impl Default for Conv2dOptions {
    /// `Same` padding, one group.
    fn default() -> Self {
        Conv2dOptions {
            padding: Padding::Same,
            groups: 1,
        }
    }
}

impl Conv2dOptions {
    /// One group with the given padding.
    pub fn new(padding: Padding) -> Self {
        Conv2dOptions { padding, groups: 1 }
    }
    /// The same options with `groups` groups.
    pub fn with_groups(self, groups: usize) -> Self {
        Conv2dOptions { groups, ..self }
    }
}

/// Checks the operands and options and fills in the backend descriptor.
fn describe(x: &[usize], w: &[usize], opts: Conv2dOptions) -> Result<Conv2dDesc> {
    const OP: &str = "conv2d";
    if x.len() != 4 {
        return Err(Error::bad_shape(OP, x, "the input must be [B, Cin, H, W]"));
    }
    if w.len() != 4 {
        return Err(Error::bad_shape(
            OP,
            w,
            "the weight must be [Cout, Cin/groups, kh, kw]",
        ));
    }
    let (batch, cin, in_h, in_w) = (x[0], x[1], x[2], x[3]);
    let (cout, cin_per_group, kh, kw) = (w[0], w[1], w[2], w[3]);
    let groups = opts.groups;
    if groups == 0 {
        return Err(Error::bad_arg(OP, "groups must be at least 1"));
    }
    if cin == 0 || cout == 0 {
        return Err(Error::mismatch(
            OP,
            x,
            w,
            "input and output channel counts must be at least 1",
        ));
    }
    if cin % groups != 0 || cout % groups != 0 {
        return Err(Error::mismatch(
            OP,
            x,
            w,
            format!("{cin} input and {cout} output channels do not split into {groups} groups"),
        ));
    }
    if cin_per_group * groups != cin {
        return Err(Error::mismatch(
            OP,
            x,
            w,
            format!(
                "the weight has {cin_per_group} input channels per group, but {cin} channels \
                 in {groups} groups need {}",
                cin / groups
            ),
        ));
    }
    if kh == 0 || kw == 0 {
        return Err(Error::bad_shape(OP, w, "the kernel must be at least 1x1"));
    }
    if in_h == 0 || in_w == 0 {
        return Err(Error::bad_shape(OP, x, "the image must be at least 1x1"));
    }
    let (pad_h, pad_w) = match opts.padding {
        Padding::Same => {
            if kh % 2 == 0 || kw % 2 == 0 {
                return Err(Error::bad_arg(
                    OP,
                    format!("padding Same needs odd kernel sizes, the kernel is {kh}x{kw}"),
                ));
            }
            ((kh - 1) / 2, (kw - 1) / 2)
        }
        Padding::Valid => (0, 0),
        Padding::Explicit { h, w } => (h, w),
    };
    // The padded image must hold the kernel at least once.
    let padded = (
        in_h.checked_add(pad_h.saturating_mul(2)),
        in_w.checked_add(pad_w.saturating_mul(2)),
    );
    match padded {
        (Some(ph), Some(pw)) if ph >= kh && pw >= kw => {}
        _ => {
            return Err(Error::mismatch(
                OP,
                x,
                w,
                format!(
                    "the {kh}x{kw} kernel is larger than the {in_h}x{in_w} image padded by \
                     ({pad_h}, {pad_w})"
                ),
            ))
        }
    }
    Ok(Conv2dDesc {
        batch,
        in_channels: cin,
        out_channels: cout,
        groups,
        in_h,
        in_w,
        kernel_h: kh,
        kernel_w: kw,
        pad_h,
        pad_w,
    })
}

impl<B: Backend, E: Element> Tensor<B, E> {
    /// Cross-correlation of `self` `[B, Cin, H, W]` with `w` `[Cout, Cin/groups, kh, kw]`,
    /// stride 1, plus `bias` `[Cout]` when given; the result is `[B, Cout, OH, OW]`.
    pub fn conv2d(&self, w: &Self, bias: Option<&Self>, opts: Conv2dOptions) -> Result<Self> {
        let desc = describe(self.dims(), w.dims(), opts)?;
        if let Some(b) = bias {
            if b.dims() != [desc.out_channels] {
                return Err(Error::mismatch(
                    "conv2d",
                    w.dims(),
                    b.dims(),
                    "the bias must be [Cout]",
                ));
            }
        }
        let y = self.backend().conv2d(self.storage(), w.storage(), &desc)?;
        let out_dims = vec![desc.batch, desc.out_channels, desc.out_h(), desc.out_w()];
        // Each gradient costs as much as the forward pass: skip the one nobody needs
        // (the input images of a network's first convolution need none).
        let (need_dx, need_dw) = (self.requires_grad(), w.requires_grad());
        let y = self.record(
            y,
            out_dims,
            &[self, w],
            move |xs: &[Tensor<B, E>], _: &Tensor<B, E>, g: &Tensor<B, E>| {
                let (x, w) = (&xs[0], &xs[1]);
                let be = g.backend();
                let dx = if need_dx {
                    let dx = be.conv2d_backward_input(g.storage(), w.storage(), &desc)?;
                    Some(g.with_storage(dx, x.shape().clone()))
                } else {
                    None
                };
                let dw = if need_dw {
                    let dw = be.conv2d_backward_weight(x.storage(), g.storage(), &desc)?;
                    Some(g.with_storage(dw, w.shape().clone()))
                } else {
                    None
                };
                Ok(vec![dx, dw])
            },
        );
        match bias {
            // Broadcasting over [1, Cout, 1, 1] makes the bias gradient the sum over
            // axes 0, 2 and 3.
            Some(b) => y.add(&b.reshape(vec![1, desc.out_channels, 1, 1])?),
            None => Ok(y),
        }
    }
}
