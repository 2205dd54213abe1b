//! Stage 2, resample: a source rect onto a canvas rect (fit mode, filter).
//!
//! A separable convolution whose coefficient tables ([`crate::filter::Tables`], the ones
//! the GPU uploads too) are computed once per placement (source size, crop, destination
//! rect, filter) and kept in a [`Plan`], together with the scratch rows every band of
//! output rows needs: after the first frame of a placement, resampling allocates nothing.
//!
//! Convolution filters widen with the downscale ratio (each output pixel averages the whole
//! source area it covers), so 4K content on a small wall does not alias; `nearest` is the
//! one filter that samples. Pixels outside the source are not invented: weights that would
//! fall outside are dropped and the rest renormalized.
//!
//! # Modes
//!
//! A plan is built for one [`ResampleMode`], which fixes what its passes filter:
//!
//! * [`ResampleMode::Linear`] (`resample = "linear"`): linear-light RGB, three samples a
//!   pixel. [`run_linear`] linearizes each source row the plan reads once, into a ring of
//!   rows per band, and resamples from the ring; [`run`] reads a source linearized
//!   beforehand.
//! * [`ResampleMode::Fast`] (`resample = "fast"`): RGBA code values, four samples a pixel,
//!   through the LUT on the way out ([`Output::Lut`]). RGBA8 sources take the fixed-point
//!   path ([`run_rgba8`], `fixed/`): horizontal pass first, in 16-bit integer arithmetic,
//!   then the vertical pass over a ring of filtered rows; 8-bit Y'CbCr sources take it too,
//!   each row converted as the ring asks for it ([`run_rgba8_rows`]). 16-bit sources, and
//!   sources narrower than a filter window, take the float passes.
//!
//! The float passes: each band of output rows first sums the source rows it needs (the
//! vertical pass: 64 samples at a time kept in registers across up to eight source rows,
//! so the sum row is written once per sweep, not once per tap), then filters that row
//! horizontally with one four-lane multiply-add per tap and output pixel, the pixel's
//! RGB(A) lanes side by side (two pixels a register with AVX2; five pixels' RGB a register
//! with AVX-512 on the linear-light path). Over a ring, two neighbouring output rows go
//! through the vertical pass together where that pays (AVX-512), each ring row loaded once
//! for both.
//!
//! # Kernel choice
//!
//! Through [`crate::cpu::simd`] only, once, when the plan is built: the layouts a level's
//! kernels read (the AVX2 weight pairs, the AVX-512 five-pixel blocks, the fixed-point
//! path's register layouts, paired rows and the ring depth they need) are built for the
//! level in force then, and the plan keeps the tokens of the kernels that read them
//! ([`simd::Avx2`](crate::cpu::simd::Avx2), [`simd::Avx512`](crate::cpu::simd::Avx512),
//! [`simd::VnniVbmi`](crate::cpu::simd::VnniVbmi), [`simd::Vbmi`](crate::cpu::simd::Vbmi)).
//! So a plan always runs the kernels it was laid out for, a kernel cannot be reached
//! without its features, and the token is the safety argument of each `unsafe` call into
//! `#[target_feature]` code. A cap set with [`simd::set_cap`](crate::cpu::simd::set_cap)
//! applies to the plans built after it. The vertical sweeps are `multiversion!` kernels,
//! which follow the level at each call. Every level gives the same bytes (the tests run
//! every case at every level this machine has, through
//! [`simd::each_level`](crate::cpu::simd::each_level)).
//!
//! # Files
//!
//! * `mod.rs`: these docs; the entry points [`run`] (the float passes) and [`run_linear`]
//!   (linearize + resample through a ring); [`Output`], [`Each`].
//! * `plan.rs`: [`Plan`]: the tables of one placement, its cache key, scratch rows and
//!   rings, the horizontal weights laid out for the SIMD kernels, and the tokens chosen.
//! * `vertical.rs`: the vertical pass (portable and `multiversion!`): sweeps of source
//!   rows, paired output rows (`Pairing`), the ring's window.
//! * `horizontal.rs`: the horizontal pass of the float path: its table view, the kernel
//!   dispatch, the portable pass.
//! * `lut.rs`: the LUT interpolated between codes on the way out: dispatch (incl. the
//!   AVX-512 VBMI LUT of the fixed-point path), the portable code, [`lut_lerp`].
//! * `avx2.rs`: the AVX2 + FMA kernels: horizontal pass (pairs of pixels, single pixels),
//!   the LUT with gathers.
//! * `avx512.rs`: the AVX-512 kernels: paired vertical rows, five-pixel horizontal
//!   blocks, the VBMI LUT (`lut512`).
//! * `fixed/`: the fixed-point RGBA8 path ([`run_rgba8`]), with its own tables, portable
//!   pass and per-ISA kernels.
//! * `tests.rs`: the float path's bit-exactness tests, at every level.
//!
//! [`ResampleMode`]: crate::wall::ResampleMode
//! [`ResampleMode::Linear`]: crate::wall::ResampleMode::Linear
//! [`ResampleMode::Fast`]: crate::wall::ResampleMode::Fast

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod fixed;
mod horizontal;
mod lut;
mod plan;
#[cfg(test)]
mod tests;
mod vertical;

