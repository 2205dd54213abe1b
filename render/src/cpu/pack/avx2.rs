//! The AVX2 bit-plane kernel: the portable kernel's steps (`bitplanes.rs`) on `__m256i`
//! registers, one byte lane per position of a group of 32, with the run loads
//! deinterleaved by byte shuffles (`vpshufb`).
//!
//! Every function here is compiled for AVX2 (`#[target_feature(enable = "avx2")]`), so
//! they call each other and the `core::arch` intrinsics safely. [`span`] is entered from
//! code without AVX2 through [`Kernel::span`](super::Kernel::span), whose [`simd::Avx2`]
//! token is the proof the CPU has it; the AVX-512 kernel also calls it, one group at a
//! time, for the groups it does not take. What stays `unsafe` is memory: loads through
//! pointers into arrays ([`deinterleave`], [`load32`]), the store through a pointer into a
//! 32-byte array ([`store32`]), and the writes into a port buffer ([`GroupOut::row`], whose
//! aliasing argument is in `fused.rs`).
//!
//! `#[inline(always)]` is not allowed on a `#[target_feature]` function, so the helpers are
//! `#[inline]` and written so that LLVM inlines them all into [`span`] (as the old
//! `#[inline(always)]` helpers were): the large ones have one call site each ([`group`],
//! [`line`]). A second call site of either was measured to leave it out of line.

use super::bitplanes::{Channels, address_groups, gather_slots, run_pixels};
use super::fused::{BlockOut, GroupOut};
use super::{Codes, GROUP};
use crate::cpu::simd;
use crate::geometry::{PortMap, Run};
use core::arch::x86_64::*;
use std::ops::Range;

/// `SHUFFLES[reverse][c][t]`: the `vpshufb` control that picks, from the `t`-th 16 bytes
/// of 8 interleaved pixels (48 bytes: R lo, R hi, G lo, ... per pixel), channel `c`'s
/// low bytes into bytes 0..8 and its high bytes into bytes 8..16 (both 128-bit lanes
/// alike); pixels in memory order, or reversed.
static SHUFFLES: [[[[u8; 32]; 3]; 3]; 2] = [shuffles(false), shuffles(true)];

const fn shuffles(reverse: bool) -> [[[u8; 32]; 3]; 3] {
    let mut m = [[[0x80u8; 32]; 3]; 3];
    let mut c = 0;
    while c < 3 {
        let mut o = 0;
        while o < 16 {
            let j = o % 8;
            let pixel = if reverse { 7 - j } else { j };
            let byte = 6 * pixel + 2 * c + o / 8;
            m[c][byte / 16][o] = (byte % 16) as u8;
            m[c][byte / 16][o + 16] = (byte % 16) as u8;
            o += 1;
        }
        c += 1;
    }
    m
}

/// Wire channels of a group in registers: low bytes, high bytes.
type Wire = ([__m256i; 6], [__m256i; 6]);

/// Low bytes, high bytes of the three canvas channels of one line.
type Line = ([__m256i; 3], [__m256i; 3]);

/// The 32 bytes of `v` in a register.
#[inline]
#[target_feature(enable = "avx2")]
fn load32(v: &[u8; GROUP]) -> __m256i {
    // SAFETY: reads the 32 bytes of `v`; `loadu` has no alignment requirement.
    unsafe { _mm256_loadu_si256(v.as_ptr().cast()) }
}

/// `v` into the 32 bytes of `dst`.
#[inline]
#[target_feature(enable = "avx2")]
fn store32(dst: &mut [u8; GROUP], v: __m256i) {
    // SAFETY: writes the 32 bytes of `dst`; `storeu` has no alignment requirement.
    unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast(), v) }
}

