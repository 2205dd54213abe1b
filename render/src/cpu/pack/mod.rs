//! Stage 6, pack: gather quantized codes through a port's slot table into its buffer:
//! bit planes in scan order (design §5) or a pixel stream in wiring order (design §6).
//!
//! # Formats
//!
//! * Bit planes ([`bitplanes`]): `out[(a · planes + b) · positions + p]` is plane `b` of
//!   position `p` of row address `a`; bit k is wire channel k (R1 G1 B1 R2 G2 B2, after the
//!   colour order), bits 6 and 7 are zero. [`reference_bitplanes`] is the per-bit
//!   definition the kernels are held to.
//! * Pixel streams ([`rgb8`], [`rgb16`]): each position's three codes in wiring order, one
//!   byte each or two big-endian bytes each.
//!
//! # The bit-plane kernels
//!
//! A kernel works on groups of 32 shift positions of one row address, one byte lane per
//! position (32 lanes fill an AVX2 register):
//!
//! 1. Gather the group's six wire channels, each split into its low byte (planes 0..8) and
//!    high byte (planes 8..16): twelve rows of 32 bytes.
//!    [`Geometry::compile`](crate::Geometry::compile) precomputes, per address and group, a
//!    [`Run`](crate::geometry::Run) per line ([`PortMap::runs`]): when a line's slots are 32
//!    consecutive canvas pixels, forward or reversed (a module mounted upside down), or one
//!    pixel 32 times (background), and the group has one colour order, the line is read
//!    with contiguous loads. In the AVX2 kernel that is 12 16-byte loads and 18 `vpshufb`
//!    that deinterleave R, G, B and low/high bytes at once (reversal is folded into the load
//!    order and shuffle controls), and the colour order is applied by picking registers.
//!    Any other group (mixed colour orders, scattered mappers, partial last group) is
//!    gathered slot by slot, with lanes past the end zero.
//! 2. Transpose. Per position, the six channel bytes (plus two zero rows) are an 8x8 bit
//!    matrix whose transpose is the eight plane bytes (bit k = channel k). Three rounds of
//!    shift/xor/mask swaps across rows do it for all 32 positions at once. For the high
//!    bytes at depth ≤ 12 only the first four rows are computed.
//! 3. Store each plane row with one 32-byte store at `out[(a · planes + b) · positions + p]`
//!    (the partial last group goes through a stack buffer). Non-temporal stores and staging
//!    several groups before writing were both measured slower.
//!
//! On CPUs with AVX-512 VBMI and GFNI, groups whose two lines are forward or reversed runs
//! take a shorter route (`avx512.rs`): byte permutes build each position's six channel bytes
//! as one qword, one `gf2p8affineqb` transposes that 8x8 bit matrix, and two permute rounds
//! turn positions into plane rows; about 60 instructions a group instead of about 200
//! (measured: 4.9 → 2.9 ms for the eight ports of `hd.toml` on one Sapphire Rapids core).
//! The other groups go through the AVX2 code.
//!
//! Addresses run in parallel on rayon ([`bitplanes`]); inside the render bands, [`Fused`]
//! packs groups as soon as the canvas rows they read are complete.
//!
//! # Kernel choice
//!
//! `Kernel::new` picks the fastest kernel that the current [`simd::level`] allows, from the
//! tokens of [`simd`]: AVX-512 (with GFNI and VBMI), then AVX2, then portable. A kernel
//! variant holds its token, so it can only exist on a CPU with its features, and the token
//! is the safety argument of the `unsafe` call into the kernel's `#[target_feature]` code
//! (`Kernel::span`). [`bitplanes`] chooses on every call, so a cap set with
//! [`simd::set_cap`] (or [`simd::each_level`] in the tests) applies to the next call;
//! [`Fused`] chooses once, when it is planned. Every kernel gives the same bytes.
//!
//! # Files
//!
//! * `mod.rs`: these docs; the entry points [`port`] and [`bitplanes`]; [`Codes`], the
//!   kernels' view of the quantized buffer; the kernel choice (`Kernel`).
//! * `streams.rs`: the pixel-stream formats, [`rgb8`] and [`rgb16`].
//! * `bitplanes.rs`: the portable bit-plane kernel on `[u8; 32]` lanes (gather, transpose,
//!   emit), and the group and run helpers every kernel uses.
//! * `avx2.rs`: the AVX2 kernel (also the AVX-512 kernel's fallback for the groups that
//!   are not runs).
//! * `avx512.rs`: the AVX-512 VBMI + GFNI kernel for groups whose lines are runs.
//! * `fused.rs`: where the kernels write (`BlockOut`, `GroupOut`, `PortOut`), the pack
//!   fused into the render bands ([`Fused`]), and the one argument why bands on several
//!   threads may write one port buffer at once.
//! * `reference.rs`: [`reference_bitplanes`], the per-bit specification.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod bitplanes;
mod fused;
mod reference;
mod streams;

pub use fused::Fused;
pub(crate) use fused::PortOut;
pub use reference::reference_bitplanes;
pub use streams::{rgb8, rgb16};

