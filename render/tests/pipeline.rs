//! The CPU pipeline end to end, held to design §3's formulas written out here in f64.
//!
//! Tolerances are named constants; tests that allow a difference print how many pixels hit
//! it (`cargo test -- --nocapture`).

use ledwall_render::Stage;
use ledwall_render::emulate::emulate;
use ledwall_render::place::place;
use ledwall_render::wall::{
    CanvasSpec, ColorSpec, Dither, OutputFormat, ResampleMode, Transfer, WallSpec,
};
use ledwall_render::{
    Filter, Fit, Geometry, Layer, RenderError, Renderer, Scene, SourceImage, Wall, WallFrame,
};
use std::collections::BTreeMap;

mod common;
use common::walls::{module, mtype, port};

/// Largest difference, in output codes, between the pipeline and the f64 formula.
const MAX_CODE_DIFF: i64 = 1;

/// Largest mean (signed) difference, in output codes, over many values: the pipeline may
/// round differently from the formula but must not be biased. (Exact ties, e.g. linear
/// transfer at half brightness, put today's mean at about +0.03 codes at 16 bits.)
const MAX_MEAN_CODE_DIFF: f64 = 0.1;

// ---------------------------------------------------------------------------------------
// The formulas of design §3, independently of the crate.

/// Transfer curve T(u).
fn curve(t: Transfer, gamma: f64, u: f64) -> f64 {
    match t {
        Transfer::Power => u.powf(gamma),
        Transfer::Srgb if u <= 0.04045 => u / 12.92,
        Transfer::Srgb => ((u + 0.055) / 1.055).powf(2.4),
        Transfer::Cie1931 => {
            let l = 100.0 * u;
            if l <= 8.0 {
                l / 903.3
            } else {
                ((l + 16.0) / 116.0).powi(3)
            }
        }
        Transfer::Linear => u,
    }
}

/// round(clamp(L · gain) · (2^bits − 1)).
fn code(linear: f64, gain: f64, bits: u32) -> i64 {
    ((linear * gain).clamp(0.0, 1.0) * ((1u64 << bits) - 1) as f64).round() as i64
}

// ---------------------------------------------------------------------------------------
// Walls built in code.

/// A `w` x `h` canvas (w > 4, h > 2) covered by three ports: bitplanes (the wall's depth) on
/// the top left 4 x 2, rgb16 on the rest of the top two rows, rgb8 below. Quantized canvases
/// of the wall depth, 8 and 16 bits all exist, and equal frames mean equal canvases.
fn three_port_wall(w: u32, h: u32, color: ColorSpec) -> Wall {
    let mut types = BTreeMap::new();
    types.insert("hub".to_string(), mtype(4, 2, Some(1), "RGB"));
    types.insert("top".to_string(), mtype(w - 4, 2, None, "GBR"));
    types.insert("rest".to_string(), mtype(w, h - 2, None, "BGR"));
    let spec = WallSpec {
        name: "pipeline".into(),
        refresh_hz: 60,
        canvas: CanvasSpec {
            width: w,
            height: h,
            show: None,
            origin: None,
        },
        color,
        module_types: types,
        outputs: vec![
            port("hub", OutputFormat::Bitplanes, vec![module("hub", 0, 0)]),
            port("p8", OutputFormat::Rgb8, vec![module("rest", 0, 2)]),
            port("p16", OutputFormat::Rgb16, vec![module("top", 4, 0)]),
        ],
    };
    Wall::from_spec(&spec, "pipeline.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn renderer(wall: &Wall) -> (Renderer, WallFrame) {
    let r = Renderer::with_threads(wall, 2).unwrap_or_else(|e| panic!("{e}"));
    let f = WallFrame::new(r.geometry());
    (r, f)
}

fn render(r: &mut Renderer, f: &mut WallFrame, scene: &Scene<'_>) {
    r.render_into(scene, f).unwrap_or_else(|e| panic!("{e}"));
}

/// The canvas part of the quantized buffer of `depth`.
fn quantized(r: &Renderer, depth: u32) -> Vec<u16> {
    let n = r.geometry().canvas_pixels() * 3;
    r.quantized(depth)
        .unwrap_or_else(|| panic!("no depth {depth}"))[..n]
        .to_vec()
}

/// Whether two frames have the same bytes; on a difference, says where (frames are too big
/// to print).
fn same(a: &WallFrame, b: &WallFrame) -> bool {
    for (pa, pb) in a.ports.iter().zip(&b.ports) {
        if let Some(i) = pa.bytes.iter().zip(&pb.bytes).position(|(x, y)| x != y) {
            println!(
                "port {}: first difference at byte {i}: {} vs {}",
                pa.name, pa.bytes[i], pb.bytes[i]
            );
            return false;
        }
    }
    a.ports.len() == b.ports.len()
}

fn rgba8(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    let mut v = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            v.extend_from_slice(&f(x, y));
            v.push(255);
        }
    }
    v
}

// ---------------------------------------------------------------------------------------
// Colour math.

/// Sources covering every code value on every channel: 8-bit on 16 x 16, 16-bit on 256 x 256.
fn all_codes_8() -> Vec<u8> {
    rgba8(16, 16, |x, y| {
        let i = y * 16 + x;
        [i as u8, 255 - i as u8, (i * 97 % 256) as u8]
    })
}

fn all_codes_16() -> Vec<u16> {
    let mut v = Vec::with_capacity(65536 * 4);
    for i in 0..65536u32 {
        v.extend_from_slice(&[
            i as u16,
            (65535 - i) as u16,
            (i.wrapping_mul(40503) % 65536) as u16,
            65535,
        ]);
    }
    v
}

