//! End-to-end tests of the `ledwall` binary: the real executable, real fixture walls and
//! media, temporary output directories.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use image::DynamicImage;
use ledwall_render::emulate::emulate;
use ledwall_render::wall::OutputFormat;
use ledwall_render::{Filter, Fit, Layer, Renderer, Scene, SourceImage, Wall, WallFrame};
use serde_json::Value;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::have_gpu;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn wall_path(name: &str) -> PathBuf {
    root().join("fixtures/walls").join(format!("{name}.toml"))
}

fn media_path(name: &str) -> PathBuf {
    root().join("fixtures/media").join(name)
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn assert_no_panic(&self) {
        assert!(
            !self.stderr.contains("panicked"),
            "the binary panicked:\n{}",
            self.stderr
        );
    }

    fn assert_code(&self, code: i32) {
        self.assert_no_panic();
        assert_eq!(
            self.code,
            Some(code),
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
    }
}

fn ledwall<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .args(&args)
        .output()
        .expect("run ledwall");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Decode like a user of the render crate would, independently of the player's media code:
/// 16-bit PNGs stay 16-bit, alpha is composited over the background in code values.
enum RefPixels {
    Rgba8(Vec<u8>),
    Rgba16(Vec<u16>),
}

fn reference_pixels(path: &Path, bg: [u8; 3]) -> (u32, u32, RefPixels) {
    let img = image::open(path).unwrap();
    let (w, h) = (img.width(), img.height());
    let deep = matches!(
        img,
        DynamicImage::ImageRgb16(_)
            | DynamicImage::ImageRgba16(_)
            | DynamicImage::ImageLuma16(_)
            | DynamicImage::ImageLumaA16(_)
    );
    if deep {
        let mut d = img.to_rgba16().into_raw();
        for px in d.chunks_exact_mut(4) {
            let a = px[3] as u64;
            for c in 0..3 {
                let b = bg[c] as u64 * 257;
                px[c] = ((px[c] as u64 * a + b * (65535 - a) + 32767) / 65535) as u16;
            }
        }
        (w, h, RefPixels::Rgba16(d))
    } else {
        let mut d = img.to_rgba8().into_raw();
        for px in d.chunks_exact_mut(4) {
            let a = px[3] as u32;
            for c in 0..3 {
                px[c] = ((px[c] as u32 * a + bg[c] as u32 * (255 - a) + 127) / 255) as u8;
            }
        }
        (w, h, RefPixels::Rgba8(d))
    }
}

fn render_in_process(
    wall: &Wall,
    media: &Path,
    fit: Fit,
    filter: Filter,
    frame: u64,
) -> (Renderer, WallFrame) {
    let bg = wall.color.background.map(|c| c as u8);
    let (w, h, pixels) = reference_pixels(media, bg);
    let source = match &pixels {
        RefPixels::Rgba8(d) => SourceImage::rgba8(w, h, d),
        RefPixels::Rgba16(d) => SourceImage::rgba16(w, h, d),
    };
    let mut renderer = Renderer::new(wall).unwrap();
    let mut out = WallFrame::new(renderer.geometry());
    let layer = Layer::new(source).fit(fit).filter(filter);
    renderer
        .render_into(&Scene::single(frame, layer), &mut out)
        .unwrap();
    (renderer, out)
}

/// Render with the CLI into a directory that does not exist yet, check every file against
/// frame.json and the compiled geometry, and check the bytes against an in-process render.
/// Returns the output directory (kept alive by the returned TempDir).
fn render_case(
    wall_name: &str,
    media: &str,
    fit: Fit,
    filter: Filter,
    frame: u64,
) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("not/yet/there");
    let run = ledwall([
        OsString::from("render"),
        "--wall".into(),
        wall_path(wall_name).into(),
        "--input".into(),
        media_path(media).into(),
        "--fit".into(),
        fit.name().into(),
        "--filter".into(),
        filter.name().into(),
        "--frame".into(),
        frame.to_string().into(),
        "--out".into(),
        out.clone().into(),
    ]);
    run.assert_code(0);
    assert!(run.stdout.contains("rendered"), "{}", run.stdout);

    let wall = Wall::load(wall_path(wall_name)).unwrap();
    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join("frame.json")).unwrap()).unwrap();
    assert_eq!(json["wall"], wall.name.as_str());
    assert_eq!(json["canvas"], serde_json::json!([wall.width, wall.height]));
    assert_eq!(json["frame"], frame);
    assert_eq!(json["input"]["fit"], fit.name());
    assert_eq!(json["input"]["filter"], filter.name());

    let (renderer, expected) = render_in_process(&wall, &media_path(media), fit, filter, frame);
    let geometry = renderer.geometry();
    let ports = json["ports"].as_array().unwrap();
    assert_eq!(ports.len(), geometry.ports.len());
    for ((pj, port), buf) in ports.iter().zip(&geometry.ports).zip(&expected.ports) {
        let name = port.name.as_str();
        assert_eq!(pj["name"], name);
        assert_eq!(pj["format"], port.format.name());
        assert_eq!(pj["file"], format!("{name}.bin"));
        let n = |k: &str| pj[k].as_u64().unwrap_or_else(|| panic!("{name}.{k}")) as usize;
        let (addresses, planes, positions) = (n("addresses"), n("planes"), n("positions"));
        assert_eq!(addresses, port.addresses as usize);
        assert_eq!(planes, port.planes() as usize);
        assert_eq!(positions, port.positions as usize);
        assert_eq!(n("depth"), port.depth as usize);
        let stated = match port.format {
            OutputFormat::Bitplanes => {
                assert!(pj.get("pixels").is_none());
                assert_eq!(planes, wall.color.bit_depth as usize);
                addresses * planes * positions
            }
            OutputFormat::Rgb8 => {
                assert_eq!((addresses, planes), (1, 1));
                n("pixels") * 3
            }
            OutputFormat::Canvas => {
                assert_eq!((addresses, planes), (1, 1));
                let c = port.canvas.unwrap();
                assert_eq!(pj["region"]["at"], serde_json::json!(c.at));
                assert_eq!(pj["region"]["size"], serde_json::json!(c.size));
                assert_eq!(pj["encoding"], c.encoding.name());
                assert_eq!(n("pixels"), c.pixels());
                n("pixels") * 3
            }
            OutputFormat::Rgb16 => {
                assert_eq!((addresses, planes), (1, 1));
                n("pixels") * 6
            }
        };
        assert_eq!(n("bytes"), stated, "{name}: bytes vs layout");
        let modules = pj["modules"].as_array().unwrap();
        assert_eq!(modules.len(), port.modules.len());
        for (mj, m) in modules.iter().zip(&port.modules) {
            assert_eq!(mj["type"], m.kind.as_str());
            assert_eq!(mj["first"], m.first);
            assert_eq!(mj["count"], m.count);
            assert_eq!(mj["at"], serde_json::json!(m.at));
        }

        let bytes = std::fs::read(out.join(format!("{name}.bin"))).unwrap();
        assert_eq!(bytes.len(), stated, "{name}.bin size");
        assert!(
            bytes == buf.bytes,
            "{name}.bin differs from an in-process render of the same input"
        );
    }

    let preview = image::open(out.join("preview.png")).unwrap().to_rgba8();
    assert_eq!(preview.dimensions(), (wall.width, wall.height));
    assert!(
        preview.as_raw() == &emulate(geometry, &expected).to_rgba8(),
        "preview.png is not the emulated wall"
    );
    (tmp, out)
}

