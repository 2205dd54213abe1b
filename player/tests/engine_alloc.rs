//! The playback engine's steady state allocates nothing: a video playlist and still
//! playlists played through the engine (render thread, channels, pacer) into null sinks,
//! with a counting global allocator (every thread counts: render thread, the renderer's
//! pool, the video reader, the output thread). Only ticks after a warm-up are counted.
//!
//! The brightness cases run with the control API's plumbing on (telemetry, a command
//! channel) and a brightness fade plus a blackout fade in progress over the counted ticks,
//! so every counted tick applies a new level to the renderer.
//!
//! One test function: the counter is process-wide, so scenarios must not overlap.

use ledwall_player::engine::clock::{Clock, FakeClock, SystemClock};
use ledwall_player::engine::pacer::Output;
use ledwall_player::engine::remote::RemoteSync;
use ledwall_player::engine::telemetry::{Shape, Telemetry, WallInfo};
use ledwall_player::engine::{self, Command as EngineCommand, Control, EngineOptions};
use ledwall_player::media::OpenOptions;
use ledwall_player::media::video::Ffmpeg;
use ledwall_player::multisync::{Master, MasterConfig, Remote, RemoteConfig};
use ledwall_player::patterns::Canvas;
use ledwall_player::playlist::Show;
use ledwall_player::reload::Program;
use ledwall_player::sinks::{SinkOptions, SinkSet};
use ledwall_render::wall::SinkUrl;
use ledwall_render::{AnyRenderer, BackendChoice, BackendOptions, Wall, WallFrame};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The player's counting allocator (the one the `ledwall` binary installs).
#[global_allocator]
static GLOBAL: ledwall_player::alloc::Counting = ledwall_player::alloc::Counting;

/// Allocations so far on every thread.
fn allocs() -> u64 {
    ledwall_player::alloc::mark_installed();
    ledwall_player::alloc::allocations()
        .unwrap_or_else(|| panic!("counting allocator not installed"))
}

