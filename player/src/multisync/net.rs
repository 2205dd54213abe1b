//! The sockets: a [`Master`] that sends the item on screen, and a [`Remote`] that listens
//! and publishes the master's latest word to the engine.

use super::follow::{LOST_AFTER, Latest};
use super::packet::{self, Action, FileType, MAX_PACKET, Packet};
use super::schedule::MasterSchedule;
use super::{MULTICAST_GROUP, PORT};
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Why a MultiSync socket could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MultisyncError {
    /// A socket call failed.
    #[error("multisync: cannot {what}: {source}")]
    Socket {
        /// What was being done.
        what: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The interface named for multicast is not there.
    #[error("multisync: interface {iface}: {reason}")]
    Interface {
        /// The interface name or address as given.
        iface: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A unicast host does not resolve.
    #[error("multisync: host {host:?}: {reason}")]
    Host {
        /// The host as given.
        host: String,
        /// Why it does not resolve.
        reason: String,
    },
}

fn socket_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> MultisyncError {
    let what = what.into();
    move |source| MultisyncError::Socket { what, source }
}

/// Where a master's packets go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// The MultiSync group 239.70.80.80 on `port`.
    Multicast {
        /// The interface multicast leaves by (a name or one of its IPv4 addresses);
        /// `None`: the kernel's choice (the route to 224.0.0.0/4 or the default route).
        iface: Option<String>,
        /// Hops the packets may take (1: this subnet only, FPP's default).
        ttl: u32,
    },
    /// Each of these addresses (FPP remotes listen on 32320).
    Unicast(Vec<SocketAddr>),
}

/// A master's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterConfig {
    /// Where packets go.
    pub destination: Destination,
    /// The UDP port of multicast (unicast addresses carry their own).
    pub port: u16,
}

impl Default for MasterConfig {
    fn default() -> Self {
        MasterConfig {
            destination: Destination::Multicast {
                iface: None,
                ttl: 1,
            },
            port: PORT,
        }
    }
}

impl MasterConfig {
    /// Unicast to `hosts` (`HOST` or `HOST:PORT`; the port defaults to `port`), resolved
    /// now, to their first IPv4 address.
    pub fn unicast<'h>(
        hosts: impl IntoIterator<Item = &'h str>,
        port: u16,
    ) -> Result<MasterConfig, MultisyncError> {
        let mut addrs = Vec::new();
        for host in hosts {
            let err = |reason: String| MultisyncError::Host {
                host: host.to_string(),
                reason,
            };
            let found = match host.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => {
                    let p = p
                        .parse::<u16>()
                        .map_err(|_| err(format!("port {p:?} is not a number 1 … 65535")))?;
                    (h, p).to_socket_addrs()
                }
                _ => (host, port).to_socket_addrs(),
            }
            .map_err(|e| err(e.to_string()))?
            .find(SocketAddr::is_ipv4)
            .ok_or_else(|| err("no IPv4 address".into()))?;
            addrs.push(found);
        }
        Ok(MasterConfig {
            destination: Destination::Unicast(addrs),
            port,
        })
    }
}

/// What a master has sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MasterStats {
    /// Datagrams sent (one per destination).
    pub packets: u64,
    /// Sends that failed (socket buffer full, unreachable network …).
    pub errors: u64,
    /// Packets not sent because the name does not fit a packet.
    pub refused: u64,
}

/// Sends start, sync and stop for the item on screen (design §10). Call [`Master::show`]
/// at every tick; sending never blocks (a full socket buffer is a counted error) and
/// allocates nothing after the first items.
#[derive(Debug)]
pub struct Master {
    socket: UdpSocket,
    destinations: Vec<SocketAddr>,
    buf: Box<[u8; MAX_PACKET]>,
    schedule: MasterSchedule,
    current: String,
    last_frame: u32,
    stats: MasterStats,
}

