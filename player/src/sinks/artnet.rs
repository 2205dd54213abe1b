//! Art-Net 4 (UDP 6454): ArtDmx for the data, one ArtSync after the frame (design §7).
//!
//! ArtDmx, 18-byte header then 2..=512 data bytes (even):
//!
//! ```text
//! bytes 0-7    "Art-Net\0"
//! bytes 8-9    OpCode 0x5000, little-endian (00 50)
//! bytes 10-11  protocol version 14, big-endian (00 0E)
//! byte 12      sequence 1..=255 per universe (0 would disable re-ordering)
//! byte 13      physical: 0
//! byte 14      SubUni: low byte of the 15-bit Port-Address (Sub-Net << 4 | Universe)
//! byte 15      Net: high 7 bits of the Port-Address
//! bytes 16-17  data length, big-endian, even
//! ```
//!
//! ArtSync is the first 12 bytes with OpCode 0x5200 (00 52) and two zero Aux bytes.
//!
//! Each port fills consecutive universes (Port-Addresses) of [`UNIVERSE_BYTES`]
//! (170 RGB pixels), starting on a fresh universe; the sink's first universe is the URL's.

use super::{
    ErrorLog, PortShape, Sink, SinkError, SinkStats, UNIVERSE_BYTES, check_port, udp,
    universe_layout,
};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};

/// The default UDP port.
pub const PORT: u16 = 6454;
/// ArtDmx header bytes.
pub const HEADER_LEN: usize = 18;
/// Most data bytes in an ArtDmx packet.
pub const MAX_DATA: usize = 512;
/// Largest ArtDmx packet.
pub const PACKET_MAX: usize = HEADER_LEN + MAX_DATA;
/// ArtSync length.
pub const SYNC_LEN: usize = 14;
/// The packet id every Art-Net packet starts with.
pub const ID: [u8; 8] = *b"Art-Net\0";
/// OpDmx.
pub const OP_DMX: u16 = 0x5000;
/// OpSync.
pub const OP_SYNC: u16 = 0x5200;
/// Protocol version sent.
pub const PROTOCOL_VERSION: u16 = 14;
/// Highest 15-bit Port-Address.
pub const MAX_PORT_ADDRESS: u16 = 0x7FFF;

/// The sequence number after `seq`: 1, 2, … 255, 1, … (0 disables the feature).
pub fn next_sequence(seq: u8) -> u8 {
    if seq == 255 { 1 } else { seq + 1 }
}

fn header(out: &mut [u8], opcode: u16) {
    out[..8].copy_from_slice(&ID);
    out[8..10].copy_from_slice(&opcode.to_le_bytes());
    out[10..12].copy_from_slice(&PROTOCOL_VERSION.to_be_bytes());
}

/// Write an ArtDmx packet into `out` carrying `data` (at most [`MAX_DATA`] bytes are taken;
/// an odd count is padded with a zero, an empty one to two zeros). Returns the packet length.
pub fn encode_dmx(
    out: &mut [u8; PACKET_MAX],
    sequence: u8,
    physical: u8,
    port_address: u16,
    data: &[u8],
) -> usize {
    let n = data.len().min(MAX_DATA);
    let len = (n + n % 2).max(2);
    header(&mut out[..], OP_DMX);
    out[12] = sequence;
    out[13] = physical;
    let [net, sub_uni] = (port_address & MAX_PORT_ADDRESS).to_be_bytes();
    out[14] = sub_uni;
    out[15] = net;
    out[16..18].copy_from_slice(&(len as u16).to_be_bytes());
    out[HEADER_LEN..HEADER_LEN + n].copy_from_slice(&data[..n]);
    out[HEADER_LEN + n..HEADER_LEN + len].fill(0);
    HEADER_LEN + len
}

/// Write an ArtSync packet.
pub fn encode_sync(out: &mut [u8; SYNC_LEN]) {
    header(&mut out[..], OP_SYNC);
    out[12] = 0; // Aux1
    out[13] = 0; // Aux2
}

/// The destination of a sink without a host: the limited broadcast address.
pub fn broadcast(port: u16) -> SocketAddr {
    (Ipv4Addr::BROADCAST, port).into()
}

/// Sends its ports as ArtDmx universes to one address, then an ArtSync.
#[derive(Debug)]
pub struct ArtNetSink {
    url: String,
    dest: SocketAddr,
    socket: UdpSocket,
    shapes: Vec<PortShape>,
    first_address: u16,
    /// First universe index (from 0) of each port.
    port_universes: Vec<usize>,
    /// Last sequence number sent, per universe index.
    sequences: Vec<u8>,
    packet: Box<[u8; PACKET_MAX]>,
    sync_packet: [u8; SYNC_LEN],
    stats: SinkStats,
    log: ErrorLog,
    sent: bool,
}

