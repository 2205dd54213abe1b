//! The AVX2 + FMA kernels of the float path, hand-written where the compiler split the
//! four-lane pixel sums into two lanes plus one (the fourth lane is not output) and
//! scalarized the LUT's table reads:
//!
//! * the horizontal pass ([`horizontal`]): two output pixels a 256-bit register (the
//!   plan's weight pairs, [`HSimd::pairs`](super::plan::HSimd::pairs)), then single pixels;
//! * the LUT interpolated between codes ([`lut_row`]): eight values a step, with gathers.
//!
//! Each is entered through a safe function whose [`Avx2`] token, taken from the plan, is
//! the proof that the CPU has AVX2 and FMA: the safety argument of the `unsafe` call into
//! the `#[target_feature]` code.

use super::Output;
use super::horizontal::HTable;
use crate::cpu::simd::Avx2;
use std::arch::x86_64::*;

/// [`super::horizontal::horizontal`] with AVX2 + FMA from output pixel `done` on (the
/// pixels before it were written by the AVX-512 blocks; `done` is even).
#[allow(clippy::too_many_arguments)]
pub(super) fn horizontal(
    _: Avx2,
    out_px: &mut [u16],
    t: &HTable<'_>,
    sum: &[f32],
    stride: usize,
    out: Output<'_>,
    row: &mut [f32],
    done: usize,
) {
    // SAFETY: the `Avx2` token exists only where AVX2 and FMA run (`crate::cpu::simd`).
    unsafe { horizontal_avx2(out_px, t, sum, stride, out, row, done) }
}

#[target_feature(enable = "avx2,fma")]
fn horizontal_avx2(
    out_px: &mut [u16],
    t: &HTable<'_>,
    sum: &[f32],
    stride: usize,
    out: Output<'_>,
    row: &mut [f32],
    done: usize,
) {
    let pixels = out_px.len() / 3;
    match out {
        Output::Linear => {
            let half = _mm_set1_ps(0.5);
            let top = _mm_set1_ps(65535.0);
            let zero = _mm_setzero_ps();
            // Pairs of output pixels, one per 128-bit lane, then single pixels.
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
            super::lut::lut_row(t.avx2, out_px, row, lut);
        }
    }
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

/// [`super::lut::lut_row`] 8 values at a time; returns how many it did (the caller does
/// the rest). Each gather reads `lut[i]` and `lut[i + 1]` as one u32.
pub(super) fn lut_row(_: Avx2, out: &mut [u16], vals: &[f32], lut: &[u16]) -> usize {
    assert!(
        lut.len() >= 2,
        "a LUT to interpolate has two entries at least"
    );
    // SAFETY: the `Avx2` token exists only where AVX2 and FMA run (`crate::cpu::simd`);
    // the LUT's length is asserted above.
    unsafe { lut_row_avx2(out, vals, lut) }
}

/// # Safety
/// The CPU has AVX2 and FMA; `lut.len() ≥ 2`.
#[target_feature(enable = "avx2,fma")]
unsafe fn lut_row_avx2(out: &mut [u16], vals: &[f32], lut: &[u16]) -> usize {
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
        // SAFETY: `0 ≤ i ≤ len − 2` (the caller's `len ≥ 2`), so the 4 bytes at `lut + 2i`
        // are `lut[i], lut[i+1]`.
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
