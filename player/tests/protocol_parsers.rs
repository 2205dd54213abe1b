//! What the DDP, Art-Net and sACN sinks send to real UDP sockets on 127.0.0.1, parsed by
//! independent implementations of the protocols (the `ddp-rs`, `artnet_protocol` and `sacn`
//! crates), reassembled, and compared with the `file` sink's bytes for the same frames.
//! Frames are rendered by the CPU renderer from the fixture walls, so every port format
//! (bit planes, rgb8, rgb16) and odd port sizes go over the wire.

use artnet_protocol::ArtCommand;
use ddp_rs::packet::PacketRef;
use ddp_rs::protocol::{DataType, ID, PixelFormat};
use ledwall_player::sinks::{
    self, ArtNetSink, DdpSink, PortShape, SacnSink, Sink, SinkOptions, SinkSet, UNIVERSE_BYTES,
    sacn::{Destination, Settings},
};
use ledwall_render::wall::{OutputFormat, SinkUrl};
use ledwall_render::{Geometry, Layer, Renderer, Scene, SourceImage, Wall, WallFrame};
use sacn::packet::{AcnRootLayerProtocol, E131RootLayerData};
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a test receiver waits for one datagram before the test fails (a guard against
/// hanging, not a timing assertion).
const RECV_GUARD: Duration = Duration::from_secs(10);

/// Frames sent in the frame-comparison tests: enough to wrap DDP's 4-bit sequence.
const FRAMES: u64 = 4;

fn wall(name: &str) -> Wall {
    let path = format!(
        "{}/../fixtures/walls/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    Wall::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn pattern(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            v.extend_from_slice(&[
                (x.wrapping_mul(7) ^ seed) as u8,
                (y.wrapping_mul(5) + seed * 40) as u8,
                ((x + y) ^ (seed * 3)) as u8,
                255,
            ]);
        }
    }
    v
}

/// `FRAMES` frames of `wall`, each from a different source (and dither phase).
fn render(wall: &Wall) -> (Geometry, Vec<WallFrame>) {
    let mut r = Renderer::with_threads(wall, 2).unwrap_or_else(|e| panic!("{e}"));
    let mut frames = Vec::new();
    for n in 0..FRAMES {
        let src = pattern(wall.width + 3, wall.height - 1, n as u32);
        let layer = Layer::new(SourceImage::rgba8(wall.width + 3, wall.height - 1, &src));
        let mut f = WallFrame::new(r.geometry());
        r.render_into(&Scene::single(n, layer), &mut f)
            .unwrap_or_else(|e| panic!("{e}"));
        frames.push(f);
    }
    (Geometry::compile(wall), frames)
}

/// Every port of `wall` to the sink `url`.
fn open(wall: &Wall, geometry: &Geometry, url: &str) -> SinkSet {
    let url = SinkUrl::parse(url).unwrap_or_else(|e| panic!("{e}"));
    let urls = vec![url; geometry.ports.len()];
    SinkSet::open(wall, geometry, &urls, &SinkOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// The `file` sink's bytes for `frames`: one Vec per frame.
fn file_frames(wall: &Wall, geometry: &Geometry, frames: &[WallFrame]) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("wall.bin");
    let mut set = open(wall, geometry, &format!("file:{}", path.display()));
    for (tick, f) in frames.iter().enumerate() {
        set.send_frame(f, tick as u64);
    }
    set.flush().unwrap_or_else(|e| panic!("{e}"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
    let frame_len: usize = geometry.ports.iter().map(|p| p.byte_len()).sum();
    assert_eq!(bytes.len(), frame_len * frames.len());
    bytes.chunks(frame_len).map(<[u8]>::to_vec).collect()
}

/// A receiving socket on an ephemeral port of 127.0.0.1, with a large receive buffer so a
/// frame's burst of datagrams is not dropped while the receiver thread is not running.
fn receiver() -> (UdpSocket, u16) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    socket
        .set_read_timeout(Some(RECV_GUARD))
        .unwrap_or_else(|e| panic!("{e}"));
    socket2::SockRef::from(&socket)
        .set_recv_buffer_size(8 << 20)
        .unwrap_or_else(|e| panic!("{e}"));
    let port = socket.local_addr().unwrap_or_else(|e| panic!("{e}")).port();
    (socket, port)
}

/// A thread that forwards every datagram `socket` receives, until the test side hangs up.
fn forward(socket: UdpSocket) -> (mpsc::Receiver<Vec<u8>>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let mut buf = vec![0u8; 2048];
        while let Ok(n) = socket.recv(&mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    (rx, handle)
}

/// The next `n` datagrams.
fn take(rx: &mpsc::Receiver<Vec<u8>>, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            rx.recv_timeout(RECV_GUARD)
                .unwrap_or_else(|e| panic!("datagram {i} of {n} did not arrive: {e}"))
        })
        .collect()
}

/// The next `n` sACN datagrams that are not universe discovery packets.
fn take_sacn(rx: &mpsc::Receiver<Vec<u8>>, n: usize) -> Vec<Vec<u8>> {
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        let p = rx
            .recv_timeout(RECV_GUARD)
            .unwrap_or_else(|e| panic!("datagram {} of {n} did not arrive: {e}", got.len()));
        if !is_discovery(&p) {
            got.push(p);
        }
    }
    got
}

