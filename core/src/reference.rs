//! The naive reference backend: slow, obvious loops that define what every primitive
//! means. Faster backends are tested against it; nothing here is tuned.

use crate::backend::*;
use crate::element::Element;
use crate::error::Result;
use alloc::vec;
use alloc::vec::Vec;

/// The oracle backend. Single-threaded, host memory, no tricks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reference;

/// The name its errors carry.
const NAME: &str = "reference";

/// Visits every multi-index of `dims` in row-major order, with the matching offsets
/// under two stride sets.
fn for_each_index(dims: &[usize], sa: &[usize], sb: &[usize], mut f: impl FnMut(usize, usize)) {
    let n: usize = dims.iter().product();
    let mut idx = vec![0usize; dims.len()];
    let (mut oa, mut ob) = (0usize, 0usize);
    for _ in 0..n {
        f(oa, ob);
        for ax in (0..dims.len()).rev() {
            idx[ax] += 1;
            oa += sa[ax];
            ob += sb[ax];
            if idx[ax] < dims[ax] {
                break;
            }
            oa -= sa[ax] * dims[ax];
            ob -= sb[ax] * dims[ax];
            idx[ax] = 0;
        }
    }
}

impl Backend for Reference {
    type Storage<E: Element> = Vec<E>;

    fn name(&self) -> &'static str {
        NAME
    }

    fn upload<E: Element>(&self, data: &[E]) -> Result<Vec<E>> {
        Ok(data.to_vec())
    }
    fn download<E: Element>(&self, s: &Vec<E>) -> Result<Vec<E>> {
        Ok(s.clone())
    }
    fn len<E: Element>(&self, s: &Vec<E>) -> usize {
        s.len()
    }

    fn unary<E: Element>(&self, op: UnaryOp<E>, x: &Vec<E>) -> Result<Vec<E>> {
        Ok(x.iter().map(|&v| op.apply(v)).collect())
    }

    fn binary<E: Element>(
        &self,
        op: BinaryOp,
        a: &Vec<E>,
        b: &Vec<E>,
        layout: &BroadcastLayout,
    ) -> Result<Vec<E>> {
        let mut out = Vec::with_capacity(layout.numel());
        for_each_index(
            &layout.out_dims,
            &layout.a_strides,
            &layout.b_strides,
            |ia, ib| out.push(op.apply(a[ia], b[ib])),
        );
        Ok(out)
    }

    fn reduce<E: Element>(&self, op: ReduceOp, x: &Vec<E>, l: AxisLayout) -> Result<Vec<E>> {
        check_len(
            NAME,
            "reduce",
            "input",
            x.len(),
            l.validate(NAME, "reduce")?,
        )?;
        let mut out = Vec::with_capacity(l.outer * l.inner);
        for o in 0..l.outer {
            for i in 0..l.inner {
                let mut acc = x[o * l.len * l.inner + i];
                for j in 1..l.len {
                    let v = x[(o * l.len + j) * l.inner + i];
                    acc = match op {
                        ReduceOp::Sum => acc + v,
                        ReduceOp::Max => acc.max(v),
                        ReduceOp::Min => acc.min(v),
                    };
                }
                out.push(acc);
            }
        }
        Ok(out)
    }

    fn permute<E: Element>(&self, x: &Vec<E>, dims: &[usize], perm: &[usize]) -> Result<Vec<E>> {
        let in_strides = crate::shape::contiguous_strides(dims);
        let out_dims: Vec<usize> = perm.iter().map(|&p| dims[p]).collect();
        let read: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
        let mut out = Vec::with_capacity(x.len());
        for_each_index(&out_dims, &read, &read, |ia, _| out.push(x[ia]));
        Ok(out)
    }

    fn concat<E: Element>(
        &self,
        parts: &[(&Vec<E>, usize)],
        outer: usize,
        inner: usize,
    ) -> Result<Vec<E>> {
        let mut out = Vec::new();
        for o in 0..outer {
            for (p, len) in parts {
                out.extend_from_slice(&p[o * len * inner..(o + 1) * len * inner]);
            }
        }
        Ok(out)
    }

    fn index_select<E: Element>(&self, x: &Vec<E>, l: AxisLayout, idx: &[usize]) -> Result<Vec<E>> {
        check_len(
            NAME,
            "index_select",
            "input",
            x.len(),
            l.validate(NAME, "index_select")?,
        )?;
        let mut out = Vec::with_capacity(l.outer * idx.len() * l.inner);
        for o in 0..l.outer {
            for &j in idx {
                let s = (o * l.len + j) * l.inner;
                out.extend_from_slice(&x[s..s + l.inner]);
            }
        }
        Ok(out)
    }

    fn index_add<E: Element>(&self, src: &Vec<E>, l: AxisLayout, idx: &[usize]) -> Result<Vec<E>> {
        const OP: &str = "index_add";
        let src_layout = AxisLayout {
            len: idx.len(),
            ..l
        };
        check_len(
            NAME,
            OP,
            "source",
            src.len(),
            src_layout.validate(NAME, OP)?,
        )?;
        l.validate(NAME, OP)?;
        let mut out = vec![E::zero(); l.numel()];
        for o in 0..l.outer {
            for (i, &j) in idx.iter().enumerate() {
                for n in 0..l.inner {
                    out[(o * l.len + j) * l.inner + n] =
                        out[(o * l.len + j) * l.inner + n] + src[(o * idx.len() + i) * l.inner + n];
                }
            }
        }
        Ok(out)
    }

    fn gemm<E: Element>(&self, a: &Vec<E>, b: &Vec<E>, d: &GemmDesc) -> Result<Vec<E>> {
        let len = d.validate(NAME, "gemm", a.len(), b.len())?;
        let (ars, acs) = d.a_strides();
        let (brs, bcs) = d.b_strides();
        let mut c = vec![E::zero(); len];
        for bt in 0..d.batch {
            let (ao, bo) = (bt * d.a_batch_stride, bt * d.b_batch_stride);
            for i in 0..d.m {
                for j in 0..d.n {
                    let mut acc = E::zero();
                    for p in 0..d.k {
                        acc = acc + a[ao + i * ars + p * acs] * b[bo + p * brs + j * bcs];
                    }
                    c[(bt * d.m + i) * d.n + j] = acc;
                }
            }
        }
        Ok(c)
    }

    fn conv2d<E: Element>(&self, x: &Vec<E>, w: &Vec<E>, d: &Conv2dDesc) -> Result<Vec<E>> {
        let lens = d.validate(NAME, "conv2d")?;
        check_len(NAME, "conv2d", "input", x.len(), lens.input)?;
        check_len(NAME, "conv2d", "weight", w.len(), lens.weight)?;
        let mut y = vec![E::zero(); d.output_len()];
        conv_visit(d, |xi, wi, yi| y[yi] = y[yi] + x[xi] * w[wi]);
        Ok(y)
    }

    fn conv2d_backward_input<E: Element>(
        &self,
        dy: &Vec<E>,
        w: &Vec<E>,
        d: &Conv2dDesc,
    ) -> Result<Vec<E>> {
        let lens = d.validate(NAME, "conv2d_backward_input")?;
        check_len(NAME, "conv2d_backward_input", "dy", dy.len(), lens.output)?;
        check_len(
            NAME,
            "conv2d_backward_input",
            "weight",
            w.len(),
            lens.weight,
        )?;
        let mut dx = vec![E::zero(); d.input_len()];
        conv_visit(d, |xi, wi, yi| dx[xi] = dx[xi] + dy[yi] * w[wi]);
        Ok(dx)
    }

    fn conv2d_backward_weight<E: Element>(
        &self,
        x: &Vec<E>,
        dy: &Vec<E>,
        d: &Conv2dDesc,
    ) -> Result<Vec<E>> {
        let lens = d.validate(NAME, "conv2d_backward_weight")?;
        check_len(NAME, "conv2d_backward_weight", "input", x.len(), lens.input)?;
        check_len(NAME, "conv2d_backward_weight", "dy", dy.len(), lens.output)?;
        let mut dw = vec![E::zero(); d.weight_len()];
        conv_visit(d, |xi, wi, yi| dw[wi] = dw[wi] + dy[yi] * x[xi]);
        Ok(dw)
    }

    fn max_pool2d<E: Element>(
        &self,
        x: &Vec<E>,
        planes: usize,
        h: usize,
        w: usize,
    ) -> Result<Vec<E>> {
        let numel = checked_product(NAME, "max_pool2d", &[planes, h, w])?;
        check_len(NAME, "max_pool2d", "input", x.len(), numel)?;
        let mut y = Vec::with_capacity(planes * (h / 2) * (w / 2));
        for p in 0..planes {
            for i in 0..h / 2 {
                for j in 0..w / 2 {
                    let (pos, _) = window_argmax(x, p, h, w, i, j);
                    y.push(x[pos]);
                }
            }
        }
        Ok(y)
    }

    fn max_pool2d_backward<E: Element>(
        &self,
        x: &Vec<E>,
        dy: &Vec<E>,
        planes: usize,
        h: usize,
        w: usize,
    ) -> Result<Vec<E>> {
        let mut dx = vec![E::zero(); planes * h * w];
        let mut k = 0;
        for p in 0..planes {
            for i in 0..h / 2 {
                for j in 0..w / 2 {
                    let (pos, _) = window_argmax(x, p, h, w, i, j);
                    dx[pos] = dx[pos] + dy[k];
                    k += 1;
                }
            }
        }
        Ok(dx)
    }
}

