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
//! Each band of output rows first sums the source rows it needs (vertical pass: 32 samples
//! at a time kept in registers across up to eight source rows, so the sum row is written
//! once, not once per tap), then filters that row horizontally with one four-lane
//! multiply-add per tap and output pixel, the pixel's RGB(A) lanes side by side.
//!
//! RGBA8 code values through the 8-bit LUT (`resample = "fast"` on 8-bit media, most
//! video) take the fixed-point path in `resample/fixed.rs` instead: horizontal pass first, in 16-bit
//! integer arithmetic, then the vertical pass over a ring of filtered rows.

use super::simd::multiversion;
use crate::filter::{AxisTable, Tables};
use crate::frame::Filter;
use crate::place::Rect;
use rayon::prelude::*;

mod fixed;

/// Samples summed together in registers by the vertical pass: eight AVX2 registers, four
/// AVX-512 ones, independent FMA chains enough to hide the FMA latency (32 left the
/// AVX-512 build two chains; 64 measured 4–10% faster end to end, same bits).
const V_CHUNK: usize = 64;
/// Source rows summed per sweep of the vertical pass; more taps take several sweeps.
const V_TAPS: usize = 8;

use super::bands::{Bands, MAX_BANDS};

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
    /// The bands of the general pass ([`run`]).
    bands: Bands,
    /// Weights the horizontal pass sums per output pixel: the most any pixel uses (the
    /// table itself is padded further, to [`LANES`]).
    h_used: usize,
    /// Per band: the vertical sum of one output row (source stride, then zeros the
    /// horizontal pass may read past the end with zero weights), then one filtered row.
    scratch: Vec<Vec<f32>>,
    /// The 8-bit code-value path's tables and ring (stride-4 plans; see [`fixed`]).
    fixed: Option<fixed::Fixed>,
    /// The linear-light path's rings of linearized source rows (stride-3 plans).
    linear: Option<LinearRing>,
    /// The horizontal weights laid out for the SIMD kernels.
    h_simd: HSimd,
}

/// The horizontal weights laid out for the SIMD kernels of the horizontal pass.
#[derive(Debug, Default)]
struct HSimd {
    /// For the AVX2 pass, which filters two output pixels per 256-bit register: per pixel
    /// pair and tap, the even pixel's weight four times, then the odd one's (empty:
    /// per-pixel pass).
    pairs: Vec<f32>,
    /// The AVX-512 pass's blocks of five output pixels ([`HBlock`]), from pixel 0, in runs
    /// of two (so the pairs after them start at an even pixel); empty without AVX-512 and
    /// off the linear-light (stride 3) path.
    blocks: Vec<HBlock>,
    /// Per block and tap, sixteen weights: lane `3p + c` pixel `p`'s, lane 15 zero.
    block_w: Vec<f32>,
}

/// Five output pixels' RGB in one AVX-512 register (lanes `3p + c`, lane 15 spare) where
/// their windows start within ten source pixels: tap `k` reads the 32 floats at
/// `base + 3k` and picks each lane's float with one two-source permute.
#[derive(Debug, Clone)]
struct HBlock {
    /// First float of the block's window in the vertical sum row (3 × the first pixel's
    /// first source column).
    base: u32,
    /// Per lane, its float among the 32 (lane 15: 0, with zero weights).
    idx: [u32; 16],
}

/// [`HSimd::blocks`] and [`HSimd::block_w`] for a stride-3 plan.
fn h_blocks(plan: &Plan) -> (Vec<HBlock>, Vec<f32>) {
    let (h, used, width) = (&plan.h, plan.h_used, plan.dst.w as usize);
    let (mut blocks, mut weights) = (Vec::new(), Vec::new());
    let block = |q: usize| {
        let s0 = h.start[q] as usize;
        let fits = (q..q + 5).all(|p| {
            let s = h.start[p] as usize;
            s >= s0 && 3 * (s - s0) + 2 < 32
        });
        let inside = 3 * s0 + 3 * (used.max(1) - 1) + 32 <= plan.sum_len();
        (fits && inside).then(|| HBlock {
            base: 3 * s0 as u32,
            idx: std::array::from_fn(|lane| match lane {
                15 => 0,
                _ => (3 * (h.start[q + lane / 3] as usize - s0) + lane % 3) as u32,
            }),
        })
    };
    let mut p0 = 0;
    while p0 + 10 <= width {
        let (Some(a), Some(b)) = (block(p0), block(p0 + 5)) else {
            break;
        };
        for (q, blk) in [(p0, a), (p0 + 5, b)] {
            for k in 0..used {
                weights.extend((0..16).map(|lane| match lane {
                    15 => 0.0,
                    _ => h.weights[(q + lane / 3) * h.taps + k],
                }));
            }
            blocks.push(blk);
        }
        p0 += 10;
    }
    (blocks, weights)
}

