//! The playback engine (design §1, §8): a render thread and an output thread joined by two
//! bounded lock-free channels.
//!
//! ```text
//!  render thread (inside the renderer's pool)        output thread (the caller's)
//!   Program::tick(n) → Scene                          Pacer: wait for tick n's deadline,
//!   render_into(free buffer) ──── frames (bounded) ──►  take the newest ready frame,
//!                           ◄──── free buffers ───────  send it (or repeat the last),
//!                                                      give replaced buffers back
//! ```
//!
//! * **Buffers**: [`POOL_EXTRA`] + `lead` [`WallFrame`]s are allocated at start and only
//!   move between the two channels, the render thread and the pacer's `last` slot, so the
//!   steady state allocates nothing (`tests/engine_alloc.rs`).
//! * **Render thread**: renders display tick `n` for the timeline's scene at `n`, at most
//!   `lead` ticks ahead of the output. When it falls behind, it skips to the tick the output
//!   needs next (late frames are useless). When every layer of the scene is the same still as
//!   last time and the wall's dither is not temporal, it renders nothing and the pacer
//!   repeats the last frame (design §1). A render that fails or panics is logged (at most
//!   once a second) and counted; the output keeps repeating the last good frame.
//! * **Output thread**: the [`Pacer`] (design §8). The run starts when the first frame is
//!   ready, so start-up is not counted as lateness.
//! * **Stop**: [`Control::stop`] (Ctrl-C, SIGTERM) or the tick limit ends the run between
//!   two ticks; the render thread is stopped and joined, the sinks are flushed.
//!
//! The playlist file is checked for changes (hot reload) and the local time for the
//! schedule is read once every `poll_every` ticks; those checks read the files and allocate.

pub mod clock;
pub mod pacer;
pub mod priority;
pub mod stats;

use crate::reload::Program;
use crate::sinks::SinkSet;
use clock::Clock;
use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError, bounded};
use jiff::SignedDuration;
use jiff::civil::DateTime;
use ledwall_render::backend::RenderFrame;
use ledwall_render::frame::MAX_LAYERS;
use ledwall_render::wall::Dither;
use ledwall_render::{AnyRenderer, Filter, Fit, Geometry, Scene, WallFrame};
use pacer::{Output, Pacer, PacerOptions};
use stats::{FrameCounts, PacerStats, RenderStats, SinkSummary, Summary, TickKind, TickRecord};
use std::fmt::Write as _;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// Buffers in the pool besides the `lead` frames in flight: the one the output holds (its
/// last frame) and the one being rendered.
pub const POOL_EXTRA: usize = 2;

/// Engine settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOptions {
    /// Display ticks per second (the wall's `refresh_hz`).
    pub hz: u32,
    /// Stop after this many ticks (`--for`); `None`: until stopped.
    pub ticks: Option<u64>,
    /// Most ticks the render thread renders ahead of the output (at least 1).
    pub lead: u64,
    /// Hot-reload check and local-time refresh every this many ticks; `None`: never (the
    /// local time then advances with the ticks from the start).
    pub poll_every: Option<u64>,
    /// The wall's dither is temporal: every tick differs, so stills are never skipped.
    pub temporal_dither: bool,
    /// See [`PacerOptions::lockstep`]; also renders every tick (never skips one).
    pub lockstep: bool,
    /// See [`PacerOptions::spin`].
    pub spin: Duration,
}

impl EngineOptions {
    /// Real-time playback at `hz`, 2 ticks of lead, polling once a second.
    pub fn new(hz: u32) -> EngineOptions {
        let hz = hz.max(1);
        EngineOptions {
            hz,
            ticks: None,
            lead: 2,
            poll_every: Some(u64::from(hz)),
            temporal_dither: true,
            lockstep: false,
            spin: PacerOptions::new(hz).spin,
        }
    }

    /// For a wall: its refresh rate and whether its dither is temporal.
    pub fn for_wall(wall: &ledwall_render::Wall) -> EngineOptions {
        EngineOptions {
            temporal_dither: wall.color.dither == Dither::OrderedTemporal,
            ..EngineOptions::new(wall.refresh_hz)
        }
    }

