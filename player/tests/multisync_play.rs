//! `ledwall play --multisync master:HOST:PORT` (design §10): the real binary plays three
//! pattern items at 60 Hz for 4 s while this test listens on a UDP socket on 127.0.0.1 and
//! decodes every MultiSync packet; the control API's `next` cuts an item short. Every
//! packet is checked: starts at frame 0, syncs on FPP's schedule with seconds = frame / 60,
//! a stop then a start at each item change, names in playlist order, a final stop.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledwall_player::multisync::{Action, Packet, decode, schedule::sync_due};
use serde_json::json;
use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use common::{Player, ledwall, wall_at};

const A: &str = "pattern:solid:#c86432";
const B: &str = "pattern:solid:#204060";
const C: &str = "pattern:solid:#60a0e0";

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
transition = { kind = "crossfade", duration = 0.2 }
"#;

#[derive(Debug, Clone, PartialEq)]
struct Got {
    action: Action,
    frame: u32,
    seconds: f32,
    name: String,
}

/// Every MultiSync packet arriving on `socket`, decoded, in order.
fn collect(socket: UdpSocket) -> Arc<Mutex<Vec<Got>>> {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&got);
    socket
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            let Ok(n) = socket.recv(&mut buf) else {
                continue;
            };
            match decode(&buf[..n]) {
                Ok(Packet::Sync(s)) => sink.lock().unwrap().push(Got {
                    action: s.action,
                    frame: s.frame,
                    seconds: s.seconds,
                    name: s.name.to_string(),
                }),
                other => panic!("not a sync packet: {other:?}"),
            }
        }
    });
    got
}

fn wait_until(got: &Mutex<Vec<Got>>, what: &str, pred: impl Fn(&[Got]) -> bool) {
    let start = Instant::now();
    while !pred(&got.lock().unwrap()) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}; got {:#?}",
            got.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The sync frames FPP's schedule gives an item shown from frame 0 to `last`.
fn schedule(last: u32) -> Vec<u32> {
    let mut sent = None;
    let mut out = Vec::new();
    for f in 0..=last {
        if sync_due(f, sent) {
            sent = Some(f);
            out.push(f);
        }
    }
    out
}

/// One item's packets: its start, its syncs and the stop that ended it.
#[derive(Debug)]
struct Run {
    name: String,
    syncs: Vec<u32>,
    last: u32,
}

/// Split the packets into items, checking the order start, syncs, stop and the values.
fn runs(got: &[Got]) -> Vec<Run> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < got.len() {
        let start = &got[i];
        assert_eq!(start.action, Action::Start, "packet {i}: {got:#?}");
        assert_eq!(start.frame, 0, "packet {i}: a start at frame 0: {got:#?}");
        let mut syncs = Vec::new();
        i += 1;
        while i < got.len() && got[i].action == Action::Sync {
            let s = &got[i];
            assert_eq!(s.name, start.name, "packet {i}");
            let want = s.frame as f32 / 60.0;
            assert!(
                (s.seconds - want).abs() < 1e-4,
                "packet {i}: seconds {} at frame {}",
                s.seconds,
                s.frame
            );
            syncs.push(s.frame);
            i += 1;
        }
        assert!(i < got.len(), "item {} not stopped: {got:#?}", start.name);
        let stop = &got[i];
        assert_eq!(stop.action, Action::Stop, "packet {i}: {got:#?}");
        assert_eq!(stop.name, start.name, "packet {i}: the stop names its item");
        out.push(Run {
            name: start.name.clone(),
            syncs,
            last: stop.frame,
        });
        i += 1;
    }
    out
}

#[test]
fn master_sends_the_items_on_screen_with_their_frames() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let got = collect(socket);
    let target = format!("master:127.0.0.1:{port}");
    let p = Player::start_with(
        &wall_at(60),
        PLAYLIST,
        &["--multisync", &target, "--for", "4"],
        None,
    );
    // The first item plays out, the second starts; a little into it, `next`.
    wait_until(&got, "the second item's sync at frame 8", |g| {
        g.iter()
            .any(|x| x.name == B && x.action == Action::Sync && x.frame >= 8)
    });
    p.post("/api/v1/next", json!({}));
    // The run ends after 240 ticks with a stop; nothing comes after it (an item change
    // sends its stop and the next start together, and syncs come every 10 frames).
    let start = Instant::now();
    let got = loop {
        let before = got.lock().unwrap().clone();
        std::thread::sleep(Duration::from_millis(700));
        let after = got.lock().unwrap().clone();
        if after.len() == before.len() && after.last().is_some_and(|x| x.action == Action::Stop) {
            break after;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no final stop: {after:#?}"
        );
    };
    let log = p.log();
    assert!(!log.contains("panicked"), "{log}");
    drop(p);

    let runs = runs(&got);
    let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    // A and B in playlist order; `next` cut B short for C; then the playlist order again
    // (it loops) until the run's end.
    assert!(runs.len() >= 4, "{runs:#?}");
    let order = [A, B, C];
    let want: Vec<&str> = [A, B]
        .into_iter()
        .chain(order.iter().copied().cycle().skip(2))
        .take(runs.len())
        .collect();
    assert_eq!(names, want, "{runs:#?}");
    assert!(
        (8..59).contains(&runs[1].last),
        "`next` cut B short: {runs:#?}"
    );
    let end = runs.len() - 1;
    for (k, r) in runs.iter().enumerate() {
        if k != 1 && k != end {
            // Played out: 60 ticks (C from the start of its crossfade from B).
            assert_eq!(r.last, 59, "item {k}: {runs:#?}");
        }
        assert_eq!(r.syncs, schedule(r.last), "item {k}: {runs:#?}");
    }
    // The run's 240 ticks, each item's frames counted from 0.
    let ticks: u32 = runs.iter().map(|r| r.last + 1).sum();
    assert_eq!(ticks, 240, "{runs:#?}");
}

#[test]
fn multisync_values_are_checked() {
    for (value, says) in [
        ("remote:0", "remote:PORT"),
        ("remote:10.0.0.1:4000", "remote:PORT"),
        ("slave", "master:HOST"),
        ("master:", "HOST or HOST:PORT"),
        ("master:127.0.0.1:99999", "port"),
    ] {
        let out = ledwall()
            .args(["play", "pattern:bars", "--for", "0.1", "--multisync", value])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{value}: {err}");
        assert!(err.contains("--multisync"), "{value}: {err}");
        assert!(err.contains(says), "{value}: {err}");
    }
    // A host that does not resolve: a usage error naming it, before anything plays.
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
        .args(["--multisync", "master:no-such-host.invalid"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--multisync master:no-such-host.invalid"),
        "{err}"
    );
}
