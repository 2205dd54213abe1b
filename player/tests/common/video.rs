//! Helpers of the video tests (`video_loop.rs`, `video_hwaccel.rs`, `video_yuv.rs`): the
//! machine's ffmpeg or a loud skip (a failure under `CI`), ffmpeg run with arguments, and the
//! guard of the cases that need a machine without a GPU device.

#![allow(dead_code)]

use ledwall_player::media::video::Ffmpeg;
use std::path::Path;
use std::process::Command;

/// The machine's ffmpeg (`LEDWALL_FFMPEG`, else `PATH`); `None`, said loudly, where there
/// is none; under `CI` that fails the test.
pub fn ffmpeg() -> Option<Ffmpeg> {
    let ff = Ffmpeg::from_env();
    if ff.available() {
        return Some(ff);
    }
    let msg = "ffmpeg is not installed (or LEDWALL_FFMPEG is wrong): video tests cannot run";
    assert!(std::env::var_os("CI").is_none(), "{msg}");
    eprintln!("\n*** SKIPPED: {msg} ***\n");
    None
}

/// Run ffmpeg quietly with `args` (overwriting outputs); what it wrote on stdout. Fails
/// the test with what ffmpeg said when it fails.
pub fn run(ff: &Ffmpeg, args: &[&str]) -> Vec<u8> {
    let out = Command::new(&ff.ffmpeg)
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("ffmpeg: {e}"));
    assert!(
        out.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Whether this machine has no GPU device node (`/dev/dri`, `/dev/nvidia0`); says so
/// loudly when it has one, for the cases that need their absence.
pub fn no_gpu_device() -> bool {
    if Path::new("/dev/dri").exists() || Path::new("/dev/nvidia0").exists() {
        eprintln!("\n*** SKIPPED: this machine has a GPU device (the case is its absence) ***\n");
        return false;
    }
    true
}
