//! `ledwall play --epoch` (design §10): two real players started about two seconds apart
//! with the same epoch send the same bytes at the same tick numbers, and each tick number is
//! the one the system clock says (epoch + n / refresh_hz), so the later player joined the
//! first one's timeline rather than starting its own at tick 0. The frames change every
//! tick (a moving pattern, an animation, crossfades), so a one-tick offset would show.

mod common;
use common::wait_exit as wait;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A looped playlist that changes every tick: 0.9 s a pass.
fn playlist(dir: &Path) -> PathBuf {
    let media = root().join("fixtures/media");
    let text = format!(
        r#"
[[items]]
source = "pattern:line"
duration = 0.4

[[items]]
source = {:?}
duration = 0.3
fit = "cover"
filter = "nearest"
transition = {{ kind = "crossfade", duration = 0.2 }}

[[items]]
source = "pattern:line"
duration = 0.2
transition = {{ kind = "crossfade", duration = 0.1 }}
"#,
        media.join("anim-32x16.gif").display().to_string(),
    );
    let path = dir.join("show.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// Start `ledwall play` on the tiny wall (60 Hz) into `file:{dir}/{name}.bin` with
/// `--stats {dir}/{name}.json`.
fn start(dir: &Path, list: &Path, epoch: &str, name: &str, seconds: f64) -> Child {
    let bin = dir.join(format!("{name}.bin"));
    let url = format!("file:{}", bin.display());
    Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .env_remove("RUST_LOG")
        .arg("play")
        .arg(list)
        .arg("--wall")
        .arg(root().join("fixtures/walls/tiny.toml"))
        .args(["--backend", "cpu", "--epoch", epoch])
        .args(["--sink", &format!("hub={url}")])
        .args(["--sink", &format!("pixels={url}")])
        .args(["--for", &seconds.to_string()])
        .arg("--stats")
        .arg(dir.join(format!("{name}.json")))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start ledwall: {e}"))
}

/// One tick of the per-tick CSV that sent a frame.
#[derive(Debug, Clone, Copy)]
struct Sent {
    tick: u64,
    /// The tick the frame was rendered for.
    frame_tick: u64,
    /// The frame's index in the `file:` sink's file (the sends, in order).
    index: usize,
    /// The playlist item and the item's tick the frame showed.
    item: Option<(usize, u64)>,
    /// When sending began on the system clock, µs since 1970.
    unix_us: i64,
}

/// What a player sent: the CSV's sends and the file's frames.
struct Player {
    sent: Vec<Sent>,
    frames: Vec<Vec<u8>>,
    clock_steps: u64,
}

fn player(dir: &Path, name: &str) -> Player {
    let stats: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("{name}.json")))
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // The file holds every send only when the sink lost none.
    let sink = &stats["sinks"][0];
    assert_eq!(sink["errors"], 0, "{name}: {sink}");
    let csv = std::fs::read_to_string(dir.join(format!("{name}.ticks.csv")))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "tick,deadline_us,lateness_us,kind,frame_tick,dropped,queue,send_us,item,item_tick,unix_us"
        )
    );
    let mut sent = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        if f[4].is_empty() {
            continue; // nothing sent at this tick
        }
        sent.push(Sent {
            tick: f[0].parse().unwrap_or_else(|e| panic!("{line}: {e}")),
            frame_tick: f[4].parse().unwrap_or_else(|e| panic!("{line}: {e}")),
            index: sent.len(),
            item: (!f[8].is_empty()).then(|| {
                let p = |s: &str| s.parse::<u64>().unwrap_or_else(|e| panic!("{line}: {e}"));
                (p(f[8]) as usize, p(f[9]))
            }),
            unix_us: f[10].parse().unwrap_or_else(|e| panic!("{line}: {e}")),
        });
    }
    let bytes = std::fs::read(dir.join(format!("{name}.bin"))).unwrap_or_else(|e| panic!("{e}"));
    let frame: usize = stats_frame_bytes(dir, name);
    assert_eq!(bytes.len() % frame, 0, "whole frames");
    let frames: Vec<Vec<u8>> = bytes.chunks(frame).map(<[u8]>::to_vec).collect();
    assert_eq!(frames.len(), sent.len(), "{name}: one file frame per send");
    Player {
        sent,
        frames,
        clock_steps: stats["clock_steps"].as_u64().unwrap_or(u64::MAX),
    }
}

/// Bytes per frame of the `file:` sink, from its sidecar.
fn stats_frame_bytes(dir: &Path, name: &str) -> usize {
    let side: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("{name}.bin.json")))
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    side["frame_bytes"]
        .as_u64()
        .unwrap_or_else(|| panic!("no frame_bytes in {side}")) as usize
}

/// The tick due at real time `t` for `epoch` at 60 Hz (what the players should compute).
fn tick_at(epoch: jiff::Timestamp, t: jiff::Timestamp) -> f64 {
    t.duration_since(epoch).as_secs_f64() * 60.0
}