/// Ticks before counting starts, and ticks counted.
const WARM: u64 = 100;
const COUNTED: u64 = 300;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn wall(name: &str) -> Wall {
    Wall::load(root().join("fixtures/walls").join(format!("{name}.toml")))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The null sinks, with the allocation counter read at tick `WARM` and `WARM + COUNTED`.
struct Counted {
    sinks: SinkSet,
    start: u64,
    end: Option<u64>,
}

impl Output for Counted {
    fn send_frame(&mut self, frame: &WallFrame, tick: u64) {
        if tick == WARM {
            self.start = allocs();
        }
        if tick == WARM + COUNTED {
            self.end = Some(allocs());
        }
        self.sinks.send_frame(frame, tick);
    }
}

struct Outcome {
    allocs: u64,
    rendered: u64,
    unchanged: u64,
    new: u64,
}

/// Play `playlist` on `wall` for `WARM + COUNTED + 1` ticks at `hz`; allocations counted
/// between tick `WARM` and tick `WARM + COUNTED`.
fn play(wall: &Wall, playlist: &Path, hz: u32, clock: impl Clock, lockstep: bool) -> Outcome {
    play_with(
        wall,
        playlist,
        hz,
        clock,
        lockstep,
        false,
        Control::default(),
    )
}

/// [`play`], with `fade`: telemetry on and a brightness and a blackout fade running through
/// the counted ticks.
fn play_with(
    wall: &Wall,
    playlist: &Path,
    hz: u32,
    clock: impl Clock,
    lockstep: bool,
    fade: bool,
    base: Control,
) -> Outcome {
    let show = Show::load(playlist).unwrap_or_else(|e| panic!("{e}"));
    let opts = OpenOptions::new(Canvas::from_wall(wall));
    let now = jiff::civil::date(2026, 5, 4).at(12, 0, 0, 0);
    let mut program = Program::new(playlist, show, hz, opts, now);
    let backend = BackendOptions {
        choice: BackendChoice::Cpu,
        adapter: None,
        threads: 2,
    };
    let (mut renderer, _) = AnyRenderer::new(wall, &backend).unwrap_or_else(|e| panic!("{e}"));
    let geometry = renderer.geometry().clone();
    let urls = vec![SinkUrl::Null; geometry.ports.len()];
    let sinks = SinkSet::open(wall, &geometry, &urls, &SinkOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut out = Counted {
        sinks,
        start: 0,
        end: None,
    };
    let mut options = EngineOptions::for_wall(wall);
    options.hz = hz;
    options.ticks = Some(WARM + COUNTED + 1);
    options.poll_every = None;
    options.lockstep = lockstep;
    let mut control = base;
    if fade {
        let labels = vec![("all".to_string(), "null".to_string()); out.sinks.sinks().len()];
        let info = WallInfo {
            name: wall.name.clone(),
            width: wall.width,
            height: wall.height,
            refresh_hz: hz,
        };
        let shape = Shape::new(
            info,
            geometry.clone(),
            labels,
            program.open_options().clone(),
        );
        control.telemetry = Some(Arc::new(Telemetry::new(shape)));
        let (tx, rx) = crossbeam_channel::bounded(8);
        // Both fades last past the counted ticks: the level changes at every one of them.
        let seconds = (WARM + COUNTED) as f64 * 2.0 / f64::from(hz);
        let _ = tx.send(EngineCommand::Brightness {
            level: 0.1,
            fade_s: seconds,
        });
        let _ = tx.send(EngineCommand::Blackout {
            on: true,
            fade_s: seconds,
        });
        control.commands = Some(rx);
    }
    let report = engine::run_into(
        &mut renderer,
        &geometry,
        &mut program,
        &mut out,
        clock,
        &options,
        &control,
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let end = out
        .end
        .unwrap_or_else(|| panic!("tick {} never ran", WARM + COUNTED));
    Outcome {
        allocs: end - out.start,
        rendered: report.render.frames,
        unchanged: report.render.unchanged,
        new: report.pacer.new + report.pacer.late,
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// ffmpeg, or `None` after a loud skip message (a failure under CI).
fn ffmpeg() -> Option<Ffmpeg> {
    let ff = Ffmpeg::from_env();
    if ff.available() {
        return Some(ff);
    }
    let msg = "ffmpeg is not installed (or LEDWALL_FFMPEG is wrong): the video case cannot run";
    if std::env::var_os("CI").is_some() {
        panic!("{msg}");
    }
    eprintln!("\n*** SKIPPED: {msg} ***\n");
    None
}

#[test]
fn steady_state_playback_allocates_nothing() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let demo = wall("demo"); // ordered+temporal dither: every tick renders
    let tiny = wall("tiny"); // no dither: a held still is not rendered again

    // A still, on both walls, in real time at 240 Hz.
    let still = tmp.path().join("still.toml");
    let photo = root().join("fixtures/media/photo-160x90.jpg");
    write(
        &still,
        &format!(
            "[[items]]\nsource = {:?}\nduration = 600.0\nfit = \"cover\"\n",
            photo.display().to_string()
        ),
    );
    let o = play(&demo, &still, 240, SystemClock::new(), false);
    eprintln!(
        "still, demo wall: {} rendered, {} new ticks, {} allocations",
        o.rendered, o.new, o.allocs
    );
    assert_eq!(o.allocs, 0, "still on the demo wall");
    assert!(o.rendered > 0);
    // In lockstep on a fake clock (every tick rendered and sent, as fast as it goes).
    let o = play(
        &demo,
        &still,
        60,
        FakeClock::new(Duration::from_micros(50)),
        true,
    );
    eprintln!(
        "still, demo wall, lockstep: {} rendered, {} new ticks, {} allocations",
        o.rendered, o.new, o.allocs
    );
    assert_eq!(
        o.new,
        WARM + COUNTED + 1,
        "lockstep sends every tick's own frame"
    );
    assert_eq!(o.allocs, 0, "still on the demo wall, lockstep");
    let o = play(&tiny, &still, 240, SystemClock::new(), false);
    eprintln!(
        "still, tiny wall: {} rendered, {} unchanged, {} allocations",
        o.rendered, o.unchanged, o.allocs
    );
    assert_eq!(o.allocs, 0, "still on the tiny wall");
    assert!(o.unchanged > 0, "the held still was skipped");

    // An FPP MultiSync master (unicast to a socket here): a 0.5 s still that loops, so
    // the counted ticks send syncs and, at each restart, a stop and a start; on the tiny
    // wall most ticks are not rendered, and the master still hears of every one.
    let short = tmp.path().join("short.toml");
    write(
        &short,
        &format!(
            "[[items]]\nsource = {:?}\nduration = 0.5\nfit = \"cover\"\n",
            photo.display().to_string()
        ),
    );
    let listener = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let to = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string();
    let config = MasterConfig::unicast([to.as_str()], 1).unwrap_or_else(|e| panic!("{e}"));
    let master = Arc::new(Mutex::new(
        Master::new(&config).unwrap_or_else(|e| panic!("{e}")),
    ));
    for (w, name) in [(&demo, "demo"), (&tiny, "tiny")] {
        let before = master.lock().map(|m| m.stats().packets).unwrap_or(0);
        let o = play_with(
            w,
            &short,
            240,
            SystemClock::new(),
            false,
            false,
            Control {
                multisync: Some(Arc::clone(&master)),
                ..Control::default()
            },
        );
        let sent = master.lock().map(|m| m.stats().packets).unwrap_or(0) - before;
        eprintln!(
            "still, {name} wall, multisync master: {} rendered, {} unchanged, {sent} packets, \
             {} allocations",
            o.rendered, o.unchanged, o.allocs
        );
        assert_eq!(o.allocs, 0, "multisync master on the {name} wall");
        // 401 ticks: 4 items started (120 ticks each), 16 syncs a whole item, 4 stops.
        assert!(sent > 40, "{sent} packets sent");
    }

    // An FPP MultiSync remote following a master (a thread sending the same item's
    // position by its own clock, unicast to the remote's port): every counted tick reads
    // the master's latest packets, decides and may move the item or stretch the period.
    {
        let remote = Remote::start(&RemoteConfig {
            port: 0,
            group: None,
            iface: None,
            lost_after: Duration::from_secs(10),
            masters: Vec::new(),
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let to = format!("127.0.0.1:{}", remote.local_addr().port());
        let sync = Arc::new(RemoteSync::new(remote, Duration::from_secs(10)));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let config = MasterConfig::unicast([to.as_str()], 1).unwrap_or_else(|e| panic!("{e}"));
        let mut m = Master::new(&config).unwrap_or_else(|e| panic!("{e}"));
        let name = photo.display().to_string();
        let sender = std::thread::spawn({
            let stop = Arc::clone(&stop);
            move || {
                // 3 ticks ahead of the remote's start and 0.8 % faster: it corrects. The
                // frame wraps every 120 (half a second): a jump back of 119 frames is just
                // under the 0.5 s jump threshold, so the remote holds a frame there (as an
                // FPP remote would) instead of jumping.
                let t0 = std::time::Instant::now();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let f = (t0.elapsed().as_secs_f64() * 242.0) as u32 + 3;
                    let f = f % 120;
                    m.show(&name, f, f as f32 / 240.0);
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        });
        let o = play_with(
            &tiny,
            &short,
            240,
            SystemClock::new(),
            false,
            false,
            Control {
                remote: Some(Arc::clone(&sync)),
                ..Control::default()
            },
        );
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = sender.join();
        let (s, c) = (sync.stats(), sync.counts());
        eprintln!(
            "still, tiny wall, multisync remote: {} rendered, {} packets, {c:?}, {} \
             allocations",
            o.rendered, s.packets, o.allocs
        );
        assert_eq!(o.allocs, 0, "multisync remote");
        assert!(s.syncs > 20, "{s:?}");
        assert!(c.stretched_ticks > 0, "{c:?}");
    }

    // Brightness and blackout fading (the control API's commands) on both walls: every
    // tick renders at a new level, through the still cache.
    for (w, name) in [(&demo, "demo"), (&tiny, "tiny")] {
        let o = play_with(
            w,
            &still,
            240,
            SystemClock::new(),
            false,
            true,
            Control::default(),
        );
        eprintln!(
            "still, {name} wall, fading: {} rendered, {} unchanged, {} allocations",
            o.rendered, o.unchanged, o.allocs
        );
        assert_eq!(o.allocs, 0, "fading still on the {name} wall");
        assert!(
            o.rendered > COUNTED / 2,
            "a fade renders every tick ({} rendered)",
            o.rendered
        );
    }

    // A video (ffmpeg testsrc2, 20 s so the counted ticks stay within one pass), in real
    // time. (Not in lockstep: there the render thread races the decoder, and the first time
    // either thread ever blocks on the decoder's std channel, std allocates that thread's
    // wait context and the channel's waiter list once: not per frame, but possibly after
    // the warm-up.)
    let Some(ff) = ffmpeg() else { return };
    let clip = tmp.path().join("clip.mkv");
    let out = Command::new(&ff.ffmpeg)
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=96x54:rate=25:duration=20")
        .args(["-c:v", "ffv1"])
        .arg(&clip)
        .output()
        .unwrap_or_else(|e| panic!("ffmpeg: {e}"));
    assert!(
        out.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let video = tmp.path().join("video.toml");
    write(
        &video,
        &format!(
            "[[items]]\nsource = {:?}\nfit = \"contain\"\n",
            clip.display().to_string()
        ),
    );
    let o = play(&demo, &video, 60, SystemClock::new(), false);
    eprintln!(
        "video, real time: {} rendered, {} new ticks, {} allocations",
        o.rendered, o.new, o.allocs
    );
    assert_eq!(o.allocs, 0, "video in real time");
    let o = play_with(
        &tiny,
        &video,
        60,
        SystemClock::new(),
        false,
        true,
        Control::default(),
    );
    eprintln!(
        "video, tiny wall, fading: {} rendered, {} allocations",
        o.rendered, o.allocs
    );
    assert_eq!(o.allocs, 0, "fading video (the 1:1 and scaled paths)");
}
