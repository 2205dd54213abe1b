//! Steady-state sending of real frames through the null, DDP, Art-Net, sACN, display,
//! Colorlight and file sinks allocates nothing, proven with a counting global allocator (every thread
//! counts).
//!
//! One test function: the counter is process-wide, so scenarios must not overlap.

use ledwall_player::sinks::{SinkOptions, SinkSet};
use ledwall_render::wall::SinkUrl;
use ledwall_render::{Geometry, Layer, Renderer, Scene, SourceImage, Wall, WallFrame};
use std::net::UdpSocket;

/// The player's counting allocator (the one the `ledwall` binary installs).
#[global_allocator]
static GLOBAL: ledwall_player::alloc::Counting = ledwall_player::alloc::Counting;

/// Allocations so far on every thread.
fn allocs() -> u64 {
    ledwall_player::alloc::mark_installed();
    ledwall_player::alloc::allocations()
        .unwrap_or_else(|| panic!("counting allocator not installed"))
}

fn wall(name: &str) -> Wall {
    let path = format!(
        "{}/../fixtures/walls/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    Wall::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Two frames of `wall`, and the renderer that made them: it is kept alive because its
/// thread pool would otherwise wind down (and allocate) while allocations are counted.
fn frames(wall: &Wall) -> (Renderer, Vec<WallFrame>) {
    let mut r = Renderer::with_threads(wall, 2).unwrap_or_else(|e| panic!("{e}"));
    let frames = (0..2u8)
        .map(|n| {
            let px: Vec<u8> = (0..wall.width * wall.height * 4)
                .map(|i| (i as u8).wrapping_mul(31).wrapping_add(n * 70))
                .collect();
            let layer = Layer::new(SourceImage::rgba8(wall.width, wall.height, &px));
            let mut f = WallFrame::new(r.geometry());
            r.render_into(&Scene::single(u64::from(n), layer), &mut f)
                .unwrap_or_else(|e| panic!("{e}"));
            f
        })
        .collect();
    (r, frames)
}

#[test]
fn steady_state_sending_allocates_nothing() {
    // Receivers so the datagrams have somewhere to go (they are never read; the kernel
    // drops what does not fit, which is no error for the sender).
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = receiver
        .local_addr()
        .unwrap_or_else(|e| panic!("{e}"))
        .port();
    for name in ["demo", "outdoor"] {
        let w = wall(name);
        let geometry = Geometry::compile(&w);
        let (_renderer, frames) = frames(&w);
        let n = geometry.ports.len();
        // Each protocol alone, then all of them on one wall (port i to sink i mod 4).
        let all = [
            "null".to_string(),
            format!("ddp://127.0.0.1:{port}"),
            format!("artnet://127.0.0.1:{port}?universe=1"),
            format!("sacn://127.0.0.1:{port}?universe=1&sync=900"),
        ];
        let mut cases: Vec<Vec<String>> = all.iter().map(|u| vec![u.clone(); n]).collect();
        cases.push((0..n).map(|i| all[i % all.len()].clone()).collect());
        for urls in cases {
            let parsed: Vec<SinkUrl> = urls
                .iter()
                .map(|u| SinkUrl::parse(u).unwrap_or_else(|e| panic!("{e}")))
                .collect();
            let mut set = SinkSet::open(&w, &geometry, &parsed, &SinkOptions::default())
                .unwrap_or_else(|e| panic!("{e}"));
            for tick in 0..3u64 {
                set.send_frame(&frames[tick as usize % 2], tick);
            }
            let before = allocs();
            for tick in 3..40u64 {
                set.send_frame(&frames[tick as usize % 2], tick);
            }
            let allocs = allocs() - before;
            let stats = set.stats();
            assert_eq!(
                allocs, 0,
                "{name} {urls:?}: {allocs} allocations in 37 ticks"
            );
            for (url, s) in stats {
                assert_eq!(s.frames, 40, "{name} {url}");
                assert_eq!(s.errors, 0, "{name} {url}");
                if url != "null" {
                    assert!(s.packets >= 80, "{name} {url}: {} packets", s.packets);
                }
            }
        }
    }
    receiver_sinks();
    discovery_every_sync(port);
    file_sink_with_its_writer_thread();
}

/// The `file` sink: the output thread copies into preallocated ring buffers, its writer
/// thread writes them and rewrites the sidecar once a second (from a prepared template).
/// Ticks 10 ms apart for 2.5 s, so the count spans sidecar rewrites.
fn file_sink_with_its_writer_thread() {
    let w = wall("outdoor");
    let geometry = Geometry::compile(&w);
    let (_renderer, frames) = frames(&w);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = SinkUrl::parse(&format!("file:{}", dir.path().join("x.bin").display()))
        .unwrap_or_else(|e| panic!("{e}"));
    let urls = vec![url; geometry.ports.len()];
    let mut set = SinkSet::open(&w, &geometry, &urls, &SinkOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    for tick in 0..3u64 {
        set.send_frame(&frames[tick as usize % 2], tick);
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    let before = allocs();
    let ticks = 253u64;
    for tick in 3..ticks {
        set.send_frame(&frames[tick as usize % 2], tick);
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let allocs = allocs() - before;
    set.flush().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(allocs, 0, "file sink: {allocs} allocations in 250 ticks");
    for (url, s) in set.stats() {
        assert_eq!(s.frames, ticks, "{url}");
        assert_eq!(s.errors, 0, "{url}");
    }
}

/// sACN universe discovery (every sync here, through the test hook: 10 s in production)
/// and stream-terminated packets allocate nothing either.
fn discovery_every_sync(port: u16) {
    use ledwall_player::sinks::sacn::{Destination, Settings};
    use ledwall_player::sinks::{PortShape, SacnSink, Sink};
    let shapes = [PortShape {
        format: ledwall_render::wall::OutputFormat::Rgb8,
        bytes: 600 * 510, // two discovery pages
    }];
    let settings = Settings {
        universe: 1,
        sync: Some(64000 - 1),
        priority: 100,
        source_name: "alloc".into(),
        cid: [3; 16],
        iface: None,
    };
    let dest = Destination::Unicast(([127, 0, 0, 1], port).into());
    let mut sink = SacnSink::new("sacn", dest, settings, &shapes).unwrap_or_else(|e| panic!("{e}"));
    sink.set_discovery_interval(std::time::Duration::ZERO);
    let data = vec![7u8; 600 * 510];
    for tick in 0..3 {
        sink.send(0, &data, tick);
        sink.sync(tick);
    }
    let before = allocs();
    let packets = sink.stats().packets;
    for tick in 3..10 {
        sink.send(0, &data, tick);
        sink.sync(tick);
    }
    sink.close().unwrap_or_else(|e| panic!("{e}"));
    let n = allocs() - before;
    assert_eq!(n, 0, "sACN with discovery and close: {n} allocations");
    let s = sink.stats();
    // 600 data + 1 sync + 2 discovery a tick, and 3 x 600 terminated packets.
    assert_eq!(s.packets - packets, 7 * 603 + 1800);
    assert_eq!(s.errors, 0);
}

/// A veth pair made for the test (root only), removed on drop.
struct Veth(String);

impl Veth {
    fn new() -> Option<Veth> {
        let name = format!("lwa{}", std::process::id() % 100_000);
        let peer = format!("{name}p");
        let ok = std::process::Command::new("ip")
            .args(["link", "add", &name, "type", "veth", "peer", "name", &peer])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return None;
        }
        let veth = Veth(name);
        for dev in [&veth.0, &peer] {
            let _ = std::process::Command::new("ip")
                .args(["link", "set", dev, "up"])
                .status();
        }
        Some(veth)
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &self.0])
            .status();
    }
}

/// The receiver-hardware sinks on the sending-card wall: its canvas port into a display's
/// mailbox, then to a Colorlight card on a veth pair made here (packets built into the
/// sink's buffers, sent with sendmmsg).
fn receiver_sinks() {
    let w = wall("sending-card");
    let geometry = Geometry::compile(&w);
    let (_renderer, frames) = frames(&w);
    let mailbox = std::sync::Arc::new(ledwall_player::display::Mailbox::new(
        geometry.ports[0].byte_len(),
    ));
    let mut options = SinkOptions::default();
    let display = SinkUrl::parse("display:0").unwrap_or_else(|e| panic!("{e}"));
    options
        .displays
        .insert(display.clone(), std::sync::Arc::clone(&mailbox));
    let veth = Veth::new();
    if veth.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "cannot create a veth pair under CI (scripts/test runs as root)"
        );
        eprintln!("SKIP: no veth pair (not root?): the Colorlight sink's allocations not counted");
    }
    let mut cases = vec![display];
    if let Some(v) = &veth {
        cases.push(
            SinkUrl::parse(&format!("colorlight://{}?repeat=2", v.0))
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    for url in cases {
        let urls = vec![url.clone(), SinkUrl::Null];
        let mut set =
            SinkSet::open(&w, &geometry, &urls, &options).unwrap_or_else(|e| panic!("{e}"));
        for tick in 0..3u64 {
            set.send_frame(&frames[tick as usize % 2], tick);
        }
        // Warm-up includes the Colorlight sender thread's first frames.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let before = allocs();
        for tick in 3..40u64 {
            set.send_frame(&frames[tick as usize % 2], tick);
        }
        // The Colorlight sink sends from its own thread (counted too): let it finish the
        // frames it holds before reading the counter. Stopping it (flush) comes after.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let n = allocs() - before;
        assert_eq!(n, 0, "{url:?}: {n} allocations in 37 ticks");
        set.flush().unwrap_or_else(|e| panic!("{e}"));
        let (_, s) = &set.stats()[0];
        assert_eq!((s.frames, s.errors), (40, 0), "{url:?}");
        assert!(s.packets >= 40, "{url:?}: {} packets", s.packets);
    }
    assert_eq!(mailbox.stats().published, 40);
    if veth.is_some() {
        drop(veth);
        pending_until_the_interface_appears(&w, &geometry, &frames);
    }
}

/// A Colorlight sink whose interface is not there yet is pending: ticks through it allocate
/// nothing while it waits, nor once the interface appeared and it sends.
fn pending_until_the_interface_appears(w: &Wall, geometry: &Geometry, frames: &[WallFrame]) {
    let name = format!("lwa{}", std::process::id() % 100_000);
    let url = SinkUrl::parse(&format!("colorlight://{name}")).unwrap_or_else(|e| panic!("{e}"));
    let urls = vec![url, SinkUrl::Null];
    let mut set = SinkSet::open(w, geometry, &urls, &SinkOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(set.sinks()[0].waiting().is_some());
    let mut tick = 0u64;
    let mut run = |set: &mut SinkSet, n: u64| {
        for _ in 0..n {
            set.send_frame(&frames[tick as usize % 2], tick);
            tick += 1;
        }
    };
    run(&mut set, 3);
    // Warm-up: the retry thread started (and named itself); its first retry is 1 s away.
    std::thread::sleep(std::time::Duration::from_millis(100));
    let before = allocs();
    run(&mut set, 37);
    let n = allocs() - before;
    assert_eq!(n, 0, "pending: {n} allocations in 37 ticks");
    assert_eq!(set.stats()[0].1, Default::default());
    let veth = Veth::new();
    assert!(veth.as_ref().is_some_and(|v| v.0 == name));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while set.sinks()[0].waiting().is_some() && std::time::Instant::now() < deadline {
        run(&mut set, 1);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(set.sinks()[0].waiting(), None, "the interface appeared");
    run(&mut set, 3);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let before = allocs();
    run(&mut set, 37);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let n = allocs() - before;
    assert_eq!(n, 0, "opened after pending: {n} allocations in 37 ticks");
    set.flush().unwrap_or_else(|e| panic!("{e}"));
    let s = set.stats()[0].1;
    assert!(s.frames >= 40 && s.errors == 0, "{s:?}");
}
