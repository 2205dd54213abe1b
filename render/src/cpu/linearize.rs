//! Stage 1, linearize: code values → linear u16 through the transfer-curve LUT.
//!
//! Reads RGBA (alpha ignored: sources arrive composited), writes packed RGB u16.

use super::{Rect, Sample};
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
    rows.par_chunks_mut(dw).enumerate().for_each(|(row, out)| {
        let s = &src[(fy + row) * sw + fx * 4..][..w * 4];
        let o = &mut out[to.0 as usize * 3..][..w * 3];
        row_lut(s, lut, o);
    });
}

#[inline]
fn row_lut<T: Sample>(s: &[T], lut: &[u16], o: &mut [u16]) {
    for (px, out) in s.chunks_exact(4).zip(o.chunks_exact_mut(3)) {
        out[0] = lut[px[0].index()];
        out[1] = lut[px[1].index()];
        out[2] = lut[px[2].index()];
    }
}
