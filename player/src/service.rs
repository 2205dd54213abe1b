//! Running under systemd (design §14): `READY=1` when the first frame is out, `WATCHDOG=1`
//! while ticks go out, `STATUS=` the item on screen, `STOPPING=1` at the end.
//!
//! The notifications come from a thread of their own that watches the output thread's
//! progress (`LiveStatus::tick`): the output thread itself makes no system call and
//! allocates nothing for them, and a pacer that hangs stops the watchdog pings, so systemd
//! restarts the player (`WatchdogSec=` in the unit). Without `NOTIFY_SOCKET` (not started by
//! systemd) nothing runs.

use crate::engine::LiveStatus;
use sd_notify::NotifyState;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The notifier thread, while `play` runs.
pub struct Service {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The watchdog interval systemd asks for: `WATCHDOG_USEC`, when `WATCHDOG_PID` is unset
/// or names this process (as libsystemd's `sd_watchdog_enabled` reads them; the crate's own
/// helper wants `WATCHDOG_PID` set).
pub fn watchdog_interval(usec: Option<&str>, pid: Option<&str>, own: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    match pid.map(|p| p.trim().parse::<u32>()) {
        None => Some(Duration::from_micros(usec)),
        Some(Ok(p)) if p == own => Some(Duration::from_micros(usec)),
        Some(_) => None,
    }
}

/// How often the thread looks at the output's progress: half the watchdog interval (as
/// systemd recommends), at most a second (for the status line).
pub fn check_interval(watchdog: Option<Duration>) -> Duration {
    watchdog
        .map_or(Duration::from_secs(1), |w| w / 2)
        .clamp(Duration::from_millis(10), Duration::from_secs(1))
}

impl Service {
    /// Start notifying when systemd asked for it (`NOTIFY_SOCKET` is set); `None` otherwise.
    pub fn start(status: Arc<LiveStatus>) -> Option<Service> {
        std::env::var_os("NOTIFY_SOCKET")?;
        let watchdog = watchdog_interval(
            std::env::var("WATCHDOG_USEC").ok().as_deref(),
            std::env::var("WATCHDOG_PID").ok().as_deref(),
            std::process::id(),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("systemd-notify".into())
            .spawn(move || run(&status, watchdog, &flag, &mut send))
            .map_err(|e| tracing::warn!("cannot start the systemd notifier: {e}"))
            .ok()?;
        Some(Service {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        send(&[NotifyState::Stopping]);
    }
}

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::debug!("systemd notification not sent: {e}");
    }
}

/// The notifier's loop: every check interval, ping the watchdog if a tick went out since the
/// last check (and say READY after the first), refresh the status line when the item
/// changed; a stalled output gets no pings and one error line. `send` delivers the states.
fn run(
    status: &LiveStatus,
    watchdog: Option<Duration>,
    stop: &AtomicBool,
    send: &mut dyn FnMut(&[NotifyState<'_>]),
) {
    let interval = check_interval(watchdog);
    let first = status.tick.load(Ordering::Relaxed);
    let mut last = first;
    let mut ready = false;
    let mut last_progress = Instant::now();
    let mut warned = false;
    let mut shown = String::new();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(interval);
        let tick = status.tick.load(Ordering::Relaxed);
        let moved = tick != last;
        last = tick;
        if moved {
            last_progress = Instant::now();
            warned = false;
            if !ready && tick != first {
                ready = true;
                send(&[NotifyState::Ready]);
                tracing::info!("systemd: ready (the first frame is out)");
            }
            if watchdog.is_some() {
                send(&[NotifyState::Watchdog]);
            }
        } else if let Some(w) = watchdog
            && ready
            && !warned
            && last_progress.elapsed() >= w / 2
        {
            warned = true;
            tracing::error!(
                "no tick went out for {:.1} s: the watchdog is not pinged, systemd restarts \
                 the player after {:.1} s",
                last_progress.elapsed().as_secs_f64(),
                w.as_secs_f64()
            );
        }
        let item = status.item.lock().map(|s| s.clone()).unwrap_or_default();
        if ready && item != shown {
            send(&[NotifyState::Status(&format!("playing {item}"))]);
            shown = item;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kinds of notification sent, in order.
    fn kinds(sent: &[String]) -> Vec<&str> {
        sent.iter()
            .map(|s| s.split('=').next().unwrap_or(""))
            .collect()
    }

    #[test]
    fn a_stalled_output_gets_no_watchdog_pings() {
        let status = Arc::new(LiveStatus::default());
        *status.item.lock().unwrap() = "1/2 pattern:line".into();
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(std::sync::Mutex::new(Vec::new()));
        let thread = {
            let (status, stop, sent) = (status.clone(), stop.clone(), sent.clone());
            std::thread::spawn(move || {
                let mut send = |states: &[NotifyState<'_>]| {
                    for s in states {
                        sent.lock().unwrap().push(s.to_string());
                    }
                };
                run(&status, Some(Duration::from_millis(40)), &stop, &mut send);
            })
        };
        // Ticks go out for a while, then the output hangs.
        for _ in 0..10 {
            status.tick.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(20));
        }
        // Three check intervals for the notifier to see the last tick.
        std::thread::sleep(Duration::from_millis(60));
        let while_running = sent.lock().unwrap().len();
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
        thread.join().unwrap();
        let sent = sent.lock().unwrap().clone();
        let k = kinds(&sent);
        assert_eq!(k[0], "READY", "{sent:?}");
        assert!(
            k.iter().filter(|k| **k == "WATCHDOG").count() >= 3,
            "{sent:?}"
        );
        assert!(
            sent.contains(&"STATUS=playing 1/2 pattern:line".to_string()),
            "{sent:?}"
        );
        // Nothing after the output stopped: no more pings.
        assert_eq!(sent.len(), while_running, "{sent:?}");
    }

    #[test]
    fn the_watchdog_applies_to_us_unless_another_pid_is_named() {
        let d = Some(Duration::from_secs(10));
        assert_eq!(watchdog_interval(Some("10000000"), None, 7), d);
        assert_eq!(watchdog_interval(Some("10000000"), Some("7"), 7), d);
        assert_eq!(watchdog_interval(Some("10000000"), Some("8"), 7), None);
        assert_eq!(watchdog_interval(Some("0"), None, 7), None);
        assert_eq!(watchdog_interval(Some("x"), None, 7), None);
        assert_eq!(watchdog_interval(None, Some("7"), 7), None);
    }

    #[test]
    fn the_progress_is_checked_twice_per_watchdog_interval() {
        assert_eq!(check_interval(None), Duration::from_secs(1));
        assert_eq!(
            check_interval(Some(Duration::from_secs(10))),
            Duration::from_secs(1)
        );
        assert_eq!(
            check_interval(Some(Duration::from_millis(400))),
            Duration::from_millis(200)
        );
    }
}
