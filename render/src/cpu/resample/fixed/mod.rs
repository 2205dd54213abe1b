//! The 8-bit code-value resampler: `resample = "fast"` on RGBA8 media, the common case for
//! video. The float resampler sums source rows first (vertical pass over the full source
//! width, every source row read once per output row it feeds) and spends most of its time
//! converting bytes to floats; this one filters each source row horizontally exactly once,
//! in 16-bit fixed point, and sums those narrower rows vertically in f32:
//!
//! 1. Horizontal: per output pixel, `Σ w_q[k] · code[k]` in i32, with the weights `w_q`
//!    rounded to [`BITS`] fractional bits and corrected so each pixel's weights sum to
//!    exactly `2^BITS` (flat areas come out exact). On AVX2 one `pmaddwd` multiplies two
//!    taps of four channels and one 256-bit register holds two output pixels; on AVX-512
//!    with VNNI, `vpdpwssd` does it for four pixels (or five pixels' RGB) a register. The
//!    sums are integers (exact in any order) and become f32 without rounding, so every
//!    kernel gives the bits of the portable one.
//! 2. The filtered rows (RGB f32, the canvas width of the placement) go into a ring of as
//!    many rows as the vertical filter has taps (plus the step between neighbouring
//!    windows, where output rows are paired below); each band of output rows fills it as
//!    its window slides down the source.
//! 3. Vertical: the float resampler's vertical pass over the ring's rows, with weights
//!    scaled by `2^-BITS` (exact), then the LUT interpolated between codes. With AVX-512,
//!    two neighbouring output rows are summed together, each ring row loaded once for both
//!    (the same FMAs in the same order: the same bits).
//!
//! Error against the float path: each weight is off by at most `2^-(BITS+1)` and the
//! errors cancel on flat areas, so a pixel is off by at most
//! `taps · 2^-(BITS+1) · 255` codes (0.09 codes at 12 taps), in practice a few thousandths.
//!
//! The kernels are chosen when the plan is built, through [`crate::cpu::simd`]: the
//! horizontal kernel (`tables::Kernel`, whose token the tables keep and are laid out for),
//! the pairing of output rows (`Pairing`, with the ring depth it needs) and the VBMI LUT's
//! token ([`Fixed`]).
//!
//! # Files
//!
//! * `mod.rs`: these docs; [`Fixed`] and [`run_rgba8`], the pass over the bands (ring
//!   filling, vertical pass, LUT).
//! * `tables.rs`: the fixed-point tables: quantized weights, the SIMD kernels' weight and
//!   block layouts, the ring's geometry, and the kernel choice (`Kernel`).
//! * `horizontal.rs`: the horizontal pass's dispatch and its portable code.
//! * `avx2.rs`: the AVX2 horizontal kernel (two pixels a register).
//! * `avx512.rs`: the AVX-512 BW + VNNI + VBMI horizontal kernel (four pixels a register,
//!   one-load blocks, five-pixel blocks).
//! * `tests.rs`: bit-exactness tests, at every level.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod horizontal;
mod tables;
#[cfg(test)]
mod tests;

use super::lut::{LutSplit, lut_out, split};
use super::plan::Plan;
use super::vertical::{Pairing, RingWindow, next_window, vertical_pair, vertical_ring};
use super::{Each, fit_bands};
use crate::cpu::bands::Bands;
use crate::cpu::simd::{Avx512, Vbmi};
use horizontal::horizontal;
use rayon::prelude::*;
use tables::Tables;

/// Fractional bits of the horizontal weights: a weight of 1.0 is `2^14`, and
/// `2 · 255 · 2^14` fits the i32 pair sums of `pmaddwd` many times over.
pub const BITS: u32 = 14;
/// Source pixels one step of the horizontal kernel reads (16 bytes of RGBA8).
const GROUP: usize = 4;
/// Floats past the row's last pixel that the kernels' stores write (four pixels' RGB plus
/// four spare floats, for the AVX-512 kernel).
const SLACK: usize = 4;
/// Output pixels are padded to a multiple of this (the AVX-512 kernel's four a register).
const BLOCK: usize = 4;

