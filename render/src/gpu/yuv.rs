//! Planar Y'CbCr sources on the GPU: the planes are uploaded as they are (one `r8uint` /
//! `r16uint` texture per plane, `rg8uint` / `rg16uint` for the interleaved chroma of
//! `nv12` / `p010le`) and converted to R'G'B' codes by the first pass that reads the source
//! (`shaders/source_yuv.wgsl` in front of linearize, or of resample's vertical pass in fast
//! mode); nothing is converted on the CPU and no RGBA copy of the picture exists.
//!
//! Arithmetic: chroma interpolated exactly (integer sums of eighths, the siting of
//! [`crate::yuv`]), the matrix in f32 on the offset-free sample values with the f64
//! coefficients of [`Coefficients`] rounded to f32, then rounded to the code (8-bit for
//! 8-bit layouts, 16-bit for 10-bit ones). The f32 error stays below 0.01 of a 16-bit code,
//! so a code is the f64 reference's rounded value except within that distance of a half
//! code: the tolerance is one code against the reference and against the CPU backend
//! (`tests/yuv_gpu.rs` holds both; on lavapipe 99.94 % of codes equal the CPU's).

use super::device::Gpu;
use super::kernel::{Bind, Kernel, WG_2D};
use super::linearize;
use super::resources::{ROW_ALIGN, Tex};
use crate::frame::PixelData;
use crate::yuv::{Coefficients, YuvImage, YuvLayout, YuvMatrix, YuvPlanes, YuvRange};
use bytemuck::{Pod, Zeroable};

/// What a Y'CbCr placement's kernels and uniform depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct YuvKey {
    pub(super) layout: YuvLayout,
    pub(super) matrix: YuvMatrix,
    pub(super) range: YuvRange,
}

impl YuvKey {
    /// The key of a Y'CbCr source, `None` for RGBA.
    pub(super) fn of(data: &PixelData<'_>) -> Option<YuvKey> {
        match data {
            PixelData::Yuv(img) => Some(YuvKey {
                layout: img.layout,
                matrix: img.matrix,
                range: img.range,
            }),
            _ => None,
        }
    }
}

/// The uniform of `source_yuv.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct Params {
    /// `rv, gu, gv, bu` per eighth of a chroma value.
    pub k: [f32; 4],
    /// Per luma value.
    pub ky: f32,
    /// The largest code: 255 or 65535.
    pub max_code: f32,
    /// Luma offset (sample value).
    pub y_off: i32,
    /// Chroma offset in eighths.
    pub c_off8: i32,
    /// Last chroma column and row.
    pub chroma_last: [u32; 2],
    /// Right shift of a stored sample (6 for `p010le`'s high-aligned samples).
    pub shift: u32,
    /// Largest sample value after the shift (255 or 1023; `yuv420p10le` clamps to it).
    pub sample_max: u32,
    /// 1 when Cb and Cr are interleaved in one plane.
    pub semi: u32,
    /// Padding to 64 bytes.
    pub pad: [u32; 3],
}

impl Params {
    /// The uniform of `key` for a `width` × `height` picture: the coefficients the CPU
    /// backend uses ([`Coefficients::codes`], rounded to f32 the same way).
    pub(super) fn new(key: YuvKey, width: u32, height: u32) -> Params {
        let layout = key.layout;
        let deep = layout.is_deep();
        let scale = if deep { 65535.0 } else { 255.0 };
        let c = Coefficients::new(key.matrix, key.range, layout.bits(), scale);
        Params {
            k: [c.rv, c.gu, c.gv, c.bu].map(|v| (v / 8.0) as f32),
            ky: c.ky as f32,
            max_code: scale as f32,
            y_off: c.y_off as i32,
            c_off8: 8 * c.c_off as i32,
            chroma_last: [width.div_ceil(2) - 1, height.div_ceil(2) - 1],
            shift: if layout == YuvLayout::P010 { 6 } else { 0 },
            sample_max: (1 << layout.bits()) - 1,
            semi: u32::from(layout.semi_planar()),
            pad: [0; 3],
        }
    }
}

const PARAMS: u64 = size_of::<Params>() as u64;

