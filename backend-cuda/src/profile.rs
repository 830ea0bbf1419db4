//! Device time by op: with profiling on ([`Cuda::start_profile`]), every call that
//! queues work on the device — a kernel launch, a cuBLAS GEMM, a fill, a copy, an upload
//! or download — is bracketed by a pair of timing events on the stream, and
//! [`Cuda::finish_profile`] waits for the device and sums the elapsed times by op (the
//! [`Backend`](pgcnn_core::Backend) method that queued the call) and by what ran (the
//! kernel's name, `cuBLAS GEMM`, `fill`, ...).
//!
//! What a pair measures: from the moment the device reached the start event to the end
//! of the call's work. Where the device runs ahead of the host and idles, the wait for
//! the host to queue the work lands in the pair too, so a device starved by launch
//! overhead shows up as time in the small ops, which is what they cost. Time between one
//! pair's end and the next pair's start (the host waiting on a download, say) is in
//! [`Profile::wall_ms`] and in no row. Recording the events costs the host about a
//! microsecond per call, so a profiled step is slower than a timed one: profile after
//! timing, never during.
//!
//! On the kernel emulator the stamps are the host's clock around each call (its kernels
//! run synchronously on the CPU).
//!
//! [`Cuda::start_profile`]: crate::Cuda::start_profile
//! [`Cuda::finish_profile`]: crate::Cuda::finish_profile

use crate::error::driver_err;
use crate::runtime::{DeviceRuntime, Stamp};
use pgcnn_core::Result;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// Device time of one kind of call while profiling was on.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileRow {
    /// The op that queued the calls (as in [`Activity::launches_by_op`](crate::Activity)).
    pub op: &'static str,
    /// What ran: a kernel's name (`im2col_f32`), `cuBLAS GEMM`, `fill`, `device copy`,
    /// `upload` or `download`.
    pub work: String,
    /// How many such calls were queued.
    pub calls: u64,
    /// Their summed device time, in milliseconds.
    pub device_ms: f64,
}

/// What [`Cuda::finish_profile`](crate::Cuda::finish_profile) measured: rows by op and
/// work, most time first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    pub rows: Vec<ProfileRow>,
    /// Host clock from [`Cuda::start_profile`](crate::Cuda::start_profile) to the end of
    /// [`Cuda::finish_profile`](crate::Cuda::finish_profile)'s wait for the device.
    pub wall_ms: f64,
}

impl Profile {
    /// The summed device time of every row.
    pub fn device_ms(&self) -> f64 {
        self.rows.iter().map(|r| r.device_ms).sum()
    }

    /// The number of calls of every row.
    pub fn calls(&self) -> u64 {
        self.rows.iter().map(|r| r.calls).sum()
    }

    /// Device time and calls by op alone, most time first.
    pub fn by_op(&self) -> Vec<(&'static str, u64, f64)> {
        let mut ops: BTreeMap<&'static str, (u64, f64)> = BTreeMap::new();
        for r in &self.rows {
            let e = ops.entry(r.op).or_default();
            e.0 += r.calls;
            e.1 += r.device_ms;
        }
        let mut out: Vec<_> = ops.into_iter().map(|(op, (n, ms))| (op, n, ms)).collect();
        out.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(b.0)));
        out
    }
}

/// One bracketed call waiting for its times to be read.
struct Pending {
    op: &'static str,
    work: String,
    start: Stamp,
    end: Stamp,
}

#[derive(Default)]
struct State {
    started: Option<Instant>,
    pending: Vec<Pending>,
    /// Stamps (events) of earlier calls, for reuse: creating an event costs more than
    /// recording one.
    spare: Vec<Stamp>,
}

impl State {
    /// Keeps the stamps of calls that will not be read, for reuse.
    fn recycle(&mut self, calls: Vec<Pending>) {
        self.spare
            .extend(calls.into_iter().flat_map(|p| [p.start, p.end]));
    }
}

