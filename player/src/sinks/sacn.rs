//! sACN, ANSI E1.31-2018 (UDP 5568): data packets per universe, then one universe
//! synchronization packet (design §7).
//!
//! Data packet, 126-byte header then the slots (all numbers big-endian):
//!
//! ```text
//! root layer     0-1 preamble size 0x0010 · 2-3 post-amble 0 · 4-15 "ASC-E1.17\0\0\0"
//!                16-17 flags+length 0x7000 | (len - 16) · 18-21 vector 0x00000004 (DATA)
//!                22-37 CID (16 bytes)
//! framing layer  38-39 0x7000 | (len - 38) · 40-43 vector 0x00000002 (DATA_PACKET)
//!                44-107 source name, UTF-8, NUL-padded · 108 priority · 109-110 sync address
//!                111 sequence · 112 options (0) · 113-114 universe
//! DMP layer      115-116 0x7000 | (len - 115) · 117 vector 0x02 · 118 0xA1
//!                119-120 first address 0 · 121-122 increment 1 · 123-124 slots + 1
//!                125 start code 0 · 126.. slots
//! ```
//!
//! Synchronization packet, 49 bytes: the same root layer with vector 0x00000008
//! (EXTENDED) and length 0x7021; framing layer 0x700B, vector 0x00000001
//! (EXTENDED_SYNCHRONIZATION), 44 sequence, 45-46 sync universe, 47-48 reserved 0.
//!
//! Universe discovery packet (E1.31 §6.4, §8), 120 bytes + 2 per universe: the root layer
//! with vector 0x00000008 (EXTENDED); framing layer 38-39 flags+length, 40-43 vector
//! 0x00000002 (EXTENDED_DISCOVERY), 44-107 source name, 108-111 reserved 0; universe
//! discovery layer 112-113 flags+length, 114-117 vector 0x00000001 (UNIVERSE_LIST),
//! 118 page, 119 last page, 120.. the universes, sorted, at most 512 a page. Sent at the first
//! sync and then every [`DISCOVERY_INTERVAL`], to the discovery universe's group
//! (239.255.250.214) or to the unicast destination.
//!
//! [`Sink::close`] ends the stream as E1.31 §6.2.6 asks: three data packets per universe
//! sent, with the Stream_Terminated option bit (0x40), carrying the last data.
//!
//! Each port fills consecutive universes of [`UNIVERSE_BYTES`] (170 RGB pixels), starting on a
//! fresh universe; sequence numbers are kept per universe (the sync universe has its own).
//! Without a host, each universe goes to its multicast group 239.255.hi.lo and the sync
//! packet to the sync universe's group.

