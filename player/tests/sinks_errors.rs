//! A destination that refuses every datagram only counts errors: sending goes on, nothing
//! panics, nothing is returned to the caller, and flushing still succeeds. Calls that do not
//! fit the sink's ports are counted too.

use ledwall_player::sinks::sacn::{Destination, Settings};
use ledwall_player::sinks::{ArtNetSink, DdpSink, PortShape, SacnSink, Sink, SinkStats};
use ledwall_render::wall::OutputFormat;
use std::net::SocketAddr;

/// Port 0 cannot be sent to (the kernel refuses it with EINVAL at once): every send fails.
fn refusing() -> SocketAddr {
    ([127, 0, 0, 1], 0).into()
}

const SHAPES: [PortShape; 2] = [
    PortShape {
        format: OutputFormat::Rgb8,
        bytes: 1500, // DDP: 2 packets; Art-Net / sACN: 3 universes
    },
    PortShape {
        format: OutputFormat::Bitplanes,
        bytes: 64, // 1 packet, 1 universe
    },
];

fn run(sink: &mut dyn Sink, ticks: u64) -> SinkStats {
    let a = vec![1u8; 1500];
    let b = vec![2u8; 64];
    for tick in 0..ticks {
        sink.send(0, &a, tick);
        sink.send(1, &b, tick);
        sink.sync(tick);
    }
    sink.flush().unwrap_or_else(|e| panic!("{e}"));
    sink.stats()
}

#[test]
fn ddp_counts_every_refused_packet() {
    let mut sink = DdpSink::new("ddp", refusing(), &SHAPES).unwrap_or_else(|e| panic!("{e}"));
    let s = run(&mut sink, 50);
    assert_eq!(s.errors, 3 * 50);
    assert_eq!(s.packets, 0);
    assert_eq!(s.frames, 50);
    assert_eq!(s.bytes, 1564 * 50);
}

#[test]
fn artnet_counts_every_refused_packet_and_sync() {
    let mut sink =
        ArtNetSink::new("artnet", refusing(), 1, &SHAPES).unwrap_or_else(|e| panic!("{e}"));
    let s = run(&mut sink, 50);
    assert_eq!(s.errors, (4 + 1) * 50);
    assert_eq!(s.packets, 0);
    assert_eq!(s.frames, 50);
}

#[test]
fn sacn_counts_every_refused_packet_and_sync() {
    let settings = Settings {
        universe: 1,
        sync: Some(100),
        priority: 100,
        source_name: "t".into(),
        cid: [1; 16],
        iface: None,
    };
    let mut sink = SacnSink::new("sacn", Destination::Unicast(refusing()), settings, &SHAPES)
        .unwrap_or_else(|e| panic!("{e}"));
    let s = run(&mut sink, 50);
    // 4 universes and a sync a tick, and the discovery page at the first sync.
    assert_eq!(s.errors, (4 + 1) * 50 + 1);
    assert_eq!(s.packets, 0);
    assert_eq!(s.frames, 50);
}

#[test]
fn calls_that_do_not_fit_the_ports_are_counted_and_not_sent() {
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let dest = receiver.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let mut sink = DdpSink::new("ddp", dest, &SHAPES).unwrap_or_else(|e| panic!("{e}"));
    sink.send(0, &[0; 1499], 0); // short
    sink.send(2, &[0; 64], 0); // no such port
    sink.sync(0);
    let s = sink.stats();
    assert_eq!(s.errors, 2);
    assert_eq!((s.packets, s.frames, s.bytes), (0, 0, 0));
    // The sink still works.
    sink.send(1, &[0; 64], 1);
    sink.sync(1);
    let s = sink.stats();
    assert_eq!((s.packets, s.frames, s.errors), (1, 1, 2));
}
