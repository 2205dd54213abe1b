//! Planar Y'CbCr sources: the conversion against an f64 reference written here (matrix,
//! range, chroma siting and bilinear upsampling from the standards' numbers, not from the
//! renderer's code), then every CPU path (1:1, linear and fast resampling, the direct
//! path, the general path) against the same picture handed over as RGBA, the plane
//! validation, and 10-bit depth through linear light.

// Tests: a failed setup should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledwall_render::wall::{
    CanvasSpec, ColorSpec, ModuleSpec, ModuleTypeSpec, OutputFormat, OutputSpec, ResampleMode,
    WallSpec,
};
use ledwall_render::yuv::{YuvImage, YuvLayout, YuvMatrix, YuvRange};
use ledwall_render::{Filter, Fit, Layer, Renderer, Scene, SourceImage, Wall, WallFrame};
use std::collections::BTreeMap;

/// A picture's planes, owned, with padded strides (padding filled with junk).
struct Planes {
    layout: YuvLayout,
    w: u32,
    h: u32,
    p8: [Vec<u8>; 3],
    p16: [Vec<u16>; 3],
    strides: [usize; 3],
    /// The sample values (10-bit for the deep layouts): luma, then Cb and Cr at chroma size.
    y: Vec<u32>,
    cb: Vec<u32>,
    cr: Vec<u32>,
}

impl Planes {
    /// Sample values `luma(x, y)` and `chroma(cx, cy) = (cb, cr)`, in the layout's bits.
    fn new(
        layout: YuvLayout,
        w: u32,
        h: u32,
        pad: usize,
        luma: impl Fn(u32, u32) -> u32,
        chroma: impl Fn(u32, u32) -> (u32, u32),
    ) -> Planes {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let max = (1u32 << layout.bits()) - 1;
        let y: Vec<u32> = (0..h)
            .flat_map(|j| (0..w).map(move |i| (j, i)))
            .map(|(j, i)| luma(i, j).min(max))
            .collect();
        let c: Vec<(u32, u32)> = (0..ch)
            .flat_map(|j| (0..cw).map(move |i| (j, i)))
            .map(|(j, i)| chroma(i, j))
            .map(|(b, r)| (b.min(max), r.min(max)))
            .collect();
        let semi = layout.semi_planar();
        let strides = if semi {
            [w as usize + pad, 2 * cw as usize + pad, 0]
        } else {
            [w as usize + pad, cw as usize + pad, cw as usize + pad]
        };
        // Each sample as stored: P010 high-aligned, with junk in the low 6 bits.
        let store = |v: u32| -> u32 {
            match layout {
                YuvLayout::P010 => (v << 6) | (v & 0x2b),
                _ => v,
            }
        };
        let junk = if layout.is_deep() { 0xffff } else { 0xab };
        let mut planes: [Vec<u32>; 3] = [
            vec![junk; strides[0] * h as usize],
            vec![junk; strides[1] * ch as usize],
            vec![junk; strides[2] * ch as usize],
        ];
        for j in 0..h as usize {
            for i in 0..w as usize {
                planes[0][j * strides[0] + i] = store(y[j * w as usize + i]);
            }
        }
        for j in 0..ch as usize {
            for i in 0..cw as usize {
                let (b, r) = c[j * cw as usize + i];
                if semi {
                    planes[1][j * strides[1] + 2 * i] = store(b);
                    planes[1][j * strides[1] + 2 * i + 1] = store(r);
                } else {
                    planes[1][j * strides[1] + i] = store(b);
                    planes[2][j * strides[2] + i] = store(r);
                }
            }
        }
        // The last row of each plane ends at its samples (no trailing padding).
        for (p, rows) in [(0, h as usize), (1, ch as usize), (2, ch as usize)] {
            if strides[p] > 0 {
                let row = if p == 0 {
                    w as usize
                } else if semi {
                    2 * cw as usize
                } else {
                    cw as usize
                };
                planes[p].truncate(strides[p] * (rows - 1) + row);
            } else {
                planes[p].clear();
            }
        }
        Planes {
            layout,
            w,
            h,
            p8: planes
                .clone()
                .map(|p| p.into_iter().map(|v| v as u8).collect()),
            p16: planes.map(|p| p.into_iter().map(|v| v as u16).collect()),
            strides,
            y,
            cb: c.iter().map(|c| c.0).collect(),
            cr: c.iter().map(|c| c.1).collect(),
        }
    }