#[test]
fn colour_math_is_within_one_code_of_the_formula() {
    let src8 = all_codes_8();
    let src16 = all_codes_16();
    let curves = [
        (Transfer::Power, 1.8),
        (Transfer::Power, 2.2),
        (Transfer::Power, 2.8),
        (Transfer::Srgb, 2.2),
        (Transfer::Cie1931, 2.2),
        (Transfer::Linear, 2.2),
    ];
    let gains = [
        (1.0, [1.0, 1.0, 1.0]),
        (0.5, [1.0, 0.9, 0.8]),
        (0.8, [0.3, 1.0, 0.65]),
    ];
    // (depth, values, off by one, sum of signed differences)
    let mut tally: Vec<(u32, usize, usize, i64)> = Vec::new();
    for (transfer, gamma) in curves {
        for (brightness, white_point) in gains {
            for wall_depth in [1, 4, 11, 12] {
                let color = ColorSpec {
                    transfer,
                    gamma,
                    brightness,
                    white_point,
                    bit_depth: wall_depth,
                    dither: Dither::None,
                    ..ColorSpec::default()
                };
                for deep in [false, true] {
                    let (side, max) = if deep { (256, 65535.0) } else { (16, 255.0) };
                    let wall = three_port_wall(side, side, color.clone());
                    let (mut r, mut f) = renderer(&wall);
                    let src = if deep {
                        SourceImage::rgba16(side, side, &src16)
                    } else {
                        SourceImage::rgba8(side, side, &src8)
                    };
                    render(&mut r, &mut f, &Scene::single(0, Layer::new(src)));
                    for depth in [wall_depth, 8, 16] {
                        let q = quantized(&r, depth);
                        for (i, &got) in q.iter().enumerate() {
                            let (px, c) = (i / 3, i % 3);
                            let v = if deep {
                                src16[px * 4 + c] as f64
                            } else {
                                src8[px * 4 + c] as f64
                            };
                            let l = curve(transfer, gamma, v / max);
                            let want = code(l, brightness * white_point[c], depth);
                            let d = (got as i64 - want).abs();
                            assert!(
                                d <= MAX_CODE_DIFF,
                                "{transfer:?} gamma {gamma} brightness {brightness} white {white_point:?} depth {depth} {}-bit source: code {v} channel {c} gives {got}, formula {want}",
                                if deep { 16 } else { 8 }
                            );
                            let k = match tally.iter().position(|t| t.0 == depth) {
                                Some(k) => k,
                                None => {
                                    tally.push((depth, 0, 0, 0));
                                    tally.len() - 1
                                }
                            };
                            tally[k].1 += 1;
                            tally[k].2 += (d == 1) as usize;
                            tally[k].3 += got as i64 - want;
                        }
                    }
                }
            }
        }
    }
    tally.sort_unstable();
    for (depth, total, off_by_one, sum) in tally {
        let bias = sum as f64 / total as f64;
        println!(
            "colour math, depth {depth:2}: {off_by_one} of {total} channel values off by exactly one code ({:.3}%), none by more; mean difference {bias:+.4} codes",
            100.0 * off_by_one as f64 / total as f64
        );
        // Rounding intermediates scatters results both ways; truncating somewhere would
        // shift them all one way (a mean near -0.5 codes) and still pass the bound above.
        assert!(
            bias.abs() < MAX_MEAN_CODE_DIFF,
            "depth {depth}: mean difference {bias} codes"
        );
    }
}

#[test]
fn calibration_applies_to_its_module_only() {
    let m = [[0.9, 0.2, -0.1], [0.05, 0.8, 0.1], [0.0, -0.2, 1.3]];
    let mut types = BTreeMap::new();
    types.insert("m".to_string(), mtype(16, 8, Some(4), "GBR"));
    let mut calibrated = module("m", 0, 0);
    calibrated.calibration = Some(m);
    let (brightness, white_point) = (0.9, [1.0, 0.8, 0.7]);
    let spec = WallSpec {
        name: "cal".into(),
        refresh_hz: 60,
        canvas: CanvasSpec {
            width: 32,
            height: 8,
            show: None,
            origin: None,
        },
        color: ColorSpec {
            brightness,
            white_point,
            bit_depth: 12,
            ..ColorSpec::default()
        },
        module_types: types,
        outputs: vec![port(
            "p",
            OutputFormat::Bitplanes,
            vec![calibrated, module("m", 16, 0)],
        )],
    };
    let wall = Wall::from_spec(&spec, "cal.toml").unwrap_or_else(|e| panic!("{e}"));
    let (mut r, mut f) = renderer(&wall);
    let src = rgba8(32, 8, |x, y| {
        let i = y * 32 + x;
        [
            (i * 13 % 256) as u8,
            (i * 29 % 256) as u8,
            (255 - i % 256) as u8,
        ]
    });
    render(
        &mut r,
        &mut f,
        &Scene::single(0, Layer::new(SourceImage::rgba8(32, 8, &src))),
    );
    // Through the emulator: what the modules show.
    let shown = emulate(r.geometry(), &f);
    let mut changed = 0;
    for y in 0..8usize {
        for x in 0..32usize {
            let i = y * 32 + x;
            let l: [f64; 3] =
                std::array::from_fn(|c| curve(Transfer::Power, 2.2, src[i * 4 + c] as f64 / 255.0));
            for c in 0..3 {
                let gain = brightness * white_point[c];
                let plain = code(l[c], gain, 12);
                let want = if x < 16 {
                    code(m[c][0] * l[0] + m[c][1] * l[1] + m[c][2] * l[2], gain, 12)
                } else {
                    plain
                };
                let got = shown.codes[i * 3 + c] as i64;
                assert!(
                    (got - want).abs() <= MAX_CODE_DIFF,
                    "pixel ({x}, {y}) channel {c}: {got}, formula {want}"
                );
                changed += (x < 16 && (want - plain).abs() > 2) as usize;
            }
        }
    }
    assert!(
        changed > 100,
        "the matrix should change most pixels ({changed})"
    );
}

// ---------------------------------------------------------------------------------------
// Background.