pub use super::Sample;
pub use fixed::{Rgba8Rows, run_rgba8, run_rgba8_rows};
pub use lut::lut_lerp;
pub use plan::Plan;

use crate::cpu::bands::Bands;
use crate::place::Rect;
use horizontal::{HTable, horizontal};
use rayon::prelude::*;
use vertical::{RingWindow, next_window, vertical, vertical_pair16, vertical_ring};

/// What the filtered value becomes in the canvas.
#[derive(Debug, Clone, Copy)]
pub enum Output<'a> {
    /// Linear light already: round to u16.
    Linear,
    /// Code values: through this LUT (256 or 65536 entries), interpolated between codes,
    /// to linear light ([`lut_lerp`]). This is `resample = "fast"`.
    Lut(&'a [u16]),
}

/// What a fused pass calls after writing each output row: `each(first, rows)` gets the
/// band's rows written so far, from canvas row `first` on; the last of them is the new
/// row, still in cache. (The whole band so far, not just the row, so that the fused pack
/// can read the rows its units need.)
pub trait Each: Fn(usize, &mut [u16]) + Sync {}
impl<F: Fn(usize, &mut [u16]) + Sync> Each for F {}

/// Resample through `plan` into the plan's rect of `canvas` (packed RGB u16, `cw` wide).
///
/// `src` holds source pixels ([`Plan::stride`] samples each: linear RGB for a
/// `Linear` plan, RGBA code values for a `Fast` one) in rows of `src_row` samples, its
/// first sample being source pixel `origin`; it must cover the plan's read region
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
    // RGBA8 code values through the 8-bit LUT: the fixed-point path.
    if let (Some(bytes), Output::Lut(lut)) = (T::as_u8(src), out)
        && origin == (0, 0)
        && run_rgba8(plan, bytes, src_row, canvas, cw, lut, None, |_, _| {})
    {
        return;
    }
    let stride = plan.stride();
    let sum_len = plan.sum_len();
    let (dst, width, h_used) = (
        plan.tables.dst,
        plan.tables.width as usize,
        plan.tables.h_used,
    );
    let (x0, bands) = (plan.tables.x0 as usize, plan.bands);
    let (table, v) = (
        HTable::new(&plan.tables.h, h_used, &plan.h_simd),
        &plan.tables.v,
    );
    let row_len = cw as usize * 3;
    let (ox0, oy0) = (origin.0 as usize, origin.1 as usize);
    let n = width * stride;
    let rows = &mut canvas[dst.y as usize * row_len..(dst.y + dst.h) as usize * row_len];
    let mut parts = bands.split(rows, row_len);
    parts[..bands.len()]
        .par_iter_mut()
        .zip(plan.scratch.par_iter_mut())
        .enumerate()
        .for_each(|(band, (rows, scratch))| {
            let (sum, row_vals) = scratch.split_at_mut(sum_len);
            for (r, canvas_row) in rows.chunks_exact_mut(row_len).enumerate() {
                let oy = bands.start(band) + r;
                // Vertical pass: sum = Σ w · source row, over the columns the plan reads.
                let s0 = v.start[oy] as usize;
                let wv = &v.weights[oy * v.taps..oy * v.taps + v.used(oy)];
                let first = (s0 - oy0) * src_row + (x0 - ox0) * stride;
                vertical(&mut sum[..n], src, first, src_row, wv);
                // Horizontal pass: four lanes a pixel (RGB or RGBA) over the summed row.
                let out_px = &mut canvas_row[dst.x as usize * 3..(dst.x + dst.w) as usize * 3];
                horizontal(out_px, &table, sum, stride, out, row_vals);
            }
        });
}