// Used in code on x86-64 only; the docs link through it everywhere.
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_imports))]
use super::simd;
use crate::geometry::{PACK_GROUP, PortMap};
use crate::wall::OutputFormat;
use fused::BlockOut;
use rayon::prelude::*;
use std::ops::Range;

/// Positions packed together: 32 byte lanes fill one AVX2 register.
const GROUP: usize = PACK_GROUP;

/// Pack one port: `q` is the quantized canvas buffer (packed RGB codes of `port.depth`
/// bits, with the background and dark pixels), `out` the port's buffer.
pub fn port(port: &PortMap, q: &[u16], out: &mut [u8]) {
    match port.format {
        OutputFormat::Bitplanes => bitplanes(port, q, out),
        OutputFormat::Rgb8 | OutputFormat::Canvas => rgb8(port, q, out),
        OutputFormat::Rgb16 => rgb16(port, q, out),
    }
}

/// Bit planes: `out[(a · planes + plane) · positions + p]`, bit k = wire channel k, with
/// the fastest kernel the current [`simd::level`] allows (chosen on every call).
pub fn bitplanes(port: &PortMap, q: &[u16], out: &mut [u8]) {
    let kernel = Kernel::new();
    let q = Codes::whole(q);
    let (positions, planes) = (port.positions as usize, port.depth as usize);
    if planes * positions == 0 {
        return;
    }
    out.par_chunks_mut(planes * positions)
        .enumerate()
        .for_each(|(a, block)| {
            if let Some(block) = BlockOut::new(block, planes, positions) {
                // SAFETY: `block` is address `a`'s part of `out`, borrowed exclusively by
                // this closure call, and the kernel writes positions `0..positions` of its
                // rows only.
                unsafe { kernel.span(port, &q, a, 0..positions, block) }
            }
        });
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

/// A bit-plane kernel, chosen by [`Kernel::new`]. The x86-64 variants hold the token of
/// their features, so they exist only on a CPU that has them, at a level that allows them.
#[derive(Debug, Clone, Copy)]
enum Kernel {
    /// Plain Rust on `[u8; 32]` lanes (`bitplanes.rs`).
    Portable,
    /// AVX2 (`avx2.rs`).
    #[cfg(target_arch = "x86_64")]
    Avx2(simd::Avx2),
    /// AVX-512 BW + VBMI + GFNI (`avx512.rs`) for the groups whose lines are runs, the AVX2
    /// code for the others.
    #[cfg(target_arch = "x86_64")]
    Avx512(simd::GfniVbmi),
}

impl Kernel {
    /// The fastest kernel [`simd::level`] allows now.
    fn new() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(t) = simd::Avx512::new().and_then(simd::Avx512::gfni_vbmi) {
                return Kernel::Avx512(t);
            }
            // The token stands for AVX2 and FMA (`simd::Level::Avx2`); the kernel needs only
            // AVX2, but every CPU with AVX2 also has FMA, so asking for both loses none.
            if let Some(t) = simd::Avx2::new() {
                return Kernel::Avx2(t);
            }
        }
        Kernel::Portable
    }

    /// Pack positions `ps` of row address `a` of `port` from `q` into `out`, a group of
    /// [`GROUP`] at a time. `ps` starts on a group boundary.
    ///
    /// # Safety
    /// Positions `ps` of every plane row of `out` must be valid for writes, within a row,
    /// and accessed by nothing else meanwhile (see `fused.rs` for how the callers ensure
    /// it).
    #[inline(always)]
    unsafe fn span(self, port: &PortMap, q: &Codes<'_>, a: usize, ps: Range<usize>, out: BlockOut) {
        match self {
            // SAFETY: the token proves the CPU has the features `avx512::span` is compiled
            // for (`simd::GfniVbmi`: AVX-512 F/BW/VL/DQ, VBMI, GFNI, AVX2); the writes are
            // the caller's contract.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512(t) => unsafe { avx512::span(t, port, q, a, ps, out) },
            // SAFETY: the token proves the CPU has AVX2; the writes are the caller's
            // contract.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2(t) => unsafe { avx2::span(t, port, q, a, ps, out) },
            // SAFETY: the caller's contract.
            Kernel::Portable => unsafe { bitplanes::span(port, q, a, ps, out) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel follows the level at call time, one variant per level.
    #[test]
    fn kernel_follows_the_level() {
        simd::each_level(|level| {
            let k = Kernel::new();
            let name = match k {
                Kernel::Portable => "portable",
                #[cfg(target_arch = "x86_64")]
                Kernel::Avx2(_) => "avx2",
                #[cfg(target_arch = "x86_64")]
                Kernel::Avx512(_) => "avx512",
            };
            let gfni = simd::Avx512::new()
                .and_then(simd::Avx512::gfni_vbmi)
                .is_some();
            let want = match level {
                simd::Level::Avx512 if !gfni => "avx2",
                l => l.name(),
            };
            assert_eq!(name, want, "{level}");
        });
    }
}