use super::{
    ErrorLog, PortShape, Sink, SinkError, SinkStats, UNIVERSE_BYTES, check_port, udp,
    universe_layout,
};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// The default UDP port.
pub const PORT: u16 = 5568;
/// Data packet header bytes (up to and including the start code).
pub const HEADER_LEN: usize = 126;
/// Most slots a data packet carries.
pub const MAX_SLOTS: usize = 512;
/// Largest data packet.
pub const PACKET_MAX: usize = HEADER_LEN + MAX_SLOTS;
/// Synchronization packet length.
pub const SYNC_LEN: usize = 49;
/// Source name field bytes (the last one is always NUL).
pub const SOURCE_NAME_LEN: usize = 64;
/// Highest universe.
pub const MAX_UNIVERSE: u16 = 63999;
/// Highest priority.
pub const MAX_PRIORITY: u8 = 200;
/// ACN packet identifier.
pub const ACN_ID: [u8; 12] = *b"ASC-E1.17\0\0\0";
/// Root layer vector of data packets.
pub const VECTOR_ROOT_DATA: u32 = 0x0000_0004;
/// Root layer vector of synchronization (and discovery) packets.
pub const VECTOR_ROOT_EXTENDED: u32 = 0x0000_0008;
/// Framing layer vector of data packets.
pub const VECTOR_DATA_PACKET: u32 = 0x0000_0002;
/// Framing layer vector of synchronization packets.
pub const VECTOR_EXTENDED_SYNCHRONIZATION: u32 = 0x0000_0001;
/// Framing layer vector of universe discovery packets.
pub const VECTOR_EXTENDED_DISCOVERY: u32 = 0x0000_0002;
/// Universe discovery layer vector: a list of universes.
pub const VECTOR_UNIVERSE_DISCOVERY_UNIVERSE_LIST: u32 = 0x0000_0001;
/// The universe whose multicast group (239.255.250.214) carries discovery packets.
pub const DISCOVERY_UNIVERSE: u16 = 64214;
/// Discovery packet bytes before the list of universes.
pub const DISCOVERY_HEADER_LEN: usize = 120;
/// Most universes one discovery page lists.
pub const DISCOVERY_PAGE_UNIVERSES: usize = 512;
/// Largest discovery packet.
pub const DISCOVERY_MAX: usize = DISCOVERY_HEADER_LEN + 2 * DISCOVERY_PAGE_UNIVERSES;
/// Time between two rounds of discovery packets (E1.31 E131_UNIVERSE_DISCOVERY_INTERVAL).
pub const DISCOVERY_INTERVAL: Duration = Duration::from_secs(10);
/// Data packet option bit: the source stops sending this universe.
pub const OPTION_STREAM_TERMINATED: u8 = 0x40;
/// Stream-terminated packets sent per universe at the end of the stream.
pub const TERMINATE_PACKETS: usize = 3;

/// The fields of a data packet header that change between sources and packets.
#[derive(Debug, Clone, Copy)]
pub struct DataHeader<'a> {
    /// The source's CID.
    pub cid: &'a [u8; 16],
    /// The source name field ([`source_name_field`]).
    pub source_name: &'a [u8; SOURCE_NAME_LEN],
    /// Priority 0..=200.
    pub priority: u8,
    /// Synchronization universe, 0 for none.
    pub sync_address: u16,
    /// Sequence number of this universe.
    pub sequence: u8,
    /// Options bits (preview 0x80, stream terminated 0x40, force sync 0x20).
    pub options: u8,
    /// Universe.
    pub universe: u16,
}

fn flags_length(len: usize) -> [u8; 2] {
    (0x7000 | (len as u16 & 0x0FFF)).to_be_bytes()
}

fn root_layer(out: &mut [u8], len: usize, vector: u32, cid: &[u8; 16]) {
    out[0..2].copy_from_slice(&0x0010u16.to_be_bytes());
    out[2..4].copy_from_slice(&0u16.to_be_bytes());
    out[4..16].copy_from_slice(&ACN_ID);
    out[16..18].copy_from_slice(&flags_length(len - 16));
    out[18..22].copy_from_slice(&vector.to_be_bytes());
    out[22..38].copy_from_slice(cid);
}

/// Write a data packet carrying `slots` (at most [`MAX_SLOTS`] are taken) into `out`.
/// Returns the packet length.
pub fn encode_data(out: &mut [u8; PACKET_MAX], h: &DataHeader<'_>, slots: &[u8]) -> usize {
    let n = slots.len().min(MAX_SLOTS);
    let len = HEADER_LEN + n;
    root_layer(&mut out[..], len, VECTOR_ROOT_DATA, h.cid);
    out[38..40].copy_from_slice(&flags_length(len - 38));
    out[40..44].copy_from_slice(&VECTOR_DATA_PACKET.to_be_bytes());
    out[44..108].copy_from_slice(h.source_name);
    out[108] = h.priority;
    out[109..111].copy_from_slice(&h.sync_address.to_be_bytes());
    out[111] = h.sequence;
    out[112] = h.options;
    out[113..115].copy_from_slice(&h.universe.to_be_bytes());
    out[115..117].copy_from_slice(&flags_length(len - 115));
    out[117] = 0x02; // VECTOR_DMP_SET_PROPERTY
    out[118] = 0xA1; // address type and data type
    out[119..121].copy_from_slice(&0u16.to_be_bytes()); // first property address
    out[121..123].copy_from_slice(&1u16.to_be_bytes()); // address increment
    out[123..125].copy_from_slice(&(n as u16 + 1).to_be_bytes()); // start code + slots
    out[125] = 0; // DMX512 start code
    out[HEADER_LEN..len].copy_from_slice(&slots[..n]);
    len
}