impl ArtNetSink {
    /// A sink sending ports of these shapes to `dest` from Port-Address `first_universe` on.
    pub fn new(
        url: impl Into<String>,
        dest: SocketAddr,
        first_universe: u16,
        shapes: &[PortShape],
    ) -> Result<ArtNetSink, SinkError> {
        let url = url.into();
        let (port_universes, count) = universe_layout(shapes);
        let last = usize::from(first_universe) + count.saturating_sub(1);
        if last > usize::from(MAX_PORT_ADDRESS) {
            return Err(SinkError::Config {
                url,
                reason: format!(
                    "{count} universes from {first_universe} go past the last Port-Address {MAX_PORT_ADDRESS}"
                ),
            });
        }
        let socket = udp::socket(&url, dest)?;
        let mut sync_packet = [0; SYNC_LEN];
        encode_sync(&mut sync_packet);
        Ok(ArtNetSink {
            url,
            dest,
            socket,
            shapes: shapes.to_vec(),
            first_address: first_universe,
            port_universes,
            sequences: vec![0; count],
            packet: Box::new([0; PACKET_MAX]),
            sync_packet,
            stats: SinkStats::default(),
            log: ErrorLog::default(),
            sent: false,
        })
    }

    /// Where the packets go.
    pub fn destination(&self) -> SocketAddr {
        self.dest
    }
}

impl Sink for ArtNetSink {
    fn url(&self) -> &str {
        &self.url
    }

    fn send(&mut self, port: usize, bytes: &[u8], _tick: u64) {
        if !check_port(&self.shapes, port, bytes, &self.url, &mut self.log) {
            self.stats.errors = self.log.total();
            return;
        }
        let Some(&first) = self.port_universes.get(port) else {
            return;
        };
        for (k, chunk) in bytes.chunks(UNIVERSE_BYTES).enumerate() {
            let u = first + k;
            let Some(seq) = self.sequences.get_mut(u) else {
                return;
            };
            *seq = next_sequence(*seq);
            let address = self.first_address + u as u16;
            let n = encode_dmx(&mut self.packet, *seq, 0, address, chunk);
            udp::send(
                &self.socket,
                &self.packet[..n],
                self.dest,
                &self.url,
                &mut self.stats,
                &mut self.log,
            );
        }
        self.stats.bytes += bytes.len() as u64;
        self.sent = true;
    }

    fn sync(&mut self, _tick: u64) {
        if std::mem::take(&mut self.sent) {
            udp::send(
                &self.socket,
                &self.sync_packet,
                self.dest,
                &self.url,
                &mut self.stats,
                &mut self.log,
            );
            self.stats.frames += 1;
        }
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    fn stats(&self) -> SinkStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn art_dmx_bytes_are_exact() {
        let mut out = [0u8; PACKET_MAX];
        // Port-Address 0x1234 = Net 0x12, Sub-Net 3, Universe 4.
        let n = encode_dmx(&mut out, 7, 0, 0x1234, &[1, 2, 3, 4]);
        assert_eq!(
            &out[..n],
            &[
                b'A', b'r', b't', b'-', b'N', b'e', b't', 0, // id
                0x00, 0x50, // OpDmx, little-endian
                0x00, 0x0E, // protocol 14
                7, 0, // sequence, physical
                0x34, 0x12, // SubUni, Net
                0x00, 0x04, // length
                1, 2, 3, 4
            ]
        );
        // Odd lengths are padded to even with a zero; 510 bytes stay 510.
        out.fill(0xEE);
        let n = encode_dmx(&mut out, 255, 2, 0x7FFF, &[9, 9, 9]);
        assert_eq!(n, 22);
        assert_eq!(&out[12..22], &[255, 2, 0xFF, 0x7F, 0x00, 0x04, 9, 9, 9, 0]);
        let n = encode_dmx(&mut out, 1, 0, 0, &[5; 510]);
        assert_eq!(n, 18 + 510);
        assert_eq!(&out[16..18], &[0x01, 0xFE]);
        // Below the minimum of two slots.
        let n = encode_dmx(&mut out, 1, 0, 0, &[5]);
        assert_eq!(&out[16..n], &[0x00, 0x02, 5, 0]);
        let n = encode_dmx(&mut out, 1, 0, 0, &[]);
        assert_eq!(&out[16..n], &[0x00, 0x02, 0, 0]);
    }

    #[test]
    fn art_sync_bytes_are_exact() {
        let mut out = [0xEEu8; SYNC_LEN];
        encode_sync(&mut out);
        assert_eq!(
            out,
            [
                b'A', b'r', b't', b'-', b'N', b'e', b't', 0, 0x00, 0x52, 0x00, 0x0E, 0, 0
            ]
        );
    }

    #[test]
    fn sequence_runs_1_to_255_and_skips_0() {
        assert_eq!(next_sequence(0), 1);
        assert_eq!(next_sequence(1), 2);
        assert_eq!(next_sequence(254), 255);
        assert_eq!(next_sequence(255), 1);
    }

    #[test]
    fn too_many_universes_are_refused() {
        let shapes = [PortShape {
            format: ledwall_render::wall::OutputFormat::Rgb8,
            bytes: 3 * UNIVERSE_BYTES,
        }];
        let dest: SocketAddr = ([127, 0, 0, 1], 9).into();
        assert!(ArtNetSink::new("a", dest, 32765, &shapes).is_ok());
        let e = ArtNetSink::new("a", dest, 32766, &shapes).unwrap_err();
        assert!(e.to_string().contains("32767"), "{e}");
    }
}
