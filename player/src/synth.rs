//! Deterministic synthetic images: the fixture media in `fixtures/media/` (written by
//! `cargo run -p ledwall-player --example make_media`) and sources for tests.
//!
//! Every generator uses integer arithmetic or the IEEE-exact float operations (+ − × ÷ and
//! square root), with noise from a fixed-seed xorshift, so the pixels are the same on every
//! machine.

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageBuffer, ImageFormat, ImageResult, Rgb, RgbImage, Rgba, RgbaImage};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// xorshift64: a tiny deterministic noise source.
#[derive(Debug, Clone)]
pub struct XorShift64(u64);

impl XorShift64 {
    /// A generator from `seed` (0 is replaced by a fixed non-zero seed).
    pub fn new(seed: u64) -> Self {
        XorShift64(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A value in `-amp..amp`.
    pub fn noise(&mut self, amp: f32) -> f32 {
        let u = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        (u * 2.0 - 1.0) * amp
    }
}

/// 8-bit RGB gradient: red grows to the right, green downwards, blue falls with both.
pub fn gradient(width: u32, height: u32) -> RgbImage {
    let (wm, hm) = (width.max(2) - 1, height.max(2) - 1);
    RgbImage::from_fn(width, height, |x, y| {
        let r = (x * 255 + wm / 2) / wm;
        let g = (y * 255 + hm / 2) / hm;
        Rgb([r as u8, g as u8, (255 - (r + g) / 2) as u8])
    })
}

/// A synthetic "photograph": an evening sky with a soft sun, two balloons, hills with
/// anti-aliased ridges, a building with lit windows, and fine noise. Smooth gradients, hard
/// and soft edges and texture in one small image.
pub fn photo(width: u32, height: u32, seed: u64) -> RgbImage {
    let mut rng = XorShift64::new(seed);
    let sx = width as f32 / 160.0;
    let sy = height as f32 / 90.0;
    let mut img = RgbImage::new(width, height);
    for y in 0..height {
        for x in 0..width {
            // Work in the 160x90 design space.
            let fx = (x as f32 + 0.5) / sx;
            let fy = (y as f32 + 0.5) / sy;
            let t = (fy / 58.0).min(1.0);
            let mut c = lerp3([28.0, 52.0, 120.0], [235.0, 178.0, 140.0], t * t);

            // Sun glow and disk.
            let d = dist(fx, fy, 118.0, 30.0);
            let glow = 70.0 / (1.0 + d * d / 140.0);
            c = [c[0] + glow, c[1] + glow * 0.8, c[2] + glow * 0.35];
            c = lerp3(c, [255.0, 238.0, 196.0], coverage(11.0 - d));

            // Two shaded balloons, lit from the upper left.
            for (bx, by, r, col) in [
                (70.0, 22.0, 6.5, [205.0, 45.0, 40.0]),
                (88.0, 36.0, 4.0, [40.0, 80.0, 200.0]),
            ] {
                let d = dist(fx, fy, bx, by);
                let h = dist(fx, fy, bx - r * 0.4, by - r * 0.4) / (2.0 * r);
                let shade = 1.15 - 0.6 * h.min(1.0);
                let lit = [col[0] * shade, col[1] * shade, col[2] * shade];
                c = lerp3(c, lit, coverage(r - d));
            }

            // Far hill, then near hill: anti-aliased ridges, darker downwards.
            let far = 60.0 - 16.0 * bump((fx - 40.0) / 48.0);
            c = lerp3(
                c,
                [70.0 - (fy - far) * 0.6, 100.0 - (fy - far) * 0.8, 78.0],
                coverage(fy - far),
            );
            let near = 70.0 - 12.0 * bump((fx - 122.0) / 52.0);
            c = lerp3(
                c,
                [42.0 - (fy - near) * 0.5, 84.0 - (fy - near), 36.0],
                coverage(fy - near),
            );

            // A building with lit windows: hard edges.
            if (18.0..31.0).contains(&fx) && fy >= 42.0 {
                c = [34.0, 30.0, 42.0];
                let wx = (fx - 20.0) % 4.0;
                let wy = (fy - 45.0) % 5.0;
                if (20.0..29.0).contains(&fx) && (45.0..70.0).contains(&fy) && wx < 2.0 && wy < 2.5
                {
                    c = [250.0, 212.0, 110.0];
                }
            }

            let n = rng.noise(5.0);
            let px = [
                c[0] + n + rng.noise(1.5),
                c[1] + n + rng.noise(1.5),
                c[2] + n + rng.noise(1.5),
            ];
            img.put_pixel(x, y, Rgb(px.map(to_u8)));
        }
    }
    img
}

/// 16-bit RGB ramps, 0 to 65535 left to right, in four bands of rows: grey, red, green,
/// blue. Steps are far finer than 8 bits can show.
pub fn ramp16(width: u32, height: u32) -> ImageBuffer<Rgb<u16>, Vec<u16>> {
    let wm = width.max(2) as u64 - 1;
    let band = height.div_ceil(4).max(1);
    ImageBuffer::from_fn(width, height, |x, y| {
        let v = ((x as u64 * 65535 + wm / 2) / wm) as u16;
        match y / band {
            0 => Rgb([v, v, v]),
            1 => Rgb([v, 0, 0]),
            2 => Rgb([0, v, 0]),
            _ => Rgb([0, 0, v]),
        }
    })
}

/// RGBA with transparency: a fully transparent left strip (magenta underneath, which must
/// never show), a vertical alpha ramp in the middle, an opaque right strip, and an opaque
/// white disk in the centre.
pub fn alpha(width: u32, height: u32) -> RgbaImage {
    let (w, h) = (width as i64, height as i64);
    let hm = height.max(2) - 1;
    let r = w.min(h) * 7 / 16;
    RgbaImage::from_fn(width, height, |x, y| {
        // Doubled coordinates keep the centre on the half-pixel grid.
        let dx = 2 * x as i64 - (w - 1);
        let dy = 2 * y as i64 - (h - 1);
        if dx * dx + dy * dy <= r * r {
            Rgba([255, 255, 255, 255])
        } else if x < width / 4 {
            Rgba([255, 0, 255, 0])
        } else if x < width * 3 / 4 {
            let a = (y * 255 + hm / 2) / hm;
            Rgba([
                (x * 8).min(255) as u8,
                64,
                (255 - (y * 8).min(255)) as u8,
                a as u8,
            ])
        } else {
            Rgba([0, (160 + y * 3).min(255) as u8, 200, 255])
        }
    })
}

/// One fixture media file.
#[derive(Debug, Clone, Copy)]
pub struct FixtureMedia {
    /// File name in `fixtures/media/`.
    pub name: &'static str,
    /// What it shows.
    pub about: &'static str,
    /// The pixels.
    pub make: fn() -> DynamicImage,
    /// JPEG quality, for JPEG files; PNG otherwise.
    pub jpeg_quality: Option<u8>,
}

/// Seed of the photo's noise.
pub const PHOTO_SEED: u64 = 0x1ed_3a11;

/// Every fixture media file.
pub const FIXTURE_MEDIA: [FixtureMedia; 4] = [
    FixtureMedia {
        name: "gradient-64x32.png",
        about: "8-bit RGB gradient",
        make: || DynamicImage::ImageRgb8(gradient(64, 32)),
        jpeg_quality: None,
    },
    FixtureMedia {
        name: "photo-160x90.jpg",
        about: "synthetic photograph: gradients, soft and hard edges, noise",
        make: || DynamicImage::ImageRgb8(photo(160, 90, PHOTO_SEED)),
        jpeg_quality: Some(85),
    },
    FixtureMedia {
        name: "ramp16-128x16.png",
        about: "16-bit RGB ramps",
        make: || DynamicImage::ImageRgb16(ramp16(128, 16)),
        jpeg_quality: None,
    },
    FixtureMedia {
        name: "alpha-32x32.png",
        about: "RGBA with transparent areas",
        make: || DynamicImage::ImageRgba8(alpha(32, 32)),
        jpeg_quality: None,
    },
];

/// Write one fixture into `dir`; returns its path.
pub fn write_fixture(dir: &Path, media: &FixtureMedia) -> ImageResult<PathBuf> {
    let path = dir.join(media.name);
    let img = (media.make)();
    match media.jpeg_quality {
        Some(q) => {
            let mut w = BufWriter::new(File::create(&path)?);
            JpegEncoder::new_with_quality(&mut w, q).encode_image(&img)?;
            std::io::Write::flush(&mut w)?;
        }
        None => img.save_with_format(&path, ImageFormat::Png)?,
    }
    Ok(path)
}

/// Frames of [`animation`]: a white bar moving right over a background whose colour
/// changes every frame, so every frame is unique and recognisable.
pub const ANIMATION_FRAMES: u32 = 8;

/// Background colour of frame `k` of [`animation`] (GIF-palette exact).
pub fn animation_color(k: u32) -> [u8; 3] {
    const C: [[u8; 3]; 8] = [
        [128, 0, 0],
        [0, 128, 0],
        [0, 0, 128],
        [128, 128, 0],
        [0, 128, 128],
        [128, 0, 128],
        [64, 64, 64],
        [192, 96, 0],
    ];
    C[(k % 8) as usize]
}

/// The frames of the fixture animation: `width` x `height`, [`ANIMATION_FRAMES`] frames.
pub fn animation(width: u32, height: u32) -> Vec<RgbaImage> {
    (0..ANIMATION_FRAMES)
        .map(|k| {
            let bar = k * width / ANIMATION_FRAMES;
            let bw = (width / ANIMATION_FRAMES).max(1);
            let bg = animation_color(k);
            RgbaImage::from_fn(width, height, |x, _| {
                if x >= bar && x < bar + bw {
                    Rgba([255, 255, 255, 255])
                } else {
                    Rgba([bg[0], bg[1], bg[2], 255])
                }
            })
        })
        .collect()
}

/// Write [`animation`] as a looping GIF with `delay_ms` per frame.
pub fn write_animated_gif(path: &Path, width: u32, height: u32, delay_ms: u32) -> ImageResult<()> {
    use image::codecs::gif::{GifEncoder, Repeat};
    use image::{Delay, Frame};
    let mut w = BufWriter::new(File::create(path)?);
    {
        let mut enc = GifEncoder::new_with_speed(&mut w, 10);
        enc.set_repeat(Repeat::Infinite)?;
        for img in animation(width, height) {
            let delay = Delay::from_numer_denom_ms(delay_ms, 1);
            enc.encode_frame(Frame::from_parts(img, 0, 0, delay))?;
        }
    }
    std::io::Write::flush(&mut w)?;
    Ok(())
}

/// The fixture animation's file name in `fixtures/media/`.
pub const ANIMATION_FIXTURE: &str = "anim-32x16.gif";

fn lerp3(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

fn dist(x: f32, y: f32, cx: f32, cy: f32) -> f32 {
    ((x - cx) * (x - cx) + (y - cy) * (y - cy)).sqrt()
}

/// Coverage of a one-pixel-wide soft edge at signed distance `d` (positive = inside).
fn coverage(d: f32) -> f32 {
    (d + 0.5).clamp(0.0, 1.0)
}

/// 1 − u² inside −1..1, 0 outside.
fn bump(u: f32) -> f32 {
    (1.0 - u * u).max(0.0)
}

fn to_u8(v: f32) -> u8 {
    (v + 0.5).clamp(0.0, 255.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_are_deterministic_and_sized() {
        assert_eq!(photo(160, 90, 7), photo(160, 90, 7));
        assert_ne!(photo(160, 90, 7), photo(160, 90, 8));
        let g = gradient(64, 32);
        assert_eq!(g.get_pixel(0, 0).0, [0, 0, 255]);
        assert_eq!(g.get_pixel(63, 31).0, [255, 255, 0]);
        let r = ramp16(128, 16);
        assert_eq!(r.get_pixel(127, 0).0, [65535; 3]);
        assert_eq!(r.get_pixel(127, 15).0, [0, 0, 65535]);
        let a = alpha(32, 32);
        assert_eq!(a.get_pixel(0, 0).0[3], 0);
        assert_eq!(a.get_pixel(16, 16).0, [255; 4]);
        assert_eq!(a.get_pixel(31, 0).0[3], 255);
    }
}
