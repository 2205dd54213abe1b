//! The control API (design §13) against a real `ledwall play` process on 127.0.0.1: every
//! route and its errors, authentication, content roots, and what the commands do to the
//! bytes the `file` sink receives. Timeouts only detect hangs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

mod common;

use common::{PLAYLIST, Player, WALL, have_gpu, ledwall, solid};

#[test]
fn status_object_has_every_field_of_the_contract() {
    let p = Player::start(&[], None);
    let s = p.wait_for(|s| s["item"].is_object(), "an item on screen");
    assert_eq!(
        s["wall"],
        json!({"name": "ctl", "width": 16, "height": 8, "refresh_hz": 30})
    );
    assert_eq!(s["backend"], "cpu");
    assert!(s["adapter"].is_null());
    assert!(s["uptime_s"].as_f64().unwrap() > 0.0);
    assert!(s["ticks"].as_u64().unwrap() > 0);
    assert_eq!(s["playlist"]["name"], "three");
    assert!(
        s["playlist"]["path"]
            .as_str()
            .unwrap()
            .ends_with("main.toml")
    );
    let item = &s["item"];
    assert_eq!(item["count"], 3);
    for k in ["index", "elapsed_s", "remaining_s"] {
        assert!(item[k].is_number(), "item.{k}: {s}");
    }
    assert!(
        item["source"]
            .as_str()
            .unwrap()
            .starts_with("pattern:solid:")
    );
    assert!(s["next"]["index"].is_number() && s["next"]["source"].is_string());
    assert_eq!(s["brightness"]["level"], 1.0);
    assert_eq!(s["brightness"]["source"], "wall");
    assert_eq!(s["brightness"]["effective"], 1.0);
    assert_eq!(s["blackout"], false);
    assert!(s["pattern"].is_null());
    assert!(s["fps"].is_number());
    for k in ["p50", "p99", "max"] {
        assert!(s["lateness_us"][k].is_u64(), "lateness_us.{k}: {s}");
    }
    for k in ["new", "late", "repeated", "dropped"] {
        assert!(s["frames"][k].is_u64(), "frames.{k}: {s}");
    }
    assert!(s["render_errors"].is_u64());
    let sink = &s["sinks"][0];
    assert_eq!(sink["name"], "strip");
    assert!(sink["url"].as_str().unwrap().starts_with("file:"));
    for k in ["frames", "bytes", "errors"] {
        assert!(sink[k].is_u64(), "sinks[0].{k}: {s}");
    }
    assert!(s["warnings"].is_array());
    // The fps settles at the refresh rate.
    let s = p.wait_for(
        |s| (s["fps"].as_f64().unwrap() - 30.0).abs() < 3.0,
        "30 fps",
    );
    assert!(s["frames"]["new"].as_u64().unwrap() > 0);
    // The items listed with their times.
    let (code, pl) = p.json("GET", "/api/v1/playlist", None);
    assert_eq!(code, 200);
    assert_eq!(pl["items"].as_array().unwrap().len(), 3);
    assert_eq!(pl["items"][1]["start_s"], 1.0);
    assert_eq!(pl["items"][2]["transition"], "crossfade");
    assert_eq!(pl["cycle_s"], 3.0);
}

/// A live item without a duration plays until the schedule changes: its length, what is
/// left of it and the playlist's cycle are null (the page shows "live" and ∞), not the year
/// the timeline places it for. Its stream (a local UDP port nobody sends to) never starts,
/// so its fallback shows.
#[test]
fn a_live_item_without_a_duration_has_no_length() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap();
    let pl = format!(
        "[[items]]\nsource = \"pattern:solid:#102030\"\nduration = 0.3\n\
         [[items]]\nsource = \"udp://127.0.0.1:{port}\"\nfallback = \"pattern:solid:#405060\"\n"
    );
    let p = Player::start_with(WALL, &pl, &[], None);
    let s = p.wait_for(|s| s["item"]["index"] == 1, "the live item");
    let item = &s["item"];
    assert!(item["remaining_s"].is_null(), "{s}");
    assert!(item["duration_s"].is_null(), "{s}");
    assert!(item["elapsed_s"].is_number(), "{s}");
    let (code, pl) = p.json("GET", "/api/v1/playlist", None);
    assert_eq!(code, 200);
    assert_eq!(pl["items"][0]["duration_s"], 0.3);
    assert!(pl["items"][1]["duration_s"].is_null(), "{pl}");
    assert_eq!(pl["items"][1]["playable"], true, "{pl}");
    assert!(pl["cycle_s"].is_null(), "{pl}");
}

