//! Show canvas and sections (design §10): one wall with every port against the same ports
//! split over three section walls (origins 0, 37 and (37, 29): not multiples of 8, so the
//! dither phases matter). Every port's bytes must be identical, frame by frame, on each
//! backend: scaled stills crossing the seams (cover, contain), 1:1 video, a crossfade, a
//! 16-bit source, a source that misses some sections entirely, temporal dither over many
//! frames, both resample modes.
//!
//! The GPU variants run on any adapter (lavapipe included); with none they skip loudly,
//! except under `CI`, where they fail.

use ledwall_render::gpu;
use ledwall_render::wall::{ResampleMode, Wall};
use ledwall_render::{Filter, Fit, Layer, Renderer, Scene, SourceImage, WallFrame};
use std::collections::BTreeMap;
use std::path::Path;

mod common;
use common::{device, photo8, random16};

/// The colour section every wall shares (`RESAMPLE` is replaced per run): 6-bit planes
/// and 8/16-bit streams, all dithered, a background that shows in letterboxes.
const COLOR: &str = r#"
[color]
transfer = "srgb"
bit_depth = 6
dither = "ordered+temporal"
background = [12, 40, 90]
resample = "RESAMPLE"

[module_types.s37x25]
size = [37, 25]
[module_types.p32x16]
size = [32, 16]
scan = 8
[module_types.s64x13]
size = [64, 13]
color_order = "GRB"
[module_types.s64x21]
size = [64, 21]
serpentine = true
"#;

/// Ports of the show, as (section index, port TOML with `{X}`/`{Y}` for the section's
/// origin, which the whole-show wall adds and the section wall leaves at 0).
const PORTS: [(usize, &str); 5] = [
    (
        0,
        r#"[[outputs]]
name = "a1"
format = "rgb8"
modules = [{ type = "s37x25", at = [{X}, {Y}] }, { type = "s37x25", at = [{X}, {Y+25}] }]
"#,
    ),
    (
        1,
        r#"[[outputs]]
name = "b1"
format = "bitplanes"
modules = [{ type = "p32x16", at = [{X}, {Y}] }, { type = "p32x16", at = [{X+32}, {Y}], rotate = 180 }]
"#,
    ),
    (
        1,
        r#"[[outputs]]
name = "b2"
format = "rgb16"
modules = [{ type = "s64x13", at = [{X}, {Y+16}] }]
"#,
    ),
    (
        2,
        r#"[[outputs]]
name = "c1"
format = "rgb8"
modules = [{ type = "s64x21", at = [{X}, {Y}], mirror = "h" }]
"#,
    ),
    (
        2,
        r#"[[outputs]]
name = "c2"
format = "canvas"
region = { at = [{X+3}, {Y+2}], size = [20, 10] }
"#,
    ),
];

/// The show canvas.
const SHOW: [u32; 2] = [101, 50];

/// The sections: (size, origin).
const SECTIONS: [([u32; 2], [u32; 2]); 3] = [
    ([37, 50], [0, 0]),
    ([64, 29], [37, 0]),
    ([64, 21], [37, 29]),
];

fn ports(section: usize, origin: [u32; 2]) -> String {
    let mut s = String::new();
    for (_, text) in PORTS.iter().filter(|(i, _)| *i == section) {
        let mut t = text.to_string();
        for (k, dx, dy) in [
            ("{X}", 0, 0),
            ("{Y}", 0, 0),
            ("{Y+25}", 0, 25),
            ("{X+32}", 32, 0),
            ("{Y+16}", 0, 16),
            ("{X+3}", 3, 0),
            ("{Y+2}", 0, 2),
        ] {
            let v = if k.starts_with("{X") {
                origin[0] + dx
            } else {
                origin[1] + dy
            };
            t = t.replace(k, &v.to_string());
        }
        s.push_str(&t);
    }
    s
}

fn color(mode: ResampleMode) -> String {
    let m = match mode {
        ResampleMode::Linear => "linear",
        ResampleMode::Fast => "fast",
    };
    COLOR.replace("RESAMPLE", m)
}

