//! The fixed-refresh pacer of the output thread (design §8).
//!
//! Tick `n` is due at `origin + n · period`, computed from `n` (deadline += period, with no
//! rounding carried from tick to tick), so a late tick never shifts the ones after it. The
//! pacer sleeps until [`PacerOptions::spin`] before the deadline and spins the rest. At the
//! deadline it takes the newest *ready* frame from the channel: one rendered for this tick
//! or an earlier one (a frame rendered ahead for a later tick waits for its own tick).
//! Older ready frames go straight back to the free pool and count as dropped. With no newer
//! frame, the last one is sent again. Then the frame goes to the [`Output`] (every port, then
//! every sink's sync) and the tick is recorded.
//!
//! Frames are only moved between the two channels and the pacer's `last` slot, so a tick
//! allocates nothing.
//!
//! **Epoch** ([`Pacer::set_epoch`], design §10): tick `n` is due at `epoch + n / hz` on the
//! system's real-time clock. The pacer keeps the difference between the real-time and the
//! monotonic clock, measured again at every tick (three clock reads, no allocation), and
//! converts each deadline to the monotonic clock with it, so a clock that chrony or
//! linuxptp slews moves the deadlines with it. When the difference jumps by more than one
//! tick period between two ticks, the clock was stepped: the pacer re-aligns to the tick
//! the real-time clock now says (forward or back), counts it in
//! [`PacerStats::clock_steps`] and logs it with the size of the step.

use super::clock::Clock;
use super::remote::{PPM_ONE, PPM_RANGE};
use super::stats::{PacerStats, TickKind, TickRecord};
use crate::sinks::SinkSet;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use ledwall_render::WallFrame;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// A reading of both clocks is thrown away when reading them took longer than this (the
/// thread was preempted between the reads): it would look like a clock step.
pub const SAMPLE_MAX: Duration = Duration::from_micros(50);

/// Where the pacer sends a frame at each tick.
pub trait Output {
    /// Send every port of `frame` for display tick `tick`, then sync.
    fn send_frame(&mut self, frame: &WallFrame, tick: u64);

    /// Copy the sinks' counters into `t` (after each tick; allocates nothing).
    fn publish(&self, t: &super::telemetry::Telemetry) {
        let _ = t;
    }
}

impl Output for SinkSet {
    fn send_frame(&mut self, frame: &WallFrame, tick: u64) {
        SinkSet::send_frame(self, frame, tick);
    }

    fn publish(&self, t: &super::telemetry::Telemetry) {
        let shape = t.shape.load();
        for (sink, c) in self.sinks().iter().zip(&shape.sinks) {
            let s = sink.stats();
            c.frames.store(s.frames, Ordering::Relaxed);
            c.bytes.store(s.bytes, Ordering::Relaxed);
            c.packets.store(s.packets, Ordering::Relaxed);
            c.errors.store(s.errors, Ordering::Relaxed);
            c.waiting.store(sink.is_waiting(), Ordering::Relaxed);
        }
    }
}

/// Pacer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacerOptions {
    /// Display ticks per second (the wall's `refresh_hz`, 1..=1000).
    pub hz: u32,
    /// Sleep until this long before a deadline, then spin: covers the scheduler's wake-up
    /// delay.
    pub spin: Duration,
    /// Wait at every tick until the frame rendered for it arrives, instead of repeating
    /// the last one: nothing is dropped or repeated, ticks may be late. For tests and
    /// exports that need every tick's own frame; a live wall never waits.
    pub lockstep: bool,
}

impl PacerOptions {
    /// Real-time pacing at `hz` with a 1 ms spin.
    pub fn new(hz: u32) -> PacerOptions {
        PacerOptions {
            hz: hz.max(1),
            spin: Duration::from_millis(1),
            lockstep: false,
        }
    }
}

/// The output thread's deadline clock and frame hand-over.
pub struct Pacer<C: Clock> {
    clock: C,
    options: PacerOptions,
    /// Clock time of tick 0's deadline.
    origin: Duration,
    /// The tick due at the origin (0, or where [`Pacer::skip_to`] started).
    base: u64,
    /// The tick period's factor in parts per million ([`Pacer::set_period_ppm`]).
    ppm: u64,
    tick: u64,
    frames: Receiver<WallFrame>,
    free: Sender<WallFrame>,
    /// The frame sent last (repeated when nothing newer is ready).
    last: Option<WallFrame>,
    /// A frame received ahead of its tick.
    early: Option<WallFrame>,
    /// Lockstep: the next tick the render thread will try (a tick it has passed without a
    /// frame, after a failed render, is not waited for).
    progress: Option<Arc<AtomicU64>>,
    /// Pacing from the system clock, when an epoch is set.
    sync: Option<EpochSync>,
    stats: PacerStats,
}

/// The state of pacing from the system clock (design §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EpochSync {
    /// Tick 0's time on the real-time clock: ns since 1970.
    epoch: i64,
    /// Real-time minus monotonic clock (ns), as last measured.
    offset: i128,
    /// A frame numbered more than this past the tick was rendered before the clock was
    /// stepped back: it is stale and goes back to the pool.
    max_lead: u64,
}

