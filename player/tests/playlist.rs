//! Playlists end to end: the demo playlist on the demo wall, bad media that must not stop
//! the wall, and hot reload in a temporary directory.

use ledwall_player::deck::Deck;
use ledwall_player::media::{OpenOptions, Timing};
use ledwall_player::patterns::Canvas;
use ledwall_player::playlist::{Playlist, Show};
use ledwall_player::reload::Program;
use ledwall_player::timeline::{Shown, Timeline};
use ledwall_render::{Renderer, Wall, WallFrame};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn demo_wall() -> Wall {
    Wall::load(root().join("fixtures/walls/demo.toml")).unwrap_or_else(|e| panic!("{e}"))
}

fn noon() -> jiff::civil::DateTime {
    jiff::civil::date(2026, 6, 1).at(12, 0, 0, 0)
}

#[test]
fn the_demo_playlist_plays_on_the_demo_wall() {
    let wall = demo_wall();
    let playlist = Playlist::load(root().join("fixtures/playlists/demo.toml")).unwrap();
    assert!(playlist.items.len() >= 10);
    let mut deck = Deck::new(&playlist, OpenOptions::new(Canvas::from_wall(&wall)));
    let timings = deck.probe();
    assert!(
        timings.iter().all(Option::is_some),
        "every demo item opens: {timings:?}"
    );
    assert!(
        timings
            .iter()
            .any(|t| matches!(t, Some(Timing::Frames { .. })))
    );
    let timeline = Timeline::new(&playlist, wall.refresh_hz, &timings, 0);
    assert_eq!(timeline.placed().len(), playlist.items.len());
    assert_eq!(timeline.cycle_ticks(), 40 * 60, "40 s a pass at 60 Hz");

    let mut renderer = Renderer::new(&wall).unwrap();
    let mut frame = WallFrame::new(renderer.geometry());
    let mut fades = 0;
    let mut last = Vec::new();
    // One tick every 0.25 s over a whole pass, plus every crossfade tick's neighbourhood.
    let ticks: Vec<u64> = (0..timeline.cycle_ticks() + 60)
        .step_by(15)
        .chain(240..250)
        .collect();
    let mut changed = 0;
    for tick in ticks {
        let ts = timeline.at(tick);
        deck.prepare(&ts);
        let scene = deck.scene(&ts);
        assert!(scene.layers[0].is_some(), "tick {tick} shows something");
        if ts.fading() && ts.outgoing.is_some() {
            fades += 1;
            assert!(scene.layers[1].is_some());
        }
        renderer.render_into(&scene, &mut frame).unwrap();
        if frame.ports[1].bytes != last {
            changed += 1;
        }
        last = frame.ports[1].bytes.clone();
    }
    assert!(fades > 0, "the crossfades were seen");
    assert!(
        changed > 20,
        "the picture changes through the pass ({changed})"
    );
}