#[test]
fn brightness_halves_the_codes_and_blackout_zeroes_them_while_items_advance_cpu() {
    brightness_and_blackout("cpu");
}

#[test]
fn brightness_halves_the_codes_and_blackout_zeroes_them_while_items_advance_gpu() {
    if have_gpu() {
        brightness_and_blackout("gpu");
    }
}

fn brightness_and_blackout(backend: &str) {
    // Two items of one colour: the sink always shows (200, 100, 50) times the level.
    let one = "[[items]]\nsource = \"pattern:solid:#c86432\"\nduration = 0.5\n\
               [[items]]\nsource = \"pattern:solid:#c86432\"\nduration = 0.5\n";
    let p = Player::start_with(WALL, one, &["--backend", backend], None);
    assert_eq!(p.status()["backend"], backend);
    assert_eq!(p.settled(2), Some([200, 100, 50]));
    p.post("/api/v1/brightness", json!({"level": 0.5}));
    let s = p.wait_for(|s| s["brightness"]["effective"] == 0.5, "level 0.5");
    assert_eq!(s["brightness"]["source"], "api");
    assert_eq!(s["brightness"]["level"], 0.5);
    assert_eq!(p.settled(5), Some([100, 50, 25]), "halved codes");
    // Blackout: all zero, while the playlist runs on.
    p.post("/api/v1/blackout", json!({"on": true}));
    let s = p.wait_for(
        |s| s["blackout"] == true && s["brightness"]["effective"] == 0.0,
        "blackout",
    );
    let item = s["item"]["index"].as_u64().unwrap();
    assert_eq!(p.settled(5), Some([0, 0, 0]), "black");
    p.wait_for(
        |s| s["item"]["index"].as_u64() != Some(item),
        "the next item during the blackout",
    );
    assert_eq!(p.settled(3), Some([0, 0, 0]), "still black");
    // Back, with a fade: levels in between, then the level set before.
    p.post("/api/v1/blackout", json!({"on": false, "fade_s": 1.0}));
    p.wait_for(|s| s["brightness"]["effective"] == 0.5, "back from black");
    assert_eq!(p.settled(3), Some([100, 50, 25]));
    let seen: Vec<[u8; 3]> = p.frames().iter().filter_map(|f| solid(f)).collect();
    assert!(
        seen.iter().any(|c| c[0] > 0 && c[0] < 100),
        "the fade shows levels between black and 0.5: {seen:?}"
    );
}