impl<C: Clock> std::fmt::Debug for Pacer<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("options", &self.options)
            .field("origin", &self.origin)
            .field("tick", &self.tick)
            .finish_non_exhaustive()
    }
}

impl<C: Clock> Pacer<C> {
    /// A pacer taking rendered frames from `frames` and giving used ones back on `free`.
    /// Tick 0 is due at the clock's current time; see [`Pacer::start_at`].
    pub fn new(
        clock: C,
        options: PacerOptions,
        frames: Receiver<WallFrame>,
        free: Sender<WallFrame>,
    ) -> Pacer<C> {
        let origin = clock.now();
        let stats = PacerStats {
            span: (origin, origin),
            ..PacerStats::default()
        };
        Pacer {
            clock,
            options: PacerOptions {
                hz: options.hz.max(1),
                ..options
            },
            origin,
            base: 0,
            ppm: PPM_ONE,
            tick: 0,
            frames,
            free,
            last: None,
            early: None,
            progress: None,
            sync: None,
            stats,
        }
    }

    /// Pace from the system clock: tick `n` is due at `epoch_ns + n / hz` (ns since 1970)
    /// on [`Clock::realtime`]. [`Pacer::prime`] then starts at the tick the real-time clock
    /// says; every tick re-measures the clocks and re-aligns after a step. `max_lead`: the
    /// most ticks frames are rendered ahead (frames further ahead are stale after a step
    /// back).
    pub fn set_epoch(&mut self, epoch_ns: i64, max_lead: u64) {
        self.sync = Some(EpochSync {
            epoch: epoch_ns,
            offset: 0,
            max_lead,
        });
        self.stats.clock_steps = Some(0);
    }

    /// The tick that is due next at real time `real` (ns since 1970): the first one whose
    /// time `epoch + n / hz` is not before it; 0 before the epoch.
    pub fn epoch_tick(&self, real: i64) -> u64 {
        let Some(sync) = self.sync else {
            return self.tick;
        };
        let since = i128::from(real) - i128::from(sync.epoch);
        if since <= 0 {
            return 0;
        }
        let hz = i128::from(self.options.hz);
        let n = (since * hz + 999_999_999) / 1_000_000_000;
        u64::try_from(n).unwrap_or(u64::MAX)
    }

    /// Both clocks read together: (monotonic, real-time) in ns; `None` when the reads were
    /// further apart than [`SAMPLE_MAX`].
    fn sample(&self) -> Option<(i128, i128)> {
        let m1 = self.clock.now();
        let real = self.clock.realtime();
        let m2 = self.clock.now();
        let gap = m2.saturating_sub(m1);
        if gap > SAMPLE_MAX {
            return None;
        }
        let mono = m1.as_nanos() + gap.as_nanos() / 2;
        Some((i128::try_from(mono).unwrap_or(i128::MAX), i128::from(real)))
    }

    /// Read both clocks, trying again (a few times) when a read was preempted.
    fn sample_retrying(&self) -> (i128, i128) {
        for _ in 0..16 {
            if let Some(s) = self.sample() {
                return s;
            }
        }
        let mono = i128::try_from(self.clock.now().as_nanos()).unwrap_or(i128::MAX);
        (mono, i128::from(self.clock.realtime()))
    }

    /// Put tick `n` at its real time (epoch + n / hz) mapped to the monotonic clock with
    /// the measured offset; it is the next tick.
    fn align(&mut self, n: u64) {
        self.tick = n;
        self.base = n;
        self.map_base();
    }

    /// `origin` = the monotonic time of tick `base` by the current offset.
    fn map_base(&mut self) {
        let Some(sync) = self.sync else {
            return;
        };
        let hz = u128::from(self.options.hz);
        let since = u128::from(self.base) * 1_000_000_000 / hz;
        let real = i128::from(sync.epoch) + i128::try_from(since).unwrap_or(i128::MAX);
        let mono = (real - sync.offset).max(0);
        self.origin = Duration::from_nanos(u64::try_from(mono).unwrap_or(u64::MAX));
    }

    /// Measure the clocks again and follow the real-time clock: a slew moves the deadlines
    /// with it; a step of more than one tick period re-aligns to the tick it says (counted,
    /// logged). Does nothing without an epoch, or when the clocks could not be read
    /// together this time. Allocates nothing unless it logs a step.
    fn follow_realtime(&mut self) {
        let Some(mut sync) = self.sync else {
            return;
        };
        let Some((mono, real)) = self.sample() else {
            return;
        };
        let offset = real - mono;
        let step = offset - sync.offset;
        sync.offset = offset;
        self.sync = Some(sync);
        let period = 1_000_000_000 / i128::from(self.options.hz);
        if step.abs() <= period {
            // Count from the next tick: its monotonic time is not before the clocks' start.
            self.base = self.tick;
            self.map_base();
            return;
        }
        let from = self.tick;
        let to = self.epoch_tick(i64::try_from(real).unwrap_or(i64::MAX));
        let count = self.stats.clock_steps.unwrap_or(0) + 1;
        self.stats.clock_steps = Some(count);
        tracing::warn!(
            step_ms = step as f64 / 1e6,
            from_tick = from,
            to_tick = to,
            "the system clock was stepped by {:+.3} ms: ticks re-aligned from {from} to {to} \
             ({count} step(s) so far)",
            step as f64 / 1e6
        );
        self.align(to);
    }

