// Shared by every shader: render/src/gpu/kernel.rs prepends this file to each stage's
// shader at compile time (WGSL has no #include), so it holds declarations only (structs,
// constants, helpers), never a binding: each shader binds what it reads itself.

// What changes every frame (Rust: `gpu::compose::Frame`): the dither thresholds and the
// mix weights. Bound by compose's `mix` (weights) and quantize (thresholds).
struct Frame {
    thresholds: array<vec4<f32>, 16>, // dither thresholds t[y & 7][x & 7], row-major
    weights: vec4<f32>,               // wa, wb, wbg, unused
}

// Largest value of a canvas channel (rgba16uint).
const U16_MAX: f32 = 65535.0;

// A canvas value from float: clamped to 0..=U16_MAX, truncated (callers add 0.5 first when
// they round), as the CPU backend's `as u16` conversions do.
fn to_u16(v: vec3<f32>) -> vec3<u32> {
    return vec3<u32>(clamp(v, vec3<f32>(0.0), vec3<f32>(U16_MAX)));
}