#[test]
fn render_demo_wall_from_8_bit_png() {
    render_case(
        "demo",
        "gradient-64x32.png",
        Fit::Contain,
        Filter::Lanczos3,
        3,
    );
}

#[test]
fn render_sending_card_wall_writes_its_canvas_ports() {
    let (_tmp, out) = render_case(
        "sending-card",
        "photo-160x90.jpg",
        Fit::Cover,
        Filter::Lanczos3,
        2,
    );
    // The confidence port is the top-left quarter of the canvas, PWM-linear; the card port
    // is all of it, display-encoded: the same pixels, darker in linear codes.
    let card = std::fs::read(out.join("card.bin")).unwrap();
    let conf = std::fs::read(out.join("confidence.bin")).unwrap();
    assert_eq!((card.len(), conf.len()), (960 * 540 * 3, 480 * 270 * 3));
    let (mut brighter, mut total) = (0, 0);
    for y in 0..270 {
        for x in 0..480 {
            for c in 0..3 {
                let (d, l) = (card[(y * 960 + x) * 3 + c], conf[(y * 480 + x) * 3 + c]);
                total += 1;
                brighter += (d > l) as usize;
                assert!(
                    d >= l.saturating_sub(1),
                    "({x}, {y}) {c}: display {d} linear {l}"
                );
            }
        }
    }
    assert!(brighter > total / 2, "{brighter} of {total}");
}

