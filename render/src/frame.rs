//! Frame types: what goes into the renderer (sources, layers, scenes) and what comes out
//! (one byte buffer per output port).

use crate::error::RenderError;
use crate::geometry::Geometry;
use crate::wall::OutputFormat;
use serde::{Deserialize, Serialize};

/// Most layers a scene composes (a crossfade needs two).
pub const MAX_LAYERS: usize = 2;

/// Pixels of a source image: RGBA code values, alpha already composited (it is ignored), or
/// planar Y'CbCr that the renderer converts to R'G'B' code values itself ([`YuvImage`]).
#[derive(Debug, Clone, Copy)]
pub enum PixelData<'a> {
    /// 8 bits per channel, 4 bytes a pixel, row-major, no padding.
    Rgba8(&'a [u8]),
    /// 16 bits per channel (native endian), 4 values a pixel.
    Rgba16(&'a [u16]),
    /// 4:2:0 Y'CbCr planes (video as decoders hand it over; see [`crate::yuv`]).
    Yuv(YuvImage<'a>),
}

impl PixelData<'_> {
    /// Whether the samples are deeper than 8 bits (RGBA16, 10-bit Y'CbCr): they go
    /// through the 16-bit LUT and keep their depth through linear light.
    pub fn is_deep(&self) -> bool {
        match self {
            PixelData::Rgba8(_) => false,
            PixelData::Rgba16(_) => true,
            PixelData::Yuv(y) => y.layout.is_deep(),
        }
    }
}

pub use crate::yuv::{YuvImage, YuvLayout, YuvMatrix, YuvPlanes, YuvRange};

/// A borrowed source frame.
#[derive(Debug, Clone, Copy)]
pub struct SourceImage<'a> {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The pixels.
    pub data: PixelData<'a>,
    /// Content identity: two frames with the same `Some(key)` have the same pixels, so the
    /// renderer may reuse the resampled canvas (stills). `None` (video) always re-renders.
    pub key: Option<u64>,
}

impl<'a> SourceImage<'a> {
    /// An 8-bit RGBA source.
    pub fn rgba8(width: u32, height: u32, data: &'a [u8]) -> Self {
        SourceImage {
            width,
            height,
            data: PixelData::Rgba8(data),
            key: None,
        }
    }

    /// A 16-bit RGBA source.
    pub fn rgba16(width: u32, height: u32, data: &'a [u16]) -> Self {
        SourceImage {
            width,
            height,
            data: PixelData::Rgba16(data),
            key: None,
        }
    }

    /// A planar Y'CbCr source (see [`YuvImage`]'s constructors).
    pub fn yuv(width: u32, height: u32, image: YuvImage<'a>) -> Self {
        SourceImage {
            width,
            height,
            data: PixelData::Yuv(image),
            key: None,
        }
    }

    /// Mark the content as a still with identity `key` (enables the resample cache).
    pub fn with_key(mut self, key: u64) -> Self {
        self.key = Some(key);
        self
    }

    /// Check that the buffer matches the stated size.
    pub fn check(&self) -> Result<(), RenderError> {
        if self.width == 0 || self.height == 0 {
            return Err(RenderError::EmptySource {
                width: self.width,
                height: self.height,
            });
        }
        let expected = self.width as usize * self.height as usize * 4;
        let actual = match self.data {
            PixelData::Rgba8(d) => d.len(),
            PixelData::Rgba16(d) => d.len(),
            PixelData::Yuv(y) => return y.check(self.width, self.height),
        };
        if actual != expected {
            return Err(RenderError::SourceSize {
                width: self.width,
                height: self.height,
                expected,
                actual,
            });
        }
        Ok(())
    }
}

/// How a source is fitted to the canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    /// Scale to fit inside, letterbox with the background.
    #[default]
    Contain,
    /// Scale to fill, crop the overflow.
    Cover,
    /// Scale each axis to the canvas.
    Stretch,
    /// No scaling: centre, crop or pad.
    Center,
}

/// Resampling filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Filter {
    /// Nearest neighbour (aliases on downscale: for pixel art).
    Nearest,
    /// Bilinear (triangle), widened on downscale.
    Bilinear,
    /// Catmull-Rom cubic.
    CatmullRom,
    /// Lanczos, 3 lobes.
    #[default]
    Lanczos3,
    /// Area (box) average: the right choice for large downscales.
    Area,
}

impl Fit {
    /// Every fit mode.
    pub const ALL: [Fit; 4] = [Fit::Contain, Fit::Cover, Fit::Stretch, Fit::Center];
    /// Parse a file/CLI name.
    pub fn from_name(s: &str) -> Option<Fit> {
        Fit::ALL.into_iter().find(|f| f.name() == s)
    }
    /// The file/CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Fit::Contain => "contain",
            Fit::Cover => "cover",
            Fit::Stretch => "stretch",
            Fit::Center => "center",
        }
    }
}

