// Stage 1, linearize: code values -> linear light (u16 range) through the transfer LUT.
// The source (binding 1 and up) is source_rgba.wgsl's rgba8uint or rgba16uint texture
// (alpha is ignored: sources arrive composited) or source_yuv.wgsl's Y'CbCr planes
// converted as read, both read through `source_code`; the LUT has 256 or 65536 entries to
// match (8 or 16-bit codes). Writes a rect of an rgba16uint texture: the layer canvas
// (1:1 placements) or the linear source the resampler reads.

struct Params {
    src_origin: vec2<u32>, // first source texel read
    dst_origin: vec2<u32>, // where it lands
    size: vec2<u32>,       // texels to convert
    _pad: vec2<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> lut: array<u32>;
@group(0) @binding(3) var dst: texture_storage_2d<rgba16uint, write>;

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.size.x || id.y >= p.size.y) {
        return;
    }
    let c = source_code(p.src_origin + id.xy);
    textureStore(dst, p.dst_origin + id.xy, vec4<u32>(lut[c.r], lut[c.g], lut[c.b], 0u));
}
