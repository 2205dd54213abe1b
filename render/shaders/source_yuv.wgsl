// The source the first pass reads, planar 4:2:0 Y'CbCr (yuv420p, nv12, yuv420p10le,
// p010le) converted to R'G'B' code values as it is read: the same arithmetic as the CPU
// backend (render/src/cpu/yuv.rs, the maths and siting in render/src/yuv.rs). Chroma sits
// on even luma columns, midway between luma rows 2j and 2j+1; each luma pixel takes the
// bilinear interpolation of the chroma around it (edges clamped), summed exactly in
// integer eighths; the matrix runs in f32 on the offset-free values, then rounds to the
// code (8-bit for 8-bit layouts, 16-bit for 10-bit ones). The same `source_code` as
// `source_rgba.wgsl`, so the stage shaders do not change.

struct Yuv {
    k: vec4<f32>,           // rv, gu, gv, bu: per eighth of a chroma value
    ky: f32,                // per luma value
    max_code: f32,          // 255 or 65535
    y_off: i32,             // luma offset (sample value)
    c_off8: i32,            // chroma offset in eighths
    chroma_last: vec2<u32>, // last chroma column and row
    shift: u32,             // right shift of a stored sample (p010le: 6)
    sample_max: u32,        // largest sample value (255 or 1023)
    semi: u32,              // 1: Cb, Cr interleaved in `chroma_a` (rg), `chroma_b` unused
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(1) var luma: texture_2d<u32>;     // r8uint / r16uint
@group(0) @binding(7) var chroma_a: texture_2d<u32>; // Cb (r) or CbCr (rg)
@group(0) @binding(8) var chroma_b: texture_2d<u32>; // Cr (r)
@group(0) @binding(9) var<uniform> yuv: Yuv;

fn yuv_sample(v: u32) -> i32 {
    return i32(min(v >> yuv.shift, yuv.sample_max));
}

// (Cb, Cr) of chroma sample `c`.
fn yuv_chroma(c: vec2<u32>) -> vec2<i32> {
    let a = textureLoad(chroma_a, c, 0);
    if (yuv.semi != 0u) {
        return vec2<i32>(yuv_sample(a.r), yuv_sample(a.g));
    }
    return vec2<i32>(yuv_sample(a.r), yuv_sample(textureLoad(chroma_b, c, 0).r));
}

// Chroma column `cx` between rows `near` (3/4) and `far` (1/4), in quarters.
fn yuv_column(cx: u32, near: u32, far: u32) -> vec2<i32> {
    return 3 * yuv_chroma(vec2<u32>(cx, near)) + yuv_chroma(vec2<u32>(cx, far));
}

// The R'G'B' codes of source pixel `xy`.
fn source_code(xy: vec2<u32>) -> vec3<u32> {
    let near = xy.y / 2u;
    var far: u32;
    if ((xy.y & 1u) == 0u) {
        far = max(near, 1u) - 1u;
    } else {
        far = min(near + 1u, yuv.chroma_last.y);
    }
    let cx = xy.x / 2u;
    // In eighths: an even column takes its chroma column, an odd one the two beside it.
    var uv = yuv_column(cx, near, far);
    if ((xy.x & 1u) == 0u) {
        uv = 2 * uv;
    } else {
        uv += yuv_column(min(cx + 1u, yuv.chroma_last.x), near, far);
    }
    let y = f32(yuv_sample(textureLoad(luma, xy, 0).r) - yuv.y_off) * yuv.ky;
    let c = vec2<f32>(uv - vec2<i32>(yuv.c_off8));
    let rgb = vec3<f32>(
        y + yuv.k.x * c.y,
        y + yuv.k.y * c.x + yuv.k.z * c.y,
        y + yuv.k.w * c.x,
    );
    return vec3<u32>(clamp(rgb + 0.5, vec3<f32>(0.0), vec3<f32>(yuv.max_code)));
}
