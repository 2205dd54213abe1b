//! Planar Y'CbCr sources on the GPU, converted by the first shader that reads the planes:
//! the codes against an f64 reference written here from the standards' numbers (every
//! layout × matrix × range, odd sizes, padded strides, junk in the padding and in p010's low
//! bits), then the scaled paths (linear mode's linearize, fast mode's vertical pass) against
//! the same picture handed over as RGBA. Skips loudly without an adapter (fails under `CI`).

// Tests: a failed setup should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::walls::{module, mtype, port};
use ledwall_render::gpu;
use ledwall_render::wall::{CanvasSpec, ColorSpec, OutputFormat, ResampleMode, Transfer, WallSpec};
use ledwall_render::yuv::{YuvImage, YuvLayout, YuvMatrix, YuvRange};
use ledwall_render::{Filter, Fit, Layer, Scene, SourceImage, Wall, WallFrame};
use std::collections::BTreeMap;

/// A picture's planes, owned, strides padded with junk.
struct Pic {
    layout: YuvLayout,
    w: u32,
    h: u32,
    p8: [Vec<u8>; 3],
    p16: [Vec<u16>; 3],
    strides: [usize; 3],
    /// Sample values: luma, and (Cb, Cr) at chroma size.
    y: Vec<u32>,
    c: Vec<(u32, u32)>,
}

