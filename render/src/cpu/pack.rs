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
//! On CPUs with AVX-512 VBMI and GFNI, groups whose two lines are forward or reversed runs
//! take a shorter route (see [`avx512`]): byte permutes build each position's six channel
//! bytes as one qword, one `gf2p8affineqb` transposes that 8x8 bit matrix, and two permute
//! rounds turn positions into plane rows; about 60 instructions a group instead of about
//! 200 (measured: 4.9 → 2.9 ms for the eight ports of `hd.toml` on one Sapphire Rapids
//! core). The other groups go through the AVX2 code.
//!
//! Addresses run in parallel on rayon. The kernels (`core::arch` intrinsics) are chosen at
//! run time. The portable kernel runs the same steps on `[u8; 32]` arrays (compiled for AVX2
//! and for the baseline) and is the fallback. The per-bit loop of design §5 is kept as
//! [`reference_bitplanes`], the specification both are tested against.

use super::bands::Bands;
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

/// Read access to a quantized canvas buffer's codes by sample index (pixel index · 3 +
/// channel): the whole buffer, or, inside a render band ([`Fused`]), the rows the band has
/// written so far plus the two extra pixels, which are written before the bands start.
#[derive(Debug, Clone, Copy)]
pub struct Codes<'a> {
    rows: &'a [u16],
    /// Sample index of `rows[0]`.
    first: usize,
    /// Sample index of the extra pixels (`usize::MAX`: `rows` holds them).
    extra_at: usize,
    extra: &'a [u16],
}

impl<'a> Codes<'a> {
    /// A whole quantized buffer.
    pub fn whole(q: &'a [u16]) -> Codes<'a> {
        Codes {
            rows: q,
            first: 0,
            extra_at: usize::MAX,
            extra: &[],
        }
    }

    /// Canvas rows starting at sample `first`, and the extra pixels (from sample
    /// `extra_at` on).
    pub fn band(rows: &'a [u16], first: usize, extra_at: usize, extra: &'a [u16]) -> Codes<'a> {
        Codes {
            rows,
            first,
            extra_at,
            extra,
        }
    }

    /// Samples `i .. i + n`, if this view has them.
    #[inline(always)]
    fn get(&self, i: usize, n: usize) -> Option<&'a [u16]> {
        if i >= self.extra_at {
            self.extra.get(i - self.extra_at..)?.get(..n)
        } else {
            self.rows.get(i.checked_sub(self.first)?..)?.get(..n)
        }
    }
}

/// The wire channels (R1 G1 B1 R2 G2 B2) of one position; zero for a slot outside `q`
/// (which a compiled geometry never has).
#[inline(always)]
fn gather(q: &Codes<'_>, slots: &[u32], order: [u8; 3]) -> [u16; 6] {
    let px = |slot: u32| {
        q.get(slot as usize * 3, 3).map_or([0; 3], |p| {
            order.map(|c| p.get(usize::from(c)).copied().unwrap_or(0))
        })
    };
    let ([r1, g1, b1], [r2, g2, b2]) = (px(slots[0]), px(slots[1]));
    [r1, g1, b1, r2, g2, b2]
}

/// An address block of a bit-plane buffer: `planes` rows of `positions` bytes at `base`.
/// Kernels write positions `p0 .. p1` of every row (see [`Kernel::span`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockOut {
    base: *mut u8,
    positions: usize,
    planes: usize,
}

impl BlockOut {
    /// `block`, if it holds `planes` rows of `positions` bytes.
    fn new(block: &mut [u8], planes: usize, positions: usize) -> Option<BlockOut> {
        (block.len() >= planes * positions).then_some(BlockOut {
            base: block.as_mut_ptr(),
            positions,
            planes,
        })
    }

