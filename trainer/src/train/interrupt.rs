//! Stopping a run cleanly on Ctrl-C (SIGINT), SIGTERM or SIGHUP.
//!
//! The signal handler only raises a flag; the training loop looks at it after every
//! step, writes a checkpoint that records the position inside the epoch, and returns
//! [`Interrupted`], which the command line turns into a message and exit code
//! [`Interrupted::EXIT_CODE`]. A second signal exits at once: checkpoints are replaced
//! atomically, so the last one written stays whole, and `--resume` continues from it.
//!
//! Signals within [`SAME_REQUEST`] of the first count as the first: GNU `timeout` sends
//! its signal to the process and then to its whole process group, so a run under
//! `timeout` receives two SIGTERMs microseconds apart, and would otherwise stop without
//! its checkpoint. A person pressing Ctrl-C twice is slower than that.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Signals received since the handler was installed.
static SIGNALS: AtomicUsize = AtomicUsize::new(0);

/// How long after the first signal another one is taken as part of the same request.
pub const SAME_REQUEST: Duration = Duration::from_millis(100);

/// What the handler does with a signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Response {
    /// The first: finish the step, write a checkpoint.
    Stop,
    /// A repeat of the first (within [`SAME_REQUEST`]): nothing more to do.
    Same,
    /// A second request: exit now.
    Exit,
}

/// The response to a signal arriving at `now`, after `stops` stop requests, the first
/// signal of which arrived at `first` (None when only [`request_stop`] asked).
fn respond(stops: usize, first: Option<Instant>, now: Instant) -> Response {
    match (stops, first) {
        (0, _) => Response::Stop,
        (_, Some(t)) if now.saturating_duration_since(t) < SAME_REQUEST => Response::Same,
        // Past the window, or after `request_stop`: a second request.
        _ => Response::Exit,
    }
}

/// Installs the process-wide handler (once; later calls do nothing). Returns an error
/// message when the operating system refuses, in which case signals keep their default
/// effect (the process dies and `--resume` continues from the last checkpoint).
pub fn install_interrupt_handler() -> Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            // When the first signal arrived (unset while only `request_stop` asked).
            static FIRST: OnceLock<Instant> = OnceLock::new();
            ctrlc::set_handler(|| {
                let now = Instant::now();
                match respond(SIGNALS.load(Ordering::SeqCst), FIRST.get().copied(), now) {
                    Response::Stop => {
                        let _ = FIRST.set(now);
                        SIGNALS.fetch_add(1, Ordering::SeqCst);
                        eprintln!(
                            "\ninterrupted: finishing the current step and writing a \
                             checkpoint (interrupt again to stop at once; the last \
                             checkpoint is kept)"
                        );
                    }
                    Response::Same => {}
                    Response::Exit => {
                        eprintln!("\ninterrupted twice: stopping now");
                        std::process::exit(Interrupted::EXIT_CODE);
                    }
                }
            })
            .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))
        })
        .clone()
}

/// Whether a stop was asked for (a signal arrived, or [`request_stop`] was called).
pub fn stop_requested() -> bool {
    SIGNALS.load(Ordering::SeqCst) > 0
}

/// Asks the running training loop to stop after its current step, as a first Ctrl-C
/// does (for embedding the trainer in other programs).
pub fn request_stop() {
    SIGNALS.fetch_add(1, Ordering::SeqCst);
}

/// The error a stopped run returns once its checkpoint is on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interrupted {
    /// The run directory.
    pub out: PathBuf,
    /// The epoch in progress (1-based) when the run stopped.
    pub epoch: usize,
    /// Steps of that epoch finished (and saved); equal to `steps` when it stopped between
    /// epochs.
    pub step: usize,
    /// Steps per epoch.
    pub steps: usize,
}

impl Interrupted {
    /// The exit code of an interrupted run: 128 + SIGINT, as shells report Ctrl-C.
    pub const EXIT_CODE: i32 = 130;
}

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "interrupted at epoch {}, step {} of {}: the checkpoint {} holds everything up \
             to here; continue with `pgcnn train --resume {}`",
            self.epoch,
            self.step,
            self.steps,
            self.out.join(super::files::LAST_CHECKPOINT).display(),
            self.out.display()
        )
    }
}

impl std::error::Error for Interrupted {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_within_the_window_is_the_same_request() {
        let t0 = Instant::now();
        assert_eq!(respond(0, None, t0), Response::Stop);
        assert_eq!(respond(1, Some(t0), t0), Response::Same);
        let soon = t0 + SAME_REQUEST / 2;
        assert_eq!(respond(1, Some(t0), soon), Response::Same);
        assert_eq!(respond(1, Some(t0), t0 + SAME_REQUEST), Response::Exit);
        assert_eq!(
            respond(1, Some(t0), t0 + Duration::from_secs(5)),
            Response::Exit
        );
        // After `request_stop` (no signal time), any signal is a second request.
        assert_eq!(respond(1, None, t0), Response::Exit);
    }
}
