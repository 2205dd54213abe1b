//! `colorlight://` end to end, over a veth pair between two network namespaces: the real
//! `ledwall` plays into one end (under `ip netns exec`), a raw AF_PACKET receiver on the
//! other end records every frame sent to the card's MAC, and a parser written here from
//! design §7.1 (independently of the sink's code) checks every byte, the order of the
//! packets in each tick, and that the frames the card latches are, one to one, the frames
//! a `file:` copy of the same region received, also across an outage of either end of the
//! link (no frame sent while it is down, none latched stale after it). Discovery (`ledwall
//! info --colorlight`) is checked against fake cards answering in the receiving namespace;
//! start-up against a missing interface and one that is down (both waited for while the
//! show plays), a process without CAP_NET_RAW (a clear error). One test prints throughput figures for a 1920x1080 region.
//!
//! Needs root (network namespaces, raw sockets). Without it the tests say SKIP loudly and
//! pass, except under `CI`, where they fail. The unit tests of the parser run anywhere.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::CString;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Destination of everything sent to the cards (all cards answer on it).
const CARD: [u8; 6] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66];
/// Source of everything the player sends.
const SENDER: [u8; 6] = [0x22, 0x22, 0x33, 0x44, 0x55, 0x66];
/// Packet types (byte 12).
const DISPLAY: u8 = 0x01;
const BRIGHTNESS: u8 = 0x0A;
const ROW: u8 = 0x55;
/// Most pixels in one row packet.
const MAX_PIXELS: usize = 497;
/// Shortest Ethernet frame without FCS: shorter ones may arrive padded to this.
const MIN_FRAME: usize = 60;
/// Receive buffer slot: a frame on the veth (MTU 1500) is at most 1514 bytes.
const FRAME_BUF: usize = 2048;

// ---------------------------------------------------------------------------------------
// The parser (design §7.1)
// ---------------------------------------------------------------------------------------

/// One frame sent to the card.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Packet {
    /// `0x01`: latch what was received.
    Display,
    /// `0x0A`.
    Brightness,
    /// `0x55`: `count` pixels of `row` from `offset`, 3 bytes a pixel in wire order.
    Row {
        row: u16,
        offset: u16,
        count: u16,
        pixels: Vec<u8>,
    },
}

impl Packet {
    fn kind(&self) -> u8 {
        match self {
            Packet::Display => DISPLAY,
            Packet::Brightness => BRIGHTNESS,
            Packet::Row { .. } => ROW,
        }
    }
}

/// The frame must be `want` bytes long; one shorter than an Ethernet minimum may come
/// padded up to it.
fn check_len(f: &[u8], want: usize, what: &str) -> Result<(), String> {
    let padded = want < MIN_FRAME && f.len() > want && f.len() <= MIN_FRAME;
    if f.len() == want || padded {
        Ok(())
    } else {
        Err(format!("{what}: {} bytes, want {want}", f.len()))
    }
}

/// `got` must equal `want`, else the first differing byte of the data.
fn check_data(got: &[u8], want: &[u8], what: &str) -> Result<(), String> {
    match got.iter().zip(want).position(|(a, b)| a != b) {
        None => Ok(()),
        Some(i) => Err(format!(
            "{what}: data[{i}] = 0x{:02X}, want 0x{:02X} (data {:02X?})",
            got[i], want[i], got
        )),
    }
}

/// The data bytes of a `0x01` with dim=digital.
fn display_data() -> [u8; 99] {
    let mut d = [0u8; 99];
    d[0] = 0x07;
    d[22] = 0xFF;
    d[23] = 0x05;
    d[25..28].fill(0xFF);
    d
}

/// The data bytes of a `0x0A` with dim=digital.
fn brightness_data() -> [u8; 64] {
    let mut d = [0u8; 64];
    d[..4].fill(0xFF);
    d
}

/// One frame, every fixed byte and the length checked (dim=digital).
fn parse(f: &[u8]) -> Result<Packet, String> {
    if f.len() < 14 {
        return Err(format!("{} bytes: shorter than a header", f.len()));
    }
    if f[..6] != CARD {
        return Err(format!(
            "destination MAC {:02X?}, want {CARD:02X?}",
            &f[..6]
        ));
    }
    if f[6..12] != SENDER {
        return Err(format!("source MAC {:02X?}, want {SENDER:02X?}", &f[6..12]));
    }
    let data = &f[13..];
    match f[12] {
        DISPLAY => {
            check_len(f, 13 + 99, "0x01 display")?;
            check_data(&data[..99], &display_data(), "0x01 display")?;
            Ok(Packet::Display)
        }
        BRIGHTNESS => {
            check_len(f, 13 + 64, "0x0A brightness")?;
            check_data(&data[..64], &brightness_data(), "0x0A brightness")?;
            Ok(Packet::Brightness)
        }
        ROW => {
            if f.len() < 13 + 8 {
                return Err(format!(
                    "0x55 row: {} bytes, no room for its header",
                    f.len()
                ));
            }
            let be = |i: usize| u16::from_be_bytes([data[i], data[i + 1]]);
            let (row, offset, count) = (be(0), be(2), be(4));
            let what = format!("0x55 row {row} offset {offset} count {count}");
            if data[6..8] != [0x08, 0x88] {
                return Err(format!(
                    "{what}: data[6..8] = {:02X?}, want [08, 88]",
                    &data[6..8]
                ));
            }
            if count == 0 || usize::from(count) > MAX_PIXELS {
                return Err(format!("{what}: count not in 1..={MAX_PIXELS}"));
            }
            let n = 3 * usize::from(count);
            check_len(f, 13 + 8 + n, &what)?;
            Ok(Packet::Row {
                row,
                offset,
                count,
                pixels: data[8..8 + n].to_vec(),
            })
        }
        t => Err(format!(
            "packet type 0x{t:02X} (only 0x01, 0x0A and 0x55 are sent while playing)"
        )),
    }
}

/// `order` (a permutation of "RGB"): for each wire byte of a pixel, its channel (0 = R).
fn wire_channels(order: &str) -> [usize; 3] {
    let mut c = [0usize; 3];
    for (i, ch) in order.chars().enumerate() {
        c[i] = "RGB"
            .find(ch)
            .unwrap_or_else(|| panic!("bad order {order}"));
    }
    let mut sorted = c;
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [0, 1, 2],
        "order {order} is not a permutation of RGB"
    );
    c
}

/// The (row, offset, count) of every row packet of one tick, in the order they must be
/// sent: rows from 0, each row's packets by increasing offset, at most 497 pixels each.
fn row_layout(width: usize, height: usize) -> Vec<(u16, u16, u16)> {
    let mut v = Vec::new();
    for row in 0..height {
        let mut offset = 0;
        while offset < width {
            let count = MAX_PIXELS.min(width - offset);
            v.push((row as u16, offset as u16, count as u16));
            offset += count;
        }
    }
    v
}

/// One tick's row packets back to an RGB region (R, G, B a pixel, row by row).
fn assemble(
    rows: &[&Packet],
    size: [usize; 2],
    order: &str,
    tick: usize,
) -> Result<Vec<u8>, String> {
    let [w, h] = size;
    let want = row_layout(w, h);
    let got: Vec<(u16, u16, u16)> = rows
        .iter()
        .map(|p| match p {
            Packet::Row {
                row, offset, count, ..
            } => (*row, *offset, *count),
            _ => unreachable!("only row packets are assembled"),
        })
        .collect();
    if got != want {
        let i = got.iter().zip(&want).position(|(a, b)| a != b);
        let detail = match i {
            Some(i) => format!(
                "row packet {i} of the tick is (row, offset, count) = {:?}, want {:?}",
                got[i], want[i]
            ),
            None => format!(
                "the first {} row packets are right, then {}",
                got.len().min(want.len()),
                if got.len() < want.len() {
                    format!("{:?} and later are missing", want[got.len()])
                } else {
                    format!("{:?} is one too many", got[want.len()])
                }
            ),
        };
        return Err(format!(
            "tick {tick}: {} row packets, want {} ({h} rows of {w} pixels); {detail}",
            got.len(),
            want.len()
        ));
    }
    let channels = wire_channels(order);
    let mut rgb = vec![0u8; w * h * 3];
    for p in rows {
        let Packet::Row {
            row,
            offset,
            pixels,
            ..
        } = p
        else {
            unreachable!()
        };
        let start = (usize::from(*row) * w + usize::from(*offset)) * 3;
        for (i, px) in pixels.chunks_exact(3).enumerate() {
            for (k, &c) in channels.iter().enumerate() {
                rgb[start + i * 3 + c] = px[k];
            }
        }
    }
    Ok(rgb)
}

