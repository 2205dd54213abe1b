//! The fault suite (issue 22): the real `ledwall play` under injected faults, watched from
//! outside through a DDP receiver on loopback. Each case asserts that ticks kept going out
//! (no gap between two received frames longer than [`MAX_GAP`]) and that the frames are the
//! ones expected, not just that nothing crashed.
//!
//! The cases run one at a time (a lock) so that their timing does not suffer from each
//! other on a small machine; each is bounded in time.

use std::io::{BufRead, BufReader, Read};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

#[path = "common/tmpfs.rs"]
mod tmpfs;

/// The tiny wall's refresh rate.
const HZ: u32 = 60;
/// Bytes of one frame of the tiny wall with both ports on one DDP sink: the hub port's bit
/// planes (512) then the pixels port's RGB (2 x 8 x 8 x 3 = 384).
const FRAME: usize = 512 + 384;
/// The longest time allowed between two frames at the receiver: 8 periods at 60 Hz. A
/// frozen wall shows as gaps of seconds; this leaves room for a busy 2-core test machine.
const MAX_GAP: Duration = Duration::from_millis(8 * 1000 / HZ as u64);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tiny() -> PathBuf {
    root().join("fixtures/walls/tiny.toml")
}

/// One case at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    match LOCK.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// A frame as received: when, and its bytes.
type Received = (Instant, Vec<u8>);