/// Whether an sACN datagram is a universe discovery packet (the `sacn` crate's parser).
fn is_discovery(bytes: &[u8]) -> bool {
    AcnRootLayerProtocol::parse(bytes)
        .is_ok_and(|p| matches!(p.pdu.data, E131RootLayerData::UniverseDiscoveryPacket(_)))
}

/// Every datagram until none came for 300 ms.
fn drain(rx: &mpsc::Receiver<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    while let Ok(p) = rx.recv_timeout(Duration::from_millis(300)) {
        got.push(p);
    }
    got
}

fn universes(geometry: &Geometry) -> usize {
    geometry
        .ports
        .iter()
        .map(|p| p.byte_len().div_ceil(UNIVERSE_BYTES))
        .sum()
}

// ---------------------------------------------------------------------------------------
// DDP

fn ddp_frames_match_the_file_sink(name: &str) {
    let w = wall(name);
    let (geometry, frames) = render(&w);
    let expected = file_frames(&w, &geometry, &frames);
    let (socket, port) = receiver();
    let (rx, _thread) = forward(socket);
    let mut set = open(&w, &geometry, &format!("ddp://127.0.0.1:{port}"));
    let per_frame: usize = geometry
        .ports
        .iter()
        .map(|p| p.byte_len().div_ceil(1440))
        .sum();
    // Port k's bytes start at the sum of the earlier ports' lengths.
    let mut starts = vec![0usize];
    for p in &geometry.ports {
        starts.push(starts[starts.len() - 1] + p.byte_len());
    }
    let mut sequence = 0u8;
    for (tick, frame) in frames.iter().enumerate() {
        set.send_frame(frame, tick as u64);
        let packets = take(&rx, per_frame);
        let mut got = vec![0xEEu8; expected[tick].len()];
        let mut next_offset = 0usize;
        for (i, bytes) in packets.iter().enumerate() {
            let p = PacketRef::from_bytes(bytes).unwrap_or_else(|| panic!("packet {i} too short"));
            let h = p.header;
            assert_eq!(h.packet_type.version, 1);
            assert!(!h.packet_type.timecode && !h.packet_type.query && !h.packet_type.reply);
            // PUSH on the last packet of the frame, and only there.
            assert_eq!(h.packet_type.push, i + 1 == per_frame, "{name} packet {i}");
            // Sequence 1..=15, one more each packet, across frames.
            sequence = sequence % 15 + 1;
            assert_eq!(h.sequence_number, sequence, "{name} packet {i}");
            assert_eq!(h.id, ID::Default);
            assert_eq!(usize::from(h.length), p.data.len());
            assert!(p.data.len() <= 1440 && !p.data.is_empty());
            let offset = h.offset as usize;
            assert_eq!(offset, next_offset, "{name}: packets are in order, no gaps");
            next_offset = offset + p.data.len();
            // A packet never crosses a port; its data type is the port's.
            let k = starts.iter().rposition(|&s| s <= offset).unwrap_or(0);
            assert!(
                next_offset <= starts[k + 1],
                "{name} packet {i} crosses a port"
            );
            let (t, s) = match geometry.ports[k].format {
                OutputFormat::Rgb8 | OutputFormat::Canvas => {
                    (DataType::RGB, PixelFormat::Pixel8Bits)
                }
                OutputFormat::Rgb16 => (DataType::RGB, PixelFormat::Pixel16Bits),
                OutputFormat::Bitplanes => (DataType::Undefined, PixelFormat::Undefined),
            };
            assert_eq!((h.pixel_config.data_type, h.pixel_config.data_size), (t, s));
            got[offset..next_offset].copy_from_slice(p.data);
        }
        assert_eq!(next_offset, got.len());
        assert!(got == expected[tick], "{name} frame {tick} differs");
    }
    let stats = set.stats();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].1.frames, FRAMES);
    assert_eq!(stats[0].1.packets, per_frame as u64 * FRAMES);
    assert_eq!(stats[0].1.errors, 0);
    assert!(per_frame as u64 * FRAMES > 15, "the sequence wrapped");
}