    /// Clock steps seen so far (`None`: no epoch).
    pub fn clock_steps(&self) -> Option<u64> {
        self.stats.clock_steps
    }

    /// Before an epoch that is still more than a tick away: send `dark` once a tick period
    /// until tick 0 is due (or `stop` is set), so the wall is dark rather than holding
    /// whatever it showed last. These sends are not ticks (not recorded). Returns how many
    /// dark frames went out.
    pub fn hold_dark_until_due(
        &mut self,
        out: &mut (impl Output + ?Sized),
        dark: &WallFrame,
        stop: &AtomicBool,
    ) -> u64 {
        let period = Duration::from_nanos(1_000_000_000 / u64::from(self.options.hz));
        let mut sent = 0u64;
        loop {
            if stop.load(Ordering::Relaxed) {
                return sent;
            }
            self.follow_realtime();
            let now = self.clock.now();
            let due = self.deadline(self.tick);
            if due.saturating_sub(now) <= period {
                return sent;
            }
            out.send_frame(dark, self.tick);
            sent += 1;
            self.wait_until(now + period);
        }
    }

    /// In lockstep, stop waiting for tick `n`'s frame once `progress` (the next tick the
    /// render thread will try) is past `n`: its render failed, the last frame repeats.
    pub fn follow_progress(&mut self, progress: Arc<AtomicU64>) {
        self.progress = Some(progress);
    }

    /// Number the next tick `n` (a run that continues an earlier one); deadlines count
    /// from it.
    pub fn skip_to(&mut self, n: u64) {
        self.tick = n;
        self.base = n;
    }

    /// Stretch or shorten the tick period by a factor of `ppm` / 1 000 000 (clamped to
    /// ±1 %) from the next tick on: a MultiSync remote follows its master's clock with it.
    /// The ticks before keep their deadlines; later ones are due at the next tick's
    /// deadline plus whole periods of the new length, computed from the tick number, so
    /// nothing drifts. Ignored when pacing from an epoch (the system clock is the master).
    pub fn set_period_ppm(&mut self, ppm: u64) {
        let ppm = ppm.clamp(PPM_RANGE.0, PPM_RANGE.1);
        if ppm == self.ppm || self.sync.is_some() {
            return;
        }
        self.origin = self.deadline(self.tick);
        self.base = self.tick;
        self.ppm = ppm;
    }

    /// The tick period's factor in parts per million.
    pub fn period_ppm(&self) -> u64 {
        self.ppm
    }

    /// Make the next tick due at clock time `origin` (ticks already run keep their
    /// numbers; later ones follow at `origin + k · period`).
    pub fn start_at(&mut self, origin: Duration) {
        self.origin = origin.saturating_sub(self.offset(self.tick));
        self.stats.span = (origin, origin);
    }

    /// Block until the first frame arrives (or the render thread is gone, or `stop` is set),
    /// then make the next tick due now: start-up (opening media, building pipelines) is not
    /// lateness. Returns whether a frame arrived.
    pub fn prime(&mut self, stop: &AtomicBool) -> bool {
        while self.early.is_none() && self.last.is_none() {
            if stop.load(Ordering::Relaxed) {
                return false;
            }
            match self.frames.recv_timeout(Duration::from_millis(50)) {
                Ok(f) => self.early = Some(f),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return false,
            }
        }
        if self.sync.is_some() {
            let (mono, real) = self.sample_retrying();
            if let Some(sync) = &mut self.sync {
                sync.offset = real - mono;
            }
            let n = self.epoch_tick(i64::try_from(real).unwrap_or(i64::MAX));
            self.align(n);
            self.stats.span = (self.origin, self.origin);
            return true;
        }
        let now = self.clock.now();
        self.start_at(now);
        true
    }

