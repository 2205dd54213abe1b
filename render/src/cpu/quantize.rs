//! Stage 5, quantize: linear u16 → output codes of `depth` bits, with ordered (Bayer 8x8)
//! and temporal dithering.

use super::simd::multiversion;
use super::{RUN, tile};

use rayon::prelude::*;

/// Quantize a canvas buffer (`w` × rows, then the two extra pixels, which are never
/// dithered) to `depth` bits: `floor(L / 65535 · (2^depth − 1) + t)`.
pub fn run(input: &[u16], out: &mut [u16], w: u32, depth: u32, t: &[[f32; 8]; 8]) {
    let w = w as usize;
    let (scale, max) = scale_max(depth);
    let canvas_len = input.len() - 6;
    let (canvas, extra_out) = out.split_at_mut(canvas_len);
    canvas
        .par_chunks_mut(w * 3)
        .zip(input[..canvas_len].par_chunks(w * 3))
        .enumerate()
        .for_each(|(y, (o, i))| {
            // 8 pixels (24 samples) at a time: chunks start at x ≡ 0 (mod 8), so every
            // chunk of the row sees the same 24 thresholds and the loop vectorizes.
            row(i, o, &t24(t, y), scale, max);
        });
    extra(&input[canvas_len..], extra_out, depth);
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
pub fn extra(input: &[u16], out: &mut [u16], depth: u32) {
    let (scale, max) = scale_max(depth);
    for (o, i) in out.iter_mut().zip(input) {
        *o = (*i as f32 * scale + 0.5).min(max) as u16;
    }
}

/// Quantize canvas row `y` in place (what [`run`] does to one row).
pub fn row_in_place(o: &mut [u16], y: usize, depth: u32, t: &[[f32; 8]; 8]) {
    let (scale, max) = scale_max(depth);
    row_mut(o, &t24(t, y), scale, max);
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
            depth,
            &thresholds(Dither::Ordered, 0),
        );
        let sum: u32 = out[..w * 8 * 3].iter().map(|&c| c as u32).sum();
        let mean = sum as f64 / (w * 8 * 3) as f64;
        assert!((mean - 7.25).abs() < 1.0 / 64.0 + 1e-3, "{mean}");
        let codes: std::collections::BTreeSet<u16> = out[..w * 8 * 3].iter().copied().collect();
        assert_eq!(codes.into_iter().collect::<Vec<_>>(), vec![7, 8]);
    }
}