#[test]
fn ddp_frames_match_the_file_sink_demo() {
    ddp_frames_match_the_file_sink("demo");
}

#[test]
fn ddp_frames_match_the_file_sink_outdoor() {
    ddp_frames_match_the_file_sink("outdoor");
}

#[test]
fn ddp_splits_at_1440_bytes_and_pushes_once_per_frame() {
    let (socket, port) = receiver();
    let (rx, _thread) = forward(socket);
    let dest: SocketAddr = ([127, 0, 0, 1], port).into();
    // 1441 bytes: one full packet and one of a single byte; then a 6-byte rgb16 port.
    let shapes = [
        PortShape {
            format: OutputFormat::Rgb8,
            bytes: 1441,
        },
        PortShape {
            format: OutputFormat::Rgb16,
            bytes: 6,
        },
    ];
    let mut sink = DdpSink::new("ddp", dest, &shapes).unwrap_or_else(|e| panic!("{e}"));
    let a: Vec<u8> = (0..1441).map(|i| (i % 251) as u8).collect();
    sink.send(0, &a, 0);
    // The frame's last packet is held until the sync: only the first one is out.
    let first = take(&rx, 1);
    sink.send(1, &[1, 2, 3, 4, 5, 6], 0);
    let second = take(&rx, 1);
    sink.sync(0);
    let third = take(&rx, 1);
    let parsed: Vec<_> = [&first[0], &second[0], &third[0]]
        .into_iter()
        .map(|b| PacketRef::from_bytes(b).unwrap_or_else(|| panic!("short packet")))
        .collect();
    let offsets: Vec<u32> = parsed.iter().map(|p| p.header.offset).collect();
    let lengths: Vec<usize> = parsed.iter().map(|p| p.data.len()).collect();
    let push: Vec<bool> = parsed.iter().map(|p| p.header.packet_type.push).collect();
    assert_eq!(offsets, vec![0, 1440, 1441]);
    assert_eq!(lengths, vec![1440, 1, 6]);
    assert_eq!(push, vec![false, false, true]);
    assert_eq!(parsed[1].data, &a[1440..]);
    assert_eq!(parsed[2].data, &[1, 2, 3, 4, 5, 6]);
    // A tick that sent nothing sends no push.
    sink.sync(1);
    sink.send(1, &[9; 6], 2);
    sink.sync(2);
    let p = take(&rx, 1);
    let p = PacketRef::from_bytes(&p[0]).unwrap_or_else(|| panic!("short packet"));
    assert!(p.header.packet_type.push);
    assert_eq!(p.header.offset, 1441);
    assert_eq!(p.header.sequence_number, 4);
    assert_eq!(sink.stats().frames, 2);
}

// ---------------------------------------------------------------------------------------
// Art-Net

