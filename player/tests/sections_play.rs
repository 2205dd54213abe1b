//! Show canvas and sections through the real player (design §10, issue 23): `ledwall play`
//! of one playlist (a photograph scaled up with cover, then a crossfade into an ffmpeg
//! video) on `fixtures/walls/sections/show.toml` (every port on one PC) and, at the same
//! time and on the same `--epoch`, on `left.toml` and `right.toml` (the show split over two
//! PCs at show column 67, not a multiple of 8). The wall dithers `ordered+temporal`, so
//! every tick has its own dither phase. For every tick number that each section player and
//! the show player rendered for that very tick, every port's bytes must be identical,
//! including ticks inside the crossfade, where both layers weigh.
//!
//! A live player shows what is decoded in time. It pre-rolls the next item (opens it and
//! decodes its first frame during the photograph), so the video has its picture from its
//! first tick; a frame ffmpeg delivers late still keeps the previous one, and which ticks
//! that hits depends on each process's load. Such ticks are not compared: every tick a
//! player rendered for itself is checked against the offline render of the same tick (the
//! same timeline, deck and renderer with every frame decoded before it is needed); the
//! ticks that differ from it must be video ticks, no more than the media frames the player
//! counted late. A section whose dither or resampling did not line up with the show would
//! match its own offline render and still differ from the show.

use ledwall_player::deck::Deck;
use ledwall_player::media::LoadOptions;
use ledwall_player::playlist::Playlist;
use ledwall_player::preview::open_options;
use ledwall_player::timeline::Timeline;
use ledwall_render::{AnyRenderer, BackendChoice, BackendOptions, Wall, WallFrame};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

mod common;
use common::{have_gpu, wait_exit};

/// The photograph's item, in seconds: the player pre-rolls the video (opens it and decodes
/// its first frame) during it.
const PHOTO_S: f64 = 1.5;
/// The crossfade into the video (the video item's first seconds).
const FADE_S: f64 = 2.0;
/// The video item.
const VIDEO_S: f64 = 2.5;
/// How long each player plays after the epoch (`--for`).
const PLAY_S: f64 = 3.8;
/// How far ahead of the players' start the epoch lies: every player has started and
/// rendered its first frame by then, so all of them play from tick 0.
const LEAD_MS: i64 = 3000;

/// The players of one show: the whole show, and its two sections.
const RUNS: [(&str, &[&str]); 3] = [
    ("show", &["l1", "l2", "r1", "r2", "r3"]),
    ("left", &["l1", "l2"]),
    ("right", &["r1", "r2", "r3"]),
];

/// One backend at a time: the machine has few cores, and the players must keep time.
static SERIAL: Mutex<()> = Mutex::new(());

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn wall_path(run: &str) -> PathBuf {
    root().join(format!("fixtures/walls/sections/{run}.toml"))
}

/// A 97x61 photograph (scaled up with cover onto the 150x40 show), a 3 s video of 200x60
/// whose frames differ (contained, pillarboxed), and the playlist: the photograph, then
/// the video fading in over it. `None` without ffmpeg.
fn playlist(dir: &Path) -> Option<PathBuf> {
    let ff = ledwall_player::media::video::Ffmpeg::from_env();
    if !ff.available() {
        let msg = "ffmpeg is not installed: the played sections test cannot run";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("\n*** SKIPPED: {msg} ***\n");
        return None;
    }
    image::RgbImage::from_fn(97, 61, |x, y| {
        image::Rgb([
            (x * 5 + y * 3) as u8,
            (x * y) as u8,
            (255 - 2 * x.min(127)) as u8,
        ])
    })
    .save(dir.join("photo.png"))
    .unwrap_or_else(|e| panic!("{e}"));
    let status = Command::new(&ff.ffmpeg)
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("nullsrc=s=200x60:r=25:d=3,geq=r='mod(3*X+7*N,256)':g='mod(X*Y+N,256)':b='mod(5*Y+3*N,256)'")
        .args(["-c:v", "ffv1", "-pix_fmt", "gbrp"])
        .arg(dir.join("clip.mkv"))
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "ffmpeg could not make the test video");
    let list = dir.join("show.toml");
    let text = format!(
        r#"loop = false

[[items]]
source = "photo.png"
duration = {PHOTO_S}
fit = "cover"
filter = "lanczos3"

[[items]]
source = "clip.mkv"
duration = {VIDEO_S}
fit = "contain"
filter = "catmull-rom"
transition = {{ kind = "crossfade", duration = {FADE_S} }}
"#
    );
    std::fs::write(&list, text).unwrap_or_else(|e| panic!("{e}"));
    Some(list)
}

