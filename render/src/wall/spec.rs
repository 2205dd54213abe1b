//! The wall file exactly as written (design §3): serde types with the public field names.
//!
//! These types are the file format; [`super::Wall`] is the validated model built from them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A whole wall file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WallSpec {
    /// Name of the wall.
    pub name: String,
    /// Frames handed to the output driver per second.
    #[serde(default = "default_refresh")]
    pub refresh_hz: u32,
    /// The canvas every module takes its pixels from.
    pub canvas: CanvasSpec,
    /// The colour pipeline.
    #[serde(default)]
    pub color: ColorSpec,
    /// Module types by name.
    #[serde(default)]
    pub module_types: BTreeMap<String, ModuleTypeSpec>,
    /// Output ports, each a chain of modules.
    #[serde(default)]
    pub outputs: Vec<OutputSpec>,
}

fn default_refresh() -> u32 {
    60
}

/// `[canvas]`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanvasSpec {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Width and height of the show canvas this canvas is a section of (design §10);
    /// given with `origin`. Absent: the canvas is the whole show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show: Option<[u32; 2]>,
    /// Show-canvas position of this canvas's top-left pixel; given with `show`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<[u32; 2]>,
}

/// Transfer curve from code values to linear light.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Transfer {
    /// `u^gamma`.
    #[default]
    Power,
    /// The sRGB curve.
    Srgb,
    /// CIE 1931 lightness, as LED drivers use it.
    Cie1931,
    /// No curve.
    Linear,
}

/// Dithering applied when quantizing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Dither {
    /// Round to the nearest code.
    #[default]
    #[serde(rename = "none")]
    None,
    /// 8x8 Bayer ordered dither.
    #[serde(rename = "ordered")]
    Ordered,
    /// Ordered dither whose pattern moves with the frame number.
    #[serde(rename = "ordered+temporal")]
    OrderedTemporal,
}

/// Where resampling happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ResampleMode {
    /// Filter in linear light (quality).
    #[default]
    Linear,
    /// Filter code values, then linearize (speed).
    Fast,
}

/// `[color]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ColorSpec {
    /// Transfer curve.
    pub transfer: Transfer,
    /// Exponent of the `power` curve.
    pub gamma: f64,
    /// Overall brightness 0..1.
    pub brightness: f64,
    /// Per-channel gains 0..1.
    pub white_point: [f64; 3],
    /// Output bit depth of `bitplanes` ports, 1..16.
    pub bit_depth: u32,
    /// Dithering.
    pub dither: Dither,
    /// Background colour, code values 0..255.
    pub background: [u32; 3],
    /// Where resampling happens.
    pub resample: ResampleMode,
}

impl Default for ColorSpec {
    fn default() -> Self {
        ColorSpec {
            transfer: Transfer::Power,
            gamma: 2.2,
            brightness: 1.0,
            white_point: [1.0; 3],
            bit_depth: 8,
            dither: Dither::None,
            background: [0; 3],
            resample: ResampleMode::Linear,
        }
    }
}

/// `[module_types.NAME]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleTypeSpec {
    /// `[columns, rows]`.
    pub size: [u32; 2],
    /// Row addresses (HUB75 scan); required for modules on `bitplanes` outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<u32>,
    /// Multiplex mapper name (design §4).
    #[serde(default = "default_mapper")]
    pub mapper: String,
    /// Mapping table file for `mapper = "table"`, relative to the wall file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// Channel order on the wire, a permutation of `RGB`.
    #[serde(default = "default_order")]
    pub color_order: String,
    /// Pixel streams: odd rows run right to left.
    #[serde(default)]
    pub serpentine: bool,
}

fn default_mapper() -> String {
    "direct".into()
}
fn default_order() -> String {
    "RGB".into()
}

/// Output buffer format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// HUB75 bit planes in scan order (design §5).
    Bitplanes,
    /// 8-bit pixel stream in wiring order (design §6).
    Rgb8,
    /// 16-bit big-endian pixel stream in wiring order (design §6).
    Rgb16,
    /// A rectangle of the canvas, row by row, RGB8, for receiver hardware: sending cards
    /// on a display output, Colorlight receiving cards (design §7.1).
    Canvas,
}

impl OutputFormat {
    /// The name used in files.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Bitplanes => "bitplanes",
            OutputFormat::Rgb8 => "rgb8",
            OutputFormat::Rgb16 => "rgb16",
            OutputFormat::Canvas => "canvas",
        }
    }
}

/// What the codes of a `canvas` port mean (design §7.1).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// The linear result re-encoded with the wall's transfer curve and dithered to 8 bits:
    /// what a sending card or receiving card expects (it applies its own gamma).
    #[default]
    Display,
    /// PWM-linear codes, as `rgb8` ports carry them.
    Linear,
}

impl Encoding {
    /// The name used in files.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Display => "display",
            Encoding::Linear => "linear",
        }
    }
}

/// `region = { at = [x, y], size = [w, h] }` of a `canvas` port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionSpec {
    /// Canvas position of the region's top-left pixel.
    pub at: [i64; 2],
    /// Width and height in pixels.
    pub size: [u32; 2],
}

/// Module mirroring, applied before rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mirror {
    /// No mirroring.
    #[default]
    None,
    /// Horizontal: x → C−1−x.
    H,
    /// Vertical: y → R−1−y.
    V,
    /// Both.
    Hv,
}

/// `[[outputs]]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Unique port name.
    pub name: String,
    /// Buffer format.
    pub format: OutputFormat,
    /// Sink URL (design §7).
    #[serde(default = "default_sink")]
    pub sink: String,
    /// Modules in chain order, the first at the connector.
    #[serde(default)]
    pub modules: Vec<ModuleSpec>,
    /// A grid of modules, appended after `modules`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<GridSpec>,
    /// `canvas` ports: the rectangle of the canvas they carry (default: all of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<RegionSpec>,
    /// `canvas` ports: what their codes mean (default `display`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Encoding>,
}

fn default_sink() -> String {
    "null".into()
}

/// One module on a chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleSpec {
    /// Module type name.
    #[serde(rename = "type")]
    pub kind: String,
    /// Canvas position of the rotated footprint's top-left corner.
    pub at: [i64; 2],
    /// Clockwise rotation in degrees: 0, 90, 180, 270.
    #[serde(default)]
    pub rotate: u32,
    /// Mirroring before rotation.
    #[serde(default)]
    pub mirror: Mirror,
    /// Per-module 3x3 matrix in linear light (rows: output R, G, B).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<[[f64; 3]; 3]>,
}

/// Corner a grid's cabling starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Corner {
    /// Top-left.
    #[default]
    TopLeft,
    /// Top-right.
    TopRight,
    /// Bottom-left.
    BottomLeft,
    /// Bottom-right.
    BottomRight,
}

/// A grid of identical modules in cabling order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridSpec {
    /// Module type name.
    #[serde(rename = "type")]
    pub kind: String,
    /// Canvas position of the grid's top-left corner.
    #[serde(default)]
    pub origin: [i64; 2],
    /// Modules across.
    pub cols: u32,
    /// Modules down.
    pub rows: u32,
    /// Corner of the first module.
    #[serde(default)]
    pub start: Corner,
    /// Reverse direction on every other row.
    #[serde(default)]
    pub serpentine: bool,
    /// Rotation of every module.
    #[serde(default)]
    pub rotate: u32,
    /// Mirroring of every module.
    #[serde(default)]
    pub mirror: Mirror,
}
