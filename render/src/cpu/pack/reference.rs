//! The per-bit definition of the bit-plane format, straight from design §5: the
//! specification every kernel is tested against (`tests/pack.rs`, at every level this
//! machine has) and the baseline of the `pack` benchmarks.

use super::Codes;
use super::bitplanes::gather;
use crate::geometry::PortMap;

/// The per-bit definition of the bit-plane format, straight from design §5. Slow; the
/// specification [`bitplanes`](super::bitplanes) is tested against.
pub fn reference_bitplanes(port: &PortMap, q: &[u16], out: &mut [u8]) {
    let positions = port.positions as usize;
    let planes = port.depth as usize;
    for a in 0..port.addresses as usize {
        for plane in 0..planes {
            for p in 0..positions {
                let slot = (a * positions + p) * 2;
                let v = gather(&Codes::whole(q), &port.slots[slot..], port.order[p]);
                let mut byte = 0u8;
                for (k, c) in v.iter().enumerate() {
                    byte |= (((c >> plane) & 1) as u8) << k;
                }
                out[(a * planes + plane) * positions + p] = byte;
            }
        }
    }
}