impl Master {
    /// Open the socket.
    pub fn new(config: &MasterConfig) -> Result<Master, MultisyncError> {
        let socket =
            UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).map_err(socket_err("bind a UDP socket"))?;
        socket
            .set_nonblocking(true)
            .map_err(socket_err("make the socket non-blocking"))?;
        let destinations = match &config.destination {
            Destination::Multicast { iface, ttl } => {
                socket
                    .set_multicast_ttl_v4(*ttl)
                    .map_err(socket_err(format!("set the multicast TTL to {ttl}")))?;
                if let Some(iface) = iface {
                    interface_option(&socket, libc::IP_MULTICAST_IF, None, iface)?;
                }
                vec![SocketAddr::V4(SocketAddrV4::new(
                    MULTICAST_GROUP,
                    config.port,
                ))]
            }
            Destination::Unicast(addrs) => {
                socket
                    .set_broadcast(true)
                    .map_err(socket_err("allow broadcast"))?;
                addrs.clone()
            }
        };
        Ok(Master {
            socket,
            destinations,
            buf: Box::new([0; MAX_PACKET]),
            schedule: MasterSchedule::new(),
            current: String::with_capacity(256),
            last_frame: 0,
            stats: MasterStats::default(),
        })
    }

    /// Frame `frame` of the item whose source is `name` is on screen, `seconds` into it.
    /// Another name than before, or an earlier frame (the item started again), ends the
    /// previous item (a stop) and starts this one.
    pub fn show(&mut self, name: &str, frame: u32, seconds: f32) {
        if self.schedule.started() && (name != self.current || frame < self.last_frame) {
            self.end();
        }
        if !self.schedule.started() {
            self.current.clear();
            self.current.push_str(name);
        }
        self.last_frame = frame;
        let due = self.schedule.frame(frame);
        if due.start {
            self.send(Action::Start, frame, seconds);
        }
        if due.sync {
            self.send(Action::Sync, frame, seconds);
        }
    }

    /// The item on screen ended (or playback stopped): a stop, if it was started.
    pub fn end(&mut self) {
        if self.schedule.end() {
            self.send(Action::Stop, self.last_frame, 0.0);
        }
    }

    /// What was sent so far.
    pub fn stats(&self) -> MasterStats {
        self.stats
    }

    /// Where packets go.
    pub fn destinations(&self) -> &[SocketAddr] {
        &self.destinations
    }

    fn send(&mut self, action: Action, frame: u32, seconds: f32) {
        let n = match packet::encode_sync(
            action,
            FileType::Media,
            frame,
            seconds,
            &self.current,
            &mut self.buf[..],
        ) {
            Ok(n) => n,
            Err(e) => {
                if self.stats.refused == 0 || action == Action::Start {
                    tracing::warn!(item = %self.current, "multisync: not sent: {e}");
                }
                self.stats.refused += 1;
                return;
            }
        };
        for dest in &self.destinations {
            match self.socket.send_to(&self.buf[..n], dest) {
                Ok(_) => self.stats.packets += 1,
                Err(e) => {
                    if self.stats.errors.is_multiple_of(1000) {
                        let count = self.stats.errors + 1;
                        tracing::warn!("multisync: cannot send to {dest}: {e} ({count} errors)");
                    }
                    self.stats.errors += 1;
                }
            }
        }
    }
}

/// A remote's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteConfig {
    /// The UDP port to listen on (0: any free port, for tests).
    pub port: u16,
    /// The multicast group to join; `None`: unicast only.
    pub group: Option<Ipv4Addr>,
    /// The interface to join the group on (a name or one of its IPv4 addresses); `None`:
    /// every interface that is up, can multicast and has an IPv4 address, as FPP does.
    pub iface: Option<String>,
    /// Silence after which the master is logged as gone.
    pub lost_after: Duration,
    /// Follow only packets whose source address is one of these; empty: any sender.
    /// Packets from other senders are dropped unread and counted
    /// ([`RemoteStats::ignored_sender`]).
    pub masters: Vec<Ipv4Addr>,
}

impl Default for RemoteConfig {
    fn default() -> Self {
        RemoteConfig {
            port: PORT,
            group: Some(MULTICAST_GROUP),
            iface: None,
            lost_after: LOST_AFTER,
            masters: Vec::new(),
        }
    }
}

/// The IPv4 addresses of `hosts` (IPv4 addresses or names, no port), resolved now: every
/// IPv4 address a name has, for [`RemoteConfig::masters`].
pub fn resolve_masters<'h>(
    hosts: impl IntoIterator<Item = &'h str>,
) -> Result<Vec<Ipv4Addr>, MultisyncError> {
    let mut out = Vec::new();
    for host in hosts {
        let err = |reason: String| MultisyncError::Host {
            host: host.to_string(),
            reason,
        };
        let mut found = false;
        for addr in (host, 0)
            .to_socket_addrs()
            .map_err(|e| err(e.to_string()))?
        {
            if let SocketAddr::V4(v4) = addr {
                found = true;
                if !out.contains(v4.ip()) {
                    out.push(*v4.ip());
                }
            }
        }
        if !found {
            return Err(err("no IPv4 address".into()));
        }
    }
    Ok(out)
}

