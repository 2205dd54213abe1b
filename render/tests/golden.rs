//! Golden outputs: every port of two small walls, rendered from a synthetic source, compared
//! byte for byte with `fixtures/golden/<wall>-<port>.bin`.
//!
//! * `LEDWALL_UPDATE_GOLDEN=1 cargo test -p ledwall-render --test golden` rewrites them.
//! * On a mismatch the test writes `<wall>-<port>-{expected,actual,diff}.png` (the emulated
//!   wall, 8x) under `target/golden-failures/` and names the first differing byte.
//!
//! Sources are the canvas size, so no resampling is involved: the goldens pin geometry
//! (mappers, transforms, chain order, colour order), the colour math and the buffer formats,
//! not a resampler's filter weights. `tiny_goldens_match_design_by_hand` then checks the
//! committed tiny goldens against design §3–§6, written out independently here, so that
//! the goldens are not just "whatever the code did".

use ledwall_render::emulate::emulate;
use ledwall_render::{Layer, Renderer, Scene, SourceImage, Wall, WallFrame};
use std::path::{Path, PathBuf};

const MIX_WALL: &str = r#"
name = "mix"

[canvas]
width = 48
height = 24

[color]
transfer = "srgb"
brightness = 0.9
white_point = [1.0, 0.9, 0.8]
bit_depth = 10
dither = "ordered"
background = [0, 0, 64]

[module_types.ck]
size = [16, 8]
scan = 2
mapper = "checkered"
color_order = "GBR"

[module_types.zs]
size = [16, 8]
scan = 2
mapper = "zstripe"
color_order = "BGR"

[module_types.sp]
size = [16, 8]
scan = 2
mapper = "spiral"

[module_types.ws]
size = [8, 8]
color_order = "GRB"
serpentine = true

# Four mappers, rotation, mirroring, a calibrated module hanging off the top edge.
[[outputs]]
name = "hub"
format = "bitplanes"
modules = [
  { type = "ck", at = [0, 0] },
  { type = "zs", at = [16, 0], rotate = 180, mirror = "h" },
  { type = "sp", at = [32, -4], mirror = "v", calibration = [[0.9, 0.1, 0.0], [0.0, 1.0, 0.0], [0.05, 0.0, 0.9]] },
  { type = "ck", at = [40, 8], rotate = 90 },
]

# A serpentine grid of pixel strings cabled from the bottom right.
[[outputs]]
name = "strings"
format = "rgb16"
grid = { type = "ws", origin = [0, 8], cols = 5, rows = 2, start = "bottom-right", serpentine = true }
"#;

/// Receiver-hardware ports (design §7.1): a display-encoded region for a sending card, the
/// whole canvas PWM-linear for a confidence monitor, both overlapping a HUB75 chain.
const CANVAS_WALL: &str = r#"
name = "canvas"

[canvas]
width = 40
height = 20

[color]
transfer = "srgb"
brightness = 0.8
white_point = [1.0, 0.9, 0.7]
bit_depth = 12
dither = "ordered"
background = [0, 0, 64]

[module_types.m]
size = [16, 8]
scan = 4

[[outputs]]
name = "hdmi"
format = "canvas"
region = { at = [4, 2], size = [24, 12] }

[[outputs]]
name = "monitor"
format = "canvas"
encoding = "linear"

[[outputs]]
name = "hub"
format = "bitplanes"
modules = [{ type = "m", at = [8, 4] }]
"#;

fn repo() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The synthetic source: a red ramp across, a green ramp down, a blue 4x4 checkerboard.
fn source(w: u32, h: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            v.extend_from_slice(&source_pixel(x, y, w, h));
        }
    }
    v
}

fn source_pixel(x: u32, y: u32, w: u32, h: u32) -> [u8; 4] {
    [
        (x * 255 / (w - 1)) as u8,
        (y * 255 / (h - 1)) as u8,
        if (x / 4 + y / 4).is_multiple_of(2) {
            40
        } else {
            220
        },
        255,
    ]
}

fn render(wall: &Wall) -> (Renderer, WallFrame) {
    let mut r = Renderer::with_threads(wall, 2).unwrap_or_else(|e| panic!("{e}"));
    let mut f = WallFrame::new(r.geometry());
    let src = source(wall.width, wall.height);
    let layer = Layer::new(SourceImage::rgba8(wall.width, wall.height, &src));
    r.render_into(&Scene::single(0, layer), &mut f)
        .unwrap_or_else(|e| panic!("{e}"));
    (r, f)
}