/// 32 contiguous pixels (`px`, 96 codes), position j = pixel j, or pixel 31 - j when
/// `reverse`.
#[inline]
#[target_feature(enable = "avx2")]
fn deinterleave(px: &[u16; GROUP * 3], reverse: bool) -> Line {
    let base = px.as_ptr().cast::<u8>();
    // Byte offsets of the 8-pixel chunks that go into the low and high 128-bit lanes of
    // the registers of positions 0..8 | 16..24 (A) and 8..16 | 24..32 (B).
    let [a_lo, a_hi, b_lo, b_hi] = if reverse {
        [144, 48, 96, 0]
    } else {
        [0, 96, 48, 144]
    };
    let masks = &SHUFFLES[usize::from(reverse)];
    let ld = |lo: usize, hi: usize| {
        // SAFETY: `lo` and `hi` are at most 144 + 32, so each 16-byte load reads within
        // the 192 bytes of `px`; `loadu` has no alignment requirement.
        unsafe {
            _mm256_loadu2_m128i(
                base.add(hi).cast::<__m128i>(),
                base.add(lo).cast::<__m128i>(),
            )
        }
    };
    let a = [
        ld(a_lo, a_hi),
        ld(a_lo + 16, a_hi + 16),
        ld(a_lo + 32, a_hi + 32),
    ];
    let b = [
        ld(b_lo, b_hi),
        ld(b_lo + 16, b_hi + 16),
        ld(b_lo + 32, b_hi + 32),
    ];
    let zero = _mm256_setzero_si256();
    let (mut lo, mut hi) = ([zero; 3], [zero; 3]);
    for c in 0..3 {
        let m0 = load32(&masks[c][0]);
        let m1 = load32(&masks[c][1]);
        let m2 = load32(&masks[c][2]);
        let pick = |x: &[__m256i; 3]| {
            _mm256_or_si256(
                _mm256_or_si256(_mm256_shuffle_epi8(x[0], m0), _mm256_shuffle_epi8(x[1], m1)),
                _mm256_shuffle_epi8(x[2], m2),
            )
        };
        let (ca, cb) = (pick(&a), pick(&b));
        lo[c] = _mm256_unpacklo_epi64(ca, cb);
        hi[c] = _mm256_unpackhi_epi64(ca, cb);
    }
    (lo, hi)
}

/// One line of a group that is a run.
#[inline]
#[target_feature(enable = "avx2")]
fn line(q: &Codes<'_>, run: Run) -> Option<Line> {
    if let Run::Same(pixel) = run {
        let px = q.get(pixel as usize * 3, 3)?;
        let splat = |v: u16| _mm256_set1_epi8(v as i8);
        return Some((
            [splat(px[0]), splat(px[1]), splat(px[2])],
            [splat(px[0] >> 8), splat(px[1] >> 8), splat(px[2] >> 8)],
        ));
    }
    let (px, reverse) = run_pixels(q, run)?;
    Some(deinterleave(px, reverse))
}

/// Wire channels of a group whose lines are both runs.
#[inline]
#[target_feature(enable = "avx2")]
fn runs(q: &Codes<'_>, runs: [Run; 2], order: [u8; 3]) -> Option<Wire> {
    // One call site of `line`, so that it is inlined (see the module docs).
    let zero = _mm256_setzero_si256();
    let mut lines = [([zero; 3], [zero; 3]); 2];
    for (l, &run) in lines.iter_mut().zip(&runs) {
        *l = line(q, run)?;
    }
    let [(lo0, hi0), (lo1, hi1)] = lines;
    let (r, g, b) = (
        usize::from(order[0]),
        usize::from(order[1]),
        usize::from(order[2]),
    );
    Some((
        [lo0[r], lo0[g], lo0[b], lo1[r], lo1[g], lo1[b]],
        [hi0[r], hi0[g], hi0[b], hi1[r], hi1[g], hi1[b]],
    ))
}

/// The gathered channels of [`gather_slots`] in registers.
#[inline]
#[target_feature(enable = "avx2")]
fn load(ch: &Channels) -> Wire {
    let zero = _mm256_setzero_si256();
    let (mut lo, mut hi) = ([zero; 6], [zero; 6]);
    for k in 0..6 {
        lo[k] = load32(&ch.lo[k]);
        hi[k] = load32(&ch.hi[k]);
    }
    (lo, hi)
}

/// See the portable `swap`: rows `i` and `i + S` of an 8x8 bit transpose.
#[inline]
#[target_feature(enable = "avx2")]
fn swap<const S: i32>(r: &mut [__m256i; 8], i: usize, m: i8) {
    let j = i + S as usize;
    let t = _mm256_and_si256(
        _mm256_xor_si256(_mm256_srli_epi16::<S>(r[i]), r[j]),
        _mm256_set1_epi8(m),
    );
    r[j] = _mm256_xor_si256(r[j], t);
    r[i] = _mm256_xor_si256(r[i], _mm256_slli_epi16::<S>(t));
}

/// Six channel rows (two zero rows added) to eight plane rows.
#[inline]
#[target_feature(enable = "avx2")]
fn transpose(rows: [__m256i; 6]) -> [__m256i; 8] {
    let z = _mm256_setzero_si256();
    let [r0, r1, r2, r3, r4, r5] = rows;
    let mut r = [r0, r1, r2, r3, r4, r5, z, z];
    for i in 0..4 {
        swap::<4>(&mut r, i, 0x0F);
    }
    for i in [0, 1, 4, 5] {
        swap::<2>(&mut r, i, 0x33);
    }
    for i in [0, 2, 4, 6] {
        swap::<1>(&mut r, i, 0x55);
    }
    r
}

