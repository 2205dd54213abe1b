//! Where a source lands on the canvas: the placement both backends compute the same way
//! (fit mode → source crop and destination rect), and the rectangle type they share.

use crate::frame::Fit;

/// A rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rect {
    /// Left.
    pub x: u32,
    /// Top.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

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
