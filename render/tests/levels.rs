//! Every kernel level gives the same bytes, end to end: the same scenes rendered by the CPU
//! backend at each instruction-set level this machine has (`cpu::simd::each_level`:
//! portable, AVX2, AVX-512 with its VBMI/VNNI/GFNI kernels), every port's bytes compared
//! with the portable level's, frame by frame.
//!
//! The scenes reach every stage's kernels: the direct (fused) path and the separate stages,
//! linear-light and fast resampling, 8- and 16-bit sources, down- and upscales with each
//! kind of filter, 1:1 copies (the code table), keyed stills (cached and repeated), a
//! crossfade, temporal dither over several frames, one output depth (the fused pack) and
//! several. Each stage's own unit tests run their cases at every level too; this is the
//! harness that holds the whole pipeline to it.

use ledwall_render::cpu::simd::{self, Level};
use ledwall_render::{Filter, Fit, Layer, Renderer, Scene, SourceImage, Wall, WallFrame};

/// One bit-plane port at one depth: the fused pack and the direct path apply.
const ONE_DEPTH: &str = r#"
    name = "levels-one-depth"
    [canvas]
    width = 192
    height = 64
    [color]
    transfer = "cie1931"
    brightness = 0.9
    white_point = [1.0, 0.93, 0.85]
    bit_depth = 10
    dither = "ordered+temporal"
    resample = "MODE"
    [module_types.m]
    size = [64, 32]
    scan = 16
    [[outputs]]
    name = "a"
    format = "bitplanes"
    grid = { type = "m", origin = [0, 0], cols = 3, rows = 2, start = "top-left", serpentine = true }
"#;

/// Bit planes at 12 bits plus an 8-bit stream: two depths, the separate stages.
const TWO_DEPTHS: &str = r#"
    name = "levels-two-depths"
    [canvas]
    width = 128
    height = 64
    [color]
    transfer = "srgb"
    bit_depth = 12
    dither = "ordered"
    background = [10, 20, 30]
    resample = "MODE"
    [module_types.m]
    size = [64, 32]
    scan = 16
    color_order = "GRB"
    [module_types.s]
    size = [64, 32]
    [[outputs]]
    name = "planes"
    format = "bitplanes"
    modules = [{ type = "m", at = [0, 0] }, { type = "m", at = [64, 0], rotate = 180 }]
    [[outputs]]
    name = "stream"
    format = "rgb8"
    modules = [{ type = "s", at = [0, 32] }, { type = "s", at = [64, 32] }]
"#;

/// Deterministic RGBA pixels with gradients, edges and noise.
fn pixels(w: u32, h: u32, seed: u32) -> Vec<u16> {
    let mut state = seed.wrapping_mul(2_654_435_761) | 1;
    let mut out = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = state & 0xff;
            let edge = if (x / 7 + y / 5) % 2 == 0 { 40 } else { 0 };
            out.push(((x * 255 / w.max(1)) + edge).min(255) as u16);
            out.push(((y * 255 / h.max(1)) ^ noise) as u16 & 0xff);
            out.push((((x + y) * 3 + noise) % 256) as u16);
            out.push(255);
        }
    }
    out
}

/// A source: 8-bit, or 16-bit (the 8-bit values spread over 16 bits with noise below).
struct Source {
    w: u32,
    h: u32,
    rgba8: Vec<u8>,
    rgba16: Vec<u16>,
}

impl Source {
    fn new(w: u32, h: u32, seed: u32) -> Source {
        let p = pixels(w, h, seed);
        Source {
            w,
            h,
            rgba8: p.iter().map(|&v| v as u8).collect(),
            rgba16: p
                .iter()
                .enumerate()
                .map(|(i, &v)| (v * 257) ^ (i as u16 % 97))
                .collect(),
        }
    }

    fn image(&self, deep: bool, key: Option<u64>) -> SourceImage<'_> {
        let img = if deep {
            SourceImage::rgba16(self.w, self.h, &self.rgba16)
        } else {
            SourceImage::rgba8(self.w, self.h, &self.rgba8)
        };
        match key {
            Some(k) => img.with_key(k),
            None => img,
        }
    }
}

