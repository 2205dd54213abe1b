//! Live sources through ffmpeg: stream URLs, capture devices and the desktop.
//!
//! A playlist `source` is live when it is
//!
//! * a stream URL ffmpeg opens: `udp://`, `rtp://`, `srt://`, `rtsp://`, `rtsps://`,
//!   `rtmp://`, `rtmps://`, `http://`, `https://` (HLS playlists included); the scheme is
//!   matched without regard to case;
//! * `v4l2:PATH`: a Video4Linux capture device (`v4l2:/dev/video0`);
//! * `screen:`: the X11 desktop through ffmpeg's `x11grab`: `screen:` (the whole screen of
//!   `$DISPLAY`, else `:0`), `screen:DISPLAY` (`screen::1`), and either with an area
//!   `/WxH+X+Y` (`screen::1/640x360+100+50`, `screen:/640x360`).
//!
//! Nothing is opened when a playlist is loaded or validated ([`LiveInput::parse`] only checks
//! the text). The [`LiveSource`] starts on the first frame asked for: a supervisor thread
//! runs ffmpeg with low-latency input options ([`ffmpeg_args`]) writing PAM images (RGBA,
//! each with its own size in its header, so a stream that changes size after a reconnect
//! is followed) to a pipe; a reader thread hands each one over in a single slot that always
//! holds the newest frame. The render thread takes what is in the slot at each tick and
//! never waits for the network: a frame that a newer one replaced before any tick took it
//! is counted in [`MediaFaults::live_dropped`]. Three buffers circulate (the reader's, the
//! slot's, the render thread's), so steady playback allocates nothing.
//!
//! Stalls: no new frame for [`STALL_AFTER`] is a stall (one warning, counted in
//! [`MediaFaults::live_stalls`]); the last frame holds, or the item's `fallback` source
//! shows when it has one (it shows from the item's start, too, until the first live frame
//! arrives). The supervisor kills an ffmpeg that has given no frame for [`RECONNECT_AFTER`]
//! ([`START_TIMEOUT`] while it has given none yet) or that exits, and starts it again after a
//! backoff of [`BACKOFF_FIRST`], doubling to [`BACKOFF_MAX`]; the backoff starts over once an
//! ffmpeg has given frames for [`GOOD_PERIOD`]. Each start after the first is counted in
//! [`MediaFaults::live_reconnects`] and logged; the first new frame after a stall is a
//! recovery (logged, counted in [`MediaFaults::live_recoveries`]) and ends the hold or the
//! fallback. A live item never ends early: it lasts its `duration` (or, without one, until
//! the schedule changes).

use super::video::{
    Ffmpeg, HwDecode, Hwaccel, Piped, Stderr, hw_decode, kill_group, reap, spawn_piped,
    stderr_text, unregister,
};
use super::{
    Frame, LoadOptions, MediaError, MediaFaults, MediaInfo, MediaKind, MediaRef, MediaSource,
    OpenOptions, Pixels, ReadStatus, Time, Timing, check_size,
};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// No new frame for this long is a stall: the last frame (or the fallback) holds.
pub const STALL_AFTER: Duration = Duration::from_secs(1);
/// A running ffmpeg that has given no frame for this long is killed and started again.
pub const RECONNECT_AFTER: Duration = Duration::from_secs(2);
/// A starting ffmpeg may take this long to give its first frame (an HLS playlist and its
/// first segment, an RTSP handshake) before it is killed and started again.
pub const START_TIMEOUT: Duration = Duration::from_secs(5);
/// The first wait before ffmpeg is started again.
pub const BACKOFF_FIRST: Duration = Duration::from_millis(500);
/// The longest wait between starts (the wait doubles from [`BACKOFF_FIRST`] up to this).
pub const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// Frames for this long from one ffmpeg start the backoff over.
pub const GOOD_PERIOD: Duration = Duration::from_secs(5);
/// How often the supervisor looks at its ffmpeg.
const POLL: Duration = Duration::from_millis(25);
/// ffmpeg's read timeout on network inputs, in microseconds.
const RW_TIMEOUT_US: &str = "3000000";
/// Frame rate asked of `x11grab`.
const SCREEN_FPS: &str = "25";
/// URL schemes that make a source live.
pub const SCHEMES: [&str; 9] = [
    "udp", "rtp", "srt", "rtsp", "rtsps", "rtmp", "rtmps", "http", "https",
];

/// What a live source reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveInput {
    /// A stream URL, as written (the scheme matched without regard to case).
    Url(String),
    /// A Video4Linux capture device.
    V4l2(PathBuf),
    /// The X11 desktop.
    Screen {
        /// The X display (`:1`); `None`: `$DISPLAY`, else `:0`.
        display: Option<String>,
        /// The area captured; `None`: the whole screen.
        area: Option<ScreenArea>,
    },
}

/// A part of the screen: `WxH+X+Y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenArea {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
}