/// Position (flat index) and value of the first maximum of window (i, j) of plane p.
fn window_argmax<E: Element>(
    x: &[E],
    p: usize,
    h: usize,
    w: usize,
    i: usize,
    j: usize,
) -> (usize, E) {
    let mut best = (p * h + 2 * i) * w + 2 * j;
    for (di, dj) in [(0, 1), (1, 0), (1, 1)] {
        let q = (p * h + 2 * i + di) * w + 2 * j + dj;
        if x[q] > x[best] {
            best = q;
        }
    }
    (best, x[best])
}

/// Calls `f(input index, weight index, output index)` for every multiply-add of the
/// convolution `d`: the whole definition of conv2d and of both its gradients.
fn conv_visit(d: &Conv2dDesc, mut f: impl FnMut(usize, usize, usize)) {
    let (oh, ow) = (d.out_h(), d.out_w());
    let (cig, cog) = (d.in_per_group(), d.out_per_group());
    for b in 0..d.batch {
        for co in 0..d.out_channels {
            let g = co / cog;
            for ci in 0..cig {
                let cin = g * cig + ci;
                for ky in 0..d.kernel_h {
                    for kx in 0..d.kernel_w {
                        let wi = ((co * cig + ci) * d.kernel_h + ky) * d.kernel_w + kx;
                        for oy in 0..oh {
                            let iy = oy + ky;
                            if iy < d.pad_h || iy >= d.in_h + d.pad_h {
                                continue;
                            }
                            for ox in 0..ow {
                                let ix = ox + kx;
                                if ix < d.pad_w || ix >= d.in_w + d.pad_w {
                                    continue;
                                }
                                let xi = ((b * d.in_channels + cin) * d.in_h + iy - d.pad_h)
                                    * d.in_w
                                    + ix
                                    - d.pad_w;
                                let yi = ((b * d.out_channels + co) * oh + oy) * ow + ox;
                                f(xi, wi, yi);
                            }
                        }
                    }
                }
            }
        }
    }
}