/// What a remote has received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RemoteStats {
    /// Datagrams received.
    pub packets: u64,
    /// Sync packets by action: start, stop, sync, open.
    pub starts: u64,
    /// Stop packets.
    pub stops: u64,
    /// Sync packets.
    pub syncs: u64,
    /// Open packets.
    pub opens: u64,
    /// Well-formed packets of other types (FPP's pings, commands …), ignored.
    pub other: u64,
    /// Datagrams that are not valid MultiSync packets.
    pub bad: u64,
    /// Receive errors of the socket.
    pub errors: u64,
    /// Datagrams from a sender that is not one of [`RemoteConfig::masters`], dropped unread
    /// (not counted in `packets`).
    pub ignored_sender: u64,
    /// Whether a master has been heard within `lost_after`.
    pub master_present: bool,
}

#[derive(Default)]
struct Counters {
    packets: AtomicU64,
    by_action: [AtomicU64; 4],
    other: AtomicU64,
    bad: AtomicU64,
    errors: AtomicU64,
    ignored_sender: AtomicU64,
    present: AtomicBool,
}

struct Shared {
    latest: Mutex<Latest>,
    counters: Counters,
    stop: AtomicBool,
}

/// Listens for a master on a UDP port (unicast and the multicast group) in a thread of its
/// own, and publishes the master's latest packet of each file type for the engine's tick
/// to read with [`Remote::latest_into`], which never waits.
pub struct Remote {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    local: SocketAddr,
    joined: Vec<String>,
}

/// How often the listener looks at the stop flag and the master's silence.
const POLL: Duration = Duration::from_millis(100);

impl Remote {
    /// Bind, join the group and start listening.
    pub fn start(config: &RemoteConfig) -> Result<Remote, MultisyncError> {
        let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, config.port))
            .map_err(socket_err(format!("listen on UDP port {}", config.port)))?;
        socket
            .set_read_timeout(Some(POLL))
            .map_err(socket_err("set a receive timeout"))?;
        let local = socket
            .local_addr()
            .map_err(socket_err("read the socket's address"))?;
        let joined = match config.group {
            None => Vec::new(),
            Some(group) => join(&socket, group, config.iface.as_deref())?,
        };
        let shared = Arc::new(Shared {
            latest: Mutex::new(Latest::default()),
            counters: Counters::default(),
            stop: AtomicBool::new(false),
        });
        let lost_after = config.lost_after;
        let masters = config.masters.clone();
        let thread = std::thread::Builder::new()
            .name("multisync-rx".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || listen(&socket, &shared, lost_after, &masters)
            })
            .map_err(socket_err("start the listener thread"))?;
        Ok(Remote {
            shared,
            thread: Some(thread),
            local,
            joined,
        })
    }

    /// Copy the master's latest packets into `out` (reusing its memory) unless the listener
    /// is writing this very moment; whether `out` was updated. Never blocks.
    pub fn latest_into(&self, out: &mut Latest) -> bool {
        match self.shared.latest.try_lock() {
            Ok(latest) => {
                out.set_from(&latest);
                true
            }
            Err(TryLockError::Poisoned(p)) => {
                out.set_from(&p.into_inner());
                true
            }
            Err(TryLockError::WouldBlock) => false,
        }
    }

    /// What has been received.
    pub fn stats(&self) -> RemoteStats {
        let c = &self.shared.counters;
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RemoteStats {
            packets: n(&c.packets),
            starts: n(&c.by_action[0]),
            stops: n(&c.by_action[1]),
            syncs: n(&c.by_action[2]),
            opens: n(&c.by_action[3]),
            other: n(&c.other),
            bad: n(&c.bad),
            errors: n(&c.errors),
            ignored_sender: n(&c.ignored_sender),
            master_present: c.present.load(Ordering::Relaxed),
        }
    }

    /// The address listened on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The interfaces the multicast group was joined on.
    pub fn joined(&self) -> &[String] {
        &self.joined
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("local", &self.local)
            .field("joined", &self.joined)
            .field("stats", &self.stats())
            .finish()
    }
}

/// Whether a datagram from `from` is to be read: any sender when `masters` is empty, else
/// only those addresses.
fn accepted(from: SocketAddr, masters: &[Ipv4Addr]) -> bool {
    masters.is_empty() || matches!(from, SocketAddr::V4(a) if masters.contains(a.ip()))
}

