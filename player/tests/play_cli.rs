//! `ledwall play` end to end: the real binary, headless (stdout is a pipe, so no terminal
//! view), into `file:` sinks; stopping cleanly on SIGTERM. Timeouts here only detect hangs.

mod common;
use common::wait_exit as wait;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn ledwall() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ledwall"));
    c.env_remove("RUST_LOG");
    c
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Run to the end; a run that takes longer than `limit` is killed and fails the test.
fn run(mut cmd: Command, limit: Duration) -> Run {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start ledwall: {e}"));
    let out = reader(&mut child, true);
    let err = reader(&mut child, false);
    let code = wait(&mut child, limit);
    let stdout = out.join().unwrap_or_else(|_| panic!("stdout reader"));
    let stderr = err.join().unwrap_or_else(|_| panic!("stderr reader"));
    Run {
        code,
        stdout,
        stderr,
    }
}

fn reader(child: &mut Child, stdout: bool) -> std::thread::JoinHandle<String> {
    let mut pipe: Box<dyn Read + Send> = if stdout {
        Box::new(child.stdout.take().unwrap_or_else(|| panic!("stdout")))
    } else {
        Box::new(child.stderr.take().unwrap_or_else(|| panic!("stderr")))
    };
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    })
}

/// A `ledwall play` started with piped output, its stderr followed line by line.
struct Playing {
    child: Child,
    out: std::thread::JoinHandle<String>,
    err: std::thread::JoinHandle<String>,
}

impl Playing {
    /// Start `cmd` and wait for the line saying it plays (the signal handlers are installed
    /// before it).
    fn start(mut cmd: Command) -> Playing {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start ledwall: {e}"));
        let out = reader(&mut child, true);
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
        Playing { child, out, err }
    }

    fn signal(&self, sig: i32) {
        let pid = i32::try_from(self.child.id()).unwrap_or_else(|e| panic!("{e}"));
        // SAFETY: kill() with a valid signal number has no memory-safety preconditions.
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(rc, 0, "kill failed");
    }

    fn finish(mut self, limit: Duration) -> Run {
        let code = wait(&mut self.child, limit);
        Run {
            code,
            stdout: self.out.join().unwrap_or_else(|_| panic!("stdout reader")),
            stderr: self.err.join().unwrap_or_else(|_| panic!("stderr reader")),
        }
    }
}

fn check(r: &Run, code: i32) {
    assert!(
        !r.stderr.contains("panicked"),
        "the binary panicked:\n{}",
        r.stderr
    );
    assert_eq!(
        r.code,
        Some(code),
        "exit code\nstdout:\n{}\nstderr:\n{}",
        r.stdout,
        r.stderr
    );
}

#[test]
fn plays_the_demo_for_one_second_into_a_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bin = dir.path().join("port1.bin");
    let stats = dir.path().join("stats.json");
    let mut cmd = ledwall();
    // No PLAYLIST and no --wall: the demo, found from the current directory.
    cmd.current_dir(root())
        .args(["play", "--for", "1", "--sink"])
        .arg(format!("port1=file:{}", bin.display()))
        .arg("--stats")
        .arg(&stats)
        .args(["--log-format", "json", "--backend", "cpu"]);
    let r = run(cmd, Duration::from_secs(120));
    check(&r, 0);
    // The demo wall refreshes at 60 Hz: exactly 60 frames of port1 (16 addresses x 11
    // planes x 128 positions).
    let bytes = std::fs::metadata(&bin)
        .unwrap_or_else(|e| panic!("{e}"))
        .len();
    assert_eq!(bytes, 60 * 16 * 11 * 128);
    // Statistics on stdout and in the file.
    assert!(r.stdout.contains("played 60 ticks"), "{}", r.stdout);
    assert!(r.stdout.contains("lateness: p50"), "{}", r.stdout);
    let text = std::fs::read_to_string(&stats).unwrap_or_else(|e| panic!("{e}"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["ticks"], 60);
    assert_eq!(v["refresh_hz"], 60);
    let f = &v["frames"];
    let sent = ["new", "late", "repeated"]
        .iter()
        .map(|k| f[k].as_u64().unwrap_or(0))
        .sum::<u64>();
    assert_eq!(sent, 60, "{f}");
    assert!(v["lateness"]["p99_us"].is_number());
    assert_eq!(v["sinks"][0]["frames"], 60, "{}", v["sinks"]);
    // One CSV line per tick beside it.
    let csv = std::fs::read_to_string(dir.path().join("stats.ticks.csv"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(csv.lines().count(), 61);
    // --log-format json: every log line on stderr is a JSON object.
    let logs: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!logs.is_empty(), "no log lines");
    for line in logs {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
    }
}

#[test]
fn sigterm_stops_cleanly_with_statistics() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bin = dir.path().join("hub.bin");
    let mut cmd = ledwall();
    cmd.args(["play", "pattern:line", "--backend", "cpu", "--wall"])
        .arg(root().join("fixtures/walls/tiny.toml"))
        .arg("--sink")
        .arg(format!("hub=file:{}", bin.display()));
    let playing = Playing::start(cmd);
    // Let it play a moment, then SIGTERM.
    std::thread::sleep(Duration::from_millis(300));
    playing.signal(libc::SIGTERM);
    let r = playing.finish(Duration::from_secs(60));
    check(&r, 0);
    assert!(r.stdout.contains("played "), "{}", r.stdout);
    assert!(r.stderr.contains("stopped by a signal"), "{}", r.stderr);
    // The file holds whole frames (the last tick was finished and flushed): 2 addresses x
    // 4 planes x 64 positions (2 modules x 16 columns x stretch 2) of the hub port.
    let frame = 2 * 4 * 64;
    let len = std::fs::metadata(&bin)
        .unwrap_or_else(|e| panic!("{e}"))
        .len();
    assert!(len > 0 && len.is_multiple_of(frame), "{len} bytes");
    let ticks: u64 = r
        .stdout
        .split_whitespace()
        .nth(1)
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no tick count in {}", r.stdout));
    assert_eq!(len / frame, ticks, "one frame a tick");
}