/// Linearize and resample in one pass per band (`resample = "linear"`): `src` is the whole
/// RGBA source (`sw` pixels wide, u8 or u16 code values), `lut` its transfer LUT. Each
/// source row the plan reads is linearized once, into the band's ring, where the vertical
/// pass reads it (the whole linearized source never goes through memory); each output row
/// is written to the plan's rect of `canvas`, then `each` sees it while it is in cache
/// (see [`Each`]). The arithmetic is that of [`super::linearize::rect`] then [`run`], so
/// are the bytes. Returns false, doing nothing, for a plan without rings (not a `Linear`
/// plan) or when `bands` (instead of the plan's own) do not fit it.
#[allow(clippy::too_many_arguments)]
pub fn run_linear<T: Sample>(
    plan: &mut Plan,
    src: &[T],
    sw: u32,
    lut: &[u16],
    canvas: &mut [u16],
    cw: u32,
    bands: Option<&Bands>,
    each: impl Each,
) -> bool {
    let rows = RgbaRows {
        src,
        sw: sw as usize,
        kernel: super::linearize::Kernel::new(src, lut),
    };
    run_linear_rows(plan, &rows, canvas, cw, bands, each)
}

/// Source rows linearized on demand, for [`run_linear_rows`].
pub trait LinearRows: Sync {
    /// Linear RGB of source row `y`, pixels `x0..x0 + out.len() / 3`, into `out`.
    fn row(&self, y: usize, x0: usize, out: &mut [u16]);
}

/// RGBA code values through the LUT kernel.
struct RgbaRows<'a, T> {
    src: &'a [T],
    sw: usize,
    kernel: super::linearize::Kernel<'a>,
}

impl<T: Sample> LinearRows for RgbaRows<'_, T> {
    #[inline]
    fn row(&self, y: usize, x0: usize, out: &mut [u16]) {
        let at = (y * self.sw + x0) * 4;
        self.kernel.row(&self.src[at..at + out.len() / 3 * 4], out);
    }
}

/// [`run_linear`] over any [`LinearRows`] (RGBA code values, Y'CbCr planes): each source
/// row the plan reads is asked for once, into the band's ring.
pub fn run_linear_rows<R: LinearRows>(
    plan: &mut Plan,
    src: &R,
    canvas: &mut [u16],
    cw: u32,
    bands: Option<&Bands>,
    each: impl Each,
) -> bool {
    let sum_len = plan.sum_len();
    let dst = plan.tables.dst;
    let Some(lin) = plan.linear.as_mut() else {
        return false;
    };
    let Some(bands) = fit_bands(bands, lin.bands, lin.scratch.len(), dst) else {
        return false;
    };
    let (ring, pairing) = (lin.ring, lin.pairing);
    let (dst, width, h_used, x0) = (
        plan.tables.dst,
        plan.tables.width as usize,
        plan.tables.h_used,
        plan.tables.x0,
    );
    let (table, v) = (
        HTable::new(&plan.tables.h, h_used, &plan.h_simd),
        &plan.tables.v,
    );
    let row_len = cw as usize * 3;
    let n = width * 3;
    let rows = &mut canvas[dst.y as usize * row_len..(dst.y + dst.h) as usize * row_len];
    let mut parts = bands.split(rows, row_len);
    parts[..bands.len()]
        .par_iter_mut()
        .zip(lin.scratch.par_iter_mut())
        .enumerate()
        .for_each(|(band, (rows, (rings, floats)))| {
            let (sum, rest) = floats.split_at_mut(sum_len);
            let (sum2, row_vals) = rest.split_at_mut(sum_len);
            let mut window = RingWindow::default();
            let first = bands.start(band);
            let n_rows = rows.len() / row_len;
            let mut r = 0;
            while r < n_rows {
                let oy = first + r;
                let win = next_window(v, oy, r + 1 < n_rows, pairing, ring);
                for y in window.advance(win.start, win.end - win.start, ring) {
                    let slot = (y % ring) * n;
                    src.row(y, x0 as usize, &mut rings[slot..slot + n]);
                }
                let slot = |y: usize| &rings[(y % ring) * n..][..n];
                let sums = (&mut sum[..n], &mut sum2[..n]);
                let weights = (&v.weights[..], v.taps);
                let done = vertical_ring(sums, weights, oy, win, slot, pairing, vertical_pair16);
                for (k, sum) in [&*sum, &*sum2].into_iter().take(done).enumerate() {
                    let canvas_row = &mut rows[(r + k) * row_len..(r + k + 1) * row_len];
                    let out_px = &mut canvas_row[dst.x as usize * 3..(dst.x + dst.w) as usize * 3];
                    horizontal(out_px, &table, sum, 3, Output::Linear, row_vals);
                    each(dst.y as usize + first, &mut rows[..(r + k + 1) * row_len]);
                }
                r += done;
            }
        });
    true
}

/// `bands` if they fit a pass over `dst` with `scratch` bands of scratch, else `own`
/// (None: `bands` were asked for and do not fit).
fn fit_bands(bands: Option<&Bands>, own: Bands, scratch: usize, dst: Rect) -> Option<Bands> {
    match bands {
        None => Some(own),
        Some(b) => (b.len() <= scratch && b.rows() == dst.h as usize).then_some(*b),
    }
}