#[test]
fn render_hd_wall_from_jpeg() {
    render_case("hd", "photo-160x90.jpg", Fit::Cover, Filter::Area, 0);
}

#[test]
fn render_outdoor_wall_from_16_bit_png() {
    render_case(
        "outdoor",
        "ramp16-128x16.png",
        Fit::Stretch,
        Filter::CatmullRom,
        7,
    );
}

#[test]
fn render_tiny_wall_from_rgba_png_shows_background_through_transparency() {
    let (_tmp, out) = render_case("tiny", "alpha-32x32.png", Fit::Center, Filter::Nearest, 0);
    // The image's left quarter is fully transparent (magenta underneath): there the wall
    // must show exactly what it shows for the background alone.
    let wall = Wall::load(wall_path("tiny")).unwrap();
    let mut renderer = Renderer::new(&wall).unwrap();
    let mut bg = WallFrame::new(renderer.geometry());
    renderer
        .render_into(&Scene::background(0), &mut bg)
        .unwrap();
    let bg_view = emulate(renderer.geometry(), &bg);
    let preview = image::open(out.join("preview.png")).unwrap().to_rgba8();
    let bg_rgba = bg_view.to_rgba8();
    for y in 0..wall.height {
        for x in 0..8 {
            let i = (y * wall.width + x) as usize * 4;
            assert_eq!(
                &preview.as_raw()[i..i + 4],
                &bg_rgba[i..i + 4],
                "pixel ({x}, {y})"
            );
        }
    }
}

#[test]
fn render_writes_into_an_existing_directory_and_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("hub.bin"), b"stale").unwrap();
    let run = ledwall([
        OsString::from("render"),
        "--wall".into(),
        wall_path("tiny").into(),
        "-i".into(),
        media_path("gradient-64x32.png").into(),
        "-o".into(),
        tmp.path().into(),
    ]);
    run.assert_code(0);
    assert_eq!(
        std::fs::read(tmp.path().join("hub.bin")).unwrap().len(),
        512
    );
}

#[test]
fn validate_accepts_every_fixture_wall() {
    let walls = ["demo", "hd", "outdoor", "tiny"];
    let run = ledwall(
        std::iter::once(OsString::from("validate"))
            .chain(walls.iter().map(|w| wall_path(w).into_os_string())),
    );
    run.assert_code(0);
    for w in walls {
        assert!(
            run.stdout.contains(&format!("{w}.toml: ok (")),
            "{w}: {}",
            run.stdout
        );
    }
    assert!(
        run.stdout
            .contains("demo.toml: ok (2 ports, 4 modules, 128x64)"),
        "{}",
        run.stdout
    );
}

const BROKEN_WALL: &str = r#"
name = "broken"

[canvas]
width = 64
height = 32

[color]
bit_depth = 20

[module_types.m]
size = [32, 16]
scan = 8

[[outputs]]
name = "a"
format = "rgb8"
modules = [{ type = "no-such-type", at = [0, 0] }]

[[outputs]]
name = "a"
format = "rgb8"
modules = [{ type = "m", at = [32, 0] }]
"#;

#[test]
fn validate_reports_every_problem_of_a_broken_wall_in_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("broken.toml");
    std::fs::write(&bad, BROKEN_WALL).unwrap();
    let run = ledwall([OsString::from("validate"), bad.clone().into()]);
    run.assert_code(2);
    let err = &run.stderr;
    for needle in [
        "color.bit_depth: 20 is outside 1..=16",
        "outputs[0].modules[0].type: unknown module type \"no-such-type\"",
        "outputs[1].name: duplicate output name \"a\"",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    // Every problem line names the file.
    let file = bad.display().to_string();
    let problem_lines: Vec<&str> = err.lines().filter(|l| l.starts_with("  ")).collect();
    assert!(problem_lines.len() >= 3, "{err}");
    assert!(
        problem_lines
            .iter()
            .filter(|l| !l.starts_with("  caused by"))
            .all(|l| l.contains(&file)),
        "{err}"
    );
}