#[test]
fn bad_media_is_skipped_and_the_last_good_frame_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    image::RgbImage::from_pixel(4, 4, image::Rgb([10, 20, 30]))
        .save(dir.join("good.png"))
        .unwrap();
    std::fs::write(dir.join("corrupt.png"), b"\x89PNG\r\n\x1a\n\x00\x00garbage").unwrap();
    // A sequence whose third frame is broken: it fails part-way.
    std::fs::create_dir(dir.join("seq")).unwrap();
    for k in 0..4u8 {
        let p = dir.join(format!("seq/f{k}.png"));
        if k == 2 {
            std::fs::write(&p, b"\x89PNG\r\n\x1a\nnot really").unwrap();
        } else {
            image::RgbImage::from_pixel(4, 4, image::Rgb([100 + k, 0, 0]))
                .save(&p)
                .unwrap();
        }
    }
    let path = dir.join("show.toml");
    std::fs::write(
        &path,
        r#"
[[items]]
source = "missing.png"
duration = 1.0
[[items]]
source = "corrupt.png"
duration = 1.0
[[items]]
source = "seq"
fps = 10
[[items]]
source = "good.png"
duration = 1.0
"#,
    )
    .unwrap();
    let playlist = Playlist::load(&path).unwrap();
    let mut deck = Deck::new(&playlist, OpenOptions::new(Canvas::plain(8, 8, 10)));
    let timings = deck.probe();
    assert!(timings[0].is_none() && timings[1].is_none());
    assert!(timings[2].is_some() && timings[3].is_some());
    let timeline = Timeline::new(&playlist, 10, &timings, 0);
    let items: Vec<usize> = timeline.placed().iter().map(|p| p.item).collect();
    assert_eq!(items, [2, 3], "unopenable items are skipped");

    // The sequence: 4 frames at 10 fps on a 10 Hz wall, one tick each.
    let red = |deck: &Deck, s: &Shown| deck.frame(s).and_then(|f| f.pixel8(0, 0)).map(|p| p[0]);
    let mut reds = Vec::new();
    for tick in 0..6 {
        let ts = timeline.at(tick);
        deck.prepare(&ts);
        let s = ts.current.unwrap();
        reds.push((s.item, red(&deck, &s)));
        // The renderer always gets a valid scene.
        let scene = deck.scene(&ts);
        assert!(scene.layers[0].is_some());
    }
    assert_eq!(
        reds,
        [
            (2, Some(100)),
            (2, Some(101)),
            (2, Some(101)), // frame 2 is broken: frame 1 holds
            (2, Some(101)), // the item stopped; it holds until the next item
            (3, Some(10)),
            (3, Some(10)),
        ]
    );
    // On the next pass the sequence gets a fresh chance (and fails at the same frame).
    let ts = timeline.at(timeline.cycle_ticks());
    deck.prepare(&ts);
    assert_eq!(red(&deck, &ts.current.unwrap()), Some(100));
}

#[test]
fn an_item_whose_file_disappears_holds_the_previous_items_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for (name, v) in [("a.png", 50u8), ("b.png", 90)] {
        image::RgbImage::from_pixel(2, 2, image::Rgb([v, v, v]))
            .save(dir.join(name))
            .unwrap();
    }
    let path = dir.join("show.toml");
    std::fs::write(
        &path,
        "[[items]]\nsource = \"a.png\"\nduration = 1.0\n\
         [[items]]\nsource = \"b.png\"\nduration = 1.0\n",
    )
    .unwrap();
    let playlist = Playlist::load(&path).unwrap();
    let mut deck = Deck::new(&playlist, OpenOptions::new(Canvas::plain(2, 2, 10)));
    let timeline = Timeline::new(&playlist, 10, &deck.probe(), 0);
    let ts = timeline.at(0);
    deck.prepare(&ts);
    std::fs::remove_file(dir.join("b.png")).unwrap();
    let ts = timeline.at(10);
    assert_eq!(ts.current.unwrap().item, 1);
    deck.prepare(&ts);
    let f = deck.frame(&ts.current.unwrap()).unwrap();
    assert_eq!(f.pixel8(0, 0), Some([50, 50, 50, 255]));
}

