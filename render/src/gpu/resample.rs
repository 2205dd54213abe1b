//! Stage 2 on the GPU: `shaders/resample.wgsl`, its uniform and its two passes, reading the
//! coefficient tables both backends use ([`crate::filter::Tables`]) unchanged.

use super::kernel::{Bind, Kernel, WG_2D};
use crate::filter::Tables;
use bytemuck::{Pod, Zeroable};

/// The uniform of `resample.wgsl` (both entry points).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq, Eq)]
pub struct Params {
    /// Source pixel of texel (0, 0) of the bound source texture.
    pub src_origin: [u32; 2],
    /// First source column the plan reads.
    pub x0: u32,
    /// Source columns read.
    pub width: u32,
    /// Destination rect: x, y, w, h.
    pub dst: [u32; 4],
    /// Offset of the vertical starts in the table buffer (words).
    pub v_start: u32,
    /// Offset of the vertical weights.
    pub v_weights: u32,
    /// Vertical taps.
    pub v_taps: u32,
    /// Offset of the horizontal starts.
    pub h_start: u32,
    /// Offset of the horizontal weights.
    pub h_weights: u32,
    /// Horizontal taps.
    pub h_taps: u32,
    /// 0: linear output; 1: code values through the LUT (`resample = "fast"`).
    pub lut_mode: u32,
    /// Largest LUT index.
    pub lut_max: u32,
}

/// The table buffer of a plan (vertical starts, weights, horizontal starts, weights) and
/// the matching offsets in `params`.
pub fn tables(plan: &Tables, params: &mut Params) -> Vec<u32> {
    let mut t = Vec::with_capacity(
        plan.v.start.len() + plan.v.weights.len() + plan.h.start.len() + plan.h.weights.len(),
    );
    params.v_start = t.len() as u32;
    t.extend_from_slice(&plan.v.start);
    params.v_weights = t.len() as u32;
    t.extend(plan.v.weights.iter().map(|w| w.to_bits()));
    params.v_taps = plan.v.taps as u32;
    params.h_start = t.len() as u32;
    t.extend_from_slice(&plan.h.start);
    params.h_weights = t.len() as u32;
    t.extend(plan.h.weights.iter().map(|w| w.to_bits()));
    params.h_taps = plan.h.taps as u32;
    t
}

const PARAMS: u64 = size_of::<Params>() as u64;

const SOURCE: &str = concat!(
    include_str!("../../shaders/common.wgsl"),
    include_str!("../../shaders/source_rgba.wgsl"),
    include_str!("../../shaders/resample.wgsl")
);

/// The first pass: source rows summed into the `rgba32float` intermediate (an RGBA source;
/// the Y'CbCr variant is [`super::yuv::VERTICAL_YUV`]).
pub const VERTICAL: Kernel = Kernel {
    label: "resample.vertical",
    source: SOURCE,
    entry: "vertical",
    workgroup: WG_2D,
    bindings: &[
        (0, Bind::Uniform(PARAMS)),
        (1, Bind::TextureUint),
        (2, Bind::StorageRead),
        (3, Bind::StorageTexture(wgpu::TextureFormat::Rgba32Float)),
    ],
};

/// The second pass: the intermediate's rows summed into the layer's rect of its canvas.
pub const HORIZONTAL: Kernel = Kernel {
    label: "resample.horizontal",
    source: SOURCE,
    entry: "horizontal",
    workgroup: WG_2D,
    bindings: &[
        (0, Bind::Uniform(PARAMS)),
        (2, Bind::StorageRead),
        (4, Bind::TextureFloat),
        (5, Bind::StorageRead),
        (6, Bind::StorageTexture(wgpu::TextureFormat::Rgba16Uint)),
    ],
};