/// Write a universe synchronization packet.
pub fn encode_sync(out: &mut [u8; SYNC_LEN], cid: &[u8; 16], sequence: u8, sync_address: u16) {
    root_layer(&mut out[..], SYNC_LEN, VECTOR_ROOT_EXTENDED, cid);
    out[38..40].copy_from_slice(&flags_length(SYNC_LEN - 38));
    out[40..44].copy_from_slice(&VECTOR_EXTENDED_SYNCHRONIZATION.to_be_bytes());
    out[44] = sequence;
    out[45..47].copy_from_slice(&sync_address.to_be_bytes());
    out[47..49].copy_from_slice(&[0, 0]);
}

/// Write universe discovery page `page` of `last_page` (from 0) listing `universes` (sorted;
/// at most [`DISCOVERY_PAGE_UNIVERSES`] are taken) into `out`. Returns the packet length.
pub fn encode_discovery(
    out: &mut [u8; DISCOVERY_MAX],
    cid: &[u8; 16],
    source_name: &[u8; SOURCE_NAME_LEN],
    page: u8,
    last_page: u8,
    universes: &[u16],
) -> usize {
    let n = universes.len().min(DISCOVERY_PAGE_UNIVERSES);
    let len = DISCOVERY_HEADER_LEN + 2 * n;
    root_layer(&mut out[..], len, VECTOR_ROOT_EXTENDED, cid);
    out[38..40].copy_from_slice(&flags_length(len - 38));
    out[40..44].copy_from_slice(&VECTOR_EXTENDED_DISCOVERY.to_be_bytes());
    out[44..108].copy_from_slice(source_name);
    out[108..112].copy_from_slice(&[0; 4]);
    out[112..114].copy_from_slice(&flags_length(len - 112));
    out[114..118].copy_from_slice(&VECTOR_UNIVERSE_DISCOVERY_UNIVERSE_LIST.to_be_bytes());
    out[118] = page;
    out[119] = last_page;
    for (k, u) in universes[..n].iter().enumerate() {
        let at = DISCOVERY_HEADER_LEN + 2 * k;
        out[at..at + 2].copy_from_slice(&u.to_be_bytes());
    }
    len
}

/// The source name field: UTF-8, cut to at most 63 bytes on a character boundary,
/// NUL-padded to 64.
pub fn source_name_field(name: &str) -> [u8; SOURCE_NAME_LEN] {
    let mut end = name.len().min(SOURCE_NAME_LEN - 1);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    let mut field = [0u8; SOURCE_NAME_LEN];
    field[..end].copy_from_slice(&name.as_bytes()[..end]);
    field
}

/// The multicast group of a universe: 239.255.hi.lo.
pub fn multicast_group(universe: u16) -> Ipv4Addr {
    let [hi, lo] = universe.to_be_bytes();
    Ipv4Addr::new(239, 255, hi, lo)
}

