//! Two network namespaces joined by a veth pair, made for one test and removed when dropped,
//! and a way to run code inside one of them. Needs root (CI runs the tests as root): without
//! it the test is skipped loudly, and fails under `CI`. Included with
//! `#[path = "common/netns.rs"] mod netns;`.
//!
//! A thread enters a namespace with `setns`, which changes that thread only: sockets it makes
//! and processes it starts stay in that namespace, so one test can drive both sides.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Run `ip` with `args`; fail the test when it fails.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Namespaces `a` and `b`, with veth ends `dev_a` (address `addr_a`/24) in `a` and `dev_b`
/// (`addr_b`/24) in `b`; loopback up in both. Names are unique to the process and the pair.
pub struct Pair {
    pub a: String,
    pub b: String,
    pub dev_a: String,
    pub dev_b: String,
    pub addr_a: Ipv4Addr,
    pub addr_b: Ipv4Addr,
}

static PAIRS: AtomicU32 = AtomicU32::new(0);

impl Pair {
    /// A new pair; with `multicast_route`, 224.0.0.0/4 is routed to the veth in both (so
    /// that multicast flows without naming an interface). `None` (the test is skipped, after
    /// a loud line) when namespaces cannot be made here, except under `CI`, where it fails.
    pub fn new(multicast_route: bool) -> Option<Pair> {
        let n = PAIRS.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}{n}", std::process::id() % 100_000);
        let (a, b) = (format!("lwns{id}a"), format!("lwns{id}b"));
        let ok = Command::new("ip")
            .args(["netns", "add", &a])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("CI").is_none(),
                "cannot create a network namespace under CI (scripts/test runs as root)"
            );
            eprintln!("!!! SKIPPED: cannot create a network namespace (not root?)");
            return None;
        }
        // From here on, drop removes what exists.
        let pair = Pair {
            b: b.clone(),
            a,
            dev_a: format!("lwv{id}a"),
            dev_b: format!("lwv{id}b"),
            addr_a: Ipv4Addr::new(10, 78, 0, 1),
            addr_b: Ipv4Addr::new(10, 78, 0, 2),
        };
        ip(&["netns", "add", &b]);
        ip(&[
            "link",
            "add",
            &pair.dev_a,
            "netns",
            &pair.a,
            "type",
            "veth",
            "peer",
            "name",
            &pair.dev_b,
            "netns",
            &pair.b,
        ]);
        for (ns, dev, addr) in [
            (&pair.a, &pair.dev_a, pair.addr_a),
            (&pair.b, &pair.dev_b, pair.addr_b),
        ] {
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
            if multicast_route {
                ip(&["-n", ns, "route", "add", "224.0.0.0/4", "dev", dev]);
            }
        }
        Some(pair)
    }

    /// The process ids in namespace `ns` (`ip netns pids`).
    pub fn pids(ns: &str) -> Vec<i32> {
        let out = Command::new("ip")
            .args(["netns", "pids", ns])
            .output()
            .unwrap();
        assert!(out.status.success(), "ip netns pids {ns}");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect()
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        // Deleting a namespace removes its veth end, and with it the peer.
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Run `f` in a thread that entered network namespace `ns`; its result.
pub fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            let file = std::fs::File::open(format!("/var/run/netns/{ns}")).unwrap();
            use std::os::fd::AsRawFd;
            // SAFETY: setns on an open namespace file; it changes this thread only.
            let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(r, 0, "setns {ns}: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}