/// The fixed-point tables and the ring scratch of one placement.
#[derive(Debug)]
pub struct Fixed {
    t: Tables,
    /// Per band: the ring, then two vertical sum rows (`width · 3` each).
    scratch: Vec<Vec<f32>>,
    /// Per band: two source rows made on demand ([`Rgba8Rows::MAKES`]); empty until then.
    rows8: Vec<Vec<u8>>,
    /// The AVX-512 VBMI LUT's token, when the level allowed it as the plan was built.
    vbmi: Option<Vbmi>,
}

impl Fixed {
    /// The fixed-point tables for `plan` over a source `sw` pixels wide, for the kernels
    /// the current level allows, or `None` when a pixel's window (rounded up to whole
    /// groups) is wider than the source.
    pub fn new(plan: &Plan, sw: u32) -> Option<Fixed> {
        Fixed::with_pairing(plan, sw, Pairing::best())
    }

    /// [`Fixed::new`], its output rows going through the vertical pass as `pairing` asks
    /// where the windows allow.
    fn with_pairing(plan: &Plan, sw: u32, pairing: Pairing) -> Option<Fixed> {
        let t = Tables::new(plan, sw, pairing)?;
        let scratch = (0..t.bands.len())
            .map(|_| vec![0f32; t.ring * t.row_len + 2 * t.width * 3])
            .collect();
        let rows8 = vec![Vec::new(); t.bands.len()];
        Some(Fixed {
            t,
            scratch,
            rows8,
            vbmi: Avx512::new().and_then(|t| t.vbmi()),
        })
    }
}

/// Source rows of RGBA8 codes for [`run_rgba8_rows`]: a whole image in memory, or rows
/// made on demand (a Y'CbCr picture converted as the ring asks for each row).
pub trait Rgba8Rows: Sync {
    /// Whether [`Rgba8Rows::row`] writes `buf` (so each band needs two rows of scratch).
    const MAKES: bool;
    /// Source row `y` as RGBA8, pixels `first..` of a row of `bytes / 4` pixels: either a
    /// row of the image (from pixel 0) or `buf` (`bytes` long) with pixels `first..`
    /// written (the bytes before them are not read).
    fn row<'a>(&'a self, y: usize, first: usize, bytes: usize, buf: &'a mut [u8]) -> &'a [u8];
}

/// An RGBA8 image in memory, rows of `row` bytes.
struct Image<'a> {
    src: &'a [u8],
    row: usize,
}

impl Rgba8Rows for Image<'_> {
    const MAKES: bool = false;
    #[inline]
    fn row<'a>(&'a self, y: usize, _: usize, _: usize, _: &'a mut [u8]) -> &'a [u8] {
        &self.src[y * self.row..(y + 1) * self.row]
    }
}

/// [`super::run`] for RGBA8 code values (`src`, the whole image, rows of `src_row` bytes)
/// through the 256-entry `lut`, on the fixed-point path, into the plan's rect of `canvas`
/// (RGB u16, `cw` wide), calling `each(y, row)` on every canvas row `y` as soon as it is
/// written, while it is in cache (see [`Each`]). Returns false, doing nothing, when `plan`
/// has no fixed-point tables (a source narrower than a filter window, or not a `Fast`
/// plan), `lut` is not an 8-bit LUT or `bands` (instead of the plan's own) do not fit, so
/// the caller can take the general path.
#[allow(clippy::too_many_arguments)]
pub fn run_rgba8(
    plan: &mut Plan,
    src: &[u8],
    src_row: usize,
    canvas: &mut [u16],
    cw: u32,
    lut: &[u16],
    bands: Option<&Bands>,
    each: impl Each,
) -> bool {
    let src = Image { src, row: src_row };
    run_rgba8_rows(plan, &src, canvas, cw, lut, bands, each)
}