fn artnet_frames_match_the_file_sink(name: &str) {
    let w = wall(name);
    let (geometry, frames) = render(&w);
    let expected = file_frames(&w, &geometry, &frames);
    let (socket, port) = receiver();
    let (rx, _thread) = forward(socket);
    let first = 300u16;
    let mut set = open(
        &w,
        &geometry,
        &format!("artnet://127.0.0.1:{port}?universe={first}"),
    );
    let n = universes(&geometry);
    for (tick, frame) in frames.iter().enumerate() {
        set.send_frame(frame, tick as u64);
        let packets = take(&rx, n + 1);
        let mut got = Vec::new();
        let mut universe = 0;
        for (k, p) in geometry.ports.iter().enumerate() {
            let mut port_bytes = Vec::new();
            for _ in 0..p.byte_len().div_ceil(UNIVERSE_BYTES) {
                let bytes = &packets[universe];
                let cmd = ArtCommand::from_buffer(bytes).unwrap_or_else(|e| panic!("{e:?}"));
                let ArtCommand::Output(out) = cmd else {
                    panic!("{name} frame {tick} datagram {universe}: not ArtDmx: {cmd:?}");
                };
                assert_eq!(out.version, [0, 14]);
                assert_eq!(out.physical, 0);
                assert_eq!(
                    u16::from(out.port_address),
                    first + universe as u16,
                    "{name}: consecutive universes"
                );
                // Sequence 1..=255 per universe: this universe's (tick + 1)-th packet.
                assert_eq!(out.sequence, tick as u8 + 1);
                let data = out.data.as_ref();
                assert_eq!(usize::from(*out.length), data.len());
                assert!(data.len() % 2 == 0 && (2..=512).contains(&data.len()));
                // 510 bytes a universe; the port's last universe has the rest, padded.
                let left = p.byte_len() - port_bytes.len();
                assert_eq!(
                    data.len(),
                    left.min(UNIVERSE_BYTES) + left.min(UNIVERSE_BYTES) % 2
                );
                port_bytes.extend_from_slice(&data[..left.min(UNIVERSE_BYTES)]);
                universe += 1;
            }
            assert_eq!(port_bytes.len(), geometry.ports[k].byte_len());
            got.extend_from_slice(&port_bytes);
        }
        // The ArtSync comes after every universe of the frame.
        let sync = ArtCommand::from_buffer(&packets[n]).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(matches!(sync, ArtCommand::Sync), "{sync:?}");
        assert_eq!(packets[n].len(), 14);
        assert!(got == expected[tick], "{name} frame {tick} differs");
    }
    let stats = set.stats();
    assert_eq!(stats[0].1.packets, (n as u64 + 1) * FRAMES);
    assert_eq!(stats[0].1.errors, 0);
}

#[test]
fn artnet_frames_match_the_file_sink_demo() {
    artnet_frames_match_the_file_sink("demo");
}

#[test]
fn artnet_frames_match_the_file_sink_outdoor() {
    artnet_frames_match_the_file_sink("outdoor");
}

#[test]
fn artnet_sequence_wraps_from_255_to_1_per_universe() {
    let (socket, port) = receiver();
    let (rx, _thread) = forward(socket);
    let dest: SocketAddr = ([127, 0, 0, 1], port).into();
    // Two universes: 511 bytes; the second carries 1 byte (padded to 2).
    let shapes = [PortShape {
        format: OutputFormat::Bitplanes,
        bytes: 511,
    }];
    let mut sink =
        ArtNetSink::new("artnet", dest, 0x7FFE, &shapes).unwrap_or_else(|e| panic!("{e}"));
    let data = vec![3u8; 511];
    let mut seen = [Vec::new(), Vec::new()];
    for tick in 0..600u64 {
        sink.send(0, &data, tick);
        sink.sync(tick);
        for (i, bytes) in take(&rx, 3).iter().enumerate() {
            match ArtCommand::from_buffer(bytes).unwrap_or_else(|e| panic!("{e:?}")) {
                ArtCommand::Output(out) if i < 2 => {
                    assert_eq!(u16::from(out.port_address), 0x7FFE + i as u16);
                    seen[i].push(out.sequence);
                }
                ArtCommand::Sync if i == 2 => {}
                other => panic!("datagram {i}: {other:?}"),
            }
        }
    }
    let want: Vec<u8> = (0..600).map(|k| (k % 255) as u8 + 1).collect();
    assert_eq!(seen[0], want);
    assert_eq!(seen[1], want);
    assert!(!seen[0].contains(&0));
}

// ---------------------------------------------------------------------------------------
// sACN

