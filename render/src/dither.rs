//! What the quantize stage of both backends shares: the ordered (Bayer 8x8) and temporal
//! dither thresholds of a frame, and the code of the background pixel (the off-canvas
//! pixels of modules show it), computed once here so the backends agree to the bit.

use crate::color::{EncodeLut, Luts, threshold_fx};
use crate::geometry::Quant;
use crate::wall::{ColorSpec, Dither};

/// The 8x8 Bayer matrix, values 0..64.
pub const BAYER8: [[u8; 8]; 8] = {
    let mut m = [[0u8; 8]; 8];
    let mut y = 0;
    while y < 8 {
        let mut x = 0;
        while x < 8 {
            // Interleave the bits of x^y and y (the classic recursive construction).
            let (a, b) = (x ^ y, y);
            let v = ((a & 1) << 5)
                | ((b & 1) << 4)
                | ((a & 2) << 2)
                | ((b & 2) << 1)
                | ((a & 4) >> 1)
                | ((b & 4) >> 2);
            m[y][x] = v as u8;
            x += 1;
        }
        y += 1;
    }
    m
};

/// Pattern offset (dx, dy) for frame `n` under temporal dithering: the 64 offsets are
/// visited in Bayer order, so consecutive frames move the pattern far apart.
pub fn temporal_offset(n: u64) -> (u32, u32) {
    let k = (n % 64) as u8;
    for (y, row) in BAYER8.iter().enumerate() {
        for (x, &v) in row.iter().enumerate() {
            if v == k {
                return (x as u32, y as u32);
            }
        }
    }
    (0, 0)
}

/// Dither thresholds in 0..1 for one frame: `t[y & 7][x & 7]`; 0.5 everywhere without
/// dithering (plain rounding).
pub fn thresholds(dither: Dither, frame: u64) -> [[f32; 8]; 8] {
    thresholds_at(dither, frame, [0, 0])
}

/// [`thresholds`] for a canvas whose top-left pixel is at `origin` on the show canvas
/// (a section, design §10): still indexed `t[y & 7][x & 7]` by canvas position, and
/// equal to the show's thresholds at show position (x + origin.x, y + origin.y), so the
/// pattern runs on across the seams between sections.
pub fn thresholds_at(dither: Dither, frame: u64, origin: [u32; 2]) -> [[f32; 8]; 8] {
    let (dx, dy) = match dither {
        Dither::None => return [[0.5; 8]; 8],
        Dither::Ordered => (0, 0),
        Dither::OrderedTemporal => temporal_offset(frame),
    };
    let (dx, dy) = ((dx + (origin[0] & 7)) & 7, (dy + (origin[1] & 7)) & 7);
    let mut t = [[0.0; 8]; 8];
    for (y, row) in t.iter_mut().enumerate() {
        for (x, v) in row.iter_mut().enumerate() {
            let b = BAYER8[(y + dy as usize) & 7][(x + dx as usize) & 7];
            *v = (b as f32 + 0.5) / 64.0;
        }
    }
    t
}

/// The background colour in linear light, before the gains (the wall's `background`
/// code values through the 8-bit LUT).
pub fn background_linear(color: &ColorSpec, luts: &Luts) -> [u16; 3] {
    color.background.map(|c| luts.lut8[c.min(255) as usize])
}

/// The background pixel after the gains, as the colour stage computes any pixel.
pub fn background_colored(background: [u16; 3], gains: [f32; 3]) -> [u16; 3] {
    [0, 1, 2].map(|c| (background[c] as f32 * gains[c] + 0.5).min(65535.0) as u16)
}

/// The background pixel's code at `depth`: coloured, then quantized without dither (the
/// extra pixels are never dithered), with the quantize stage's arithmetic.
pub fn background_code(background: [u16; 3], gains: [f32; 3], depth: u32) -> [u16; 3] {
    let max = ((1u32 << depth) - 1) as f32;
    let scale = max / 65535.0;
    background_colored(background, gains).map(|c| (c as f32 * scale + 0.5).min(max) as u16)
}

/// The background pixel's code for the ports of `quant`: [`background_code`] for linear
/// codes, the rounded display encoding (through `encode`) for display-encoded ones.
pub fn background_quant(
    background: [u16; 3],
    gains: [f32; 3],
    quant: Quant,
    encode: Option<&EncodeLut>,
) -> [u16; 3] {
    match (quant.encoding, encode) {
        (crate::wall::Encoding::Display, Some(e)) => {
            background_colored(background, gains).map(|c| e.code(c, threshold_fx(0.5)))
        }
        _ => background_code(background, gains, quant.depth),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bayer_is_a_permutation_of_0_to_63() {
        let mut seen = [false; 64];
        for v in BAYER8.iter().flatten() {
            assert!(!seen[*v as usize]);
            seen[*v as usize] = true;
        }
        assert_eq!(BAYER8[0][0], 0);
    }

    #[test]
    fn a_section_sees_the_show_pattern_at_its_origin() {
        for dither in [Dither::Ordered, Dither::OrderedTemporal] {
            for frame in [0, 5, 63] {
                let show = thresholds(dither, frame);
                let origin = [13, 6];
                let section = thresholds_at(dither, frame, origin);
                for (y, row) in section.iter().enumerate() {
                    for (x, v) in row.iter().enumerate() {
                        let (sx, sy) = (x + origin[0] as usize, y + origin[1] as usize);
                        assert_eq!(*v, show[sy & 7][sx & 7], "{dither:?} {frame}");
                    }
                }
            }
        }
        assert_eq!(thresholds_at(Dither::None, 3, [5, 5]), [[0.5; 8]; 8]);
    }

    #[test]
    fn temporal_offsets_visit_all_64() {
        let mut seen = std::collections::HashSet::new();
        for n in 0..64 {
            seen.insert(temporal_offset(n));
        }
        assert_eq!(seen.len(), 64);
        assert_eq!(temporal_offset(0), temporal_offset(64));
    }
}
