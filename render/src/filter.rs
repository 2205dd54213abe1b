//! Resampling filters and the coefficient tables built from them, once per placement: the
//! same tables drive the CPU's resampler and the GPU's `resample.wgsl`, so both filter
//! with the same weights.

use crate::frame::Filter;
use crate::place::{Rect, Span};

/// Lanes the horizontal tables are padded to (the CPU's kernels read whole 8-lane chunks;
/// the GPU reads the tables as they are).
pub const LANES: usize = 8;

/// Filter support (half-width, in source pixels at scale 1) and kernel.
fn kernel(filter: Filter) -> (f64, fn(f64) -> f64) {
    fn boxk(x: f64) -> f64 {
        if (-0.5..0.5).contains(&x) { 1.0 } else { 0.0 }
    }
    fn triangle(x: f64) -> f64 {
        (1.0 - x.abs()).max(0.0)
    }
    fn catmull_rom(x: f64) -> f64 {
        let x = x.abs();
        if x < 1.0 {
            1.5 * x * x * x - 2.5 * x * x + 1.0
        } else if x < 2.0 {
            -0.5 * x * x * x + 2.5 * x * x - 4.0 * x + 2.0
        } else {
            0.0
        }
    }
    fn sinc(x: f64) -> f64 {
        if x == 0.0 {
            1.0
        } else {
            let a = std::f64::consts::PI * x;
            a.sin() / a
        }
    }
    fn lanczos3(x: f64) -> f64 {
        if x.abs() < 3.0 {
            sinc(x) * sinc(x / 3.0)
        } else {
            0.0
        }
    }
    match filter {
        Filter::Nearest | Filter::Area => (0.5, boxk),
        Filter::Bilinear => (1.0, triangle),
        Filter::CatmullRom => (2.0, catmull_rom),
        Filter::Lanczos3 => (3.0, lanczos3),
    }
}

/// Coefficients of one axis: output pixel `i` is
/// `Σ_k weights[i · taps + k] · source[start[i] + k]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisTable {
    /// Weights per output pixel (zero-padded to `taps`).
    pub taps: usize,
    /// First source pixel of each output pixel.
    pub start: Vec<u32>,
    /// `taps` weights per output pixel; they sum to 1.
    pub weights: Vec<f32>,
}

impl AxisTable {
    /// Build the table mapping `len` source pixels starting at `crop_start` (fractional) of
    /// a `size`-pixel source axis onto `out` output pixels. `pad` rounds `taps` up to a
    /// multiple (the horizontal pass reads whole 8-lane chunks).
    pub fn new(
        filter: Filter,
        size: u32,
        crop_start: f64,
        len: f64,
        out: u32,
        pad: usize,
    ) -> AxisTable {
        let scale = len / out as f64;
        let (support, k) = kernel(filter);
        let fscale = scale.max(1.0);
        let support = support * fscale;
        let mut rows: Vec<(u32, Vec<f64>)> = Vec::with_capacity(out as usize);
        for i in 0..out {
            let center = crop_start + (i as f64 + 0.5) * scale;
            if filter == Filter::Nearest {
                let j = (center.floor().max(0.0) as u32).min(size - 1);
                rows.push((j, vec![1.0]));
                continue;
            }
            let lo = ((center - support).floor().max(0.0) as u32).min(size - 1);
            let hi = ((center + support).ceil().max(0.0) as u32).clamp(lo + 1, size);
            let mut w: Vec<f64> = (lo..hi)
                .map(|j| k((j as f64 + 0.5 - center) / fscale))
                .collect();
            let sum: f64 = w.iter().sum();
            if sum.abs() < 1e-9 {
                // The kernel missed every pixel centre (tiny box windows): take the nearest.
                let j = (center.floor().max(0.0) as u32).clamp(lo, hi - 1);
                w.iter_mut().for_each(|v| *v = 0.0);
                w[(j - lo) as usize] = 1.0;
            } else {
                w.iter_mut().for_each(|v| *v /= sum);
            }
            // Trim zero weights at both ends (box and triangle windows are generous).
            let first = w.iter().position(|v| *v != 0.0).unwrap_or(0);
            let last = w.iter().rposition(|v| *v != 0.0).unwrap_or(0);
            rows.push((lo + first as u32, w[first..=last].to_vec()));
        }
        let taps = rows
            .iter()
            .map(|r| r.1.len())
            .max()
            .unwrap_or(1)
            .div_ceil(pad)
            * pad;
        let mut start = Vec::with_capacity(out as usize);
        let mut weights = vec![0f32; out as usize * taps];
        for (i, (s, w)) in rows.iter().enumerate() {
            start.push(*s);
            for (d, v) in weights[i * taps..].iter_mut().zip(w) {
                *d = *v as f32;
            }
        }
        AxisTable {
            taps,
            start,
            weights,
        }
    }

