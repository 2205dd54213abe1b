//! Labels in the built-in 3x5 pixel font of [`crate::patterns`] (the one `pattern:grid`
//! uses), drawn at an integer size onto RGBA images. Letters show as capitals.

use crate::patterns::{FONT_H, glyph};
use image::{Rgba, RgbaImage};

/// Width and height in pixels of `text` drawn with `px`-pixel font pixels.
pub fn text_size(text: &str, px: u32) -> (u32, u32) {
    (crate::patterns::text_width(text) * px, FONT_H * px)
}

/// Draw `text` with its top-left corner at (`x`, `y`), each font pixel a `px` × `px`
/// square of `color`. Whatever falls outside the image is clipped.
pub fn draw_text(img: &mut RgbaImage, x: i64, y: i64, text: &str, color: [u8; 3], px: u32) {
    let px = px.max(1) as i64;
    let c = Rgba([color[0], color[1], color[2], 255]);
    for (i, ch) in text.chars().enumerate() {
        let gx = x + i as i64 * 4 * px;
        for (dy, row) in glyph(ch).iter().enumerate() {
            for dx in 0..3i64 {
                if row & (4 >> dx) != 0 {
                    fill_rect(img, gx + dx * px, y + dy as i64 * px, px, px, c);
                }
            }
        }
    }
}

/// The longest prefix of `text` (with `..` appended when cut) that is at most `width`
/// pixels wide at font size `px`.
pub fn fit_text(text: &str, width: u32, px: u32) -> String {
    if text_size(text, px).0 <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().collect();
    while !out.is_empty() {
        out.pop();
        let cut = format!("{out}..");
        if text_size(&cut, px).0 <= width {
            return cut;
        }
    }
    String::new()
}

/// Fill a rectangle, clipped to the image.
pub fn fill_rect(img: &mut RgbaImage, x: i64, y: i64, w: i64, h: i64, c: Rgba<u8>) {
    let (iw, ih) = (img.width() as i64, img.height() as i64);
    let (x0, y0) = (x.clamp(0, iw), y.clamp(0, ih));
    let (x1, y1) = ((x + w).clamp(0, iw), (y + h).clamp(0, ih));
    for yy in y0..y1 {
        for xx in x0..x1 {
            img.put_pixel(xx as u32, yy as u32, c);
        }
    }
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
    fn fit_text_cuts_with_dots() {
        assert_eq!(fit_text("ABC", 100, 1), "ABC");
        let cut = fit_text("ABCDEFGHIJ", 4 * 6 - 1, 1);
        assert_eq!(cut, "ABCD..");
        assert!(text_size(&cut, 1).0 <= 23);
    }
}
