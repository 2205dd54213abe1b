//! The built-in 3x5 pixel font, in one place: its glyph table ([`glyph`]: A–Z, 0–9 and a
//! few signs; letters show as capitals), text measurement ([`text_size`], [`fit_text`]) and
//! the one routine that draws text into a pixel buffer ([`Surface::draw_text`]), each font
//! pixel a `px` × `px` square, clipped to the buffer.
//!
//! Its users: the labels of `pattern:grid` ([`crate::patterns`], RGBA canvas, 1 pixel), the
//! preview labels ([`crate::preview::text`], RGBA images, any size) and the `ledwall bench
//! --plot` figure ([`crate::commands::bench::plot`], RGB buffer, 2 pixels; plotters' own
//! text would need system font libraries).

/// Glyph height in font pixels.
pub const FONT_H: u32 = 5;

/// Horizontal step from one glyph to the next, in font pixels: 3 for the glyph, 1 gap.
const ADVANCE: u32 = 4;

/// A 3x5 glyph: five rows, top first; in each, bit 2 is the left column. Letters are drawn
/// as capitals; a character without a glyph shows as `?`.
pub fn glyph(ch: char) -> [u8; 5] {
    match ch.to_ascii_uppercase() {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 1, 1],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        'A' => [2, 5, 7, 5, 5],
        'B' => [6, 5, 6, 5, 6],
        'C' => [3, 4, 4, 4, 3],
        'D' => [6, 5, 5, 5, 6],
        'E' => [7, 4, 6, 4, 7],
        'F' => [7, 4, 6, 4, 4],
        'G' => [3, 4, 5, 5, 3],
        'H' => [5, 5, 7, 5, 5],
        'I' => [7, 2, 2, 2, 7],
        'J' => [1, 1, 1, 5, 2],
        'K' => [5, 5, 6, 5, 5],
        'L' => [4, 4, 4, 4, 7],
        'M' => [5, 7, 7, 5, 5],
        'N' => [6, 5, 5, 5, 5],
        'O' => [2, 5, 5, 5, 2],
        'P' => [6, 5, 6, 4, 4],
        'Q' => [2, 5, 5, 6, 3],
        'R' => [6, 5, 6, 5, 5],
        'S' => [3, 4, 2, 1, 6],
        'T' => [7, 2, 2, 2, 2],
        'U' => [5, 5, 5, 5, 7],
        'V' => [5, 5, 5, 5, 2],
        'W' => [5, 5, 7, 7, 5],
        'X' => [5, 5, 2, 5, 5],
        'Y' => [5, 5, 2, 2, 2],
        'Z' => [7, 1, 2, 4, 7],
        '-' => [0, 0, 7, 0, 0],
        '_' => [0, 0, 0, 0, 7],
        '.' => [0, 0, 0, 0, 2],
        ':' => [0, 2, 0, 2, 0],
        '#' => [5, 7, 5, 7, 5],
        '/' => [1, 1, 2, 4, 4],
        '(' => [1, 2, 2, 2, 1],
        ')' => [4, 2, 2, 2, 4],
        ',' => [0, 0, 0, 2, 4],
        '%' => [5, 1, 2, 4, 5],
        '+' => [0, 2, 7, 2, 0],
        ' ' => [0; 5],
        _ => [7, 1, 2, 0, 2],
    }
}

/// Width and height in pixels of `text` drawn with `px`-pixel font pixels: 3 font pixels a
/// glyph and 1 between glyphs, 5 high.
pub fn text_size(text: &str, px: u32) -> (u32, u32) {
    let n = text.chars().count() as u32;
    ((n * ADVANCE).saturating_sub(1) * px, FONT_H * px)
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

/// A pixel buffer to draw into: rows of `width` pixels of `channels` bytes each, top row
/// first (RGBA: 4, RGB: 3); its height is the number of whole rows the data holds.
///
/// Drawing writes a colour of up to `channels` bytes into the first bytes of each pixel it
/// covers (an RGB colour on an RGBA buffer leaves alpha as it is) and clips to the buffer.
#[derive(Debug)]
pub struct Surface<'a> {
    data: &'a mut [u8],
    width: i64,
    height: i64,
    channels: usize,
}

