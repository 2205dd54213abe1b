//! The pacer's clock, injectable so that tests are deterministic (design §8).
//!
//! Time is a [`Duration`] since the clock's own origin. The pacer waits for a deadline by
//! sleeping until [`SPIN`](super::pacer::PacerOptions::spin) before it and spinning the
//! rest; it asks the clock for exactly those two primitives, so a [`FakeClock`] can drive
//! the same waiting code without any real time passing.
//!
//! With an epoch (`--epoch`, design §10) the pacer also reads the system clock
//! ([`Clock::realtime`], `CLOCK_REALTIME` as chrony or linuxptp keep it) to place its ticks;
//! a [`FakeClock`] has a real-time reading of its own that tests can step or slew.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the pacer needs from a clock.
pub trait Clock: Send {
    /// Time since the clock's origin (monotonic).
    fn now(&self) -> Duration;
    /// Sleep for about `d` (a real sleep may last longer, never shorter).
    fn sleep(&mut self, d: Duration);
    /// One step of a busy wait.
    fn spin(&mut self);
    /// The system's real-time clock (`CLOCK_REALTIME`): nanoseconds since 1970-01-01 UTC.
    /// It may step or be slewed at any time; only an epoch's pacing reads it.
    fn realtime(&self) -> i64;
}

/// Nanoseconds of `d`, saturated.
fn signed_nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// The monotonic clock ([`Instant`]), real sleeps and a spin-loop hint.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose origin is now.
    pub fn new() -> SystemClock {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn sleep(&mut self, d: Duration) {
        std::thread::sleep(d);
    }

    fn spin(&mut self) {
        std::hint::spin_loop();
    }

    fn realtime(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => signed_nanos(d),
            Err(e) => signed_nanos(e.duration()).saturating_neg(),
        }
    }
}

/// A clock for tests: time moves only when the pacer sleeps or spins, or when a test
/// calls [`FakeClock::advance`]. Clones share the same time, so a test keeps one clone
/// and hands the other to the pacer.
#[derive(Debug, Clone)]
pub struct FakeClock {
    nanos: Arc<AtomicU64>,
    /// Added to every sleep: a scheduler that wakes the thread late.
    oversleep: Arc<AtomicU64>,
    spin_step: Duration,
    sleeps: Arc<AtomicU64>,
    spins: Arc<AtomicU64>,
    /// The real-time reading at monotonic time 0 plus the steps so far (ns since 1970).
    realtime_base: Arc<AtomicI64>,
    /// The real-time clock's rate error, parts per million (a slewing clock).
    slew_ppm: Arc<AtomicI64>,
}

/// Where a [`FakeClock`]'s real-time clock starts: 2026-05-04T12:00:00Z.
pub const FAKE_REALTIME_START: i64 = 1_777_896_000_000_000_000;

impl FakeClock {
    /// A fake clock at time 0 whose spins each take `spin_step`.
    pub fn new(spin_step: Duration) -> FakeClock {
        FakeClock {
            nanos: Arc::new(AtomicU64::new(0)),
            oversleep: Arc::new(AtomicU64::new(0)),
            spin_step,
            sleeps: Arc::new(AtomicU64::new(0)),
            spins: Arc::new(AtomicU64::new(0)),
            realtime_base: Arc::new(AtomicI64::new(FAKE_REALTIME_START)),
            slew_ppm: Arc::new(AtomicI64::new(0)),
        }
    }

    /// Set the real-time clock so that it reads `ns` (since 1970) now.
    pub fn set_realtime(&self, ns: i64) {
        let now = self.realtime();
        self.step_realtime(ns.saturating_sub(now));
    }

    /// Step the real-time clock by `delta_ns` (what `chronyd -q` or `date -s` does); the
    /// monotonic clock does not move.
    pub fn step_realtime(&self, delta_ns: i64) {
        self.realtime_base.fetch_add(delta_ns, Ordering::SeqCst);
    }

    /// From now on the real-time clock runs `ppm` parts per million fast (negative: slow),
    /// as chrony slews it. Time already passed keeps its reading.
    pub fn set_slew_ppm(&self, ppm: i64) {
        let before = self.realtime();
        self.slew_ppm.store(ppm, Ordering::SeqCst);
        let after = self.realtime();
        self.step_realtime(before.saturating_sub(after));
    }

    /// Move time forward (work that takes time, a stall).
    pub fn advance(&self, d: Duration) {
        self.nanos.fetch_add(nanos(d), Ordering::SeqCst);
    }

    /// From now on every sleep lasts `d` longer than asked.
    pub fn set_oversleep(&self, d: Duration) {
        self.oversleep.store(nanos(d), Ordering::SeqCst);
    }

    /// Sleeps so far.
    pub fn sleeps(&self) -> u64 {
        self.sleeps.load(Ordering::SeqCst)
    }

    /// Spin steps so far.
    pub fn spins(&self) -> u64 {
        self.spins.load(Ordering::SeqCst)
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Clock for FakeClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }

    fn sleep(&mut self, d: Duration) {
        self.sleeps.fetch_add(1, Ordering::SeqCst);
        let extra = self.oversleep.load(Ordering::SeqCst);
        self.nanos
            .fetch_add(nanos(d).saturating_add(extra), Ordering::SeqCst);
    }

    fn spin(&mut self) {
        self.spins.fetch_add(1, Ordering::SeqCst);
        self.advance(self.spin_step);
    }

    fn realtime(&self) -> i64 {
        let mono = i128::from(self.nanos.load(Ordering::SeqCst));
        let ppm = i128::from(self.slew_ppm.load(Ordering::SeqCst));
        let rate = mono + mono * ppm / 1_000_000;
        let base = i128::from(self.realtime_base.load(Ordering::SeqCst));
        i64::try_from(base + rate).unwrap_or(i64::MAX)
    }
}
