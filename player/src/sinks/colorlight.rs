//! `colorlight://IFACE`: Colorlight 5A-75-class receiving cards over raw Ethernet (design
//! §7.1). The card does the scan and PWM; the player sends it rows of pixels.
//!
//! Frames: destination MAC `11:22:33:44:55:66`, source `22:22:33:44:55:66`, byte 12 the
//! packet type, data from byte 13 ([`row_packet`], [`brightness_packet`],
//! [`display_packet`]: pure encoders into a caller's buffer). Per tick the sink sends the
//! display packet that latches the *previous* tick's rows first (the card needs a gap after
//! the last row; one tick is enough at ≤ 120 Hz), then the brightness packet, then this
//! tick's rows, at most [`MAX_PIXELS`] pixels a packet. All packets of a tick are built into
//! buffers allocated when the sink opens and handed to the kernel with `sendmmsg`, a batch
//! at a time, without waiting (`MSG_DONTWAIT`): the output thread never blocks on the link.
//! What the socket does not take (a full queue, a link that is down) is counted and logged
//! at a limited rate, and the next tick sends again: a link that comes back resumes by
//! itself.
//!
//! Opening needs CAP_NET_RAW (an AF_PACKET socket); the error says how to grant it.

use super::{ErrorLog, PortShape, Sink, SinkError, SinkStats, check_port};
use ledwall_render::wall::Dim;
use std::ffi::CString;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// The cards' MAC address (all cards answer on it: daisy-chain them, don't switch them).
pub const CARD_MAC: [u8; 6] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66];
/// The sender's MAC address, as the cards expect it.
pub const SENDER_MAC: [u8; 6] = [0x22, 0x22, 0x33, 0x44, 0x55, 0x66];
/// Packet type: one row (or part of one) of pixels.
pub const TYPE_ROW: u8 = 0x55;
/// Packet type: brightness and colour balance.
pub const TYPE_BRIGHTNESS: u8 = 0x0A;
/// Packet type: display (latch) what was received.
pub const TYPE_DISPLAY: u8 = 0x01;
/// Packet type: discovery request (and the acknowledgement of an answer).
pub const TYPE_DETECT: u8 = 0x07;
/// Packet type: a card's answer to discovery.
pub const TYPE_DETECT_ANSWER: u8 = 0x08;
/// Most pixels in one row packet (the packet stays within a 1500-byte Ethernet payload).
pub const MAX_PIXELS: usize = 497;
/// Bytes of a frame's header: two MAC addresses and the type byte.
pub const HEADER: usize = 13;
/// The largest frame the sink builds: a full row packet.
pub const MAX_FRAME: usize = HEADER + 8 + MAX_PIXELS * 3;
/// Data bytes of a brightness packet.
pub const BRIGHTNESS_DATA: usize = 64;
/// Data bytes of a display packet.
pub const DISPLAY_DATA: usize = 99;
/// Packets handed to one `sendmmsg` call.
const BATCH: usize = 256;

fn header(buf: &mut [u8], kind: u8) {
    buf[..6].copy_from_slice(&CARD_MAC);
    buf[6..12].copy_from_slice(&SENDER_MAC);
    buf[12] = kind;
}

/// Encode a row packet into `buf` (at least [`MAX_FRAME`] bytes): `pixels` are R, G, B
/// triples (at most [`MAX_PIXELS`]), sent in `order` (canvas channel of wire slot k), for
/// row `row` of the region starting at pixel `offset`. Returns the frame's length.
pub fn row_packet(buf: &mut [u8], row: u16, offset: u16, pixels: &[u8], order: [u8; 3]) -> usize {
    let count = (pixels.len() / 3).min(MAX_PIXELS);
    header(buf, TYPE_ROW);
    buf[13..15].copy_from_slice(&row.to_be_bytes());
    buf[15..17].copy_from_slice(&offset.to_be_bytes());
    buf[17..19].copy_from_slice(&(count as u16).to_be_bytes());
    buf[19] = 0x08;
    buf[20] = 0x88;
    let out = &mut buf[21..21 + count * 3];
    for (o, p) in out.chunks_exact_mut(3).zip(pixels.chunks_exact(3)) {
        o[0] = p[order[0] as usize];
        o[1] = p[order[1] as usize];
        o[2] = p[order[2] as usize];
    }
    21 + count * 3
}