impl LiveInput {
    /// `None` when `text` does not name a live source (it is a file, a folder, a glob or a
    /// pattern); `Some(Err(reason))` when it does but is malformed. Opens nothing.
    pub fn parse(text: &str) -> Option<Result<LiveInput, String>> {
        if let Some(rest) = text.strip_prefix("v4l2:") {
            return Some(if rest.is_empty() {
                Err("v4l2: needs a device path, such as v4l2:/dev/video0".into())
            } else if !rest.starts_with('/') {
                Err(format!(
                    "v4l2:{rest}: the device must be an absolute path, such as /dev/video0"
                ))
            } else if rest.chars().any(char::is_control) {
                Err("v4l2: the device path has a control character".into())
            } else {
                Ok(LiveInput::V4l2(PathBuf::from(rest)))
            });
        }
        if let Some(rest) = text.strip_prefix("screen:") {
            return Some(parse_screen(rest));
        }
        let (scheme, rest) = text.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        if !SCHEMES.contains(&scheme.as_str()) {
            return None;
        }
        Some(check_url(&scheme, rest).map(|()| LiveInput::Url(text.to_string())))
    }

    /// The name used in messages (a URL's password shown as `***`).
    pub fn display(&self) -> String {
        match self {
            LiveInput::Url(u) => redact(u),
            LiveInput::V4l2(p) => format!("v4l2:{}", p.display()),
            LiveInput::Screen { display, area } => {
                let mut s = format!("screen:{}", display.as_deref().unwrap_or(""));
                if let Some(a) = area {
                    s += &format!("/{}x{}+{}+{}", a.width, a.height, a.x, a.y);
                }
                s
            }
        }
    }
}

fn parse_screen(rest: &str) -> Result<LiveInput, String> {
    let (display, geometry) = match rest.split_once('/') {
        Some((d, g)) => (d, Some(g)),
        None => (rest, None),
    };
    let display = if display.is_empty() {
        None
    } else {
        // [host]:N[.S]
        let ok = display.rsplit_once(':').is_some_and(|(host, n)| {
            let (n, s) = n.split_once('.').unwrap_or((n, "0"));
            let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            digits(n)
                && digits(s)
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        });
        if !ok {
            return Err(format!(
                "screen:{rest}: \"{display}\" is not an X display such as :0 or :1.0"
            ));
        }
        Some(display.to_string())
    };
    let area = match geometry {
        None => None,
        Some(g) => Some(parse_area(g).ok_or_else(|| {
            format!("screen:{rest}: \"{g}\" is not an area WxH or WxH+X+Y, such as 640x360+100+50")
        })?),
    };
    Ok(LiveInput::Screen { display, area })
}

fn parse_area(g: &str) -> Option<ScreenArea> {
    let (size, offset) = match g.split_once('+') {
        Some((s, o)) => (s, Some(o)),
        None => (g, None),
    };
    let (w, h) = size.split_once('x')?;
    let num = |t: &str| {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse::<u32>().ok())
            .flatten()
    };
    let (width, height) = (num(w)?, num(h)?);
    if width == 0 || height == 0 {
        return None;
    }
    let (x, y) = match offset {
        None => (0, 0),
        Some(o) => {
            let (x, y) = o.split_once('+')?;
            (num(x)?, num(y)?)
        }
    };
    Some(ScreenArea {
        width,
        height,
        x,
        y,
    })
}

/// Check the part of a URL after `scheme://`.
fn check_url(scheme: &str, rest: &str) -> Result<(), String> {
    let url = format!("{scheme}://{}", redact_rest(rest));
    if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{url}: a URL may not contain spaces or control characters"
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let Some((h, after)) = v6.split_once(']') else {
            return Err(format!("{url}: the IPv6 address has no closing ]"));
        };
        match after {
            "" => (h, None),
            p => match p.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None => return Err(format!("{url}: unexpected \"{p}\" after the IPv6 address")),
            },
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(format!("{url}: \"{p}\" is not a port (1-65535)")),
        },
    };
    // udp, rtp and srt may listen on every address (no host); they need a port.
    let listens = matches!(scheme, "udp" | "rtp" | "srt");
    if listens {
        if port.is_none() {
            return Err(format!(
                "{url}: a {scheme} URL needs a port, such as {scheme}://127.0.0.1:5000"
            ));
        }
    } else if host.is_empty() {
        return Err(format!(
            "{url}: the URL has no host, such as {scheme}://camera.local/stream"
        ));
    }
    Ok(())
}

/// `user:password@` shown as `user:***@`.
fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", redact_rest(rest)),
        None => url.to_string(),
    }
}

fn redact_rest(rest: &str) -> String {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((user, host)) if user.contains(':') => {
            let name = user.split(':').next().unwrap_or("");
            format!("{name}:***@{host}{tail}")
        }
        _ => rest.to_string(),
    }
}

/// A live source as a playlist item names it: what to read, and what shows while it
/// stalls.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveRef {
    /// What to read.
    pub input: LiveInput,
    /// The item's `fallback` (never itself live).
    pub fallback: Option<Box<MediaRef>>,
}

impl LiveRef {
    /// `input`, with `fallback` showing while it stalls.
    pub fn new(input: LiveInput, fallback: Option<MediaRef>) -> LiveRef {
        LiveRef {
            input,
            fallback: fallback.map(Box::new),
        }
    }
}

