//! What a running engine shows the control API (design §13), written lock-free by the
//! output and render threads and read by anyone.
//!
//! * The **output thread** counts ticks and their kinds, records each tick's lateness into
//!   a ring covering the last 10 s (for the status's percentiles) and a fixed-bucket
//!   histogram (for `/metrics`), copies each sink's counters into atomics, and serves
//!   [`Snapshot`] requests: a buffer handed in through a channel is filled with the frame
//!   last sent and handed back. All of it is relaxed atomic stores and `try_` channel
//!   operations: nothing it does waits for a reader, nothing allocates.
//! * The **render thread** publishes the item on screen and the brightness in atomics, and
//!   the playlist as a [`ProgramInfo`] behind an [`ArcSwap`] (swapped only when the playlist
//!   changes, the one time it allocates).

use arc_swap::ArcSwap;
use crossbeam_channel::{Receiver, Sender, bounded};
use ledwall_render::{Geometry, WallFrame};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Upper bounds (µs) of the lateness histogram's buckets (`/metrics`); +Inf follows.
pub const LATENESS_BOUNDS_US: [u64; 12] = [
    10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 100_000,
];
/// Upper bounds (µs) of the render-time histogram's buckets; +Inf follows.
pub const RENDER_BOUNDS_US: [u64; 12] = [
    250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 33_000, 66_000, 125_000, 250_000, 1_000_000,
];
/// Seconds of lateness the status's percentiles cover.
pub const LATENESS_WINDOW_S: u32 = 10;

/// A Prometheus-style histogram of durations with fixed buckets, recorded with relaxed
/// atomic adds (no lock, no allocation).
#[derive(Debug)]
pub struct AtomicHistogram {
    bounds: &'static [u64],
    /// Non-cumulative counts per bucket; the last is +Inf.
    counts: Box<[AtomicU64]>,
    sum_ns: AtomicU64,
}

impl AtomicHistogram {
    /// Buckets with the upper bounds `bounds` (µs, increasing) and +Inf.
    pub fn new(bounds: &'static [u64]) -> AtomicHistogram {
        AtomicHistogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_ns: AtomicU64::new(0),
        }
    }

    /// Count one duration.
    pub fn record(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let i = self.bounds.partition_point(|&b| b < us);
        if let Some(c) = self.counts.get(i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// The bucket bounds (µs).
    pub fn bounds(&self) -> &'static [u64] {
        self.bounds
    }

    /// Cumulative counts per bound, then the total (+Inf), and the sum in seconds.
    pub fn cumulative(&self) -> (Vec<u64>, f64) {
        let mut acc = 0;
        let counts = self
            .counts
            .iter()
            .map(|c| {
                acc += c.load(Ordering::Relaxed);
                acc
            })
            .collect();
        (counts, self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9)
    }
}

/// A sink's counters as the output thread last copied them.
#[derive(Debug)]
pub struct SinkCounters {
    /// The wall ports that go to it, joined with `+`.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// Ticks that sent data.
    pub frames: AtomicU64,
    /// Port bytes handed to it.
    pub bytes: AtomicU64,
    /// Datagrams / files / frames written.
    pub packets: AtomicU64,
    /// Failed sends and writes.
    pub errors: AtomicU64,
    /// Whether it is still waiting to open (a host that does not resolve yet, an
    /// interface not there yet), retried in the background.
    pub waiting: std::sync::atomic::AtomicBool,
}

/// The wall as the status object names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WallInfo {
    /// Its name.
    pub name: String,
    /// Canvas width.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// Refresh rate.
    pub refresh_hz: u32,
}

/// The wall playing: replaced when a changed wall file takes over (a new geometry or new
/// sinks, at an item boundary).
#[derive(Debug)]
pub struct Shape {
    /// The wall.
    pub wall: WallInfo,
    /// Its compiled geometry (for emulated previews).
    pub geometry: Arc<Geometry>,
    /// Per sink, in the order of [`crate::sinks::SinkSet::sinks`].
    pub sinks: Vec<SinkCounters>,
    /// How media are opened for this wall (the control API probes playlists with them).
    pub open: crate::media::OpenOptions,
}