/// A stable CID for a source: FNV-1a (64-bit) of the source name and the sink URL, twice
/// with different seeds, with the RFC 9562 version 8 (custom) and variant bits set. The same
/// wall and URL keep their CID across restarts, as receivers expect of one source.
pub fn derive_cid(source_name: &str, url: &str) -> [u8; 16] {
    fn fnv(seed: u64, parts: &[&[u8]]) -> u64 {
        let mut h = seed;
        for part in parts {
            for &b in *part {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01B3);
            }
            h ^= 0xFF;
            h = h.wrapping_mul(0x0000_0100_0000_01B3);
        }
        h
    }
    let parts: [&[u8]; 3] = [b"ledwall sACN", source_name.as_bytes(), url.as_bytes()];
    let a = fnv(0xCBF2_9CE4_8422_2325, &parts);
    let b = fnv(0x6C62_272E_07BB_0142, &parts);
    let mut cid = [0u8; 16];
    cid[..8].copy_from_slice(&a.to_be_bytes());
    cid[8..].copy_from_slice(&b.to_be_bytes());
    cid[6] = 0x80 | (cid[6] & 0x0F);
    cid[8] = 0x80 | (cid[8] & 0x3F);
    cid
}

/// Where a sACN sink's packets go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// Every packet to one address.
    Unicast(SocketAddr),
    /// Each universe's packets to its multicast group, on this UDP port.
    Multicast {
        /// UDP port.
        port: u16,
    },
}

impl Destination {
    /// The address of `universe`'s packets.
    pub fn address(self, universe: u16) -> SocketAddr {
        match self {
            Destination::Unicast(a) => a,
            Destination::Multicast { port } => (multicast_group(universe), port).into(),
        }
    }
}

/// A sACN sink's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// First universe, 1..=63999.
    pub universe: u16,
    /// Synchronization universe; `None` sends no sync packets (and sync address 0).
    pub sync: Option<u16>,
    /// Priority 0..=200.
    pub priority: u8,
    /// Source name.
    pub source_name: String,
    /// CID.
    pub cid: [u8; 16],
    /// The interface multicast leaves by (a name or an IPv4 address); `None`: the kernel's
    /// choice. Multicast destinations only.
    pub iface: Option<String>,
}

/// Sends its ports as sACN universes, then a universe synchronization packet.
#[derive(Debug)]
pub struct SacnSink {
    url: String,
    dest: Destination,
    socket: UdpSocket,
    shapes: Vec<PortShape>,
    settings: Settings,
    name_field: [u8; SOURCE_NAME_LEN],
    port_universes: Vec<usize>,
    /// Next sequence number, per universe index.
    sequences: Vec<u8>,
    /// Next sequence number of the sync universe when it carries no data of this sink.
    sync_sequence: u8,
    packet: Box<[u8; PACKET_MAX]>,
    sync_packet: [u8; SYNC_LEN],
    /// The last slots sent per universe ([`UNIVERSE_BYTES`] each), for the stream-terminated
    /// packets, and how many (0: never sent).
    last: Vec<u8>,
    last_len: Vec<usize>,
    /// The discovery pages, built at open.
    discovery: Vec<Box<[u8]>>,
    next_discovery: Option<Instant>,
    discovery_interval: Duration,
    closed: bool,
    stats: SinkStats,
    log: ErrorLog,
    sent: bool,
}

