//! The portable bit-plane kernel ([`span`]): the three steps of the module docs (gather,
//! transpose, store) on `[u8; 32]` lanes, one byte per position of a group, which the
//! compiler vectorizes for the baseline target. It is the kernel on CPUs without AVX2.
//!
//! Also the helpers every kernel shares: the group iterators ([`groups`],
//! [`address_groups`]), the run descriptors' pixels ([`run_pixels`]), and the slot-by-slot
//! gather ([`gather`], [`gather_slots`]) that the AVX2 kernel uses for groups that are not
//! runs and [`reference_bitplanes`](super::reference_bitplanes) uses for every position.

use super::fused::{BlockOut, GroupOut};
use super::{Codes, GROUP};
use crate::geometry::{PortMap, Run};
use std::ops::Range;

/// One byte per position of a group: one AVX2 register.
type Lanes = [u8; GROUP];

/// The wire channels (R1 G1 B1 R2 G2 B2) of one position; zero for a slot outside `q`
/// (which a compiled geometry never has).
#[inline(always)]
pub(super) fn gather(q: &Codes<'_>, slots: &[u32], order: [u8; 3]) -> [u16; 6] {
    let px = |slot: u32| {
        q.get(slot as usize * 3, 3).map_or([0; 3], |p| {
            order.map(|c| p.get(usize::from(c)).copied().unwrap_or(0))
        })
    };
    let ([r1, g1, b1], [r2, g2, b2]) = (px(slots[0]), px(slots[1]));
    [r1, g1, b1, r2, g2, b2]
}

/// The six wire channels (R1 G1 B1 R2 G2 B2) of a group, split into their low bytes
/// (planes 0..8) and high bytes (planes 8..16).
pub(super) struct Channels {
    pub(super) lo: [Lanes; 6],
    pub(super) hi: [Lanes; 6],
}

impl Channels {
    pub(super) const ZERO: Channels = Channels {
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
pub(super) fn gather_slots(
    q: &Codes<'_>,
    slots: &[u32],
    order: &[[u8; 3]],
    n: usize,
    ch: &mut Channels,
) {
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
/// As for [`GroupOut::row`], for plane rows `0 .. planes`.
#[inline(always)]
unsafe fn emit(ch: &Channels, planes: usize, out: GroupOut) {
    let n = out.n;
    let lo = transpose(&ch.lo);
    for (b, row) in lo.iter().enumerate().take(planes) {
        // SAFETY: `b < planes`; the rest is the caller's contract.
        unsafe { out.row(b) }.copy_from_slice(&row[..n]);
    }
    if planes > 8 {
        let hi = if planes > 12 {
            transpose(&ch.hi)
        } else {
            transpose4(&ch.hi)
        };
        for (b, row) in hi.iter().enumerate().take(planes - 8) {
            // SAFETY: `b + 8 < planes`; the rest is the caller's contract.
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
pub(super) fn groups(ps: Range<usize>) -> impl Iterator<Item = (usize, usize)> {
    ps.clone()
        .step_by(GROUP)
        .map(move |p| (p, GROUP.min(ps.end - p)))
}

/// The groups of positions `ps` of address `a` ([`groups`]), each with its lines' run
/// descriptors when it is a whole group and the port's table has them.
#[inline(always)]
pub(super) fn address_groups(
    port: &PortMap,
    a: usize,
    ps: Range<usize>,
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
pub(super) fn run_pixels<'a>(q: &Codes<'a>, run: Run) -> Option<(&'a [u16; GROUP * 3], bool)> {
    let (first, reverse) = match run {
        Run::Forward(first) => (first as usize, false),
        Run::Reverse(last) => ((last as usize + 1).checked_sub(GROUP)?, true),
        Run::Same(_) | Run::Scattered => return None,
    };
    Some((q.get(first * 3, GROUP * 3)?.try_into().ok()?, reverse))
}

/// [`Kernel::span`](super::Kernel::span), portable.
///
/// # Safety
/// As for [`Kernel::span`](super::Kernel::span).
pub(super) unsafe fn span(
    port: &PortMap,
    q: &Codes<'_>,
    a: usize,
    ps: Range<usize>,
    out: BlockOut,
) {
    let positions = port.positions as usize;
    let mut ch = Channels::ZERO;
    for ((p, n), runs) in address_groups(port, a, ps) {
        let fast = runs.is_some_and(|r| gather_runs(q, r, port.order[p], &mut ch));
        if !fast {
            let slots = &port.slots[(a * positions + p) * 2..(a * positions + p + n) * 2];
            gather_slots(q, slots, &port.order[p..p + n], n, &mut ch);
        }
        // SAFETY: the group `(p, n)` lies in `ps`, whose positions of every plane row of
        // `out` the caller lends us.
        unsafe { emit(&ch, out.planes, out.group(p, n)) };
    }
}