/// ffmpeg's arguments for `input` (after the program name): low-latency input options,
/// then PAM (RGBA) images on stdout. `display_env` is `$DISPLAY`, for `screen:` without a
/// display. `hw`: decode a stream URL on the GPU (`-hwaccel`; capture devices and the
/// desktop are not compressed, or not in a form a GPU decodes).
pub fn ffmpeg_args(
    input: &LiveInput,
    display_env: Option<&str>,
    hw: Option<&HwDecode>,
) -> Vec<String> {
    let mut a: Vec<String> = [
        "-nostdin",
        "-nostats",
        "-v",
        "error",
        // No input buffering, no decoder delay, a short probe: frames as soon as they come.
        "-fflags",
        "nobuffer",
        "-flags",
        "low_delay",
        "-probesize",
        "500000",
        "-analyzeduration",
        "500000",
    ]
    .map(String::from)
    .to_vec();
    let mut push = |items: &[&str]| a.extend(items.iter().map(|s| s.to_string()));
    match input {
        LiveInput::Url(url) => {
            let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
            let scheme = scheme.to_ascii_lowercase();
            // A network read that blocks this long fails, and ffmpeg exits.
            push(&["-rw_timeout", RW_TIMEOUT_US]);
            if scheme.starts_with("rtsp") {
                push(&["-timeout", RW_TIMEOUT_US]);
            }
            let path = rest.split(['?', '#']).next().unwrap_or("");
            if scheme.starts_with("http") && path.to_ascii_lowercase().ends_with(".m3u8") {
                // HLS: start at the newest segment, not three back, and read it at its
                // own pace (a segment arrives whole; unpaced, its frames would come in a
                // burst and then nothing until the next one).
                push(&["-live_start_index", "-1", "-re"]);
            }
            if let Some(hw) = hw {
                push(&["-hwaccel", hw.method]);
                if let Some(d) = &hw.device {
                    push(&["-hwaccel_device", d]);
                }
            }
            push(&["-i", url]);
        }
        LiveInput::V4l2(dev) => {
            push(&["-f", "v4l2", "-i"]);
            a.push(dev.display().to_string());
        }
        LiveInput::Screen { display, area } => {
            let d = display
                .as_deref()
                .or(display_env.filter(|d| !d.is_empty()))
                .unwrap_or(":0");
            push(&[
                "-f",
                "x11grab",
                "-framerate",
                SCREEN_FPS,
                "-draw_mouse",
                "0",
            ]);
            let mut i = d.to_string();
            if let Some(ar) = area {
                a.push("-video_size".into());
                a.push(format!("{}x{}", ar.width, ar.height));
                i += &format!("+{},{}", ar.x, ar.y);
            }
            a.push("-i".into());
            a.push(i);
        }
    }
    a.extend(
        [
            "-an",
            "-sn",
            "-dn",
            // Every decoded frame once, none made up.
            "-vsync",
            "0",
            "-c:v",
            "pam",
            "-pix_fmt",
            "rgba",
            "-f",
            "image2pipe",
            "pipe:1",
        ]
        .map(String::from),
    );
    a
}

/// The newest frame, handed from the reader to the render thread.
#[derive(Default)]
struct Latest {
    buf: Vec<u8>,
    width: u32,
    height: u32,
    /// Frames put here so far.
    seq: u64,
    /// `seq` when the render thread last took one.
    taken: u64,
}

#[derive(Default)]
struct Shared {
    latest: Mutex<Latest>,
    stop: AtomicBool,
    /// The running ffmpeg's process group; killed at once when the source is dropped.
    pid: Mutex<Option<u32>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One ffmpeg's progress, as its reader sees it.
#[derive(Default)]
struct Progress {
    frames: AtomicU64,
    /// Milliseconds from the ffmpeg's start to its last frame.
    last_ms: AtomicU64,
    /// Why reading ended.
    end: Mutex<Option<String>>,
}

/// A live stream, capture device or desktop (see the module documentation).
pub struct LiveSource {
    info: MediaInfo,
    input: LiveInput,
    fallback_ref: Option<MediaRef>,
    opts: OpenOptions,
    shared: Arc<Shared>,
    started: Option<Instant>,
    /// When the last new frame came (`None`: none yet).
    last_new: Option<Instant>,
    /// A stall is in progress (counted, logged).
    stalled: bool,
    /// `out` holds the fallback's frame.
    showing_fallback: bool,
    fallback: Option<Box<dyn MediaSource>>,
    fallback_rx: Option<Receiver<Box<dyn MediaSource>>>,
    fallback_since: Option<Instant>,
    /// The hardware decoder asked for ([`LiveSource::set_hw_decode`]); `None`: as
    /// `hwaccel` resolves on this machine when the source starts.
    hw: Option<Option<HwDecode>>,
}

impl std::fmt::Debug for LiveSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSource")
            .field("input", &self.input)
            .field("stalled", &self.stalled)
            .finish_non_exhaustive()
    }
}