    /// Address `a`'s block of a whole port buffer `out` (`ptr`, `len` bytes).
    ///
    /// # Safety
    /// `ptr` must be valid for writes of `len` bytes for as long as the result is used.
    pub(crate) unsafe fn in_port(
        ptr: *mut u8,
        len: usize,
        port: &PortMap,
        a: usize,
    ) -> Option<BlockOut> {
        let (positions, planes) = (port.positions as usize, port.depth as usize);
        let at = a.checked_mul(planes * positions)?;
        (at + planes * positions <= len).then(|| BlockOut {
            // SAFETY: `at` is within the buffer (checked just above).
            base: unsafe { ptr.add(at) },
            positions,
            planes,
        })
    }

    /// The plane rows of the `n` positions from `p`.
    #[inline(always)]
    fn group(self, p: usize, n: usize) -> GroupOut {
        GroupOut {
            // Not dereferenced here; `Kernel::span`'s callers keep `p + n` within a row.
            base: self.base.wrapping_add(p),
            stride: self.positions,
            n,
        }
    }
}

/// Where the plane rows of one group of positions go: plane `b`'s `n` bytes at
/// `base + b · stride`.
#[derive(Debug, Clone, Copy)]
struct GroupOut {
    base: *mut u8,
    stride: usize,
    n: usize,
}

impl GroupOut {
    /// Plane `b`'s bytes.
    ///
    /// # Safety
    /// The group must lie within a [`BlockOut`] that is valid for writes, `b` below its
    /// plane count, and no other reference to these bytes may be live.
    #[inline(always)]
    unsafe fn row<'a>(self, b: usize) -> &'a mut [u8] {
        // SAFETY: the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.base.add(b * self.stride), self.n) }
    }
}

/// Bit planes: `out[(a · planes + plane) · positions + p]`, bit k = wire channel k.
pub fn bitplanes(port: &PortMap, q: &[u16], out: &mut [u8]) {
    bitplanes_with(Kernel::new(), port, q, out);
}

/// [`bitplanes`] with the portable kernel, whatever the CPU has; for tests.
#[doc(hidden)]
pub fn portable_bitplanes(port: &PortMap, q: &[u16], out: &mut [u8]) {
    bitplanes_with(Kernel::Portable, port, q, out);
}

/// [`bitplanes`] with the AVX2 kernel where the CPU has AVX2, even if it has a faster one
/// (the portable kernel otherwise); for tests.
#[doc(hidden)]
pub fn avx2_bitplanes(port: &PortMap, q: &[u16], out: &mut [u8]) {
    bitplanes_with(Kernel::avx2(), port, q, out);
}

fn bitplanes_with(kernel: Kernel, port: &PortMap, q: &[u16], out: &mut [u8]) {
    let q = Codes::whole(q);
    let (positions, planes) = (port.positions as usize, port.depth as usize);
    each_address(port, out, |a, block| {
        if let Some(block) = BlockOut::new(block, planes, positions) {
            // SAFETY: `block` is this address's part of `out`, which only this call holds.
            unsafe { kernel.span(port, &q, a, 0..positions, block) }
        }
    });
}