/// Poll (as the render loop does, at `tick`) until the reload thread reports something.
fn poll_until_news(program: &mut Program, tick: u64) -> &'static str {
    let start = Instant::now();
    loop {
        let r = program.poll(tick, noon());
        if r != "unchanged" {
            return r;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no news from the reload thread"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Write a file at once (a new file renamed over the old), as editors do: the reload
/// thread never sees it half written.
fn write(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp-new");
    std::fs::write(&tmp, text).unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&tmp, path).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn hot_reload_switches_at_the_next_item_boundary_and_refuses_bad_files() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("show.toml");
    write(
        &path,
        "[[items]]\nsource = \"pattern:bars\"\nduration = 2.0\n\
         [[items]]\nsource = \"pattern:grid\"\nduration = 3.0\n",
    );
    let opts = OpenOptions::new(Canvas::plain(16, 8, 10));
    let mut program = Program::load(&path, 10, opts, noon()).unwrap();
    assert_eq!(program.poll(0, noon()), "unchanged");
    assert_eq!(program.timeline().cycle_ticks(), 50);

    // An invalid edit: rejected, reported once, the old playlist keeps playing.
    write(
        &path,
        "[[items]]\nsource = \"pattern:bars\"\nduration = -2.0\n",
    );
    assert_eq!(poll_until_news(&mut program, 5), "rejected");
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            program.poll(6, noon()),
            "unchanged",
            "a bad version is reported once"
        );
    }
    assert_eq!(program.pending_switch(), None);
    assert_eq!(program.tick(7, noon()).current.unwrap().item, 0);

    // A valid edit of the same size would be caught by the content hash; this one is valid.
    write(
        &path,
        "[[items]]\nsource = \"pattern:solid:#ff0000\"\nduration = 1.0\n",
    );
    assert_eq!(poll_until_news(&mut program, 7), "reloaded");
    assert_eq!(
        program.pending_switch(),
        Some(20),
        "item 1 starts at tick 20"
    );
    let s = program.tick(19, noon());
    assert_eq!(program.playlist().items.len(), 2);
    assert_eq!(s.current.unwrap().item, 0);
    let s = program.tick(20, noon());
    assert_eq!(program.playlist().items.len(), 1);
    assert_eq!(program.playlist().items[0].source, "pattern:solid:#ff0000");
    assert_eq!(
        s.current.unwrap().local_tick,
        0,
        "the new playlist starts at the switch"
    );
    let scene = program.scene(&s);
    let layer = scene.layers[0].unwrap();
    assert_eq!(layer.source.width, 16);
}

#[test]
fn a_same_size_edit_is_seen_by_its_content_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("show.toml");
    write(&path, "[[items]]\nsource = \"pattern:bars\"\n");
    let show = Show::load(&path).unwrap();
    let mut w = ledwall_player::reload::Watcher::new(&path, &show);
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    write(&path, "[[items]]\nsource = \"pattern:line\"\n");
    // Same length; put the old modification time back so only the content differs.
    let f = std::fs::File::options().write(true).open(&path).unwrap();
    f.set_modified(before).unwrap();
    drop(f);
    match w.poll() {
        ledwall_player::reload::Change::Reloaded(s) => {
            assert_eq!(s.main.items[0].source, "pattern:line")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_schedule_picks_the_playlist_by_local_time() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("show.toml");
    write(
        &path,
        "[[items]]\nsource = \"pattern:bars\"\n\
         [[schedule]]\nplaylist = \"night.toml\"\nfrom = \"22:00\"\nto = \"06:00\"\n\
         days = [\"fri\"]\n",
    );
    write(
        &tmp.path().join("night.toml"),
        "[[items]]\nsource = \"pattern:solid:#000010\"\nduration = 5\n",
    );
    let opts = OpenOptions::new(Canvas::plain(16, 8, 10));
    // 2026-03-06 is a Friday.
    let fri_day = jiff::civil::date(2026, 3, 6).at(12, 0, 0, 0);
    let sat_night = jiff::civil::date(2026, 3, 7).at(1, 0, 0, 0);
    let mut program = Program::load(&path, 10, opts, fri_day).unwrap();
    program.tick(0, fri_day);
    assert_eq!(program.playlist().items[0].source, "pattern:bars");
    program.tick(1, sat_night);
    assert_eq!(program.playlist().items[0].source, "pattern:solid:#000010");
    assert_eq!(program.timeline().cycle_ticks(), 50);
}

#[test]
fn the_readme_playlist_example_is_valid() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("\n## Playlists\n")
        .nth(1)
        .expect("a Playlists section");
    let example = section
        .split("```toml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a TOML example");
    let p = Playlist::from_text(example, Path::new("/shows/lobby.toml"))
        .unwrap_or_else(|e| panic!("README example: {e}"));
    assert_eq!(p.items.len(), 3);
    assert_eq!(p.schedule.len(), 1);
    assert_eq!(p.items[1].loops, Some(2));
}

