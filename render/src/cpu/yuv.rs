//! Y'CbCr sources on the CPU: rows converted as the stages read them ([`crate::yuv`] has
//! the maths and the siting). Linear-light consumers ([`Rows::linear`]: the 1:1 copy and
//! the linear-mode resampler's ring) go from planes to linear RGB in one pass, through the
//! LUT of the code depth, with no R'G'B' row in between; the fast (code-value) resampler
//! takes R'G'B'A rows ([`Rows::rgba8`], [`Rows::rgba16`]).
//!
//! Arithmetic: chroma is interpolated exactly (integer sums of eighths), the matrix in f32
//! on the offset-free sample values, then rounded to the code: within one code of the f64
//! conversion (the f32 error is below 0.01 of a 16-bit code).

use super::resample::LinearRows;
use super::sample::to_u16;
use crate::place::Rect;
use crate::yuv::{Coefficients, YuvImage, YuvLayout, YuvPlanes};
use rayon::prelude::*;

/// A Y'CbCr image prepared for conversion row by row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rows<'a> {
    img: YuvImage<'a>,
    w: usize,
    h: usize,
    /// `ky` per luma value; `rv, gu, gv, bu` per eighth of a chroma value (the sums of
    /// the interpolation weights are in eighths).
    k: [f32; 5],
    y_off: i32,
    /// Chroma offset in eighths.
    c_off8: i32,
    /// The largest code: 255 or 65535.
    max: f32,
}

impl<'a> Rows<'a> {
    /// `img` (checked against `width` × `height`).
    pub(crate) fn new(img: &YuvImage<'a>, width: u32, height: u32) -> Rows<'a> {
        let c = Coefficients::codes(img);
        Rows {
            img: *img,
            w: width as usize,
            h: height as usize,
            k: [
                c.ky as f32,
                (c.rv / 8.0) as f32,
                (c.gu / 8.0) as f32,
                (c.gv / 8.0) as f32,
                (c.bu / 8.0) as f32,
            ],
            y_off: c.y_off as i32,
            c_off8: 8 * c.c_off as i32,
            max: if img.layout.is_deep() { 65535.0 } else { 255.0 },
        }
    }

    /// Pixels `x0..x0 + n` of row `y` as R'G'B' codes: `put(i, [r, g, b])` for the `i`-th.
    #[inline(always)]
    fn row(&self, y: usize, x0: usize, n: usize, put: impl FnMut(usize, [u16; 3])) {
        match (self.img.planes, self.img.layout) {
            (YuvPlanes::Bits8(p), YuvLayout::Nv12) => {
                self.row_of::<_, true>(p, y, x0, n, put, i32::from)
            }
            (YuvPlanes::Bits8(p), _) => self.row_of::<_, false>(p, y, x0, n, put, i32::from),
            (YuvPlanes::Bits16(p), YuvLayout::P010) => {
                self.row_of::<_, true>(p, y, x0, n, put, |v| i32::from(v >> 6))
            }
            (YuvPlanes::Bits16(p), _) => {
                self.row_of::<_, false>(p, y, x0, n, put, |v| i32::from(v.min(1023)))
            }
        }
    }

    #[inline(always)]
    fn row_of<S: Copy, const SEMI: bool>(
        &self,
        p: [&[S]; 3],
        y: usize,
        x0: usize,
        n: usize,
        mut put: impl FnMut(usize, [u16; 3]),
        get: impl Fn(S) -> i32,
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
        let (step, c_len) = if SEMI { (2, 2 * cw) } else { (1, cw) };
        let (u0, u1) = (&p[1][near * s1..][..c_len], &p[1][far * s1..][..c_len]);
        let (v0, v1, vo) = if SEMI {
            (u0, u1, 1)
        } else {
            (&p[2][near * s2..][..cw], &p[2][far * s2..][..cw], 0)
        };
        // Chroma at column `c` interpolated vertically, in quarters.
        let cu = |c: usize| 3 * get(u0[c * step]) + get(u1[c * step]);
        let cv = |c: usize| 3 * get(v0[c * step + vo]) + get(v1[c * step + vo]);
        let [ky, rv, gu, gv, bu] = self.k;
        let max = self.max;
        let code = |x: f32| to_u16((x + 0.5).min(max));
        for (i, x) in (x0..x0 + n).enumerate() {
            let c = x / 2;
            // In eighths: an even column takes its chroma column, an odd one the mean of
            // the two beside it (the last clamped).
            let (u, v) = if x.is_multiple_of(2) {
                (2 * cu(c), 2 * cv(c))
            } else {
                let c1 = (c + 1).min(cw - 1);
                (cu(c) + cu(c1), cv(c) + cv(c1))
            };
            let yy = (get(luma[x]) - self.y_off) as f32 * ky;
            let (cb, cr) = ((u - self.c_off8) as f32, (v - self.c_off8) as f32);
            put(
                i,
                [
                    code(yy + rv * cr),
                    code(yy + gu * cb + gv * cr),
                    code(yy + bu * cb),
                ],
            );
        }
    }

    /// Pixels `x0..` of row `y` in linear light through `lut` (of the code depth: 256 or
    /// 65536 entries), packed RGB into `out` (`out.len() / 3` pixels).
    #[inline]
    pub(crate) fn linear(&self, y: usize, x0: usize, lut: &[u16], out: &mut [u16]) {
        let n = out.len() / 3;
        self.row(y, x0, n, |i, [r, g, b]| {
            let o = &mut out[i * 3..i * 3 + 3];
            o[0] = lut[usize::from(r)];
            o[1] = lut[usize::from(g)];
            o[2] = lut[usize::from(b)];
        });
    }

    /// Row `y` as RGBA8 codes (alpha 255) into `out` (`out.len() / 4` pixels from 0).
    pub(crate) fn rgba8(&self, y: usize, out: &mut [u8]) {
        let n = out.len() / 4;
        self.row(y, 0, n, |i, [r, g, b]| {
            out[i * 4..i * 4 + 4].copy_from_slice(&[r as u8, g as u8, b as u8, 255]);
        });
    }

    /// Row `y` as RGBA16 codes (alpha 65535) into `out`.
    pub(crate) fn rgba16(&self, y: usize, out: &mut [u16]) {
        let n = out.len() / 4;
        self.row(y, 0, n, |i, [r, g, b]| {
            out[i * 4..i * 4 + 4].copy_from_slice(&[r, g, b, 65535]);
        });
    }

    /// Whether the codes are 16-bit (10-bit layouts).
    pub(crate) fn deep(&self) -> bool {
        self.img.layout.is_deep()
    }
}

/// The linear-mode resampler's rows: each converted straight to linear light.
pub(crate) struct Linear<'a> {
    /// The image.
    pub(crate) rows: Rows<'a>,
    /// The LUT of its code depth.
    pub(crate) lut: &'a [u16],
}

impl LinearRows for Linear<'_> {
    #[inline]
    fn row(&self, y: usize, x0: usize, out: &mut [u16]) {
        self.rows.linear(y, x0, self.lut, out);
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
    out.par_chunks_mut(dw).enumerate().for_each(|(row, out)| {
        rows.linear(fy + row, fx, lut, &mut out[to.0 as usize * 3..][..w * 3]);
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