/// The listener thread: receive, decode, publish; log a master appearing and going silent.
/// Datagrams from senders other than `masters` (when given) are counted and dropped.
fn listen(socket: &UdpSocket, shared: &Shared, lost_after: Duration, masters: &[Ipv4Addr]) {
    let mut buf = [0u8; MAX_PACKET];
    let c = &shared.counters;
    let mut seq = 0u64;
    let mut last_heard: Option<(Instant, SocketAddr)> = None;
    while !shared.stop.load(Ordering::Relaxed) {
        match socket.recv_from(&mut buf) {
            Ok((_, from)) if !accepted(from, masters) => {
                let ignored = c.ignored_sender.fetch_add(1, Ordering::Relaxed);
                if ignored.is_multiple_of(1000) {
                    tracing::warn!(
                        "multisync: ignored a packet from {from}: not one of the listed masters \
                         ({} ignored)",
                        ignored + 1
                    );
                }
            }
            Ok((n, from)) => {
                c.packets.fetch_add(1, Ordering::Relaxed);
                match packet::decode(&buf[..n]) {
                    Ok(Packet::Sync(p)) => {
                        let now = Instant::now();
                        seq += 1;
                        c.by_action[usize::from(p.action.code())].fetch_add(1, Ordering::Relaxed);
                        {
                            let mut latest = match shared.latest.lock() {
                                Ok(l) => l,
                                Err(poisoned) => poisoned.into_inner(),
                            };
                            let slot = latest.slot_mut(p.file_type);
                            slot.seq = seq;
                            slot.action = p.action;
                            slot.frame = p.frame;
                            slot.seconds = p.seconds;
                            slot.name.clear();
                            slot.name.push_str(p.name);
                            slot.received = now;
                            slot.from = Some(from);
                        }
                        match last_heard {
                            Some((_, was)) if was == from => {}
                            Some((_, was)) => tracing::info!(
                                "multisync: master is now {from} (was {was}), playing {}",
                                p.name
                            ),
                            None => tracing::info!(
                                "multisync: master {from} appeared, playing {}",
                                p.name
                            ),
                        }
                        last_heard = Some((now, from));
                        c.present.store(true, Ordering::Relaxed);
                    }
                    Ok(Packet::Other { .. }) => {
                        c.other.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        let bad = c.bad.fetch_add(1, Ordering::Relaxed);
                        if bad.is_multiple_of(1000) {
                            tracing::warn!(
                                "multisync: ignored a packet from {from}: {e} ({} bad packets)",
                                bad + 1
                            );
                        }
                    }
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => {
                let errors = c.errors.fetch_add(1, Ordering::Relaxed);
                if errors.is_multiple_of(1000) {
                    tracing::warn!("multisync: receive error: {e} ({} errors)", errors + 1);
                }
                std::thread::sleep(POLL);
            }
        }
        if let Some((at, from)) = last_heard
            && at.elapsed() > lost_after
        {
            tracing::warn!(
                "multisync: master {from} silent for {:.1} s: lost; playing on by the own clock",
                at.elapsed().as_secs_f64()
            );
            last_heard = None;
            c.present.store(false, Ordering::Relaxed);
        }
    }
}

/// Join `group` on `iface`, or on every suitable interface; the interfaces joined.
fn join(
    socket: &UdpSocket,
    group: Ipv4Addr,
    iface: Option<&str>,
) -> Result<Vec<String>, MultisyncError> {
    if let Some(iface) = iface {
        interface_option(socket, libc::IP_ADD_MEMBERSHIP, Some(group), iface)?;
        return Ok(vec![iface.to_string()]);
    }
    let mut joined = Vec::new();
    for name in multicast_interfaces() {
        match interface_option(socket, libc::IP_ADD_MEMBERSHIP, Some(group), &name) {
            Ok(()) => joined.push(name),
            Err(e) => tracing::warn!("{e}"),
        }
    }
    if joined.is_empty() {
        tracing::warn!("multisync: no interface to join {group} on; listening for unicast only");
    }
    Ok(joined)
}

/// The names of the interfaces that are up, can multicast and have an IPv4 address.
fn multicast_interfaces() -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a list we free below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return names;
    }
    let mut at = list;
    while !at.is_null() {
        // SAFETY: a node of the list getifaddrs returned, not yet freed.
        let ifa = unsafe { &*at };
        at = ifa.ifa_next;
        let flags = ifa.ifa_flags;
        let wanted = (libc::IFF_UP | libc::IFF_MULTICAST) as libc::c_uint;
        // SAFETY: ifa_addr is null or points to a sockaddr of its family.
        let ipv4 = !ifa.ifa_addr.is_null()
            && i32::from(unsafe { (*ifa.ifa_addr).sa_family }) == libc::AF_INET;
        if flags & wanted != wanted || !ipv4 || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) }.to_string_lossy();
        if !names.iter().any(|n| *n == name) {
            names.push(name.into_owned());
        }
    }
    // SAFETY: the list getifaddrs returned, freed once.
    unsafe { libc::freeifaddrs(list) };
    names
}

