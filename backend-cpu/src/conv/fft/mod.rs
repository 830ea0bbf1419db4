//! FFT convolution: the forward pass and both gradients as products of spectra.
//!
//! A `k × k` kernel on an `n × n` map costs im2col + GEMM `n² · k²` multiply-adds per
//! channel pair; on circles of `len ≈ n + k/2` points (see [`dft`]) it costs one complex
//! product per kept frequency, `len · (len/2 + 1)`, about 4 real multiply-adds each: for
//! 7×7 kernels on 14×14 maps 612 instead of 9,604 per channel pair and image. The
//! transforms are shared: each input plane, each kernel and each output plane is
//! transformed once per call, whatever the channel counts.
//!
//! With `X`, `G`, `dY` the spectra of the input, the kernel (placed on the circle so that
//! the circular convolution is the cross-correlation, see [`dft`]) and the output
//! gradient, at every frequency `f` and for every group:
//! - forward: `Y_f [b, co] = Σ_ci X_f [b, ci] · G_f [co, ci]`;
//! - input gradient: `dX_f [b, ci] = Σ_co dY_f [b, co] · conj(G_f [co, ci])`;
//! - weight gradient: `dG_f [co, ci] = Σ_b dY_f [b, co] · conj(X_f [b, ci])`;
//!
//! then the inverse transform at the positions wanted (the output, the input, the taps).
//! The gradients are the adjoints of the forward map, which is exact on these circles,
//! so they are exact too (up to rounding).

mod dft;
mod products;
mod transform;

use super::Geometry;
use crate::transpose::{reversed, transposed};
use dft::{Placement, Sizes};
use pgcnn_core::Element;
use products::{Job, Operand, Target};
use transform::Signal;

/// The work of one FFT convolution pass, for choosing between it and im2col.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Work {
    /// Flops of the per-frequency products (4 real GEMMs per complex one).
    pub product_flops: f64,
    /// Flops of the transforms (small-K GEMMs with the DFT matrices).
    pub transform_flops: f64,
    /// Elements written to and read back from the spectra and the transposed copies.
    pub elements_moved: f64,
    /// Bytes of spectra held at once (input, kernel and output spectra).
    pub spectrum_bytes: f64,
}

/// What one pass of `g` (a forward geometry) costs on the FFT path.
pub(crate) fn work<E>(g: &Geometry) -> Work {
    let s = Sizes::new(g);
    let f = s.freqs() as f64;
    let (b, cin, cout, cig) = (
        g.batch as f64,
        g.cin as f64,
        g.cout as f64,
        g.cin_g() as f64,
    );
    let (lh, hw) = (s.len_h as f64, s.half_w as f64);
    // Analysis or synthesis of `planes` planes of n_h × n_w: the width product
    // (2·half_w × n_w per row) and the height product (2·len_h × 2·n_h over half_w columns).
    let transform = |n_h: usize, n_w: usize, planes: f64| {
        let (n_h, n_w) = (n_h as f64, n_w as f64);
        2.0 * planes * (2.0 * hw * n_w * n_h + 4.0 * lh * n_h * hw)
    };
    let image_planes = b * cin + b * cout;
    let kernel_planes = cout * cig;
    Work {
        product_flops: 8.0 * f * b * cout * cig,
        transform_flops: transform(g.in_h, g.in_w, b * cin)
            + transform(g.out_h, g.out_w, b * cout)
            + transform(g.kh, g.kw, kernel_planes),
        elements_moved: b * cin * (g.in_plane() as f64)
            + b * cout * (g.out_plane() as f64)
            + kernel_planes * (g.kh * g.kw) as f64
            + 4.0 * f * (image_planes + kernel_planes),
        spectrum_bytes: 2.0 * f * (image_planes + kernel_planes) * core::mem::size_of::<E>() as f64,
    }
}

