//! From the emulated wall to a picture: nearest-neighbour upscaling, or the LED look.
//!
//! The **LED look** draws the wall the way it looks from the floor: every LED a round dot
//! (anti-aliased, [`DOT_FILL`] of the pixel pitch across) on the dark face of its module
//! ([`MASK`]), and a thin black seam ([`SEAM`]) along every module's edge, so the module
//! layout (and cabinets that do not line up) can be seen. Canvas pixels no module covers
//! are plain black.

use crate::patterns::ModuleBox;
use image::{Rgba, RgbaImage};
use ledwall_render::emulate::EmulatedWall;

/// The colour of a module's face between the LEDs.
pub const MASK: [u8; 3] = [22, 22, 22];
/// The colour of the seams between modules.
pub const SEAM: [u8; 3] = [0, 0, 0];
/// Where no module is.
pub const VOID: [u8; 3] = [0, 0, 0];
/// LED dot diameter as a fraction of the pixel pitch.
pub const DOT_FILL: f64 = 0.72;
/// The smallest scale at which the LED look shows dots with gaps between them.
pub const MIN_LED_SCALE: u32 = 3;

/// How preview frames are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    /// Output pixels per canvas pixel (nearest neighbour; the LED pitch with `led`).
    pub scale: u32,
    /// Draw round LEDs, gaps and module seams.
    pub led: bool,
}

impl Look {
    /// Size of a picture of a `width` × `height` canvas.
    pub fn size(&self, width: u32, height: u32) -> (u32, u32) {
        let s = self.scale.max(1);
        (width.saturating_mul(s), height.saturating_mul(s))
    }
}

/// Draws emulated walls with a [`Look`]; owns the dot mask of its scale.
#[derive(Debug, Clone)]
pub struct Painter {
    look: Look,
    modules: Vec<ModuleBox>,
    /// Dot coverage 0..=255 over one `scale` × `scale` cell.
    dot: Vec<u16>,
}

impl Painter {
    /// A painter for a wall with these `modules` (their canvas footprints).
    pub fn new(look: Look, modules: &[ModuleBox]) -> Painter {
        let s = look.scale.max(1) as usize;
        let look = Look {
            scale: s as u32,
            ..look
        };
        // Coverage by 4x4 supersampling of a disc centred on the cell.
        let r = DOT_FILL * s as f64 / 2.0;
        let c = s as f64 / 2.0;
        let mut dot = vec![0u16; s * s];
        for y in 0..s {
            for x in 0..s {
                let mut hits = 0u16;
                for sy in 0..4 {
                    for sx in 0..4 {
                        let px = x as f64 + (sx as f64 + 0.5) / 4.0 - c;
                        let py = y as f64 + (sy as f64 + 0.5) / 4.0 - c;
                        if px * px + py * py <= r * r {
                            hits += 1;
                        }
                    }
                }
                dot[y * s + x] = hits * 255 / 16;
            }
        }
        Painter {
            look,
            modules: modules.to_vec(),
            dot,
        }
    }

    /// The look.
    pub fn look(&self) -> Look {
        self.look
    }

    /// The picture of `wall` (sRGB, as `EmulatedWall::to_rgba8` shows it).
    pub fn paint(&self, wall: &EmulatedWall) -> RgbaImage {
        let rgba = wall.to_rgba8();
        if self.look.led {
            self.paint_led(wall, &rgba)
        } else {
            upscale(wall.width, wall.height, &rgba, self.look.scale)
        }
    }

