// The `display:` output's present pass: one full-window triangle whose fragment shader
// reads the frame's RGB8 bytes at integer pixel coordinates and writes code / 255 to a
// non-sRGB 8-bit surface, so the window shows the frame's bytes unchanged: no scaling, no
// filtering, no transfer curve. Outside the region: black.
//
// `frame` holds the bytes packed 4 per u32 word, little-endian (byte i is bits
// 8 * (i % 4) .. of word i / 4): the layout the GPU render writes its port buffers in, so a
// GPU path can bind the renderer's buffer here directly.

// Keep in sync with `Params` in display/present.rs.
struct Params {
    offset: vec2<u32>,  // the region's top-left in window pixels
    size: vec2<u32>,    // the region's width and height in pixels
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> frame: array<u32>;

@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    // (-1, -1), (3, -1), (-1, 3): one triangle that covers the whole viewport.
    let x = f32((i & 1u) * 4u) - 1.0;
    let y = f32((i >> 1u) * 4u) - 1.0;
    return vec4<f32>(x, y, 0.0, 1.0);
}

fn byte_at(i: u32) -> f32 {
    let word = frame[i >> 2u];
    return f32((word >> ((i & 3u) * 8u)) & 0xffu);
}

@fragment
fn fs_main(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    // Fragment positions are pixel centres (x + 0.5, y + 0.5), y down from the top.
    let p = vec2<i32>(floor(pos.xy)) - vec2<i32>(params.offset);
    if (p.x < 0 || p.y < 0 || p.x >= i32(params.size.x) || p.y >= i32(params.size.y)) {
        return vec4<f32>(0.0, 0.0, 0.0, 1.0);
    }
    let i = (u32(p.y) * params.size.x + u32(p.x)) * 3u;
    let rgb = vec3<f32>(byte_at(i), byte_at(i + 1u), byte_at(i + 2u));
    return vec4<f32>(rgb / 255.0, 1.0);
}
