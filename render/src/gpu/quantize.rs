//! Stage 5 on the GPU: `shaders/quantize.wgsl`, its uniform and its kernel.

use super::kernel::{Bind, Kernel, WG_2D};
use bytemuck::{Pod, Zeroable};

/// The uniform of `quantize.wgsl` (one per output depth).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct Params {
    /// Canvas width, height.
    pub size: [u32; 2],
    /// `(2^depth − 1) / 65535`.
    pub scale: f32,
    /// `2^depth − 1`.
    pub max: f32,
}

impl Params {
    /// The uniform of a `w` × `h` canvas quantized to `depth` bits.
    pub fn new(w: u32, h: u32, depth: u32) -> Params {
        let max = ((1u32 << depth) - 1) as f32;
        Params {
            size: [w, h],
            scale: max / 65535.0,
            max,
        }
    }
}

/// Linear light → codes of one depth, dithered with the frame's thresholds
/// ([`super::compose::Frame`]).
pub const QUANTIZE: Kernel = Kernel {
    label: "quantize",
    source: concat!(
        include_str!("../../shaders/common.wgsl"),
        include_str!("../../shaders/quantize.wgsl")
    ),
    entry: "main",
    workgroup: WG_2D,
    bindings: &[
        (0, Bind::Uniform(size_of::<Params>() as u64)),
        (1, Bind::Uniform(super::compose::FRAME)),
        (2, Bind::TextureUint),
        (3, Bind::StorageTexture(wgpu::TextureFormat::Rgba16Uint)),
    ],
};

/// Linear light → display-encoded 8-bit codes of `canvas` ports, through the encode table
/// ([`crate::color::EncodeLut`], one u32 per entry), dithered with the frame's thresholds.
pub const QUANTIZE_DISPLAY: Kernel = Kernel {
    label: "quantize display",
    source: concat!(
        include_str!("../../shaders/common.wgsl"),
        include_str!("../../shaders/quantize_display.wgsl")
    ),
    entry: "main",
    workgroup: WG_2D,
    bindings: &[
        (0, Bind::Uniform(size_of::<Params>() as u64)),
        (1, Bind::Uniform(super::compose::FRAME)),
        (2, Bind::TextureUint),
        (3, Bind::StorageTexture(wgpu::TextureFormat::Rgba16Uint)),
        (4, Bind::StorageRead),
    ],
};