/// The forward convolution of `x [batch, cin, in_h, in_w]` with `w [cout, cin_g, kh, kw]`.
/// `g` has padding at least 0; the caller has checked the lengths.
pub(crate) fn forward<E: Element>(x: &[E], w: &[E], g: &Geometry) -> Vec<E> {
    let s = Sizes::new(g);
    let (b, cin, cout, cig, cog) = (g.batch, g.cin, g.cout, g.cin_g(), g.cout_g());
    if b * cout * g.out_plane() == 0 || cig == 0 {
        return vec![E::zero(); b * cout * g.out_plane()];
    }
    // Both operands with the summed input channel outermost: X_f [ci, b], G_f [ci, co].
    let xs = image_spectrum(x, b, cin, (g.in_h, g.in_w), Order::ChannelMajor, &s);
    let ws = kernel_spectrum(w, g, Order::ChannelMajor, &s);
    let jobs: Vec<Job<'_, E>> = (0..g.groups)
        .map(|grp| Job {
            // Y_f [b, co] = X_f [ci, b]ᵀ · G_f [ci, co]
            a: Operand {
                spec: &xs,
                block: b * cin,
                offset: grp * cig * b,
                rows: b,
                cols: cig,
                rs: 1,
                cs: b,
                conj: false,
            },
            b: Operand {
                spec: &ws,
                block: cout * cig,
                offset: grp * cog,
                rows: cig,
                cols: cog,
                rs: cout,
                cs: 1,
                conj: false,
            },
            out: Target {
                offset: grp * cog,
                rows: b,
                cols: cog,
                rs: cout,
            },
        })
        .collect();
    let ys = products::run(&jobs, s.freqs(), b * cout);
    // The operands' spectra go before the inverse transform allocates its buffers.
    drop(jobs);
    drop((xs, ws));
    image_planes(ys, b * cout, g.out_h, g.out_w, &s)
}

/// The gradient with respect to the input, from `dy [batch, cout, out_h, out_w]`.
pub(crate) fn backward_input<E: Element>(dy: &[E], w: &[E], g: &Geometry) -> Vec<E> {
    let s = Sizes::new(g);
    let (b, cin, cout, cig, cog) = (g.batch, g.cin, g.cout, g.cin_g(), g.cout_g());
    if b * cin * g.in_plane() == 0 || cog == 0 || g.out_plane() == 0 {
        return vec![E::zero(); b * cin * g.in_plane()];
    }
    // Both operands with the summed output channel outermost: dY_f [co, b], G_f [co, ci].
    let dys = image_spectrum(dy, b, cout, (g.out_h, g.out_w), Order::ChannelMajor, &s);
    let ws = kernel_spectrum(w, g, Order::Natural, &s);
    let jobs: Vec<Job<'_, E>> = (0..g.groups)
        .map(|grp| Job {
            // dX_f [b, ci] = dY_f [co, b]ᵀ · conj(G_f [co, ci])
            a: Operand {
                spec: &dys,
                block: b * cout,
                offset: grp * cog * b,
                rows: b,
                cols: cog,
                rs: 1,
                cs: b,
                conj: false,
            },
            b: Operand {
                spec: &ws,
                block: cout * cig,
                offset: grp * cog * cig,
                rows: cog,
                cols: cig,
                rs: cig,
                cs: 1,
                conj: true,
            },
            out: Target {
                offset: grp * cig,
                rows: b,
                cols: cig,
                rs: cin,
            },
        })
        .collect();
    let dxs = products::run(&jobs, s.freqs(), b * cin);
    drop(jobs);
    drop((dys, ws));
    image_planes(dxs, b * cin, g.in_h, g.in_w, &s)
}

