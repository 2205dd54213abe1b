//! Per-tick records and the run's statistics (design §8): lateness percentiles, frames new,
//! late, repeated and dropped, queue depth, send time, sends per second.
//!
//! Everything is counted in fixed-size structures allocated once, so recording a tick
//! allocates nothing: durations go into a [`Histogram`] with log-spaced buckets (exact
//! below 128 µs, within 1/64 above) plus an exact maximum.

use serde::Serialize;
use std::time::Duration;

/// What was sent at one tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TickKind {
    /// A frame rendered for this very tick.
    New,
    /// A newer frame than the last one sent, rendered for an earlier tick (it came late).
    Late,
    /// No newer frame was ready: the last one was sent again.
    Repeated,
    /// Nothing has been rendered yet: nothing was sent.
    Empty,
}

impl TickKind {
    /// Its name in statistics files.
    pub fn name(self) -> &'static str {
        match self {
            TickKind::New => "new",
            TickKind::Late => "late",
            TickKind::Repeated => "repeated",
            TickKind::Empty => "empty",
        }
    }
}

/// One tick of the output thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickRecord {
    /// The display tick.
    pub tick: u64,
    /// When it was due, on the pacer's clock.
    pub deadline: Duration,
    /// How long after the deadline sending started (actual − deadline).
    pub lateness: Duration,
    /// New, late, repeated or empty.
    pub kind: TickKind,
    /// The display tick the sent frame was rendered for (`None`: nothing sent).
    pub frame_tick: Option<u64>,
    /// Ready frames replaced by a newer one at this tick, never sent.
    pub dropped: u32,
    /// Frames waiting in the channel when the tick began (before taking the newest).
    pub queue: u32,
    /// Time spent in the sinks (every port, then every sync).
    pub send: Duration,
}

/// Sub-buckets per power of two above the exact range.
const SUB: u64 = 64;
/// Values below this (µs) have a bucket each.
const EXACT: u64 = 128;
/// Buckets: the exact range, then 64 per power of two up to 2^64 µs.
const BUCKETS: usize = (EXACT + (64 - 7) * SUB) as usize;

/// A histogram of durations in microseconds: exact below 128 µs, log-spaced above (each
/// bucket 1/64 of its power of two wide), with the exact maximum and sum kept aside.
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64]>,
    n: u64,
    max: Duration,
    sum: Duration,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("n", &self.n)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

fn bucket(us: u64) -> usize {
    if us < EXACT {
        return us as usize;
    }
    let e = 63 - u64::from(us.leading_zeros()); // >= 7
    let sub = (us >> (e - 6)) & (SUB - 1);
    (EXACT + (e - 7) * SUB + sub) as usize
}

/// The smallest value (µs) of bucket `i`.
fn bucket_floor(i: usize) -> u64 {
    let i = i as u64;
    if i < EXACT {
        return i;
    }
    let e = (i - EXACT) / SUB + 7;
    let sub = (i - EXACT) % SUB;
    (SUB + sub) << (e - 6)
}

impl Histogram {
    /// An empty histogram (one allocation, here).
    pub fn new() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            n: 0,
            max: Duration::ZERO,
            sum: Duration::ZERO,
        }
    }

    /// Count one value.
    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        if let Some(c) = self.counts.get_mut(bucket(us)) {
            *c += 1;
        }
        self.n += 1;
        self.max = self.max.max(d);
        self.sum = self.sum.saturating_add(d);
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// The largest value, exactly.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The mean.
    pub fn mean(&self) -> Duration {
        match u32::try_from(self.n) {
            Ok(0) => Duration::ZERO,
            Ok(n) => self.sum / n,
            Err(_) => Duration::from_secs_f64(self.sum.as_secs_f64() / self.n as f64),
        }
    }

    /// The `q`-quantile (0..=1) by the nearest-rank method: the value of rank ⌈q·n⌉; exact
    /// below 128 µs, the floor of its bucket above (at most 1/64 low), never above the
    /// maximum. Zero when empty.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.n == 0 {
            return Duration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.n as f64).ceil() as u64).clamp(1, self.n);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Duration::from_micros(bucket_floor(i)).min(self.max);
            }
        }
        self.max
    }

    /// The non-empty buckets as (upper bound in µs, exclusive; count), in order (plots).
    pub fn buckets_us(&self) -> Vec<(f64, u64)> {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, &c)| (bucket_floor(i + 1) as f64, c))
            .collect()
    }

    /// p50, p99, max and mean in microseconds.
    pub fn summary(&self) -> Percentiles {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        Percentiles {
            p50_us: us(self.quantile(0.5)),
            p99_us: us(self.quantile(0.99)),
            max_us: us(self.max),
            mean_us: us(self.mean()),
        }
    }
}