impl Shape {
    /// A shape with zeroed sink counters, one per `(name, url)`.
    pub fn new(
        wall: WallInfo,
        geometry: Arc<Geometry>,
        sinks: Vec<(String, String)>,
        open: crate::media::OpenOptions,
    ) -> Shape {
        Shape {
            wall,
            geometry,
            open,
            sinks: sinks
                .into_iter()
                .map(|(name, url)| SinkCounters {
                    name,
                    url,
                    frames: AtomicU64::new(0),
                    bytes: AtomicU64::new(0),
                    packets: AtomicU64::new(0),
                    errors: AtomicU64::new(0),
                    waiting: std::sync::atomic::AtomicBool::new(false),
                })
                .collect(),
        }
    }
}

/// One playlist item as the control API lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemInfo {
    /// `source` as written in the playlist.
    pub source: String,
    /// Start in seconds from the start of a pass (playable items only).
    pub start_s: Option<f64>,
    /// Length in seconds (playable items only; `None` also for a live item without a
    /// duration, which plays until the schedule changes).
    pub duration_s: Option<f64>,
    /// `"cut"` or `"crossfade"`.
    pub transition: &'static str,
}

/// The playlist playing, published by the render thread when it changes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProgramInfo {
    /// Counts changes (switch, reload, schedule).
    pub revision: u64,
    /// The playlist's name.
    pub name: String,
    /// The file of the show playing.
    pub path: String,
    /// Its items.
    pub items: Vec<ItemInfo>,
    /// Seconds in one pass (`None` when a live item without a duration never ends it).
    pub cycle_s: Option<f64>,
    /// Whether it loops.
    pub looped: bool,
    /// The test pattern shown over it (`pattern:bars`), if any.
    pub pattern: Option<String>,
}

/// Who set the brightness level in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LevelSource {
    /// Nothing: the wall's own `[color] brightness` (level 1).
    Wall = 0,
    /// The playlist's brightness schedule.
    Schedule = 1,
    /// The control API, until the next scheduled change.
    Api = 2,
}

impl LevelSource {
    /// Its name in the status object.
    pub fn name(self) -> &'static str {
        match self {
            LevelSource::Wall => "wall",
            LevelSource::Schedule => "schedule",
            LevelSource::Api => "api",
        }
    }

    fn from_u8(v: u8) -> LevelSource {
        match v {
            1 => LevelSource::Schedule,
            2 => LevelSource::Api,
            _ => LevelSource::Wall,
        }
    }
}

/// The frame-snapshot hand-over: buffers go in empty, come back with the frame last sent.
#[derive(Debug)]
pub struct Snapshot {
    /// Requests (an empty buffer shaped for the wall); the output thread takes them.
    pub request: Sender<WallFrame>,
    pub(crate) requests: Receiver<WallFrame>,
    pub(crate) done: Sender<WallFrame>,
    /// Filled buffers; `frame_number` is the tick the frame was rendered for.
    pub replies: Receiver<WallFrame>,
}

impl Default for Snapshot {
    fn default() -> Snapshot {
        let (request, requests) = bounded(1);
        let (done, replies) = bounded(1);
        Snapshot {
            request,
            requests,
            done,
            replies,
        }
    }
}

