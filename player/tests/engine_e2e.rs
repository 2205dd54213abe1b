//! The playback engine end to end: a playlist through the render thread, the channels and
//! the pacer into a `file:` sink; the file holds exactly `for · refresh` frames and their
//! bytes are those of a direct render of the same ticks. A render that panics or fails does
//! not stop the wall: the last frame repeats.

use ledwall_player::engine::clock::{FakeClock, SystemClock};
use ledwall_player::engine::stats::TickKind;
use ledwall_player::engine::{self, Control, EngineOptions, RenderHost, write_tick_csv};
use ledwall_player::media::OpenOptions;
use ledwall_player::patterns::Canvas;
use ledwall_player::playlist::Show;
use ledwall_player::reload::Program;
use ledwall_player::sinks::{SinkOptions, SinkSet};
use ledwall_render::backend::RenderFrame;
use ledwall_render::wall::SinkUrl;
use ledwall_render::{Geometry, RenderError, Renderer, Scene, Wall, WallFrame};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tiny() -> Wall {
    Wall::load(root().join("fixtures/walls/tiny.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// A playlist that changes every tick (pattern:line), crossfades into an animation, then
/// holds a still: 0.7 s a pass.
fn playlist(dir: &Path) -> PathBuf {
    let media = root().join("fixtures/media");
    let text = format!(
        r#"
[[items]]
source = "pattern:line"
duration = 0.2

[[items]]
source = {:?}
duration = 0.3
fit = "cover"
filter = "nearest"
transition = {{ kind = "crossfade", duration = 0.1 }}

[[items]]
source = {:?}
duration = 0.2
"#,
        media.join("anim-32x16.gif").display().to_string(),
        media.join("gradient-64x32.png").display().to_string(),
    );
    let path = dir.join("show.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn program(wall: &Wall, path: &Path) -> Program {
    let show = Show::load(path).unwrap_or_else(|e| panic!("{e}"));
    let now = jiff::civil::date(2026, 5, 4).at(12, 0, 0, 0);
    Program::new(
        path,
        show,
        wall.refresh_hz,
        OpenOptions::new(Canvas::from_wall(wall)),
        now,
    )
}

/// Every tick `0..n` rendered directly (no engine): the concatenated port bytes.
fn direct(wall: &Wall, path: &Path, n: u64) -> Vec<Vec<u8>> {
    let mut program = program(wall, path);
    let mut r = Renderer::with_threads(wall, 1).unwrap_or_else(|e| panic!("{e}"));
    let mut frame = WallFrame::new(r.geometry());
    let now = jiff::civil::date(2026, 5, 4).at(12, 0, 0, 0);
    (0..n)
        .map(|t| {
            let ts = program.tick(t, now);
            let scene = program.scene(&ts);
            r.render_into(&scene, &mut frame)
                .unwrap_or_else(|e| panic!("{e}"));
            frame.ports.iter().flat_map(|p| p.bytes.clone()).collect()
        })
        .collect()
}

/// The frames of a `file:` sink that took every port.
fn file_frames(path: &Path, geometry: &Geometry) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{e}"));
    let size: usize = geometry.ports.iter().map(|p| p.byte_len()).sum();
    assert_eq!(bytes.len() % size, 0, "whole frames");
    bytes.chunks(size).map(<[u8]>::to_vec).collect()
}

fn file_sinks(wall: &Wall, geometry: &Geometry, out: &Path) -> SinkSet {
    let url = SinkUrl::parse(&format!("file:{}", out.display())).unwrap_or_else(|e| panic!("{e}"));
    let urls = vec![url; geometry.ports.len()];
    SinkSet::open(wall, geometry, &urls, &SinkOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn lockstep_run_writes_exactly_the_direct_render_of_every_tick() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let wall = tiny();
    let path = playlist(dir.path());
    let seconds = 1.5;
    let n = (seconds * f64::from(wall.refresh_hz)).round() as u64; // 90: over two passes
    let mut renderer = Renderer::with_threads(&wall, 2).unwrap_or_else(|e| panic!("{e}"));
    let geometry = renderer.geometry().clone();
    let out = dir.path().join("wall.bin");
    let mut sinks = file_sinks(&wall, &geometry, &out);
    let mut options = EngineOptions::for_wall(&wall);
    options.ticks = Some(n);
    options.lockstep = true;
    options.poll_every = None;
    let mut csv = Vec::new();
    let mut program = program(&wall, &path);
    let mut host = Cpu(&mut renderer);
    let report = engine::run(
        &mut host,
        &geometry,
        &mut program,
        &mut sinks,
        FakeClock::new(Duration::from_micros(5)),
        &options,
        &Control::default(),
        Some(&mut csv),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.pacer.ticks, n);
    assert_eq!(report.pacer.new, n, "every tick sent its own frame");
    assert_eq!(report.pacer.dropped + report.pacer.repeated, 0);
    let got = file_frames(&out, &geometry);
    assert_eq!(got.len() as u64, n, "exactly for · refresh frames");
    let want = direct(&wall, &path, n);
    for (t, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            g == w,
            "tick {t}: the file's frame differs from a direct render"
        );
    }
    // The moving line makes consecutive ticks differ: the comparison is not vacuous.
    assert_ne!(want[0], want[1]);
    // The per-tick CSV: a header and one line per tick.
    let csv = String::from_utf8(csv).unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len() as u64, n + 1);
    assert!(lines[0].starts_with("tick,deadline_us,lateness_us,kind"));
    assert!(
        lines[1].starts_with("0,0,") && lines[1].contains(",new,0,"),
        "{}",
        lines[1]
    );
    let mut header = Vec::new();
    write_tick_csv(&mut header, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(String::from_utf8_lossy(&header).trim_end(), lines[0]);
}

#[test]
fn real_time_run_sends_every_tick_and_only_frames_of_past_ticks() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let wall = tiny();
    let path = playlist(dir.path());
    let n = u64::from(wall.refresh_hz); // one second
    let mut renderer = Renderer::with_threads(&wall, 2).unwrap_or_else(|e| panic!("{e}"));
    let geometry = renderer.geometry().clone();
    let out = dir.path().join("wall.bin");
    let mut sinks = file_sinks(&wall, &geometry, &out);
    let mut options = EngineOptions::for_wall(&wall);
    options.ticks = Some(n);
    let mut program = program(&wall, &path);
    let mut host = Cpu(&mut renderer);
    let report = engine::run(
        &mut host,
        &geometry,
        &mut program,
        &mut sinks,
        SystemClock::new(),
        &options,
        &Control::default(),
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let p = &report.pacer;
    assert_eq!(p.ticks, n);
    assert_eq!(p.new + p.late + p.repeated, n, "every tick sent a frame");
    // The still at the end of the pass (no temporal dither on this wall) is rendered once
    // and then repeated by the pacer.
    assert!(report.render.unchanged > 0);
    let got = file_frames(&out, &geometry);
    assert_eq!(got.len() as u64, n, "exactly for · refresh frames");
    // However the threads were scheduled, tick i sent the frame of some tick <= i.
    let want = direct(&wall, &path, n);
    for (i, g) in got.iter().enumerate() {
        assert!(
            want[..=i].iter().any(|w| w == g),
            "tick {i} sent a frame that is no direct render of a tick up to {i}"
        );
    }
}

/// The CPU renderer as a [`RenderHost`].
struct Cpu<'a>(&'a mut Renderer);

impl RenderHost for Cpu<'_> {
    fn run_loop(&mut self, f: &mut (dyn FnMut(&mut dyn RenderFrame) + Send)) {
        self.0.install_mut(|r| f(r));
    }
}

/// A renderer that panics at some ticks and fails at others.
struct Flaky<'a> {
    inner: &'a mut Renderer,
    panics: Arc<[u64]>,
    fails: Arc<[u64]>,
}