fn sacn_frames_match_the_file_sink(name: &str) {
    let w = wall(name);
    let (geometry, frames) = render(&w);
    let expected = file_frames(&w, &geometry, &frames);
    let (socket, port) = receiver();
    let (rx, _thread) = forward(socket);
    let (first, sync_universe, priority) = (7u16, 999u16, 150u8);
    let url = format!(
        "sacn://127.0.0.1:{port}?universe={first}&sync={sync_universe}&priority={priority}"
    );
    let mut set = open(&w, &geometry, &url);
    let n = universes(&geometry);
    let want_cid = sinks::sacn::derive_cid(
        &format!("ledwall {}", w.name),
        &sinks::url_text(&SinkUrl::parse(&url).unwrap_or_else(|e| panic!("{e}"))),
    );
    for (tick, frame) in frames.iter().enumerate() {
        set.send_frame(frame, tick as u64);
        let packets = take_sacn(&rx, n + 1);
        let mut got = Vec::new();
        let mut universe = 0usize;
        for p in &geometry.ports {
            let mut port_bytes = Vec::new();
            for _ in 0..p.byte_len().div_ceil(UNIVERSE_BYTES) {
                let bytes = &packets[universe];
                let parsed = AcnRootLayerProtocol::parse(bytes).unwrap_or_else(|e| panic!("{e:?}"));
                assert_eq!(parsed.pdu.cid.as_bytes(), &want_cid);
                let E131RootLayerData::DataPacket(d) = parsed.pdu.data else {
                    panic!("{name} frame {tick} datagram {universe}: not a data packet");
                };
                assert_eq!(d.source_name, format!("ledwall {}", w.name));
                assert_eq!(d.priority, priority);
                assert_eq!(d.synchronization_address, sync_universe);
                assert_eq!(d.universe, first + universe as u16);
                assert_eq!(d.sequence_number, tick as u8, "per-universe sequence");
                assert!(!d.preview_data && !d.stream_terminated && !d.force_synchronization);
                let values = &d.data.property_values;
                assert_eq!(values[0], 0, "DMX start code");
                let left = p.byte_len() - port_bytes.len();
                assert_eq!(values.len() - 1, left.min(UNIVERSE_BYTES));
                port_bytes.extend_from_slice(&values[1..]);
                universe += 1;
            }
            assert_eq!(port_bytes.len(), p.byte_len());
            got.extend_from_slice(&port_bytes);
        }
        // The universe sync comes after the frame's data.
        let parsed = AcnRootLayerProtocol::parse(&packets[n]).unwrap_or_else(|e| panic!("{e:?}"));
        let E131RootLayerData::SynchronizationPacket(s) = parsed.pdu.data else {
            panic!("{name} frame {tick}: the last datagram is not a sync packet");
        };
        assert_eq!(packets[n].len(), 49);
        assert_eq!(s.synchronization_address, sync_universe);
        assert_eq!(s.sequence_number, tick as u8);
        assert!(got == expected[tick], "{name} frame {tick} differs");
    }
    // One discovery page at the first sync, none after (10 s apart).
    let stats = set.stats();
    assert_eq!(stats[0].1.packets, (n as u64 + 1) * FRAMES + 1);
    assert_eq!(stats[0].1.errors, 0);
}

#[test]
fn sacn_frames_match_the_file_sink_demo() {
    sacn_frames_match_the_file_sink("demo");
}

#[test]
fn sacn_frames_match_the_file_sink_outdoor() {
    sacn_frames_match_the_file_sink("outdoor");
}

fn sacn_sink(port: u16, universe: u16, sync: Option<u16>, shapes: &[PortShape]) -> SacnSink {
    let settings = Settings {
        universe,
        sync,
        priority: 100,
        source_name: "test".into(),
        cid: [7; 16],
        iface: None,
    };
    let dest = Destination::Unicast(([127, 0, 0, 1], port).into());
    SacnSink::new("sacn", dest, settings, shapes).unwrap_or_else(|e| panic!("{e}"))
}

