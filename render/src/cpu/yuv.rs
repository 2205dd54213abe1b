//! Y'CbCr sources on the CPU: rows converted as the stages read them ([`crate::yuv`] has
//! the maths and the siting). Linear-light consumers ([`Rows::linear`]: the 1:1 copy and
//! the linear-mode resampler's ring) convert a row [`CHUNK`] pixels at a time into R'G'B'A
//! codes on the stack and linearize those through the LUT kernel of RGBA sources (the
//! AVX-512 VBMI byte permutes for 8-bit codes): no frame-sized intermediate. The fast
//! (code-value) resampler takes R'G'B'A rows ([`Rows::rgba8`], [`Rows::rgba16`]), which its
//! fixed-point path asks for one source row at a time ([`Rgba8`]).
//!
//! # The kernel
//!
//! A step converts [`CHUNK`] pixels (an even number, starting on an even column: an even
//! and an odd column share their chroma) over fixed-size arrays, with no branches or
//! bounds checks inside, which the compiler vectorizes (compiled for AVX2 and AVX-512 as
//! well, through [`multiversion!`](crate::cpu::simd::multiversion)):
//!
//! 1. Chroma interpolated vertically (`3 · nearer + farther`, in quarters), then
//!    horizontally into eighths per pixel (even column: twice its own column; odd: the
//!    sum of the two beside it).
//! 2. The matrix. 8-bit codes in i32 fixed point with [`FRAC`] fractional bits: each
//!    coefficient is off by at most `2^-17`, so a code by at most `(255 + 1024) · 2^-17 ≈
//!    0.01` before rounding, within one code of the f64 conversion. 16-bit codes (10-bit
//!    layouts) in f32 (off by less than 0.01 of a code: 24-bit mantissas on values below
//!    2^17).
//!
//! Steps wholly inside an 8-bit picture (`yuv420p8`, `nv12_8`) read the planes' bytes
//! straight into both passes; the others (the right edge, where chroma columns are
//! clamped, and the 10-bit layouts) first gather their samples into a [`Chunk`] (`load`:
//! the one place that knows every layout, P010's high alignment included).
//!
//! Integer sums are exact in any order and the f32 maths has no fused operations, so every
//! level gives the same bytes.

use super::linearize::Kernel;
use super::resample::{LinearRows, Rgba8Rows};
use super::sample::to_u16;
use crate::cpu::simd::multiversion;
use crate::place::Rect;
use crate::yuv::{Coefficients, YuvImage, YuvLayout, YuvPlanes};
use rayon::prelude::*;

/// Pixels one step of the kernel converts (32 chroma columns).
pub(crate) const CHUNK: usize = 64;
/// Chroma columns a step reads: its own 32 and the next (the last odd pixel's right
/// neighbour).
const CCOLS: usize = CHUNK / 2 + 1;
/// Fractional bits of the 8-bit fixed-point matrix.
const FRAC: u32 = 16;

/// One step's input: luma samples, and chroma columns interpolated vertically (quarters).
#[derive(Clone, Copy)]
struct Chunk {
    l: [i32; CHUNK],
    u: [i32; CCOLS],
    v: [i32; CCOLS],
}

impl Chunk {
    const ZERO: Chunk = Chunk {
        l: [0; CHUNK],
        u: [0; CCOLS],
        v: [0; CCOLS],
    };
}

/// The 8-bit matrix in fixed point: `code = (ky·Y + rv·Cr8 + r0) >> FRAC` (Cr8, Cb8: chroma
/// in eighths), the offsets and the rounding half folded into `r0`, `g0`, `b0`.
#[derive(Debug, Clone, Copy)]
struct Fixed8 {
    ky: i32,
    rv: i32,
    gu: i32,
    gv: i32,
    bu: i32,
    r0: i32,
    g0: i32,
    b0: i32,
}