    fn image(&self, matrix: YuvMatrix, range: YuvRange) -> YuvImage<'_> {
        let [a, b, c] = &self.p8;
        let [d, e, f] = &self.p16;
        let s = self.strides;
        match self.layout {
            YuvLayout::Yuv420p => YuvImage::yuv420p([a, b, c], s, matrix, range),
            YuvLayout::Nv12 => YuvImage::nv12(a, b, [s[0], s[1]], matrix, range),
            YuvLayout::Yuv420p10 => YuvImage::yuv420p10([d, e, f], s, matrix, range),
            YuvLayout::P010 => YuvImage::p010(d, e, [s[0], s[1]], matrix, range),
        }
    }

    /// The f64 reference: RGBA codes (8-bit layouts: 0..=255; 10-bit: 0..=65535).
    fn reference(&self, matrix: YuvMatrix, range: YuvRange) -> Vec<u16> {
        let (kr, kb) = match matrix {
            YuvMatrix::Bt601 => (0.299, 0.114),
            YuvMatrix::Bt709 => (0.2126, 0.0722),
            YuvMatrix::Bt2020 => (0.2627, 0.0593),
        };
        let ten = self.layout.is_deep();
        let (y_off, y_scale, c_off, c_scale) = match (range, ten) {
            (YuvRange::Limited, false) => (16.0, 219.0, 128.0, 224.0),
            (YuvRange::Limited, true) => (64.0, 876.0, 512.0, 896.0),
            (YuvRange::Full, false) => (0.0, 255.0, 128.0, 255.0),
            (YuvRange::Full, true) => (0.0, 1023.0, 512.0, 1023.0),
        };
        let out_max = if ten { 65535.0 } else { 255.0 };
        let (w, h) = (self.w as usize, self.h as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        // Bilinear chroma at chroma-grid position (cx, cy), indices clamped to the plane.
        let sample = |plane: &[u32], cx: f64, cy: f64| -> f64 {
            let (x0, y0) = (cx.floor(), cy.floor());
            let (fx, fy) = (cx - x0, cy - y0);
            let at = |i: f64, j: f64| {
                let i = (i.max(0.0) as usize).min(cw - 1);
                let j = (j.max(0.0) as usize).min(ch - 1);
                f64::from(plane[j * cw + i])
            };
            (1.0 - fy) * ((1.0 - fx) * at(x0, y0) + fx * at(x0 + 1.0, y0))
                + fy * ((1.0 - fx) * at(x0, y0 + 1.0) + fx * at(x0 + 1.0, y0 + 1.0))
        };
        let mut out = Vec::with_capacity(w * h * 4);
        for j in 0..h {
            for i in 0..w {
                // Siting: chroma column i' on luma column 2i'; chroma row j' midway between
                // luma rows 2j' and 2j' + 1 (luma row y at chroma row (y − 0.5) / 2).
                let (cx, cy) = (i as f64 / 2.0, (j as f64 - 0.5) / 2.0);
                let ey = (f64::from(self.y[j * w + i]) - y_off) / y_scale;
                let pb = (sample(&self.cb, cx, cy) - c_off) / c_scale;
                let pr = (sample(&self.cr, cx, cy) - c_off) / c_scale;
                let r = ey + 2.0 * (1.0 - kr) * pr;
                let b = ey + 2.0 * (1.0 - kb) * pb;
                let g = (ey - kr * r - kb * b) / (1.0 - kr - kb);
                for v in [r, g, b] {
                    out.push((v.clamp(0.0, 1.0) * out_max).round() as u16);
                }
                out.push(out_max as u16);
            }
        }
        out
    }

    /// The renderer's conversion (RGBA codes, widened to u16).
    fn converted(&self, matrix: YuvMatrix, range: YuvRange) -> Vec<u16> {
        let n = (self.w * self.h * 4) as usize;
        let img = self.image(matrix, range);
        if self.layout.is_deep() {
            let mut out = vec![0u16; n];
            img.to_rgba16(self.w, self.h, &mut out).unwrap();
            out
        } else {
            let mut out = vec![0u8; n];
            img.to_rgba8(self.w, self.h, &mut out).unwrap();
            out.into_iter().map(u16::from).collect()
        }
    }
}