    fn period(&self) -> Duration {
        Duration::from_nanos(1_000_000_000 / u64::from(self.hz.max(1)))
    }
}

/// What the running engine shows the outside (the terminal view), updated lock-free by the
/// output thread and, on item changes only, by the render thread.
#[derive(Debug, Default)]
pub struct LiveStatus {
    /// The next tick the output sends.
    pub tick: AtomicU64,
    /// Ticks that sent a new (or late) frame so far.
    pub new_frames: AtomicU64,
    /// Worst lateness (ns) since someone last took it with `swap(0)`.
    pub lateness_max_ns: AtomicU64,
    /// Ticks into the item on screen.
    pub item_tick: AtomicU64,
    /// The item on screen: `3/11 media/clip.mp4` (written only when it changes).
    pub item: Mutex<String>,
}

/// How the caller steers a run and watches it.
#[derive(Debug, Clone, Default)]
pub struct Control {
    /// Set it to end the run after the current tick (signal handlers do).
    pub stop: Arc<AtomicBool>,
    /// Live counters.
    pub status: Arc<LiveStatus>,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The render thread could not be started.
    #[error("cannot start the render thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// The render thread ended before rendering a first frame.
    #[error("the render thread ended before its first frame")]
    NoFirstFrame,
}

/// What a run counted.
#[derive(Debug, Clone)]
pub struct Report {
    /// The output thread.
    pub pacer: PacerStats,
    /// The render thread.
    pub render: RenderStats,
    /// Whether the run ended because [`Control::stop`] was set.
    pub stopped: bool,
}

impl Report {
    /// The summary `ledwall play` prints, with the sinks' counters.
    pub fn summary(&self, wall: &str, hz: u32, backend: &str, sinks: &SinkSet) -> Summary {
        let p = &self.pacer;
        let sinks: Vec<SinkSummary> = sinks
            .stats()
            .into_iter()
            .map(|(url, s)| SinkSummary {
                url,
                frames: s.frames,
                bytes: s.bytes,
                packets: s.packets,
                errors: s.errors,
            })
            .collect();
        Summary {
            wall: wall.to_string(),
            refresh_hz: hz,
            backend: backend.to_string(),
            ticks: p.ticks,
            seconds: p.span.1.saturating_sub(p.span.0).as_secs_f64(),
            frames: FrameCounts {
                new: p.new,
                late: p.late,
                repeated: p.repeated,
                dropped: p.dropped,
                empty: p.empty,
                unchanged: self.render.unchanged,
                render_errors: self.render.errors + self.render.panics,
            },
            lateness: p.lateness.summary(),
            send: p.send.summary(),
            render: self.render.render.summary(),
            queue_max: p.queue_max,
            send_errors: sinks.iter().map(|s| s.errors).sum(),
            sends_per_second: p.sends_per_second(),
            sinks,
            stopped: self.stopped,
        }
    }
}

/// Something that runs a render loop with a renderer: [`AnyRenderer`] (inside its CPU pool),
/// or a test double.
pub trait RenderHost: Send {
    /// Call `f` once with the renderer, where rendering allocates nothing per frame.
    fn run_loop(&mut self, f: &mut (dyn FnMut(&mut dyn RenderFrame) + Send));
}

impl RenderHost for AnyRenderer {
    fn run_loop(&mut self, f: &mut (dyn FnMut(&mut dyn RenderFrame) + Send)) {
        self.install_mut(|r| f(r));
    }
}

/// A header line and one line per tick of the per-tick CSV (`--stats`).
pub fn write_tick_csv(w: &mut dyn Write, r: Option<&TickRecord>) -> std::io::Result<()> {
    match r {
        None => writeln!(
            w,
            "tick,deadline_us,lateness_us,kind,frame_tick,dropped,queue,send_us"
        ),
        Some(r) => {
            write!(
                w,
                "{},{},{},{},",
                r.tick,
                r.deadline.as_micros(),
                r.lateness.as_micros(),
                r.kind.name()
            )?;
            if let Some(f) = r.frame_tick {
                write!(w, "{f}")?;
            }
            writeln!(w, ",{},{},{}", r.dropped, r.queue, r.send.as_micros())
        }
    }
}

/// Logs a repeating problem at most once a second, with the count since the last line.
#[derive(Debug, Default)]
struct RateLog {
    last: Option<Instant>,
    unreported: u64,
}

