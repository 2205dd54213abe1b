//! FPP MultiSync on real sockets (design §10): a ledwall master sending to a ledwall remote
//! over 127.0.0.1 unicast, and over multicast 239.70.80.80 across a veth pair between two
//! network namespaces made here (root only; CI is root). The sockets are made in threads
//! that entered a namespace (setns); a socket stays in the namespace it was made in.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledwall_player::multisync::{
    Action, Destination, FileType, Follower, Latest, Local, Master, MasterConfig, Remote,
    RemoteConfig, Step, encode_sync,
};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// Silence after which the remotes of these tests lose their master.
const LOST: Duration = Duration::from_millis(400);

/// Wait until the remote has published `count` sync packets in all; the latest packets.
fn wait_for(remote: &Remote, count: u64) -> Latest {
    let t = Instant::now();
    let mut latest = Latest::default();
    loop {
        let s = remote.stats();
        if s.starts + s.stops + s.syncs + s.opens >= count && remote.latest_into(&mut latest) {
            return latest;
        }
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "the remote saw {s:?}, not {count} sync packets"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Play `name` frames `frames` on `master` (30 Hz positions) and check after every packet
/// that the remote published exactly what was sent; the number of packets sent in all.
fn play_and_check(
    master: &mut Master,
    remote: &Remote,
    name: &str,
    frames: std::ops::Range<u32>,
    mut sent: u64,
) -> u64 {
    let per_packet = master.destinations().len() as u64;
    for frame in frames {
        let before = master.stats().packets;
        let seconds = frame as f32 / 30.0;
        master.show(name, frame, seconds);
        let now = master.stats().packets;
        if now == before {
            continue;
        }
        sent += (now - before) / per_packet;
        let latest = wait_for(remote, sent);
        let m = &latest.media;
        assert_eq!(
            (m.name.as_str(), m.action, m.frame, m.seconds),
            (name, Action::Sync, frame, seconds),
            "frame {frame}"
        );
        assert_eq!(
            latest.sequence.seq, 0,
            "a ledwall master sends media packets only"
        );
    }
    sent
}

/// The common course of both tests: two items, their syncs on schedule, stop, silence.
fn master_drives_remote(master: &mut Master, remote: &Remote, from: std::net::IpAddr) {
    let mut sent = play_and_check(master, remote, "media/clip.mp4", 0..100, 0);
    let s = remote.stats();
    // 0, 4, … 32 (9), 42 … 92 (6), one start.
    assert_eq!((s.starts, s.syncs, s.stops), (1, 15, 0), "{s:?}");
    assert!(s.master_present);
    // The next items (one shown for a single frame): a stop for the one before, a start
    // and syncs for the new one.
    sent = play_and_check(master, remote, "still.png", 0..1, sent);
    sent = play_and_check(master, remote, "b.png", 0..5, sent);
    let s = remote.stats();
    assert_eq!((s.starts, s.syncs, s.stops), (3, 18, 2), "{s:?}");
    master.end();
    let latest = wait_for(remote, sent + 1);
    assert_eq!(
        (latest.media.action, latest.media.name.as_str()),
        (Action::Stop, "b.png")
    );
    assert_eq!(latest.media.from.map(|a| a.ip()), Some(from));
    assert_eq!(remote.stats().bad, 0);
    assert_eq!(master.stats().errors, 0);
    // A follower on the remote's view: in step now, lost after the master's silence.
    let mut follower = Follower::new(LOST);
    let local = Local {
        source: Some("b.png"),
        frame: 5,
        refresh_hz: 30.0,
    };
    assert_eq!(
        follower
            .decide(Instant::now(), &latest, &local, |_| true)
            .step,
        Step::None
    );
    std::thread::sleep(LOST + Duration::from_millis(300));
    assert!(
        !remote.stats().master_present,
        "the listener still sees a master"
    );
    let mut later = Latest::default();
    assert!(remote.latest_into(&mut later));
    assert_eq!(
        follower
            .decide(Instant::now(), &later, &local, |_| true)
            .step,
        Step::MasterLost
    );
}

#[test]
fn unicast_master_drives_a_remote_on_localhost() {
    let remote = Remote::start(&RemoteConfig {
        port: 0,
        group: None,
        iface: None,
        lost_after: LOST,
        masters: Vec::new(),
    })
    .unwrap();
    let port = remote.local_addr().port();
    let config = MasterConfig::unicast([format!("127.0.0.1:{port}").as_str()], 1).unwrap();
    let mut master = Master::new(&config).unwrap();
    master_drives_remote(&mut master, &remote, [127, 0, 0, 1].into());
}

#[test]
fn a_remote_counts_and_survives_bad_packets() {
    let remote = Remote::start(&RemoteConfig {
        port: 0,
        group: None,
        iface: None,
        lost_after: LOST,
        masters: Vec::new(),
    })
    .unwrap();
    let to: SocketAddr = ([127, 0, 0, 1], remote.local_addr().port()).into();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    // Garbage, a truncated sync, a length that disagrees, an FPP ping (type 4), a blank.
    let mut good = [0u8; 64];
    let n = encode_sync(Action::Sync, FileType::Media, 7, 0.5, "x.mp4", &mut good).unwrap();
    let mut ping = vec![0u8; 7 + 294];
    ping[..7].copy_from_slice(b"FPPD\x04\x26\x01");
    for p in [
        &b"hello"[..],
        &good[..10],
        &good[..n - 1],
        &[0xFF; 2048][..],
        &ping,
        b"FPPD\x03\x00\x00",
    ] {
        sock.send_to(p, to).unwrap();
    }
    sock.send_to(&good[..n], to).unwrap();
    let latest = wait_for(&remote, 1);
    assert_eq!(
        (latest.media.frame, latest.media.name.as_str()),
        (7, "x.mp4")
    );
    let s = remote.stats();
    assert_eq!((s.packets, s.bad, s.other, s.syncs), (7, 4, 2, 1), "{s:?}");
}

#[test]
fn a_master_never_blocks_and_counts_what_it_cannot_send() {
    // A port nobody listens on, port 0 (every send fails: EINVAL), and a name too long for
    // a packet: counted, never a panic or a wait.
    let config = MasterConfig {
        destination: Destination::Unicast(vec![
            ([127, 0, 0, 1], 9).into(),
            ([127, 0, 0, 1], 0).into(),
        ]),
        port: 9,
    };
    let mut master = Master::new(&config).unwrap();
    let t = Instant::now();
    for frame in 0..2000 {
        master.show("a.mp4", frame, frame as f32 / 30.0);
    }
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let s = master.stats();
    assert_eq!((s.packets, s.errors), (1 + 9 + 196, 1 + 9 + 196), "{s:?}");
    let long = "x".repeat(3000);
    master.show(&long, 0, 0.0);
    let s2 = master.stats();
    // A stop for a.mp4 went out; the long name's start and sync were refused.
    assert_eq!(s2.refused, 2, "{s2:?}");
    assert_eq!((s2.packets, s2.errors), (s.packets + 1, s.errors + 1));
    assert!(
        MasterConfig::unicast(["no-such-host.invalid"], 32320).is_err(),
        "an unresolvable host is an error"
    );
}

// ----- multicast across two network namespaces -----

#[path = "common/netns.rs"]
mod netns;
use netns::{Pair, in_netns};

#[test]
fn multicast_master_drives_a_remote_in_another_namespace() {
    let Some(pair) = Pair::new(true) else { return };
    // The link needs a moment before multicast flows.
    std::thread::sleep(Duration::from_millis(300));
    let (a, b) = (pair.addr_a.to_string(), pair.addr_b.to_string());
    for (remote_iface, master_iface) in [
        (Some(pair.dev_b.as_str()), Some(pair.dev_a.as_str())),
        (None, Some(a.as_str())),
        (Some(b.as_str()), None),
    ] {
        let remote = in_netns(&pair.b, || {
            Remote::start(&RemoteConfig {
                port: ledwall_player::multisync::PORT,
                iface: remote_iface.map(str::to_string),
                lost_after: LOST,
                ..RemoteConfig::default()
            })
            .unwrap()
        });
        assert!(
            remote.joined().iter().any(|j| *j == pair.dev_b || *j == b),
            "{:?}",
            remote.joined()
        );
        let mut master = in_netns(&pair.a, || {
            Master::new(&MasterConfig {
                destination: Destination::Multicast {
                    iface: master_iface.map(str::to_string),
                    ttl: 1,
                },
                ..MasterConfig::default()
            })
            .unwrap()
        });
        assert_eq!(
            master.destinations(),
            [SocketAddr::from(([239, 70, 80, 80], 32320))]
        );
        master_drives_remote(&mut master, &remote, pair.addr_a.into());
        println!("remote iface {remote_iface:?}, master iface {master_iface:?}: followed");
    }
    // An interface that is not there is an error that names it.
    let err = in_netns(&pair.a, || {
        Master::new(&MasterConfig {
            destination: Destination::Multicast {
                iface: Some("nosuch0".into()),
                ttl: 1,
            },
            ..MasterConfig::default()
        })
        .unwrap_err()
    });
    assert!(err.to_string().contains("nosuch0"), "{err}");
}
