// Stage 4, colour: per-module 3x3 calibration x white point x brightness, in linear light.
// `matrix_of` holds, per canvas pixel, 0 (no calibration: per-channel gains) or 1 + the
// index of its matrix; the matrices arrive with the gains already multiplied in, exactly
// as the CPU backend computes them. `to_u16` is in common.wgsl.

struct Params {
    size: vec2<u32>,
    _pad: vec2<u32>,
    gains: vec4<f32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var src: texture_2d<u32>;
@group(0) @binding(2) var matrix_of: texture_2d<u32>;
@group(0) @binding(3) var<storage, read> matrices: array<f32>;
@group(0) @binding(4) var dst: texture_storage_2d<rgba16uint, write>;

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.size.x || id.y >= p.size.y) {
        return;
    }
    let v = vec3<f32>(textureLoad(src, id.xy, 0).rgb);
    let m = textureLoad(matrix_of, id.xy, 0).r;
    var l: vec3<f32>;
    if (m == 0u) {
        l = v * p.gains.rgb;
    } else {
        let o = (m - 1u) * 9u;
        l = vec3<f32>(
            matrices[o] * v.x + matrices[o + 1u] * v.y + matrices[o + 2u] * v.z,
            matrices[o + 3u] * v.x + matrices[o + 4u] * v.y + matrices[o + 5u] * v.z,
            matrices[o + 6u] * v.x + matrices[o + 7u] * v.y + matrices[o + 8u] * v.z,
        );
    }
    let out = to_u16(l + 0.5);
    textureStore(dst, id.xy, vec4<u32>(out, 0u));
}