/// A capture's frames to the regions the card latched, in order, checking every frame and
/// the order of a tick: `[0x01 × repeat]` (not on the first tick) latching the previous
/// tick's rows, `[0x0A × repeat]`, the rows; after the last tick `[0x01 × repeat]`.
fn latched_frames(
    frames: &[Vec<u8>],
    size: [usize; 2],
    order: &str,
    repeat: usize,
) -> Result<Vec<Vec<u8>>, String> {
    let packets = frames
        .iter()
        .enumerate()
        .map(|(i, f)| parse(f).map_err(|e| format!("frame {i} of the capture: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    // Runs of one packet type: (type, index of the first, the packets).
    let mut runs: Vec<(u8, usize, Vec<&Packet>)> = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        match runs.last_mut() {
            Some((k, _, run)) if *k == p.kind() => run.push(p),
            _ => runs.push((p.kind(), i, vec![p])),
        }
    }
    let name = |k: u8| match k {
        DISPLAY => "0x01 display",
        BRIGHTNESS => "0x0A brightness",
        _ => "0x55 rows",
    };
    let mut latched = Vec::new();
    let mut pending: Option<Vec<u8>> = None;
    let mut expect = BRIGHTNESS;
    for (kind, first, run) in &runs {
        let tick = latched.len() + usize::from(pending.is_some()) + 1;
        if *kind != expect {
            let why = if *kind == DISPLAY && latched.is_empty() && pending.is_none() {
                " (no 0x01 may come before the first tick's rows)"
            } else {
                ""
            };
            return Err(format!(
                "packet {first} (tick {tick}): {} where {} must come{why}",
                name(*kind),
                name(expect)
            ));
        }
        match *kind {
            BRIGHTNESS => {
                if run.len() != repeat {
                    return Err(format!(
                        "packet {first} (tick {tick}): {} 0x0A in a row, want {repeat}",
                        run.len()
                    ));
                }
                expect = ROW;
            }
            ROW => {
                pending = Some(assemble(run, size, order, tick)?);
                expect = DISPLAY;
            }
            _ => {
                if run.len() != repeat {
                    return Err(format!(
                        "packet {first} (latching tick {}): {} 0x01 in a row, want {repeat}",
                        latched.len() + 1,
                        run.len()
                    ));
                }
                latched.extend(pending.take());
                expect = BRIGHTNESS;
            }
        }
    }
    if pending.is_some() {
        return Err(format!(
            "the last tick's rows (tick {}) were never latched: no final 0x01 after them",
            latched.len() + 1
        ));
    }
    if latched.is_empty() {
        return Err(format!("no frame latched in {} packets", packets.len()));
    }
    Ok(latched)
}

/// Frames as the contract says a sink sends them (dim=digital), for the parser's tests.
fn encode(regions: &[Vec<u8>], size: [usize; 2], order: &str, repeat: usize) -> Vec<Vec<u8>> {
    let header = |kind: u8| {
        let mut f = Vec::with_capacity(1500);
        f.extend_from_slice(&CARD);
        f.extend_from_slice(&SENDER);
        f.push(kind);
        f
    };
    let display = {
        let mut f = header(DISPLAY);
        f.extend_from_slice(&display_data());
        f
    };
    let channels = wire_channels(order);
    let mut out = Vec::new();
    for (tick, rgb) in regions.iter().enumerate() {
        if tick > 0 {
            out.extend(std::iter::repeat_n(display.clone(), repeat));
        }
        let mut b = header(BRIGHTNESS);
        b.extend_from_slice(&brightness_data());
        out.extend(std::iter::repeat_n(b, repeat));
        for (row, offset, count) in row_layout(size[0], size[1]) {
            let mut f = header(ROW);
            for v in [row, offset, count] {
                f.extend_from_slice(&v.to_be_bytes());
            }
            f.extend_from_slice(&[0x08, 0x88]);
            for x in usize::from(offset)..usize::from(offset + count) {
                let px = &rgb[(usize::from(row) * size[0] + x) * 3..][..3];
                f.extend(channels.iter().map(|&c| px[c]));
            }
            f.resize(f.len().max(MIN_FRAME), 0);
            out.push(f);
        }
    }
    out.extend(std::iter::repeat_n(display, repeat));
    out
}

#[test]
fn parser_reads_a_hand_written_row_packet() {
    // Row 1, pixels (1, 2, 3) and (4, 5, 6), order GRB; padded to 60 bytes.
    let mut f = vec![
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x22, 0x22, 0x33, 0x44, 0x55, 0x66, 0x55, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x02, 0x08, 0x88, 2, 1, 3, 5, 4, 6,
    ];
    assert_eq!(f.len(), 27);
    assert_eq!(
        parse(&f),
        Ok(Packet::Row {
            row: 1,
            offset: 0,
            count: 2,
            pixels: vec![2, 1, 3, 5, 4, 6]
        })
    );
    f.resize(60, 0);
    assert!(parse(&f).is_ok(), "padding to 60 is accepted");
    f.push(0);
    assert!(parse(&f).is_err(), "61 bytes are not padding");
    let hand = [vec![9u8; 6], vec![1, 2, 3, 4, 5, 6]].concat(); // a 2x2 region
    let frames = encode(std::slice::from_ref(&hand), [2, 2], "GRB", 1);
    assert_eq!(
        frames[2][13..27],
        [0, 1, 0, 0, 0, 2, 8, 0x88, 2, 1, 3, 5, 4, 6]
    );
    assert_eq!(latched_frames(&frames, [2, 2], "GRB", 1), Ok(vec![hand]));
}

#[test]
fn parser_round_trips_and_rejects_what_a_card_would_not_show() {
    let size = [600, 3];
    let region = |n: u8| -> Vec<u8> {
        (0..600 * 3 * 3)
            .map(|i| (i as u8).wrapping_mul(7).wrapping_add(n))
            .collect()
    };
    let regions = vec![region(0), region(1), region(2)];
    let good = encode(&regions, size, "GRB", 2);
    // Per tick 2 brightness + 3 rows × (497 + 103) packets, 2 displays between ticks and
    // after the last.
    assert_eq!(good.len(), 3 * (2 + 6) + 3 * 2);
    assert_eq!(good[3][13..19], [0, 0, 1, 0xF1, 0, 103]);
    assert_eq!(latched_frames(&good, size, "GRB", 2), Ok(regions.clone()));
    // The wrong order reads other pixels.
    assert_ne!(latched_frames(&good, size, "RGB", 2), Ok(regions.clone()));
    let fails = |what: &str, frames: Vec<Vec<u8>>, repeat: usize, needle: &str| {
        let e = latched_frames(&frames, size, "GRB", repeat)
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted"));
        assert!(e.contains(needle), "{what}: {e}");
    };
    let without = |i: usize| {
        let mut v = good.clone();
        v.remove(i);
        v
    };
    fails("a row packet missing", without(5), 2, "row packets");
    fails("one of two displays", without(8), 2, "0x01 in a row");
    fails(
        "the final display",
        good[..good.len() - 2].to_vec(),
        2,
        "never latched",
    );
    fails(
        "repeat 1 read as 2",
        encode(&regions, size, "GRB", 1),
        2,
        "0x0A in a row",
    );
    let mut early = good.clone();
    early.insert(0, good[8].clone());
    fails("a display first", early, 2, "before the first");
    let mut swapped = good.clone();
    swapped.swap(4, 6);
    fails("rows out of order", swapped, 2, "want (1, 0, 497)");
    for (what, i, byte, needle) in [
        ("destination", 0, 0x12, "destination MAC"),
        ("source", 11, 0x67, "source MAC"),
        ("type", 12, 0x02, "packet type"),
        ("0x88", 13 + 7, 0x89, "data[6..8]"),
    ] {
        let mut v = good.clone();
        v[3][i] = byte;
        fails(what, v, 2, needle);
    }
    let mut v = good.clone();
    v[0][13 + 3] = 0x80;
    fails("brightness", v, 2, "data[3]");
    let mut v = good.clone();
    v[8][13 + 23] = 0x04;
    fails("display", v, 2, "data[23]");
}

// ---------------------------------------------------------------------------------------
// Network namespaces and raw sockets
// ---------------------------------------------------------------------------------------

/// Tests using namespaces run one at a time (the throughput figures stay undisturbed, and
/// the 2-core machine is not oversubscribed).
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

static NEXT: AtomicU32 = AtomicU32::new(0);

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Two namespaces joined by a veth pair, both ends and both loopbacks up; removed in Drop
/// (also on panic), which takes the veth pair and anything else made in them along.
struct Netns {
    tx_ns: String,
    rx_ns: String,
    tx_if: String,
    rx_if: String,
    made: Vec<String>,
}

impl Netns {
    fn setup(&mut self) -> Result<(), String> {
        for ns in [self.tx_ns.clone(), self.rx_ns.clone()] {
            ip(&["netns", "add", &ns])?;
            self.made.push(ns);
        }
        ip(&[
            "link",
            "add",
            &self.tx_if,
            "type",
            "veth",
            "peer",
            "name",
            &self.rx_if,
        ])?;
        for (dev, ns) in [(&self.tx_if, &self.tx_ns), (&self.rx_if, &self.rx_ns)] {
            ip(&["link", "set", dev, "netns", ns])?;
        }
        for (dev, ns) in [(&self.tx_if, &self.tx_ns), (&self.rx_if, &self.rx_ns)] {
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        // The operational state follows the carrier asynchronously (linkwatch): wait for it,
        // so a sink checking it at start sees the link up.
        let deadline = Instant::now() + Duration::from_secs(5);
        for (dev, ns) in [(&self.tx_if, &self.tx_ns), (&self.rx_if, &self.rx_ns)] {
            while !Self::is_up(ns, dev) {
                if Instant::now() > deadline {
                    return Err(format!("{dev} in {ns} did not come up"));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }

    fn is_up(ns: &str, dev: &str) -> bool {
        Command::new("ip")
            .args(["-n", ns, "-br", "link", "show", "dev", dev])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains(" UP "))
            .unwrap_or(false)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // A veth end not moved yet (setup failed half way) is still in this namespace.
        for dev in [&self.tx_if, &self.rx_if] {
            let _ = Command::new("ip")
                .args(["link", "del", dev])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        for ns in &self.made {
            if let Err(e) = ip(&["netns", "del", ns]) {
                eprintln!("warning: {e}");
            }
        }
    }
}

/// A fresh pair of namespaces, or a loud SKIP (a failure under `CI`, which runs as root).
fn netns() -> Option<Netns> {
    let (pid, n) = (std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let mut net = Netns {
        tx_ns: format!("ledwall-cl-{pid}-{n}-tx"),
        rx_ns: format!("ledwall-cl-{pid}-{n}-rx"),
        // At most 15 characters: "lw" + pid (≤ 7 digits) + 1 + n.
        tx_if: format!("lw{pid}t{n}"),
        rx_if: format!("lw{pid}r{n}"),
        made: Vec::new(),
    };
    match net.setup() {
        Ok(()) => Some(net),
        Err(e) => {
            drop(net);
            assert!(
                std::env::var_os("CI").is_none(),
                "cannot make network namespaces and a veth pair under CI (it runs as root): {e}"
            );
            eprintln!(
                "SKIP: colorlight tests need root and iproute2 (network namespaces, veth, raw \
                 sockets): {e}"
            );
            None
        }
    }
}

/// Moves the calling thread (only it) into network namespace `ns`.
fn enter_netns(ns: &str) -> io::Result<()> {
    let f = std::fs::File::open(format!("/var/run/netns/{ns}"))?;
    // SAFETY: setns(2) on an open namespace file; it changes only this thread's namespace.
    if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// An AF_PACKET raw socket bound to one interface of the calling thread's namespace.
struct RawSocket {
    fd: OwnedFd,
}

fn check(r: libc::c_int) -> io::Result<()> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

impl RawSocket {
    fn open(iface: &str) -> io::Result<RawSocket> {
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: socket(2) with constant arguments.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::c_int::from(proto),
            )
        };
        check(fd)?;
        // SAFETY: a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let name = CString::new(iface).map_err(io::Error::other)?;
        // SAFETY: a NUL-terminated name.
        let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if index == 0 {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no interface {iface}"),
            ));
        }
        // SAFETY: sockaddr_ll is plain data, valid all zero.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = index as libc::c_int;
        // SAFETY: a valid sockaddr_ll of the length given.
        check(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const sll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        })?;
        let sock = RawSocket { fd };
        // A large receive buffer so a frame's burst is not dropped (FORCE: beyond rmem_max).
        let big: libc::c_int = 256 << 20;
        if sock
            .setopt(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &big)
            .is_err()
        {
            sock.setopt(libc::SOL_SOCKET, libc::SO_RCVBUF, &big)?;
        }
        let timeout = libc::timeval {
            tv_sec: 0,
            tv_usec: 50_000,
        };
        sock.setopt(libc::SOL_SOCKET, libc::SO_RCVTIMEO, &timeout)?;
        Ok(sock)
    }

    fn setopt<T>(&self, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
        // SAFETY: value points to a T of the size given.
        check(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (value as *const T).cast(),
                size_of::<T>() as libc::socklen_t,
            )
        })
    }

    /// The frames queued on the socket (at least one, waiting up to the receive timeout),
    /// at most `data.len() / slot` of them, the first `slot` bytes of each in a slot of
    /// `data`: each one's whole length and packet type (`PACKET_OUTGOING` for what this end
    /// sent). One `recvmmsg` call for a batch, so the receiver keeps up with a burst.
    fn recv_many(
        &self,
        data: &mut [u8],
        slot: usize,
        got: &mut Vec<(usize, u8)>,
    ) -> io::Result<()> {
        got.clear();
        let slots = data.len() / slot;
        // SAFETY: plain data, valid all zero.
        let mut addrs: Vec<libc::sockaddr_ll> = vec![unsafe { std::mem::zeroed() }; slots];
        let mut iovs: Vec<libc::iovec> = data
            .chunks_exact_mut(slot)
            .map(|c| libc::iovec {
                iov_base: c.as_mut_ptr().cast(),
                iov_len: slot,
            })
            .collect();
        let mut msgs: Vec<libc::mmsghdr> = addrs
            .iter_mut()
            .zip(&mut iovs)
            .map(|(addr, iov)| {
                // SAFETY: plain data, valid all zero.
                let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
                m.msg_hdr.msg_name = (addr as *mut libc::sockaddr_ll).cast();
                m.msg_hdr.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
                m.msg_hdr.msg_iov = iov;
                m.msg_hdr.msg_iovlen = 1;
                m
            })
            .collect();
        loop {
            // SAFETY: every message points to an address and a buffer slot that live
            // through the call, with their lengths.
            let n = unsafe {
                libc::recvmmsg(
                    self.fd.as_raw_fd(),
                    msgs.as_mut_ptr(),
                    slots as libc::c_uint,
                    // MSG_TRUNC: msg_len is the frame's length, also when longer than the slot.
                    libc::MSG_WAITFORONE | libc::MSG_TRUNC,
                    std::ptr::null_mut(),
                )
            };
            if n >= 0 {
                for (i, m) in msgs.iter().take(n as usize).enumerate() {
                    got.push((m.msg_len as usize, addrs[i].sll_pkttype));
                }
                return Ok(());
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => return Ok(()),
                io::ErrorKind::Interrupted => {}
                _ => return Err(e),
            }
        }
    }

    fn send(&self, frame: &[u8]) -> io::Result<()> {
        // SAFETY: frame is valid for its length.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Frames the kernel dropped for this socket (a full receive buffer).
    fn drops(&self) -> io::Result<u32> {
        let mut st = libc::tpacket_stats {
            tp_packets: 0,
            tp_drops: 0,
        };
        let mut len = size_of::<libc::tpacket_stats>() as libc::socklen_t;
        // SAFETY: st is valid for the length given.
        check(unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&raw mut st).cast(),
                &mut len,
            )
        })?;
        Ok(st.tp_drops)
    }
}

