//! `file:PATH`: every tick's port buffers back to back in one file, with a JSON sidecar at
//! `PATH.json` (design §5).
//!
//! A frame is the buffers of the sink's ports in wall order (exactly the bytes of §5 / §6),
//! `frame_bytes` long; frame k of the file starts at byte k × `frame_bytes`. The sidecar
//! says, besides the wall and its canvas, each port's `offset` in a frame and its layout as
//! in `frame.json` ([`crate::layout`]), and how many whole frames the file holds.
//!
//! **Whole frames or nothing.** The output thread only copies each tick's port buffers into
//! a free frame buffer of a small ring (preallocated when the sink opens, at most
//! [`RING_BYTES`] and [`RING_FRAMES`] frames) and hands the whole frame to a writer thread,
//! which writes it at its place in the file (byte k × `frame_bytes`). A write that fails or
//! stops short (a full disk) cuts the file back to its last whole frame; the frame is
//! counted as an error and logged (at most once a second) with the path and the system's
//! reason, and the next frame that can be written goes to the same frame boundary, so the
//! file never holds a part of a frame or a shifted one. [`Sink::stats`] counts the frames
//! and bytes that reached the file, not those handed to the sink.
//!
//! **The output thread never waits for the disk.** When every buffer of the ring is still
//! waiting for the writer, the sink waits at most one tick period (bounded to 4–20 ms) for
//! one, then drops the frame (counted, logged) and drops further frames without waiting
//! until the writer has freed half of the ring again: a stalled disk costs one late tick,
//! not every tick. Steady-state sending allocates nothing on either thread.
//!
//! **The sidecar stays current.** Its `frames` is rewritten at most once every
//! [`SIDECAR_EVERY`] while frames are written, when the writer goes idle, at
//! [`Sink::flush`] and when the sink is closed or dropped, each time as `PATH.json.tmp`
//! renamed over `PATH.json` (never half-written), and only after the writes of the frames it
//! counts have returned: a reader that trusts it reads whole frames only, even after the
//! player was killed (nothing is synced to the disk: a power cut is not covered).
//!
//! **Only regular files get a sidecar.** `PATH` may be a character device such as
//! `/dev/null` or `/dev/full`, or a FIFO (frames are written there in turn and counted,
//! writes that fail are errors); it is not cut back and no sidecar is written beside it
//! (there is no file of whole frames to describe, and a `/dev/full.json` would be junk in
//! `/dev`). A FIFO that nobody reads is refused when the sink opens instead of waiting for
//! a reader.
//!
//! [`Sink::flush`] waits for the writer (at most [`FLUSH_TIMEOUT`]) and fails when frames
//! were lost to write errors, a slow disk or incomplete ticks since the sink opened, saying
//! how many and why, so `ledwall play` can end with an error.

use super::{ErrorLog, PortShape, Sink, SinkError, SinkStats, check_port};
use crate::layout::{self, PortInfo};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError, bounded};
use ledwall_render::geometry::PortMap;
use ledwall_render::{Geometry, Wall};
use serde::Serialize;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest time the sidecar's frame count lags behind the file while frames are written.
pub const SIDECAR_EVERY: Duration = Duration::from_secs(1);

/// Most memory the ring of frame buffers takes (at least [`RING_MIN`] frames are kept).
pub const RING_BYTES: usize = 16 << 20;

/// Most frames in the ring.
pub const RING_FRAMES: usize = 32;

/// Fewest frames in the ring, whatever their size.
pub const RING_MIN: usize = 3;

/// Longest wait of [`Sink::flush`] and of dropping the sink for the writer thread.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Shortest and longest wait for a free frame buffer before a frame is dropped.
const WAIT_MIN: Duration = Duration::from_millis(4);
const WAIT_MAX: Duration = Duration::from_millis(20);

/// The frame count the sidecar template holds in place of the real one.
const FRAMES_MARK: u64 = u64::MAX;

/// The sidecar.
#[derive(Debug, Serialize)]
struct Sidecar<'a> {
    wall: &'a str,
    canvas: [u32; 2],
    refresh_hz: u32,
    /// Bytes per frame.
    frame_bytes: usize,
    /// Frames in the file.
    frames: u64,
    ports: Vec<SidecarPort<'a>>,
}