/// The fastest bit-plane kernel the CPU has.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kernel {
    Portable,
    /// AVX2 ([`avx2`]).
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// AVX-512 BW + VBMI + GFNI ([`avx512`]), AVX2 for the groups it does not take.
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Kernel {
    pub(crate) fn new() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if avx512::available() {
                return Kernel::Avx512;
            }
            if std::is_x86_feature_detected!("avx2") {
                return Kernel::Avx2;
            }
        }
        Kernel::Portable
    }

    /// AVX2 where the CPU has it, even if it has AVX-512 (for tests).
    fn avx2() -> Kernel {
        match Kernel::new() {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => Kernel::Avx2,
            k => k,
        }
    }

    /// Pack positions `ps` of row address `a` of `port` from `q` into `out`, a group of
    /// [`GROUP`] at a time. `ps` starts on a group boundary.
    ///
    /// # Safety
    /// Positions `ps` of every plane row of `out` must be valid for writes, within a row,
    /// and accessed by nothing else meanwhile.
    #[inline(always)]
    pub(crate) unsafe fn span(
        self,
        port: &PortMap,
        q: &Codes<'_>,
        a: usize,
        ps: std::ops::Range<usize>,
        out: BlockOut,
    ) {
        match self {
            // SAFETY: the CPU has the kernel's features (detected in `new`); the rest is
            // the caller's.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { avx512::span(port, q, a, ps, out) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { avx2::span(port, q, a, ps, out) },
            // SAFETY: the caller's contract.
            Kernel::Portable => unsafe { span(port, q, a, ps, out) },
        }
    }
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
fn line_run(q: &Codes<'_>, run: Run, order: [u8; 3], line: usize, ch: &mut Channels) -> bool {
    // Canvas channels R, G, B, low and high bytes.
    let mut lo = [[0u8; GROUP]; 3];
    let mut hi = [[0u8; GROUP]; 3];
    if let Run::Same(pixel) = run {
        let Some(px) = q.get(pixel as usize * 3, 3) else {
            return false;
        };
        for c in 0..3 {
            lo[c] = [px[c] as u8; GROUP];
            hi[c] = [(px[c] >> 8) as u8; GROUP];
        }
    } else {
        let Some((px, reverse)) = run_pixels(q, run) else {
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
fn gather_runs(q: &Codes<'_>, runs: [Run; 2], order: [u8; 3], ch: &mut Channels) -> bool {
    line_run(q, runs[0], order, 0, ch) && line_run(q, runs[1], order, 1, ch)
}

/// Any `n ≤ GROUP` positions, slot by slot, into `ch`; lanes from `n` on are zero.
#[inline(always)]
fn gather_slots(q: &Codes<'_>, slots: &[u32], order: &[[u8; 3]], n: usize, ch: &mut Channels) {
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

/// Store the planes of a group.
///
/// # Safety
/// `out` must be valid for `planes` plane rows, and nothing else may access them.
#[inline(always)]
unsafe fn emit(ch: &Channels, planes: usize, out: GroupOut) {
    let n = out.n;
    let lo = transpose(&ch.lo);
    for (b, row) in lo.iter().enumerate().take(planes) {
        // SAFETY: the caller's contract.
        unsafe { out.row(b) }.copy_from_slice(&row[..n]);
    }
    if planes > 8 {
        let hi = if planes > 12 {
            transpose(&ch.hi)
        } else {
            transpose4(&ch.hi)
        };
        for (b, row) in hi.iter().enumerate().take(planes - 8) {
            // SAFETY: the caller's contract.
            unsafe { out.row(b + 8) }.copy_from_slice(&row[..n]);
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

/// The groups of positions `ps`: `(first position, positions)`.
#[inline(always)]
fn groups(ps: std::ops::Range<usize>) -> impl Iterator<Item = (usize, usize)> {
    ps.clone()
        .step_by(GROUP)
        .map(move |p| (p, GROUP.min(ps.end - p)))
}

/// The groups of positions `ps` of address `a` ([`groups`]), each with its lines' run
/// descriptors when it is a whole group and the port's table has them.
#[inline(always)]
fn address_groups(
    port: &PortMap,
    a: usize,
    ps: std::ops::Range<usize>,
) -> impl Iterator<Item = ((usize, usize), Option<[Run; 2]>)> {
    let runs = address_runs(port, a, port.positions as usize / GROUP);
    groups(ps).map(move |(p, n)| {
        let r = runs
            .filter(|_| n == GROUP)
            .and_then(|r| r.get(p / GROUP).copied());
        ((p, n), r)
    })
}

/// The 32 pixels (96 codes) of a line that is a forward or reversed run, and whether it is
/// reversed (position j = pixel 31 − j); `None` for other lines or codes `q` lacks.
#[inline(always)]
fn run_pixels<'a>(q: &Codes<'a>, run: Run) -> Option<(&'a [u16; GROUP * 3], bool)> {
    let (first, reverse) = match run {
        Run::Forward(first) => (first as usize, false),
        Run::Reverse(last) => ((last as usize + 1).checked_sub(GROUP)?, true),
        Run::Same(_) | Run::Scattered => return None,
    };
    Some((q.get(first * 3, GROUP * 3)?.try_into().ok()?, reverse))
}

/// [`Kernel::span`], portable.
///
/// # Safety
/// As for [`Kernel::span`].
unsafe fn span(port: &PortMap, q: &Codes<'_>, a: usize, ps: std::ops::Range<usize>, out: BlockOut) {
    let positions = port.positions as usize;
    let mut ch = Channels::ZERO;
    for ((p, n), runs) in address_groups(port, a, ps) {
        let fast = runs.is_some_and(|r| gather_runs(q, r, port.order[p], &mut ch));
        if !fast {
            let slots = &port.slots[(a * positions + p) * 2..(a * positions + p + n) * 2];
            gather_slots(q, slots, &port.order[p..p + n], n, &mut ch);
        }
        // SAFETY: the caller's contract.
        unsafe { emit(&ch, out.planes, out.group(p, n)) };
    }
}

/// The AVX2 kernel: the same steps as the portable one on `__m256i` registers, with the
/// run loads deinterleaved by byte shuffles. Everything is inlined into [`avx2::span`],
/// the one function compiled for AVX2 (and, through [`avx2::group`], into
/// [`avx512::span`]); the helpers are `unsafe` because they may only run there.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{
        BlockOut, Channels, Codes, GROUP, GroupOut, PortMap, Run, address_groups, gather_slots,
        run_pixels,
    };
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
    unsafe fn line(q: &Codes<'_>, run: Run) -> Option<Line> {
        if let Run::Same(pixel) = run {
            let px = q.get(pixel as usize * 3, 3)?;
            // SAFETY: the caller guarantees AVX2.
            let splat = |v: u16| unsafe { _mm256_set1_epi8(v as i8) };
            return Some((
                [splat(px[0]), splat(px[1]), splat(px[2])],
                [splat(px[0] >> 8), splat(px[1] >> 8), splat(px[2] >> 8)],
            ));
        }
        let (px, reverse) = run_pixels(q, run)?;
        // SAFETY: the caller guarantees AVX2.
        Some(unsafe { deinterleave(px, reverse) })
    }

    /// Wire channels of a group whose lines are both runs.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[inline(always)]
    unsafe fn runs(q: &Codes<'_>, runs: [Run; 2], order: [u8; 3]) -> Option<Wire> {
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

    /// The first `n` bytes of `v` to `dst` (`n` long).
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[inline(always)]
    unsafe fn store(dst: &mut [u8], v: __m256i) {
        if let Ok(dst) = <&mut [u8; GROUP]>::try_from(&mut *dst) {
            // SAFETY: the caller guarantees AVX2; `dst` is 32 writable bytes and `storeu`
            // has no alignment requirement.
            unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast(), v) };
        } else {
            let mut tmp = [0u8; GROUP];
            // SAFETY: as above, into the 32 bytes of `tmp`.
            unsafe { _mm256_storeu_si256(tmp.as_mut_ptr().cast(), v) };
            let n = dst.len().min(GROUP);
            dst[..n].copy_from_slice(&tmp[..n]);
        }
    }

    /// The planes of a group.
    ///
    /// # Safety
    /// The CPU must have AVX2; `out` must be valid for `planes` plane rows, and nothing
    /// else may access them.
    #[inline(always)]
    unsafe fn emit((lo, hi): Wire, planes: usize, out: GroupOut) {
        // SAFETY (every call below): the caller guarantees AVX2 and `out`.
        let rows = unsafe { transpose(lo) };
        for (b, &row) in rows.iter().enumerate().take(planes) {
            unsafe { store(out.row(b), row) };
        }
        if planes > 12 {
            let rows = unsafe { transpose(hi) };
            for (b, &row) in rows.iter().enumerate().take(planes - 8) {
                unsafe { store(out.row(b + 8), row) };
            }
        } else if planes > 8 {
            let rows = unsafe { transpose4(hi) };
            for (b, &row) in rows.iter().enumerate().take(planes - 8) {
                unsafe { store(out.row(b + 8), row) };
            }
        }
    }

    /// [`super::Kernel::span`] on AVX2.
    ///
    /// # Safety
    /// The CPU must have AVX2; the rest as for [`super::Kernel::span`].
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn span(
        port: &PortMap,
        q: &Codes<'_>,
        a: usize,
        ps: Range<usize>,
        out: BlockOut,
    ) {
        let mut scratch = Channels::ZERO;
        for (g, runs) in address_groups(port, a, ps) {
            // SAFETY: this function is compiled for AVX2 and only called when the CPU has
            // it; `out` is the caller's.
            unsafe { group(port, q, a, g, runs, &mut scratch, out) };
        }
    }

    /// The `n` positions from `p` of address `a`: contiguous loads where `runs` (the
    /// group's descriptors, if the table has them) allows, slot by slot otherwise.
    ///
    /// # Safety
    /// The CPU must have AVX2; `out` as for [`super::Kernel::span`].
    #[inline(always)]
    pub(super) unsafe fn group(
        port: &PortMap,
        q: &Codes<'_>,
        a: usize,
        (p, n): (usize, usize),
        runs: Option<[Run; 2]>,
        scratch: &mut Channels,
        out: BlockOut,
    ) {
        let positions = port.positions as usize;
        // SAFETY (every helper call below): the caller guarantees AVX2 and `out`.
        let fast = match runs {
            Some(r) if n == GROUP => unsafe { self::runs(q, r, port.order[p]) },
            _ => None,
        };
        let ch = match fast {
            Some(ch) => ch,
            None => {
                let slots = &port.slots[(a * positions + p) * 2..(a * positions + p + n) * 2];
                gather_slots(q, slots, &port.order[p..p + n], n, scratch);
                unsafe { load(scratch) }
            }
        };
        unsafe { emit(ch, out.planes, out.group(p, n)) };
    }
}

/// The AVX-512 kernel, for groups of 32 positions whose two lines are forward or reversed
/// runs (the rest go through [`avx2::group`]). Per eight positions:
///
/// 1. One masked 48-byte load per line (eight pixels of three u16 codes), and one
///    two-source byte permute (`vpermt2b`) per byte half that builds, per position, the
///    qword of its six wire channels, channel k in byte 7 − k (the colour order and the
///    reversal are in the permute's control, from a table).
/// 2. `gf2p8affineqb` with that qword as the matrix and byte b = `1 << b` as the vector
///    transposes each position's 8x8 bit matrix in one instruction: byte b of the result
///    is plane b, bit k = channel k.
/// 3. The four position-major registers of the group become plane rows of 32 bytes with
///    two more permute rounds (bytes, then qwords), two rows a register.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{
        BlockOut, Channels, Codes, GROUP, GroupOut, PortMap, Run, address_groups, run_pixels,
    };
    use core::arch::x86_64::*;
    use std::ops::Range;

    /// Whether the CPU runs this kernel (and the AVX2 one it falls back on).
    pub(super) fn available() -> bool {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vbmi")
            && std::is_x86_feature_detected!("gfni")
            && std::is_x86_feature_detected!("avx2")
    }

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

    /// [`super::Kernel::span`] on AVX-512.
    ///
    /// # Safety
    /// The CPU must have the features [`available`] checks; the rest as for
    /// [`super::Kernel::span`].
    #[target_feature(enable = "avx2,avx512f,avx512bw,avx512vbmi,gfni")]
    pub(super) unsafe fn span(
        port: &PortMap,
        q: &Codes<'_>,
        a: usize,
        ps: Range<usize>,
        out: BlockOut,
    ) {
        let mut scratch = Channels::ZERO;
        for ((p, n), runs) in address_groups(port, a, ps) {
            if let Some(r) = runs
                && let Some(lines) = lines(q, r)
                && let Some(order) = order_index(port.order[p])
            {
                // SAFETY: the CPU has the features (the caller's contract); `lines` are
                // 96 codes each; `out` is the caller's, with `n == GROUP`.
                unsafe { group(lines, order, out.planes, out.group(p, n)) };
            } else {
                // SAFETY: the CPU has AVX2 (checked with the rest); `out` is the caller's.
                unsafe { super::avx2::group(port, q, a, (p, n), runs, &mut scratch, out) };
            }
        }
    }

    /// The 32 pixels of each line of a group whose lines are forward or reversed runs,
    /// and whether each is reversed.
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

    /// One group of 32 positions from its two lines' pixels.
    ///
    /// # Safety
    /// The CPU must have the features [`available`] checks; `out` must be valid for
    /// `planes` rows of 32 bytes, accessed by nothing else.
    #[inline(always)]
    unsafe fn group(
        lines: [(&[u16; GROUP * 3], bool); 2],
        order: usize,
        planes: usize,
        out: GroupOut,
    ) {
        let [(l0, r0), (l1, r1)] = lines;
        let t = &INPUT[usize::from(r0) | usize::from(r1) << 1][order];
        // SAFETY: every load below reads 64 bytes of a static table or, masked to 48
        // bytes, eight pixels (48 bytes) at byte 48 · c ≤ 144 of a 192-byte line; masked
        // bytes are not read. The stores write `planes ≤ 16` rows of 32 bytes of `out`.
        unsafe {
            let (lo_ctl, hi_ctl) = (
                _mm512_loadu_si512(t[0].as_ptr().cast()),
                _mm512_loadu_si512(t[1].as_ptr().cast()),
            );
            let unit = _mm512_set1_epi64(0x8040_2010_0804_0201_u64 as i64);
            let eight = 0xFFFF_FFFF_FFFF_u64;
            let chunk = |line: &[u16; GROUP * 3], reverse: bool, c: usize| {
                let at = if reverse { 3 - c } else { c } * 48;
                _mm512_maskz_loadu_epi8(eight, line.as_ptr().cast::<u8>().add(at).cast())
            };
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
            rows(&lo, planes.min(8), out, 0);
            if planes > 8 {
                rows(&hi, planes - 8, out, 8);
            }
        }
    }

    /// Planes `0 .. n` of four position-major registers (positions 0..32) to plane rows
    /// `first ..` of `out`.
    ///
    /// # Safety
    /// As for [`group`].
    #[inline(always)]
    unsafe fn rows(z: &[__m512i; 4], n: usize, out: GroupOut, first: usize) {
        // SAFETY: the caller's contract; the control loads read 64-byte statics.
        unsafe {
            let pairs = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11);
            let next = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
            for (h, ctl) in PLANES.iter().enumerate().take(n.div_ceil(4)) {
                let ctl = _mm512_loadu_si512(ctl.as_ptr().cast());
                let a = _mm512_permutex2var_epi8(z[0], ctl, z[1]);
                let b = _mm512_permutex2var_epi8(z[2], ctl, z[3]);
                for (m, idx) in [pairs, next].into_iter().enumerate() {
                    let plane = 4 * h + 2 * m;
                    if plane >= n {
                        break;
                    }
                    let two = _mm512_permutex2var_epi64(a, idx, b);
                    store(out, first + plane, _mm512_castsi512_si256(two));
                    if plane + 1 < n {
                        store(out, first + plane + 1, _mm512_extracti64x4_epi64::<1>(two));
                    }
                }
            }
        }
    }

    /// Plane row `b` of a full group.
    ///
    /// # Safety
    /// As for [`group`], `b` below the plane count.
    #[inline(always)]
    unsafe fn store(out: GroupOut, b: usize, v: __m256i) {
        // SAFETY: the caller's contract; the row is 32 bytes (`out.n == GROUP`).
        unsafe { _mm256_storeu_si256(out.row(b).as_mut_ptr().cast(), v) };
    }
}

