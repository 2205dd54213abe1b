//! How `ledwall play` ends: its exit codes, and the way out when ending cleanly is not
//! possible.
//!
//! A clean stop (the first SIGINT/SIGTERM, `--for` reached) ends the output loop, joins the
//! render thread, flushes and closes the sinks and prints the summary. Two things can keep
//! that from finishing: a second stop signal (the operator or systemd insists), and a thread
//! that does not come back (a read that never returns). Both end in [`emergency_exit`]: the
//! registered clean-ups run (ffmpeg children killed and reaped, the terminal restored) and
//! the process exits with a code that says why. A [`Deadline`] turns "does not come back" into
//! an emergency exit after a grace period.
//!
//! Exit codes of `ledwall play` (the README lists them; systemd's `Restart=always` restarts
//! on every one of them):
//!
//! | code | why the run ended |
//! |------|-------------------|
//! | 0 | `--for` reached, or stopped by SIGINT/SIGTERM, every sink flushed |
//! | 1 | the work failed (no first frame, a renderer error, ...) |
//! | 2 | the command line or a configuration file is wrong |
//! | 3 | the run ended but a sink lost output (a file sink's disk filled, ...) |
//! | 4 | stopping did not finish within its grace period (a stuck thread): exit forced |
//! | 130 | a second SIGINT/SIGTERM while stopping: exit at once |

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// Ran to its end or was stopped, everything delivered.
pub const EXIT_OK: u8 = 0;
/// The work failed.
pub const EXIT_FAILED: u8 = 1;
/// The command line or a configuration file is wrong.
pub const EXIT_USAGE: u8 = 2;
/// The run ended, but a sink reported lost output when it was flushed.
pub const EXIT_OUTPUT_LOST: u8 = 3;
/// Stopping did not finish within its grace period; the process was ended.
pub const EXIT_STUCK: u8 = 4;
/// A second stop signal ended the process at once.
pub const EXIT_SIGNAL: u8 = 130;

/// How long a stop (after the first signal, or after `--for`) may take before the process is
/// ended with [`EXIT_STUCK`]: joining the render thread, flushing the sinks, the summary.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// A named clean-up.
type Cleanup = (&'static str, fn());

/// Clean-ups for an emergency exit, run in registration order.
static CLEANUPS: Mutex<Vec<Cleanup>> = Mutex::new(Vec::new());

/// Run `f` when the process ends through [`emergency_exit`]; `name` identifies it
/// (registering a name twice runs it once). `f` must not block for long: it runs while the
/// process is going down.
pub fn on_emergency_exit(name: &'static str, f: fn()) {
    let mut list = match CLEANUPS.lock() {
        Ok(l) => l,
        Err(p) => p.into_inner(),
    };
    if !list.iter().any(|(n, _)| *n == name) {
        list.push((name, f));
    }
}

/// Log `why`, run the registered clean-ups and exit with `code`, without unwinding or
/// waiting for any other thread.
pub fn emergency_exit(code: u8, why: &str) -> ! {
    tracing::error!(exit_code = code, "{why}: exiting now");
    // A clean-up that panicked while holding the lock must not stop the others.
    let list: Vec<Cleanup> = match CLEANUPS.try_lock() {
        Ok(l) => l.clone(),
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().clone(),
        Err(std::sync::TryLockError::WouldBlock) => Vec::new(),
    };
    for (_, f) in list {
        f();
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // `_exit`, not `exit`: the C library's exit handlers (Mesa's, the X client library's)
    // may wait on the very thing that is stuck, a hung X server for one.
    // SAFETY: _exit(2) ends the process; nothing is touched after it.
    unsafe { libc::_exit(i32::from(code)) }
}

/// The deadline of the stop in progress, and what it is waiting for now.
static STOP: Mutex<Option<(Deadline, &'static str)>> = Mutex::new(None);
/// What the stop in progress is waiting for, read when its deadline fires.
static STOP_STAGE: Mutex<&'static str> = Mutex::new("");

/// The process is stopping: from now on it must reach [`stop_finished`] within `grace`, or
/// it ends with [`EXIT_STUCK`], naming the stage it was stuck in ([`stop_stage`]). Arming
/// again while armed keeps the first deadline.
pub fn arm_stop(grace: Duration, stage: &'static str) {
    stop_stage(stage);
    let mut armed = STOP.lock().unwrap_or_else(|p| p.into_inner());
    if armed.is_none() {
        *armed = Some((Deadline::arm_with(grace, stuck_message), stage));
    }
}

/// The stop in progress moved on to `stage` ("flushing the sinks", ...).
pub fn stop_stage(stage: &'static str) {
    *STOP_STAGE.lock().unwrap_or_else(|p| p.into_inner()) = stage;
}

/// The stop finished, or the run goes on (a changed wall took over): cancel its deadline.
pub fn stop_finished() {
    let taken = STOP.lock().unwrap_or_else(|p| p.into_inner()).take();
    drop(taken);
}

fn stuck_message() -> String {
    // try_lock: the thread that is stuck may hold nothing here, but never wait on it.
    let stage = match STOP_STAGE.try_lock() {
        Ok(s) => *s,
        Err(_) => "",
    };
    if stage.is_empty() {
        "the stop did not finish".to_string()
    } else {
        format!("the stop did not finish (stuck {stage})")
    }
}

/// Ends the process with [`EXIT_STUCK`] unless dropped within its grace period.
#[derive(Debug)]
pub struct Deadline {
    cancelled: Arc<AtomicBool>,
    thread: Option<Thread>,
}

impl Deadline {
    /// Arm a deadline: after `grace`, [`emergency_exit`] with [`EXIT_STUCK`] and `why`,
    /// unless the returned value was dropped first.
    pub fn arm(grace: Duration, why: &'static str) -> Deadline {
        Deadline::arm_with_text(grace, Box::new(move || why.to_string()))
    }

    /// [`Deadline::arm`], with the reason made when it fires.
    fn arm_with(grace: Duration, why: fn() -> String) -> Deadline {
        Deadline::arm_with_text(grace, Box::new(why))
    }

    fn arm_with_text(grace: Duration, why: Box<dyn Fn() -> String + Send>) -> Deadline {
        let cancelled = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&cancelled);
        let spawned = std::thread::Builder::new()
            .name("ledwall-deadline".into())
            .spawn(move || {
                let end = Instant::now() + grace;
                loop {
                    if flag.load(Ordering::Acquire) {
                        return;
                    }
                    let now = Instant::now();
                    if now >= end {
                        break;
                    }
                    std::thread::park_timeout(end - now);
                }
                emergency_exit(
                    EXIT_STUCK,
                    &format!("{} within {} s", why(), grace.as_secs_f64()),
                );
            });
        let thread = match spawned {
            Ok(h) => Some(h.thread().clone()),
            Err(e) => {
                tracing::warn!("cannot start the stop deadline: {e}");
                None
            }
        };
        Deadline { cancelled, thread }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.cancelled.store(true, Ordering::Release);
        if let Some(t) = &self.thread {
            t.unpark();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_deadline_does_not_fire() {
        // Firing would end the test process: dropping must cancel it.
        let d = Deadline::arm(Duration::from_millis(50), "test");
        drop(d);
        std::thread::sleep(Duration::from_millis(150));
    }

    #[test]
    fn clean_ups_are_registered_once() {
        fn noop() {}
        on_emergency_exit("test-noop", noop);
        on_emergency_exit("test-noop", noop);
        let list = CLEANUPS.lock().unwrap();
        assert_eq!(list.iter().filter(|(n, _)| *n == "test-noop").count(), 1);
    }
}