#[test]
fn validate_fails_if_any_file_fails_but_reports_the_good_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("broken.toml");
    std::fs::write(&bad, BROKEN_WALL).unwrap();
    let run = ledwall([
        OsString::from("validate"),
        wall_path("tiny").into(),
        bad.into(),
        tmp.path().join("missing.toml").into(),
    ]);
    run.assert_code(2);
    assert!(run.stdout.contains("tiny.toml: ok ("), "{}", run.stdout);
    assert!(
        run.stderr.contains("cannot read the file"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("2 of 3 files are not valid"),
        "{}",
        run.stderr
    );
}

#[test]
fn validate_checks_playlists_field_by_field() {
    let tmp = tempfile::tempdir().unwrap();
    let playlist = tmp.path().join("lobby.toml");
    std::fs::write(
        &playlist,
        "name = \"lobby\"\nloop = true\n\n[[items]]\nsource = \"pattern:bars\"\nduration = 10.0\n\n\
         [[items]]\nsource = \"media/later.png\"\n",
    )
    .unwrap();
    let run = ledwall([OsString::from("validate"), playlist.clone().into()]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("ok (playlist \"lobby\", 2 items)"),
        "{}",
        run.stdout
    );
    // A file that is not there yet is a warning naming the item, not a failure.
    assert!(
        run.stderr.contains("warning: items[1].source") && run.stderr.contains("later.png"),
        "{}",
        run.stderr
    );
    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"bad\"\n[[items]]\nsource = \"pattern:bars\"\nduration = -1.0\n\n\
         [[items]]\nsource = \"pattern:bars\"\nfit = \"squash\"\n",
    )
    .unwrap();
    let run = ledwall([OsString::from("validate"), bad.into()]);
    run.assert_code(2);
    run.assert_no_panic();
    assert!(run.stderr.contains("items[0].duration"), "{}", run.stderr);
    assert!(run.stderr.contains("items[1].fit"), "{}", run.stderr);
    // The fixture playlist is valid.
    let demo = root().join("fixtures/playlists/demo.toml");
    ledwall([OsString::from("validate"), demo.into()]).assert_code(0);
}

#[test]
fn validate_lists_a_flood_of_problems_up_to_a_cap() {
    let tmp = tempfile::tempdir().unwrap();
    let flood = tmp.path().join("flood.toml");
    let mut text = String::new();
    for i in 0..100_000 {
        text.push_str(&format!("k{i} = 1\n"));
    }
    text.push_str("[[items]]\nsource = \"pattern:bars\"\n");
    std::fs::write(&flood, text).unwrap();
    let run = ledwall([OsString::from("validate"), flood.into()]);
    run.assert_code(2);
    assert!(
        run.stderr.lines().count() < 60,
        "{} lines: {:.3000}",
        run.stderr.lines().count(),
        run.stderr
    );
    assert!(
        run.stderr.contains("100000 problems") && run.stderr.contains("… and 99950 more"),
        "{:.3000}",
        run.stderr
    );
}

