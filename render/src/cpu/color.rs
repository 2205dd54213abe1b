//! Stage 4, colour: per-module 3x3 calibration × white point × brightness, clamp, in
//! linear light (design §3).

use super::quantize::Quantizer;
use super::simd::multiversion;
use super::{RUN, quantize, tile};
use crate::geometry::CalSpan;
use rayon::prelude::*;

/// Apply the colour stage to a canvas (`input`: packed RGB u16, `w` wide) and write the
/// canvas buffer `out` (`input` plus the background and dark pixels).
///
/// Pixels inside a [`CalSpan`] use `diag(gains) · calibrations[span.matrix]`, all others
/// `diag(gains)`.
///
/// With `quantize` (quantizer, thresholds), stage 5 runs in the same pass (for frames whose
/// colours are not kept for a repeated still): each row is quantized in `out`, in place,
/// while it is still in cache. The result is bit-identical to colouring and then running
/// [`super::quantize::run`]: the same two roundings, in the same order.
#[allow(clippy::too_many_arguments)]
pub fn apply(
    input: &[u16],
    out: &mut [u16],
    w: u32,
    gains: [f32; 3],
    calibrations: &[[[f32; 3]; 3]],
    spans: &[CalSpan],
    background: [u16; 3],
    quantize: Option<(Quantizer<'_>, &[[f32; 8]; 8])>,
) {
    let w = w as usize;
    let canvas_len = input.len();
    let (canvas, extra) = out.split_at_mut(canvas_len);
    canvas
        .par_chunks_mut(w * 3)
        .zip(input.par_chunks(w * 3))
        .enumerate()
        .for_each(|(y, (o, i))| {
            o.copy_from_slice(i);
            match quantize {
                Some((quant, t)) => row_quantized(y, o, gains, calibrations, spans, quant, t),
                None => row_in_place(y, o, gains, calibrations, spans),
            }
        });
    match quantize {
        Some((quant, _)) => quantized_extra(background, gains, extra, quant),
        None => {
            extra[..3].copy_from_slice(&crate::dither::background_colored(background, gains));
            extra[3..6].fill(0);
        }
    }
}

/// The two extra pixels of a quantized buffer (background, dark) after colour and quantize.
pub(crate) fn quantized_extra(
    background: [u16; 3],
    gains: [f32; 3],
    extra: &mut [u16],
    quant: Quantizer<'_>,
) {
    // The background's code, then the dark pixel's (0 at any depth and encoding).
    let bg = match quant {
        Quantizer::Linear(depth) => crate::dither::background_code(background, gains, depth),
        Quantizer::Display(e) => crate::dither::background_colored(background, gains)
            .map(|c| e.code(c, crate::color::threshold_fx(0.5))),
    };
    for (o, v) in extra.iter_mut().zip(bg.into_iter().chain([0; 3])) {
        *o = v;
    }
}

/// Colour and quantize canvas row `y` in place: [`row_in_place`], then
/// [`quantize::row_in_place`]. A row without calibrated modules takes one pass that does
/// both per sample, with the same two roundings.
pub fn row_quantized(
    y: usize,
    o: &mut [u16],
    gains: [f32; 3],
    calibrations: &[[[f32; 3]; 3]],
    spans: &[CalSpan],
    quant: Quantizer<'_>,
    t: &[[f32; 8]; 8],
) {
    match quant {
        Quantizer::Linear(depth) if !calibrated(y, o.len() / 3, spans) => {
            let (scale, max) = quantize::scale_max(depth);
            scale_quantize(o, gains, &quantize::t24(t, y), scale, max);
        }
        _ => {
            row_in_place(y, o, gains, calibrations, spans);
            quantize::row_in_place(o, y, quant, t);
        }
    }
}

/// Whether canvas row `y` (`w` pixels) has calibrated module pixels.
pub(crate) fn calibrated(y: usize, w: usize, spans: &[CalSpan]) -> bool {
    let row_start = (y * w) as u32;
    let first = spans.partition_point(|s| s.end <= row_start);
    spans
        .get(first)
        .is_some_and(|s| s.start < row_start + w as u32)
}

/// Stages 1, 4 and 5 composed into one table lookup per sample, for 8-bit sources on rows
/// without calibrated modules: `codes[k][c][v]` is the output code of source value `v` in
/// channel `c` under the `k`-th dither threshold, computed with the same operations (and
/// roundings) as linearize, `scale` and `quantize::code` in sequence, so the bytes are
/// the same. The table (3 × 256 entries per threshold, 64 thresholds when dithering:
/// 96 KB) depends only on the colour settings (the gains included) and is built with the
/// renderer, then rebuilt in place ([`CodeTable::rebuild`]) when they change.
/// Each frame, [`CodeTable::prepare`] lays out, per row class (`y & 7`), the 24 tables of
/// its 8 pixel columns × 3 channels one after the other, so the row kernel addresses all
/// of them from one base register.
pub struct CodeTable {
    /// The distinct dither thresholds, ascending.
    thresholds: Vec<f32>,
    /// `[threshold][channel][value]`.
    codes: Vec<[[u16; 256]; 3]>,
    /// This frame's `[y & 7][x & 7][channel][value]`.
    frame: Vec<[[[u16; 256]; 3]; 8]>,
    /// Whether `frame` matches the thresholds of the last `prepare`.
    ready: bool,
}

impl CodeTable {
    /// The table for `lut` (the 256-entry transfer LUT), `gains`, `quant` and `dither`.
    pub fn new(
        lut: &[u16],
        gains: [f32; 3],
        quant: Quantizer<'_>,
        dither: crate::wall::Dither,
    ) -> Self {
        let mut table = CodeTable {
            thresholds: Vec::with_capacity(64),
            codes: Vec::new(),
            frame: vec![[[[0; 256]; 3]; 8]; 8],
            ready: false,
        };
        table.rebuild(lut, gains, quant, dither);
        table
    }

    /// Recompute the table in place for new colour settings (a brightness fade calls it
    /// every frame). Allocates nothing unless `dither` needs more thresholds than the table
    /// has held before (none → ordered: 1 → 64). [`CodeTable::row`] declines until the next
    /// [`CodeTable::prepare`].
    pub fn rebuild(
        &mut self,
        lut: &[u16],
        gains: [f32; 3],
        quant: Quantizer<'_>,
        dither: crate::wall::Dither,
    ) {
        self.ready = false;
        self.thresholds.clear();
        self.thresholds
            .extend(crate::dither::thresholds(dither, 0).into_iter().flatten());
        // Unstable sort: no scratch buffer (the values are distinct after dedup anyway).
        self.thresholds.sort_unstable_by(f32::total_cmp);
        self.thresholds.dedup();
        self.codes.resize(self.thresholds.len(), [[0; 256]; 3]);
        for (codes, &t) in self.codes.iter_mut().zip(&self.thresholds) {
            for (c, codes) in codes.iter_mut().enumerate() {
                for (v, code) in codes.iter_mut().enumerate() {
                    let l = lut.get(v).copied().unwrap_or(0);
                    *code = quant.code(super::to_u16(l as f32 * gains[c] + 0.5), t);
                }
            }
        }
    }

    /// Lay out this frame's tables for thresholds `t`. When a threshold is not one the
    /// table was built for, [`CodeTable::row`] declines until the next `prepare`.
    pub fn prepare(&mut self, t: &[[f32; 8]; 8]) {
        self.ready = false;
        for (class, row) in self.frame.iter_mut().zip(t) {
            for (tabs, &t) in class.iter_mut().zip(row) {
                match self.thresholds.binary_search_by(|v| v.total_cmp(&t)) {
                    Ok(k) => *tabs = self.codes[k],
                    Err(_) => return,
                }
            }
        }
        self.ready = true;
    }

    /// Row `y` of RGBA8 source `s` into packed RGB codes `o` (as many pixels), under the
    /// thresholds of the last [`CodeTable::prepare`]. False, with `o` untouched, if that
    /// declined.
    pub fn row(&self, s: &[u8], o: &mut [u16], y: usize) -> bool {
        if !self.ready {
            return false;
        }
        let Some(tabs) = self.frame.get(y & 7) else {
            return false;
        };
        let mut sc = s.chunks_exact(32);
        let mut oc = o.chunks_exact_mut(24);
        for (s, o) in (&mut sc).zip(&mut oc) {
            for j in 0..8 {
                let px = u32::from_le_bytes([s[4 * j], s[4 * j + 1], s[4 * j + 2], s[4 * j + 3]]);
                let tab = &tabs[j];
                o[3 * j] = tab[0][(px & 0xFF) as usize];
                o[3 * j + 1] = tab[1][(px >> 8 & 0xFF) as usize];
                o[3 * j + 2] = tab[2][(px >> 16 & 0xFF) as usize];
            }
        }
        for ((s, o), tab) in sc
            .remainder()
            .chunks_exact(4)
            .zip(oc.into_remainder().chunks_exact_mut(3))
            .zip(tabs)
        {
            for c in 0..3 {
                o[c] = tab[c][usize::from(s[c])];
            }
        }
        true
    }
}

multiversion! {
/// Gains then quantize, [`RUN`] samples at a time from x = 0 (so the thresholds line up).
fn scale_quantize(o: &mut [u16], g: [f32; 3], t24: &[f32; 24], scale: f32, max: f32) {
    let (g, t) = (tile(&g), tile(t24));
    let mut oc = o.chunks_exact_mut(RUN);
    for o in &mut oc {
        for j in 0..RUN {
            let c = super::to_u16(o[j] as f32 * g[j] + 0.5);
            o[j] = quantize::code(c, t[j], scale, max);
        }
    }
    for (j, o) in oc.into_remainder().iter_mut().enumerate() {
        let c = super::to_u16(*o as f32 * g[j] + 0.5);
        *o = quantize::code(c, t[j], scale, max);
    }
}
}

/// Colour canvas row `y` (packed RGB) in place: [`apply`]'s work on one row.
pub fn row_in_place(
    y: usize,
    o: &mut [u16],
    gains: [f32; 3],
    calibrations: &[[[f32; 3]; 3]],
    spans: &[CalSpan],
) {
    let w = o.len() / 3;
    let row_start = (y * w) as u32;
    let row_end = row_start + w as u32;
    let first = spans.partition_point(|s| s.end <= row_start);
    let mut x = 0usize;
    for s in spans[first..].iter().take_while(|s| s.start < row_end) {
        let (s0, s1) = ((s.start - row_start) as usize, (s.end - row_start) as usize);
        scale(&mut o[x * 3..s0 * 3], gains);
        let m = calibrations[s.matrix as usize];
        let m = [0, 1, 2].map(|r| m[r].map(|v| v * gains[r]));
        matrix(&mut o[s0 * 3..s1 * 3], &m);
        x = s1;
    }
    scale(&mut o[x * 3..], gains);
}

multiversion! {
/// Per-channel gain over packed RGB (starting on a pixel), [`RUN`] samples at a time so
/// the compiler can keep it in vector registers: the gain pattern repeats every 3 samples.
fn scale(o: &mut [u16], g: [f32; 3]) {
    let g = tile(&g);
    let mut oc = o.chunks_exact_mut(RUN);
    for o in &mut oc {
        for j in 0..RUN {
            o[j] = super::to_u16(o[j] as f32 * g[j] + 0.5);
        }
    }
    for (j, o) in oc.into_remainder().iter_mut().enumerate() {
        *o = super::to_u16(*o as f32 * g[j] + 0.5);
    }
}
}

multiversion! {
fn matrix(o: &mut [u16], m: &[[f32; 3]; 3]) {
    for o in o.chunks_exact_mut(3) {
        let v = [o[0] as f32, o[1] as f32, o[2] as f32];
        for c in 0..3 {
            let l = m[c][0] * v[0] + m[c][1] * v[1] + m[c][2] * v[2];
            o[c] = super::to_u16(l + 0.5);
        }
    }
}
}