    /// Time from the origin to tick `n`'s deadline: `(n − base) · 1e9 / hz` ns (times the
    /// period factor), from `n` itself.
    fn offset(&self, n: u64) -> Duration {
        let n = n.saturating_sub(self.base);
        let ns = u128::from(n) * 1_000_000_000 * u128::from(self.ppm)
            / (u128::from(self.options.hz) * u128::from(PPM_ONE));
        Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    /// When tick `n` is due on the pacer's clock.
    pub fn deadline(&self, n: u64) -> Duration {
        self.origin.saturating_add(self.offset(n))
    }

    /// The next tick to run.
    pub fn next_tick(&self) -> u64 {
        self.tick
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// What was counted so far.
    pub fn stats(&self) -> &PacerStats {
        &self.stats
    }

    /// The frame sent last.
    pub fn last_frame(&self) -> Option<&WallFrame> {
        self.last.as_ref()
    }

    /// Sleep, then spin, until `deadline`; returns the time it ended.
    fn wait_until(&mut self, deadline: Duration) -> Duration {
        loop {
            let now = self.clock.now();
            if now >= deadline {
                return now;
            }
            let left = deadline - now;
            if left > self.options.spin {
                self.clock.sleep(left - self.options.spin);
            } else {
                self.clock.spin();
            }
        }
    }

    /// Give a frame back to the render thread (dropped only when it is gone).
    fn recycle(&self, frame: WallFrame) {
        let _ = self.free.try_send(frame);
    }

    /// Take `f` as the candidate for tick `n` unless it is for a later tick. Returns false
    /// when `f` was kept for later (nothing newer can be ready then: the channel is FIFO).
    fn consider(
        &mut self,
        f: WallFrame,
        n: u64,
        best: &mut Option<WallFrame>,
        dropped: &mut u32,
    ) -> bool {
        if let Some(sync) = self.sync
            && f.frame_number > n.saturating_add(sync.max_lead)
        {
            // Rendered before the clock was stepped back: its tick is far off.
            *dropped += 1;
            self.recycle(f);
            return true;
        }
        if f.frame_number > n {
            self.early = Some(f);
            return false;
        }
        if let Some(older) = best.replace(f) {
            *dropped += 1;
            self.recycle(older);
        }
        true
    }

    /// Run one tick: wait for its deadline, take the newest ready frame (or repeat the last),
    /// send it to `out`, record it.
    pub fn tick(&mut self, out: &mut (impl Output + ?Sized)) -> TickRecord {
        self.follow_realtime();
        let n = self.tick;
        let deadline = self.deadline(n);
        let mut actual = self.wait_until(deadline);
        let queue = self.frames.len() + usize::from(self.early.is_some());
        let mut best: Option<WallFrame> = None;
        let mut dropped = 0u32;
        loop {
            let next = match self.early.take() {
                Some(f) => f,
                None => match self.frames.try_recv() {
                    Ok(f) => f,
                    Err(_) => break,
                },
            };
            if !self.consider(next, n, &mut best, &mut dropped) {
                break;
            }
        }
        if self.options.lockstep {
            // Wait for this tick's own frame (or for the render thread to pass it or end).
            while self.early.is_none() && best.as_ref().is_none_or(|f| f.frame_number < n) {
                match self.frames.recv_timeout(Duration::from_millis(1)) {
                    Ok(f) => {
                        self.consider(f, n, &mut best, &mut dropped);
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        let passed = self
                            .progress
                            .as_ref()
                            .is_some_and(|p| p.load(Ordering::Acquire) > n);
                        if passed {
                            // Anything it sent before moving on is in the channel now.
                            while let Ok(f) = self.frames.try_recv() {
                                if !self.consider(f, n, &mut best, &mut dropped) {
                                    break;
                                }
                            }
                            break;
                        }
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            actual = self.clock.now();
        }
        let kind = match best {
            Some(f) => {
                let kind = if f.frame_number == n {
                    TickKind::New
                } else {
                    TickKind::Late
                };
                if let Some(old) = self.last.replace(f) {
                    self.recycle(old);
                }
                kind
            }
            None if self.last.is_some() => TickKind::Repeated,
            None => TickKind::Empty,
        };
        let mut send = Duration::ZERO;
        let mut frame_tick = None;
        if let Some(frame) = &self.last {
            let t = self.clock.now();
            out.send_frame(frame, n);
            send = self.clock.now().saturating_sub(t);
            frame_tick = Some(frame.frame_number);
        }
        let record = TickRecord {
            tick: n,
            deadline,
            lateness: actual.saturating_sub(deadline),
            kind,
            frame_tick,
            dropped,
            queue: u32::try_from(queue).unwrap_or(u32::MAX),
            send,
        };
        self.stats.record(&record);
        self.stats.span.1 = self.clock.now();
        self.tick += 1;
        record
    }

    /// End: give back every frame held (the render thread may be waiting for one) and
    /// return the statistics.
    pub fn finish(mut self) -> PacerStats {
        if let Some(f) = self.last.take() {
            self.recycle(f);
        }
        if let Some(f) = self.early.take() {
            self.recycle(f);
        }
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::super::clock::FakeClock;
    use super::*;
    use crossbeam_channel::bounded;
    use ledwall_render::frame::PortBuffer;
    use ledwall_render::wall::OutputFormat;

    /// Records what was sent.
    #[derive(Default)]
    struct Recorder {
        sent: Vec<(u64, u64, u8)>,
        /// Time each send takes on the fake clock.
        cost: Duration,
        clock: Option<FakeClock>,
    }

    impl Output for Recorder {
        fn send_frame(&mut self, frame: &WallFrame, tick: u64) {
            self.sent
                .push((tick, frame.frame_number, frame.ports[0].bytes[0]));
            if let Some(c) = &self.clock {
                c.advance(self.cost);
            }
        }
    }

    fn frame(n: u64) -> WallFrame {
        WallFrame {
            frame_number: n,
            card_level: 1.0,
            ports: vec![PortBuffer {
                name: "p".into(),
                format: OutputFormat::Rgb8,
                bytes: vec![n as u8; 3],
                gpu: None,
            }],
        }
    }

    const HZ: u32 = 60;
    const PERIOD_NS: u64 = 16_666_666; // floor(1e9 / 60)

    struct Rig {
        clock: FakeClock,
        pacer: Pacer<FakeClock>,
        tx: Sender<WallFrame>,
        free: Receiver<WallFrame>,
        out: Recorder,
    }

    fn rig(lockstep: bool) -> Rig {
        let clock = FakeClock::new(Duration::from_micros(10));
        let (tx, rx) = bounded(8);
        let (free_tx, free) = bounded(8);
        let options = PacerOptions {
            lockstep,
            ..PacerOptions::new(HZ)
        };
        let pacer = Pacer::new(clock.clone(), options, rx, free_tx);
        Rig {
            out: Recorder {
                clock: Some(clock.clone()),
                ..Recorder::default()
            },
            clock,
            pacer,
            tx,
            free,
        }
    }

    #[test]
    fn a_period_factor_applies_from_the_next_tick_without_drift() {
        let mut r = rig(false);
        r.tx.send(frame(0)).unwrap();
        for _ in 0..10 {
            r.pacer.tick(&mut r.out);
        }
        let d10 = r.pacer.deadline(10);
        assert_eq!(d10, Duration::from_nanos(10 * 1_000_000_000 / 60));
        // 1 % longer from tick 10 on: tick 10 keeps its deadline, tick 10 + n is due
        // n · 1.01 / 60 s later, computed from n (no rounding carried).
        r.pacer.set_period_ppm(1_010_000);
        assert_eq!(r.pacer.period_ppm(), 1_010_000);
        for _ in 10..610 {
            r.pacer.tick(&mut r.out);
        }
        assert_eq!(r.pacer.deadline(10), d10);
        let want = d10 + Duration::from_nanos(600 * 1_010_000_000 / 60);
        assert_eq!(r.pacer.deadline(610), want);
        // Beyond ±1 % is clamped; back to 1 from tick 610 on.
        r.pacer.set_period_ppm(500_000);
        assert_eq!(r.pacer.period_ppm(), 990_000);
        r.pacer.set_period_ppm(PPM_ONE);
        assert_eq!(r.pacer.deadline(610), want);
        assert_eq!(
            r.pacer.deadline(670),
            want + Duration::from_nanos(1_000_000_000)
        );
    }

    #[test]
    fn deadlines_stay_on_the_grid_after_a_late_tick() {
        let mut r = rig(false);
        r.tx.send(frame(0)).unwrap();
        let mut records = Vec::new();
        for n in 0..10 {
            if n == 4 {
                // Something stalls the output thread for 2.5 periods.
                r.clock.advance(Duration::from_nanos(PERIOD_NS * 5 / 2));
            }
            records.push(r.pacer.tick(&mut r.out));
        }
        for (n, rec) in records.iter().enumerate() {
            // Tick n is due at n/60 s exactly, whatever happened before it.
            let want = Duration::from_nanos(n as u64 * 1_000_000_000 / 60);
            assert_eq!(rec.deadline, want, "tick {n}");
            assert_eq!(rec.tick, n as u64);
        }
        // Ticks 4 and 5 were due during the stall (50 ms to 91.7 ms): they go out at once,
        // late...
        let stall_end = Duration::from_nanos(3 * PERIOD_NS + PERIOD_NS * 5 / 2);
        assert!(records[4].lateness > Duration::ZERO);
        assert!(records[5].lateness > Duration::ZERO);
        assert!(records[4].deadline + records[4].lateness >= stall_end);
        // ...and tick 6 is on time again: no drift carried forward.
        for rec in &records[6..] {
            assert!(rec.lateness <= Duration::from_micros(10), "{rec:?}");
        }
        // 600 ticks later the deadlines are still exactly n/60 s from the origin.
        for _ in 10..610 {
            r.pacer.tick(&mut r.out);
        }
        assert_eq!(
            r.pacer.deadline(610),
            Duration::from_nanos(610 * 1_000_000_000 / 60)
        );
        assert!(r.clock.now() >= Duration::from_nanos(609 * 1_000_000_000 / 60));
        assert!(r.clock.now() < Duration::from_nanos(610 * 1_000_000_000 / 60));
    }

    #[test]
    fn sleeps_then_spins_to_the_deadline() {
        let mut r = rig(false);
        r.tx.send(frame(0)).unwrap();
        r.pacer.tick(&mut r.out); // tick 0: due at once
        let (sleeps, spins) = (r.clock.sleeps(), r.clock.spins());
        let rec = r.pacer.tick(&mut r.out);
        // One sleep to 1 ms before the deadline, then 10 µs spins for the last millisecond.
        assert_eq!(r.clock.sleeps() - sleeps, 1);
        assert_eq!(r.clock.spins() - spins, 100);
        assert!(rec.lateness < Duration::from_micros(10));
        // A scheduler that wakes us 300 µs late: the spin absorbs it.
        r.clock.set_oversleep(Duration::from_micros(300));
        let rec = r.pacer.tick(&mut r.out);
        assert!(rec.lateness < Duration::from_micros(10));
        // One that wakes us 3 ms late: the tick is late by about 2 ms, the next one is not.
        r.clock.set_oversleep(Duration::from_millis(3));
        let rec = r.pacer.tick(&mut r.out);
        assert!(rec.lateness >= Duration::from_micros(1990), "{rec:?}");
        r.clock.set_oversleep(Duration::ZERO);
        let rec = r.pacer.tick(&mut r.out);
        assert!(rec.lateness < Duration::from_micros(10));
    }

    #[test]
    fn the_newest_ready_frame_wins_and_older_ones_are_dropped() {
        let mut r = rig(false);
        r.tx.send(frame(0)).unwrap();
        let rec = r.pacer.tick(&mut r.out);
        assert_eq!((rec.kind, rec.frame_tick), (TickKind::New, Some(0)));
        // The output thread was slow: frames for ticks 1, 2 and 3 are all ready at tick 3,
        // plus one rendered ahead for tick 4.
        for n in 1..=4 {
            r.tx.send(frame(n)).unwrap();
        }
        r.clock.advance(Duration::from_nanos(PERIOD_NS * 2));
        // Tick 1, late: frame 1 is ready; 2, 3 and 4 are for later ticks and wait.
        let rec = r.pacer.tick(&mut r.out);
        assert_eq!(rec.queue, 4);
        assert_eq!(
            (rec.kind, rec.frame_tick, rec.dropped),
            (TickKind::New, Some(1), 0)
        );
        let rec = r.pacer.tick(&mut r.out); // tick 2
        assert_eq!((rec.kind, rec.frame_tick), (TickKind::New, Some(2)));
        // Now a real pile-up: frames 3, 4 and 5 wait while the pacer is at tick 5.
        r.tx.send(frame(5)).unwrap();
        r.clock.advance(Duration::from_nanos(PERIOD_NS * 2));
        r.pacer.tick(&mut r.out); // tick 3 takes frame 3
        r.pacer.tick(&mut r.out); // tick 4 takes frame 4
        let rec = r.pacer.tick(&mut r.out); // tick 5 takes frame 5
        assert_eq!(
            (rec.kind, rec.frame_tick, rec.dropped),
            (TickKind::New, Some(5), 0)
        );
        // Render ran behind: frames 6, 7, 8 only arrive when tick 8 is due.
        r.clock.advance(Duration::from_nanos(PERIOD_NS * 3));
        let rec = r.pacer.tick(&mut r.out); // tick 6: nothing ready → repeat frame 5
        assert_eq!((rec.kind, rec.frame_tick), (TickKind::Repeated, Some(5)));
        let rec = r.pacer.tick(&mut r.out); // tick 7
        assert_eq!(rec.kind, TickKind::Repeated);
        for n in 6..=8 {
            r.tx.send(frame(n)).unwrap();
        }
        let rec = r.pacer.tick(&mut r.out); // tick 8: 6 and 7 dropped, 8 sent
        assert_eq!(
            (rec.kind, rec.frame_tick, rec.dropped),
            (TickKind::New, Some(8), 2)
        );
        assert_eq!(rec.queue, 3);
        // The dropped frames and every replaced one went back to the pool: 0..=7 in order.
        let back: Vec<u64> = r.free.try_iter().map(|f| f.frame_number).collect();
        assert_eq!(back, vec![0, 1, 2, 3, 4, 6, 7, 5]);
        // A frame rendered for an earlier tick that arrives alone is sent as late.
        r.tx.send(frame(7)).unwrap();
        let rec = r.pacer.tick(&mut r.out); // tick 9
        assert_eq!((rec.kind, rec.frame_tick), (TickKind::Late, Some(7)));
        let s = r.pacer.stats();
        assert_eq!(
            (s.new, s.late, s.repeated, s.dropped, s.empty),
            (7, 1, 2, 2, 0)
        );
        // What the sinks got, tick by tick.
        let sent: Vec<(u64, u64)> = r.out.sent.iter().map(|&(t, f, _)| (t, f)).collect();
        assert_eq!(
            sent,
            vec![
                (0, 0),
                (1, 1),
                (2, 2),
                (3, 3),
                (4, 4),
                (5, 5),
                (6, 5),
                (7, 5),
                (8, 8),
                (9, 7)
            ]
        );
        // The bytes are the frame's own.
        assert!(r.out.sent.iter().all(|&(_, f, b)| b == f as u8));
    }

    #[test]
    fn repeats_the_last_frame_and_sends_nothing_before_the_first() {
        let mut r = rig(false);
        let rec = r.pacer.tick(&mut r.out);
        assert_eq!((rec.kind, rec.frame_tick), (TickKind::Empty, None));
        assert!(r.out.sent.is_empty());
        r.tx.send(frame(1)).unwrap();
        let rec = r.pacer.tick(&mut r.out);
        assert_eq!(rec.kind, TickKind::New);
        for n in 2..6 {
            let rec = r.pacer.tick(&mut r.out);
            assert_eq!(
                (rec.kind, rec.frame_tick),
                (TickKind::Repeated, Some(1)),
                "{n}"
            );
        }
        assert_eq!(r.out.sent.len(), 5);
        let s = r.pacer.finish();
        assert_eq!((s.ticks, s.new, s.repeated, s.empty), (6, 1, 4, 1));
        assert_eq!(s.sends(), 5);
        // finish() gave the held frame back.
        assert_eq!(r.free.try_iter().count(), 1);
    }

    #[test]
    fn a_frame_for_a_later_tick_waits_for_it() {
        let mut r = rig(false);
        r.tx.send(frame(0)).unwrap();
        r.tx.send(frame(1)).unwrap();
        r.tx.send(frame(2)).unwrap();
        for n in 0..3 {
            let rec = r.pacer.tick(&mut r.out);
            assert_eq!(
                (rec.kind, rec.frame_tick, rec.dropped),
                (TickKind::New, Some(n), 0)
            );
        }
    }

    #[test]
    fn prime_waits_for_the_first_frame_and_starts_the_clock_then() {
        let mut r = rig(false);
        r.clock.advance(Duration::from_secs(2)); // start-up took 2 s
        r.tx.send(frame(0)).unwrap();
        assert!(r.pacer.prime(&AtomicBool::new(false)));
        let rec = r.pacer.tick(&mut r.out);
        assert_eq!(rec.deadline, Duration::from_secs(2));
        assert_eq!(rec.kind, TickKind::New);
        assert!(rec.lateness < Duration::from_micros(10));
        assert_eq!(
            r.pacer.deadline(60),
            Duration::from_secs(3),
            "one second after the start"
        );
    }

    #[test]
    fn lockstep_waits_for_every_ticks_own_frame() {
        let mut r = rig(true);
        let tx = r.tx.clone();
        let clock = r.clock.clone();
        // A render thread 3 periods slow per frame: lockstep still sends every frame once.
        let render = std::thread::spawn(move || {
            for n in 0..5 {
                clock.advance(Duration::from_nanos(PERIOD_NS * 3));
                tx.send(frame(n)).unwrap();
            }
        });
        let kinds: Vec<_> = (0..5).map(|_| r.pacer.tick(&mut r.out).kind).collect();
        render.join().unwrap();
        assert_eq!(kinds, vec![TickKind::New; 5]);
        let sent: Vec<u64> = r.out.sent.iter().map(|&(_, f, _)| f).collect();
        assert_eq!(sent, vec![0, 1, 2, 3, 4]);
        assert_eq!(r.pacer.stats().dropped, 0);
    }

    #[test]
    fn stats_percentiles_and_rate() {
        let mut r = rig(false);
        r.out.cost = Duration::from_micros(40);
        r.tx.send(frame(0)).unwrap();
        // 100 ticks; every 10th one is woken 2 ms late (a 3 ms oversleep minus the 1 ms
        // spin margin).
        for n in 0..100u64 {
            r.clock
                .set_oversleep(Duration::from_millis(if n % 10 == 5 { 3 } else { 0 }));
            r.pacer.tick(&mut r.out);
        }
        let s = r.pacer.finish();
        assert_eq!(s.ticks, 100);
        assert_eq!((s.new, s.repeated), (1, 99));
        // 90 ticks on time (< 10 µs late), 10 about 2 ms late.
        assert!(s.lateness.quantile(0.5) < Duration::from_micros(10));
        assert!(s.lateness.quantile(0.9) < Duration::from_micros(10));
        assert!(s.lateness.quantile(0.99) >= Duration::from_micros(1960));
        assert!(s.lateness.max() >= Duration::from_micros(1990));
        assert!(s.lateness.max() <= Duration::from_micros(2010));
        assert_eq!(s.send.quantile(0.5), Duration::from_micros(40));
        // 100 sends from tick 0's deadline to the end of tick 99's send.
        let rate = s.sends_per_second();
        assert!(
            (rate - 100.0 / (99.0 / 60.0 + 40e-6)).abs() < 0.01,
            "{rate}"
        );
    }

    use super::super::clock::FAKE_REALTIME_START;

    const SECOND: i64 = 1_000_000_000;

    /// A rig pacing from an epoch `before` ns before the fake real-time clock's start, with
    /// a frame for every tick from `first` on in the channel as it is needed.
    fn epoch_rig(before: i64) -> Rig {
        let mut r = rig(false);
        r.pacer.set_epoch(FAKE_REALTIME_START - before, 2);
        r
    }

    /// The real-time clock's reading minus tick `n`'s real time, in ns.
    fn off_grid(r: &Rig, n: u64) -> i64 {
        off_grid_from(r, 2_510_000_000, n)
    }

    /// [`off_grid`] for an epoch `before` ns before the start.
    fn off_grid_from(r: &Rig, before: i64, n: u64) -> i64 {
        let due = FAKE_REALTIME_START - before + (n as i64) * SECOND / i64::from(HZ);
        r.clock.realtime() - due
    }

    #[test]
    fn an_epoch_starts_at_the_tick_the_real_time_clock_says() {
        // The epoch was 2.51 s ago: tick 150 was due 1.67 ms ago, tick 151 is next.
        let mut r = epoch_rig(2_510_000_000);
        r.tx.send(frame(151)).unwrap();
        assert!(r.pacer.prime(&AtomicBool::new(false)));
        assert_eq!(r.pacer.next_tick(), 151);
        let rec = r.pacer.tick(&mut r.out);
        assert_eq!((rec.tick, rec.kind), (151, TickKind::New));
        // Due at epoch + 151/60 s on the real-time clock: 6.667 ms after the start.
        assert_eq!(
            rec.deadline,
            Duration::from_nanos(151 * SECOND as u64 / 60 - 2_510_000_000)
        );
        assert!(off_grid(&r, 151).abs() < 20_000, "{}", off_grid(&r, 151));
        assert_eq!(r.pacer.clock_steps(), Some(0));
    }

    /// Run ticks 151.. for `ticks` ticks, a frame each, stepping or slewing the real-time
    /// clock by `at(tick)` before some; returns the records.
    fn run_epoch(
        r: &mut Rig,
        ticks: usize,
        mut at: impl FnMut(u64, &FakeClock),
    ) -> Vec<TickRecord> {
        let mut records = Vec::new();
        for _ in 0..ticks {
            let n = r.pacer.next_tick();
            at(n, &r.clock);
            while r.free.try_recv().is_ok() {}
            let _ = r.tx.try_send(frame(r.pacer.next_tick()));
            records.push(r.pacer.tick(&mut r.out));
        }
        records
    }

    #[test]
    fn a_clock_step_forward_re_aligns_to_the_new_tick() {
        let mut r = epoch_rig(2_510_000_000);
        r.tx.send(frame(151)).unwrap();
        r.pacer.prime(&AtomicBool::new(false));
        let recs = run_epoch(&mut r, 100, |n, c| {
            if n == 200 {
                c.step_realtime(5 * SECOND);
            }
        });
        assert_eq!(r.pacer.clock_steps(), Some(1));
        // Ticks 151..=199, then 300 ticks (5 s) further: the tick due on the stepped clock.
        let ticks: Vec<u64> = recs.iter().map(|r| r.tick).collect();
        let jump = ticks.windows(2).position(|w| w[1] != w[0] + 1).unwrap();
        // (The step came right at tick 199's time, so tick 499 is due at once.)
        assert_eq!((ticks[jump], ticks[jump + 1]), (199, 499));
        // Every tick after it goes out on the real-time grid again.
        let last = *ticks.last().unwrap();
        assert!(off_grid(&r, last).abs() < 20_000, "{}", off_grid(&r, last));
    }

    #[test]
    fn a_clock_step_back_re_aligns_and_drops_frames_rendered_ahead() {
        // The epoch was 10.01 s ago: tick 601 is next.
        let before = 10_010_000_000;
        let mut r = epoch_rig(before);
        r.tx.send(frame(601)).unwrap();
        r.pacer.prime(&AtomicBool::new(false));
        let recs = run_epoch(&mut r, 60, |_, _| {});
        // Ticks 601..=660 went out; now the clock goes back 5 s while a frame rendered ahead
        // for tick 661 waits in the channel.
        assert_eq!(recs.last().unwrap().tick, 660);
        r.tx.send(frame(661)).unwrap();
        r.clock.step_realtime(-5 * SECOND);
        let rec = r.pacer.tick(&mut r.out);
        assert_eq!(r.pacer.clock_steps(), Some(1));
        // 300 ticks back (tick 660 went out at its time: tick 360 is due at once), and the
        // stale frame for tick 661 is not held for 5 s.
        assert_eq!(rec.tick, 360);
        assert_eq!(rec.dropped, 1);
        assert_eq!(rec.kind, TickKind::Repeated);
        r.tx.send(frame(361)).unwrap();
        let rec = r.pacer.tick(&mut r.out);
        assert_eq!((rec.tick, rec.kind), (361, TickKind::New));
        let off = off_grid_from(&r, before, 361);
        assert!(off.abs() < 20_000, "{off}");
    }

    #[test]
    fn a_slewing_clock_moves_the_deadlines_without_a_re_align() {
        let mut r = epoch_rig(2_510_000_000);
        r.tx.send(frame(151)).unwrap();
        r.pacer.prime(&AtomicBool::new(false));
        // chrony slewing 100 ppm fast for 100 s (6000 ticks): 10 ms in all, more than half
        // a tick period, but never a step.
        r.clock.set_slew_ppm(100);
        let recs = run_epoch(&mut r, 6000, |_, _| {});
        assert_eq!(r.pacer.clock_steps(), Some(0));
        assert!(recs.windows(2).all(|w| w[1].tick == w[0].tick + 1));
        // The ticks follow the real-time clock: the last one goes out on its real time,
        // not 10 ms off as the monotonic clock alone would put it.
        let last = recs.last().unwrap().tick;
        assert!(off_grid(&r, last).abs() < 20_000, "{}", off_grid(&r, last));
        let mono_only = Duration::from_nanos((last - 151) * SECOND as u64 / 60);
        let drift = mono_only.saturating_sub(recs.last().unwrap().deadline - recs[0].deadline);
        assert!(drift > Duration::from_millis(9), "{drift:?}");
    }

    #[test]
    fn before_the_epoch_the_wall_is_held_dark_then_tick_0_is_on_time() {
        // The epoch is 0.5 s ahead.
        let mut r = epoch_rig(-SECOND / 2);
        r.tx.send(frame(0)).unwrap();
        assert!(r.pacer.prime(&AtomicBool::new(false)));
        assert_eq!(r.pacer.next_tick(), 0);
        let mut dark = frame(0);
        dark.ports[0].bytes.fill(0xee);
        let sent = r
            .pacer
            .hold_dark_until_due(&mut r.out, &dark, &AtomicBool::new(false));
        // A dark frame every period until less than a period before the epoch.
        assert_eq!(sent, 30);
        assert!(r.out.sent.iter().all(|&(_, _, b)| b == 0xee));
        let rec = r.pacer.tick(&mut r.out);
        assert_eq!((rec.tick, rec.kind), (0, TickKind::New));
        assert_eq!(rec.deadline, Duration::from_millis(500));
        assert_eq!(r.pacer.stats().ticks, 1, "the dark frames are not ticks");
    }
}
