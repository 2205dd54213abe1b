//! Stage 1 on the GPU: `shaders/linearize.wgsl`, its uniform and its kernel (an RGBA
//! source; the Y'CbCr variant is [`super::yuv::LINEARIZE_YUV`]).

use super::kernel::{Bind, Kernel, WG_2D};
use bytemuck::{Pod, Zeroable};

/// The uniform of `linearize.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq, Eq)]
pub struct Params {
    /// First source texel read.
    pub src_origin: [u32; 2],
    /// Where it lands in the destination texture.
    pub dst_origin: [u32; 2],
    /// Texels converted.
    pub size: [u32; 2],
    /// Padding to 16 bytes.
    pub pad: [u32; 2],
}

/// Code values → linear light through the LUT, a rect of the source into a rect of an
/// `rgba16uint` texture (the layer canvas, or the resampler's linear source).
pub const LINEARIZE: Kernel = Kernel {
    label: "linearize",
    source: concat!(
        include_str!("../../shaders/common.wgsl"),
        include_str!("../../shaders/source_rgba.wgsl"),
        include_str!("../../shaders/linearize.wgsl")
    ),
    entry: "main",
    workgroup: WG_2D,
    bindings: &[
        (0, Bind::Uniform(size_of::<Params>() as u64)),
        (1, Bind::TextureUint),
        (2, Bind::StorageRead),
        (3, Bind::StorageTexture(wgpu::TextureFormat::Rgba16Uint)),
    ],
};