/// Scratch of [`run_linear`]: per band, a ring of linearized source rows (the plan's read
/// columns, RGB u16; as many rows as the vertical filter has taps), then the vertical sum
/// and filtered rows of [`Plan::scratch`].
#[derive(Debug)]
struct LinearRing {
    ring: usize,
    /// Output rows go through the vertical pass in pairs ([`vertical_pair16`]).
    pairs: bool,
    bands: Bands,
    scratch: Vec<(Vec<u16>, Vec<f32>)>,
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
        let len = plan.sum_len() + dst.w as usize * 3;
        plan.scratch = (0..plan.bands.len()).map(|_| vec![0f32; len]).collect();
        if stride == 4 {
            plan.fixed = fixed::Fixed::new(&plan, sw);
        }
        #[cfg(target_arch = "x86_64")]
        if stride == 3 && super::simd::Avx512::new().is_some() {
            (plan.h_simd.blocks, plan.h_simd.block_w) = h_blocks(&plan);
        }
        let used = plan.h_used;
        for j in 0..dst.w as usize / 2 {
            for k in 0..used {
                for px in [2 * j, 2 * j + 1] {
                    let w = plan.h.weights[px * plan.h.taps + k];
                    plan.h_simd.pairs.extend_from_slice(&[w; 4]);
                }
            }
        }
        if stride == 3 {
            let (pairs, ring) = pair_ring(&plan.v, pairs_pay());
            let bands = Bands::per_thread(dst.h as usize, &[]);
            let row = plan.width as usize * 3;
            // Two vertical sums (the second for paired rows), then the filtered row.
            let floats = plan.sum_len() + len;
            plan.linear = Some(LinearRing {
                ring,
                pairs,
                bands,
                scratch: (0..bands.len())
                    .map(|_| (vec![0u16; ring * row], vec![0f32; floats]))
                    .collect(),
            });
        }
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
        let Tables {
            h,
            v,
            x0,
            width,
            y0,
            height,
            dst,
            h_used,
        } = Tables::new(sw, sh, crop, dst, filter);
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
            height,
            dst,
            bands: Bands::new(dst.h as usize, MAX_BANDS, &[]),
            h_used,
            scratch: Vec::new(),
            fixed: None,
            linear: None,
            h_simd: HSimd::default(),
        }
    }

    /// Length of a band's vertical-sum row: the source samples read, then zeros for the
    /// horizontal pass's reads past the last pixel (a pixel near the right edge with fewer
    /// taps than [`Plan::h_used`] reads zeros with zero weights; one extra pixel because
    /// the pass reads four lanes a pixel at stride 3).
    fn sum_len(&self) -> usize {
        (self.width as usize + self.h_used + 1) * self.key.stride
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
    // RGBA8 code values through the 8-bit LUT: the fixed-point path.
    if let (Some(bytes), Output::Lut(lut)) = (T::as_u8(src), out)
        && origin == (0, 0)
        && run_rgba8(plan, bytes, src_row, canvas, cw, lut, None, |_, _| {})
    {
        return;
    }
    let stride = plan.key.stride;
    let sum_len = plan.sum_len();
    let (dst, width, h_used) = (plan.dst, plan.width as usize, plan.h_used);
    let (x0, bands) = (plan.x0 as usize, plan.bands);
    let (table, v) = (HTable::new(&plan.h, h_used, &plan.h_simd), &plan.v);
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

/// `sum = Σ_k w[k] · src[first + k · src_row ..][..sum.len()]`, converting samples to f32,
/// in sweeps of up to [`V_TAPS`] source rows (a filter with more taps adds later sweeps
/// onto the first).
fn vertical<T: Sample>(sum: &mut [f32], src: &[T], first: usize, src_row: usize, w: &[f32]) {
    let n = sum.len();
    for (sweep, ws) in w.chunks(V_TAPS).enumerate() {
        let mut rows: [&[T]; V_TAPS] = [&[]; V_TAPS];
        for (j, row) in rows.iter_mut().take(ws.len()).enumerate() {
            let at = first + (sweep * V_TAPS + j) * src_row;
            *row = &src[at..at + n];
        }
        vertical_sweep(sum, &rows[..ws.len()], ws, sweep > 0);
    }
}

pub use fixed::run_rgba8;

/// What a fused pass calls after writing each output row: `each(first, rows)` gets the
/// band's rows written so far, from canvas row `first` on; the last of them is the new
/// row, still in cache. (The whole band so far, not just the row, so that the fused pack
/// can read the rows its units need.)
pub trait Each: Fn(usize, &mut [u16]) + Sync {}
impl<F: Fn(usize, &mut [u16]) + Sync> Each for F {}

/// `bands` if they fit a pass over `dst` with `scratch` bands of scratch, else `own`
/// (None: `bands` were asked for and do not fit).
fn fit_bands(bands: Option<&Bands>, own: Bands, scratch: usize, dst: Rect) -> Option<Bands> {
    match bands {
        None => Some(own),
        Some(b) => (b.len() <= scratch && b.rows() == dst.h as usize).then_some(*b),
    }
}

/// Linearize and resample in one pass per band (`resample = "linear"`): `src` is the whole
/// RGBA source (`sw` pixels wide, u8 or u16 code values), `lut` its transfer LUT. Each
/// source row the plan reads is linearized once, into the band's ring, where the vertical
/// pass reads it (the whole linearized source never goes through memory); each output row
/// is written to the plan's rect of `canvas`, then `each` sees it while it is in cache
/// (see [`Each`]). The arithmetic is that of [`super::linearize::rect`] then [`run`], so
/// are the bytes. Returns false, doing nothing, for a plan without rings (not a stride-3
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
    let sum_len = plan.sum_len();
    let dst = plan.dst;
    let Some(lin) = plan.linear.as_mut() else {
        return false;
    };
    let Some(bands) = fit_bands(bands, lin.bands, lin.scratch.len(), dst) else {
        return false;
    };
    let ring = lin.ring;
    let (dst, width, h_used, x0) = (plan.dst, plan.width as usize, plan.h_used, plan.x0);
    let (table, v) = (HTable::new(&plan.h, h_used, &plan.h_simd), &plan.v);
    let row_len = cw as usize * 3;
    let (n, sw) = (width * 3, sw as usize);
    let kernel = super::linearize::Kernel::new(src, lut);
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
                let win = next_window(v, oy, r + 1 < n_rows, lin.pairs, ring);
                for y in window.advance(win.start, win.end - win.start, ring) {
                    let at = (y * sw + x0 as usize) * 4;
                    let slot = (y % ring) * n;
                    kernel.row(&src[at..at + width * 4], &mut rings[slot..slot + n]);
                }
                let slot = |y: usize| &rings[(y % ring) * n..][..n];
                let sums = (&mut sum[..n], &mut sum2[..n]);
                let done =
                    vertical_ring(sums, (&v.weights, v.taps), oy, win, slot, vertical_pair16);
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

multiversion! {
/// `sum (+)= Σ_k ws[k] · rows[k]` (at most [`V_TAPS`] rows, each at least `sum.len()` long),
/// adding onto `sum` when `add`. [`V_CHUNK`] sums stay in registers across the rows, so
/// `sum` is written once per sweep, not once per tap.
fn vertical_sweep<T: Sample>(sum: &mut [f32], rows: &[&[T]], ws: &[f32], add: bool) {
    let n = sum.len();
    let rows = &rows[..ws.len()];
    let mut chunks = sum.chunks_exact_mut(V_CHUNK);
    for (c, out) in (&mut chunks).enumerate() {
        let i = c * V_CHUNK;
        let mut acc = [0f32; V_CHUNK];
        if add {
            acc.copy_from_slice(out);
        }
        for (row, &wk) in rows.iter().zip(ws) {
            let x = &row[i..i + V_CHUNK];
            for l in 0..V_CHUNK {
                // `mul_add` is one FMA instruction in the AVX2 + FMA build (and on aarch64);
                // the baseline x86 build calls libm for it, which keeps the result the same
                // bits on every machine.
                acc[l] = wk.mul_add(x[l].f(), acc[l]);
            }
        }
        out.copy_from_slice(&acc);
    }
    let tail = chunks.into_remainder();
    let i0 = n - tail.len();
    for (i, out) in tail.iter_mut().enumerate() {
        let mut acc = if add { *out } else { 0.0 };
        for (row, &wk) in rows.iter().zip(ws) {
            acc = wk.mul_add(row[i0 + i].f(), acc);
        }
        *out = acc;
    }
}
}

/// Most source rows [`vertical_pair`] reads in one call: the union of two neighbouring
/// output rows' windows (14 for a 2x Lanczos3 downscale).
const PAIR_ROWS: usize = 16;

/// Whether a ring over the vertical table `v` pairs output rows (when `want` and the
/// union of two neighbouring windows fits [`PAIR_ROWS`]), and its depth: the filter's taps,
/// plus the largest step between neighbouring windows when paired.
fn pair_ring(v: &AxisTable, want: bool) -> (bool, usize) {
    let step = v.start.windows(2).map(|p| p[1].saturating_sub(p[0]));
    let step = step.max().unwrap_or(0) as usize;
    let pairs = want && v.taps + step <= PAIR_ROWS;
    (pairs, if pairs { v.taps + step } else { v.taps })
}

/// The source rows the vertical pass reads for output row `oy`, and for row `oy + 1` when
/// the two go through it together.
#[derive(Debug, Clone, Copy)]
struct Windows {
    /// Row `oy`'s window: first source row and weights used.
    start: usize,
    used: usize,
    /// Row `oy + 1`'s window `(start, used)`, when paired.
    next: Option<(usize, usize)>,
    /// End of the rows read (of the union when paired): the ring must hold `start..end`.
    end: usize,
}

/// [`Windows`] of output row `oy`: paired with the next row when `pairs`, there is a next
/// row in the band (`more`) and the union of the two windows fits the `ring`.
fn next_window(v: &AxisTable, oy: usize, more: bool, pairs: bool, ring: usize) -> Windows {
    let (s, n) = (v.start[oy] as usize, v.used(oy));
    let next = (pairs && more)
        .then(|| (v.start[oy + 1] as usize, v.used(oy + 1)))
        .filter(|&(s2, n2)| s2 >= s && (s2 + n2).max(s + n) - s <= ring);
    let end = next.map_or(s + n, |(s2, n2)| (s2 + n2).max(s + n));
    Windows {
        start: s,
        used: n,
        next,
        end,
    }
}

/// A kernel summing two output rows at once ([`vertical_pair`], [`vertical_pair16`]).
type PairKernel<T> = fn(&mut [f32], &mut [f32], &[&[T]], &[f32], usize, &[f32]);

/// The vertical pass over a band's ring (rows `slot(y)`) for the windows of
/// [`next_window`]: output row `oy` into `sum` in sweeps of [`V_TAPS`], or rows `oy` and
/// `oy + 1` into `sum` and `sum2` with `pair`. Row `oy`'s weights are
/// `weights[oy · taps..]`. Returns the output rows done (1 or 2).
fn vertical_ring<'r, T: Sample + 'r>(
    (sum, sum2): (&mut [f32], &mut [f32]),
    (weights, taps): (&[f32], usize),
    oy: usize,
    win: Windows,
    slot: impl Fn(usize) -> &'r [T],
    pair: PairKernel<T>,
) -> usize {
    let (s, n, end) = (win.start, win.used, win.end);
    let w = |oy: usize, k: usize| &weights[oy * taps..oy * taps + k];
    if let Some((s2, n2)) = win.next {
        let mut rows: [&[T]; PAIR_ROWS] = [&[]; PAIR_ROWS];
        for (j, row) in rows.iter_mut().take(end - s).enumerate() {
            *row = slot(s + j);
        }
        pair(sum, sum2, &rows[..end - s], w(oy, n), s2 - s, w(oy + 1, n2));
        return 2;
    }
    for (sweep, ws) in w(oy, n).chunks(V_TAPS).enumerate() {
        let mut rows: [&[T]; V_TAPS] = [&[]; V_TAPS];
        for (j, row) in rows.iter_mut().take(ws.len()).enumerate() {
            *row = slot(s + sweep * V_TAPS + j);
        }
        vertical_sweep(sum, &rows[..ws.len()], ws, sweep > 0);
    }
    1
}

/// Whether [`vertical_pair`] beats two [`vertical_sweep`]s here: only its AVX-512 build
/// holds both rows' [`V_CHUNK`] sums in registers (eight of 32); the AVX2 one would need
/// all sixteen and spill.
fn pairs_pay() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        super::simd::Avx512::new().is_some()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Two output rows' vertical sums in one pass over the source rows they share (see
/// [`vertical_pair_any`]): the AVX-512 kernel, which loads each row's chunk once for both
/// sums, where the CPU has it.
fn vertical_pair(a: &mut [f32], b: &mut [f32], rows: &[&[f32]], wa: &[f32], ob: usize, wb: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if super::simd::Avx512::new().is_some() {
        // SAFETY: the CPU has the features the kernel is compiled for.
        unsafe { x86::vertical_pair512(a, b, rows, wa, ob, wb) };
        return;
    }
    vertical_pair_any(a, b, rows, wa, ob, wb);
}

/// [`vertical_pair`] over rows of u16 samples (the linear-light ring), each converted to
/// f32 once for both sums.
fn vertical_pair16(
    a: &mut [f32],
    b: &mut [f32],
    rows: &[&[u16]],
    wa: &[f32],
    ob: usize,
    wb: &[f32],
) {
    #[cfg(target_arch = "x86_64")]
    if super::simd::Avx512::new().is_some() {
        // SAFETY: the CPU has the features the kernel is compiled for.
        unsafe { x86::vertical_pair512_u16(a, b, rows, wa, ob, wb) };
        return;
    }
    vertical_pair_any(a, b, rows, wa, ob, wb);
}

multiversion! {
/// Two output rows' vertical sums in one pass over the source rows they share:
/// `a = Σ_k wa[k] · rows[k]` and `b = Σ_k wb[k] · rows[ob + k]`, each row of `rows`
/// loaded once for both (a 2x downscale's neighbouring rows share 10 of 12 taps: 14 row
/// loads instead of 24). Each sum is the same chain of FMAs, in tap order, as
/// [`vertical_sweep`] computes it, so the bits are the same.
fn vertical_pair_any<T: Sample>(a: &mut [f32], b: &mut [f32], rows: &[&[T]], wa: &[f32], ob: usize, wb: &[f32]) {
    let n = a.len().min(b.len());
    let (a, b) = (&mut a[..n], &mut b[..n]);
    let pairs = a.chunks_exact_mut(V_CHUNK).zip(b.chunks_exact_mut(V_CHUNK));
    for (c, (oa, obuf)) in pairs.enumerate() {
        let i = c * V_CHUNK;
        let (mut sa, mut sb) = ([0f32; V_CHUNK], [0f32; V_CHUNK]);
        for (k, row) in rows.iter().enumerate() {
            let x = &row[i..i + V_CHUNK];
            if let Some(&w) = wa.get(k) {
                for l in 0..V_CHUNK {
                    sa[l] = w.mul_add(x[l].f(), sa[l]);
                }
            }
            if let Some(&w) = k.checked_sub(ob).and_then(|j| wb.get(j)) {
                for l in 0..V_CHUNK {
                    sb[l] = w.mul_add(x[l].f(), sb[l]);
                }
            }
        }
        oa.copy_from_slice(&sa);
        obuf.copy_from_slice(&sb);
    }
    for i in n - n % V_CHUNK..n {
        let (mut sa, mut sb) = (0f32, 0f32);
        for (k, row) in rows.iter().enumerate() {
            if let Some(&w) = wa.get(k) {
                sa = w.mul_add(row[i].f(), sa);
            }
            if let Some(&w) = k.checked_sub(ob).and_then(|j| wb.get(j)) {
                sb = w.mul_add(row[i].f(), sb);
            }
        }
        a[i] = sa;
        b[i] = sb;
    }
}
}

/// The horizontal table as the pass reads it.
struct HTable<'a> {
    start: &'a [u32],
    weights: &'a [f32],
    taps: usize,
    used: usize,
    /// [`HSimd::pairs`].
    pairs: &'a [f32],
    /// [`HSimd::blocks`].
    blocks: &'a [HBlock],
    /// [`HSimd::block_w`].
    block_w: &'a [f32],
}

