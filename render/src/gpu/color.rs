//! Stage 4 on the GPU: `shaders/color.wgsl`, its uniform and kernel, and the calibration
//! matrices it reads.

use super::kernel::{Bind, Kernel, WG_2D};
use crate::geometry::Geometry;
use bytemuck::{Pod, Zeroable};

/// The uniform of `color.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq)]
pub struct Params {
    /// Canvas width, height.
    pub size: [u32; 2],
    /// Padding.
    pub pad: [u32; 2],
    /// Per-channel gains (brightness × white point), alpha unused.
    pub gains: [f32; 4],
}

impl Params {
    /// The uniform of a `w` × `h` canvas with `gains`.
    pub fn new(w: u32, h: u32, gains: [f32; 3]) -> Params {
        Params {
            size: [w, h],
            pad: [0; 2],
            gains: [gains[0], gains[1], gains[2], 0.0],
        }
    }
}

/// The per-pixel matrix map (0 = gains only, else 1 + matrix index; row-major canvas) and
/// the matrices with the gains multiplied in, row by row, as the CPU backend does.
pub fn matrices(g: &Geometry, gains: [f32; 3]) -> (Vec<u32>, Vec<f32>) {
    let mut map = Vec::new();
    if !g.cal_spans.is_empty() {
        map = vec![0u32; g.canvas_pixels()];
        for s in &g.cal_spans {
            map[s.start as usize..s.end as usize].fill(s.matrix + 1);
        }
    }
    let mut m = Vec::with_capacity(g.calibrations.len() * 9 + 9);
    fill_matrices(g, gains, &mut m);
    (map, m)
}

/// The matrices of [`matrices`] into `m` (cleared first; at least 9 values, as a binding
/// must not be empty). Reuses `m`'s memory: a brightness fade rewrites them every frame.
pub fn fill_matrices(g: &Geometry, gains: [f32; 3], m: &mut Vec<f32>) {
    m.clear();
    for cal in &g.calibrations {
        for (r, row) in cal.iter().enumerate() {
            m.extend(row.iter().map(|v| v * gains[r]));
        }
    }
    if m.is_empty() {
        m.resize(9, 0.0);
    }
}

/// Gains or calibration matrix per pixel, from a linear canvas into `colored`.
pub const COLOR: Kernel = Kernel {
    label: "color",
    source: concat!(
        include_str!("../../shaders/common.wgsl"),
        include_str!("../../shaders/color.wgsl")
    ),
    entry: "main",
    workgroup: WG_2D,
    bindings: &[
        (0, Bind::Uniform(size_of::<Params>() as u64)),
        (1, Bind::TextureUint),
        (2, Bind::TextureUint),
        (3, Bind::StorageRead),
        (4, Bind::StorageTexture(wgpu::TextureFormat::Rgba16Uint)),
    ],
};
