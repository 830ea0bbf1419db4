//! 2-D convolutions: forward, input gradient and weight gradient, grouped.
//!
//! Each call takes one of two algorithms, chosen per shape by [`choice`]'s cost model (or
//! forced with [`with_conv_algorithm`]): products of spectra ([`fft`]), or im2col + GEMM,
//! described here. A single image with several groups (a sample per image) runs its
//! groups side by side (`by_groups`).
//!
//! im2col + GEMM works over chunks of images (see [`plan`]), each rayon task with
//! its own buffers (an im2col slab, the chunk's output or gradient), reused across chunks:
//! - forward: for each chunk, `Y[co, (b, p)] = W[co, (ci, ky, kx)] · col[(ci, ky, kx), (b, p)]`,
//!   with `col` built one slab of input channels at a time and the products accumulated
//!   (beta = 1) into the chunk's output, which is then copied into the output images;
//! - input gradient: for stride 1, `dx` is the forward convolution of `dy` with the kernel
//!   transposed (in ↔ out channels) and flipped in space, with padding `k - 1 - pad`
//!   (negative padding crops), so it reuses the forward path and needs no col2im;
//! - weight gradient: `dW[co, (ci, ky, kx)] += dY[co, (b, p)] · col[(ci, ky, kx), (b, p)]ᵀ`,
//!   each worker summing its chunks into its own `dW`, and the partial sums added at the end.
//!
//! matrixmultiply packs its left operand fastest when consecutive rows are adjacent in
//! memory and its right operand when consecutive columns are, so the kernel and `dy` are
//! handed to it transposed (copied once per call or chunk, in cache-sized tiles); `col`
//! is already in the right order for the forward GEMM, not for the weight-gradient one.
//! A kernel that covers the whole unpadded input (one output pixel) is a plain product
//! instead (see [`whole`]).
//!
//! With few output channels per group (at most [`direct::MAX_ROWS`]), f32 and AVX-512,
//! both products run instead on [`direct`]'s kernels, which read `col` unpacked.

mod choice;
mod direct;
mod fft;
mod forward;
mod im2col;
mod plan;
mod weight;
mod whole;

pub use choice::{with_conv_algorithm, ConvAlgorithm};

use crate::check;
use crate::transpose::transpose;
use pgcnn_core::backend::Conv2dDesc;
use pgcnn_core::{Element, Result};

/// A convolution with signed padding: what [`Conv2dDesc`] says, or the derived
/// convolution whose output is an input gradient.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    pub batch: usize,
    pub cin: usize,
    pub cout: usize,
    pub groups: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub kh: usize,
    pub kw: usize,
    pub pad_h: isize,
    pub pad_w: isize,
    pub out_h: usize,
    pub out_w: usize,
}

impl Geometry {
    pub fn cin_g(&self) -> usize {
        self.cin / self.groups
    }
    pub fn cout_g(&self) -> usize {
        self.cout / self.groups
    }
    /// Length of one output channel's kernel: `cin_g · kh · kw`.
    pub fn kernel_len(&self) -> usize {
        self.cin_g() * self.kh * self.kw
    }
    pub fn in_plane(&self) -> usize {
        self.in_h * self.in_w
    }
    pub fn out_plane(&self) -> usize {
        self.out_h * self.out_w
    }
}

/// Checks `d` (the core's validation, then this backend's own limit: paddings that fit
/// `isize`) and returns its geometry together with the input, weight and output lengths.
fn validate(op: &'static str, d: &Conv2dDesc) -> Result<(Geometry, usize, usize, usize)> {
    let lens = d.validate(check::NAME, op)?;
    let (out_h, out_w) = (d.out_h(), d.out_w());
    let signed =
        |p: usize| isize::try_from(p).map_err(|_| check::fail(op, "padding too large".into()));
    let g = Geometry {
        batch: d.batch,
        cin: d.in_channels,
        cout: d.out_channels,
        groups: d.groups,
        in_h: d.in_h,
        in_w: d.in_w,
        kh: d.kernel_h,
        kw: d.kernel_w,
        pad_h: signed(d.pad_h)?,
        pad_w: signed(d.pad_w)?,
        out_h,
        out_w,
    };
    // The derived input-gradient convolution pads by k - 1 - pad: keep that in range too.
    signed(d.kernel_h.max(d.kernel_w))?;
    Ok((g, lens.input, lens.weight, lens.output))
}

