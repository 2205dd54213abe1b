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
pub mod dimmer;
pub mod onscreen;
pub mod pacer;
pub mod priority;
pub mod remote;
pub mod stats;
pub mod telemetry;

use crate::reload::{Fingerprint, JumpTo, Prepared, PreparedPattern, Program};
use crate::sinks::SinkSet;
use clock::Clock;
use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError, bounded};
use jiff::SignedDuration;
use jiff::civil::DateTime;
use ledwall_render::backend::RenderFrame;
use ledwall_render::frame::MAX_LAYERS;
use ledwall_render::wall::Dither;
use ledwall_render::{AnyRenderer, Filter, Fit, Geometry, Scene, Wall, WallFrame};
use onscreen::OnScreen;
use pacer::{Output, Pacer, PacerOptions};
use stats::{FrameCounts, PacerStats, RenderStats, SinkSummary, Summary, TickKind, TickRecord};
use std::fmt::Write as _;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};
use telemetry::{ItemInfo, ProgramInfo, Telemetry};

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
    /// The number of the first tick: a run that continues an earlier one (after a changed
    /// wall took over) goes on counting, so the playlist goes on where it was.
    pub first_tick: u64,
    /// Pace from the system clock (design §10): tick `n` is due at this time (ns since
    /// 1970) plus `n / hz`. The run starts at the tick the clock says once the first frame
    /// is ready (render [`EngineOptions::first_tick`] first: the tick due when the caller
    /// started), and re-aligns after a clock step. `None`: tick 0 is due when the first
    /// frame is ready.
    pub epoch: Option<i64>,
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
            first_tick: 0,
            epoch: None,
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

/// What an operator asks of a running engine (the control API, design §13). The render
/// thread takes these between two ticks; each applies from the next tick it renders.
#[derive(Debug)]
pub enum Command {
    /// Start an item (with its transition, mixing from what is on screen).
    Jump(JumpTo),
    /// Play another playlist file at once (loaded, checked and probed by the caller).
    Playlist {
        /// Its file.
        path: PathBuf,
        /// Its show, probed.
        show: Box<Prepared>,
    },
    /// Take the reread playlist and wall now (checked and probed by the caller).
    Reload {
        /// The show, reread and probed.
        show: Box<Prepared>,
        /// The wall, reread: a changed `[color]` applies at once.
        wall: Box<Wall>,
    },
    /// Override the brightness level until the next scheduled change.
    Brightness {
        /// 0..1, multiplies the wall's brightness.
        level: f64,
        /// Seconds to move there.
        fade_s: f64,
    },
    /// All outputs to black (or back) while the playlist runs on.
    Blackout {
        /// On or off.
        on: bool,
        /// Seconds to move there.
        fade_s: f64,
    },
    /// A test pattern over the playlist for `seconds`; `None` ends it.
    Pattern {
        /// The pattern, opened and drawn by the caller.
        pattern: Option<Box<PreparedPattern>>,
        /// How long.
        seconds: f64,
    },
}

/// How the caller steers a run and watches it.
#[derive(Debug, Clone, Default)]
pub struct Control {
    /// Set it to end the run after the current tick (signal handlers do).
    pub stop: Arc<AtomicBool>,
    /// Set it to reread the wall and playlist files at the next tick, changed or not
    /// (SIGHUP does); the render thread clears it.
    pub reload: Arc<AtomicBool>,
    /// Live counters.
    pub status: Arc<LiveStatus>,
    /// Operator commands (the control API), taken by the render thread.
    pub commands: Option<Receiver<Command>>,
    /// Counters and the published program for the control API.
    pub telemetry: Option<Arc<Telemetry>>,
    /// The wall file and the wall playing: its `[color]` section is hot-reloaded; other
    /// changes end the run at the next item boundary ([`Report::restart`]).
    pub wall: Option<(PathBuf, Arc<Wall>)>,
    /// The brightness and blackout state, kept from one run to the next.
    pub dimmer: Arc<Mutex<Option<dimmer::Dimmer>>>,
    /// When set, the process is ended ([`crate::shutdown::Deadline`], exit code 4) if the
    /// render thread has not come back this long after the output loop ended: a read that
    /// never returns must not keep a stopping player alive. `None` (tests): wait for it.
    pub stop_grace: Option<Duration>,
    /// The local date and time (schedules, the brightness schedule), read at every poll.
    /// `None`: the system clock. Tests step it to check that a clock step changes the
    /// schedule and nothing else (pacing runs on a monotonic clock).
    pub wall_clock: Option<fn() -> DateTime>,
    /// An FPP MultiSync master (design §10): the output thread shows it the playlist item
    /// on screen after each tick's frame went out, and ends the item when the last run
    /// ends (not when a changed wall takes over: the same item goes on).
    pub multisync: Option<Arc<Mutex<crate::multisync::Master>>>,
    /// An FPP MultiSync remote (design §10): the render thread follows the master's item
    /// and position before each tick; the output thread paces with its period factor.
    pub remote: Option<Arc<remote::RemoteSync>>,
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
    /// The run ended at an item boundary for a changed wall file (new geometry or sinks):
    /// the caller builds a renderer and sinks for it and goes on at [`Report::next_tick`].
    pub restart: Option<Arc<Wall>>,
    /// The first tick not sent.
    pub next_tick: u64,
    /// What the sinks' flush at the end of the run reported lost (a file sink whose disk
    /// filled, ...), with its causes; `None` when everything was delivered.
    pub output_lost: Option<String>,
}