/// Away from the repository the built-in demo plays (issue 25; tests/install.rs plays it
/// from an installed binary into file sinks).
#[test]
fn away_from_the_repository_the_built_in_demo_plays() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = ledwall();
    cmd.current_dir(dir.path()).args(["play", "--for", "1"]);
    let r = run(cmd, Duration::from_secs(60));
    check(&r, 0);
    assert!(r.stderr.contains("built-in demo"), "{}", r.stderr);
}

#[test]
fn a_sink_for_an_unknown_port_is_a_usage_error() {
    let mut cmd = ledwall();
    cmd.current_dir(root())
        .args(["play", "--for", "1", "--sink", "port9=null"]);
    let r = run(cmd, Duration::from_secs(60));
    check(&r, 2);
    assert!(r.stderr.contains("no port \"port9\""), "{}", r.stderr);
}

/// SIGHUP (what `systemctl reload` sends) rereads the wall and playlist and playing goes
/// on: the run lasts its full `--for`, one frame a tick, and a changed playlist takes over.
#[test]
fn sighup_rereads_the_files_and_playing_goes_on() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bin = dir.path().join("hub.bin");
    let playlist = dir.path().join("show.toml");
    let items = |source: &str| format!("[[items]]\nsource = \"{source}\"\nduration = 60.0\n");
    std::fs::write(&playlist, items("pattern:line")).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = ledwall();
    cmd.arg("play")
        .arg(&playlist)
        .args(["--backend", "cpu", "--for", "4", "--wall"])
        .arg(root().join("fixtures/walls/tiny.toml"))
        .arg("--sink")
        .arg(format!("hub=file:{}", bin.display()));
    let playing = Playing::start(cmd);
    std::thread::sleep(Duration::from_millis(500));
    // Change the playlist, then ask for the reload (the file watcher would also see the
    // change within a second; the point here is that SIGHUP no longer ends the run).
    std::fs::write(&playlist, items("pattern:grid")).unwrap_or_else(|e| panic!("{e}"));
    playing.signal(libc::SIGHUP);
    let r = playing.finish(Duration::from_secs(60));
    check(&r, 0);
    assert!(
        r.stderr.contains("reload requested (SIGHUP)"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("playlist reloaded"), "{}", r.stderr);
    assert!(!r.stderr.contains("stopped by a signal"), "{}", r.stderr);
    // The whole run: 4 s at the tiny wall's 60 Hz, one frame a tick.
    let frame = 2 * 4 * 64;
    let len = std::fs::metadata(&bin)
        .unwrap_or_else(|e| panic!("{e}"))
        .len();
    assert_eq!(len / frame, 240, "{len} bytes");
}

