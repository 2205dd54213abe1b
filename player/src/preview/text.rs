//! Labels and boxes on RGBA preview images (contact sheet, LED look): the image-typed face
//! of [`crate::font`], the built-in 3x5 pixel font that `pattern:grid` and the bench figure
//! also use, drawn at an integer size. Letters show as capitals.

use crate::font::Surface;
use image::{Rgba, RgbaImage};

pub use crate::font::{fit_text, text_size};

/// Draw `text` with its top-left corner at (`x`, `y`), each font pixel a `px` × `px`
/// square of opaque `color` ([`Surface::draw_text`]). Whatever falls outside the image is
/// clipped.
pub fn draw_text(img: &mut RgbaImage, x: i64, y: i64, text: &str, color: [u8; 3], px: u32) {
    let width = img.width();
    let c = [color[0], color[1], color[2], 255];
    Surface::new(img, width, 4).draw_text(x, y, text, px, &c);
}

/// Fill a rectangle, clipped to the image.
pub fn fill_rect(img: &mut RgbaImage, x: i64, y: i64, w: i64, h: i64, c: Rgba<u8>) {
    let width = img.width();
    Surface::new(img, width, 4).fill_rect(x, y, w, h, &c.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_scaled_glyphs_and_clips() {
        let mut img = RgbaImage::new(20, 12);
        draw_text(&mut img, 1, 1, "1", [255, 0, 0], 2);
        // "1" is [2, 6, 2, 2, 7]: the middle column is set on every row.
        for row in 0..5 {
            let p = img.get_pixel(3, 1 + 2 * row); // x = 1 + 2 · column 1
            assert_eq!(p.0, [255, 0, 0, 255], "row {row}");
        }
        // Top-left of "1" is off; bottom-left is on.
        assert_eq!(img.get_pixel(1, 1).0[3], 0);
        assert_eq!(img.get_pixel(1, 9).0, [255, 0, 0, 255]);
        // Clipped, no panic.
        draw_text(&mut img, 15, 8, "WWW", [255, 255, 255], 3);
        draw_text(&mut img, -30, -30, "W", [255, 255, 255], 3);
    }

    #[test]
    fn fill_rect_clips_to_the_image() {
        let mut img = RgbaImage::new(4, 3);
        fill_rect(&mut img, -1, 1, 3, 10, Rgba([1, 2, 3, 4]));
        assert_eq!(img.get_pixel(0, 2).0, [1, 2, 3, 4]);
        assert_eq!(img.get_pixel(1, 1).0, [1, 2, 3, 4]);
        assert_eq!(img.get_pixel(2, 1).0, [0; 4]);
        assert_eq!(img.get_pixel(0, 0).0, [0; 4]);
    }
}