fn golden_path(wall: &str, port: &str) -> PathBuf {
    repo()
        .join("fixtures/golden")
        .join(format!("{wall}-{port}.bin"))
}

fn failure_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp.
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap_or(Path::new("target"))
        .join("golden-failures")
}

/// Compare every port of `wall` with its golden file (or rewrite them); returns what failed.
fn check_goldens(wall: &Wall) -> Vec<String> {
    let update = std::env::var_os("LEDWALL_UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let (r, frame) = render(wall);
    let g = r.geometry();
    let mut failures = Vec::new();
    for (pi, port) in g.ports.iter().enumerate() {
        let actual = &frame.ports[pi].bytes;
        assert!(
            actual.len() <= 4096,
            "{}-{}: {} bytes; keep goldens at most 4 KiB",
            wall.name,
            port.name,
            actual.len()
        );
        let path = golden_path(&wall.name, &port.name);
        if update {
            std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))
                .unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(&path, actual).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            continue;
        }
        let expected = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!(
                    "{}: {e}; run with LEDWALL_UPDATE_GOLDEN=1 to create it",
                    path.display()
                ));
                continue;
            }
        };
        if &expected == actual {
            continue;
        }
        let mut msg = format!("{}: ", path.display());
        if expected.len() != actual.len() {
            msg += &format!(
                "{} bytes expected, {} rendered",
                expected.len(),
                actual.len()
            );
        } else {
            let i = expected
                .iter()
                .zip(actual)
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            let differing = expected.iter().zip(actual).filter(|(a, b)| a != b).count();
            msg += &format!(
                "{differing} bytes differ; the first is byte {i} ({}): expected {:#04x}, rendered {:#04x}",
                describe(port, i),
                expected[i],
                actual[i]
            );
            let mut want = frame.clone();
            want.ports[pi].bytes = expected;
            match write_pngs(&wall.name, &port.name, g, &want, &frame) {
                Ok(dir) => msg += &format!("; images in {}", dir.display()),
                Err(e) => msg += &format!("; could not write images: {e}"),
            }
        }
        failures.push(msg);
    }
    failures
}

/// Where byte `i` of a port buffer is, in the words of design §5 / §6.
fn describe(port: &ledwall_render::geometry::PortMap, i: usize) -> String {
    use ledwall_render::wall::OutputFormat;
    let (positions, planes) = (port.positions as usize, port.depth as usize);
    let module = |p: usize| {
        port.modules
            .iter()
            .position(|m| (m.first as usize..(m.first + m.count) as usize).contains(&p))
            .unwrap_or(usize::MAX)
    };
    match port.format {
        OutputFormat::Bitplanes => {
            let p = i % positions;
            format!(
                "address {}, plane {}, position {p} = module {} of the chain",
                i / (planes * positions),
                (i / positions) % planes,
                module(p)
            )
        }
        OutputFormat::Canvas => {
            let w = port.canvas.map_or(1, |c| c.size[0] as usize);
            format!(
                "region pixel ({}, {}), channel {}",
                (i / 3) % w,
                (i / 3) / w,
                i % 3
            )
        }
        OutputFormat::Rgb8 => format!(
            "pixel {} = module {}, wire channel {}",
            i / 3,
            module(i / 3),
            i % 3
        ),
        OutputFormat::Rgb16 => format!(
            "pixel {} = module {}, wire channel {}, {} byte",
            i / 6,
            module(i / 6),
            (i % 6) / 2,
            if i.is_multiple_of(2) { "high" } else { "low" }
        ),
    }
}

fn write_pngs(
    wall: &str,
    port: &str,
    g: &ledwall_render::Geometry,
    expected: &WallFrame,
    actual: &WallFrame,
) -> Result<PathBuf, String> {
    let dir = failure_dir();
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let e = emulate(g, expected);
    let a = emulate(g, actual);
    let (w, h) = (g.width, g.height);
    let mut diff = Vec::with_capacity(e.depth.len() * 4);
    for i in 0..e.depth.len() {
        let d = (0..3)
            .map(|c| (e.linear(i, c) - a.linear(i, c)).abs())
            .fold(0.0, f64::max);
        let changed = e.codes[i * 3..i * 3 + 3] != a.codes[i * 3..i * 3 + 3];
        // Any difference is at least half bright, bigger ones brighter.
        let v = if changed {
            (128.0 + 127.0 * d.sqrt()) as u8
        } else {
            0
        };
        diff.extend_from_slice(&[v, v, v, 255]);
    }
    for (name, rgba) in [
        ("expected", e.to_rgba8()),
        ("actual", a.to_rgba8()),
        ("diff", diff),
    ] {
        let img = image::RgbaImage::from_raw(w, h, rgba).ok_or("image size")?;
        let big = image::imageops::resize(&img, w * 8, h * 8, image::imageops::FilterType::Nearest);
        big.save(dir.join(format!("{wall}-{port}-{name}.png")))
            .map_err(|e| e.to_string())?;
    }
    Ok(dir)
}