#[derive(Debug, Serialize)]
struct SidecarPort<'a> {
    /// Byte offset of the port's buffer in each frame.
    offset: usize,
    #[serde(flatten)]
    info: PortInfo<'a>,
}

/// What the writer thread reports to the sink.
#[derive(Debug, Default)]
struct Shared {
    /// Whole frames in the file.
    frames: AtomicU64,
    /// Bytes of those frames.
    bytes: AtomicU64,
    /// Frames not written because a write failed.
    failed: AtomicU64,
    /// Errors counted by the writer (failed frames, sidecar writes).
    errors: AtomicU64,
    /// The system error number of the last failed frame write (0: none or not a system
    /// error).
    last_os_error: AtomicI32,
}

enum Job {
    /// A whole frame to append; the buffer goes back to the sink afterwards.
    Frame(Vec<u8>),
    /// Bring the sidecar up to date and answer with its result.
    Flush(Sender<Result<(), std::io::Error>>),
}

/// Writes frames to a file.
pub struct FileSink {
    url: String,
    path: PathBuf,
    shapes: Vec<PortShape>,
    /// Byte offset of each port in a frame.
    offsets: Vec<usize>,
    frame_bytes: usize,
    /// Frame buffers in the ring.
    ring: usize,
    /// Longest wait for a free buffer.
    wait: Duration,
    jobs: Option<Sender<Job>>,
    free: Receiver<Vec<u8>>,
    /// The frame being filled this tick.
    current: Option<Vec<u8>>,
    /// Ports of the current frame copied so far.
    filled: Vec<bool>,
    /// Whether a port was sent this tick.
    sent: bool,
    /// No free buffer came within the wait: drop frames without waiting until half the ring
    /// is free again.
    stalled: bool,
    /// Frames dropped because no buffer was free.
    dropped: u64,
    /// Frames not written because a port's buffer was missing or refused.
    incomplete: u64,
    log: ErrorLog,
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
    /// Disconnected once the writer thread has ended.
    exited: Receiver<()>,
}

impl std::fmt::Debug for FileSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSink")
            .field("url", &self.url)
            .field("path", &self.path)
            .field("frame_bytes", &self.frame_bytes)
            .field("ring", &self.ring)
            .finish_non_exhaustive()
    }
}

/// The sidecar's path: `PATH.json`.
pub fn sidecar_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

/// The sidecar's text around its frame count, and the buffer it is written from (its
/// capacity holds any count, so rewriting it allocates nothing).
#[derive(Debug)]
struct SidecarFile {
    path: PathBuf,
    tmp: PathBuf,
    head: Vec<u8>,
    tail: Vec<u8>,
    text: Vec<u8>,
}

impl SidecarFile {
    /// Write `frames` into `PATH.json.tmp`, then rename it over `PATH.json`.
    fn write(&mut self, frames: u64) -> Result<(), (PathBuf, std::io::Error)> {
        let mut digits = [0u8; 20];
        let mut n = frames;
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.text.clear();
        self.text.extend_from_slice(&self.head);
        self.text.extend_from_slice(&digits[at..]);
        self.text.extend_from_slice(&self.tail);
        let written = File::create(&self.tmp).and_then(|mut f| f.write_all(&self.text));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&self.tmp);
            return Err((self.tmp.clone(), e));
        }
        std::fs::rename(&self.tmp, &self.path).map_err(|e| {
            let _ = std::fs::remove_file(&self.tmp);
            (self.path.clone(), e)
        })
    }
}

/// The writer thread's state.
struct Writer {
    url: String,
    path: PathBuf,
    file: File,
    /// A regular file: frames go at their offset, failures cut it back, it has a sidecar.
    regular: bool,
    frame_bytes: u64,
    sidecar: Option<SidecarFile>,
    /// The frame count the sidecar on disk says.
    sidecar_frames: u64,
    sidecar_at: Instant,
    /// Whole frames in the file.
    whole: u64,
    shared: Arc<Shared>,
    log: ErrorLog,
}