/// A duration distribution in a summary.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Maximum (exact).
    pub max_us: f64,
    /// Mean (exact).
    pub mean_us: f64,
}

/// What the output thread counted.
#[derive(Debug, Clone, Default)]
pub struct PacerStats {
    /// Ticks run.
    pub ticks: u64,
    /// Ticks that sent a frame rendered for them.
    pub new: u64,
    /// Ticks that sent a newer frame rendered for an earlier tick.
    pub late: u64,
    /// Ticks that sent the last frame again.
    pub repeated: u64,
    /// Ticks with nothing to send (before the first frame).
    pub empty: u64,
    /// Frames replaced by a newer one before they were sent.
    pub dropped: u64,
    /// The deepest queue seen at the start of a tick.
    pub queue_max: u32,
    /// Lateness of each tick (actual − deadline).
    pub lateness: Histogram,
    /// Time in the sinks per tick that sent.
    pub send: Histogram,
    /// Pacer-clock time of the first deadline and of the end of the last tick.
    pub span: (Duration, Duration),
    /// Steps of the system clock the pacer re-aligned to (design §10); `None` without an
    /// epoch.
    pub clock_steps: Option<u64>,
}

impl PacerStats {
    /// Count one tick.
    pub fn record(&mut self, r: &TickRecord) {
        self.ticks += 1;
        match r.kind {
            TickKind::New => self.new += 1,
            TickKind::Late => self.late += 1,
            TickKind::Repeated => self.repeated += 1,
            TickKind::Empty => self.empty += 1,
        }
        self.dropped += u64::from(r.dropped);
        self.queue_max = self.queue_max.max(r.queue);
        self.lateness.record(r.lateness);
        if r.kind != TickKind::Empty {
            self.send.record(r.send);
        }
    }

    /// Ticks that sent something.
    pub fn sends(&self) -> u64 {
        self.new + self.late + self.repeated
    }

    /// Sends per second of pacer-clock time from the first deadline to the end of the last
    /// tick (0 when no time passed).
    pub fn sends_per_second(&self) -> f64 {
        let secs = self.span.1.saturating_sub(self.span.0).as_secs_f64();
        if secs > 0.0 {
            self.sends() as f64 / secs
        } else {
            0.0
        }
    }
}

/// What the render thread counted.
#[derive(Debug, Clone, Default)]
pub struct RenderStats {
    /// Frames rendered and handed to the output thread.
    pub frames: u64,
    /// Ticks not rendered because the scene was a still identical to the last one (the
    /// pacer repeats it).
    pub unchanged: u64,
    /// Ticks not rendered because the item on screen was still opening (on a thread of
    /// its own) with nothing of its own to show: the pacer repeated the last frame instead
    /// of flashing the background.
    pub held: u64,
    /// Ticks skipped because the render thread was behind the output.
    pub behind: u64,
    /// Renders that failed with an error (the output repeats the last frame).
    pub errors: u64,
    /// Renders that panicked, caught (the output repeats the last frame).
    pub panics: u64,
    /// Time per rendered frame: the timeline, decoding and `render_into`.
    pub render: Histogram,
}

/// The summary `ledwall play` prints and `--stats FILE` writes.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The wall's name.
    pub wall: String,
    /// Its refresh rate.
    pub refresh_hz: u32,
    /// The backend that rendered and why.
    pub backend: String,
    /// Ticks run.
    pub ticks: u64,
    /// Seconds from the first deadline to the end of the last tick.
    pub seconds: f64,
    /// Frames by what happened to them.
    pub frames: FrameCounts,
    /// Lateness of the ticks (actual − deadline).
    pub lateness: Percentiles,
    /// Time in the sinks per tick.
    pub send: Percentiles,
    /// Time per rendered frame on the render thread.
    pub render: Percentiles,
    /// The deepest frame queue seen at a tick.
    pub queue_max: u32,
    /// Send errors counted by all sinks.
    pub send_errors: u64,
    /// Ticks that sent a frame, per second.
    pub sends_per_second: f64,
    /// Every sink's counters.
    pub sinks: Vec<SinkSummary>,
    /// Whether a stop request (Ctrl-C, SIGTERM) ended the run.
    pub stopped: bool,
    /// Steps of the system clock re-aligned to, when playing from an epoch (`--epoch`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_steps: Option<u64>,
    /// Media faults met and handled (frames not decoded in time, stalled or crashed ffmpeg
    /// restarted, videos that ended early, files that did not open and those that came
    /// back), when the caller counted them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<crate::media::MediaFaultCounts>,
}

/// Frame counters of a [`Summary`].
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FrameCounts {
    /// Sent at the tick they were rendered for.
    pub new: u64,
    /// Sent at a later tick than they were rendered for.
    pub late: u64,
    /// Ticks that repeated the last frame.
    pub repeated: u64,
    /// Rendered, then replaced by a newer frame before being sent.
    pub dropped: u64,
    /// Ticks with nothing to send yet.
    pub empty: u64,
    /// Ticks not rendered because a still did not change.
    pub unchanged: u64,
    /// Renders that failed or panicked.
    pub render_errors: u64,
}

