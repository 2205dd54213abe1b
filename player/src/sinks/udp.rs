//! The UDP side shared by the network sinks: resolving the destination once, a socket that
//! may broadcast, and sending a datagram with the error counted instead of returned.

use super::{ErrorLog, SinkError, SinkStats};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::Duration;

/// Longest a send may wait for socket buffer space: the output thread must not stall on a
/// slow link, and a datagram that cannot go out in this time is counted as an error.
pub(crate) const SEND_TIMEOUT: Duration = Duration::from_millis(20);

/// Resolve `host:port` once (the first address the resolver gives).
pub(crate) fn resolve(url: &str, host: &str, port: u16) -> Result<SocketAddr, SinkError> {
    let err = |source| SinkError::Resolve {
        url: url.to_string(),
        host: host.to_string(),
        source,
    };
    (host, port)
        .to_socket_addrs()
        .map_err(err)?
        .next()
        .ok_or_else(|| {
            err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no address",
            ))
        })
}

/// A socket on an ephemeral port of the destination's address family. IPv4 sockets may
/// broadcast (SO_BROADCAST), so a broadcast destination (Art-Net's default, or a subnet's
/// broadcast address given as the host) works; for unicast the flag changes nothing.
pub(crate) fn socket(url: &str, dest: SocketAddr) -> Result<UdpSocket, SinkError> {
    let err = |source| SinkError::Socket {
        url: url.to_string(),
        source,
    };
    let local: SocketAddr = match dest {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).map_err(err)?;
    if dest.is_ipv4() {
        socket.set_broadcast(true).map_err(err)?;
    }
    socket.set_write_timeout(Some(SEND_TIMEOUT)).map_err(err)?;
    Ok(socket)
}

/// Send one datagram; count it, or count and log the error.
pub(crate) fn send(
    socket: &UdpSocket,
    packet: &[u8],
    dest: SocketAddr,
    url: &str,
    stats: &mut SinkStats,
    log: &mut ErrorLog,
) {
    match socket.send_to(packet, dest) {
        Ok(n) if n == packet.len() => stats.packets += 1,
        Ok(n) => {
            log.record(
                url,
                format_args!("sent {n} of {} bytes to {dest}", packet.len()),
            );
            stats.errors = log.total();
        }
        Err(e) => {
            log.record(url, format_args!("cannot send to {dest}: {e}"));
            stats.errors = log.total();
        }
    }
}

/// Make multicast from `socket` leave by `iface` (IP_MULTICAST_IF): an interface name (by
/// its index) or one of the machine's IPv4 addresses. An interface or address that is not
/// there is [`SinkError::NoInterface`] (transient: a USB NIC or a DHCP address may come
/// later).
pub(crate) fn multicast_interface(
    url: &str,
    socket: &UdpSocket,
    iface: &str,
) -> Result<(), SinkError> {
    use std::os::fd::AsRawFd;
    let missing = |what: String| SinkError::NoInterface {
        url: url.to_string(),
        iface: iface.to_string(),
        reason: what,
    };
    // SAFETY: ip_mreqn is plain data; zeroed is a valid value (any address, any interface).
    let mut req: libc::ip_mreqn = unsafe { std::mem::zeroed() };
    match iface.parse::<Ipv4Addr>() {
        Ok(addr) => req.imr_address.s_addr = u32::from(addr).to_be(),
        Err(_) => {
            let name = std::ffi::CString::new(iface).map_err(|_| SinkError::Config {
                url: url.to_string(),
                reason: format!("iface {iface:?} is not an interface name"),
            })?;
            // SAFETY: a valid C string.
            let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
            if index == 0 {
                return Err(missing(format!(
                    "network interface {iface} (iface=) does not exist"
                )));
            }
            req.imr_ifindex = index as libc::c_int;
        }
    }
    // SAFETY: setsockopt on our socket with a valid ip_mreqn of the size given.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            (&raw const req).cast(),
            std::mem::size_of::<libc::ip_mreqn>() as libc::socklen_t,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EADDRNOTAVAIL | libc::ENODEV) => Err(missing(format!(
            "no network interface has {iface} (iface=): {e}"
        ))),
        _ => Err(SinkError::Socket {
            url: url.to_string(),
            source: e,
        }),
    }
}
