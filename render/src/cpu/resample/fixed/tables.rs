//! The fixed-point path's tables, built once per placement: the horizontal weights
//! quantized to [`BITS`] fractional bits, the same weights laid out for the SIMD kernel
//! chosen ([`Kernel`]: pairs of pixels, four-pixel and five-pixel blocks), the vertical
//! weights, and the ring's geometry and pairing.

use super::{BITS, BLOCK, GROUP, SLACK};
use crate::cpu::bands::Bands;
use crate::cpu::resample::plan::Plan;
use crate::cpu::resample::vertical::{Pairing, pair_ring};
use crate::cpu::simd::{Avx2, Avx512, VnniVbmi};

/// The horizontal kernel the tables are laid out for, with the token that lets it run;
/// chosen through [`crate::cpu::simd`] when the tables are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kernel {
    /// Plain Rust, one output pixel at a time.
    Portable,
    /// AVX2: two output pixels a 256-bit register, `pmaddwd`.
    Avx2(Avx2),
    /// AVX-512 BW + VNNI, with VBMI byte permutes: four output pixels a register (or five
    /// pixels' RGB), `vpdpwssd`.
    Avx512(VnniVbmi),
}

impl Kernel {
    /// The fastest kernel the current level allows.
    pub(super) fn best() -> Kernel {
        if let Some(k) = Avx512::new().and_then(|t| t.vnni_vbmi()) {
            Kernel::Avx512(k)
        } else if let Some(k) = Avx2::new() {
            Kernel::Avx2(k)
        } else {
            Kernel::Portable
        }
    }

    /// Output pixels a SIMD register holds: 4, 2, or 0 (portable).
    pub(super) fn per(self) -> usize {
        match self {
            Kernel::Portable => 0,
            Kernel::Avx2(_) => 2,
            Kernel::Avx512(_) => 4,
        }
    }

    /// The AVX2 + FMA token the kernel's level implies (for the LUT after the vertical
    /// pass).
    pub(super) fn avx2(self) -> Option<Avx2> {
        match self {
            Kernel::Portable => None,
            Kernel::Avx2(t) => Some(t),
            Kernel::Avx512(t) => Some(t.avx512().avx2()),
        }
    }
}

/// The fixed-point tables of one placement.
#[derive(Debug)]
pub(super) struct Tables {
    /// The horizontal kernel the layouts below are for.
    pub(super) kernel: Kernel,
    /// Output pixels per row.
    pub(super) width: usize,
    /// [`GROUP`]-pixel steps per output pixel.
    pub(super) groups: usize,
    /// First source column (absolute) of each output pixel, padded to a multiple of
    /// [`BLOCK`]. A window that would run past the source's right edge starts further
    /// left, with zero weights in front, so every read stays inside the row.
    pub(super) start: Vec<u32>,
    /// `groups · GROUP` weights per output pixel (padded pixels included), `2^BITS` = 1.
    pub(super) weights: Vec<i16>,
    /// The same weights laid out for the SIMD kernels: per block of [`Kernel::per`] output
    /// pixels (2 for AVX2, 4 for AVX-512) and group, two vectors of i16 weight pairs (taps
    /// 0–1 and 2–3 of the group), one 128-bit lane per pixel, each pair repeated for the
    /// four channels. Empty for the portable kernel.
    pub(super) pairs: Vec<i32>,
    /// For the AVX-512 kernel: the leading blocks of five output pixels (taken four at a
    /// time, 20 pixels, so the four-pixel blocks after them line up) whose windows lie
    /// within 64 bytes and whose loads stay inside [`Tables::reads`]. Five pixels' RGB
    /// fill 15 of a register's 16 i32 lanes, where the four-pixel layout spends a lane per
    /// pixel on alpha: a fifth more output per instruction.
    pub(super) quint: Vec<Quint>,
    /// The weights of [`Tables::quint`]: per block and group, two vectors of 16 i32 lanes
    /// (lane `3p + c` holds pixel `p`'s weight pair for taps 0–1, then 2–3; lane 15 zero).
    pub(super) quint_pairs: Vec<i32>,
    /// For the AVX-512 kernel, the four-pixel blocks after [`Tables::quint`] (block
    /// `quint.len() · 5 / 4` on) whose four windows lie within 64 bytes, and whose 64-byte
    /// loads stay inside [`Tables::reads`]: one load serves all four pixels (a byte permute
    /// picks each lane's pixels out of it). The rest take four 16-byte loads a step.
    pub(super) rel: Vec<Block>,
    /// Bytes of a source row the kernels may read (`(max start + groups · GROUP) · 4`).
    pub(super) reads: usize,
    /// The first source pixel the kernels read (the least start): bytes of a row before
    /// `4 · first` are never read.
    pub(super) first: usize,
    /// Vertical weights scaled by `2^-BITS`, `v.taps` per output row.
    pub(super) v_weights: Vec<f32>,
    /// Rows in the ring (the vertical filter's taps, more when rows are paired).
    pub(super) ring: usize,
    /// How the vertical pass takes the output rows.
    pub(super) pairing: Pairing,
    /// Floats a ring row holds: the padded width's RGB plus [`SLACK`].
    pub(super) row_len: usize,
    pub(super) bands: Bands,
}