/// A deterministic pseudo-random sequence.
fn noise(seed: u32) -> impl Fn(u32, u32) -> u32 {
    move |x, y| {
        let mut v = x.wrapping_mul(0x9e37_79b9) ^ y.wrapping_mul(0x85eb_ca6b) ^ seed;
        v ^= v >> 15;
        v = v.wrapping_mul(0x2c1b_3c6d);
        v ^ (v >> 12)
    }
}

/// The test pictures of `layout` at `w` x `h` (strides padded by `pad`): a luma ramp over
/// the whole code range (beyond the limited range at both ends) with neutral chroma,
/// chroma ramps (Cb across, Cr down) on mid grey, colour bars (75 % and 100 %, made with
/// the matrix under test) and noise in every plane (every neighbour differs: the siting
/// and the interpolation weights show).
fn pictures(layout: YuvLayout, w: u32, h: u32, pad: usize, matrix: YuvMatrix) -> Vec<Planes> {
    let bits = layout.bits();
    let max = (1u32 << bits) - 1;
    let mid = 1u32 << (bits - 1);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let ramp = |i: u32, n: u32| i * max / (n - 1).max(1);
    // Bars: R'G'B' in {0, 0.75, 1} to full-range Y'CbCr with the matrix (clamped codes).
    let (kr, kb) = matrix.kr_kb();
    let bar = move |x: u32| -> [f64; 3] {
        let k = (x * 8 / w) as usize;
        let lvl = if k.is_multiple_of(2) { 0.75 } else { 1.0 };
        let rgb = [
            [1, 1, 1],
            [1, 1, 0],
            [0, 1, 1],
            [0, 1, 0],
            [1, 0, 1],
            [1, 0, 0],
            [0, 0, 1],
            [0, 0, 0],
        ][k];
        let [r, g, b] = rgb.map(|c| c as f64 * lvl);
        let y = kr * r + (1.0 - kr - kb) * g + kb * b;
        [
            y,
            (b - y) / (2.0 * (1.0 - kb)),
            (r - y) / (2.0 * (1.0 - kr)),
        ]
    };
    let m = f64::from(max);
    let to = move |v: f64, off: f64| (v * m + off).round().clamp(0.0, m) as u32;
    let n = noise(bits * 7 + w);
    let n2 = noise(bits * 7 + w);
    vec![
        Planes::new(
            layout,
            w,
            h,
            pad,
            move |x, _| ramp(x, w),
            move |_, _| (mid, mid),
        ),
        Planes::new(
            layout,
            w,
            h,
            pad,
            move |_, _| mid,
            move |cx, cy| (ramp(cx, cw), ramp(cy, ch)),
        ),
        Planes::new(
            layout,
            w,
            h,
            pad,
            move |x, _| to(bar(x)[0], 0.0),
            move |cx, _| {
                let b = bar((2 * cx).min(w - 1));
                (to(b[1], f64::from(mid)), to(b[2], f64::from(mid)))
            },
        ),
        Planes::new(
            layout,
            w,
            h,
            pad,
            move |x, y| n(x, y) & max,
            move |cx, cy| (n2(cx + 1000, cy) & max, n2(cx, cy + 1000) & max),
        ),
    ]
}

const SIZES: [(u32, u32, usize); 4] = [(16, 8, 0), (37, 23, 5), (2, 2, 3), (1, 1, 0)];