impl<'a> HTable<'a> {
    /// The plan's horizontal table: `h` and `used` (`Plan::h`, `Plan::h_used`) and their
    /// SIMD layouts.
    fn new(h: &'a AxisTable, used: usize, simd: &'a HSimd) -> HTable<'a> {
        HTable {
            start: &h.start,
            weights: &h.weights,
            taps: h.taps,
            used,
            pairs: &simd.pairs,
            blocks: &simd.blocks,
            block_w: &simd.block_w,
        }
    }
}

/// Which source rows a band's ring of filtered or linearized rows holds (`lo..hi`, row
/// `y` in slot `y % ring`) as the band's vertical window slides down the source.
#[derive(Default)]
struct RingWindow {
    lo: usize,
    hi: usize,
}

impl RingWindow {
    /// The rows to fill for the window `s..s + n` (`n ≤ ring`); once they are filled the
    /// ring holds the whole window. A window that does not continue the ring's (the first
    /// of a band) starts it over.
    fn advance(&mut self, s: usize, n: usize, ring: usize) -> std::ops::Range<usize> {
        if s < self.lo || s > self.hi {
            (self.lo, self.hi) = (s, s);
        }
        let fill = self.hi.max(s)..s + n;
        self.hi = self.hi.max(s + n);
        self.lo = self.lo.max(self.hi.saturating_sub(ring));
        fill
    }
}