/// The counters and the published program of one engine run.
#[derive(Debug)]
pub struct Telemetry {
    /// When it was made (the status's `uptime_s`).
    pub started: Instant,
    /// Ticks sent.
    pub ticks: AtomicU64,
    /// Ticks that sent a frame rendered for them.
    pub new: AtomicU64,
    /// Ticks that sent a newer frame rendered for an earlier tick.
    pub late: AtomicU64,
    /// Ticks that repeated the last frame.
    pub repeated: AtomicU64,
    /// Frames replaced by newer ones before they were sent.
    pub dropped: AtomicU64,
    /// Lateness of the last ticks (µs, saturating), a ring indexed by tick.
    lateness_ring: Box<[AtomicU32]>,
    /// Lateness of every tick.
    pub lateness: AtomicHistogram,
    /// Render time of every rendered frame.
    pub render: AtomicHistogram,
    /// Renders that failed or panicked.
    pub render_errors: AtomicU64,
    /// The wall, its geometry and its sinks' counters.
    pub shape: ArcSwap<Shape>,
    /// Playlist index of the item on screen; `u64::MAX`: none.
    pub item: AtomicU64,
    /// Ticks into it.
    pub item_tick: AtomicU64,
    /// Its length in ticks.
    pub item_ticks: AtomicU64,
    /// The item after it; `u64::MAX`: none.
    pub next: AtomicU64,
    /// The tick the test pattern shown ends at (0: none).
    pub pattern_until: AtomicU64,
    /// The brightness level in force (f32 bits; the multiplier of the wall's brightness,
    /// before a blackout).
    pub level: AtomicU32,
    /// The level a fade moves to (f32 bits).
    pub level_target: AtomicU32,
    /// [`LevelSource`] of the level.
    pub level_source: AtomicU8,
    /// The multiplier sent to the renderer: level × the blackout fade (f32 bits).
    pub effective: AtomicU32,
    /// Blackout asked for.
    pub blackout: AtomicBool,
    /// System clock steps re-aligned to when playing from an epoch (design §10);
    /// `u64::MAX`: no epoch.
    pub clock_steps: AtomicU64,
    /// The playlist playing.
    pub program: ArcSwap<ProgramInfo>,
    /// Frame snapshots for `preview.png`.
    pub snapshot: Snapshot,
    /// The FPP MultiSync remote following a master (the status's `multisync`), when set.
    pub multisync: std::sync::OnceLock<Arc<super::remote::RemoteSync>>,
}

impl Telemetry {
    /// Counters for `shape` (its refresh rate sizes the lateness window).
    pub fn new(shape: Shape) -> Telemetry {
        let ring = (shape.wall.refresh_hz.clamp(1, 1000) * LATENESS_WINDOW_S) as usize;
        Telemetry {
            started: Instant::now(),
            ticks: AtomicU64::new(0),
            new: AtomicU64::new(0),
            late: AtomicU64::new(0),
            repeated: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            lateness_ring: (0..ring).map(|_| AtomicU32::new(0)).collect(),
            lateness: AtomicHistogram::new(&LATENESS_BOUNDS_US),
            render: AtomicHistogram::new(&RENDER_BOUNDS_US),
            render_errors: AtomicU64::new(0),
            shape: ArcSwap::from_pointee(shape),
            item: AtomicU64::new(u64::MAX),
            item_tick: AtomicU64::new(0),
            item_ticks: AtomicU64::new(0),
            next: AtomicU64::new(u64::MAX),
            pattern_until: AtomicU64::new(0),
            level: AtomicU32::new(1f32.to_bits()),
            level_target: AtomicU32::new(1f32.to_bits()),
            level_source: AtomicU8::new(LevelSource::Wall as u8),
            effective: AtomicU32::new(1f32.to_bits()),
            blackout: AtomicBool::new(false),
            clock_steps: AtomicU64::new(u64::MAX),
            program: ArcSwap::from_pointee(ProgramInfo::default()),
            snapshot: Snapshot::default(),
            multisync: std::sync::OnceLock::new(),
        }
    }

