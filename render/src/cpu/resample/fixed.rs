//! The 8-bit code-value resampler: `resample = "fast"` on RGBA8 media, the common case for
//! video. The float resampler sums source rows first (vertical pass over the full source
//! width, every source row read once per output row it feeds) and spends most of its time
//! converting bytes to floats; this one filters each source row horizontally exactly once,
//! in 16-bit fixed point, and sums those narrower rows vertically in f32:
//!
//! 1. Horizontal: per output pixel, `Σ w_q[k] · code[k]` in i32, with the weights `w_q`
//!    rounded to [`BITS`] fractional bits and corrected so each pixel's weights sum to
//!    exactly `2^BITS` (flat areas come out exact). On AVX2 one `pmaddwd` multiplies two
//!    taps of four channels; one 256-bit register holds two output pixels. The sums are
//!    integers (exact in any order) and become f32 without rounding, so the AVX2 kernel
//!    and the portable one give the same bits.
//! 2. The filtered rows (RGB f32, the canvas width of the placement) go into a ring of as
//!    many rows as the vertical filter has taps (plus the step between neighbouring
//!    windows, where output rows are paired below); each band of output rows fills it as
//!    its window slides down the source.
//! 3. Vertical: the float sweep of the float resampler over the ring's rows, with weights
//!    scaled by `2^-BITS` (exact), then the LUT interpolated between codes. With AVX-512,
//!    two neighbouring output rows are summed together, each ring row loaded once for both
//!    (the same FMAs in the same order: the same bits).
//!
//! Error against the float path: each weight is off by at most `2^-(BITS+1)` and the
//! errors cancel on flat areas, so a pixel is off by at most
//! `taps · 2^-(BITS+1) · 255` codes (0.09 codes at 12 taps), in practice a few thousandths.

use super::{
    Each, Plan, RingWindow, fit_bands, next_window, pair_ring, pairs_pay, vertical_pair,
    vertical_ring,
};
use crate::cpu::bands::Bands;
use rayon::prelude::*;

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
}

#[derive(Debug)]
struct Tables {
    /// Output pixels per row.
    width: usize,
    /// [`GROUP`]-pixel steps per output pixel.
    groups: usize,
    /// First source column (absolute) of each output pixel, padded to an even count. A
    /// window that would run past the source's right edge starts further left, with zero
    /// weights in front, so every read stays inside the row.
    start: Vec<u32>,
    /// `groups · GROUP` weights per output pixel (padded to an even count), `2^BITS` = 1.
    weights: Vec<i16>,
    /// The same weights laid out for the SIMD kernels: per block of `per` output pixels
    /// (2 for AVX2, 4 for AVX-512) and group, two vectors of i16 weight pairs (taps 0–1
    /// and 2–3 of the group), one 128-bit lane per pixel, each pair repeated for the four
    /// channels.
    pairs: Vec<i32>,
    /// Output pixels per SIMD register: 4 (AVX-512 BW + VNNI), 2 (AVX2) or 0 (portable).
    per: usize,
    /// For the AVX-512 kernel: the leading blocks of five output pixels (taken four at a
    /// time, 20 pixels, so the four-pixel blocks after them line up) whose windows lie
    /// within 64 bytes and whose loads stay inside [`Tables::reads`]. Five pixels' RGB
    /// fill 15 of a register's 16 i32 lanes, where the four-pixel layout spends a lane per
    /// pixel on alpha: a fifth more output per instruction.
    quint: Vec<Quint>,
    /// The weights of [`Tables::quint`]: per block and group, two vectors of 16 i32 lanes
    /// (lane `3p + c` holds pixel `p`'s weight pair for taps 0–1, then 2–3; lane 15 zero).
    quint_pairs: Vec<i32>,
    /// For the AVX-512 kernel, the four-pixel blocks after [`Tables::quint`] (block
    /// `quint.len() · 5 / 4` on) whose four windows lie within 64 bytes, and whose 64-byte
    /// loads stay inside [`Tables::reads`]: one load serves all four pixels (a byte permute
    /// picks each lane's pixels out of it). The rest take four 16-byte loads a step.
    rel: Vec<Block>,
    /// Bytes of a source row the kernel may read (`(max start + groups · GROUP) · 4`).
    reads: usize,
    /// Vertical weights scaled by `2^-BITS`, `v.taps` per output row.
    v_weights: Vec<f32>,
    /// Rows in the ring (the vertical filter's taps).
    ring: usize,
    /// Output rows go through the vertical pass in pairs ([`vertical_pair`]).
    v_pairs: bool,
    /// Floats a ring row holds: the padded width's RGB plus [`SLACK`].
    row_len: usize,
    bands: Bands,
}

impl Fixed {
    /// The fixed-point tables for `plan` over a source `sw` pixels wide, or `None` when a
    /// pixel's window (rounded up to whole groups) is wider than the source.
    pub fn new(plan: &Plan, sw: u32) -> Option<Fixed> {
        Fixed::with_kernel(plan, sw, x86::per_register(), pairs_pay())
    }

