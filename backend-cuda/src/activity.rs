//! Counting what the backend asks of the device: kernel launches (by op), cuBLAS calls,
//! fills, copies, and the times the host waits for the device.
//!
//! On a GPU a training step of a small network is bound by how many launches the host
//! can issue and how often it stops to wait, not by arithmetic, so these counts are the
//! first thing to read when a step is slower than expected. They are the same on the
//! kernel emulator as on a GPU (the same host code issues the same work), which makes
//! them measurable on machines without one.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// Totals since the device was opened; subtract two with [`Activity::since`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    /// Kernels launched (fills and small uploads included).
    pub launches: u64,
    /// Launches per op (the [`Backend`](pgcnn_core::Backend) method that issued them).
    pub launches_by_op: BTreeMap<&'static str, u64>,
    /// cuBLAS GEMM calls.
    pub gemms: u64,
    /// `cuMemsetD8` fills (zeroed allocations).
    pub memsets: u64,
    /// Device-to-device copies.
    pub device_copies: u64,
    /// Host-to-device copies through the driver (uploads over 16 KiB; smaller ones
    /// travel in kernel parameters and count as launches). From pageable memory each
    /// waits for the host-side staging.
    pub host_uploads: u64,
    /// Bytes of those copies.
    pub host_upload_bytes: u64,
    /// Device-to-host copies; each waits for all queued work.
    pub downloads: u64,
    /// Bytes of those copies.
    pub download_bytes: u64,
    /// Explicit waits for the device (`synchronize`, releasing cached memory, and the
    /// retry of an allocation the device could not serve, which frees the cache).
    pub synchronizations: u64,
    /// On the kernel emulator, the nanoseconds its stand-in for the device spent on this
    /// work (kernels, GEMMs, fills, copies); the wall time less this is the backend's own
    /// host time. None on a GPU, whose work runs beside the host.
    pub emulated_device_ns: Option<u64>,
}

impl Activity {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Activity) -> Activity {
        let launches_by_op = self
            .launches_by_op
            .iter()
            .map(|(op, n)| {
                (
                    *op,
                    n - earlier.launches_by_op.get(op).copied().unwrap_or(0),
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        Activity {
            launches: self.launches - earlier.launches,
            launches_by_op,
            gemms: self.gemms - earlier.gemms,
            memsets: self.memsets - earlier.memsets,
            device_copies: self.device_copies - earlier.device_copies,
            host_uploads: self.host_uploads - earlier.host_uploads,
            host_upload_bytes: self.host_upload_bytes - earlier.host_upload_bytes,
            downloads: self.downloads - earlier.downloads,
            download_bytes: self.download_bytes - earlier.download_bytes,
            synchronizations: self.synchronizations - earlier.synchronizations,
            emulated_device_ns: self
                .emulated_device_ns
                .zip(earlier.emulated_device_ns)
                .map(|(now, then)| now - then),
        }
    }

    /// Calls into the driver or cuBLAS that queue work: launches, GEMMs, fills, copies.
    pub fn queued_calls(&self) -> u64 {
        self.launches + self.gemms + self.memsets + self.device_copies + self.host_uploads
    }

    /// Times the host waited for the device: downloads and explicit synchronisations.
    pub fn host_waits(&self) -> u64 {
        self.downloads + self.synchronizations
    }

    /// The `n` ops with the most launches, most first (ties by name).
    pub fn top_ops(&self, n: usize) -> Vec<(&'static str, u64)> {
        let mut ops: Vec<_> = self.launches_by_op.iter().map(|(o, c)| (*o, *c)).collect();
        ops.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        ops.truncate(n);
        ops
    }
}

impl std::fmt::Display for Activity {
    /// One line: `412 launches, 96 GEMMs, 30 fills, 12 copies, 1 upload (200.7 kB), 1 download, 1 wait`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural =
            |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        write!(
            f,
            "{}, {}, {}, {}, {} ({:.1} kB), {} ({:.1} kB), {}",
            plural(self.launches, "launch", "launches"),
            plural(self.gemms, "GEMM", "GEMMs"),
            plural(self.memsets, "fill", "fills"),
            plural(self.device_copies, "copy", "copies"),
            plural(self.host_uploads, "upload", "uploads"),
            self.host_upload_bytes as f64 / 1e3,
            plural(self.downloads, "download", "downloads"),
            self.download_bytes as f64 / 1e3,
            plural(self.synchronizations, "wait", "waits"),
        )
    }
}

/// The live counters of one device.
#[derive(Default)]
pub(crate) struct Counters {
    /// Launches by op (their total is [`Activity::launches`]).
    by_op: Mutex<BTreeMap<&'static str, u64>>,
    gemms: AtomicU64,
    memsets: AtomicU64,
    device_copies: AtomicU64,
    host_uploads: AtomicU64,
    host_upload_bytes: AtomicU64,
    downloads: AtomicU64,
    download_bytes: AtomicU64,
    synchronizations: AtomicU64,
}

impl Counters {
    pub(crate) fn launch(&self, op: &'static str) {
        let mut by_op = self.by_op.lock().unwrap_or_else(|p| p.into_inner());
        *by_op.entry(op).or_insert(0) += 1;
    }