/// (universe or sync address, sequence, is sync) of a datagram.
fn sacn_fields(bytes: &[u8]) -> (u16, u8, bool) {
    let parsed = AcnRootLayerProtocol::parse(bytes).unwrap_or_else(|e| panic!("{e:?}"));
    match parsed.pdu.data {
        E131RootLayerData::DataPacket(d) => (d.universe, d.sequence_number, false),
        E131RootLayerData::SynchronizationPacket(s) => {
            (s.synchronization_address, s.sequence_number, true)
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn sacn_sequences_wrap_per_universe_and_the_sync_universe_has_its_own() {
    let (socket, port) = receiver();
    let (rx, _thread) = forward(socket);
    // Universe 10 every tick; universe 11 only on even ticks (its own port); sync on 500.
    let shapes = [
        PortShape {
            format: OutputFormat::Rgb8,
            bytes: 3,
        },
        PortShape {
            format: OutputFormat::Rgb8,
            bytes: 510,
        },
    ];
    let mut sink = sacn_sink(port, 10, Some(500), &shapes);
    let mut seq = std::collections::BTreeMap::<(u16, bool), Vec<u8>>::new();
    for tick in 0..600u64 {
        sink.send(0, &[1, 2, 3], tick);
        let mut n = 2;
        if tick % 2 == 0 {
            sink.send(1, &[4; 510], tick);
            n += 1;
        }
        sink.sync(tick);
        let packets = take_sacn(&rx, n);
        for (i, p) in packets.iter().enumerate() {
            let (u, s, is_sync) = sacn_fields(p);
            assert_eq!(is_sync, i + 1 == n, "tick {tick}: sync comes last");
            seq.entry((u, is_sync)).or_default().push(s);
        }
    }
    let wrap = |count: usize| (0..count).map(|k| k as u8).collect::<Vec<u8>>();
    assert_eq!(seq[&(10, false)], wrap(600));
    assert_eq!(seq[&(11, false)], wrap(300));
    assert_eq!(seq[&(500, true)], wrap(600));
    assert_eq!(seq.len(), 3);
}

#[test]
fn sacn_sync_on_a_data_universe_shares_its_sequence() {
    let (socket, port) = receiver();
    let (rx, _thread) = forward(socket);
    let shapes = [PortShape {
        format: OutputFormat::Rgb16,
        bytes: 12,
    }];
    let mut sink = sacn_sink(port, 3, Some(3), &shapes);
    let mut seen = Vec::new();
    for tick in 0..3 {
        sink.send(0, &[0; 12], tick);
        sink.sync(tick);
        seen.extend(take_sacn(&rx, 2).iter().map(|p| sacn_fields(p)));
    }
    assert_eq!(
        seen,
        vec![
            (3, 0, false),
            (3, 1, true),
            (3, 2, false),
            (3, 3, true),
            (3, 4, false),
            (3, 5, true)
        ]
    );
}

#[test]
fn sacn_without_sync_sends_sync_address_0_and_no_sync_packet() {
    let (socket, port) = receiver();
    let (rx, _thread) = forward(socket);
    let shapes = [PortShape {
        format: OutputFormat::Rgb8,
        bytes: 600,
    }];
    let mut sink = sacn_sink(port, 1, None, &shapes);
    for tick in 0..2 {
        sink.send(0, &[5; 600], tick);
        sink.sync(tick);
    }
    // A marker from another sink on the same receiver: had a sync been sent, it would come
    // before the marker.
    let mut marker = sacn_sink(port, 42, None, &shapes[..]);
    marker.send(0, &[6; 600], 0);
    let packets = take_sacn(&rx, 6);
    let fields: Vec<_> = packets.iter().map(|p| sacn_fields(p)).collect();
    assert_eq!(
        fields,
        vec![
            (1, 0, false),
            (2, 0, false),
            (1, 1, false),
            (2, 1, false),
            (42, 0, false),
            (43, 0, false)
        ]
    );
    for p in &packets[..4] {
        let parsed = AcnRootLayerProtocol::parse(p).unwrap_or_else(|e| panic!("{e:?}"));
        let E131RootLayerData::DataPacket(d) = parsed.pdu.data else {
            panic!("not data");
        };
        assert_eq!(d.synchronization_address, 0);
    }
}

/// A parsed sACN data packet: (universe, sequence, stream terminated, slots after the start
/// code).
fn sacn_data(bytes: &[u8]) -> Option<(u16, u8, bool, Vec<u8>)> {
    let parsed = AcnRootLayerProtocol::parse(bytes).unwrap_or_else(|e| panic!("{e:?}"));
    match parsed.pdu.data {
        E131RootLayerData::DataPacket(d) => Some((
            d.universe,
            d.sequence_number,
            d.stream_terminated,
            d.data.property_values[1..].to_vec(),
        )),
        _ => None,
    }
}

#[test]
fn sacn_close_terminates_every_universe_sent_three_times_with_its_last_data() {
    let (socket, port) = receiver();
    let (rx, _thread) = forward(socket);
    // Universes 10 (port 0), 11 and 12 (port 1), 13 (port 2, never sent).
    let shapes = [
        PortShape {
            format: OutputFormat::Rgb8,
            bytes: 3,
        },
        PortShape {
            format: OutputFormat::Rgb8,
            bytes: 600,
        },
        PortShape {
            format: OutputFormat::Rgb8,
            bytes: 6,
        },
    ];
    let mut sink = sacn_sink(port, 10, Some(500), &shapes);
    let long: Vec<u8> = (0..600).map(|i| i as u8).collect();
    for tick in 0..2u8 {
        sink.send(0, &[tick, 2, 3], u64::from(tick));
        sink.send(1, &long, u64::from(tick));
        sink.sync(u64::from(tick));
    }
    let sent = drain(&rx);
    assert!(
        sent.iter()
            .filter_map(|p| sacn_data(p))
            .all(|(_, _, terminated, _)| !terminated)
    );
    // Flushing ends nothing.
    sink.flush().unwrap_or_else(|e| panic!("{e}"));
    assert!(drain(&rx).is_empty(), "flush sent packets");
    let before = sink.stats().packets;
    sink.close().unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<_> = drain(&rx).iter().map(|p| sacn_data(p)).collect();
    let got: Vec<_> = got
        .into_iter()
        .map(|d| d.unwrap_or_else(|| panic!("close sent a packet that is not data")))
        .collect();
    assert_eq!(got.len(), 9, "three per universe sent: {got:?}");
    for (u, seq, terminated, slots) in &got {
        assert!(terminated, "universe {u}: no Stream_Terminated bit");
        let want: &[u8] = match u {
            10 => &[1, 2, 3],
            11 => &long[..510],
            12 => &long[510..],
            _ => panic!("universe {u} was never sent"),
        };
        assert_eq!(
            &slots[..],
            want,
            "universe {u} sequence {seq}: not its last data"
        );
    }
    for u in [10u16, 11, 12] {
        // Sequences go on from the data: two data packets, then 2, 3, 4.
        let seqs: Vec<u8> = got.iter().filter(|d| d.0 == u).map(|d| d.1).collect();
        assert_eq!(seqs, vec![2, 3, 4], "universe {u}");
    }
    assert_eq!(sink.stats().packets - before, 9);
    // Once only.
    sink.close().unwrap_or_else(|e| panic!("{e}"));
    assert!(drain(&rx).is_empty(), "a second close sent packets");
}

#[test]
fn sacn_discovery_lists_every_universe_by_page_at_the_first_sync_and_then_periodically() {
    let (socket, port) = receiver();
    let (rx, _thread) = forward(socket);
    // 700 universes from 100: two pages, 512 + 188.
    let shapes = [PortShape {
        format: OutputFormat::Rgb8,
        bytes: 700 * UNIVERSE_BYTES,
    }];
    let mut sink = sacn_sink(port, 100, None, &shapes);
    let every = Duration::from_millis(300);
    sink.set_discovery_interval(every);
    let start = std::time::Instant::now();
    sink.send(0, &vec![9u8; 700 * UNIVERSE_BYTES], 0);
    // Per round of discovery: when, and its pages (page, last page, universes).
    type Page = (u8, u8, Vec<u16>);
    let mut rounds: Vec<(Duration, Vec<Page>)> = Vec::new();
    let mut data = 0;
    let mut handle = |p: Vec<u8>| {
        let at = start.elapsed();
        let parsed = AcnRootLayerProtocol::parse(&p).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(parsed.pdu.cid.as_bytes(), &[7; 16]);
        match parsed.pdu.data {
            E131RootLayerData::DataPacket(_) => data += 1,
            E131RootLayerData::UniverseDiscoveryPacket(d) => {
                // The fixed fields, read by hand: root vector EXTENDED, framing vector
                // EXTENDED_DISCOVERY, reserved zero, layer vector UNIVERSE_LIST, lengths.
                assert_eq!(&p[18..22], &[0, 0, 0, 8]);
                assert_eq!(&p[40..44], &[0, 0, 0, 2]);
                assert_eq!(&p[108..112], &[0; 4]);
                assert_eq!(&p[114..118], &[0, 0, 0, 1]);
                for (at, from) in [(16, 16), (38, 38), (112, 112)] {
                    let fl = u16::from_be_bytes([p[at], p[at + 1]]);
                    assert_eq!(fl, 0x7000 | (p.len() - from) as u16, "flags+length at {at}");
                }
                assert_eq!(d.source_name, "test");
                let page = (d.data.page, d.data.last_page, d.data.universes.to_vec());
                match rounds.last_mut() {
                    Some((_, pages)) if pages.len() < 2 => pages.push(page),
                    _ => rounds.push((at, vec![page])),
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    let mut tick = 0;
    while start.elapsed() < Duration::from_millis(1000) {
        sink.sync(tick);
        tick += 1;
        std::thread::sleep(Duration::from_millis(5));
        while let Ok(p) = rx.try_recv() {
            handle(p);
        }
    }
    while let Ok(p) = rx.recv_timeout(Duration::from_millis(300)) {
        handle(p);
    }
    assert_eq!(data, 700);
    let want = vec![
        (0, 1, (100..612).collect::<Vec<u16>>()),
        (1, 1, (612..800).collect()),
    ];
    assert!(
        (3..=5).contains(&rounds.len()),
        "{} rounds in 1 s every 300 ms",
        rounds.len()
    );
    for (at, pages) in &rounds {
        assert_eq!(pages, &want, "round at {at:?}");
    }
    for pair in rounds.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(gap >= Duration::from_millis(250), "rounds {gap:?} apart");
    }
    // The first round comes with the first sync; then one per interval.
    assert!(
        rounds[0].0 < Duration::from_millis(250),
        "{:?}",
        rounds[0].0
    );
    assert_eq!(sink.stats().packets, 700 + 2 * rounds.len() as u64);
}

#[test]
fn sacn_reopen_carries_unchanged_sinks_over_and_terminates_removed_ones() {
    let w = wall("demo");
    let (geometry, frames) = render(&w);
    assert_eq!(geometry.ports.len(), 2);
    let (socket, port) = receiver();
    let (rx, _thread) = forward(socket);
    let url = |u: u16| {
        SinkUrl::parse(&format!("sacn://127.0.0.1:{port}?universe={u}"))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let per_port: Vec<u16> = geometry
        .ports
        .iter()
        .map(|p| p.byte_len().div_ceil(UNIVERSE_BYTES) as u16)
        .collect();
    let options = SinkOptions::default();
    let mut set = SinkSet::open(&w, &geometry, &[url(1), url(1000)], &options)
        .unwrap_or_else(|e| panic!("{e}"));
    for (tick, frame) in frames[..2].iter().enumerate() {
        set.send_frame(frame, tick as u64);
    }
    let first = drain(&rx);
    assert!(!first.is_empty());
    // A reload whose new sink cannot open fatally (too many universes from 63999): the old
    // set comes back and goes on as before, nothing terminated.
    let (e, mut set) = match SinkSet::reopen(set, &w, &geometry, &[url(1), url(63999)], &options) {
        Ok(_) => panic!("universe 63999 with {} universes opened", per_port[1]),
        Err(back) => back,
    };
    assert!(e.to_string().contains("63999"), "{e}");
    assert!(drain(&rx).is_empty(), "a failed reload sent packets");
    set.send_frame(&frames[2], 2);
    let seen: Vec<_> = drain(&rx).iter().filter_map(|p| sacn_data(p)).collect();
    assert!(seen.iter().any(|d| d.0 == 1000 && d.1 == 2 && !d.2));
    // Port 0's sink stays, port 1's changes.
    let mut set = SinkSet::reopen(set, &w, &geometry, &[url(1), url(2000)], &options)
        .unwrap_or_else(|(e, _)| panic!("{e}"));
    let closed: Vec<_> = drain(&rx).iter().filter_map(|p| sacn_data(p)).collect();
    let removed: Vec<u16> = (1000..1000 + per_port[1]).collect();
    assert_eq!(closed.len(), 3 * removed.len(), "{closed:?}");
    assert!(closed.iter().all(|d| d.2 && removed.contains(&d.0)));
    set.send_frame(&frames[3], 3);
    let after: Vec<_> = drain(&rx).iter().filter_map(|p| sacn_data(p)).collect();
    // The carried-over sink's sequence goes on (3 frames sent before); the new one starts.
    assert!(after.iter().all(|d| !d.2));
    assert!(
        after.iter().any(|d| d.0 == 1 && d.1 == 3),
        "{:?}",
        &after[..2]
    );
    assert!(after.iter().any(|d| d.0 == 2000 && d.1 == 0));
    assert!(after.iter().all(|d| d.0 < 1000 || d.0 >= 2000));
    // Stop: both remaining sinks terminate their universes.
    set.close().unwrap_or_else(|e| panic!("{e}"));
    let end: Vec<_> = drain(&rx).iter().filter_map(|p| sacn_data(p)).collect();
    let live = usize::from(per_port[0] + per_port[1]);
    assert_eq!(end.len(), 3 * live);
    assert!(end.iter().all(|d| d.2));
    assert!(end.iter().any(|d| d.0 == 1 && d.1 == 4));
    assert!(end.iter().any(|d| d.0 == 2000 && d.1 == 1));
}