fn load(text_or_path: Result<&str, &str>) -> Wall {
    match text_or_path {
        Ok(text) => Wall::from_toml_str(text, "golden.toml"),
        Err(path) => Wall::load(repo().join(path)),
    }
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn tiny_wall_matches_its_goldens() {
    let failures = check_goldens(&load(Err("fixtures/walls/tiny.toml")));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn mix_wall_matches_its_goldens() {
    let failures = check_goldens(&load(Ok(MIX_WALL)));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn canvas_wall_matches_its_goldens() {
    let failures = check_goldens(&load(Ok(CANVAS_WALL)));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The canvas goldens against design §3 and §7.1 written out here: every code of the
/// display-encoded region is the sRGB encoding of the dimmed linear light, and every code
/// of the linear monitor port the linear light itself, each dithered to one of the two
/// nearest 8-bit codes (ordered dither), in R, G, B order, row by row.
#[test]
fn canvas_goldens_match_design_by_hand() {
    let hdmi = std::fs::read(golden_path("canvas", "hdmi")).unwrap_or_else(|e| panic!("{e}"));
    let monitor = std::fs::read(golden_path("canvas", "monitor")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hdmi.len(), 24 * 12 * 3);
    assert_eq!(monitor.len(), 40 * 20 * 3);
    let srgb = |u: f64| {
        if u <= 0.04045 {
            u / 12.92
        } else {
            ((u + 0.055) / 1.055).powf(2.4)
        }
    };
    let srgb_inv = |l: f64| {
        if l <= 0.0031308 {
            l * 12.92
        } else {
            1.055 * l.powf(1.0 / 2.4) - 0.055
        }
    };
    let gain = [0.8, 0.8 * 0.9, 0.8 * 0.7];
    let light =
        |x: u32, y: u32, c: usize| srgb(source_pixel(x, y, 40, 20)[c] as f64 / 255.0) * gain[c];
    let mut exact = 0;
    let mut check = |bytes: &[u8], w: u32, h: u32, at: [u32; 2], encoded: bool, what: &str| {
        for y in 0..h {
            for x in 0..w {
                for c in 0..3 {
                    let l = light(at[0] + x, at[1] + y, c);
                    let want = 255.0 * if encoded { srgb_inv(l) } else { l };
                    let got = bytes[((y * w + x) * 3) as usize + c] as f64;
                    assert!(
                        got == want.floor() || got == want.ceil() || (got - want).abs() < 0.02,
                        "{what} ({x}, {y}) channel {c}: golden {got}, formula {want:.3}"
                    );
                    exact += (got == want.round()) as usize;
                }
            }
        }
    };
    check(&hdmi, 24, 12, [4, 2], true, "hdmi");
    check(&monitor, 40, 20, [0, 0], false, "monitor");
    // Dithering moves some codes off the rounded value, but most stay on it.
    assert!(exact > (24 * 12 + 40 * 20) * 3 / 2, "{exact}");
}

// ---------------------------------------------------------------------------------------
// The tiny goldens, decoded by hand.

/// 4-bit (hub) or 8-bit (pixels) code of source value `v` on the tiny wall (power 2.2,
/// brightness 1, white point 1, no dither): round(T(v/255) · (2^bits − 1)).
fn tiny_code(v: u8, bits: u32) -> i64 {
    ((v as f64 / 255.0).powf(2.2) * ((1u32 << bits) - 1) as f64).round() as i64
}

/// The canvas code of the tiny wall at (x, y), channel c: the source, or the background
/// [32, 0, 0] off the canvas.
fn tiny_canvas(x: i64, y: i64, c: usize, bits: u32) -> i64 {
    if (0..32).contains(&x) && (0..16).contains(&y) {
        tiny_code(source_pixel(x as u32, y as u32, 32, 16)[c], bits)
    } else {
        tiny_code([32, 0, 0][c], bits)
    }
}

#[test]
fn tiny_goldens_match_design_by_hand() {
    let hub = std::fs::read(golden_path("tiny", "hub")).unwrap_or_else(|e| panic!("{e}"));
    let pixels = std::fs::read(golden_path("tiny", "pixels")).unwrap_or_else(|e| panic!("{e}"));

    // One byte worked on paper. Address 0, position 0 is the first module's matrix column
    // 0. Stripe (design §4, C = 16, R = 8, S = 2): matrix row 0 (R1G1B1) is visible (0, 2)
    // and matrix row 2 (R2G2B2) is visible (0, 6); the module sits at (0, 0) unrotated.
    // Source at (0, 2): R 0, G 34, B 40 → 4-bit codes 0, round(15·0.1333^2.2 = 0.18) = 0,
    // round(15·0.1569^2.2 = 0.25) = 0. At (0, 6): R 0, G 102 → round(15·0.4^2.2 = 1.998)
    // = 2 = 0b0010, B 220 → round(15·0.8627^2.2 = 10.84) = 11 = 0b1011. Colour order RBG:
    // wire slots R, B, G, so R2 (bit 3) = 0, bit 4 = B, bit 5 = G. Planes 0..3 at index
    // plane · 64 (64 positions, 4 planes): B bits 1,1,0,1 and G bits 0,1,0,0 give
    // 0x10, 0x30, 0x00, 0x10.
    assert_eq!(
        [hub[0], hub[64], hub[128], hub[192]],
        [0x10, 0x30, 0x00, 0x10]
    );

    // Every byte, from the formulas. hub: 2 stripe modules of 16 x 8, scan 2, order RBG;
    // the second at (16, 0) rotated 180.
    assert_eq!(hub.len(), 2 * 4 * 64, "S · planes · positions");
    let (c, r, s) = (16u32, 8u32, 2u32);
    let mut seen = vec![false; 2 * 64 * 2];
    let mut off_by_one = 0;
    for k in 0..2u32 {
        for y in 0..r {
            for x in 0..c {
                let top = (y % (r / 2)) < r / 4;
                let my = (y / (r / 2)) * (r / 4) + y % (r / 4);
                let mx = x + if top { c } else { 0 };
                let (a, line, p) = (my % s, my / s, k * 2 * c + mx);
                let (cx, cy) = if k == 0 {
                    (x as i64, y as i64)
                } else {
                    (16 + (c - 1 - x) as i64, (r - 1 - y) as i64)
                };
                let slot = ((a * 64 + p) * 2 + line) as usize;
                assert!(!seen[slot]);
                seen[slot] = true;
                for (wire, canvas_channel) in [0usize, 2, 1].into_iter().enumerate() {
                    let mut code = 0i64;
                    for plane in 0..4u32 {
                        let byte = hub[((a * 4 + plane) * 64 + p) as usize];
                        assert_eq!(byte & 0xC0, 0);
                        code |= (((byte >> (line * 3 + wire as u32)) & 1) as i64) << plane;
                    }
                    let want = tiny_canvas(cx, cy, canvas_channel, 4);
                    assert!(
                        (code - want).abs() <= 1,
                        "hub module {k} pixel ({x}, {y}) channel {canvas_channel}: golden {code}, formula {want}"
                    );
                    off_by_one += (code != want) as usize;
                }
            }
        }
    }
    assert!(seen.iter().all(|&v| v), "every slot has an LED");

    // pixels: 2 serpentine 8 x 8 modules, order GRB; the first at (0, 8) rotated 90, the
    // second at (28, 8) mirrored, its right half hanging off the canvas.
    assert_eq!(pixels.len(), 2 * 64 * 3);
    for k in 0..2usize {
        for y in 0..8i64 {
            for i in 0..8i64 {
                let x = if y % 2 == 1 { 7 - i } else { i };
                let (cx, cy) = if k == 0 {
                    (7 - y, x + 8) // rotate 90: (R−1−y, x)
                } else {
                    (28 + 7 - x, 8 + y) // mirror h: x → C−1−x
                };
                let px = k * 64 + (y * 8 + i) as usize;
                for (wire, canvas_channel) in [1usize, 0, 2].into_iter().enumerate() {
                    let code = pixels[px * 3 + wire] as i64;
                    let want = tiny_canvas(cx, cy, canvas_channel, 8);
                    assert!(
                        (code - want).abs() <= 1,
                        "pixels module {k} wire pixel {} channel {canvas_channel}: golden {code}, formula {want}",
                        y * 8 + i
                    );
                    off_by_one += (code != want) as usize;
                }
            }
        }
    }
    println!("tiny goldens: {off_by_one} channel codes one off the f64 formula");
    assert!(off_by_one <= 4, "{off_by_one}");
}
