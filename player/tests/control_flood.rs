//! A flood of control API requests while pacing at 240 Hz: 1000 requests over 10 s from 4
//! clients (status, metrics, events, preview.png, playlist, brightness, next, bad JSON),
//! against the same run without the flood. The player must answer every request, keep
//! sending every tick and not log a panic; the lateness of both runs is printed and written
//! to `target/control-flood.json` (docs/PERFORMANCE.md reports it). Timing is recorded, not
//! asserted: this VM's minutes differ too much.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const HZ: u32 = 240;
const SECONDS: u32 = 12;
const REQUESTS: usize = 1000;
const CLIENTS: usize = 4;
const FLOOD: Duration = Duration::from_secs(10);

/// The binary: `LEDWALL_BIN` (e.g. a release build, for the figures in
/// docs/PERFORMANCE.md), else the one cargo built for this test.
fn binary() -> PathBuf {
    std::env::var_os("LEDWALL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ledwall")))
}

/// CPU time the hypervisor took from this VM so far (steal, ms), when the kernel says.
fn steal_ms() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?;
    let steal: u64 = cpu.split_whitespace().nth(8)?.parse().ok()?;
    // USER_HZ is 100 on Linux.
    Some(steal * 10)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Run the demo at 240 Hz for 12 s with the control API; with `flood`, the requests go
/// out during the run. Returns the run's statistics and the answers' status codes.
fn run(flood: bool) -> (Value, Vec<u16>) {
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("stats.json");
    let wall = std::fs::read_to_string(root().join("fixtures/walls/demo.toml"))
        .unwrap()
        .replace("refresh_hz = 60", &format!("refresh_hz = {HZ}"));
    assert!(wall.contains(&format!("refresh_hz = {HZ}")));
    let wall_path = dir.path().join("wall240.toml");
    std::fs::write(&wall_path, wall).unwrap();
    let steal0 = steal_ms();
    let mut child = Command::new(binary())
        .env_remove("RUST_LOG")
        .env_remove("LEDWALL_CONTROL_TOKEN")
        .arg("play")
        .arg(root().join("fixtures/playlists/demo.toml"))
        .arg("--wall")
        .arg(&wall_path)
        .args(["--backend", "cpu", "--control", "127.0.0.1:0", "--for"])
        .arg(SECONDS.to_string())
        .arg("--stats")
        .arg(&stats)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let log = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("control API and page on http://").nth(1) {
                let _ = tx.send(rest.split('/').next().unwrap_or("").to_string());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let addr = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    let mut codes = Vec::new();
    if flood {
        let start = Instant::now();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let addr = addr.clone();
                std::thread::spawn(move || client(c, &addr, start))
            })
            .collect();
        for c in clients {
            codes.extend(c.join().unwrap());
        }
    }
    let status = child.wait().unwrap();
    let log = log.join().unwrap();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    if let (Some(a), Some(b)) = (steal0, steal_ms()) {
        v["steal_ms"] = json!(b.saturating_sub(a));
    }
    (v, codes)
}

/// One client's share of the flood, spread evenly over [`FLOOD`].
fn client(c: usize, addr: &str, start: Instant) -> Vec<u16> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let n = REQUESTS / CLIENTS;
    let mut codes = Vec::with_capacity(n);
    for i in 0..n {
        let due = start + FLOOD.mul_f64((i * CLIENTS + c) as f64 / REQUESTS as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let url = |p: &str| format!("http://{addr}{p}");
        let level = json!({"level": (i % 10) as f64 / 10.0, "fade_s": 0.2}).to_string();
        let r = match (i + c) % 9 {
            0 | 1 => agent.get(&url("/api/v1/status")).call(),
            2 => agent.get(&url("/metrics")).call(),
            3 => agent.get(&url("/api/v1/preview.png")).call(),
            4 => agent.get(&url("/api/v1/playlist")).call(),
            5 => agent
                .post(&url("/api/v1/brightness"))
                .header("Content-Type", "application/json")
                .send(level.as_bytes()),
            6 => agent.post(&url("/api/v1/next")).send_empty(),
            7 => agent
                .post(&url("/api/v1/brightness"))
                .header("Content-Type", "application/json")
                .send(&b"{\"level\": "[..]),
            _ => agent.get(&url("/")).call(),
        };
        match r {
            Ok(mut r) => {
                let _ = r.body_mut().with_config().limit(64 << 20).read_to_vec();
                codes.push(r.status().as_u16());
            }
            Err(e) => panic!("request {i} of client {c} failed: {e}"),
        }
    }
    codes
}

fn summary(v: &Value) -> Value {
    json!({
        "ticks": v["ticks"],
        "lateness": v["lateness"],
        "frames": v["frames"],
        "steal_ms": v["steal_ms"],
    })
}

#[test]
fn a_request_flood_does_not_stop_the_wall() {
    let (quiet, _) = run(false);
    let (flooded, codes) = run(true);
    assert_eq!(codes.len(), REQUESTS);
    let server_errors = codes.iter().filter(|&&c| c >= 500 && c != 503).count();
    assert_eq!(server_errors, 0, "answers: {codes:?}");
    let bad = codes.iter().filter(|&&c| c == 400).count();
    assert!(bad > 0 && bad < REQUESTS / 4, "the bad-JSON share: {bad}");
    for v in [&quiet, &flooded] {
        assert_eq!(
            v["ticks"],
            u64::from(HZ * SECONDS),
            "every tick went out: {v}"
        );
    }
    let report = json!({
        "binary": binary().display().to_string(),
        "hz": HZ,
        "seconds": SECONDS,
        "requests": REQUESTS,
        "clients": CLIENTS,
        "answers": {
            "2xx": codes.iter().filter(|&&c| (200..300).contains(&c)).count(),
            "4xx": codes.iter().filter(|&&c| (400..500).contains(&c)).count(),
            "503": codes.iter().filter(|&&c| c == 503).count(),
        },
        "without_flood": summary(&quiet),
        "with_flood": summary(&flooded),
    });
    let text = serde_json::to_string_pretty(&report).unwrap();
    eprintln!("{text}");
    let out = root().join("target/control-flood.json");
    let _ = std::fs::write(out, text + "\n");
}