impl LiveSource {
    /// Get ready to play `live`; nothing is opened or started until the first frame is
    /// asked for.
    pub fn open(live: &LiveRef, opts: &OpenOptions) -> LiveSource {
        LiveSource {
            info: MediaInfo {
                name: live.input.display(),
                kind: MediaKind::Live,
                width: 0,
                height: 0,
                timing: Timing::Still,
            },
            input: live.input.clone(),
            fallback_ref: live.fallback.as_deref().cloned(),
            opts: opts.clone(),
            shared: Arc::default(),
            started: None,
            last_new: None,
            stalled: false,
            showing_fallback: false,
            fallback: None,
            fallback_rx: None,
            fallback_since: None,
            hw: None,
        }
    }

    /// Ask ffmpeg for this hardware decoder (`None`: software) instead of what `hwaccel`
    /// resolves to; before the first frame is asked for.
    pub fn set_hw_decode(&mut self, hw: Option<HwDecode>) {
        self.hw = Some(hw);
    }

    fn start(&mut self, now: Instant) {
        self.started = Some(now);
        let (tx, rx) = mpsc::channel();
        if self.fallback_ref.is_some() {
            self.fallback_rx = Some(rx);
        }
        // Only a stream is decoded the way a GPU can. `hwaccel` is resolved on the
        // supervisor's thread (it runs `ffmpeg -hwaccels` once per process), never on the
        // render thread that asked for the first frame.
        let (hw, resolve) = match (&self.input, self.hw.take()) {
            (LiveInput::Url(_), Some(hw)) => (hw, None),
            (LiveInput::Url(_), None) => (None, Some(self.opts.load.hwaccel)),
            _ => (None, None),
        };
        let ctx = Supervisor {
            input: self.input.clone(),
            name: self.info.name.clone(),
            hw,
            resolve_hw: resolve,
            ff: Ffmpeg::from_env(),
            shared: Arc::clone(&self.shared),
            faults: Arc::clone(&self.opts.faults),
            load: self.opts.load,
            fallback: self.fallback_ref.take().map(|f| (f, self.opts.clone(), tx)),
            display: std::env::var("DISPLAY").ok(),
        };
        let spawned = std::thread::Builder::new()
            .name("live-supervisor".into())
            .spawn(move || ctx.run());
        if let Err(e) = spawned {
            tracing::error!(source = %self.info.name, "cannot start the live source's thread: {e}");
        }
    }

    fn set_stalled(&mut self, on: bool) {
        if self.stalled != on {
            self.stalled = on;
            gauge(&self.opts.faults.live_stalled_now, on);
        }
    }

    fn set_fallback(&mut self, on: bool) {
        if self.showing_fallback != on {
            self.showing_fallback = on;
            gauge(&self.opts.faults.live_fallback_now, on);
        }
    }

    /// The fallback's frame for now into `out`; whether it wrote one.
    fn show_fallback(&mut self, now: Instant, out: &mut Frame) -> bool {
        if self.fallback.is_none()
            && let Some(rx) = &self.fallback_rx
        {
            match rx.try_recv() {
                Ok(f) => {
                    self.fallback = Some(f);
                    self.fallback_rx = None;
                }
                // It could not be opened (logged): the last frame holds.
                Err(mpsc::TryRecvError::Disconnected) => self.fallback_rx = None,
                Err(mpsc::TryRecvError::Empty) => {}
            }
        }
        let Some(fb) = self.fallback.as_mut() else {
            return false;
        };
        let since = *self.fallback_since.get_or_insert(now);
        let t = Time {
            num: now.saturating_duration_since(since).as_micros(),
            den: 1_000_000,
        };
        let (_, index) = fb.info().timing.frame_at(t);
        match fb.read_frame(index, out) {
            Ok(ReadStatus::Frame) => true,
            Ok(ReadStatus::Late | ReadStatus::End { .. }) => self.showing_fallback,
            Err(e) => {
                tracing::warn!(
                    source = %self.info.name,
                    "the fallback failed ({}); holding its last frame",
                    crate::deck::error_chain(&e)
                );
                self.fallback = None;
                self.showing_fallback
            }
        }
    }
}

fn gauge(g: &AtomicU64, up: bool) {
    if up {
        g.fetch_add(1, Ordering::Relaxed);
    } else {
        let _ = g.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1));
    }
}

impl Drop for LiveSource {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(pid) = *lock(&self.shared.pid) {
            kill_group(pid);
        }
        self.set_stalled(false);
        self.set_fallback(false);
    }
}

impl MediaSource for LiveSource {
    fn info(&self) -> &MediaInfo {
        &self.info
    }

