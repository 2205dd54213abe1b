// The source the first pass reads (linearize, or resample's vertical pass in fast mode):
// an rgba8uint or rgba16uint texture of R'G'B' code values (alpha ignored). Concatenated
// after common.wgsl and before the stage's shader; `source_yuv.wgsl` is the other choice.

@group(0) @binding(1) var src: texture_2d<u32>;

// The R'G'B' codes of source pixel `xy`.
fn source_code(xy: vec2<u32>) -> vec3<u32> {
    return textureLoad(src, xy, 0).rgb;
}
