//! Runtime colour on a running renderer (`set_brightness`, `set_color`), one test body per
//! backend with `_cpu` / `_gpu` wrappers. The GPU variants run on whatever adapter opens
//! (lavapipe without a GPU); with none they skip loudly, except under `CI`, where they fail.
//!
//! * a brightness level scales every code by the level on the very next frame, on every
//!   path (1:1 and scaled video, cached stills, crossfades), while cached layer canvases
//!   stay cached;
//! * level 0 is black on every port: background, dither and calibration included;
//! * `set_color` gives the bytes of a renderer built with the new colour section, and
//!   refuses a bit-depth change without changing anything;
//! * the backends agree within the parity tolerance after a brightness change.

use ledwall_render::Stage;
use ledwall_render::color::{gains_at, reference_code};
use ledwall_render::emulate::emulate;
use ledwall_render::gpu;
use ledwall_render::wall::{
    CanvasSpec, ColorSpec, Dither, ModuleTypeSpec, OutputFormat, OutputSpec, ResampleMode,
    Transfer, WallSpec,
};
use ledwall_render::{
    AnyRenderer, Filter, Fit, Layer, RenderError, Renderer, Scene, SourceImage, Wall, WallFrame,
};
use std::collections::BTreeMap;
use std::path::Path;

mod common;
use common::walls::{module, mtype, port};
use common::{MAX_CODE_DIFF, device};

/// Largest difference, in output codes, between a rendered code and design §3's formula
/// (`color::reference_code`): the pipeline rounds in 16-bit linear light on the way.
const MAX_REFERENCE_DIFF: i64 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Cpu,
    Gpu,
}

/// A renderer of `backend` for `wall`; `None` when the GPU backend has no adapter (the
/// device helper has said so loudly, or failed the test under `CI`).
fn renderer(backend: Backend, wall: &Wall) -> Option<AnyRenderer> {
    Some(match backend {
        Backend::Cpu => AnyRenderer::Cpu(Box::new(
            Renderer::with_threads(wall, 2).unwrap_or_else(|e| panic!("{e}")),
        )),
        Backend::Gpu => AnyRenderer::Gpu(Box::new(
            gpu::Renderer::with_gpu(wall, device()?, None).unwrap_or_else(|e| panic!("{e}")),
        )),
    })
}

fn cache_hits(r: &AnyRenderer) -> u64 {
    match r {
        AnyRenderer::Cpu(r) => r.cache_hits(),
        AnyRenderer::Gpu(r) => r.cache_hits(),
    }
}

fn color_of(r: &AnyRenderer) -> &ColorSpec {
    match r {
        AnyRenderer::Cpu(r) => r.color(),
        AnyRenderer::Gpu(r) => r.color(),
    }
}

fn render(r: &mut AnyRenderer, scene: &Scene<'_>) -> WallFrame {
    let mut f = WallFrame::new(r.geometry());
    r.render_into(scene, &mut f)
        .unwrap_or_else(|e| panic!("{}: {e}", r.name()));
    f
}

/// The index of the first byte where two frames differ, with its port, if any.
fn first_difference(a: &WallFrame, b: &WallFrame) -> Option<String> {
    for (pa, pb) in a.ports.iter().zip(&b.ports) {
        if let Some(i) = pa.bytes.iter().zip(&pb.bytes).position(|(x, y)| x != y) {
            return Some(format!(
                "port {} byte {i}: {:#04x} vs {:#04x}",
                pa.name, pa.bytes[i], pb.bytes[i]
            ));
        }
    }
    None
}

