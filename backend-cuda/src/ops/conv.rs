//! Grouped 2-D convolution (stride 1, zero padding) as im2col + one cuBLAS product per
//! group, and its two gradients (the products transposed, and col2im).
//!
//! The column matrix puts all images of a chunk side by side, `[cin·kh·kw, images·oh·ow]`,
//! so each group is one large product (M = cout/groups, N = images·oh·ow, K = cin/groups·kh·kw)
//! rather than one small product per image; the result comes out as `[cout, images, oh·ow]`
//! and a permute puts the image axis first. Images are processed in chunks so that the
//! column matrix stays within the budget (`Cuda::with_column_budget`, 512 MiB by default).

use crate::device::{Cuda, MathMode};
use crate::error::{backend_err, NAME};
use crate::launch::GRID_YZ_MAX;
use crate::ops::gemm::RowGemm;
use crate::storage::CudaStorage;
use cudarc::driver::{DeviceRepr, LaunchConfig};
use pgcnn_core::backend::{check_len, Conv2dDesc, ConvLens};
use pgcnn_core::{Element, Result};

/// The parameter block of `im2col`/`col2im`: the C++ `ConvGeom`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvGeom {
    cin: u32,
    h: u32,
    w: u32,
    kh: u32,
    kw: u32,
    ph: u32,
    pw: u32,
    oh: u32,
    ow: u32,
}

// SAFETY: nine u32, laid out as the C++ struct.
unsafe impl DeviceRepr for ConvGeom {}

/// Sizes of one convolution, checked once.
#[derive(Clone, Copy, Debug)]
struct Plan {
    geom: ConvGeom,
    /// Output pixels per image.
    p: usize,
    /// Rows of a group's column block: cin/groups · kh · kw.
    k: usize,
    /// Column-matrix rows: cin · kh · kw.
    rows: usize,
    cog: usize,
    /// Images per chunk.
    chunk: usize,
    /// The lengths of the three buffers.
    lens: ConvLens,
}

fn plan<E: Element>(op: &'static str, d: &Conv2dDesc, column_bytes: usize) -> Result<Plan> {
    let lens = d.validate(NAME, op)?;
    let bad = |reason: String| Err(backend_err(op, format!("{reason} ({d:?})")));
    let (oh, ow) = (d.out_h(), d.out_w());
    let p = oh * ow;
    let rows = d.in_channels * d.kernel_h * d.kernel_w;
    let fits = [
        d.in_channels,
        d.in_h * d.in_w,
        rows,
        p,
        d.batch,
        d.kernel_h * d.kernel_w,
    ]
    .iter()
    .all(|&v| crate::layout::fits_u32(v));
    if !fits {
        return bad("sizes exceed the kernels' 32-bit range".into());
    }
    let per_image = (rows * p * std::mem::size_of::<E>()).max(1);
    let most = (column_bytes / per_image).clamp(1, d.batch.max(1));
    // Equal chunks rather than full ones and a small remainder: 64 images that fit 54 at
    // a time run as 32 + 32, two products of the same good size.
    let chunk = d.batch.max(1).div_ceil(d.batch.max(1).div_ceil(most));
    let u = |v: usize| v as u32;
    Ok(Plan {
        geom: ConvGeom {
            cin: u(d.in_channels),
            h: u(d.in_h),
            w: u(d.in_w),
            kh: u(d.kernel_h),
            kw: u(d.kernel_w),
            ph: u(d.pad_h),
            pw: u(d.pad_w),
            oh: u(oh),
            ow: u(ow),
        },
        p,
        k: d.in_per_group() * d.kernel_h * d.kernel_w,
        rows,
        cog: d.out_per_group(),
        chunk,
        lens,
    })
}

/// Threads per block for a row of `n` items: a multiple of 32, at most 256.
fn row_block(n: usize) -> u32 {
    (n.div_ceil(32) * 32).clamp(32, 256) as u32
}