impl Writer {
    fn run(mut self, jobs: &Receiver<Job>, free: &Sender<Vec<u8>>) {
        loop {
            match jobs.recv_timeout(SIDECAR_EVERY) {
                Ok(Job::Frame(buf)) => {
                    self.frame(&buf);
                    // The ring's channel holds every buffer: this never waits.
                    let _ = free.send(buf);
                    if self.sidecar_at.elapsed() >= SIDECAR_EVERY {
                        self.update_sidecar();
                    }
                }
                Ok(Job::Flush(reply)) => {
                    let r = self.write_sidecar().map_err(|(_, e)| e);
                    let _ = reply.send(r);
                }
                Err(RecvTimeoutError::Timeout) => self.update_sidecar(),
                Err(RecvTimeoutError::Disconnected) => {
                    self.update_sidecar();
                    return;
                }
            }
        }
    }

    /// Append one whole frame, or leave the file at its last whole frame.
    fn frame(&mut self, buf: &[u8]) {
        let written = if self.regular {
            self.file.write_all_at(buf, self.whole * self.frame_bytes)
        } else {
            self.file.write_all(buf)
        };
        match written {
            Ok(()) => {
                self.whole += 1;
                self.shared
                    .bytes
                    .fetch_add(buf.len() as u64, Ordering::Relaxed);
                self.shared.frames.store(self.whole, Ordering::Release);
            }
            Err(e) => {
                self.shared.failed.fetch_add(1, Ordering::Relaxed);
                self.shared
                    .last_os_error
                    .store(e.raw_os_error().unwrap_or(0), Ordering::Relaxed);
                let cut = if self.regular {
                    self.file.set_len(self.whole * self.frame_bytes).err()
                } else {
                    None
                };
                let path = self.path.display();
                let whole = self.whole;
                match cut {
                    None => self.log.record(
                        &self.url,
                        format_args!(
                            "cannot write {path}: {e}; frame {} not written, the file \
                             keeps its {whole} whole frames",
                            whole + 1
                        ),
                    ),
                    Some(c) => self.log.record(
                        &self.url,
                        format_args!(
                            "cannot write {path}: {e}; frame {} not written, and the file \
                             cannot be cut back to its {whole} whole frames: {c}",
                            whole + 1
                        ),
                    ),
                }
                self.shared
                    .errors
                    .store(self.log.total(), Ordering::Relaxed);
            }
        }
    }

    /// Rewrite the sidecar if its count is behind the file.
    fn update_sidecar(&mut self) {
        if self.sidecar.is_some()
            && self.sidecar_frames != self.whole
            && let Err((path, e)) = self.write_sidecar()
        {
            self.log.record(
                &self.url,
                format_args!("cannot write {}: {e}", path.display()),
            );
            self.shared
                .errors
                .store(self.log.total(), Ordering::Relaxed);
        }
    }

    fn write_sidecar(&mut self) -> Result<(), (PathBuf, std::io::Error)> {
        let Some(sidecar) = &mut self.sidecar else {
            return Ok(());
        };
        self.sidecar_at = Instant::now();
        sidecar.write(self.whole)?;
        self.sidecar_frames = self.whole;
        Ok(())
    }
}