/// Encode the brightness packet: R, G, B brightness, then 0xFF, rest zero. Returns its
/// length.
pub fn brightness_packet(buf: &mut [u8], rgb: [u8; 3]) -> usize {
    header(buf, TYPE_BRIGHTNESS);
    let data = &mut buf[HEADER..HEADER + BRIGHTNESS_DATA];
    data.fill(0);
    data[..3].copy_from_slice(&rgb);
    data[3] = 0xFF;
    HEADER + BRIGHTNESS_DATA
}

/// Encode the display packet: `[0] = 0x07`, `[22]` brightness, `[23] = 0x05`, `[25..28]` R,
/// G, B brightness, rest zero. Returns its length.
pub fn display_packet(buf: &mut [u8], brightness: u8, rgb: [u8; 3]) -> usize {
    header(buf, TYPE_DISPLAY);
    let data = &mut buf[HEADER..HEADER + DISPLAY_DATA];
    data.fill(0);
    data[0] = 0x07;
    data[22] = brightness;
    data[23] = 0x05;
    data[25..28].copy_from_slice(&rgb);
    HEADER + DISPLAY_DATA
}

/// The packets one row of `width` pixels takes.
pub fn packets_per_row(width: usize) -> usize {
    width.div_ceil(MAX_PIXELS).max(1)
}

/// An AF_PACKET socket bound to one interface, sending whole frames (we build the
/// Ethernet header ourselves). Closed on drop.
pub struct RawSocket {
    fd: libc::c_int,
    ifindex: libc::c_int,
    /// The interface's name as `ioctl` takes it.
    name: [libc::c_char; libc::IFNAMSIZ],
}

impl Drop for RawSocket {
    fn drop(&mut self) {
        // SAFETY: `fd` is our open socket, closed once.
        unsafe { libc::close(self.fd) };
    }
}

/// What is wrong with an interface before a socket is opened on it.
pub fn check_interface(iface: &str) -> Result<(), String> {
    let dir = std::path::Path::new("/sys/class/net").join(iface);
    if !dir.exists() {
        let mut names: Vec<String> = std::fs::read_dir("/sys/class/net")
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        return Err(format!(
            "network interface {iface} does not exist (this machine has: {})",
            names.join(", ")
        ));
    }
    if !interface_up(iface) {
        return Err(format!(
            "network interface {iface} is down: bring it up (`ip link set {iface} up`, or in the \
             system's network settings) and connect the card"
        ));
    }
    Ok(())
}

/// Whether the interface is administratively up (IFF_UP in its flags).
pub fn interface_up(iface: &str) -> bool {
    std::fs::read_to_string(format!("/sys/class/net/{iface}/flags"))
        .ok()
        .and_then(|s| u32::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok())
        .is_some_and(|f| f & 1 != 0)
}

