//! Stage 6, pack: gather quantized codes through a port's slot table into its buffer:
//! bit planes in scan order (design §5) or a pixel stream in wiring order (design §6).
//!
//! The bit-plane kernel works on groups of 32 shift positions of one row address, one byte
//! lane per position (32 lanes fill an AVX2 register):
//!
//! 1. Gather the group's six wire channels (R1 G1 B1 R2 G2 B2, after the colour order),
//!    each split into its low byte (planes 0..8) and high byte (planes 8..16): twelve rows
//!    of 32 bytes. [`Geometry::compile`](crate::Geometry::compile) precomputes, per address
//!    and group, a [`Run`] per line ([`PortMap::runs`]): when a line's slots are 32
//!    consecutive canvas pixels, forward or reversed (a module mounted upside down), or one
//!    pixel 32 times (background), and the group has one colour order, the line is read with
//!    contiguous loads. In the AVX2 kernel that is 12 16-byte loads and 18 `vpshufb` that
//!    deinterleave R, G, B and low/high bytes at once (reversal is folded into the load order
//!    and shuffle controls), and the colour order is applied by picking registers. Any other
//!    group (mixed colour orders, scattered mappers, partial last group) is gathered slot by
//!    slot, with lanes past the end zero.
//! 2. Transpose. Per position, the six channel bytes (plus two zero rows) are an 8x8 bit
//!    matrix whose transpose is the eight plane bytes (bit k = channel k). Three rounds of
//!    shift/xor/mask swaps across rows do it for all 32 positions at once. For the high
//!    bytes at depth ≤ 12 only the first four rows are computed.
//! 3. Store each plane row with one 32-byte store at `out[(a · planes + b) · positions + p]`
//!    (the partial last group goes through a stack buffer). Non-temporal stores and staging
//!    several groups before writing were both measured slower.
//!
//! Addresses run in parallel on rayon. The AVX2 kernel (`core::arch` intrinsics) is chosen at
//! run time. The portable kernel runs the same steps on `[u8; 32]` arrays (compiled for AVX2
//! and for the baseline) and is the fallback. The per-bit loop of design §5 is kept as
//! [`reference_bitplanes`], the specification both are tested against.

use crate::geometry::{PACK_GROUP, PortMap, Run};
use crate::wall::OutputFormat;
use rayon::prelude::*;

/// Positions packed together: 32 byte lanes fill one AVX2 register.
const GROUP: usize = PACK_GROUP;

/// One byte per position of a group: one AVX2 register.
type Lanes = [u8; GROUP];

/// Pack one port: `q` is the quantized canvas buffer (packed RGB codes of `port.depth`
/// bits, with the background and dark pixels), `out` the port's buffer.
pub fn port(port: &PortMap, q: &[u16], out: &mut [u8]) {
    match port.format {
        OutputFormat::Bitplanes => bitplanes(port, q, out),
        OutputFormat::Rgb8 => rgb8(port, q, out),
        OutputFormat::Rgb16 => rgb16(port, q, out),
    }
}

#[inline(always)]
fn gather(q: &[u16], slots: &[u32], order: [u8; 3]) -> [u16; 6] {
    let i1 = slots[0] as usize * 3;
    let i2 = slots[1] as usize * 3;
    let (r, g, b) = (
        usize::from(order[0]),
        usize::from(order[1]),
        usize::from(order[2]),
    );
    [
        q[i1 + r],
        q[i1 + g],
        q[i1 + b],
        q[i2 + r],
        q[i2 + g],
        q[i2 + b],
    ]
}

/// Bit planes: `out[(a · planes + plane) · positions + p]`, bit k = wire channel k.
pub fn bitplanes(port: &PortMap, q: &[u16], out: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        return each_address(port, out, |a, block| {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { avx2::address(port, q, a, block) }
        });
    }
    portable_bitplanes(port, q, out);
}