/// A port buffer the fused pack writes while the render bands run: its bytes, as a raw
/// pointer, because bands on different threads write disjoint parts of the same buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PortOut {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: a `PortOut` is only dereferenced through `Fused`, whose units write disjoint
// bytes (see `Fused::new`), while the frame that owns the buffer is mutably borrowed.
unsafe impl Send for PortOut {}
// SAFETY: as above.
unsafe impl Sync for PortOut {}

impl PortOut {
    /// The buffer of `bytes`. Valid while `bytes` is neither moved nor otherwise accessed.
    pub(crate) fn new(bytes: &mut [u8]) -> PortOut {
        PortOut {
            ptr: bytes.as_mut_ptr(),
            len: bytes.len(),
        }
    }
}

/// A run of groups of one address of one bit-plane port whose two lines read canvas rows
/// `lo ..= hi` only (plus the extra pixels).
#[derive(Debug, Clone, Copy)]
struct Unit {
    port: u32,
    a: u32,
    p0: u32,
    p1: u32,
    lo: u32,
    hi: u32,
}

/// Packing fused into the render bands (the direct paths): every bit-plane port's groups,
/// as [`Unit`]s of consecutive groups that read the same canvas rows. A unit whose rows
/// lie in one band is packed by that band right after it writes the unit's last row, while
/// the rows are still in cache; the others (rows in two bands) are packed after the bands,
/// from the whole buffer. Pixel-stream ports are packed after the frame as before.
///
/// Each unit covers its positions of every plane row of its address, and the units of a
/// port partition its positions, so no two units write the same byte: that is what lets
/// bands on different threads write one port buffer through [`PortOut`].
#[derive(Debug)]
pub struct Fused {
    /// The bands the units are sorted for; the render pass must use them.
    bands: Bands,
    /// Units inside one band, by last row.
    local: Vec<Unit>,
    /// `local[by_row[y] .. by_row[y + 1]]` end at canvas row `y`.
    by_row: Vec<u32>,
    /// Units that span two bands.
    rest: Vec<Unit>,
    /// Ports whose every byte the units cover (bit planes).
    covered: Vec<bool>,
    kernel: Kernel,
}