    /// The newest frame (`index` is not used: live sources have no frame numbers). Never
    /// waits: with no new frame, the last one holds (`Frame`, `out` unchanged), or the
    /// fallback's frame is written; `Late` when there is nothing to show yet.
    fn read_frame(&mut self, _index: u64, out: &mut Frame) -> Result<ReadStatus, MediaError> {
        let now = Instant::now();
        let started = match self.started {
            Some(s) => s,
            None => {
                self.start(now);
                now
            }
        };
        let fresh = {
            let mut l = lock(&self.shared.latest);
            if l.seq != l.taken {
                l.taken = l.seq;
                let (w, h) = (l.width, l.height);
                match &mut out.pixels {
                    Pixels::Rgba8(v) => std::mem::swap(v, &mut l.buf),
                    p => *p = Pixels::Rgba8(std::mem::take(&mut l.buf)),
                }
                out.width = w;
                out.height = h;
                out.key = None;
                true
            } else {
                false
            }
        };
        if fresh {
            if self.stalled {
                MediaFaults::count(&self.opts.faults.live_recoveries);
                let gap = self
                    .last_new
                    .map_or(now.saturating_duration_since(started), |t| {
                        now.saturating_duration_since(t)
                    });
                tracing::info!(
                    source = %self.info.name,
                    "live source recovered: frames again after {:.1} s",
                    gap.as_secs_f64()
                );
            }
            self.set_stalled(false);
            self.set_fallback(false);
            self.fallback_since = None;
            self.last_new = Some(now);
            return Ok(ReadStatus::Frame);
        }
        let (since, bound) = match self.last_new {
            Some(t) => (t, STALL_AFTER),
            None => (started, START_TIMEOUT),
        };
        if !self.stalled && now.saturating_duration_since(since) >= bound {
            self.set_stalled(true);
            MediaFaults::count(&self.opts.faults.live_stalls);
            tracing::warn!(
                source = %self.info.name,
                "live source stalled: no {}frame for {:.1} s; {} while it reconnects",
                if self.last_new.is_some() { "new " } else { "" },
                bound.as_secs_f64(),
                if self.fallback_rx.is_some() || self.fallback.is_some() {
                    "showing its fallback"
                } else {
                    "holding the last frame"
                }
            );
        }
        if (self.stalled || self.last_new.is_none()) && self.show_fallback(now, out) {
            self.set_fallback(true);
            return Ok(ReadStatus::Frame);
        }
        Ok(if out.is_empty() {
            ReadStatus::Late
        } else {
            ReadStatus::Frame
        })
    }
}

/// The fallback to open on the supervisor thread, its options, and where it goes.
type FallbackJob = (MediaRef, OpenOptions, Sender<Box<dyn MediaSource>>);

/// The supervisor thread's state: runs ffmpeg, again and again.
struct Supervisor {
    input: LiveInput,
    name: String,
    /// The hardware decoder ffmpeg is asked to use (`None`: software).
    hw: Option<HwDecode>,
    /// `hwaccel` to resolve into `hw` when the thread starts.
    resolve_hw: Option<Hwaccel>,
    ff: Ffmpeg,
    shared: Arc<Shared>,
    faults: Arc<MediaFaults>,
    load: LoadOptions,
    fallback: Option<FallbackJob>,
    display: Option<String>,
}

/// A running ffmpeg; dropping it kills its process group and reaps it in the background.
struct Running {
    child: Option<Child>,
    pid: u32,
    reader: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl Drop for Running {
    fn drop(&mut self) {
        {
            let mut pid = lock(&self.shared.pid);
            kill_group(self.pid);
            *pid = None;
        }
        unregister(self.pid);
        reap(self.child.take(), self.reader.take());
    }
}

impl Supervisor {
    fn stopped(&self) -> bool {
        self.shared.stop.load(Ordering::Relaxed)
    }