/// One output row of the horizontal pass over the vertical sums `sum` (`stride` samples a
/// pixel, 3 or 4): each output pixel is one four-lane multiply-add per tap. `row` is
/// scratch for the filtered code values when a LUT follows.
fn horizontal(
    out_px: &mut [u16],
    t: &HTable<'_>,
    sum: &[f32],
    stride: usize,
    out: Output<'_>,
    row: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features the kernel is compiled for.
        unsafe { x86::horizontal(out_px, t, sum, stride, out, row) };
        return;
    }
    match stride {
        4 => horizontal_row::<4>(out_px, t, sum, out, row),
        _ => horizontal_row::<3>(out_px, t, sum, out, row),
    }
}

/// The portable horizontal pass (what [`x86::horizontal`] computes, as plain Rust).
/// One output row of the horizontal pass over the vertical sums `sum` (`stride` samples a
/// pixel, 3 or 4): each output pixel is one four-lane multiply-add per tap.
fn horizontal_row<const S: usize>(
    out_px: &mut [u16],
    t: &HTable<'_>,
    sum: &[f32],
    out: Output<'_>,
    row: &mut [f32],
) {
    match out {
        Output::Linear => {
            for (ox, px) in out_px.chunks_exact_mut(3).enumerate() {
                let a = pixel::<S>(t, sum, ox);
                px[0] = super::to_u16(a[0] + 0.5);
                px[1] = super::to_u16(a[1] + 0.5);
                px[2] = super::to_u16(a[2] + 0.5);
            }
        }
        Output::Lut(lut) => {
            // The filtered code values first, then the LUT over the whole row in a loop of
            // its own, which the compiler vectorizes (with gathers on AVX2).
            let row = &mut row[..out_px.len()];
            for (ox, v) in row.chunks_exact_mut(3).enumerate() {
                let a = pixel::<S>(t, sum, ox);
                v.copy_from_slice(&a[..3]);
            }
            lut_row(out_px, row, lut);
        }
    }
}

