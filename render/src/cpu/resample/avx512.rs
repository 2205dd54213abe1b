//! The AVX-512 kernels of the float path and of the LUT:
//!
//! * paired vertical rows ([`vertical_pair`], [`vertical_pair16`]): each ring row's chunk
//!   loaded once for two output rows' sums;
//! * the horizontal pass's five-pixel blocks ([`blocks`]): five output pixels' RGB a
//!   register, on the linear-light path;
//! * `lut512` ([`lut_row`]): the 8-bit LUT interpolated between codes with VBMI byte
//!   permutes instead of gathers, for the fixed-point path.
//!
//! Each is entered through a safe function whose token ([`Avx512`], or [`Vbmi`] for the
//! LUT), taken from the plan, is the proof that the CPU has the features: the safety
//! argument of the `unsafe` call into the `#[target_feature]` code. Each computes what its
//! portable counterpart does, with the same fused multiply-adds in the same order, so the
//! bits are the same.

use super::plan::Blocks;
use super::vertical::{PAIR_ROWS, V_CHUNK, vertical_pair_any};
use crate::cpu::linearize::x86::Split;
use crate::cpu::simd::{Avx512, Vbmi};
use std::arch::x86_64::*;

/// Two output rows' vertical sums over rows of f32 (see [`vertical_pair_any`]).
pub(super) fn vertical_pair(
    _: Avx512,
    a: &mut [f32],
    b: &mut [f32],
    rows: &[&[f32]],
    wa: &[f32],
    ob: usize,
    wb: &[f32],
) {
    // SAFETY: the `Avx512` token exists only where AVX-512 F, BW, VL and DQ run
    // (`crate::cpu::simd`).
    unsafe { pair512_f32(a, b, rows, wa, ob, wb) }
}

/// Two output rows' vertical sums over rows of u16 (see [`vertical_pair_any`]).
pub(super) fn vertical_pair16(
    _: Avx512,
    a: &mut [f32],
    b: &mut [f32],
    rows: &[&[u16]],
    wa: &[f32],
    ob: usize,
    wb: &[f32],
) {
    // SAFETY: as in `vertical_pair`.
    unsafe { pair512_u16(a, b, rows, wa, ob, wb) }
}

/// [`vertical_pair_any`] with AVX-512 for rows of `$t`, `$load` reading 16 of them at `$p`
/// as f32: per [`V_CHUNK`] sums, each row's chunk is loaded once into four registers and
/// feeds both rows' FMAs (eight chains). The same FMAs in the same order, so the same bits.
macro_rules! pair512 {
    ($name:ident, $t:ty, |$p:ident| $load:expr) => {
        #[target_feature(enable = "avx512f,avx512bw")]
        fn $name(a: &mut [f32], b: &mut [f32], rows: &[&[$t]], wa: &[f32], ob: usize, wb: &[f32]) {
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
            let rows_tail: [&[$t]; PAIR_ROWS] =
                std::array::from_fn(|k| rows.get(k).map_or(&[][..], |r| &r[done..]));
            vertical_pair_any(
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
pair512!(pair512_f32, f32, |p| unsafe { _mm512_loadu_ps(p) });
pair512!(pair512_u16, u16, |p| unsafe {
    _mm512_cvtepi32_ps(_mm512_cvtepu16_epi32(_mm256_loadu_si256(p.cast())))
});

/// The five-pixel blocks `b` of the horizontal pass (linear output) over the vertical sums
/// `sum`, `used` taps a pixel, into `out_px` from pixel 0; returns the pixels done
/// (`5 · blocks`, even).
pub(super) fn blocks(_: Avx512, out_px: &mut [u16], b: &Blocks, used: usize, sum: &[f32]) -> usize {
    // SAFETY: the `Avx512` token exists only where AVX-512 F, BW, VL and DQ run
    // (`crate::cpu::simd`).
    unsafe { blocks512(out_px, b, used, sum) }
}

/// Per tap, the 32 floats from the block's `base + 3k`, one two-source permute to put each
/// pixel's RGB in its lanes, one FMA for the five pixels. Even taps in one chain and odd
/// taps in another, added at the end, as the AVX2 kernel and the portable pass do: the
/// same bits.
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
fn blocks512(out_px: &mut [u16], blocks: &Blocks, used: usize, sum: &[f32]) -> usize {
    let n = blocks.list.len();
    assert!(out_px.len() >= 15 * n && blocks.weights.len() >= 16 * used * n);
    let (half, zero, top) = (
        _mm512_set1_ps(0.5),
        _mm512_setzero_ps(),
        _mm512_set1_ps(65535.0),
    );
    for (b, blk) in blocks.list.iter().enumerate() {
        let base = blk.base as usize;
        // Every tap's 32 floats lie inside `sum` (checked when the block was built, and
        // here again, once a block).
        assert!(used > 0 && base + 3 * (used - 1) + 32 <= sum.len());
        // SAFETY: reads of 16 u32 / 16 floats inside the arrays (asserted above).
        let idx = unsafe { _mm512_loadu_si512(blk.idx.as_ptr().cast()) };
        let (p, wp) = (unsafe { sum.as_ptr().add(base) }, unsafe {
            blocks.weights.as_ptr().add(16 * used * b)
        });
        let tap = |k: usize| {
            // SAFETY: `k < used`: the 32 floats from `base + 3k` and the 16 weights of
            // tap `k` are inside `sum` and `weights` (asserted above).
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

/// `lut512`: the 8-bit LUT interpolated between codes (the arithmetic of the AVX2
/// kernel) with AVX-512 VBMI byte permutes instead of gathers: the 256-entry table, split
/// into low and high bytes (`t`, linearize's [`Split`]), lives in eight registers, and
/// `vpermi2b` looks up 64 values at a time (two permutes cover 128 entries each; the
/// index's top bit picks between them), once for the code below each value and once for
/// the code above. `out[i] = lut_lerp(lut, vals[i])` for whole groups of 64; returns how
/// many it did.
pub(super) fn lut_row(_: Vbmi, out: &mut [u16], vals: &[f32], t: &Split) -> usize {
    // SAFETY: the `Vbmi` token exists only where AVX-512 F, BW, VL, DQ (with AVX2 and FMA)
    // and VBMI run (`crate::cpu::simd`).
    unsafe { lut_row_vbmi(out, vals, t) }
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

#[target_feature(enable = "avx512f,avx512bw,avx512vbmi,fma")]
fn lut_row_vbmi(out: &mut [u16], vals: &[f32], t: &Split) -> usize {
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