#[test]
fn validate_refuses_fifos_devices_and_oversized_files_promptly() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("show.toml");
    let ok = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let big = tmp.path().join("big.toml");
    // A playlist just over 4 MiB: a comment, then a valid item.
    let mut text = format!("# {}\n", "x".repeat(4 << 20));
    text.push_str("[[items]]\nsource = \"pattern:bars\"\n");
    std::fs::write(&big, text).unwrap();
    let start = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .args([
            OsString::from("validate"),
            fifo.into(),
            "/dev/zero".into(),
            big.into(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > std::time::Duration::from_secs(20) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("validate blocked on a FIFO or a device");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("FIFO"), "{stderr}");
    assert!(stderr.contains("character device"), "{stderr}");
    assert!(
        stderr.contains("big.toml") && stderr.contains("too large") && stderr.contains("4 MiB"),
        "{stderr}"
    );
    assert!(stderr.contains("3 of 3 files are not valid"), "{stderr}");
}

#[test]
fn validate_escapes_control_bytes_of_names_keys_and_values() {
    let tmp = tempfile::tempdir().unwrap();
    let evil = tmp.path().join("evil\u{1b}[2J.toml");
    std::fs::write(
        &evil,
        "name = \"a\\u001b]0;pwned\\u0007\"\n\"k\\u001b[31m\\r\" = 1\n\
         [[items]]\nsource = \"pattern:bars\\u001b[1m\"\n",
    )
    .unwrap();
    let run = ledwall([OsString::from("validate"), evil.into()]);
    run.assert_code(2);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(!all.contains('\u{1b}') && !all.contains('\u{7}'), "{all:?}");
    assert!(all.contains("evil\\u{1b}[2J.toml"), "{all}");
    assert!(all.contains("k\\u{1b}[31m\\r"), "{all}");
    assert!(all.contains("bars\\u{1b}[1m"), "{all}");
}

fn render_args(wall: &str, input: &Path, out: &Path) -> Vec<OsString> {
    vec![
        "render".into(),
        "--wall".into(),
        wall_path(wall).into(),
        "--input".into(),
        input.into(),
        "--out".into(),
        out.into(),
    ]
}

#[test]
fn missing_input_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let input = tmp.path().join("no-such-image.png");
    let run = ledwall(render_args("demo", &input, &out));
    run.assert_code(1);
    assert!(
        run.stderr.starts_with("error: cannot open ") && run.stderr.contains("no-such-image.png"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("caused by:"), "{}", run.stderr);
    assert!(!out.exists(), "nothing is written when the input fails");
}

#[test]
fn corrupt_png_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("corrupt.png");
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(&[0x42; 100]);
    std::fs::write(&input, bytes).unwrap();
    let run = ledwall(render_args("demo", &input, &tmp.path().join("out")));
    run.assert_code(1);
    assert!(
        run.stderr.contains("cannot decode") && run.stderr.contains("corrupt.png as png"),
        "{}",
        run.stderr
    );
}

#[test]
fn truncated_png_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("truncated.png");
    let good = std::fs::read(media_path("gradient-64x32.png")).unwrap();
    std::fs::write(&input, &good[..good.len() / 2]).unwrap();
    let run = ledwall(render_args("demo", &input, &tmp.path().join("out")));
    run.assert_code(1);
    assert!(run.stderr.contains("cannot decode"), "{}", run.stderr);
}

#[test]
fn not_an_image_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("notes.png");
    std::fs::write(&input, "these are notes, not pixels\n").unwrap();
    let run = ledwall(render_args("demo", &input, &tmp.path().join("out")));
    run.assert_code(1);
    assert!(
        run.stderr.contains("is not an image this build decodes"),
        "{}",
        run.stderr
    );
}

/// A copy of a PNG whose pixel data (inside IDAT) is damaged but whose header is intact.
fn png_with_damaged_pixels(good: &[u8]) -> Vec<u8> {
    let idat = good
        .windows(4)
        .position(|w| w == b"IDAT")
        .expect("an IDAT chunk");
    let len = u32::from_be_bytes(good[idat - 4..idat].try_into().unwrap()) as usize;
    let mut bytes = good.to_vec();
    for b in &mut bytes[idat + 4..idat + 4 + len] {
        *b ^= 0xa5;
    }
    bytes
}

#[test]
fn over_limit_image_is_refused_before_decoding() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("damaged.png");
    let good = std::fs::read(media_path("gradient-64x32.png")).unwrap();
    std::fs::write(&input, png_with_damaged_pixels(&good)).unwrap();
    let out = tmp.path().join("out");

    // The limit is enforced from the header: the damaged pixel data is never reached.
    let mut args = render_args("demo", &input, &out);
    args.extend(["--max-pixels".into(), "100".into()]);
    let run = ledwall(args);
    run.assert_code(1);
    assert!(
        run.stderr.contains("64x32 = 2048 pixels")
            && run.stderr.contains("limit of 100")
            && run.stderr.contains("refused before decoding"),
        "{}",
        run.stderr
    );
    assert!(!out.exists());

    // Without the limit the same file fails in the decoder, so the refusal above did come
    // first.
    let run = ledwall(render_args("demo", &input, &out));
    run.assert_code(1);
    assert!(run.stderr.contains("cannot decode"), "{}", run.stderr);

    // The undamaged image at exactly the limit is fine.
    let mut args = render_args("demo", &media_path("gradient-64x32.png"), &out);
    args.extend(["--max-pixels".into(), "2048".into()]);
    ledwall(args).assert_code(0);
}

