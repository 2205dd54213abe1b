//! Stage 2, resample: a source rect onto a canvas rect (fit mode, filter).
//!
//! A separable convolution whose coefficient tables are computed once per placement (source
//! size, crop, destination rect, filter) and kept in a [`Plan`], together with the scratch
//! rows every band of output rows needs: after the first frame of a placement, resampling
//! allocates nothing. The tables are plain arrays (start index + weights per output pixel),
//! the form a GPU shader reads too.
//!
//! Convolution filters widen with the downscale ratio (each output pixel averages the whole
//! source area it covers), so 4K content on a small wall does not alias; `nearest` is the
//! one filter that samples. Pixels outside the source are not invented: weights that would
//! fall outside are dropped and the rest renormalized.
//!
//! Each band of output rows first sums the source rows it needs (vertical pass, an axpy over
//! whole rows that the compiler vectorizes), splits the result into one plane per channel,
//! then takes one padded dot product per output pixel and channel (horizontal pass).

use super::Rect;
use crate::frame::{Filter, Fit};
use rayon::prelude::*;

/// Where a source lands on the canvas.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Source crop: left, top, width, height in source pixels (fractional for cover).
    pub crop: [f64; 4],
    /// Destination rect on the canvas.
    pub dst: Rect,
    /// The job is a 1:1 copy of the integer source rect at this origin: skip resampling.
    pub one_to_one: Option<(u32, u32)>,
}

/// Compute the placement of a `sw` × `sh` source on a `cw` × `ch` canvas.
pub fn place(fit: Fit, sw: u32, sh: u32, cw: u32, ch: u32) -> Placement {
    let (swf, shf, cwf, chf) = (sw as f64, sh as f64, cw as f64, ch as f64);
    let full = Rect {
        x: 0,
        y: 0,
        w: cw,
        h: ch,
    };
    let (crop, dst) = match fit {
        Fit::Stretch => ([0.0, 0.0, swf, shf], full),
        Fit::Contain => {
            let s = (cwf / swf).min(chf / shf);
            let w = ((swf * s).round() as u32).clamp(1, cw);
            let h = ((shf * s).round() as u32).clamp(1, ch);
            (
                [0.0, 0.0, swf, shf],
                Rect {
                    x: (cw - w) / 2,
                    y: (ch - h) / 2,
                    w,
                    h,
                },
            )
        }
        Fit::Cover => {
            let s = (cwf / swf).max(chf / shf);
            let (w, h) = ((cwf / s).min(swf), (chf / s).min(shf));
            ([(swf - w) / 2.0, (shf - h) / 2.0, w, h], full)
        }
        Fit::Center => {
            let (w, h) = (sw.min(cw), sh.min(ch));
            let (sx, sy) = ((sw - w) / 2, (sh - h) / 2);
            let (dx, dy) = ((cw - w) / 2, (ch - h) / 2);
            (
                [sx as f64, sy as f64, w as f64, h as f64],
                Rect { x: dx, y: dy, w, h },
            )
        }
    };
    let integral = crop.iter().all(|v| v.fract() == 0.0);
    let one_to_one = (integral && crop[2] as u32 == dst.w && crop[3] as u32 == dst.h)
        .then_some((crop[0] as u32, crop[1] as u32));
    Placement {
        crop,
        dst,
        one_to_one,
    }
}

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

    /// Number of weights actually used by output `i` (trailing zero padding excluded).
    fn used(&self, i: usize) -> usize {
        let w = &self.weights[i * self.taps..(i + 1) * self.taps];
        w.iter().rposition(|v| *v != 0.0).map_or(1, |p| p + 1)
    }
}

/// Samples per column tile of the vertical pass (4 KiB of f32).
const V_TILE: usize = 1024;

/// Lanes of the horizontal dot product.
const LANES: usize = 8;
/// Most bands of output rows a plan splits into (each owns its scratch rows).
const MAX_BANDS: usize = 32;