impl RateLog {
    fn record(&mut self, what: std::fmt::Arguments<'_>) {
        self.unreported += 1;
        let now = Instant::now();
        if self
            .last
            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1))
        {
            tracing::error!(
                count = self.unreported,
                "{what} ({} time(s) since the last report); the wall keeps showing the last frame",
                self.unreported
            );
            self.unreported = 0;
            self.last = Some(now);
        }
    }
}

/// Identity of a scene made of stills only: same keys, sizes, placement and weights render
/// the same frame (when the dither is not temporal).
#[derive(Debug, Clone, Copy, PartialEq)]
struct StillScene {
    layers: [Option<StillLayer>; MAX_LAYERS],
}

/// Key, width, height, fit, filter and weight (bits) of a still layer.
type StillLayer = (u64, u32, u32, Fit, Filter, u32);

fn still_scene(scene: &Scene<'_>) -> Option<StillScene> {
    let mut layers = [None; MAX_LAYERS];
    for (slot, layer) in layers.iter_mut().zip(&scene.layers) {
        if let Some(l) = layer {
            let key = l.source.key?;
            *slot = Some((
                key,
                l.source.width,
                l.source.height,
                l.fit,
                l.filter,
                l.weight.to_bits(),
            ));
        }
    }
    Some(StillScene { layers })
}

/// The local date and time at a tick: a base read from the system clock at a poll, plus the
/// ticks since.
#[derive(Debug, Clone, Copy)]
struct LocalTime {
    base: DateTime,
    base_tick: u64,
    hz: u32,
}

impl LocalTime {
    fn now(tick: u64, hz: u32) -> LocalTime {
        LocalTime {
            base: jiff::Zoned::now().datetime(),
            base_tick: tick,
            hz,
        }
    }

    fn at(&self, tick: u64) -> DateTime {
        let ticks = tick.saturating_sub(self.base_tick);
        let nanos = u128::from(ticks) * 1_000_000_000 / u128::from(self.hz.max(1));
        let d = SignedDuration::from_nanos(i64::try_from(nanos).unwrap_or(i64::MAX));
        self.base.checked_add(d).unwrap_or(self.base)
    }
}

/// Everything the render loop needs.
struct RenderLoop<'a> {
    program: &'a mut Program,
    frames: Sender<WallFrame>,
    free: Receiver<WallFrame>,
    /// The thread running the loop, for the output thread to unpark at every tick.
    thread: &'a OnceLock<Thread>,
    out_tick: &'a AtomicU64,
    /// The next tick the loop will try (for a lockstep pacer).
    progress: &'a AtomicU64,
    quit: &'a AtomicBool,
    status: &'a LiveStatus,
    options: &'a EngineOptions,
    stats: RenderStats,
}

/// What one tick of the render loop did.
enum Outcome {
    Rendered(Option<StillScene>),
    Unchanged,
    Failed(String),
}