/// What the cost model picks for `d` in `E` (`Auto`'s choice), or an error for a bad
/// descriptor.
pub(crate) fn auto_algorithm<E: Element>(d: &Conv2dDesc) -> Result<ConvAlgorithm> {
    let (g, ..) = validate("conv2d", d)?;
    Ok(if whole::applies(&g) {
        ConvAlgorithm::Im2col
    } else {
        choice::auto::<E>(&g)
    })
}

/// The forward convolution.
pub(crate) fn forward<E: Element>(x: &[E], w: &[E], d: &Conv2dDesc) -> Result<Vec<E>> {
    const OP: &str = "conv2d";
    let (g, x_len, w_len, _) = validate(OP, d)?;
    check::len(OP, "input", x.len(), x_len)?;
    check::len(OP, "weight", w.len(), w_len)?;
    let (x_grp, w_grp) = (g.cin_g() * g.in_plane(), g.cout_g() * g.kernel_len());
    Ok(by_groups(&g, g.cout_g() * g.out_plane(), |g, grp, algo| {
        let (x, w) = match grp {
            Some(i) => (&x[i * x_grp..][..x_grp], &w[i * w_grp..][..w_grp]),
            None => (x, w),
        };
        forward_on(x, w, g, algo)
    }))
}

fn forward_on<E: Element>(x: &[E], w: &[E], g: &Geometry, algo: ConvAlgorithm) -> Vec<E> {
    if whole::applies(g) {
        whole::forward(x, w, g)
    } else if algo == ConvAlgorithm::Fft {
        fft::forward(x, w, g)
    } else {
        forward::run(x, &kernel_columns(w, g), g)
    }
}

/// The gradient with respect to the input: by FFT, or a forward convolution of `dy` with
/// the transposed, flipped kernel.
pub(crate) fn backward_input<E: Element>(dy: &[E], w: &[E], d: &Conv2dDesc) -> Result<Vec<E>> {
    const OP: &str = "conv2d_backward_input";
    let (g, _, w_len, y_len) = validate(OP, d)?;
    check::len(OP, "dy", dy.len(), y_len)?;
    check::len(OP, "weight", w.len(), w_len)?;
    let (y_grp, w_grp) = (g.cout_g() * g.out_plane(), g.cout_g() * g.kernel_len());
    Ok(by_groups(&g, g.cin_g() * g.in_plane(), |g, grp, algo| {
        let (dy, w) = match grp {
            Some(i) => (&dy[i * y_grp..][..y_grp], &w[i * w_grp..][..w_grp]),
            None => (dy, w),
        };
        backward_input_on(dy, w, g, algo)
    }))
}

fn backward_input_on<E: Element>(dy: &[E], w: &[E], g: &Geometry, algo: ConvAlgorithm) -> Vec<E> {
    if whole::applies(g) {
        return whole::backward_input(dy, w, g);
    }
    if algo == ConvAlgorithm::Fft {
        return fft::backward_input(dy, w, g);
    }
    let flipped = flipped_kernel_columns(w, g);
    let derived = Geometry {
        batch: g.batch,
        cin: g.cout,
        cout: g.cin,
        groups: g.groups,
        in_h: g.out_h,
        in_w: g.out_w,
        kh: g.kh,
        kw: g.kw,
        pad_h: g.kh as isize - 1 - g.pad_h,
        pad_w: g.kw as isize - 1 - g.pad_w,
        out_h: g.in_h,
        out_w: g.in_w,
    };
    forward::run(dy, &flipped, &derived)
}