// ---- Issue 22: configuration files that cannot hang, flood or poison the player ----

/// Run `f` on another thread; fail if it takes longer than `limit` (a blocked read).
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("still running after {limit:?}: a read blocked"))
}

#[test]
fn a_fifo_as_playlist_or_scheduled_playlist_is_refused_without_blocking() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("night.toml");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let f = fifo.clone();
    let e = within(Duration::from_secs(5), move || {
        Playlist::load(&f).unwrap_err()
    });
    assert!(e.to_string().contains("FIFO"), "{e}");
    let main = tmp.path().join("main.toml");
    write(
        &main,
        "[[items]]\nsource = \"pattern:bars\"\n\
         [[schedule]]\nplaylist = \"night.toml\"\nfrom = \"22:00\"\nto = \"06:00\"\n",
    );
    let e = within(Duration::from_secs(5), move || {
        Show::load(&main).unwrap_err()
    });
    assert_eq!(e.problems[0].field, "schedule[0].playlist");
    assert!(e.problems[0].reason.contains("FIFO"), "{e}");
}

#[test]
fn an_oversized_playlist_is_refused_with_its_size_and_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("big.toml");
    let mut text = format!("# {}\n", "x".repeat(4 << 20));
    text.push_str("[[items]]\nsource = \"pattern:bars\"\n");
    write(&big, &text);
    let e = Playlist::load(&big).unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.contains("big.toml")
            && shown.contains(&format!("{} bytes", text.len()))
            && shown.contains("4 MiB"),
        "{shown}"
    );
}

#[test]
fn non_finite_numbers_are_named_in_every_playlist_float_field() {
    let cases = [
        (
            "items[0].duration",
            "[[items]]\nsource = \"pattern:bars\"\nduration = V\n",
        ),
        (
            "items[0].start",
            "[[items]]\nsource = \"a.mp4\"\nstart = V\n",
        ),
        ("items[0].fps", "[[items]]\nsource = \"seq/\"\nfps = V\n"),
        (
            "items[0].transition.duration",
            "[[items]]\nsource = \"pattern:bars\"\ntransition = { kind = \"crossfade\", duration = V }\n",
        ),
        (
            "location.latitude",
            "[location]\nlatitude = V\nlongitude = 0.0\n[[items]]\nsource = \"pattern:bars\"\n",
        ),
        (
            "location.longitude",
            "[location]\nlatitude = 0.0\nlongitude = V\n[[items]]\nsource = \"pattern:bars\"\n",
        ),
        (
            "brightness[0].level",
            "[[items]]\nsource = \"pattern:bars\"\n[[brightness]]\nfrom = \"08:00\"\nlevel = V\n",
        ),
        (
            "brightness[0].fade",
            "[[items]]\nsource = \"pattern:bars\"\n[[brightness]]\nfrom = \"08:00\"\nlevel = 0.5\nfade = V\n",
        ),
    ];
    for (field, text) in cases {
        for v in ["inf", "-inf", "nan"] {
            let text = text.replace('V', v);
            let e = Playlist::from_text(&text, Path::new("p.toml"))
                .err()
                .unwrap_or_else(|| panic!("{field} = {v} accepted"));
            assert!(
                e.problems
                    .iter()
                    .any(|p| p.field == field && p.reason.contains("must be a finite number")),
                "{field} = {v}: {e}"
            );
            assert!(!e.to_string().contains("null"), "{field} = {v}: {e}");
        }
    }
}