/// Set IP_MULTICAST_IF (no group) or IP_ADD_MEMBERSHIP (of `group`) for `iface`: an
/// interface name (by its index) or one of the machine's IPv4 addresses.
fn interface_option(
    socket: &UdpSocket,
    option: libc::c_int,
    group: Option<Ipv4Addr>,
    iface: &str,
) -> Result<(), MultisyncError> {
    use std::os::fd::AsRawFd;
    let bad = |reason: String| MultisyncError::Interface {
        iface: iface.to_string(),
        reason,
    };
    // SAFETY: ip_mreqn is plain data; zeroed is a valid value (any address, any interface).
    let mut req: libc::ip_mreqn = unsafe { std::mem::zeroed() };
    if let Some(group) = group {
        req.imr_multiaddr.s_addr = u32::from(group).to_be();
    }
    match iface.parse::<Ipv4Addr>() {
        Ok(addr) => req.imr_address.s_addr = u32::from(addr).to_be(),
        Err(_) => {
            let name = std::ffi::CString::new(iface)
                .map_err(|_| bad("not an interface name (contains NUL)".into()))?;
            // SAFETY: a valid C string.
            let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
            if index == 0 {
                return Err(bad("no such network interface".into()));
            }
            req.imr_ifindex = index as libc::c_int;
        }
    }
    // SAFETY: setsockopt on our socket with a valid ip_mreqn of the size given.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            option,
            (&raw const req).cast(),
            std::mem::size_of::<libc::ip_mreqn>() as libc::socklen_t,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    let what = match group {
        Some(g) => format!("cannot join {g}"),
        None => "cannot send multicast by it".into(),
    };
    Err(bad(format!("{what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_listed_masters_are_accepted() {
        let from = |ip: [u8; 4], port| SocketAddr::from((ip, port));
        assert!(accepted(from([10, 0, 0, 9], 1), &[]));
        let listed = [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)];
        assert!(accepted(from([10, 0, 0, 2], 40000), &listed));
        assert!(!accepted(from([10, 0, 0, 3], 32320), &listed));
        assert!(!accepted(SocketAddr::from(([0u16; 8], 32320)), &listed));
    }

    #[test]
    fn masters_resolve_to_their_ipv4_addresses() {
        assert_eq!(
            resolve_masters(["10.0.0.1", "localhost", "10.0.0.1"]).unwrap(),
            [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::LOCALHOST]
        );
        let e = resolve_masters(["10.0.0.1", "no-such-host.invalid"]).unwrap_err();
        assert!(e.to_string().contains("no-such-host.invalid"), "{e}");
    }

    /// Real sockets on loopback: the remote follows 127.0.0.1 only; a sender on 127.0.0.2
    /// is counted and never published.
    #[test]
    fn a_remote_drops_and_counts_unlisted_senders() {
        let remote = Remote::start(&RemoteConfig {
            port: 0,
            group: None,
            masters: vec![Ipv4Addr::LOCALHOST],
            ..RemoteConfig::default()
        })
        .unwrap();
        let to = SocketAddr::from(([127, 0, 0, 1], remote.local_addr().port()));
        let mut buf = [0u8; MAX_PACKET];
        let n =
            packet::encode_sync(Action::Start, FileType::Media, 0, 0.0, "a.mp4", &mut buf).unwrap();
        let stranger = UdpSocket::bind("127.0.0.2:0").unwrap();
        for _ in 0..3 {
            stranger.send_to(&buf[..n], to).unwrap();
        }
        let start = Instant::now();
        while remote.stats().ignored_sender < 3 {
            assert!(start.elapsed() < Duration::from_secs(5), "{remote:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
        let s = remote.stats();
        assert_eq!((s.packets, s.starts, s.master_present), (0, 0, false));
        let mut latest = Latest::default();
        assert!(remote.latest_into(&mut latest));
        assert!(latest.newest().is_none(), "{latest:?}");
        let master = UdpSocket::bind("127.0.0.1:0").unwrap();
        master.send_to(&buf[..n], to).unwrap();
        while remote.stats().starts < 1 {
            assert!(start.elapsed() < Duration::from_secs(5), "{remote:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
        let s = remote.stats();
        assert_eq!((s.packets, s.ignored_sender), (1, 3));
        assert!(s.master_present);
    }
}