/// [`bitplanes`] with the portable kernel, whatever the CPU has; for tests.
#[doc(hidden)]
pub fn portable_bitplanes(port: &PortMap, q: &[u16], out: &mut [u8]) {
    each_address(port, out, |a, block| address(port, q, a, block));
}

/// Run `f(a, block)` for every row address's block of `out`, in parallel.
fn each_address(port: &PortMap, out: &mut [u8], f: impl Fn(usize, &mut [u8]) + Sync) {
    let positions = port.positions as usize;
    let planes = port.depth as usize;
    if planes * positions == 0 {
        return;
    }
    out.par_chunks_mut(planes * positions)
        .enumerate()
        .for_each(|(a, block)| f(a, block));
}

/// The six wire channels (R1 G1 B1 R2 G2 B2) of a group, split into their low bytes
/// (planes 0..8) and high bytes (planes 8..16).
struct Channels {
    lo: [Lanes; 6],
    hi: [Lanes; 6],
}

impl Channels {
    const ZERO: Channels = Channels {
        lo: [[0; GROUP]; 6],
        hi: [[0; GROUP]; 6],
    };
}

/// One line of a group that is a run, into wire channels `3 · line ..`: contiguous loads of
/// 32 pixels, deinterleaved. False (and `ch` partly written) if `run` is not one.
#[inline(always)]
fn line_run(q: &[u16], run: Run, order: [u8; 3], line: usize, ch: &mut Channels) -> bool {
    // Canvas channels R, G, B, low and high bytes.
    let mut lo = [[0u8; GROUP]; 3];
    let mut hi = [[0u8; GROUP]; 3];
    let (i, reverse) = match run {
        Run::Forward(first) => (first as usize * 3, false),
        Run::Reverse(first) => match (first as usize + 1).checked_sub(GROUP) {
            Some(f) => (f * 3, true),
            None => return false,
        },
        Run::Same(pixel) => {
            let i = pixel as usize * 3;
            let Some(px) = q.get(i..i + 3) else {
                return false;
            };
            for c in 0..3 {
                lo[c] = [px[c] as u8; GROUP];
                hi[c] = [(px[c] >> 8) as u8; GROUP];
            }
            (usize::MAX, false)
        }
        Run::Scattered => return false,
    };
    if i != usize::MAX {
        let Some(px) = q.get(i..i + GROUP * 3) else {
            return false;
        };
        let Ok(px) = <&[u16; GROUP * 3]>::try_from(px) else {
            return false;
        };
        for j in 0..GROUP {
            let m = if reverse { GROUP - 1 - j } else { j };
            for c in 0..3 {
                let v = px[3 * m + c];
                lo[c][j] = v as u8;
                hi[c][j] = (v >> 8) as u8;
            }
        }
    }
    for (k, &c) in order.iter().enumerate() {
        ch.lo[3 * line + k] = lo[usize::from(c)];
        ch.hi[3 * line + k] = hi[usize::from(c)];
    }
    true
}

/// A group whose two lines are runs with colour order `order`, into `ch`.
#[inline(always)]
fn gather_runs(q: &[u16], runs: [Run; 2], order: [u8; 3], ch: &mut Channels) -> bool {
    line_run(q, runs[0], order, 0, ch) && line_run(q, runs[1], order, 1, ch)
}

/// Any `n ≤ GROUP` positions, slot by slot, into `ch`; lanes from `n` on are zero.
#[inline(always)]
fn gather_slots(q: &[u16], slots: &[u32], order: &[[u8; 3]], n: usize, ch: &mut Channels) {
    if n < GROUP {
        *ch = Channels::ZERO;
    }
    for j in 0..n {
        let v = gather(q, &slots[2 * j..], order[j]);
        for (k, &v) in v.iter().enumerate() {
            ch.lo[k][j] = v as u8;
            ch.hi[k][j] = (v >> 8) as u8;
        }
    }
}

