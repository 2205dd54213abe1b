//! `display:` outputs under a real X server: each case starts from a frame published into a
//! [`Mailbox`], lets [`run_with_displays`] present it through wgpu into a window on an Xvfb
//! screen, captures the screen with `xwd -root`, and requires the region to equal the frame
//! bytes exactly and everything around it to be black; then a second frame must replace it.
//!
//! No libtest harness (`harness = false`): winit's event loop wants the main thread, and it
//! allows one event loop per process, which also fixes the X server it talks to. So `main`
//! is a driver: it starts the Xvfb servers and runs each case as a child process of this
//! same binary (`--display-case=NAME`, with `DISPLAY` and `WGPU_BACKEND` set), once on the
//! default wgpu backend and once on GL.
//!
//! One more case (`monitor-change`, on a server of its own) makes the monitor disappear,
//! come back and change its mode (size and refresh rate) while playing, with `xrandr`:
//! Xvfb's one RandR output, `screen`, can be switched off and given other modes. (Not
//! moved: xrandr shifts its outputs so the top-left one is at 0,0, and Xvfb has one.)
//!
//! Without `Xvfb` or `xwd` (or `xrandr`, for the monitor case) the test says SKIP loudly and
//! passes, except under `CI`, where it fails (scripts/test installs them).

use ledwall_player::display::{
    DisplayTarget, Mailbox, Mode, MonitorSel, PresenterState, list_monitors, run_with_displays,
};
use std::process::{Child, Command, ExitCode, Stdio};

mod x11;
use std::sync::Arc;
use std::time::{Duration, Instant};
use x11::{Shot, Xvfb, capture, on_path};