#[test]
fn letterbox_bars_and_off_canvas_pixels_show_the_background() {
    let bg = [32u32, 64, 200];
    let mut types = BTreeMap::new();
    types.insert("m".to_string(), mtype(8, 8, None, "BRG"));
    let spec = WallSpec {
        name: "bg".into(),
        refresh_hz: 60,
        canvas: CanvasSpec {
            width: 36,
            height: 16,
            show: None,
            origin: None,
        },
        color: ColorSpec {
            background: bg,
            brightness: 0.75,
            ..ColorSpec::default()
        },
        module_types: types,
        outputs: vec![
            // Covers the canvas but the right 4 columns of (32, 8)'s module hang off it.
            port(
                "a",
                OutputFormat::Rgb8,
                (0..10)
                    .map(|i| module("m", (i % 5) * 8, (i / 5) * 8))
                    .collect(),
            ),
        ],
    };
    let wall = Wall::from_spec(&spec, "bg.toml").unwrap_or_else(|e| panic!("{e}"));
    let (mut r, mut f) = renderer(&wall);
    // A white square source: contain fits it to 16 x 16 in the middle, bars 10 wide.
    let white = vec![255u8; 20 * 20 * 4];
    let layer = Layer::new(SourceImage::rgba8(20, 20, &white)).filter(Filter::Nearest);
    render(&mut r, &mut f, &Scene::single(0, layer));
    let bg_code: [i64; 3] =
        std::array::from_fn(|c| code(curve(Transfer::Power, 2.2, bg[c] as f64 / 255.0), 0.75, 8));
    let white_code = code(1.0, 0.75, 8);
    assert_ne!(bg_code, [white_code; 3]);
    let shown = emulate(r.geometry(), &f);
    for y in 0..16 {
        for x in 0..36 {
            let i = y * 36 + x;
            let want = if (10..26).contains(&x) {
                [white_code; 3]
            } else {
                bg_code
            };
            let got: [i64; 3] = std::array::from_fn(|c| shown.codes[i * 3 + c] as i64);
            assert_eq!(got, want, "pixel ({x}, {y})");
        }
    }
    // The module at (32, 0) is the 5th in the chain: wire pixels 4·64 .. 5·64, row-major;
    // its columns 4..8 are off the canvas and carry the background, in wire order B, R, G.
    let bytes = &f.ports[0].bytes;
    for y in 0..8 {
        for x in 4..8 {
            let px = 4 * 64 + y * 8 + x;
            let got = &bytes[px * 3..px * 3 + 3];
            let want = [bg_code[2], bg_code[0], bg_code[1]].map(|v| v as u8);
            assert_eq!(got, want, "module 4 pixel ({x}, {y})");
        }
    }
    // Background only: every pixel.
    render(&mut r, &mut f, &Scene::background(1));
    let shown = emulate(r.geometry(), &f);
    assert!(
        shown
            .codes
            .chunks(3)
            .all(|p| p.iter().zip(bg_code).all(|(&a, b)| a as i64 == b))
    );
}

// ---------------------------------------------------------------------------------------
// Resampling.

/// 1-pixel black/white vertical stripes.
fn stripes(w: u32, h: u32) -> Vec<u8> {
    rgba8(w, h, |x, _| [if x % 2 == 1 { 255 } else { 0 }; 3])
}

/// Linear light (0..1, from 16-bit codes at full brightness) of every canvas channel.
fn light(r: &Renderer) -> Vec<f64> {
    quantized(r, 16)
        .iter()
        .map(|&c| c as f64 / 65535.0)
        .collect()
}

fn stripe_wall(resample: ResampleMode) -> Wall {
    three_port_wall(
        384,
        216,
        ColorSpec {
            resample,
            ..ColorSpec::default()
        },
    )
}

#[test]
fn downscaling_4k_stripes_averages_in_linear_light() {
    let src = stripes(3840, 2160);
    let wall = stripe_wall(ResampleMode::Linear);
    let (mut r, mut f) = renderer(&wall);
    // Largest deviation from 0.5 inside the canvas (3 pixels from every edge) and overall:
    // at the very edges a convolution kernel is cut off and renormalized, which tilts an
    // alternating pattern slightly; that is not aliasing.
    let dev = |r: &Renderer| {
        let l = light(r);
        let (mut inner, mut all) = (0.0f64, 0.0f64);
        for (i, v) in l.iter().enumerate() {
            let (x, y) = ((i / 3) % 384, (i / 3) / 384);
            let d = (v - 0.5).abs();
            all = all.max(d);
            if (3..381).contains(&x) && (3..213).contains(&y) {
                inner = inner.max(d);
            }
        }
        (inner, all)
    };
    for (filter, inner_tol, edge_tol) in [
        (Filter::Area, 0.001, 0.001),
        (Filter::Lanczos3, 0.001, 0.02),
    ] {
        let layer = Layer::new(SourceImage::rgba8(3840, 2160, &src)).filter(filter);
        render(&mut r, &mut f, &Scene::single(0, layer));
        let (inner, all) = dev(&r);
        println!(
            "{filter:?}: max deviation from linear 0.5 is {inner:.5} inside, {all:.5} with the edges"
        );
        assert!(inner <= inner_tol, "{filter:?}: {inner}");
        assert!(all <= edge_tol, "{filter:?}: {all}");
    }
    // Nearest samples one source pixel per canvas pixel: it aliases, far from 0.5.
    let layer = Layer::new(SourceImage::rgba8(3840, 2160, &src)).filter(Filter::Nearest);
    render(&mut r, &mut f, &Scene::single(0, layer));
    let l = light(&r);
    assert!(
        l.iter().all(|v| (v - 0.5).abs() > 0.45),
        "nearest should not average"
    );
}

#[test]
fn fast_mode_filters_code_values_and_comes_out_darker() {
    let src = stripes(3840, 2160);
    let mut means = Vec::new();
    for mode in [ResampleMode::Linear, ResampleMode::Fast] {
        let wall = stripe_wall(mode);
        let (mut r, mut f) = renderer(&wall);
        let layer = Layer::new(SourceImage::rgba8(3840, 2160, &src)).filter(Filter::Area);
        render(&mut r, &mut f, &Scene::single(0, layer));
        let l = light(&r);
        means.push(l.iter().sum::<f64>() / l.len() as f64);
    }
    // Linear: the mean of 0 and 1 is 0.5. Fast: the mean code 127.5 is T(0.5) = 0.5^2.2.
    let fast_expected = 0.5f64.powf(2.2);
    println!("linear {:.4}, fast {:.4}", means[0], means[1]);
    assert!((means[0] - 0.5).abs() < 0.002, "{means:?}");
    assert!((means[1] - fast_expected).abs() < 0.01, "{means:?}");
}

/// Quadrant colours of the placement source: top-left red, top-right green, bottom-left
/// blue, bottom-right white.
const QUADRANTS: [[u8; 3]; 4] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];

