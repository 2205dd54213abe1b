//! Stage 5 on the GPU: `shaders/quantize.wgsl`.

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

/// The kernel.
pub const KERNELS: &[Kernel] = &[Kernel {
    label: "quantize",
    source: include_str!("../../shaders/quantize.wgsl"),
    entry: "main",
    workgroup: WG_2D,
    bindings: &[
        (0, Bind::Uniform(size_of::<Params>() as u64)),
        (1, Bind::Uniform(super::compose::FRAME)),
        (2, Bind::TextureUint),
        (3, Bind::StorageTexture(wgpu::TextureFormat::Rgba16Uint)),
    ],
}];
