//! Stage 3 on the GPU: `shaders/compose.wgsl`, its uniform and kernels, and the per-frame
//! uniform ([`Frame`], `struct Frame` in `shaders/common.wgsl`) that quantize reads too.

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

impl Params {
    /// The uniform of `fill_outside` for a layer whose rect on the `w` × `h` canvas is
    /// `rect` (x, y, w, h); `mix` reads only the size and the background (rect zero).
    pub fn new(w: u32, h: u32, rect: [u32; 4], background: [u16; 3]) -> Params {
        let bg = background.map(u32::from);
        Params {
            size: [w, h],
            pad: [0; 2],
            rect,
            bg: [bg[0], bg[1], bg[2], 0],
        }
    }
}

/// What changes every frame: the dither thresholds and the mix weights. It reaches the GPU
/// through the upload ring with the frame's pixels. WGSL: `struct Frame` in
/// `shaders/common.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct Frame {
    /// `t[y & 7][x & 7]`, row-major.
    pub thresholds: [f32; 64],
    /// wa, wb, wbg, unused.
    pub weights: [f32; 4],
}

impl Frame {
    /// The frame's thresholds (`t[y & 7][x & 7]`) and the weights of layers a and b (the
    /// background takes the rest).
    pub fn new(thresholds: &[[f32; 8]; 8], wa: f32, wb: f32) -> Frame {
        Frame {
            thresholds: std::array::from_fn(|i| thresholds[i / 8][i % 8]),
            weights: [wa, wb, (1.0 - wa - wb).max(0.0), 0.0],
        }
    }
}

const PARAMS: u64 = size_of::<Params>() as u64;
/// Size of [`Frame`].
pub const FRAME: u64 = size_of::<Frame>() as u64;

const SOURCE: &str = concat!(
    include_str!("../../shaders/common.wgsl"),
    include_str!("../../shaders/compose.wgsl")
);

/// `fill_outside`: the background around a layer's rect on its canvas.
pub const FILL: Kernel = Kernel {
    label: "compose.fill_outside",
    source: SOURCE,
    entry: "fill_outside",
    workgroup: WG_2D,
    bindings: &[
        (0, Bind::Uniform(PARAMS)),
        (4, Bind::StorageTexture(wgpu::TextureFormat::Rgba16Uint)),
    ],
};

/// `mix`: two layer canvases and the background, weighted, into `composed`.
pub const MIX: Kernel = Kernel {
    label: "compose.mix",
    source: SOURCE,
    entry: "mix",
    workgroup: WG_2D,
    bindings: &[
        (0, Bind::Uniform(PARAMS)),
        (1, Bind::Uniform(FRAME)),
        (2, Bind::TextureUint),
        (3, Bind::TextureUint),
        (4, Bind::StorageTexture(wgpu::TextureFormat::Rgba16Uint)),
    ],
};
