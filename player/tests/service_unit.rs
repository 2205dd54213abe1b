//! The service packaging (DESIGN.md §14): the systemd unit `packaging/ledwall.service`
//! passes `systemd-analyze verify` and has the §14 essentials, the example wall and
//! playlist in `packaging/etc/` validate and play, and the `.deb` metadata in
//! `player/Cargo.toml` installs what exists.
//!
//! `systemd-analyze verify` checks a unit file without a running systemd (Debian package
//! `systemd`). Without it the verify tests say SKIP loudly, and fail under `CI`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn shipped_unit() -> String {
    std::fs::read_to_string(root().join("packaging/ledwall.service")).unwrap()
}

/// The `Key=value` settings of `section`, in order (comments and blank lines left out).
fn settings(unit: &str, section: &str) -> Vec<(String, String)> {
    let mut current = String::new();
    let mut out = Vec::new();
    for line in unit.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            current = line[1..line.len() - 1].to_string();
            continue;
        }
        if current == section
            && let Some((k, v)) = line.split_once('=')
        {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

/// The value of `key` in `section` (the last one, as systemd reads a single-valued key).
fn value(unit: &str, section: &str, key: &str) -> Option<String> {
    settings(unit, section)
        .into_iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// Where the shipped unit runs the binary: the `.deb` installs it there (checked below).
const INSTALLED_BINARY: &str = "/usr/bin/ledwall";

/// The shipped unit with only ExecStart's binary replaced by this build's `ledwall`:
/// `systemd-analyze verify` fails when ExecStart's program does not exist, and the tests
/// do not install one in /usr/bin. Every other line is verified as shipped (User=ledwall
/// included: verify does not look the user up, it passes without a `ledwall` user).
fn unit_for_verify(unit: &str) -> String {
    let prefix = format!("ExecStart={INSTALLED_BINARY} ");
    let mut replaced = 0;
    let text: Vec<String> = unit
        .lines()
        .map(|line| match line.strip_prefix(&prefix) {
            Some(args) => {
                replaced += 1;
                format!("ExecStart={} {args}", env!("CARGO_BIN_EXE_ledwall"))
            }
            None => line.to_string(),
        })
        .collect();
    assert_eq!(
        replaced, 1,
        "the unit should have one ExecStart={INSTALLED_BINARY} … line"
    );
    text.join("\n") + "\n"
}

/// `systemd-analyze verify` on `unit` (saved as ledwall.service in a temporary directory):
/// Ok when it exits 0 and prints nothing (it only warns about unknown keys and unparsable
/// values, exit status 0, so any output counts as a failure); Err with what it said.
/// None (after a loud SKIP) when systemd-analyze is not installed.
fn verify(unit: &str) -> Option<Result<(), String>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledwall.service");
    std::fs::write(&path, unit).unwrap();
    let out = match Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .env("SYSTEMD_COLORS", "0")
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let msg = "systemd-analyze is not installed (Debian package `systemd`): the unit \
                       file is not verified";
            assert!(std::env::var_os("CI").is_none(), "{msg}");
            eprintln!("\n*** SKIPPED: {msg} ***\n");
            return None;
        }
        Err(e) => panic!("cannot run systemd-analyze: {e}"),
    };
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(if out.status.success() && said.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("systemd-analyze verify: {}\n{said}", out.status))
    })
}

#[test]
fn unit_passes_systemd_analyze_verify() {
    let unit = unit_for_verify(&shipped_unit());
    if let Some(Err(e)) = verify(&unit) {
        panic!("packaging/ledwall.service does not verify:\n{e}\nunit as verified:\n{unit}");
    }
}

/// The verify check above can fail: an unknown key, a bad value or a missing program in
/// an otherwise shipped unit is caught.
#[test]
fn verify_catches_broken_units() {
    let good = unit_for_verify(&shipped_unit());
    let broken = [
        (
            "unknown key",
            good.replace("\nType=notify\n", "\nTyp=notify\n"),
        ),
        (
            "bad value",
            good.replace("\nRestart=always\n", "\nRestart=alwayz\n"),
        ),
        (
            "missing program",
            good.replace(env!("CARGO_BIN_EXE_ledwall"), "/nonexistent/ledwall"),
        ),
    ];
    for (what, unit) in broken {
        assert_ne!(unit, good, "{what}: the edit did not apply");
        match verify(&unit) {
            None => return,
            Some(Ok(())) => panic!("{what}: systemd-analyze verify accepted\n{unit}"),
            Some(Err(_)) => {}
        }
    }
}