impl RawSocket {
    /// Open a raw socket on `iface` for sending (it receives nothing unless `receive` asks for
    /// every frame, as discovery does). Errors name the interface and, without CAP_NET_RAW,
    /// how to grant it.
    pub fn open(iface: &str, receive: bool) -> Result<RawSocket, String> {
        check_interface(iface)?;
        let name = CString::new(iface).map_err(|_| format!("bad interface name {iface:?}"))?;
        // SAFETY: a valid C string.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) } as libc::c_int;
        if ifindex == 0 {
            return Err(format!(
                "network interface {iface}: {}",
                io::Error::last_os_error()
            ));
        }
        let protocol = if receive {
            (libc::ETH_P_ALL as u16).to_be() as libc::c_int
        } else {
            0 // send only: the kernel delivers nothing to this socket
        };
        // SAFETY: plain socket(2) call.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                protocol,
            )
        };
        if fd < 0 {
            let e = io::Error::last_os_error();
            return Err(if e.raw_os_error() == Some(libc::EPERM) {
                format!(
                    "cannot open a raw socket on {iface}: it needs CAP_NET_RAW. Run as root, or \
                     grant the binary the capability (`sudo setcap cap_net_raw+ep \"$(command -v \
                     ledwall)\"`), or under systemd give the unit AmbientCapabilities=CAP_NET_RAW"
                )
            } else {
                format!("cannot open a raw socket on {iface}: {e}")
            });
        }
        let mut ifname = [0 as libc::c_char; libc::IFNAMSIZ];
        for (d, s) in ifname
            .iter_mut()
            .zip(name.as_bytes().iter().take(libc::IFNAMSIZ - 1))
        {
            *d = *s as libc::c_char;
        }
        let sock = RawSocket {
            fd,
            ifindex,
            name: ifname,
        };
        // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = protocol as u16;
        addr.sll_ifindex = ifindex;
        // SAFETY: `addr` is a valid sockaddr_ll of the size given.
        let r = unsafe {
            libc::bind(
                fd,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(format!(
                "cannot bind a raw socket to {iface}: {}",
                io::Error::last_os_error()
            ));
        }
        // A whole 1080p frame (about 6.5 MB) queued without waiting: the forced size needs
        // CAP_NET_ADMIN; otherwise the system's wmem_max caps it.
        let size: libc::c_int = 32 << 20;
        for opt in [libc::SO_SNDBUFFORCE, libc::SO_SNDBUF] {
            // SAFETY: setsockopt with an int option value of the right size.
            let r = unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    opt,
                    (&size as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            if r == 0 {
                break;
            }
        }
        Ok(sock)
    }

    /// Send `frames` (each a buffer and its length), in batches, without blocking. Returns
    /// how many went out, and the error that stopped the rest, if any.
    pub fn send_batch(
        &self,
        frames: &mut [(Box<[u8; MAX_FRAME]>, usize)],
        scratch: &mut Batch,
    ) -> (usize, Option<io::Error>) {
        let mut sent = 0;
        while sent < frames.len() {
            let n = (frames.len() - sent).min(BATCH);
            for (i, (buf, len)) in frames[sent..sent + n].iter_mut().enumerate() {
                scratch.iov[i] = libc::iovec {
                    iov_base: buf.as_mut_ptr().cast(),
                    iov_len: *len,
                };
            }
            for i in 0..n {
                // SAFETY: msghdr is plain data; zeroed is valid (no name: the socket is bound).
                let mut h: libc::msghdr = unsafe { std::mem::zeroed() };
                h.msg_iov = &mut scratch.iov[i];
                h.msg_iovlen = 1;
                scratch.msgs[i] = libc::mmsghdr {
                    msg_hdr: h,
                    msg_len: 0,
                };
            }
            // SAFETY: `msgs[..n]` point at `iov[..n]`, which point at live buffers of the
            // stated lengths, all borrowed for the call.
            let r = unsafe {
                libc::sendmmsg(
                    self.fd,
                    scratch.msgs.as_mut_ptr(),
                    n as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            if r < 0 {
                return (sent, Some(io::Error::last_os_error()));
            }
            sent += r as usize;
            if (r as usize) < n {
                // The queue took only part of the batch: try the rest once more; if that
                // takes nothing, the error says why.
                continue;
            }
        }
        (sent, None)
    }

    /// Receive one frame into `buf` (discovery), waiting at most `timeout`.
    pub fn recv(&self, buf: &mut [u8], timeout: std::time::Duration) -> io::Result<usize> {
        let mut pfd = libc::pollfd {
            fd: self.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        if r == 0 {
            return Err(io::ErrorKind::TimedOut.into());
        }
        // SAFETY: `buf` is valid for its length.
        let n = unsafe { libc::recv(self.fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    /// Send one frame (discovery).
    pub fn send_one(&self, frame: &[u8]) -> io::Result<()> {
        // SAFETY: `frame` is valid for its length; the socket is bound to its interface.
        let n = unsafe { libc::send(self.fd, frame.as_ptr().cast(), frame.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Whether the interface is up with a link (IFF_UP and IFF_RUNNING: a cable pulled or a
    /// card switched off clears RUNNING, and the kernel then drops what is sent without an
    /// error). One `ioctl`, no allocation.
    pub fn link_up(&self) -> bool {
        // SAFETY: ifreq is plain data; zeroed is a valid value.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        req.ifr_name = self.name;
        // SAFETY: SIOCGIFFLAGS reads the flags of the named interface into `req`.
        let r = unsafe { libc::ioctl(self.fd, libc::SIOCGIFFLAGS, &mut req) };
        if r != 0 {
            return false;
        }
        // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
        let flags = i32::from(unsafe { req.ifr_ifru.ifru_flags });
        flags & libc::IFF_UP != 0 && flags & libc::IFF_RUNNING != 0
    }

    /// The interface index the socket is bound to.
    pub fn ifindex(&self) -> i32 {
        self.ifindex
    }
}

/// The `sendmmsg` headers and vectors of one batch, allocated once.
pub struct Batch {
    msgs: Vec<libc::mmsghdr>,
    iov: Vec<libc::iovec>,
}

impl Default for Batch {
    fn default() -> Self {
        // SAFETY: both are plain data; zeroed is a valid value (overwritten before use).
        let zero_msg: libc::mmsghdr = unsafe { std::mem::zeroed() };
        let zero_iov = libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        };
        Batch {
            msgs: vec![zero_msg; BATCH],
            iov: vec![zero_iov; BATCH],
        }
    }
}

// SAFETY: the raw pointers in `Batch` are only set and used inside `send_batch`, pointing at
// buffers borrowed for that call; between calls they are stale and never read.
unsafe impl Send for Batch {}

/// A Colorlight sink's settings from its URL.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Canvas channel (0 = R, 1 = G, 2 = B) sent in wire slot k.
    pub order: [u8; 3],
    /// Who dims: with [`Dim::Card`] the brightness bytes carry each frame's `card_level`
    /// (the renderer then leaves the pixels at full level).
    pub dim: Dim,
    /// Display and brightness packets per tick: 1 or 2.
    pub repeat: u8,
}

/// The card's brightness byte for a level 0..=1.
pub fn level_byte(level: f32) -> u8 {
    (level.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// Sends one `canvas` port to Colorlight cards.
///
/// The output thread only copies the port's bytes into a free slot of a triple buffer (one
/// `memcpy`, allocated once) and hands it over at the end of the tick; the sink's own sender
/// thread encodes the packets and sends them. A 1080p frame is about 4,400 packets: sending
/// them took about 10 ms of the output thread on the test VM, more than a 120 Hz tick, and
/// would have held up every other sink. If the sender falls behind (a link slower than the
/// frames), it skips to the newest frame and counts the ones it skipped; the order on the
/// wire stays latch, brightness, rows.
pub struct ColorlightSink {
    url: String,
    shape: [PortShape; 1],
    dim: Dim,
    /// The brightness byte of this tick's frame (255 with dim=digital).
    level: u8,
    shared: Arc<Shared>,
    sender: Option<std::thread::JoinHandle<()>>,
    /// The port's bytes arrived this tick (in the back slot).
    fresh: bool,
    stats: SinkStats,
    log: ErrorLog,
}

/// The hand-over between the output thread and the sender.
struct Shared {
    /// Three slots of the port's bytes; roles in `hand`.
    slots: [Mutex<Vec<u8>>; 3],
    hand: Mutex<Hand>,
    wake: Condvar,
    /// Packets sent, and packets or frames that did not go out (counted by the sender).
    packets: AtomicU64,
    errors: AtomicU64,
    /// Frames replaced before the sender took them.
    skipped: AtomicU64,
}

struct Hand {
    back: usize,
    middle: usize,
    front: usize,
    /// `middle` holds a frame the sender has not taken.
    fresh: bool,
    /// The brightness byte of the frame in `middle`.
    level: u8,
    stop: bool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The sender thread's state: the socket and the packets of one tick, built in buffers
/// allocated when the sink opened.
struct Sender {
    url: String,
    socket: RawSocket,
    width: usize,
    order: [u8; 3],
    repeat: usize,
    frames: Vec<(Box<[u8; MAX_FRAME]>, usize)>,
    batch: Batch,
    /// Rows were sent: the next frame first latches them.
    pending_latch: bool,
    /// Frames not sent since the last one that was (the link was down).
    outage: u64,
    log: ErrorLog,
    shared: Arc<Shared>,
}

impl Sender {
    fn run(mut self) {
        loop {
            let (front, level) = {
                let mut hand = lock(&self.shared.hand);
                loop {
                    if hand.fresh {
                        break;
                    }
                    if hand.stop {
                        drop(hand);
                        self.latch_last();
                        return;
                    }
                    hand = self
                        .shared
                        .wake
                        .wait(hand)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                let h = &mut *hand;
                std::mem::swap(&mut h.front, &mut h.middle);
                h.fresh = false;
                (h.front, h.level)
            };
            // Only the sender uses `front`.
            let shared = Arc::clone(&self.shared);
            let bytes = lock(&shared.slots[front]);
            self.encode(&bytes, level);
            drop(bytes);
            if !self.socket.link_up() {
                // The kernel would drop the packets silently: count and say so instead.
                self.failed(format_args!(
                    "no link (cable unplugged, or the card is off)"
                ));
                continue;
            }
            let first = if self.pending_latch { 0 } else { self.repeat };
            self.pending_latch = self.send(first..self.frames.len());
        }
    }

    /// This tick's packets: `repeat` display packets (they latch the previous tick's rows),
    /// `repeat` brightness packets, then the rows.
    fn encode(&mut self, bytes: &[u8], level: u8) {
        let repeat = self.repeat;
        for i in 0..repeat {
            let (buf, len) = &mut self.frames[i];
            *len = display_packet(&mut buf[..], level, [level; 3]);
            let (buf, len) = &mut self.frames[repeat + i];
            *len = brightness_packet(&mut buf[..], [level; 3]);
        }
        let row_len = self.width * 3;
        let mut k = 2 * repeat;
        for (row, pixels) in bytes.chunks_exact(row_len).enumerate() {
            for (part, chunk) in pixels.chunks(MAX_PIXELS * 3).enumerate() {
                if let Some((buf, len)) = self.frames.get_mut(k) {
                    let offset = (part * MAX_PIXELS) as u16;
                    *len = row_packet(&mut buf[..], row as u16, offset, chunk, self.order);
                }
                k += 1;
            }
        }
    }

    /// At stop: latch the last frame's rows (the display packets are already encoded).
    fn latch_last(&mut self) {
        if self.pending_latch {
            self.send(0..self.repeat);
            self.pending_latch = false;
        }
    }

    /// Send `range` of the tick's packets; count what did not go out. True when all went.
    /// A frame that did not go out whole is not latched: the next frame starts with rows,
    /// so the card never shows a stale or mixed frame after an outage.
    fn send(&mut self, range: std::ops::Range<usize>) -> bool {
        let want = range.len();
        let (sent, err) = self
            .socket
            .send_batch(&mut self.frames[range], &mut self.batch);
        self.shared
            .packets
            .fetch_add(sent as u64, Ordering::Relaxed);
        if sent == want {
            if self.outage > 0 {
                tracing::info!(
                    sink = %self.url,
                    "{}: sending again; {} frames were not sent while it failed",
                    self.url,
                    self.outage
                );
                self.outage = 0;
            }
            return true;
        }
        match err {
            Some(e) => self.failed(format_args!(
                "{} of {want} packets not sent: {e}",
                want - sent
            )),
            None => self.failed(format_args!(
                "{} of {want} packets not sent: the socket took part of the batch",
                want - sent
            )),
        }
        false
    }

    /// Count a frame that did not go out, log at a limited rate, and latch nothing of it.
    fn failed(&mut self, what: std::fmt::Arguments<'_>) {
        self.shared.errors.fetch_add(1, Ordering::Relaxed);
        self.outage += 1;
        self.pending_latch = false;
        self.log.record(&self.url, what);
    }
}

impl ColorlightSink {
    /// Open the sink for one port of `shape` whose region is `width` pixels wide, and start
    /// its sender thread.
    pub fn new(
        url: String,
        iface: &str,
        shape: PortShape,
        width: usize,
        options: Options,
    ) -> Result<ColorlightSink, SinkError> {
        let Options { order, dim, repeat } = options;
        // An interface that is not there yet (a USB NIC at boot) or is down (the network
        // not configured yet) is transient: the sink waits for it in the background. A
        // socket we may not open is a configuration error.
        if let Err(reason) = check_interface(iface) {
            return Err(SinkError::NoInterface {
                url,
                iface: iface.to_string(),
                reason,
            });
        }
        let socket = RawSocket::open(iface, false).map_err(|reason| SinkError::Config {
            url: url.clone(),
            reason,
        })?;
        if width == 0 || !shape.bytes.is_multiple_of(width * 3) {
            return Err(SinkError::Config {
                url,
                reason: format!(
                    "a port of {} bytes is not whole rows of {width} pixels",
                    shape.bytes
                ),
            });
        }
        let rows = shape.bytes / (width * 3);
        if rows > usize::from(u16::MAX) + 1 {
            return Err(SinkError::Config {
                url,
                reason: format!("{rows} rows: a card numbers at most 65536"),
            });
        }
        let repeat = usize::from(repeat.clamp(1, 2));
        let count = 2 * repeat + rows * packets_per_row(width);
        let shared = Arc::new(Shared {
            slots: std::array::from_fn(|_| Mutex::new(vec![0; shape.bytes])),
            hand: Mutex::new(Hand {
                back: 0,
                middle: 1,
                front: 2,
                fresh: false,
                level: 255,
                stop: false,
            }),
            wake: Condvar::new(),
            packets: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        });
        let sender = Sender {
            url: url.clone(),
            socket,
            width,
            order,
            repeat,
            frames: (0..count)
                .map(|_| (Box::new([0u8; MAX_FRAME]), 0))
                .collect(),
            batch: Batch::default(),
            pending_latch: false,
            outage: 0,
            log: ErrorLog::default(),
            shared: Arc::clone(&shared),
        };
        let thread = std::thread::Builder::new()
            .name(format!("colorlight {iface}"))
            .spawn(move || sender.run())
            .map_err(|e| SinkError::Config {
                url: url.clone(),
                reason: format!("cannot start the sender thread: {e}"),
            })?;
        Ok(ColorlightSink {
            url,
            shape: [shape],
            dim,
            level: 255,
            shared,
            sender: Some(thread),
            fresh: false,
            stats: SinkStats::default(),
            log: ErrorLog::default(),
        })
    }

    /// Frames the sender skipped because a newer one arrived before it took them.
    pub fn skipped(&self) -> u64 {
        self.shared.skipped.load(Ordering::Relaxed)
    }

    /// Stop the sender (after it sent what it holds and latched it) and wait for it.
    fn stop(&mut self) {
        lock(&self.shared.hand).stop = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.sender.take()
            && t.join().is_err()
        {
            tracing::error!(sink = %self.url, "the colorlight sender thread panicked");
        }
    }
}

impl Drop for ColorlightSink {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Sink for ColorlightSink {
    fn url(&self) -> &str {
        &self.url
    }

    fn send(&mut self, port: usize, bytes: &[u8], _tick: u64) {
        if !check_port(&self.shape, port, bytes, &self.url, &mut self.log) {
            return;
        }
        let back = lock(&self.shared.hand).back;
        // Only the output thread moves `back`.
        lock(&self.shared.slots[back]).copy_from_slice(bytes);
        self.stats.bytes += bytes.len() as u64;
        self.fresh = true;
    }

    fn set_level(&mut self, level: f32) {
        if self.dim == Dim::Card {
            self.level = level_byte(level);
        }
    }

    fn sync(&mut self, _tick: u64) {
        if !std::mem::take(&mut self.fresh) {
            return;
        }
        {
            let mut hand = lock(&self.shared.hand);
            let h = &mut *hand;
            std::mem::swap(&mut h.back, &mut h.middle);
            if h.fresh {
                self.shared.skipped.fetch_add(1, Ordering::Relaxed);
            }
            h.fresh = true;
            h.level = self.level;
        }
        self.shared.wake.notify_all();
        self.stats.frames += 1;
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        // The sender sends the frame it holds, then latches it, then ends.
        self.stop();
        Ok(())
    }

    fn stats(&self) -> SinkStats {
        SinkStats {
            packets: self.shared.packets.load(Ordering::Relaxed),
            errors: self.log.total() + self.shared.errors.load(Ordering::Relaxed),
            ..self.stats
        }
    }
}

/// A card that answered discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardInfo {
    /// The model byte (0x04 for a 5A).
    pub model: u8,
    /// Firmware version, major and minor.
    pub firmware: (u8, u8),
    /// The width and height the card is configured for.
    pub size: (u16, u16),
}

/// The discovery request (type 0x07, 270 zero bytes after the header's type and a zero).
pub fn detect_request() -> [u8; 14 + 270] {
    let mut f = [0u8; 14 + 270];
    header(&mut f, TYPE_DETECT);
    f
}

/// Parse a card's answer to discovery; `None` for any other frame.
pub fn parse_detect_answer(frame: &[u8]) -> Option<CardInfo> {
    if frame.len() < 38 || frame[6..12] != CARD_MAC || frame[12] != TYPE_DETECT_ANSWER {
        return None;
    }
    Some(CardInfo {
        model: frame[14],
        firmware: (frame[15], frame[16]),
        size: (
            u16::from_be_bytes([frame[34], frame[35]]),
            u16::from_be_bytes([frame[36], frame[37]]),
        ),
    })
}

/// Send the discovery request on `iface` and collect the answers for `wait`.
pub fn discover(iface: &str, wait: std::time::Duration) -> Result<Vec<CardInfo>, String> {
    let socket = RawSocket::open(iface, true)?;
    socket
        .send_one(&detect_request())
        .map_err(|e| format!("cannot send the discovery request on {iface}: {e}"))?;
    let deadline = std::time::Instant::now() + wait;
    let mut cards = Vec::new();
    let mut buf = [0u8; 2048];
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        match socket.recv(&mut buf, left) {
            Ok(n) => {
                if let Some(card) = parse_detect_answer(&buf[..n]) {
                    cards.push(card);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("receiving on {iface}: {e}")),
        }
    }
    Ok(cards)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_packets_carry_row_offset_count_and_reordered_pixels() {
        let mut buf = [0u8; MAX_FRAME];
        let pixels = [10, 20, 30, 40, 50, 60];
        let n = row_packet(&mut buf, 0x0102, 497, &pixels, [2, 1, 0]);
        assert_eq!(n, 21 + 6);
        assert_eq!(buf[..6], CARD_MAC);
        assert_eq!(buf[6..12], SENDER_MAC);
        assert_eq!(
            buf[12..27],
            [
                0x55, 0x01, 0x02, 0x01, 0xF1, 0x00, 0x02, 0x08, 0x88, 30, 20, 10, 60, 50, 40
            ]
        );
        // At most 497 pixels, whatever is given.
        let long = vec![7u8; 600 * 3];
        assert_eq!(row_packet(&mut buf, 0, 0, &long, [0, 1, 2]), MAX_FRAME);
        assert_eq!(buf[17..19], [0x01, 0xF1]);
        assert_eq!(MAX_FRAME, 1512);
    }

    #[test]
    fn brightness_and_display_packets_have_their_fixed_bytes() {
        let mut buf = [0xEEu8; MAX_FRAME];
        assert_eq!(brightness_packet(&mut buf, [1, 2, 3]), 13 + 64);
        assert_eq!(buf[12..17], [0x0A, 1, 2, 3, 0xFF]);
        assert!(buf[17..77].iter().all(|&b| b == 0));
        let mut buf = [0xEEu8; MAX_FRAME];
        assert_eq!(display_packet(&mut buf, 200, [4, 5, 6]), 13 + 99);
        assert_eq!(buf[12], 0x01);
        let d = &buf[13..13 + 99];
        assert_eq!((d[0], d[22], d[23], d[24]), (0x07, 200, 0x05, 0));
        assert_eq!(d[25..28], [4, 5, 6]);
        let zero = d
            .iter()
            .enumerate()
            .filter(|(i, _)| ![0, 22, 23, 25, 26, 27].contains(i));
        assert!(zero.into_iter().all(|(_, &b)| b == 0));
    }

    #[test]
    fn discovery_answers_parse_and_other_frames_do_not() {
        let mut f = [0u8; 64];
        f[..6].copy_from_slice(&SENDER_MAC);
        f[6..12].copy_from_slice(&CARD_MAC);
        f[12] = 0x08;
        f[13] = 0x05;
        f[14] = 0x04;
        f[15] = 13;
        f[16] = 7;
        f[34..38].copy_from_slice(&[0x01, 0x00, 0x00, 0x40]);
        assert_eq!(
            parse_detect_answer(&f),
            Some(CardInfo {
                model: 4,
                firmware: (13, 7),
                size: (256, 64)
            })
        );
        f[12] = 0x55;
        assert_eq!(parse_detect_answer(&f), None);
        assert_eq!(parse_detect_answer(&f[..20]), None);
        let r = detect_request();
        assert_eq!((r.len(), r[12]), (284, 0x07));
        assert!(r[13..].iter().all(|&b| b == 0));
    }

    #[test]
    fn levels_become_brightness_bytes() {
        assert_eq!(
            [0.0, 0.5, 1.0, 2.0, -1.0].map(level_byte),
            [0, 128, 255, 255, 0]
        );
    }

    #[test]
    fn a_missing_interface_is_named() {
        let e = RawSocket::open("nosuch9", false).err().unwrap_or_default();
        assert!(e.contains("nosuch9") && e.contains("does not exist"), "{e}");
    }
}