struct FlakyFrame<'a> {
    inner: &'a mut Renderer,
    panics: Arc<[u64]>,
    fails: Arc<[u64]>,
}

impl RenderFrame for FlakyFrame<'_> {
    fn render_into(&mut self, scene: &Scene<'_>, frame: &mut WallFrame) -> Result<(), RenderError> {
        if self.panics.contains(&scene.frame_number) {
            panic!("injected panic at tick {}", scene.frame_number);
        }
        if self.fails.contains(&scene.frame_number) {
            return Err(RenderError::FrameMismatch("injected failure".into()));
        }
        self.inner.render_into(scene, frame)
    }

    fn set_brightness(&mut self, level: f32) {
        self.inner.set_brightness(level);
    }

    fn set_color(&mut self, color: &ledwall_render::wall::ColorSpec) -> Result<(), RenderError> {
        self.inner.set_color(color)
    }

    fn set_external_dimming(&mut self, on: bool) {
        self.inner.set_external_dimming(on);
    }
}

impl RenderHost for Flaky<'_> {
    fn run_loop(&mut self, f: &mut (dyn FnMut(&mut dyn RenderFrame) + Send)) {
        let (panics, fails) = (self.panics.clone(), self.fails.clone());
        self.inner.install_mut(|inner| {
            f(&mut FlakyFrame {
                inner,
                panics,
                fails,
            })
        });
    }
}