fn quadrants(w: u32, h: u32) -> Vec<u8> {
    rgba8(w, h, |x, y| {
        QUADRANTS[((y >= h / 2) as usize) * 2 + (x >= w / 2) as usize]
    })
}

#[test]
fn fit_modes_land_the_source_where_place_says() {
    // place() against hand-computed rects first.
    let p = place(Fit::Contain, 40, 30, 32, 16);
    assert_eq!((p.dst.x, p.dst.y, p.dst.w, p.dst.h), (5, 0, 21, 16)); // scale 16/30
    let p = place(Fit::Cover, 40, 30, 32, 16);
    assert_eq!((p.dst.x, p.dst.y, p.dst.w, p.dst.h), (0, 0, 32, 16));
    assert_eq!(p.crop, [0.0, 5.0, 40.0, 20.0]); // scale 0.8: 40 x 20 of the source
    let p = place(Fit::Center, 10, 6, 32, 16);
    assert_eq!((p.dst.x, p.dst.y, p.dst.w, p.dst.h), (11, 5, 10, 6));
    let p = place(Fit::Center, 40, 30, 32, 16);
    assert_eq!(p.crop, [4.0, 7.0, 32.0, 16.0]);

    let bg = [128u32, 128, 128];
    let wall = three_port_wall(
        32,
        16,
        ColorSpec {
            background: bg,
            ..ColorSpec::default()
        },
    );
    let bg_code = code(curve(Transfer::Power, 2.2, 128.0 / 255.0), 1.0, 8);
    let (mut r, mut f) = renderer(&wall);
    for (sw, sh) in [(40, 30), (10, 6), (64, 16), (7, 40)] {
        let src = quadrants(sw, sh);
        for fit in Fit::ALL {
            let layer = Layer::new(SourceImage::rgba8(sw, sh, &src))
                .fit(fit)
                .filter(Filter::Nearest);
            render(&mut r, &mut f, &Scene::single(0, layer));
            let q = quantized(&r, 8);
            let p = place(fit, sw, sh, 32, 16);
            let (d, crop) = (p.dst, p.crop);
            let mut inside = 0;
            for y in 0..16u32 {
                for x in 0..32u32 {
                    let i = ((y * 32 + x) * 3) as usize;
                    let got = [q[i], q[i + 1], q[i + 2]].map(i64::from);
                    let what = format!("{sw}x{sh} {fit:?} pixel ({x}, {y})");
                    if x < d.x || y < d.y || x >= d.x + d.w || y >= d.y + d.h {
                        assert_eq!(got, [bg_code; 3], "{what}: background expected");
                        continue;
                    }
                    // The source point this canvas pixel's centre samples.
                    let sx = crop[0] + (x - d.x) as f64 * crop[2] / d.w as f64;
                    let sy = crop[1] + (y - d.y) as f64 * crop[3] / d.h as f64;
                    let sx1 = sx + crop[2] / d.w as f64;
                    let sy1 = sy + crop[3] / d.h as f64;
                    let (hx, hy) = ((sw / 2) as f64, (sh / 2) as f64);
                    // Skip pixels whose footprint straddles a quadrant edge.
                    if (sx < hx && sx1 > hx) || (sy < hy && sy1 > hy) {
                        continue;
                    }
                    let quad = QUADRANTS[((sy >= hy) as usize) * 2 + (sx >= hx) as usize];
                    let want = quad.map(|v| if v == 255 { 255 } else { 0 });
                    assert_eq!(got, want, "{what}");
                    inside += 1;
                }
            }
            assert!(inside > 0, "{sw}x{sh} {fit:?}: nothing checked");
        }
    }
}

// ---------------------------------------------------------------------------------------
// The still cache.

#[test]
fn still_cache_hits_for_keyed_sources_only() {
    let wall = three_port_wall(48, 24, ColorSpec::default());
    let (mut r, mut f) = renderer(&wall);
    let src = quadrants(200, 100);
    let keyed = SourceImage::rgba8(200, 100, &src).with_key(7);
    let layer = Layer::new(keyed).filter(Filter::Lanczos3);

    render(&mut r, &mut f, &Scene::single(0, layer));
    let first = f.clone();
    assert_eq!(r.cache_hits(), 0);
    render(&mut r, &mut f, &Scene::single(0, layer));
    assert_eq!(r.cache_hits(), 1);
    assert!(same(&f, &first), "a cache hit gives the same bytes");

    // Another fit is another canvas.
    render(&mut r, &mut f, &Scene::single(0, layer.fit(Fit::Center)));
    assert_eq!(r.cache_hits(), 1);
    assert!(!same(&f, &first), "center crops, contain scales");
    render(&mut r, &mut f, &Scene::single(0, layer.fit(Fit::Center)));
    assert_eq!(r.cache_hits(), 2);
    let centered = f.clone();
    // Another filter too.
    render(
        &mut r,
        &mut f,
        &Scene::single(0, layer.filter(Filter::Nearest)),
    );
    assert_eq!(r.cache_hits(), 2);
    assert!(!same(&f, &first), "nearest and lanczos3 differ");
    // Another key too, even with the same pixels.
    let rekeyed = Layer::new(SourceImage::rgba8(200, 100, &src).with_key(8));
    render(&mut r, &mut f, &Scene::single(0, rekeyed));
    assert_eq!(r.cache_hits(), 2);
    assert!(same(&f, &first));

    // Unkeyed: never a hit, same bytes.
    let plain = Layer::new(SourceImage::rgba8(200, 100, &src));
    for _ in 0..3 {
        render(&mut r, &mut f, &Scene::single(0, plain));
        assert!(same(&f, &first));
    }
    assert_eq!(r.cache_hits(), 2);

    // After all that, the first key comes back from the cache or is re-rendered: either
    // way the bytes are the same.
    render(&mut r, &mut f, &Scene::single(0, layer));
    assert!(same(&f, &first));
    render(&mut r, &mut f, &Scene::single(0, layer));
    assert!(same(&f, &first));
    assert_eq!(r.cache_hits(), 3);
    render(&mut r, &mut f, &Scene::single(0, layer.fit(Fit::Center)));
    assert!(same(&f, &centered));
}