impl Filter {
    /// Every filter.
    pub const ALL: [Filter; 5] = [
        Filter::Nearest,
        Filter::Bilinear,
        Filter::CatmullRom,
        Filter::Lanczos3,
        Filter::Area,
    ];
    /// Parse a file/CLI name.
    pub fn from_name(s: &str) -> Option<Filter> {
        Filter::ALL.into_iter().find(|f| f.name() == s)
    }
    /// The file/CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Filter::Nearest => "nearest",
            Filter::Bilinear => "bilinear",
            Filter::CatmullRom => "catmull-rom",
            Filter::Lanczos3 => "lanczos3",
            Filter::Area => "area",
        }
    }
}

/// One source on the canvas.
#[derive(Debug, Clone, Copy)]
pub struct Layer<'a> {
    /// The pixels.
    pub source: SourceImage<'a>,
    /// Fit mode.
    pub fit: Fit,
    /// Filter.
    pub filter: Filter,
    /// Mix weight 0..1 in linear light; the background fills the rest.
    pub weight: f32,
}

impl<'a> Layer<'a> {
    /// A layer at full weight with the default fit (contain) and filter (lanczos3).
    pub fn new(source: SourceImage<'a>) -> Self {
        Layer {
            source,
            fit: Fit::default(),
            filter: Filter::default(),
            weight: 1.0,
        }
    }
    /// With a fit mode.
    pub fn fit(mut self, fit: Fit) -> Self {
        self.fit = fit;
        self
    }
    /// With a filter.
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = filter;
        self
    }
    /// With a mix weight.
    pub fn weight(mut self, weight: f32) -> Self {
        self.weight = weight;
        self
    }
}

/// What to show at one display tick.
#[derive(Debug, Clone, Copy)]
pub struct Scene<'a> {
    /// Display tick; drives temporal dithering.
    pub frame_number: u64,
    /// Up to [`MAX_LAYERS`] layers; `None` slots are empty.
    pub layers: [Option<Layer<'a>>; MAX_LAYERS],
}

impl<'a> Scene<'a> {
    /// Background only.
    pub fn background(frame_number: u64) -> Self {
        Scene {
            frame_number,
            layers: [None, None],
        }
    }
    /// One layer.
    pub fn single(frame_number: u64, layer: Layer<'a>) -> Self {
        Scene {
            frame_number,
            layers: [Some(layer), None],
        }
    }
    /// A crossfade from `from` to `to`; `t` = 0 shows `from`, 1 shows `to`.
    pub fn crossfade(frame_number: u64, from: Layer<'a>, to: Layer<'a>, t: f32) -> Self {
        let t = t.clamp(0.0, 1.0);
        Scene {
            frame_number,
            layers: [Some(from.weight(1.0 - t)), Some(to.weight(t))],
        }
    }
}

/// One output port's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortBuffer {
    /// Port name.
    pub name: String,
    /// Buffer format.
    pub format: OutputFormat,
    /// Exactly the bytes of design §5 / §6 (§7.1 for `canvas`), except for a port the GPU
    /// renderer keeps on the GPU ([`crate::gpu::Renderer::keep_on_gpu`]): its bytes are not
    /// read back, and are in `gpu` instead.
    pub bytes: Vec<u8>,
    /// A port kept on the GPU: this frame's bytes in a GPU buffer of the renderer's device
    /// (4 bytes a word, little-endian, the length rounded up to whole words). Made by the
    /// renderer the first time it renders into this frame, reused after.
    pub gpu: Option<wgpu::Buffer>,
}

/// A rendered frame: one buffer per output port, in wall order.
#[derive(Debug, Clone, PartialEq)]
pub struct WallFrame {
    /// The display tick it was rendered for.
    pub frame_number: u64,
    /// The brightness left to the hardware, 0..=1: 1 unless the renderer dims externally
    /// (`set_external_dimming`: receiving cards that dim themselves), then the colour
    /// section's `brightness` × the runtime level this frame was rendered at.
    pub card_level: f32,
    /// Port buffers.
    pub ports: Vec<PortBuffer>,
}

impl WallFrame {
    /// Allocate a frame for `geometry` (once; reuse it for every frame).
    pub fn new(geometry: &Geometry) -> Self {
        WallFrame {
            frame_number: 0,
            card_level: 1.0,
            ports: geometry
                .ports
                .iter()
                .map(|p| PortBuffer {
                    name: p.name.clone(),
                    format: p.format,
                    bytes: vec![0; p.byte_len()],
                    gpu: None,
                })
                .collect(),
        }
    }

    /// Whether this frame has the buffer sizes `geometry` produces.
    pub fn matches(&self, geometry: &Geometry) -> bool {
        self.ports.len() == geometry.ports.len()
            && self
                .ports
                .iter()
                .zip(&geometry.ports)
                .all(|(b, p)| b.bytes.len() == p.byte_len())
    }
}