/// The gradient with respect to the weight.
pub(crate) fn backward_weight<E: Element>(x: &[E], dy: &[E], d: &Conv2dDesc) -> Result<Vec<E>> {
    const OP: &str = "conv2d_backward_weight";
    let (g, x_len, _, y_len) = validate(OP, d)?;
    check::len(OP, "input", x.len(), x_len)?;
    check::len(OP, "dy", dy.len(), y_len)?;
    let (x_grp, y_grp) = (g.cin_g() * g.in_plane(), g.cout_g() * g.out_plane());
    Ok(by_groups(
        &g,
        g.cout_g() * g.kernel_len(),
        |g, grp, algo| {
            let (x, dy) = match grp {
                Some(i) => (&x[i * x_grp..][..x_grp], &dy[i * y_grp..][..y_grp]),
                None => (x, dy),
            };
            if whole::applies(g) {
                whole::backward_weight(x, dy, g)
            } else if algo == ConvAlgorithm::Fft {
                fft::backward_weight(x, dy, g)
            } else {
                weight::run(x, dy, g)
            }
        },
    ))
}

/// Runs `one(g, None, algorithm)` on the whole convolution, or, for a single image with
/// several groups, `one(group's geometry, Some(i), algorithm)` for each group `i` side by
/// side, each result being the `i`-th block of `per_group` elements of the whole one.
///
/// A sample per image makes each image's kernels a group of one convolution with a
/// single image; split by images, such a convolution is one chunk, which the threads
/// could only share GEMM by GEMM (the im2col copies on one thread). Its groups are
/// independent convolutions on contiguous slices instead. The algorithm is chosen here,
/// on the calling thread, where [`with_conv_algorithm`] may have forced one.
fn by_groups<E: Element>(
    g: &Geometry,
    per_group: usize,
    one: impl Fn(&Geometry, Option<usize>, ConvAlgorithm) -> Vec<E> + Sync,
) -> Vec<E> {
    use rayon::prelude::*;
    if g.batch != 1 || g.groups < 2 || crate::par::threads() < 2 || per_group == 0 {
        return one(g, None, choice::current::<E>(g));
    }
    let sub = Geometry {
        cin: g.cin_g(),
        cout: g.cout_g(),
        groups: 1,
        ..*g
    };
    let algo = choice::current::<E>(&sub);
    let mut out = vec![E::zero(); g.groups * per_group];
    out.par_chunks_mut(per_group)
        .enumerate()
        .for_each(|(i, block)| block.copy_from_slice(&one(&sub, Some(i), algo)));
    out
}

/// The forward kernel `w [cout, cin_g·kh·kw]` laid out as [`forward::run`] takes it: per
/// group, `[cin_g·kh·kw, cout_g]`, so that each GEMM reads its left operand column by
/// column, the order matrixmultiply packs it in.
fn kernel_columns<E: Element>(w: &[E], g: &Geometry) -> Vec<E> {
    let (cog, klen) = (g.cout_g(), g.kernel_len());
    let mut out = vec![E::zero(); w.len()];
    let group = cog * klen;
    if group > 0 {
        for (src, dst) in w.chunks(group).zip(out.chunks_mut(group)) {
            transpose(src, cog, klen, dst);
        }
    }
    out
}

/// The kernel of the input-gradient convolution, `w'[g·cin_g + ci, co, ky, kx] =
/// w[g·cout_g + co, ci, kh-1-ky, kw-1-kx]` (in and out channels swapped, space flipped),
/// laid out as [`kernel_columns`] lays out a forward kernel: per group,
/// `[cout_g·kh·kw, cin_g]`.
fn flipped_kernel_columns<E: Element>(w: &[E], g: &Geometry) -> Vec<E> {
    let (cig, taps) = (g.cin_g(), g.kh * g.kw);
    // Flipping both spatial axes reverses each row-major kernel plane...
    let mut flipped = w.to_vec();
    for plane in flipped.chunks_mut(taps) {
        plane.reverse();
    }
    // ... and then each output channel's [cin_g, taps] block is transposed in place.
    let mut out = vec![E::zero(); w.len()];
    let block = cig * taps;
    if block > 0 {
        for (src, dst) in flipped.chunks(block).zip(out.chunks_mut(block)) {
            transpose(src, cig, taps, dst);
        }
    }
    out
}