fn fixture(name: &str) -> Wall {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/walls")
        .join(name);
    Wall::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn wall_of(
    name: &str,
    (w, h): (u32, u32),
    color: ColorSpec,
    types: &[(&str, ModuleTypeSpec)],
    outputs: Vec<OutputSpec>,
) -> Wall {
    let spec = WallSpec {
        name: name.into(),
        refresh_hz: 60,
        canvas: CanvasSpec {
            width: w,
            height: h,
            show: None,
            origin: None,
        },
        color,
        module_types: types
            .iter()
            .map(|(n, t)| (n.to_string(), t.clone()))
            .collect::<BTreeMap<_, _>>(),
        outputs,
    };
    Wall::from_spec(&spec, format!("{name}.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// An odd-sized canvas covered by one pixel-stream port of `format` (one output depth, so
/// the CPU backend's 1:1 path takes its code table for 8-bit sources).
fn stream_wall(format: OutputFormat, color: ColorSpec) -> Wall {
    wall_of(
        "stream",
        (37, 11),
        color,
        &[("m", mtype(37, 11, None, "GBR"))],
        vec![port("p", format, vec![module("m", 0, 0)])],
    )
}

/// Bit planes and an 8-bit stream, modules partly off the canvas (they show the
/// background), one of them calibrated, a visible background colour and temporal dither.
fn background_wall(color: ColorSpec) -> Wall {
    let mut calibrated = module("hub", 0, 0);
    calibrated.calibration = Some([[0.9, 0.2, -0.1], [0.05, 0.8, 0.1], [0.0, -0.2, 1.3]]);
    wall_of(
        "background",
        (40, 16),
        color,
        &[
            ("hub", mtype(16, 8, Some(4), "RGB")),
            ("strip", mtype(24, 8, None, "BGR")),
        ],
        vec![
            port(
                "hub",
                OutputFormat::Bitplanes,
                vec![calibrated, module("hub", -4, 8)],
            ),
            port(
                "strip",
                OutputFormat::Rgb8,
                vec![module("strip", 16, 0), module("strip", 20, 8)],
            ),
        ],
    )
}

fn background_color() -> ColorSpec {
    ColorSpec {
        transfer: Transfer::Srgb,
        bit_depth: 10,
        dither: Dither::OrderedTemporal,
        background: [255, 128, 64],
        ..ColorSpec::default()
    }
}

/// One colour everywhere.
fn solid(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
    (0..w * h)
        .flat_map(|_| [rgb[0], rgb[1], rgb[2], 255])
        .collect()
}

/// Gradients and a few edges.
fn photo(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let edge = if (x / 5 + y / 3 + seed).is_multiple_of(3) {
                70
            } else {
                0
            };
            v.extend([
                (x * 255 / w.max(1)) as u8,
                (255 - y * 255 / h.max(1)) as u8,
                ((x * 7 + y * 13 + seed * 31) % 180) as u8 + edge,
                255,
            ]);
        }
    }
    v
}

// ---------------------------------------------------------------------------------------
// A level scales every code on the next frame, on every path.

/// Check every covered sample of `f` against the formula at `level`: linear transfer, so
/// L = v / 255 of the solid colour `rgb`.
fn check_solid(what: &str, wall: &Wall, f: &WallFrame, rgb: [u8; 3], level: f32) {
    let g = ledwall_render::Geometry::compile(wall);
    let e = emulate(&g, f);
    let gains = gains_at(&wall.color, level);
    let mut checked = 0;
    for i in 0..e.depth.len() {
        let bits = e.depth[i] as u32;
        if bits == 0 {
            continue;
        }
        for c in 0..3 {
            let want = reference_code(rgb[c] as f64 / 255.0, gains[c] as f64, bits) as i64;
            let got = e.codes[i * 3 + c] as i64;
            assert!(
                (got - want).abs() <= MAX_REFERENCE_DIFF,
                "{what}: level {level}, pixel {i} channel {c}: code {got}, formula {want}"
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "{what}: nothing covered");
}

/// A one-layer scene of `src`, stretched over the canvas, keyed when `key` is given.
fn one(src: SourceImage<'_>, key: Option<u64>, n: u64) -> Scene<'_> {
    let src = match key {
        Some(k) => src.with_key(k),
        None => src,
    };
    Scene::single(
        n,
        Layer::new(src).fit(Fit::Stretch).filter(Filter::Lanczos3),
    )
}

fn half_brightness_halves_every_code(backend: Backend) {
    let color = ColorSpec {
        transfer: Transfer::Linear,
        dither: Dither::None,
        brightness: 0.9,
        white_point: [1.0, 0.8, 0.6],
        ..ColorSpec::default()
    };
    let rgb = [200, 120, 40];
    for format in [OutputFormat::Rgb16, OutputFormat::Rgb8] {
        let wall = stream_wall(format, color.clone());
        let Some(mut r) = renderer(backend, &wall) else {
            return;
        };
        let (cw, ch) = (wall.width, wall.height);
        let (sw, sh) = (cw * 2 + 3, ch + 5);
        let native = solid(cw, ch, rgb);
        let scaled = solid(sw, sh, rgb);
        // Scene `i` of `scenes` below at frame `n`.
        let scene = |i: usize, n: u64| -> Scene<'_> {
            let native = SourceImage::rgba8(cw, ch, &native);
            let scaled = SourceImage::rgba8(sw, sh, &scaled);
            match i {
                0 => one(native, None, n),
                1 => one(scaled, None, n),
                2 => one(native, Some(1), n),
                3 => one(scaled, Some(2), n),
                _ => Scene::crossfade(
                    n,
                    Layer::new(native.with_key(3)),
                    Layer::new(scaled.with_key(4)).fit(Fit::Stretch),
                    0.5,
                ),
            }
        };
        // (name, whether its layers come from the still cache)
        let scenes = [
            ("1:1 video", false),
            ("scaled video", false),
            ("1:1 still", true),
            ("scaled still", true),
            ("crossfade of stills", true),
        ];
        for (i, (what, cached)) in scenes.into_iter().enumerate() {
            let scene = |n| scene(i, n);
            let what = format!("{} {format:?} {what}", r.name());
            r.set_brightness(1.0);
            check_solid(&what, &wall, &render(&mut r, &scene(0)), rgb, 1.0);
            let full = render(&mut r, &scene(1));
            check_solid(&what, &wall, &full, rgb, 1.0);
            let hits = cache_hits(&r);
            r.set_brightness(0.5);
            let half = render(&mut r, &scene(2));
            check_solid(&what, &wall, &half, rgb, 0.5);
            if cached {
                // The layer canvases are linear light before the gains: still cached.
                assert_eq!(cache_hits(&r), hits + 1, "{what}: the still was rebuilt");
                if backend == Backend::Cpu {
                    // ... but the colours kept for a repeated still were made again.
                    let colour = r.stage_times()[Stage::Color];
                    assert!(
                        !colour.is_zero(),
                        "{what}: colour skipped after a new level"
                    );
                }
            }
            // Half, sample by sample, of the full-brightness frame.
            let g = r.geometry().clone();
            let (ef, eh) = (emulate(&g, &full), emulate(&g, &half));
            for (i, (f, h)) in ef.codes.iter().zip(&eh.codes).enumerate() {
                let d = (*h as f64 - *f as f64 / 2.0).abs();
                assert!(d <= 1.0, "{what}: sample {i}: {h} is not half of {f}");
            }
            // Setting the same level again changes nothing, and invalidates nothing: a
            // repeated still on the CPU skips compose and colour (zero time).
            r.set_brightness(0.5);
            let again = render(&mut r, &scene(3));
            assert_eq!(first_difference(&half, &again), None, "{what}");
            if cached && backend == Backend::Cpu {
                let colour = r.stage_times()[Stage::Color];
                assert!(
                    colour.is_zero(),
                    "{what}: the same level recoloured the still"
                );
            }
        }
    }
}

#[test]
fn half_brightness_halves_every_code_cpu() {
    half_brightness_halves_every_code(Backend::Cpu);
}

#[test]
fn half_brightness_halves_every_code_gpu() {
    half_brightness_halves_every_code(Backend::Gpu);
}

// ---------------------------------------------------------------------------------------
// Level 0 is black everywhere.

/// The scenes the other tests run: 1:1 and scaled video, a letterboxed still (background
/// around it), a 1:1 still, a crossfade of two stills, no layer at all, and scaled video
/// from a 16-bit source.
struct Sources {
    size: (u32, u32),
    native: Vec<u8>,
    small: Vec<u8>,
    wide: Vec<u8>,
    deep: Vec<u16>,
}

impl Sources {
    fn new(w: u32, h: u32) -> Sources {
        Sources {
            size: (w, h),
            native: photo(w, h, 1),
            small: photo(w / 2 + 3, h / 2 + 1, 2),
            wide: photo(w * 2, h / 2 + 1, 3),
            deep: photo(w / 2 + 3, h / 2 + 1, 4)
                .iter()
                .enumerate()
                .map(|(i, &v)| (u16::from(v) * 257).saturating_add(i as u16 % 251))
                .collect(),
        }
    }

    fn count() -> usize {
        7
    }

    fn scene(&self, i: usize, n: u64) -> (&'static str, Scene<'_>) {
        let (w, h) = self.size;
        let native = || SourceImage::rgba8(w, h, &self.native);
        let small = || SourceImage::rgba8(w / 2 + 3, h / 2 + 1, &self.small);
        let wide = || SourceImage::rgba8(w * 2, h / 2 + 1, &self.wide);
        match i {
            0 => ("1:1 video", Scene::single(n, Layer::new(native()))),
            1 => (
                "scaled video",
                Scene::single(n, Layer::new(small()).fit(Fit::Cover)),
            ),
            2 => (
                "letterboxed still",
                Scene::single(n, Layer::new(wide().with_key(10)).fit(Fit::Contain)),
            ),
            3 => (
                "1:1 still",
                Scene::single(n, Layer::new(native().with_key(11))),
            ),
            4 => (
                "crossfade of stills",
                Scene::crossfade(
                    n,
                    Layer::new(native().with_key(11)),
                    Layer::new(small().with_key(12)).fit(Fit::Contain),
                    0.3,
                ),
            ),
            5 => ("background only", Scene::background(n)),
            _ => (
                "16-bit scaled video",
                Scene::single(
                    n,
                    Layer::new(SourceImage::rgba16(w / 2 + 3, h / 2 + 1, &self.deep))
                        .fit(Fit::Cover),
                ),
            ),
        }
    }
}

fn zero_brightness_is_black_on_every_port(backend: Backend) {
    let walls = [
        fixture("demo.toml"),
        background_wall(background_color()),
        // One output depth: the CPU's 1:1 code table, dithered.
        stream_wall(OutputFormat::Rgb8, background_color()),
    ];
    for wall in walls {
        let Some(mut r) = renderer(backend, &wall) else {
            return;
        };
        let src = Sources::new(wall.width, wall.height);
        let mut lit = vec![];
        for i in 0..Sources::count() {
            let (what, scene) = src.scene(i, 0);
            let f = render(&mut r, &scene);
            let any = f.ports.iter().any(|p| p.bytes.iter().any(|&b| b != 0));
            let dark = wall.color.background == [0; 3] && what == "background only";
            assert!(
                any || dark,
                "{} {}: {what} is black at level 1",
                r.name(),
                wall.name
            );
            lit.push(f);
        }
        r.set_brightness(0.0);
        assert_eq!(r.brightness_level(), 0.0);
        // Every temporal dither offset of a few frames: dither must not lift a zero.
        for n in 1..10 {
            for i in 0..Sources::count() {
                let (what, scene) = src.scene(i, n);
                let f = render(&mut r, &scene);
                for p in &f.ports {
                    if let Some(b) = p.bytes.iter().position(|&b| b != 0) {
                        panic!(
                            "{} {}: {what}, frame {n}: port {} byte {b} is {:#04x} at level 0",
                            r.name(),
                            wall.name,
                            p.name,
                            p.bytes[b]
                        );
                    }
                }
            }
        }
        // Back to full: the same bytes as before the blackout.
        r.set_brightness(f32::NAN);
        assert_eq!(r.brightness_level(), 0.0, "NaN counts as 0");
        r.set_brightness(7.0);
        assert_eq!(r.brightness_level(), 1.0, "levels clamp to 1");
        for (i, before) in lit.iter().enumerate() {
            let (what, scene) = src.scene(i, 0);
            let f = render(&mut r, &scene);
            let diff = first_difference(before, &f);
            assert_eq!(
                diff,
                None,
                "{} {}: {what} after the blackout",
                r.name(),
                wall.name
            );
        }
    }
}

#[test]
fn zero_brightness_is_black_on_every_port_cpu() {
    zero_brightness_is_black_on_every_port(Backend::Cpu);
}

#[test]
fn zero_brightness_is_black_on_every_port_gpu() {
    zero_brightness_is_black_on_every_port(Backend::Gpu);
}

// ---------------------------------------------------------------------------------------
// set_color is a fresh renderer with the new section.

/// A named change to a colour section.
type Change = (&'static str, fn(&mut ColorSpec));

/// The colour changes applied one after another (each keeps the earlier ones).
fn changes() -> Vec<Change> {
    vec![
        ("gamma", |c| c.gamma = 2.6),
        ("transfer", |c| c.transfer = Transfer::Srgb),
        ("white point", |c| c.white_point = [0.9, 0.7, 1.0]),
        ("dither", |c| {
            c.dither = match c.dither {
                Dither::None => Dither::OrderedTemporal,
                _ => Dither::None,
            }
        }),
        ("background", |c| c.background = [40, 90, 200]),
        ("resample", |c| {
            c.resample = match c.resample {
                ResampleMode::Linear => ResampleMode::Fast,
                ResampleMode::Fast => ResampleMode::Linear,
            }
        }),
        ("brightness", |c| c.brightness = 0.6),
        ("several at once", |c| {
            c.transfer = Transfer::Cie1931;
            c.background = [0, 0, 0];
            c.dither = Dither::Ordered;
            c.resample = ResampleMode::Linear;
            c.white_point = [1.0, 1.0, 0.8];
        }),
        ("gamma under another curve", |c| c.gamma = 1.8),
    ]
}

fn with_color(wall: &Wall, color: &ColorSpec) -> Wall {
    let mut spec = wall.spec.clone();
    spec.color = color.clone();
    Wall::from_spec(&spec, &wall.source).unwrap_or_else(|e| panic!("{e}"))
}

fn set_color_matches_a_fresh_renderer(backend: Backend) {
    let single = ColorSpec {
        dither: Dither::Ordered,
        background: [10, 20, 30],
        ..ColorSpec::default()
    };
    let walls = [
        fixture("demo.toml"),
        background_wall(background_color()),
        stream_wall(OutputFormat::Rgb8, single),
    ];
    // A runtime level in force the whole time: it multiplies each new brightness.
    let level = 0.8;
    for wall in walls {
        let Some(mut r) = renderer(backend, &wall) else {
            return;
        };
        r.set_brightness(level);
        let src = Sources::new(wall.width, wall.height);
        let mut color = wall.color.clone();
        let mut n = 0;
        for (change, apply) in changes() {
            let old = color.clone();
            apply(&mut color);
            let fresh_wall = with_color(&wall, &color);
            let Some(mut fresh) = renderer(backend, &fresh_wall) else {
                panic!("the device opened before");
            };
            fresh.set_brightness(level);
            for i in 0..Sources::count() {
                // This scene cached (stills, and the colours of a repeated still) under
                // the old colours, then the change.
                r.set_color(&old)
                    .unwrap_or_else(|e| panic!("{} {}: {change}: {e}", r.name(), wall.name));
                render(&mut r, &src.scene(i, n).1);
                render(&mut r, &src.scene(i, n + 1).1);
                r.set_color(&color)
                    .unwrap_or_else(|e| panic!("{} {}: {change}: {e}", r.name(), wall.name));
                assert_eq!(color_of(&r), &color);
                assert_eq!(r.brightness_level(), level);
                // The first frame after the change, then a repeat.
                for n in n + 2..n + 4 {
                    let (what, scene) = src.scene(i, n);
                    let (a, b) = (render(&mut r, &scene), render(&mut fresh, &scene));
                    if let Some(d) = first_difference(&a, &b) {
                        panic!(
                            "{} {}: after a {change} change, {what} (frame {n}) differs from a \
                             fresh renderer: {d}",
                            r.name(),
                            wall.name,
                        );
                    }
                }
            }
            n += 4;
        }

        // A bit-depth change is refused, and nothing changes.
        let scenes: Vec<_> = (0..Sources::count()).map(|i| src.scene(i, 100).1).collect();
        let before: Vec<_> = scenes.iter().map(|s| render(&mut r, s)).collect();
        let deeper = ColorSpec {
            bit_depth: color.bit_depth % 16 + 1,
            gamma: 1.0,
            ..color.clone()
        };
        match r.set_color(&deeper) {
            Err(e @ RenderError::BitDepthChange { .. }) => {
                assert!(e.to_string().contains("new renderer"), "{e}");
            }
            other => panic!("{}: a bit-depth change gave {other:?}", r.name()),
        }
        let invalid = ColorSpec {
            gamma: -1.0,
            ..color.clone()
        };
        match r.set_color(&invalid) {
            Err(e @ RenderError::ColorChange(_)) => {
                assert!(e.to_string().contains("color.gamma"), "{e}");
            }
            other => panic!("{}: gamma -1 gave {other:?}", r.name()),
        }
        assert_eq!(color_of(&r), &color);
        for (s, b) in scenes.iter().zip(&before) {
            let a = render(&mut r, s);
            assert_eq!(
                first_difference(&a, b),
                None,
                "{}: after refusals",
                r.name()
            );
        }
    }
}

#[test]
fn set_color_matches_a_fresh_renderer_cpu() {
    set_color_matches_a_fresh_renderer(Backend::Cpu);
}

#[test]
fn set_color_matches_a_fresh_renderer_gpu() {
    set_color_matches_a_fresh_renderer(Backend::Gpu);
}

// ---------------------------------------------------------------------------------------
// The backends agree after a brightness change.

#[test]
fn brightness_changes_keep_cpu_gpu_parity_gpu() {
    if device().is_none() {
        return;
    }
    for wall in [fixture("demo.toml"), background_wall(background_color())] {
        let (Some(mut cpu), Some(mut gpu)) =
            (renderer(Backend::Cpu, &wall), renderer(Backend::Gpu, &wall))
        else {
            panic!("the device opened before");
        };
        let g = cpu.geometry().clone();
        let src = Sources::new(wall.width, wall.height);
        let mut at_tolerance = 0;
        // A fade over a few frames, then a level held, through every scene.
        for (n, level) in [1.0, 0.8, 0.55, 0.37, 0.37, 0.1].into_iter().enumerate() {
            cpu.set_brightness(level);
            gpu.set_brightness(level);
            for i in 0..Sources::count() {
                let (what, scene) = src.scene(i, n as u64);
                let (a, b) = (render(&mut cpu, &scene), render(&mut gpu, &scene));
                let (ea, eb) = (emulate(&g, &a), emulate(&g, &b));
                for (k, (x, y)) in ea.codes.iter().zip(&eb.codes).enumerate() {
                    let d = (*x as i32 - *y as i32).abs();
                    assert!(
                        d <= MAX_CODE_DIFF,
                        "{}: {what} at level {level}: sample {k}: cpu {x}, gpu {y}",
                        wall.name
                    );
                    at_tolerance += (d == MAX_CODE_DIFF) as usize;
                }
            }
        }
        eprintln!(
            "{}: {at_tolerance} samples differ by {MAX_CODE_DIFF} code",
            wall.name
        );
    }
}