impl RenderLoop<'_> {
    fn run(&mut self, r: &mut dyn RenderFrame) {
        let o = self.options;
        let period = o.period();
        let skip_stills = !o.temporal_dither && !o.lockstep;
        let lead = o.lead.max(1);
        let mut target = 0u64;
        let mut last_still: Option<StillScene> = None;
        let mut spare: Option<WallFrame> = None;
        let mut shown_item: Option<usize> = None;
        let mut local = LocalTime::now(0, o.hz);
        let mut next_poll = o.poll_every.unwrap_or(u64::MAX);
        let mut log = RateLog::default();
        // The loop waits by parking (which allocates nothing, unlike a channel's first
        // blocking wait on a thread); the output thread unparks it at every tick.
        let _ = self.thread.set(std::thread::current());
        while !self.quit.load(Ordering::Relaxed) {
            if o.ticks.is_some_and(|limit| target >= limit) {
                break;
            }
            let out = self.out_tick.load(Ordering::Acquire);
            if !o.lockstep && target < out {
                self.stats.behind += out - target;
                target = out;
            }
            if target >= out + lead {
                // Far enough ahead: wait for the output's next tick.
                std::thread::park_timeout(period);
                continue;
            }
            if target >= next_poll {
                self.program.poll(target, local.at(target));
                local = LocalTime::now(target, o.hz);
                next_poll = target.saturating_add(o.poll_every.unwrap_or(u64::MAX).max(1));
            }
            let mut frame = match spare.take() {
                Some(f) => f,
                None => match self.free.try_recv() {
                    Ok(f) => f,
                    Err(TryRecvError::Empty) => {
                        std::thread::park_timeout(period);
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => break,
                },
            };
            let started = Instant::now();
            let now = local.at(target);
            let program = &mut *self.program;
            let status = self.status;
            let result = catch_unwind(AssertUnwindSafe(|| {
                let ts = program.tick(target, now);
                if let Some(current) = ts.current {
                    status
                        .item_tick
                        .store(current.local_tick, Ordering::Relaxed);
                    if shown_item != Some(current.item) {
                        shown_item = Some(current.item);
                        let items = &program.playlist().items;
                        if let (Some(item), Ok(mut label)) =
                            (items.get(current.item), status.item.lock())
                        {
                            label.clear();
                            let _ = write!(
                                label,
                                "{}/{} {}",
                                current.item + 1,
                                items.len(),
                                item.source
                            );
                        }
                    }
                }
                let scene = program.scene(&ts);
                let still = if skip_stills {
                    still_scene(&scene)
                } else {
                    None
                };
                if still.is_some() && still == last_still {
                    return Outcome::Unchanged;
                }
                match r.render_into(&scene, &mut frame) {
                    Ok(()) => Outcome::Rendered(still),
                    Err(e) => Outcome::Failed(crate::deck::error_chain(&e)),
                }
            }));
            match result {
                Ok(Outcome::Rendered(still)) => {
                    frame.frame_number = target;
                    self.stats.render.record(started.elapsed());
                    self.stats.frames += 1;
                    last_still = still;
                    // The channel holds the whole pool, so it is never full.
                    match self.frames.try_send(frame) {
                        Ok(()) => {}
                        Err(TrySendError::Full(f)) => {
                            if self.frames.send(f).is_err() {
                                break;
                            }
                        }
                        Err(TrySendError::Disconnected(_)) => break,
                    }
                }
                Ok(Outcome::Unchanged) => {
                    self.stats.unchanged += 1;
                    spare = Some(frame);
                }
                Ok(Outcome::Failed(e)) => {
                    self.stats.errors += 1;
                    last_still = None;
                    spare = Some(frame);
                    log.record(format_args!("cannot render tick {target}: {e}"));
                }
                Err(payload) => {
                    self.stats.panics += 1;
                    last_still = None;
                    spare = Some(frame);
                    let message = payload
                        .downcast_ref::<&str>()
                        .copied()
                        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                        .unwrap_or("unknown panic");
                    log.record(format_args!(
                        "rendering tick {target} panicked (caught): {message}"
                    ));
                }
            }
            target += 1;
            self.progress.store(target, Ordering::Release);
        }
    }
}

/// Play `program` on `host`'s renderer into `sinks` until `options.ticks` ticks have run or
/// `control.stop` is set; the pacer uses `clock`. Each tick's record goes to `tick_log`
/// (write errors stop the log, not the run). Sinks are flushed at the end (a flush error is
/// logged: the run itself went through).
#[allow(clippy::too_many_arguments)]
pub fn run<C: Clock>(
    host: &mut dyn RenderHost,
    geometry: &Geometry,
    program: &mut Program,
    sinks: &mut SinkSet,
    clock: C,
    options: &EngineOptions,
    control: &Control,
    tick_log: Option<&mut dyn Write>,
) -> Result<Report, EngineError> {
    let report = run_into(
        host, geometry, program, sinks, clock, options, control, tick_log,
    );
    if let Err(e) = sinks.flush() {
        tracing::error!("{}", crate::deck::error_chain(&e));
    }
    report
}