/// Rows 0..4 of [`transpose`] (planes 8..12 of the high bytes), for less work when the
/// depth is at most 12.
#[inline]
#[target_feature(enable = "avx2")]
fn transpose4(rows: [__m256i; 6]) -> [__m256i; 4] {
    let nibble = _mm256_set1_epi8(0x0F);
    // The first step only keeps rows 0..4: low nibbles of rows 0..4 below the low
    // nibbles of rows 4..8 (rows 6 and 7 are zero).
    let low = |x| _mm256_and_si256(x, nibble);
    let join = |x, y| _mm256_or_si256(low(x), _mm256_slli_epi16::<4>(low(y)));
    let z = _mm256_setzero_si256();
    let mut r = [
        join(rows[0], rows[4]),
        join(rows[1], rows[5]),
        low(rows[2]),
        low(rows[3]),
        z,
        z,
        z,
        z,
    ];
    swap::<2>(&mut r, 0, 0x33);
    swap::<2>(&mut r, 1, 0x33);
    swap::<1>(&mut r, 0, 0x55);
    swap::<1>(&mut r, 2, 0x55);
    [r[0], r[1], r[2], r[3]]
}

/// The first `dst.len()` (at most 32) bytes of `v` to `dst`.
#[inline]
#[target_feature(enable = "avx2")]
fn store(dst: &mut [u8], v: __m256i) {
    if let Ok(dst) = <&mut [u8; GROUP]>::try_from(&mut *dst) {
        store32(dst, v);
    } else {
        let mut tmp = [0u8; GROUP];
        store32(&mut tmp, v);
        let n = dst.len().min(GROUP);
        dst[..n].copy_from_slice(&tmp[..n]);
    }
}

/// The planes of a group.
///
/// # Safety
/// As for [`GroupOut::row`], for plane rows `0 .. planes`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn emit((lo, hi): Wire, planes: usize, out: GroupOut) {
    let rows = transpose(lo);
    for (b, &row) in rows.iter().enumerate().take(planes) {
        // SAFETY: `b < planes`; the rest is the caller's contract.
        store(unsafe { out.row(b) }, row);
    }
    if planes > 12 {
        let rows = transpose(hi);
        for (b, &row) in rows.iter().enumerate().take(planes - 8) {
            // SAFETY: `b + 8 < planes`; the rest is the caller's contract.
            store(unsafe { out.row(b + 8) }, row);
        }
    } else if planes > 8 {
        let rows = transpose4(hi);
        for (b, &row) in rows.iter().enumerate().take(planes - 8) {
            // SAFETY: as above.
            store(unsafe { out.row(b + 8) }, row);
        }
    }
}

/// [`Kernel::span`](super::Kernel::span) on AVX2. The token is what lets
/// [`Kernel::span`](super::Kernel::span) call it.
///
/// # Safety
/// As for [`Kernel::span`](super::Kernel::span).
#[target_feature(enable = "avx2")]
pub(super) unsafe fn span(
    _: simd::Avx2,
    port: &PortMap,
    q: &Codes<'_>,
    a: usize,
    ps: Range<usize>,
    out: BlockOut,
) {
    let mut scratch = Channels::ZERO;
    for (g, runs) in address_groups(port, a, ps) {
        // SAFETY: the group lies in `ps`, which the caller lends us.
        unsafe { group(port, q, a, g, runs, &mut scratch, out) };
    }
}

/// The `n` positions from `p` of address `a`: contiguous loads where `runs` (the group's
/// descriptors, if the table has them) allows, slot by slot otherwise. Called from
/// [`span`] only (see the module docs).
///
/// # Safety
/// Positions `p .. p + n` of every plane row of `out` as for
/// [`Kernel::span`](super::Kernel::span).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn group(
    port: &PortMap,
    q: &Codes<'_>,
    a: usize,
    (p, n): (usize, usize),
    runs: Option<[Run; 2]>,
    scratch: &mut Channels,
    out: BlockOut,
) {
    let positions = port.positions as usize;
    let fast = match runs {
        Some(r) if n == GROUP => self::runs(q, r, port.order[p]),
        _ => None,
    };
    let ch = match fast {
        Some(ch) => ch,
        None => {
            let slots = &port.slots[(a * positions + p) * 2..(a * positions + p + n) * 2];
            gather_slots(q, slots, &port.order[p..p + n], n, scratch);
            load(scratch)
        }
    };
    // SAFETY: the caller's contract, for plane rows `0 .. out.planes`.
    unsafe { emit(ch, out.planes, out.group(p, n)) };
}