/// The whole show on one wall.
fn whole_wall(mode: ResampleMode) -> Wall {
    let mut t = format!(
        "name = \"show\"\n[canvas]\nwidth = {}\nheight = {}\n{}",
        SHOW[0],
        SHOW[1],
        color(mode)
    );
    for (i, (_, origin)) in SECTIONS.iter().enumerate() {
        t.push_str(&ports(i, *origin));
    }
    Wall::from_toml_str(&t, "show.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// Section `i` on its own wall.
fn section_wall(i: usize, mode: ResampleMode) -> Wall {
    let (size, origin) = SECTIONS[i];
    let t = format!(
        "name = \"section{i}\"\n[canvas]\nwidth = {}\nheight = {}\nshow = [{}, {}]\n\
         origin = [{}, {}]\n{}{}",
        size[0],
        size[1],
        SHOW[0],
        SHOW[1],
        origin[0],
        origin[1],
        color(mode),
        ports(i, [0, 0])
    );
    Wall::from_toml_str(&t, format!("section{i}.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// The test content: owned pixels the scenes borrow.
struct Content {
    small: Vec<u8>,
    wide: Vec<u8>,
    video: Vec<u8>,
    deep: Vec<u16>,
    dot: Vec<u8>,
}

impl Content {
    fn new() -> Content {
        Content {
            small: photo8(40, 23, 1),
            wide: photo8(333, 170, 2),
            video: photo8(SHOW[0], SHOW[1], 3),
            deep: random16(57, 31, 4),
            dot: photo8(10, 10, 5),
        }
    }

    /// The scenes, by name, for frame `n`.
    fn scenes(&self, n: u64) -> Vec<(&'static str, Scene<'_>)> {
        fn still(w: u32, h: u32, px: &[u8], key: u64) -> SourceImage<'_> {
            SourceImage {
                key: Some(key),
                ..SourceImage::rgba8(w, h, px)
            }
        }
        let small = || still(40, 23, &self.small, 11);
        let video = || SourceImage::rgba8(SHOW[0], SHOW[1], &self.video);
        vec![
            (
                "photo scaled up with cover (lanczos3)",
                Scene::single(n, Layer::new(small()).fit(Fit::Cover)),
            ),
            (
                "photo scaled down with contain (catmull-rom), pillarboxed",
                Scene::single(
                    n,
                    Layer::new(still(333, 170, &self.wide, 12))
                        .fit(Fit::Contain)
                        .filter(Filter::CatmullRom),
                ),
            ),
            ("1:1 video", Scene::single(n, Layer::new(video()))),
            (
                "video stretched with area",
                Scene::single(
                    n,
                    Layer::new(SourceImage::rgba8(333, 170, &self.wide))
                        .fit(Fit::Stretch)
                        .filter(Filter::Area),
                ),
            ),
            (
                "crossfade from a scaled still to 1:1 video",
                Scene::crossfade(
                    n,
                    Layer::new(small()).fit(Fit::Cover).filter(Filter::Bilinear),
                    Layer::new(video()),
                    0.3,
                ),
            ),
            (
                "16-bit source stretched (nearest)",
                Scene::single(
                    n,
                    Layer::new(SourceImage::rgba16(57, 31, &self.deep))
                        .fit(Fit::Stretch)
                        .filter(Filter::Nearest),
                ),
            ),
            (
                "a small centred source that misses section 0",
                Scene::single(n, Layer::new(still(10, 10, &self.dot, 13)).fit(Fit::Center)),
            ),
            ("background only", Scene::background(n)),
        ]
    }
}

/// Renders one frame of a scene into port buffers by name.
trait Render {
    fn frame(&mut self, scene: &Scene<'_>) -> BTreeMap<String, Vec<u8>>;
}

struct Cpu(Renderer, WallFrame);
impl Render for Cpu {
    fn frame(&mut self, scene: &Scene<'_>) -> BTreeMap<String, Vec<u8>> {
        self.0
            .render_into(scene, &mut self.1)
            .unwrap_or_else(|e| panic!("{e}"));
        self.1
            .ports
            .iter()
            .map(|p| (p.name.clone(), p.bytes.clone()))
            .collect()
    }
}

struct Gpu(gpu::Renderer, WallFrame);
impl Render for Gpu {
    fn frame(&mut self, scene: &Scene<'_>) -> BTreeMap<String, Vec<u8>> {
        self.0
            .render_into(scene, &mut self.1)
            .unwrap_or_else(|e| panic!("{e}"));
        self.1
            .ports
            .iter()
            .map(|p| (p.name.clone(), p.bytes.clone()))
            .collect()
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Backend {
    Cpu,
    Gpu,
}

fn renderer(wall: &Wall, backend: Backend, gpu: Option<&gpu::Gpu>) -> Box<dyn Render> {
    match (backend, gpu) {
        (Backend::Gpu, Some(g)) => {
            let r =
                gpu::Renderer::with_gpu(wall, g.clone(), None).unwrap_or_else(|e| panic!("{e}"));
            let f = WallFrame::new(r.geometry());
            Box::new(Gpu(r, f))
        }
        _ => {
            let r = Renderer::new(wall).unwrap_or_else(|e| panic!("{e}"));
            let f = WallFrame::new(r.geometry());
            Box::new(Cpu(r, f))
        }
    }
}

/// The whole show and its three sections render every port to the same bytes.
fn sections_match_the_whole_show(backend: Backend) {
    let gpu = match backend {
        Backend::Gpu => match device() {
            Some(g) => Some(g),
            None => return,
        },
        Backend::Cpu => None,
    };
    let content = Content::new();
    for mode in [ResampleMode::Linear, ResampleMode::Fast] {
        let mut whole = renderer(&whole_wall(mode), backend, gpu.as_ref());
        let mut parts: Vec<Box<dyn Render>> = (0..SECTIONS.len())
            .map(|i| renderer(&section_wall(i, mode), backend, gpu.as_ref()))
            .collect();
        let mut compared = 0;
        // Frames 0..5 and one far on: every temporal phase shift differs.
        for n in [0, 1, 2, 3, 4, 37] {
            for (what, scene) in content.scenes(n) {
                let want = whole.frame(&scene);
                let mut got = BTreeMap::new();
                for p in &mut parts {
                    got.extend(p.frame(&scene));
                }
                assert_eq!(
                    want.keys().collect::<Vec<_>>(),
                    got.keys().collect::<Vec<_>>()
                );
                for (name, bytes) in &want {
                    let g = &got[name];
                    assert_eq!(bytes.len(), g.len(), "{backend:?} {mode:?} {what}: {name}");
                    if let Some(i) = bytes.iter().zip(g).position(|(a, b)| a != b) {
                        let differ = bytes.iter().zip(g).filter(|(a, b)| a != b).count();
                        panic!(
                            "{backend:?} {mode:?} frame {n}, {what}: port {name} differs at byte \
                             {i} (whole {} vs section {}; {differ} of {} bytes differ)",
                            bytes[i],
                            g[i],
                            bytes.len()
                        );
                    }
                    compared += bytes.len();
                }
            }
        }
        eprintln!("{backend:?} {mode:?}: {compared} port bytes identical");
    }
}

#[test]
fn sections_match_the_whole_show_cpu() {
    sections_match_the_whole_show(Backend::Cpu);
}

#[test]
fn sections_match_the_whole_show_gpu() {
    sections_match_the_whole_show(Backend::Gpu);
}

/// The fixture walls under `fixtures/walls/sections/` load, and their sections tile the
/// show they name.
#[test]
fn fixture_sections_tile_their_show() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/walls/sections");
    let whole = Wall::load(dir.join("show.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(whole.show, [whole.width, whole.height]);
    let mut area = 0;
    for name in ["left.toml", "right.toml"] {
        let w = Wall::load(dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.show, [whole.width, whole.height], "{name}");
        area += w.width * w.height;
    }
    assert_eq!(area, whole.width * whole.height);
}

/// GPU/CPU parity on section walls (design §9): the quantized canvases of each section
/// differ by at most [`common::MAX_CODE_DIFF`] code per channel.
#[test]
fn gpu_matches_cpu_on_section_walls() {
    let Some(g) = device() else { return };
    let content = Content::new();
    let mut at_limit = 0;
    for i in 0..SECTIONS.len() {
        let wall = section_wall(i, ResampleMode::Linear);
        let mut cpu = Renderer::new(&wall).unwrap_or_else(|e| panic!("{e}"));
        let mut gpu =
            gpu::Renderer::with_gpu(&wall, g.clone(), None).unwrap_or_else(|e| panic!("{e}"));
        let geometry = cpu.geometry().clone();
        let (mut fc, mut fg) = (WallFrame::new(&geometry), WallFrame::new(&geometry));
        for (what, scene) in content.scenes(3) {
            cpu.render_into(&scene, &mut fc)
                .unwrap_or_else(|e| panic!("{e}"));
            gpu.render_into(&scene, &mut fg)
                .unwrap_or_else(|e| panic!("{e}"));
            for quant in geometry.quants() {
                let qc = cpu
                    .quantized_as(quant)
                    .unwrap_or_else(|| panic!("{quant:?}"));
                let qg = gpu
                    .read_quantized_as(quant)
                    .unwrap_or_else(|e| panic!("{e}"));
                for (k, (a, b)) in qc.iter().zip(&qg).enumerate() {
                    let d = (*a as i32 - *b as i32).abs();
                    assert!(
                        d <= common::MAX_CODE_DIFF,
                        "section {i}, {what}: sample {k}: cpu {a}, gpu {b}"
                    );
                    at_limit += (d == common::MAX_CODE_DIFF) as usize;
                }
            }
        }
    }
    eprintln!(
        "{at_limit} samples differ by {} code",
        common::MAX_CODE_DIFF
    );
}
