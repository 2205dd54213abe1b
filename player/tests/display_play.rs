//! `ledwall play` into `display:` sinks under a real X server (Xvfb), end to end: the real
//! binary plays a moving show (a photograph and colour bars crossfading) into windows, the
//! test captures the screen while it plays, and every capture must show, at the region's
//! place, exactly the bytes of one frame that the player rendered for that port. The bytes
//! come from `file:` copies of the same regions (canvas ports may overlap, so a copy port
//! with the same region and encoding carries the same bytes every tick). Both encodings,
//! both backends, window and fullscreen modes, and a wide screen with the region far from
//! the origin.
//!
//! Without `Xvfb` or `xwd` the tests say SKIP loudly and pass, except under `CI`, where
//! they fail (scripts/test installs them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod x11;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use x11::{Shot, Xvfb, capture_on, on_path};

/// Xvfb and xwd, or a loud skip (a failure under `CI`).
fn tools() -> bool {
    if on_path("Xvfb") && on_path("xwd") {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "Xvfb or xwd missing under CI: scripts/test installs them"
    );
    eprintln!("SKIP: Xvfb or xwd is not installed; display output not tested");
    false
}

fn media(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/media")
        .join(name)
}

/// A region shown on screen and the file copy holding its bytes.
struct Shown {
    /// Top-left on the screen.
    at: [u32; 2],
    size: [u32; 2],
    /// Where its bytes start in each frame of the copy file.
    offset: usize,
    /// Fullscreen: everything else on the screen is black.
    fullscreen: bool,
}

/// `ledwall play PLAYLIST --wall WALL --backend BACKEND --for SECONDS` on X display
/// `display`, its log piped.
fn play_on(
    display: &str,
    playlist: &str,
    wall: &Path,
    backend: &str,
    seconds: f64,
) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .args(["play", playlist, "--wall"])
        .arg(wall)
        .args(["--backend", backend, "--for", &seconds.to_string()])
        .env("DISPLAY", display)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Play `wall` (TOML) for `seconds` with `backend` on a fresh Xvfb of `screen`, capturing
/// the screen every 150 ms; then check each capture against the frames of `copy.bin`.
fn play_and_check(
    name: &str,
    screen: [u32; 2],
    wall: &str,
    shown: &[Shown],
    backend: &str,
    seconds: f64,
) {
    let dir = tempfile::tempdir().unwrap();
    let wall = wall.replace("COPY", &dir.path().join("copy.bin").display().to_string());
    std::fs::write(dir.path().join("wall.toml"), wall).unwrap();
    let playlist = format!(
        r#"
name = "moving"
[[items]]
source = "{}"
duration = 0.7
fit = "cover"
transition = {{ kind = "crossfade", duration = 0.5 }}
[[items]]
source = "pattern:bars"
duration = 0.7
transition = {{ kind = "crossfade", duration = 0.5 }}
"#,
        media("photo-160x90.jpg").display()
    );
    std::fs::write(dir.path().join("show.toml"), playlist).unwrap();
    let x = Xvfb::start(screen).unwrap_or_else(|e| panic!("{e}"));
    let display = format!(":{}", x.display);
    let mut child = play_on(
        &display,
        &dir.path().join("show.toml").display().to_string(),
        &dir.path().join("wall.toml"),
        backend,
        seconds,
    );
    // Capture while it plays (the first second may still be opening windows).
    let mut shots: Vec<Shot> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds + 60.0);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: ledwall play did not end"
        );
        if let Ok(s) = capture_on(Some(&display)) {
            shots.push(s);
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name}: ledwall play failed:\n{log}");
    if backend == "gpu" {
        // The GPU renderer shares the displays' device: the display ports never leave it.
        assert!(
            log.contains("without leaving the GPU"),
            "{name}: the GPU path did not share the display device:\n{log}"
        );
    }

    let frame_len: usize = shown
        .iter()
        .map(|s| (s.size[0] * s.size[1] * 3) as usize)
        .sum();
    let copy = std::fs::read(dir.path().join("copy.bin")).unwrap();
    assert_eq!(copy.len() % frame_len, 0, "{name}: copy.bin size");
    let frames: Vec<&[u8]> = copy.chunks_exact(frame_len).collect();
    assert!(
        frames.len() as f64 >= seconds * 30.0 * 0.9,
        "{name}: {} frames",
        frames.len()
    );

    // Every capture that shows anything at a region shows one frame of it exactly.
    let mut matched = vec![Vec::new(); shown.len()];
    for (k, shot) in shots.iter().enumerate() {
        assert_eq!((shot.width, shot.height), (screen[0], screen[1]));
        for (r, s) in shown.iter().enumerate() {
            let region = crop(shot, s.at, s.size);
            if region.iter().all(|&b| b == 0) {
                continue; // not open yet, or already closed
            }
            let len = region.len();
            let found = frames
                .iter()
                .position(|f| f[s.offset..s.offset + len] == region[..]);
            let Some(i) = found else {
                let nearest = frames
                    .iter()
                    .map(|f| {
                        f[s.offset..s.offset + len]
                            .iter()
                            .zip(&region)
                            .filter(|(a, b)| a != b)
                            .count()
                    })
                    .min()
                    .unwrap_or(len);
                panic!(
                    "{name}: capture {k}, region {r} at {:?} matches no frame the player \
                     rendered ({nearest} of {len} bytes differ from the nearest)\n{log}",
                    s.at
                );
            };
            matched[r].push(i);
            if s.fullscreen {
                let lit: Vec<(u32, u32)> = (0..shot.height)
                    .flat_map(|y| (0..shot.width).map(move |x| (x, y)))
                    .filter(|&(x, y)| {
                        !(x >= s.at[0]
                            && x < s.at[0] + s.size[0]
                            && y >= s.at[1]
                            && y < s.at[1] + s.size[1])
                    })
                    .filter(|&(x, y)| shot.rgb(x, y) != [0, 0, 0])
                    .collect();
                assert!(
                    lit.is_empty(),
                    "{name}: capture {k}: {} lit pixels outside the region, e.g. {:?} = {:?}",
                    lit.len(),
                    lit[0],
                    shot.rgb(lit[0].0, lit[0].1)
                );
            }
        }
    }
    for (r, m) in matched.iter().enumerate() {
        let mut distinct = m.clone();
        distinct.sort_unstable();
        distinct.dedup();
        eprintln!(
            "{name}: region {r}: {} captures matched, {} distinct frames of {}",
            m.len(),
            distinct.len(),
            frames.len()
        );
        assert!(
            distinct.len() >= 3,
            "{name}: region {r}: only {} distinct frames seen on screen in {} captures",
            distinct.len(),
            shots.len()
        );
    }
}