/// Frames assembled from DDP packets (PUSH ends a frame), with their arrival times.
struct DdpReceiver {
    port: u16,
    frames: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DdpReceiver {
    fn start() -> DdpReceiver {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        DdpReceiver::on(socket)
    }

    fn on(socket: UdpSocket) -> DdpReceiver {
        let port = socket.local_addr().unwrap_or_else(|e| panic!("{e}")).port();
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap_or_else(|e| panic!("{e}"));
        let frames = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (f, s) = (Arc::clone(&frames), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let mut packet = [0u8; 2048];
            let mut frame = vec![0u8; FRAME];
            while !s.load(Ordering::Relaxed) {
                let Ok(n) = socket.recv(&mut packet) else {
                    continue;
                };
                // An independent reading of DDP v1: 10-byte header, offset and length
                // big-endian, PUSH (0x01) on the frame's last packet.
                assert!(n >= 10, "short DDP packet");
                assert_eq!(packet[0] & 0xC0, 0x40, "DDP version 1");
                let offset = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
                let len = usize::from(u16::from_be_bytes([packet[8], packet[9]]));
                let offset = offset as usize;
                assert_eq!(n, 10 + len, "length field");
                assert!(offset + len <= FRAME, "data beyond the frame");
                frame[offset..offset + len].copy_from_slice(&packet[10..n]);
                if packet[0] & 0x01 != 0 {
                    let mut all = f.lock().unwrap_or_else(|p| p.into_inner());
                    all.push((Instant::now(), frame.clone()));
                }
            }
        });
        DdpReceiver {
            port,
            frames,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("ddp://127.0.0.1:{}", self.port)
    }

    fn frames(&self) -> Vec<(Instant, Vec<u8>)> {
        self.frames
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn count(&self) -> usize {
        self.frames.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Wait until `n` frames arrived (at most `limit`).
    fn wait_for(&self, n: usize, limit: Duration) {
        let start = Instant::now();
        while self.count() < n {
            assert!(
                start.elapsed() < limit,
                "only {} of {n} frames within {limit:?}",
                self.count()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for DdpReceiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The longest time between two consecutive frames, and where it ended.
fn max_gap(frames: &[(Instant, Vec<u8>)]) -> (Duration, usize) {
    frames
        .windows(2)
        .enumerate()
        .map(|(i, w)| (w[1].0.duration_since(w[0].0), i + 1))
        .max()
        .unwrap_or_default()
}

fn assert_no_gap(frames: &[(Instant, Vec<u8>)], what: &str) {
    assert!(frames.len() > 10, "{what}: only {} frames", frames.len());
    let (gap, at) = max_gap(frames);
    assert!(
        gap <= MAX_GAP,
        "{what}: no frame for {gap:?} before frame {at} of {} (at most {MAX_GAP:?} allowed)",
        frames.len()
    );
}

/// A running `ledwall play` on the tiny wall, both ports into one DDP sink.
struct Player {
    child: Child,
    err: Option<std::thread::JoinHandle<String>>,
    out: Option<std::thread::JoinHandle<String>>,
}

impl Player {
    /// Start `ledwall play ARGS... --wall tiny.toml --sink hub=URL --sink pixels=URL` and
    /// wait for the line saying it plays.
    fn start(args: &[&str], url: &str, extra_env: &[(&str, &str)]) -> Player {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ledwall"));
        cmd.env_remove("RUST_LOG")
            .arg("play")
            .args(args)
            .args(["--backend", "cpu", "--wall"])
            .arg(tiny())
            .arg("--sink")
            .arg(format!("hub={url}"))
            .arg("--sink")
            .arg(format!("pixels={url}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start ledwall: {e}"));
        let mut stdout = child.stdout.take().unwrap_or_else(|| panic!("stdout"));
        let out = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout.read_to_string(&mut s);
            s
        });
        let stderr = child.stderr.take().unwrap_or_else(|| panic!("stderr"));
        let (tx, rx) = mpsc::channel();
        let err = std::thread::spawn(move || {
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
        if rx.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = child.kill();
            panic!("ledwall play did not start within 60 s");
        }
        Player {
            child,
            err: Some(err),
            out: Some(out),
        }
    }

    fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill() with a valid signal number has no memory-safety preconditions.
        let rc = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(rc, 0, "kill failed");
    }

    /// Wait for the end (at most `limit`): exit code, stdout, stderr.
    fn finish(mut self, limit: Duration) -> (Option<i32>, String, String) {
        let start = Instant::now();
        let code = loop {
            match self.child.try_wait() {
                Ok(Some(s)) => break s.code(),
                Ok(None) if start.elapsed() < limit => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => {
                    let _ = self.child.kill();
                    panic!("ledwall play did not end within {limit:?}");
                }
            }
        };
        let join = |h: Option<std::thread::JoinHandle<String>>| {
            h.map(|h| h.join().unwrap_or_default()).unwrap_or_default()
        };
        let out = join(self.out.take());
        let err = join(self.err.take());
        assert!(!err.contains("panicked"), "the player panicked:\n{err}");
        (code, out, err)
    }
}

impl Drop for Player {
    /// A test that failed before `finish` does not leave its player running.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The children of `pid` whose command name is `name` (from /proc).
fn children_named(pid: i32, name: &str) -> Vec<i32> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in dir.flatten() {
        let Some(p) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = &stat[open + 1..close];
        let ppid = stat[close + 1..]
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<i32>().ok());
        if ppid == Some(pid) && comm == name {
            found.push(p);
        }
    }
    found
}

/// Frames whose bytes differ from the one before: how many distinct pictures in a row.
fn changes(frames: &[(Instant, Vec<u8>)]) -> usize {
    frames.windows(2).filter(|w| w[0].1 != w[1].1).count()
}

/// The runs of equal frames: (picture number, in order of first appearance; run length).
fn runs(frames: &[(Instant, Vec<u8>)]) -> Vec<(usize, usize)> {
    let mut seen: Vec<&Vec<u8>> = Vec::new();
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (_, f) in frames {
        let id = match seen.iter().position(|s| *s == f) {
            Some(i) => i,
            None => {
                seen.push(f);
                seen.len() - 1
            }
        };
        match out.last_mut() {
            Some((last, n)) if *last == id => *n += 1,
            _ => out.push((id, 1)),
        }
    }
    out
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// The playlist file is truncated, deleted and replaced while playing: the valid version
/// keeps playing through the broken ones, and the replacement takes over at its item
/// boundary; no tick is missed.
#[test]
fn playlist_truncated_deleted_and_replaced_while_playing() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let playlist = dir.path().join("show.toml");
    let items = |src: &str| format!("[[items]]\nsource = \"{src}\"\nduration = 1.0\n");
    write(&playlist, &items("pattern:solid:#ff0000"));
    let rx = DdpReceiver::start();
    let p = playlist.to_string_lossy().to_string();
    let player = Player::start(&[&p, "--for", "6"], &rx.url(), &[]);
    std::thread::sleep(Duration::from_millis(800));
    write(&playlist, ""); // truncated: not a playlist (no items)
    std::thread::sleep(Duration::from_millis(1200));
    std::fs::remove_file(&playlist).unwrap_or_else(|e| panic!("{e}"));
    std::thread::sleep(Duration::from_millis(1200));
    write(&playlist, &items("pattern:solid:#0000ff"));
    let (code, out, err) = player.finish(Duration::from_secs(60));
    assert_eq!(code, Some(0), "{out}\n{err}");
    let frames = rx.frames();
    assert_no_gap(&frames, "playlist faults");
    assert_eq!(frames.len(), 6 * HZ as usize, "one frame a tick: {out}");
    // Red until the replacement, blue after it: exactly one change of picture.
    assert_eq!(changes(&frames), 1, "runs {:?}\n{err}", runs(&frames));
    let first = &frames[0].1;
    let last = &frames[frames.len() - 1].1;
    assert_ne!(first, last);
    assert!(err.contains("playlist reloaded"), "{err}");
}

/// Media files are truncated, deleted and replaced while playing: the broken items are
/// logged and skipped (the good one plays on), and once replaced they come back on a later
/// pass (tried again with a backoff); no tick is missed.
#[test]
fn media_truncated_deleted_and_replaced_while_playing() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let media = root().join("fixtures/media");
    let names = ["a.png", "b.jpg", "c.png"];
    let originals = ["gradient-64x32.png", "photo-160x90.jpg", "alpha-32x32.png"];
    for (n, o) in names.iter().zip(originals) {
        std::fs::copy(media.join(o), dir.path().join(n)).unwrap_or_else(|e| panic!("{e}"));
    }
    let playlist = dir.path().join("show.toml");
    let items: String = names
        .iter()
        .map(|n| format!("[[items]]\nsource = \"{n}\"\nduration = 0.5\n"))
        .collect();
    write(&playlist, &items);
    let rx = DdpReceiver::start();
    let p = playlist.to_string_lossy().to_string();
    let player = Player::start(&[&p, "--for", "9"], &rx.url(), &[]);
    rx.wait_for(HZ as usize * 8 / 5, Duration::from_secs(10));
    let mut pictures: Vec<Vec<u8>> = Vec::new();
    for (_, f) in rx.frames() {
        if !pictures.contains(&f) {
            pictures.push(f);
        }
    }
    assert_eq!(
        pictures.len(),
        3,
        "three items, three pictures: runs {:?}",
        runs(&rx.frames())
    );
    // b deleted, c truncated to something that is no image.
    std::fs::remove_file(dir.path().join("b.jpg")).unwrap_or_else(|e| panic!("{e}"));
    write(&dir.path().join("c.png"), "not an image any more");
    std::thread::sleep(Duration::from_millis(2000));
    for (n, o) in names.iter().zip(originals).skip(1) {
        std::fs::copy(media.join(o), dir.path().join(n)).unwrap_or_else(|e| panic!("{e}"));
    }
    let (code, out, err) = player.finish(Duration::from_secs(60));
    assert_eq!(code, Some(0), "{out}\n{err}");
    let frames = rx.frames();
    assert_no_gap(&frames, "media faults");
    assert_eq!(frames.len(), 9 * HZ as usize, "one frame a tick: {out}");
    // b.jpg is gone for two seconds: it fails when it comes round and is logged. c.png
    // fails only if it is opened while broken (an item on screen keeps what it decoded), so
    // on a slow machine it may not be.
    assert!(
        err.contains("b.jpg"),
        "the deleted item was not logged:\n{err}"
    );
    // Every picture is back in the last two seconds.
    let tail = &frames[frames.len() - 2 * HZ as usize..];
    for (i, pic) in pictures.iter().enumerate() {
        assert!(
            tail.iter().any(|(_, f)| f == pic),
            "picture {i} did not come back:\n{err}"
        );
    }
}

/// ffmpeg killed in the middle of a video item: the video restarts (logged at warn), the
/// wall keeps moving, no tick is missed.
#[test]
fn ffmpeg_killed_mid_item() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clip = dir.path().join("clip.mp4");
    let made = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=s=32x16:r=30:d=20")
        .args(["-pix_fmt", "yuv420p"])
        .arg(&clip)
        .status();
    assert!(
        made.is_ok_and(|s| s.success()),
        "cannot make a test video (ffmpeg)"
    );
    let rx = DdpReceiver::start();
    let c = clip.to_string_lossy().to_string();
    let player = Player::start(&[&c, "--for", "6"], &rx.url(), &[]);
    rx.wait_for(HZ as usize, Duration::from_secs(20));
    let victims = children_named(player.pid(), "ffmpeg");
    assert!(!victims.is_empty(), "no ffmpeg child to kill");
    for v in &victims {
        // SAFETY: kill() with a valid signal number has no memory-safety preconditions.
        unsafe { libc::kill(*v, libc::SIGKILL) };
    }
    let killed_at = Instant::now();
    let (code, out, err) = player.finish(Duration::from_secs(60));
    assert_eq!(code, Some(0), "{out}\n{err}");
    let frames = rx.frames();
    assert_no_gap(&frames, "ffmpeg killed");
    assert_eq!(frames.len(), 6 * HZ as usize, "one frame a tick: {out}");
    // The video moves again after the kill: new pictures in the last two seconds.
    let after: Vec<_> = frames
        .iter()
        .filter(|(t, _)| t.duration_since(killed_at) > Duration::from_secs(2))
        .cloned()
        .collect();
    assert!(
        changes(&after) >= 10,
        "the video froze after ffmpeg was killed ({} changes in {} frames):\n{err}",
        changes(&after),
        after.len()
    );
    assert!(
        err.contains("WARN"),
        "the kill was not logged at warn:\n{err}"
    );
    // No ffmpeg decoding the clip is left behind.
    assert_eq!(processes_mentioning(&c), 0, "an ffmpeg outlived the player");
}

/// Processes whose command line mentions `text`.
fn processes_mentioning(text: &str) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|s| s.parse::<u32>().is_ok())
        })
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(text))
                .unwrap_or(false)
        })
        .count()
}