/// [`run_rgba8`] over any [`Rgba8Rows`]: each source row a band's ring needs is asked for
/// once. Rows that are made (not in memory) go into two rows of scratch per band that the
/// plan keeps (sized on the first such frame).
pub fn run_rgba8_rows<R: Rgba8Rows>(
    plan: &mut Plan,
    src: &R,
    canvas: &mut [u16],
    cw: u32,
    lut: &[u16],
    bands: Option<&Bands>,
    each: impl Each,
) -> bool {
    let (dst, v) = (plan.tables.dst, &plan.tables.v);
    let Some(Fixed {
        t,
        scratch,
        rows8,
        vbmi,
    }) = plan.fixed.as_mut()
    else {
        return false;
    };
    let Some(bands) = fit_bands(bands, t.bands, scratch.len(), dst) else {
        return false;
    };
    if lut.len() != 256 {
        return false;
    }
    let t = &*t;
    let row_len = cw as usize * 3;
    let rows = &mut canvas[dst.y as usize * row_len..(dst.y + dst.h) as usize * row_len];
    let (x0, x1) = (dst.x as usize * 3, (dst.x + dst.w) as usize * 3);
    let split: Option<LutSplit> = split(*vbmi, lut);
    let avx2 = t.kernel.avx2();
    let made = if R::MAKES { 2 * t.reads } else { 0 };
    let mut parts = bands.split(rows, row_len);
    parts[..bands.len()]
        .par_iter_mut()
        .zip(scratch.par_iter_mut())
        .zip(rows8.par_iter_mut())
        .enumerate()
        .for_each(|(band, ((rows, scratch), rows8))| {
            if rows8.len() < made {
                // The first frame of rows made on demand: allocates once per plan.
                rows8.resize(made, 0);
            }
            let (rings, sums) = scratch.split_at_mut(t.ring * t.row_len);
            let (sum, sum2) = sums.split_at_mut(t.width * 3);
            let mut window = RingWindow::default();
            let first = bands.start(band);
            let n_rows = rows.len() / row_len;
            let mut r = 0;
            while r < n_rows {
                let oy = first + r;
                let win = next_window(v, oy, r + 1 < n_rows, t.pairing, t.ring);
                fill(
                    &mut window,
                    win.start,
                    win.end - win.start,
                    rings,
                    src,
                    &mut rows8[..made],
                    t,
                );
                let slot = |y: usize| &rings[(y % t.ring) * t.row_len..][..t.width * 3];
                let sums = (&mut *sum, &mut *sum2);
                let weights = (&t.v_weights[..], v.taps);
                let done = vertical_ring(sums, weights, oy, win, slot, t.pairing, vertical_pair);
                for (k, sum) in [&*sum, &*sum2].into_iter().take(done).enumerate() {
                    let canvas_row = &mut rows[(r + k) * row_len..(r + k + 1) * row_len];
                    lut_out(&mut canvas_row[x0..x1], sum, lut, split.as_ref(), avx2);
                    each(dst.y as usize + first, &mut rows[..(r + k + 1) * row_len]);
                }
                r += done;
            }
        });
    true
}

/// Fill the ring with the source rows the window `s..s + n` adds, through the horizontal
/// pass: two at a time where they come in pairs (every row of a 2x downscale), so the
/// pair shares each weight load.
fn fill<R: Rgba8Rows>(
    window: &mut RingWindow,
    s: usize,
    n: usize,
    rings: &mut [f32],
    src: &R,
    made: &mut [u8],
    t: &Tables,
) {
    let fill = window.advance(s, n, t.ring);
    let (buf0, buf1) = made.split_at_mut(made.len() / 2);
    let mut y = fill.start;
    while y < fill.end {
        let (a, b) = ((y % t.ring) * t.row_len, ((y + 1) % t.ring) * t.row_len);
        if y + 1 < fill.end {
            // Two distinct slots (`b` follows `a`, or the ring wraps to 0).
            let (lo, hi) = rings.split_at_mut(a.max(b));
            let (low, high) = (&mut lo[a.min(b)..][..t.row_len], &mut hi[..t.row_len]);
            let (ra, rb) = if a < b { (low, high) } else { (high, low) };
            let rows = [
                src.row(y, t.first, t.reads, &mut *buf0),
                src.row(y + 1, t.first, t.reads, &mut *buf1),
            ];
            horizontal([ra, rb], rows, t);
            y += 2;
        } else {
            let row = src.row(y, t.first, t.reads, &mut *buf0);
            horizontal([&mut rings[a..a + t.row_len]], [row], t);
            y += 1;
        }
    }
}