/// How long a child case may take before it is killed.
const CASE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a published frame may take to be presented.
const PRESENT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the screen may take to show a presented frame (the X server draws it after
/// `present()` returns).
const CAPTURE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a monitor change may take to be noticed (RandR's notification reaches the
/// displays at once; they also look every 2 s).
const MONITOR_TIMEOUT: Duration = Duration::from_secs(5);
/// The monitor case's name.
const MONITOR_CASE: &str = "monitor-change";

/// One placement to check.
struct Case {
    name: &'static str,
    screen: [u32; 2],
    offset: [u32; 2],
    size: [u32; 2],
    mode: Mode,
}

const CASES: [Case; 3] = [
    // All 256 codes of every channel, at an offset on a small screen.
    Case {
        name: "fullscreen",
        screen: [640, 480],
        offset: [37, 21],
        size: [200, 120],
        mode: Mode::Fullscreen,
    },
    // Another layout: a wide screen, an odd region (its byte length is not a multiple of 4).
    Case {
        name: "wide",
        screen: [1280, 400],
        offset: [700, 33],
        size: [333, 97],
        mode: Mode::Fullscreen,
    },
    // A plain window of the region's size at monitor + offset (no window manager moves it).
    Case {
        name: "window",
        screen: [640, 480],
        offset: [5, 250],
        size: [64, 33],
        mode: Mode::Window,
    },
];

fn main() -> ExitCode {
    let case = std::env::args().find_map(|a| a.strip_prefix("--display-case=").map(String::from));
    match case {
        Some(name) => child(&name),
        None => driver(),
    }
}

// --- the driver ---------------------------------------------------------------------------

/// A child run of one case.
struct Run {
    what: String,
    child: Child,
    started: Instant,
}

fn spawn_case(case: &str, display: &str, backend: Option<&str>) -> Result<Run, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(exe);
    cmd.arg(format!("--display-case={case}"))
        .env("DISPLAY", display)
        // Mesa's device-select layer prints a line per instance without XDG_RUNTIME_DIR.
        .env("NODEVICE_SELECT", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(b) = backend {
        cmd.env("WGPU_BACKEND", b);
    }
    let what = format!(
        "{case} on DISPLAY={display}, WGPU_BACKEND={}",
        backend
            .map(String::from)
            .or_else(|| std::env::var("WGPU_BACKEND").ok())
            .unwrap_or_else(|| "(default)".to_string())
    );
    let child = cmd.spawn().map_err(|e| format!("{what}: {e}"))?;
    Ok(Run {
        what,
        child,
        started: Instant::now(),
    })
}

/// Wait for a child case; print its output; whether it passed.
fn finish(mut run: Run) -> bool {
    let status = loop {
        match run.child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if run.started.elapsed() > CASE_TIMEOUT => {
                let _ = run.child.kill();
                let _ = run.child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break None,
        }
    };
    let output = run.child.wait_with_output();
    let (stdout, stderr) = output
        .map(|o| {
            (
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
        .unwrap_or_default();
    let passed = status.is_some_and(|s| s.success());
    let took = run.started.elapsed().as_secs_f64();
    if passed {
        println!("ok   {} ({took:.1} s)", run.what);
        for line in stdout.lines() {
            println!("       {line}");
        }
    } else {
        let why = match status {
            None => format!("timed out after {} s", CASE_TIMEOUT.as_secs()),
            Some(s) => s.to_string(),
        };
        println!("FAIL {} ({why}, {took:.1} s)", run.what);
        for line in stdout.lines().chain(stderr.lines()) {
            println!("     | {line}");
        }
    }
    passed
}

fn driver() -> ExitCode {
    let started = Instant::now();
    let missing: Vec<&str> = ["Xvfb", "xwd"]
        .into_iter()
        .filter(|p| !on_path(p))
        .collect();
    if !missing.is_empty() {
        let msg = format!(
            "SKIP display tests: {} not installed (Debian: xvfb, x11-apps; scripts/test \
             installs them)",
            missing.join(" and ")
        );
        eprintln!("\n!!!!!!!! {msg} !!!!!!!!\n");
        return if std::env::var_os("CI").is_some() {
            eprintln!("CI is set: a skipped display test is a failure");
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        };
    }
    let with_xrandr = on_path("xrandr");
    let mut all = true;
    if !with_xrandr {
        let msg = "SKIP display test case monitor-change: xrandr not installed (Debian: \
                   x11-xserver-utils)";
        eprintln!("\n!!!!!!!! {msg} !!!!!!!!\n");
        if std::env::var_os("CI").is_some() {
            eprintln!("CI is set: a skipped display test is a failure");
            all = false;
        }
    }
    let servers = (|| {
        Ok::<_, String>((
            Xvfb::start(CASES[0].screen)?,
            Xvfb::start(CASES[1].screen)?,
            if with_xrandr {
                Some(Xvfb::start(MONITOR_SCREEN)?)
            } else {
                None
            },
        ))
    })();
    let (small, wide, changing) = match servers {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot start Xvfb: {e}");
            return ExitCode::FAILURE;
        }
    };
    let small_display = format!(":{}", small.display);
    let wide_display = format!(":{}", wide.display);
    let changing_display = changing.as_ref().map(|x| format!(":{}", x.display));
    let mut run = |runs: Vec<Result<Run, String>>| {
        for r in runs {
            match r {
                Ok(r) => all &= finish(r),
                Err(e) => {
                    println!("FAIL {e}");
                    all = false;
                }
            }
        }
    };
    // Errors, not panics, without an X server.
    run(vec![spawn_case("no-display", ":9999", None)]);
    for backend in [None, Some("gl")] {
        // The two screens in parallel, then the window case on the first screen again,
        // beside the monitor case on its own server.
        run(vec![
            spawn_case(CASES[0].name, &small_display, backend),
            spawn_case(CASES[1].name, &wide_display, backend),
        ]);
        let mut last = vec![spawn_case(CASES[2].name, &small_display, backend)];
        if let Some(d) = &changing_display {
            last.push(spawn_case(MONITOR_CASE, d, backend));
        }
        run(last);
    }
    println!(
        "display tests: {} in {:.1} s",
        if all { "passed" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    drop((small, wide, changing));
    if all {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

// --- a child: one case ----------------------------------------------------------------------

fn child(name: &str) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let result = if name == "no-display" {
        no_display()
    } else if name == MONITOR_CASE {
        monitor_change()
    } else {
        match CASES.iter().find(|c| c.name == name) {
            Some(case) => run_case(case),
            None => Err(format!("no case {name:?}")),
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// With an unreachable X server both entry points answer with an error.
fn no_display() -> Result<(), String> {
    let listed = list_monitors();
    let Err(e) = listed else {
        return Err(format!("list_monitors without a server: {listed:?}"));
    };
    println!("list_monitors: {e}");
    let target = DisplayTarget {
        label: "display:0".to_string(),
        monitor: MonitorSel::Index(0),
        offset: [0, 0],
        mode: Mode::Fullscreen,
        size: [4, 4],
        refresh_hz: 60,
        mailbox: Arc::new(Mailbox::new(4 * 4 * 3)),
    };
    match run_with_displays(vec![target], |_| ()) {
        Ok(()) => Err("run_with_displays without a server succeeded".to_string()),
        Err(e) => {
            println!("run_with_displays: {e}");
            Ok(())
        }
    }
}

/// A frame where every pixel differs from its neighbours in every channel, with the
/// extreme codes in the corners.
fn pattern(size: [u32; 2]) -> Vec<u8> {
    let [w, h] = size;
    let mut f = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            f.push(((x + 3 * y) % 256) as u8);
            f.push(((5 * x + 2 * y) % 256) as u8);
            f.push(((7 * x + 13 * y + 11) % 256) as u8);
        }
    }
    let corners = [
        (0, 0, [0, 1, 254]),
        (w - 1, 0, [255, 0, 1]),
        (0, h - 1, [254, 255, 0]),
        (w - 1, h - 1, [1, 254, 255]),
    ];
    for (x, y, rgb) in corners {
        let i = ((y * w + x) * 3) as usize;
        f[i..i + 3].copy_from_slice(&rgb);
    }
    f
}

fn run_case(case: &Case) -> Result<(), String> {
    // Listing first also proves the event loop can be run again by run_with_displays.
    let monitors = list_monitors().map_err(|e| format!("list_monitors: {e}"))?;
    for m in &monitors {
        println!(
            "monitor {}: {}, {}x{} at {},{}, refresh {:?} mHz",
            m.index,
            m.name,
            m.size[0],
            m.size[1],
            m.position[0],
            m.position[1],
            m.refresh_millihertz
        );
    }
    match monitors.first() {
        Some(m) if m.size == case.screen && m.position == [0, 0] => {}
        other => return Err(format!("monitor 0 should be the whole screen: {other:?}")),
    }

    let [w, h] = case.size;
    let first = pattern(case.size);
    if case.size[0] * case.size[1] >= 256 * 40 {
        for ch in 0..3 {
            let mut seen = [false; 256];
            first
                .iter()
                .skip(ch)
                .step_by(3)
                .for_each(|&v| seen[v as usize] = true);
            if !seen.iter().all(|&s| s) {
                return Err(format!("the pattern misses codes of channel {ch}"));
            }
        }
    }
    let second: Vec<u8> = first.iter().map(|v| v ^ 0x5a).collect();
    let mailbox = Arc::new(Mailbox::new((w * h * 3) as usize));
    let mut targets = vec![DisplayTarget {
        label: format!("display:0?x={}&y={}", case.offset[0], case.offset[1]),
        monitor: MonitorSel::Index(0),
        offset: case.offset,
        mode: case.mode,
        size: case.size,
        refresh_hz: 60,
        mailbox: Arc::clone(&mailbox),
    }];
    // A target whose monitor does not exist must wait, not fail.
    let absent = Arc::new(Mailbox::new(4 * 4 * 3));
    if case.mode == Mode::Fullscreen {
        targets.push(DisplayTarget {
            label: "display:7".to_string(),
            monitor: MonitorSel::Index(7),
            offset: [0, 0],
            mode: Mode::Fullscreen,
            size: [4, 4],
            refresh_hz: 60,
            mailbox: Arc::clone(&absent),
        });
    }
    let screen = case.screen;
    let offset = case.offset;
    let region = case.size;
    let check_surround = case.mode == Mode::Fullscreen;
    let started = Instant::now();
    let body_mailbox = Arc::clone(&mailbox);
    let body_absent = Arc::clone(&absent);
    let result = run_with_displays(targets, move |_| -> Result<Vec<String>, String> {
        let mailbox = body_mailbox;
        let mut notes = Vec::new();
        if check_surround && body_absent.stats().state != PresenterState::WaitingForMonitor {
            return Err(format!(
                "the target on a missing monitor should wait: {:?}",
                body_absent.stats()
            ));
        }
        for (tick, frame) in [(1, &first), (2, &second)] {
            let t0 = Instant::now();
            mailbox.publish(frame, tick);
            wait_presented(&mailbox, tick)?;
            let presented = t0.elapsed();
            let shown = expect_on_screen(screen, screen, offset, region, frame, check_surround)
                .map_err(|e| format!("frame {tick}: {e}"))?;
            notes.push(format!(
                "frame {tick}: presented after {:.1} ms, exact on screen after {:.1} ms ({shown} captures)",
                presented.as_secs_f64() * 1e3,
                t0.elapsed().as_secs_f64() * 1e3
            ));
        }
        Ok(notes)
    })
    .map_err(|e| format!("run_with_displays: {e}"))?;
    let notes = result?;
    for n in notes {
        println!("{n}");
    }
    let s = mailbox.stats();
    println!(
        "mailbox: published {}, presented {}, redraws {}, replaced unseen {}, errors {}, \
         present time last {:?} max {:?} mean {:?}; whole case {:.2} s",
        s.published,
        s.presented,
        s.redraws,
        s.replaced_unseen,
        s.errors,
        s.present_last,
        s.present_max,
        s.present_mean(),
        started.elapsed().as_secs_f64()
    );
    if s.presented < 2 || s.errors != 0 || s.state != PresenterState::Stopped {
        return Err(format!("unexpected stats: {s:?}"));
    }
    if check_surround {
        let a = absent.stats();
        // The state ends as Stopped; a missing monitor never counts as presented.
        if a.presented != 0 || a.state != PresenterState::Stopped {
            return Err(format!("the absent monitor's target: {a:?}"));
        }
    }
    Ok(())
}

fn wait_presented(mailbox: &Mailbox, tick: u64) -> Result<(), String> {
    let deadline = Instant::now() + PRESENT_TIMEOUT;
    loop {
        let s = mailbox.stats();
        if s.presented_tick.is_some_and(|t| t >= tick) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "frame {tick} not presented in {} s: {s:?}",
                PRESENT_TIMEOUT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Capture the screen until the region shows `frame` exactly (and, if `surround`, all
/// else is black); the number of captures it took, or the last mismatch. Only what lies
/// inside `monitor` (its size, at 0,0) of the region is shown; the rest must be black.
fn expect_on_screen(
    screen: [u32; 2],
    monitor: [u32; 2],
    offset: [u32; 2],
    size: [u32; 2],
    frame: &[u8],
    surround: bool,
) -> Result<usize, String> {
    let deadline = Instant::now() + CAPTURE_TIMEOUT;
    let mut captures = 0;
    loop {
        captures += 1;
        let shot = capture()?;
        if [shot.width, shot.height] != screen {
            return Err(format!(
                "the capture is {}x{}, the screen {}x{}",
                shot.width, shot.height, screen[0], screen[1]
            ));
        }
        let problem = compare(&shot, monitor, offset, size, frame, surround);
        match problem {
            None => return Ok(captures),
            Some(p) if Instant::now() > deadline => {
                return Err(format!(
                    "not on screen after {} s ({captures} captures): {p}",
                    CAPTURE_TIMEOUT.as_secs()
                ));
            }
            Some(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// What differs between the capture and the expectation, if anything.
fn compare(
    shot: &Shot,
    monitor: [u32; 2],
    offset: [u32; 2],
    size: [u32; 2],
    frame: &[u8],
    surround: bool,
) -> Option<String> {
    let mut wrong = 0usize;
    let mut examples = Vec::new();
    let mut note = |x: u32, y: u32, want: [u8; 3], got: [u8; 3]| {
        wrong += 1;
        if examples.len() < 5 {
            examples.push(format!("({x},{y}) want {want:?} got {got:?}"));
        }
    };
    for y in 0..shot.height {
        for x in 0..shot.width {
            let inside = x >= offset[0]
                && y >= offset[1]
                && x < offset[0] + size[0]
                && y < offset[1] + size[1];
            let shown = x < monitor[0] && y < monitor[1];
            let want = if inside && shown {
                let i = (((y - offset[1]) * size[0] + (x - offset[0])) * 3) as usize;
                [frame[i], frame[i + 1], frame[i + 2]]
            } else if surround || inside {
                [0, 0, 0]
            } else {
                continue;
            };
            let got = shot.rgb(x, y);
            if got != want {
                note(x, y, want, got);
            }
        }
    }
    (wrong > 0).then(|| format!("{wrong} pixels differ, e.g. {}", examples.join(", ")))
}

// --- the monitor case -----------------------------------------------------------------------

/// The monitor case's screen; its one monitor (RandR output `screen`) is switched off and
/// on, then given a mode of `MONITOR_SMALL` (the screen keeps its size).
const MONITOR_SCREEN: [u32; 2] = [640, 480];
const MONITOR_SMALL: [u32; 2] = [320, 240];

/// Run `xrandr` on the X server `DISPLAY` names.
fn xrandr(args: &[&str]) -> Result<(), String> {
    let out = Command::new("xrandr")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run xrandr: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "xrandr {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// Wait until the presenter's state is `state`; how long it took.
fn wait_state(mailbox: &Mailbox, state: PresenterState) -> Result<Duration, String> {
    let t0 = Instant::now();
    loop {
        let s = mailbox.stats();
        if s.state == state {
            return Ok(t0.elapsed());
        }
        if t0.elapsed() > MONITOR_TIMEOUT {
            return Err(format!(
                "not {state:?} after {} s: {s:?}",
                MONITOR_TIMEOUT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The monitor disappears while a frame is shown, comes back, then changes size and refresh
/// rate: the window must close (the screen goes black, the target waits) while publishing
/// goes on unhindered, and reopen each time with the newest frame exact, the second time
/// as large as the monitor's new mode (the old window's area around it black).
fn monitor_change() -> Result<(), String> {
    let monitors = list_monitors().map_err(|e| format!("list_monitors: {e}"))?;
    match monitors.as_slice() {
        [m] if m.size == MONITOR_SCREEN && m.position == [0, 0] && m.name == "screen" => {}
        other => {
            return Err(format!(
                "expected one monitor \"screen\" 640x480: {other:?}"
            ));
        }
    }
    // Inside the 640x480 monitor, partly outside the 320x240 one.
    let (offset, size) = ([200, 150], [200, 120]);
    let frames: Vec<Vec<u8>> = [0u8, 0x5a, 0xc3, 0x3c]
        .iter()
        .map(|x| pattern(size).iter().map(|v| v ^ x).collect())
        .collect();
    let mailbox = Arc::new(Mailbox::new(frames[0].len()));
    let target = DisplayTarget {
        label: "display:0".to_string(),
        monitor: MonitorSel::Index(0),
        offset,
        mode: Mode::Fullscreen,
        size,
        refresh_hz: 60,
        mailbox: Arc::clone(&mailbox),
    };
    // A mode of its own name (the server outlives a case: the other backend's run comes
    // next), with timings for 60 Hz.
    let mode = format!("ledwall-test-{}", std::process::id());
    let started = Instant::now();
    let body_mailbox = Arc::clone(&mailbox);
    let body_mode = mode.clone();
    let result = run_with_displays(vec![target], move |_| -> Result<Vec<String>, String> {
        let (mailbox, mode) = (body_mailbox, body_mode);
        let mut notes = Vec::new();
        let mut slowest_publish = Duration::ZERO;
        let mut publish = |tick: u64| {
            let t0 = Instant::now();
            mailbox.publish(&frames[tick as usize - 1], tick);
            slowest_publish = slowest_publish.max(t0.elapsed());
        };

        // Shown.
        publish(1);
        wait_presented(&mailbox, 1)?;
        expect_on_screen(
            MONITOR_SCREEN,
            MONITOR_SCREEN,
            offset,
            size,
            &frames[0],
            true,
        )
        .map_err(|e| format!("frame 1: {e}"))?;

        // The monitor goes: the target waits, its window is closed (all black).
        xrandr(&["--output", "screen", "--off", "--fb", "640x480"])?;
        let noticed = wait_state(&mailbox, PresenterState::WaitingForMonitor)
            .map_err(|e| format!("after the monitor went: {e}"))?;
        expect_on_screen(MONITOR_SCREEN, MONITOR_SCREEN, [0, 0], [0, 0], &[], true)
            .map_err(|e| format!("the window should be closed: {e}"))?;
        notes.push(format!(
            "monitor off: waiting after {:.1} ms, screen black",
            noticed.as_secs_f64() * 1e3
        ));
        // Publishing goes on; nothing is presented meanwhile.
        publish(2);
        std::thread::sleep(Duration::from_millis(100));
        let s = mailbox.stats();
        if s.presented_tick != Some(1) || s.state != PresenterState::WaitingForMonitor {
            return Err(format!("while the monitor is off: {s:?}"));
        }

        // It comes back: reopened with the newest frame, exact.
        let t0 = Instant::now();
        xrandr(&["--output", "screen", "--auto"])?;
        wait_presented(&mailbox, 2)?;
        wait_state(&mailbox, PresenterState::Showing)?;
        expect_on_screen(
            MONITOR_SCREEN,
            MONITOR_SCREEN,
            offset,
            size,
            &frames[1],
            true,
        )
        .map_err(|e| format!("frame 2 after the monitor came back: {e}"))?;
        notes.push(format!(
            "monitor on: frame 2 exact on screen after {:.1} ms",
            t0.elapsed().as_secs_f64() * 1e3
        ));

        // Its mode changes (320x240, 60 Hz; the screen keeps its size): the window is
        // reopened at that size, showing the part of the region inside it; the old one is
        // gone (the rest of the region and all else black).
        let [w, h] = MONITOR_SMALL;
        let timings = [w + 10, w + 20, w + 30, h + 10, h + 20, h + 30].map(|v| v.to_string());
        let clock = format!("{:.4}", f64::from((w + 30) * (h + 30)) * 60.0 / 1e6);
        let mut newmode = vec!["--newmode", &mode, &clock, "320"];
        newmode.extend(timings[..3].iter().map(String::as_str));
        newmode.push("240");
        newmode.extend(timings[3..].iter().map(String::as_str));
        xrandr(&newmode)?;
        xrandr(&["--addmode", "screen", &mode])?;
        let t0 = Instant::now();
        xrandr(&["--output", "screen", "--mode", &mode, "--fb", "640x480"])?;
        expect_on_screen(
            MONITOR_SCREEN,
            MONITOR_SMALL,
            offset,
            size,
            &frames[1],
            true,
        )
        .map_err(|e| format!("frame 2 after the monitor changed: {e}"))?;
        notes.push(format!(
            "monitor {w}x{h}: frame 2 exact in the reopened window after {:.1} ms",
            t0.elapsed().as_secs_f64() * 1e3
        ));
        for tick in [3, 4] {
            publish(tick);
            wait_presented(&mailbox, tick)?;
            expect_on_screen(
                MONITOR_SCREEN,
                MONITOR_SMALL,
                offset,
                size,
                &frames[tick as usize - 1],
                true,
            )
            .map_err(|e| format!("frame {tick} on the changed monitor: {e}"))?;
        }
        let s = mailbox.stats();
        if s.state != PresenterState::Showing {
            return Err(format!("after the change: {s:?}"));
        }
        // A publish is a copy into a free buffer, whatever the windows do.
        if slowest_publish > Duration::from_millis(200) {
            return Err(format!("a publish took {slowest_publish:?}"));
        }
        notes.push(format!(
            "frames 3 and 4 exact on the changed monitor; slowest publish {slowest_publish:?}"
        ));
        Ok(notes)
    });
    // Put the monitor back for the next run on this server (the case's client still holds
    // the server, so it has not reset).
    let restored = xrandr(&[
        "--output", "screen", "--mode", "640x480", "--pos", "0x0", "--fb", "640x480",
    ])
    .and_then(|()| xrandr(&["--delmode", "screen", &mode]))
    .and_then(|()| xrandr(&["--rmmode", &mode]));
    let notes = result.map_err(|e| format!("run_with_displays: {e}"))??;
    for n in notes {
        println!("{n}");
    }
    restored.map_err(|e| format!("restoring the monitor: {e}"))?;
    let s = mailbox.stats();
    println!(
        "mailbox: published {}, presented {}, redraws {}, replaced unseen {}, errors {}; whole \
         case {:.2} s",
        s.published,
        s.presented,
        s.redraws,
        s.replaced_unseen,
        s.errors,
        started.elapsed().as_secs_f64()
    );
    if s.presented < 4 || s.errors != 0 || s.state != PresenterState::Stopped {
        return Err(format!("unexpected stats: {s:?}"));
    }
    Ok(())
}