/// `--stats` is checked before the run: a path that cannot be written is a usage error at
/// start, not figures lost at the end.
#[test]
fn a_stats_path_that_cannot_be_written_is_refused_before_playing() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = ledwall();
    cmd.args([
        "play",
        "pattern:line",
        "--backend",
        "cpu",
        "--for",
        "30",
        "--wall",
    ])
    .arg(root().join("fixtures/walls/tiny.toml"))
    .arg("--stats")
    .arg(dir.path());
    let started = Instant::now();
    let r = run(cmd, Duration::from_secs(60));
    check(&r, 2);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "it played first"
    );
    assert!(r.stderr.contains("--stats"), "{}", r.stderr);
    assert!(!r.stdout.contains("played "), "{}", r.stdout);
}

/// The pid of the only child of `pid` (from /proc), waiting up to 10 s for it.
fn only_child(pid: u32) -> i32 {
    let path = format!("/proc/{pid}/task/{pid}/children");
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(c) = text.split_whitespace().next().and_then(|c| c.parse().ok()) {
            return c;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no child of {pid}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A second Ctrl-C while stopping exits at once (130) and still gives the terminal back:
/// the live view hid the cursor, the emergency exit shows it again. The view needs a
/// terminal: `script` runs the player on a pseudo-terminal and copies what it wrote.
#[test]
fn a_second_signal_exits_at_once_and_gives_the_terminal_back() {
    if Command::new("script").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "script (util-linux) is missing"
        );
        eprintln!("SKIPPED: no `script` command to give the player a terminal");
        return;
    }
    let player = format!(
        "exec {} play pattern:line --backend cpu --wall {}",
        env!("CARGO_BIN_EXE_ledwall"),
        root().join("fixtures/walls/tiny.toml").display()
    );
    let mut script = Command::new("script")
        .args(["-q", "-e", "-f", "-c", &player, "/dev/null"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start script: {e}"));
    let out = reader(&mut script, true);
    let pid = only_child(script.id());
    // The view is up once the player says it plays (stderr goes to the terminal too).
    let start = Instant::now();
    while !std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .contains("ledwall")
    {
        assert!(start.elapsed() < Duration::from_secs(10), "no player");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1500));
    // Two different signals: two of the same kind pending at once are delivered as one.
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: kill() with a valid signal number has no memory-safety preconditions.
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(rc, 0, "kill failed");
    }
    let code = wait(&mut script, Duration::from_secs(30));
    let text = out.join().unwrap_or_else(|_| panic!("stdout reader"));
    assert!(
        text.contains("\x1b[?25l"),
        "the view never started: {text:?}"
    );
    let hidden = text.rfind("\x1b[?25l").unwrap_or(0);
    let shown = text.rfind("\x1b[?25h");
    assert!(
        shown.is_some_and(|s| s > hidden),
        "the cursor was not shown again: {:?}",
        &text[text.len().saturating_sub(200)..]
    );
    assert_eq!(
        code,
        Some(130),
        "{}",
        &text[text.len().saturating_sub(500)..]
    );
}

/// A playlist file that is missing at start (a share not mounted yet) does not end the
/// run: the fallback plays, and the playlist takes over once it appears.
#[test]
fn a_missing_playlist_shows_the_fallback_until_it_appears() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bin = dir.path().join("hub.bin");
    let share = dir.path().join("share");
    let playlist = share.join("show.toml");
    let mut cmd = ledwall();
    cmd.arg("play")
        .arg(&playlist)
        .args([
            "--backend",
            "cpu",
            "--for",
            "4",
            "--fallback",
            "pattern:solid:#ff0000",
        ])
        .arg("--wall")
        .arg(root().join("fixtures/walls/tiny.toml"))
        .arg("--sink")
        .arg(format!("hub=file:{}", bin.display()));
    let playing = Playing::start(cmd);
    std::thread::sleep(Duration::from_millis(1000));
    std::fs::create_dir(&share).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        &playlist,
        "[[items]]\nsource = \"pattern:grid\"\nduration = 60.0\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = playing.finish(Duration::from_secs(60));
    check(&r, 0);
    assert!(
        r.stderr.contains("cannot be read") && r.stderr.contains("pattern:solid:#ff0000"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("playlist reloaded"), "{}", r.stderr);
    let bytes = std::fs::read(&bin).unwrap_or_else(|e| panic!("{e}"));
    let frame = 2 * 4 * 64;
    assert_eq!(bytes.len() / frame, 240, "one frame a tick, the whole run");
    let first = &bytes[..frame];
    let last = &bytes[bytes.len() - frame..];
    assert!(first.iter().any(|&b| b != 0), "the fallback is lit");
    assert_ne!(first, last, "the playlist never took over");
    // The fallback's frames are all the same; the playlist's are not the fallback's.
    assert_eq!(first, &bytes[frame..2 * frame]);
}