#[test]
fn broken_wall_on_render_lists_its_problems_and_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("broken.toml");
    std::fs::write(&bad, BROKEN_WALL).unwrap();
    let run = ledwall([
        OsString::from("render"),
        "--wall".into(),
        bad.into(),
        "--input".into(),
        media_path("gradient-64x32.png").into(),
        "--out".into(),
        tmp.path().join("out").into(),
    ]);
    run.assert_code(2);
    assert!(run.stderr.contains("3 problems"), "{}", run.stderr);
    assert!(run.stderr.contains("color.bit_depth"), "{}", run.stderr);
}

/// The port files `ledwall render` wrote into `dir`, as a frame of `wall`.
fn read_frame(wall: &Wall, dir: &Path) -> (ledwall_render::Geometry, WallFrame) {
    let g = ledwall_render::Geometry::compile(wall);
    let mut frame = WallFrame::new(&g);
    for (port, buf) in g.ports.iter().zip(&mut frame.ports) {
        let path = dir.join(ledwall_player::layout::port_file(port));
        buf.bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    (g, frame)
}

#[test]
fn gpu_backend_renders_what_the_cpu_renders_within_one_code() {
    if !have_gpu() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for (wall, media) in [
        ("demo", "photo-160x90.jpg"),
        ("outdoor", "ramp16-128x16.png"),
    ] {
        let mut dirs = Vec::new();
        for backend in ["cpu", "gpu"] {
            let dir = tmp.path().join(format!("{wall}-{backend}"));
            let mut args = render_args(wall, &media_path(media), &dir);
            args.extend([
                "--backend".into(),
                backend.into(),
                "--frame".into(),
                "7".into(),
            ]);
            let run = ledwall(args);
            run.assert_code(0);
            assert!(
                run.stdout.contains(&format!("backend: {backend}")),
                "{}",
                run.stdout
            );
            let json: Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("frame.json")).unwrap())
                    .unwrap();
            assert_eq!(json["backend"], backend);
            dirs.push(dir);
        }
        let w = Wall::load(wall_path(wall)).unwrap();
        let (g, cpu) = read_frame(&w, &dirs[0]);
        let (_, gpu) = read_frame(&w, &dirs[1]);
        let (a, b) = (emulate(&g, &cpu), emulate(&g, &gpu));
        let mut at_one = 0;
        for (x, y) in a.codes.iter().zip(&b.codes) {
            let d = (*x as i32 - *y as i32).abs();
            assert!(d <= 1, "{wall}: cpu {x} gpu {y}");
            at_one += (d == 1) as usize;
        }
        eprintln!(
            "{wall}: {at_one} of {} samples differ by one code",
            a.codes.len()
        );
    }
}

#[test]
fn an_unknown_adapter_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let mut args = render_args(
        "tiny",
        &media_path("gradient-64x32.png"),
        &tmp.path().join("out"),
    );
    args.extend([
        "--backend".into(),
        "gpu".into(),
        "--adapter".into(),
        "no-such-card-xyz".into(),
    ]);
    let run = ledwall(args);
    run.assert_code(1);
    assert!(run.stderr.contains("no-such-card-xyz"), "{}", run.stderr);
    for backend in ["cpu", "auto"] {
        let mut args = render_args(
            "tiny",
            &media_path("gradient-64x32.png"),
            &tmp.path().join(backend),
        );
        args.extend(["--backend".into(), backend.into()]);
        ledwall(args).assert_code(0);
    }
}