/// One step of an 8x8 bit transpose across rows `i` and `j = i + s`: swaps the bits of
/// row `i` at columns with bit `s` set with those of row `j` at columns with it clear.
/// (`m` selects the latter; shifted by `s` they stay inside their byte.)
#[inline(always)]
fn swap(r: &mut [Lanes; 8], i: usize, s: u32, m: u8) {
    let (head, tail) = r.split_at_mut(i + s as usize);
    for (x, y) in head[i].iter_mut().zip(&mut tail[0]) {
        let t = ((*x >> s) ^ *y) & m;
        *y ^= t;
        *x ^= t << s;
    }
}

/// Rows = wire channels (6, padded with two zero rows), bit b = plane b: transposed, row b
/// is plane b's byte of every position, bit k = channel k.
#[inline(always)]
fn transpose(rows: &[Lanes; 6]) -> [Lanes; 8] {
    let mut r = [[0u8; GROUP]; 8];
    r[..6].copy_from_slice(rows);
    for i in 0..4 {
        swap(&mut r, i, 4, 0x0F);
    }
    for i in [0, 1, 4, 5] {
        swap(&mut r, i, 2, 0x33);
    }
    for i in [0, 2, 4, 6] {
        swap(&mut r, i, 1, 0x55);
    }
    r
}

/// Rows 0..4 of [`transpose`] (planes 8..12 of the high bytes), for less work when the
/// depth is at most 12.
#[inline(always)]
fn transpose4(rows: &[Lanes; 6]) -> [Lanes; 8] {
    let mut r = [[0u8; GROUP]; 8];
    // The first step only keeps rows 0..4: the low nibbles of rows 0..4 below the low
    // nibbles of rows 4..8 (rows 6 and 7 are zero).
    for l in 0..GROUP {
        r[0][l] = (rows[0][l] & 0x0F) | (rows[4][l] << 4);
        r[1][l] = (rows[1][l] & 0x0F) | (rows[5][l] << 4);
        r[2][l] = rows[2][l] & 0x0F;
        r[3][l] = rows[3][l] & 0x0F;
    }
    swap(&mut r, 0, 2, 0x33);
    swap(&mut r, 1, 2, 0x33);
    swap(&mut r, 0, 1, 0x55);
    swap(&mut r, 2, 1, 0x55);
    r
}

/// Store the planes of `n` positions starting at `p`.
#[inline(always)]
fn emit(ch: &Channels, planes: usize, positions: usize, p: usize, n: usize, block: &mut [u8]) {
    let lo = transpose(&ch.lo);
    for (b, row) in lo.iter().enumerate().take(planes) {
        block[b * positions + p..][..n].copy_from_slice(&row[..n]);
    }
    if planes > 8 {
        let hi = if planes > 12 {
            transpose(&ch.hi)
        } else {
            transpose4(&ch.hi)
        };
        for (b, row) in hi.iter().enumerate().take(planes - 8) {
            block[(b + 8) * positions + p..][..n].copy_from_slice(&row[..n]);
        }
    }
}

/// The group descriptors of address `a`, if the port's table is consistent.
#[inline(always)]
fn address_runs(port: &PortMap, a: usize, groups: usize) -> Option<&[[Run; 2]]> {
    (port.runs.len() == port.addresses as usize * groups)
        .then(|| port.runs.get(a * groups..(a + 1) * groups))
        .flatten()
}

multiversion! {
/// All planes of row address `a` into `block` (portable kernel).
fn address(port: &PortMap, q: &[u16], a: usize, block: &mut [u8]) {
    let positions = port.positions as usize;
    let planes = port.depth as usize;
    let slots = &port.slots[a * positions * 2..(a + 1) * positions * 2];
    let groups = positions / GROUP;
    let runs = address_runs(port, a, groups);
    let mut ch = Channels::ZERO;
    for g in 0..groups {
        let p = g * GROUP;
        let fast = match runs {
            Some(r) => gather_runs(q, r[g], port.order[p], &mut ch),
            None => false,
        };
        if !fast {
            gather_slots(q, &slots[p * 2..(p + GROUP) * 2], &port.order[p..p + GROUP], GROUP, &mut ch);
        }
        emit(&ch, planes, positions, p, GROUP, block);
    }
    let p = groups * GROUP;
    if p < positions {
        let n = positions - p;
        gather_slots(q, &slots[p * 2..], &port.order[p..], n, &mut ch);
        emit(&ch, planes, positions, p, n, block);
    }
}
}

