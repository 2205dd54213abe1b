//! The vertical pass: `sum = Σ_k w[k] · source row (start + k)`, converting samples to
//! f32, [`V_CHUNK`] sums at a time kept in registers across up to [`V_TAPS`] source rows,
//! so the sum row is written once per sweep, not once per tap.
//!
//! Over a ring of rows (the linear-light path's linearized rows, the fixed-point path's
//! filtered ones), two neighbouring output rows can go through together ([`Pairing`]),
//! each ring row loaded once for both; [`RingWindow`] and [`next_window`] say which source
//! rows the ring must hold for that.
//!
//! The kernels here are plain Rust, compiled per level by `multiversion!`; the AVX-512
//! paired kernel is in `avx512.rs`. Every kernel computes each sum as the same chain of
//! fused multiply-adds, in tap order, so they all give the same bits.

use super::Sample;
use crate::cpu::simd::{Avx512, multiversion};
use crate::filter::AxisTable;

/// Samples summed together in registers by the vertical pass: eight AVX2 registers, four
/// AVX-512 ones, independent FMA chains enough to hide the FMA latency (32 left the
/// AVX-512 build two chains; 64 measured 4–10% faster end to end, same bits).
pub(super) const V_CHUNK: usize = 64;
/// Source rows summed per sweep of the vertical pass; more taps take several sweeps.
const V_TAPS: usize = 8;
/// Most source rows a paired kernel reads in one call: the union of two neighbouring
/// output rows' windows (14 for a 2x Lanczos3 downscale).
pub(super) const PAIR_ROWS: usize = 16;

/// How the vertical pass over a ring takes its output rows, chosen when the ring is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pairing {
    /// One at a time, in sweeps of [`V_TAPS`] rows.
    Single,
    /// Two neighbouring rows together where their windows fit the ring (the ring is
    /// deepened for that, [`pair_ring`]): with the AVX-512 kernel when it has its token,
    /// else with the portable one (which the tests compare at every level).
    Paired(Option<Avx512>),
}

impl Pairing {
    /// What pays at the current level: pairs where the AVX-512 kernel runs (only its build
    /// holds both rows' [`V_CHUNK`] sums in registers, eight of 32; the AVX2 one would need
    /// all sixteen and spill), single rows below.
    pub(super) fn best() -> Pairing {
        Avx512::new().map_or(Pairing::Single, |t| Pairing::Paired(Some(t)))
    }
}

/// The pairing a ring over the vertical table `v` gets (`want`, when the union of two
/// neighbouring windows fits [`PAIR_ROWS`], else single rows), and the ring's depth: the
/// filter's taps, plus the largest step between neighbouring windows when paired.
pub(super) fn pair_ring(v: &AxisTable, want: Pairing) -> (Pairing, usize) {
    let step = v.start.windows(2).map(|p| p[1].saturating_sub(p[0]));
    let step = step.max().unwrap_or(0) as usize;
    match want {
        Pairing::Paired(_) if v.taps + step <= PAIR_ROWS => (want, v.taps + step),
        _ => (Pairing::Single, v.taps),
    }
}

/// The source rows the vertical pass reads for output row `oy`, and for row `oy + 1` when
/// the two go through it together.
#[derive(Debug, Clone, Copy)]
pub(super) struct Windows {
    /// Row `oy`'s window: first source row and weights used.
    pub(super) start: usize,
    pub(super) used: usize,
    /// Row `oy + 1`'s window `(start, used)`, when paired.
    pub(super) next: Option<(usize, usize)>,
    /// End of the rows read (of the union when paired): the ring must hold `start..end`.
    pub(super) end: usize,
}