impl SacnSink {
    /// A sink sending ports of these shapes to `dest`.
    pub fn new(
        url: impl Into<String>,
        dest: Destination,
        settings: Settings,
        shapes: &[PortShape],
    ) -> Result<SacnSink, SinkError> {
        let url = url.into();
        let config = |reason: String| SinkError::Config {
            url: url.clone(),
            reason,
        };
        let (port_universes, count) = universe_layout(shapes);
        let first = settings.universe;
        if first == 0 || usize::from(first) + count.saturating_sub(1) > usize::from(MAX_UNIVERSE) {
            return Err(config(format!(
                "{count} universes from {first} do not fit in 1..={MAX_UNIVERSE}"
            )));
        }
        if let Some(s) = settings.sync
            && !(1..=MAX_UNIVERSE).contains(&s)
        {
            return Err(config(format!(
                "sync universe {s} is outside 1..={MAX_UNIVERSE}"
            )));
        }
        if settings.priority > MAX_PRIORITY {
            return Err(config(format!(
                "priority {} is above {MAX_PRIORITY}",
                settings.priority
            )));
        }
        let any = dest.address(first);
        let socket = udp::socket(&url, any)?;
        match (dest, &settings.iface) {
            (_, None) => {}
            (Destination::Multicast { .. }, Some(iface)) => {
                udp::multicast_interface(&url, &socket, iface)?;
            }
            (Destination::Unicast(_), Some(_)) => {
                return Err(config(
                    "iface chooses the interface of multicast; this sink sends unicast".into(),
                ));
            }
        }
        let name_field = source_name_field(&settings.source_name);
        let universes: Vec<u16> = (0..count).map(|u| first + u as u16).collect();
        let pages = universes.chunks(DISCOVERY_PAGE_UNIVERSES);
        let last_page = (pages.len().max(1) - 1).min(255) as u8;
        let mut discovery = Vec::with_capacity(pages.len());
        for (page, list) in pages.enumerate().take(256) {
            let mut out = Box::new([0u8; DISCOVERY_MAX]);
            let n = encode_discovery(
                &mut out,
                &settings.cid,
                &name_field,
                page as u8,
                last_page,
                list,
            );
            discovery.push(Box::from(&out[..n]));
        }
        Ok(SacnSink {
            url,
            dest,
            socket,
            shapes: shapes.to_vec(),
            name_field,
            settings,
            port_universes,
            sequences: vec![0; count],
            sync_sequence: 0,
            packet: Box::new([0; PACKET_MAX]),
            sync_packet: [0; SYNC_LEN],
            last: vec![0; count * UNIVERSE_BYTES],
            last_len: vec![0; count],
            discovery,
            next_discovery: None,
            discovery_interval: DISCOVERY_INTERVAL,
            closed: false,
            stats: SinkStats::default(),
            log: ErrorLog::default(),
            sent: false,
        })
    }

    /// Where the packets go.
    pub fn destination(&self) -> Destination {
        self.dest
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Send discovery packets every `every` instead of [`DISCOVERY_INTERVAL`] (tests).
    #[doc(hidden)]
    pub fn set_discovery_interval(&mut self, every: Duration) {
        self.discovery_interval = every;
        self.next_discovery = None;
    }

    /// Send the discovery pages when they are due.
    fn discover(&mut self) {
        let now = Instant::now();
        if self.next_discovery.is_some_and(|t| now < t) {
            return;
        }
        self.next_discovery = Some(now + self.discovery_interval);
        let dest = self.dest.address(DISCOVERY_UNIVERSE);
        for page in &self.discovery {
            udp::send(
                &self.socket,
                page,
                dest,
                &self.url,
                &mut self.stats,
                &mut self.log,
            );
        }
    }
}

impl Sink for SacnSink {
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
            if u >= self.sequences.len() {
                return;
            }
            // Kept for the stream-terminated packets of `close`, and sent from there.
            if let (Some(keep), Some(len)) = (
                self.last
                    .get_mut(u * UNIVERSE_BYTES..u * UNIVERSE_BYTES + chunk.len()),
                self.last_len.get_mut(u),
            ) {
                keep.copy_from_slice(chunk);
                *len = chunk.len();
            }
            self.send_universe(u, 0);
        }
        self.stats.bytes += bytes.len() as u64;
        self.sent = true;
    }

    fn sync(&mut self, _tick: u64) {
        if std::mem::take(&mut self.sent) {
            self.stats.frames += 1;
            self.send_sync();
        }
        self.discover();
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    fn stats(&self) -> SinkStats {
        self.stats
    }

    /// Three stream-terminated packets for every universe sent, with its last data.
    fn close(&mut self) -> Result<(), SinkError> {
        if std::mem::replace(&mut self.closed, true) {
            return Ok(());
        }
        for _ in 0..TERMINATE_PACKETS {
            for u in 0..self.last_len.len() {
                if self.last_len[u] > 0 {
                    self.send_universe(u, OPTION_STREAM_TERMINATED);
                }
            }
        }
        Ok(())
    }
}