/// The AVX2 kernel: the same steps as the portable one on `__m256i` registers, with the
/// run loads deinterleaved by byte shuffles. Everything is inlined into [`avx2::address`],
/// the one function compiled for AVX2; the helpers are `unsafe` because they may only run
/// there.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Channels, GROUP, PortMap, Run, address_runs, gather_slots};
    use core::arch::x86_64::*;

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

    /// 32 contiguous pixels (`px`, 96 codes), position j = pixel j, or pixel 31 - j when
    /// `reverse`.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[inline(always)]
    unsafe fn deinterleave(px: &[u16; GROUP * 3], reverse: bool) -> Line {
        let base = px.as_ptr().cast::<u8>();
        // Byte offsets of the 8-pixel chunks that go into the low and high 128-bit lanes of
        // the registers of positions 0..8 | 16..24 (A) and 8..16 | 24..32 (B).
        let [a_lo, a_hi, b_lo, b_hi] = if reverse {
            [144, 48, 96, 0]
        } else {
            [0, 96, 48, 144]
        };
        let masks = &SHUFFLES[usize::from(reverse)];
        // SAFETY: the caller guarantees AVX2. Every 16-byte load starts at most 144 + 32
        // bytes into `px` (192 bytes), every control is 32 bytes of `SHUFFLES`, and `loadu`
        // has no alignment requirement.
        unsafe {
            let ld = |lo: usize, hi: usize| {
                _mm256_loadu2_m128i(
                    base.add(hi).cast::<__m128i>(),
                    base.add(lo).cast::<__m128i>(),
                )
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
                let m0 = _mm256_loadu_si256(masks[c][0].as_ptr().cast());
                let m1 = _mm256_loadu_si256(masks[c][1].as_ptr().cast());
                let m2 = _mm256_loadu_si256(masks[c][2].as_ptr().cast());
                let pick = |x: &[__m256i; 3]| {
                    _mm256_or_si256(
                        _mm256_or_si256(
                            _mm256_shuffle_epi8(x[0], m0),
                            _mm256_shuffle_epi8(x[1], m1),
                        ),
                        _mm256_shuffle_epi8(x[2], m2),
                    )
                };
                let (ca, cb) = (pick(&a), pick(&b));
                lo[c] = _mm256_unpacklo_epi64(ca, cb);
                hi[c] = _mm256_unpackhi_epi64(ca, cb);
            }
            (lo, hi)
        }
    }

    /// One line of a group that is a run.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[inline(always)]
    unsafe fn line(q: &[u16], run: Run) -> Option<Line> {
        let (i, reverse) = match run {
            Run::Forward(first) => (first as usize * 3, false),
            Run::Reverse(first) => ((first as usize + 1).checked_sub(GROUP)? * 3, true),
            Run::Same(pixel) => {
                let i = pixel as usize * 3;
                let px = q.get(i..i + 3)?;
                // SAFETY: the caller guarantees AVX2.
                let splat = |v: u16| unsafe { _mm256_set1_epi8(v as i8) };
                return Some((
                    [splat(px[0]), splat(px[1]), splat(px[2])],
                    [splat(px[0] >> 8), splat(px[1] >> 8), splat(px[2] >> 8)],
                ));
            }
            Run::Scattered => return None,
        };
        let px = q.get(i..i + GROUP * 3)?.try_into().ok()?;
        // SAFETY: the caller guarantees AVX2.
        Some(unsafe { deinterleave(px, reverse) })
    }

    /// Wire channels of a group whose lines are both runs.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[inline(always)]
    unsafe fn runs(q: &[u16], runs: [Run; 2], order: [u8; 3]) -> Option<Wire> {
        // SAFETY: the caller guarantees AVX2.
        let (lo0, hi0) = unsafe { line(q, runs[0])? };
        // SAFETY: as above.
        let (lo1, hi1) = unsafe { line(q, runs[1])? };
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
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[inline(always)]
    unsafe fn load(ch: &Channels) -> Wire {
        // SAFETY: the caller guarantees AVX2; each row is 32 bytes and `loadu` has no
        // alignment requirement.
        unsafe {
            let zero = _mm256_setzero_si256();
            let (mut lo, mut hi) = ([zero; 6], [zero; 6]);
            for k in 0..6 {
                lo[k] = _mm256_loadu_si256(ch.lo[k].as_ptr().cast());
                hi[k] = _mm256_loadu_si256(ch.hi[k].as_ptr().cast());
            }
            (lo, hi)
        }
    }

    /// See the portable `swap`: rows `i` and `i + S` of an 8x8 bit transpose.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[inline(always)]
    unsafe fn swap<const S: i32>(r: &mut [__m256i; 8], i: usize, m: i8) {
        let j = i + S as usize;
        // SAFETY: the caller guarantees AVX2.
        unsafe {
            let t = _mm256_and_si256(
                _mm256_xor_si256(_mm256_srli_epi16::<S>(r[i]), r[j]),
                _mm256_set1_epi8(m),
            );
            r[j] = _mm256_xor_si256(r[j], t);
            r[i] = _mm256_xor_si256(r[i], _mm256_slli_epi16::<S>(t));
        }
    }

    /// Six channel rows (two zero rows added) to eight plane rows.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[inline(always)]
    unsafe fn transpose(rows: [__m256i; 6]) -> [__m256i; 8] {
        // SAFETY: the caller guarantees AVX2.
        let z = unsafe { _mm256_setzero_si256() };
        let [r0, r1, r2, r3, r4, r5] = rows;
        let mut r = [r0, r1, r2, r3, r4, r5, z, z];
        // SAFETY (all three loops): the caller guarantees AVX2.
        for i in 0..4 {
            unsafe { swap::<4>(&mut r, i, 0x0F) };
        }
        for i in [0, 1, 4, 5] {
            unsafe { swap::<2>(&mut r, i, 0x33) };
        }
        for i in [0, 2, 4, 6] {
            unsafe { swap::<1>(&mut r, i, 0x55) };
        }
        r
    }

    /// Rows 0..4 of [`transpose`] (planes 8..12 of the high bytes), for less work when
    /// the depth is at most 12.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[inline(always)]
    unsafe fn transpose4(rows: [__m256i; 6]) -> [__m256i; 4] {
        // SAFETY: the caller guarantees AVX2.
        unsafe {
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
    }

    /// The first `n` bytes of `v` to `block[off..]`.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[inline(always)]
    unsafe fn store(block: &mut [u8], off: usize, v: __m256i, n: usize) {
        if n == GROUP {
            let dst = &mut block[off..off + GROUP];
            // SAFETY: the caller guarantees AVX2; `dst` is 32 writable bytes and `storeu`
            // has no alignment requirement.
            unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast(), v) };
        } else {
            let mut tmp = [0u8; GROUP];
            // SAFETY: as above, into the 32 bytes of `tmp`.
            unsafe { _mm256_storeu_si256(tmp.as_mut_ptr().cast(), v) };
            block[off..off + n].copy_from_slice(&tmp[..n]);
        }
    }

    /// The planes of `n` positions starting at `p`.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[inline(always)]
    unsafe fn emit(
        (lo, hi): Wire,
        planes: usize,
        positions: usize,
        p: usize,
        n: usize,
        block: &mut [u8],
    ) {
        // SAFETY (every call below): the caller guarantees AVX2.
        let rows = unsafe { transpose(lo) };
        for (b, &row) in rows.iter().enumerate().take(planes) {
            unsafe { store(block, b * positions + p, row, n) };
        }
        if planes > 12 {
            let rows = unsafe { transpose(hi) };
            for (b, &row) in rows.iter().enumerate().take(planes - 8) {
                unsafe { store(block, (b + 8) * positions + p, row, n) };
            }
        } else if planes > 8 {
            let rows = unsafe { transpose4(hi) };
            for (b, &row) in rows.iter().enumerate().take(planes - 8) {
                unsafe { store(block, (b + 8) * positions + p, row, n) };
            }
        }
    }

    /// All planes of row address `a` into `block`.
    #[target_feature(enable = "avx2")]
    pub(super) fn address(port: &PortMap, q: &[u16], a: usize, block: &mut [u8]) {
        let positions = port.positions as usize;
        let planes = port.depth as usize;
        let slots = &port.slots[a * positions * 2..(a + 1) * positions * 2];
        let groups = positions / GROUP;
        let descriptors = address_runs(port, a, groups);
        let mut scratch = Channels::ZERO;
        // SAFETY (every helper call below): this function is compiled for AVX2 and only
        // called when the CPU has it.
        for g in 0..groups {
            let p = g * GROUP;
            let fast = match descriptors {
                Some(d) => unsafe { runs(q, d[g], port.order[p]) },
                None => None,
            };
            let ch = match fast {
                Some(ch) => ch,
                None => {
                    gather_slots(
                        q,
                        &slots[p * 2..(p + GROUP) * 2],
                        &port.order[p..p + GROUP],
                        GROUP,
                        &mut scratch,
                    );
                    unsafe { load(&scratch) }
                }
            };
            unsafe { emit(ch, planes, positions, p, GROUP, block) };
        }
        let p = groups * GROUP;
        if p < positions {
            let n = positions - p;
            gather_slots(q, &slots[p * 2..], &port.order[p..], n, &mut scratch);
            unsafe { emit(load(&scratch), planes, positions, p, n, block) };
        }
    }
}