/// Output pixel `ox` of a horizontal pass: `Σ_k w[k] · sum[(start + k) · S ..][..4]`.
#[inline(always)]
fn pixel<const S: usize>(t: &HTable<'_>, sum: &[f32], ox: usize) -> [f32; 4] {
    let s = t.start[ox] as usize * S;
    let w = &t.weights[ox * t.taps..ox * t.taps + t.used];
    // One bounds check for the whole window: taps `0..used` read `s .. s + (used-1)·S + 4`,
    // within `sum` by construction (`Plan::sum_len`).
    let window = &sum[s..s + (t.used - 1) * S + 4];
    let mut a = [0f32; 4];
    for (k, &wk) in w.iter().enumerate() {
        // SAFETY: `k < used`, so `k·S + 3 < (used − 1)·S + 4 = window.len()`.
        let x = unsafe { window.get_unchecked(k * S..k * S + 4) };
        for c in 0..4 {
            a[c] = wk.mul_add(x[c], a[c]);
        }
    }
    a
}

/// `out[i] = lut_lerp(lut, vals[i])` over a row.
fn lut_row(out: &mut [u16], vals: &[f32], lut: &[u16]) {
    #[cfg(target_arch = "x86_64")]
    if lut.len() >= 2
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
    {
        // SAFETY: the CPU has the features the kernel is compiled for.
        let done = unsafe { x86::lut_row(out, vals, lut) };
        lut_row_portable(&mut out[done..], &vals[done..], lut);
        return;
    }
    lut_row_portable(out, vals, lut);
}

