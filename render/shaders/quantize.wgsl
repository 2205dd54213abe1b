// Stage 5, quantize: linear light -> output codes of `depth` bits with the frame's dither
// thresholds: min(L * scale + t[y & 7][x & 7], max), truncated (design §3; the CPU
// formula). `Frame` and `to_u16` are in common.wgsl.

struct Params {
    size: vec2<u32>,
    scale: f32, // (2^depth - 1) / 65535
    max: f32,   // 2^depth - 1
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> frame: Frame;
@group(0) @binding(2) var src: texture_2d<u32>;
@group(0) @binding(3) var dst: texture_storage_2d<rgba16uint, write>;

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.size.x || id.y >= p.size.y) {
        return;
    }
    let i = (id.y & 7u) * 8u + (id.x & 7u);
    let t = frame.thresholds[i / 4u][i % 4u];
    let v = vec3<f32>(textureLoad(src, id.xy, 0).rgb) * p.scale + t;
    let q = to_u16(min(v, vec3<f32>(p.max)));
    textureStore(dst, id.xy, vec4<u32>(q, 0u));
}
