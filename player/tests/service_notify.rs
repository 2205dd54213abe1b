//! `ledwall play` under a service manager's eyes (design §14): with `NOTIFY_SOCKET` and
//! `WATCHDOG_USEC` set, as systemd sets them, the player sends `READY=1` once the first frame
//! is out, `WATCHDOG=1` while ticks go out, `STATUS=` the item on screen and `STOPPING=1` at
//! the end, as datagrams on that socket. A real unix datagram socket stands in for systemd.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn play_notifies_ready_watchdog_status_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let wall = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/walls/demo.toml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .args(["play", "pattern:line", "--for", "2", "--wall"])
        .arg(&wall)
        .env("NOTIFY_SOCKET", &path)
        .env("WATCHDOG_USEC", "400000")
        .env_remove("WATCHDOG_PID")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut got: Vec<String> = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match socket.recv(&mut buf) {
            Ok(n) => got.push(String::from_utf8_lossy(&buf[..n]).trim().to_string()),
            Err(_) => {
                if child.try_wait().unwrap().is_some() {
                    // Whatever was sent at exit is queued already.
                    while let Ok(n) = socket.recv(&mut buf) {
                        got.push(String::from_utf8_lossy(&buf[..n]).trim().to_string());
                    }
                    break;
                }
            }
        }
    }
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let first = |what: &str| got.iter().position(|m| m == what);
    let ready = first("READY=1").unwrap_or_else(|| panic!("no READY=1: {got:?}\n{log}"));
    let pings = got.iter().filter(|m| *m == "WATCHDOG=1").count();
    // 2 s of play, checked every 0.2 s: about ten pings, each after READY.
    assert!(pings >= 5, "{pings} pings: {got:?}");
    assert!(first("WATCHDOG=1").is_some_and(|w| w > ready), "{got:?}");
    assert!(
        got.iter()
            .any(|m| m.starts_with("STATUS=playing") && m.contains("pattern:line")),
        "{got:?}"
    );
    assert_eq!(
        got.last().map(String::as_str),
        Some("STOPPING=1"),
        "{got:?}"
    );
}
