// Stage 2, resample: a separable convolution through the same coefficient tables as the
// CPU backend (`Tables` in render/src/filter.rs). `vertical` sums source rows into an
// rgba32float texture (read-region width x destination height); `horizontal` sums along
// each row and writes the destination rect of the layer canvas, either rounding linear
// light (linear mode) or looking the code value up in the LUT, interpolated between codes
// (fast mode).
//
// The tables live in one u32 buffer: vertical starts, vertical weights (f32 bits),
// horizontal starts, horizontal weights, at the offsets below. `U16_MAX` and `to_u16` are
// in common.wgsl.

struct Params {
    src_origin: vec2<u32>, // source pixel (x0, y0) of texel (0, 0) of `src`
    x0: u32,               // first source column the plan reads
    width: u32,            // source columns read (width of `mid`)
    dst: vec4<u32>,        // destination rect on the canvas: x, y, w, h
    v_start: u32,          // table offsets (in u32 words) and taps
    v_weights: u32,
    v_taps: u32,
    h_start: u32,
    h_weights: u32,
    h_taps: u32,
    lut_mode: u32,         // 0: linear output, 1: code value through the LUT
    lut_max: u32,          // largest LUT index
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> tables: array<u32>;
@group(0) @binding(3) var mid_out: texture_storage_2d<rgba32float, write>;

@compute @workgroup_size(16, 16, 1)
fn vertical(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.width || id.y >= p.dst.w) {
        return;
    }
    let oy = id.y;
    let s0 = tables[p.v_start + oy];
    let x = p.x0 + id.x - p.src_origin.x;
    var acc = vec3<f32>(0.0);
    for (var k = 0u; k < p.v_taps; k++) {
        let w = bitcast<f32>(tables[p.v_weights + oy * p.v_taps + k]);
        if (w != 0.0) {
            let c = source_code(vec2<u32>(x, s0 + k - p.src_origin.y));
            acc += w * vec3<f32>(c);
        }
    }
    textureStore(mid_out, id.xy, vec4<f32>(acc, 0.0));
}

@group(0) @binding(4) var mid_in: texture_2d<f32>;
@group(0) @binding(5) var<storage, read> lut: array<u32>;
@group(0) @binding(6) var canvas: texture_storage_2d<rgba16uint, write>;

// The LUT at a fractional code value, interpolated between the codes around it (as
// `lut_lerp` in the CPU backend).
fn lut_lerp(v: f32) -> u32 {
    let c = clamp(v, 0.0, f32(p.lut_max));
    let i = u32(c);
    let j = min(i + 1u, p.lut_max);
    let a = f32(lut[i]);
    let b = f32(lut[j]);
    return u32(clamp(a + (b - a) * (c - f32(i)) + 0.5, 0.0, U16_MAX));
}

@compute @workgroup_size(16, 16, 1)
fn horizontal(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= p.dst.z || id.y >= p.dst.w) {
        return;
    }
    let ox = id.x;
    let s = tables[p.h_start + ox];
    var acc = vec3<f32>(0.0);
    for (var k = 0u; k < p.h_taps; k++) {
        let w = bitcast<f32>(tables[p.h_weights + ox * p.h_taps + k]);
        if (w != 0.0) {
            acc += w * textureLoad(mid_in, vec2<u32>(s + k, id.y), 0).rgb;
        }
    }
    var out: vec3<u32>;
    if (p.lut_mode == 0u) {
        out = to_u16(acc + 0.5);
    } else {
        out = vec3<u32>(lut_lerp(acc.x), lut_lerp(acc.y), lut_lerp(acc.z));
    }
    textureStore(canvas, p.dst.xy + id.xy, vec4<u32>(out, 0u));
}
