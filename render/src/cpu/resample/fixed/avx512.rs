//! The AVX-512 kernel of the fixed-point horizontal pass (BW + VNNI, with VBMI byte
//! permutes): `vpdpwssd` multiplies two taps of four channels and adds, four output pixels
//! a register, in three block kinds ([`Tables::quint`], [`Tables::rel`], the rest).
//!
//! Entered through [`horizontal`], whose [`VnniVbmi`] token (the tables' [`Kernel`]) is the
//! proof that the CPU has the features: the safety argument of the `unsafe` call into the
//! `#[target_feature]` code, with the lengths the function asserts.
//!
//! [`Kernel`]: super::tables::Kernel

use super::GROUP;
use super::avx2::{PAIRS, PREFETCH};
use super::tables::Tables;
use crate::cpu::simd::VnniVbmi;
use std::arch::x86_64::*;

/// [`super::horizontal::horizontal`] with AVX-512 over `R` source rows at once (they share
/// every weight load). `t` is laid out for this kernel (its [`Kernel::Avx512`] holds the
/// token).
///
/// [`Kernel::Avx512`]: super::tables::Kernel::Avx512
pub(super) fn horizontal<const R: usize>(
    _: VnniVbmi,
    out: [&mut [f32]; R],
    src: [&[u8]; R],
    t: &Tables,
) {
    for (o, s) in out.iter().zip(&src) {
        assert!(s.len() >= t.reads && o.len() >= t.row_len);
    }
    assert_eq!(t.kernel.per(), 4, "tables laid out for the AVX-512 kernel");
    // SAFETY: the `VnniVbmi` token exists only where AVX-512 F, BW, VNNI and VBMI run
    // (`crate::cpu::simd`); the lengths and the layout are asserted above.
    unsafe { horizontal512(out, src, t) }
}

/// [`super::horizontal::horizontal`] with AVX-512 BW + VNNI over `R` source rows at once,
/// `vpdpwssd` multiplying two taps and adding in one instruction. Three block kinds,
/// left to right: five output pixels' RGB per register from one 64-byte load and two
/// byte permutes ([`Tables::quint`], where the windows are close: downscales to 3x);
/// four pixels' RGBA, one per 128-bit lane, from one load ([`Tables::rel`]); four
/// pixels from four 16-byte loads (the rest).
///
/// # Safety
/// The CPU has AVX-512 F, BW, VNNI and VBMI; every `src[i].len() ≥ t.reads` and
/// `out[i].len() ≥ t.row_len`; `t` is laid out for four pixels a register.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx512vbmi")]
unsafe fn horizontal512<const R: usize>(out: [&mut [f32]; R], src: [&[u8]; R], t: &Tables) {
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
/// The CPU has the features of [`horizontal512`]; every row has `base + 16 (g - 1) + 64`
/// bytes; `w` points at `2g` vectors.
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
