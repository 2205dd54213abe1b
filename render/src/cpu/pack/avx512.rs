//! The AVX-512 bit-plane kernel, for groups of 32 positions whose two lines are forward
//! or reversed runs (the rest go through the AVX2 kernel, [`span`](super::avx2::span), one
//! group at a time).
//! Per eight positions:
//!
//! 1. One masked 48-byte load per line (eight pixels of three u16 codes), and one
//!    two-source byte permute (`vpermt2b`) per byte half that builds, per position, the
//!    qword of its six wire channels, channel k in byte 7 − k (the colour order and the
//!    reversal are in the permute's control, from a table).
//! 2. `gf2p8affineqb` with that qword as the matrix and byte b = `1 << b` as the vector
//!    transposes each position's 8x8 bit matrix in one instruction: byte b of the result
//!    is plane b, bit k = channel k.
//! 3. The four position-major registers of the group become plane rows of 32 bytes with
//!    two more permute rounds (bytes, then qwords), two rows a register.
//!
//! Every function here is compiled for AVX-512 F and BW, VBMI, GFNI and AVX2 (what a
//! [`simd::GfniVbmi`] token proves, which is how [`Kernel::span`](super::Kernel::span) may
//! call [`span`]), so they call each other and the intrinsics safely; the AVX2 kernel is
//! called with the [`simd::Avx2`] token the [`simd::GfniVbmi`] one implies. What stays
//! `unsafe` is memory: the loads through pointers ([`load64`], [`chunk`]) and the writes
//! into a port buffer ([`store`], through [`GroupOut::row`]).

use super::bitplanes::{address_groups, run_pixels};
use super::fused::{BlockOut, GroupOut};
use super::{Codes, GROUP};
use crate::cpu::simd;
use crate::geometry::{PortMap, Run};
use core::arch::x86_64::*;
use std::ops::Range;

/// `INPUT[reverse][order][half]`: the `vpermt2b` control that takes, from eight pixels
/// of line 0 (bytes 0..48 of the first source) and of line 1 (the second), each
/// position's wire channels' low (`half` 0) or high bytes into its qword, channel k
/// at byte 7 − k (bytes 0 and 1, channels 6 and 7, are masked to zero). `reverse` bit
/// l: line l is reversed (position j = pixel 7 − j); `order` = 9 · o0 + 3 · o1 + o2.
static INPUT: [[[[u8; 64]; 2]; 27]; 4] = input();

const fn input() -> [[[[u8; 64]; 2]; 27]; 4] {
    let mut t = [[[[0u8; 64]; 2]; 27]; 4];
    let mut rev = 0;
    while rev < 4 {
        let mut o = 0;
        while o < 27 {
            let order = [o / 9, o / 3 % 3, o % 3];
            let mut half = 0;
            while half < 2 {
                let mut j = 0;
                while j < 8 {
                    let mut k = 0;
                    while k < 6 {
                        let line = k / 3;
                        let pixel = if (rev >> line) & 1 == 1 { 7 - j } else { j };
                        let byte = 64 * line + 6 * pixel + 2 * order[k % 3] + half;
                        t[rev][o][half][8 * j + 7 - k] = byte as u8;
                        k += 1;
                    }
                    j += 1;
                }
                half += 1;
            }
            o += 1;
        }
        rev += 1;
    }
    t
}

/// Bytes 0 and 1 of every qword (channels 7 and 6) zero, the rest from the permute.
const CHANNELS: u64 = !0x0303_0303_0303_0303;

/// `PLANES[h]`: the `vpermt2b` control that takes planes `4h .. 4h + 4` of two
/// position-major registers (eight positions each, byte 8j + b = plane b of position
/// j) into 16-byte lanes, one per plane: the first register's eight positions, then
/// the second's.
static PLANES: [[u8; 64]; 2] = planes();

const fn planes() -> [[u8; 64]; 2] {
    let mut t = [[0u8; 64]; 2];
    let mut h = 0;
    while h < 2 {
        let mut i = 0;
        while i < 64 {
            let (b, r, j) = (i / 16, i / 8 % 2, i % 8);
            t[h][i] = (64 * r + 8 * j + 4 * h + b) as u8;
            i += 1;
        }
        h += 1;
    }
    t
}

/// [`Kernel::span`](super::Kernel::span) on AVX-512. The token is what lets
/// [`Kernel::span`](super::Kernel::span) call it.
///
/// # Safety
/// As for [`Kernel::span`](super::Kernel::span).
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vbmi,gfni")]
pub(super) unsafe fn span(
    t: simd::GfniVbmi,
    port: &PortMap,
    q: &Codes<'_>,
    a: usize,
    ps: Range<usize>,
    out: BlockOut,
) {
    for ((p, n), runs) in address_groups(port, a, ps) {
        if let Some(r) = runs
            && let Some(lines) = lines(q, r)
            && let Some(order) = order_index(port.order[p])
        {
            // SAFETY: the group lies in `ps`, which the caller lends us, and is a whole one
            // (`address_groups` gives runs only to those: `n == GROUP`).
            unsafe { group(lines, order, out.planes, out.group(p, n)) };
        } else {
            // SAFETY: the group lies in `ps`, which the caller lends us.
            unsafe { super::avx2::span(t.avx512().avx2(), port, q, a, p..p + n, out) };
        }
    }
}