/// The 16-bit (10-bit layouts) matrix in f32: `ky` per luma value, the others per eighth of
/// a chroma value.
#[derive(Debug, Clone, Copy)]
struct Float16 {
    ky: f32,
    rv: f32,
    gu: f32,
    gv: f32,
    bu: f32,
    y_off: i32,
    c_off8: i32,
}

/// A Y'CbCr image prepared for conversion row by row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rows<'a> {
    img: YuvImage<'a>,
    w: usize,
    h: usize,
    fixed: Fixed8,
    float: Float16,
}

impl<'a> Rows<'a> {
    /// `img` (checked against `width` × `height`).
    pub(crate) fn new(img: &YuvImage<'a>, width: u32, height: u32) -> Rows<'a> {
        let c = Coefficients::codes(img);
        let (y_off, c_off8) = (c.y_off as i32, 8 * c.c_off as i32);
        // Fixed point for 8-bit codes only (16-bit ones would overflow i32).
        let one = if img.layout.is_deep() {
            0.0
        } else {
            f64::from(1u32 << FRAC)
        };
        let q = |k: f64| (k * one).round() as i32;
        let (ky, rv, gu, gv, bu) = (
            q(c.ky),
            q(c.rv / 8.0),
            q(c.gu / 8.0),
            q(c.gv / 8.0),
            q(c.bu / 8.0),
        );
        let half = 1 << (FRAC - 1);
        Rows {
            img: *img,
            w: width as usize,
            h: height as usize,
            fixed: Fixed8 {
                ky,
                rv,
                gu,
                gv,
                bu,
                r0: half - ky * y_off - rv * c_off8,
                g0: half - ky * y_off - (gu + gv) * c_off8,
                b0: half - ky * y_off - bu * c_off8,
            },
            float: Float16 {
                ky: c.ky as f32,
                rv: (c.rv / 8.0) as f32,
                gu: (c.gu / 8.0) as f32,
                gv: (c.gv / 8.0) as f32,
                bu: (c.bu / 8.0) as f32,
                y_off,
                c_off8,
            },
        }
    }

    /// Pixels `x0..x0 + n` of row `y` as RGBA8 codes (8-bit layouts), [`CHUNK`] at a time:
    /// `emit(codes, at)` gets output pixels `at..at + codes.len()`.
    #[inline(always)]
    fn steps8(&self, y: usize, x0: usize, n: usize, mut emit: impl FnMut(&[[u8; 4]], usize)) {
        let mut codes = [[0u8; 4]; CHUNK];
        let mut chunk = Chunk::ZERO;
        let k = &self.fixed;
        match (self.img.planes, self.img.layout) {
            (YuvPlanes::Bits8(p), YuvLayout::Nv12) => self.steps_of::<_, true>(p, y, x0, n, |s| {
                // Inside the picture: one fused step over fixed-size arrays.
                match (
                    s.whole(),
                    s.lines[0].get(s.c0 * 2..),
                    s.lines[1].get(s.c0 * 2..),
                ) {
                    (Some(l), Some(a), Some(b)) => match (a.first_chunk(), b.first_chunk()) {
                        (Some(a), Some(b)) => nv12_8(l, a, b, k, &mut codes),
                        _ => s.convert8::<true>(&mut chunk, k, &mut codes),
                    },
                    _ => s.convert8::<true>(&mut chunk, k, &mut codes),
                }
                emit(&codes[s.skip..s.skip + s.len], s.at);
            }),
            (YuvPlanes::Bits8(p), _) => self.steps_of::<_, false>(p, y, x0, n, |s| {
                let c = (*s.lines).map(|l| l.get(s.c0..).and_then(|l| l.first_chunk()));
                match (s.whole(), c) {
                    (Some(l), [Some(a), Some(b), Some(c), Some(d)]) => {
                        yuv420p8(l, [a, b, c, d], k, &mut codes)
                    }
                    _ => s.convert8::<false>(&mut chunk, k, &mut codes),
                }
                emit(&codes[s.skip..s.skip + s.len], s.at);
            }),
            // Not an 8-bit layout: nothing (callers check the depth).
            (YuvPlanes::Bits16(_), _) => {}
        }
    }

    /// [`Rows::steps8`] for the 10-bit layouts: RGBA16 codes.
    #[inline(always)]
    fn steps16(&self, y: usize, x0: usize, n: usize, mut emit: impl FnMut(&[[u16; 4]], usize)) {
        let mut codes = [[0u16; 4]; CHUNK];
        let mut chunk = Chunk::ZERO;
        let k = &self.float;
        match (self.img.planes, self.img.layout) {
            (YuvPlanes::Bits16(p), YuvLayout::P010) => self.steps_of::<_, true>(p, y, x0, n, |s| {
                load::<_, true>(&mut chunk, s, |v| i32::from(v >> 6));
                codes16(&chunk, k, &mut codes);
                emit(&codes[s.skip..s.skip + s.len], s.at);
            }),
            (YuvPlanes::Bits16(p), _) => self.steps_of::<_, false>(p, y, x0, n, |s| {
                load::<_, false>(&mut chunk, s, |v| i32::from(v.min(1023)));
                codes16(&chunk, k, &mut codes);
                emit(&codes[s.skip..s.skip + s.len], s.at);
            }),
            (YuvPlanes::Bits8(_), _) => {}
        }
    }

    /// Walk pixels `x0..x0 + n` of row `y` [`CHUNK`] at a time, from an even column.
    #[inline(always)]
    fn steps_of<S: Copy, const SEMI: bool>(
        &self,
        p: [&[S]; 3],
        y: usize,
        x0: usize,
        n: usize,
        mut step: impl FnMut(&Step<'_, S>),
    ) {
        let [s0, s1, s2] = self.img.strides;
        let (cw, ch) = (self.w.div_ceil(2), self.h.div_ceil(2));
        // Chroma rows: the nearer (weight 3/4) and the farther (1/4), clamped.
        let near = y / 2;
        let far = if y.is_multiple_of(2) {
            near.saturating_sub(1)
        } else {
            (near + 1).min(ch - 1)
        };
        let luma = &p[0][y * s0..][..self.w];
        let lines = if SEMI {
            let (a, b) = (&p[1][near * s1..][..2 * cw], &p[1][far * s1..][..2 * cw]);
            [a, b, a, b]
        } else {
            [
                &p[1][near * s1..][..cw],
                &p[1][far * s1..][..cw],
                &p[2][near * s2..][..cw],
                &p[2][far * s2..][..cw],
            ]
        };
        let end = x0 + n;
        let mut xs = x0 & !1;
        while xs < end {
            let skip = x0.saturating_sub(xs);
            let last = end.min(xs + CHUNK);
            step(&Step {
                luma: &luma[xs..xs + (self.w - xs).min(CHUNK)],
                lines: &lines,
                c0: xs / 2,
                cw,
                skip,
                at: xs + skip - x0,
                len: last - xs - skip,
            });
            xs += CHUNK;
        }
    }

    /// Pixels `x0..` of row `y` in linear light through `lut` (the LUT kernel of the code
    /// depth's LUT: 256 or 65536 entries), packed RGB into `out` (`out.len() / 3` pixels).
    #[inline]
    pub(crate) fn linear(&self, y: usize, x0: usize, lut: &Kernel<'_>, out: &mut [u16]) {
        let n = out.len() / 3;
        if self.deep() {
            self.steps16(y, x0, n, |codes, at| {
                lut.row(
                    codes.as_flattened(),
                    &mut out[at * 3..(at + codes.len()) * 3],
                );
            });
        } else {
            self.steps8(y, x0, n, |codes, at| {
                lut.row(
                    codes.as_flattened(),
                    &mut out[at * 3..(at + codes.len()) * 3],
                );
            });
        }
    }

    /// Row `y` as RGBA8 codes (alpha 255) into `out` (`out.len() / 4` pixels from 0).
    pub(crate) fn rgba8(&self, y: usize, out: &mut [u8]) {
        self.rgba8_from(y, 0, out);
    }

    /// Pixels `x0..` of row `y` as RGBA8 codes (alpha 255) into `out` (`out.len() / 4`
    /// pixels).
    pub(crate) fn rgba8_from(&self, y: usize, x0: usize, out: &mut [u8]) {
        self.steps8(y, x0, out.len() / 4, |codes, at| {
            out[at * 4..(at + codes.len()) * 4].copy_from_slice(codes.as_flattened());
        });
    }

    /// Row `y` as RGBA16 codes (alpha 65535) into `out`.
    pub(crate) fn rgba16(&self, y: usize, out: &mut [u16]) {
        self.steps16(y, 0, out.len() / 4, |codes, at| {
            out[at * 4..(at + codes.len()) * 4].copy_from_slice(codes.as_flattened());
        });
    }

    /// Whether the codes are 16-bit (10-bit layouts).
    pub(crate) fn deep(&self) -> bool {
        self.img.layout.is_deep()
    }
}

/// One step of a row: luma from an even column (up to [`CHUNK`] samples), the chroma
/// rows (nearer Cb, farther Cb, nearer Cr, farther Cr; each the interleaved CbCr row when
/// semi-planar) with the step's first chroma column `c0` of `cw`; its pixels
/// `skip..skip + len` are output pixels `at..at + len`.
struct Step<'a, S> {
    luma: &'a [S],
    lines: &'a [&'a [S]; 4],
    c0: usize,
    cw: usize,
    skip: usize,
    at: usize,
    len: usize,
}