/// The profiling state of one device.
pub(crate) struct Profiler {
    on: AtomicBool,
    state: Mutex<State>,
    rt: Arc<dyn DeviceRuntime>,
}

impl Profiler {
    pub(crate) fn new(rt: Arc<dyn DeviceRuntime>) -> Self {
        Self {
            on: AtomicBool::new(false),
            state: Mutex::new(State::default()),
            rt,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A stamp recorded now on the stream.
    fn stamp(&self, state: &mut State) -> std::result::Result<Stamp, String> {
        let mut s = match state.spare.pop() {
            Some(s) => s,
            None => self.rt.new_stamp()?,
        };
        if let Err(e) = self.rt.record(&mut s) {
            state.spare.push(s);
            return Err(e);
        }
        Ok(s)
    }
}

impl Drop for Profiler {
    fn drop(&mut self) {
        let mut state = std::mem::take(&mut *self.lock());
        let pending = std::mem::take(&mut state.pending);
        state.recycle(pending);
        for s in state.spare {
            self.rt.destroy(s);
        }
    }
}

impl Profiler {
    /// Starts timing (a profile already running starts over).
    pub(crate) fn start(&self) {
        let mut state = self.lock();
        let old = std::mem::take(&mut state.pending);
        state.recycle(old);
        state.started = Some(Instant::now());
        self.on.store(true, Relaxed);
    }

    /// Stops timing; the stamps are read by [`Profiler::collect`] once the device is done.
    pub(crate) fn stop(&self) {
        self.on.store(false, Relaxed);
    }

    /// The times of every call bracketed since [`Profiler::start`], by op and work; the
    /// device must have finished their work.
    pub(crate) fn collect(&self) -> Result<Profile> {
        let mut state = self.lock();
        let wall_ms = state
            .started
            .take()
            .map_or(0.0, |t| t.elapsed().as_secs_f64() * 1e3);
        let pending = std::mem::take(&mut state.pending);
        let mut sums: BTreeMap<(&'static str, &str), (u64, f64)> = BTreeMap::new();
        let mut failure = None;
        for call in &pending {
            match self.rt.elapsed_ms(&call.start, &call.end) {
                Ok(ms) => {
                    let sum = sums.entry((call.op, &call.work)).or_default();
                    sum.0 += 1;
                    sum.1 += ms;
                }
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        let mut rows: Vec<ProfileRow> = sums
            .into_iter()
            .map(|((op, work), (calls, device_ms))| ProfileRow {
                op,
                work: work.to_string(),
                calls,
                device_ms,
            })
            .collect();
        state.recycle(pending);
        if let Some(e) = failure {
            return Err(driver_err("finish_profile")(e));
        }
        rows.sort_by(|a, b| {
            b.device_ms
                .total_cmp(&a.device_ms)
                .then(a.op.cmp(b.op))
                .then(a.work.cmp(&b.work))
        });
        Ok(Profile { rows, wall_ms })
    }

    /// Runs `call`, which queues device work for `op`, bracketed by timing stamps when
    /// profiling is on; `work` names what it queues.
    pub(crate) fn timed<T>(
        &self,
        op: &'static str,
        work: &str,
        call: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        if !self.on.load(Relaxed) {
            return call();
        }
        let start = self.stamp(&mut self.lock()).map_err(driver_err(op))?;
        let out = call();
        let mut state = self.lock();
        match (out.is_ok(), self.stamp(&mut state)) {
            (true, Ok(end)) => state.pending.push(Pending {
                op,
                work: work.to_string(),
                start,
                end,
            }),
            (true, Err(e)) => {
                state.spare.push(start);
                return Err(driver_err(op)(e));
            }
            // The call's own error is the one to report; its stamps are not read.
            (false, end) => {
                state.spare.push(start);
                state.spare.extend(end.ok());
            }
        }
        out
    }
}
