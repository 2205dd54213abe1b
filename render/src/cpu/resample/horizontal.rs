//! The horizontal pass of the float path: output pixel `ox` is
//! `Σ_k w[k] · sum[(start[ox] + k) · stride ..][..4]` over a row of vertical sums, one
//! four-lane multiply-add per tap (the pixel's RGB(A) lanes side by side), then rounded
//! to u16 or sent through the LUT ([`super::Output`]).
//!
//! This file holds the table view the pass reads ([`HTable`]), the kernel dispatch
//! ([`horizontal`]: the plan's AVX-512 blocks, then its AVX2 kernel, from `avx512.rs` and
//! `avx2.rs`) and the portable pass. Every kernel sums the even taps in one chain of FMAs
//! and the odd taps in another, added at the end, so all give the same bits.

use super::Output;
use super::lut::lut_row;
use super::plan::{Blocks, HSimd};
use crate::cpu::simd::Avx2;
use crate::filter::AxisTable;

/// The horizontal table as the pass reads it, with the plan's SIMD layouts and tokens.
pub(super) struct HTable<'a> {
    pub(super) start: &'a [u32],
    pub(super) weights: &'a [f32],
    pub(super) taps: usize,
    pub(super) used: usize,
    /// [`HSimd::avx2`].
    pub(super) avx2: Option<Avx2>,
    /// [`HSimd::pairs`].
    pub(super) pairs: &'a [f32],
    /// [`HSimd::blocks`].
    pub(super) blocks: Option<&'a Blocks>,
}

impl<'a> HTable<'a> {
    /// The plan's horizontal table: `h` and `used` (`Plan::h`, `Plan::h_used`) and their
    /// SIMD layouts.
    pub(super) fn new(h: &'a AxisTable, used: usize, simd: &'a HSimd) -> HTable<'a> {
        HTable {
            start: &h.start,
            weights: &h.weights,
            taps: h.taps,
            used,
            avx2: simd.avx2,
            pairs: &simd.pairs,
            blocks: simd.blocks.as_ref(),
        }
    }
}

/// One output row of the horizontal pass over the vertical sums `sum` (`stride` samples a
/// pixel, 3 or 4), with the kernels the plan was laid out for. `row` is scratch for the
/// filtered code values when a LUT follows.
pub(super) fn horizontal(
    out_px: &mut [u16],
    t: &HTable<'_>,
    sum: &[f32],
    stride: usize,
    out: Output<'_>,
    row: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if let Some(avx2) = t.avx2 {
        // Blocks of five output pixels first (AVX-512, linear output), then the AVX2
        // kernel from the pixel after them.
        let done = match (t.blocks, out) {
            (Some(b), Output::Linear) => super::avx512::blocks(b.avx512, out_px, b, t.used, sum),
            _ => 0,
        };
        super::avx2::horizontal(avx2, out_px, t, sum, stride, out, row, done);
        return;
    }
    match stride {
        4 => horizontal_row::<4>(out_px, t, sum, out, row),
        _ => horizontal_row::<3>(out_px, t, sum, out, row),
    }
}

/// The portable horizontal pass (what `avx2::horizontal` computes, as plain Rust), `S`
/// samples a pixel.
fn horizontal_row<const S: usize>(
    out_px: &mut [u16],
    t: &HTable<'_>,
    sum: &[f32],
    out: Output<'_>,
    row: &mut [f32],
) {
    match out {
        Output::Linear => {
            for (ox, px) in out_px.chunks_exact_mut(3).enumerate() {
                let a = pixel::<S>(t, sum, ox);
                px[0] = crate::cpu::to_u16(a[0] + 0.5);
                px[1] = crate::cpu::to_u16(a[1] + 0.5);
                px[2] = crate::cpu::to_u16(a[2] + 0.5);
            }
        }
        Output::Lut(lut) => {
            // The filtered code values first, then the LUT over the whole row in a loop of
            // its own.
            let row = &mut row[..out_px.len()];
            for (ox, v) in row.chunks_exact_mut(3).enumerate() {
                let a = pixel::<S>(t, sum, ox);
                v.copy_from_slice(&a[..3]);
            }
            lut_row(t.avx2, out_px, row, lut);
        }
    }
}

/// Output pixel `ox` of a horizontal pass: `Σ_k w[k] · sum[(start + k) · S ..][..4]`, the
/// even taps in one chain of FMAs and the odd ones in another, added at the end (the
/// kernels' order, so their bits).
#[inline(always)]
fn pixel<const S: usize>(t: &HTable<'_>, sum: &[f32], ox: usize) -> [f32; 4] {
    let s = t.start[ox] as usize * S;
    let w = &t.weights[ox * t.taps..ox * t.taps + t.used];
    // One bounds check for the whole window: taps `0..used` read `s .. s + (used-1)·S + 4`,
    // within `sum` by construction (`Plan::sum_len`).
    let window = &sum[s..s + (t.used - 1) * S + 4];
    let (mut a0, mut a1) = ([0f32; 4], [0f32; 4]);
    for (k, &wk) in w.iter().enumerate() {
        // SAFETY: `k < used`, so `k·S + 3 < (used − 1)·S + 4 = window.len()`.
        let x = unsafe { window.get_unchecked(k * S..k * S + 4) };
        let a = if k % 2 == 0 { &mut a0 } else { &mut a1 };
        for c in 0..4 {
            a[c] = wk.mul_add(x[c], a[c]);
        }
    }
    std::array::from_fn(|c| a0[c] + a1[c])
}