#[test]
fn usage_errors_exit_2() {
    let run = ledwall(["render", "--wall", "w.toml", "--input", "a.png"]);
    run.assert_code(2);
    assert!(run.stderr.contains("--out"), "{}", run.stderr);
    let run = ledwall([
        "render", "--wall", "w", "--input", "a", "--out", "o", "--fit", "squash",
    ]);
    run.assert_code(2);
    assert!(run.stderr.contains("contain"), "{}", run.stderr);
    ledwall(["validate"]).assert_code(2);
    ledwall(["frobnicate"]).assert_code(2);
    let run = ledwall(["--version"]);
    run.assert_code(0);
    assert!(run.stdout.contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn info_lists_version_backends_and_cpu_features() {
    let run = ledwall(["info"]);
    run.assert_code(0);
    let out = &run.stdout;
    assert!(
        out.contains(&format!("ledwall {}", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    assert!(
        out.contains("cpu: built in") && out.contains("rayon threads"),
        "{out}"
    );
    assert!(out.contains("gpu: built in (wgpu"), "{out}");
    assert!(
        out.contains("auto: cpu (") || out.contains("auto: gpu ("),
        "{out}"
    );
    assert!(out.contains("cpu kernels: "), "{out}");
    if cfg!(target_arch = "x86_64") {
        // The features that choose kernels, each with yes or no.
        for f in [
            "avx2",
            "fma",
            "avx512bw",
            "avx512vbmi",
            "avx512vnni",
            "gfni",
        ] {
            assert!(
                out.contains(&format!("{f} yes")) || out.contains(&format!("{f} no")),
                "{f}: {out}"
            );
        }
    }
}

/// `LEDWALL_CPU_LEVEL` caps the CPU kernel level for the process, and `info` says so; a
/// render at the portable level gives the bytes of the default level.
#[test]
fn the_cpu_level_can_be_capped_from_the_environment() {
    let run = |level: Option<&str>, args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ledwall"));
        cmd.args(args);
        match level {
            Some(l) => cmd.env("LEDWALL_CPU_LEVEL", l),
            None => cmd.env_remove("LEDWALL_CPU_LEVEL"),
        };
        let out = cmd.output().expect("run ledwall");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let info = run(Some("portable"), &["info"]);
    assert!(info.contains("cpu kernels: portable ("), "{info}");
    let dir = std::env::temp_dir().join(format!("ledwall-cpu-level-{}", std::process::id()));
    let mut bytes = Vec::new();
    for level in [Some("portable"), None] {
        let out = dir.join(level.unwrap_or("default"));
        let (wall, input) = (wall_path("demo"), media_path("photo-160x90.jpg"));
        run(
            level,
            &[
                "render",
                "--wall",
                wall.to_str().expect("utf-8 path"),
                "--input",
                input.to_str().expect("utf-8 path"),
                "--out",
                out.to_str().expect("utf-8 path"),
            ],
        );
        bytes.push(std::fs::read(out.join("port1.bin")).expect("port1.bin"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(bytes[0], bytes[1], "the portable level's bytes differ");
}

#[test]
fn fixture_media_match_their_generators() {
    use ledwall_player::synth::FIXTURE_MEDIA;
    for media in &FIXTURE_MEDIA {
        let path = media_path(media.name);
        let size = std::fs::metadata(&path)
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e}; run `cargo run -p ledwall-player --example make_media`",
                    path.display()
                )
            })
            .len();
        assert!(size < 40 * 1024, "{} is {size} bytes", media.name);
        let on_disk = image::open(&path).unwrap();
        let made = (media.make)();
        assert_eq!(on_disk.color(), made.color(), "{}", media.name);
        assert_eq!(on_disk.width(), made.width());
        assert_eq!(on_disk.height(), made.height());
        if media.jpeg_quality.is_none() {
            assert!(on_disk == made, "{} differs from its generator", media.name);
        } else {
            let (a, b) = (on_disk.to_rgb8(), made.to_rgb8());
            let diff: u64 = a
                .as_raw()
                .iter()
                .zip(b.as_raw())
                .map(|(&x, &y)| x.abs_diff(y) as u64)
                .sum();
            let mean = diff as f64 / a.as_raw().len() as f64;
            assert!(mean < 4.0, "{}: mean difference {mean}", media.name);
        }
    }
}

#[test]
fn max_memory_refuses_large_images_before_decoding() {
    let tmp = tempfile::tempdir().unwrap();
    // 1024 x 1024 RGBA: 4 MiB decoded.
    let img = image::RgbaImage::from_pixel(1024, 1024, image::Rgba([10, 200, 30, 255]));
    let path = tmp.path().join("big.png");
    img.save(&path).unwrap();
    let mut args = render_args("tiny", &path, &tmp.path().join("small"));
    args.extend(["--max-memory".into(), "1".into()]);
    let run = ledwall(args);
    run.assert_code(1);
    run.assert_no_panic();
    assert!(
        run.stderr.contains("big.png") && run.stderr.contains("more than the limit of 1048576"),
        "{}",
        run.stderr
    );
    let mut args = render_args("tiny", &path, &tmp.path().join("enough"));
    args.extend(["--max-memory".into(), "8".into()]);
    ledwall(args).assert_code(0);
}