impl SacnSink {
    /// The universe synchronization packet that ends a tick.
    /// Send universe `u` (from the sink's first) with the data last kept for it, the next
    /// sequence number and `options`.
    fn send_universe(&mut self, u: usize, options: u8) {
        let len = self.last_len.get(u).copied().unwrap_or(0);
        let (Some(seq), Some(slots)) = (
            self.sequences.get_mut(u),
            self.last.get(u * UNIVERSE_BYTES..u * UNIVERSE_BYTES + len),
        ) else {
            return;
        };
        let universe = self.settings.universe + u as u16;
        let header = DataHeader {
            cid: &self.settings.cid,
            source_name: &self.name_field,
            priority: self.settings.priority,
            sync_address: self.settings.sync.unwrap_or(0),
            sequence: *seq,
            options,
            universe,
        };
        *seq = seq.wrapping_add(1);
        let n = encode_data(&mut self.packet, &header, slots);
        udp::send(
            &self.socket,
            &self.packet[..n],
            self.dest.address(universe),
            &self.url,
            &mut self.stats,
            &mut self.log,
        );
    }

    fn send_sync(&mut self) {
        let Some(sync) = self.settings.sync else {
            return;
        };
        // The sync universe's sequence is shared with its data when this sink sends both.
        let index = usize::from(sync).checked_sub(usize::from(self.settings.universe));
        let seq = match index.and_then(|i| self.sequences.get_mut(i)) {
            Some(s) => s,
            None => &mut self.sync_sequence,
        };
        encode_sync(&mut self.sync_packet, &self.settings.cid, *seq, sync);
        *seq = seq.wrapping_add(1);
        udp::send(
            &self.socket,
            &self.sync_packet,
            self.dest.address(sync),
            &self.url,
            &mut self.stats,
            &mut self.log,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CID: [u8; 16] = [
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE,
        0xFF,
    ];

    fn root(len_flags: [u8; 2], vector: u8) -> Vec<u8> {
        let mut v = vec![0x00, 0x10, 0x00, 0x00];
        v.extend_from_slice(b"ASC-E1.17\0\0\0");
        v.extend_from_slice(&len_flags);
        v.extend_from_slice(&[0, 0, 0, vector]);
        v.extend_from_slice(&CID);
        v
    }

    #[test]
    fn data_packet_bytes_are_exact() {
        let name = source_name_field("wall");
        let h = DataHeader {
            cid: &CID,
            source_name: &name,
            priority: 100,
            sync_address: 7,
            sequence: 42,
            options: 0,
            universe: 0x0102,
        };
        let mut out = [0u8; PACKET_MAX];
        let n = encode_data(&mut out, &h, &[9, 8, 7, 6]);
        // 130 bytes: root 130-16 = 114 = 0x72, framing 92 = 0x5C, DMP 15 = 0x0F.
        let mut want = root([0x70, 0x72], 0x04);
        want.extend_from_slice(&[0x70, 0x5C, 0, 0, 0, 0x02]);
        want.extend_from_slice(b"wall");
        want.extend_from_slice(&[0; 60]);
        want.extend_from_slice(&[100, 0x00, 0x07, 42, 0x00, 0x01, 0x02]);
        want.extend_from_slice(&[0x70, 0x0F, 0x02, 0xA1, 0x00, 0x00, 0x00, 0x01, 0x00, 0x05]);
        want.extend_from_slice(&[0x00, 9, 8, 7, 6]);
        assert_eq!(want.len(), 130);
        assert_eq!(&out[..n], &want[..]);
    }

    #[test]
    fn full_packet_lengths_match_the_standard() {
        // E1.31's own example values for a 512-slot packet: 0x726e, 0x7258, 0x720b, 0x0201.
        let name = source_name_field("");
        let h = DataHeader {
            cid: &CID,
            source_name: &name,
            priority: 0,
            sync_address: 0,
            sequence: 0,
            options: 0,
            universe: 1,
        };
        let mut out = [0u8; PACKET_MAX];
        assert_eq!(encode_data(&mut out, &h, &[1; 600]), 638);
        assert_eq!(&out[16..18], &[0x72, 0x6E]);
        assert_eq!(&out[38..40], &[0x72, 0x58]);
        assert_eq!(&out[115..117], &[0x72, 0x0B]);
        assert_eq!(&out[123..125], &[0x02, 0x01]);
        // 510 slots (170 RGB pixels): 636 bytes.
        assert_eq!(encode_data(&mut out, &h, &[1; 510]), 636);
        assert_eq!(&out[16..18], &[0x72, 0x6C]);
        assert_eq!(&out[38..40], &[0x72, 0x56]);
        assert_eq!(&out[115..117], &[0x72, 0x09]);
        assert_eq!(&out[123..125], &[0x01, 0xFF]);
    }

    #[test]
    fn sync_packet_bytes_are_exact() {
        let mut out = [0xEEu8; SYNC_LEN];
        encode_sync(&mut out, &CID, 200, 0xBEEF);
        let mut want = root([0x70, 0x21], 0x08);
        want.extend_from_slice(&[0x70, 0x0B, 0, 0, 0, 0x01, 200, 0xBE, 0xEF, 0, 0]);
        assert_eq!(want.len(), 49);
        assert_eq!(&out[..], &want[..]);
    }

    #[test]
    fn source_names_are_cut_on_character_boundaries() {
        let f = source_name_field(&"é".repeat(40)); // 80 bytes of 2-byte characters
        assert_eq!(&f[..62], "é".repeat(31).as_bytes());
        assert_eq!(&f[62..], &[0, 0]);
        let f = source_name_field(&"x".repeat(70));
        assert_eq!(&f[..63], "x".repeat(63).as_bytes());
        assert_eq!(f[63], 0);
    }

    #[test]
    fn multicast_groups_and_destinations() {
        assert_eq!(multicast_group(1), Ipv4Addr::new(239, 255, 0, 1));
        assert_eq!(multicast_group(63999), Ipv4Addr::new(239, 255, 249, 255));
        assert_eq!(multicast_group(0x0102), Ipv4Addr::new(239, 255, 1, 2));
        let m = Destination::Multicast { port: 5568 };
        assert_eq!(m.address(300), "239.255.1.44:5568".parse().unwrap());
        let u = Destination::Unicast("10.0.0.5:5569".parse().unwrap());
        assert_eq!(u.address(300), "10.0.0.5:5569".parse().unwrap());
    }

    #[test]
    fn cids_are_stable_distinct_and_version_8() {
        let a = derive_cid("ledwall demo", "sacn://?universe=1&priority=100");
        assert_eq!(
            a,
            derive_cid("ledwall demo", "sacn://?universe=1&priority=100")
        );
        assert_ne!(
            a,
            derive_cid("ledwall demo", "sacn://?universe=2&priority=100")
        );
        assert_ne!(
            a,
            derive_cid("ledwall hd", "sacn://?universe=1&priority=100")
        );
        assert_eq!(a[6] >> 4, 8);
        assert_eq!(a[8] >> 6, 0b10);
    }

    #[test]
    fn bad_settings_are_refused() {
        let shapes = [PortShape {
            format: ledwall_render::wall::OutputFormat::Rgb8,
            bytes: 2 * UNIVERSE_BYTES,
        }];
        let dest = Destination::Unicast(([127, 0, 0, 1], 9).into());
        let s = |universe, sync, priority| Settings {
            universe,
            sync,
            priority,
            source_name: "t".into(),
            cid: CID,
            iface: None,
        };
        assert!(SacnSink::new("s", dest, s(63998, Some(1), 200), &shapes).is_ok());
        for bad in [
            s(63999, None, 100),
            s(0, None, 100),
            s(1, Some(0), 100),
            s(1, Some(64000), 100),
            s(1, None, 201),
        ] {
            assert!(
                SacnSink::new("s", dest, bad.clone(), &shapes).is_err(),
                "{bad:?}"
            );
        }
    }
}