/// What a listener does with each frame that reaches its end (not the ones it sends).
trait OnFrame: Send + 'static {
    fn on_frame(&mut self, frame: &[u8], socket: &RawSocket);

    /// A receive error: true to read on, false (the default) to end the listener with it.
    fn on_error(&mut self, _error: &io::Error) -> bool {
        false
    }
}

/// A thread in a namespace reading one interface until stopped.
struct Listener<T> {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<T, String>>>,
}

/// Runs `body` in a thread in `ns` with a raw socket bound to `iface`; returns once `body`
/// says (through its first argument) that it is ready to receive. `body` reads until the
/// flag (its third argument) is set and nothing more is queued.
fn spawn_listener<T, F>(ns: &str, iface: &str, body: F) -> Listener<T>
where
    T: Send + 'static,
    F: FnOnce(mpsc::Sender<Result<(), String>>, RawSocket, &AtomicBool) -> Result<T, String>
        + Send
        + 'static,
{
    let (ready_tx, ready_rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let (ns, iface, stopped) = (ns.to_owned(), iface.to_owned(), stop.clone());
    let thread =
        std::thread::spawn(
            move || match enter_netns(&ns).and_then(|()| RawSocket::open(&iface)) {
                Ok(sock) => body(ready_tx, sock, &stopped),
                Err(e) => {
                    let e = format!("raw socket on {iface} in {ns}: {e}");
                    let _ = ready_tx.send(Err(e.clone()));
                    Err(e)
                }
            },
        );
    match ready_rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("{e}"),
        Err(_) => panic!("the listener thread ended before it was ready"),
    }
    Listener {
        stop,
        thread: Some(thread),
    }
}