/// Renders the scene list at the current level: per frame, every port's bytes.
fn render_all(wall: &Wall) -> Vec<(String, Vec<Vec<u8>>)> {
    let (cw, ch) = (wall.width, wall.height);
    let big = Source::new(cw * 3 + 17, ch * 3 + 5, 1);
    let small = Source::new(cw / 3 + 1, ch / 2 + 3, 2);
    let same = Source::new(cw, ch, 3);
    let odd = Source::new(cw * 2 - 9, ch + 11, 4);
    let mut r = Renderer::with_threads(wall, 2).unwrap_or_else(|e| panic!("{e}"));
    let mut frame = WallFrame::new(r.geometry());
    let mut out = Vec::new();
    let mut n = 0u64;
    let mut shot = |what: String, scene: &Scene<'_>, r: &mut Renderer| {
        r.render_into(scene, &mut frame)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        out.push((what, frame.ports.iter().map(|p| p.bytes.clone()).collect()));
    };
    for deep in [false, true] {
        let cases = [
            (
                "4x down, lanczos3, cover",
                &big,
                Fit::Cover,
                Filter::Lanczos3,
            ),
            ("3x down, area, stretch", &big, Fit::Stretch, Filter::Area),
            (
                "up, catmull-rom, contain",
                &small,
                Fit::Contain,
                Filter::CatmullRom,
            ),
            (
                "up, bilinear, stretch",
                &small,
                Fit::Stretch,
                Filter::Bilinear,
            ),
            ("odd, nearest, cover", &odd, Fit::Cover, Filter::Nearest),
            ("odd, area, contain", &odd, Fit::Contain, Filter::Area),
            ("1:1", &same, Fit::Stretch, Filter::Bilinear),
        ];
        for (name, src, fit, filter) in cases {
            for keyed in [false, true] {
                // Two frames each: temporal dither moves, and a keyed still repeats.
                for _ in 0..2 {
                    n += 1;
                    let key = keyed.then_some(7 + deep as u64);
                    let layer = Layer::new(src.image(deep, key)).fit(fit).filter(filter);
                    let what = format!("{name}, deep {deep}, keyed {keyed}, frame {n}");
                    shot(what, &Scene::single(n, layer), &mut r);
                }
            }
        }
        for w in [0.25f32, 0.6] {
            n += 1;
            let a = Layer::new(big.image(deep, None))
                .fit(Fit::Cover)
                .filter(Filter::Lanczos3);
            let b = Layer::new(small.image(deep, Some(11)))
                .fit(Fit::Contain)
                .weight(w);
            let scene = Scene {
                frame_number: n,
                layers: [Some(a.weight(1.0 - w)), Some(b)],
            };
            shot(
                format!("crossfade {w}, deep {deep}, frame {n}"),
                &scene,
                &mut r,
            );
        }
    }
    out
}

#[test]
fn every_level_gives_the_portable_bytes() {
    let mut ran = Vec::new();
    for (name, text) in [("one depth", ONE_DEPTH), ("two depths", TWO_DEPTHS)] {
        for mode in ["linear", "fast"] {
            let wall = Wall::from_toml_str(&text.replace("MODE", mode), "levels.toml")
                .unwrap_or_else(|e| panic!("{e}"));
            let mut reference: Option<Vec<(String, Vec<Vec<u8>>)>> = None;
            simd::each_level(|level| {
                let frames = render_all(&wall);
                match &reference {
                    None => {
                        assert_eq!(level, Level::Portable, "each_level starts at portable");
                        reference = Some(frames);
                    }
                    Some(want) => {
                        for ((what, got), (_, want)) in frames.iter().zip(want) {
                            for (p, (g, w)) in got.iter().zip(want).enumerate() {
                                if let Some(i) = g.iter().zip(w).position(|(a, b)| a != b) {
                                    panic!(
                                        "{name}, {mode}, {what}: level {level}, port {p}, \
                                         byte {i} is {:#04x}, portable gives {:#04x}",
                                        g[i], w[i]
                                    );
                                }
                            }
                        }
                    }
                }
                ran.push(level);
            });
        }
    }
    ran.sort();
    ran.dedup();
    eprintln!("levels compared: {ran:?} (of {:?})", Level::ALL);
    if std::env::var_os("CI").is_some() && cfg!(target_arch = "x86_64") {
        // CI's machines have AVX2 at least; the comparison must not be vacuous there.
        assert!(ran.len() >= 2, "only {ran:?} ran");
    }
}