/// One load's worth of five output pixels' windows (see [`Tables::quint`]).
#[derive(Debug)]
pub(super) struct Quint {
    /// Byte offset in the source row of the leftmost window.
    pub(super) base: u32,
    /// The byte permutes that build taps 0–1 and 2–3 of every lane from the load.
    pub(super) idx: [[u8; 64]; 2],
}

/// One load's worth of four output pixels' windows (see [`Tables::rel`]).
#[derive(Debug)]
pub(super) struct Block {
    /// Byte offset in the source row of the leftmost window.
    pub(super) base: u32,
    /// Byte `b` of 128-bit lane `l`: 4 × the lane's window start less the leftmost's.
    pub(super) rel: [u8; 64],
}

impl Tables {
    /// The tables for `plan` over a source `sw` pixels wide, laid out for the fastest
    /// kernel the current level allows, output rows paired as `pairing` asks where the
    /// windows allow; `None` when a pixel's window (rounded up to whole groups) is wider
    /// than the source.
    pub(super) fn new(plan: &Plan, sw: u32, pairing: Pairing) -> Option<Tables> {
        let kernel = Kernel::best();
        let (h, v) = (&plan.tables.h, &plan.tables.v);
        let width = plan.tables.dst.w as usize;
        let groups = plan.tables.h_used.div_ceil(GROUP);
        let span = groups * GROUP;
        if span > sw as usize || width == 0 || plan.tables.dst.h == 0 {
            return None;
        }
        let padded = width.next_multiple_of(BLOCK);
        let mut start = Vec::with_capacity(padded);
        let mut weights = vec![0i16; padded * span];
        for ox in 0..width {
            let abs = (plan.tables.x0 + h.start[ox]) as usize;
            let from = abs.min(sw as usize - span);
            let shift = abs - from;
            let w = &h.weights[ox * h.taps..ox * h.taps + plan.tables.h_used];
            let used = w.iter().rposition(|x| *x != 0.0).map_or(1, |p| p + 1);
            // The table keeps windows inside the source (`abs + used ≤ sw`), so a window
            // moved `shift` to the left still ends inside this pixel's span.
            debug_assert!(shift + used <= span);
            let q = quantize(&w[..used]);
            weights[ox * span + shift..ox * span + shift + used].copy_from_slice(&q);
            start.push(from as u32);
        }
        // Padding pixels: zero weights over the last pixel's window.
        start.resize(padded, start[width - 1]);
        let reads = start.iter().map(|s| *s as usize + span).max().unwrap_or(0) * 4;
        let first = start.iter().min().map_or(0, |s| *s as usize);
        // Pixel `px`'s weights for taps `2 half` and `2 half + 1` of group `g`, as the i16
        // pair one i32 lane of `pmaddwd` / `vpdpwssd` multiplies.
        let pair = |px: usize, g: usize, half: usize| {
            let t = px * span + g * GROUP + half * 2;
            let (a, b) = (weights[t] as u16 as u32, weights[t + 1] as u16 as u32);
            (a | b << 16) as i32
        };
        let per = kernel.per();
        let mut pairs = Vec::with_capacity(padded * groups * 8);
        // Per block of `per` pixels (none for the portable kernel, `per` 0).
        for j in 0..padded.checked_div(per).unwrap_or(0) {
            for g in 0..groups {
                for half in 0..2 {
                    for px in j * per..(j + 1) * per {
                        pairs.extend_from_slice(&[pair(px, g, half); 4]);
                    }
                }
            }
        }
        let (mut quint, mut quint_pairs, mut rel) = (Vec::new(), Vec::new(), Vec::new());
        // Whether one 64-byte load at the leftmost of `lanes`' windows serves them all, in
        // every group: (its first pixel, each lane's offset from it) if so.
        // Windows need not start in order (a window's leading zero weights are trimmed), so
        // the load starts at the leftmost; every lane's pixels must be in it, and the last
        // group's load must end inside the bytes every row has.
        let one_load = |lanes: &[u32]| {
            let s0 = lanes.iter().min().map_or(0, |s| *s as usize);
            let off: Vec<usize> = lanes.iter().map(|s| *s as usize - s0).collect();
            let far = off.iter().max().map_or(0, |o| *o);
            let fits = far * 4 + GROUP * 4 <= 64 && s0 * 4 + (groups - 1) * GROUP * 4 + 64 <= reads;
            fits.then_some((s0, off))
        };
        if let Kernel::Avx512(_) = kernel {
            'runs: for run in 0..width / 20 {
                let mut blocks = Vec::with_capacity(4);
                for b in 0..4 {
                    let p0 = run * 20 + b * 5;
                    let Some((s0, off)) = one_load(&start[p0..p0 + 5]) else {
                        break 'runs;
                    };
                    // Byte 4L + 2e of lane L = 3p + c: channel c of pixel p's tap 2h + e
                    // (h: which half of the group); odd bytes are zeroed by the mask.
                    let idx = [0, 1].map(|h| {
                        std::array::from_fn(|byte| {
                            let (lane, e) = (byte / 4, byte % 4 / 2);
                            let (p, c) = (lane / 3, lane % 3);
                            if lane == 15 || byte % 2 == 1 {
                                0
                            } else {
                                ((off[p] + 2 * h + e) * 4 + c) as u8
                            }
                        })
                    });
                    blocks.push((
                        Quint {
                            base: s0 as u32 * 4,
                            idx,
                        },
                        p0,
                    ));
                }
                for (block, p0) in blocks {
                    quint.push(block);
                    for g in 0..groups {
                        for half in 0..2 {
                            quint_pairs.extend((0..15).map(|lane| pair(p0 + lane / 3, g, half)));
                            quint_pairs.push(0);
                        }
                    }
                }
            }
            for j in quint.len() * 5 / 4..padded / 4 {
                let Some((s0, off)) = one_load(&start[4 * j..4 * j + 4]) else {
                    break;
                };
                rel.push(Block {
                    base: s0 as u32 * 4,
                    rel: std::array::from_fn(|b| (off[b / 16] * 4) as u8),
                });
            }
        }
        let scale = 1.0 / (1u32 << BITS) as f32;
        let v_weights = v.weights.iter().map(|w| w * scale).collect();
        // Output rows go two at a time through the paired kernel where asked: the ring
        // then holds the union of two neighbouring windows.
        let (pairing, ring) = pair_ring(v, pairing);
        Some(Tables {
            kernel,
            width,
            groups,
            start,
            weights,
            pairs,
            quint,
            quint_pairs,
            rel,
            reads,
            first,
            v_weights,
            ring,
            pairing,
            row_len: padded * 3 + SLACK,
            bands: Bands::per_thread(plan.tables.dst.h as usize, &[]),
        })
    }
}

/// Round weights (summing to 1) to `BITS` fractional bits, summing to exactly `2^BITS`:
/// the rounding residue goes to the largest weight.
fn quantize(w: &[f32]) -> Vec<i16> {
    let one = (1i32 << BITS) as f32;
    let mut q: Vec<i32> = w.iter().map(|x| (x * one).round() as i32).collect();
    let residue = (1i32 << BITS) - q.iter().sum::<i32>();
    if let Some(big) = (0..q.len()).max_by_key(|&i| q[i].abs()) {
        q[big] += residue;
    }
    q.into_iter()
        .map(|x| x.clamp(i16::MIN as i32, i16::MAX as i32) as i16)
        .collect()
}