impl<S: Copy> Step<'_, S> {
    /// The luma of a whole step.
    #[inline(always)]
    fn whole(&self) -> Option<&[S; CHUNK]> {
        self.luma.try_into().ok()
    }
}

impl Step<'_, u8> {
    /// The general step for 8-bit samples (the picture's right edge).
    #[inline(always)]
    fn convert8<const SEMI: bool>(&self, c: &mut Chunk, k: &Fixed8, out: &mut [[u8; 4]; CHUNK]) {
        load::<_, SEMI>(c, self, i32::from);
        codes8(c, k, out);
    }
}

/// Step 1 of the general step: the luma of `s` and its chroma columns `c0..c0 + CCOLS`
/// (clamped to the plane) into `c`. Luma past `s.luma.len()` keeps whatever it held
/// (those pixels are not used).
#[inline(always)]
fn load<S: Copy, const SEMI: bool>(c: &mut Chunk, s: &Step<'_, S>, get: impl Fn(S) -> i32) {
    for (d, v) in c.l.iter_mut().zip(s.luma) {
        *d = get(*v);
    }
    let [u0, u1, v0, v1] = *s.lines;
    let (k, vo) = if SEMI { (2, 1) } else { (1, 0) };
    for (i, (u, v)) in c.u.iter_mut().zip(c.v.iter_mut()).enumerate() {
        // Columns past the last repeat it.
        let at = (s.c0 + i).min(s.cw - 1) * k;
        *u = 3 * get(u0[at]) + get(u1[at]);
        *v = 3 * get(v0[at + vo]) + get(v1[at + vo]);
    }
}

