//! The LUT on the way out of `resample = "fast"`: filtered code values become linear light
//! through the transfer LUT, interpolated between the two codes around each value
//! ([`lut_lerp`]).
//!
//! This file holds the dispatch ([`lut_row`] for the float path, [`lut_out`] for the
//! fixed-point one, which puts the AVX-512 VBMI LUT first where the plan has its token) and
//! the portable code; the kernels are in `avx2.rs` (gathers, eight values a step) and
//! `avx512.rs` (`lut512`: the 8-bit LUT in registers, 64 values a step).
//!
//! The SIMD kernels interpolate with one fused multiply-add, `(b − a)·f + (a + ½)`; what is
//! left of a row after its last whole group of eight has always been interpolated unfused,
//! `a + (b − a)·f + ½`, and still is (the two can differ in the last bit, so changing
//! either would change bytes). The portable pass does the same, so every level gives the
//! same bytes.

use crate::cpu::simd::{Avx2, Vbmi};

/// Values a SIMD step of the LUT interpolates (the AVX2 kernel's; the AVX-512 one takes
/// eight such groups at a time). Each row's values up to its last whole group are
/// interpolated fused, the rest unfused.
const GROUP: usize = 8;

/// The LUT at a fractional code value, interpolated between the two codes around it.
/// Interpolating (rather than rounding to a code first) keeps the filter's sub-code
/// precision, and makes the result continuous in `v`: two backends whose sums differ in the
/// last float bit land within one linear step, not one whole code step, of each other.
#[inline(always)]
pub fn lut_lerp(lut: &[u16], v: f32) -> u16 {
    let mut out = [0u16];
    lut_row(None, &mut out, &[v], lut);
    out[0]
}

/// `out[i] = lut_lerp(lut, vals[i])` over a row: the AVX2 kernel with its token, else
/// the portable code.
pub(super) fn lut_row(avx2: Option<Avx2>, out: &mut [u16], vals: &[f32], lut: &[u16]) {
    if lut.len() < 2 {
        out.fill(lut.first().copied().unwrap_or(0));
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(avx2) = avx2 {
        let done = super::avx2::lut_row(avx2, out, vals, lut);
        lut_unfused(&mut out[done..], &vals[done..], lut);
        return;
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = avx2;
    let n = out.len().min(vals.len()) / GROUP * GROUP;
    lut_fused(&mut out[..n], &vals[..n], lut);
    lut_unfused(&mut out[n..], &vals[n..], lut);
}

/// The AVX-512 VBMI LUT's table ([`split`]); nothing off x86-64.
#[cfg(target_arch = "x86_64")]
pub(super) type LutSplit = crate::cpu::linearize::x86::Split;
/// The AVX-512 VBMI LUT's table ([`split`]); nothing off x86-64.
#[cfg(not(target_arch = "x86_64"))]
pub(super) type LutSplit = ();

/// The 8-bit `lut` split into low and high bytes for the AVX-512 VBMI kernel, when the
/// plan has that kernel's token (`vbmi`) and the level still allows it.
#[cfg(target_arch = "x86_64")]
pub(super) fn split(vbmi: Option<Vbmi>, lut: &[u16]) -> Option<LutSplit> {
    vbmi.and_then(|_| LutSplit::new(lut))
}
/// The 8-bit `lut` for the AVX-512 VBMI kernel: none off x86-64.
#[cfg(not(target_arch = "x86_64"))]
pub(super) fn split(_: Option<Vbmi>, _: &[u16]) -> Option<LutSplit> {
    None
}

/// The fixed-point path's LUT from a row of vertical sums to canvas codes: the AVX-512
/// VBMI kernel over whole groups of 64 where `split` has its table, then [`lut_row`] with
/// `avx2`.
pub(super) fn lut_out(
    out: &mut [u16],
    sum: &[f32],
    lut: &[u16],
    split: Option<&LutSplit>,
    avx2: Option<Avx2>,
) {
    #[cfg(target_arch = "x86_64")]
    let done = split.map_or(0, |split| {
        super::avx512::lut_row(split.vbmi(), out, sum, split)
    });
    #[cfg(not(target_arch = "x86_64"))]
    let done = {
        let _ = split;
        0
    };
    lut_row(avx2, &mut out[done..], &sum[done..], lut);
}

/// The portable interpolation of whole groups, fused like the SIMD kernels' (`mul_add` is
/// libm's `fmaf` in a baseline x86 build: the same bits). `lut.len() ≥ 2`.
fn lut_fused(out: &mut [u16], vals: &[f32], lut: &[u16]) {
    for (o, &v) in out.iter_mut().zip(vals) {
        let (a, b, f) = around(lut, v);
        *o = crate::cpu::to_u16((b - a).mul_add(f, a + 0.5));
    }
}

/// The interpolation of a row's values after its last whole group, unfused. `lut.len() ≥ 2`.
fn lut_unfused(out: &mut [u16], vals: &[f32], lut: &[u16]) {
    for (o, &v) in out.iter_mut().zip(vals) {
        let (a, b, f) = around(lut, v);
        *o = crate::cpu::to_u16(a + (b - a) * f + 0.5);
    }
}

/// The two entries around `v` and `v`'s fraction between them. `v` is clamped to
/// `0..=max`; the lower code index stops at `max − 1` so that `i + 1` is always in the
/// table (at `v = max` the fraction is 1 and the result is exactly `lut[max]`). NaN is 0.
/// `lut.len() ≥ 2`.
#[inline(always)]
fn around(lut: &[u16], v: f32) -> (f32, f32, f32) {
    let max = (lut.len() - 1) as f32;
    let v = v.max(0.0).min(max);
    let i = v.min(max - 1.0);
    // SAFETY: `i` is finite and within 0..=max − 1 (< 65535), which i32 represents.
    let i = unsafe { i.to_int_unchecked::<i32>() } as usize;
    let f = v - i as f32;
    // SAFETY: `i ≤ max − 1 = lut.len() − 2`, so `i` and `i + 1` are in bounds.
    let (a, b) = unsafe {
        (
            *lut.get_unchecked(i) as f32,
            *lut.get_unchecked(i + 1) as f32,
        )
    };
    (a, b, f)
}
