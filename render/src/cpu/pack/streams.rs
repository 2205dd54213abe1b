//! The pixel-stream formats (design §6): each position's three codes in wiring order,
//! after its colour order, as one byte each ([`rgb8`]) or two big-endian bytes each
//! ([`rgb16`]). Chunks of positions run in parallel on rayon.

use crate::geometry::PortMap;
use rayon::prelude::*;

/// Positions per parallel chunk.
const STREAM_CHUNK: usize = 4096;

/// 8-bit pixel stream in wiring order.
pub fn rgb8(port: &PortMap, q: &[u16], out: &mut [u8]) {
    out.par_chunks_mut(STREAM_CHUNK * 3)
        .enumerate()
        .for_each(|(ci, chunk)| {
            let base = ci * STREAM_CHUNK;
            for (j, px) in chunk.chunks_exact_mut(3).enumerate() {
                let i = port.slots[base + j] as usize * 3;
                let o = port.order[base + j];
                for k in 0..3 {
                    px[k] = q[i + o[k] as usize] as u8;
                }
            }
        });
}

/// 16-bit big-endian pixel stream in wiring order.
pub fn rgb16(port: &PortMap, q: &[u16], out: &mut [u8]) {
    out.par_chunks_mut(STREAM_CHUNK * 6)
        .enumerate()
        .for_each(|(ci, chunk)| {
            let base = ci * STREAM_CHUNK;
            for (j, px) in chunk.chunks_exact_mut(6).enumerate() {
                let i = port.slots[base + j] as usize * 3;
                let o = port.order[base + j];
                for k in 0..3 {
                    px[2 * k..2 * k + 2].copy_from_slice(&q[i + o[k] as usize].to_be_bytes());
                }
            }
        });
}