impl Cuda {
    fn tf32(&self) -> bool {
        self.math == MathMode::Tf32
    }

    /// Column matrix of images `b0 .. b0 + nb` of `x` into `col`.
    fn im2col<E: Element>(
        &self,
        op: &'static str,
        x: u64,
        col: u64,
        pl: &Plan,
        b0: usize,
        nb: usize,
    ) -> Result<()> {
        if pl.rows == 0 || pl.p == 0 || nb == 0 {
            return Ok(());
        }
        let block = row_block(pl.p);
        let cfg = LaunchConfig {
            grid_dim: (
                pl.p.div_ceil(block as usize) as u32,
                pl.rows.min(GRID_YZ_MAX) as u32,
                nb.min(GRID_YZ_MAX) as u32,
            ),
            block_dim: (block, 1, 1),
            shared_mem_bytes: 0,
        };
        // im2col_T(const T* x, T* col, ConvGeom g, u32 b0, u32 bc)
        self.launch(
            op,
            &self.k::<E>().im2col,
            cfg,
            (x, col, pl.geom, b0 as u32, nb as u32),
        )
    }

    /// `[nb, cout, p]` at `src` to `[cout, nb, p]` at `dst`, or the reverse with `back`.
    fn swap_images_channels<E: Element>(
        &self,
        src: u64,
        dst: u64,
        nb: usize,
        cout: usize,
        p: usize,
        back: bool,
    ) -> Result<()> {
        if back {
            self.permute_into::<E>(src, dst, &[cout, nb, p], &[1, 0, 2])
        } else {
            self.permute_into::<E>(src, dst, &[nb, cout, p], &[1, 0, 2])
        }
    }

    /// A buffer for one chunk's `cout`-channel maps in the other order (images and
    /// channels swapped), needed only when a chunk holds more than one image.
    fn staging<E: Element>(
        &self,
        op: &'static str,
        d: &Conv2dDesc,
        pl: &Plan,
    ) -> Result<Option<CudaStorage<E>>> {
        if pl.chunk > 1 {
            Ok(Some(self.alloc::<E>(op, d.out_channels * pl.chunk * pl.p)?))
        } else {
            Ok(None)
        }
    }

    /// The address of `dy`'s images `b0..b0 + nb` laid out `[cout, nb, p]`, as the
    /// gradient GEMMs read them: the chunk itself for one image, else its copy in
    /// `staged` (from [`Self::staging`]).
    fn dy_channels_first<E: Element>(
        &self,
        dy: &CudaStorage<E>,
        staged: Option<&CudaStorage<E>>,
        b0: usize,
        nb: usize,
        d: &Conv2dDesc,
        pl: &Plan,
    ) -> Result<u64> {
        let dy_chunk = dy.ptr_at(b0 * d.out_channels * pl.p);
        match staged {
            Some(s) if nb > 1 => {
                self.swap_images_channels::<E>(dy_chunk, s.ptr(), nb, d.out_channels, pl.p, false)?;
                Ok(s.ptr())
            }
            _ => Ok(dy_chunk),
        }
    }

