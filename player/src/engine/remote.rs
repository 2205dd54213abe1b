//! An FPP MultiSync remote in the engine (design §10): before the render thread prepares a
//! tick, it reads the master's latest packets from the [`Remote`] listener, asks the
//! [`Follower`] what to do and moves the playlist's position accordingly; the tick
//! period's factor goes to the output thread's pacer through an atomic.
//!
//! All of it is allocation-free once the master's names have been seen (the [`Latest`]
//! copy reuses its strings) and never waits (the listener's lock is only tried).

use crate::multisync::{Follower, Latest, Local, Remote, RemoteStats, Step, find_item};
use crate::reload::Program;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The period factor as parts per million: 1 000 000 is the nominal period.
pub const PPM_ONE: u64 = 1_000_000;
/// The factor's bounds in parts per million (design §10: at most 1 % either way).
pub const PPM_RANGE: (u64, u64) = (990_000, 1_010_000);

/// Corrections applied, by kind.
#[derive(Debug, Default)]
pub struct Corrections {
    /// Switches to another item.
    pub switches: AtomicU64,
    /// Jumps within the item.
    pub jumps: AtomicU64,
    /// Skips ahead (of a few frames).
    pub skips: AtomicU64,
    /// Holds (of a frame).
    pub holds: AtomicU64,
    /// Times the master was lost.
    pub lost: AtomicU64,
    /// Ticks run with a stretched or shortened period.
    pub stretched_ticks: AtomicU64,
}

/// A snapshot of [`Corrections`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CorrectionCounts {
    /// Switches to another item.
    pub switches: u64,
    /// Jumps within the item.
    pub jumps: u64,
    /// Skips ahead.
    pub skips: u64,
    /// Holds.
    pub holds: u64,
    /// Times the master was lost.
    pub lost: u64,
    /// Ticks run with a changed period.
    pub stretched_ticks: u64,
}

/// A remote's listener, its corrections and the period factor, shared by the render thread
/// (which decides), the output thread (which paces) and the control API (which reports).
#[derive(Debug)]
pub struct RemoteSync {
    remote: Remote,
    /// Corrections applied.
    pub corrections: Corrections,
    /// The tick period's factor in parts per million, within [`PPM_RANGE`].
    factor_ppm: AtomicU64,
    /// Whether the master is lost (the follower's view).
    lost: AtomicBool,
    /// The last item name and frame followed (`frame` as the master sent it).
    last_frame: AtomicU64,
    /// The master's IPv4 address and port (`ip << 16 | port`; `u64::MAX`: none yet).
    master: AtomicU64,
    /// The file the master plays, as its last packet acted on names it (empty: none yet).
    /// Written only when it changes, into the same allocation.
    master_file: Mutex<String>,
    lost_after: Duration,
    /// When the output thread's ticks are due, published after each tick: tick n is due at
    /// `base + zero_ns + n · period_ns` (`i64::MIN`: nothing published yet).
    base: Instant,
    zero_ns: AtomicI64,
    period_ns: AtomicU64,
}

impl RemoteSync {
    /// Follow the master heard by `remote` (lost after `lost_after` of silence).
    pub fn new(remote: Remote, lost_after: Duration) -> RemoteSync {
        RemoteSync {
            remote,
            corrections: Corrections::default(),
            factor_ppm: AtomicU64::new(PPM_ONE),
            lost: AtomicBool::new(false),
            last_frame: AtomicU64::new(u64::MAX),
            master: AtomicU64::new(u64::MAX),
            master_file: Mutex::new(String::new()),
            lost_after,
            base: Instant::now(),
            zero_ns: AtomicI64::new(i64::MIN),
            period_ns: AtomicU64::new(0),
        }
    }

    /// The listener.
    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    /// What the listener received.
    pub fn stats(&self) -> RemoteStats {
        self.remote.stats()
    }

    /// The period factor in force (parts per million).
    pub fn factor_ppm(&self) -> u64 {
        self.factor_ppm.load(Ordering::Relaxed)
    }

    /// Whether the follower considers the master lost.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    /// The master's frame in the last packet acted on (`None`: none yet).
    pub fn last_frame(&self) -> Option<u64> {
        let f = self.last_frame.load(Ordering::Relaxed);
        (f != u64::MAX).then_some(f)
    }

    /// The file the master plays, as its last packet acted on names it.
    pub fn master_file(&self) -> Option<String> {
        let f = self.master_file.lock().unwrap_or_else(|p| p.into_inner());
        (!f.is_empty()).then(|| f.clone())
    }

    /// The address of the master last heard.
    pub fn master(&self) -> Option<SocketAddr> {
        let m = self.master.load(Ordering::Relaxed);
        (m != u64::MAX).then(|| {
            let ip = Ipv4Addr::from((m >> 16) as u32);
            SocketAddr::from((ip, (m & 0xffff) as u16))
        })
    }

    /// The corrections so far.
    pub fn counts(&self) -> CorrectionCounts {
        let c = &self.corrections;
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CorrectionCounts {
            switches: n(&c.switches),
            jumps: n(&c.jumps),
            skips: n(&c.skips),
            holds: n(&c.holds),
            lost: n(&c.lost),
            stretched_ticks: n(&c.stretched_ticks),
        }
    }

    /// The output thread, after each tick: the next tick, `next`, is due `until` from now
    /// and the ticks after it follow every `period`. The render thread reads it back with
    /// [`RemoteSync::due_in`] to know when the tick it prepares goes out.
    pub fn publish_due(&self, next: u64, until: Duration, period: Duration) {
        let at = self.base.elapsed().saturating_add(until).as_nanos() as i128;
        let zero = at - i128::from(next) * period.as_nanos() as i128;
        let zero = i64::try_from(zero)
            .unwrap_or(i64::MIN + 1)
            .max(i64::MIN + 1);
        self.period_ns
            .store(period.as_nanos() as u64, Ordering::Relaxed);
        self.zero_ns.store(zero, Ordering::Release);
    }