/// Everything needed to resample one placement, built once and reused every frame.
#[derive(Debug)]
pub struct Plan {
    key: PlanKey,
    /// Horizontal table (over the source columns `x0..`, relative to `x0`).
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
    rows_per_band: usize,
    /// Per band: the vertical sum of one output row (source stride), then one plane per
    /// channel padded for whole-lane reads.
    scratch: Vec<Vec<f32>>,
    plane: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct PlanKey {
    src: (u32, u32),
    crop: [f64; 4],
    dst: Rect,
    filter: Filter,
    stride: usize,
}

impl Plan {
    /// Build the plan for a `sw` × `sh` source with `stride` samples a pixel (4 for RGBA,
    /// 3 for linear RGB), its `crop`, onto the canvas rect `dst`.
    pub fn new(sw: u32, sh: u32, stride: usize, crop: [f64; 4], dst: Rect, filter: Filter) -> Plan {
        let mut plan = Plan::tables(sw, sh, stride, crop, dst, filter);
        let bands = (dst.h as usize).div_ceil(plan.rows_per_band).max(1);
        let len = plan.width as usize * stride + 3 * plan.plane + dst.w as usize * 3;
        plan.scratch = (0..bands).map(|_| vec![0f32; len]).collect();
        plan
    }

    /// The coefficient tables and read region only, without the CPU's scratch rows (what
    /// the GPU backend uploads). [`run`] needs a plan from [`Plan::new`].
    pub fn tables(
        sw: u32,
        sh: u32,
        stride: usize,
        crop: [f64; 4],
        dst: Rect,
        filter: Filter,
    ) -> Plan {
        let h_abs = AxisTable::new(filter, sw, crop[0], crop[2], dst.w, LANES);
        let v = AxisTable::new(filter, sh, crop[1], crop[3], dst.h, 1);
        let x0 = h_abs.start.iter().copied().min().unwrap_or(0);
        let x1 = (0..dst.w as usize)
            .map(|i| h_abs.start[i] + h_abs.used(i) as u32)
            .max()
            .unwrap_or(x0 + 1);
        let h = AxisTable {
            start: h_abs.start.iter().map(|s| s - x0).collect(),
            ..h_abs
        };
        let width = x1 - x0;
        let y0 = v.start.iter().copied().min().unwrap_or(0);
        let y1 = (0..dst.h as usize)
            .map(|i| v.start[i] + v.used(i) as u32)
            .max()
            .unwrap_or(y0 + 1);
        let plane = width as usize + h.taps;
        let bands = (dst.h as usize).clamp(1, MAX_BANDS);
        let rows_per_band = (dst.h as usize).div_ceil(bands);
        Plan {
            key: PlanKey {
                src: (sw, sh),
                crop,
                dst,
                filter,
                stride,
            },
            h,
            v,
            x0,
            width,
            y0,
            height: y1 - y0,
            dst,
            rows_per_band,
            scratch: Vec::new(),
            plane,
        }
    }

