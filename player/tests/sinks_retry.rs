//! Sinks that cannot open at start wait in the background (design §14), and sACN multicast
//! leaves by the interface `iface=` names. Each case runs in a network namespace made here
//! (root only; CI is root): the test binary runs itself again under `ip netns exec`, which
//! also bind-mounts the namespace's own `/etc/hosts`, so a host name can appear while the
//! sinks play.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledwall_player::sinks::{self, SinkOptions, SinkSet};
use ledwall_render::wall::SinkUrl;
use ledwall_render::{Geometry, Layer, Renderer, Scene, SourceImage, Wall, WallFrame};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in the copy of this binary that runs inside the namespace.
const DRIVER: &str = "LEDWALL_SINKS_RETRY_DRIVER";
/// The name that resolves only once the test writes it into the namespace's hosts file.
const LATE_HOST: &str = "ledwall-late.test";

fn wall(name: &str) -> Wall {
    let path = format!(
        "{}/../fixtures/walls/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    Wall::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Two frames of `wall`, and the renderer that made them.
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

fn ip(args: &[&str]) {
    let ok = Command::new("ip")
        .args(args)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ip {}", args.join(" "));
}

/// A network namespace with its own `/etc/netns/NAME/` files, removed on drop.
struct Netns(String);

impl Netns {
    /// `None` (the test is skipped) when namespaces cannot be made, except under CI.
    fn new(tag: &str) -> Option<Netns> {
        let name = format!("lw{tag}{}", std::process::id() % 100_000);
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("CI").is_none(),
                "cannot create a network namespace under CI (scripts/test runs as root)"
            );
            eprintln!("SKIP: no network namespace (not root?)");
            return None;
        }
        let ns = Netns(name);
        std::fs::create_dir_all(ns.etc()).unwrap();
        // Names from the hosts file only, and a DNS server that refuses at once.
        std::fs::write(ns.etc().join("nsswitch.conf"), "hosts: files dns\n").unwrap();
        std::fs::write(
            ns.etc().join("resolv.conf"),
            "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
        )
        .unwrap();
        std::fs::write(ns.etc().join("hosts"), "127.0.0.1 localhost\n").unwrap();
        Some(ns)
    }

    fn etc(&self) -> std::path::PathBuf {
        std::path::Path::new("/etc/netns").join(&self.0)
    }

    /// This test binary's `test` (an ignored driver) inside the namespace.
    fn driver(&self, test: &str) -> std::process::Child {
        let exe = std::env::current_exe().unwrap();
        Command::new("ip")
            .args(["netns", "exec", &self.0])
            .arg(exe)
            .args([
                test,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DRIVER, "1")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        let _ = std::fs::remove_dir_all(self.etc());
    }
}

/// Wait for `child` for at most `limit`; its exit status (killed when over time).
fn wait(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            return child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The number of pending sinks' retry threads once it is `want`, or after a second (a new
/// thread names itself after it started).
fn retry_threads_become(want: usize) -> usize {
    let t = Instant::now();
    loop {
        let n = retry_threads();
        if n == want || t.elapsed() > Duration::from_secs(3) {
            return n;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How many threads of this process are pending sinks' retry threads.
fn retry_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.trim() == sinks::RETRY_THREAD)
        })
        .count()
}

#[test]
fn a_host_that_resolves_later_is_retried_while_the_other_sinks_play() {
    let Some(ns) = Netns::new("r") else { return };
    let mut child = ns.driver("driver_late_host");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let mut said = String::new();
    // The driver says READY once it played a while with the host unresolved.
    while out.read_line(&mut line).unwrap_or(0) > 0 {
        said.push_str(&line);
        if line.trim_end().ends_with("READY") {
            break;
        }
        line.clear();
    }
    assert!(said.contains("READY"), "the driver stopped early:\n{said}");
    // Same inode, as an edit in place would leave it: the bind mount sees it.
    let mut hosts = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(ns.etc().join("hosts"))
        .unwrap();
    hosts
        .write_all(format!("127.0.0.1 localhost\n127.0.0.1 {LATE_HOST}\n").as_bytes())
        .unwrap();
    drop(hosts);
    let status = wait(&mut child, Duration::from_secs(60));
    out.read_to_string(&mut said).unwrap();
    eprintln!("{said}");
    assert!(status.success(), "the driver failed ({status}):\n{said}");
    assert!(said.contains("DONE"), "{said}");
}

/// Read what `socket` holds: the number of DDP PUSH packets (one a frame); the data of the
/// first packet at offset 0 goes to `first`.
fn pushes(socket: &UdpSocket, first: &mut Option<Vec<u8>>) -> usize {
    let mut buf = [0u8; 2000];
    let mut n = 0;
    while let Ok(len) = socket.recv(&mut buf) {
        if len >= 10 && buf[0] & 0x01 != 0 {
            n += 1;
        }
        if first.is_none() && len > 10 && u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]) == 0
        {
            *first = Some(buf[10..len].to_vec());
        }
    }
    n
}