/// A DDP receiver that is not there at first (nothing listens on its port) and comes up
/// later gets frames from then on; the other sink gets every frame throughout.
#[test]
fn a_receiver_that_comes_and_goes() {
    let _one = serial();
    let rx = DdpReceiver::start();
    // Reserve a port, then free it: nothing listens there when the player starts.
    let later = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let later_port = later.local_addr().unwrap_or_else(|e| panic!("{e}")).port();
    drop(later);
    let url = rx.url();
    let absent = format!("ddp://127.0.0.1:{later_port}");
    // hub -> rx, pixels -> the absent receiver: the frames at rx are the hub port only.
    let mut player = {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ledwall"));
        cmd.env_remove("RUST_LOG")
            .args([
                "play",
                "pattern:line",
                "--for",
                "5",
                "--backend",
                "cpu",
                "--wall",
            ])
            .arg(tiny())
            .arg("--sink")
            .arg(format!("hub={url}"))
            .arg("--sink")
            .arg(format!("pixels={absent}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd.spawn()
            .unwrap_or_else(|e| panic!("cannot start ledwall: {e}"))
    };
    std::thread::sleep(Duration::from_millis(2000));
    let back = UdpSocket::bind(("127.0.0.1", later_port)).unwrap_or_else(|e| panic!("{e}"));
    back.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut packet = [0u8; 2048];
    let mut got = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        if let Ok(n) = back.recv(&mut packet) {
            assert!(n >= 10);
            got += 1;
        }
    }
    let status = player.wait().unwrap_or_else(|e| panic!("{e}"));
    let mut err = String::new();
    if let Some(mut e) = player.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    assert!(status.success(), "{err}");
    assert!(got >= 30, "the returned receiver got {got} packets in 1 s");
    // The hub port's receiver: every tick, no gap (its frames are 512 bytes).
    let frames = rx.frames();
    assert_no_gap(&frames, "the other sink");
    assert_eq!(frames.len(), 5 * HZ as usize);
}

/// SIGHUP (reload) while playing misses no tick; SIGTERM then ends the run cleanly with
/// the last tick sent whole.
#[test]
fn sighup_and_sigterm_miss_no_tick() {
    let _one = serial();
    let rx = DdpReceiver::start();
    let player = Player::start(&["pattern:grid"], &rx.url(), &[]);
    rx.wait_for(HZ as usize / 2, Duration::from_secs(10));
    for _ in 0..3 {
        player.signal(libc::SIGHUP);
        std::thread::sleep(Duration::from_millis(400));
    }
    player.signal(libc::SIGTERM);
    let (code, out, err) = player.finish(Duration::from_secs(30));
    assert_eq!(code, Some(0), "{out}\n{err}");
    let frames = rx.frames();
    assert_no_gap(&frames, "signals");
    let ticks: usize = out
        .split_whitespace()
        .nth(1)
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no tick count in {out}"));
    assert_eq!(frames.len(), ticks, "every tick's frame arrived");
    assert_eq!(err.matches("reload requested (SIGHUP)").count(), 3, "{err}");
}

/// Media missing at start (a share that comes later) plays once the files appear: they are
/// tried again with a backoff on every pass.
#[test]
fn media_missing_at_start_plays_when_it_appears() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let playlist = dir.path().join("show.toml");
    write(
        &playlist,
        "[[items]]\nsource = \"media/a.png\"\nduration = 0.5\n\
         [[items]]\nsource = \"media/b.jpg\"\nduration = 0.5\n",
    );
    let rx = DdpReceiver::start();
    let p = playlist.to_string_lossy().to_string();
    let player = Player::start(&[&p, "--for", "7"], &rx.url(), &[]);
    std::thread::sleep(Duration::from_millis(1500));
    let media = dir.path().join("media");
    std::fs::create_dir(&media).unwrap_or_else(|e| panic!("{e}"));
    let fixtures = root().join("fixtures/media");
    std::fs::copy(fixtures.join("gradient-64x32.png"), media.join("a.png"))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(fixtures.join("photo-160x90.jpg"), media.join("b.jpg"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, out, err) = player.finish(Duration::from_secs(60));
    assert_eq!(code, Some(0), "{out}\n{err}");
    let frames = rx.frames();
    assert_no_gap(&frames, "media missing at start");
    assert_eq!(frames.len(), 7 * HZ as usize, "one frame a tick: {out}");
    // The background first; both pictures in the last two seconds.
    let background = &frames[0].1;
    let tail = &frames[frames.len() - 2 * HZ as usize..];
    let mut pictures: Vec<&Vec<u8>> = Vec::new();
    for (_, f) in tail {
        if f != background && !pictures.contains(&f) {
            pictures.push(f);
        }
    }
    assert_eq!(pictures.len(), 2, "the items did not come:\n{err}");
}

/// A full disk under a `file` sink: the error is clear, the file holds whole frames only,
/// the other sink gets every tick, and the run ends with exit code 3 (output lost).
#[test]
fn a_full_disk_under_the_file_sink() {
    let _one = serial();
    let Some(disk) = tmpfs::Tmpfs::mount(64) else {
        return;
    };
    let bin = disk.path().join("hub.bin");
    let rx = DdpReceiver::start();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ledwall"));
    cmd.env_remove("RUST_LOG")
        .args([
            "play",
            "pattern:line",
            "--for",
            "4",
            "--backend",
            "cpu",
            "--wall",
        ])
        .arg(tiny())
        .arg("--sink")
        .arg(format!("hub=file:{}", bin.display()))
        .arg("--sink")
        .arg(format!("pixels={}", rx.url()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run ledwall: {e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains("lost"), "{err}");
    // The other sink: every tick, no gap.
    let frames = rx.frames();
    assert_no_gap(&frames, "the DDP sink beside a full disk");
    assert_eq!(frames.len(), 4 * HZ as usize);
    // The file: whole hub frames only (2 addresses x 4 planes x 64 positions), fewer than
    // the ticks (the disk filled), each one a frame the player rendered.
    let len = std::fs::metadata(&bin)
        .unwrap_or_else(|e| panic!("{e}"))
        .len() as usize;
    let frame = 2 * 4 * 64;
    assert!(
        len > 0 && len.is_multiple_of(frame),
        "{len} bytes: not whole frames"
    );
    assert!(len / frame < 4 * HZ as usize, "the disk never filled");
}

/// A second stop signal exits at once (130) and leaves no decoder behind, even one that is
/// stalled (which a broken pipe would never end): the emergency exit kills the decoders'
/// process groups. The "ffmpeg" here is a wrapper that passes some of the real ffmpeg's
/// output on and then hangs, as an ffmpeg on a hung share would.
#[test]
fn a_second_signal_leaves_no_decoder_behind() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clip = dir.path().join("second-signal.mp4");
    let made = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=s=32x16:r=30:d=20")
        .args(["-pix_fmt", "yuv420p"])
        .arg(&clip)
        .status();
    assert!(
        made.is_ok_and(|s| s.success()),
        "cannot make a test video (ffmpeg)"
    );
    let which = |name: &str| {
        let out = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap_or_else(|e| panic!("{e}"));
    let wrapper = bin.join("ffmpeg");
    write(
        &wrapper,
        &format!(
            "#!/bin/sh\n{} \"$@\" | head -c 90000\nsleep 60\n",
            which("ffmpeg")
        ),
    );
    std::os::unix::fs::symlink(which("ffprobe"), bin.join("ffprobe"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(&wrapper, mode).unwrap_or_else(|e| panic!("{e}"));
    let rx = DdpReceiver::start();
    let c = clip.to_string_lossy().to_string();
    let w = wrapper.to_string_lossy().to_string();
    let player = Player::start(&[&c], &rx.url(), &[("LEDWALL_FFMPEG", &w)]);
    rx.wait_for(HZ as usize, Duration::from_secs(20));
    assert!(processes_mentioning(&c) > 0, "no decoder running");
    // Two different signals: two of the same kind pending at once are delivered as one.
    player.signal(libc::SIGINT);
    player.signal(libc::SIGTERM);
    let (code, _out, err) = player.finish(Duration::from_secs(30));
    assert_eq!(code, Some(130), "{err}");
    // What was killed may take a moment to be gone from /proc.
    let start = Instant::now();
    while processes_mentioning(&c) > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "a decoder outlived the player"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