impl Fused {
    /// Plan the units of `geometry`'s bit-plane ports for `bands` bands (cut, within
    /// reach, where the fewest units span the cut).
    pub fn new(geometry: &crate::geometry::Geometry, bands: usize) -> Fused {
        let (w, h) = (geometry.width as usize, geometry.height as usize);
        let canvas = w * h;
        let mut units = Vec::new();
        for (pi, port) in geometry.ports.iter().enumerate() {
            if port.format != OutputFormat::Bitplanes {
                continue;
            }
            let positions = port.positions as usize;
            for a in 0..port.addresses as usize {
                let mut cur: Option<Unit> = None;
                for (p, n) in groups(0..positions) {
                    let slots = &port.slots[(a * positions + p) * 2..(a * positions + p + n) * 2];
                    let rows = slots
                        .iter()
                        .filter(|&&s| (s as usize) < canvas)
                        .map(|&s| s as usize / w);
                    let (lo, hi) = rows.fold((usize::MAX, 0), |(lo, hi), y| (lo.min(y), hi.max(y)));
                    let (lo, hi) = if lo > hi {
                        (0, 0)
                    } else {
                        (lo as u32, hi as u32)
                    };
                    match &mut cur {
                        Some(u) if u.lo == lo && u.hi == hi => u.p1 = (p + n) as u32,
                        _ => {
                            units.extend(cur.take());
                            cur = Some(Unit {
                                port: pi as u32,
                                a: a as u32,
                                p0: p as u32,
                                p1: (p + n) as u32,
                                lo,
                                hi,
                            });
                        }
                    }
                }
                units.extend(cur);
            }
        }
        // What cutting just before row y costs: the positions of units spanning it.
        let mut cost = vec![0i64; h + 1];
        for u in &units {
            if u.lo < u.hi {
                let n = i64::from(u.p1 - u.p0);
                cost[u.lo as usize + 1] += n;
                cost[u.hi as usize + 1] -= n;
            }
        }
        let mut run = 0i64;
        let cost: Vec<u32> = cost
            .iter()
            .map(|c| {
                run += c;
                run.clamp(0, i64::from(u32::MAX)) as u32
            })
            .collect();
        let bands = Bands::new(h, bands, &cost);
        let (mut local, rest): (Vec<Unit>, Vec<Unit>) = units
            .into_iter()
            .partition(|u| bands.of(u.lo as usize) == bands.of(u.hi as usize));
        local.sort_by_key(|u| u.hi);
        let by_row = (0..=h)
            .map(|y| local.partition_point(|u| (u.hi as usize) < y) as u32)
            .collect();
        let covered = geometry
            .ports
            .iter()
            .map(|p| p.format == OutputFormat::Bitplanes)
            .collect();
        Fused {
            bands,
            local,
            by_row,
            rest,
            covered,
            kernel: Kernel::new(),
        }
    }