multiversion! {
    /// A whole `yuv420p` step inside the picture: luma `l`, chroma columns `c0..c0 + CCOLS`
    /// of the nearer and farther Cb and Cr rows.
    fn yuv420p8(l: &[u8; CHUNK], c: [&[u8; CCOLS]; 4], k: &Fixed8, out: &mut [[u8; 4]; CHUNK]) {
        let u = spread8(|i| 3 * i32::from(c[0][i]) + i32::from(c[1][i]));
        let v = spread8(|i| 3 * i32::from(c[2][i]) + i32::from(c[3][i]));
        matrix8(&l.map(i32::from), &u, &v, k, out);
    }
}

multiversion! {
    /// A whole `nv12` step inside the picture: luma `l`, CbCr pairs `c0..c0 + CCOLS` of the
    /// nearer (`a`) and farther (`b`) rows.
    fn nv12_8(
        l: &[u8; CHUNK],
        a: &[u8; 2 * CCOLS],
        b: &[u8; 2 * CCOLS],
        k: &Fixed8,
        out: &mut [[u8; 4]; CHUNK],
    ) {
        let u = spread8(|i| 3 * i32::from(a[2 * i]) + i32::from(b[2 * i]));
        let v = spread8(|i| 3 * i32::from(a[2 * i + 1]) + i32::from(b[2 * i + 1]));
        matrix8(&l.map(i32::from), &u, &v, k, out);
    }
}

