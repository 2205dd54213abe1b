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

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
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
    assert_eq!(program.poll(5, noon()), "rejected");
    assert_eq!(
        program.poll(6, noon()),
        "unchanged",
        "a bad version is reported once"
    );
    assert_eq!(program.pending_switch(), None);
    assert_eq!(program.tick(7, noon()).current.unwrap().item, 0);

    // A valid edit of the same size would be caught by the content hash; this one is valid.
    write(
        &path,
        "[[items]]\nsource = \"pattern:solid:#ff0000\"\nduration = 1.0\n",
    );
    assert_eq!(program.poll(7, noon()), "reloaded");
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
