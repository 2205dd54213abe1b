//! The `file` sink writes every tick's port buffers back to back, with a sidecar describing
//! them; the `preview` sink writes PNGs of exactly what the emulator shows.

use ledwall_player::sinks::{SinkOptions, SinkSet, file::sidecar_path};
use ledwall_render::emulate::emulate;
use ledwall_render::wall::SinkUrl;
use ledwall_render::{Geometry, Layer, Renderer, Scene, SourceImage, Wall, WallFrame};

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
                .map(|i| (i as u8).wrapping_mul(13).wrapping_add(n * 50))
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
