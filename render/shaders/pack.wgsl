// Stage 6, pack: gather quantized codes through a port's slot table into its buffer: bit
// planes in scan order (design §5) or a pixel stream in wiring order (design §6). Every
// invocation computes one whole u32 word (four bytes, little-endian) of the port buffer
// from scratch, so words never race and a port can be packed in several pieces (one per
// dispatch) when its buffers exceed one storage binding.
//
// Slots are canvas-buffer pixel indices: below `canvas_len` a canvas pixel, `canvas_len`
// the background pixel, `canvas_len + 1` the dark pixel. `order` holds, per position or
// pixel, the canvas channel of wire slots 0..3 in bytes 0..2.

struct Params {
    format: u32,       // 0 bitplanes, 1 rgb8, 2 rgb16
    positions: u32,    // shift positions (bitplanes) or pixels (streams)
    planes: u32,       // bit planes (bitplanes)
    byte_len: u32,     // bytes in the whole port buffer
    word_base: u32,    // first word of this piece
    word_count: u32,   // words in this piece
    slot_base: u32,    // first slot bound in `slots`
    order_base: u32,   // first entry bound in `order`
    canvas_w: u32,
    canvas_len: u32,
    row_words: u32,    // words per dispatch row (2D dispatch: x * 256 invocations)
    _pad: u32,
    bg: vec4<u32>,     // quantized background code
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> slots: array<u32>;
@group(0) @binding(2) var<storage, read> order: array<u32>;
@group(0) @binding(3) var q: texture_2d<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;

fn pixel(i: u32) -> vec3<u32> {
    if (i < p.canvas_len) {
        return textureLoad(q, vec2<u32>(i % p.canvas_w, i / p.canvas_w), 0).rgb;
    }
    if (i == p.canvas_len) {
        return p.bg.rgb;
    }
    return vec3<u32>(0u);
}

fn wire(px: vec3<u32>, ord: u32) -> vec3<u32> {
    return vec3<u32>(px[ord & 0xffu], px[(ord >> 8u) & 0xffu], px[(ord >> 16u) & 0xffu]);
}

fn byte_at(i: u32) -> u32 {
    if (i >= p.byte_len) {
        return 0u;
    }
    if (p.format == 0u) {
        let block = p.planes * p.positions;
        let a = i / block;
        let r = i % block;
        let plane = r / p.positions;
        let pos = r % p.positions;
        let s = (a * p.positions + pos) * 2u - p.slot_base;
        let ord = order[pos - p.order_base];
        let top = wire(pixel(slots[s]), ord) >> vec3<u32>(plane);
        let bottom = wire(pixel(slots[s + 1u]), ord) >> vec3<u32>(plane);
        return (top.x & 1u) | ((top.y & 1u) << 1u) | ((top.z & 1u) << 2u)
            | ((bottom.x & 1u) << 3u) | ((bottom.y & 1u) << 4u) | ((bottom.z & 1u) << 5u);
    }
    if (p.format == 1u) {
        let px = i / 3u;
        let v = wire(pixel(slots[px - p.slot_base]), order[px - p.order_base]);
        return v[i % 3u] & 0xffu;
    }
    let px = i / 6u;
    let k = i % 6u;
    let v = wire(pixel(slots[px - p.slot_base]), order[px - p.order_base])[k / 2u];
    if ((k & 1u) == 0u) {
        return (v >> 8u) & 0xffu;
    }
    return v & 0xffu;
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let local = id.y * p.row_words + id.x;
    if (local >= p.word_count) {
        return;
    }
    let w = p.word_base + local;
    let b = w * 4u;
    out[local] = byte_at(b) | (byte_at(b + 1u) << 8u) | (byte_at(b + 2u) << 16u)
        | (byte_at(b + 3u) << 24u);
}

// Bit planes, four shift positions per invocation: for ports whose position count is a
// multiple of 4 and that fit one binding. Each invocation gathers the six wire channels of
// positions 4g..4g+3 of one row address once and writes one word in every plane, instead
// of gathering them again for each plane (12x fewer texture reads at 12 bits).
// `word_count` here counts (address, group) items.
@compute @workgroup_size(256, 1, 1)
fn bitplanes4(@builtin(global_invocation_id) id: vec3<u32>) {
    let item = id.y * p.row_words + id.x;
    if (item >= p.word_count) {
        return;
    }
    let groups = p.positions / 4u;
    let a = item / groups;
    let g = item % groups;
    var top: array<vec3<u32>, 4>;
    var bottom: array<vec3<u32>, 4>;
    for (var j = 0u; j < 4u; j++) {
        let pos = g * 4u + j;
        let s = (a * p.positions + pos) * 2u;
        let ord = order[pos];
        top[j] = wire(pixel(slots[s]), ord);
        bottom[j] = wire(pixel(slots[s + 1u]), ord);
    }
    let row = a * p.planes * groups + g;
    for (var plane = 0u; plane < p.planes; plane++) {
        var word = 0u;
        for (var j = 0u; j < 4u; j++) {
            let t = top[j] >> vec3<u32>(plane);
            let b = bottom[j] >> vec3<u32>(plane);
            let byte = (t.x & 1u) | ((t.y & 1u) << 1u) | ((t.z & 1u) << 2u)
                | ((b.x & 1u) << 3u) | ((b.y & 1u) << 4u) | ((b.z & 1u) << 5u);
            word |= byte << (8u * j);
        }
        out[row + plane * groups] = word;
    }
}