impl Pic {
    fn new(layout: YuvLayout, w: u32, h: u32, pad: usize, seed: u32) -> Pic {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let max = (1u32 << layout.bits()) - 1;
        let mut rng = common::Rng(u64::from(seed) * 0x9e37_79b9 + 1);
        let mut next = move || (rng.next() >> 20) as u32;
        // Noise, with a quarter of the samples at the extremes (beyond the limited range).
        let mut sample = move || match next() % 8 {
            0 => 0,
            1 => max,
            _ => next() & max,
        };
        let y: Vec<u32> = (0..w * h).map(|_| sample()).collect();
        let c: Vec<(u32, u32)> = (0..cw * ch).map(|_| (sample(), sample())).collect();
        let semi = layout.semi_planar();
        let (w_, cw_) = (w as usize, cw as usize);
        let strides = if semi {
            [w_ + pad, 2 * cw_ + pad, 0]
        } else {
            [w_ + pad, cw_ + pad, cw_ + pad]
        };
        // As stored: p010 high-aligned with junk in the low 6 bits; junk in the padding.
        let store = |v: u32, i: usize| -> u32 {
            if layout == YuvLayout::P010 {
                (v << 6) | (i as u32 * 7 % 64)
            } else {
                v
            }
        };
        let junk = |i: usize| (i as u32 * 37 + 11) & max;
        let mut planes: [Vec<u32>; 3] = Default::default();
        planes[0] = (0..strides[0] * h as usize).map(junk).collect();
        for j in 0..h as usize {
            for i in 0..w_ {
                planes[0][j * strides[0] + i] = store(y[j * w_ + i], i);
            }
        }
        let rows = ch as usize;
        if semi {
            planes[1] = (0..strides[1] * rows).map(junk).collect();
            for j in 0..rows {
                for i in 0..cw_ {
                    let (b, r) = c[j * cw_ + i];
                    planes[1][j * strides[1] + 2 * i] = store(b, i);
                    planes[1][j * strides[1] + 2 * i + 1] = store(r, i + 1);
                }
            }
        } else {
            for p in 1..3 {
                planes[p] = (0..strides[p] * rows).map(junk).collect();
                for j in 0..rows {
                    for i in 0..cw_ {
                        let (b, r) = c[j * cw_ + i];
                        planes[p][j * strides[p] + i] = store(if p == 1 { b } else { r }, i);
                    }
                }
            }
        }
        Pic {
            layout,
            w,
            h,
            p8: planes
                .clone()
                .map(|p| p.into_iter().map(|v| v as u8).collect()),
            p16: planes.map(|p| p.into_iter().map(|v| v as u16).collect()),
            strides,
            y,
            c,
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

    /// The f64 reference codes, R'G'B' per pixel (8-bit layouts 0..=255, 10-bit
    /// 0..=65535): H.273's equations, MPEG-2 chroma siting, bilinear, edges clamped.
    fn reference(&self, matrix: YuvMatrix, range: YuvRange) -> Vec<[u32; 3]> {
        let (kr, kb) = match matrix {
            YuvMatrix::Bt601 => (0.299, 0.114),
            YuvMatrix::Bt709 => (0.2126, 0.0722),
            YuvMatrix::Bt2020 => (0.2627, 0.0593),
        };
        let n = self.layout.bits() as i32;
        let u = 2f64.powi(n - 8);
        let top = 2f64.powi(n) - 1.0;
        let (y_off, y_scale, c_scale) = match range {
            YuvRange::Limited => (16.0 * u, 219.0 * u, 224.0 * u),
            YuvRange::Full => (0.0, top, top),
        };
        let c_off = 2f64.powi(n - 1);
        let out_max = if self.layout.is_deep() {
            65535.0
        } else {
            255.0
        };
        let (w, h) = (self.w as usize, self.h as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let chroma = |cx: usize, cy: usize| {
            let (b, r) = self.c[cy.min(ch - 1) * cw + cx.min(cw - 1)];
            (f64::from(b), f64::from(r))
        };
        let mut out = Vec::with_capacity(w * h);
        for y in 0..h {
            // Chroma row j sits at luma row 2j + 0.5.
            let (r0, r1, wr) = if y.is_multiple_of(2) {
                (y / 2, (y / 2).saturating_sub(1), 0.25)
            } else {
                (y / 2, y / 2 + 1, 0.25)
            };
            for x in 0..w {
                let cols: &[(usize, f64)] = if x.is_multiple_of(2) {
                    &[(x / 2, 1.0)]
                } else {
                    &[(x / 2, 0.5), (x / 2 + 1, 0.5)]
                };
                let (mut cb, mut cr) = (0.0, 0.0);
                for &(cx, wc) in cols {
                    for (cy, wy) in [(r0, 1.0 - wr), (r1, wr)] {
                        let (b, r) = chroma(cx, cy);
                        cb += wc * wy * b;
                        cr += wc * wy * r;
                    }
                }
                let ey = (f64::from(self.y[y * w + x]) - y_off) / y_scale;
                let pb = (cb - c_off) / c_scale;
                let pr = (cr - c_off) / c_scale;
                let r = ey + 2.0 * (1.0 - kr) * pr;
                let b = ey + 2.0 * (1.0 - kb) * pb;
                let g = (ey - kr * r - kb * b) / (1.0 - kr - kb);
                out.push([r, g, b].map(|v| (v.clamp(0.0, 1.0) * out_max).round() as u32));
            }
        }
        out
    }
}

/// A one-port wall of `w` x `h` with a port of `format`, no dither, `transfer`.
fn wall(w: u32, h: u32, mode: ResampleMode, format: OutputFormat, transfer: Transfer) -> Wall {
    let mut types = BTreeMap::new();
    types.insert("m".to_string(), mtype(w, h, None, "RGB"));
    let spec = WallSpec {
        name: "yuv-gpu".into(),
        refresh_hz: 60,
        canvas: CanvasSpec {
            width: w,
            height: h,
            show: None,
            origin: None,
        },
        color: ColorSpec {
            resample: mode,
            transfer,
            bit_depth: 16,
            ..ColorSpec::default()
        },
        module_types: types,
        outputs: vec![port("p", format, vec![module("m", 0, 0)])],
    };
    Wall::from_spec(&spec, "yuv-gpu.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn render(r: &mut gpu::Renderer, src: SourceImage<'_>, fit: Fit, n: u64) -> Vec<u8> {
    let layer = Layer::new(src).fit(fit).filter(Filter::Lanczos3);
    let mut frame = WallFrame::new(r.geometry());
    r.render_into(&Scene::single(n, layer), &mut frame).unwrap();
    frame.ports[0].bytes.clone()
}

const SIZES: [(u32, u32, usize); 4] = [(16, 8, 0), (37, 23, 5), (2, 2, 3), (1, 1, 0)];

/// 1:1 onto an `rgb16` port with no curve: the port carries each pixel's R'G'B' code
/// (8-bit codes · 257), so the codes the GPU's conversion gives are read back exactly.
/// Every layout × matrix × range × size, two pictures each (a new picture in the same plane
/// textures): within one code of the f64 reference, and (the tolerance of the f32 matrix
/// on the GPU) within one code of the CPU's conversion, equal to it almost everywhere.
#[test]
fn gpu_codes_are_within_one_code_of_the_reference() {
    let Some(gpu) = common::device() else { return };
    let (mut pixels, mut same) = (0usize, 0usize);
    for (w, h, pad) in SIZES {
        let wall = wall(
            w,
            h,
            ResampleMode::Linear,
            OutputFormat::Rgb16,
            Transfer::Linear,
        );
        let mut r = gpu::Renderer::with_gpu(&wall, gpu.clone(), None).unwrap();
        let mut n = 0;
        for layout in YuvLayout::ALL {
            let unit = if layout.is_deep() { 1 } else { 257 };
            for matrix in YuvMatrix::ALL {
                for range in YuvRange::ALL {
                    for seed in [1, 2] {
                        let pic = Pic::new(layout, w, h, pad, seed + w);
                        let img = pic.image(matrix, range);
                        n += 1;
                        let bytes = render(&mut r, SourceImage::yuv(w, h, img), Fit::Center, n);
                        let got: Vec<u32> = bytes
                            .chunks_exact(2)
                            .map(|b| u32::from(u16::from_be_bytes([b[0], b[1]])))
                            .collect();
                        assert!(
                            got.iter().all(|v| v % unit == 0),
                            "{layout:?}: the port does not carry the codes"
                        );
                        let want = pic.reference(matrix, range);
                        for (i, px) in want.iter().enumerate() {
                            for c in 0..3 {
                                let g = got[i * 3 + c] / unit;
                                assert!(
                                    g.abs_diff(px[c]) <= 1,
                                    "{layout:?} {matrix:?} {range:?} {w}x{h} pad {pad} \
                                     pixel ({}, {}) channel {c}: gpu {g}, reference {}",
                                    i as u32 % w,
                                    i as u32 / w,
                                    px[c]
                                );
                            }
                        }
                        let cpu = {
                            let len = (w * h * 4) as usize;
                            if layout.is_deep() {
                                let mut o = vec![0u16; len];
                                img.to_rgba16(w, h, &mut o).unwrap();
                                o
                            } else {
                                let mut o = vec![0u8; len];
                                img.to_rgba8(w, h, &mut o).unwrap();
                                o.into_iter().map(u16::from).collect()
                            }
                        };
                        for i in 0..want.len() {
                            for c in 0..3 {
                                let g = got[i * 3 + c] / unit;
                                let k = u32::from(cpu[i * 4 + c]);
                                assert!(
                                    g.abs_diff(k) <= 1,
                                    "{layout:?} {matrix:?} {range:?} {w}x{h} pad {pad} \
                                     pixel ({}, {}) channel {c}: gpu {g}, cpu {k}",
                                    i as u32 % w,
                                    i as u32 / w,
                                );
                                pixels += 1;
                                same += usize::from(g == k);
                            }
                        }
                    }
                }
            }
        }
    }
    // Rounded like the CPU, not merely within a code: equal almost everywhere (99.94 % on
    // lavapipe; truncating instead of rounding leaves about half).
    eprintln!("gpu codes equal to the cpu's: {same} of {pixels}");
    assert!(
        same * 100 >= pixels * 99,
        "{same} of {pixels} equal to the cpu's"
    );
}

/// The scaled paths read the planes too: linear mode's linearize of the read region and
/// fast mode's vertical pass (codes), letterboxed, stretched, cropped, centred, with odd
/// sizes and padded strides. On an `rgb16` port with no curve (output proportional to the
/// code), against the same GPU rendering the f64 reference codes handed over as RGBA: the
/// conversion's codes are within one of those, and the Lanczos weights (their absolute sum
/// below 2) can carry a one-code difference at most twice over; a broken matrix or siting
/// is off by many codes on this noise.
#[test]
fn scaled_yuv_matches_the_rgba_render_on_the_gpu() {
    let Some(gpu) = common::device() else { return };
    let (cw, ch) = (24u32, 14u32);
    let (mut exact, mut total) = (0, 0);
    for mode in [ResampleMode::Linear, ResampleMode::Fast] {
        let wall = wall(cw, ch, mode, OutputFormat::Rgb16, Transfer::Linear);
        let mut r = gpu::Renderer::with_gpu(&wall, gpu.clone(), None).unwrap();
        let mut n = 0;
        for layout in YuvLayout::ALL {
            for (matrix, range) in [
                (YuvMatrix::Bt601, YuvRange::Limited),
                (YuvMatrix::Bt709, YuvRange::Full),
                (YuvMatrix::Bt2020, YuvRange::Limited),
            ] {
                for (w, h, pad, fit) in [
                    (37, 23, 5, Fit::Contain),
                    (37, 23, 5, Fit::Stretch),
                    (13, 9, 1, Fit::Cover),
                    (cw + 1, ch + 1, 0, Fit::Center),
                    (cw, ch, 3, Fit::Center),
                ] {
                    let pic = Pic::new(layout, w, h, pad, w * 3 + h);
                    let img = pic.image(matrix, range);
                    let o16: Vec<u16> = pic
                        .reference(matrix, range)
                        .into_iter()
                        .flat_map(|[r, g, b]| [r, g, b, 0xffff])
                        .map(|v| v as u16)
                        .collect();
                    let o8: Vec<u8> = o16.iter().map(|&v| v as u8).collect();
                    let (rgba, unit) = if layout.is_deep() {
                        (SourceImage::rgba16(w, h, &o16), 1)
                    } else {
                        (SourceImage::rgba8(w, h, &o8), 257)
                    };
                    n += 1;
                    let be = |b: Vec<u8>| -> Vec<u32> {
                        b.chunks_exact(2)
                            .map(|b| u32::from(u16::from_be_bytes([b[0], b[1]])))
                            .collect()
                    };
                    let want = be(render(&mut r, rgba, fit, n));
                    let got = be(render(&mut r, SourceImage::yuv(w, h, img), fit, n));
                    let worst = want
                        .iter()
                        .zip(&got)
                        .map(|(a, b)| a.abs_diff(*b))
                        .max()
                        .unwrap();
                    exact += want.iter().zip(&got).filter(|(a, b)| a == b).count();
                    total += want.len();
                    assert!(
                        worst <= 2 * unit + 1,
                        "{mode:?} {layout:?} {matrix:?} {range:?} {w}x{h} {fit:?}: off by \
                         {worst} (one source code: {unit})"
                    );
                }
            }
        }
    }
    eprintln!("scaled: {exact} of {total} port values equal to the rgba render's");
    assert!(exact * 100 >= total * 99, "{exact} of {total} equal");
}