/// Starts `handler` on `iface` of `ns`, reading with `recvmmsg`; returns once its socket
/// is bound. The listener ends with the handler and the kernel's drop count.
fn listen<H: OnFrame>(ns: &str, iface: &str, mut handler: H) -> Listener<(H, u32)> {
    spawn_listener(ns, iface, move |ready, sock, stopped| {
        let _ = ready.send(Ok(()));
        let mut data = vec![0u8; 64 * FRAME_BUF];
        let mut got = Vec::new();
        let mut stopping: Option<Instant> = None;
        loop {
            if let Err(e) = sock.recv_many(&mut data, FRAME_BUF, &mut got)
                && !handler.on_error(&e)
            {
                return Err(format!("receive: {e}"));
            }
            for (i, &(n, kind)) in got.iter().enumerate() {
                if kind != libc::PACKET_OUTGOING && n >= 14 {
                    handler.on_frame(&data[i * FRAME_BUF..][..n.min(FRAME_BUF)], &sock);
                }
            }
            if stopped.load(Ordering::SeqCst) {
                // Stopped: read on until nothing more is queued (or for at most 3 s).
                let since = *stopping.get_or_insert_with(Instant::now);
                if got.is_empty() || since.elapsed() > Duration::from_secs(3) {
                    break;
                }
            }
        }
        let drops = sock
            .drops()
            .map_err(|e| format!("PACKET_STATISTICS: {e}"))?;
        Ok((handler, drops))
    })
}

impl<T> Listener<T> {
    /// Stops after the queued frames; what the listener returns.
    fn finish(mut self) -> T {
        self.stop.store(true, Ordering::SeqCst);
        let thread = self.thread.take().unwrap();
        match thread.join() {
            Ok(r) => r.unwrap_or_else(|e| panic!("{e}")),
            Err(_) => panic!("the listener thread panicked"),
        }
    }
}

impl<T> Drop for Listener<T> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Keeps every frame sent to the card's MAC.
#[derive(Default)]
struct Recorder(Vec<Vec<u8>>);

impl OnFrame for Recorder {
    fn on_frame(&mut self, frame: &[u8], _: &RawSocket) {
        if frame[..6] == CARD {
            self.0.push(frame.to_vec());
        }
    }
}

/// Counts what reaches the card, for throughput: packets, bytes, latched frames and
/// complete ones (every row packet of the region before the `0x01`), and the kernel's
/// arrival times of the first and the last packet.
struct Counter {
    row_packets_per_frame: usize,
    packets: u64,
    bytes: u64,
    rows_since_display: usize,
    latched: u64,
    complete: u64,
    first: Option<f64>,
    last: Option<f64>,
}

impl Counter {
    fn new(row_packets_per_frame: usize) -> Counter {
        Counter {
            row_packets_per_frame,
            packets: 0,
            bytes: 0,
            rows_since_display: 0,
            latched: 0,
            complete: 0,
            first: None,
            last: None,
        }
    }

    /// A frame `len` bytes long arrived at `at` (seconds) that starts with `head`.
    fn count(&mut self, head: &[u8], len: usize, at: f64) {
        if head.len() < 13 || head[..6] != CARD {
            return;
        }
        self.first.get_or_insert(at);
        self.last = Some(at);
        self.packets += 1;
        self.bytes += len as u64;
        match head[12] {
            ROW => self.rows_since_display += 1,
            DISPLAY => {
                if self.rows_since_display > 0 {
                    self.latched += 1;
                }
                if self.rows_since_display == self.row_packets_per_frame {
                    self.complete += 1;
                }
                self.rows_since_display = 0;
            }
            _ => {}
        }
    }
}

/// Bytes of each frame the ring keeps (the header and the packet type are all `Counter`
/// needs).
const RING_SNAP: u32 = 32;

/// Counts on a TPACKET_V3 receive ring with a filter that keeps `RING_SNAP` bytes of each
/// frame: the kernel copies 32 bytes a frame into 128 MiB of blocks shared with this
/// thread, which holds about a million frames, so a receiver starved of CPU on a loaded
/// machine drops nothing; times are the kernel's arrival stamps. The listener ends with
/// the counter and the kernel's drop count.
fn count_on_ring(ns: &str, iface: &str, mut counter: Counter) -> Listener<(Counter, u32)> {
    spawn_listener(ns, iface, move |ready, sock, stopped| {
        let ring = match Ring::new(&sock) {
            Ok(r) => r,
            Err(e) => {
                let e = format!("TPACKET_V3 ring: {e}");
                let _ = ready.send(Err(e.clone()));
                return Err(e);
            }
        };
        let _ = ready.send(Ok(()));
        let mut block = 0;
        let mut stopping: Option<Instant> = None;
        loop {
            if ring.read_block(block, &mut counter) {
                block = (block + 1) % ring.blocks;
                continue;
            }
            if stopped.load(Ordering::SeqCst) {
                // A block is handed over after RETIRE_MS at most: nothing for twice that
                // after the stop means everything was read.
                let since = *stopping.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_millis(150) {
                    break;
                }
            }
            let mut pfd = libc::pollfd {
                fd: sock.fd.as_raw_fd(),
                events: libc::POLLIN | libc::POLLERR,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            unsafe { libc::poll(&mut pfd, 1, 20) };
        }
        let drops = sock
            .drops()
            .map_err(|e| format!("PACKET_STATISTICS: {e}"))?;
        drop(ring);
        Ok((counter, drops))
    })
}

/// A mapped TPACKET_V3 receive ring.
struct Ring {
    map: *mut u8,
    block_size: usize,
    blocks: usize,
}

// SAFETY: the mapping belongs to the one thread that reads it.
unsafe impl Send for Ring {}

impl Ring {
    const BLOCK_SIZE: usize = 4 << 20;
    const BLOCKS: usize = 32;
    const RETIRE_MS: u32 = 20;

    fn new(sock: &RawSocket) -> io::Result<Ring> {
        // Keep RING_SNAP bytes of every frame: a one-instruction BPF program "ret #32".
        let mut code = [libc::sock_filter {
            code: 0x06, // BPF_RET | BPF_K
            jt: 0,
            jf: 0,
            k: RING_SNAP,
        }];
        let prog = libc::sock_fprog {
            len: 1,
            filter: code.as_mut_ptr(),
        };
        sock.setopt(libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &prog)?;
        let v3: libc::c_int = 2; // TPACKET_V3
        sock.setopt(libc::SOL_PACKET, libc::PACKET_VERSION, &v3)?;
        let frame_size = 2048;
        let req = libc::tpacket_req3 {
            tp_block_size: Self::BLOCK_SIZE as u32,
            tp_block_nr: Self::BLOCKS as u32,
            tp_frame_size: frame_size,
            tp_frame_nr: (Self::BLOCK_SIZE * Self::BLOCKS) as u32 / frame_size,
            tp_retire_blk_tov: Self::RETIRE_MS,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        sock.setopt(libc::SOL_PACKET, libc::PACKET_RX_RING, &req)?;
        // SAFETY: maps the ring just configured on this socket.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                Self::BLOCK_SIZE * Self::BLOCKS,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                sock.fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Ring {
            map: map.cast(),
            block_size: Self::BLOCK_SIZE,
            blocks: Self::BLOCKS,
        })
    }

    /// Counts the frames of block `n` and hands it back to the kernel, if the kernel has
    /// handed it over; else false.
    fn read_block(&self, n: usize, counter: &mut Counter) -> bool {
        // SAFETY: block n lies inside the mapping; its descriptor is written by the kernel
        // until block_status says TP_STATUS_USER (read with acquire ordering), then belongs
        // to this thread until it stores TP_STATUS_KERNEL (release). The frame headers and
        // bytes lie inside the block at the offsets the kernel wrote.
        unsafe {
            let desc = self.map.add(n * self.block_size);
            let bh1 = &(*desc.cast::<libc::tpacket_block_desc>()).hdr.bh1;
            let status = AtomicU32::from_ptr((&raw const bh1.block_status).cast_mut());
            if status.load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
                return false;
            }
            let sll_at = (size_of::<libc::tpacket3_hdr>() + 15) & !15;
            let mut at = bh1.offset_to_first_pkt as usize;
            for _ in 0..bh1.num_pkts {
                let h = desc.add(at);
                let hdr = &*h.cast::<libc::tpacket3_hdr>();
                let sll = &*h.add(sll_at).cast::<libc::sockaddr_ll>();
                if sll.sll_pkttype != libc::PACKET_OUTGOING {
                    let head = std::slice::from_raw_parts(
                        h.add(usize::from(hdr.tp_mac)),
                        hdr.tp_snaplen as usize,
                    );
                    let t = f64::from(hdr.tp_sec) + f64::from(hdr.tp_nsec) * 1e-9;
                    counter.count(head, hdr.tp_len as usize, t);
                }
                at += hdr.tp_next_offset as usize;
            }
            status.store(libc::TP_STATUS_KERNEL, Ordering::Release);
        }
        true
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: the mapping made in new, not used after this.
        unsafe { libc::munmap(self.map.cast(), self.block_size * self.blocks) };
    }
}

