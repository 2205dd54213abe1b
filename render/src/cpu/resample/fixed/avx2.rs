//! The AVX2 kernel of the fixed-point horizontal pass: two output pixels a 256-bit
//! register (one per 128-bit lane), each step loading four source pixels per lane and
//! multiplying two taps of four channels per `pmaddwd`; and the byte shuffles and prefetch
//! distance the AVX-512 kernel shares.
//!
//! Entered through [`horizontal`], whose [`Avx2`] token (the tables' [`Kernel`]) is the
//! proof that the CPU has AVX2: the safety argument of the `unsafe` call into the
//! `#[target_feature]` code, with the lengths the function asserts.
//!
//! [`Kernel`]: super::tables::Kernel

use super::GROUP;
use super::tables::Tables;
use crate::cpu::simd::Avx2;
use std::arch::x86_64::*;

/// Bytes ahead of the current window that the kernels prefetch: a 4K source row is
/// not in cache when its turn comes, and the hardware prefetcher alone left the
/// kernels waiting on loads (measured: 15 → 13 ms a 4K frame on one thread).
pub(super) const PREFETCH: usize = 2048;

/// Per 128-bit lane, 16 bytes = pixels p0..p3 (RGBA): the i16 pairs (p0, p1) of each
/// channel, then (p2, p3); `-128` makes `pshufb` write a zero byte.
#[rustfmt::skip]
pub(super) const PAIRS: [[i8; 16]; 2] = [
    [0, -128, 4, -128, 1, -128, 5, -128, 2, -128, 6, -128, 3, -128, 7, -128],
    [8, -128, 12, -128, 9, -128, 13, -128, 10, -128, 14, -128, 11, -128, 15, -128],
];

/// [`super::horizontal::horizontal`] with AVX2 over `R` source rows at once (they share
/// every weight load). `t` is laid out for this kernel (its [`Kernel::Avx2`] holds the
/// token).
///
/// [`Kernel::Avx2`]: super::tables::Kernel::Avx2
pub(super) fn horizontal<const R: usize>(
    _: Avx2,
    out: [&mut [f32]; R],
    src: [&[u8]; R],
    t: &Tables,
) {
    for (o, s) in out.iter().zip(&src) {
        assert!(s.len() >= t.reads && o.len() >= t.row_len);
    }
    assert_eq!(t.kernel.per(), 2, "tables laid out for the AVX2 kernel");
    // SAFETY: the `Avx2` token exists only where AVX2 runs (`crate::cpu::simd`); the
    // lengths and the layout are asserted above.
    unsafe { horizontal_avx2(out, src, t) }
}

/// # Safety
/// The CPU has AVX2; every `src[i].len() ≥ t.reads` and `out[i].len() ≥ t.row_len`; `t`
/// is laid out for two pixels a register.
#[target_feature(enable = "avx2")]
unsafe fn horizontal_avx2<const R: usize>(out: [&mut [f32]; R], src: [&[u8]; R], t: &Tables) {
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
