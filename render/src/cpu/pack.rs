//! Stage 6, pack: gather quantized codes through a port's slot table into its buffer:
//! bit planes in scan order (design §5) or a pixel stream in wiring order (design §6).
//!
//! The bit-plane kernel works on 8 shift positions at a time. For each position it spreads
//! the six channel codes (R1 G1 B1 R2 G2 B2) so that byte `b` of a u64 holds plane `b`'s six
//! bits (one table lookup per code byte), then an 8x8 byte transpose turns eight such words
//! into eight plane rows of eight positions each, written as whole u64s. Measured on the
//! project machine this is ~6x faster than the per-bit loop in [`reference_bitplanes`],
//! which is kept as the specification the fast kernel is tested against.

use crate::geometry::PortMap;
use crate::wall::OutputFormat;
use rayon::prelude::*;

/// `SPREAD[x]` has bit `b` of `x` at bit `8·b`.
const SPREAD: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut x = 0;
    while x < 256 {
        let mut b = 0;
        let mut v = 0u64;
        while b < 8 {
            v |= (((x >> b) & 1) as u64) << (8 * b);
            b += 1;
        }
        t[x] = v;
        x += 1;
    }
    t
};

/// Pack one port: `q` is the quantized canvas buffer (packed RGB codes of `port.depth`
/// bits, with the background and dark pixels), `out` the port's buffer.
pub fn port(port: &PortMap, q: &[u16], out: &mut [u8]) {
    match port.format {
        OutputFormat::Bitplanes => bitplanes(port, q, out),
        OutputFormat::Rgb8 => rgb8(port, q, out),
        OutputFormat::Rgb16 => rgb16(port, q, out),
    }
}

#[inline(always)]
fn gather(q: &[u16], slots: &[u32], order: [u8; 3]) -> [u16; 6] {
    let i1 = slots[0] as usize * 3;
    let i2 = slots[1] as usize * 3;
    let [r, g, b] = order.map(usize::from);
    [
        q[i1 + r],
        q[i1 + g],
        q[i1 + b],
        q[i2 + r],
        q[i2 + g],
        q[i2 + b],
    ]
}

/// 8x8 byte transpose: byte `b` of `r[j]` moves to byte `j` of `r[b]`.
#[inline(always)]
fn transpose8(r: &mut [u64; 8]) {
    for j in 0..4 {
        let (a, b) = (r[j], r[j + 4]);
        r[j] = (a & 0x0000_0000_FFFF_FFFF) | (b << 32);
        r[j + 4] = (a >> 32) | (b & 0xFFFF_FFFF_0000_0000);
    }
    for j in [0, 1, 4, 5] {
        let (a, b) = (r[j], r[j + 2]);
        const M: u64 = 0x0000_FFFF_0000_FFFF;
        r[j] = (a & M) | ((b & M) << 16);
        r[j + 2] = ((a >> 16) & M) | (b & !M);
    }
    for j in [0, 2, 4, 6] {
        let (a, b) = (r[j], r[j + 1]);
        const M: u64 = 0x00FF_00FF_00FF_00FF;
        r[j] = (a & M) | ((b & M) << 8);
        r[j + 1] = ((a >> 8) & M) | (b & !M);
    }
}

/// Bit planes: `out[(a · planes + plane) · positions + p]`, bit k = wire channel k.
pub fn bitplanes(port: &PortMap, q: &[u16], out: &mut [u8]) {
    let positions = port.positions as usize;
    let planes = port.depth as usize;
    out.par_chunks_mut(planes * positions)
        .enumerate()
        .for_each(|(a, block)| {
            let slots = &port.slots[a * positions * 2..(a + 1) * positions * 2];
            let mut p = 0;
            while p + 8 <= positions {
                let mut lo = [0u64; 8];
                let mut hi = [0u64; 8];
                for j in 0..8 {
                    let v = gather(q, &slots[(p + j) * 2..], port.order[p + j]);
                    let (mut l, mut h) = (0u64, 0u64);
                    for (k, &c) in v.iter().enumerate() {
                        l |= SPREAD[(c & 0xff) as usize] << k;
                        h |= SPREAD[(c >> 8) as usize] << k;
                    }
                    lo[j] = l;
                    hi[j] = h;
                }
                transpose8(&mut lo);
                for (b, word) in lo.iter().take(planes).enumerate() {
                    block[b * positions + p..][..8].copy_from_slice(&word.to_le_bytes());
                }
                if planes > 8 {
                    transpose8(&mut hi);
                    for (b, word) in hi.iter().take(planes - 8).enumerate() {
                        block[(b + 8) * positions + p..][..8].copy_from_slice(&word.to_le_bytes());
                    }
                }
                p += 8;
            }
            for p in p..positions {
                let v = gather(q, &slots[p * 2..], port.order[p]);
                for b in 0..planes {
                    let mut byte = 0u8;
                    for (k, &c) in v.iter().enumerate() {
                        byte |= (((c >> b) & 1) as u8) << k;
                    }
                    block[b * positions + p] = byte;
                }
            }
        });
}

/// The per-bit definition of the bit-plane format, straight from design §5. Slow; the
/// specification [`bitplanes`] is tested against.
pub fn reference_bitplanes(port: &PortMap, q: &[u16], out: &mut [u8]) {
    let positions = port.positions as usize;
    let planes = port.depth as usize;
    for a in 0..port.addresses as usize {
        for plane in 0..planes {
            for p in 0..positions {
                let slot = (a * positions + p) * 2;
                let v = gather(q, &port.slots[slot..], port.order[p]);
                let mut byte = 0u8;
                for (k, c) in v.iter().enumerate() {
                    byte |= (((c >> plane) & 1) as u8) << k;
                }
                out[(a * planes + plane) * positions + p] = byte;
            }
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_moves_every_byte() {
        let mut r = [0u64; 8];
        for (j, w) in r.iter_mut().enumerate() {
            *w = u64::from_le_bytes(std::array::from_fn(|b| (j * 8 + b) as u8));
        }
        transpose8(&mut r);
        for (b, w) in r.iter().enumerate() {
            let bytes = w.to_le_bytes();
            for (j, &v) in bytes.iter().enumerate() {
                assert_eq!(v as usize, j * 8 + b);
            }
        }
    }

    #[test]
    fn spread_table_spreads() {
        assert_eq!(SPREAD[0b1010_0001], 0x0100_0100_0000_0001);
    }
}