/// A receiving card as discovery sees it.
struct Card {
    model: u8,
    major: u8,
    minor: u8,
    width: u16,
    height: u16,
}

impl Card {
    fn answer(&self) -> Vec<u8> {
        let mut f = vec![0u8; 112];
        f[..6].copy_from_slice(&SENDER);
        f[6..12].copy_from_slice(&CARD);
        f[12] = 0x08;
        f[13] = 0x05;
        f[14] = self.model;
        f[15] = self.major;
        f[16] = self.minor;
        f[34..36].copy_from_slice(&self.width.to_be_bytes());
        f[36..38].copy_from_slice(&self.height.to_be_bytes());
        f
    }
}

/// Daisy-chained cards: each `0x07` request is answered by every card, in chain order.
struct FakeCards {
    cards: Vec<Card>,
    requests: Vec<Vec<u8>>,
    errors: Vec<String>,
}

impl OnFrame for FakeCards {
    fn on_frame(&mut self, frame: &[u8], socket: &RawSocket) {
        if frame[12] != 0x07 {
            return;
        }
        self.requests.push(frame.to_vec());
        for c in &self.cards {
            if let Err(e) = socket.send(&c.answer()) {
                self.errors.push(format!("answer: {e}"));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Running ledwall
// ---------------------------------------------------------------------------------------

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    secs: f64,
}

impl Ran {
    fn log(&self) -> String {
        format!(
            "exit {:?} after {:.2} s\nstdout:\n{}\nstderr:\n{}",
            self.code, self.secs, self.stdout, self.stderr
        )
    }
}

/// `ip netns exec NS [prefix...] ledwall args...`, killed after `limit`.
fn ledwall(ns: &str, prefix: &[&str], args: &[&str], limit: Duration) -> Ran {
    let start = Instant::now();
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(prefix)
        .arg(env!("CARGO_BIN_EXE_ledwall"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > limit {
            // ip netns exec execs ledwall itself: this is its process.
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let ran = Ran {
        code: status.and_then(|s| s.code()),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        secs: start.elapsed().as_secs_f64(),
    };
    assert!(
        status.is_some(),
        "ledwall {} did not end within {limit:?}\n{}",
        args.join(" "),
        ran.log()
    );
    ran
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn fixture_media(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/media")
        .join(name)
        .display()
        .to_string()
}

/// A small wall with one canvas port `port` into `sink`.
fn one_port_wall(port: &str, sink: &str) -> String {
    format!(
        r#"
name = "colorlight-errors"
refresh_hz = 30
[canvas]
width = 64
height = 32
[[outputs]]
name = "{port}"
format = "canvas"
sink = "{sink}"
"#
    )
}

// ---------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------

const E2E_WALL: &str = r#"
name = "colorlight-e2e"
refresh_hz = 30
[canvas]
width = 600
height = 40
[color]
transfer = "srgb"
brightness = 0.9
dither = "ordered+temporal"
background = [0, 0, 40]
[[outputs]]
name = "card"
format = "canvas"
region = { at = [7, 3], size = [590, 33] }
encoding = "display"
sink = "colorlight://TX?order=GRB&repeat=2"
[[outputs]]
name = "copy"
format = "canvas"
region = { at = [7, 3], size = [590, 33] }
encoding = "display"
sink = "file:COPY"
"#;

#[test]
fn frames_reach_the_card_as_the_file_sink_has_them() {
    let _serial = serial();
    let Some(net) = netns() else { return };
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.bin");
    let wall = E2E_WALL
        .replace("TX", &net.tx_if)
        .replace("COPY", &copy.display().to_string());
    let wall = write(dir.path(), "wall.toml", &wall);
    // A photograph crossfading into colour bars and back: every tick differs.
    let show = format!(
        r#"
name = "moving"
[[items]]
source = "{}"
duration = 0.6
fit = "cover"
transition = {{ kind = "crossfade", duration = 0.5 }}
[[items]]
source = "pattern:bars"
duration = 0.6
transition = {{ kind = "crossfade", duration = 0.5 }}
"#,
        fixture_media("photo-160x90.jpg")
    );
    let show = write(dir.path(), "show.toml", &show);

    let card = listen(&net.rx_ns, &net.rx_if, Recorder::default());
    let ran = ledwall(
        &net.tx_ns,
        &[],
        &[
            "play",
            &show,
            "--wall",
            &wall,
            "--for",
            "1.5",
            "--backend",
            "cpu",
        ],
        Duration::from_secs(60),
    );
    let (Recorder(frames), drops) = card.finish();
    assert_eq!(ran.code, Some(0), "ledwall play failed\n{}", ran.log());
    assert_eq!(
        drops, 0,
        "the test's receiver dropped {drops} frames (its buffer, not the sink)"
    );

    let size = [590, 33];
    let latched = latched_frames(&frames, size, "GRB", 2)
        .unwrap_or_else(|e| panic!("{e}\n({} frames captured)\n{}", frames.len(), ran.log()));
    let bytes = std::fs::read(&copy).unwrap();
    let len = size[0] * size[1] * 3;
    assert_eq!(bytes.len() % len, 0, "copy.bin is not whole frames");
    let copies: Vec<&[u8]> = bytes.chunks_exact(len).collect();
    assert!(
        copies.len() >= 40,
        "only {} ticks in 1.5 s at 30 Hz",
        copies.len()
    );
    for (k, (got, want)) in latched.iter().zip(&copies).enumerate() {
        if got[..] != want[..] {
            let i = got
                .iter()
                .zip(want.iter())
                .position(|(a, b)| a != b)
                .unwrap();
            let (px, c) = (i / 3, i % 3);
            let differ = got.iter().zip(want.iter()).filter(|(a, b)| a != b).count();
            let other = copies.iter().position(|f| f[..] == got[..]);
            panic!(
                "latched frame {k} differs from the file sink's frame {k}: first at pixel \
                 ({}, {}) channel {}: {} vs {} ({differ} of {len} bytes differ); it equals \
                 the file's frame {other:?}",
                px % size[0],
                px / size[0],
                ["R", "G", "B"][c],
                got[i],
                want[i]
            );
        }
    }
    assert_eq!(
        latched.len(),
        copies.len(),
        "the card latched {} frames, the file sink got {}",
        latched.len(),
        copies.len()
    );
    let mut distinct: Vec<&Vec<u8>> = latched.iter().collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(
        distinct.len() >= 10,
        "only {} distinct frames",
        distinct.len()
    );
    eprintln!(
        "{} frames captured, {} ticks latched ({} distinct), all equal to copy.bin",
        frames.len(),
        latched.len(),
        distinct.len()
    );
}

/// Keeps every frame sent to the card's MAC with the time this thread read it, and counts
/// them where the test thread sees the count. Reads on through `ENETDOWN`: the kernel says
/// so once to a socket whose own interface went down, and the socket receives again when
/// the interface is back up; when it said so is kept.
struct TimedRecorder {
    frames: Vec<(Instant, Vec<u8>)>,
    seen: Arc<AtomicU32>,
    netdown: Vec<Instant>,
}

impl OnFrame for TimedRecorder {
    fn on_frame(&mut self, frame: &[u8], _: &RawSocket) {
        if frame[..6] == CARD {
            self.frames.push((Instant::now(), frame.to_vec()));
            self.seen.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn on_error(&mut self, error: &io::Error) -> bool {
        let down = error.raw_os_error() == Some(libc::ENETDOWN);
        if down {
            self.netdown.push(Instant::now());
        }
        down
    }
}

/// Where the last whole run of `repeat` display packets in `frames` ends (0: none); what
/// follows is a tick whose rows were not latched.
fn end_of_last_latch(frames: &[Vec<u8>], repeat: usize) -> usize {
    let (mut end, mut run) = (0, 0);
    for (i, f) in frames.iter().enumerate() {
        if f[12] == DISPLAY {
            run += 1;
            let last_of_run = frames.get(i + 1).is_none_or(|g| g[12] != DISPLAY);
            if last_of_run && run == repeat {
                end = i + 1;
            }
        } else {
            run = 0;
        }
    }
    end
}

/// `latched` must be the file's frames `from`, `from + 1`, ... in order.
fn same_as_copies(
    latched: &[Vec<u8>],
    copies: &[&[u8]],
    from: usize,
    what: &str,
) -> Result<(), String> {
    for (k, got) in latched.iter().enumerate() {
        match copies.get(from + k) {
            Some(want) if got[..] == want[..] => {}
            want => {
                let other = copies.iter().position(|f| f[..] == got[..]);
                return Err(format!(
                    "{what}: latched frame {k} is not the file sink's frame {}{} (it equals \
                     the file's frame {other:?})",
                    from + k,
                    if want.is_none() {
                        ", which has fewer frames"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    Ok(())
}

/// Which end of the veth pair goes down for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The player's own end: it is down (no IFF_UP).
    Sending,
    /// The card's end: the player's end stays up but has no carrier (no IFF_RUNNING), as
    /// when the cable is pulled or the card is off; the kernel would drop what is sent
    /// there without an error.
    Receiving,
}

#[test]
fn a_link_that_goes_down_is_counted_and_sending_resumes() {
    link_outage(End::Sending);
}

#[test]
fn a_link_without_carrier_is_counted_and_sending_resumes() {
    link_outage(End::Receiving);
}

/// `ledwall play` for 3 s at 30 Hz into a card and a file copy while `end` of the link goes
/// down for 0.7 s, about 1 s in. The wall plays on; the sink does not send while the link
/// is down, counts each frame it did not send, warns at a limited rate and says once when
/// it sends again, with the count; it never latches the last frame before the outage, the
/// first after it starts with rows (no 0x01), and every frame latched before and after is
/// the file's frame of that tick.
fn link_outage(end: End) {
    let _serial = serial();
    let Some(net) = netns() else { return };
    let began = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.bin");
    // 160 columns: the moving line is in another column at every one of the 90 ticks.
    let (w, h, hz, seconds, repeat) = (160, 8, 30, 3.0, 2);
    let url = format!("colorlight://{}?order=GRB&repeat={repeat}", net.tx_if);
    let wall = format!(
        r#"
name = "colorlight-link-down"
refresh_hz = {hz}
[canvas]
width = {w}
height = {h}
[[outputs]]
name = "card"
format = "canvas"
sink = "{url}"
[[outputs]]
name = "copy"
format = "canvas"
sink = "file:{}"
"#,
        copy.display()
    );
    let wall = write(dir.path(), "wall.toml", &wall);
    let stats = dir.path().join("stats.json").display().to_string();

    let seen = Arc::new(AtomicU32::new(0));
    let card = listen(
        &net.rx_ns,
        &net.rx_if,
        TimedRecorder {
            frames: Vec::new(),
            seen: seen.clone(),
            netdown: Vec::new(),
        },
    );
    let player = {
        let (ns, wall, stats) = (net.tx_ns.clone(), wall.clone(), stats.clone());
        std::thread::spawn(move || {
            ledwall(
                &ns,
                &[],
                &[
                    "play",
                    "pattern:line",
                    "--wall",
                    &wall,
                    "--for",
                    &seconds.to_string(),
                    "--backend",
                    "cpu",
                    "--stats",
                    &stats,
                ],
                Duration::from_secs(30),
            )
        })
    };
    // About 1 s after the first frame reached the card `end` goes down for 0.7 s; then both
    // ends must be operationally up again (the carrier follows asynchronously).
    let (ns, dev) = match end {
        End::Sending => (&net.tx_ns, &net.tx_if),
        End::Receiving => (&net.rx_ns, &net.rx_if),
    };
    let toggle = || -> Result<(Instant, Instant, Instant), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while seen.load(Ordering::SeqCst) == 0 {
            if Instant::now() > deadline || player.is_finished() {
                return Err("nothing reached the card before the link was to go down".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_secs(1));
        let down = Instant::now();
        ip(&["-n", ns, "link", "set", dev, "down"])?;
        std::thread::sleep(Duration::from_millis(700));
        let up = Instant::now();
        ip(&["-n", ns, "link", "set", dev, "up"])?;
        let deadline = Instant::now() + Duration::from_secs(2);
        for (ns, dev) in [(&net.tx_ns, &net.tx_if), (&net.rx_ns, &net.rx_if)] {
            while !Netns::is_up(ns, dev) {
                if Instant::now() > deadline {
                    return Err(format!("{dev} in {ns} did not come back up"));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        Ok((down, up, Instant::now()))
    };
    let toggled = toggle();
    let ran = player
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
    let (
        TimedRecorder {
            frames, netdown, ..
        },
        drops,
    ) = card.finish();
    let (down, up, back) = toggled.unwrap_or_else(|e| panic!("{e}\n{}", ran.log()));

    // The wall kept playing: ledwall ends normally and the file copy has every tick.
    assert_eq!(
        ran.code,
        Some(0),
        "ledwall play failed: a link going down must not stop the wall\n{}",
        ran.log()
    );
    assert_eq!(
        drops, 0,
        "the test's receiver dropped {drops} frames (its buffer, not the sink)"
    );
    let len = w * h * 3;
    let bytes = std::fs::read(&copy).unwrap();
    assert_eq!(bytes.len() % len, 0, "copy.bin is not whole frames");
    let copies: Vec<&[u8]> = bytes.chunks_exact(len).collect();
    let ticks = (seconds * f64::from(hz)) as usize;
    assert!(
        copies.len().abs_diff(ticks) <= 2,
        "the file sink has {} frames, want {ticks} (one a tick)\n{}",
        copies.len(),
        ran.log()
    );

    // The colorlight sink counted errors, the file sink none.
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    let sink = |prefix: &str| {
        v["sinks"]
            .as_array()
            .and_then(|a| {
                a.iter()
                    .find(|s| s["url"].as_str().is_some_and(|u| u.starts_with(prefix)))
            })
            .unwrap_or_else(|| panic!("no {prefix} sink in the stats: {v}"))
    };
    let (cl, file) = (sink("colorlight://"), sink("file:"));
    let errors = cl["errors"].as_u64().unwrap();
    assert!(
        errors > 0,
        "the colorlight sink counted no errors while {end:?} end was down 0.7 s: {cl}\n{}",
        ran.log()
    );
    assert_eq!(file["errors"], 0, "file sink: {file}");
    // The URL as the sink names itself (its options spelled out).
    let url = cl["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("colorlight://{}?", net.tx_if)),
        "{url}"
    );

    // Warnings, rate-limited (the first at once, then at most one a second: one or two in
    // 0.7 s and the moments around it), naming the sink and saying there is no link.
    let lines: Vec<&str> = ran.stderr.lines().collect();
    let warnings: Vec<(usize, &str)> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains(url) && l.contains(" WARN "))
        .map(|(i, l)| (i, *l))
        .collect();
    assert!(
        !warnings.is_empty() && warnings.len() <= 2,
        "want 1 or 2 warnings naming {url} (at most one a second), got {}\n{}",
        warnings.len(),
        ran.log()
    );
    let no_link = "no link (cable unplugged, or the card is off)";
    assert!(
        warnings.iter().any(|(_, l)| l.contains(no_link)),
        "no warning says \"{no_link}\": {warnings:#?}"
    );
    // Then one line saying it sends again, with the count of frames it did not send.
    let again: Vec<(usize, &str)> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains(url) && l.contains("sending again"))
        .map(|(i, l)| (i, *l))
        .collect();
    assert_eq!(
        again.len(),
        1,
        "want one line saying {url} sends again, got {again:#?}\n{}",
        ran.log()
    );
    let (at_again, line) = again[0];
    assert!(
        line.contains(" INFO ") && warnings.iter().all(|&(i, _)| i < at_again),
        "the line saying it sends again is not an info line after the warnings: {line}\n{}",
        ran.log()
    );
    let not_sent: u64 = line
        .split_once(&format!("{url}: sending again; "))
        .and_then(|(_, r)| r.split_once(" frames were not sent while it failed"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of frames not sent in: {line}"));
    assert_eq!(
        not_sent, errors,
        "the line saying it sends again counts {not_sent} frames not sent, the sink's stats \
         {errors} errors (one outage: they must agree)\n{line}"
    );

    // What reached the card: every packet well formed; one gap while the link was down.
    for (i, (_, f)) in frames.iter().enumerate() {
        if let Err(e) = parse(f) {
            panic!("frame {i} of the capture: {e}");
        }
    }
    let (at, gap) = frames
        .windows(2)
        .enumerate()
        .map(|(i, p)| (i + 1, p[1].0 - p[0].0))
        .max_by_key(|&(_, d)| d)
        .unwrap_or_else(|| panic!("{} frames captured\n{}", frames.len(), ran.log()));
    assert!(
        gap >= Duration::from_millis(500) && frames[at].0 >= up && frames[at - 1].0 <= up,
        "the longest pause between frames at the card is {gap:?}, from {:?} to {:?} after \
         the link went down; it was down from 0 to {:?}",
        frames[at - 1].0.saturating_duration_since(down),
        frames[at].0.saturating_duration_since(down),
        up - down
    );
    let sent = cl["packets"].as_u64().unwrap();
    assert_eq!(
        sent,
        frames.len() as u64,
        "the sink counts {sent} packets sent, the card received {}",
        frames.len()
    );
    let frames: Vec<Vec<u8>> = frames.into_iter().map(|(_, f)| f).collect();
    let (before, after) = frames.split_at(at);

    // Before the gap: the first frames, in order; then the last tick's rows, which are
    // never latched (no 0x01 after the last whole latch).
    let cut = end_of_last_latch(before, repeat);
    let pre = latched_frames(&before[..cut], [w, h], "GRB", repeat)
        .unwrap_or_else(|e| panic!("before the link went down: {e}\n{}", ran.log()));
    same_as_copies(&pre, &copies, 0, "before the link went down")
        .unwrap_or_else(|e| panic!("{e}\n{}", ran.log()));
    let tail = &before[cut..];
    let kinds = |fs: &[Vec<u8>]| fs.iter().map(|f| f[12]).collect::<Vec<_>>();
    assert!(
        !tail.is_empty() && tail.iter().all(|f| f[12] != DISPLAY),
        "the last tick before the gap must be sent and never latched; after the last latch \
         came the packet types {:02x?}",
        kinds(tail)
    );
    // After it: a tick from its start, its 0x0A first (no 0x01: nothing received before
    // the outage is latched after it), then every tick to the end, the last latched at
    // shutdown; each the file's frame of its tick.
    let lead = after.iter().take_while(|f| f[12] == DISPLAY).count();
    assert_eq!(
        lead,
        0,
        "after the link came back: {lead} 0x01 before the first 0x0A, want none (they \
         would latch a frame from before the outage); first packet types {:02x?}",
        kinds(&after[..after.len().min(8)])
    );
    let post = latched_frames(after, [w, h], "GRB", repeat)
        .unwrap_or_else(|e| panic!("after the link came back: {e}\n{}", ran.log()));
    let from = copies.len().saturating_sub(post.len());
    same_as_copies(&post, &copies, from, "after the link came back")
        .unwrap_or_else(|e| panic!("{e}\n{}", ran.log()));
    let least = 15; // half a second at 30 Hz
    assert!(
        pre.len() >= least && post.len() >= least,
        "{} frames latched before the gap, {} after; want {least} each",
        pre.len(),
        post.len()
    );
    let missing = copies.len() - pre.len() - post.len();
    let tail_rows = tail.iter().filter(|f| f[12] == ROW).count();
    // An error is a tick that did not go out whole; the tick before them went out but is
    // not latched: at least one more tick not latched than errors.
    assert!(
        errors < missing as u64,
        "{errors} errors counted, but only {missing} ticks were not latched (the {errors} \
         not sent and the one before them)"
    );
    eprintln!(
        "{end:?} end down {:?}, back up (both ends UP) {:?} later; longest pause at the card \
         {gap:?}; {} ticks, {} latched before the gap, {} after, {missing} not ({tail_rows} \
         row packets of the last tick before the gap sent, never latched); sink: {errors} \
         errors, {sent} packets; {} warning line(s): {warnings:#?}; {line}; receiver: \
         ENETDOWN {} time(s) {:?} after the link went down; test {:.2} s",
        up - down,
        back - up,
        copies.len(),
        pre.len(),
        post.len(),
        warnings.len(),
        netdown.len(),
        netdown
            .iter()
            .map(|t| t.saturating_duration_since(down))
            .collect::<Vec<_>>(),
        began.elapsed().as_secs_f64()
    );
}

#[test]
fn discovery_lists_the_cards_that_answer() {
    let _serial = serial();
    let Some(net) = netns() else { return };
    let limit = Duration::from_secs(30);
    let info = |prefix: &[&str], iface: &str| {
        ledwall(&net.tx_ns, prefix, &["info", "--colorlight", iface], limit)
    };

    // Two daisy-chained cards answer (different firmware and sizes).
    let cards = listen(
        &net.rx_ns,
        &net.rx_if,
        FakeCards {
            cards: vec![
                Card {
                    model: 0x04,
                    major: 13,
                    minor: 6,
                    width: 128,
                    height: 64,
                },
                Card {
                    model: 0x04,
                    major: 11,
                    minor: 2,
                    width: 320,
                    height: 256,
                },
            ],
            requests: Vec::new(),
            errors: Vec::new(),
        },
    );
    let ran = info(&[], &net.tx_if);
    let (fake, _) = cards.finish();
    assert!(fake.errors.is_empty(), "{:?}", fake.errors);
    assert_eq!(ran.code, Some(0), "{}", ran.log());
    let lines: Vec<&str> = ran
        .stdout
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("card "))
        .collect();
    assert_eq!(
        lines,
        [
            "card 1: Colorlight 5A (model 0x04), firmware 13.6, 128x64",
            "card 2: Colorlight 5A (model 0x04), firmware 11.2, 320x256",
        ],
        "{}",
        ran.log()
    );
    assert_eq!(
        fake.requests.len(),
        1,
        "discovery requests seen: {}",
        fake.requests.len()
    );
    let req = &fake.requests[0];
    assert_eq!(req.len(), 284, "request length");
    assert_eq!(req[6..12], SENDER, "request source MAC");
    assert!(
        req[..6] == CARD || req[..6] == [0xFF; 6],
        "request destination MAC {:02X?}",
        &req[..6]
    );
    assert_eq!(req[12], 0x07);
    assert!(
        req[13..].iter().all(|&b| b == 0),
        "request data not zero: {req:02X?}"
    );
    eprintln!("two cards: {:.2} s\n{}", ran.secs, ran.stdout);

    // Nobody answers.
    let ran = info(&[], &net.tx_if);
    assert_eq!(ran.code, Some(1), "{}", ran.log());
    let said = format!("{}{}", ran.stdout, ran.stderr);
    let want = format!("no card answered on {} within 1 s", net.tx_if);
    assert!(said.contains(&want), "want {want:?}\n{}", ran.log());

    // No such interface.
    let ran = info(&[], "nosuch0");
    assert_eq!(ran.code, Some(1), "{}", ran.log());
    assert!(ran.stderr.contains("nosuch0"), "{}", ran.log());
    eprintln!("missing interface: {}", ran.stderr.trim());

    // Without CAP_NET_RAW.
    if let Some(drop_raw) = without_net_raw() {
        let ran = info(&drop_raw, &net.tx_if);
        assert_eq!(ran.code, Some(1), "{}", ran.log());
        assert!(ran.stderr.contains(&net.tx_if), "{}", ran.log());
        assert!(
            ran.stderr.contains("setcap cap_net_raw+ep"),
            "{}",
            ran.log()
        );
        eprintln!("without CAP_NET_RAW: {}", ran.stderr.trim());
    }
}

/// A command prefix that runs the rest without CAP_NET_RAW (as root too), if setpriv is
/// there.
fn without_net_raw() -> Option<Vec<&'static str>> {
    let ok = Command::new("setpriv")
        .args([
            "--inh-caps=-net_raw",
            "--bounding-set=-net_raw",
            "--",
            "true",
        ])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Some(vec![
            "setpriv",
            "--inh-caps=-net_raw",
            "--bounding-set=-net_raw",
            "--",
        ])
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "setpriv (util-linux) is missing under CI"
        );
        eprintln!("SKIP: no setpriv; the CAP_NET_RAW error is not tested");
        None
    }
}

#[test]
fn a_missing_or_down_interface_is_waited_for_and_no_permission_is_a_clear_error() {
    let _serial = serial();
    let Some(net) = netns() else { return };
    // A veth pair inside the sending namespace, left down (removed with the namespace).
    ip(&[
        "-n", &net.tx_ns, "link", "add", "lwdown0", "type", "veth", "peer", "name", "lwdown1",
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = "east-card";
    // Every case is run and every problem listed before the test fails.
    let mut problems: Vec<String> = Vec::new();
    let mut play = |prefix: &[&str], iface: &str, code: i32, also: &[&str]| {
        let wall = write(
            dir.path(),
            "wall.toml",
            &one_port_wall(port, &format!("colorlight://{iface}")),
        );
        let args = ["play", "pattern:line", "--wall", &wall, "--for", "3"];
        let ran = ledwall(
            &net.tx_ns,
            prefix,
            &[&args[..], &["--backend", "cpu"]].concat(),
            Duration::from_secs(30),
        );
        if ran.code != Some(code) {
            problems.push(format!("{iface}: {}", ran.log()));
        }
        for name in [port, iface].iter().chain(also) {
            if !ran.stderr.contains(name) {
                problems.push(format!(
                    "{iface}: the message does not contain {name:?}: {}",
                    ran.stderr.trim()
                ));
            }
        }
        eprintln!("{iface} ({:.2} s): {}", ran.secs, ran.stderr.trim());
    };
    // Missing (a USB NIC not there yet): the show plays and the sink waits for it.
    play(
        &[],
        "nosuch0",
        0,
        &["does not exist", "retrying in the background"],
    );
    // Down (the network not configured yet): the same.
    play(
        &[],
        "lwdown0",
        0,
        &["is down", "retrying in the background"],
    );
    if let Some(drop_raw) = without_net_raw() {
        play(&drop_raw, &net.tx_if, 1, &["setcap cap_net_raw+ep"]);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn an_interface_that_appears_after_start_gets_the_frames() {
    let _serial = serial();
    let Some(net) = netns() else { return };
    let dir = tempfile::tempdir().unwrap();
    let late = format!("lwl{}", std::process::id() % 100_000);
    let peer = format!("{late}p");
    let wall = write(
        dir.path(),
        "wall.toml",
        &one_port_wall("late-card", &format!("colorlight://{late}")),
    );
    let ns = net.tx_ns.clone();
    let player = std::thread::spawn(move || {
        let args = ["play", "pattern:line", "--wall", &wall, "--for", "6"];
        ledwall(
            &ns,
            &[],
            &[&args[..], &["--backend", "cpu"]].concat(),
            Duration::from_secs(30),
        )
    });
    // The NIC shows up while the show plays (removed with the namespace).
    std::thread::sleep(Duration::from_millis(1500));
    ip(&[
        "-n", &net.tx_ns, "link", "add", &late, "type", "veth", "peer", "name", &peer,
    ])
    .unwrap();
    for dev in [&late, &peer] {
        ip(&["-n", &net.tx_ns, "link", "set", dev, "up"]).unwrap();
    }
    let card = listen(&net.tx_ns, &peer, Recorder::default());
    let ran = player.join().unwrap();
    let (got, _) = card.finish();
    assert_eq!(ran.code, Some(0), "{}", ran.log());
    assert!(
        ran.stderr.contains(&late) && ran.stderr.contains("does not exist"),
        "{}",
        ran.log()
    );
    // 30 Hz for the seconds after the interface came (the first retry is 1 s after start,
    // the next 3 s): each latched frame ends with a display packet.
    let latched = got
        .0
        .iter()
        .filter(|f| parse(f).is_ok_and(|p| p == Packet::Display))
        .count();
    assert!(latched >= 30, "{latched} frames latched\n{}", ran.log());
    eprintln!("{latched} frames latched on {late}, which appeared 1.5 s after start");
}

#[test]
fn throughput_of_a_1080p_region() {
    let _serial = serial();
    let Some(net) = netns() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (w, h, hz, seconds) = (1920, 1080, 120, 3.0);
    let wall = format!(
        r#"
name = "colorlight-1080p"
refresh_hz = {hz}
[canvas]
width = {w}
height = {h}
[[outputs]]
name = "card"
format = "canvas"
sink = "colorlight://{}"
"#,
        net.tx_if
    );
    let wall = write(dir.path(), "wall.toml", &wall);
    let stats = dir.path().join("stats.json").display().to_string();
    let per_frame = row_layout(w, h).len();
    let counter = count_on_ring(&net.rx_ns, &net.rx_if, Counter::new(per_frame));
    let ran = ledwall(
        &net.tx_ns,
        &[],
        &[
            "play",
            "pattern:line",
            "--wall",
            &wall,
            "--for",
            &seconds.to_string(),
            "--backend",
            "cpu",
            "--stats",
            &stats,
        ],
        Duration::from_secs(60),
    );
    let (c, drops) = counter.finish();
    assert_eq!(ran.code, Some(0), "{}", ran.log());
    let secs = match (c.first, c.last) {
        (Some(a), Some(b)) => (b - a).max(1e-3),
        _ => panic!("nothing reached the card\n{}", ran.log()),
    };
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    let f = &v["frames"];
    let sink = &v["sinks"][0];
    println!(
        "colorlight over veth: {:.1} frames/s, {:.0} packets/s, {:.1} MB/s ({w}x{h} region, \
         {hz} Hz wall, {per_frame} row packets a frame; {} complete of {} latched frames \
         in {secs:.2} s; receiver drops {drops})",
        c.complete as f64 / secs,
        c.packets as f64 / secs,
        c.bytes as f64 / secs / 1e6,
        c.complete,
        c.latched,
    );
    println!(
        "  player: {} ticks in {:.2} s, {} new, {} repeated, {} late, {} dropped; send p50 \
         {:.2} ms, p99 {:.2} ms; sink {} packets, {} errors",
        v["ticks"],
        v["seconds"].as_f64().unwrap_or(0.0),
        f["new"],
        f["repeated"],
        f["late"],
        f["dropped"],
        v["send"]["p50_us"].as_f64().unwrap_or(0.0) / 1e3,
        v["send"]["p99_us"].as_f64().unwrap_or(0.0) / 1e3,
        sink["packets"],
        sink["errors"],
    );
    assert!(c.latched > 0, "no frame latched\n{}", ran.log());
}