/// The per-bit definition of the bit-plane format, straight from design §5. Slow; the
/// specification [`bitplanes`] is tested against.
pub fn reference_bitplanes(port: &PortMap, q: &[u16], out: &mut [u8]) {
    let positions = port.positions as usize;
    let planes = port.depth as usize;
    for a in 0..port.addresses as usize {
        for plane in 0..planes {
            for p in 0..positions {
                let slot = (a * positions + p) * 2;
                let v = gather(q, &port.slots[slot..], port.order[p]);
                let mut byte = 0u8;
                for (k, c) in v.iter().enumerate() {
                    byte |= (((c >> plane) & 1) as u8) << k;
                }
                out[(a * planes + plane) * positions + p] = byte;
            }
        }
    }
}

const STREAM_CHUNK: usize = 4096;

/// 8-bit pixel stream in wiring order.
pub fn rgb8(port: &PortMap, q: &[u16], out: &mut [u8]) {
    out.par_chunks_mut(STREAM_CHUNK * 3)
        .enumerate()
        .for_each(|(ci, chunk)| {
            let base = ci * STREAM_CHUNK;
            for (j, px) in chunk.chunks_exact_mut(3).enumerate() {
                let i = port.slots[base + j] as usize * 3;
                let o = port.order[base + j];
                for k in 0..3 {
                    px[k] = q[i + o[k] as usize] as u8;
                }
            }
        });
}

/// 16-bit big-endian pixel stream in wiring order.
pub fn rgb16(port: &PortMap, q: &[u16], out: &mut [u8]) {
    out.par_chunks_mut(STREAM_CHUNK * 6)
        .enumerate()
        .for_each(|(ci, chunk)| {
            let base = ci * STREAM_CHUNK;
            for (j, px) in chunk.chunks_exact_mut(6).enumerate() {
                let i = port.slots[base + j] as usize * 3;
                let o = port.order[base + j];
                for k in 0..3 {
                    px[2 * k..2 * k + 2].copy_from_slice(&q[i + o[k] as usize].to_be_bytes());
                }
            }
        });
}