    /// Units packed inside a band, and after the bands.
    pub fn units(&self) -> (usize, usize) {
        (self.local.len(), self.rest.len())
    }

    /// The bands the render pass must use.
    pub fn bands(&self) -> &Bands {
        &self.bands
    }

    /// Whether port `i`'s buffer is packed here (the caller packs the others).
    pub fn covers(&self, i: usize) -> bool {
        self.covered.get(i).copied().unwrap_or(false)
    }

    /// Pack the units that end at canvas row `y`, reading `q` (the band's rows so far).
    /// Returns whether there were any.
    ///
    /// # Safety
    /// `outs` must be the buffers of the geometry's ports, valid for writes and not
    /// otherwise accessed until the frame's units are all packed; each row's units are
    /// packed once per frame, by the band that owns the row.
    pub(crate) unsafe fn row(
        &self,
        y: usize,
        q: &Codes<'_>,
        ports: &[PortMap],
        outs: &[PortOut],
    ) -> bool {
        let (Some(&a), Some(&b)) = (self.by_row.get(y), self.by_row.get(y + 1)) else {
            return false;
        };
        for u in &self.local[a as usize..b as usize] {
            // SAFETY: the caller's contract; units write disjoint bytes.
            unsafe { self.unit(u, q, ports, outs) };
        }
        a < b
    }