    /// Output thread: count one tick.
    pub fn record_tick(&self, r: &super::stats::TickRecord) {
        use super::stats::TickKind;
        let counter = match r.kind {
            TickKind::New => Some(&self.new),
            TickKind::Late => Some(&self.late),
            TickKind::Repeated => Some(&self.repeated),
            TickKind::Empty => None,
        };
        if let Some(c) = counter {
            c.fetch_add(1, Ordering::Relaxed);
        }
        if r.dropped > 0 {
            self.dropped
                .fetch_add(u64::from(r.dropped), Ordering::Relaxed);
        }
        self.lateness.record(r.lateness);
        let us = u32::try_from(r.lateness.as_micros()).unwrap_or(u32::MAX);
        let len = self.lateness_ring.len() as u64;
        if let Some(slot) = self.lateness_ring.get((r.tick % len.max(1)) as usize) {
            slot.store(us, Ordering::Relaxed);
        }
        self.ticks.fetch_add(1, Ordering::Relaxed);
    }

    /// Output thread: serve a pending snapshot request with `last` (the frame last sent).
    pub fn serve_snapshot(&self, last: Option<&WallFrame>) {
        let Some(last) = last else { return };
        if let Ok(mut buf) = self.snapshot.requests.try_recv() {
            if buf.ports.len() == last.ports.len()
                && buf
                    .ports
                    .iter()
                    .zip(&last.ports)
                    .all(|(a, b)| a.bytes.len() == b.bytes.len())
            {
                for (a, b) in buf.ports.iter_mut().zip(&last.ports) {
                    a.bytes.copy_from_slice(&b.bytes);
                }
                buf.frame_number = last.frame_number;
            }
            // The reply slot is empty: the requester takes each reply before asking again.
            let _ = self.snapshot.done.try_send(buf);
        }
    }

    /// Lateness of the ticks of the last [`LATENESS_WINDOW_S`] seconds, in µs, sorted.
    pub fn recent_lateness(&self) -> Vec<u32> {
        let n = (self.ticks.load(Ordering::Relaxed) as usize).min(self.lateness_ring.len());
        let mut v: Vec<u32> = self.lateness_ring[..]
            .iter()
            .map(|a| a.load(Ordering::Relaxed))
            .collect();
        // Before the ring is full, the slots not written yet are the ones after the ticks
        // sent (ticks start at 0).
        v.truncate(n);
        v.sort_unstable();
        v
    }

    /// Render thread: publish the brightness.
    pub fn publish_level(&self, level: f32, target: f32, source: LevelSource, effective: f32) {
        self.level.store(level.to_bits(), Ordering::Relaxed);
        self.level_target.store(target.to_bits(), Ordering::Relaxed);
        self.level_source.store(source as u8, Ordering::Relaxed);
        self.effective.store(effective.to_bits(), Ordering::Relaxed);
    }

    /// The brightness as published: (level, target, source, effective).
    pub fn level(&self) -> (f32, f32, LevelSource, f32) {
        (
            f32::from_bits(self.level.load(Ordering::Relaxed)),
            f32::from_bits(self.level_target.load(Ordering::Relaxed)),
            LevelSource::from_u8(self.level_source.load(Ordering::Relaxed)),
            f32::from_bits(self.effective.load(Ordering::Relaxed)),
        )
    }
}

/// The value at `q` (0..1) of sorted values (nearest rank); 0 when empty.
pub fn quantile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_inclusive() {
        let h = AtomicHistogram::new(&LATENESS_BOUNDS_US);
        h.record(Duration::from_micros(10));
        h.record(Duration::from_micros(11));
        h.record(Duration::from_secs(1));
        let (c, sum) = h.cumulative();
        assert_eq!(c[0], 1, "10 µs is in the le=10 bucket");
        assert_eq!(c[1], 2);
        assert_eq!(*c.last().unwrap(), 3);
        assert_eq!(c.len(), LATENESS_BOUNDS_US.len() + 1);
        assert!((sum - 1.000021).abs() < 1e-9, "{sum}");
    }

    #[test]
    fn quantiles_use_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(quantile(&v, 0.5), 50);
        assert_eq!(quantile(&v, 0.99), 99);
        assert_eq!(quantile(&v, 1.0), 100);
        assert_eq!(quantile(&[], 0.5), 0);
    }
}