    pub(crate) fn gemm(&self) {
        self.gemms.fetch_add(1, Relaxed);
    }

    pub(crate) fn memset(&self) {
        self.memsets.fetch_add(1, Relaxed);
    }

    pub(crate) fn device_copy(&self) {
        self.device_copies.fetch_add(1, Relaxed);
    }

    pub(crate) fn host_upload(&self, bytes: usize) {
        self.host_uploads.fetch_add(1, Relaxed);
        self.host_upload_bytes.fetch_add(bytes as u64, Relaxed);
    }

    pub(crate) fn download(&self, bytes: usize) {
        self.downloads.fetch_add(1, Relaxed);
        self.download_bytes.fetch_add(bytes as u64, Relaxed);
    }

    pub(crate) fn synchronization(&self) {
        self.synchronizations.fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Activity {
        let launches_by_op = self.by_op.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Activity {
            launches: launches_by_op.values().sum(),
            launches_by_op,
            gemms: self.gemms.load(Relaxed),
            memsets: self.memsets.load(Relaxed),
            device_copies: self.device_copies.load(Relaxed),
            host_uploads: self.host_uploads.load(Relaxed),
            host_upload_bytes: self.host_upload_bytes.load(Relaxed),
            downloads: self.downloads.load(Relaxed),
            download_bytes: self.download_bytes.load(Relaxed),
            synchronizations: self.synchronizations.load(Relaxed),
            emulated_device_ns: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_subtracts_and_drops_idle_ops() {
        let c = Counters::default();
        c.launch("add");
        c.gemm();
        let before = c.snapshot();
        c.launch("mul");
        c.launch("mul");
        c.download(8);
        c.host_upload(40_000);
        let d = c.snapshot().since(&before);
        assert_eq!(d.launches, 2);
        assert_eq!(d.gemms, 0);
        assert_eq!(d.launches_by_op.len(), 1);
        assert_eq!(d.launches_by_op["mul"], 2);
        assert_eq!((d.downloads, d.download_bytes), (1, 8));
        assert_eq!(d.queued_calls(), 3);
        assert_eq!(d.host_waits(), 1);
        assert_eq!(d.top_ops(5), vec![("mul", 2)]);
        assert_eq!(
            d.emulated_device_ns, None,
            "the counters know no device time"
        );
        let timed = |ns| Activity {
            emulated_device_ns: ns,
            ..Activity::default()
        };
        assert_eq!(
            timed(Some(70)).since(&timed(Some(30))).emulated_device_ns,
            Some(40)
        );
        assert_eq!(timed(Some(70)).since(&timed(None)).emulated_device_ns, None);
        let line = d.to_string();
        assert!(line.starts_with("2 launches, 0 GEMMs"), "{line}");
        assert!(line.contains("1 upload (40.0 kB)"), "{line}");
    }
}