/// Start `ledwall play` of `list` on the wall `run`, every port into its own file
/// `{dir}/{run}-{port}.bin`, the statistics into `{dir}/{run}.json`.
fn start(dir: &Path, list: &Path, run: &str, ports: &[&str], epoch: &str, backend: &str) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ledwall"));
    cmd.env_remove("RUST_LOG")
        .arg("play")
        .arg(list)
        .arg("--wall")
        .arg(wall_path(run))
        .args(["--backend", backend, "--epoch", epoch])
        .args(["--for", &PLAY_S.to_string()])
        .arg("--stats")
        .arg(dir.join(format!("{run}.json")));
    for port in ports {
        let file = dir.join(format!("{run}-{port}.bin"));
        cmd.arg("--sink")
            .arg(format!("{port}=file:{}", file.display()));
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start ledwall: {e}"))
}

/// Every port's bytes of one frame, by port name.
type Ports = BTreeMap<String, Vec<u8>>;

/// What one player sent for the ticks whose frame was rendered for that very tick.
struct Played {
    own: BTreeMap<u64, Ports>,
    /// Media frames that were not decoded in time (`media.late` of the statistics).
    late_media: u64,
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn played(dir: &Path, run: &str, ports: &[&str]) -> Played {
    let stats = read_json(&dir.join(format!("{run}.json")));
    for sink in stats["sinks"]
        .as_array()
        .unwrap_or_else(|| panic!("{stats}"))
    {
        assert_eq!(sink["errors"], 0, "{run}: a file sink lost frames: {sink}");
    }
    // The sends, in order: (tick, the tick its frame was rendered for).
    let csv = std::fs::read_to_string(dir.join(format!("{run}.ticks.csv")))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut lines = csv.lines();
    // The columns by name (later versions may add columns).
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|c| *c == name)
            .unwrap_or_else(|| panic!("{run}: no column {name} in {header:?}"))
    };
    let (tick_col, frame_col) = (column("tick"), column("frame_tick"));
    let sends: Vec<(u64, u64)> = lines
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let parse = |s: &str| s.parse().unwrap_or_else(|e| panic!("{run}: {line}: {e}"));
            // An empty frame_tick: nothing was sent at this tick.
            (!f[frame_col].is_empty()).then(|| (parse(f[tick_col]), parse(f[frame_col])))
        })
        .collect();
    let mut own: BTreeMap<u64, Ports> = BTreeMap::new();
    for port in ports {
        let bin = dir.join(format!("{run}-{port}.bin"));
        let side = read_json(&dir.join(format!("{run}-{port}.bin.json")));
        let size = side["frame_bytes"]
            .as_u64()
            .unwrap_or_else(|| panic!("no frame_bytes in {side}")) as usize;
        let bytes = std::fs::read(&bin).unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
        assert_eq!(bytes.len() % size, 0, "{}: whole frames", bin.display());
        let frames: Vec<&[u8]> = bytes.chunks(size).collect();
        // Before the epoch the player sends all-dark frames, which are not ticks: the file
        // holds them first, then one frame per send of the CSV.
        let dark = frames
            .len()
            .checked_sub(sends.len())
            .unwrap_or_else(|| panic!("{run}-{port}: fewer frames than sends"));
        assert!(
            frames[..dark].iter().all(|f| f.iter().all(|&b| b == 0)),
            "{run}-{port}: the frames before the epoch are not dark"
        );
        for (&(tick, frame_tick), frame) in sends.iter().zip(&frames[dark..]) {
            if tick == frame_tick {
                own.entry(tick)
                    .or_default()
                    .insert((*port).to_string(), frame.to_vec());
            }
        }
    }
    Played {
        own,
        late_media: stats["media"]["late"]
            .as_u64()
            .unwrap_or_else(|| panic!("{run}: no media.late in {stats}")),
    }
}

fn backend_options(backend: &str) -> BackendOptions {
    BackendOptions {
        choice: if backend == "gpu" {
            BackendChoice::Gpu
        } else {
            BackendChoice::Cpu
        },
        ..BackendOptions::default()
    }
}

/// Ticks `0..ticks` of `list` on the wall `run` rendered offline: the player's timeline,
/// deck and renderer, with every media frame decoded before it is rendered.
fn offline(run: &str, list: &Path, backend: &str, ticks: u64) -> Vec<Ports> {
    let wall = Wall::load(wall_path(run)).unwrap_or_else(|e| panic!("{e}"));
    let playlist = Playlist::load(list).unwrap_or_else(|e| panic!("{e}"));
    let mut deck = Deck::new(&playlist, open_options(&wall, LoadOptions::default()));
    let timings = deck.probe();
    let timeline = Timeline::new(&playlist, wall.refresh_hz, &timings, 0);
    let (mut renderer, _) =
        AnyRenderer::new(&wall, &backend_options(backend)).unwrap_or_else(|e| panic!("{e}"));
    let mut frame = WallFrame::new(renderer.geometry());
    (0..ticks)
        .map(|t| {
            let ts = timeline.at(t);
            deck.prepare(&ts);
            renderer
                .render_into(&deck.scene(&ts), &mut frame)
                .unwrap_or_else(|e| panic!("{e}"));
            frame
                .ports
                .iter()
                .map(|p| (p.name.clone(), p.bytes.clone()))
                .collect()
        })
        .collect()
}