#[test]
fn two_players_with_one_epoch_send_the_same_frame_at_the_same_tick() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let list = playlist(dir.path());
    // An epoch 3.3 s ago, to the millisecond.
    let now = jiff::Timestamp::now();
    let epoch = jiff::Timestamp::from_millisecond(now.as_millisecond() - 3300)
        .unwrap_or_else(|e| panic!("{e}"));
    let text = epoch.to_string();
    let a_start = jiff::Timestamp::now();
    let mut a = start(dir.path(), &list, &text, "a", 6.0);
    std::thread::sleep(Duration::from_secs(2));
    let b_start = jiff::Timestamp::now();
    let mut b = start(dir.path(), &list, &text, "b", 4.0);
    assert_eq!(wait(&mut a, Duration::from_secs(60)), Some(0));
    assert_eq!(wait(&mut b, Duration::from_secs(60)), Some(0));
    let (a, b) = (player(dir.path(), "a"), player(dir.path(), "b"));

    // Each player's first tick is the one the clock said when it started (start-up, at
    // most 3 s on a loaded machine, delays it; it never comes before).
    for (p, started, name) in [(&a, a_start, "a"), (&b, b_start, "b")] {
        let first = p.sent[0].tick as f64;
        let due = tick_at(epoch, started);
        assert!(
            first >= due.floor() && first <= due + 180.0,
            "{name}: first tick {first}, but tick {due:.1} was due when it started"
        );
    }

    // The same tick numbers carry the same bytes, wherever both sent the frame rendered
    // for that tick.
    let own = |p: &Player| -> HashMap<u64, usize> {
        p.sent
            .iter()
            .filter(|s| s.frame_tick == s.tick)
            .map(|s| (s.tick, s.index))
            .collect()
    };
    let (a_own, b_own) = (own(&a), own(&b));
    let mut common: Vec<u64> = a_own
        .keys()
        .filter(|t| b_own.contains_key(t))
        .copied()
        .collect();
    common.sort_unstable();
    assert!(
        common.len() >= 60,
        "only {} ticks in common: the players did not overlap",
        common.len()
    );
    for t in &common {
        assert!(
            a.frames[a_own[t]] == b.frames[b_own[t]],
            "tick {t}: the two players sent different frames"
        );
    }
    // A one-tick offset would be seen: consecutive ticks differ (almost) everywhere.
    let differ = common
        .windows(2)
        .filter(|w| w[1] == w[0] + 1 && a.frames[a_own[&w[0]]] != a.frames[a_own[&w[1]]])
        .count();
    assert!(
        differ * 10 >= common.len() * 9,
        "{differ} of {} consecutive ticks differ",
        common.len()
    );
    // The CSVs say the same item and item tick for the same tick, one tick further at each
    // tick within an item; and each send began at its tick's due time on the system clock
    // (epoch + tick / 60 s), never before it (1 ms for the clocks' conversion), and mostly
    // within a few ms of it.
    let by_tick =
        |p: &Player| -> HashMap<u64, Sent> { p.sent.iter().map(|s| (s.tick, *s)).collect() };
    let (a_at, b_at) = (by_tick(&a), by_tick(&b));
    for t in &common {
        let (sa, sb) = (a_at[t], b_at[t]);
        assert!(sa.item.is_some(), "tick {t}: no item in the CSV");
        assert_eq!(
            sa.item, sb.item,
            "tick {t}: the CSVs name different positions"
        );
        if let (Some(prev), Some(now)) = (a_at.get(&(t - 1)).and_then(|s| s.item), sa.item)
            && prev.0 == now.0
            && a_at[&(t - 1)].frame_tick == t - 1
        {
            assert_eq!(
                now.1,
                prev.1 + 1,
                "tick {t}: the item tick did not advance by one"
            );
        }
    }
    // Items in playlist order (0, 1, 2, 0, …), each from its tick 0.
    let mut changes = 0;
    for w in a.sent.windows(2) {
        let (Some(x), Some(y)) = (w[0].item, w[1].item) else {
            continue;
        };
        if x.0 != y.0 && w[1].frame_tick == w[1].tick && w[1].tick == w[0].tick + 1 {
            assert_eq!(
                y.0,
                (x.0 + 1) % 3,
                "tick {}: item {} after {}",
                w[1].tick,
                y.0,
                x.0
            );
            assert_eq!(
                y.1, 0,
                "tick {}: item {} began at its tick {}",
                w[1].tick, y.0, y.1
            );
            changes += 1;
        }
    }
    assert!(changes >= 6, "only {changes} item changes seen");
    let epoch_us = epoch.as_microsecond();
    for (p, name) in [(&a, "a"), (&b, "b")] {
        let mut late: Vec<i64> = p
            .sent
            .iter()
            .map(|s| s.unix_us - (epoch_us + (s.tick as i64 * 1_000_000) / 60))
            .collect();
        late.sort_unstable();
        assert!(
            late[0] >= -1_000,
            "{name}: a send began {} µs before its tick",
            -late[0]
        );
        let median = late[late.len() / 2];
        assert!(
            median < 5_000,
            "{name}: sends began {median} µs after their ticks (median)"
        );
    }
    // The stats count the clock steps (none here).
    assert_eq!((a.clock_steps, b.clock_steps), (0, 0));
}

#[test]
fn a_bad_epoch_is_a_usage_error_naming_the_field() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_ledwall"))
            .env_remove("RUST_LOG")
            .arg("play")
            .args(args)
            .args(["--wall"])
            .arg(root().join("fixtures/walls/tiny.toml"))
            .args([
                "--sink",
                "hub=null",
                "--sink",
                "pixels=null",
                "--for",
                "0.1",
            ])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["pattern:bars", "--epoch", "yesterday"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--epoch") && err.contains("RFC 3339"), "{err}");
    let list = dir.path().join("bad.toml");
    std::fs::write(
        &list,
        "epoch = \"2026-13-01T00:00:00Z\"\n[[items]]\nsource = \"pattern:bars\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (code, err) = run(&[list.to_str().unwrap_or_default()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("bad.toml") && err.contains("epoch"), "{err}");
}