/// The portable [`lut_row`], also the tail of the AVX2 one.
fn lut_row_portable(out: &mut [u16], vals: &[f32], lut: &[u16]) {
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
        let (a, b) = unsafe {
            (
                *lut.get_unchecked(i) as f32,
                *lut.get_unchecked(i + 1) as f32,
            )
        };
        *o = super::to_u16(a + (b - a) * f + 0.5);
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

/// The hand-written AVX2 + FMA kernels of the horizontal pass and the LUT: the compiler
/// split the four-lane pixel sums into two lanes plus one (the fourth lane is not output)
/// and scalarized the LUT's table reads.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{HTable, Output, V_CHUNK};
    use std::arch::x86_64::*;

    /// [`super::vertical_pair_any`] with AVX-512 for rows of `$t`, `$load` reading 16 of
    /// them at `$p` as f32: per [`V_CHUNK`] sums, each row's chunk is loaded once into four
    /// registers and feeds both rows' FMAs (eight chains). The same FMAs in the same order,
    /// so the same bits.
    macro_rules! pair512 {
        ($name:ident, $t:ty, |$p:ident| $load:expr) => {
            /// # Safety
            /// The CPU has AVX-512 F and BW.
            #[target_feature(enable = "avx512f,avx512bw")]
            pub(super) unsafe fn $name(
                a: &mut [f32],
                b: &mut [f32],
                rows: &[&[$t]],
                wa: &[f32],
                ob: usize,
                wb: &[f32],
            ) {
                const { assert!(V_CHUNK == 64, "four 16-float registers a chunk") };
                let n = a.len().min(b.len());
                let chunks = n / V_CHUNK;
                for row in rows {
                    assert!(row.len() >= n);
                }
                for c in 0..chunks {
                    let i = c * V_CHUNK;
                    let mut sa = [_mm512_setzero_ps(); 4];
                    let mut sb = [_mm512_setzero_ps(); 4];
                    for (k, row) in rows.iter().enumerate() {
                        // SAFETY: `i + 64 ≤ n ≤ row.len()` (asserted above).
                        let x = [0, 1, 2, 3].map(|q| {
                            let $p = unsafe { row.as_ptr().add(i + 16 * q) };
                            $load
                        });
                        if let Some(&w) = wa.get(k) {
                            let w = _mm512_set1_ps(w);
                            for q in 0..4 {
                                sa[q] = _mm512_fmadd_ps(w, x[q], sa[q]);
                            }
                        }
                        if let Some(&w) = k.checked_sub(ob).and_then(|j| wb.get(j)) {
                            let w = _mm512_set1_ps(w);
                            for q in 0..4 {
                                sb[q] = _mm512_fmadd_ps(w, x[q], sb[q]);
                            }
                        }
                    }
                    for q in 0..4 {
                        // SAFETY: `i + 64 ≤ n ≤ a.len(), b.len()`.
                        unsafe {
                            _mm512_storeu_ps(a.as_mut_ptr().add(i + 16 * q), sa[q]);
                            _mm512_storeu_ps(b.as_mut_ptr().add(i + 16 * q), sb[q]);
                        }
                    }
                }
                let done = chunks * V_CHUNK;
                let rows_tail: [&[$t]; super::PAIR_ROWS] =
                    std::array::from_fn(|k| rows.get(k).map_or(&[][..], |r| &r[done..]));
                super::vertical_pair_any(
                    &mut a[done..n],
                    &mut b[done..n],
                    &rows_tail[..rows.len()],
                    wa,
                    ob,
                    wb,
                );
            }
        };
    }
    pair512!(vertical_pair512, f32, |p| unsafe { _mm512_loadu_ps(p) });
    pair512!(vertical_pair512_u16, u16, |p| unsafe {
        _mm512_cvtepi32_ps(_mm512_cvtepu16_epi32(_mm256_loadu_si256(p.cast())))
    });

    /// [`super::horizontal`] for CPUs with AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn horizontal(
        out_px: &mut [u16],
        t: &HTable<'_>,
        sum: &[f32],
        stride: usize,
        out: Output<'_>,
        row: &mut [f32],
    ) {
        let pixels = out_px.len() / 3;
        match out {
            Output::Linear => {
                let half = _mm_set1_ps(0.5);
                let top = _mm_set1_ps(65535.0);
                let zero = _mm_setzero_ps();
                // Blocks of five output pixels first (AVX-512), then pairs of output
                // pixels, one per 128-bit lane, then single pixels.
                let done = if t.blocks.is_empty() {
                    0
                } else {
                    // SAFETY: blocks are built only on CPUs with AVX-512 (`Plan::new`).
                    unsafe { blocks512(out_px, t, sum) }
                };
                let pairs = if t.pairs.len() >= pixels / 2 * t.used * 8 {
                    pixels / 2
                } else {
                    0
                };
                for j in done / 2..pairs {
                    let v = pair(t, sum, stride, j);
                    // Clamp (max first: NaN becomes 0), truncate, narrow to u16.
                    let v = _mm256_min_ps(
                        _mm256_max_ps(_mm256_add_ps(v, _mm256_set1_ps(0.5)), _mm256_setzero_ps()),
                        _mm256_set1_ps(65535.0),
                    );
                    let v = _mm256_packus_epi32(_mm256_cvttps_epi32(v), _mm256_setzero_si256());
                    // Lanes [A 0 | B 0] → A B in the low 128 bits, then the six RGB values
                    // first.
                    let v = _mm256_castsi256_si128(_mm256_permute4x64_epi64::<0b11_01_10_00>(v));
                    let rgb = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15, 14, 15);
                    let v = _mm_shuffle_epi8(v, rgb);
                    if 2 * j + 2 < pixels {
                        // SAFETY: 8 u16 from 6j: the pair's six and two of pixel 2j + 2,
                        // which exists and is written after this.
                        unsafe { _mm_storeu_si128(out_px.as_mut_ptr().add(6 * j).cast(), v) };
                    } else {
                        let mut px = [0u16; 8];
                        // SAFETY: `px` holds 8 u16, the 16 bytes stored.
                        unsafe { _mm_storeu_si128(px.as_mut_ptr().cast(), v) };
                        out_px[6 * j..6 * j + 6].copy_from_slice(&px[..6]);
                    }
                }
                for ox in (2 * pairs).max(done)..pixels {
                    let a = pixel(t, sum, stride, ox);
                    // Clamp (max first: NaN becomes 0), truncate, narrow to u16.
                    let a = _mm_min_ps(_mm_max_ps(_mm_add_ps(a, half), zero), top);
                    let v = _mm_packus_epi32(_mm_cvttps_epi32(a), _mm_setzero_si128());
                    let mut px = [0u16; 8];
                    // SAFETY: `px` holds 8 u16, the 16 bytes stored.
                    unsafe { _mm_storeu_si128(px.as_mut_ptr().cast(), v) };
                    out_px[ox * 3..ox * 3 + 3].copy_from_slice(&px[..3]);
                }
            }
            Output::Lut(lut) => {
                let row = &mut row[..pixels * 3];
                for ox in 0..pixels {
                    let a = pixel(t, sum, stride, ox);
                    let mut v = [0f32; 4];
                    // SAFETY: `v` holds the 4 floats stored.
                    unsafe { _mm_storeu_ps(v.as_mut_ptr(), a) };
                    row[ox * 3..ox * 3 + 3].copy_from_slice(&v[..3]);
                }
                super::lut_row(out_px, row, lut);
            }
        }
    }

    /// The five-pixel blocks of [`HTable::blocks`] (stride 3, linear output): per tap, the
    /// 32 floats from the block's `base + 3k`, one two-source permute to put each pixel's
    /// RGB in its lanes, one FMA for the five pixels. Even taps in one chain and odd taps
    /// in another, added at the end, as [`pair`] and [`pixel`] do: the same bits. Returns
    /// the pixels done (`5 · blocks`, even).
    ///
    /// # Safety
    /// The CPU has AVX-512 F, BW and VL.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn blocks512(out_px: &mut [u16], t: &HTable<'_>, sum: &[f32]) -> usize {
        let used = t.used;
        let n = t.blocks.len();
        assert!(out_px.len() >= 15 * n && t.block_w.len() >= 16 * used * n);
        let (half, zero, top) = (
            _mm512_set1_ps(0.5),
            _mm512_setzero_ps(),
            _mm512_set1_ps(65535.0),
        );
        for (b, blk) in t.blocks.iter().enumerate() {
            let base = blk.base as usize;
            // Every tap's 32 floats lie inside `sum` (checked when the block was built, and
            // here again, once a block).
            assert!(used > 0 && base + 3 * (used - 1) + 32 <= sum.len());
            // SAFETY: reads of 16 u32 / 16 floats inside the arrays (asserted above).
            let idx = unsafe { _mm512_loadu_si512(blk.idx.as_ptr().cast()) };
            let (p, wp) = (unsafe { sum.as_ptr().add(base) }, unsafe {
                t.block_w.as_ptr().add(16 * used * b)
            });
            let tap = |k: usize| {
                // SAFETY: `k < used`: the 32 floats from `base + 3k` and the 16 weights of
                // tap `k` are inside `sum` and `block_w` (asserted above).
                unsafe {
                    let lo = _mm512_loadu_ps(p.add(3 * k));
                    let hi = _mm512_loadu_ps(p.add(3 * k + 16));
                    (
                        _mm512_permutex2var_ps(lo, idx, hi),
                        _mm512_loadu_ps(wp.add(16 * k)),
                    )
                }
            };
            let (mut a0, mut a1) = (zero, zero);
            let mut k = 0;
            while k + 1 < used {
                let (x0, w0) = tap(k);
                let (x1, w1) = tap(k + 1);
                a0 = _mm512_fmadd_ps(w0, x0, a0);
                a1 = _mm512_fmadd_ps(w1, x1, a1);
                k += 2;
            }
            if k < used {
                let (x0, w0) = tap(k);
                a0 = _mm512_fmadd_ps(w0, x0, a0);
            }
            // Clamp (max first: NaN becomes 0), truncate, narrow to u16.
            let v = _mm512_add_ps(a0, a1);
            let v = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(v, half), zero), top);
            let v = _mm512_cvtusepi32_epi16(_mm512_cvttps_epi32(v));
            // SAFETY: 15 u16 from 15b, inside `out_px` (asserted above); lane 15 masked off.
            unsafe { _mm256_mask_storeu_epi16(out_px.as_mut_ptr().add(15 * b).cast(), 0x7fff, v) };
        }
        5 * n
    }

    /// Output pixel `ox`: `Σ_k w[k] · sum[(start + k) · stride ..][..4]`, two chains of
    /// FMAs so consecutive taps do not wait on each other.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn pixel(t: &HTable<'_>, sum: &[f32], stride: usize, ox: usize) -> __m128 {
        let s = t.start[ox] as usize * stride;
        let w = &t.weights[ox * t.taps..ox * t.taps + t.used];
        // One bounds check for the window: taps `0..used` read `s .. s + (used−1)·stride + 4`,
        // inside `sum` by construction (`Plan::sum_len`).
        let window = &sum[s..s + (t.used - 1) * stride + 4];
        let p = window.as_ptr();
        let (mut a0, mut a1) = (_mm_setzero_ps(), _mm_setzero_ps());
        let mut pairs = w.chunks_exact(2);
        let mut k = 0;
        for wk in &mut pairs {
            // SAFETY: `k + 1 < used`, so both 4-float reads end by `(used−1)·stride + 4`.
            unsafe {
                a0 = _mm_fmadd_ps(_mm_set1_ps(wk[0]), _mm_loadu_ps(p.add(k * stride)), a0);
                a1 = _mm_fmadd_ps(
                    _mm_set1_ps(wk[1]),
                    _mm_loadu_ps(p.add((k + 1) * stride)),
                    a1,
                );
            }
            k += 2;
        }
        if let [wk] = pairs.remainder() {
            // SAFETY: `k = used − 1`: the read ends at `(used−1)·stride + 4`.
            unsafe { a0 = _mm_fmadd_ps(_mm_set1_ps(*wk), _mm_loadu_ps(p.add(k * stride)), a0) };
        }
        _mm_add_ps(a0, a1)
    }

    /// Output pixels `2j` (low lane) and `2j + 1` (high lane): [`pixel`] for both at once,
    /// with the same two chains of FMAs in the same order, so the same bits.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn pair(t: &HTable<'_>, sum: &[f32], stride: usize, j: usize) -> __m256 {
        let (sa, sb) = (
            t.start[2 * j] as usize * stride,
            t.start[2 * j + 1] as usize * stride,
        );
        // One bounds check for both windows (inside `sum` by construction, `Plan::sum_len`).
        assert!(sa.max(sb) + (t.used - 1) * stride + 4 <= sum.len());
        let w = &t.pairs[j * t.used * 8..(j + 1) * t.used * 8];
        let (p, wp) = (sum.as_ptr(), w.as_ptr());
        let (mut a0, mut a1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let load = |k: usize| {
            // SAFETY: `k < used`: both 4-float reads end by `(used−1)·stride + 4` past their
            // window's start, checked above; `w` holds 8 floats per tap.
            unsafe {
                let x = _mm256_castps128_ps256(_mm_loadu_ps(p.add(sa + k * stride)));
                let x = _mm256_insertf128_ps::<1>(x, _mm_loadu_ps(p.add(sb + k * stride)));
                (x, _mm256_loadu_ps(wp.add(k * 8)))
            }
        };
        let mut k = 0;
        while k + 1 < t.used {
            let (x0, w0) = load(k);
            let (x1, w1) = load(k + 1);
            a0 = _mm256_fmadd_ps(w0, x0, a0);
            a1 = _mm256_fmadd_ps(w1, x1, a1);
            k += 2;
        }
        if k < t.used {
            let (x0, w0) = load(k);
            a0 = _mm256_fmadd_ps(w0, x0, a0);
        }
        _mm256_add_ps(a0, a1)
    }

    /// [`super::lut_row`] 8 values at a time; returns how many it did (the caller does the
    /// rest). Each gather reads `lut[i]` and `lut[i + 1]` as one u32. `lut.len() ≥ 2`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn lut_row(out: &mut [u16], vals: &[f32], lut: &[u16]) -> usize {
        let n = out.len().min(vals.len()) / 8 * 8;
        let max = (lut.len() - 1) as f32;
        let (zero, maxv, topv) = (
            _mm256_setzero_ps(),
            _mm256_set1_ps(max),
            _mm256_set1_ps(max - 1.0),
        );
        let (half, full, low) = (
            _mm256_set1_ps(0.5),
            _mm256_set1_ps(65535.0),
            _mm256_set1_epi32(0xFFFF),
        );
        let base = lut.as_ptr().cast::<i32>();
        for (o, v) in out[..n].chunks_exact_mut(8).zip(vals[..n].chunks_exact(8)) {
            // SAFETY: `v` holds 8 floats.
            let v = unsafe { _mm256_loadu_ps(v.as_ptr()) };
            // Clamp to 0..=max (max first: NaN becomes 0); the index stops at max − 1.
            let v = _mm256_min_ps(_mm256_max_ps(v, zero), maxv);
            let i = _mm256_cvttps_epi32(_mm256_min_ps(v, topv));
            let f = _mm256_sub_ps(v, _mm256_cvtepi32_ps(i));
            // SAFETY: `0 ≤ i ≤ len − 2`, so the 4 bytes at `lut + 2i` are `lut[i], lut[i+1]`.
            let pair = unsafe { _mm256_i32gather_epi32::<2>(base, i) };
            let a = _mm256_cvtepi32_ps(_mm256_and_si256(pair, low));
            let b = _mm256_cvtepi32_ps(_mm256_srli_epi32::<16>(pair));
            let r = _mm256_fmadd_ps(_mm256_sub_ps(b, a), f, _mm256_add_ps(a, half));
            let r = _mm256_cvttps_epi32(_mm256_min_ps(_mm256_max_ps(r, zero), full));
            // Narrow to u16: packus works per 128-bit lane, the permute joins the halves.
            let r = _mm256_permute4x64_epi64::<0b1000>(_mm256_packus_epi32(r, r));
            // SAFETY: `o` holds 8 u16, the 16 bytes stored.
            unsafe { _mm_storeu_si128(o.as_mut_ptr().cast(), _mm256_castsi256_si128(r)) };
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Linear-light rows paired in the vertical pass give the bits of rows one at a time,
    /// 8- and 16-bit sources, on the plan's bands and on one band, every row reaching
    /// `each` once.
    #[test]
    fn paired_linear_rows_are_the_same_bits_as_single_rows() {
        let lut8: Vec<u16> = (0..256u32).map(|i| (i * i) as u16).collect();
        let lut16: Vec<u16> = (0..65536u32).map(|i| ((i * i) >> 16) as u16).collect();
        let mut paired_any = false;
        for (sw, sh, dw, dh, filter) in [
            (384, 216, 192, 108, Filter::Lanczos3),
            (301, 197, 120, 71, Filter::Lanczos3),
            (160, 90, 200, 150, Filter::CatmullRom),
            (640, 480, 80, 60, Filter::Lanczos3),
        ] {
            let px = (sw * sh * 4) as usize;
            let src8: Vec<u8> = (0..px).map(|i| (i * 7 % 251) as u8).collect();
            let src16: Vec<u16> = (0..px).map(|i| (i * 7919 % 65521) as u16).collect();
            let (cw, ch) = (dw + 2, dh + 3);
            let dst = Rect {
                x: 2,
                y: 1,
                w: dw,
                h: dh,
            };
            let crop = [0.0, 0.0, sw as f64, sh as f64];
            let mut outs = Vec::new();
            for pairs in [false, true] {
                let mut p = Plan::new(sw, sh, 3, crop, dst, filter);
                let Some(lin) = p.linear.as_mut() else {
                    panic!("{sw}x{sh}: no linear ring");
                };
                lin.pairs &= pairs;
                paired_any |= lin.pairs;
                for bands in [None, Some(Bands::new(dh as usize, 1, &[]))] {
                    for bits in [8, 16] {
                        let mut canvas = vec![5u16; (cw * ch * 3) as usize];
                        let seen = std::sync::Mutex::new(0usize);
                        let each = |_: usize, _: &mut [u16]| *seen.lock().unwrap() += 1;
                        let b = bands.as_ref();
                        let ok = if bits == 8 {
                            run_linear(&mut p, &src8, sw, &lut8, &mut canvas, cw, b, each)
                        } else {
                            run_linear(&mut p, &src16, sw, &lut16, &mut canvas, cw, b, each)
                        };
                        assert!(ok);
                        assert_eq!(seen.into_inner().unwrap(), dh as usize, "every row once");
                        outs.push(canvas);
                    }
                }
            }
            let half = outs.len() / 2;
            assert_eq!(
                outs[..half],
                outs[half..],
                "{sw}x{sh}->{dw}x{dh} {filter:?}: paired rows differ"
            );
        }
        if pairs_pay() {
            assert!(paired_any, "no case paired its rows");
        }
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

    /// The two-pixel horizontal pass gives the bits of the per-pixel one (same FMA chains),
    /// for even and odd widths, down- and upscales, linear output.
    #[test]
    fn pixel_pairs_equal_single_pixels() {
        let mut blocked = false;
        for (sw, sh, dw, dh, filter) in [
            (384, 20, 192, 10, Filter::Lanczos3),
            (400, 12, 263, 7, Filter::Lanczos3),
            (301, 40, 120, 17, Filter::Lanczos3),
            (57, 20, 201, 31, Filter::CatmullRom),
            (100, 9, 99, 9, Filter::Bilinear),
            (640, 30, 63, 4, Filter::Area),
        ] {
            let src: Vec<u16> = (0..sw * sh * 3)
                .map(|i| ((i as u64 * 2_654_435_761) >> 7) as u16)
                .collect();
            let crop = [0.0, 0.0, sw as f64, sh as f64];
            let dst = Rect {
                x: 1,
                y: 2,
                w: dw,
                h: dh,
            };
            let (cw, ch) = (dw + 2, dh + 3);
            let mut blocks = Plan::new(sw, sh, 3, crop, dst, filter);
            blocked |= !blocks.h_simd.blocks.is_empty();
            let mut paired = Plan::new(sw, sh, 3, crop, dst, filter);
            paired.h_simd.blocks.clear();
            let mut single = Plan::new(sw, sh, 3, crop, dst, filter);
            single.h_simd.pairs.clear();
            single.h_simd.blocks.clear();
            let mut a = vec![0u16; (cw * ch * 3) as usize];
            let (mut b, mut c) = (a.clone(), a.clone());
            let row = sw as usize * 3;
            run(&mut blocks, &src, row, (0, 0), &mut a, cw, Output::Linear);
            run(&mut paired, &src, row, (0, 0), &mut b, cw, Output::Linear);
            run(&mut single, &src, row, (0, 0), &mut c, cw, Output::Linear);
            assert_eq!(a, c, "{sw}x{sh} -> {dw}x{dh} {filter:?}: blocks");
            assert_eq!(b, c, "{sw}x{sh} -> {dw}x{dh} {filter:?}: pairs");
            assert!(a.iter().any(|v| *v != 0));
        }
        if pairs_pay() {
            assert!(blocked, "no case had five-pixel blocks");
        }
    }
}
