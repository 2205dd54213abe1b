//! # ledwall-benches
//!
//! Shared helpers for the criterion benches in `benches/benches/`:
//!
//! * [`load_wall`] / [`load_wall_with`]: the fixture walls in `fixtures/walls/`, by name,
//!   optionally edited (for example `color.resample = "fast"`) before validation.
//! * [`photo_rgba8`] / [`photo_rgba16`]: deterministic synthetic *photographic* sources.
//!   Flat colours would flatter the kernels (a 16-bit LUT that always hits one cache line, a
//!   resampler whose output never changes), so the images carry what a camera frame carries:
//!   smooth multi-frequency gradients, hard-edged discs and rings, a shadow edge, a vignette
//!   and per-pixel grain from a fixed seed. The same `seed` gives the same bytes on every
//!   machine and every run; the scene is defined in picture-height units, so a 3840x2160 and
//!   a 1920x1080 image of one seed show the same picture at two resolutions.
//!
//! Run the benches with `cargo bench -p ledwall-benches` (see `benches/README.md`).

use ledwall_render::wall::WallSpec;
use ledwall_render::{ConfigError, SourceImage, Wall};
use rayon::prelude::*;
use std::f32::consts::TAU;
use std::path::{Path, PathBuf};

/// 3840x2160 ("4K" UHD), width and height.
pub const UHD: (u32, u32) = (3840, 2160);
/// 1920x1080 (full HD), width and height.
pub const FHD: (u32, u32) = (1920, 1080);

/// The fixture wall directory: `CARGO_MANIFEST_DIR/../fixtures/walls`.
pub fn walls_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("fixtures")
        .join("walls")
}

/// Path of fixture wall `name` (`"hd"` or `"hd.toml"`; a name without an extension gets
/// `.toml`).
pub fn wall_path(name: &str) -> PathBuf {
    let file = if Path::new(name).extension().is_some() {
        name.to_string()
    } else {
        format!("{name}.toml")
    };
    walls_dir().join(file)
}

/// Load and validate fixture wall `name` (see [`wall_path`]).
pub fn load_wall(name: &str) -> Result<Wall, ConfigError> {
    Wall::load(wall_path(name))
}

/// Load fixture wall `name`, let `edit` change its [`WallSpec`] (the file as written), then
/// validate the result with [`Wall::from_spec`]. For example, the `resample = "fast"`
/// variant of a wall:
///
/// ```no_run
/// use ledwall_render::wall::ResampleMode;
/// let fast = ledwall_benches::load_wall_with("hd", |s| s.color.resample = ResampleMode::Fast);
/// ```
pub fn load_wall_with(name: &str, edit: impl FnOnce(&mut WallSpec)) -> Result<Wall, ConfigError> {
    let wall = load_wall(name)?;
    let mut spec = wall.spec.clone();
    edit(&mut spec);
    Wall::from_spec(&spec, &wall.source)
}

/// An RGBA image owned by the bench: `T` is `u8` (RGBA8) or `u16` (RGBA16, native endian).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Photo<T> {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width · height · 4` samples, row-major, alpha always opaque.
    pub pixels: Vec<T>,
}

impl Photo<u8> {
    /// Borrow as an unkeyed (video) source.
    pub fn source(&self) -> SourceImage<'_> {
        SourceImage::rgba8(self.width, self.height, &self.pixels)
    }
}

impl Photo<u16> {
    /// Borrow as an unkeyed (video) source.
    pub fn source(&self) -> SourceImage<'_> {
        SourceImage::rgba16(self.width, self.height, &self.pixels)
    }
}

/// A deterministic synthetic photograph, 8 bits per channel (see the crate docs).
pub fn photo_rgba8(width: u32, height: u32, seed: u64) -> Photo<u8> {
    render_photo(width, height, seed, |v| (v * 255.0 + 0.5) as u8)
}

/// The 16-bit variant of [`photo_rgba8`]: the same scene, quantized to 16 bits per channel
/// (so every one of the 65536 LUT entries a 16-bit linearize reads is in play).
pub fn photo_rgba16(width: u32, height: u32, seed: u64) -> Photo<u16> {
    render_photo(width, height, seed, |v| (v * 65535.0 + 0.5) as u16)
}

/// One sinusoidal layer: `amp · sin(2π (fx·X + fy·Y) + phase[c])`, X and Y in picture
/// heights.
struct Wave {
    fx: f32,
    fy: f32,
    amp: f32,
    phase: [f32; 3],
}

/// A hard-edged disc (or ring when `inner > 0`) blended towards `color`.
struct Disc {
    cx: f32,
    cy: f32,
    outer: f32,
    inner: f32,
    color: [f32; 3],
    opacity: f32,
}

/// Scene parameters derived from the seed.
struct Scene {
    waves: Vec<Wave>,
    discs: Vec<Disc>,
    /// Base level per channel (a colour cast).
    base: [f32; 3],
}

/// splitmix64: a tiny, well-mixed, fixed-output PRNG step.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A sequence of uniform numbers in 0..1 from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 = splitmix64(self.0);
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.next()
    }
}