#[test]
fn a_panicking_or_failing_render_repeats_the_last_frame() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let wall = tiny();
    let path = playlist(dir.path());
    let n = 20;
    let mut renderer = Renderer::with_threads(&wall, 2).unwrap_or_else(|e| panic!("{e}"));
    let geometry = renderer.geometry().clone();
    let out = dir.path().join("wall.bin");
    let mut sinks = file_sinks(&wall, &geometry, &out);
    let mut options = EngineOptions::for_wall(&wall);
    options.ticks = Some(n);
    options.lockstep = true;
    let mut program = program(&wall, &path);
    let mut host = Flaky {
        inner: &mut renderer,
        panics: Arc::from([3, 4, 10]),
        fails: Arc::from([7]),
    };
    let mut csv = Vec::new();
    let report = engine::run(
        &mut host,
        &geometry,
        &mut program,
        &mut sinks,
        FakeClock::new(Duration::from_micros(5)),
        &options,
        &Control::default(),
        Some(&mut csv),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.render.panics, 3);
    assert_eq!(report.render.errors, 1);
    assert_eq!(report.pacer.repeated, 4);
    assert_eq!(report.pacer.new, n - 4);
    let got = file_frames(&out, &geometry);
    assert_eq!(got.len() as u64, n);
    let want = direct(&wall, &path, n);
    let shown: [usize; 20] = [
        0, 1, 2, 2, 2, 5, 6, 6, 8, 9, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19,
    ];
    for (i, &t) in shown.iter().enumerate() {
        assert!(
            got[i] == want[t],
            "tick {i} should show the frame of tick {t}"
        );
    }
    let csv = String::from_utf8(csv).unwrap_or_else(|e| panic!("{e}"));
    let kinds: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap_or(""))
        .collect();
    assert_eq!(kinds[3], TickKind::Repeated.name());
    assert_eq!(kinds[5], TickKind::New.name());
}

/// A wall of one rgb8 port, linear transfer, no dither (codes scale with the level).
const LINEAR_WALL: &str = r#"
name = "lin"
refresh_hz = 60
[canvas]
width = 8
height = 4
[color]
transfer = "linear"
bit_depth = 8
dither = "none"
[module_types.m]
size = [8, 4]
[[outputs]]
name = "strip"
format = "rgb8"
sink = "null"
modules = [{ type = "m", at = [0, 0] }]
"#;

/// Sends a command while tick `at` goes out, and keeps the first byte of every tick.
struct Commanding {
    at: u64,
    command: Option<engine::Command>,
    tx: crossbeam_channel::Sender<engine::Command>,
    first: Vec<(u64, u8)>,
}

