//! Stage 3 on the GPU: `shaders/compose.wgsl`.

use super::kernel::{Bind, Kernel, WG_2D};
use bytemuck::{Pod, Zeroable};

/// The uniform of `compose.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq, Eq)]
pub struct Params {
    /// Canvas width, height.
    pub size: [u32; 2],
    /// Padding.
    pub pad: [u32; 2],
    /// The layer's rect (x, y, w, h) for `fill_outside`.
    pub rect: [u32; 4],
    /// Background in linear light (alpha unused).
    pub bg: [u32; 4],
}

/// What changes every frame: the dither thresholds and the mix weights. It reaches the GPU
/// through the upload ring with the frame's pixels.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct Frame {
    /// `t[y & 7][x & 7]`, row-major.
    pub thresholds: [f32; 64],
    /// wa, wb, wbg, unused.
    pub weights: [f32; 4],
}

const PARAMS: u64 = size_of::<Params>() as u64;
/// Size of [`Frame`].
pub const FRAME: u64 = size_of::<Frame>() as u64;

/// `fill_outside` and `mix`.
pub const KERNELS: &[Kernel] = &[
    Kernel {
        label: "compose.fill_outside",
        source: include_str!("../../shaders/compose.wgsl"),
        entry: "fill_outside",
        workgroup: WG_2D,
        bindings: &[
            (0, Bind::Uniform(PARAMS)),
            (4, Bind::StorageTexture(wgpu::TextureFormat::Rgba16Uint)),
        ],
    },
    Kernel {
        label: "compose.mix",
        source: include_str!("../../shaders/compose.wgsl"),
        entry: "mix",
        workgroup: WG_2D,
        bindings: &[
            (0, Bind::Uniform(PARAMS)),
            (1, Bind::Uniform(FRAME)),
            (2, Bind::TextureUint),
            (3, Bind::TextureUint),
            (4, Bind::StorageTexture(wgpu::TextureFormat::Rgba16Uint)),
        ],
    },
];
