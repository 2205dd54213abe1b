//! `ledwall play --multisync remote:PORT` (design §10) against a real master: two
//! `ledwall play` processes on this machine play the same three pattern items at 60 Hz, the
//! master (`--multisync master:127.0.0.1:PORT`) from the start, the remote 1.5 s later. The
//! remote catches up and then shows the master's item at the same moment (both control
//! APIs are read back to back), with the same item lengths in both file sinks, also when
//! the operator cuts an item short on the master (`next`). When the master goes away the
//! remote plays on by its own timeline and logs the master as lost.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

mod common;

use common::{FRAME, Player, ledwall, solid, wall_at};
#[path = "common/positions.rs"]
mod positions;
use positions::{position, sample};

/// The offset samples of [`positions::sample`] between two players on this host, in the
/// middle of 60-tick items.
fn sample_local(master: &Player, remote: &Player, n: usize) -> (Vec<f64>, usize) {
    sample(
        &|| master.status(),
        &|| remote.status(),
        n,
        10.0..50.0,
        f64::INFINITY,
    )
}

const PLAYLIST: &str = r#"
name = "three"
[[items]]
source = "pattern:solid:#c86432"
duration = 1.0
[[items]]
source = "pattern:solid:#204060"
duration = 1.0
[[items]]
source = "pattern:solid:#60a0e0"
duration = 1.0
"#;

const A: [u8; 3] = [0xc8, 0x64, 0x32];
const B: [u8; 3] = [0x20, 0x40, 0x60];
const C: [u8; 3] = [0x60, 0xa0, 0xe0];

/// A UDP port free a moment ago.
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs of one solid colour in the frames: (colour, length); frames that are not solid
/// (none in this playlist) end a run.
fn runs(bytes: &[u8]) -> Vec<([u8; 3], usize)> {
    let mut out: Vec<([u8; 3], usize)> = Vec::new();
    for f in bytes.chunks_exact(FRAME) {
        let Some(c) = solid(f) else {
            out.push(([0, 0, 0], 1));
            continue;
        };
        match out.last_mut() {
            Some((last, n)) if *last == c => *n += 1,
            _ => out.push((c, 1)),
        }
    }
    out
}

fn frames_of(p: &Player) -> Vec<u8> {
    std::fs::read(p.dir.path().join("out.bin")).unwrap_or_default()
}