/// [`spread`] straight from the samples (`q(i)`: chroma column `i` in quarters), so that
/// no value is stored and read back shifted by a column (which stalls store forwarding).
#[inline(always)]
fn spread8(q: impl Fn(usize) -> i32) -> [i32; CHUNK] {
    let mut out = [0; CHUNK];
    for (i, pair) in out.chunks_exact_mut(2).enumerate() {
        let (a, b) = (q(i), q(i + 1));
        pair[0] = 2 * a;
        pair[1] = a + b;
    }
    out
}

/// Chroma of the step's pixels in eighths: even pixel `2i` twice column `i`, odd pixel
/// `2i + 1` columns `i` and `i + 1`.
#[inline(always)]
fn spread(q: &[i32; CCOLS]) -> [i32; CHUNK] {
    spread8(|i| q[i])
}

multiversion! {
    /// Step 2 for 8-bit codes: the fixed-point matrix, RGBA8 (alpha 255).
    fn codes8(c: &Chunk, k: &Fixed8, out: &mut [[u8; 4]; CHUNK]) {
        matrix8(&c.l, &spread(&c.u), &spread(&c.v), k, out);
    }
}

/// The fixed-point matrix over a step's luma and chroma (eighths): RGBA8 codes.
#[inline(always)]
fn matrix8(
    l: &[i32; CHUNK],
    u: &[i32; CHUNK],
    v: &[i32; CHUNK],
    k: &Fixed8,
    out: &mut [[u8; 4]; CHUNK],
) {
    for (((o, l), cb), cr) in out.iter_mut().zip(l).zip(u).zip(v) {
        let y = l * k.ky;
        let code = |x: i32| (x >> FRAC).clamp(0, 255) as u32;
        let r = code(y + k.rv * cr + k.r0);
        let g = code(y + k.gu * cb + k.gv * cr + k.g0);
        let b = code(y + k.bu * cb + k.b0);
        *o = (r | g << 8 | b << 16 | 0xff00_0000).to_le_bytes();
    }
}

multiversion! {
    /// Step 2 for 16-bit codes (10-bit layouts): the f32 matrix, RGBA16 (alpha 65535).
    fn codes16(c: &Chunk, k: &Float16, out: &mut [[u16; 4]; CHUNK]) {
        let (u, v) = (spread(&c.u), spread(&c.v));
        for (((o, l), cb), cr) in out.iter_mut().zip(&c.l).zip(&u).zip(&v) {
            let y = (l - k.y_off) as f32 * k.ky;
            let (cb, cr) = ((cb - k.c_off8) as f32, (cr - k.c_off8) as f32);
            let code = |x: f32| to_u16((x + 0.5).min(65535.0));
            *o = [
                code(y + k.rv * cr),
                code(y + k.gu * cb + k.gv * cr),
                code(y + k.bu * cb),
                65535,
            ];
        }
    }
}

/// The LUT kernel for `rows`' codes: `lut` has 256 entries for 8-bit layouts, 65536 for
/// 10-bit ones.
pub(crate) fn kernel<'a>(rows: &Rows<'_>, lut: &'a [u16]) -> Kernel<'a> {
    if rows.deep() {
        Kernel::new::<u16>(&[], lut)
    } else {
        Kernel::new::<u8>(&[], lut)
    }
}

