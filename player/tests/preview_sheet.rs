//! Contact sheets and the LED look: one tile per item (first and middle frame, each the
//! emulated wall of its tick), and LED dots with dark gaps and seams at module borders.

use clap::Parser;
use image::codecs::png::PngDecoder;
use image::{AnimationDecoder, RgbaImage, imageops};
use ledwall_player::cli::{Cli, Command};
use ledwall_player::commands::preview;
use ledwall_player::media::LoadOptions;
use ledwall_player::patterns::Canvas;
use ledwall_player::playlist::Playlist;
use ledwall_player::preview::check::check_playlist;
use ledwall_player::preview::look::{Look, MASK, Painter, SEAM};
use ledwall_player::preview::sheet::contact_sheet;
use ledwall_player::preview::{Previewer, open_options};
use ledwall_render::{BackendChoice, BackendOptions, Wall};
use std::io::BufReader;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn cpu() -> BackendOptions {
    BackendOptions {
        choice: BackendChoice::Cpu,
        ..BackendOptions::default()
    }
}

fn run(args: &[&str]) {
    let mut argv = vec!["ledwall", "preview", "--backend", "cpu", "--quiet"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{e}"));
    let Command::Preview(a) = cli.command else {
        panic!("not preview")
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    preview::run(&a, &mut out, &mut err).unwrap_or_else(|e| panic!("{e:#}"));
}

#[test]
fn one_tile_per_item_with_its_first_and_middle_frames() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
[[items]]
source = "pattern:bars"
duration = 2.0
[[items]]
source = "gone.png"
[[items]]
source = "{}"
duration = 1.0
transition = {{ kind = "crossfade", duration = 0.5 }}
[[items]]
source = "pattern:line"
duration = 1.0
[[items]]
source = "pattern:checker:2"
duration = 1.0
"#,
        fixtures().join("media/anim-32x16.gif").display()
    );
    let path = dir.path().join("sheet.toml");
    std::fs::write(&path, text).unwrap();
    let wall = Wall::load(fixtures().join("walls/tiny.toml")).unwrap();
    let playlist = Playlist::load(&path).unwrap();
    let opts = open_options(&wall, LoadOptions::default());
    let check = check_playlist(&playlist, &opts, wall.refresh_hz);
    let look = Look {
        scale: 4,
        led: false,
    };
    let painter = Painter::new(look, &opts.canvas.modules);
    let mut previewer =
        Previewer::new(&wall, &playlist, opts.clone(), &cpu(), &check.timings()).unwrap();
    let mut rendered = 0;
    let sheet = contact_sheet(
        &mut previewer,
        &check,
        &painter,
        (wall.width, wall.height),
        &mut || rendered += 1,
    )
    .unwrap();

    // Five items, five tiles (the missing one too), in order, all the same size.
    assert_eq!(sheet.tiles.len(), 5);
    let items: Vec<usize> = sheet.tiles.iter().map(|t| t.item).collect();
    assert_eq!(items, [0, 1, 2, 3, 4]);
    let (w0, h0) = (sheet.tiles[0].width, sheet.tiles[0].height);
    for t in &sheet.tiles {
        assert_eq!((t.width, t.height), (w0, h0));
        assert!(t.x + t.width <= sheet.image.width() && t.y + t.height <= sheet.image.height());
        assert_eq!(t.frame_size, (128, 64));
    }
    // No two tiles overlap.
    for (i, a) in sheet.tiles.iter().enumerate() {
        for b in &sheet.tiles[i + 1..] {
            let apart = a.x + a.width <= b.x
                || b.x + b.width <= a.x
                || a.y + a.height <= b.y
                || b.y + b.height <= a.y;
            assert!(apart, "{a:?} overlaps {b:?}");
        }
    }
    // 3 columns for 5 tiles: 2 rows.
    assert_eq!(
        sheet.image.height(),
        2 * h0 + 3 * (sheet.tiles[1].x - w0 - sheet.tiles[0].x)
    );
    // Two frames for each of the four items that play.
    assert_eq!(rendered, 8);
    assert_eq!(sheet.tiles[1].ticks, None);

    // Ticks: bars 0..120 → 0 and 60; the GIF 120..180 fading 30 → 150 and 150;
    // line 180..240 → 180 and 210.
    assert_eq!(sheet.tiles[0].ticks, Some((0, 60)));
    assert_eq!(sheet.tiles[2].ticks, Some((150, 150)));
    assert_eq!(sheet.tiles[3].ticks, Some((180, 210)));
    // Each frame is the emulated wall of its tick.
    let mut fresh =
        Previewer::new(&wall, &playlist, opts.clone(), &cpu(), &check.timings()).unwrap();
    for t in &sheet.tiles {
        let Some((first, middle)) = t.ticks else {
            continue;
        };
        for (tick, (x, y)) in [(first, t.frames[0]), (middle, t.frames[1])] {
            let want = painter.paint(&fresh.render_tick(tick).unwrap());
            let got = imageops::crop_imm(&sheet.image, x, y, 128, 64).to_image();
            assert!(got == want, "item {} tick {tick}", t.item);
        }
    }
    // The line moved between the two frames of its tile.
    let (a, b) = (sheet.tiles[3].frames[0], sheet.tiles[3].frames[1]);
    let fa = imageops::crop_imm(&sheet.image, a.0, a.1, 128, 64).to_image();
    let fb = imageops::crop_imm(&sheet.image, b.0, b.1, 128, 64).to_image();
    assert_ne!(fa, fb);

    // Through the command: the same picture in a .sheet.png.
    let out = dir.path().join("x.sheet.png");
    run(&[
        path.to_str().unwrap(),
        "--wall",
        fixtures().join("walls/tiny.toml").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--scale",
        "4",
    ]);
    let png = image::open(&out).unwrap().to_rgba8();
    assert!(png == sheet.image, "the file differs from the sheet");
    // --contact-sheet with a plain .png name.
    let out2 = dir.path().join("y.png");
    run(&[
        path.to_str().unwrap(),
        "--wall",
        fixtures().join("walls/tiny.toml").to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
        "--scale",
        "4",
        "--contact-sheet",
    ]);
    assert!(image::open(&out2).unwrap().to_rgba8() == sheet.image);
}