/// The RGB bytes of `size` at `at` of a capture, row by row.
fn crop(shot: &Shot, at: [u32; 2], size: [u32; 2]) -> Vec<u8> {
    let mut v = Vec::with_capacity((size[0] * size[1] * 3) as usize);
    for y in at[1]..at[1] + size[1] {
        let row = ((y * shot.width + at[0]) * 3) as usize;
        v.extend_from_slice(&shot.rgb[row..row + (size[0] * 3) as usize]);
    }
    v
}

/// Two windows on one monitor: a display-encoded region and a PWM-linear one, each with a
/// `file` copy (both copies in one file, back to back per tick).
const TWO_WINDOWS: &str = r#"
name = "two-windows"
refresh_hz = 30
[canvas]
width = 200
height = 100
[color]
transfer = "srgb"
brightness = 0.8
white_point = [1.0, 0.9, 0.8]
dither = "ordered+temporal"
background = [0, 0, 40]
[[outputs]]
name = "card"
format = "canvas"
region = { at = [10, 5], size = [150, 80] }
sink = "display:0?x=20&y=10&mode=window"
[[outputs]]
name = "monitor"
format = "canvas"
encoding = "linear"
region = { at = [60, 20], size = [131, 77] }
sink = "display:screen?x=300&y=250&mode=window"
[[outputs]]
name = "card-copy"
format = "canvas"
region = { at = [10, 5], size = [150, 80] }
sink = "file:COPY"
[[outputs]]
name = "monitor-copy"
format = "canvas"
encoding = "linear"
region = { at = [60, 20], size = [131, 77] }
sink = "file:COPY"
"#;

fn two_windows() -> [Shown; 2] {
    [
        Shown {
            at: [20, 10],
            size: [150, 80],
            offset: 0,
            fullscreen: false,
        },
        Shown {
            at: [300, 250],
            size: [131, 77],
            offset: 150 * 80 * 3,
            fullscreen: false,
        },
    ]
}

#[test]
fn windows_show_both_encodings_exactly_on_the_cpu_backend() {
    if tools() {
        play_and_check(
            "cpu windows",
            [640, 480],
            TWO_WINDOWS,
            &two_windows(),
            "cpu",
            3.0,
        );
    }
}

#[test]
fn windows_show_both_encodings_exactly_on_the_gpu_backend() {
    if tools() {
        play_and_check(
            "gpu windows",
            [640, 480],
            TWO_WINDOWS,
            &two_windows(),
            "gpu",
            3.0,
        );
    }
}

/// One fullscreen display on a wide screen, the region far from the origin: placement.
const WIDE: &str = r#"
name = "wide"
refresh_hz = 30
[canvas]
width = 320
height = 120
[color]
transfer = "power"
gamma = 2.2
dither = "ordered"
[[outputs]]
name = "card"
format = "canvas"
region = { at = [3, 7], size = [301, 101] }
sink = "display:0?x=1203&y=151"
[[outputs]]
name = "copy"
format = "canvas"
region = { at = [3, 7], size = [301, 101] }
sink = "file:COPY"
"#;