#[test]
#[ignore = "runs inside a network namespace, started by a_host_that_resolves_later_..."]
fn driver_late_host() {
    if std::env::var_os(DRIVER).is_none() {
        return;
    }
    ip(&["link", "set", "lo", "up"]);
    let late = UdpSocket::bind("127.0.0.1:0").unwrap();
    let other = UdpSocket::bind("127.0.0.1:0").unwrap();
    for s in [&late, &other] {
        s.set_nonblocking(true).unwrap();
    }
    let w = wall("demo");
    let geometry = Geometry::compile(&w);
    let (_renderer, frames) = frames(&w);
    assert_eq!(geometry.ports.len(), 2);
    let urls = [
        format!("ddp://{LATE_HOST}:{}", late.local_addr().unwrap().port()),
        format!("ddp://127.0.0.1:{}", other.local_addr().unwrap().port()),
    ]
    .map(|u| SinkUrl::parse(&u).unwrap());
    let start = Instant::now();
    let mut set = SinkSet::open(&w, &geometry, &urls, &SinkOptions::default()).unwrap();
    assert!(start.elapsed() < Duration::from_secs(2), "open waited");
    let waiting = set.sinks()[0].waiting().unwrap_or_default();
    assert!(waiting.contains(LATE_HOST), "{waiting}");
    assert_eq!(set.sinks()[1].waiting(), None);
    assert_eq!(retry_threads_become(1), 1);

    let (mut ticks, mut late_pushes, mut other_pushes) = (0u64, 0, 0);
    let mut first = None;
    let mut tick = |set: &mut SinkSet| {
        set.send_frame(&frames[(ticks % 2) as usize], ticks);
        ticks += 1;
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut none = None;
    for _ in 0..150 {
        tick(&mut set);
        other_pushes += pushes(&other, &mut none);
        late_pushes += pushes(&late, &mut first);
    }
    assert_eq!(late_pushes, 0, "sent before resolving");
    assert_eq!(
        set.stats()[0].1,
        Default::default(),
        "counted while pending"
    );
    println!("READY");
    std::io::stdout().flush().unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    while late_pushes < 10 && Instant::now() < deadline {
        tick(&mut set);
        late_pushes += pushes(&late, &mut first);
        other_pushes += pushes(&other, &mut none);
    }
    std::thread::sleep(Duration::from_millis(50));
    late_pushes += pushes(&late, &mut first);
    other_pushes += pushes(&other, &mut none);
    assert!(
        late_pushes >= 10,
        "{late_pushes} frames after resolving; waiting: {:?}, stats {:?}",
        set.sinks()[0].waiting(),
        set.stats()
    );
    assert_eq!(set.sinks()[0].waiting(), None);
    // Every tick reached the other sink, before and after.
    assert_eq!(other_pushes as u64, ticks, "the other sink missed frames");
    let stats = set.stats();
    assert_eq!((stats[1].1.frames, stats[1].1.errors), (ticks, 0));
    assert_eq!(stats[0].1.errors, 0);
    assert_eq!(stats[0].1.frames, late_pushes as u64);
    // The late sink sends the port's bytes (DDP offset 0 of the frame's first packet).
    let got = first.unwrap();
    assert!(
        frames.iter().any(|f| f.ports[0].bytes.starts_with(&got)),
        "the late sink's bytes are not the frame's"
    );
    // Its thread ended when it opened.
    assert_eq!(retry_threads_become(0), 0);
    set.close().unwrap();

    // A host that never resolves: the thread ends when the set is dropped.
    let never = [
        SinkUrl::parse("ddp://ledwall-never.test").unwrap(),
        SinkUrl::Null,
    ];
    let set = SinkSet::open(&w, &geometry, &never, &SinkOptions::default()).unwrap();
    assert_eq!(retry_threads_become(1), 1);
    std::thread::sleep(Duration::from_millis(1500)); // one retry went by
    drop(set);
    assert_eq!(
        retry_threads_become(0),
        0,
        "the retry thread outlived its sink"
    );
    println!("DONE");
}

#[test]
fn sacn_multicast_leaves_by_the_named_interface() {
    let Some(ns) = Netns::new("m") else { return };
    let mut child = ns.driver("driver_multicast_iface");
    let mut said = String::new();
    let status = wait(&mut child, Duration::from_secs(60));
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut said).unwrap();
    }
    eprintln!("{said}");
    assert!(status.success(), "the driver failed ({status}):\n{said}");
    assert!(said.contains("DONE"), "{said}");
}

/// An AF_PACKET socket receiving the IPv4 packets that arrive on `iface`.
struct Tap(libc::c_int);

