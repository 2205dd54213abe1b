//! Stage 6, pack: gather quantized codes through a port's slot table into its buffer:
//! bit planes in scan order (design §5) or a pixel stream in wiring order (design §6).
//!
//! The bit-plane kernel works on 16 shift positions at a time: it gathers their six wire
//! channels (R1 G1 B1 R2 G2 B2) channel-major, then builds each plane's 16 bytes in one pass
//! over 16 u16 lanes (one AVX2 register: the kernel is compiled for AVX2 when the CPU has
//! it) and stores them with one copy. The per-bit loop of design §5 is kept as
//! [`reference_bitplanes`], the specification the fast kernel is tested against.

use crate::geometry::PortMap;
use crate::wall::OutputFormat;
use rayon::prelude::*;

/// Positions packed together: 16 u16 lanes fill one AVX2 register.
const GROUP: usize = 16;

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

/// Bit planes: `out[(a · planes + plane) · positions + p]`, bit k = wire channel k.
pub fn bitplanes(port: &PortMap, q: &[u16], out: &mut [u8]) {
    let positions = port.positions as usize;
    let planes = port.depth as usize;
    out.par_chunks_mut(planes * positions)
        .enumerate()
        .for_each(|(a, block)| address(port, q, a, block));
}

multiversion! {
/// All planes of row address `a` into `block`.
fn address(port: &PortMap, q: &[u16], a: usize, block: &mut [u8]) {
    let positions = port.positions as usize;
    let planes = port.depth as usize;
    let slots = &port.slots[a * positions * 2..(a + 1) * positions * 2];
    let mut p = 0;
    while p + GROUP <= positions {
        // Gather the six wire channels of GROUP positions, channel-major.
        let mut v = [[0u16; GROUP]; 6];
        let sl = &slots[p * 2..(p + GROUP) * 2];
        let ord = &port.order[p..p + GROUP];
        for j in 0..GROUP {
            let (i1, i2) = (sl[2 * j] as usize * 3, sl[2 * j + 1] as usize * 3);
            let [r, g, b] = ord[j].map(usize::from);
            let (px1, px2) = (&q[i1..i1 + 3], &q[i2..i2 + 3]);
            v[0][j] = px1[r];
            v[1][j] = px1[g];
            v[2][j] = px1[b];
            v[3][j] = px2[r];
            v[4][j] = px2[g];
            v[5][j] = px2[b];
        }
        // Each plane: byte j = Σ_k bit b of v[k][j] << k. The j loop is one vector register
        // of u16 lanes; the compiler unrolls k.
        for b in 0..planes {
            let mut bytes = [0u8; GROUP];
            for j in 0..GROUP {
                let mut byte = 0u16;
                for (k, vk) in v.iter().enumerate() {
                    byte |= ((vk[j] >> b) & 1) << k;
                }
                bytes[j] = byte as u8;
            }
            block[b * positions + p..][..GROUP].copy_from_slice(&bytes);
        }
        p += GROUP;
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
}
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