/// Every layout × matrix × range, every picture and size (odd ones, padded strides): the
/// renderer's R'G'B' codes within one code of the f64 reference.
#[test]
fn conversion_is_within_one_code_of_the_reference() {
    for layout in YuvLayout::ALL {
        for matrix in YuvMatrix::ALL {
            for range in YuvRange::ALL {
                for (w, h, pad) in SIZES {
                    for (k, pic) in pictures(layout, w, h, pad, matrix).iter().enumerate() {
                        let want = pic.reference(matrix, range);
                        let got = pic.converted(matrix, range);
                        let worst = want
                            .iter()
                            .zip(&got)
                            .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs())
                            .max()
                            .unwrap();
                        let at = want.iter().zip(&got).position(|(a, b)| a.abs_diff(*b) > 1);
                        assert!(
                            worst <= 1,
                            "{layout:?} {matrix:?} {range:?} {w}x{h} picture {k}: off by {worst} \
                             at sample {at:?}"
                        );
                    }
                }
            }
        }
    }
}

/// A one-port wall (`rgb16`, no dither, power 2.2) of `w` x `h` in `mode`.
fn wall(w: u32, h: u32, mode: ResampleMode) -> Wall {
    wall_of(w, h, mode, OutputFormat::Rgb16)
}

/// [`wall`] with a port of `format`.
fn wall_of(w: u32, h: u32, mode: ResampleMode, format: OutputFormat) -> Wall {
    let mut types = BTreeMap::new();
    types.insert(
        "m".to_string(),
        ModuleTypeSpec {
            size: [w, h],
            scan: None,
            mapper: "direct".into(),
            table: None,
            color_order: "RGB".into(),
            serpentine: false,
        },
    );
    let spec = WallSpec {
        name: "yuv".into(),
        refresh_hz: 60,
        canvas: CanvasSpec {
            width: w,
            height: h,
            show: None,
            origin: None,
        },
        color: ColorSpec {
            resample: mode,
            bit_depth: 12,
            ..ColorSpec::default()
        },
        module_types: types,
        outputs: vec![OutputSpec {
            name: "p".into(),
            format,
            sink: "null".into(),
            modules: vec![ModuleSpec {
                kind: "m".into(),
                at: [0, 0],
                rotate: 0,
                mirror: Default::default(),
                calibration: None,
            }],
            grid: None,
            region: None,
            encoding: None,
        }],
    };
    Wall::from_spec(&spec, "yuv.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// Render `layers` (built from `src`) and return the port bytes.
fn render(r: &mut Renderer, src: SourceImage<'_>, fit: Fit, keyed: bool, n: u64) -> Vec<u8> {
    let src = if keyed { src.with_key(n) } else { src };
    let layer = Layer::new(src).fit(fit).filter(Filter::Lanczos3);
    let mut frame = WallFrame::new(r.geometry());
    r.render_into(&Scene::single(n, layer), &mut frame).unwrap();
    frame.ports[0].bytes.clone()
}

/// Every CPU path gives the bytes of the same picture handed over as RGBA (the codes of
/// the conversion checked above): 1:1 (the direct path: video; the general path: keyed),
/// scaled in linear light and in code values, covering the canvas (direct) and
/// letterboxed (general), for every layout, with odd sizes and padded strides.
#[test]
fn every_cpu_path_matches_the_rgba_render() {
    for mode in [ResampleMode::Linear, ResampleMode::Fast] {
        let (cw, ch) = (24u32, 14u32);
        let mut r = Renderer::with_threads(&wall(cw, ch, mode), 2).unwrap();
        for layout in YuvLayout::ALL {
            for (matrix, range) in [
                (YuvMatrix::Bt601, YuvRange::Limited),
                (YuvMatrix::Bt709, YuvRange::Full),
                (YuvMatrix::Bt2020, YuvRange::Limited),
            ] {
                for (w, h, pad, fit) in [
                    (cw, ch, 3, Fit::Center),
                    (cw + 1, ch + 1, 0, Fit::Center),
                    (37, 23, 5, Fit::Stretch),
                    (37, 23, 5, Fit::Contain),
                    (13, 9, 1, Fit::Cover),
                ] {
                    for pic in pictures(layout, w, h, pad, matrix) {
                        let img = pic.image(matrix, range);
                        let rgba = pic.converted(matrix, range);
                        let rgba8: Vec<u8> = rgba.iter().map(|&v| v as u8).collect();
                        let want_src = if layout.is_deep() {
                            SourceImage::rgba16(w, h, &rgba)
                        } else {
                            SourceImage::rgba8(w, h, &rgba8)
                        };
                        for keyed in [false, true] {
                            let n = u64::from(keyed) + 7;
                            let want = render(&mut r, want_src, fit, keyed, n);
                            let got = render(&mut r, SourceImage::yuv(w, h, img), fit, keyed, n);
                            let diff = want.iter().zip(&got).position(|(a, b)| a != b);
                            assert!(
                                diff.is_none(),
                                "{mode:?} {layout:?} {matrix:?} {range:?} {w}x{h} {fit:?} \
                                 keyed {keyed}: first difference at byte {diff:?}"
                            );
                        }
                    }
                }
            }
        }
    }
}

/// A 10-bit luma ramp (full range, grey, codes 512..=1023, one a column) 1:1 onto a wall
/// with a 16-bit port: every code gives its own linear value and its own output code; the
/// same ramp in 8 bits (each code / 4) has a quarter as many.
#[test]
fn ten_bit_ramps_keep_their_depth_through_linear_light() {
    let (w, h) = (512u32, 2u32);
    for mode in [ResampleMode::Linear, ResampleMode::Fast] {
        let mut r = Renderer::with_threads(&wall(w, h, mode), 2).unwrap();
        let distinct = |layout: YuvLayout, shift: u32, r: &mut Renderer| {
            let mid = 1u32 << (layout.bits() - 1);
            let pic = Planes::new(
                layout,
                w,
                h,
                0,
                |x, _| (512 + x) >> shift,
                |_, _| (mid, mid),
            );
            let img = pic.image(YuvMatrix::Bt709, YuvRange::Full);
            let bytes = render(r, SourceImage::yuv(w, h, img), Fit::Center, false, 1);
            // Row 0, red of each pixel (rgb16 port: big-endian u16 per channel).
            let mut reds: Vec<u16> = (0..w as usize)
                .map(|x| u16::from_be_bytes([bytes[x * 6], bytes[x * 6 + 1]]))
                .collect();
            let increasing = reds.windows(2).all(|p| p[0] < p[1]);
            reds.dedup();
            (reds.len(), increasing)
        };
        for layout in [YuvLayout::Yuv420p10, YuvLayout::P010] {
            let (n, increasing) = distinct(layout, 0, &mut r);
            assert!(
                increasing && n == 512,
                "{mode:?} {layout:?}: {n} distinct of 512"
            );
        }
        let (n, _) = distinct(YuvLayout::Yuv420p, 2, &mut r);
        assert_eq!(n, 128, "{mode:?}: the 8-bit ramp has 128 codes");
    }
}

/// The planes are checked against the size: the sample type of the layout, each stride
/// at least a row, each plane long enough; odd sizes take ceil(w/2) x ceil(h/2) chroma.
#[test]
fn planes_are_checked_against_the_size() {
    let (m, r) = (YuvMatrix::Bt709, YuvRange::Limited);
    let y = vec![0u8; 5 * 3];
    let c = vec![0u8; 3 * 2];
    let cc = vec![0u8; 6 * 2];
    let ok = YuvImage::yuv420p([&y, &c, &c], [5, 3, 3], m, r);
    SourceImage::yuv(5, 3, ok).check().unwrap();
    SourceImage::yuv(5, 3, YuvImage::nv12(&y, &cc, [5, 6], m, r))
        .check()
        .unwrap();
    let err = |img: YuvImage<'_>, w: u32, h: u32| {
        SourceImage::yuv(w, h, img)
            .check()
            .map(|_| panic!("{w}x{h} {:?} accepted", img.layout))
            .unwrap_err()
            .to_string()
    };
    // Chroma one column short (5 wide needs 3).
    let short = vec![0u8; 2 * 2];
    let e = err(YuvImage::yuv420p([&y, &short, &c], [5, 2, 3], m, r), 5, 3);
    assert!(e.contains("strides[1]") && e.contains("yuv420p"), "{e}");
    let e = err(YuvImage::yuv420p([&y, &c, &c[..5]], [5, 3, 3], m, r), 5, 3);
    assert!(e.contains("planes[2] (Cr)") && e.contains("need 6"), "{e}");
    let e = err(YuvImage::yuv420p([&y, &c, &c], [5, 3, 3], m, r), 5, 4);
    assert!(e.contains("planes[0] (Y)"), "{e}");
    let e = err(YuvImage::nv12(&y, &cc, [5, 5], m, r), 5, 3);
    assert!(e.contains("nv12") && e.contains("strides[1]"), "{e}");
    // A 10-bit layout with 8-bit planes.
    let mut bad = YuvImage::yuv420p([&y, &c, &c], [5, 3, 3], m, r);
    bad.layout = YuvLayout::Yuv420p10;
    let e = err(bad, 5, 3);
    assert!(e.contains("u16 planes"), "{e}");
    // The conversion checks its output size too.
    let mut out = vec![0u8; 5 * 3 * 4 - 1];
    let e = ok.to_rgba8(5, 3, &mut out).unwrap_err().to_string();
    assert!(e.contains("out"), "{e}");
    // A whole rawvideo frame splits into its planes.
    let frame = vec![0u8; YuvLayout::Nv12.frame_samples(5, 3)];
    assert_eq!(frame.len(), 15 + 12);
    let img = YuvImage::from_frame8(YuvLayout::Nv12, 5, 3, &frame, m, r).unwrap();
    SourceImage::yuv(5, 3, img).check().unwrap();
    assert!(YuvImage::from_frame8(YuvLayout::P010, 5, 3, &frame, m, r).is_none());
    assert!(YuvImage::from_frame8(YuvLayout::Nv12, 5, 3, &frame[1..], m, r).is_none());
}

mod common;

/// The GPU renderer against the CPU one on Y'CbCr sources (every layout, 1:1 and scaled, in
/// both resample modes): output codes within [`common::MAX_CODE_DIFF`], the tolerance of
/// `gpu_parity.rs` for RGBA. Skips loudly without an adapter (fails under `CI`).
#[test]
fn gpu_matches_cpu_on_yuv_sources() {
    let Some(gpu) = common::device() else { return };
    for mode in [ResampleMode::Linear, ResampleMode::Fast] {
        let (cw, ch) = (24u32, 14u32);
        // An 8-bit port: the fast mode's fixed-point CPU resampler is within 0.1 of an 8-bit
        // code of the GPU's float one, which a 16-bit port would show as tens of codes
        // (for RGBA sources as much as for these).
        let wall = wall_of(cw, ch, mode, OutputFormat::Rgb8);
        let mut cpu = Renderer::with_threads(&wall, 2).unwrap();
        let mut g = ledwall_render::gpu::Renderer::with_gpu(&wall, gpu.clone(), None).unwrap();
        for layout in YuvLayout::ALL {
            for (w, h, fit) in [(cw, ch, Fit::Center), (37, 23, Fit::Contain)] {
                let pic = &pictures(layout, w, h, 3, YuvMatrix::Bt709)[3];
                let img = pic.image(YuvMatrix::Bt709, YuvRange::Limited);
                let scene = Scene::single(3, Layer::new(SourceImage::yuv(w, h, img)).fit(fit));
                let (mut fc, mut fg) = (
                    WallFrame::new(cpu.geometry()),
                    WallFrame::new(cpu.geometry()),
                );
                cpu.render_into(&scene, &mut fc).unwrap();
                g.render_into(&scene, &mut fg).unwrap();
                let codes = |f: &WallFrame| -> Vec<i32> {
                    f.ports[0].bytes.iter().map(|&b| i32::from(b)).collect()
                };
                let (a, b) = (codes(&fc), codes(&fg));
                let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).max().unwrap();
                assert!(
                    worst <= common::MAX_CODE_DIFF,
                    "{mode:?} {layout:?} {w}x{h}: cpu and gpu differ by {worst} codes"
                );
            }
        }
    }
}