/// The linear-mode resampler's rows: each converted straight to linear light.
pub(crate) struct Linear<'a> {
    rows: Rows<'a>,
    kernel: Kernel<'a>,
}

impl<'a> Linear<'a> {
    /// `rows` through `lut` (the LUT of their code depth: see [`kernel`]).
    pub(crate) fn new(rows: Rows<'a>, lut: &'a [u16]) -> Linear<'a> {
        let kernel = kernel(&rows, lut);
        Linear { rows, kernel }
    }
}

impl LinearRows for Linear<'_> {
    #[inline]
    fn row(&self, y: usize, x0: usize, out: &mut [u16]) {
        self.rows.linear(y, x0, &self.kernel, out);
    }
}

/// The fast mode's fixed-point resampler's rows ([`super::resample::run_rgba8_rows`]):
/// each converted to RGBA8 codes as its ring asks for it (8-bit layouts only).
pub(crate) struct Rgba8<'a>(pub(crate) Rows<'a>);

impl Rgba8Rows for Rgba8<'_> {
    const MAKES: bool = true;

    #[inline]
    fn row<'a>(&'a self, y: usize, first: usize, bytes: usize, buf: &'a mut [u8]) -> &'a [u8] {
        let buf = &mut buf[..bytes];
        self.0.rgba8_from(y, first, &mut buf[first * 4..]);
        buf
    }
}

/// [`super::linearize::rect`] for a Y'CbCr source: `from` into `dst` (packed RGB, `dst_w`
/// pixels wide) with its top-left at `to`. Rows run in parallel.
pub(crate) fn rect(
    rows: &Rows<'_>,
    from: Rect,
    lut: &[u16],
    dst: &mut [u16],
    dst_w: u32,
    to: (u32, u32),
) {
    let dw = dst_w as usize * 3;
    let (fx, fy, w) = (from.x as usize, from.y as usize, from.w as usize);
    let out = &mut dst[to.1 as usize * dw..(to.1 + from.h) as usize * dw];
    let kernel = kernel(rows, lut);
    out.par_chunks_mut(dw).enumerate().for_each(|(row, out)| {
        rows.linear(
            fy + row,
            fx,
            &kernel,
            &mut out[to.0 as usize * 3..][..w * 3],
        );
    });
}