#[test]
fn fullscreen_on_a_wide_screen_puts_the_region_at_its_offset() {
    if !tools() {
        return;
    }
    let shown = [Shown {
        at: [1203, 151],
        size: [301, 101],
        offset: 0,
        fullscreen: true,
    }];
    for backend in ["gpu", "cpu"] {
        play_and_check(
            &format!("{backend} wide"),
            [1600, 300],
            WIDE,
            &shown,
            backend,
            2.5,
        );
    }
}

/// `ledwall bench --display` paces into the wall's display ports and reports each
/// display: frames handed over, presented and missed, present time, and the path (kept on
/// the GPU on the GPU backend, uploaded on the CPU backend).
#[test]
fn bench_display_reports_each_display() {
    if !tools() {
        return;
    }
    let x = Xvfb::start([1024, 600]).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let wall = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/walls/sending-card.toml");
    for (backend, path) in [("cpu", "upload"), ("gpu", "gpu")] {
        let json = dir.path().join(format!("{backend}.json"));
        let out = Command::new(env!("CARGO_BIN_EXE_ledwall"))
            .arg("bench")
            .arg("--wall")
            .arg(&wall)
            .args(["--display", "--quiet", "--input", "pattern:line"])
            .args(["--frames", "30", "--warmup", "2", "--backend", backend])
            .arg("--json")
            .arg(&json)
            .env("DISPLAY", format!(":{}", x.display))
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{backend}: {stdout}\n{stderr}");
        assert!(stdout.contains("display display:0"), "{stdout}");
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let d = &report["displays"][0];
        assert_eq!(d["sink"], "display:0?x=0&y=0&mode=fullscreen", "{report}");
        assert_eq!(d["path"], path, "{backend}: {report}");
        assert_eq!(
            d["published"], 30,
            "{backend}: one hand-over a tick: {report}"
        );
        let presented = d["presented"].as_u64().unwrap_or(0);
        let missed = d["missed"].as_u64().unwrap_or(u64::MAX);
        assert!(
            presented > 0 && presented + missed <= 30,
            "{backend}: {report}"
        );
        assert!(
            d["present_mean_us"].as_f64().unwrap_or(0.0) > 0.0,
            "{report}"
        );
    }
    // Without a display port: a clear usage error.
    let out = Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .args(["bench", "--display", "--quiet", "--wall"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/walls/demo.toml"))
        .env("DISPLAY", format!(":{}", x.display))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no port with a display: sink"));
}

/// An X server that stops answering (SIGSTOP: a hung compositor or driver) mid-run: the
/// wall's other outputs keep every tick, and the stop that cannot join the display thread
/// ends by the stop deadline with exit 4 (`systemd` then restarts the player) instead of
/// hanging for ever.
#[test]
fn a_hung_x_server_ends_the_stop_by_the_deadline_with_exit_4() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.bin");
    let wall = TWO_WINDOWS.replace("COPY", &copy.display().to_string());
    std::fs::write(dir.path().join("wall.toml"), wall).unwrap();
    let x = Xvfb::start([640, 480]).unwrap_or_else(|e| panic!("{e}"));
    let seconds = 3.0;
    let started = Instant::now();
    let mut child = play_on(
        &format!(":{}", x.display),
        "pattern:bars",
        &dir.path().join("wall.toml"),
        "cpu",
        seconds,
    );
    // Let the windows open and show, then hang the server.
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: kill(2) on the test's own Xvfb child; no memory is involved.
    assert_eq!(unsafe { libc::kill(x.pid(), libc::SIGSTOP) }, 0);
    let deadline = Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            // SAFETY: as above.
            unsafe { libc::kill(x.pid(), libc::SIGCONT) };
            panic!("ledwall play did not end 40 s after its X server hung");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = started.elapsed();
    // SAFETY: as above; let the server take its SIGTERM when `x` drops.
    unsafe { libc::kill(x.pid(), libc::SIGCONT) };
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(4), "exit status {status}:\n{log}");
    assert!(
        log.contains("stuck closing the display windows) within 10 s"),
        "the log does not say what did not finish:\n{log}"
    );
    // The stop deadline (10 s) after the end of `--for`, not much more.
    assert!(
        took < Duration::from_secs_f64(seconds + 10.0 + 8.0),
        "took {took:?}"
    );
    // The copy kept every tick while the server was hung: at 30 Hz for `seconds`.
    let frame = 150 * 80 * 3 + 131 * 77 * 3;
    let frames = std::fs::metadata(&copy).unwrap().len() as usize / frame;
    assert!(
        frames as f64 >= seconds * 30.0 * 0.9,
        "{frames} frames in the copy: ticks stopped with the X server\n{log}"
    );
}