/// [`run`] with any [`Output`] (tests).
#[allow(clippy::too_many_arguments)]
pub fn run_into<C: Clock>(
    host: &mut dyn RenderHost,
    geometry: &Geometry,
    program: &mut Program,
    out: &mut dyn Output,
    clock: C,
    options: &EngineOptions,
    control: &Control,
    mut tick_log: Option<&mut dyn Write>,
) -> Result<Report, EngineError> {
    if options.ticks == Some(0) {
        return Ok(Report {
            pacer: PacerStats::default(),
            render: RenderStats::default(),
            stopped: false,
        });
    }
    let lead = options.lead.max(1);
    let pool = usize::try_from(lead).unwrap_or(8) + POOL_EXTRA;
    let (frames_tx, frames_rx) = bounded::<WallFrame>(pool);
    let (free_tx, free_rx) = bounded::<WallFrame>(pool);
    for _ in 0..pool {
        let _ = free_tx.try_send(WallFrame::new(geometry));
    }
    let render_thread = OnceLock::<Thread>::new();
    let out_tick = AtomicU64::new(0);
    let progress = Arc::new(AtomicU64::new(0));
    let quit = AtomicBool::new(false);
    let pacer_options = PacerOptions {
        hz: options.hz.max(1),
        spin: options.spin,
        lockstep: options.lockstep,
    };
    let status = &control.status;
    let stop = &control.stop;
    std::thread::scope(|scope| {
        let render = std::thread::Builder::new()
            .name("ledwall-render".into())
            .spawn_scoped(scope, || {
                let mut rl = RenderLoop {
                    program,
                    frames: frames_tx,
                    free: free_rx,
                    thread: &render_thread,
                    out_tick: &out_tick,
                    progress: &progress,
                    quit: &quit,
                    status,
                    options,
                    stats: RenderStats::default(),
                };
                host.run_loop(&mut |r| rl.run(r));
                rl.stats
            })
            .map_err(EngineError::Spawn)?;
        // A busy render pool must not delay the pacer's wake-ups (see `priority`).
        let _raised = match priority::raise_current_thread() {
            Ok(r) => {
                tracing::debug!("output thread raised: {:?}", r.level);
                Some(r)
            }
            Err(e) => {
                tracing::info!("{e}; pacing at normal priority");
                None
            }
        };
        let mut pacer = Pacer::new(clock, pacer_options, frames_rx, free_tx);
        pacer.follow_progress(Arc::clone(&progress));
        let primed = pacer.prime(stop);
        let mut stopped = false;
        if primed {
            if let Some(w) = tick_log.as_deref_mut()
                && let Err(e) = write_tick_csv(w, None)
            {
                tracing::warn!("cannot write the per-tick statistics: {e}");
                tick_log = None;
            }
            loop {
                if stop.load(Ordering::Relaxed) {
                    stopped = true;
                    break;
                }
                if options.ticks.is_some_and(|n| pacer.next_tick() >= n) {
                    break;
                }
                let rec = pacer.tick(out);
                out_tick.store(rec.tick + 1, Ordering::Release);
                if let Some(t) = render_thread.get() {
                    t.unpark();
                }
                if matches!(rec.kind, TickKind::New | TickKind::Late) {
                    status.new_frames.fetch_add(1, Ordering::Relaxed);
                }
                status.tick.store(rec.tick + 1, Ordering::Relaxed);
                let late = u64::try_from(rec.lateness.as_nanos()).unwrap_or(u64::MAX);
                status.lateness_max_ns.fetch_max(late, Ordering::Relaxed);
                if let Some(w) = tick_log.as_deref_mut()
                    && let Err(e) = write_tick_csv(w, Some(&rec))
                {
                    tracing::warn!("cannot write the per-tick statistics: {e}");
                    tick_log = None;
                }
            }
        }
        // Stop the render thread: the flag, a wake-up, and the channels closing with the
        // pacer.
        quit.store(true, Ordering::Relaxed);
        if let Some(t) = render_thread.get() {
            t.unpark();
        }
        let pacer_stats = pacer.finish();
        let render_stats = match render.join() {
            Ok(s) => s,
            Err(_) => {
                tracing::error!("the render thread panicked outside a frame");
                RenderStats::default()
            }
        };
        if let Some(w) = tick_log {
            let _ = w.flush();
        }
        if !primed && !stop.load(Ordering::Relaxed) {
            return Err(EngineError::NoFirstFrame);
        }
        Ok(Report {
            pacer: pacer_stats,
            render: render_stats,
            stopped: stopped || !primed,
        })
    })
}
