//! Stage 1, linearize: code values → linear u16 through the transfer-curve LUT.
//!
//! Reads RGBA (alpha ignored: sources arrive composited), writes packed RGB u16.

use super::Sample;
use crate::place::Rect;
use rayon::prelude::*;

/// Linearize `from` (a rect of an RGBA image `src_w` pixels wide) into `dst` (packed RGB,
/// `dst_w` pixels wide) with the rect's top-left at `to`. `lut` has 256 entries for u8
/// samples and 65536 for u16. Rows run in parallel.
pub fn rect<T: Sample>(
    src: &[T],
    src_w: u32,
    from: Rect,
    lut: &[u16],
    dst: &mut [u16],
    dst_w: u32,
    to: (u32, u32),
) {
    let (sw, dw) = (src_w as usize * 4, dst_w as usize * 3);
    let (fx, fy, w) = (from.x as usize, from.y as usize, from.w as usize);
    // Slice first: rayon's `skip` spawns a job (an allocation) to drop the skipped part.
    let rows = &mut dst[to.1 as usize * dw..(to.1 + from.h) as usize * dw];
    let kernel = Kernel::new(src, lut);
    rows.par_chunks_mut(dw).enumerate().for_each(|(row, out)| {
        let s = &src[(fy + row) * sw + fx * 4..][..w * 4];
        kernel.row(s, &mut out[to.0 as usize * 3..][..w * 3]);
    });
}

/// The LUT of one frame, ready for the fastest row kernel the CPU and sample type allow.
pub struct Kernel<'a> {
    lut: &'a [u16],
    #[cfg(target_arch = "x86_64")]
    split: Option<x86::Split>,
}

impl<'a> Kernel<'a> {
    /// Prepare `lut` for samples like `src`'s (only their type matters).
    pub fn new<T: Sample>(src: &[T], lut: &'a [u16]) -> Kernel<'a> {
        Kernel {
            lut,
            #[cfg(target_arch = "x86_64")]
            split: T::as_u8(src).and_then(|_| x86::Split::new(lut)),
        }
    }

    /// Linearize one row: `s` RGBA, `o` packed RGB of the same number of pixels.
    #[inline]
    pub fn row<T: Sample>(&self, s: &[T], o: &mut [u16]) {
        #[cfg(target_arch = "x86_64")]
        if let (Some(bytes), Some(split)) = (T::as_u8(s), &self.split) {
            let done = x86::row(split.vbmi(), bytes, split, o);
            row_lut(&s[done * 4..], self.lut, &mut o[done * 3..]);
            return;
        }
        row_lut(s, self.lut, o);
    }
}

#[inline]
fn row_lut<T: Sample>(s: &[T], lut: &[u16], o: &mut [u16]) {
    for (px, out) in s.chunks_exact(4).zip(o.chunks_exact_mut(3)) {
        out[0] = lut[px[0].index()];
        out[1] = lut[px[1].index()];
        out[2] = lut[px[2].index()];
    }
}

/// The 8-bit LUT with AVX-512 VBMI byte permutes: the 256-entry u16 table, split into its
/// low and high bytes, lives in eight registers, and `vpermi2b` looks up 64 samples at a
/// time (two permutes cover 128 entries each, the index's top bit picks between them).
/// Two more permutes put the low and high bytes of 16 pixels' R, G, B in output order,
/// dropping alpha. The scalar loop reads one table entry per sample.
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use crate::cpu::simd::{Avx512, Vbmi};
    use std::arch::x86_64::*;

    /// A 256-entry LUT split into low and high bytes, for [`row`] (and the fast-mode LUT of
    /// the fixed-point resampler).
    pub(crate) struct Split {
        lo: [u8; 256],
        hi: [u8; 256],
        /// The table exists only where its kernels run.
        vbmi: Vbmi,
    }

    impl Split {
        /// The split table, when `lut` is an 8-bit LUT and the level allows AVX-512 with
        /// VBMI ([`crate::cpu::simd`]).
        pub(crate) fn new(lut: &[u16]) -> Option<Split> {
            let vbmi = Avx512::new()?.vbmi()?;
            if lut.len() != 256 {
                return None;
            }
            let mut t = Split {
                lo: [0; 256],
                hi: [0; 256],
                vbmi,
            };
            for (i, v) in lut.iter().enumerate() {
                [t.lo[i], t.hi[i]] = v.to_le_bytes();
            }
            Some(t)
        }
    }

    impl Split {
        /// The proof that AVX-512 BW + VBMI kernels may run.
        pub(crate) fn vbmi(&self) -> Vbmi {
            self.vbmi
        }

        /// The low-byte and high-byte tables, 64 entries a register.
        #[target_feature(enable = "avx512f")]
        pub(crate) fn registers(&self) -> ([__m512i; 4], [__m512i; 4]) {
            // SAFETY: each load reads 64 bytes of a 256-byte table, at 0, 64, 128 or 192.
            let load =
                |b: &[u8; 256], at: usize| unsafe { _mm512_loadu_si512(b[at..].as_ptr().cast()) };
            (
                [0, 64, 128, 192].map(|at| load(&self.lo, at)),
                [0, 64, 128, 192].map(|at| load(&self.hi, at)),
            )
        }
    }