impl Scene {
    fn new(seed: u64, aspect: f32) -> Scene {
        let mut rng = Rng(seed ^ 0x6C65_6477_616C_6C21);
        // Octaves from a picture-wide gradient to fine texture near 1080p's Nyquist limit.
        let octaves: [(f32, f32); 6] = [
            (0.35, 0.30),
            (1.3, 0.16),
            (3.7, 0.08),
            (11.0, 0.04),
            (37.0, 0.02),
            (131.0, 0.012),
        ];
        let waves = octaves
            .iter()
            .map(|&(f, amp)| {
                let angle = rng.range(0.0, TAU);
                Wave {
                    fx: f * angle.cos(),
                    fy: f * angle.sin(),
                    amp,
                    phase: [(); 3].map(|_| rng.range(0.0, TAU)),
                }
            })
            .collect();
        let discs = (0..9)
            .map(|i| {
                let outer = rng.range(0.04, 0.22);
                Disc {
                    cx: rng.range(0.0, aspect),
                    cy: rng.range(0.0, 1.0),
                    outer,
                    // Every third shape is a ring with a thin wall: fine hard edges.
                    inner: if i % 3 == 2 { outer * 0.85 } else { 0.0 },
                    color: [(); 3].map(|_| rng.next()),
                    opacity: rng.range(0.55, 0.95),
                }
            })
            .collect();
        let base = [(); 3].map(|_| rng.range(0.35, 0.55));
        Scene { waves, discs, base }
    }
}

fn render_photo<T: Copy + Send + Sync + Default>(
    width: u32,
    height: u32,
    seed: u64,
    encode: impl Fn(f32) -> T + Sync,
) -> Photo<T> {
    let (w, h) = (width as usize, height as usize);
    let unit = 1.0 / height as f32;
    let aspect = width as f32 * unit;
    let scene = Scene::new(seed, aspect);
    // sin(α + β) = sin α cos β + cos α sin β with α from the column (and the channel's
    // phase) and β from the row: per pixel only multiplies and adds.
    let cols: Vec<[[f32; 2]; 3]> = scene
        .waves
        .iter()
        .flat_map(|wave| {
            (0..w).map(move |x| {
                let xf = (x as f32 + 0.5) * unit;
                wave.phase.map(|p| {
                    let a = TAU * wave.fx * xf + p;
                    [a.sin() * wave.amp, a.cos() * wave.amp]
                })
            })
        })
        .collect();
    let mut pixels = vec![T::default(); w * h * 4];
    pixels
        .par_chunks_mut(w * 4)
        .enumerate()
        .for_each(|(y, row)| {
            let yf = (y as f32 + 0.5) * unit;
            let rows: Vec<[f32; 2]> = scene
                .waves
                .iter()
                .map(|wave| {
                    let b = TAU * wave.fy * yf;
                    [b.sin(), b.cos()]
                })
                .collect();
            let dy = yf - 0.5;
            for (x, px) in row.chunks_exact_mut(4).enumerate() {
                let xf = (x as f32 + 0.5) * unit;
                let mut v = scene.base;
                for (k, [sb, cb]) in rows.iter().enumerate() {
                    let col = &cols[k * w + x];
                    for c in 0..3 {
                        let [sa, ca] = col[c];
                        v[c] += sa * cb + ca * sb;
                    }
                }
                // Shadow beyond a hard diagonal edge.
                if 0.8 * xf + yf > 1.35 * aspect.min(1.6) {
                    v = v.map(|c| c * 0.55);
                }
                for d in &scene.discs {
                    let r2 = (xf - d.cx) * (xf - d.cx) + (yf - d.cy) * (yf - d.cy);
                    if r2 < d.outer * d.outer && r2 >= d.inner * d.inner {
                        for (v, target) in v.iter_mut().zip(d.color) {
                            *v += (target - *v) * d.opacity;
                        }
                    }
                }
                // Vignette.
                let dx = xf - 0.5 * aspect;
                let fall = 1.0 - 0.3 * (dx * dx + dy * dy);
                // Grain: a luminance part shared by the channels and a chroma part.
                let n = splitmix64(seed ^ ((y as u64) << 32) ^ x as u64);
                let grain = |shift: u32| ((n >> shift) & 0xffff) as f32 / 32768.0 - 1.0;
                let luma = grain(48);
                for c in 0..3 {
                    let g = 0.018 * luma + 0.008 * grain(16 * c as u32);
                    px[c] = encode((v[c] * fall + g).clamp(0.0, 1.0));
                }
                px[3] = encode(1.0);
            }
        });
    Photo {
        width,
        height,
        pixels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_are_deterministic_and_not_flat() {
        let a = photo_rgba8(160, 90, 7);
        assert_eq!(a, photo_rgba8(160, 90, 7));
        assert_ne!(a, photo_rgba8(160, 90, 8));
        assert_eq!(a.pixels.len(), 160 * 90 * 4);
        let distinct: std::collections::BTreeSet<u8> =
            a.pixels.chunks_exact(4).map(|p| p[1]).collect();
        assert!(distinct.len() > 100, "{}", distinct.len());
        assert!(a.pixels.chunks_exact(4).all(|p| p[3] == 255));
        let deep = photo_rgba16(160, 90, 7);
        let distinct: std::collections::BTreeSet<u16> =
            deep.pixels.chunks_exact(4).map(|p| p[1]).collect();
        assert!(distinct.len() > 5000, "{}", distinct.len());
        // The same scene: 8-bit and 16-bit agree to within rounding.
        for (a, b) in a.pixels.iter().zip(&deep.pixels) {
            assert!((*a as i32 - (*b as i32 >> 8)).abs() <= 1);
        }
        assert!(a.source().check().is_ok() && deep.source().check().is_ok());
    }

    #[test]
    fn fixture_walls_load() {
        let hd = load_wall("hd").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((hd.width, hd.height), FHD);
        let fast = load_wall_with("hd.toml", |s| {
            s.color.resample = ledwall_render::wall::ResampleMode::Fast
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            fast.color.resample,
            ledwall_render::wall::ResampleMode::Fast
        );
        assert_eq!(fast.outputs.len(), hd.outputs.len());
    }
}
