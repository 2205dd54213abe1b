//! Stage 2, resample: a source rect onto a canvas rect (fit mode, filter), through
//! fast_image_resize.
//!
//! Convolution filters widen with the downscale ratio (an area-correct antialias), so 4K
//! content on a small wall does not alias; `nearest` is the one filter that samples.

use super::Rect;
use crate::error::RenderError;
use crate::frame::{Filter, Fit};
use fast_image_resize as fr;

/// Where a source lands on the canvas.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Source crop: left, top, width, height in source pixels (fractional for cover).
    pub crop: [f64; 4],
    /// Destination rect on the canvas.
    pub dst: Rect,
    /// The job is a 1:1 copy of the integer source rect at this origin: skip resampling.
    pub one_to_one: Option<(u32, u32)>,
}

/// Compute the placement of a `sw` × `sh` source on a `cw` × `ch` canvas.
pub fn place(fit: Fit, sw: u32, sh: u32, cw: u32, ch: u32) -> Placement {
    let (swf, shf, cwf, chf) = (sw as f64, sh as f64, cw as f64, ch as f64);
    let full = Rect {
        x: 0,
        y: 0,
        w: cw,
        h: ch,
    };
    let (crop, dst) = match fit {
        Fit::Stretch => ([0.0, 0.0, swf, shf], full),
        Fit::Contain => {
            let s = (cwf / swf).min(chf / shf);
            let w = ((swf * s).round() as u32).clamp(1, cw);
            let h = ((shf * s).round() as u32).clamp(1, ch);
            (
                [0.0, 0.0, swf, shf],
                Rect {
                    x: (cw - w) / 2,
                    y: (ch - h) / 2,
                    w,
                    h,
                },
            )
        }
        Fit::Cover => {
            let s = (cwf / swf).max(chf / shf);
            let (w, h) = ((cwf / s).min(swf), (chf / s).min(shf));
            ([(swf - w) / 2.0, (shf - h) / 2.0, w, h], full)
        }
        Fit::Center => {
            let (w, h) = (sw.min(cw), sh.min(ch));
            let (sx, sy) = ((sw - w) / 2, (sh - h) / 2);
            let (dx, dy) = ((cw - w) / 2, (ch - h) / 2);
            (
                [sx as f64, sy as f64, w as f64, h as f64],
                Rect { x: dx, y: dy, w, h },
            )
        }
    };
    let integral = crop.iter().all(|v| v.fract() == 0.0);
    let one_to_one = (integral && crop[2] as u32 == dst.w && crop[3] as u32 == dst.h)
        .then_some((crop[0] as u32, crop[1] as u32));
    Placement {
        crop,
        dst,
        one_to_one,
    }
}

/// fast_image_resize's algorithm for a filter.
pub fn algorithm(filter: Filter) -> fr::ResizeAlg {
    use fr::FilterType as F;
    match filter {
        Filter::Nearest => fr::ResizeAlg::Nearest,
        Filter::Bilinear => fr::ResizeAlg::Convolution(F::Bilinear),
        Filter::CatmullRom => fr::ResizeAlg::Convolution(F::CatmullRom),
        Filter::Lanczos3 => fr::ResizeAlg::Convolution(F::Lanczos3),
        Filter::Area => fr::ResizeAlg::Convolution(F::Box),
    }
}

/// Resample `src` (`sw` × `sh` pixels of type `P`, as bytes) cropped to `crop` into the
/// rect `dst` of `canvas` (`cw` × `ch`, same pixel type). Typed so that only the three pixel
/// types ledwall uses are compiled (U16x3 linear light, U8x4 / U16x4 code values).
#[allow(clippy::too_many_arguments)]
pub fn run<P: fr::PixelTrait>(
    resizer: &mut fr::Resizer,
    src: &[u8],
    sw: u32,
    sh: u32,
    crop: [f64; 4],
    canvas: &mut [u8],
    cw: u32,
    ch: u32,
    dst: Rect,
    filter: Filter,
) -> Result<(), RenderError> {
    let err = |e: &dyn std::fmt::Display| RenderError::Resample(e.to_string());
    let src = fr::images::TypedImageRef::<P>::from_buffer(sw, sh, src).map_err(|e| err(&e))?;
    let canvas = fr::images::TypedImage::<P>::from_buffer(cw, ch, canvas).map_err(|e| err(&e))?;
    let mut view = fr::images::TypedCroppedImageMut::new(canvas, dst.x, dst.y, dst.w, dst.h)
        .map_err(|e| err(&e))?;
    let options = fr::ResizeOptions::new()
        .resize_alg(algorithm(filter))
        .crop(crop[0], crop[1], crop[2], crop[3])
        .use_alpha(false);
    resizer
        .resize_typed(&src, &mut view, &options)
        .map_err(|e| err(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contain_letterboxes_and_centres() {
        let p = place(Fit::Contain, 1920, 1080, 128, 128);
        assert_eq!(
            p.dst,
            Rect {
                x: 0,
                y: 28,
                w: 128,
                h: 72
            }
        );
        assert_eq!(p.one_to_one, None);
    }

    #[test]
    fn cover_crops_the_source() {
        let p = place(Fit::Cover, 200, 100, 100, 100);
        assert_eq!(
            p.dst,
            Rect {
                x: 0,
                y: 0,
                w: 100,
                h: 100
            }
        );
        assert_eq!(p.crop, [50.0, 0.0, 100.0, 100.0]);
        assert_eq!(p.one_to_one, Some((50, 0)));
    }

    #[test]
    fn center_pads_or_crops_without_scaling() {
        let p = place(Fit::Center, 10, 300, 100, 100);
        assert_eq!(
            p.dst,
            Rect {
                x: 45,
                y: 0,
                w: 10,
                h: 100
            }
        );
        assert_eq!(p.one_to_one, Some((0, 100)));
    }

    #[test]
    fn same_size_is_one_to_one_for_every_fit() {
        for fit in Fit::ALL {
            assert_eq!(
                place(fit, 64, 32, 64, 32).one_to_one,
                Some((0, 0)),
                "{fit:?}"
            );
        }
    }
}