    pub(crate) fn conv2d_impl<E: Element>(
        &self,
        x: &CudaStorage<E>,
        w: &CudaStorage<E>,
        d: &Conv2dDesc,
    ) -> Result<CudaStorage<E>> {
        const OP: &str = "conv2d";
        let pl = plan::<E>(OP, d, self.column_bytes)?;
        check_len(NAME, OP, "input", x.len(), pl.lens.input)?;
        check_len(NAME, OP, "weight", w.len(), pl.lens.weight)?;
        let y = self.alloc::<E>(OP, d.output_len())?;
        if y.is_empty() {
            return Ok(y);
        }
        let col = self.alloc::<E>(OP, pl.rows * pl.chunk * pl.p)?;
        let staged = self.staging::<E>(OP, d, &pl)?;
        for b0 in (0..d.batch).step_by(pl.chunk) {
            let nb = pl.chunk.min(d.batch - b0);
            let out = y.ptr_at(b0 * d.out_channels * pl.p);
            self.im2col::<E>(OP, x.ptr(), col.ptr(), &pl, b0, nb)?;
            // With one image, [cout, 1, p] is already the output layout.
            let target = match (&staged, nb) {
                (Some(s), n) if n > 1 => s.ptr(),
                _ => out,
            };
            let n = nb * pl.p;
            let g = RowGemm {
                batch: d.groups,
                m: pl.cog,
                n,
                k: pl.k,
                a: w.ptr(),
                a_trans: false,
                a_stride: pl.cog * pl.k,
                b: col.ptr(),
                b_trans: false,
                b_stride: pl.k * n,
                c: target,
                c_stride: pl.cog * n,
                accumulate: false,
            };
            self.row_gemm::<E>(OP, &g, self.tf32())?;
            if target != out {
                self.swap_images_channels::<E>(target, out, nb, d.out_channels, pl.p, true)?;
            }
        }
        Ok(y)
    }

    pub(crate) fn conv2d_backward_input_impl<E: Element>(
        &self,
        dy: &CudaStorage<E>,
        w: &CudaStorage<E>,
        d: &Conv2dDesc,
    ) -> Result<CudaStorage<E>> {
        const OP: &str = "conv2d_backward_input";
        let pl = plan::<E>(OP, d, self.column_bytes)?;
        check_len(NAME, OP, "dy", dy.len(), pl.lens.output)?;
        check_len(NAME, OP, "weight", w.len(), pl.lens.weight)?;
        if dy.is_empty() || d.input_len() == 0 {
            // No output (or no input): nothing flows back.
            return self.zeros::<E>(OP, d.input_len());
        }
        // col2im writes every element of dx.
        let dx = self.alloc::<E>(OP, d.input_len())?;
        let dcol = self.alloc::<E>(OP, pl.rows * pl.chunk * pl.p)?;
        let staged = self.staging::<E>(OP, d, &pl)?;
        let hw = d.in_h * d.in_w;
        for b0 in (0..d.batch).step_by(pl.chunk) {
            let nb = pl.chunk.min(d.batch - b0);
            let dyt = self.dy_channels_first::<E>(dy, staged.as_ref(), b0, nb, d, &pl)?;
            let n = nb * pl.p;
            // dcol[g] (K × n) = W[g]ᵀ · dyt[g], W[g] stored [cog, K].
            let g = RowGemm {
                batch: d.groups,
                m: pl.k,
                n,
                k: pl.cog,
                a: w.ptr(),
                a_trans: true,
                a_stride: pl.cog * pl.k,
                b: dyt,
                b_trans: false,
                b_stride: pl.cog * n,
                c: dcol.ptr(),
                c_stride: pl.k * n,
                accumulate: false,
            };
            self.row_gemm::<E>(OP, &g, self.tf32())?;
            let block = row_block(hw);
            let cfg = LaunchConfig {
                grid_dim: (
                    hw.div_ceil(block as usize) as u32,
                    d.in_channels.min(GRID_YZ_MAX) as u32,
                    nb.min(GRID_YZ_MAX) as u32,
                ),
                block_dim: (block, 1, 1),
                shared_mem_bytes: 0,
            };
            let dx_chunk = dx.ptr_at(b0 * d.in_channels * hw);
            // col2im_T(const T* col, T* dx, ConvGeom g, u32 bc)
            let args = (dcol.ptr(), dx_chunk, pl.geom, nb as u32);
            self.launch(OP, &self.k::<E>().col2im, cfg, args)?;
        }
        Ok(dx)
    }