impl<'a> Surface<'a> {
    /// `data` as rows of `width` pixels of `channels` bytes.
    pub fn new(data: &'a mut [u8], width: u32, channels: usize) -> Surface<'a> {
        let height = data
            .len()
            .checked_div(width as usize * channels)
            .unwrap_or(0);
        Surface {
            data,
            width: i64::from(width),
            height: height as i64,
            channels,
        }
    }

    /// Fill the `w` × `h` rectangle with its top-left corner at (`x`, `y`) with `color`,
    /// clipped to the buffer.
    pub fn fill_rect(&mut self, x: i64, y: i64, w: i64, h: i64, color: &[u8]) {
        debug_assert!(color.len() <= self.channels, "colour wider than a pixel");
        let (x0, y0) = (x.clamp(0, self.width), y.clamp(0, self.height));
        let (x1, y1) = ((x + w).clamp(0, self.width), (y + h).clamp(0, self.height));
        for yy in y0..y1 {
            for xx in x0..x1 {
                let i = (yy as usize * self.width as usize + xx as usize) * self.channels;
                self.data[i..i + color.len()].copy_from_slice(color);
            }
        }
    }

    /// Draw `text` with its top-left corner at (`x`, `y`), each font pixel a `px` × `px`
    /// square of `color` (`px` 0 draws as 1). Whatever falls outside the buffer is clipped.
    pub fn draw_text(&mut self, x: i64, y: i64, text: &str, px: u32, color: &[u8]) {
        let px = i64::from(px.max(1));
        for (i, ch) in text.chars().enumerate() {
            let gx = x + i as i64 * i64::from(ADVANCE) * px;
            for (dy, row) in glyph(ch).iter().enumerate() {
                for dx in 0..3i64 {
                    if row & (4 >> dx) != 0 {
                        self.fill_rect(gx + dx * px, y + dy as i64 * px, px, px, color);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_three_by_five_glyphs_one_apart() {
        assert_eq!(text_size("", 1), (0, 5));
        assert_eq!(text_size("A", 1), (3, 5));
        assert_eq!(text_size("AB", 1), (7, 5));
        assert_eq!(text_size("AB", 3), (21, 15));
    }

    #[test]
    fn draws_scaled_glyphs_into_rgb_and_leaves_other_channels() {
        // RGB buffer, 2-pixel font pixels: "1" is [2, 6, 2, 2, 7].
        let (w, h) = (10u32, 12u32);
        let mut rgb = vec![0u8; (w * h * 3) as usize];
        Surface::new(&mut rgb, w, 3).draw_text(1, 1, "1", 2, &[9, 8, 7]);
        let at = |buf: &[u8], x: u32, y: u32| {
            let i = ((y * w + x) * 3) as usize;
            [buf[i], buf[i + 1], buf[i + 2]]
        };
        for row in 0..5 {
            // Middle column (x = 1 + 2 · 1), both pixels of each font pixel.
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                assert_eq!(at(&rgb, 3 + dx, 1 + 2 * row + dy), [9, 8, 7], "row {row}");
            }
        }
        assert_eq!(at(&rgb, 1, 1), [0; 3], "top-left of \"1\" is off");
        assert_eq!(at(&rgb, 1, 9), [9, 8, 7], "bottom-left is on");
        // An RGB colour on RGBA pixels leaves alpha alone.
        let mut rgba = vec![0u8; 4 * 4 * 5];
        Surface::new(&mut rgba, 4, 4).draw_text(0, 0, "1", 1, &[1, 2, 3]);
        assert_eq!(&rgba[4..8], &[1, 2, 3, 0]);
    }

    #[test]
    fn clips_at_every_edge() {
        let mut buf = vec![0u8; 6 * 4 * 4];
        let mut s = Surface::new(&mut buf, 6, 4);
        s.draw_text(4, 2, "WWW", 3, &[255; 4]);
        s.draw_text(-30, -30, "W", 3, &[255; 4]);
        s.fill_rect(-2, -2, 3, 3, &[1; 4]);
        s.fill_rect(5, 3, 10, -1, &[2; 4]);
        assert_eq!(&buf[..4], &[1; 4]);
        // Nothing at all to draw into.
        Surface::new(&mut [], 0, 4).draw_text(0, 0, "A", 1, &[1; 4]);
    }

    #[test]
    fn fit_text_cuts_with_dots() {
        assert_eq!(fit_text("ABC", 100, 1), "ABC");
        let cut = fit_text("ABCDEFGHIJ", 4 * 6 - 1, 1);
        assert_eq!(cut, "ABCD..");
        assert!(text_size(&cut, 1).0 <= 23);
        assert_eq!(fit_text("ABC", 0, 1), "");
    }
}
