//! `ledwall preview` animations: sizes, frame counts and frame delays of the GIF and APNG
//! outputs (decoded back with `image`), and every APNG frame equal to the emulator image of
//! the same display tick rendered directly through the player's `Program`.

use clap::Parser;
use image::codecs::gif::GifDecoder;
use image::codecs::png::PngDecoder;
use image::{AnimationDecoder, Frame};
use ledwall_player::cli::{Cli, Command};
use ledwall_player::commands::preview;
use ledwall_player::media::{LoadOptions, OpenOptions};
use ledwall_player::patterns::Canvas;
use ledwall_player::reload::Program;
use ledwall_render::{AnyRenderer, BackendChoice, BackendOptions, Wall, WallFrame, emulate};
use std::io::BufReader;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// A playlist for the tiny wall (32x16, 60 Hz): bars 1 s, an 8-frame GIF of 100 ms once
/// (0.8 s), a missing file, an orange still 0.5 s fading in over 0.25 s: 2.3 s a pass.
fn tiny_playlist(dir: &Path) -> PathBuf {
    let gif = fixtures().join("media/anim-32x16.gif");
    let text = format!(
        r#"
name = "tiny-show"
[[items]]
source = "pattern:bars"
duration = 1.0
[[items]]
source = "{}"
loops = 1
[[items]]
source = "missing.png"
duration = 1.0
[[items]]
source = "pattern:solid:#ff8000"
duration = 0.5
transition = {{ kind = "crossfade", duration = 0.25 }}
"#,
        gif.display()
    );
    let path = dir.join("show.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn run(args: &[&str]) -> (String, String) {
    let mut argv = vec!["ledwall", "preview", "--backend", "cpu"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{e}"));
    let Command::Preview(a) = cli.command else {
        panic!("not preview")
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    preview::run(&a, &mut out, &mut err).unwrap_or_else(|e| panic!("{e:#}"));
    (
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

fn gif_frames(path: &Path) -> Vec<Frame> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{e}"));
    let dec = GifDecoder::new(BufReader::new(f)).unwrap_or_else(|e| panic!("{e}"));
    dec.into_frames()
        .collect_frames()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn apng_frames(path: &Path) -> Vec<Frame> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{e}"));
    let dec = PngDecoder::new(BufReader::new(f)).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        dec.is_apng().unwrap_or_else(|e| panic!("{e}")),
        "not an APNG"
    );
    dec.apng()
        .unwrap_or_else(|e| panic!("{e}"))
        .into_frames()
        .collect_frames()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn delay_ms(f: &Frame) -> f64 {
    let (n, d) = f.delay().numer_denom_ms();
    n as f64 / d as f64
}

#[test]
fn gif_has_one_pass_of_frames_at_the_scale_with_centisecond_delays() {
    let dir = tempfile::tempdir().unwrap();
    let playlist = tiny_playlist(dir.path());
    let wall = fixtures().join("walls/tiny.toml");
    let out = dir.path().join("show.gif");
    let (summary, warnings) = run(&[
        playlist.to_str().unwrap(),
        "--wall",
        wall.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--scale",
        "3",
    ]);
    assert!(
        summary.contains("23 frames of 96x48 at 10 fps"),
        "{summary}"
    );
    // The missing file is a warning, not a failure.
    assert!(warnings.contains("missing.png"), "{warnings}");
    let frames = gif_frames(&out);
    // One pass: 1 + 0.8 + 0.5 s (the missing item is skipped) at 10 fps.
    assert_eq!(frames.len(), 23);
    for f in &frames {
        assert_eq!(f.buffer().dimensions(), (96, 48));
        assert_eq!(delay_ms(f), 100.0);
    }

    // 30 fps for one second: delays of 3 and 4 centiseconds that add up to exactly 1 s.
    let out30 = dir.path().join("show30.gif");
    run(&[
        playlist.to_str().unwrap(),
        "--wall",
        wall.to_str().unwrap(),
        "--out",
        out30.to_str().unwrap(),
        "--fps",
        "30",
        "--to",
        "1",
        "--quiet",
    ]);
    let frames = gif_frames(&out30);
    assert_eq!(frames.len(), 30);
    let delays: Vec<f64> = frames.iter().map(delay_ms).collect();
    assert_eq!(&delays[..6], &[30.0, 40.0, 30.0, 30.0, 40.0, 30.0]);
    assert_eq!(delays.iter().sum::<f64>(), 1000.0);
    // Default scale: at least 512 pixels wide, at most 8x.
    assert_eq!(frames[0].buffer().dimensions(), (256, 128));
}

#[test]
fn apng_frame_count_size_and_delays_follow_from_to_and_fps() {
    let dir = tempfile::tempdir().unwrap();
    let playlist = tiny_playlist(dir.path());
    let wall = fixtures().join("walls/tiny.toml");
    let out = dir.path().join("show.apng");
    run(&[
        playlist.to_str().unwrap(),
        "--wall",
        wall.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--fps",
        "25",
        "--from",
        "0.5",
        "--to",
        "1.7",
        "--scale",
        "2",
        "--quiet",
    ]);
    let frames = apng_frames(&out);
    // (1.7 - 0.5) s at 25 fps.
    assert_eq!(frames.len(), 30);
    for f in &frames {
        assert_eq!(f.buffer().dimensions(), (64, 32));
        assert_eq!(delay_ms(f), 40.0);
    }
    // At 1.0 s the GIF starts: the frames before and after differ.
    assert_ne!(frames[0].buffer(), frames[29].buffer());
}

#[test]
fn every_apng_frame_is_the_emulated_wall_of_its_tick() {
    // The demo playlist from 3.5 s to 5 s: the grid, then the photo crossfading in over
    // 1 s from 4 s (ordered + temporal dithering at 11 bits on the demo wall).
    let dir = tempfile::tempdir().unwrap();
    let playlist = fixtures().join("playlists/demo.toml");
    let wall_path = fixtures().join("walls/demo.toml");
    let out = dir.path().join("demo.png");
    run(&[
        playlist.to_str().unwrap(),
        "--wall",
        wall_path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--from",
        "3.5",
        "--to",
        "5",
        "--scale",
        "1",
        "--quiet",
    ]);
    let frames = apng_frames(&out);
    assert_eq!(frames.len(), 15);

    // The same ticks, straight through the player's Program, the renderer and the emulator.
    let wall = Wall::load(&wall_path).unwrap();
    let mut opts = OpenOptions::new(Canvas::from_wall(&wall));
    opts.load = LoadOptions {
        background: wall.color.background.map(|c| c.min(255) as u8),
        ..LoadOptions::default()
    };
    let now = jiff::civil::date(2026, 1, 5).at(12, 0, 0, 0);
    let mut program = Program::load(&playlist, wall.refresh_hz, opts, now).unwrap();
    let backend = BackendOptions {
        choice: BackendChoice::Cpu,
        ..BackendOptions::default()
    };
    let (mut renderer, _) = AnyRenderer::new(&wall, &backend).unwrap();
    let mut wf = WallFrame::new(renderer.geometry());
    let mut fading = 0;
    for (k, f) in frames.iter().enumerate() {
        let tick = 210 + 6 * k as u64; // (3.5 + k / 10) s at 60 Hz
        let ts = program.tick(tick, now);
        if ts.fading() {
            fading += 1;
        }
        let scene = program.scene(&ts);
        renderer.render_into(&scene, &mut wf).unwrap();
        let want = emulate::emulate(renderer.geometry(), &wf).to_rgba8();
        assert_eq!(f.buffer().as_raw(), &want, "frame {k} (tick {tick})");
    }
    assert!(
        fading >= 9,
        "the crossfade is in the range ({fading} frames)"
    );
}
