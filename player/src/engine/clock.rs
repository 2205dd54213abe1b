//! The pacer's clock, injectable so that tests are deterministic (design §8).
//!
//! Time is a [`Duration`] since the clock's own origin. The pacer waits for a deadline by
//! sleeping until [`SPIN`](super::pacer::PacerOptions::spin) before it and spinning the
//! rest; it asks the clock for exactly those two primitives, so a [`FakeClock`] can drive
//! the same waiting code without any real time passing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What the pacer needs from a clock.
pub trait Clock: Send {
    /// Time since the clock's origin (monotonic).
    fn now(&self) -> Duration;
    /// Sleep for about `d` (a real sleep may last longer, never shorter).
    fn sleep(&mut self, d: Duration);
    /// One step of a busy wait.
    fn spin(&mut self);
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
}

impl FakeClock {
    /// A fake clock at time 0 whose spins each take `spin_step`.
    pub fn new(spin_step: Duration) -> FakeClock {
        FakeClock {
            nanos: Arc::new(AtomicU64::new(0)),
            oversleep: Arc::new(AtomicU64::new(0)),
            spin_step,
            sleeps: Arc::new(AtomicU64::new(0)),
            spins: Arc::new(AtomicU64::new(0)),
        }
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
}