impl Report {
    /// The summary `ledwall play` prints, with the sinks' counters.
    pub fn summary(&self, wall: &str, hz: u32, backend: &str, sinks: &SinkSet) -> Summary {
        let p = &self.pacer;
        let sinks: Vec<SinkSummary> = sinks
            .sinks()
            .iter()
            .map(|sink| {
                let s = sink.stats();
                SinkSummary {
                    url: sink.url().to_string(),
                    frames: s.frames,
                    bytes: s.bytes,
                    packets: s.packets,
                    errors: s.errors,
                    waiting: sink.waiting(),
                }
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
            clock_steps: p.clock_steps,
            media: None,
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

/// One line of the per-tick CSV: the output thread's record of the tick, the playlist
/// position of the frame it sent, and when it sent it on the system clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickLine {
    /// The output thread's record.
    pub rec: TickRecord,
    /// The playlist item (index from 0) of the frame sent, and its tick within the item
    /// (`None`: nothing played, or the frame is too old to be known).
    pub item: Option<(usize, u64)>,
    /// When sending began on the system clock (CLOCK_REALTIME), in µs since 1970.
    pub unix_us: i64,
}

/// A header line and one line per tick of the per-tick CSV (`--stats`).
pub fn write_tick_csv(w: &mut dyn Write, line: Option<&TickLine>) -> std::io::Result<()> {
    match line {
        None => writeln!(
            w,
            "tick,deadline_us,lateness_us,kind,frame_tick,dropped,queue,send_us,item,item_tick,\
             unix_us"
        ),
        Some(line) => {
            let r = &line.rec;
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
            write!(w, ",{},{},{},", r.dropped, r.queue, r.send.as_micros())?;
            if let Some((item, tick)) = line.item {
                write!(w, "{item},{tick}")?;
            } else {
                write!(w, ",")?;
            }
            writeln!(w, ",{}", line.unix_us)
        }
    }
}

/// The CSV line of tick `rec`: the playlist position of what it sent (from the render
/// thread's ring, `entry` is scratch) and when sending began on the system clock.
fn tick_line(
    rec: &TickRecord,
    screen: &OnScreen,
    entry: &mut onscreen::Entry,
    clock: &impl Clock,
) -> TickLine {
    // This tick's position when the render thread handled it (a new frame, or a still that
    // did not change and so is the same picture as the frame repeated); else (it fell
    // behind) the position of the frame repeated, while the ring still has it.
    let known = rec.frame_tick.is_some()
        && (screen.read(rec.tick, entry) || rec.frame_tick.is_some_and(|t| screen.read(t, entry)));
    let item = known
        .then_some(())
        .and_then(|_| Some((entry.index?, entry.local_tick)));
    // The send began this long ago on the pacer's clock; the system clock now, minus that.
    let ago = clock
        .now()
        .saturating_sub(rec.deadline.saturating_add(rec.lateness));
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(ago);
    TickLine {
        rec: *rec,
        item,
        unix_us: i64::try_from(unix.as_micros()).unwrap_or(i64::MAX),
    }
}

/// Per-tick records waiting for the log's writer thread: 4 s at 1000 Hz.
const TICK_LOG_QUEUE: usize = 4096;

/// The per-tick log's writer: the header (at tick 0), then a line per record until the
/// output thread hangs up. A write error ends the writing (logged once) but keeps taking
/// records, so the output thread never finds the queue full because of it.
fn write_tick_log(
    w: &mut (dyn Write + Send),
    records: &crossbeam_channel::Receiver<TickLine>,
    header: bool,
) {
    let mut ok = true;
    let fail = |e: std::io::Error, ok: &mut bool| {
        tracing::warn!("cannot write the per-tick statistics: {e}");
        *ok = false;
    };
    if header && let Err(e) = write_tick_csv(w, None) {
        fail(e, &mut ok);
    }
    for rec in records {
        if ok && let Err(e) = write_tick_csv(w, Some(&rec)) {
            fail(e, &mut ok);
        }
    }
    if ok && let Err(e) = w.flush() {
        fail(e, &mut ok);
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
    /// The time at `tick`: `clock`'s reading (the system clock when `None`).
    fn now(clock: Option<fn() -> DateTime>, tick: u64, hz: u32) -> LocalTime {
        LocalTime {
            base: clock.map_or_else(|| jiff::ZonedDateTime::now().datetime(), |f| f()),
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
    commands: Option<&'a Receiver<Command>>,
    reload: &'a AtomicBool,
    telemetry: Option<&'a Telemetry>,
    wall: Option<WallWatch>,
    dimmer: &'a mut dimmer::Dimmer,
    /// A changed wall and the tick it takes over at (the render loop stops there).
    restart: Option<(Arc<Wall>, u64)>,
    /// That tick, for the output thread (`u64::MAX`: none).
    restart_at: &'a AtomicU64,
    /// The local time's source ([`Control::wall_clock`]).
    wall_clock: Option<fn() -> DateTime>,
    /// Where the item on screen at each tick goes for a MultiSync master.
    on_screen: Option<(&'a OnScreen, onscreen::Names)>,
    /// A MultiSync remote's follower.
    follow: Option<remote::Follow<'a>>,
}

/// The wall file, watched for `[color]` changes.
struct WallWatch {
    path: PathBuf,
    wall: Arc<Wall>,
    /// A changed wall waiting for the next item boundary.
    next: Option<Arc<Wall>>,
    /// Requests to the checker thread (dropped with the watch, which ends the thread).
    ask: crossbeam_channel::Sender<WallAsk>,
    /// What the checker thread found: a changed wall, or why it was rejected.
    found: crossbeam_channel::Receiver<Result<Wall, String>>,
    /// Reread at the next check even when the file did not change (SIGHUP).
    force: bool,
}

/// A request to the wall file's checker thread.
#[derive(Debug, Clone, Copy)]
enum WallAsk {
    /// Look at the file; reread it when it changed (or always, with `force`).
    Check { force: bool },
    /// The file as it is now has been taken (the control API's reload): remember it.
    Taken,
}

/// The two ends the render thread keeps of a wall checker: requests, and what it found.
type WallChecker = (
    crossbeam_channel::Sender<WallAsk>,
    crossbeam_channel::Receiver<Result<Wall, String>>,
);

/// The wall file's checker: stats the file (and reads it when it changed) on a thread of
/// its own, so a slow or hung file system never holds up the render thread.
fn wall_checker(path: PathBuf) -> std::io::Result<WallChecker> {
    let (ask, asked) = crossbeam_channel::bounded::<WallAsk>(1);
    let (report, found) = crossbeam_channel::bounded(1);
    std::thread::Builder::new()
        .name("ledwall-wall-watch".into())
        .spawn(move || {
            let mut seen = Fingerprint::of(&path);
            while let Ok(a) = asked.recv() {
                let now = Fingerprint::of(&path);
                let force = match a {
                    WallAsk::Taken => {
                        seen = now;
                        continue;
                    }
                    WallAsk::Check { force } => force,
                };
                if !force && now == seen {
                    continue;
                }
                seen = now;
                let result = Wall::load(&path).map_err(|e| e.to_string());
                if report.send(result).is_err() {
                    return;
                }
            }
        })?;
    Ok((ask, found))
}

impl WallWatch {
    fn new(path: &Path, wall: &Arc<Wall>) -> Option<WallWatch> {
        match wall_checker(path.to_path_buf()) {
            Ok((ask, found)) => Some(WallWatch {
                path: path.to_path_buf(),
                wall: Arc::clone(wall),
                next: None,
                ask,
                found,
                force: false,
            }),
            Err(e) => {
                tracing::warn!("cannot start the wall file's watch, changes are not seen: {e}");
                None
            }
        }
    }

    /// Take `new` (reread from the file): a `[color]` change is handed to the renderer; any
    /// other change is logged (it needs a restart). Invalid colours keep the old ones.
    fn apply(&mut self, new: Wall, r: &mut dyn RenderFrame) -> bool {
        if new == *self.wall {
            self.next = None;
            return false;
        }
        let mut same_shape = new.clone();
        same_shape.color = self.wall.color.clone();
        same_shape.spec.color = self.wall.spec.color.clone();
        if same_shape != *self.wall {
            tracing::info!(
                wall = %self.path.display(),
                "the wall's geometry or sinks changed: the new wall takes over at the next \
                 item boundary"
            );
            self.next = Some(Arc::new(new));
            return false;
        }
        self.next = None;
        if new.color == self.wall.color {
            return false;
        }
        match r.set_color(&new.color) {
            Ok(()) => {
                tracing::info!(wall = %self.path.display(), "[color] reloaded");
                let mut kept = (*self.wall).clone();
                kept.color = new.color;
                kept.spec.color = new.spec.color;
                self.wall = Arc::new(kept);
                true
            }
            Err(e) => {
                tracing::warn!(
                    wall = %self.path.display(),
                    "[color] change not applied, the old colours stay: {e}"
                );
                false
            }
        }
    }

    /// Ask the checker thread to look at the file (never waits: a checker still busy with
    /// the last request is left to finish it).
    fn poll(&mut self) {
        let ask = WallAsk::Check { force: self.force };
        if self.ask.try_send(ask).is_ok() {
            self.force = false;
        }
    }

    /// Take what the checker found, if anything (every tick; allocates nothing when
    /// there is nothing): whether the renderer's colours changed.
    fn take(&mut self, r: &mut dyn RenderFrame) -> bool {
        let mut changed = false;
        while let Ok(found) = self.found.try_recv() {
            match found {
                Ok(w) => changed |= self.apply(w, r),
                Err(e) => {
                    tracing::warn!("wall change rejected, the old one keeps playing: {e}");
                }
            }
        }
        changed
    }
}

/// What one tick of the render loop did.
/// How long the first frame waits for an item that is still opening before the background
/// goes out instead.
const START_HOLD: Duration = Duration::from_secs(2);

enum Outcome {
    Rendered(Option<StillScene>),
    Unchanged,
    /// The item on screen is still opening: the last frame stays.
    Held,
    Failed(String),
}

impl RenderLoop<'_> {
    fn run(&mut self, r: &mut dyn RenderFrame) {
        let o = self.options;
        let period = o.period();
        let skip_stills = !o.temporal_dither && !o.lockstep;
        let lead = o.lead.max(1);
        let mut target = o.first_tick;
        let mut last_still: Option<StillScene> = None;
        let mut spare: Option<WallFrame> = None;
        let mut shown_item: Option<usize> = None;
        let mut local = LocalTime::now(self.wall_clock, target, o.hz);
        let mut next_poll = target.saturating_add(o.poll_every.unwrap_or(u64::MAX));
        let mut log = RateLog::default();
        let mut scheduled_once = false;
        let mut applied_level = 1f32;
        let mut published: Option<(u64, Option<u64>)> = None;
        let mut force = false;
        // An item still opening (a new show's first item, opened on a thread of its own)
        // holds the last frame rather than flashing the background; before the first frame
        // it holds for at most START_HOLD, then the background goes out (the wall is lit).
        let hold = !o.lockstep;
        let mut sent_any = false;
        let hold_start_until = Instant::now() + START_HOLD;
        // The loop waits by parking (which allocates nothing, unlike a channel's first
        // blocking wait on a thread); the output thread unparks it at every tick.
        let _ = self.thread.set(std::thread::current());
        while !self.quit.load(Ordering::Relaxed) {
            if o.ticks.is_some_and(|limit| target >= limit) {
                break;
            }
            if self.restart.as_ref().is_some_and(|(_, at)| target >= *at) {
                // The changed wall takes over here: the caller builds its renderer.
                break;
            }
            let out = self.out_tick.load(Ordering::Acquire);
            if !o.lockstep && target < out {
                self.stats.behind += out - target;
                target = out;
            }
            if target > out.saturating_add(lead) {
                // The output went back (the system clock was stepped back, design §10):
                // render from its tick again, and read the local time now.
                target = out;
                last_still = None;
                next_poll = target;
            }
            if target >= out + lead {
                // Far enough ahead: wait for the output's next tick.
                std::thread::park_timeout(period);
                continue;
            }
            if let Some(w) = &mut self.wall {
                force |= w.take(r);
            }
            if let Some(rx) = self.commands {
                while let Ok(cmd) = rx.try_recv() {
                    force |= self.command(cmd, target, local.at(target), r);
                }
            }
            if self.reload.swap(false, Ordering::Relaxed) {
                // SIGHUP: reread both files now, as if they had changed.
                tracing::info!("reload requested (SIGHUP): rereading the wall and the playlist");
                self.program.reread();
                if let Some(w) = &mut self.wall {
                    w.force = true;
                }
                next_poll = target;
            }
            if target >= next_poll || !scheduled_once {
                scheduled_once = true;
                let now = local.at(target);
                if target >= next_poll {
                    self.program.poll(target, now);
                    if let Some(w) = &mut self.wall {
                        w.poll();
                    }
                    local = LocalTime::now(self.wall_clock, target, o.hz);
                    next_poll = target.saturating_add(o.poll_every.unwrap_or(u64::MAX).max(1));
                }
                self.plan_restart(target);
                let s = self.program.show().main.brightness.at(now);
                let key = s
                    .entry
                    .map(|e| (e, s.changed_at.or(s.since).unwrap_or_default()));
                self.dimmer.schedule(target, key, s.level, s.fade);
            }
            let dimmer = &*self.dimmer;
            let level = dimmer.effective(target);
            if level.to_bits() != applied_level.to_bits() {
                r.set_brightness(level);
                applied_level = level;
                force = true;
            }
            if let Some(t) = self.telemetry {
                t.publish_level(
                    dimmer.level(target),
                    dimmer.target(),
                    dimmer.source(),
                    level,
                );
                t.blackout.store(dimmer.blackout(), Ordering::Relaxed);
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
            if let Some(f) = &mut self.follow {
                // Tick `target` goes out about this long from now.
                let ahead = period
                    .saturating_mul(u32::try_from(target.saturating_sub(out)).unwrap_or(u32::MAX));
                f.before_tick(self.program, target, ahead, o.hz);
            }
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
                if hold && (sent_any || Instant::now() < hold_start_until) && program.opening(&ts) {
                    return Outcome::Held;
                }
                // The run's first frame also waits (as long) for the item's decoder to fill
                // its queue: a video starting with the run then has its next frames decoded
                // ahead, instead of dropping those its decoder takes to get going.
                if hold && !sent_any && Instant::now() < hold_start_until && program.warming(&ts) {
                    return Outcome::Held;
                }
                let scene = program.scene(&ts);
                let still = if skip_stills {
                    still_scene(&scene)
                } else {
                    None
                };
                if still.is_some() && still == last_still && !force {
                    return Outcome::Unchanged;
                }
                match r.render_into(&scene, &mut frame) {
                    Ok(()) => Outcome::Rendered(still),
                    Err(e) => Outcome::Failed(crate::deck::error_chain(&e)),
                }
            }));
            if let Some(t) = self.telemetry {
                self.publish(t, target, &mut published);
            }
            if let Some((screen, names)) = &mut self.on_screen {
                // The playlist's item (an operator's pattern over it does not count): during
                // a crossfade the incoming one, from the crossfade's start.
                let np = self.program.now_playing();
                let name = np.item.and_then(|i| names.get(self.program.playlist(), i));
                screen.record(target, np.item, name, np.local_tick);
            }
            match result {
                Ok(Outcome::Rendered(still)) => {
                    force = false;
                    sent_any = true;
                    frame.frame_number = target;
                    let took = started.elapsed();
                    self.stats.render.record(took);
                    if let Some(t) = self.telemetry {
                        t.render.record(took);
                    }
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
                Ok(Outcome::Held) => {
                    self.stats.held += 1;
                    spare = Some(frame);
                    if !sent_any {
                        // No frame is out yet, so the output does not tick: try this tick
                        // again shortly rather than run ahead and wait for it.
                        std::thread::park_timeout(Duration::from_millis(2));
                        continue;
                    }
                }
                Ok(Outcome::Failed(e)) => {
                    self.stats.errors += 1;
                    if let Some(t) = self.telemetry {
                        t.render_errors.fetch_add(1, Ordering::Relaxed);
                    }
                    last_still = None;
                    spare = Some(frame);
                    log.record(format_args!("cannot render tick {target}: {e}"));
                }
                Err(payload) => {
                    self.stats.panics += 1;
                    if let Some(t) = self.telemetry {
                        t.render_errors.fetch_add(1, Ordering::Relaxed);
                    }
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

    /// Apply an operator's command at tick `tick`; whether the next frame must be rendered
    /// even when its scene is the same still.
    fn command(&mut self, cmd: Command, tick: u64, now: DateTime, r: &mut dyn RenderFrame) -> bool {
        let dimmer = &mut *self.dimmer;
        match cmd {
            Command::Jump(to) => match self.program.jump(to, tick) {
                Ok(item) => {
                    tracing::info!("control: item {item} starts at tick {tick}");
                    true
                }
                Err(e) => {
                    tracing::warn!("control: cannot jump: {e}");
                    false
                }
            },
            Command::Playlist { path, show } => {
                tracing::info!("control: now playing {}", path.display());
                self.program.switch(&path, *show, tick, now);
                true
            }
            Command::Reload { show, wall } => {
                self.program.reload_now(*show, tick, now);
                if let Some(w) = &mut self.wall {
                    let _ = w.ask.try_send(WallAsk::Taken);
                    w.apply(*wall, r);
                }
                self.plan_restart(tick);
                tracing::info!("control: playlist and wall reloaded");
                true
            }
            Command::Brightness { level, fade_s } => {
                dimmer.set_level(tick, level, fade_s);
                true
            }
            Command::Blackout { on, fade_s } => {
                dimmer.set_blackout(tick, on, fade_s);
                true
            }
            Command::Pattern { pattern, seconds } => {
                let ticks = (seconds.max(0.0) * f64::from(self.options.hz)).round() as u64;
                match pattern {
                    Some(p) => self.program.show_pattern(*p, tick, ticks),
                    None => self.program.end_pattern(),
                }
                true
            }
        }
    }

    /// When the wall file changed shape, the tick it takes over at: the next item boundary
    /// (set once; a later change of the file replaces the wall, not the tick).
    fn plan_restart(&mut self, tick: u64) {
        let Some(next) = self.wall.as_ref().and_then(|w| w.next.clone()) else {
            self.restart = None;
            self.restart_at.store(u64::MAX, Ordering::Release);
            return;
        };
        let at = match &self.restart {
            Some((_, at)) => *at,
            None => self.program.timeline().next_boundary(tick + 1),
        };
        self.restart = Some((next, at));
        self.restart_at.store(at, Ordering::Release);
    }

    /// Publish the item on screen (atomics), and the playlist when it changed.
    fn publish(&self, t: &Telemetry, tick: u64, published: &mut Option<(u64, Option<u64>)>) {
        let np = self.program.now_playing();
        let none = u64::MAX;
        t.item
            .store(np.item.map_or(none, |i| i as u64), Ordering::Relaxed);
        t.item_tick.store(np.local_tick, Ordering::Relaxed);
        t.item_ticks.store(np.ticks, Ordering::Relaxed);
        t.next
            .store(np.next.map_or(none, |i| i as u64), Ordering::Relaxed);
        let overlay = self.program.overlay(tick);
        t.pattern_until
            .store(overlay.map_or(0, |o| o.1), Ordering::Relaxed);
        let key = (self.program.revision(), overlay.map(|o| o.1));
        if *published != Some(key) {
            *published = Some(key);
            t.program.store(Arc::new(program_info(
                self.program,
                self.options.hz,
                overlay.map(|o| o.0.to_string()),
            )));
        }
    }
}

/// The playlist playing, as the control API lists it.
pub fn program_info(program: &Program, hz: u32, pattern: Option<String>) -> ProgramInfo {
    let playlist = program.playlist();
    let tl = program.timeline();
    let hz = f64::from(hz.max(1));
    let items = playlist
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let placed = tl.placed_index(i).map(|k| &tl.placed()[k]);
            ItemInfo {
                source: item.source.clone(),
                start_s: placed.map(|p| p.start as f64 / hz),
                duration_s: placed
                    .filter(|_| !item.open_ended())
                    .map(|p| p.ticks as f64 / hz),
                transition: match item.transition {
                    crate::playlist::Transition::Cut => "cut",
                    crate::playlist::Transition::Crossfade { .. } => "crossfade",
                },
            }
        })
        .collect();
    ProgramInfo {
        revision: program.revision(),
        name: playlist.name.clone(),
        path: program.path().display().to_string(),
        cycle_s: (!playlist
            .items
            .iter()
            .enumerate()
            .any(|(i, item)| item.open_ended() && tl.placed_index(i).is_some()))
        .then(|| tl.cycle_ticks() as f64 / hz),
        items,
        looped: playlist.looped,
        pattern,
    }
}

/// Play `program` on `host`'s renderer into `sinks` until `options.ticks` ticks have run or
/// `control.stop` is set; the pacer uses `clock`. Each tick's record goes to `tick_log`
/// (written by a thread of its own, so a slow disk never delays a tick; write errors stop
/// the log, not the run). Sinks are flushed at the end (a flush error is
/// logged and kept in [`Report::output_lost`]: the run itself went through).
#[allow(clippy::too_many_arguments)]
pub fn run<C: Clock>(
    host: &mut dyn RenderHost,
    geometry: &Geometry,
    program: &mut Program,
    sinks: &mut SinkSet,
    clock: C,
    options: &EngineOptions,
    control: &Control,
    tick_log: Option<&mut (dyn Write + Send)>,
) -> Result<Report, EngineError> {
    let mut report = run_into(
        host, geometry, program, sinks, clock, options, control, tick_log,
    );
    if control.stop_grace.is_some() {
        crate::shutdown::stop_stage("flushing the sinks");
    }
    if let Err(e) = sinks.flush() {
        let text = crate::deck::error_chain(&e);
        tracing::error!("{text}");
        if let Ok(r) = &mut report {
            r.output_lost = Some(text);
        }
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
    tick_log: Option<&mut (dyn Write + Send)>,
) -> Result<Report, EngineError> {
    if options.ticks.is_some_and(|n| n <= options.first_tick) {
        return Ok(Report {
            pacer: PacerStats::default(),
            render: RenderStats::default(),
            stopped: false,
            restart: None,
            next_tick: options.first_tick,
            output_lost: None,
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
    let out_tick = AtomicU64::new(options.first_tick);
    let progress = Arc::new(AtomicU64::new(options.first_tick));
    let restart_at = AtomicU64::new(u64::MAX);
    let quit = AtomicBool::new(false);
    let pacer_options = PacerOptions {
        hz: options.hz.max(1),
        spin: options.spin,
        lockstep: options.lockstep,
    };
    let status = &control.status;
    let stop = &control.stop;
    let telemetry = control.telemetry.as_deref();
    // The per-tick records go to the log's writer thread through a bounded queue: the output
    // thread only queues a copy (no allocation, no disk); a full queue drops the record,
    // counted and reported at the end.
    let (log_tx, log_rx) = crossbeam_channel::bounded::<TickLine>(TICK_LOG_QUEUE);
    let log_dropped = AtomicU64::new(0);
    let logging = tick_log.is_some();
    let first_tick = options.first_tick;
    let on_screen = OnScreen::new(lead);
    let mut master = control.multisync.as_deref().map(|m| match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    });
    let mut feed = onscreen::Feed::new(options.hz);
    let mut log_entry = onscreen::Entry::default();
    std::thread::scope(|scope| {
        let logger = tick_log.map(|w| {
            std::thread::Builder::new()
                .name("ledwall-tick-log".into())
                .spawn_scoped(scope, move || write_tick_log(w, &log_rx, first_tick == 0))
        });
        let logger = match logger {
            Some(Ok(h)) => Some(h),
            Some(Err(e)) => {
                tracing::warn!("cannot start the per-tick statistics' writer: {e}");
                None
            }
            None => None,
        };
        let render = std::thread::Builder::new()
            .name("ledwall-render".into())
            .spawn_scoped(scope, || {
                let mut held = match control.dimmer.lock() {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                };
                let dimmer = held.get_or_insert_with(|| dimmer::Dimmer::new(options.hz));
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
                    commands: control.commands.as_ref(),
                    reload: &control.reload,
                    telemetry: control.telemetry.as_deref(),
                    wall: control
                        .wall
                        .as_ref()
                        .and_then(|(path, wall)| WallWatch::new(path, wall)),
                    dimmer,
                    restart: None,
                    restart_at: &restart_at,
                    wall_clock: control.wall_clock,
                    on_screen: (control.multisync.is_some() || logging)
                        .then(|| (&on_screen, onscreen::Names::default())),
                    follow: control.remote.as_deref().map(remote::Follow::new),
                };
                host.run_loop(&mut |r| rl.run(r));
                (rl.stats, rl.restart.map(|(w, _)| w))
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
        pacer.skip_to(options.first_tick);
        pacer.follow_progress(Arc::clone(&progress));
        if let Some(epoch) = options.epoch {
            pacer.set_epoch(epoch, lead);
        }
        let primed = pacer.prime(stop);
        if primed && options.epoch.is_some() {
            let first = pacer.next_tick();
            let due = pacer.deadline(first);
            let wait = due.saturating_sub(pacer.clock().now());
            if wait > options.period() {
                tracing::info!(
                    "the epoch is {:.1} s away: the wall is dark until then",
                    wait.as_secs_f64()
                );
                let dark = WallFrame::new(geometry);
                pacer.hold_dark_until_due(out, &dark, stop);
            } else {
                tracing::info!("playing from the epoch: joining at tick {first}");
            }
        }
        let mut stopped = false;
        if primed {
            loop {
                if stop.load(Ordering::Relaxed) {
                    stopped = true;
                    break;
                }
                if options.ticks.is_some_and(|n| pacer.next_tick() >= n) {
                    break;
                }
                if pacer.next_tick() >= restart_at.load(Ordering::Acquire) {
                    break;
                }
                let rec = pacer.tick(out);
                out_tick.store(rec.tick + 1, Ordering::Release);
                if let Some(rs) = control.remote.as_deref() {
                    // The follower's factor, from the next tick on.
                    pacer.set_period_ppm(rs.factor_ppm());
                    rs.count_tick(pacer.period_ppm());
                    // When the next ticks go out, for the follower's decisions.
                    let next = pacer.next_tick();
                    let until = pacer.deadline(next).saturating_sub(pacer.clock().now());
                    let period = pacer
                        .deadline(next + 1)
                        .saturating_sub(pacer.deadline(next));
                    rs.publish_due(next, until, period);
                }
                if let Some(m) = master.as_deref_mut() {
                    // Non-blocking: sends only on the schedule's frames.
                    feed.tick(m, &on_screen, rec.tick);
                }
                if let Some(t) = telemetry {
                    if let Some(n) = pacer.clock_steps() {
                        t.clock_steps.store(n, Ordering::Relaxed);
                    }
                    t.record_tick(&rec);
                    out.publish(t);
                    t.serve_snapshot(pacer.last_frame());
                }
                if let Some(t) = render_thread.get() {
                    t.unpark();
                }
                if matches!(rec.kind, TickKind::New | TickKind::Late) {
                    status.new_frames.fetch_add(1, Ordering::Relaxed);
                }
                status.tick.store(rec.tick + 1, Ordering::Relaxed);
                let late = u64::try_from(rec.lateness.as_nanos()).unwrap_or(u64::MAX);
                status.lateness_max_ns.fetch_max(late, Ordering::Relaxed);
                if logging {
                    let line = tick_line(&rec, &on_screen, &mut log_entry, pacer.clock());
                    if log_tx.try_send(line).is_err() {
                        log_dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        drop(log_tx);
        // Stop the render thread: the flag, a wake-up, and the channels closing with the
        // pacer.
        quit.store(true, Ordering::Relaxed);
        if let Some(t) = render_thread.get() {
            t.unpark();
        }
        // From here the stop is bounded: joining the render thread, flushing and closing
        // the sinks and the summary must finish within the grace, or the process ends with
        // exit 4 (the caller ends the deadline with `shutdown::stop_finished`).
        if let Some(grace) = control.stop_grace {
            crate::shutdown::arm_stop(grace, "joining the render thread");
        }
        let next_tick = pacer.next_tick();
        let pacer_stats = pacer.finish();
        let (render_stats, restart) = match render.join() {
            Ok(s) => s,
            Err(_) => {
                tracing::error!("the render thread panicked outside a frame");
                (RenderStats::default(), None)
            }
        };
        // A changed wall takes over only when the output reached its tick.
        let restart =
            restart.filter(|_| !stopped && next_tick >= restart_at.load(Ordering::Acquire));
        if restart.is_none()
            && let Some(m) = master.as_deref_mut()
        {
            m.end();
        }
        if let Some(h) = logger {
            let _ = h.join();
        }
        let dropped = log_dropped.load(Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(
                "{dropped} per-tick records were not written: their writer fell behind by \
                 more than {TICK_LOG_QUEUE} ticks (a slow disk)"
            );
        }
        if !primed && !stop.load(Ordering::Relaxed) {
            return Err(EngineError::NoFirstFrame);
        }
        Ok(Report {
            pacer: pacer_stats,
            render: render_stats,
            stopped: stopped || !primed,
            restart,
            next_tick,
            output_lost: None,
        })
    })
}
