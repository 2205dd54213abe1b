//! What the tests of `display:` outputs share: their own Xvfb server and a capture of its
//! screen (`xwd -root`, read here), so a test can compare the pixels a window shows with
//! the bytes it was given.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// A running Xvfb, killed when dropped (also when the test fails).
pub struct Xvfb {
    child: Child,
    /// The display number (`:N`).
    pub display: u32,
    log: PathBuf,
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        // SIGTERM lets Xvfb remove its socket and lock file; SIGKILL if it lingers.
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own child's pid; no memory is involved.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

impl Xvfb {
    /// The server's process id (to stop and continue it: a hung X server).
    #[allow(dead_code)] // not every test binary that includes this module hangs a server
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap_or(i32::MAX)
    }

    /// Start Xvfb with one screen of `size` on a free display number.
    pub fn start(size: [u32; 2]) -> Result<Xvfb, String> {
        // Tests of one binary run in parallel threads of one process: each start takes its
        // own range of numbers, and a server counts as ours only when the lock file names
        // our child (two Xvfb racing for one number: the loser exits, but the winner's
        // socket would answer the loser's check).
        static STARTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let first = 90 + std::process::id() % 400 + n * 41;
        for display in first..first + 40 {
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{display}"));
            if socket.exists() || PathBuf::from(format!("/tmp/.X{display}-lock")).exists() {
                continue;
            }
            let log = std::env::temp_dir().join(format!("ledwall-xvfb-{display}.log"));
            let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
            let child = Command::new("Xvfb")
                .arg(format!(":{display}"))
                .args(["-screen", "0", &format!("{}x{}x24", size[0], size[1])])
                .args(["-nolisten", "tcp"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .map_err(|e| format!("cannot run Xvfb: {e}"))?;
            let mut x = Xvfb {
                child,
                display,
                log,
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
                    let lock = std::fs::read_to_string(format!("/tmp/.X{display}-lock"))
                        .unwrap_or_default();
                    if lock.trim().parse::<u32>().ok() == Some(x.child.id()) {
                        return Ok(x);
                    }
                    break; // another server's: try the next number (ours is killed on drop)
                }
                if let Ok(Some(_)) = x.child.try_wait() {
                    break; // taken meanwhile, or failed: try the next number
                }
                if Instant::now() > deadline {
                    let log = std::fs::read_to_string(&x.log).unwrap_or_default();
                    return Err(format!("Xvfb :{display} did not start in 10 s:\n{log}"));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Err("no free X display number found".to_string())
    }
}

/// A captured screen, RGB8.
pub struct Shot {
    /// Screen width.
    pub width: u32,
    /// Screen height.
    pub height: u32,
    /// Packed RGB, row by row.
    pub rgb: Vec<u8>,
}

impl Shot {
    pub fn rgb(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * self.width + x) * 3) as usize;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}

/// Capture the root window of the X server `DISPLAY` names (or `display`, e.g. ":93").
/// xwd walks the root window's children; one destroyed meanwhile (a window being reopened)
/// fails it with `BadWindow` or `BadDrawable`: that is tried again (up to 10 times, 20 ms
/// apart), anything else is an error at once.
pub fn capture_on(display: Option<&str>) -> Result<Shot, String> {
    let mut tries = 0;
    loop {
        tries += 1;
        let mut cmd = Command::new("xwd");
        if let Some(d) = display {
            cmd.args(["-display", d]);
        }
        let out = cmd
            .args(["-root", "-silent"])
            .output()
            .map_err(|e| format!("cannot run xwd: {e}"))?;
        if out.status.success() {
            return parse_xwd(&out.stdout);
        }
        let said = String::from_utf8_lossy(&out.stderr);
        let vanished = said.contains("BadWindow") || said.contains("BadDrawable");
        if !vanished || tries >= 10 {
            return Err(format!("xwd failed ({}): {said}", out.status));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Read an XWD file (X11 window dump, version 7): a big-endian header of 25 u32 fields, the
/// window name, the colour map (12 bytes an entry), then the pixels. Only what a 24-bit
/// TrueColor screen dumps is accepted: ZPixmap, 32 bits a pixel, 8-bit channel masks.
pub fn parse_xwd(data: &[u8]) -> Result<Shot, String> {
    let field = |i: usize| -> Result<u32, String> {
        data.get(i * 4..i * 4 + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| "XWD header cut short".to_string())
    };
    let (header_size, version, format) = (field(0)?, field(1)?, field(2)?);
    let (width, height) = (field(4)?, field(5)?);
    let (byte_order, bpp, bytes_per_line) = (field(7)?, field(11)?, field(12)?);
    let masks = [field(14)?, field(15)?, field(16)?];
    let ncolors = field(19)?;
    if version != 7 || format != 2 || bpp != 32 {
        return Err(format!(
            "unsupported XWD: version {version}, format {format}, {bpp} bits a pixel"
        ));
    }
    if masks.iter().any(|m| m.count_ones() != 8) {
        return Err(format!("unsupported XWD channel masks {masks:x?}"));
    }
    let start = header_size as usize + ncolors as usize * 12;
    let stride = bytes_per_line as usize;
    let need = start + stride * height as usize;
    if data.len() < need {
        return Err(format!(
            "XWD data cut short: {} of {need} bytes",
            data.len()
        ));
    }
    let mut rgb = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height as usize {
        let row = &data[start + y * stride..];
        for x in 0..width as usize {
            let b = [row[x * 4], row[x * 4 + 1], row[x * 4 + 2], row[x * 4 + 3]];
            let pixel = if byte_order == 0 {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b)
            };
            for m in masks {
                rgb.push(((pixel & m) >> m.trailing_zeros()) as u8);
            }
        }
    }
    Ok(Shot { width, height, rgb })
}

/// Capture the root window of the X server `DISPLAY` names.
pub fn capture() -> Result<Shot, String> {
    capture_on(None)
}