/// [`Windows`] of output row `oy`: paired with the next row when `pairing` pairs, there is
/// a next row in the band (`more`) and the union of the two windows fits the `ring`.
pub(super) fn next_window(
    v: &AxisTable,
    oy: usize,
    more: bool,
    pairing: Pairing,
    ring: usize,
) -> Windows {
    let (s, n) = (v.start[oy] as usize, v.used(oy));
    let next = (pairing != Pairing::Single && more)
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

/// Which source rows a band's ring of filtered or linearized rows holds (`lo..hi`, row
/// `y` in slot `y % ring`) as the band's vertical window slides down the source.
#[derive(Default)]
pub(super) struct RingWindow {
    lo: usize,
    hi: usize,
}

impl RingWindow {
    /// The rows to fill for the window `s..s + n` (`n ≤ ring`); once they are filled the
    /// ring holds the whole window. A window that does not continue the ring's (the first
    /// of a band) starts it over.
    pub(super) fn advance(&mut self, s: usize, n: usize, ring: usize) -> std::ops::Range<usize> {
        if s < self.lo || s > self.hi {
            (self.lo, self.hi) = (s, s);
        }
        let fill = self.hi.max(s)..s + n;
        self.hi = self.hi.max(s + n);
        self.lo = self.lo.max(self.hi.saturating_sub(ring));
        fill
    }
}

/// `sum = Σ_k w[k] · src[first + k · src_row ..][..sum.len()]`, converting samples to f32,
/// in sweeps of up to [`V_TAPS`] source rows (a filter with more taps adds later sweeps
/// onto the first).
pub(super) fn vertical<T: Sample>(
    sum: &mut [f32],
    src: &[T],
    first: usize,
    src_row: usize,
    w: &[f32],
) {
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

/// A kernel summing two output rows at once ([`vertical_pair`], [`vertical_pair16`]): the
/// AVX-512 one with its token, else the portable one.
pub(super) type PairKernel<T> =
    fn(Option<Avx512>, &mut [f32], &mut [f32], &[&[T]], &[f32], usize, &[f32]);

/// The vertical pass over a band's ring (rows `slot(y)`) for the windows of
/// [`next_window`]: output row `oy` into `sum` in sweeps of [`V_TAPS`], or, when the
/// windows pair, rows `oy` and `oy + 1` into `sum` and `sum2` with `pair` (and the token
/// `pairing` holds). Row `oy`'s weights are `weights[oy · taps..]`. Returns the output rows
/// done (1 or 2).
pub(super) fn vertical_ring<'r, T: Sample + 'r>(
    (sum, sum2): (&mut [f32], &mut [f32]),
    (weights, taps): (&[f32], usize),
    oy: usize,
    win: Windows,
    slot: impl Fn(usize) -> &'r [T],
    pairing: Pairing,
    pair: PairKernel<T>,
) -> usize {
    let (s, n, end) = (win.start, win.used, win.end);
    let w = |oy: usize, k: usize| &weights[oy * taps..oy * taps + k];
    if let (Some((s2, n2)), Pairing::Paired(avx512)) = (win.next, pairing) {
        let mut rows: [&[T]; PAIR_ROWS] = [&[]; PAIR_ROWS];
        for (j, row) in rows.iter_mut().take(end - s).enumerate() {
            *row = slot(s + j);
        }
        let rows = &rows[..end - s];
        pair(avx512, sum, sum2, rows, w(oy, n), s2 - s, w(oy + 1, n2));
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

/// Two output rows' vertical sums in one pass over the source rows they share (see
/// [`vertical_pair_any`]), over rows of f32 (the fixed-point path's filtered rows): the
/// AVX-512 kernel, which loads each row's chunk once for both sums, with its token.
pub(super) fn vertical_pair(
    avx512: Option<Avx512>,
    a: &mut [f32],
    b: &mut [f32],
    rows: &[&[f32]],
    wa: &[f32],
    ob: usize,
    wb: &[f32],
) {
    #[cfg(target_arch = "x86_64")]
    if let Some(avx512) = avx512 {
        return super::avx512::vertical_pair(avx512, a, b, rows, wa, ob, wb);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = avx512;
    vertical_pair_any(a, b, rows, wa, ob, wb);
}

/// [`vertical_pair`] over rows of u16 samples (the linear-light ring), each converted to
/// f32 once for both sums.
pub(super) fn vertical_pair16(
    avx512: Option<Avx512>,
    a: &mut [f32],
    b: &mut [f32],
    rows: &[&[u16]],
    wa: &[f32],
    ob: usize,
    wb: &[f32],
) {
    #[cfg(target_arch = "x86_64")]
    if let Some(avx512) = avx512 {
        return super::avx512::vertical_pair16(avx512, a, b, rows, wa, ob, wb);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = avx512;
    vertical_pair_any(a, b, rows, wa, ob, wb);
}

multiversion! {
/// Two output rows' vertical sums in one pass over the source rows they share:
/// `a = Σ_k wa[k] · rows[k]` and `b = Σ_k wb[k] · rows[ob + k]`, each row of `rows`
/// loaded once for both (a 2x downscale's neighbouring rows share 10 of 12 taps: 14 row
/// loads instead of 24). Each sum is the same chain of FMAs, in tap order, as
/// [`vertical_sweep`] computes it, so the bits are the same. Also the tail of the AVX-512
/// kernel.
pub(super) fn vertical_pair_any<T: Sample>(a: &mut [f32], b: &mut [f32], rows: &[&[T]], wa: &[f32], ob: usize, wb: &[f32]) {
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