fn sections_play_like_the_whole_show(backend: &str) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let Some(list) = playlist(dir) else {
        return;
    };

    // All three at once, on one epoch a few seconds ahead: each opens everything, holds
    // its wall dark, and sends tick 0 at the epoch.
    let now = jiff::Timestamp::now();
    let epoch = jiff::Timestamp::from_millisecond(now.as_millisecond() + LEAD_MS)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string();
    let children: Vec<Child> = RUNS
        .iter()
        .map(|(run, ports)| start(dir, &list, run, ports, &epoch, backend))
        .collect();
    for (mut child, (run, _)) in children.into_iter().zip(RUNS) {
        let code = wait_exit(&mut child, Duration::from_secs(60));
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        assert_eq!(code, Some(0), "ledwall play --wall {run}.toml: {err}");
    }
    let runs: Vec<Played> = RUNS
        .iter()
        .map(|(run, ports)| played(dir, run, ports))
        .collect();

    // The timeline says which ticks show what (the players lay it out from tick 0 at the
    // epoch): `fading` are the ticks where the photograph and the video both weigh.
    let wall = Wall::load(wall_path("show")).unwrap_or_else(|e| panic!("{e}"));
    let playlist = Playlist::load(&list).unwrap_or_else(|e| panic!("{e}"));
    let timings = Deck::new(&playlist, open_options(&wall, LoadOptions::default())).probe();
    let timeline = Timeline::new(&playlist, wall.refresh_hz, &timings, 0);
    let fading = |t: u64| {
        let ts = timeline.at(t);
        let w = ts.weight_f32();
        ts.fading() && ts.outgoing.is_some() && w > 0.0 && w < 1.0
    };
    let video = |t: u64| timeline.at(t).current.is_some_and(|s| s.item == 1);

    // Each player's own ticks against the offline render of its wall: those that differ
    // are not compared, and must be explained by the video's start or late frames.
    let ticks = runs
        .iter()
        .filter_map(|p| p.own.keys().next_back())
        .max()
        .map_or(0, |t| t + 1);
    let mut on_time: Vec<BTreeMap<u64, &Ports>> = Vec::new();
    for ((run, _), p) in RUNS.iter().zip(&runs) {
        let reference = offline(run, &list, backend, ticks);
        let (good, off): (Vec<_>, Vec<_>) = p
            .own
            .iter()
            .partition(|(t, ports)| reference[**t as usize] == **ports);
        let off: Vec<u64> = off.into_iter().map(|(t, _)| *t).collect();
        // Only the video can be late (the photograph is decoded when it opens, and the video
        // is pre-rolled), and only for frames the player counted late.
        assert!(
            off.iter().all(|&t| video(t)) && off.len() as u64 <= p.late_media,
            "{backend}: {run}: ticks {off:?} differ from the offline render: only video ticks \
             may, no more than the {} media frames counted late",
            p.late_media
        );
        if !off.is_empty() {
            eprintln!(
                "{backend}: {run}: {} video ticks not decoded in time, not compared: {off:?}",
                off.len()
            );
        }
        on_time.push(good.into_iter().map(|(t, ports)| (*t, ports)).collect());
    }

    // The same tick numbers carry the same bytes on every port.
    let (mut compared, mut in_fade) = (0, 0);
    for (&t, whole) in &on_time[0] {
        let parts: Vec<&Ports> = on_time[1..]
            .iter()
            .filter_map(|m| m.get(&t).copied())
            .collect();
        if parts.len() != on_time.len() - 1 {
            continue;
        }
        for part in parts {
            for (port, bytes) in part {
                let want = &whole[port];
                assert_eq!(want.len(), bytes.len(), "{backend}: tick {t}: port {port}");
                let differ = want.iter().zip(bytes).filter(|(a, b)| a != b).count();
                assert!(
                    differ == 0,
                    "{backend}: tick {t}{}: port {port}: {differ} of {} bytes differ between \
                     the whole show and its section",
                    if fading(t) { " (crossfade)" } else { "" },
                    bytes.len()
                );
            }
        }
        compared += 1;
        in_fade += usize::from(fading(t));
    }
    eprintln!("{backend}: {compared} ticks compared, {in_fade} of them in the crossfade");
    let missed: Vec<String> = RUNS
        .iter()
        .zip(&runs)
        .map(|((run, _), p)| {
            let not_own: Vec<u64> = (0..ticks).filter(|t| !p.own.contains_key(t)).collect();
            format!("{run}: no frame of its own at ticks {not_own:?}")
        })
        .collect();
    assert!(
        compared >= 60 && in_fade >= 20,
        "{backend}: only {compared} ticks compared ({in_fade} in the crossfade): the players \
         did not play the same ticks in time ({})",
        missed.join("; ")
    );
}

#[test]
fn played_sections_send_the_bytes_of_the_whole_show_cpu() {
    sections_play_like_the_whole_show("cpu");
}

#[test]
fn played_sections_send_the_bytes_of_the_whole_show_gpu() {
    if !have_gpu() {
        return;
    }
    sections_play_like_the_whole_show("gpu");
}