impl FileSink {
    /// Create (truncate) `path` and its sidecar for the wall ports `ports`, and start the
    /// writer thread.
    pub fn create(
        url: impl Into<String>,
        path: &Path,
        ports: &[usize],
        wall: &Wall,
        geometry: &Geometry,
    ) -> Result<FileSink, SinkError> {
        let url = url.into();
        let mut maps = Vec::with_capacity(ports.len());
        for &i in ports {
            let p = geometry.ports.get(i).ok_or_else(|| SinkError::Config {
                url: url.clone(),
                reason: format!("port {i} does not exist"),
            })?;
            maps.push(PortMap {
                slots: Vec::new(),
                order: Vec::new(),
                runs: Vec::new(),
                ..p.clone()
            });
        }
        let io = |path: &Path| {
            let url = url.clone();
            let path = path.to_path_buf();
            move |source| SinkError::Io { url, path, source }
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let file = open_for_writing(path).map_err(io(path))?;
        let regular = file.metadata().map_err(io(path))?.file_type().is_file();
        let shapes: Vec<PortShape> = maps
            .iter()
            .map(|p| PortShape {
                format: p.format,
                bytes: p.byte_len(),
            })
            .collect();
        let mut offsets = Vec::with_capacity(shapes.len());
        let mut frame_bytes = 0;
        for s in &shapes {
            offsets.push(frame_bytes);
            frame_bytes += s.bytes;
        }
        let sidecar = if regular {
            let mut s = sidecar_template(&url, path, &maps, &shapes, wall, geometry)?;
            s.write(0).map_err(|(p, e)| io(&p)(e))?;
            Some(s)
        } else {
            None
        };

        let ring = (RING_BYTES / frame_bytes.max(1)).clamp(RING_MIN, RING_FRAMES);
        let (free_tx, free) = bounded(ring);
        for _ in 0..ring {
            // The channel has room for the whole ring.
            let _ = free_tx.send(vec![0u8; frame_bytes]);
        }
        // Room for every frame buffer and a flush request: sending never waits.
        let (jobs, job_rx) = bounded(ring + 1);
        let (exit_tx, exited) = bounded::<()>(0);
        let shared = Arc::new(Shared::default());
        let writer = Writer {
            url: url.clone(),
            path: path.to_path_buf(),
            file,
            regular,
            frame_bytes: frame_bytes as u64,
            sidecar,
            sidecar_frames: 0,
            sidecar_at: Instant::now(),
            whole: 0,
            shared: Arc::clone(&shared),
            log: ErrorLog::default(),
        };
        let worker = std::thread::Builder::new()
            .name("ledwall-file".into())
            .spawn(move || {
                let _exit = exit_tx;
                writer.run(&job_rx, &free_tx);
            })
            .map_err(|e| SinkError::Config {
                url: url.clone(),
                reason: format!("cannot start the writer thread: {e}"),
            })?;
        let period = Duration::from_secs(1) / wall.refresh_hz.max(1);
        Ok(FileSink {
            filled: vec![false; shapes.len()],
            url,
            path: path.to_path_buf(),
            shapes,
            offsets,
            frame_bytes,
            ring,
            wait: period.clamp(WAIT_MIN, WAIT_MAX),
            jobs: Some(jobs),
            free,
            current: None,
            sent: false,
            stalled: false,
            dropped: 0,
            incomplete: 0,
            log: ErrorLog::default(),
            shared,
            worker: Some(worker),
            exited,
        })
    }

    /// The data file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes per frame.
    pub fn frame_bytes(&self) -> usize {
        self.frame_bytes
    }

    /// Frame buffers in the ring between the output thread and the writer.
    pub fn ring(&self) -> usize {
        self.ring
    }

    /// Frames lost since the sink opened: failed writes, dropped for a slow disk, or
    /// incomplete.
    pub fn lost(&self) -> u64 {
        self.dropped + self.incomplete + self.shared.failed.load(Ordering::Relaxed)
    }

    /// A free frame buffer, waiting for one only while the writer keeps up.
    fn take_buffer(&mut self) -> Option<Vec<u8>> {
        match self.free.try_recv() {
            Ok(buf) => {
                if self.stalled && self.free.len() + 1 >= self.ring.div_ceil(2) {
                    self.stalled = false;
                }
                return Some(buf);
            }
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => {}
        }
        if self.stalled {
            return None;
        }
        match self.free.recv_timeout(self.wait) {
            Ok(buf) => Some(buf),
            Err(_) => {
                self.stalled = true;
                None
            }
        }
    }

    fn lost_error(&self, lost: u64) -> SinkError {
        let failed = self.shared.failed.load(Ordering::Relaxed);
        let os = self.shared.last_os_error.load(Ordering::Relaxed);
        let mut why = Vec::new();
        if failed > 0 {
            if os != 0 {
                let e = std::io::Error::from_raw_os_error(os);
                why.push(format!("{failed} could not be written ({e})"));
            } else {
                why.push(format!("{failed} could not be written"));
            }
        }
        if self.dropped > 0 {
            why.push(format!(
                "{} were dropped because the disk did not take them in time",
                self.dropped
            ));
        }
        if self.incomplete > 0 {
            why.push(format!(
                "{} were incomplete (a port's buffer was missing or refused)",
                self.incomplete
            ));
        }
        let written = self.shared.frames.load(Ordering::Acquire);
        let source = if failed > 0 && os != 0 {
            std::io::Error::from_raw_os_error(os).kind()
        } else {
            std::io::ErrorKind::Other
        };
        SinkError::Io {
            url: self.url.clone(),
            path: self.path.clone(),
            source: std::io::Error::new(
                source,
                format!(
                    "{lost} frame(s) lost, {written} written: {}",
                    why.join("; ")
                ),
            ),
        }
    }
}

impl FileSink {
    /// End the writer thread: it writes the frames already queued and brings the sidecar up
    /// to date first. Waits at most [`FLUSH_TIMEOUT`], then leaves it behind.
    fn stop(&mut self) -> Result<(), SinkError> {
        self.jobs = None;
        let Some(worker) = self.worker.take() else {
            return Ok(());
        };
        let err = |reason: String| SinkError::Io {
            url: self.url.clone(),
            path: self.path.clone(),
            source: std::io::Error::other(reason),
        };
        if let Err(RecvTimeoutError::Timeout) = self.exited.recv_timeout(FLUSH_TIMEOUT) {
            return Err(err(format!(
                "the writer has not finished in {} s (the disk does not answer); left behind",
                FLUSH_TIMEOUT.as_secs()
            )));
        }
        worker
            .join()
            .map_err(|_| err("the writer thread panicked".into()))
    }
}

/// Create or truncate `path` for writing without waiting on it: a FIFO that nobody reads
/// is an error at once (instead of an open that waits for a reader for ever).
fn open_for_writing(path: &Path) -> std::io::Result<File> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENXIO) => {
                std::io::Error::new(e.kind(), format!("a FIFO that nobody reads ({e})"))
            }
            _ => e,
        })?;
    // Writes block again (on the writer thread): a FIFO's reader sets the pace.
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor `file` owns, with integer arguments only.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(file)
}

