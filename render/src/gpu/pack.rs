//! Stage 6 on the GPU: `shaders/pack.wgsl`, its uniform and its two kernels, reading the
//! port's slot and colour-order tables from [`crate::geometry::PortMap`] unchanged.
//!
//! A port is packed in one or more *pieces*, ranges of output words, each one dispatch with
//! its own bindings. A piece binds only the part of the output, slot and order buffers it
//! touches, so a port whose buffers exceed the adapter's largest storage binding (128 MiB on
//! lavapipe) is split instead of refused.

use super::kernel::{Bind, Kernel};
use crate::geometry::PortMap;
use crate::wall::OutputFormat;
use bytemuck::{Pod, Zeroable};

/// Invocations per workgroup (one output word each).
pub const WORKGROUP: u32 = 256;

/// The uniform of `pack.wgsl` (one per piece).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable, PartialEq, Eq)]
pub struct Params {
    /// 0 bitplanes, 1 rgb8, 2 rgb16.
    pub format: u32,
    /// Shift positions or pixels.
    pub positions: u32,
    /// Bit planes.
    pub planes: u32,
    /// Bytes in the port buffer.
    pub byte_len: u32,
    /// First word of the piece.
    pub word_base: u32,
    /// Words in the piece.
    pub word_count: u32,
    /// First slot bound.
    pub slot_base: u32,
    /// First order entry bound.
    pub order_base: u32,
    /// Canvas width.
    pub canvas_w: u32,
    /// Canvas pixels (the background pixel's index).
    pub canvas_len: u32,
    /// Words per dispatch row.
    pub row_words: u32,
    /// Padding.
    pub pad: u32,
    /// Quantized background code (alpha unused).
    pub bg: [u32; 4],
}

const BINDINGS: &[(u32, Bind)] = &[
    (0, Bind::Uniform(size_of::<Params>() as u64)),
    (1, Bind::StorageRead),
    (2, Bind::StorageRead),
    (3, Bind::TextureUint),
    (4, Bind::StorageWrite),
];

const SOURCE: &str = concat!(
    include_str!("../../shaders/common.wgsl"),
    include_str!("../../shaders/pack.wgsl")
);

/// The general kernel: one output word per invocation, any format, any piece.
pub const PACK: Kernel = Kernel {
    label: "pack",
    source: SOURCE,
    entry: "main",
    workgroup: [WORKGROUP, 1, 1],
    bindings: BINDINGS,
};

/// The bit-plane kernel for ports with a multiple of 4 positions packed in one piece
/// ([`grouped`]): one (address, 4 positions) item per invocation, a word in every plane.
pub const PACK4: Kernel = Kernel {
    label: "pack.bitplanes4",
    source: SOURCE,
    entry: "bitplanes4",
    workgroup: [WORKGROUP, 1, 1],
    bindings: BINDINGS,
};

/// Whether [`PACK4`] packs this port: bit planes, whole groups of 4 positions, one piece.
pub fn grouped(port: &PortMap, pieces: &[Piece]) -> bool {
    port.format == OutputFormat::Bitplanes && port.positions.is_multiple_of(4) && pieces.len() == 1
}

/// One dispatch's share of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Output words `w0..w1`.
    pub words: (u64, u64),
    /// Slot entries bound (`start..end`, start aligned for binding offsets).
    pub slots: (u64, u64),
    /// Order entries bound.
    pub order: (u64, u64),
}

/// Output words of a port (its byte length rounded up to whole words).
pub fn words(port: &PortMap) -> u64 {
    (port.byte_len() as u64).div_ceil(4)
}

/// The slot and order entries that output bytes `b0..b1` read.
fn reads(port: &PortMap, b0: u64, b1: u64) -> ((u64, u64), (u64, u64)) {
    let positions = port.positions as u64;
    match port.format {
        OutputFormat::Bitplanes => {
            let block = port.depth as u64 * positions;
            let (a0, a1) = (b0 / block, b1.div_ceil(block));
            // Position ranges wrap inside an address block: bind every position.
            ((a0 * positions * 2, a1 * positions * 2), (0, positions))
        }
        OutputFormat::Rgb8 | OutputFormat::Rgb16 | OutputFormat::Canvas => {
            let per = if port.format == OutputFormat::Rgb16 {
                6
            } else {
                3
            };
            let (p0, p1) = (b0 / per, b1.div_ceil(per));
            ((p0, p1), (p0, p1))
        }
    }
}

/// Split a port into pieces whose bindings each stay within `max_binding` bytes, with
/// binding offsets that are multiples of `align` bytes.
pub fn pieces(port: &PortMap, max_binding: u64, align: u64) -> Vec<Piece> {
    let total = words(port);
    let byte_len = port.byte_len() as u64;
    let entries_align = (align / 4).max(1);
    let fits = |w0: u64, w1: u64| {
        let ((s0, s1), (o0, o1)) = reads(port, w0 * 4, (w1 * 4).min(byte_len));
        let s0 = s0 / entries_align * entries_align;
        let o0 = o0 / entries_align * entries_align;
        (w1 - w0) * 4 <= max_binding && (s1 - s0) * 4 <= max_binding && (o1 - o0) * 4 <= max_binding
    };
    let mut out = Vec::new();
    let mut w0 = 0;
    while w0 < total {
        // The largest aligned piece that fits, by halving.
        let mut len = total - w0;
        while len > entries_align && !fits(w0, w0 + len) {
            len = (len / 2).div_ceil(entries_align) * entries_align;
        }
        let w1 = (w0 + len).min(total);
        let ((s0, s1), (o0, o1)) = reads(port, w0 * 4, (w1 * 4).min(byte_len));
        out.push(Piece {
            words: (w0, w1),
            slots: (s0 / entries_align * entries_align, s1),
            order: (o0 / entries_align * entries_align, o1),
        });
        w0 = w1;
    }
    out
}

/// The port's colour order table as the shader reads it: one u32 per entry, the canvas
/// channel of wire slots 0, 1, 2 in bytes 0, 1, 2.
pub fn order_words(port: &PortMap) -> Vec<u32> {
    let mut v: Vec<u32> = port
        .order
        .iter()
        .map(|o| o[0] as u32 | (o[1] as u32) << 8 | (o[2] as u32) << 16)
        .collect();
    if v.is_empty() {
        v.push(0);
    }
    v
}

/// The format code of the shader.
pub fn format_code(format: OutputFormat) -> u32 {
    match format {
        OutputFormat::Bitplanes => 0,
        // A canvas port is an 8-bit stream whose slots are its region, row by row.
        OutputFormat::Rgb8 | OutputFormat::Canvas => 1,
        OutputFormat::Rgb16 => 2,
    }
}
