//! The `file` sink writes every tick's port buffers back to back, with a sidecar describing
//! them; the `preview` sink writes PNGs of exactly what the emulator shows.

use ledwall_player::sinks::{SinkOptions, SinkSet, file::sidecar_path};
use ledwall_render::emulate::emulate;
use ledwall_render::wall::SinkUrl;
use ledwall_render::{Geometry, Layer, Renderer, Scene, SourceImage, Wall, WallFrame};

#[path = "common/tmpfs.rs"]
mod tmpfs;
use tmpfs::{Tmpfs, fill};

fn wall(name: &str) -> Wall {
    let path = format!(
        "{}/../fixtures/walls/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    Wall::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn frames(wall: &Wall, count: u8) -> Vec<WallFrame> {
    let mut r = Renderer::with_threads(wall, 2).unwrap_or_else(|e| panic!("{e}"));
    (0..count)
        .map(|n| {
            let px: Vec<u8> = (0..wall.width * wall.height * 4)
                .map(|i| (i as u8).wrapping_mul(13).wrapping_add(n.wrapping_mul(53)))
                .collect();
            let layer = Layer::new(SourceImage::rgba8(wall.width, wall.height, &px));
            let mut f = WallFrame::new(r.geometry());
            r.render_into(&Scene::single(u64::from(n), layer), &mut f)
                .unwrap_or_else(|e| panic!("{e}"));
            f
        })
        .collect()
}

fn open(wall: &Wall, geometry: &Geometry, urls: &[String], every: u64) -> SinkSet {
    let urls: Vec<SinkUrl> = urls
        .iter()
        .map(|u| SinkUrl::parse(u).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let options = SinkOptions {
        preview_every: Some(every),
        ..SinkOptions::default()
    };
    SinkSet::open(wall, geometry, &urls, &options).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn file_sink_writes_frames_back_to_back_with_a_sidecar() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let w = wall("outdoor");
    let geometry = Geometry::compile(&w);
    let frames = frames(&w, 3);
    // Ports 0 and 2 share one file (in wall order); port 1 has its own, in a new folder.
    let shared = dir.path().join("shared.bin");
    let own = dir.path().join("sub/dir/west.bin");
    let urls = [
        format!("file:{}", shared.display()),
        format!("file:{}", own.display()),
        format!("file:{}", shared.display()),
    ];
    let mut set = open(&w, &geometry, &urls, 1);
    assert_eq!(set.sinks().len(), 2);
    assert_eq!(set.routes(), &[(0, 0), (1, 0), (0, 1)]);
    for (tick, f) in frames.iter().enumerate() {
        set.send_frame(f, tick as u64);
    }
    set.flush().unwrap_or_else(|e| panic!("{e}"));

    let mut want_shared = Vec::new();
    let mut want_own = Vec::new();
    for f in &frames {
        want_shared.extend_from_slice(&f.ports[0].bytes);
        want_shared.extend_from_slice(&f.ports[2].bytes);
        want_own.extend_from_slice(&f.ports[1].bytes);
    }
    assert!(std::fs::read(&shared).unwrap_or_else(|e| panic!("{e}")) == want_shared);
    assert!(std::fs::read(&own).unwrap_or_else(|e| panic!("{e}")) == want_own);

    let text = std::fs::read_to_string(sidecar_path(&shared)).unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (&geometry.ports[0], &geometry.ports[2]);
    assert_eq!(v["wall"], "outdoor");
    assert_eq!(v["canvas"], serde_json::json!([160, 80]));
    assert_eq!(v["refresh_hz"], 100);
    assert_eq!(v["frames"], 3);
    assert_eq!(v["frame_bytes"], a.byte_len() + b.byte_len());
    assert_eq!(v["ports"][0]["name"], "north");
    assert_eq!(v["ports"][0]["offset"], 0);
    assert_eq!(v["ports"][0]["format"], "bitplanes");
    assert_eq!(v["ports"][0]["file"], "shared.bin");
    assert_eq!(v["ports"][0]["bytes"], a.byte_len());
    assert_eq!(v["ports"][0]["planes"], 10);
    assert_eq!(v["ports"][1]["name"], "strings");
    assert_eq!(v["ports"][1]["offset"], a.byte_len());
    assert_eq!(v["ports"][1]["format"], "rgb16");
    assert_eq!(v["ports"][1]["pixels"], b.positions);
    assert_eq!(v["ports"][1]["modules"].as_array().map(Vec::len), Some(8));
    assert_eq!(v["ports"].as_array().map(Vec::len), Some(2));
    let own_side: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sidecar_path(&own)).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(own_side["ports"][0]["name"], "west");
    assert_eq!(own_side["frames"], 3);
    for (_, s) in set.stats() {
        assert_eq!((s.frames, s.errors), (3, 0));
    }
}

#[test]
fn preview_sink_writes_the_emulated_wall_every_n_ticks() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let w = wall("demo");
    let geometry = Geometry::compile(&w);
    let frames = frames(&w, 5);
    // Only port1 goes to the preview; port2 goes elsewhere and shows dark.
    let urls = [
        format!("preview:{}/p-{{tick}}.png", dir.path().display()),
        "null".to_string(),
    ];
    let mut set = open(&w, &geometry, &urls, 2);
    for (tick, f) in frames.iter().enumerate() {
        set.send_frame(f, tick as u64);
        // Waiting for each preview means none is skipped for a busy worker.
        set.flush().unwrap_or_else(|e| panic!("{e}"));
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|e| {
            e.unwrap_or_else(|e| panic!("{e}"))
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(names, vec!["p-0.png", "p-2.png", "p-4.png"]);
    for tick in [0usize, 2, 4] {
        let mut shown = frames[tick].clone();
        shown.ports[1].bytes.fill(0);
        let want = emulate(&geometry, &shown).to_rgba8();
        let png = image::open(dir.path().join(format!("p-{tick}.png")))
            .unwrap_or_else(|e| panic!("{e}"))
            .to_rgba8();
        assert_eq!(png.dimensions(), (128, 64));
        assert!(png.as_raw() == &want, "preview of tick {tick} differs");
        // Not a blank image: the frames differ from one another.
        let mut next = frames[(tick + 1) % 5].clone();
        next.ports[1].bytes.fill(0);
        let other = emulate(&geometry, &next).to_rgba8();
        assert!(png.as_raw() != &other);
    }
    let stats = set.stats();
    assert_eq!(stats[0].1.packets, 3);
    assert_eq!(stats[0].1.frames, 5);
    assert_eq!(stats[0].1.errors, 0);
}

fn sidecar_frames(path: &std::path::Path) -> u64 {
    let text = std::fs::read_to_string(sidecar_path(path)).unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    v["frames"]
        .as_u64()
        .unwrap_or_else(|| panic!("no frame count: {text}"))
}

#[test]
fn file_sink_on_a_full_disk_keeps_whole_frames_and_resumes_at_a_frame_boundary() {
    let Some(fs) = Tmpfs::mount(1024) else {
        return;
    };
    let w = wall("demo");
    let geometry = Geometry::compile(&w);
    let frame_bytes = geometry.ports[0].byte_len();
    let frames = frames(&w, 16);
    let out = fs.path().join("port1.bin");
    // port1 to the file, port2 to a sink that keeps playing.
    let mut set = open(
        &w,
        &geometry,
        &[format!("file:{}", out.display()), "null".into()],
        1,
    );
    // Room for three and a half frames: the fourth is cut short by the full disk.
    let filler = fs.path().join("filler");
    let len = fill(&filler);
    let room = 3 * frame_bytes as u64 + frame_bytes as u64 / 2;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .and_then(|f| f.set_len(len.saturating_sub(room)))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut errors = Vec::new();
    for (tick, f) in frames[..10].iter().enumerate() {
        set.send_frame(f, tick as u64);
        // Waiting for the writer after each frame: none is dropped for a busy disk.
        if let Err(e) = set.flush() {
            errors.push(e.to_string());
        }
    }
    let stats = set.stats();
    let written = stats[0].1.frames;
    assert!((1..10).contains(&written), "{written} frames written");
    let data = std::fs::read(&out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        data.len(),
        written as usize * frame_bytes,
        "not whole frames"
    );
    let want: Vec<u8> = frames[..written as usize]
        .iter()
        .flat_map(|f| f.ports[0].bytes.iter().copied())
        .collect();
    assert!(
        data == want,
        "the file holds other bytes than the frames sent"
    );
    assert_eq!(stats[0].1.bytes, written * frame_bytes as u64);
    assert!(stats[0].1.errors >= 10 - written, "{:?}", stats[0].1);
    assert_eq!(stats[1].1.frames, 10, "the other sink stopped");
    assert_eq!(sidecar_frames(&out), written);
    let last = errors
        .last()
        .unwrap_or_else(|| panic!("flush reported no error"));
    eprintln!("{written} frames written; flush said: {last}");
    assert!(
        last.contains("No space left on device")
            && last.contains(&format!("{} frame(s) lost", 10 - written)),
        "{last}"
    );
    assert!(last.contains(&out.display().to_string()), "{last}");

    // Space returns: the next frames follow the last whole one.
    std::fs::remove_file(&filler).unwrap_or_else(|e| panic!("{e}"));
    for (tick, f) in frames.iter().enumerate().skip(10) {
        set.send_frame(f, tick as u64);
    }
    let e = set
        .flush()
        .err()
        .unwrap_or_else(|| panic!("the lost frames are forgotten"));
    assert!(
        e.to_string()
            .contains(&format!("{} frame(s) lost", 10 - written)),
        "{e}"
    );
    let data = std::fs::read(&out).unwrap_or_else(|e| panic!("{e}"));
    let want: Vec<u8> = frames[..written as usize]
        .iter()
        .chain(&frames[10..])
        .flat_map(|f| f.ports[0].bytes.iter().copied())
        .collect();
    assert_eq!(data.len(), want.len());
    assert!(
        data == want,
        "the frames after the full disk are not aligned"
    );
    let stats = set.stats();
    assert_eq!(stats[0].1.frames, written + 6);
    assert_eq!(stats[1].1.frames, 16);
    assert_eq!(sidecar_frames(&out), written + 6);
    drop(set);
}

#[test]
fn file_sink_to_dev_full_counts_every_failed_frame() {
    let w = wall("demo");
    let geometry = Geometry::compile(&w);
    let frames = frames(&w, 4);
    let existed = std::path::Path::new("/dev/full.json").exists();
    let mut set = open(&w, &geometry, &["file:/dev/full".into(), "null".into()], 1);
    for (tick, f) in frames.iter().enumerate() {
        set.send_frame(f, tick as u64);
    }
    let e = set
        .flush()
        .err()
        .unwrap_or_else(|| panic!("/dev/full took every frame"));
    let text = e.to_string();
    assert!(
        text.contains("/dev/full") && text.contains("No space left on device"),
        "{text}"
    );
    assert!(text.contains("4 frame(s) lost"), "{text}");
    let stats = set.stats();
    assert_eq!((stats[0].1.frames, stats[0].1.bytes), (0, 0));
    assert_eq!(stats[0].1.errors, 4, "{:?}", stats[0].1);
    assert_eq!(stats[1].1.frames, 4);
    drop(set);
    // No sidecar beside a device.
    assert!(existed || !std::path::Path::new("/dev/full.json").exists());
}

/// `ledwall` killed with SIGKILL while it writes a `file` sink at 1000 Hz: the sidecar
/// counts at least one frame, never more than the whole frames in the file, and each of
/// them is exactly what `ledwall render` makes of the same pattern.
#[test]
fn sigkill_mid_write_leaves_a_sidecar_that_counts_whole_frames_only() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tiny = std::fs::read_to_string(root.join("fixtures/walls/tiny.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(tiny.contains("refresh_hz = 60"));
    let wall_file = dir.path().join("fast.toml");
    std::fs::write(
        &wall_file,
        tiny.replace("refresh_hz = 60", "refresh_hz = 1000"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ledwall = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_ledwall"));
        c.env_remove("RUST_LOG")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null());
        c
    };
    // The frame every tick shows (the tiny wall does not dither).
    let reference = dir.path().join("ref");
    let status = ledwall()
        .args([
            "render",
            "--input",
            "pattern:bars",
            "--backend",
            "cpu",
            "--wall",
        ])
        .arg(&wall_file)
        .arg("--out")
        .arg(&reference)
        .status()
        .unwrap_or_else(|e| panic!("cannot start ledwall: {e}"));
    assert!(status.success(), "ledwall render: {status}");
    let mut frame = std::fs::read(reference.join("hub.bin")).unwrap_or_else(|e| panic!("{e}"));
    frame.extend(std::fs::read(reference.join("pixels.bin")).unwrap_or_else(|e| panic!("{e}")));

    let out = dir.path().join("wall.bin");
    let log =
        std::fs::File::create(dir.path().join("stderr.log")).unwrap_or_else(|e| panic!("{e}"));
    let mut child = ledwall()
        .args(["play", "pattern:bars", "--backend", "cpu", "--wall"])
        .arg(&wall_file)
        .arg("--sink")
        .arg(format!("hub=file:{}", out.display()))
        .arg("--sink")
        .arg(format!("pixels=file:{}", out.display()))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start ledwall: {e}"));
    // Playing: frames reach the file. Then more than a sidecar period of writing.
    let start = std::time::Instant::now();
    while std::fs::metadata(&out).map_or(0, |m| m.len()) < 10 * frame.len() as u64 {
        if start.elapsed() > std::time::Duration::from_secs(60)
            || child.try_wait().ok().flatten().is_some()
        {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
            panic!("ledwall wrote no frames:\n{log}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    child.kill().unwrap_or_else(|e| panic!("{e}"));
    let _ = child.wait();

    let text = std::fs::read_to_string(sidecar_path(&out)).unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(
        v["frame_bytes"].as_u64(),
        Some(frame.len() as u64),
        "{text}"
    );
    let n = v["frames"].as_u64().unwrap_or_else(|| panic!("{text}")) as usize;
    let data = std::fs::read(&out).unwrap_or_else(|e| panic!("{e}"));
    assert!(n >= 1, "the sidecar counts no frame after 1.5 s of writing");
    assert!(
        data.len() >= n * frame.len(),
        "the sidecar counts {n} frames, the file holds {} bytes",
        data.len()
    );
    for (k, got) in data.chunks(frame.len()).take(n).enumerate() {
        assert!(
            got == frame.as_slice(),
            "frame {k} of {n} differs from the rendered frame"
        );
    }
}

/// A writer that stops taking frames (a FIFO nobody reads, standing for a stalled disk):
/// the output thread waits once, then drops frames (counted) without waiting, and the
/// frames that did go out are whole and in order.
#[test]
fn file_sink_drops_frames_instead_of_waiting_for_a_stalled_disk() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let fifo = dir.path().join("pipe");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut f = std::fs::File::open(&fifo).unwrap_or_else(|e| panic!("{e}"));
            let _ = wait.recv();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap_or_else(|e| panic!("{e}"));
            data
        })
    };
    let w = wall("demo");
    let geometry = Geometry::compile(&w);
    let frames = frames(&w, 4);
    let mut set = open(
        &w,
        &geometry,
        &[format!("file:{}", fifo.display()), "null".into()],
        1,
    );
    let ticks = 120u64;
    let mut slowest = std::time::Duration::ZERO;
    let mut total = std::time::Duration::ZERO;
    for tick in 0..ticks {
        let t = std::time::Instant::now();
        set.send_frame(&frames[tick as usize % 4], tick);
        slowest = slowest.max(t.elapsed());
        total += t.elapsed();
    }
    let stats = set.stats();
    let dropped = stats[0].1.errors;
    assert!(dropped >= 1, "no frame dropped: {:?}", stats[0].1);
    assert_eq!(stats[1].1.frames, ticks, "the other sink stopped");
    // One wait of at most a tick period (60 Hz), then no more waiting.
    assert!(
        slowest < std::time::Duration::from_millis(200),
        "{slowest:?}"
    );
    assert!(
        total < std::time::Duration::from_millis(400),
        "{total:?} for {ticks} ticks"
    );

    // The disk comes back: what was queued goes out, the drops are reported.
    let _ = go.send(());
    let e = set
        .flush()
        .err()
        .unwrap_or_else(|| panic!("no frame reported lost"));
    assert!(
        e.to_string()
            .contains(&format!("{dropped} were dropped because the disk")),
        "{e}"
    );
    let written = set.stats()[0].1.frames;
    assert_eq!(written + dropped, ticks);
    drop(set);
    let data = reader.join().unwrap_or_else(|_| panic!("reader"));
    let want: Vec<u8> = (0..written as usize)
        .flat_map(|k| frames[k % 4].ports[0].bytes.iter().copied())
        .collect();
    assert_eq!(data.len(), want.len());
    assert!(
        data == want,
        "the frames that went out are not the first ones, whole"
    );
}

/// A tick whose port buffer is refused (wrong length) is not written at all: the file keeps
/// whole frames and `flush` reports the incomplete frame.
#[test]
fn file_sink_writes_no_part_of_an_incomplete_frame() {
    use ledwall_player::sinks::{FileSink, Sink};
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let w = wall("tiny");
    let geometry = Geometry::compile(&w);
    let frames = frames(&w, 2);
    let out = dir.path().join("tiny.bin");
    let mut sink = FileSink::create("file:tiny.bin", &out, &[0, 1], &w, &geometry)
        .unwrap_or_else(|e| panic!("{e}"));
    sink.send(0, &frames[0].ports[0].bytes, 0);
    sink.send(1, &frames[0].ports[1].bytes[1..], 0);
    sink.sync(0);
    sink.send(0, &frames[1].ports[0].bytes, 1);
    sink.send(1, &frames[1].ports[1].bytes, 1);
    sink.sync(1);
    let e = sink
        .flush()
        .err()
        .unwrap_or_else(|| panic!("no frame reported lost"));
    assert!(e.to_string().contains("1 frame(s) lost, 1 written"), "{e}");
    let s = sink.stats();
    assert_eq!((s.frames, s.errors), (1, 2), "{s:?}");
    let mut want = frames[1].ports[0].bytes.clone();
    want.extend_from_slice(&frames[1].ports[1].bytes);
    assert!(std::fs::read(&out).unwrap_or_else(|e| panic!("{e}")) == want);
    assert_eq!(sidecar_frames(&out), 1);
    sink.close().unwrap_or_else(|e| panic!("{e}"));
}

/// A FIFO nobody reads is refused when the sink opens, with its path, instead of an open
/// that waits for a reader for ever.
#[test]
fn file_sink_refuses_a_fifo_nobody_reads() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let fifo = dir.path().join("pipe");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let (tx, rx) = std::sync::mpsc::channel();
    let url = format!("file:{}", fifo.display());
    std::thread::spawn(move || {
        let w = wall("demo");
        let geometry = Geometry::compile(&w);
        let urls = [
            SinkUrl::parse(&url).unwrap_or_else(|e| panic!("{e}")),
            SinkUrl::Null,
        ];
        let r = SinkSet::open(&w, &geometry, &urls, &SinkOptions::default()).map(|_| ());
        let _ = tx.send(r.map_err(|e| e.to_string()));
    });
    let r = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("opening the sink waits for a reader"));
    let e = r
        .err()
        .unwrap_or_else(|| panic!("a FIFO nobody reads was opened"));
    assert!(
        e.contains(&fifo.display().to_string()) && e.contains("nobody reads"),
        "{e}"
    );
}