#[test]
fn unit_has_the_essentials() {
    let unit = shipped_unit();
    let service = |key: &str| {
        value(&unit, "Service", key).unwrap_or_else(|| panic!("[Service] has no {key}="))
    };
    let words = |section: &str, key: &str| -> Vec<String> {
        settings(&unit, section)
            .into_iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .collect()
    };
    // Readiness and the watchdog come from the player itself (sd_notify).
    assert_eq!(service("Type"), "notify");
    assert_eq!(service("NotifyAccess"), "main");
    let watchdog: f64 = service("WatchdogSec")
        .parse()
        .expect("WatchdogSec in seconds");
    assert!(watchdog > 0.0, "WatchdogSec must be on");
    assert_eq!(service("Restart"), "always");
    for key in ["After", "Wants"] {
        assert!(
            words("Unit", key)
                .iter()
                .any(|w| w == "network-online.target"),
            "[Unit] {key}= must name network-online.target"
        );
    }
    for key in ["AmbientCapabilities", "CapabilityBoundingSet"] {
        let caps = words("Service", key);
        for cap in ["CAP_SYS_NICE", "CAP_NET_RAW"] {
            assert!(
                caps.iter().any(|c| c == cap),
                "{key}= must include {cap}: {caps:?}"
            );
        }
    }
    let reload = service("ExecReload");
    assert!(
        reload.contains("kill") && reload.contains("-HUP") && reload.contains("$MAINPID"),
        "ExecReload must send SIGHUP to the player: {reload}"
    );
    let exec = service("ExecStart");
    let args: Vec<&str> = exec.split_whitespace().collect();
    assert_eq!(
        args[..2],
        [INSTALLED_BINARY, "play"],
        "ExecStart must run `ledwall play`"
    );
    assert!(exec.contains("/etc/ledwall/playlist.toml"), "{exec}");
    assert!(exec.contains("--wall /etc/ledwall/wall.toml"), "{exec}");
    // Real-time pacing must not be refused, and the GPU must stay reachable.
    assert_ne!(
        value(&unit, "Service", "RestrictRealtime").as_deref(),
        Some("yes")
    );
    assert_ne!(
        value(&unit, "Service", "PrivateDevices").as_deref(),
        Some("yes")
    );
    assert!(
        value(&unit, "Service", "DeviceAllow").is_none(),
        "a DeviceAllow= list would close off /dev/dri"
    );
    assert_eq!(
        value(&unit, "Install", "WantedBy").as_deref(),
        Some("multi-user.target")
    );
}

/// Runs this build's `ledwall` with `args` in a temporary directory; panics with its
/// output unless it succeeds (or, with `expect_ok` false, unless it fails).
fn ledwall(args: &[&Path], expect_ok: bool) -> String {
    let cwd = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .args(args)
        .current_dir(cwd.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.success(), expect_ok, "ledwall {args:?}:\n{said}");
    said
}

#[test]
fn packaged_examples_validate_and_play() {
    let etc = root().join("packaging/etc");
    let wall = etc.join("wall.toml");
    let playlist = etc.join("playlist.toml");
    let said = ledwall(&[Path::new("validate"), &wall, &playlist], true);
    assert!(said.contains("wall.toml: ok"), "{said}");
    assert!(said.contains("playlist.toml: ok"), "{said}");

    // The example plays as installed: no media files, the sinks in the wall file.
    ledwall(
        &[
            Path::new("play"),
            &playlist,
            Path::new("--wall"),
            &wall,
            Path::new("--for"),
            Path::new("0.2"),
            Path::new("--backend"),
            Path::new("cpu"),
        ],
        true,
    );

    // Missing media would only warn (exit 0): the shipped examples have no warnings.
    assert!(!said.contains("warning"), "{said}");

    // The checks can fail: a playlist naming a missing media file warns, a bad value is an
    // error.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&playlist).unwrap();
    let missing = dir.path().join("missing.toml");
    let edited = text.replacen("\"pattern:bars\"", "\"no-such-media.png\"", 1);
    assert_ne!(edited, text);
    std::fs::write(&missing, edited).unwrap();
    let said = ledwall(&[Path::new("validate"), &missing], true);
    assert!(
        said.contains("warning") && said.contains("no-such-media.png"),
        "{said}"
    );
    let invalid = dir.path().join("invalid.toml");
    let edited = text.replacen("duration = 5.0", "duration = \"five\"", 1);
    assert_ne!(edited, text);
    std::fs::write(&invalid, edited).unwrap();
    ledwall(&[Path::new("validate"), &invalid], false);
}

/// `[package.metadata.deb]` installs files that exist: the unit, the examples and the
/// maintainer scripts, with the unit's binary path and the conffiles matching.
#[test]
fn deb_metadata_matches_the_packaging() {
    let player = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(player.join("Cargo.toml")).unwrap()).unwrap();
    let deb = &manifest["package"]["metadata"]["deb"];
    let assets: Vec<Vec<String>> = deb["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            a.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    let mut installed = Vec::new();
    for asset in &assets {
        let [source, dest, mode] = &asset[..] else {
            panic!("an asset is [source, dest, mode]: {asset:?}")
        };
        assert!(u32::from_str_radix(mode, 8).is_ok(), "mode {mode}");
        assert!(
            !dest.starts_with('/'),
            "dest is relative to / in cargo-deb: {dest}"
        );
        let name = Path::new(source).file_name().unwrap().to_str().unwrap();
        installed.push(format!("/{}/{name}", dest.trim_end_matches('/')));
        if source != "target/release/ledwall" {
            assert!(player.join(source).is_file(), "asset {source} is missing");
        }
    }
    for path in [
        INSTALLED_BINARY,
        "/lib/systemd/system/ledwall.service",
        "/etc/ledwall/wall.toml",
        "/etc/ledwall/playlist.toml",
    ] {
        assert!(
            installed.iter().any(|p| p == path),
            "{path} not installed: {installed:?}"
        );
    }
    let conf: Vec<&str> = deb["conf-files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        conf,
        ["/etc/ledwall/wall.toml", "/etc/ledwall/playlist.toml"]
    );
    let scripts = player.join(deb["maintainer-scripts"].as_str().unwrap());
    let postinst = std::fs::read_to_string(scripts.join("postinst")).unwrap();
    assert!(postinst.starts_with("#!/bin/sh\n"), "postinst is POSIX sh");
    assert!(postinst.contains("set -e"));
    assert!(postinst.contains("adduser --system"));
}
