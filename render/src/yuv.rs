//! Planar Y'CbCr sources: what a video decoder hands over natively (ffmpeg's `yuv420p`,
//! `nv12`, `yuv420p10le`, `p010le`), converted to R'G'B' code values inside the render
//! pipeline instead of by the decoder.
//!
//! # The conversion
//!
//! Each luma sample `Y` and the chroma `Cb`, `Cr` upsampled to its position become
//! normalized `E'Y = (Y − y_off) / y_scale`, `E'Pb = (Cb − c_off) / c_scale`,
//! `E'Pr = (Cr − c_off) / c_scale`, then (ITU-T H.273, non-constant luminance)
//!
//! ```text
//! R' = E'Y + 2 (1 − Kr) E'Pr
//! B' = E'Y + 2 (1 − Kb) E'Pb
//! G' = (E'Y − Kr R' − Kb B') / (1 − Kr − Kb)
//! ```
//!
//! clamped to 0..=1. [`YuvMatrix`] gives `Kr`, `Kb` (BT.601 0.299/0.114, BT.709
//! 0.2126/0.0722, BT.2020 0.2627/0.0593); [`YuvRange`] the offsets and scales for `n`-bit
//! samples: limited ("TV", "MPEG") `y_off = 16·2^(n−8)`, `y_scale = 219·2^(n−8)`,
//! `c_scale = 224·2^(n−8)` (8-bit Y 16–235, C 16–240; 10-bit Y 64–940, C 64–960); full
//! ("PC", "JPEG") `y_off = 0`, `y_scale = c_scale = 2^n − 1`; `c_off = 2^(n−1)` in both.
//!
//! # Chroma siting and upsampling
//!
//! 4:2:0 with the MPEG-2 / H.264 default siting ("left"): a chroma plane is
//! `ceil(w/2)` × `ceil(h/2)`; chroma sample `(i, j)` sits horizontally on luma column `2i`
//! and vertically midway between luma rows `2j` and `2j + 1`. Each luma pixel takes the
//! bilinear interpolation of the chroma around it, edges clamped: luma row `2j` weighs
//! chroma rows `j` and `j − 1` by 3/4 and 1/4, row `2j + 1` rows `j` and `j + 1` by 3/4 and
//! 1/4; an even column takes its chroma column, an odd one the mean of the two beside it.
//! The weights are eighths, so the CPU sums them exactly in integers.
//!
//! # Depth
//!
//! 8-bit layouts convert to 8-bit R'G'B' codes (rounded: the 8-bit LUT, and RGBA8's fast
//! paths); 10-bit ones to 16-bit codes (`round(65535 · R')`: the 16-bit LUT), so adjacent
//! 10-bit codes stay distinct through linear light.

use crate::error::RenderError;

/// How the planes are laid out (ffmpeg's `pix_fmt` names in [`YuvLayout::name`]). All are
/// 4:2:0: chroma planes are `ceil(w/2)` × `ceil(h/2)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum YuvLayout {
    /// `yuv420p`: three 8-bit planes Y, Cb, Cr.
    Yuv420p,
    /// `nv12`: an 8-bit Y plane and one plane of interleaved Cb, Cr pairs.
    Nv12,
    /// `yuv420p10le`: three planes of 10-bit samples in the low bits of u16 (0..=1023).
    Yuv420p10,
    /// `p010le`: a Y plane and an interleaved Cb, Cr plane of 10-bit samples in the high
    /// bits of u16 (value · 64; the low 6 bits are ignored).
    P010,
}

impl YuvLayout {
    /// Every layout.
    pub const ALL: [YuvLayout; 4] = [
        YuvLayout::Yuv420p,
        YuvLayout::Nv12,
        YuvLayout::Yuv420p10,
        YuvLayout::P010,
    ];

    /// ffmpeg's name of the layout (`-pix_fmt`).
    pub fn name(self) -> &'static str {
        match self {
            YuvLayout::Yuv420p => "yuv420p",
            YuvLayout::Nv12 => "nv12",
            YuvLayout::Yuv420p10 => "yuv420p10le",
            YuvLayout::P010 => "p010le",
        }
    }

    /// 10-bit samples (u16 planes, the 16-bit LUT).
    pub fn is_deep(self) -> bool {
        matches!(self, YuvLayout::Yuv420p10 | YuvLayout::P010)
    }

    /// Bits per sample value: 8 or 10.
    pub fn bits(self) -> u32 {
        if self.is_deep() { 10 } else { 8 }
    }

    /// Cb and Cr interleaved in one plane (`nv12`, `p010le`).
    pub fn semi_planar(self) -> bool {
        matches!(self, YuvLayout::Nv12 | YuvLayout::P010)
    }

    /// Samples (bytes for 8-bit layouts, u16 for 10-bit ones) of one `width` × `height`
    /// frame with tight rows, planes one after the other: what ffmpeg's `rawvideo` writes.
    pub fn frame_samples(self, width: u32, height: u32) -> usize {
        let (w, h) = (width as usize, height as usize);
        w * h + 2 * w.div_ceil(2) * h.div_ceil(2)
    }

    /// The strides of tight rows (samples): Y, then Cb (or CbCr), then Cr (0 when
    /// semi-planar).
    pub fn tight_strides(self, width: u32) -> [usize; 3] {
        let (w, cw) = (width as usize, (width as usize).div_ceil(2));
        if self.semi_planar() {
            [w, 2 * cw, 0]
        } else {
            [w, cw, cw]
        }
    }
}

