// Stage 5 for display-encoded `canvas` ports (design §7.1): linear light -> 8-bit codes
// re-encoded with the wall's transfer curve, dithered with the frame's thresholds. The
// encode table holds round(inverse_transfer(L / 65535) * 255 * 256) per linear value (Rust:
// `color::EncodeLut`); the threshold t (a multiple of 1/128) becomes the integer
// t * 256, so code = min((enc[L] + t * 256) >> 8, 255) in integers, exactly as the CPU.

struct Params {
    size: vec2<u32>,
    scale: f32, // unused here (the uniform is the linear kernel's)
    max: f32,   // unused here
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> frame: Frame;
@group(0) @binding(2) var src: texture_2d<u32>;
@group(0) @binding(3) var dst: texture_storage_2d<rgba16uint, write>;
@group(0) @binding(4) var<storage, read> enc: array<u32>;

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.size.x || id.y >= p.size.y) {
        return;
    }
    let i = (id.y & 7u) * 8u + (id.x & 7u);
    let t = u32(frame.thresholds[i / 4u][i % 4u] * 256.0);
    let l = textureLoad(src, id.xy, 0).rgb;
    let e = vec3<u32>(enc[l.r], enc[l.g], enc[l.b]);
    let q = min((e + vec3<u32>(t)) >> vec3<u32>(8u), vec3<u32>(255u));
    textureStore(dst, id.xy, vec4<u32>(q, 0u));
}
