//! Stage 5, quantize: linear u16 → output codes of `depth` bits, with ordered (Bayer 8x8)
//! and temporal dithering; or, for display-encoded `canvas` ports, 8-bit codes re-encoded
//! with the transfer curve ([`EncodeLut`]) and dithered the same way.

use super::simd::multiversion;
use super::{RUN, tile};
use crate::color::{EncodeLut, threshold_fx};
use crate::geometry::Quant;
use crate::wall::Encoding;

use rayon::prelude::*;

/// How one quantized buffer is made: linear codes of a depth, or display-encoded codes
/// through the encode table.
#[derive(Debug, Clone, Copy)]
pub enum Quantizer<'a> {
    /// `floor(min(L / 65535 · (2^depth − 1) + t, 2^depth − 1))`.
    Linear(u32),
    /// `min((encode[L] + round(t · 256)) >> 8, 255)`.
    Display(&'a EncodeLut),
}

impl<'a> Quantizer<'a> {
    /// The quantizer of `quant`; display encoding needs `encode` (without it, linear 8-bit
    /// codes, which the renderers never ask for: they build the table with the geometry).
    pub fn new(quant: Quant, encode: Option<&'a EncodeLut>) -> Quantizer<'a> {
        match (quant.encoding, encode) {
            (Encoding::Display, Some(e)) => Quantizer::Display(e),
            _ => Quantizer::Linear(quant.depth),
        }
    }

    /// One code under threshold `t`.
    #[inline(always)]
    pub fn code(self, l: u16, t: f32) -> u16 {
        match self {
            Quantizer::Linear(depth) => {
                let (scale, max) = scale_max(depth);
                code(l, t, scale, max)
            }
            Quantizer::Display(e) => e.code(l, threshold_fx(t)),
        }
    }
}

/// Quantize a canvas buffer (`w` × rows, then the two extra pixels, which are never
/// dithered): `floor(L / 65535 · (2^depth − 1) + t)`, or the display encoding.
pub fn run(input: &[u16], out: &mut [u16], w: u32, quant: Quantizer<'_>, t: &[[f32; 8]; 8]) {
    let w = w as usize;
    let canvas_len = input.len() - 6;
    let (canvas, extra_out) = out.split_at_mut(canvas_len);
    canvas
        .par_chunks_mut(w * 3)
        .zip(input[..canvas_len].par_chunks(w * 3))
        .enumerate()
        .for_each(|(y, (o, i))| match quant {
            Quantizer::Linear(depth) => {
                // 8 pixels (24 samples) at a time: chunks start at x ≡ 0 (mod 8), so every
                // chunk of the row sees the same 24 thresholds and the loop vectorizes.
                let (scale, max) = scale_max(depth);
                row(i, o, &t24(t, y), scale, max);
            }
            Quantizer::Display(e) => {
                o.copy_from_slice(i);
                display_row(o, e, &t24(t, y));
            }
        });
    extra(&input[canvas_len..], extra_out, quant);
}

/// Display-encode one row in place (24 thresholds: 8 pixels × 3 channels, from x = 0).
fn display_row(o: &mut [u16], e: &EncodeLut, t24: &[f32; 24]) {
    let t = t24.map(threshold_fx);
    for chunk in o.chunks_mut(24) {
        for (v, &t) in chunk.iter_mut().zip(&t) {
            *v = e.code(*v, t);
        }
    }
}

/// `2^depth − 1` and the factor from linear u16 to codes.
pub(crate) fn scale_max(depth: u32) -> (f32, f32) {
    let max = ((1u32 << depth) - 1) as f32;
    (max / 65535.0, max)
}

/// The thresholds of row `y` for 8 pixels of packed RGB.
pub(crate) fn t24(t: &[[f32; 8]; 8], y: usize) -> [f32; 24] {
    let trow = &t[y & 7];
    std::array::from_fn(|j| trow[j / 3])
}

/// Quantize the two extra pixels (background, dark), which are never dithered.
pub fn extra(input: &[u16], out: &mut [u16], quant: Quantizer<'_>) {
    for (o, i) in out.iter_mut().zip(input) {
        *o = match quant {
            Quantizer::Linear(depth) => {
                let (scale, max) = scale_max(depth);
                (*i as f32 * scale + 0.5).min(max) as u16
            }
            Quantizer::Display(e) => e.code(*i, threshold_fx(0.5)),
        };
    }
}

/// Quantize canvas row `y` in place (what [`run`] does to one row).
pub fn row_in_place(o: &mut [u16], y: usize, quant: Quantizer<'_>, t: &[[f32; 8]; 8]) {
    match quant {
        Quantizer::Linear(depth) => {
            let (scale, max) = scale_max(depth);
            row_mut(o, &t24(t, y), scale, max);
        }
        Quantizer::Display(e) => display_row(o, e, &t24(t, y)),
    }
}

multiversion! {
/// One row: `o = min(i · scale + t, max)`, [`RUN`] samples at a time.
fn row(i: &[u16], o: &mut [u16], t24: &[f32; 24], scale: f32, max: f32) {
    let t = tile(t24);
    let mut oc = o.chunks_exact_mut(RUN);
    let mut ic = i.chunks_exact(RUN);
    for (o, i) in (&mut oc).zip(&mut ic) {
        for j in 0..RUN {
            o[j] = code(i[j], t[j], scale, max);
        }
    }
    for (j, (o, i)) in oc.into_remainder().iter_mut().zip(ic.remainder()).enumerate() {
        *o = code(*i, t[j], scale, max);
    }
}
}

multiversion! {
/// [`row`] in place.
fn row_mut(o: &mut [u16], t24: &[f32; 24], scale: f32, max: f32) {
    let t = tile(t24);
    let mut oc = o.chunks_exact_mut(RUN);
    for o in &mut oc {
        for j in 0..RUN {
            o[j] = code(o[j], t[j], scale, max);
        }
    }
    for (j, o) in oc.into_remainder().iter_mut().enumerate() {
        *o = code(*o, t[j], scale, max);
    }
}
}

/// One output code: `floor(min(L · scale + t, max))`.
#[inline(always)]
pub(crate) fn code(l: u16, t: f32, scale: f32, max: f32) -> u16 {
    super::to_u16((l as f32 * scale + t).min(max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dither::thresholds;
    use crate::wall::Dither;

    #[test]
    fn ordered_dither_averages_to_the_true_value() {
        // A flat value between two codes: over an 8x8 tile the mean code equals the value.
        let w = 8;
        let depth = 4;
        let v = (65535.0 * 7.25 / 15.0) as u16; // 7.25 codes
        let input = vec![v; (w * 8 + 2) * 3];
        let mut out = vec![0; input.len()];
        run(
            &input,
            &mut out,
            w as u32,
            Quantizer::Linear(depth),
            &thresholds(Dither::Ordered, 0),
        );
        let sum: u32 = out[..w * 8 * 3].iter().map(|&c| c as u32).sum();
        let mean = sum as f64 / (w * 8 * 3) as f64;
        assert!((mean - 7.25).abs() < 1.0 / 64.0 + 1e-3, "{mean}");
        let codes: std::collections::BTreeSet<u16> = out[..w * 8 * 3].iter().copied().collect();
        assert_eq!(codes.into_iter().collect::<Vec<_>>(), vec![7, 8]);
    }

    #[test]
    fn display_encoding_dithers_between_the_two_nearest_codes() {
        use crate::color::{EncodeLut, inverse_transfer};
        use crate::wall::{ColorSpec, Transfer};
        let spec = ColorSpec {
            transfer: Transfer::Power,
            gamma: 2.2,
            ..ColorSpec::default()
        };
        let e = EncodeLut::new(&spec);
        // Linear light whose display code is 100.25: a quarter of an 8x8 tile shows 101.
        let l = (100.25f64 / 255.0).powf(2.2) * 65535.0;
        let l = l.round() as u16;
        let want = inverse_transfer(Transfer::Power, 2.2, l as f64 / 65535.0) * 255.0;
        let w = 8;
        let input = vec![l; (w * 8 + 2) * 3];
        let mut out = vec![0; input.len()];
        run(
            &input,
            &mut out,
            w as u32,
            Quantizer::Display(&e),
            &thresholds(Dither::Ordered, 0),
        );
        let tile = &out[..w * 8 * 3];
        let mean = tile.iter().map(|&c| c as f64).sum::<f64>() / tile.len() as f64;
        assert!(
            (mean - want).abs() < 1.0 / 64.0 + 1.0 / 256.0,
            "{mean} vs {want}"
        );
        assert!(tile.iter().all(|&c| c == 100 || c == 101));
        // The extra pixels are rounded, never dithered.
        assert!(out[w * 8 * 3..].iter().all(|&c| c == want.round() as u16));
    }
}