fn wait_log(p: &Player, what: &str, limit: Duration) {
    let start = Instant::now();
    while !p.log().contains(what) {
        assert!(
            start.elapsed() < limit,
            "no \"{what}\" in the log:\n{}",
            p.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_late_remote_follows_the_master_and_plays_on_when_it_is_gone() {
    let port = free_port();
    let to = format!("master:127.0.0.1:{port}");
    let master = Player::start_with(&wall_at(60), PLAYLIST, &["--multisync", &to], None);
    std::thread::sleep(Duration::from_millis(1500));
    let stats_dir = tempfile::tempdir().unwrap();
    let stats = stats_dir.path().join("stats.json");
    let listen = format!("remote:{port}");
    let remote = Player::start_with(
        &wall_at(60),
        PLAYLIST,
        &["--multisync", &listen, "--stats", stats.to_str().unwrap()],
        None,
    );
    wait_log(
        &remote,
        "multisync: master 127.0.0.1",
        Duration::from_secs(5),
    );
    // Settle, then the two show the same item at the same moment, within a few ticks.
    std::thread::sleep(Duration::from_millis(1000));
    let (same, different) = sample_local(&master, &remote, 40);
    assert!(
        same.len() >= 25 && different == 0,
        "the remote shows other items than the master: {same:?}, {different} different"
    );
    for d in &same {
        assert!(
            d.abs() <= 4.0,
            "the remote is {d} ticks off the master: {same:?}"
        );
    }
    let s = remote.status();
    let ms = &s["multisync"];
    assert_eq!(ms["role"], "remote", "{s:#}");
    assert_eq!(ms["master_present"], true, "{s:#}");
    assert!(
        ms["master"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{s:#}"
    );
    // The file the master plays: one of the playlist's items, named as the master sends it.
    let file = ms["master_file"].as_str().unwrap_or_default();
    assert!(
        ["#c86432", "#204060", "#60a0e0"]
            .iter()
            .any(|c| !file.is_empty() && PLAYLIST.contains(file) && file.contains(c)),
        "{s:#}"
    );
    assert!(
        ms["corrections"]["switches"].as_u64().unwrap() >= 1,
        "{s:#}"
    );
    assert!(ms["packets"].as_u64().unwrap() > 10, "{s:#}");
    assert_eq!(ms["bad_packets"], 0, "{s:#}");

    // The operator cuts the master's item short: the remote follows the switch.
    let wait_mid = Instant::now();
    while position(&master.status()).is_none_or(|(_, t)| !(20.0..30.0).contains(&t)) {
        assert!(wait_mid.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(10));
    }
    master.post("/api/v1/next", json!({}));
    std::thread::sleep(Duration::from_millis(500));
    let (same, different) = sample_local(&master, &remote, 20);
    assert!(same.len() >= 12 && different == 0, "{same:?}, {different}");
    for d in &same {
        assert!(d.abs() <= 4.0, "after next: {d} ticks off: {same:?}");
    }
    // Both file sinks: the same item lengths from the remote's first whole item on,
    // including the item `next` cut short (it is shorter than 60 ticks on both).
    std::thread::sleep(Duration::from_millis(300));
    let m_runs = runs(&frames_of(&master));
    let r_runs = runs(&frames_of(&remote));
    let whole = |r: &[([u8; 3], usize)]| r[1..r.len() - 1].to_vec();
    let (mw, rw) = (whole(&m_runs), whole(&r_runs));
    // The remote's runs after its catch-up are the master's last runs.
    let rw = &rw[1..];
    assert!(rw.len() >= 3, "remote runs {r_runs:?}");
    let mtail = &mw[mw.len() - rw.len()..];
    let mut cut = false;
    for (m, r) in mtail.iter().zip(rw) {
        assert_eq!(m.0, r.0, "colours: master {mw:?}, remote {rw:?}");
        assert!(
            m.1.abs_diff(r.1) <= 4,
            "item lengths: master {mw:?}, remote {rw:?}"
        );
        assert!([A, B, C].contains(&m.0), "{mw:?}");
        cut |= m.1 < 50;
    }
    assert!(
        cut,
        "the item cut short is among them: master {mw:?}, remote {rw:?}"
    );

    // The master goes away: the remote plays on by its own timeline, and says so.
    drop(master);
    let before = frames_of(&remote).len() / FRAME;
    wait_log(&remote, "master is lost", Duration::from_secs(15));
    std::thread::sleep(Duration::from_millis(1000));
    let after = frames_of(&remote).len() / FRAME;
    assert!(after >= before + 600, "frames {before} -> {after}");
    let tail = runs(&frames_of(&remote)[(after - 200) * FRAME..]);
    assert!(
        tail.iter().all(|(c, _)| [A, B, C].contains(c)),
        "the remote plays its items: {tail:?}"
    );
    let s = remote.status();
    assert_eq!(s["multisync"]["master_present"], false, "{s:#}");
    assert!(s["multisync"]["corrections"]["lost"].as_u64().unwrap() >= 1);
    drop(remote);
    // The per-tick CSV (written out at the end): a line per tick sent, every period
    // within 1 % of 1/60 s (the follower's stretch is bounded), the pacer never
    // drifting from it.
    let csv = std::fs::read_to_string(stats_dir.path().join("stats.ticks.csv")).unwrap();
    let deadlines: Vec<i64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(deadlines.len() >= after, "{} ticks", deadlines.len());
    for w in deadlines.windows(2) {
        let p = w[1] - w[0];
        assert!((16_499..=16_835).contains(&p), "a period of {p} µs");
    }
}

#[test]
fn remote_values_and_a_busy_port_are_refused() {
    for value in [
        "remote:",
        "remote:0",
        "remote:70000",
        "remote:10.0.0.1:4000",
    ] {
        let out = ledwall()
            .args(["play", "pattern:bars", "--for", "0.1", "--multisync", value])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{value}: {err}");
        assert!(err.contains("--multisync"), "{value}: {err}");
        assert!(err.contains("remote:PORT"), "{value}: {err}");
    }
    // The port in use: an error of the run (exit 1) naming the option and the port.
    let busy = UdpSocket::bind("0.0.0.0:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let wall = dir.path().join("wall.toml");
    std::fs::write(&wall, wall_at(60)).unwrap();
    let out = ledwall()
        .args([
            "play",
            "pattern:bars",
            "--for",
            "0.1",
            "--sink",
            "strip=null",
        ])
        .arg("--wall")
        .arg(&wall)
        .args(["--multisync", &format!("remote:{port}")])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "--multisync remote: cannot listen on UDP port {port}"
        )),
        "{err}"
    );
}