impl ledwall_player::engine::pacer::Output for Commanding {
    fn send_frame(&mut self, frame: &WallFrame, tick: u64) {
        self.first.push((tick, frame.ports[0].bytes[0]));
        if tick == self.at
            && let Some(c) = self.command.take()
        {
            let _ = self.tx.send(c);
        }
    }
}

/// Play a solid (200, 100, 50) still for 40 ticks in lockstep (every tick's own frame, the
/// render thread up to two ticks ahead), sending `command` as tick 10 goes out; the first
/// byte (red) of every tick.
fn commanded(command: engine::Command) -> Vec<(u64, u8)> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let wall_path = dir.path().join("wall.toml");
    std::fs::write(&wall_path, LINEAR_WALL).unwrap_or_else(|e| panic!("{e}"));
    let wall = Wall::load(&wall_path).unwrap_or_else(|e| panic!("{e}"));
    let list = dir.path().join("show.toml");
    std::fs::write(
        &list,
        "[[items]]\nsource = \"pattern:solid:#c86432\"\nduration = 60.0\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut program = program(&wall, &list);
    let mut renderer = Renderer::with_threads(&wall, 1).unwrap_or_else(|e| panic!("{e}"));
    let geometry = renderer.geometry().clone();
    let (tx, rx) = crossbeam_channel::bounded(4);
    let control = Control {
        commands: Some(rx),
        ..Control::default()
    };
    let mut options = EngineOptions::for_wall(&wall);
    options.ticks = Some(40);
    options.poll_every = None;
    options.lockstep = true;
    let mut out = Commanding {
        at: 10,
        command: Some(command),
        tx,
        first: Vec::new(),
    };
    engine::run_into(
        &mut Cpu(&mut renderer),
        &geometry,
        &mut program,
        &mut out,
        FakeClock::new(Duration::from_micros(50)),
        &options,
        &control,
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    out.first
}

#[test]
fn brightness_and_blackout_reach_the_wall_within_two_ticks() {
    let reds = commanded(engine::Command::Brightness {
        level: 0.5,
        fade_s: 0.0,
    });
    assert_eq!(reds.len(), 40);
    for &(tick, red) in &reds {
        if tick <= 10 {
            assert_eq!(red, 200, "tick {tick}, before the command: {reds:?}");
        }
        if tick >= 12 {
            assert_eq!(
                red, 100,
                "tick {tick}, two ticks after the command: {reds:?}"
            );
        }
    }
    let reds = commanded(engine::Command::Blackout {
        on: true,
        fade_s: 0.0,
    });
    assert!(
        reds.iter().filter(|(t, _)| *t >= 12).all(|(_, r)| *r == 0),
        "{reds:?}"
    );
    // A 10-tick fade (1/6 s at 60 Hz) from 1 to 0.5: it starts within two ticks and moves
    // down by 10 codes a tick.
    let reds = commanded(engine::Command::Brightness {
        level: 0.5,
        fade_s: 1.0 / 6.0,
    });
    let at = |t: u64| reds.iter().find(|(k, _)| *k == t).map(|(_, r)| *r);
    let start = (11..=12)
        .find(|&t| at(t) == Some(200) && at(t + 1) == Some(190))
        .unwrap_or_else(|| panic!("the fade did not start by tick 12: {reds:?}"));
    assert_eq!(at(start + 10), Some(100), "{reds:?}");
}

/// Whether the test clock below has been stepped.
static STEPPED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A local clock at 12:00 that steps to 19:00 when [`STEPPED`] is set (an NTP correction
/// or an operator setting the time), standing still otherwise.
fn stepping_clock() -> jiff::civil::DateTime {
    let hour = if STEPPED.load(std::sync::atomic::Ordering::SeqCst) {
        19
    } else {
        12
    };
    jiff::civil::date(2026, 5, 4).at(hour, 0, 0, 0)
}

/// A clock step changes what the schedule selects (at the next poll) and nothing else:
/// pacing runs on the monotonic clock, so every tick still goes out on time, one frame each.
#[test]
fn a_clock_step_switches_the_schedule_and_every_tick_goes_out() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let wall = tiny();
    std::fs::write(
        dir.path().join("evening.toml"),
        "[[items]]\nsource = \"pattern:solid:#0000ff\"\nduration = 60.0\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let list = dir.path().join("show.toml");
    std::fs::write(
        &list,
        "[[items]]\nsource = \"pattern:solid:#ff0000\"\nduration = 60.0\n\
         [[schedule]]\nplaylist = \"evening.toml\"\nfrom = \"18:00\"\nto = \"23:00\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut program = program(&wall, &list);
    let mut renderer = Renderer::with_threads(&wall, 2).unwrap_or_else(|e| panic!("{e}"));
    let geometry = renderer.geometry().clone();
    let out = dir.path().join("wall.bin");
    let mut sinks = file_sinks(&wall, &geometry, &out);
    let n = 3 * u64::from(wall.refresh_hz);
    let mut options = EngineOptions::for_wall(&wall);
    options.ticks = Some(n);
    let control = Control {
        wall_clock: Some(stepping_clock),
        ..Control::default()
    };
    let stepper = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(1000));
        STEPPED.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let report = engine::run(
        &mut Cpu(&mut renderer),
        &geometry,
        &mut program,
        &mut sinks,
        SystemClock::new(),
        &options,
        &control,
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    stepper.join().unwrap_or_else(|_| panic!("stepper"));
    let p = &report.pacer;
    assert_eq!(p.ticks, n);
    assert_eq!(p.new + p.late + p.repeated, n, "every tick sent a frame");
    let period = Duration::from_secs(1) / wall.refresh_hz;
    assert!(
        p.lateness.max() < 8 * period,
        "a tick was {:?} late",
        p.lateness.max()
    );
    let frames = file_frames(&out, &geometry);
    assert_eq!(frames.len() as u64, n);
    let changes = frames.windows(2).filter(|w| w[0] != w[1]).count();
    assert_eq!(changes, 1, "red, then the evening playlist's blue");
    let switched = frames
        .windows(2)
        .position(|w| w[0] != w[1])
        .unwrap_or_default();
    // Stepped at 1 s, seen at the next poll (once a second): by 2.2 s at the latest.
    let hz = wall.refresh_hz as usize;
    assert!(
        (hz..hz * 22 / 10).contains(&switched),
        "switched at tick {switched}"
    );
}

/// A per-tick log that takes 30 ms to write each line (a disk under heavy writeback).
struct SlowDisk(Vec<u8>);

impl std::io::Write for SlowDisk {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.ends_with(b"\n") {
            std::thread::sleep(Duration::from_millis(30));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The per-tick log is written by a thread of its own: a slow disk under it delays no tick
/// (the records it cannot take in time are dropped and counted, not waited for).
#[test]
fn a_slow_tick_log_delays_no_tick() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let wall = tiny();
    let path = playlist(dir.path());
    let n = u64::from(wall.refresh_hz); // one second
    let mut renderer = Renderer::with_threads(&wall, 2).unwrap_or_else(|e| panic!("{e}"));
    let geometry = renderer.geometry().clone();
    let out = dir.path().join("wall.bin");
    let mut sinks = file_sinks(&wall, &geometry, &out);
    let mut options = EngineOptions::for_wall(&wall);
    options.ticks = Some(n);
    let mut program = program(&wall, &path);
    let mut slow = SlowDisk(Vec::new());
    let report = engine::run(
        &mut Cpu(&mut renderer),
        &geometry,
        &mut program,
        &mut sinks,
        SystemClock::new(),
        &options,
        &Control::default(),
        Some(&mut slow),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let p = &report.pacer;
    assert_eq!(p.ticks, n);
    let period = Duration::from_secs(1) / wall.refresh_hz;
    assert!(
        p.lateness.max() < 2 * period,
        "a tick was {:?} late: the output thread waited for the log",
        p.lateness.max()
    );
    // Every record was queued (the queue holds seconds of them) and written in the end.
    let csv = String::from_utf8(slow.0).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        csv.lines().count() as u64,
        n + 1,
        "a header and a line a tick"
    );
}

/// The monotonic clock, with a real-time clock that a test can step.
#[derive(Clone)]
struct SteppedClock {
    inner: SystemClock,
    step_ns: Arc<std::sync::atomic::AtomicI64>,
}

impl ledwall_player::engine::clock::Clock for SteppedClock {
    fn now(&self) -> Duration {
        self.inner.now()
    }
    fn sleep(&mut self, d: Duration) {
        self.inner.sleep(d);
    }
    fn spin(&mut self) {
        self.inner.spin();
    }
    fn realtime(&self) -> i64 {
        self.inner.realtime() + self.step_ns.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[test]
fn a_clock_step_back_with_an_epoch_replays_the_same_ticks_from_the_render_thread() {
    use ledwall_player::engine::clock::Clock;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let wall = tiny();
    let path = playlist(dir.path());
    let hz = u64::from(wall.refresh_hz);
    let mut renderer = Renderer::with_threads(&wall, 2).unwrap_or_else(|e| panic!("{e}"));
    let geometry = renderer.geometry().clone();
    let out = dir.path().join("wall.bin");
    let mut sinks = file_sinks(&wall, &geometry, &out);
    let clock = SteppedClock {
        inner: SystemClock::new(),
        step_ns: Arc::new(std::sync::atomic::AtomicI64::new(0)),
    };
    // The epoch was 10 s ago: ticks from about 600; 2 s of ticks, and 1 s back in between.
    let epoch = clock.realtime() - 10_000_000_000;
    let mut options = EngineOptions::for_wall(&wall);
    options.epoch = Some(epoch);
    options.first_tick = 10 * hz;
    options.ticks = Some(12 * hz);
    let mut program = program(&wall, &path);
    let step = Arc::clone(&clock.step_ns);
    let stepper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1000));
        step.store(-1_000_000_000, std::sync::atomic::Ordering::SeqCst);
    });
    let mut csv = Vec::new();
    let report = engine::run(
        &mut Cpu(&mut renderer),
        &geometry,
        &mut program,
        &mut sinks,
        clock,
        &options,
        &Control::default(),
        Some(&mut csv),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    stepper.join().unwrap_or_else(|_| panic!("stepper"));
    assert_eq!(report.pacer.clock_steps, Some(1));
    // (tick, frame_tick) of every send, in order: the frames in the file. (A run from
    // tick 600 writes no header: the header goes with tick 0.)
    let csv = String::from_utf8(csv).unwrap_or_else(|e| panic!("{e}"));
    let sends: Vec<(u64, u64)> = csv
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f[0].parse().ok()?, f[4].parse().ok()?))
        })
        .collect();
    let back = sends
        .windows(2)
        .position(|w| w[1].0 < w[0].0)
        .unwrap_or_else(|| panic!("no step back in {sends:?}"));
    let (before, after) = (sends[back].0, sends[back + 1].0);
    assert!(
        (before - after).abs_diff(hz) <= 2,
        "stepped back 1 s: tick {before} → {after}"
    );
    // The render thread followed at once: at most a couple of ticks repeat the frame
    // rendered before the step (without it, a second of them would).
    let stale = sends[back + 1..].iter().filter(|s| s.1 > s.0).count();
    assert!(
        stale <= 3,
        "{stale} ticks sent a frame from before the step"
    );
    // The ticks shown again carry the same frames as the first time.
    let frames = file_frames(&out, &geometry);
    assert_eq!(frames.len(), sends.len());
    let max = sends.iter().map(|s| s.1).max().unwrap_or_default();
    let want = direct(&wall, &path, max + 1);
    let mut checked = 0;
    for (i, &(tick, frame_tick)) in sends.iter().enumerate() {
        if tick == frame_tick {
            assert!(frames[i] == want[tick as usize], "tick {tick} differs");
            checked += 1;
        }
    }
    assert!(checked > hz, "only {checked} ticks sent their own frame");
}