/// The matrix from R'G'B' to Y'CbCr (the stream's `colorspace` / matrix coefficients).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum YuvMatrix {
    /// ITU-R BT.601 (SD): Kr 0.299, Kb 0.114.
    Bt601,
    /// ITU-R BT.709 (HD): Kr 0.2126, Kb 0.0722.
    #[default]
    Bt709,
    /// ITU-R BT.2020 non-constant luminance (UHD): Kr 0.2627, Kb 0.0593.
    Bt2020,
}

impl YuvMatrix {
    /// Every matrix.
    pub const ALL: [YuvMatrix; 3] = [YuvMatrix::Bt601, YuvMatrix::Bt709, YuvMatrix::Bt2020];

    /// `(Kr, Kb)`.
    pub fn kr_kb(self) -> (f64, f64) {
        match self {
            YuvMatrix::Bt601 => (0.299, 0.114),
            YuvMatrix::Bt709 => (0.2126, 0.0722),
            YuvMatrix::Bt2020 => (0.2627, 0.0593),
        }
    }
}

/// The code range of the samples (the stream's `color_range`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum YuvRange {
    /// Limited ("tv", "mpeg"): 8-bit Y 16–235, C 16–240 (10-bit: ×4).
    #[default]
    Limited,
    /// Full ("pc", "jpeg"): 0–255 (0–1023), chroma centred on 128 (512).
    Full,
}

impl YuvRange {
    /// Both ranges.
    pub const ALL: [YuvRange; 2] = [YuvRange::Limited, YuvRange::Full];
}