    /// [`Fixed::new`] for the kernel with `per` pixels a register (4, 2 or 0, at most
    /// what [`x86::per_register`] says this CPU runs), with output rows paired in the
    /// vertical pass where `pairs` and the windows allow.
    fn with_kernel(plan: &Plan, sw: u32, per: usize, v_pairs: bool) -> Option<Fixed> {
        let (h, v) = (&plan.h, &plan.v);
        let width = plan.dst.w as usize;
        let groups = plan.h_used.div_ceil(GROUP);
        let span = groups * GROUP;
        if span > sw as usize || width == 0 || plan.dst.h == 0 {
            return None;
        }
        let padded = width.next_multiple_of(BLOCK);
        let mut start = Vec::with_capacity(padded);
        let mut weights = vec![0i16; padded * span];
        for ox in 0..width {
            let abs = (plan.x0 + h.start[ox]) as usize;
            let from = abs.min(sw as usize - span);
            let shift = abs - from;
            let w = &h.weights[ox * h.taps..ox * h.taps + plan.h_used];
            let used = w.iter().rposition(|x| *x != 0.0).map_or(1, |p| p + 1);
            // The table keeps windows inside the source (`abs + used ≤ sw`), so a window
            // moved `shift` to the left still ends inside this pixel's span.
            debug_assert!(shift + used <= span);
            let q = quantize(&w[..used]);
            weights[ox * span + shift..ox * span + shift + used].copy_from_slice(&q);
            start.push(from as u32);
        }
        // Padding pixels: zero weights over the last pixel's window.
        start.resize(padded, start[width - 1]);
        let reads = start.iter().map(|s| *s as usize + span).max().unwrap_or(0) * 4;
        // Pixel `px`'s weights for taps `2 half` and `2 half + 1` of group `g`, as the i16
        // pair one i32 lane of `pmaddwd` / `vpdpwssd` multiplies.
        let pair = |px: usize, g: usize, half: usize| {
            let t = px * span + g * GROUP + half * 2;
            let (a, b) = (weights[t] as u16 as u32, weights[t + 1] as u16 as u32);
            (a | b << 16) as i32
        };
        let mut pairs = Vec::with_capacity(padded * groups * 8);
        for j in 0..padded / per.max(1) {
            for g in 0..groups {
                for half in 0..2 {
                    for px in j * per..(j + 1) * per {
                        pairs.extend_from_slice(&[pair(px, g, half); 4]);
                    }
                }
            }
        }
        let (mut quint, mut quint_pairs, mut rel) = (Vec::new(), Vec::new(), Vec::new());
        // Whether one 64-byte load at the leftmost of `lanes`' windows serves them all, in
        // every group: (its first pixel, each lane's offset from it) if so.
        // Windows need not start in order (a window's leading zero weights are trimmed), so
        // the load starts at the leftmost; every lane's pixels must be in it, and the last
        // group's load must end inside the bytes every row has.
        let one_load = |lanes: &[u32]| {
            let s0 = lanes.iter().min().map_or(0, |s| *s as usize);
            let off: Vec<usize> = lanes.iter().map(|s| *s as usize - s0).collect();
            let far = off.iter().max().map_or(0, |o| *o);
            let fits = far * 4 + GROUP * 4 <= 64 && s0 * 4 + (groups - 1) * GROUP * 4 + 64 <= reads;
            fits.then_some((s0, off))
        };
        if per == 4 {
            'runs: for run in 0..width / 20 {
                let mut blocks = Vec::with_capacity(4);
                for b in 0..4 {
                    let p0 = run * 20 + b * 5;
                    let Some((s0, off)) = one_load(&start[p0..p0 + 5]) else {
                        break 'runs;
                    };
                    // Byte 4L + 2e of lane L = 3p + c: channel c of pixel p's tap 2h + e
                    // (h: which half of the group); odd bytes are zeroed by the mask.
                    let idx = [0, 1].map(|h| {
                        std::array::from_fn(|byte| {
                            let (lane, e) = (byte / 4, byte % 4 / 2);
                            let (p, c) = (lane / 3, lane % 3);
                            if lane == 15 || byte % 2 == 1 {
                                0
                            } else {
                                ((off[p] + 2 * h + e) * 4 + c) as u8
                            }
                        })
                    });
                    blocks.push((
                        Quint {
                            base: s0 as u32 * 4,
                            idx,
                        },
                        p0,
                    ));
                }
                for (block, p0) in blocks {
                    quint.push(block);
                    for g in 0..groups {
                        for half in 0..2 {
                            quint_pairs.extend((0..15).map(|lane| pair(p0 + lane / 3, g, half)));
                            quint_pairs.push(0);
                        }
                    }
                }
            }
            for j in quint.len() * 5 / 4..padded / 4 {
                let Some((s0, off)) = one_load(&start[4 * j..4 * j + 4]) else {
                    break;
                };
                rel.push(Block {
                    base: s0 as u32 * 4,
                    rel: std::array::from_fn(|b| (off[b / 16] * 4) as u8),
                });
            }
        }
        let scale = 1.0 / (1u32 << BITS) as f32;
        let v_weights = v.weights.iter().map(|w| w * scale).collect();
        // Output rows go two at a time through `vertical_pair` where that pays: the ring
        // then holds the union of two neighbouring windows.
        let (v_pairs, ring) = pair_ring(v, v_pairs);
        let row_len = padded * 3 + SLACK;
        let bands = Bands::per_thread(plan.dst.h as usize, &[]);
        let scratch = (0..bands.len())
            .map(|_| vec![0f32; ring * row_len + 2 * width * 3])
            .collect();
        Some(Fixed {
            t: Tables {
                width,
                groups,
                start,
                weights,
                pairs,
                per,
                quint,
                quint_pairs,
                rel,
                reads,
                v_weights,
                ring,
                v_pairs,
                row_len,
                bands,
            },
            scratch,
        })
    }
}

/// One load's worth of five output pixels' windows (see [`Tables::quint`]).
#[derive(Debug)]
struct Quint {
    /// Byte offset in the source row of the leftmost window.
    base: u32,
    /// The byte permutes that build taps 0–1 and 2–3 of every lane from the load.
    idx: [[u8; 64]; 2],
}

/// One load's worth of four output pixels' windows (see [`Tables::rel`]).
#[derive(Debug)]
struct Block {
    /// Byte offset in the source row of the leftmost window.
    base: u32,
    /// Byte `b` of 128-bit lane `l`: 4 × the lane's window start less the leftmost's.
    rel: [u8; 64],
}

/// Round weights (summing to 1) to `BITS` fractional bits, summing to exactly `2^BITS`:
/// the rounding residue goes to the largest weight.
fn quantize(w: &[f32]) -> Vec<i16> {
    let one = (1i32 << BITS) as f32;
    let mut q: Vec<i32> = w.iter().map(|x| (x * one).round() as i32).collect();
    let residue = (1i32 << BITS) - q.iter().sum::<i32>();
    if let Some(big) = (0..q.len()).max_by_key(|&i| q[i].abs()) {
        q[big] += residue;
    }
    q.into_iter()
        .map(|x| x.clamp(i16::MIN as i32, i16::MAX as i32) as i16)
        .collect()
}