    fn paint_led(&self, wall: &EmulatedWall, rgba: &[u8]) -> RgbaImage {
        let s = self.look.scale as usize;
        let (w, h) = (wall.width as usize, wall.height as usize);
        let mut out = vec![0u8; w * s * h * s * 4];
        let row_len = w * s * 4;
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                let covered = wall.depth.get(i).is_some_and(|&d| d > 0);
                let led = [rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2]];
                for dy in 0..s {
                    let o = (y * s + dy) * row_len + x * s * 4;
                    for dx in 0..s {
                        let px = if covered {
                            let a = self.dot[dy * s + dx];
                            [0, 1, 2].map(|k| {
                                ((led[k] as u16 * a + MASK[k] as u16 * (255 - a) + 127) / 255) as u8
                            })
                        } else {
                            VOID
                        };
                        out[o + dx * 4..o + dx * 4 + 4]
                            .copy_from_slice(&[px[0], px[1], px[2], 255]);
                    }
                }
            }
        }
        let mut img = RgbaImage::from_raw((w * s) as u32, (h * s) as u32, out)
            .unwrap_or_else(|| RgbaImage::new((w * s) as u32, (h * s) as u32));
        let seam = Rgba([SEAM[0], SEAM[1], SEAM[2], 255]);
        let t = seam_width(self.look.scale) as i64;
        let s = s as i64;
        for m in &self.modules {
            let (x0, y0) = (m.x * s, m.y * s);
            let (x1, y1) = ((m.x + m.width as i64) * s, (m.y + m.height as i64) * s);
            let (mw, mh) = (x1 - x0, y1 - y0);
            crate::preview::text::fill_rect(&mut img, x0, y0, mw, t, seam);
            crate::preview::text::fill_rect(&mut img, x0, y1 - t, mw, t, seam);
            crate::preview::text::fill_rect(&mut img, x0, y0, t, mh, seam);
            crate::preview::text::fill_rect(&mut img, x1 - t, y0, t, mh, seam);
        }
        img
    }
}

/// Width in output pixels of the seam each module draws along its edges (two modules side
/// by side make a seam twice as wide): 1, or 2 from a scale of 12.
pub fn seam_width(scale: u32) -> u32 {
    if scale >= 12 { 2 } else { 1 }
}

/// Nearest-neighbour upscale of an RGBA8 `width` × `height` image by `scale`.
pub fn upscale(width: u32, height: u32, rgba: &[u8], scale: u32) -> RgbaImage {
    let s = scale.max(1) as usize;
    let (w, h) = (width as usize, height as usize);
    let mut out = Vec::with_capacity(w * s * h * s * 4);
    for y in 0..h {
        let row = &rgba[y * w * 4..(y + 1) * w * 4];
        let start = out.len();
        for px in row.chunks_exact(4) {
            for _ in 0..s {
                out.extend_from_slice(px);
            }
        }
        for _ in 1..s {
            out.extend_from_within(start..start + w * s * 4);
        }
    }
    RgbaImage::from_raw((w * s) as u32, (h * s) as u32, out)
        .unwrap_or_else(|| RgbaImage::new((w * s) as u32, (h * s) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(w: u32, h: u32, code: u16) -> EmulatedWall {
        let n = (w * h) as usize;
        EmulatedWall {
            width: w,
            height: h,
            codes: vec![code; n * 3],
            depth: vec![8; n],
            encoded: vec![false; n],
            curve: (ledwall_render::wall::Transfer::Linear, 1.0),
        }
    }

    #[test]
    fn upscale_is_nearest() {
        let img = upscale(2, 1, &[10, 20, 30, 255, 40, 50, 60, 255], 3);
        assert_eq!((img.width(), img.height()), (6, 3));
        assert_eq!(img.get_pixel(2, 2).0, [10, 20, 30, 255]);
        assert_eq!(img.get_pixel(3, 0).0, [40, 50, 60, 255]);
    }

    #[test]
    fn led_dots_have_gaps_and_modules_have_seams() {
        let modules = [
            ModuleBox {
                port: "a".into(),
                chain: 0,
                x: 0,
                y: 0,
                width: 4,
                height: 2,
            },
            ModuleBox {
                port: "a".into(),
                chain: 1,
                x: 4,
                y: 0,
                width: 4,
                height: 2,
            },
        ];
        let p = Painter::new(
            Look {
                scale: 8,
                led: true,
            },
            &modules,
        );
        let img = p.paint(&wall(8, 2, 255));
        assert_eq!((img.width(), img.height()), (64, 16));
        // Dot centres are full white; cell corners inside a module are the mask.
        assert_eq!(img.get_pixel(8 + 4, 4).0, [255, 255, 255, 255]);
        assert_eq!(img.get_pixel(16, 8).0[..3], MASK);
        // Module edges are seams, all along.
        for y in 0..16 {
            assert_eq!(img.get_pixel(31, y).0[..3], SEAM, "y {y}");
            assert_eq!(img.get_pixel(32, y).0[..3], SEAM, "y {y}");
        }
    }
}