    /// Outputs `first..first + n` of this table: the same starts and weights, so a section
    /// of a show canvas filters its pixels exactly as the whole show does.
    pub fn slice(&self, first: u32, n: u32) -> AxisTable {
        let (a, b) = (first as usize, (first + n) as usize);
        AxisTable {
            taps: self.taps,
            start: self.start[a..b].to_vec(),
            weights: self.weights[a * self.taps..b * self.taps].to_vec(),
        }
    }

    /// Number of weights actually used by output `i` (trailing zero padding excluded).
    pub fn used(&self, i: usize) -> usize {
        let w = &self.weights[i * self.taps..(i + 1) * self.taps];
        w.iter().rposition(|v| *v != 0.0).map_or(1, |p| p + 1)
    }
}

/// The coefficient tables of one placement and the source region they read: what the
/// CPU's resample plan is built around and what the GPU uploads.
#[derive(Debug, Clone, PartialEq)]
pub struct Tables {
    /// Horizontal table (over the source columns `x0..`, relative to `x0`), padded to
    /// [`LANES`] taps.
    pub h: AxisTable,
    /// Vertical table (absolute source rows).
    pub v: AxisTable,
    /// First source column read.
    pub x0: u32,
    /// Source columns read.
    pub width: u32,
    /// First source row read.
    pub y0: u32,
    /// Source rows read.
    pub height: u32,
    /// Destination rect on the canvas.
    pub dst: Rect,
    /// Weights the horizontal pass sums per output pixel: the most any pixel uses.
    pub h_used: usize,
}

impl Tables {
    /// The tables for a `sw` × `sh` source, its `crop` (left, top, width, height in source
    /// pixels, fractional for cover), onto the canvas rect `dst`.
    pub fn new(sw: u32, sh: u32, crop: [f64; 4], dst: Rect, filter: Filter) -> Tables {
        Tables::windowed(sw, sh, crop, dst, Span::of(dst), filter)
    }

    /// The tables of the `span` part of a placement whose whole destination rect is
    /// `span.whole` (on the show canvas), rendered to `dst` (`span.whole` for a whole-show
    /// canvas, a window of it for a section): both axes are computed for the whole
    /// destination and sliced, and the taps and [`Tables::h_used`] are the whole table's,
    /// so every kernel sums each pixel's taps exactly as for the whole show. `dst` must not
    /// be empty.
    pub fn windowed(
        sw: u32,
        sh: u32,
        crop: [f64; 4],
        dst: Rect,
        span: Span,
        filter: Filter,
    ) -> Tables {
        let [ww, wh] = span.whole;
        let [sx, sy] = span.skip;
        let h_whole = AxisTable::new(filter, sw, crop[0], crop[2], ww, LANES);
        let h_used = (0..ww as usize).map(|i| h_whole.used(i)).max().unwrap_or(1);
        let whole = span.whole == [dst.w, dst.h];
        let h_abs = if whole {
            h_whole
        } else {
            h_whole.slice(sx, dst.w)
        };
        let v = AxisTable::new(filter, sh, crop[1], crop[3], wh, 1);
        let v = if whole { v } else { v.slice(sy, dst.h) };
        let x0 = h_abs.start.iter().copied().min().unwrap_or(0);
        let x1 = (0..dst.w as usize)
            .map(|i| h_abs.start[i] + h_abs.used(i) as u32)
            .max()
            .unwrap_or(x0 + 1);
        let h = AxisTable {
            start: h_abs.start.iter().map(|s| s - x0).collect(),
            ..h_abs
        };
        let y0 = v.start.iter().copied().min().unwrap_or(0);
        let y1 = (0..dst.h as usize)
            .map(|i| v.start[i] + v.used(i) as u32)
            .max()
            .unwrap_or(y0 + 1);
        Tables {
            h,
            v,
            x0,
            width: x1 - x0,
            y0,
            height: y1 - y0,
            dst,
            h_used,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_and_stay_inside_the_source() {
        for filter in Filter::ALL {
            for (size, start, len, out) in [
                (3840, 0.0, 3840.0, 384),
                (100, 10.5, 50.0, 160),
                (7, 0.0, 7.0, 7),
                (1, 0.0, 1.0, 9),
            ] {
                let t = AxisTable::new(filter, size, start, len, out, LANES);
                assert_eq!(t.taps % LANES, 0);
                for i in 0..out as usize {
                    let w = &t.weights[i * t.taps..(i + 1) * t.taps];
                    let sum: f32 = w.iter().sum();
                    assert!(
                        (sum - 1.0).abs() < 1e-4,
                        "{filter:?} {size}->{out}: sum {sum}"
                    );
                    assert!(
                        t.start[i] as usize + t.used(i) <= size as usize,
                        "{filter:?}: reads past the source"
                    );
                }
            }
        }
    }

    #[test]
    fn downscale_widens_the_window() {
        let t = AxisTable::new(Filter::Area, 3840, 0.0, 3840.0, 384, 1);
        // Each output covers 10 source pixels.
        assert_eq!(t.used(5), 10);
        assert_eq!(t.start[5], 50);
    }
}