/// The whole image as RGBA codes into `buf8` (8-bit layouts) or `buf16` (10-bit), each
/// sized to fit first (which allocates only when the size grows); rows in parallel. For the
/// passes that read whole source images (the fast mode's resamplers).
pub(crate) fn convert_all(rows: &Rows<'_>, buf8: &mut Vec<u8>, buf16: &mut Vec<u16>) {
    let len = rows.w * rows.h * 4;
    if rows.deep() {
        buf16.resize(len, 0);
        let buf = &mut buf16[..len];
        buf.par_chunks_mut(rows.w * 4)
            .enumerate()
            .for_each(|(y, out)| rows.rgba16(y, out));
    } else {
        buf8.resize(len, 0);
        let buf = &mut buf8[..len];
        buf.par_chunks_mut(rows.w * 4)
            .enumerate()
            .for_each(|(y, out)| rows.rgba8(y, out));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::simd::each_level;
    use crate::yuv::{YuvMatrix, YuvRange};

    /// Sample values of a picture in every layout's storage, with padded strides.
    struct Pic {
        p8: [Vec<u8>; 3],
        p16: [Vec<u16>; 3],
        strides: [usize; 3],
    }

    impl Pic {
        /// Pseudo-random samples of `layout`'s depth (P010: with junk in the low 6 bits;
        /// yuv420p10: some above 1023), with padded strides.
        fn new(layout: YuvLayout, w: usize, h: usize, seed: u32) -> Pic {
            let mut s = seed.wrapping_mul(0x9e37_79b9) | 1;
            let mut next = move || {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                s
            };
            let mask = (1u32 << layout.bits()) - 1;
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            let strides = if layout.semi_planar() {
                [w + 3, 2 * cw + 1, 0]
            } else {
                [w + 3, cw + 1, cw + 2]
            };
            let rows = [h, ch, ch];
            let planes: [Vec<u32>; 3] = std::array::from_fn(|p| {
                (0..strides[p] * rows[p])
                    .map(|_| match layout {
                        // High-aligned, junk in the low 6 bits.
                        YuvLayout::P010 => next() & 0xffff,
                        // Some above 1023 (clamped).
                        YuvLayout::Yuv420p10 => next() & 0x7ff,
                        _ => next() & mask,
                    })
                    .collect()
            });
            Pic {
                p8: planes.clone().map(|p| p.iter().map(|&v| v as u8).collect()),
                p16: planes.map(|p| p.iter().map(|&v| v as u16).collect()),
                strides,
            }
        }

        fn image(&self, layout: YuvLayout, m: YuvMatrix, r: YuvRange) -> YuvImage<'_> {
            let [a, b, c] = &self.p8;
            let [d, e, f] = &self.p16;
            let s = self.strides;
            match layout {
                YuvLayout::Yuv420p => YuvImage::yuv420p([a, b, c], s, m, r),
                YuvLayout::Nv12 => YuvImage::nv12(a, b, [s[0], s[1]], m, r),
                YuvLayout::Yuv420p10 => YuvImage::yuv420p10([d, e, f], s, m, r),
                YuvLayout::P010 => YuvImage::p010(d, e, [s[0], s[1]], m, r),
            }
        }
    }

    /// The conversion pixel by pixel, as the module docs describe it (the arithmetic of the
    /// kernel, without its chunks): RGBA codes of pixel `(x, y)`.
    fn pixel(rows: &Rows<'_>, x: usize, y: usize) -> [u16; 4] {
        let img = &rows.img;
        let (cw, ch) = (rows.w.div_ceil(2), rows.h.div_ceil(2));
        let s = img.strides;
        let value = |plane: usize, at: usize| -> i32 {
            match (img.planes, img.layout) {
                (YuvPlanes::Bits8(p), _) => i32::from(p[plane][at]),
                (YuvPlanes::Bits16(p), YuvLayout::P010) => i32::from(p[plane][at] >> 6),
                (YuvPlanes::Bits16(p), _) => i32::from(p[plane][at].min(1023)),
            }
        };
        // Chroma column `c` of chroma row `j`: (Cb, Cr).
        let chroma = |c: usize, j: usize| -> (i32, i32) {
            let c = c.min(cw - 1);
            if img.layout.semi_planar() {
                (value(1, j * s[1] + 2 * c), value(1, j * s[1] + 2 * c + 1))
            } else {
                (value(1, j * s[1] + c), value(2, j * s[2] + c))
            }
        };
        let near = y / 2;
        let far = if y.is_multiple_of(2) {
            near.saturating_sub(1)
        } else {
            (near + 1).min(ch - 1)
        };
        let quarters = |c: usize| {
            let (a, b) = (chroma(c, near), chroma(c, far));
            (3 * a.0 + b.0, 3 * a.1 + b.1)
        };
        let (c0, c1) = (quarters(x / 2), quarters(x / 2 + x % 2));
        let (cb, cr) = (c0.0 + c1.0, c0.1 + c1.1);
        let l = value(0, y * s[0] + x);
        if rows.deep() {
            let k = rows.float;
            let yy = (l - k.y_off) as f32 * k.ky;
            let (cb, cr) = ((cb - k.c_off8) as f32, (cr - k.c_off8) as f32);
            let code = |v: f32| to_u16((v + 0.5).min(65535.0));
            [
                code(yy + k.rv * cr),
                code(yy + k.gu * cb + k.gv * cr),
                code(yy + k.bu * cb),
                65535,
            ]
        } else {
            let k = rows.fixed;
            let code = |v: i32| (v >> FRAC).clamp(0, 255) as u16;
            [
                code(l * k.ky + k.rv * cr + k.r0),
                code(l * k.ky + k.gu * cb + k.gv * cr + k.g0),
                code(l * k.ky + k.bu * cb + k.b0),
                255,
            ]
        }
    }

    /// Every entry point (whole rows as RGBA8 / RGBA16, rows from any column as RGBA8 and
    /// through the LUT kernel) gives the per-pixel conversion's codes at every level, for
    /// every layout, widths around the chunk size (odd ones: the clamped last chroma
    /// column), and starting columns of both parities.
    #[test]
    fn chunks_give_the_per_pixel_conversion_at_every_level() {
        each_level(|level| {
            let lut8: Vec<u16> = (0..256u32).map(|i| ((i * 257) ^ 0x5a3c) as u16).collect();
            let lut16: Vec<u16> = (0..65536u32).map(|i| (i as u16).rotate_left(5)).collect();
            for layout in YuvLayout::ALL {
                for (m, r) in [
                    (YuvMatrix::Bt601, YuvRange::Limited),
                    (YuvMatrix::Bt709, YuvRange::Full),
                    (YuvMatrix::Bt2020, YuvRange::Limited),
                ] {
                    for w in [1, 2, 3, 63, 64, 65, 66, 67, 129, 200] {
                        let h = 5;
                        let pic = Pic::new(layout, w, h, w as u32 * 31 + layout.bits());
                        let img = pic.image(layout, m, r);
                        let rows = Rows::new(&img, w as u32, h as u32);
                        let lut = if rows.deep() { &lut16[..] } else { &lut8[..] };
                        let kernel = kernel(&rows, lut);
                        for y in 0..h {
                            let want: Vec<[u16; 4]> = (0..w).map(|x| pixel(&rows, x, y)).collect();
                            let at = |what: &str, x: usize| {
                                format!("{level} {layout:?} {m:?} {r:?} {w}x{h}: {what} ({x}, {y})")
                            };
                            // Whole rows.
                            if rows.deep() {
                                let mut out = vec![0u16; w * 4];
                                rows.rgba16(y, &mut out);
                                for (x, px) in out.chunks_exact(4).enumerate() {
                                    assert_eq!(px, want[x], "{}", at("rgba16", x));
                                }
                            } else {
                                let mut out = vec![0u8; w * 4];
                                rows.rgba8(y, &mut out);
                                for (x, px) in out.chunks_exact(4).enumerate() {
                                    let px = <[u8; 4]>::try_from(px).unwrap().map(u16::from);
                                    assert_eq!(px, want[x], "{}", at("rgba8", x));
                                }
                            }
                            // From any column, any length.
                            for x0 in [0, 1, 2, 5, 63, 64, 65].into_iter().filter(|&x| x < w) {
                                for n in [w - x0, (w - x0).min(3), (w - x0).min(66)] {
                                    let mut lin = vec![0u16; n * 3];
                                    rows.linear(y, x0, &kernel, &mut lin);
                                    for (i, px) in lin.chunks_exact(3).enumerate() {
                                        let p = want[x0 + i];
                                        let l = [0, 1, 2].map(|c| lut[usize::from(p[c])]);
                                        assert_eq!(px, l, "{} from {x0}", at("linear", x0 + i));
                                    }
                                    if !rows.deep() {
                                        let mut out = vec![0u8; n * 4];
                                        rows.rgba8_from(y, x0, &mut out);
                                        for (i, px) in out.chunks_exact(4).enumerate() {
                                            let px =
                                                <[u8; 4]>::try_from(px).unwrap().map(u16::from);
                                            let x = x0 + i;
                                            assert_eq!(px, want[x], "{} from {x0}", at("rgba8", x));
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        });
    }
}