#[test]
fn cached_layers_are_not_confused_in_a_crossfade() {
    let wall = three_port_wall(48, 24, ColorSpec::default());
    let (mut r, mut f) = renderer(&wall);
    let a = quadrants(100, 50);
    let b = stripes(100, 50);
    let la = Layer::new(SourceImage::rgba8(100, 50, &a).with_key(1));
    let lb = Layer::new(SourceImage::rgba8(100, 50, &b).with_key(2));
    let plain_a = Layer::new(SourceImage::rgba8(100, 50, &a));
    let plain_b = Layer::new(SourceImage::rgba8(100, 50, &b));
    render(&mut r, &mut f, &Scene::crossfade(0, plain_a, plain_b, 0.3));
    let want = f.clone();
    // Prime the cache with each alone, then crossfade from the cache, in both slot orders.
    render(&mut r, &mut f, &Scene::single(0, lb));
    render(&mut r, &mut f, &Scene::single(0, la));
    render(&mut r, &mut f, &Scene::crossfade(0, la, lb, 0.3));
    assert!(same(&f, &want));
    let hits = r.cache_hits();
    render(&mut r, &mut f, &Scene::crossfade(0, la, lb, 0.3));
    assert_eq!(r.cache_hits(), hits + 1);
    assert!(same(&f, &want));
}

// ---------------------------------------------------------------------------------------
// Crossfades.

#[test]
fn crossfade_mixes_in_linear_light() {
    let color = ColorSpec {
        bit_depth: 12,
        brightness: 0.9,
        background: [40, 0, 90],
        ..ColorSpec::default()
    };
    let wall = three_port_wall(32, 16, color);
    let (mut r, mut f) = renderer(&wall);
    let a = rgba8(32, 16, |x, y| [(x * 8) as u8, (y * 16) as u8, 200]);
    let b = rgba8(32, 16, |x, y| {
        [255 - (x * 8) as u8, 30, ((x + y) * 5) as u8]
    });
    let la = Layer::new(SourceImage::rgba8(32, 16, &a));
    let lb = Layer::new(SourceImage::rgba8(32, 16, &b));
    render(&mut r, &mut f, &Scene::single(3, la));
    let only_a = f.clone();
    render(&mut r, &mut f, &Scene::single(3, lb));
    let only_b = f.clone();
    render(&mut r, &mut f, &Scene::crossfade(3, la, lb, 0.0));
    assert!(same(&f, &only_a), "t = 0 shows the first source");
    render(&mut r, &mut f, &Scene::crossfade(3, la, lb, 1.0));
    assert!(same(&f, &only_b), "t = 1 shows the second source");

    let lin = |s: &[u8], i: usize| curve(Transfer::Power, 2.2, s[i] as f64 / 255.0);
    let bg = [40.0, 0.0, 90.0].map(|v: f64| curve(Transfer::Power, 2.2, v / 255.0));
    for (scene, mix) in [
        (Scene::crossfade(3, la, lb, 0.5), [0.5, 0.5, 0.0]),
        (Scene::crossfade(3, la, lb, 0.25), [0.75, 0.25, 0.0]),
        // A lone layer at part weight fades to the background.
        (Scene::single(3, la.weight(0.25)), [0.25, 0.0, 0.75]),
    ] {
        render(&mut r, &mut f, &scene);
        let (mut off, mut n) = (0, 0);
        for depth in [12, 8, 16] {
            let q = quantized(&r, depth);
            for (i, &got) in q.iter().enumerate() {
                let (px, c) = (i / 3, i % 3);
                let l =
                    mix[0] * lin(&a, px * 4 + c) + mix[1] * lin(&b, px * 4 + c) + mix[2] * bg[c];
                let want = code(l, 0.9, depth);
                let d = (got as i64 - want).abs();
                assert!(
                    d <= MAX_CODE_DIFF,
                    "mix {mix:?} depth {depth}: value {i} is {got}, formula {want}"
                );
                off += (d == 1) as usize;
                n += 1;
            }
        }
        println!("crossfade {mix:?}: {off} of {n} values off by one code");
    }
}

// ---------------------------------------------------------------------------------------
// Dithering.

#[test]
fn ordered_temporal_dither_moves_per_frame_and_averages_to_the_value() {
    let color = ColorSpec {
        transfer: Transfer::Linear,
        bit_depth: 4,
        dither: Dither::OrderedTemporal,
        ..ColorSpec::default()
    };
    let wall = three_port_wall(16, 16, color);
    let (mut r, mut f) = renderer(&wall);
    let v = [100u8, 37, 201];
    let src = rgba8(16, 16, |_, _| v);
    let layer = Layer::new(SourceImage::rgba8(16, 16, &src));
    render(&mut r, &mut f, &Scene::single(10, layer));
    let frame10 = f.clone();
    let q10 = quantized(&r, 4);
    render(&mut r, &mut f, &Scene::single(11, layer));
    assert!(!same(&f, &frame10), "frames 10 and 11 dither differently");
    let q11 = quantized(&r, 4);
    assert_ne!(q10, q11);
    render(&mut r, &mut f, &Scene::single(10, layer));
    assert!(
        same(&f, &frame10),
        "the same frame number gives the same bytes"
    );

    for (frame, q) in [(10, &q10), (11, &q11)] {
        for c in 0..3 {
            let truth = v[c] as f64 / 255.0 * 15.0;
            // Every aligned 8 x 8 tile, and one unaligned window.
            for (x0, y0) in [(0, 0), (8, 0), (0, 8), (8, 8), (3, 5)] {
                let mut sum = 0u32;
                let mut codes = std::collections::BTreeSet::new();
                for y in y0..y0 + 8 {
                    for x in x0..x0 + 8 {
                        let code = q[(y * 16 + x) * 3 + c];
                        sum += code as u32;
                        codes.insert(code);
                    }
                }
                let mean = sum as f64 / 64.0;
                assert!(
                    (mean - truth).abs() <= 1.0 / 64.0 + 1e-3,
                    "frame {frame} channel {c} tile ({x0}, {y0}): mean {mean}, value {truth}"
                );
                assert_eq!(
                    codes.into_iter().collect::<Vec<_>>(),
                    vec![truth.floor() as u16, truth.ceil() as u16],
                    "frame {frame} channel {c}: dither between the two nearest codes"
                );
            }
        }
    }
}