/// The sidecar's text for these ports, cut around its frame count.
fn sidecar_template(
    url: &str,
    path: &Path,
    maps: &[PortMap],
    shapes: &[PortShape],
    wall: &Wall,
    geometry: &Geometry,
) -> Result<SidecarFile, SinkError> {
    let sidecar_path = sidecar_path(path);
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut offset = 0;
    let mut ports = Vec::with_capacity(maps.len());
    for (p, s) in maps.iter().zip(shapes) {
        ports.push(SidecarPort {
            offset,
            info: PortInfo::new(p, file.clone()),
        });
        offset += s.bytes;
    }
    let sidecar = Sidecar {
        wall: &wall.name,
        canvas: [geometry.width, geometry.height],
        refresh_hz: wall.refresh_hz,
        frame_bytes: offset,
        frames: FRAMES_MARK,
        ports,
    };
    let err = |reason: String| SinkError::Io {
        url: url.to_string(),
        path: sidecar_path.clone(),
        source: std::io::Error::other(reason),
    };
    let text = layout::to_json_text(&sidecar).map_err(|e| err(e.to_string()))?;
    let mark = format!("\"frames\": {FRAMES_MARK}");
    let at = text
        .find(&mark)
        .ok_or_else(|| err("the sidecar has no frame count".into()))?;
    let cut = at + mark.len() - FRAMES_MARK.to_string().len();
    let (head, tail) = (&text.as_bytes()[..cut], &text.as_bytes()[at + mark.len()..]);
    let mut tmp = sidecar_path.clone().into_os_string();
    tmp.push(".tmp");
    Ok(SidecarFile {
        path: sidecar_path,
        tmp: PathBuf::from(tmp),
        head: head.to_vec(),
        tail: tail.to_vec(),
        text: Vec::with_capacity(text.len()),
    })
}

impl Sink for FileSink {
    fn url(&self) -> &str {
        &self.url
    }