/// The gradient with respect to the weight, from `x` and `dy`.
pub(crate) fn backward_weight<E: Element>(x: &[E], dy: &[E], g: &Geometry) -> Vec<E> {
    let s = Sizes::new(g);
    let (b, cin, cout, cig, cog) = (g.batch, g.cin, g.cout, g.cin_g(), g.cout_g());
    let taps = g.kh * g.kw;
    if cout * cig * taps == 0 || b * g.out_plane() == 0 {
        return vec![E::zero(); cout * cig * taps];
    }
    // Both operands with the summed image outermost, as the images come: dY_f [b, co],
    // X_f [b, ci].
    let xs = image_spectrum(x, b, cin, (g.in_h, g.in_w), Order::Natural, &s);
    let dys = image_spectrum(dy, b, cout, (g.out_h, g.out_w), Order::Natural, &s);
    let jobs: Vec<Job<'_, E>> = (0..g.groups)
        .map(|grp| Job {
            // dG_f [co, ci] = dY_f [b, co]ᵀ · conj(X_f [b, ci])
            a: Operand {
                spec: &dys,
                block: b * cout,
                offset: grp * cog,
                rows: cog,
                cols: b,
                rs: 1,
                cs: cout,
                conj: false,
            },
            b: Operand {
                spec: &xs,
                block: b * cin,
                offset: grp * cig,
                rows: b,
                cols: cig,
                rs: cin,
                cs: 1,
                conj: true,
            },
            out: Target {
                offset: grp * cog * cig,
                rows: cog,
                cols: cig,
                rs: cig,
            },
        })
        .collect();
    let dws = products::run(&jobs, s.freqs(), cout * cig);
    drop(jobs);
    drop((xs, dys));
    let sig = kernel_signal(g);
    let taps_first = transform::synthesise(dws, cout * cig, sig, &s);
    transposed(&taps_first, taps, cout * cig)
}

/// The order of the planes in a spectrum: what the per-frequency products read fastest is
/// an operand whose summed index is outermost (matrixmultiply packs the left operand
/// column by column and the right one row by row).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    /// As the tensor holds them: `(image, channel)`, or `(out, in)` for a kernel.
    Natural,
    /// Channel outermost: `(channel, image)`, or `(in, out)` for a kernel.
    ChannelMajor,
}

/// The spectrum `[re/im][f][q]` of the images `src [batch][channels][n_h][n_w]`, the
/// planes `q` in `order`.
fn image_spectrum<E: Element>(
    src: &[E],
    batch: usize,
    channels: usize,
    (n_h, n_w): (usize, usize),
    order: Order,
    s: &Sizes,
) -> Vec<E> {
    let t = match order {
        Order::Natural => transposed(src, batch * channels, n_h * n_w),
        Order::ChannelMajor => reversed(src, batch, channels, n_h * n_w),
    };
    let sig = Signal {
        n_h,
        n_w,
        at_h: Placement::Image,
        at_w: Placement::Image,
    };
    transform::analyse(t, batch * channels, sig, s)
}

/// The images `[q][n_h][n_w]` whose spectrum is `spec`, at positions `0..n_h × 0..n_w`.
fn image_planes<E: Element>(
    spec: Vec<E>,
    planes: usize,
    n_h: usize,
    n_w: usize,
    s: &Sizes,
) -> Vec<E> {
    let sig = Signal {
        n_h,
        n_w,
        at_h: Placement::Image,
        at_w: Placement::Image,
    };
    let t = transform::synthesise(spec, planes, sig, s);
    transposed(&t, n_h * n_w, planes)
}

/// Where the kernel's taps sit on the circles.
fn kernel_signal(g: &Geometry) -> Signal {
    let pad =
        |p: isize| usize::try_from(p).expect("the FFT path takes forward geometries (padding ≥ 0)");
    Signal {
        n_h: g.kh,
        n_w: g.kw,
        at_h: Placement::Kernel { pad: pad(g.pad_h) },
        at_w: Placement::Kernel { pad: pad(g.pad_w) },
    }
}

/// The spectrum `[re/im][f][q]` of the kernel `w [cout, cin_g, kh, kw]`, the planes `q` in
/// `order`.
fn kernel_spectrum<E: Element>(w: &[E], g: &Geometry, order: Order, s: &Sizes) -> Vec<E> {
    let (cout, cig, taps) = (g.cout, g.cin_g(), g.kh * g.kw);
    let t = match order {
        Order::Natural => transposed(w, cout * cig, taps),
        Order::ChannelMajor => reversed(w, cout, cig, taps),
    };
    transform::analyse(t, cout * cig, kernel_signal(g), s)
}
