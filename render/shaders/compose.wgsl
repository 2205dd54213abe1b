// Stage 3, compose. `fill_outside` paints the background around a layer's rect on its
// canvas; `mix` is the weighted sum of two layer canvases and the background in linear
// light (a crossfade; with both weights zero it is the plain background), rounded like the
// CPU: a * wa + b * wb + (bg * wbg + 0.5), clamped, truncated. `Frame` and `to_u16` are in
// common.wgsl.

struct Params {
    size: vec2<u32>, // canvas width, height
    _pad: vec2<u32>,
    rect: vec4<u32>, // the layer's rect: x, y, w, h
    bg: vec4<u32>,   // background, linear
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> frame: Frame;
@group(0) @binding(2) var a: texture_2d<u32>;
@group(0) @binding(3) var b: texture_2d<u32>;
@group(0) @binding(4) var dst: texture_storage_2d<rgba16uint, write>;

@compute @workgroup_size(16, 16, 1)
fn fill_outside(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.size.x || id.y >= p.size.y) {
        return;
    }
    let inside = id.x >= p.rect.x && id.x < p.rect.x + p.rect.z
        && id.y >= p.rect.y && id.y < p.rect.y + p.rect.w;
    if (!inside) {
        textureStore(dst, id.xy, p.bg);
    }
}

@compute @workgroup_size(16, 16, 1)
fn mix(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.size.x || id.y >= p.size.y) {
        return;
    }
    let w = frame.weights;
    let va = vec3<f32>(textureLoad(a, id.xy, 0).rgb);
    let vb = vec3<f32>(textureLoad(b, id.xy, 0).rgb);
    let bg = vec3<f32>(p.bg.rgb) * w.z + 0.5;
    let v = va * w.x + vb * w.y + bg;
    textureStore(dst, id.xy, vec4<u32>(to_u16(v), 0u));
}