/// The planes: Y, Cb, Cr, or Y, CbCr and an empty third for the semi-planar layouts.
#[derive(Debug, Clone, Copy)]
pub enum YuvPlanes<'a> {
    /// 8-bit samples (`yuv420p`, `nv12`).
    Bits8([&'a [u8]; 3]),
    /// 16-bit samples, native endian (`yuv420p10le`, `p010le`).
    Bits16([&'a [u16]; 3]),
}

/// A borrowed 4:2:0 Y'CbCr picture (its size is the [`crate::SourceImage`]'s). Strides
/// are in samples (bytes for 8-bit layouts, u16 for 10-bit ones), at least a row's
/// samples; the last row of a plane may end at its samples (no padding needed).
#[derive(Debug, Clone, Copy)]
pub struct YuvImage<'a> {
    /// How the planes are laid out.
    pub layout: YuvLayout,
    /// The matrix the picture was encoded with.
    pub matrix: YuvMatrix,
    /// The code range.
    pub range: YuvRange,
    /// The planes.
    pub planes: YuvPlanes<'a>,
    /// Row strides of the planes, in samples (the third unused when semi-planar).
    pub strides: [usize; 3],
}

impl<'a> YuvImage<'a> {
    /// `yuv420p`: 8-bit Y, Cb, Cr planes with their strides.
    pub fn yuv420p(
        planes: [&'a [u8]; 3],
        strides: [usize; 3],
        matrix: YuvMatrix,
        range: YuvRange,
    ) -> Self {
        YuvImage {
            layout: YuvLayout::Yuv420p,
            matrix,
            range,
            planes: YuvPlanes::Bits8(planes),
            strides,
        }
    }

    /// `nv12`: an 8-bit Y plane and an interleaved CbCr plane, with their strides.
    pub fn nv12(
        y: &'a [u8],
        cbcr: &'a [u8],
        strides: [usize; 2],
        matrix: YuvMatrix,
        range: YuvRange,
    ) -> Self {
        YuvImage {
            layout: YuvLayout::Nv12,
            matrix,
            range,
            planes: YuvPlanes::Bits8([y, cbcr, &[]]),
            strides: [strides[0], strides[1], 0],
        }
    }

    /// `yuv420p10le`: three planes of 10-bit samples (low-aligned u16), with their strides.
    pub fn yuv420p10(
        planes: [&'a [u16]; 3],
        strides: [usize; 3],
        matrix: YuvMatrix,
        range: YuvRange,
    ) -> Self {
        YuvImage {
            layout: YuvLayout::Yuv420p10,
            matrix,
            range,
            planes: YuvPlanes::Bits16(planes),
            strides,
        }
    }

    /// `p010le`: a Y plane and an interleaved CbCr plane of 10-bit samples (high-aligned
    /// u16), with their strides.
    pub fn p010(
        y: &'a [u16],
        cbcr: &'a [u16],
        strides: [usize; 2],
        matrix: YuvMatrix,
        range: YuvRange,
    ) -> Self {
        YuvImage {
            layout: YuvLayout::P010,
            matrix,
            range,
            planes: YuvPlanes::Bits16([y, cbcr, &[]]),
            strides: [strides[0], strides[1], 0],
        }
    }

    /// An 8-bit layout's `width` × `height` frame as ffmpeg's `rawvideo` writes it (tight
    /// rows, planes one after the other), or `None` if `layout` is a 10-bit one or `frame`
    /// is not [`YuvLayout::frame_samples`] long.
    pub fn from_frame8(
        layout: YuvLayout,
        width: u32,
        height: u32,
        frame: &'a [u8],
        matrix: YuvMatrix,
        range: YuvRange,
    ) -> Option<Self> {
        let planes = split_frame(layout, width, height, frame)?;
        (!layout.is_deep()).then_some(YuvImage {
            layout,
            matrix,
            range,
            planes: YuvPlanes::Bits8(planes),
            strides: layout.tight_strides(width),
        })
    }

    /// [`YuvImage::from_frame8`] for the 10-bit layouts (u16 samples, native endian).
    pub fn from_frame16(
        layout: YuvLayout,
        width: u32,
        height: u32,
        frame: &'a [u16],
        matrix: YuvMatrix,
        range: YuvRange,
    ) -> Option<Self> {
        let planes = split_frame(layout, width, height, frame)?;
        layout.is_deep().then_some(YuvImage {
            layout,
            matrix,
            range,
            planes: YuvPlanes::Bits16(planes),
            strides: layout.tight_strides(width),
        })
    }

    /// Check the planes against a `width` × `height` picture: sample type for the layout,
    /// each stride at least a row, each plane long enough for its rows.
    pub fn check(&self, width: u32, height: u32) -> Result<(), RenderError> {
        let fail = |field: &'static str, reason: String| RenderError::YuvPlane {
            width,
            height,
            layout: self.layout.name(),
            field,
            reason,
        };
        if width == 0 || height == 0 {
            return Err(RenderError::EmptySource { width, height });
        }
        let lens = match (self.planes, self.layout.is_deep()) {
            (YuvPlanes::Bits8(p), false) => p.map(<[u8]>::len),
            (YuvPlanes::Bits16(p), true) => p.map(<[u16]>::len),
            (YuvPlanes::Bits8(_), true) => {
                return Err(fail("planes", "10-bit layout needs u16 planes".into()));
            }
            (YuvPlanes::Bits16(_), false) => {
                return Err(fail("planes", "8-bit layout needs u8 planes".into()));
            }
        };
        const PLANES: [&str; 3] = ["planes[0] (Y)", "planes[1] (Cb)", "planes[2] (Cr)"];
        const STRIDES: [&str; 3] = ["strides[0]", "strides[1]", "strides[2]"];
        let (row, rows) = self.plane_shape(width, height);
        for p in 0..self.plane_count() {
            let stride = self.strides[p];
            if stride < row[p] {
                let reason = format!("{stride} is less than a row of {} samples", row[p]);
                return Err(fail(STRIDES[p], reason));
            }
            let need = stride * (rows[p] - 1) + row[p];
            if lens[p] < need {
                let reason = format!(
                    "{} samples, {} rows of stride {stride} need {need}",
                    lens[p], rows[p]
                );
                let field = if p == 1 && self.layout.semi_planar() {
                    "planes[1] (CbCr)"
                } else {
                    PLANES[p]
                };
                return Err(fail(field, reason));
            }
        }
        Ok(())
    }

    /// Planes in use: 3, or 2 when semi-planar.
    pub(crate) fn plane_count(&self) -> usize {
        if self.layout.semi_planar() { 2 } else { 3 }
    }

    /// Samples a row and rows of each plane.
    pub(crate) fn plane_shape(&self, width: u32, height: u32) -> ([usize; 3], [usize; 3]) {
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        if self.layout.semi_planar() {
            ([w, 2 * cw, 0], [h, ch, 1])
        } else {
            ([w, cw, cw], [h, ch, ch])
        }
    }
}

fn split_frame<T>(layout: YuvLayout, width: u32, height: u32, frame: &[T]) -> Option<[&[T]; 3]> {
    if frame.len() != layout.frame_samples(width, height) {
        return None;
    }
    let (w, h) = (width as usize, height as usize);
    let c = w.div_ceil(2) * h.div_ceil(2);
    let (y, rest) = frame.split_at(w * h);
    Some(if layout.semi_planar() {
        [y, rest, &[]]
    } else {
        let (u, v) = rest.split_at(c);
        [y, u, v]
    })
}

/// The conversion as affine maps of the sample values, scaled to `scale` (255 for 8-bit
/// codes, 65535 for 16-bit ones, 1 for normalized): `R = ky·(Y − y_off) + rv·(Cr − c_off)`,
/// `G = ky·(Y − y_off) + gu·(Cb − c_off) + gv·(Cr − c_off)`,
/// `B = ky·(Y − y_off) + bu·(Cb − c_off)`; unclamped. Computed in f64.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coefficients {
    /// Per luma code.
    pub ky: f64,
    /// Cr → R.
    pub rv: f64,
    /// Cb → G.
    pub gu: f64,
    /// Cr → G.
    pub gv: f64,
    /// Cb → B.
    pub bu: f64,
    /// Luma offset (sample value).
    pub y_off: f64,
    /// Chroma offset (sample value).
    pub c_off: f64,
}

impl Coefficients {
    /// The coefficients of `matrix` and `range` for `bits`-bit sample values.
    pub fn new(matrix: YuvMatrix, range: YuvRange, bits: u32, scale: f64) -> Coefficients {
        let (kr, kb) = matrix.kr_kb();
        let kg = 1.0 - kr - kb;
        let unit = f64::from(1u32 << (bits - 8));
        let (y_off, y_scale, c_scale) = match range {
            YuvRange::Limited => (16.0 * unit, 219.0 * unit, 224.0 * unit),
            YuvRange::Full => {
                let max = f64::from((1u32 << bits) - 1);
                (0.0, max, max)
            }
        };
        let c = scale / c_scale;
        Coefficients {
            ky: scale / y_scale,
            rv: 2.0 * (1.0 - kr) * c,
            gu: -2.0 * kb * (1.0 - kb) / kg * c,
            gv: -2.0 * kr * (1.0 - kr) / kg * c,
            bu: 2.0 * (1.0 - kb) * c,
            y_off,
            c_off: f64::from(1u32 << (bits - 1)),
        }
    }

    /// The coefficients of `image` at its code depth: 8-bit codes (scale 255) for 8-bit
    /// layouts, 16-bit codes (65535) for 10-bit ones.
    pub fn codes(image: &YuvImage<'_>) -> Coefficients {
        let scale = if image.layout.is_deep() {
            65535.0
        } else {
            255.0
        };
        Coefficients::new(image.matrix, image.range, image.layout.bits(), scale)
    }
}

impl YuvImage<'_> {
    /// Convert the whole `width` × `height` picture to RGBA8 codes (alpha 255) in `out`
    /// (`width · height · 4` bytes), as the renderers do: for an 8-bit layout, the codes
    /// their pipelines see. For stills, tests and tools; video is converted inside the
    /// pipeline.
    pub fn to_rgba8(&self, width: u32, height: u32, out: &mut [u8]) -> Result<(), RenderError> {
        let rows = self.rows_for(width, height, out.len(), false)?;
        for (y, row) in out.chunks_exact_mut(width as usize * 4).enumerate() {
            rows.rgba8(y, row);
        }
        Ok(())
    }

    /// [`YuvImage::to_rgba8`] to RGBA16 codes (alpha 65535), for the 10-bit layouts.
    pub fn to_rgba16(&self, width: u32, height: u32, out: &mut [u16]) -> Result<(), RenderError> {
        let rows = self.rows_for(width, height, out.len(), true)?;
        for (y, row) in out.chunks_exact_mut(width as usize * 4).enumerate() {
            rows.rgba16(y, row);
        }
        Ok(())
    }

    fn rows_for(
        &self,
        width: u32,
        height: u32,
        out: usize,
        deep: bool,
    ) -> Result<crate::cpu::yuv::Rows<'_>, RenderError> {
        self.check(width, height)?;
        let expected = width as usize * height as usize * 4;
        let fail = |reason: String| RenderError::YuvPlane {
            width,
            height,
            layout: self.layout.name(),
            field: "out",
            reason,
        };
        if deep != self.layout.is_deep() {
            let (want, have) = if deep {
                ("to_rgba8", "to_rgba16")
            } else {
                ("to_rgba16", "to_rgba8")
            };
            return Err(fail(format!(
                "this layout converts with {want}, not {have}"
            )));
        }
        if out != expected {
            return Err(fail(format!("{out} samples, the picture needs {expected}")));
        }
        Ok(crate::cpu::yuv::Rows::new(self, width, height))
    }
}