    fn send(&mut self, port: usize, bytes: &[u8], _tick: u64) {
        // A refused buffer still makes this tick's frame (incomplete: not written).
        if !std::mem::replace(&mut self.sent, true) && self.current.is_none() {
            self.current = self.take_buffer();
        }
        if !check_port(&self.shapes, port, bytes, &self.url, &mut self.log) {
            return;
        }
        let (Some(buf), Some(&at)) = (&mut self.current, self.offsets.get(port)) else {
            return;
        };
        if let Some(dst) = buf.get_mut(at..at + bytes.len()) {
            dst.copy_from_slice(bytes);
            if let Some(f) = self.filled.get_mut(port) {
                *f = true;
            }
        }
    }

    fn sync(&mut self, _tick: u64) {
        if !std::mem::take(&mut self.sent) {
            return;
        }
        let whole = self.filled.iter().all(|&f| f);
        let have: usize = self
            .filled
            .iter()
            .zip(&self.shapes)
            .filter(|(f, _)| **f)
            .map(|(_, s)| s.bytes)
            .sum();
        self.filled.fill(false);
        match self.current.take() {
            Some(buf) if whole => match &self.jobs {
                Some(jobs) => match jobs.try_send(Job::Frame(buf)) {
                    Ok(()) => {}
                    Err(e) => {
                        // Not reachable while the writer lives (the channel holds the ring).
                        if let Job::Frame(buf) = e.into_inner() {
                            self.current = Some(buf);
                        }
                        self.dropped += 1;
                        self.log.record(
                            &self.url,
                            format_args!(
                                "the writer thread of {} has stopped",
                                self.path.display()
                            ),
                        );
                    }
                },
                None => self.current = Some(buf),
            },
            Some(buf) => {
                // Kept for the next tick; this frame is not written.
                self.current = Some(buf);
                self.incomplete += 1;
                let frame = self.frame_bytes;
                self.log.record(
                    &self.url,
                    format_args!(
                        "a frame has {have} of its {frame} bytes: not written to {}",
                        self.path.display()
                    ),
                );
            }
            None => {
                self.dropped += 1;
                let ring = self.ring;
                self.log.record(
                    &self.url,
                    format_args!(
                        "{} does not keep up (all {ring} frame buffers wait for the disk): \
                         frame dropped",
                        self.path.display()
                    ),
                );
            }
        }
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        let stopped = |reason: String| SinkError::Io {
            url: self.url.clone(),
            path: self.path.clone(),
            source: std::io::Error::other(reason),
        };
        let jobs = self
            .jobs
            .as_ref()
            .ok_or_else(|| stopped("the writer thread has stopped".into()))?;
        let (tx, rx) = bounded(1);
        let late = || {
            format!(
                "the disk has not taken the queued frames in {} s",
                FLUSH_TIMEOUT.as_secs()
            )
        };
        let deadline = Instant::now() + FLUSH_TIMEOUT;
        jobs.send_deadline(Job::Flush(tx), deadline)
            .map_err(|_| stopped(late()))?;
        let sidecar = match rx.recv_deadline(deadline) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => return Err(stopped(late())),
            Err(RecvTimeoutError::Disconnected) => {
                return Err(stopped("the writer thread has stopped".into()));
            }
        };
        let lost = self.lost();
        if lost > 0 {
            if let Err(e) = &sidecar {
                tracing::error!(sink = %self.url, "cannot write {}: {e}", sidecar_path(&self.path).display());
            }
            return Err(self.lost_error(lost));
        }
        sidecar.map_err(|source| SinkError::Io {
            url: self.url.clone(),
            path: sidecar_path(&self.path),
            source,
        })
    }

    /// Stop the writer thread once it has written the frames queued and the sidecar.
    fn close(&mut self) -> Result<(), SinkError> {
        self.stop()
    }

    fn stats(&self) -> SinkStats {
        let frames = self.shared.frames.load(Ordering::Acquire);
        SinkStats {
            frames,
            bytes: self.shared.bytes.load(Ordering::Relaxed),
            packets: frames,
            errors: self.log.total() + self.shared.errors.load(Ordering::Relaxed),
        }
    }
}

impl Drop for FileSink {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::error!(sink = %self.url, "{e}");
        }
    }
}
