//! DDP, the Distributed Display Protocol (UDP 4048), version 1 (design §7).
//!
//! Each packet is a 10-byte header and at most [`MAX_DATA`] bytes:
//!
//! ```text
//! byte 0     flags: 0x40 (version 1), | 0x01 PUSH on the last packet of a frame
//! byte 1     sequence number 1..=15 in the low nibble, one more each packet
//! byte 2     data type C R TTT SSS: 0x0B rgb8 (RGB, 8 bits), 0x0C rgb16, 0x00 bitplanes
//! byte 3     id: 1 (display)
//! bytes 4-7  byte offset of the data in the frame, u32 big-endian
//! bytes 8-9  data length, u16 big-endian
//! ```
//!
//! The ports of one sink are one frame: port k's bytes start at the sum of the earlier
//! ports' lengths. The sink holds back the frame's last packet until [`Sink::sync`], which
//! sends it with PUSH set, so the controller shows the frame when its last byte is there.

use super::{ErrorLog, PortShape, Sink, SinkError, SinkStats, check_port, udp};
use ledwall_render::wall::OutputFormat;
use std::net::{SocketAddr, UdpSocket};

/// The default UDP port.
pub const PORT: u16 = 4048;
/// Header bytes (no timecode).
pub const HEADER_LEN: usize = 10;
/// Most data bytes a packet carries: 480 RGB pixels.
pub const MAX_DATA: usize = 1440;
/// Largest packet.
pub const PACKET_MAX: usize = HEADER_LEN + MAX_DATA;
/// Flags byte of a version 1 packet.
pub const FLAGS_V1: u8 = 0x40;
/// PUSH flag: display the data received so far.
pub const FLAG_PUSH: u8 = 0x01;
/// Destination id of the display.
pub const ID_DISPLAY: u8 = 1;

/// The data-type byte for a port format: RGB 8 bits (0x0B, as WLED sends), RGB 16 bits
/// (0x0C), and undefined (0x00) for HUB75 bit planes, which are not pixels. A `canvas`
/// port is RGB 8 bits.
pub fn data_type(format: OutputFormat) -> u8 {
    match format {
        OutputFormat::Rgb8 | OutputFormat::Canvas => 0x0B,
        OutputFormat::Rgb16 => 0x0C,
        OutputFormat::Bitplanes => 0x00,
    }
}

/// The sequence number after `seq`: 1, 2, … 15, 1, … (0 means "not used" and is skipped).
pub fn next_sequence(seq: u8) -> u8 {
    seq % 15 + 1
}

/// Write one packet into `out`: header and `data` (at most [`MAX_DATA`] bytes of it are
/// taken). Returns the packet length.
pub fn encode(
    out: &mut [u8; PACKET_MAX],
    push: bool,
    sequence: u8,
    data_type: u8,
    offset: u32,
    data: &[u8],
) -> usize {
    let n = data.len().min(MAX_DATA);
    out[0] = FLAGS_V1 | if push { FLAG_PUSH } else { 0 };
    out[1] = sequence & 0x0F;
    out[2] = data_type;
    out[3] = ID_DISPLAY;
    out[4..8].copy_from_slice(&offset.to_be_bytes());
    out[8..10].copy_from_slice(&(n as u16).to_be_bytes());
    out[HEADER_LEN..HEADER_LEN + n].copy_from_slice(&data[..n]);
    HEADER_LEN + n
}

/// Sends its ports as one DDP frame to one controller.
#[derive(Debug)]
pub struct DdpSink {
    url: String,
    dest: SocketAddr,
    socket: UdpSocket,
    shapes: Vec<PortShape>,
    /// Byte offset of each port in the frame.
    offsets: Vec<u32>,
    sequence: u8,
    packet: Box<[u8; PACKET_MAX]>,
    /// Length of the packet held in `packet` (not yet sent), 0 when none.
    pending: usize,
    stats: SinkStats,
    log: ErrorLog,
    sent: bool,
}