/// [`super::run`] for RGBA8 code values (`src`, the whole image, rows of `src_row` bytes)
/// through the 256-entry `lut`, on the fixed-point path, into the plan's rect of `canvas`
/// (RGB u16, `cw` wide), calling `each(y, row)` on every canvas row `y` as soon as it is
/// written, while it is in cache (see [`Each`]). Returns false, doing nothing, when `plan`
/// has no fixed-point tables (a source narrower than a filter window, or not a stride-4
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
    let (dst, v) = (plan.dst, &plan.v);
    let Some(Fixed { t, scratch }) = plan.fixed.as_mut() else {
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
    #[cfg(target_arch = "x86_64")]
    let split = lut512::split(lut);
    #[cfg(not(target_arch = "x86_64"))]
    let split: Option<LutSplit> = None;
    let mut parts = bands.split(rows, row_len);
    parts[..bands.len()]
        .par_iter_mut()
        .zip(scratch.par_iter_mut())
        .enumerate()
        .for_each(|(band, (rows, scratch))| {
            let (rings, sums) = scratch.split_at_mut(t.ring * t.row_len);
            let (sum, sum2) = sums.split_at_mut(t.width * 3);
            let mut window = RingWindow::default();
            let first = bands.start(band);
            let n_rows = rows.len() / row_len;
            let mut r = 0;
            while r < n_rows {
                let oy = first + r;
                let win = next_window(v, oy, r + 1 < n_rows, t.v_pairs, t.ring);
                fill(
                    &mut window,
                    win.start,
                    win.end - win.start,
                    rings,
                    src,
                    src_row,
                    t,
                );
                let slot = |y: usize| &rings[(y % t.ring) * t.row_len..][..t.width * 3];
                let sums = (&mut *sum, &mut *sum2);
                let done =
                    vertical_ring(sums, (&t.v_weights, v.taps), oy, win, slot, vertical_pair);
                for (k, sum) in [&*sum, &*sum2].into_iter().take(done).enumerate() {
                    let canvas_row = &mut rows[(r + k) * row_len..(r + k + 1) * row_len];
                    lut_out(&mut canvas_row[x0..x1], sum, lut, split.as_ref());
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
fn fill(
    window: &mut RingWindow,
    s: usize,
    n: usize,
    rings: &mut [f32],
    src: &[u8],
    src_row: usize,
    t: &Tables,
) {
    let fill = window.advance(s, n, t.ring);
    let src_at = |y: usize| &src[y * src_row..(y + 1) * src_row];
    let mut y = fill.start;
    while y < fill.end {
        let (a, b) = ((y % t.ring) * t.row_len, ((y + 1) % t.ring) * t.row_len);
        if y + 1 < fill.end {
            // Two distinct slots (`b` follows `a`, or the ring wraps to 0).
            let (lo, hi) = rings.split_at_mut(a.max(b));
            let (low, high) = (&mut lo[a.min(b)..][..t.row_len], &mut hi[..t.row_len]);
            let (ra, rb) = if a < b { (low, high) } else { (high, low) };
            horizontal([ra, rb], [src_at(y), src_at(y + 1)], t);
            y += 2;
        } else {
            horizontal([&mut rings[a..a + t.row_len]], [src_at(y)], t);
            y += 1;
        }
    }
}

/// The LUT from a row of vertical sums to canvas codes (the AVX-512 VBMI kernel where
/// `split` has its table, the rest through [`super::lut_row`]).
fn lut_out(out: &mut [u16], sum: &[f32], lut: &[u16], split: Option<&LutSplit>) {
    let full = out.len();
    #[cfg(not(target_arch = "x86_64"))]
    let _ = split;
    #[cfg(target_arch = "x86_64")]
    let out = match split {
        Some(split) => {
            // SAFETY: `Split::new` returned a table only because the CPU has the features
            // the kernel is compiled for.
            let done = unsafe { lut512::lut_row(out, sum, split) };
            &mut out[done..]
        }
        None => out,
    };
    let done = full - out.len();
    super::lut_row(out, &sum[done..], lut);
}

/// The AVX-512 LUT's table ([`lut512::split`]); nothing off x86-64.
#[cfg(target_arch = "x86_64")]
type LutSplit = lut512::Split;
#[cfg(not(target_arch = "x86_64"))]
type LutSplit = ();

/// Source rows through the horizontal pass: `out[i][3·ox + c] = Σ_k w_q · src[i]` as f32.
fn horizontal<const R: usize>(out: [&mut [f32]; R], src: [&[u8]; R], t: &Tables) {
    for (o, s) in out.iter().zip(&src) {
        assert!(s.len() >= t.reads && o.len() >= t.row_len);
    }
    #[cfg(target_arch = "x86_64")]
    match t.per {
        // SAFETY: `per` is 4 or 2 only on CPUs with the kernel's features (see
        // `per_register`); the lengths were checked above.
        4 => return unsafe { x86::horizontal512(out, src, t) },
        2 => return unsafe { x86::horizontal(out, src, t) },
        _ => {}
    }
    for (o, s) in out.into_iter().zip(src) {
        horizontal_portable(o, s, t);
    }
}

/// The portable [`horizontal`]: the same integer sums, so the same floats.
fn horizontal_portable(out: &mut [f32], src: &[u8], t: &Tables) {
    let span = t.groups * GROUP;
    for ox in 0..t.width {
        let s = t.start[ox] as usize * 4;
        let w = &t.weights[ox * span..(ox + 1) * span];
        let px = &src[s..s + span * 4];
        let mut acc = [0i32; 3];
        for (wk, p) in w.iter().zip(px.chunks_exact(4)) {
            for c in 0..3 {
                acc[c] += *wk as i32 * p[c] as i32;
            }
        }
        for c in 0..3 {
            out[ox * 3 + c] = acc[c] as f32;
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod x86 {
    pub(super) fn per_register() -> usize {
        0
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{GROUP, Tables};
    use std::arch::x86_64::*;

    /// Bytes ahead of the current window that the kernels prefetch: a 4K source row is
    /// not in cache when its turn comes, and the hardware prefetcher alone left the
    /// kernels waiting on loads (measured: 15 → 13 ms a 4K frame on one thread).
    const PREFETCH: usize = 2048;

    /// Output pixels the best kernel this CPU runs puts in one register (0: portable).
    pub(super) fn per_register() -> usize {
        if std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vnni")
            && std::is_x86_feature_detected!("avx512vbmi")
        {
            4
        } else if std::is_x86_feature_detected!("avx2") {
            2
        } else {
            0
        }
    }

    /// Per 128-bit lane, 16 bytes = pixels p0..p3 (RGBA): the i16 pairs (p0, p1) of each
    /// channel, then (p2, p3); `-128` makes `pshufb` write a zero byte.
    #[rustfmt::skip]
    const PAIRS: [[i8; 16]; 2] = [
        [0, -128, 4, -128, 1, -128, 5, -128, 2, -128, 6, -128, 3, -128, 7, -128],
        [8, -128, 12, -128, 9, -128, 13, -128, 10, -128, 14, -128, 11, -128, 15, -128],
    ];

    /// [`super::horizontal`] with AVX-512 BW + VNNI over `R` source rows at once,
    /// `vpdpwssd` multiplying two taps and adding in one instruction. Three block kinds,
    /// left to right: five output pixels' RGB per register from one 64-byte load and two
    /// byte permutes ([`Tables::quint`], where the windows are close: downscales to 3x);
    /// four pixels' RGBA, one per 128-bit lane, from one load ([`Tables::rel`]); four
    /// pixels from four 16-byte loads (the rest).
    ///
    /// # Safety
    /// Every `src[i].len() ≥ t.reads` and `out[i].len() ≥ t.row_len`; `t.per == 4`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx512vbmi")]
    pub(super) unsafe fn horizontal512<const R: usize>(
        out: [&mut [f32]; R],
        src: [&[u8]; R],
        t: &Tables,
    ) {
        // SAFETY: 16-byte reads of 16-byte arrays.
        let (lo, hi) = unsafe {
            (
                _mm512_broadcast_i32x4(_mm_loadu_si128(PAIRS[0].as_ptr().cast())),
                _mm512_broadcast_i32x4(_mm_loadu_si128(PAIRS[1].as_ptr().cast())),
            )
        };
        let rgb = _mm512_setr_epi32(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 15, 15, 15, 15);
        let sp = src.map(|s| s.as_ptr());
        let op = out.map(|o| o.as_mut_ptr());
        let wp = t.pairs.as_ptr().cast::<__m512i>();
        let g = t.groups;
        let qp = t.quint_pairs.as_ptr().cast::<__m512i>();
        for (q, block) in t.quint.iter().enumerate() {
            // SAFETY: 64-byte reads of 64-byte arrays.
            let idx = block
                .idx
                .map(|i| unsafe { _mm512_loadu_si512(i.as_ptr().cast()) });
            // SAFETY: `quint` lists only blocks whose 64-byte loads end within
            // `t.reads ≤ src.len()` bytes; `quint_pairs` holds two vectors per block and
            // group.
            let f = unsafe { one_load(sp, block.base as usize, idx, qp.add(q * g * 2), g) };
            for r in 0..R {
                // Five pixels' RGB in lanes 0–14 as they lie in the row; lane 15 (zero)
                // lands on the next block's first float, which that block overwrites.
                // SAFETY: `15q + 16 ≤ 3 · 5 · quint.len() + 1 ≤ 3 · width + 1 ≤ row_len`.
                unsafe { _mm512_storeu_ps(op[r].add(15 * q), f[r]) };
            }
        }
        let j0 = t.quint.len() * 5 / 4;
        for (i, block) in t.rel.iter().enumerate() {
            let j = j0 + i;
            // SAFETY: a 64-byte read of a 64-byte array.
            let rel = unsafe { _mm512_loadu_si512(block.rel.as_ptr().cast()) };
            // Lanes' byte pairs as permute indices (`-128`'s bytes are zeroed by the mask).
            let idx = [_mm512_add_epi8(lo, rel), _mm512_add_epi8(hi, rel)];
            // SAFETY: `rel` lists only blocks whose 64-byte loads end within
            // `t.reads ≤ src.len()` bytes; `pairs` holds two vectors per block and group.
            let f = unsafe { one_load(sp, block.base as usize, idx, wp.add(j * g * 2), g) };
            for r in 0..R {
                let f = _mm512_permutexvar_ps(rgb, f[r]);
                // SAFETY: as below.
                unsafe { _mm512_storeu_ps(op[r].add(12 * j), f) };
            }
        }
        for j in j0 + t.rel.len()..t.width.div_ceil(4) {
            let at = [0, 1, 2, 3].map(|l| t.start[4 * j + l] as usize * 4);
            for p in sp {
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(at[0] + PREFETCH).cast());
            }
            let mut acc = [[_mm512_setzero_si512(); 2]; R];
            for k in 0..g {
                // SAFETY: `start + groups · GROUP` pixels lie within `t.reads ≤ src.len()`
                // bytes; `pairs` holds two vectors per block of four pixels and group.
                unsafe {
                    let w = wp.add((j * g + k) * 2);
                    let (w0, w1) = (_mm512_loadu_si512(w), _mm512_loadu_si512(w.add(1)));
                    for r in 0..R {
                        let load = |l: usize| {
                            _mm_loadu_si128(sp[r].add(at[l] + k * GROUP * 4).cast::<__m128i>())
                        };
                        let px = _mm512_castsi128_si512(load(0));
                        let px = _mm512_inserti32x4::<1>(px, load(1));
                        let px = _mm512_inserti32x4::<2>(px, load(2));
                        let px = _mm512_inserti32x4::<3>(px, load(3));
                        let (a, b) = (_mm512_shuffle_epi8(px, lo), _mm512_shuffle_epi8(px, hi));
                        acc[r][0] = _mm512_dpwssd_epi32(acc[r][0], a, w0);
                        acc[r][1] = _mm512_dpwssd_epi32(acc[r][1], b, w1);
                    }
                }
            }
            for r in 0..R {
                let f = _mm512_cvtepi32_ps(_mm512_add_epi32(acc[r][0], acc[r][1]));
                // Four pixels' RGB side by side, then four spare floats the next block (or
                // the row's slack) overwrites.
                let f = _mm512_permutexvar_ps(rgb, f);
                // SAFETY: `12j + 16 ≤ 3 · padded + SLACK = t.row_len ≤ out.len()`.
                unsafe { _mm512_storeu_ps(op[r].add(12 * j), f) };
            }
        }
    }

    /// One block of [`horizontal512`] whose windows one 64-byte load a group serves (at
    /// `base + 16k` bytes for group `k`): per row, the load's bytes placed by the permutes
    /// `idx` (odd bytes zeroed), times the group's two weight vectors at `w`, summed over
    /// the `g` groups, as f32.
    ///
    /// # Safety
    /// Every row has `base + 16 (g - 1) + 64` bytes; `w` points at `2g` vectors.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx512vbmi")]
    #[inline]
    unsafe fn one_load<const R: usize>(
        sp: [*const u8; R],
        base: usize,
        idx: [__m512i; 2],
        w: *const __m512i,
        g: usize,
    ) -> [__m512; R] {
        const ODD_ZERO: u64 = 0x5555_5555_5555_5555;
        for p in sp {
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(base + PREFETCH).cast());
        }
        let mut acc = [[_mm512_setzero_si512(); 2]; R];
        for k in 0..g {
            // SAFETY: the caller's.
            unsafe {
                let (w0, w1) = (
                    _mm512_loadu_si512(w.add(2 * k)),
                    _mm512_loadu_si512(w.add(2 * k + 1)),
                );
                for r in 0..R {
                    let px = _mm512_loadu_si512(sp[r].add(base + k * GROUP * 4).cast());
                    let a = _mm512_maskz_permutexvar_epi8(ODD_ZERO, idx[0], px);
                    let b = _mm512_maskz_permutexvar_epi8(ODD_ZERO, idx[1], px);
                    acc[r][0] = _mm512_dpwssd_epi32(acc[r][0], a, w0);
                    acc[r][1] = _mm512_dpwssd_epi32(acc[r][1], b, w1);
                }
            }
        }
        let mut f = [_mm512_setzero_ps(); R];
        for r in 0..R {
            f[r] = _mm512_cvtepi32_ps(_mm512_add_epi32(acc[r][0], acc[r][1]));
        }
        f
    }

    /// [`super::horizontal`] with AVX2 over `R` source rows at once (they share every
    /// weight load): two output pixels per register (one per 128-bit lane), each step
    /// loading four source pixels per lane and multiplying two taps of four channels per
    /// `pmaddwd`.
    ///
    /// # Safety
    /// Every `src[i].len() ≥ t.reads` and `out[i].len() ≥ t.row_len`; `t.per == 2`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn horizontal<const R: usize>(
        out: [&mut [f32]; R],
        src: [&[u8]; R],
        t: &Tables,
    ) {
        // SAFETY: 16-byte reads of 16-byte arrays.
        let (lo, hi) = unsafe {
            (
                _mm256_broadcastsi128_si256(_mm_loadu_si128(PAIRS[0].as_ptr().cast())),
                _mm256_broadcastsi128_si256(_mm_loadu_si128(PAIRS[1].as_ptr().cast())),
            )
        };
        let rgb = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7);
        let sp = src.map(|s| s.as_ptr());
        let op = out.map(|o| o.as_mut_ptr());
        let wp = t.pairs.as_ptr().cast::<__m256i>();
        let g = t.groups;
        for j in 0..t.width.div_ceil(2) {
            let a = t.start[2 * j] as usize * 4;
            let b = t.start[2 * j + 1] as usize * 4;
            for p in sp {
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(a + PREFETCH).cast());
            }
            let mut acc = [[_mm256_setzero_si256(); 2]; R];
            for k in 0..g {
                // SAFETY: `start + groups · GROUP` pixels lie within `t.reads ≤ src.len()`
                // bytes; `pairs` holds two vectors per pixel pair and group.
                unsafe {
                    let w = wp.add((j * g + k) * 2);
                    let (w0, w1) = (_mm256_loadu_si256(w), _mm256_loadu_si256(w.add(1)));
                    for r in 0..R {
                        let pa = _mm_loadu_si128(sp[r].add(a + k * GROUP * 4).cast());
                        let pb = _mm_loadu_si128(sp[r].add(b + k * GROUP * 4).cast());
                        let px = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(pa), pb);
                        let m0 = _mm256_madd_epi16(_mm256_shuffle_epi8(px, lo), w0);
                        let m1 = _mm256_madd_epi16(_mm256_shuffle_epi8(px, hi), w1);
                        acc[r][0] = _mm256_add_epi32(acc[r][0], m0);
                        acc[r][1] = _mm256_add_epi32(acc[r][1], m1);
                    }
                }
            }
            for r in 0..R {
                let f = _mm256_cvtepi32_ps(_mm256_add_epi32(acc[r][0], acc[r][1]));
                // The two pixels' RGB side by side, then two spare floats the next pair
                // (or the row's slack) overwrites.
                let f = _mm256_permutevar8x32_ps(f, rgb);
                // SAFETY: `6j + 8 ≤ 3 · padded + SLACK = t.row_len ≤ out.len()`.
                unsafe { _mm256_storeu_ps(op[r].add(6 * j), f) };
            }
        }
    }
}

/// The 8-bit LUT interpolated between codes ([`super::lut_row`], same arithmetic) with
/// AVX-512 VBMI byte permutes instead of gathers: the 256-entry table, split into low and
/// high bytes, lives in eight registers, and `vpermi2b` looks up 64 values at a time (two
/// permutes cover 128 entries each; the index's top bit picks between them), once for the
/// code below each value and once for the code above.
#[cfg(target_arch = "x86_64")]
mod lut512 {
    pub(crate) use crate::cpu::linearize::x86::Split;
    use std::arch::x86_64::*;

    /// The split table (linearize's), when the CPU also has FMA for the interpolation.
    pub fn split(lut: &[u16]) -> Option<Split> {
        Split::new(lut).filter(|_| std::is_x86_feature_detected!("fma"))
    }

    /// Bytes `2j`, `2j + 1` of the output are the low and high byte of value
    /// `32 · part + j`: index `< 64` reads the low-byte register, `≥ 64` the high one.
    const fn order(part: usize) -> [u8; 64] {
        let mut idx = [0u8; 64];
        let mut b = 0;
        while b < 64 {
            idx[b] = (32 * part + b / 2 + 64 * (b % 2)) as u8;
            b += 1;
        }
        idx
    }
    const ORDER: [[u8; 64]; 2] = [order(0), order(1)];

    /// The table entry of each byte of `idx`: `t[0..2]` hold entries 0–127, `t[2..4]`
    /// 128–255.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    fn lookup(idx: __m512i, t: &[__m512i; 4]) -> __m512i {
        _mm512_mask_blend_epi8(
            _mm512_movepi8_mask(idx),
            _mm512_permutex2var_epi8(t[0], idx, t[1]),
            _mm512_permutex2var_epi8(t[2], idx, t[3]),
        )
    }

    /// `out[i] = lut_lerp(lut, vals[i])` for whole groups of 64; returns how many it did.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,fma")]
    pub fn lut_row(out: &mut [u16], vals: &[f32], t: &Split) -> usize {
        let n = out.len().min(vals.len()) / 64 * 64;
        // SAFETY (loads): each reads a 64-byte array.
        let load = |b: &[u8], at: usize| unsafe { _mm512_loadu_si512(b[at..].as_ptr().cast()) };
        let (lo, hi) = t.registers();
        let order = [load(&ORDER[0], 0), load(&ORDER[1], 0)];
        let (zero, maxv, topv) = (
            _mm512_setzero_ps(),
            _mm512_set1_ps(255.0),
            _mm512_set1_ps(254.0),
        );
        let (half, one) = (_mm512_set1_ps(0.5), _mm512_set1_epi8(1));
        for (o, v) in out[..n]
            .chunks_exact_mut(64)
            .zip(vals[..n].chunks_exact(64))
        {
            let mut frac = [zero; 4];
            let mut bytes = [_mm_setzero_si128(); 4];
            for q in 0..4 {
                // SAFETY: `v` holds 64 floats.
                let x = unsafe { _mm512_loadu_ps(v[16 * q..].as_ptr()) };
                // Clamp to 0..=255 (max first: NaN becomes 0); the index stops at 254.
                let x = _mm512_min_ps(_mm512_max_ps(x, zero), maxv);
                let i = _mm512_cvttps_epi32(_mm512_min_ps(x, topv));
                frac[q] = _mm512_sub_ps(x, _mm512_cvtepi32_ps(i));
                bytes[q] = _mm512_cvtepi32_epi8(i);
            }
            let idx = _mm512_inserti32x4::<3>(
                _mm512_inserti32x4::<2>(
                    _mm512_inserti32x4::<1>(_mm512_castsi128_si512(bytes[0]), bytes[1]),
                    bytes[2],
                ),
                bytes[3],
            );
            let next = _mm512_add_epi8(idx, one);
            let (alo, ahi) = (lookup(idx, &lo), lookup(idx, &hi));
            let (blo, bhi) = (lookup(next, &lo), lookup(next, &hi));
            // u16 entries in value order: 0–31, 32–63.
            let a = order.map(|ord| _mm512_permutex2var_epi8(alo, ord, ahi));
            let b = order.map(|ord| _mm512_permutex2var_epi8(blo, ord, bhi));
            for q in 0..4 {
                let half16 = |x: __m512i| {
                    if q % 2 == 0 {
                        _mm512_castsi512_si256(x)
                    } else {
                        _mm512_extracti64x4_epi64::<1>(x)
                    }
                };
                let af = _mm512_cvtepi32_ps(_mm512_cvtepu16_epi32(half16(a[q / 2])));
                let bf = _mm512_cvtepi32_ps(_mm512_cvtepu16_epi32(half16(b[q / 2])));
                let r = _mm512_fmadd_ps(_mm512_sub_ps(bf, af), frac[q], _mm512_add_ps(af, half));
                // `r` lies in `a .. b + 0.5` within 0..65535.5: truncation is in range.
                let r = _mm512_cvtusepi32_epi16(_mm512_cvttps_epi32(r));
                // SAFETY: `o` holds 64 u16; this stores 16 of them at 16q.
                unsafe { _mm256_storeu_si256(o[16 * q..].as_mut_ptr().cast(), r) };
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Filter;
    use crate::place::Rect;

    /// A deterministic photo-like RGBA8 image: gradients plus a hash, so neighbouring
    /// pixels differ like real content does.
    fn image(w: u32, h: u32, seed: u32) -> Vec<u8> {
        let mut out = Vec::with_capacity((w * h * 4) as usize);
        for y in 0..h {
            for x in 0..w {
                for c in 0..4u32 {
                    let mut z = x.wrapping_mul(73_856_093)
                        ^ y.wrapping_mul(19_349_663)
                        ^ c.wrapping_mul(83_492_791)
                        ^ seed;
                    z = z.wrapping_mul(0x9E37_79B1) ^ (z >> 15);
                    let smooth = (x * 255 / w.max(1) + y * 97 / h.max(1) + c * 40) % 256;
                    out.push(((smooth + (z % 48)) % 256) as u8);
                }
            }
        }
        out
    }

    fn plan(sw: u32, sh: u32, dst: Rect, filter: Filter) -> Plan {
        let crop = [0.0, 0.0, sw as f64, sh as f64];
        Plan::new(sw, sh, 4, crop, dst, filter)
    }

    #[test]
    fn avx2_and_portable_rows_are_the_same_bits() {
        for (sw, dw, filter) in [
            (3840, 1920, Filter::Lanczos3),
            (301, 97, Filter::Lanczos3),
            (97, 301, Filter::CatmullRom),
            (57, 41, Filter::Area),
            (57, 89, Filter::CatmullRom),
            (640, 63, Filter::Bilinear),
            (33, 33, Filter::Nearest),
        ] {
            let dst = Rect {
                x: 0,
                y: 0,
                w: dw,
                h: 8,
            };
            let p = plan(sw, 16, dst, filter);
            let best = x86::per_register();
            if best < 4 {
                eprintln!(
                    "SKIPPED: no AVX-512 VNNI here; kernels with {best} pixels a register only"
                );
            }
            for per in [4, 2].into_iter().filter(|p| *p <= best) {
                let Some(fx) = Fixed::with_kernel(&p, sw, per, false) else {
                    panic!("{sw}->{dw} {filter:?}: no fixed-point tables")
                };
                if per == 4 {
                    // The AVX-512 step kinds run: one load a block where the windows fit
                    // in 64 bytes (not at 10x), five pixels a block in runs of 20 pixels
                    // where the row has them, four loads at the right edge.
                    let (q, fit) = (fx.t.quint.len() * 5, fx.t.rel.len() * 4);
                    eprintln!("{sw}->{dw}: {q} + {fit} of {dw} pixels with one load");
                    assert!(q + fit < dw as usize, "{sw}->{dw}");
                    assert_eq!(q + fit == 0, sw > 10 * dw, "{sw}->{dw}");
                    assert_eq!(q > 0, sw <= 3 * dw && dw >= 20, "{sw}->{dw}");
                }
                let src = image(sw, 1, sw ^ dw);
                let n = dw as usize * 3;
                let bits = |v: &[f32]| v[..n].iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                let mut want = vec![f32::NAN; fx.t.row_len];
                horizontal_portable(&mut want, &src, &fx.t);
                // One row, and two rows at once (different contents).
                let mut a = vec![f32::NAN; fx.t.row_len];
                horizontal([&mut a], [&src], &fx.t);
                assert_eq!(bits(&a), bits(&want), "{sw}->{dw} {filter:?} per {per}");
                let other = image(sw, 1, 99);
                let mut want2 = vec![f32::NAN; fx.t.row_len];
                horizontal_portable(&mut want2, &other, &fx.t);
                let (mut b, mut c) = (vec![0f32; fx.t.row_len], vec![0f32; fx.t.row_len]);
                horizontal([&mut b, &mut c], [&src, &other], &fx.t);
                assert_eq!(
                    bits(&b),
                    bits(&want),
                    "{sw}->{dw} {filter:?} per {per}, row 0"
                );
                assert_eq!(
                    bits(&c),
                    bits(&want2),
                    "{sw}->{dw} {filter:?} per {per}, row 1"
                );
            }
        }
    }

    /// Every SIMD kernel this CPU has against the portable one over a spread of scale
    /// factors (both ways) and every filter: windows that start out of order where leading
    /// zero weights were trimmed, blocks too wide for one load, the right edge.
    #[test]
    fn simd_rows_match_the_portable_rows_at_every_scale() {
        let best = x86::per_register();
        for sw in [13u32, 57, 100, 301, 640, 1001] {
            for dw in [5u32, 41, 89, 97, 333, 1920] {
                for filter in Filter::ALL {
                    let dst = Rect {
                        x: 0,
                        y: 0,
                        w: dw,
                        h: 2,
                    };
                    let p = plan(sw, 4, dst, filter);
                    for per in [4, 2].into_iter().filter(|p| *p <= best) {
                        let Some(fx) = Fixed::with_kernel(&p, sw, per, false) else {
                            continue;
                        };
                        let (a, b) = (image(sw, 1, sw ^ dw), image(sw, 1, dw));
                        let mut want = [a.clone(), b.clone()].map(|src| {
                            let mut o = vec![f32::NAN; fx.t.row_len];
                            horizontal_portable(&mut o, &src, &fx.t);
                            o
                        });
                        let n = dw as usize * 3;
                        let mut got = [vec![0f32; fx.t.row_len], vec![0f32; fx.t.row_len]];
                        let [g0, g1] = &mut got;
                        horizontal([g0, g1], [&a, &b], &fx.t);
                        for (g, w) in got.iter().zip(&mut want) {
                            let same = g[..n]
                                .iter()
                                .zip(&w[..n])
                                .all(|(x, y)| x.to_bits() == y.to_bits());
                            assert!(same, "{sw}->{dw} {filter:?} per {per}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn weights_sum_to_one_exactly() {
        let dst = Rect {
            x: 0,
            y: 0,
            w: 777,
            h: 5,
        };
        let p = plan(1999, 10, dst, Filter::Lanczos3);
        let fx = p.fixed.as_ref().map(|f| &f.t);
        let t = fx.unwrap_or_else(|| panic!("no tables"));
        let span = t.groups * GROUP;
        for ox in 0..t.width {
            let s: i32 = t.weights[ox * span..(ox + 1) * span]
                .iter()
                .map(|w| *w as i32)
                .sum();
            assert_eq!(s, 1 << BITS, "pixel {ox}");
        }
        // Flat input comes out exact.
        let src = vec![200u8; 1999 * 4];
        let mut out = vec![0f32; t.row_len];
        horizontal([&mut out], [&src], t);
        assert!(out[..777 * 3].iter().all(|v| *v == (200 << BITS) as f32));
    }

    /// Output rows paired in the vertical pass give the bits of rows one at a time, and
    /// every row reaches `each` once, in order: downscales whose neighbouring windows
    /// share rows (2x, 3x, odd ratios), an upscale, a filter with few taps, a window too
    /// wide to pair (8x Lanczos3: 48 taps), on one band and on several.
    #[test]
    fn paired_vertical_rows_are_the_same_bits_as_single_rows() {
        let lut: Vec<u16> = (0..256u32).map(|i| (i * i + 3 * i) as u16).collect();
        let mut paired_any = false;
        for (sw, sh, dw, dh, filter) in [
            (384, 216, 192, 108, Filter::Lanczos3),
            (300, 240, 100, 80, Filter::Lanczos3),
            (301, 197, 120, 71, Filter::Lanczos3),
            (160, 90, 200, 150, Filter::CatmullRom),
            (200, 120, 100, 60, Filter::Bilinear),
            (640, 480, 80, 60, Filter::Lanczos3),
        ] {
            let src = image(sw, sh, 11);
            let (cw, ch) = (dw + 4, dh + 2);
            let dst = Rect {
                x: 1,
                y: 1,
                w: dw,
                h: dh,
            };
            let mut out = Vec::new();
            for v_pairs in [false, true] {
                let mut p = plan(sw, sh, dst, filter);
                let per = x86::per_register();
                p.fixed = Fixed::with_kernel(&p, sw, per, v_pairs);
                let Some(fx) = p.fixed.as_ref() else {
                    panic!("{sw}x{sh}->{dw}x{dh}: no fixed-point tables");
                };
                paired_any |= fx.t.v_pairs;
                for bands in [None, Some(Bands::new(dh as usize, 1, &[]))] {
                    let mut canvas = vec![9u16; (cw * ch * 3) as usize];
                    let seen = std::sync::Mutex::new(Vec::new());
                    let each = |y: usize, rows: &mut [u16]| {
                        seen.lock()
                            .unwrap()
                            .push((y, rows.len() / (cw as usize * 3)));
                    };
                    let row = sw as usize * 4;
                    assert!(run_rgba8(
                        &mut p,
                        &src,
                        row,
                        &mut canvas,
                        cw,
                        &lut,
                        bands.as_ref(),
                        each
                    ));
                    let mut seen = seen.into_inner().unwrap();
                    seen.sort_unstable();
                    let band_count =
                        bands.map_or(p.fixed.as_ref().unwrap().t.bands.len(), |b| b.len());
                    assert_eq!(seen.len(), dh as usize, "every row once");
                    assert_eq!(
                        seen.iter().filter(|(_, n)| *n == 1).count(),
                        band_count,
                        "each band starts at its first row"
                    );
                    out.push(canvas);
                }
            }
            assert!(
                out[1..].iter().all(|c| *c == out[0]),
                "{sw}x{sh}->{dw}x{dh} {filter:?}: paired rows differ"
            );
        }
        if crate::cpu::resample::pairs_pay() {
            assert!(paired_any, "no case paired its rows");
        }
    }

    /// Against the float resampler on the same jobs, through an identity-like LUT (code
    /// `i` → `257 i`, so one code is 257 units): within the error bound of the module docs.
    #[test]
    fn matches_the_float_resampler_within_the_rounding_bound() {
        let lut: Vec<u16> = (0..256u32).map(|i| (i * 257) as u16).collect();
        for (sw, sh, dw, dh, filter) in [
            (384, 216, 192, 108, Filter::Lanczos3),
            (301, 97, 120, 200, Filter::Lanczos3),
            (57, 41, 200, 90, Filter::CatmullRom),
            (640, 360, 64, 36, Filter::Area),
            (100, 80, 77, 61, Filter::Bilinear),
        ] {
            let src = image(sw, sh, 7);
            let (cw, ch) = (dw + 5, dh + 3);
            let dst = Rect {
                x: 3,
                y: 2,
                w: dw,
                h: dh,
            };
            let mut fixed = plan(sw, sh, dst, filter);
            assert!(fixed.fixed.is_some());
            let mut float = plan(sw, sh, dst, filter);
            float.fixed = None;
            let mut a = vec![7u16; (cw * ch * 3) as usize];
            let mut b = a.clone();
            let row = sw as usize * 4;
            super::super::run(
                &mut fixed,
                &src,
                row,
                (0, 0),
                &mut a,
                cw,
                super::super::Output::Lut(&lut),
            );
            super::super::run(
                &mut float,
                &src,
                row,
                (0, 0),
                &mut b,
                cw,
                super::super::Output::Lut(&lut),
            );
            let taps = fixed.h_used as f64;
            let bound = (taps * 0.5f64.powi(BITS as i32 + 1) * 255.0 * 257.0).ceil() as i32 + 1;
            let worst = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (*x as i32 - *y as i32).abs())
                .max();
            let worst = worst.unwrap_or(0);
            eprintln!("{sw}x{sh}->{dw}x{dh} {filter:?}: worst {worst} of bound {bound}");
            assert!(
                worst <= bound,
                "{sw}x{sh}->{dw}x{dh} {filter:?}: {worst} > {bound}"
            );
            // Outside the rect: untouched.
            assert_eq!(a[..3], [7, 7, 7]);
        }
    }

    /// The AVX-512 LUT gives the bits of the AVX2 one, on values all over (and outside) the
    /// code range, NaN included, for lengths around the 64-value group.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx512_lut_matches_the_lut_row() {
        let lut: Vec<u16> = (0..256u32)
            .map(|i| ((i * i * 3 + i * 7) % 65536) as u16)
            .collect();
        let Some(split) = lut512::split(&lut) else {
            eprintln!("SKIPPED: this CPU has no AVX-512 VBMI; the kernel is not used here");
            return;
        };
        for n in [64usize, 65, 127, 128, 200, 1920 * 3] {
            let vals: Vec<f32> = (0..n)
                .map(|i| match i % 11 {
                    0 => f32::NAN,
                    1 => -3.5,
                    2 => 255.0,
                    3 => 300.0,
                    4 => 254.999,
                    5 => (i % 256) as f32,
                    _ => (i as f32 * 0.731) % 256.0,
                })
                .collect();
            let mut want = vec![0u16; n];
            super::super::lut_row(&mut want, &vals, &lut);
            let mut got = vec![0u16; n];
            // SAFETY: `Split::new` checked the CPU features.
            let done = unsafe { lut512::lut_row(&mut got, &vals, &split) };
            assert_eq!(done, n / 64 * 64);
            assert_eq!(got[..done], want[..done], "n {n}");
        }
    }
}
