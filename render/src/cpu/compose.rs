//! Stage 3, compose: background outside a layer's rect, and the weighted mix of layers
//! (crossfades) in linear light.

use super::simd::multiversion;
use super::{RUN, tile};
use crate::place::Rect;
use rayon::prelude::*;

/// Fill every pixel of `canvas` (packed RGB u16, `w` wide) outside `rect` with `bg`.
pub fn fill_outside(canvas: &mut [u16], w: u32, rect: Rect, bg: [u16; 3]) {
    let w = w as usize;
    let (x0, x1) = (rect.x as usize, (rect.x + rect.w) as usize);
    let rows = rect.y as usize..(rect.y + rect.h) as usize;
    if x0 == 0 && x1 == w && rows.start == 0 && rows.end * w * 3 >= canvas.len() {
        return; // the layer covers the canvas
    }
    canvas
        .par_chunks_mut(w * 3)
        .enumerate()
        .for_each(|(y, row)| {
            let fill = |px: &mut [u16]| px.chunks_exact_mut(3).for_each(|p| p.copy_from_slice(&bg));
            if rows.contains(&y) {
                fill(&mut row[..x0 * 3]);
                fill(&mut row[x1 * 3..]);
            } else {
                fill(row);
            }
        });
}

/// Fill the whole canvas with `bg`.
pub fn fill(canvas: &mut [u16], bg: [u16; 3]) {
    canvas.par_chunks_mut(3 * 1024).for_each(|chunk| {
        for px in chunk.chunks_exact_mut(3) {
            px.copy_from_slice(&bg);
        }
    });
}

/// `out = a · wa + b · wb + bg · (1 − wa − wb)`, per channel, rounded. `b` may be absent.
pub fn mix(out: &mut [u16], a: &[u16], wa: f32, b: Option<(&[u16], f32)>, bg: [u16; 3]) {
    let (b, wb) = b.unwrap_or((a, 0.0));
    let wbg = (1.0 - wa - wb).max(0.0);
    // [`RUN`] samples at a time, the background term unrolled per channel.
    let bg = tile(&bg.map(|c| c as f32 * wbg + 0.5));
    const CHUNK: usize = 3 * 4096;
    out.par_chunks_mut(CHUNK)
        .zip(a.par_chunks(CHUNK))
        .zip(b.par_chunks(CHUNK))
        .for_each(|((o, a), b)| mix_run(o, a, b, wa, wb, &bg));
}

multiversion! {
fn mix_run(o: &mut [u16], a: &[u16], b: &[u16], wa: f32, wb: f32, bg: &[f32; RUN]) {
    let mut oc = o.chunks_exact_mut(RUN);
    let mut ac = a.chunks_exact(RUN);
    let mut bc = b.chunks_exact(RUN);
    for ((o, a), b) in (&mut oc).zip(&mut ac).zip(&mut bc) {
        for j in 0..RUN {
            o[j] = super::to_u16(a[j] as f32 * wa + b[j] as f32 * wb + bg[j]);
        }
    }
    let rest = oc.into_remainder().iter_mut().zip(ac.remainder()).zip(bc.remainder());
    for (j, ((o, a), b)) in rest.enumerate() {
        *o = super::to_u16(*a as f32 * wa + *b as f32 * wb + bg[j]);
    }
}
}