#[test]
fn an_unchanged_playlist_is_not_reread_by_the_reload_check() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("big.toml");
    // A big (3 MiB) but allowed playlist whose modification time is old enough to trust.
    let pad = format!("# {}\n", "x".repeat(3 << 20));
    write(
        &path,
        &format!("{pad}[[items]]\nsource = \"pattern:bars\"\n"),
    );
    let old = SystemTime::now() - Duration::from_secs(3600);
    let set_mtime = |t: SystemTime| {
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(t).unwrap();
    };
    set_mtime(old);
    let show = Show::load(&path).unwrap();
    let mut w = ledwall_player::reload::Watcher::new(&path, &show);
    // Same length, same (old) time, other content: the check looks at the metadata only,
    // so it does not see this; a check that read the file would.
    write(
        &path,
        &format!("{pad}[[items]]\nsource = \"pattern:line\"\n"),
    );
    set_mtime(old);
    let start = Instant::now();
    for _ in 0..20 {
        assert!(
            matches!(w.poll(), ledwall_player::reload::Change::Unchanged),
            "the content was read although the metadata did not change"
        );
    }
    assert!(
        start.elapsed() < Duration::from_millis(200),
        "{:?}",
        start.elapsed()
    );
    // A new modification time is seen, and the content read then.
    set_mtime(old + Duration::from_secs(1));
    match w.poll() {
        ledwall_player::reload::Change::Reloaded(s) => {
            assert_eq!(s.main.items[0].source, "pattern:line")
        }
        other => panic!("{other:?}"),
    }
}

/// Set in the child process of the slow-probe test.
const SLOW_CHILD: &str = "LEDWALL_TEST_SLOW_PROBE_CHILD";

#[test]
fn a_reload_probes_its_media_off_the_render_thread() {
    if std::env::var_os(SLOW_CHILD).is_none() {
        // LEDWALL_FFMPEG is process-wide: run the test in a child of its own with a fake
        // ffmpeg and ffprobe that take 2 s each.
        let tmp = tempfile::tempdir().unwrap();
        for name in ["ffmpeg", "ffprobe"] {
            let p = tmp.path().join(name);
            write(&p, "#!/bin/sh\nsleep 2\nexit 1\n");
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_reload_probes_its_media_off_the_render_thread",
                "--nocapture",
            ])
            .env(SLOW_CHILD, "1")
            .env("LEDWALL_FFMPEG", tmp.path().join("ffmpeg"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("1 passed"), "{text}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("show.toml");
    write(
        &path,
        "[[items]]\nsource = \"pattern:bars\"\nduration = 1.0\n",
    );
    write(&tmp.path().join("clip.mp4"), "not really a video");
    let opts = OpenOptions::new(Canvas::plain(16, 8, 10));
    let mut program = Program::load(&path, 10, opts, noon()).unwrap();
    write(
        &path,
        "[[items]]\nsource = \"pattern:bars\"\nduration = 1.0\n\
         [[items]]\nsource = \"clip.mp4\"\n",
    );
    let written = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut tick = 0;
    loop {
        let t = Instant::now();
        let r = program.poll(tick, noon());
        program.tick(tick, noon());
        slowest = slowest.max(t.elapsed());
        if r == "reloaded" {
            break;
        }
        assert!(
            written.elapsed() < Duration::from_secs(30),
            "never reloaded"
        );
        tick += 1;
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        written.elapsed() >= Duration::from_millis(1500),
        "the probe was not slow: the test proves nothing ({:?})",
        written.elapsed()
    );
    assert!(
        slowest < Duration::from_millis(100),
        "a poll or tick of the render thread took {slowest:?}"
    );
    assert_eq!(program.show().main.items.len(), 1, "not taken over yet");
    assert!(program.pending_switch().is_some());
    // The reload thread (the only one of this process: the test runs alone in it) ends
    // with the program.
    let reload_threads = || {
        std::fs::read_dir("/proc/self/task")
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|t| {
                        std::fs::read_to_string(t.path().join("comm"))
                            .is_ok_and(|c| c.trim() == "ledwall-reload")
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    assert_eq!(reload_threads(), 1);
    drop(program);
    let dropped = Instant::now();
    while reload_threads() > 0 {
        assert!(
            dropped.elapsed() < Duration::from_secs(10),
            "the reload thread outlived its program"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
