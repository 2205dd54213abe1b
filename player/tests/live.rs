//! Live sources (issue 24): the real `ledwall play` on a 16x8 wall with a `file` sink and
//! `--stats`, fed by real ffmpeg senders on 127.0.0.1: an MPEG-TS stream over UDP that is
//! killed mid-play and started again (held frame, stall, reconnect, recovery), an HLS
//! playlist served over HTTP by a small server in this file, a stream that never starts
//! (fallback; background without one; the items keep their durations), a hardware decoder
//! that fails (software takes over) and the desktop of an Xvfb this test starts. Every
//! child is killed when dropped.
//!
//! Without ffmpeg (or, for the desktop case, Xvfb) a case says SKIP loudly; under `CI` it
//! fails instead. v4l2 capture has no device on the test machines: its ffmpeg arguments
//! are unit-tested in `media::live`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

const HZ: usize = 30;
const FRAME: usize = 16 * 8 * 3;

mod common;

/// The 16x8 linear rgb8 wall of the control tests (no dither: code values come out as they
/// go in), at 30 Hz.
use common::WALL;

/// One case at a time: their timing must not suffer from each other on 2 cores.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether `program` runs; when not, SKIP loudly (fail under CI).
fn have(program: &str, arg: &str, case: &str) -> bool {
    let ok = Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        let msg = format!("SKIP live test {case}: {program} is not installed");
        assert!(
            std::env::var_os("CI").is_none(),
            "{msg} (required under CI)"
        );
        eprintln!("{msg}");
    }
    ok
}

/// A child process killed (and reaped) when dropped.
struct Proc(Child);