#[test]
fn ordered_dither_without_temporal_is_the_same_every_frame() {
    let color = ColorSpec {
        bit_depth: 5,
        dither: Dither::Ordered,
        ..ColorSpec::default()
    };
    let wall = three_port_wall(16, 16, color);
    let (mut r, mut f) = renderer(&wall);
    let src = rgba8(16, 16, |x, y| [(x * 16) as u8, (y * 16) as u8, 77]);
    let layer = Layer::new(SourceImage::rgba8(16, 16, &src));
    render(&mut r, &mut f, &Scene::single(1, layer));
    let a = f.clone();
    render(&mut r, &mut f, &Scene::single(2, layer));
    assert!(same(&f, &a));
}

// ---------------------------------------------------------------------------------------
// Bad input.

#[test]
fn bad_sources_are_errors_not_panics() {
    let wall = three_port_wall(16, 8, ColorSpec::default());
    let (mut r, mut f) = renderer(&wall);
    let short = vec![0u8; 4 * 4 * 4 - 1];
    let e = r
        .render_into(
            &Scene::single(0, Layer::new(SourceImage::rgba8(4, 4, &short))),
            &mut f,
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            RenderError::SourceSize {
                expected: 64,
                actual: 63,
                ..
            }
        ),
        "{e}"
    );
    let deep = vec![0u16; 10];
    let e = r
        .render_into(
            &Scene::single(0, Layer::new(SourceImage::rgba16(2, 2, &deep))),
            &mut f,
        )
        .unwrap_err();
    assert!(matches!(e, RenderError::SourceSize { .. }), "{e}");
    for (w, h) in [(0, 0), (0, 5), (5, 0)] {
        let e = r
            .render_into(
                &Scene::single(0, Layer::new(SourceImage::rgba8(w, h, &[]))),
                &mut f,
            )
            .unwrap_err();
        assert!(matches!(e, RenderError::EmptySource { .. }), "{e}");
    }
    // A bad second layer is found too.
    let good = vec![0u8; 64];
    let e = r
        .render_into(
            &Scene::crossfade(
                0,
                Layer::new(SourceImage::rgba8(4, 4, &good)),
                Layer::new(SourceImage::rgba8(4, 4, &short)),
                0.5,
            ),
            &mut f,
        )
        .unwrap_err();
    assert!(matches!(e, RenderError::SourceSize { .. }), "{e}");
    // The renderer still works afterwards.
    render(
        &mut r,
        &mut f,
        &Scene::single(0, Layer::new(SourceImage::rgba8(4, 4, &good))),
    );
}

#[test]
fn a_frame_for_another_wall_is_refused() {
    let wall = three_port_wall(16, 8, ColorSpec::default());
    let other = three_port_wall(
        16,
        8,
        ColorSpec {
            bit_depth: 12,
            ..ColorSpec::default()
        },
    );
    let (mut r, _) = renderer(&wall);
    let mut wrong = WallFrame::new(&Geometry::compile(&other));
    let e = r
        .render_into(&Scene::background(0), &mut wrong)
        .unwrap_err();
    assert!(matches!(e, RenderError::FrameMismatch(_)), "{e}");
    let mut missing_port = WallFrame::new(r.geometry());
    missing_port.ports.pop();
    let e = r
        .render_into(&Scene::background(0), &mut missing_port)
        .unwrap_err();
    assert!(matches!(e, RenderError::FrameMismatch(_)), "{e}");
}

#[test]
fn extreme_shapes_render_with_every_fit_filter_and_mode() {
    for mode in [ResampleMode::Linear, ResampleMode::Fast] {
        let wall = three_port_wall(
            37,
            11,
            ColorSpec {
                resample: mode,
                ..ColorSpec::default()
            },
        );
        let (mut r, mut f) = renderer(&wall);
        for (w, h) in [
            (1, 1),
            (1, 3000),
            (3000, 1),
            (2, 1),
            (37, 11),
            (38, 11),
            (36, 12),
        ] {
            let src8 = rgba8(w, h, |x, y| [(x % 256) as u8, (y % 256) as u8, 9]);
            let src16: Vec<u16> = src8.iter().map(|&v| v as u16 * 257).collect();
            for fit in Fit::ALL {
                for filter in Filter::ALL {
                    for src in [
                        SourceImage::rgba8(w, h, &src8),
                        SourceImage::rgba16(w, h, &src16),
                    ] {
                        let layer = Layer::new(src).fit(fit).filter(filter);
                        r.render_into(&Scene::single(0, layer), &mut f)
                            .unwrap_or_else(|e| panic!("{mode:?} {w}x{h} {fit:?} {filter:?}: {e}"));
                    }
                }
            }
        }
    }
}

#[test]
fn flat_sources_stay_flat_through_every_resample_path() {
    // A constant image resampled by any filter, in either mode, from 8- or 16-bit samples,
    // is the same constant: the formula's code everywhere.
    let v = [200u8, 90, 13];
    for mode in [ResampleMode::Linear, ResampleMode::Fast] {
        let wall = three_port_wall(
            24,
            10,
            ColorSpec {
                resample: mode,
                bit_depth: 12,
                ..ColorSpec::default()
            },
        );
        let (mut r, mut f) = renderer(&wall);
        for (w, h) in [(7, 5), (100, 37), (33, 90)] {
            let src8 = rgba8(w, h, |_, _| v);
            let src16: Vec<u16> = src8.iter().map(|&c| c as u16 * 257).collect();
            for filter in Filter::ALL {
                for deep in [false, true] {
                    let src = if deep {
                        SourceImage::rgba16(w, h, &src16)
                    } else {
                        SourceImage::rgba8(w, h, &src8)
                    };
                    let layer = Layer::new(src).fit(Fit::Stretch).filter(filter);
                    render(&mut r, &mut f, &Scene::single(0, layer));
                    for depth in [12, 16] {
                        let q = quantized(&r, depth);
                        for (i, &got) in q.iter().enumerate() {
                            let c = i % 3;
                            let want =
                                code(curve(Transfer::Power, 2.2, v[c] as f64 / 255.0), 1.0, depth);
                            assert!(
                                (got as i64 - want).abs() <= MAX_CODE_DIFF,
                                "{mode:?} {w}x{h} {filter:?} deep {deep} depth {depth}: value {i} is {got}, formula {want}"
                            );
                        }
                    }
                }
            }
        }
    }
}