/// The 32 pixels of each line of a group whose lines are forward or reversed runs, and
/// whether each is reversed.
#[inline(always)]
fn lines<'a>(q: &Codes<'a>, runs: [Run; 2]) -> Option<[(&'a [u16; GROUP * 3], bool); 2]> {
    Some([run_pixels(q, runs[0])?, run_pixels(q, runs[1])?])
}

/// The row of [`INPUT`] for a colour order.
#[inline(always)]
fn order_index(order: [u8; 3]) -> Option<usize> {
    let [a, b, c] = order.map(usize::from);
    (a < 3 && b < 3 && c < 3).then_some(9 * a + 3 * b + c)
}

/// The 64 bytes of `v` in a register.
#[inline]
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vbmi,gfni")]
fn load64(v: &[u8; 64]) -> __m512i {
    // SAFETY: reads the 64 bytes of `v`; `loadu` has no alignment requirement.
    unsafe { _mm512_loadu_si512(v.as_ptr().cast()) }
}

/// Pixels `8c .. 8c + 8` of a line (48 bytes, the rest of the register zero), or of the
/// line reversed in chunks of eight: chunk `3 − c` when `reverse`.
#[inline]
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vbmi,gfni")]
fn chunk(line: &[u16; GROUP * 3], reverse: bool, c: usize) -> __m512i {
    assert!(c < 4, "a line has four chunks");
    let eight = 0xFFFF_FFFF_FFFF_u64;
    let at = if reverse { 3 - c } else { c } * 48;
    // SAFETY: the load is masked to the 48 bytes from byte `at ≤ 144` (`c < 4`, asserted
    // above), which lie in the 192 bytes of `line`; masked bytes are not read.
    unsafe { _mm512_maskz_loadu_epi8(eight, line.as_ptr().cast::<u8>().add(at).cast()) }
}

/// One group of 32 positions from its two lines' pixels.
///
/// # Safety
/// `out.n == GROUP`, and plane rows `0 .. planes` as for [`GroupOut::row`].
#[inline]
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vbmi,gfni")]
unsafe fn group(lines: [(&[u16; GROUP * 3], bool); 2], order: usize, planes: usize, out: GroupOut) {
    let [(l0, r0), (l1, r1)] = lines;
    let t = &INPUT[usize::from(r0) | usize::from(r1) << 1][order];
    let (lo_ctl, hi_ctl) = (load64(&t[0]), load64(&t[1]));
    let unit = _mm512_set1_epi64(0x8040_2010_0804_0201_u64 as i64);
    let (mut lo, mut hi) = ([_mm512_setzero_si512(); 4], [_mm512_setzero_si512(); 4]);
    for c in 0..4 {
        let (x0, x1) = (chunk(l0, r0, c), chunk(l1, r1, c));
        let qlo = _mm512_maskz_permutex2var_epi8(CHANNELS, x0, lo_ctl, x1);
        lo[c] = _mm512_gf2p8affine_epi64_epi8::<0>(unit, qlo);
        if planes > 8 {
            let qhi = _mm512_maskz_permutex2var_epi8(CHANNELS, x0, hi_ctl, x1);
            hi[c] = _mm512_gf2p8affine_epi64_epi8::<0>(unit, qhi);
        }
    }
    // SAFETY: planes `0 .. min(planes, 8)`, then `8 .. planes`: the caller's contract.
    unsafe { rows(&lo, planes.min(8), out, 0) };
    if planes > 8 {
        // SAFETY: as above.
        unsafe { rows(&hi, planes - 8, out, 8) };
    }
}

/// Planes `0 .. n` of four position-major registers (positions 0..32) to plane rows
/// `first ..` of `out`.
///
/// # Safety
/// `out.n == GROUP`, and plane rows `first .. first + n` as for [`GroupOut::row`].
#[inline]
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vbmi,gfni")]
unsafe fn rows(z: &[__m512i; 4], n: usize, out: GroupOut, first: usize) {
    let pairs = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
    let next = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
    for (h, ctl) in PLANES.iter().enumerate().take(n.div_ceil(4)) {
        let ctl = load64(ctl);
        let a = _mm512_permutex2var_epi8(z[0], ctl, z[1]);
        let b = _mm512_permutex2var_epi8(z[2], ctl, z[3]);
        for (m, idx) in [pairs, next].into_iter().enumerate() {
            let plane = 4 * h + 2 * m;
            if plane >= n {
                break;
            }
            let two = _mm512_permutex2var_epi64(a, idx, b);
            // SAFETY: `plane < n`; the rest is the caller's contract.
            unsafe { store(out, first + plane, _mm512_castsi512_si256(two)) };
            if plane + 1 < n {
                // SAFETY: `plane + 1 < n`; as above.
                unsafe { store(out, first + plane + 1, _mm512_extracti64x4_epi64::<1>(two)) };
            }
        }
    }
}

/// Plane row `b` of a full group.
///
/// # Safety
/// `out.n == GROUP`, and row `b` as for [`GroupOut::row`].
#[inline]
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vbmi,gfni")]
unsafe fn store(out: GroupOut, b: usize, v: __m256i) {
    // SAFETY: the row is valid for writes and ours (the caller's contract), and 32 bytes
    // long (`out.n == GROUP`); `storeu` has no alignment requirement.
    unsafe { _mm256_storeu_si256(out.row(b).as_mut_ptr().cast(), v) };
}