impl Tap {
    fn new(iface: &str) -> Tap {
        let name = std::ffi::CString::new(iface).unwrap();
        // SAFETY: plain libc calls with valid arguments.
        unsafe {
            let index = libc::if_nametoindex(name.as_ptr());
            assert!(index > 0, "{iface}");
            let proto = (libc::ETH_P_IP as u16).to_be();
            let fd = libc::socket(libc::AF_PACKET, libc::SOCK_DGRAM, libc::c_int::from(proto));
            assert!(fd >= 0, "{}", std::io::Error::last_os_error());
            let mut addr: libc::sockaddr_ll = std::mem::zeroed();
            addr.sll_family = libc::AF_PACKET as u16;
            addr.sll_protocol = proto;
            addr.sll_ifindex = index as libc::c_int;
            let r = libc::bind(
                fd,
                (&raw const addr).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            );
            assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
            let size: libc::c_int = 8 << 20;
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                (&raw const size).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
            Tap(fd)
        }
    }

    /// The (destination address, UDP port) of each UDP datagram that arrived so far.
    fn udp(&self) -> Vec<([u8; 4], u16)> {
        let mut seen = Vec::new();
        let mut buf = [0u8; 2048];
        loop {
            // SAFETY: reading into our buffer of the size given.
            let n = unsafe {
                libc::recv(
                    self.0,
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n <= 0 {
                return seen;
            }
            let p = &buf[..n as usize];
            let ihl = usize::from(p[0] & 0x0F) * 4;
            if p.len() >= ihl + 8 && p[9] == 17 {
                let dst = [p[16], p[17], p[18], p[19]];
                seen.push((dst, u16::from_be_bytes([p[ihl + 2], p[ihl + 3]])));
            }
        }
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        // SAFETY: our socket, closed once.
        unsafe { libc::close(self.0) };
    }
}

#[test]
#[ignore = "runs inside a network namespace, started by sacn_multicast_leaves_by_the_..."]
fn driver_multicast_iface() {
    if std::env::var_os(DRIVER).is_none() {
        return;
    }
    ip(&["link", "set", "lo", "up"]);
    for (dev, addr) in [("lwa", "10.77.1.1/24"), ("lwb", "10.77.2.1/24")] {
        let peer = format!("{dev}p");
        ip(&["link", "add", dev, "type", "veth", "peer", "name", &peer]);
        ip(&["addr", "add", addr, "dev", dev]);
        ip(&["link", "set", dev, "up"]);
        ip(&["link", "set", &peer, "up"]);
    }
    std::thread::sleep(Duration::from_millis(300));
    let w = wall("demo");
    let geometry = Geometry::compile(&w);
    let (_renderer, frames) = frames(&w);
    for (iface, wire, other) in [
        ("lwa", "lwap", "lwbp"),
        ("lwb", "lwbp", "lwap"),
        ("10.77.2.1", "lwbp", "lwap"),
        ("10.77.1.1", "lwap", "lwbp"),
    ] {
        let (wire_tap, other_tap) = (Tap::new(wire), Tap::new(other));
        let url = SinkUrl::parse(&format!("sacn://?universe=1&iface={iface}")).unwrap();
        let urls = vec![url; geometry.ports.len()];
        let mut set = SinkSet::open(&w, &geometry, &urls, &SinkOptions::default())
            .unwrap_or_else(|e| panic!("{iface}: {e}"));
        let (mut got, mut stray) = (Vec::new(), Vec::new());
        for tick in 0..5u64 {
            set.send_frame(&frames[tick as usize % 2], tick);
            std::thread::sleep(Duration::from_millis(50));
            got.extend(wire_tap.udp());
            stray.extend(other_tap.udp());
        }
        let stats = set.stats();
        assert_eq!(stats[0].1.errors, 0, "{iface}");
        let data = got
            .iter()
            .filter(|d| **d == ([239, 255, 0, 1], 5568))
            .count();
        assert_eq!(data, 5, "{iface}: universe 1 on {wire}: {got:?}");
        assert!(
            got.contains(&([239, 255, 250, 214], 5568)),
            "{iface}: no discovery on {wire}: {got:?}"
        );
        assert!(stray.is_empty(), "{iface}: multicast on {other}: {stray:?}");
        println!(
            "iface={iface}: {} datagrams on {wire}, none on {other}",
            got.len()
        );
    }
    // An interface that is not there (yet) waits; an address no interface has too.
    for iface in ["lwlater", "10.77.9.9"] {
        let url = SinkUrl::parse(&format!("sacn://?universe=1&iface={iface}")).unwrap();
        let urls = vec![url; geometry.ports.len()];
        let set = SinkSet::open(&w, &geometry, &urls, &SinkOptions::default()).unwrap();
        let waiting = set.sinks()[0].waiting().unwrap_or_default();
        assert!(waiting.contains(iface), "{waiting}");
    }
    println!("DONE");
}