    /// How long from now until `tick` goes out, by the output thread's last word (`None`
    /// before its first tick). A tick already due is `Duration::ZERO` away.
    pub fn due_in(&self, tick: u64) -> Option<Duration> {
        let zero = self.zero_ns.load(Ordering::Acquire);
        if zero == i64::MIN {
            return None;
        }
        let period = i128::from(self.period_ns.load(Ordering::Relaxed));
        let due = i128::from(zero) + i128::from(tick) * period;
        let now = self.base.elapsed().as_nanos() as i128;
        let ns = u64::try_from((due - now).max(0)).unwrap_or(u64::MAX);
        Some(Duration::from_nanos(ns))
    }

    /// The output thread, once per tick: count a stretched tick.
    pub fn count_tick(&self, ppm: u64) {
        if ppm != PPM_ONE {
            self.corrections
                .stretched_ticks
                .fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The render thread's side: the follower's state and the copy of the master's packets.
#[derive(Debug)]
pub struct Follow<'a> {
    sync: &'a RemoteSync,
    follower: Follower,
    latest: Latest,
}

impl<'a> Follow<'a> {
    /// Start following for one run of the engine.
    pub fn new(sync: &'a RemoteSync) -> Follow<'a> {
        Follow {
            sync,
            follower: Follower::new(sync.lost_after),
            latest: Latest::default(),
        }
    }

    /// Before `program` prepares `tick`: read the master, decide and move the program's
    /// position; publish the period factor. The decision is for the moment `tick` goes
    /// out, as the output thread last published it ([`RemoteSync::publish_due`]), or
    /// `ahead` from now before it has.
    pub fn before_tick(&mut self, program: &mut Program, tick: u64, ahead: Duration, hz: u32) {
        let ahead = self.sync.due_in(tick).unwrap_or(ahead);
        self.sync.remote.latest_into(&mut self.latest);
        let np = program.now_playing();
        let items = &program.playlist().items;
        let source = np
            .item
            .and_then(|i| items.get(i))
            .map(|it| it.source.as_str());
        // The item's position at `tick` if it plays on (now_playing is the tick before).
        let frame = np.local_tick + 1;
        let local = Local {
            source,
            frame,
            refresh_hz: f64::from(hz.max(1)),
        };
        let now = Instant::now() + ahead;
        let d = self.follower.decide(now, &self.latest, &local, |name| {
            find_item(items.iter().map(|it| it.source.as_str()), name).is_some()
        });
        let c = &self.sync.corrections;
        let moved = match d.step {
            Step::None => None,
            Step::Switch { name, frame } => {
                let item = find_item(items.iter().map(|it| it.source.as_str()), name);
                c.switches.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    "multisync: the master plays {name}: switching to it at frame {frame}"
                );
                item.map(|i| (i, frame))
            }
            Step::Jump { frame } => {
                c.jumps.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("multisync: jumping from frame {} to {frame}", local.frame);
                np.item.map(|i| (i, frame))
            }
            Step::Skip { frames } => {
                c.skips.fetch_add(1, Ordering::Relaxed);
                np.item.map(|i| (i, frame + u64::from(frames)))
            }
            Step::Hold { frames } => {
                c.holds.fetch_add(1, Ordering::Relaxed);
                np.item
                    .map(|i| (i, frame.saturating_sub(u64::from(frames))))
            }
            Step::MasterLost => {
                c.lost.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    "multisync: the master is lost (silent for more than {:.1} s): playing on \
                     by the own timeline",
                    self.sync.lost_after.as_secs_f64()
                );
                None
            }
        };
        self.sync
            .lost
            .store(self.follower.lost(), Ordering::Relaxed);
        if let Some(newest) = self.latest.newest() {
            self.sync
                .last_frame
                .store(u64::from(newest.frame), Ordering::Relaxed);
            if let Some(SocketAddr::V4(a)) = newest.from {
                let packed = u64::from(u32::from(*a.ip())) << 16 | u64::from(a.port());
                self.sync.master.store(packed, Ordering::Relaxed);
            }
            // Never waits on a status reader: a tick it holds the lock is caught up on the
            // next.
            if let Ok(mut f) = self.sync.master_file.try_lock()
                && *f != newest.name
            {
                f.clear();
                f.push_str(&newest.name);
            }
        }
        if let Some((item, local_tick)) = moved {
            program.seek(item, tick, local_tick);
        }
        self.sync
            .factor_ppm
            .store(factor_ppm(d.period_factor), Ordering::Relaxed);
    }
}

/// A period factor in parts per million, within [`PPM_RANGE`] (1 when not finite).
pub fn factor_ppm(factor: f64) -> u64 {
    if !factor.is_finite() {
        return PPM_ONE;
    }
    ((factor * PPM_ONE as f64).round() as u64).clamp(PPM_RANGE.0, PPM_RANGE.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_in_ppm_is_bounded() {
        assert_eq!(factor_ppm(1.0), PPM_ONE);
        assert_eq!(factor_ppm(1.01), 1_010_000);
        assert_eq!(factor_ppm(0.99), 990_000);
        assert_eq!(factor_ppm(1.5), 1_010_000);
        assert_eq!(factor_ppm(0.0), 990_000);
        assert_eq!(factor_ppm(f64::NAN), PPM_ONE);
    }
}