/// [`linearize::LINEARIZE`] reading Y'CbCr planes.
pub const LINEARIZE_YUV: Kernel = Kernel {
    label: "linearize.yuv",
    source: concat!(
        include_str!("../../shaders/common.wgsl"),
        include_str!("../../shaders/source_yuv.wgsl"),
        include_str!("../../shaders/linearize.wgsl")
    ),
    entry: "main",
    workgroup: WG_2D,
    bindings: &[
        (0, Bind::Uniform(size_of::<linearize::Params>() as u64)),
        (1, Bind::TextureUint),
        (2, Bind::StorageRead),
        (3, Bind::StorageTexture(wgpu::TextureFormat::Rgba16Uint)),
        (7, Bind::TextureUint),
        (8, Bind::TextureUint),
        (9, Bind::Uniform(PARAMS)),
    ],
};

/// [`super::resample::VERTICAL`] reading Y'CbCr planes (fast mode: the resampler reads
/// the codes).
pub const VERTICAL_YUV: Kernel = Kernel {
    label: "resample.vertical.yuv",
    source: concat!(
        include_str!("../../shaders/common.wgsl"),
        include_str!("../../shaders/source_yuv.wgsl"),
        include_str!("../../shaders/resample.wgsl")
    ),
    entry: "vertical",
    workgroup: WG_2D,
    bindings: &[
        (
            0,
            Bind::Uniform(size_of::<super::resample::Params>() as u64),
        ),
        (1, Bind::TextureUint),
        (2, Bind::StorageRead),
        (3, Bind::StorageTexture(wgpu::TextureFormat::Rgba32Float)),
        (7, Bind::TextureUint),
        (8, Bind::TextureUint),
        (9, Bind::Uniform(PARAMS)),
    ],
};

/// One texture written from the upload ring each frame the layer renders: the RGBA
/// source, or one plane.
pub(super) struct Upload {
    pub(super) tex: Tex,
    pub(super) width: u32,
    pub(super) height: u32,
    /// Bytes of one row, and the padded row stride in the upload buffer.
    pub(super) row: u64,
    pub(super) row_padded: u64,
    /// Where its rows start within the layer's part of the upload buffer.
    pub(super) at: u64,
}

impl Upload {
    /// Bytes it takes in the upload buffer, rounded up to the next row alignment.
    pub(super) fn len(&self) -> u64 {
        (self.row_padded * u64::from(self.height)).next_multiple_of(ROW_ALIGN)
    }
}

/// A texture only read by shaders and written by copies (the plane formats are not
/// storage formats).
fn plane_texture(gpu: &Gpu, label: &str, w: u32, h: u32, format: wgpu::TextureFormat) -> Tex {
    let tex = gpu.device.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size: super::resources::extent(w.max(1), h.max(1)),
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    });
    let view = tex.create_view(&Default::default());
    Tex { tex, view }
}

/// The plane textures of a `width` × `height` picture of `layout`, laid out one after the
/// other in the upload buffer: Y, then Cb and Cr (or CbCr).
pub(super) fn planes(gpu: &Gpu, layout: YuvLayout, width: u32, height: u32) -> Vec<Upload> {
    use wgpu::TextureFormat as F;
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    let deep = layout.is_deep();
    let (one, two) = if deep {
        (F::R16Uint, F::Rg16Uint)
    } else {
        (F::R8Uint, F::Rg8Uint)
    };
    let sample: u64 = if deep { 2 } else { 1 };
    let shapes: &[(&str, u32, u32, F, u64)] = if layout.semi_planar() {
        &[
            ("Y plane", width, height, one, 1),
            ("CbCr plane", cw, ch, two, 2),
        ]
    } else {
        &[
            ("Y plane", width, height, one, 1),
            ("Cb plane", cw, ch, one, 1),
            ("Cr plane", cw, ch, one, 1),
        ]
    };
    let mut at = 0;
    shapes
        .iter()
        .map(|&(label, w, h, format, per)| {
            let row = u64::from(w) * per * sample;
            let up = Upload {
                tex: plane_texture(gpu, label, w, h, format),
                width: w,
                height: h,
                row,
                row_padded: row.next_multiple_of(ROW_ALIGN),
                at,
            };
            at += up.len();
            up
        })
        .collect()
}

/// Plane `p` of `img` as bytes, and its row stride in bytes.
pub(super) fn plane_bytes<'a>(img: &YuvImage<'a>, p: usize) -> (&'a [u8], usize) {
    match img.planes {
        YuvPlanes::Bits8(planes) => (planes[p], img.strides[p]),
        YuvPlanes::Bits16(planes) => (bytemuck::cast_slice(planes[p]), img.strides[p] * 2),
    }
}
