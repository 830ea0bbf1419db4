//! Host-device transfers and fills.

use crate::device::Cuda;
use crate::error::driver_err;
use crate::kernels::SMALL_WORDS;
use crate::storage::CudaStorage;
use cudarc::driver::{DeviceRepr, LaunchConfig};
use pgcnn_core::{Element, Result};

/// Uploads up to this many bytes travel inside kernel parameters, in launches of
/// SMALL_WORDS words: no host synchronisation, unlike a copy from pageable memory.
pub(crate) const SMALL_UPLOAD_BYTES: usize = 16 * 1024;

/// The parameter block of `write_words`: the C++ `Words`.
#[repr(C)]
#[derive(Clone, Copy)]
struct Words {
    w: [u32; SMALL_WORDS as usize],
}

// SAFETY: an array of u32, laid out as the C++ struct.
unsafe impl DeviceRepr for Words {}

impl Cuda {
    pub(crate) fn upload_impl<E: Element>(&self, data: &[E]) -> Result<CudaStorage<E>> {
        let s = self.alloc::<E>("upload", data.len())?;
        // SAFETY: E is f32 or f64: plain bytes, no padding.
        let bytes = unsafe {
            std::slice::from_raw_parts(data.as_ptr() as *const u8, std::mem::size_of_val(data))
        };
        self.write_bytes("upload", s.ptr(), bytes)?;
        Ok(s)
    }

    /// Writes host bytes (a multiple of 4 long) to device address `dst`.
    pub(crate) fn write_bytes(&self, op: &'static str, dst: u64, bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        if bytes.len() <= SMALL_UPLOAD_BYTES && bytes.len().is_multiple_of(4) {
            let per = SMALL_WORDS as usize;
            for (i, chunk) in bytes.chunks(4 * per).enumerate() {
                let mut words = Words {
                    w: [0; SMALL_WORDS as usize],
                };
                for (w, b) in words.w.iter_mut().zip(chunk.chunks_exact(4)) {
                    *w = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
                }
                let n = (chunk.len() / 4) as u32;
                let cfg = LaunchConfig {
                    grid_dim: (1, 1, 1),
                    block_dim: (SMALL_WORDS as u32, 1, 1),
                    shared_mem_bytes: 0,
                };
                let at = dst + (i * 4 * per) as u64;
                self.launch(op, &self.dev.kernels.write_words, cfg, (at, n, words))?;
            }
            return Ok(());
        }
        self.dev.activity.host_upload(bytes.len());
        self.timed(op, "upload", || {
            self.dev.rt.copy_htod(dst, bytes).map_err(driver_err(op))
        })
    }

    pub(crate) fn download_impl<E: Element>(&self, s: &CudaStorage<E>) -> Result<Vec<E>> {
        let mut out = vec![E::zero(); s.len()];
        if out.is_empty() {
            return Ok(out);
        }
        // SAFETY: E is f32 or f64, so any bytes written are valid values.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(
                out.as_mut_ptr() as *mut u8,
                std::mem::size_of_val(&out[..]),
            )
        };
        self.dev.activity.download(bytes.len());
        self.timed("download", "download", || {
            self.dev
                .rt
                .copy_dtoh(bytes, s.ptr())
                .map_err(driver_err("download"))
        })?;
        Ok(out)
    }

    pub(crate) fn full_impl<E: Element>(&self, len: usize, value: E) -> Result<CudaStorage<E>> {
        if value == E::zero() && value.is_sign_positive() {
            return self.zeros("full", len);
        }
        let s = self.alloc::<E>("full", len)?;
        if len > 0 {
            let cfg = self.grid_1d(len);
            self.launch(
                "full",
                &self.k::<E>().fill,
                cfg,
                (s.ptr(), len as u64, value.to_f64()),
            )?;
        }
        Ok(s)
    }
}
