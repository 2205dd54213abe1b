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