    /// Whether this plan resamples exactly this job.
    pub fn matches(
        &self,
        sw: u32,
        sh: u32,
        stride: usize,
        crop: [f64; 4],
        dst: Rect,
        filter: Filter,
    ) -> bool {
        self.key
            == PlanKey {
                src: (sw, sh),
                crop,
                dst,
                filter,
                stride,
            }
    }
}

pub use super::Sample;

/// What the filtered value becomes in the canvas.
#[derive(Debug, Clone, Copy)]
pub enum Output<'a> {
    /// Linear light already: round to u16.
    Linear,
    /// Code values: through this LUT (256 or 65536 entries), interpolated between codes,
    /// to linear light ([`lut_lerp`]). This is `resample = "fast"`.
    Lut(&'a [u16]),
}

/// Resample through `plan` into the plan's rect of `canvas` (packed RGB u16, `cw` wide).
///
/// `src` holds source pixels (`plan`'s stride samples each) in rows of `src_row` samples,
/// its first sample being source pixel `origin`; it must cover the plan's read region
/// (`x0..x0 + width`, `y0..y0 + height`): pass the whole image with origin (0, 0), or just
/// that region.
pub fn run<T: Sample>(
    plan: &mut Plan,
    src: &[T],
    src_row: usize,
    origin: (u32, u32),
    canvas: &mut [u16],
    cw: u32,
    out: Output<'_>,
) {
    let stride = plan.key.stride;
    let (dst, width, plane) = (plan.dst, plan.width as usize, plan.plane);
    let (x0, rows_per_band) = (plan.x0 as usize, plan.rows_per_band);
    let (h, v) = (&plan.h, &plan.v);
    let row_len = cw as usize * 3;
    let (ox0, oy0) = (origin.0 as usize, origin.1 as usize);
    let rows = &mut canvas[dst.y as usize * row_len..(dst.y + dst.h) as usize * row_len];
    rows.par_chunks_mut(rows_per_band * row_len)
        .zip(plan.scratch.par_iter_mut())
        .enumerate()
        .for_each(|(band, (rows, scratch))| {
            let (acc, planes) = scratch.split_at_mut(width * stride);
            let (planes, row_vals) = planes.split_at_mut(3 * plane);
            for (r, canvas_row) in rows.chunks_exact_mut(row_len).enumerate() {
                let oy = band * rows_per_band + r;
                // Vertical pass: acc = Σ w · source row.
                let s0 = v.start[oy] as usize;
                let wv = &v.weights[oy * v.taps..(oy + 1) * v.taps];
                // In column tiles, so the tile of `acc` stays in L1 across all taps.
                for t0 in (0..width * stride).step_by(V_TILE) {
                    let tile = &mut acc[t0..(t0 + V_TILE).min(width * stride)];
                    tile.fill(0.0);
                    for (k, &w) in wv.iter().enumerate() {
                        if w == 0.0 {
                            continue;
                        }
                        let row = (s0 + k - oy0) * src_row + (x0 - ox0) * stride + t0;
                        let n = tile.len();
                        axpy(tile, &src[row..row + n], w);
                    }
                }
                // Split into one plane per channel.
                let (pr, rest) = planes.split_at_mut(plane);
                let (pg, pb) = rest.split_at_mut(plane);
                for (x, px) in acc.chunks_exact(stride).enumerate() {
                    pr[x] = px[0];
                    pg[x] = px[1];
                    pb[x] = px[2];
                }
                // Horizontal pass: one padded dot product per pixel and channel.
                let out_px = &mut canvas_row[dst.x as usize * 3..(dst.x + dst.w) as usize * 3];
                horizontal(
                    out_px,
                    &h.start,
                    &h.weights,
                    h.taps,
                    [&*pr, &*pg, &*pb],
                    out,
                    row_vals,
                );
            }
        });
}

multiversion! {
/// `acc += w · src`, converting samples to f32.
fn axpy<T: Sample>(acc: &mut [f32], src: &[T], w: f32) {
    for (a, s) in acc.iter_mut().zip(src) {
        *a += w * s.f();
    }
}
}

multiversion! {
/// One output row of the horizontal pass from the three channel planes.
fn horizontal(out_px: &mut [u16], start: &[u32], weights: &[f32], taps: usize, planes: [&[f32]; 3], out: Output<'_>, row: &mut [f32]) {
    let [pr, pg, pb] = planes;
    match out {
        Output::Linear => {
            for (ox, px) in out_px.chunks_exact_mut(3).enumerate() {
                let s = start[ox] as usize;
                let w = &weights[ox * taps..(ox + 1) * taps];
                px[0] = super::to_u16(dot(w, &pr[s..s + taps]) + 0.5);
                px[1] = super::to_u16(dot(w, &pg[s..s + taps]) + 0.5);
                px[2] = super::to_u16(dot(w, &pb[s..s + taps]) + 0.5);
            }
        }
        Output::Lut(lut) => {
            // The filtered code values first, then the LUT over the whole row in a loop of
            // its own, which the compiler vectorizes (with gathers on AVX2).
            for (ox, v) in row.chunks_exact_mut(3).enumerate() {
                let s = start[ox] as usize;
                let w = &weights[ox * taps..(ox + 1) * taps];
                v[0] = dot(w, &pr[s..s + taps]);
                v[1] = dot(w, &pg[s..s + taps]);
                v[2] = dot(w, &pb[s..s + taps]);
            }
            lut_row(out_px, row, lut);
        }
    }
}
}

multiversion! {
/// `out[i] = lut_lerp(lut, vals[i])` over a row.
fn lut_row(out: &mut [u16], vals: &[f32], lut: &[u16]) {
    if lut.len() < 2 {
        out.fill(lut.first().copied().unwrap_or(0));
        return;
    }
    // Clamp to `0..=max`; the lower code index stops at `max − 1` so that `i + 1` is always
    // in the table (at `v = max` the fraction is 1 and the result is exactly `lut[max]`).
    let max = (lut.len() - 1) as f32;
    let top = max - 1.0;
    for (o, &v) in out.iter_mut().zip(vals) {
        let v = v.max(0.0).min(max);
        let i = v.min(top);
        // SAFETY: `i` is finite and within 0..=max − 1 (< 65535), which i32 represents.
        let i = unsafe { i.to_int_unchecked::<i32>() } as usize;
        let f = v - i as f32;
        // SAFETY: `i ≤ max − 1 = lut.len() − 2`, so `i` and `i + 1` are in bounds.
        let (a, b) = unsafe { (*lut.get_unchecked(i) as f32, *lut.get_unchecked(i + 1) as f32) };
        *o = super::to_u16(a + (b - a) * f + 0.5);
    }
}
}

/// The LUT at a fractional code value, interpolated between the two codes around it.
/// Interpolating (rather than rounding to a code first) keeps the filter's sub-code
/// precision, and makes the result continuous in `v`: two backends whose sums differ in the
/// last float bit land within one linear step, not one whole code step, of each other.
#[inline(always)]
pub fn lut_lerp(lut: &[u16], v: f32) -> u16 {
    let mut out = [0u16];
    lut_row(&mut out, &[v], lut);
    out[0]
}

/// Dot product over whole 8-lane chunks (`w.len()` is a multiple of [`LANES`]).
#[inline(always)]
fn dot(w: &[f32], x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    for (wc, xc) in w.chunks_exact(LANES).zip(x.chunks_exact(LANES)) {
        for l in 0..LANES {
            acc[l] += wc[l] * xc[l];
        }
    }
    acc.iter().sum()
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

    #[test]
    fn same_size_bilinear_is_the_identity() {
        let src: Vec<u16> = (0..5 * 3 * 3).map(|v| (v * 1000) as u16).collect();
        let dst = Rect {
            x: 0,
            y: 0,
            w: 5,
            h: 3,
        };
        let mut plan = Plan::new(5, 3, 3, [0.0, 0.0, 5.0, 3.0], dst, Filter::Bilinear);
        let mut canvas = vec![0u16; 5 * 3 * 3];
        run(&mut plan, &src, 15, (0, 0), &mut canvas, 5, Output::Linear);
        assert_eq!(canvas, src);
    }

    #[test]
    fn contain_letterboxes_and_centres() {
        let p = place(Fit::Contain, 1920, 1080, 128, 128);
        assert_eq!(
            p.dst,
            Rect {
                x: 0,
                y: 28,
                w: 128,
                h: 72
            }
        );
        assert_eq!(p.one_to_one, None);
    }

    #[test]
    fn cover_crops_the_source() {
        let p = place(Fit::Cover, 200, 100, 100, 100);
        assert_eq!(
            p.dst,
            Rect {
                x: 0,
                y: 0,
                w: 100,
                h: 100
            }
        );
        assert_eq!(p.crop, [50.0, 0.0, 100.0, 100.0]);
        assert_eq!(p.one_to_one, Some((50, 0)));
    }

    #[test]
    fn center_pads_or_crops_without_scaling() {
        let p = place(Fit::Center, 10, 300, 100, 100);
        assert_eq!(
            p.dst,
            Rect {
                x: 45,
                y: 0,
                w: 10,
                h: 100
            }
        );
        assert_eq!(p.one_to_one, Some((0, 100)));
    }

    #[test]
    fn same_size_is_one_to_one_for_every_fit() {
        for fit in Fit::ALL {
            assert_eq!(
                place(fit, 64, 32, 64, 32).one_to_one,
                Some((0, 0)),
                "{fit:?}"
            );
        }
    }
}