/// One sink in a [`Summary`].
#[derive(Debug, Clone, Serialize)]
pub struct SinkSummary {
    /// Its URL.
    pub url: String,
    /// Ticks that sent data.
    pub frames: u64,
    /// Bytes handed to it.
    pub bytes: u64,
    /// Datagrams, files or frames written.
    pub packets: u64,
    /// Errors.
    pub errors: u64,
    /// Why the sink has not opened yet (a host that does not resolve, an interface that is
    /// not there): it is retried in the background. Absent once it is open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting: Option<String>,
}

impl Summary {
    /// Human-readable lines (what `ledwall play` prints at the end).
    pub fn text(&self) -> String {
        let mut s = format!(
            "played {} ticks in {:.2} s on {} ({} Hz, {})\n",
            self.ticks, self.seconds, self.wall, self.refresh_hz, self.backend
        );
        let f = &self.frames;
        s.push_str(&format!(
            "frames: {} new, {} late, {} repeated, {} dropped, {} unchanged stills, {} render errors\n",
            f.new, f.late, f.repeated, f.dropped, f.unchanged, f.render_errors
        ));
        let l = &self.lateness;
        s.push_str(&format!(
            "lateness: p50 {:.0} us, p99 {:.0} us, max {:.0} us\n",
            l.p50_us, l.p99_us, l.max_us
        ));
        s.push_str(&format!(
            "render: p50 {:.2} ms, p99 {:.2} ms; send: p50 {:.0} us, p99 {:.0} us; queue max {}\n",
            self.render.p50_us / 1e3,
            self.render.p99_us / 1e3,
            self.send.p50_us,
            self.send.p99_us,
            self.queue_max
        ));
        s.push_str(&format!(
            "sends: {:.2}/s, {} send errors\n",
            self.sends_per_second, self.send_errors
        ));
        if let Some(n) = self.clock_steps {
            s.push_str(&format!(
                "clock: ticks from the epoch, {n} system clock step(s) re-aligned\n"
            ));
        }
        if let Some(m) = &self.media {
            s.push_str(&format!(
                "media: {} late frames, {} stalls, {} crashes, {} restarts, {} early ends, {} failed opens, {} recovered\n",
                m.late, m.stalls, m.crashes, m.restarts, m.early_ends, m.failed_opens, m.recovered
            ));
            if m.video_shown + m.video_skipped > 0 {
                s.push_str(&format!(
                    "video: {} frames shown, {} skipped (decoded too late for their tick)\n",
                    m.video_shown, m.video_skipped
                ));
            }
            if m.live_stalls + m.live_reconnects + m.live_recoveries + m.live_dropped > 0 {
                s.push_str(&format!(
                    "live: {} stalls, {} reconnects, {} recoveries, {} stale frames dropped\n",
                    m.live_stalls, m.live_reconnects, m.live_recoveries, m.live_dropped
                ));
            }
        }
        for k in &self.sinks {
            s.push_str(&format!(
                "  {}: {} frames, {} bytes, {} packets, {} errors",
                k.url, k.frames, k.bytes, k.packets, k.errors
            ));
            if let Some(w) = &k.waiting {
                s.push_str(&format!(" (not open yet: {w})"));
            }
            s.push('\n');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_exact_below_128_us_and_within_1_64_above() {
        for us in 0..EXACT {
            assert_eq!(bucket_floor(bucket(us)), us);
        }
        for us in [128, 129, 1000, 4999, 16_667, 1 << 20, u64::MAX / 3] {
            let floor = bucket_floor(bucket(us));
            assert!(floor <= us && us - floor <= us / 64, "{us} -> {floor}");
            assert!(bucket(us) < BUCKETS);
        }
        assert!(bucket(u64::MAX) < BUCKETS);
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let mut h = Histogram::new();
        for us in 1..=100 {
            h.record(Duration::from_micros(us));
        }
        assert_eq!(h.quantile(0.5), Duration::from_micros(50));
        assert_eq!(h.quantile(0.99), Duration::from_micros(99));
        assert_eq!(h.quantile(1.0), Duration::from_micros(100));
        assert_eq!(h.max(), Duration::from_micros(100));
        assert_eq!(h.count(), 100);
        // One huge outlier moves the maximum, not the median.
        h.record(Duration::from_millis(250));
        assert_eq!(h.quantile(0.5), Duration::from_micros(51));
        assert_eq!(h.max(), Duration::from_millis(250));
        assert_eq!(Histogram::new().quantile(0.5), Duration::ZERO);
    }
}