impl DdpSink {
    /// A sink sending ports of these shapes to `dest`.
    pub fn new(
        url: impl Into<String>,
        dest: SocketAddr,
        shapes: &[PortShape],
    ) -> Result<DdpSink, SinkError> {
        let url = url.into();
        let mut offsets = Vec::with_capacity(shapes.len());
        let mut at = 0u64;
        for s in shapes {
            offsets.push(at as u32);
            at += s.bytes as u64;
        }
        if at > u64::from(u32::MAX) {
            return Err(SinkError::Config {
                url,
                reason: format!("{at} bytes a frame do not fit DDP's 32-bit offsets"),
            });
        }
        let socket = udp::socket(&url, dest)?;
        Ok(DdpSink {
            url,
            dest,
            socket,
            shapes: shapes.to_vec(),
            offsets,
            sequence: 0,
            packet: Box::new([0; PACKET_MAX]),
            pending: 0,
            stats: SinkStats::default(),
            log: ErrorLog::default(),
            sent: false,
        })
    }

    /// Where the packets go.
    pub fn destination(&self) -> SocketAddr {
        self.dest
    }

    fn send_pending(&mut self, push: bool) {
        if self.pending == 0 {
            return;
        }
        if push {
            self.packet[0] |= FLAG_PUSH;
        }
        udp::send(
            &self.socket,
            &self.packet[..self.pending],
            self.dest,
            &self.url,
            &mut self.stats,
            &mut self.log,
        );
        self.pending = 0;
    }
}

impl Sink for DdpSink {
    fn url(&self) -> &str {
        &self.url
    }

    fn send(&mut self, port: usize, bytes: &[u8], _tick: u64) {
        if !check_port(&self.shapes, port, bytes, &self.url, &mut self.log) {
            self.stats.errors = self.log.total();
            return;
        }
        let (Some(shape), Some(&base)) = (self.shapes.get(port), self.offsets.get(port)) else {
            return;
        };
        let kind = data_type(shape.format);
        for (k, chunk) in bytes.chunks(MAX_DATA).enumerate() {
            // The previous packet is not the frame's last: out it goes, without PUSH.
            self.send_pending(false);
            self.sequence = next_sequence(self.sequence);
            let offset = base + (k * MAX_DATA) as u32;
            self.pending = encode(&mut self.packet, false, self.sequence, kind, offset, chunk);
        }
        self.stats.bytes += bytes.len() as u64;
        self.sent = true;
    }

    fn sync(&mut self, _tick: u64) {
        self.send_pending(true);
        if std::mem::take(&mut self.sent) {
            self.stats.frames += 1;
        }
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.send_pending(true);
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
    fn header_bytes_are_exact() {
        let mut out = [0u8; PACKET_MAX];
        let n = encode(&mut out, true, 3, 0x0B, 0x0102_0304, &[0xAA, 0xBB, 0xCC]);
        assert_eq!(
            &out[..n],
            &[
                0x41, 0x03, 0x0B, 0x01, 0x01, 0x02, 0x03, 0x04, 0x00, 0x03, 0xAA, 0xBB, 0xCC
            ]
        );
        let n = encode(&mut out, false, 15, 0x0C, 1440, &[7; 6]);
        assert_eq!(
            &out[..HEADER_LEN],
            &[0x40, 0x0F, 0x0C, 0x01, 0x00, 0x00, 0x05, 0xA0, 0x00, 0x06]
        );
        assert_eq!(n, 16);
        // A full packet: 1440 = 0x05A0 data bytes; more is cut.
        let n = encode(&mut out, false, 1, 0x00, 0, &[1; 2000]);
        assert_eq!(n, PACKET_MAX);
        assert_eq!(&out[8..10], &[0x05, 0xA0]);
    }

    #[test]
    fn data_types_follow_the_design() {
        assert_eq!(data_type(OutputFormat::Rgb8), 0b0000_1011);
        assert_eq!(data_type(OutputFormat::Rgb16), 0b0000_1100);
        assert_eq!(data_type(OutputFormat::Bitplanes), 0);
    }

    #[test]
    fn sequence_runs_1_to_15_and_skips_0() {
        let mut s = 0;
        let seen: Vec<u8> = (0..32)
            .map(|_| {
                s = next_sequence(s);
                s
            })
            .collect();
        assert_eq!(&seen[..15], &(1..=15).collect::<Vec<_>>()[..]);
        assert_eq!(&seen[15..30], &seen[..15]);
    }
}