    pub(crate) fn conv2d_backward_weight_impl<E: Element>(
        &self,
        x: &CudaStorage<E>,
        dy: &CudaStorage<E>,
        d: &Conv2dDesc,
    ) -> Result<CudaStorage<E>> {
        const OP: &str = "conv2d_backward_weight";
        let pl = plan::<E>(OP, d, self.column_bytes)?;
        check_len(NAME, OP, "input", x.len(), pl.lens.input)?;
        check_len(NAME, OP, "dy", dy.len(), pl.lens.output)?;
        if d.batch == 0 || pl.p == 0 {
            return self.zeros::<E>(OP, d.weight_len());
        }
        let dw = self.alloc::<E>(OP, d.weight_len())?;
        if dw.is_empty() {
            return Ok(dw);
        }
        let col = self.alloc::<E>(OP, pl.rows * pl.chunk * pl.p)?;
        let staged = self.staging::<E>(OP, d, &pl)?;
        for (i, b0) in (0..d.batch).step_by(pl.chunk).enumerate() {
            let nb = pl.chunk.min(d.batch - b0);
            self.im2col::<E>(OP, x.ptr(), col.ptr(), &pl, b0, nb)?;
            let dyt = self.dy_channels_first::<E>(dy, staged.as_ref(), b0, nb, d, &pl)?;
            let n = nb * pl.p;
            // dW[g] (cog × K) (+)= dyt[g] (cog × n) · col[g]ᵀ, col[g] stored [K, n].
            let g = RowGemm {
                batch: d.groups,
                m: pl.cog,
                n: pl.k,
                k: n,
                a: dyt,
                a_trans: false,
                a_stride: pl.cog * n,
                b: col.ptr(),
                b_trans: true,
                b_stride: pl.k * n,
                c: dw.ptr(),
                c_stride: pl.cog * pl.k,
                accumulate: i > 0,
            };
            self.row_gemm::<E>(OP, &g, self.tf32())?;
        }
        Ok(dw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::COLUMN_BYTES;

    fn desc(
        batch: usize,
        cin: usize,
        cout: usize,
        groups: usize,
        hw: usize,
        k: usize,
        pad: usize,
    ) -> Conv2dDesc {
        Conv2dDesc {
            batch,
            in_channels: cin,
            out_channels: cout,
            groups,
            in_h: hw,
            in_w: hw,
            kernel_h: k,
            kernel_w: k,
            pad_h: pad,
            pad_w: pad,
        }
    }

    #[test]
    fn bad_descriptors_are_errors() {
        assert!(plan::<f32>("t", &desc(1, 3, 4, 2, 5, 3, 1), COLUMN_BYTES).is_err()); // groups
        assert!(plan::<f32>("t", &desc(1, 2, 2, 0, 5, 3, 1), COLUMN_BYTES).is_err()); // zero groups
        assert!(plan::<f32>("t", &desc(1, 2, 2, 1, 2, 7, 1), COLUMN_BYTES).is_err()); // kernel too big
        assert!(plan::<f32>("t", &desc(1, 2, 2, 1, 2, 0, 1), COLUMN_BYTES).is_err());
        // empty kernel
    }

    #[test]
    fn big_batches_are_chunked_within_the_budget() {
        // rotmnist block 1: 256 channels, 14x14, 7x7 kernel, batch 64.
        let p = plan::<f32>("t", &desc(64, 256, 256, 1, 14, 7, 3), COLUMN_BYTES).unwrap();
        assert_eq!((p.rows, p.p, p.k, p.cog), (256 * 49, 196, 256 * 49, 256));
        assert_eq!(p.chunk, 32);
        assert!(p.rows * p.p * p.chunk * 4 <= COLUMN_BYTES);
        let small = plan::<f32>("t", &desc(64, 4, 4, 1, 28, 7, 3), COLUMN_BYTES).unwrap();
        assert_eq!(small.chunk, 64);
    }

    #[test]
    fn geometry_block_has_the_c_layout() {
        assert_eq!(std::mem::size_of::<ConvGeom>(), 9 * 4);
        assert_eq!(row_block(196), 224);
        assert_eq!(row_block(1), 32);
        assert_eq!(row_block(5000), 256);
    }
}