    /// Pack the units that span two bands, from the whole quantized buffer `q`, in
    /// parallel.
    ///
    /// # Safety
    /// As for [`Fused::row`], after every band has finished.
    pub(crate) unsafe fn rest(&self, q: &[u16], ports: &[PortMap], outs: &[PortOut]) {
        let q = Codes::whole(q);
        self.rest.par_iter().for_each(|u| {
            // SAFETY: the caller's contract; units write disjoint bytes.
            unsafe { self.unit(u, &q, ports, outs) }
        });
    }

    /// # Safety
    /// As for [`Fused::row`].
    unsafe fn unit(&self, u: &Unit, q: &Codes<'_>, ports: &[PortMap], outs: &[PortOut]) {
        let (Some(port), Some(out)) = (ports.get(u.port as usize), outs.get(u.port as usize))
        else {
            return;
        };
        // SAFETY: `out` is valid for writes (the caller's contract).
        let Some(block) = (unsafe { BlockOut::in_port(out.ptr, out.len, port, u.a as usize) })
        else {
            return;
        };
        let ps = u.p0 as usize..(u.p1 as usize).min(port.positions as usize);
        // SAFETY: the unit's positions of this address block are written by this call
        // only (units are disjoint), and the block is within the buffer.
        unsafe { self.kernel.span(port, q, u.a as usize, ps, block) };
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
                let v = gather(&Codes::whole(q), &port.slots[slot..], port.order[p]);
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