fn first_apng_frame(path: &Path) -> RgbaImage {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{e}"));
    let dec = PngDecoder::new(BufReader::new(f)).unwrap_or_else(|e| panic!("{e}"));
    let frames = dec
        .apng()
        .unwrap_or_else(|e| panic!("{e}"))
        .into_frames()
        .collect_frames()
        .unwrap_or_else(|e| panic!("{e}"));
    frames
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no frame"))
        .into_buffer()
}

#[test]
fn led_look_has_dots_dark_gaps_and_seams_at_module_borders() {
    let dir = tempfile::tempdir().unwrap();
    let wall_path = fixtures().join("walls/demo.toml");
    let out = dir.path().join("led.png");
    const S: u32 = 8;
    run(&[
        "pattern:solid:#ffffff",
        "--wall",
        wall_path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--led-look",
        "--scale",
        "8",
        "--to",
        "0.1",
    ]);
    let img = first_apng_frame(&out);
    let wall = Wall::load(&wall_path).unwrap();
    assert_eq!(img.dimensions(), (wall.width * S, wall.height * S));
    let rgb = |x: u32, y: u32| {
        let p = img.get_pixel(x, y).0;
        [p[0], p[1], p[2]]
    };
    // Every LED is a bright dot, and the middle of every gap between two dots is dark.
    for y in 0..wall.height {
        for x in 0..wall.width {
            let (cx, cy) = (x * S + S / 2, y * S + S / 2);
            assert!(rgb(cx, cy).iter().all(|&c| c > 200), "dot ({x}, {y})");
            if x + 1 < wall.width && (x + 1) % 64 != 0 {
                assert_eq!(rgb((x + 1) * S, cy), MASK, "gap right of ({x}, {y})");
            }
        }
    }
    // The seams: every module's edge is SEAM along its whole length, and they are the only
    // SEAM pixels on a row through the dots (the demo wall's modules are 64 wide).
    let modules = Canvas::from_wall(&wall).modules;
    assert_eq!(modules.len(), 4);
    for m in &modules {
        let (x0, x1) = ((m.x as u32) * S, (m.x as u32 + m.width) * S - 1);
        let (y0, y1) = ((m.y as u32) * S, (m.y as u32 + m.height) * S - 1);
        for y in y0..=y1 {
            assert_eq!(rgb(x0, y), SEAM);
            assert_eq!(rgb(x1, y), SEAM);
        }
        for x in x0..=x1 {
            assert_eq!(rgb(x, y0), SEAM);
            assert_eq!(rgb(x, y1), SEAM);
        }
    }
    let row = 5 * S + S / 2;
    let seams: Vec<u32> = (0..img.width()).filter(|&x| rgb(x, row) == SEAM).collect();
    assert_eq!(seams, [0, 64 * S - 1, 64 * S, 128 * S - 1]);
    assert_ne!(MASK, SEAM);
}