impl Proc {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// ffmpeg sending `lavfi` input `filter` as MPEG-TS to udp://127.0.0.1:PORT, in real time,
/// with a keyframe every 10 frames for a late joiner.
fn udp_sender(port: u16, filter: &str) -> Proc {
    let child = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-re",
            "-f",
            "lavfi",
        ])
        .arg("-i")
        .arg(filter)
        .args(["-c:v", "mpeg2video", "-q:v", "3", "-g", "10", "-bf", "0"])
        .args(["-f", "mpegts"])
        .arg(format!("udp://127.0.0.1:{port}?pkt_size=1316"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Proc(child)
}

/// A running `ledwall play` of a playlist into `out.bin`, `--stats stats.json`.
struct Player {
    proc: Proc,
    dir: tempfile::TempDir,
    log: Option<std::thread::JoinHandle<String>>,
    started: Instant,
}

impl Player {
    /// Write the wall and `playlist`, start playing for `secs` seconds, and wait for the
    /// line saying it plays.
    fn start(playlist: &str, secs: f64, env: &[(&str, &str)]) -> Player {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("wall.toml"), WALL).unwrap();
        std::fs::write(dir.path().join("show.toml"), playlist).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ledwall"));
        cmd.env_remove("RUST_LOG")
            .current_dir(dir.path())
            .args([
                "play",
                "show.toml",
                "--wall",
                "wall.toml",
                "--backend",
                "cpu",
            ])
            .args([
                "--sink",
                "strip=file:out.bin",
                "--stats",
                "stats.json",
                "--for",
            ])
            .arg(secs.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let log = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("playing") {
                    let _ = tx.send(());
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let proc = Proc(child);
        rx.recv_timeout(Duration::from_secs(30))
            .expect("ledwall play did not start within 30 s");
        Player {
            proc,
            dir,
            log: Some(log),
            started: Instant::now(),
        }
    }

    /// Wait for the end (at most `limit`); the frames the sink got, the stats, the log.
    fn finish(mut self, limit: Duration) -> (Vec<Vec<u8>>, Value, String) {
        let deadline = Instant::now() + limit;
        loop {
            match self.proc.0.try_wait().unwrap() {
                Some(s) => {
                    assert!(s.success(), "ledwall play failed: {s}");
                    break;
                }
                None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                None => {
                    self.proc.kill();
                    panic!("ledwall play did not end within {limit:?}");
                }
            }
        }
        let log = self.log.take().unwrap().join().unwrap();
        let bytes = std::fs::read(self.dir.path().join("out.bin")).unwrap();
        assert_eq!(bytes.len() % FRAME, 0);
        let frames = bytes.chunks(FRAME).map(<[u8]>::to_vec).collect();
        let stats: Value =
            serde_json::from_slice(&std::fs::read(self.dir.path().join("stats.json")).unwrap())
                .unwrap();
        (frames, stats, log)
    }
}

fn media(stats: &Value, key: &str) -> u64 {
    stats["media"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("no media.{key} in the stats: {stats}"))
}

fn dark(f: &[u8]) -> bool {
    f.iter().all(|&b| b == 0)
}

/// Every pixel within `tol` of `rgb`.
fn all_near(f: &[u8], rgb: [u8; 3], tol: u8) -> bool {
    f.chunks(3)
        .all(|p| (0..3).all(|c| p[c].abs_diff(rgb[c]) <= tol))
}

/// The longest run of identical consecutive frames in `frames`: (start, length).
fn longest_hold(frames: &[Vec<u8>]) -> (usize, usize) {
    let (mut best, mut start) = ((0, 0), 0);
    for i in 1..=frames.len() {
        if i == frames.len() || frames[i] != frames[start] {
            if i - start > best.1 {
                best = (start, i - start);
            }
            start = i;
        }
    }
    best
}

fn distinct(frames: &[Vec<u8>]) -> usize {
    let mut v: Vec<&Vec<u8>> = frames.iter().collect();
    v.sort();
    v.dedup();
    v.len()
}

/// An MPEG-TS stream over UDP whose colour turns all the time; the sender is killed
/// mid-play: the last frame holds (the same bytes, tick after tick, never dark), a stall
/// and a reconnect are counted; a blue sender starts on the same port: its frames show and
/// a recovery is counted.
#[test]
fn udp_stream_killed_mid_play_holds_reconnects_and_recovers() {
    let _g = serial();
    if !have("ffmpeg", "-version", "udp") {
        return;
    }
    let port = free_udp_port();
    let mut turning = udp_sender(port, "color=c=red:s=64x32:r=25,hue=h=t*90");
    let playlist = format!(
        "[[items]]\nsource = \"udp://127.0.0.1:{port}\"\nduration = 60.0\nfit = \"stretch\"\n"
    );
    let player = Player::start(&playlist, 11.0, &[]);
    // ffmpeg joins within about 1.5 s; then frames flow for a while.
    std::thread::sleep(Duration::from_millis(3500));
    turning.kill();
    let killed_at = player.started.elapsed();
    // Longer than the stall (1 s) and the reconnect bound (2 s).
    std::thread::sleep(Duration::from_millis(3500));
    let _blue = udp_sender(port, "color=c=blue:s=64x32:r=25");
    let (frames, stats, log) = player.finish(Duration::from_secs(30));

    assert!(frames.len() >= 10 * HZ, "{} frames", frames.len());
    let first = frames
        .iter()
        .position(|f| !dark(f))
        .unwrap_or_else(|| panic!("no picture at all; log:\n{log}"));
    assert!(
        first < (killed_at.as_secs_f64() * HZ as f64) as usize,
        "the first picture came at frame {first}, after the sender was killed"
    );
    if let Some(d) = frames[first..].iter().position(|f| dark(f)) {
        panic!("frame {} is dark after the first picture", first + d);
    }
    let blue = |f: &Vec<u8>| all_near(f, [0, 0, 255], 12);
    let first_blue = frames
        .iter()
        .position(blue)
        .unwrap_or_else(|| panic!("the restarted sender's frames never showed; log:\n{log}"));
    // Live frames before the kill: the colour turns, frame after frame.
    let live = &frames[first..first_blue];
    let (hold_at, hold_len) = longest_hold(live);
    assert!(
        distinct(&live[..hold_at]) >= 10,
        "only {} different frames before the hold",
        distinct(&live[..hold_at])
    );
    // The held frame: the turning stream's last, for the whole gap (3.5 s, less the
    // restarted sender's join time), then the blue ones.
    assert!(
        hold_len >= 2 * HZ,
        "the longest hold is {hold_len} ticks; log:\n{log}"
    );
    assert_eq!(hold_at + hold_len, live.len(), "blue follows the hold");
    assert!(!blue(&live[hold_at]) && !dark(&live[hold_at]));
    let blues = frames[first_blue..].iter().filter(|f| blue(f)).count();
    assert!(blues >= HZ / 2, "{blues} blue frames");
    assert!(
        frames[first_blue..].iter().all(blue),
        "only blue after the recovery"
    );

    assert!(media(&stats, "live_stalls") >= 1, "{stats}");
    assert!(media(&stats, "live_reconnects") >= 1, "{stats}");
    assert!(media(&stats, "live_recoveries") >= 1, "{stats}");
    assert_eq!(media(&stats, "live_stalled_now"), 0, "{stats}");
    for said in [
        "live source stalled",
        "reconnecting",
        "live source recovered",
    ] {
        assert!(log.contains(said), "the log lacks {said:?}:\n{log}");
    }
}

/// A tiny HTTP/1.1 file server on 127.0.0.1 for the HLS case: GET of a file in `dir`, 404
/// otherwise; one request a connection. Counts the requests for `.ts` segments.
struct FileServer {
    port: u16,
    stop: Arc<AtomicBool>,
    segments: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FileServer {
    fn start(dir: PathBuf) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let segments = Arc::new(AtomicUsize::new(0));
        let (s, n) = (Arc::clone(&stop), Arc::clone(&segments));
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let _ = serve(conn, &dir, &n);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FileServer {
            port,
            stop,
            segments,
            thread: Some(thread),
        }
    }
}

fn serve(mut conn: std::net::TcpStream, dir: &Path, segments: &AtomicUsize) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let name = path.trim_start_matches('/').split('?').next().unwrap_or("");
    let file = (!name.contains('/') && !name.contains(".."))
        .then(|| std::fs::read(dir.join(name)).ok())
        .flatten();
    match file {
        Some(body) => {
            if name.ends_with(".ts") {
                segments.fetch_add(1, Ordering::Relaxed);
            }
            let kind = if name.ends_with(".m3u8") {
                "application/vnd.apple.mpegurl"
            } else {
                "video/mp2t"
            };
            write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            conn.write_all(&body)?;
        }
        None => conn.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?,
    }
    conn.flush()
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// ffmpeg writes a live HLS playlist and its segments into a folder served over HTTP on
/// 127.0.0.1; the player plays `http://127.0.0.1:PORT/live.m3u8`: moving frames arrive.
#[test]
fn hls_playlist_over_http_plays() {
    let _g = serial();
    if !have("ffmpeg", "-version", "hls") {
        return;
    }
    let hls = tempfile::tempdir().unwrap();
    let _writer = Proc(
        Command::new("ffmpeg")
            .args([
                "-hide_banner",
                "-nostdin",
                "-v",
                "error",
                "-re",
                "-f",
                "lavfi",
            ])
            .args(["-i", "testsrc2=s=64x32:r=25"])
            .args(["-c:v", "mpeg2video", "-q:v", "3", "-g", "25", "-bf", "0"])
            .args(["-f", "hls", "-hls_time", "1", "-hls_list_size", "4"])
            .args(["-hls_flags", "delete_segments"])
            .arg(hls.path().join("live.m3u8"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let list = hls.path().join("live.m3u8");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !std::fs::read_to_string(&list).is_ok_and(|t| t.contains(".ts")) {
        assert!(Instant::now() < deadline, "ffmpeg wrote no HLS playlist");
        std::thread::sleep(Duration::from_millis(50));
    }
    let server = FileServer::start(hls.path().to_path_buf());
    let playlist = format!(
        "[[items]]\nsource = \"http://127.0.0.1:{}/live.m3u8\"\nduration = 60.0\nfit = \"stretch\"\n",
        server.port
    );
    let (frames, stats, log) = Player::start(&playlist, 6.0, &[]).finish(Duration::from_secs(30));
    let first = frames
        .iter()
        .position(|f| !dark(f))
        .unwrap_or_else(|| panic!("no picture from HLS; stats {stats}; log:\n{log}"));
    assert!(first < 4 * HZ, "the first picture came at frame {first}");
    let pictures = &frames[first..];
    assert!(
        pictures.iter().all(|f| !dark(f)),
        "dark after the first picture"
    );
    // testsrc2 moves: the frames keep changing.
    assert!(
        distinct(pictures) >= pictures.len() / 4,
        "{} different frames of {}",
        distinct(pictures),
        pictures.len()
    );
    assert!(server.segments.load(Ordering::Relaxed) >= 2);
}

/// Nobody sends: a live item without a fallback shows the background for its whole
/// duration, one with `fallback = "pattern:solid:..."` shows the fallback from its start,
/// and each lasts exactly its duration (the next item starts on time).
#[test]
fn a_stream_that_never_starts_shows_the_fallback_and_keeps_its_duration() {
    let _g = serial();
    if !have("ffmpeg", "-version", "never-starts") {
        return;
    }
    let (a, b) = (free_udp_port(), free_udp_port());
    let playlist = format!(
        "loop = false\n\
         [[items]]\nsource = \"udp://127.0.0.1:{a}\"\nduration = 2.0\n\
         [[items]]\nsource = \"udp://127.0.0.1:{b}\"\nduration = 2.0\nfallback = \"pattern:solid:#20c040\"\n\
         [[items]]\nsource = \"pattern:solid:#ff0000\"\nduration = 2.0\n"
    );
    let (frames, stats, log) = Player::start(&playlist, 5.5, &[]).finish(Duration::from_secs(30));
    let green = |f: &Vec<u8>| all_near(f, [0x20, 0xc0, 0x40], 0);
    let red = |f: &Vec<u8>| all_near(f, [0xff, 0, 0], 0);
    assert!(frames.len() >= 5 * HZ, "{} frames", frames.len());
    // Item 0: the background (black) throughout.
    assert!(frames[..2 * HZ].iter().all(|f| dark(f)), "log:\n{log}");
    // Item 1: the fallback, once its source is open (a few ticks).
    let first_green = frames.iter().position(green).expect("no fallback frame");
    assert!(
        (2 * HZ..2 * HZ + 10).contains(&first_green),
        "the fallback first showed at frame {first_green}"
    );
    assert!(frames[first_green..4 * HZ].iter().all(green));
    // Item 2 starts on time (its pattern shows once opened: a tick or two, the previous
    // frame holding meanwhile).
    let first_red = frames.iter().position(red).expect("no frame of item 2");
    assert!(
        (4 * HZ..4 * HZ + 6).contains(&first_red),
        "item 2 first showed at frame {first_red}"
    );
    assert!(frames[first_green..first_red].iter().all(green));
    assert!(frames[first_red..].iter().all(red));
    assert_eq!(media(&stats, "live_fallback_now"), 0, "{stats}");
    assert_eq!(media(&stats, "live_recoveries"), 0, "{stats}");
}

/// `screen:` against an Xvfb this test starts with the classic grey weave on its root
/// window (`-retro`): frames of the desktop arrive, steadily (no stall).
#[test]
fn the_desktop_of_an_xvfb_plays() {
    let _g = serial();
    if !have("ffmpeg", "-version", "screen") || !have("Xvfb", "-help", "screen") {
        return;
    }
    let mut n = 400 + std::process::id() % 400;
    while Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
        n += 1;
    }
    let display = format!(":{n}");
    let _x = Proc(
        Command::new("Xvfb")
            .arg(&display)
            .args(["-screen", "0", "320x160x24", "-retro", "-nolisten", "tcp"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
        assert!(Instant::now() < deadline, "Xvfb did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    // `screen:` with $DISPLAY, as a player started from the desktop session has it.
    let playlist = "[[items]]\nsource = \"screen:\"\nduration = 60.0\nfit = \"stretch\"\n";
    let (frames, stats, log) =
        Player::start(playlist, 3.0, &[("DISPLAY", &display)]).finish(Duration::from_secs(30));
    let first = frames
        .iter()
        .position(|f| !dark(f))
        .unwrap_or_else(|| panic!("no picture of the desktop; log:\n{log}"));
    assert!(first < 2 * HZ, "the first picture came at frame {first}");
    // The weave, averaged: grey.
    assert!(
        frames[first..]
            .iter()
            .all(|f| all_near(f, [64, 64, 64], 24)),
        "not the Xvfb's grey weave"
    );
    assert_eq!(media(&stats, "live_stalls"), 0, "{stats}");
}

/// A stream with a hardware decoder that does not open (a VAAPI device that does not
/// exist): the first ffmpeg gives no frame, the next start tries software, and the
/// stream's frames come. (With `hwaccel = "auto"` on a machine without a device the source
/// decodes in software from the start; this is the case of a device that fails.)
#[test]
fn a_hardware_decoder_that_fails_falls_back_to_software() {
    use ledwall_player::media::live::{LiveInput, LiveRef, LiveSource};
    use ledwall_player::media::video::HwDecode;
    use ledwall_player::media::{Frame, MediaSource, OpenOptions};
    let _g = serial();
    if !have("ffmpeg", "-version", "hwaccel") {
        return;
    }
    let port = free_udp_port();
    let _sender = udp_sender(port, "color=c=red:s=64x32:r=25");
    let dir = tempfile::tempdir().unwrap();
    let input = LiveInput::parse(&format!("udp://127.0.0.1:{port}"))
        .unwrap()
        .unwrap();
    let opts = OpenOptions::new(ledwall_player::patterns::Canvas::plain(16, 8, 30));
    let mut src = LiveSource::open(&LiveRef::new(input, None), &opts);
    src.set_hw_decode(Some(HwDecode {
        method: "vaapi",
        device: Some(dir.path().join("renderD999").display().to_string()),
    }));
    let mut f = Frame::new();
    let until = Instant::now() + Duration::from_secs(20);
    let mut red = false;
    while Instant::now() < until && !red {
        let _ = src.read_frame(0, &mut f);
        red = f.pixel8(2, 2).is_some_and(|p| p[0] > 200 && p[1] < 60);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(red, "no frame from the stream in 20 s");
    assert!(
        opts.faults.snapshot().live_reconnects >= 1,
        "the hardware attempt was not restarted"
    );
}
