//! Where a source lands on the canvas: the placement both backends compute the same way
//! (fit mode → source crop and destination rect), and the rectangle type they share.
//!
//! A wall whose canvas is a section of a larger show canvas (design §10, [`Section`]) places
//! every source on the show canvas and renders the part of the destination rect that falls
//! in its window ([`place_on`]): the [`Span`] says which part of the whole destination that
//! is, so the resample tables can be computed for the whole destination axis and sliced
//! (the same weights, to the bit, as the whole show's render uses for those pixels).

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

/// Where this wall's canvas lies on the show canvas (design §10): the canvas is the
/// `size` window at `origin` of a `show`-sized canvas. A wall without `show` is its own
/// show ([`Section::whole`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Section {
    /// Width and height of the show canvas.
    pub show: [u32; 2],
    /// Show-canvas position of the section's top-left pixel.
    pub origin: [u32; 2],
    /// Width and height of the section (the wall's canvas).
    pub size: [u32; 2],
}

impl Section {
    /// A canvas that is the whole show.
    pub fn whole(width: u32, height: u32) -> Section {
        Section {
            show: [width, height],
            origin: [0, 0],
            size: [width, height],
        }
    }

    /// Whether the canvas is the whole show.
    pub fn is_whole(&self) -> bool {
        self.origin == [0, 0] && self.size == self.show
    }
}

/// Which part of the whole destination rect (on the show canvas) a placement renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// Width and height of the whole destination rect on the show canvas: the length of
    /// the destination axes the resample tables are computed for.
    pub whole: [u32; 2],
    /// Output pixels of the whole rect left of and above the rendered part: the rendered
    /// part's first column and row in the whole rect.
    pub skip: [u32; 2],
}

impl Span {
    /// The whole of a `dst` rect.
    pub fn of(dst: Rect) -> Span {
        Span {
            whole: [dst.w, dst.h],
            skip: [0, 0],
        }
    }
}

/// Where a source lands on the canvas.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Source crop: left, top, width, height in source pixels (fractional for cover), of
    /// the whole placement on the show canvas.
    pub crop: [f64; 4],
    /// Destination rect on the canvas (the section's part of the whole rect, in canvas
    /// coordinates; empty, `w` or `h` 0, when the source lies outside the section).
    pub dst: Rect,
    /// The job is a 1:1 copy of the integer source rect at this origin: skip resampling.
    pub one_to_one: Option<(u32, u32)>,
    /// Which part of the whole destination `dst` is (all of it on a whole-show canvas).
    pub span: Span,
}

impl Placement {
    /// Whether nothing of the source lands on the canvas.
    pub fn is_empty(&self) -> bool {
        self.dst.w == 0 || self.dst.h == 0
    }
}

/// Compute the placement of a `sw` × `sh` source on the show canvas of `section` and the
/// part of it the section shows.
pub fn place_on(fit: Fit, sw: u32, sh: u32, section: &Section) -> Placement {
    let [w, h] = section.show;
    let whole = place(fit, sw, sh, w, h);
    if section.is_whole() {
        return whole;
    }
    let full = whole.dst;
    let [ox, oy] = section.origin;
    let [cw, ch] = section.size;
    let (x0, x1) = (full.x.max(ox), (full.x + full.w).min(ox + cw));
    let (y0, y1) = (full.y.max(oy), (full.y + full.h).min(oy + ch));
    if x1 <= x0 || y1 <= y0 {
        return Placement {
            dst: Rect::default(),
            one_to_one: None,
            span: Span {
                whole: [full.w, full.h],
                skip: [0, 0],
            },
            ..whole
        };
    }
    let skip = [x0 - full.x, y0 - full.y];
    Placement {
        crop: whole.crop,
        dst: Rect {
            x: x0 - ox,
            y: y0 - oy,
            w: x1 - x0,
            h: y1 - y0,
        },
        one_to_one: whole
            .one_to_one
            .map(|(sx, sy)| (sx + skip[0], sy + skip[1])),
        span: Span {
            whole: [full.w, full.h],
            skip,
        },
    }
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
        span: Span::of(dst),
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
    fn a_section_renders_its_window_of_the_show_placement() {
        // A 200x100 source contained in a 100x100 show: rows 25..75 of the show.
        let section = Section {
            show: [100, 100],
            origin: [30, 20],
            size: [40, 40],
        };
        let p = place_on(Fit::Contain, 200, 100, &section);
        let whole = place(Fit::Contain, 200, 100, 100, 100);
        assert_eq!(p.crop, whole.crop);
        assert_eq!(
            p.dst,
            Rect {
                x: 0,
                y: 5,
                w: 40,
                h: 35
            }
        );
        assert_eq!(
            p.span,
            Span {
                whole: [100, 50],
                skip: [30, 0]
            }
        );
        // 1:1 jobs start further into the source.
        let p = place_on(Fit::Center, 100, 100, &section);
        assert_eq!(p.one_to_one, Some((30, 20)));
        // A section in the letterbox shows none of the source.
        let letterbox = Section {
            origin: [0, 80],
            size: [100, 20],
            ..section
        };
        assert!(place_on(Fit::Contain, 200, 100, &letterbox).is_empty());
        // A whole-show section is the plain placement.
        assert_eq!(
            place_on(Fit::Cover, 200, 100, &Section::whole(64, 32)),
            place(Fit::Cover, 200, 100, 64, 32)
        );
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