/// Video frames (unkeyed, one output depth) take the fused colour + quantize pass; keyed
/// stills keep their colours and quantize separately. Both must give the same bytes, with a
/// calibrated module (the matrix kernel), an uncalibrated one (the gain kernel), ordered +
/// temporal dithering and a width that is not a multiple of 8.
fn single_depth_wall() -> Wall {
    let m = [[0.9, 0.2, -0.1], [0.05, 0.8, 0.1], [0.0, -0.2, 1.3]];
    let mut types = BTreeMap::new();
    types.insert("m".to_string(), mtype(20, 8, Some(4), "GBR"));
    let mut calibrated = module("m", 0, 0);
    calibrated.calibration = Some(m);
    let spec = WallSpec {
        name: "fused".into(),
        refresh_hz: 60,
        canvas: CanvasSpec {
            width: 37,
            height: 10,
            show: None,
            origin: None,
        },
        color: ColorSpec {
            brightness: 0.7,
            white_point: [1.0, 0.9, 0.8],
            bit_depth: 11,
            dither: Dither::OrderedTemporal,
            ..ColorSpec::default()
        },
        module_types: types,
        outputs: vec![port(
            "p",
            OutputFormat::Bitplanes,
            vec![calibrated, module("m", 20, 0), module("m", 10, 8)],
        )],
    };
    Wall::from_spec(&spec, "fused.toml").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn fused_colour_and_quantize_match_the_separate_stages() {
    let wall = single_depth_wall();
    let (mut keyed_r, mut keyed_f) = renderer(&wall);
    let (mut video_r, mut video_f) = renderer(&wall);
    let src = rgba8(53, 17, |x, y| {
        [
            (x * 5 + y * 3) as u8,
            (255 - x * 4) as u8,
            (y * 15 + x) as u8,
        ]
    });
    for n in 0..6u64 {
        let keyed = Layer::new(SourceImage::rgba8(53, 17, &src).with_key(1));
        let video = Layer::new(SourceImage::rgba8(53, 17, &src));
        render(&mut keyed_r, &mut keyed_f, &Scene::single(n, keyed));
        render(&mut video_r, &mut video_f, &Scene::single(n, video));
        assert!(
            same(&keyed_f, &video_f),
            "frame {n}: fused and separate differ"
        );
        assert_eq!(
            quantized(&keyed_r, 11),
            quantized(&video_r, 11),
            "frame {n}"
        );
        // The video frame took the fused pass: no separate quantize stage ran.
        assert_eq!(
            video_r.stage_times()[Stage::Quantize],
            std::time::Duration::ZERO,
            "frame {n}"
        );
    }
    // The comparison above is not vacuous: temporal dithering changes the bytes per frame.
    let mut other = video_f.clone();
    render(
        &mut video_r,
        &mut other,
        &Scene::single(7, Layer::new(SourceImage::rgba8(53, 17, &src))),
    );
    assert!(
        !same(&other, &video_f),
        "frame 7 dithers differently from frame 5"
    );
    assert!(
        keyed_r.cache_hits() >= 5,
        "the keyed renderer took the still path"
    );
}

/// A 1:1 video source goes straight from the source rows to the quantized buffer
/// (linearize, colour and quantize in one pass per row); a keyed still of the same pixels
/// takes the separate stages. Same bytes, for 8- and 16-bit sources and every fit (all are
/// 1:1 when the sizes match).
#[test]
fn direct_one_to_one_video_matches_the_separate_stages() {
    let wall = single_depth_wall();
    let src = rgba8(37, 10, |x, y| {
        [(x * 7) as u8, (y * 25) as u8, (x * y) as u8]
    });
    let src16: Vec<u16> = src.iter().map(|&v| (u16::from(v) * 257) ^ 3).collect();
    for fit in Fit::ALL {
        for deep in [false, true] {
            let (mut keyed_r, mut keyed_f) = renderer(&wall);
            let (mut video_r, mut video_f) = renderer(&wall);
            for n in 0..4u64 {
                let image = if deep {
                    SourceImage::rgba16(37, 10, &src16)
                } else {
                    SourceImage::rgba8(37, 10, &src)
                };
                render(
                    &mut keyed_r,
                    &mut keyed_f,
                    &Scene::single(n, Layer::new(image.with_key(3)).fit(fit)),
                );
                render(
                    &mut video_r,
                    &mut video_f,
                    &Scene::single(n, Layer::new(image).fit(fit)),
                );
                let what = format!("{fit:?} deep {deep} frame {n}");
                assert!(
                    same(&keyed_f, &video_f),
                    "{what}: direct and separate differ"
                );
                assert_eq!(quantized(&keyed_r, 11), quantized(&video_r, 11), "{what}");
                // The video frame took the direct pass: no separate linearize ran.
                assert_eq!(
                    video_r.stage_times()[Stage::Linearize],
                    std::time::Duration::ZERO,
                    "{what}"
                );
                assert_ne!(
                    keyed_r.stage_times()[Stage::Linearize]
                        + keyed_r.stage_times()[Stage::Quantize],
                    std::time::Duration::ZERO
                );
            }
        }
    }
}

/// A scaled video frame that covers the canvas is resampled (linear mode: linearized
/// row by row into a ring first), coloured and quantized row by row straight into the
/// quantized buffer; a keyed still of the same pixels takes the separate stages (canvas,
/// colour, quantize). Same bytes, in both resample modes, for 8- and 16-bit sources (fast
/// mode on 16-bit takes the general path), down- and upscales, every filter, and fits that
/// fill the canvas.
#[test]
fn scaled_video_matches_the_separate_stages() {
    for mode in [ResampleMode::Fast, ResampleMode::Linear] {
        let mut wall = single_depth_wall();
        wall.color.resample = mode;
        for (sw, sh) in [(111, 30), (19, 6), (53, 17)] {
            let src = rgba8(sw, sh, |x, y| {
                [
                    (x * 9 + y) as u8,
                    (y * 31 + x * 2) as u8,
                    (x * y + 40) as u8,
                ]
            });
            let src16: Vec<u16> = src.iter().map(|&v| (u16::from(v) * 257) ^ 5).collect();
            for filter in Filter::ALL {
                for fit in [Fit::Stretch, Fit::Cover] {
                    for deep in [false, true] {
                        let (mut keyed_r, mut keyed_f) = renderer(&wall);
                        let (mut video_r, mut video_f) = renderer(&wall);
                        for n in 0..3u64 {
                            let image = if deep {
                                SourceImage::rgba16(sw, sh, &src16)
                            } else {
                                SourceImage::rgba8(sw, sh, &src)
                            };
                            let keyed = Layer::new(image.with_key(5)).fit(fit).filter(filter);
                            render(&mut keyed_r, &mut keyed_f, &Scene::single(n, keyed));
                            let video = Layer::new(image).fit(fit).filter(filter);
                            render(&mut video_r, &mut video_f, &Scene::single(n, video));
                            let what = format!(
                                "{mode:?} {sw}x{sh} {filter:?} {fit:?} deep {deep} frame {n}"
                            );
                            assert!(
                                same(&keyed_f, &video_f),
                                "{what}: direct and separate differ"
                            );
                            assert_eq!(quantized(&keyed_r, 11), quantized(&video_r, 11), "{what}");
                            // The video frame took the direct pass (no colour or quantize
                            // stage of their own) unless it is 16-bit in fast mode; the
                            // keyed one ran them.
                            let (v, k) = (video_r.stage_times(), keyed_r.stage_times());
                            let direct = !(mode == ResampleMode::Fast && deep);
                            let zero = std::time::Duration::ZERO;
                            assert_eq!(
                                v[Stage::Color] + v[Stage::Quantize] == zero,
                                direct,
                                "{what}"
                            );
                            assert_ne!(v[Stage::Resample], zero, "{what}");
                            if n == 0 {
                                assert_ne!(k[Stage::Color], zero, "{what}");
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A single-depth wall laid out so that no band cut avoids every module: two columns of
/// 32x16 (1/8 scan) modules, the right one 7 rows lower, some upside down (reversed runs),
/// some on a zigzag mapper (scattered slots), with an 8-bit pixel stream at the bottom (a
/// port the fused pack does not cover).
fn banded_wall(mode: ResampleMode) -> Wall {
    let mut types = BTreeMap::new();
    types.insert("a".to_string(), mtype(32, 16, Some(8), "RGB"));
    let mut zig = mtype(32, 32, Some(8), "GBR");
    zig.mapper = "stripe".into();
    types.insert("z".to_string(), zig);
    types.insert("s".to_string(), mtype(64, 12, None, "BGR"));
    let (mut left, mut right) = (Vec::new(), Vec::new());
    let (mut yl, mut yr) = (0i64, 7i64);
    for i in 0..6i64 {
        let kind = if i % 3 == 1 { "z" } else { "a" };
        let mut m = module(kind, 0, yl);
        if i % 2 == 1 {
            m.rotate = 180;
        }
        left.push(m);
        yl += if kind == "z" { 32 } else { 16 };
        let kind = if i % 3 == 2 { "z" } else { "a" };
        right.push(module(kind, 32, yr));
        yr += if kind == "z" { 32 } else { 16 };
    }
    let spec = WallSpec {
        name: "banded".into(),
        refresh_hz: 60,
        canvas: CanvasSpec {
            width: 64,
            height: 150,
            show: None,
            origin: None,
        },
        color: ColorSpec {
            brightness: 0.9,
            white_point: [1.0, 0.85, 0.95],
            bit_depth: 8,
            dither: Dither::OrderedTemporal,
            resample: mode,
            ..ColorSpec::default()
        },
        module_types: types,
        outputs: vec![
            port("left", OutputFormat::Bitplanes, left),
            port("right", OutputFormat::Bitplanes, right),
            port("stream", OutputFormat::Rgb8, vec![module("s", 0, 138)]),
        ],
    };
    Wall::from_spec(&spec, "banded.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// Video frames on the direct paths pack each bit-plane group inside the render band that
/// writes its rows (groups whose rows span two bands after the bands); keyed stills pack
/// the whole buffer after the frame. Same bytes on every port, for 1, 2 and 3 threads, 1:1
/// and scaled sources, 8- and 16-bit, both resample modes.
#[test]
fn packing_inside_the_bands_matches_packing_after_the_frame() {
    for mode in [ResampleMode::Fast, ResampleMode::Linear] {
        let wall = banded_wall(mode);
        for threads in [1, 2, 3] {
            let new = || {
                let r = Renderer::with_threads(&wall, threads).unwrap_or_else(|e| panic!("{e}"));
                let f = WallFrame::new(r.geometry());
                (r, f)
            };
            let (mut keyed_r, mut keyed_f) = new();
            let (mut video_r, mut video_f) = new();
            let (local, rest) = video_r.fused_units().unwrap_or((0, 0));
            assert!(
                local > 0,
                "{mode:?} {threads} threads: no units packed in band"
            );
            if threads > 1 {
                assert!(rest > 0, "{mode:?} {threads} threads: no unit spans a cut");
            }
            for (sw, sh) in [(64, 150), (97, 211), (40, 61)] {
                let src = rgba8(sw, sh, |x, y| {
                    [(x * 7 + y) as u8, (y * 5 + x * 3) as u8, (x * y + 9) as u8]
                });
                let src16: Vec<u16> = src.iter().map(|&v| (u16::from(v) * 257) ^ 7).collect();
                for deep in [false, true] {
                    for n in 0..2u64 {
                        let image = if deep {
                            SourceImage::rgba16(sw, sh, &src16)
                        } else {
                            SourceImage::rgba8(sw, sh, &src)
                        };
                        let keyed = Layer::new(image.with_key(9)).fit(Fit::Stretch);
                        render(&mut keyed_r, &mut keyed_f, &Scene::single(n, keyed));
                        let video = Layer::new(image).fit(Fit::Stretch);
                        render(&mut video_r, &mut video_f, &Scene::single(n, video));
                        let what =
                            format!("{mode:?} {threads} threads {sw}x{sh} deep {deep} frame {n}");
                        assert!(same(&keyed_f, &video_f), "{what}: in-band and after differ");
                        assert_eq!(quantized(&keyed_r, 8), quantized(&video_r, 8), "{what}");
                    }
                }
            }
        }
    }
}