    fn run(mut self) {
        if let Some(h) = self.resolve_hw.take() {
            self.hw = hw_decode(&self.ff, h);
        }
        if let Some((fb, opts, tx)) = self.fallback.take() {
            match super::open(&fb, &opts) {
                Ok(s) => {
                    let _ = tx.send(s);
                }
                Err(e) => tracing::warn!(
                    source = %self.name,
                    "the fallback cannot be opened ({}); the last frame holds instead",
                    crate::deck::error_chain(&e)
                ),
            }
        }
        let mut backoff = BACKOFF_FIRST;
        let mut first = true;
        // Hardware decoding: asked for on this start; proven once it gave a frame.
        let mut use_hw = self.hw.is_some();
        let mut hw_proven = false;
        while !self.stopped() {
            if !first {
                MediaFaults::count(&self.faults.live_reconnects);
                tracing::info!(source = %self.name, "live source: reconnecting");
            }
            first = false;
            let Some((reason, frames)) = self.run_once(&mut backoff, use_hw) else {
                return;
            };
            if let Some(hw) = self.hw.as_ref().filter(|_| !hw_proven) {
                // No frame with the hardware decoder may be the decoder (a device that does
                // not open, a codec it cannot do) or the stream (not there yet): the next
                // start tries software, and only frames there (where the hardware gave none)
                // turn hardware decoding off for this source.
                match (use_hw, frames > 0) {
                    (true, true) => hw_proven = true,
                    (true, false) => {
                        tracing::info!(
                            source = %self.name,
                            "live source: no frame decoding with {}; trying software next",
                            hw.method
                        );
                        use_hw = false;
                    }
                    (false, true) => {
                        tracing::warn!(
                            source = %self.name,
                            "live source: decoding with {} gave no frame where software \
                             did; decoding it in software",
                            hw.method
                        );
                        self.hw = None;
                    }
                    (false, false) => use_hw = true,
                }
            }
            tracing::warn!(
                source = %self.name,
                "live source: {reason}; reconnecting in {:.1} s",
                backoff.as_secs_f64()
            );
            let until = Instant::now() + backoff;
            while Instant::now() < until {
                if self.stopped() {
                    return;
                }
                std::thread::sleep(POLL);
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// Run one ffmpeg (with the hardware decoder when `hw`) until it ends or stalls
    /// (`Some((why, frames it gave))`) or the source is dropped (`None`).
    fn run_once(&self, backoff: &mut Duration, hw: bool) -> Option<(String, u64)> {
        let mut cmd = Command::new(&self.ff.ffmpeg);
        let hw = self.hw.as_ref().filter(|_| hw);
        cmd.args(ffmpeg_args(&self.input, self.display.as_deref(), hw))
            .stdin(Stdio::null());
        let name = Path::new(&self.name);
        let Piped {
            child,
            pid,
            stdout,
            stderr,
            err_thread,
        } = match spawn_piped(&mut cmd, name, &self.ff.ffmpeg) {
            Ok(p) => p,
            Err(e) => return Some((crate::deck::error_chain(&e), 0)),
        };
        *lock(&self.shared.pid) = Some(pid);
        let start = Instant::now();
        let progress = Arc::new(Progress::default());
        let reader = {
            let (shared, faults, progress) = (
                Arc::clone(&self.shared),
                Arc::clone(&self.faults),
                Arc::clone(&progress),
            );
            let (load, name) = (self.load, self.name.clone());
            std::thread::Builder::new()
                .name("live-read".into())
                .spawn(move || {
                    let end = read_pam(stdout, &shared, &faults, &progress, start, &load, &name);
                    if let Some(t) = err_thread {
                        let _ = t.join();
                    }
                    let said = last_words(&stderr);
                    *lock(&progress.end) = Some(match (end, said.is_empty()) {
                        (Err(e), _) => e,
                        (Ok(()), true) => "ffmpeg ended".into(),
                        (Ok(()), false) => format!("ffmpeg ended; it said: {said}"),
                    });
                })
        };
        let mut running = Running {
            child: Some(child),
            pid,
            reader: None,
            shared: Arc::clone(&self.shared),
        };
        match reader {
            Ok(t) => running.reader = Some(t),
            Err(e) => return Some((format!("cannot start the reader thread: {e}"), 0)),
        }
        if self.stopped() {
            return None;
        }
        let mut good = false;
        loop {
            std::thread::sleep(POLL);
            if self.stopped() {
                return None;
            }
            if running.reader.as_ref().is_some_and(|r| r.is_finished()) {
                let end = lock(&progress.end).take();
                if let Some(r) = running.reader.take() {
                    let _ = r.join();
                }
                let frames = progress.frames.load(Ordering::Relaxed);
                return Some((end.unwrap_or_else(|| "ffmpeg ended".into()), frames));
            }
            let frames = progress.frames.load(Ordering::Relaxed);
            let elapsed = start.elapsed();
            let (bound, from) = if frames == 0 {
                (START_TIMEOUT, Duration::ZERO)
            } else {
                let last = Duration::from_millis(progress.last_ms.load(Ordering::Relaxed));
                (RECONNECT_AFTER, last)
            };
            if !good && frames > 0 && elapsed >= GOOD_PERIOD && elapsed - from < RECONNECT_AFTER {
                good = true;
                *backoff = BACKOFF_FIRST;
            }
            if elapsed.saturating_sub(from) >= bound {
                let why = format!(
                    "ffmpeg gave no {}frame for {:.1} s; killed it",
                    if frames > 0 { "new " } else { "" },
                    bound.as_secs_f64()
                );
                return Some((why, frames));
            }
        }
    }
}

/// The last lines of what ffmpeg said (as much of its start as is kept), on one line.
fn last_words(stderr: &Stderr) -> String {
    let text = stderr_text(stderr);
    let lines: Vec<&str> = text.lines().rev().take(2).collect();
    let mut s: String = lines.into_iter().rev().collect::<Vec<_>>().join(" / ");
    if s.len() > 300 {
        let mut cut = 300;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// Read PAM images from ffmpeg into the shared slot until the pipe ends (`Ok`) or holds
/// something that is not an RGBA PAM image, or one over the limits (`Err(why)`).
fn read_pam(
    stdout: impl Read,
    shared: &Shared,
    faults: &MediaFaults,
    progress: &Progress,
    start: Instant,
    load: &LoadOptions,
    name: &str,
) -> Result<(), String> {
    let mut r = BufReader::with_capacity(1 << 16, stdout);
    let mut back: Vec<u8> = Vec::new();
    loop {
        let (w, h) = match read_header(&mut r) {
            Ok(Some(wh)) => wh,
            Ok(None) => return Ok(()),
            Err(e) => return Err(format!("reading ffmpeg's output failed: {e}")),
        };
        // Three frames circulate (the reader's, the slot's, the render thread's).
        if let Err(e) = check_size(Path::new(name), w, h, 4 * 3, load) {
            return Err(e.to_string());
        }
        back.resize(w as usize * h as usize * 4, 0);
        if let Err(e) = r.read_exact(&mut back) {
            return Err(format!("reading ffmpeg's output failed: {e}"));
        }
        {
            let mut l = lock(&shared.latest);
            if l.seq != l.taken {
                MediaFaults::count(&faults.live_dropped);
            }
            std::mem::swap(&mut l.buf, &mut back);
            l.width = w;
            l.height = h;
            l.seq += 1;
        }
        progress
            .last_ms
            .store(start.elapsed().as_millis() as u64, Ordering::Relaxed);
        progress.frames.fetch_add(1, Ordering::Relaxed);
    }
}

/// One header line into `buf` (without the newline); `None` at the end of the stream
/// before any byte.
fn read_line<'a>(r: &mut impl Read, buf: &'a mut [u8; 80]) -> io::Result<Option<&'a [u8]>> {
    let mut n = 0;
    loop {
        let mut b = [0u8];
        match r.read(&mut b) {
            Ok(0) if n == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        if b[0] == b'\n' {
            return Ok(Some(&buf[..n]));
        }
        if n == buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a PAM header line is too long",
            ));
        }
        buf[n] = b[0];
        n += 1;
    }
}

/// A PAM header (`P7` … `ENDHDR`) of an 8-bit RGBA image: its size; `None` at the end of
/// the stream.
fn read_header(r: &mut impl Read) -> io::Result<Option<(u32, u32)>> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut buf = [0u8; 80];
    match read_line(r, &mut buf)? {
        None => return Ok(None),
        Some(b"P7") => {}
        Some(_) => return Err(bad("not a PAM image")),
    }
    let (mut w, mut h, mut depth, mut maxval) = (0u32, 0u32, 0u32, 0u32);
    loop {
        let Some(line) = read_line(r, &mut buf)? else {
            return Err(io::ErrorKind::UnexpectedEof.into());
        };
        if line == b"ENDHDR" {
            break;
        }
        let text = std::str::from_utf8(line).map_err(|_| bad("a PAM header is not text"))?;
        let (key, value) = text.split_once(' ').unwrap_or((text, ""));
        let num = || value.trim().parse::<u32>().map_err(|_| bad("a PAM number"));
        match key {
            "WIDTH" => w = num()?,
            "HEIGHT" => h = num()?,
            "DEPTH" => depth = num()?,
            "MAXVAL" => maxval = num()?,
            _ => {} // TUPLTYPE, comments
        }
    }
    if depth != 4 || maxval != 255 {
        return Err(bad("the PAM image is not 8-bit RGBA"));
    }
    Ok(Some((w, h)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Option<Result<LiveInput, String>> {
        LiveInput::parse(s)
    }

    #[test]
    fn live_sources_are_recognized_and_checked() {
        for ok in [
            "udp://127.0.0.1:5000",
            "UDP://@:5000",
            "udp://:5000?pkt_size=1316",
            "rtp://239.0.0.1:5004",
            "srt://host:9000?mode=caller",
            "rtsp://user:pw@cam.local/stream1",
            "rtmp://server/live/key",
            "http://127.0.0.1:8080/x.m3u8",
            "HTTPS://[::1]:8443/live.m3u8",
        ] {
            assert_eq!(parse(ok), Some(Ok(LiveInput::Url(ok.into()))), "{ok}");
        }
        for bad in [
            "udp://127.0.0.1",
            "udp://127.0.0.1:0",
            "udp://127.0.0.1:99999",
            "rtsp:///stream",
            "http://",
            "http://a b/x.m3u8",
            "https://[::1/x",
            "v4l2:",
            "v4l2:video0",
            "screen:nope",
            "screen::0/640",
            "screen:/0x10",
        ] {
            assert!(matches!(parse(bad), Some(Err(_))), "{bad}");
        }
        for not_live in [
            "a.mp4",
            "media/clip.mp4",
            "ftp://x/y",
            "pattern:bars",
            "c:/x",
        ] {
            assert_eq!(parse(not_live), None, "{not_live}");
        }
        assert_eq!(
            parse("v4l2:/dev/video0"),
            Some(Ok(LiveInput::V4l2("/dev/video0".into())))
        );
        assert_eq!(
            parse("screen:"),
            Some(Ok(LiveInput::Screen {
                display: None,
                area: None
            }))
        );
        assert_eq!(
            parse("screen::1.0/640x360+100+50"),
            Some(Ok(LiveInput::Screen {
                display: Some(":1.0".into()),
                area: Some(ScreenArea {
                    width: 640,
                    height: 360,
                    x: 100,
                    y: 50
                })
            }))
        );
    }

    #[test]
    fn passwords_are_not_shown() {
        let Some(Ok(i)) = parse("rtsp://admin:secret@cam/1") else {
            panic!()
        };
        assert_eq!(i.display(), "rtsp://admin:***@cam/1");
        let Some(Err(e)) = parse("rtsp://admin:secret@cam:0/1") else {
            panic!()
        };
        assert!(!e.contains("secret"), "{e}");
    }

    fn args(s: &str, display: Option<&str>) -> String {
        let Some(Ok(i)) = parse(s) else { panic!("{s}") };
        ffmpeg_args(&i, display, None).join(" ")
    }

    /// There is no capture device on the test machines: the v4l2 and screen arguments are
    /// checked as text.
    #[test]
    fn ffmpeg_arguments() {
        let tail = "-an -sn -dn -vsync 0 -c:v pam -pix_fmt rgba -f image2pipe pipe:1";
        let head = "-nostdin -nostats -v error -fflags nobuffer -flags low_delay -probesize 500000 -analyzeduration 500000";
        assert_eq!(
            args("v4l2:/dev/video2", None),
            format!("{head} -f v4l2 -i /dev/video2 {tail}")
        );
        assert_eq!(
            args("screen:", Some(":7")),
            format!("{head} -f x11grab -framerate 25 -draw_mouse 0 -i :7 {tail}")
        );
        assert_eq!(
            args("screen:/320x200+5+6", None),
            format!(
                "{head} -f x11grab -framerate 25 -draw_mouse 0 -video_size 320x200 -i :0+5,6 {tail}"
            )
        );
        assert_eq!(
            args("screen::2", Some(":7")),
            format!("{head} -f x11grab -framerate 25 -draw_mouse 0 -i :2 {tail}")
        );
        assert_eq!(
            args("udp://127.0.0.1:5000", None),
            format!("{head} -rw_timeout 3000000 -i udp://127.0.0.1:5000 {tail}")
        );
        assert_eq!(
            args("http://h/live/x.M3U8?t=1", None),
            format!(
                "{head} -rw_timeout 3000000 -live_start_index -1 -re -i http://h/live/x.M3U8?t=1 {tail}"
            )
        );
        assert_eq!(
            args("rtsp://cam/1", None),
            format!("{head} -rw_timeout 3000000 -timeout 3000000 -i rtsp://cam/1 {tail}")
        );
        // Hardware decoding: before the input, for streams only.
        let hw = HwDecode {
            method: "vaapi",
            device: Some("/dev/dri/renderD128".into()),
        };
        let with = |s: &str| {
            let Some(Ok(i)) = parse(s) else { panic!("{s}") };
            ffmpeg_args(&i, None, Some(&hw)).join(" ")
        };
        assert_eq!(
            with("udp://127.0.0.1:5000"),
            format!(
                "{head} -rw_timeout 3000000 -hwaccel vaapi -hwaccel_device /dev/dri/renderD128 -i udp://127.0.0.1:5000 {tail}"
            )
        );
        assert_eq!(
            with("v4l2:/dev/video2"),
            format!("{head} -f v4l2 -i /dev/video2 {tail}")
        );
    }

    /// The reader keeps only the newest frame, counts the ones replaced before anyone
    /// took them, and follows a change of size (a stream that came back in another one).
    #[test]
    fn the_newest_frame_wins_and_sizes_may_change() {
        let mut data = Vec::new();
        for (w, h, v) in [(2u32, 1u32, 10u8), (2, 1, 20), (1, 2, 30)] {
            data.extend_from_slice(
                format!(
                    "P7\nWIDTH {w}\nHEIGHT {h}\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n"
                )
                .as_bytes(),
            );
            data.extend(std::iter::repeat_n(v, (w * h * 4) as usize));
        }
        let (shared, faults, progress) = (
            Shared::default(),
            MediaFaults::default(),
            Progress::default(),
        );
        let load = LoadOptions::default();
        let r = read_pam(
            &data[..],
            &shared,
            &faults,
            &progress,
            Instant::now(),
            &load,
            "x",
        );
        assert_eq!(r, Ok(()));
        let l = lock(&shared.latest);
        assert_eq!((l.width, l.height, l.seq), (1, 2, 3));
        assert_eq!(l.buf, [30; 8]);
        assert_eq!(faults.live_dropped.load(Ordering::Relaxed), 2);
        assert_eq!(progress.frames.load(Ordering::Relaxed), 3);
        drop(l);
        // Over the limits: an error naming the source, not a frame.
        let small = LoadOptions {
            max_pixels: 1,
            ..LoadOptions::default()
        };
        let r = read_pam(
            &data[..],
            &shared,
            &faults,
            &progress,
            Instant::now(),
            &small,
            "cam",
        );
        assert!(r.is_err_and(|e| e.contains("cam")));
        // Cut short mid-frame.
        let r = read_pam(
            &data[..80],
            &shared,
            &faults,
            &progress,
            Instant::now(),
            &load,
            "x",
        );
        assert!(r.is_err());
    }

    #[test]
    fn pam_headers_are_read() {
        let mut data: &[u8] =
            b"P7\nWIDTH 3\nHEIGHT 2\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n";
        assert_eq!(read_header(&mut data).unwrap(), Some((3, 2)));
        assert_eq!(read_header(&mut data).unwrap(), None);
        let mut rgb: &[u8] = b"P7\nWIDTH 3\nHEIGHT 2\nDEPTH 3\nMAXVAL 255\nENDHDR\n";
        assert!(read_header(&mut rgb).is_err());
        let mut cut: &[u8] = b"P7\nWIDTH 3\n";
        assert!(read_header(&mut cut).is_err());
    }
}