#[test]
fn next_previous_goto_and_patterns_change_what_the_sink_gets() {
    let p = Player::start(&[], None);
    let colours = [[0xc8, 0x64, 0x32], [0x20, 0x40, 0x60], [0x60, 0xa0, 0xe0]];
    let s = p.wait_for(|s| s["item"].is_object(), "an item");
    let at = s["item"]["index"].as_u64().unwrap() as usize;
    p.post("/api/v1/next", json!({}));
    let want = (at + 1) % 3;
    p.wait_for(|s| s["item"]["index"] == want, "the next item");
    // goto by index and by source.
    p.post("/api/v1/goto", json!({"index": 1}));
    p.wait_for(|s| s["item"]["index"] == 1, "item 1");
    assert_eq!(p.settled(3), Some(colours[1]));
    p.post("/api/v1/goto", json!({"source": "pattern:solid:#c86432"}));
    p.wait_for(|s| s["item"]["index"] == 0, "item 0");
    // Previous from the first item wraps to the last.
    p.post("/api/v1/previous", json!({}));
    p.wait_for(|s| s["item"]["index"] == 2, "the last item");
    // An item that is not there.
    let (code, v) = p.json("POST", "/api/v1/goto", Some(r#"{"index": 3}"#));
    assert_eq!((code, v["field"].as_str()), (400, Some("index")), "{v}");
    let (code, v) = p.json("POST", "/api/v1/goto", Some(r#"{"source": "nope.png"}"#));
    assert_eq!((code, v["field"].as_str()), (404, Some("source")), "{v}");
    // A test pattern over the playlist, then stopped.
    p.post(
        "/api/v1/pattern",
        json!({"name": "solid:#ff0000", "seconds": 30}),
    );
    let s = p.wait_for(|s| s["pattern"]["name"] == "solid:#ff0000", "the pattern");
    assert!(s["pattern"]["remaining_s"].as_f64().unwrap() > 25.0);
    assert_eq!(
        p.settled(3),
        Some([255, 0, 0]),
        "the pattern is on the wall"
    );
    p.post("/api/v1/pattern", json!({"name": null}));
    p.wait_for(|s| s["pattern"].is_null(), "the pattern ended");
    let f = p.later_frames(3);
    assert!(
        colours.iter().any(|c| solid(f.last().unwrap()) == Some(*c)),
        "the playlist shows again"
    );
}

#[test]
fn every_bad_request_gets_the_json_error_with_its_field() {
    let p = Player::start(&[], None);
    // (method, path, body, status, field)
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, u16, Option<&'a str>);
    let cases: &[Case] = &[
        ("POST", "/api/v1/brightness", Some("{"), 400, None),
        (
            "POST",
            "/api/v1/brightness",
            Some(r#"{"level": "x"}"#),
            400,
            Some("level"),
        ),
        (
            "POST",
            "/api/v1/brightness",
            Some(r#"{"level": 2}"#),
            400,
            Some("level"),
        ),
        (
            "POST",
            "/api/v1/brightness",
            Some(r#"{"level": -0.1}"#),
            400,
            Some("level"),
        ),
        (
            "POST",
            "/api/v1/brightness",
            Some(r#"{}"#),
            400,
            Some("level"),
        ),
        (
            "POST",
            "/api/v1/brightness",
            Some(r#"{"level": 0.5, "fade_s": -1}"#),
            400,
            Some("fade_s"),
        ),
        (
            "POST",
            "/api/v1/brightness",
            Some(r#"{"level": 0.5, "fade": 1}"#),
            400,
            Some("fade"),
        ),
        (
            "POST",
            "/api/v1/blackout",
            Some(r#"{"on": "yes"}"#),
            400,
            Some("on"),
        ),
        ("POST", "/api/v1/blackout", Some(r#"{}"#), 400, Some("on")),
        (
            "POST",
            "/api/v1/pattern",
            Some(r#"{"name": "plaid"}"#),
            400,
            Some("name"),
        ),
        (
            "POST",
            "/api/v1/pattern",
            Some(r#"{"seconds": 5}"#),
            400,
            Some("name"),
        ),
        (
            "POST",
            "/api/v1/pattern",
            Some(r#"{"name": "bars", "seconds": 0}"#),
            400,
            Some("seconds"),
        ),
        ("POST", "/api/v1/goto", Some(r#"{}"#), 400, Some("index")),
        (
            "POST",
            "/api/v1/goto",
            Some(r#"{"index": -1}"#),
            400,
            Some("index"),
        ),
        (
            "POST",
            "/api/v1/goto",
            Some(r#"{"index": 1, "source": "x"}"#),
            400,
            Some("index"),
        ),
        ("POST", "/api/v1/next", Some(r#"{"x": 1}"#), 400, Some("x")),
        ("POST", "/api/v1/playlist", Some(r#"{}"#), 400, Some("path")),
        (
            "POST",
            "/api/v1/playlist",
            Some(r#"{"path": 7}"#),
            400,
            Some("path"),
        ),
        ("GET", "/api/v1/nothing", None, 404, None),
        ("GET", "/api/v1/next", None, 405, None),
        ("PUT", "/api/v1/status", Some("{}"), 405, None),
    ];
    for (method, path, body, code, field) in cases {
        let (got, v) = p.json(method, path, *body);
        assert_eq!(got, *code, "{method} {path} {body:?}: {v}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
        assert_eq!(v["field"].as_str(), *field, "{method} {path} {body:?}: {v}");
    }
    // Over 64 KiB.
    let big = format!(r#"{{"path": "{}"}}"#, "a".repeat(70_000));
    let (code, v) = p.json("POST", "/api/v1/playlist", Some(&big));
    assert_eq!(code, 413, "{v}");
    // Raw garbage on the socket: the server stays up, the player keeps ticking.
    for junk in [
        &b"\x00\x01\x02 garbage\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
    ] {
        if let Ok(mut s) = std::net::TcpStream::connect(p.addr) {
            let _ = s.write_all(junk);
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 256];
            let _ = s.read(&mut buf);
        }
    }
    // Hundreds of idle connections: the wall plays on (the sink keeps growing), and the
    // API answers again once they are gone.
    // (Past the limit and the listen backlog, a connect waits: stop at the first that does.)
    let idle: Vec<_> = (0..300)
        .map_while(|_| {
            std::net::TcpStream::connect_timeout(&p.addr, Duration::from_millis(500)).ok()
        })
        .collect();
    assert!(idle.len() > 100, "{} connections", idle.len());
    let f = p.later_frames(10);
    assert!(!f.is_empty());
    drop(idle);
    let before = p.status()["ticks"].as_u64().unwrap();
    p.wait_for(
        |s| s["ticks"].as_u64().unwrap() > before + 5,
        "ticks after the bad requests",
    );
    assert!(!p.log().contains("panicked"), "{}", p.log());
}

#[test]
fn playlist_switch_is_confined_to_the_content_roots() {
    let extra_root = tempfile::tempdir().unwrap();
    std::fs::write(
        extra_root.path().join("other.toml"),
        "name = \"other\"\n[[items]]\nsource = \"pattern:solid:#0000ff\"\nduration = 5.0\n",
    )
    .unwrap();
    let root_arg = extra_root.path().display().to_string();
    let p = Player::start(&["--content-root", &root_arg], None);
    let show = p.show_dir();
    std::fs::write(
        show.join("second.toml"),
        "name = \"second\"\n[[items]]\nsource = \"pattern:solid:#00ff00\"\nduration = 5.0\n",
    )
    .unwrap();
    // Outside the roots: the wall file's folder, a symlink out, .., absolute paths.
    let outside = p.dir.path().join("outside.toml");
    std::fs::write(&outside, "[[items]]\nsource = \"pattern:bars\"\n").unwrap();
    std::os::unix::fs::symlink(&outside, show.join("link.toml")).unwrap();
    for (path, code) in [
        ("../outside.toml", 403),
        (outside.to_str().unwrap(), 403),
        ("/etc/passwd", 403),
        ("link.toml", 403),
        ("missing.toml", 404),
    ] {
        let body = json!({"path": path}).to_string();
        let (got, v) = p.json("POST", "/api/v1/playlist", Some(&body));
        assert_eq!(got, code, "{path}: {v}");
        assert_eq!(v["field"], "path", "{v}");
    }
    // A broken playlist inside a root: 400 with every problem; nothing changes.
    std::fs::write(
        show.join("broken.toml"),
        "[[items]]\nsource = 3\nwhat = 1\n",
    )
    .unwrap();
    let (got, v) = p.json(
        "POST",
        "/api/v1/playlist",
        Some(r#"{"path": "broken.toml"}"#),
    );
    assert_eq!(got, 400, "{v}");
    assert!(!v["problems"].as_array().unwrap().is_empty(), "{v}");
    assert_eq!(p.status()["playlist"]["name"], "three");
    // Inside the started playlist's folder, then the extra root.
    p.post("/api/v1/playlist", json!({"path": "second.toml"}));
    p.wait_for(|s| s["playlist"]["name"] == "second", "the second playlist");
    assert_eq!(p.settled(3), Some([0, 255, 0]));
    p.post("/api/v1/playlist", json!({"path": "other.toml"}));
    let s = p.wait_for(|s| s["playlist"]["name"] == "other", "the other playlist");
    assert!(s["playlist"]["revision"].as_u64().unwrap() >= 2);
    assert_eq!(p.settled(3), Some([0, 0, 255]));
}

#[test]
fn reload_takes_valid_files_and_refuses_broken_ones() {
    let p = Player::start(&[], None);
    let show = p.show_dir().join("main.toml");
    let wall = p.dir.path().join("wall.toml");
    // Broken playlist: 400 listing the problems, the old one plays on.
    std::fs::write(&show, "[[items]]\nsource = \"pattern:nope\"\n").unwrap();
    let (code, v) = p.json("POST", "/api/v1/reload", None);
    assert_eq!(code, 400, "{v}");
    assert!(
        v["problems"][0]["field"]
            .as_str()
            .unwrap()
            .contains("items"),
        "{v}"
    );
    assert_eq!(p.status()["item"]["count"], 3);
    // Broken wall: likewise.
    std::fs::write(&show, PLAYLIST).unwrap();
    std::fs::write(&wall, WALL.replace("bit_depth = 8", "bit_depth = 99")).unwrap();
    let (code, v) = p.json("POST", "/api/v1/reload", None);
    assert_eq!(code, 400, "{v}");
    assert_eq!(v["field"], "color.bit_depth", "{v}");
    // Valid: a one-item playlist and a dimmer wall, both at once.
    std::fs::write(
        &wall,
        WALL.replace("dither = \"none\"", "dither = \"none\"\nbrightness = 0.5"),
    )
    .unwrap();
    std::fs::write(
        &show,
        "name = \"reloaded\"\n[[items]]\nsource = \"pattern:solid:#c86432\"\nduration = 9.0\n",
    )
    .unwrap();
    let rev = p.status()["playlist"]["revision"].as_u64().unwrap();
    let (code, v) = p.json("POST", "/api/v1/reload", None);
    assert_eq!(code, 200, "{v}");
    p.wait_for(
        |s| s["playlist"]["revision"].as_u64().unwrap() > rev && s["item"]["count"] == 1,
        "the reloaded playlist",
    );
    assert_eq!(
        p.settled(4),
        Some([100, 50, 25]),
        "the wall's new brightness"
    );
}

#[test]
fn the_wall_files_color_section_is_hot_reloaded() {
    let p = Player::start(&[], None);
    let wall = p.dir.path().join("wall.toml");
    std::fs::write(
        p.show_dir().join("main.toml"),
        "[[items]]\nsource = \"pattern:solid:#c86432\"\nduration = 60.0\n",
    )
    .unwrap();
    p.post("/api/v1/reload", json!({}));
    p.wait_for(|s| s["item"]["count"] == 1, "one item");
    // White point halves red: picked up by the file watch within a couple of seconds.
    std::fs::write(
        &wall,
        WALL.replace(
            "dither = \"none\"",
            "dither = \"none\"\nwhite_point = [0.5, 1.0, 1.0]",
        ),
    )
    .unwrap();
    let start = Instant::now();
    loop {
        let f = p.later_frames(1);
        if solid(f.last().unwrap()) == Some([100, 100, 50]) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "not reloaded:\n{}",
            p.log()
        );
    }
    // An invalid change is logged and the colours stay.
    std::fs::write(
        &wall,
        WALL.replace("transfer = \"linear\"", "transfer = \"lin\""),
    )
    .unwrap();
    let start = Instant::now();
    while !p.log().contains("wall change rejected") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no warning:\n{}",
            p.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(p.settled(3), Some([100, 100, 50]));
    let s = p.status();
    assert!(
        s["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["message"]
                .as_str()
                .unwrap()
                .contains("wall change rejected")),
        "the warning is in the status: {s}"
    );
}

#[test]
fn preview_events_metrics_and_the_page() {
    let p = Player::start(&[], None);
    let (code, png) = p.req("GET", "/api/v1/preview.png", None);
    assert_eq!(code, 200);
    let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png).unwrap();
    assert_eq!((img.width(), img.height()), (16, 8));
    // The page.
    let (code, page) = p.req("GET", "/", None);
    assert_eq!(code, 200);
    assert!(String::from_utf8_lossy(&page).contains("<html"));
    // Server-sent events: a status object within a second or two.
    let mut s = std::net::TcpStream::connect(p.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    let mut r = BufReader::new(s);
    let mut head = String::new();
    let mut events = 0;
    let start = Instant::now();
    while events < 2 {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        head.push_str(&line);
        if let Some(data) = line.strip_prefix("data: ") {
            let v: Value = serde_json::from_str(data.trim()).unwrap();
            assert!(v["ticks"].is_u64() && v["brightness"].is_object(), "{v}");
            events += 1;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{head}");
    }
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{head}"
    );
    // Metrics.
    let (code, m) = p.req("GET", "/metrics", None);
    assert_eq!(code, 200);
    let m = String::from_utf8(m).unwrap();
    for want in [
        "# TYPE ledwall_ticks_total counter",
        "ledwall_frames_total{kind=\"new\"}",
        "ledwall_frames_total{kind=\"dropped\"}",
        "# TYPE ledwall_lateness_seconds histogram",
        "ledwall_lateness_seconds_bucket{le=\"+Inf\"}",
        "ledwall_render_seconds_count",
        "ledwall_sink_frames_total{sink=\"strip\"",
        "ledwall_sink_errors_total{sink=\"strip\"",
        "ledwall_brightness_effective 1",
        "ledwall_item_index",
        "ledwall_build_info{version=\"",
    ] {
        assert!(m.contains(want), "{want} missing:\n{m}");
    }
    // Every sample line parses as NAME{labels} VALUE.
    for line in m.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
}

#[test]
fn tokens_guard_every_route_but_the_page() {
    let token = "s3cret-token-for-tests-0123456789";
    let p = Player::start(&[], Some(token));
    for (method, path) in [
        ("GET", "/api/v1/status"),
        ("POST", "/api/v1/next"),
        ("GET", "/metrics"),
        ("GET", "/api/v1/preview.png"),
    ] {
        let (code, body) = p.req_token(method, path, None, None);
        assert_eq!(code, 401, "{path}");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert!(v["error"].is_string());
        let (code, _) = p.req_token(
            method,
            path,
            None,
            Some("s3cret-token-for-tests-012345678X"),
        );
        assert_eq!(code, 401, "{path} with a wrong token");
    }
    let (code, _) = p.req_token("GET", "/", None, None);
    assert_eq!(code, 200, "the page itself holds no data");
    assert_eq!(p.status()["wall"]["name"], "ctl");
}

#[test]
fn a_public_address_without_a_token_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = ledwall()
        .args([
            "play",
            "pattern:bars",
            "--for",
            "1",
            "--control",
            "0.0.0.0:0",
        ])
        .arg("--sink")
        .arg(format!("port1=file:{}", dir.path().join("x.bin").display()))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a token"), "{err}");
    assert!(!dir.path().join("x.bin").exists(), "nothing played");
    // An empty token file is refused too.
    let empty = dir.path().join("token");
    std::fs::write(&empty, "  \n").unwrap();
    let out = ledwall()
        .args([
            "play",
            "pattern:bars",
            "--for",
            "1",
            "--control",
            "127.0.0.1:0",
        ])
        .arg("--control-token-file")
        .arg(&empty)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));
}

#[test]
fn a_changed_geometry_takes_over_at_the_next_item_boundary() {
    let p = Player::start(&[], None);
    // Half the canvas, the port follows: a new geometry (the same refresh rate).
    let smaller = WALL
        .replace("width = 16", "width = 8")
        .replace("size = [16, 8]", "size = [8, 8]");
    std::fs::write(p.dir.path().join("wall.toml"), smaller).unwrap();
    let s = p.wait_for(|s| s["wall"]["width"] == 8, "the smaller wall");
    assert_eq!(s["sinks"][0]["name"], "strip");
    let log = p.log();
    let tick: u64 = log
        .split("plays from tick ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no takeover line:\n{log}"));
    // Items last 1 s = 30 ticks, played in order from tick 0: boundaries at multiples of 30.
    assert_eq!(
        tick % 30,
        0,
        "took over at tick {tick}, not at an item boundary"
    );
    // The file sink was opened again for the new port: 8x8 frames from then on.
    std::thread::sleep(Duration::from_millis(400));
    let bytes = std::fs::read(p.dir.path().join("out.bin")).unwrap();
    assert!(
        !bytes.is_empty() && bytes.len().is_multiple_of(8 * 8 * 3),
        "{}\n{}",
        bytes.len(),
        p.log()
    );
    // The control API goes on: a preview of the new size.
    let (code, png) = p.req("GET", "/api/v1/preview.png", None);
    assert_eq!(code, 200);
    let img = image::load_from_memory(&png).unwrap();
    assert_eq!((img.width(), img.height()), (8, 8));
    // A change of refresh rate cannot take over while playing: logged, the wall plays on.
    let faster = WALL.replace("refresh_hz = 30", "refresh_hz = 60");
    std::fs::write(p.dir.path().join("wall.toml"), faster).unwrap();
    let start = Instant::now();
    while !p
        .log()
        .contains("restart ledwall play for a new refresh rate")
    {
        assert!(start.elapsed() < Duration::from_secs(10), "{}", p.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let s = p.status();
    assert_eq!(s["wall"]["refresh_hz"], 30);
    assert_eq!(s["wall"]["width"], 8);
    let before = s["ticks"].as_u64().unwrap();
    p.wait_for(
        |s| s["ticks"].as_u64().unwrap() > before + 10,
        "ticks after",
    );
}

#[test]
fn the_brightness_schedule_sets_the_level_until_the_api_overrides_it() {
    let playlist = "[[items]]\nsource = \"pattern:solid:#c86432\"\nduration = 60.0\n\
                    [[brightness]]\nlevel = 0.5\nfrom = \"00:00\"\nto = \"24:00\"\nfade = 0\n";
    let p = Player::start_with(WALL, playlist, &[], None);
    let s = p.wait_for(
        |s| s["brightness"]["source"] == "schedule",
        "the schedule's level",
    );
    assert_eq!(s["brightness"]["level"], 0.5);
    assert_eq!(p.settled(3), Some([100, 50, 25]), "the scheduled level");
    p.post("/api/v1/brightness", json!({"level": 1.0}));
    p.wait_for(|s| s["brightness"]["source"] == "api", "the override");
    assert_eq!(p.settled(3), Some([200, 100, 50]), "the override holds");
}