    /// Output byte `2j` (`2j + 1`) of 16 pixels is the low (high) byte of sample
    /// `4·(j / 3) + j % 3` (R, G, B of pixel j / 3); index bit 6 picks the high bytes.
    const fn order(part: usize) -> [u8; 64] {
        let mut idx = [0u8; 64];
        let mut b = 0;
        while b < 64 {
            let j = (part * 64 + b) / 2;
            let sample = (4 * (j / 3) + j % 3) % 64;
            idx[b] = (sample + 64 * (b % 2)) as u8;
            b += 1;
        }
        idx
    }
    const ORDER: [[u8; 64]; 2] = [order(0), order(1)];

    /// Linearize whole groups of 16 pixels of `s` (RGBA8) into `o` (RGB16); returns the
    /// pixels done (the caller does the rest).
    #[inline]
    pub(super) fn row(_: Vbmi, s: &[u8], t: &Split, o: &mut [u16]) -> usize {
        // SAFETY: the `Vbmi` token exists only where AVX-512 F + BW + VBMI run.
        unsafe { row_vbmi(s, t, o) }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    fn row_vbmi(s: &[u8], t: &Split, o: &mut [u16]) -> usize {
        let groups = (s.len() / 64).min(o.len() / 48);
        let ([lo0, lo1, lo2, lo3], [hi0, hi1, hi2, hi3]) = t.registers();
        // SAFETY: each `ORDER` row is 64 bytes, one unaligned 512-bit load.
        let first = unsafe { _mm512_loadu_si512(ORDER[0].as_ptr().cast()) };
        // SAFETY: as above.
        let second = unsafe { _mm512_loadu_si512(ORDER[1].as_ptr().cast()) };
        for (src, dst) in s.chunks_exact(64).zip(o.chunks_exact_mut(48)).take(groups) {
            // Ask for the source 2 KB ahead: rows of 4K video are not in cache, and the
            // hardware prefetcher alone leaves the permutes waiting.
            _mm_prefetch::<_MM_HINT_T0>(src.as_ptr().wrapping_add(2048).cast());
            // SAFETY: `src` holds 64 bytes.
            let x = unsafe { _mm512_loadu_si512(src.as_ptr().cast()) };
            let top = _mm512_movepi8_mask(x);
            let lo = _mm512_mask_blend_epi8(
                top,
                _mm512_permutex2var_epi8(lo0, x, lo1),
                _mm512_permutex2var_epi8(lo2, x, lo3),
            );
            let hi = _mm512_mask_blend_epi8(
                top,
                _mm512_permutex2var_epi8(hi0, x, hi1),
                _mm512_permutex2var_epi8(hi2, x, hi3),
            );
            let a = _mm512_permutex2var_epi8(lo, first, hi);
            let b = _mm512_permutex2var_epi8(lo, second, hi);
            // SAFETY: `dst` holds 48 u16 = 96 bytes: 64 from `a`, then 32 from `b`.
            unsafe {
                _mm512_storeu_si512(dst.as_mut_ptr().cast(), a);
                _mm256_storeu_si256(dst[32..].as_mut_ptr().cast(), _mm512_castsi512_si256(b));
            }
        }
        groups * 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kernel (AVX-512 groups of 16 pixels, the scalar tail, the u16 path) is the LUT
    /// read sample by sample, for widths around the group size and an offset rect.
    #[test]
    fn every_width_reads_the_lut_per_sample() {
        crate::cpu::simd::each_level(every_width_at);
    }

    fn every_width_at(level: crate::cpu::simd::Level) {
        let lut: Vec<u16> = (0..256u32)
            .map(|i| (i * 257) ^ 0x5a3c)
            .map(|v| v as u16)
            .collect();
        let lut16: Vec<u16> = (0..65536u32).map(|i| (i as u16).rotate_left(3)).collect();
        for w in [1u32, 15, 16, 17, 31, 32, 33, 64, 70] {
            let (sw, sh) = (w + 3, 5u32);
            let src: Vec<u8> = (0..sw * sh * 4).map(|i| (i * 37 + i / 7) as u8).collect();
            let src16: Vec<u16> = src.iter().map(|&v| u16::from(v) * 251).collect();
            let from = Rect {
                x: 2,
                y: 1,
                w,
                h: 3,
            };
            let (dw, to) = (w + 4, (1, 2));
            for deep in [false, true] {
                let mut dst = vec![0u16; (dw * 6 * 3) as usize];
                if deep {
                    rect(&src16, sw, from, &lut16, &mut dst, dw, to);
                } else {
                    rect(&src, sw, from, &lut, &mut dst, dw, to);
                }
                for y in 0..3 {
                    for x in 0..w {
                        for c in 0..3 {
                            let si = (((from.y + y) * sw + from.x + x) * 4 + c) as usize;
                            let want = if deep {
                                lut16[src16[si] as usize]
                            } else {
                                lut[src[si] as usize]
                            };
                            let di = (((to.1 + y) * dw + to.0 + x) * 3 + c) as usize;
                            assert_eq!(
                                dst[di], want,
                                "{level}: w {w} deep {deep} ({x}, {y}) c {c}"
                            );
                        }
                    }
                }
                // Nothing outside the rect was written.
                let written = (3 * w * 3) as usize;
                assert!(dst.iter().filter(|&&v| v != 0).count() <= written);
            }
        }
    }
}
