//! `preview:PATH`: a PNG of the emulated wall (`ledwall_render::emulate`) every N ticks.
//!
//! The sink keeps a copy of its ports' latest buffers; on every N-th tick it hands a copy of
//! them to a worker thread, which emulates the wall, encodes the PNG and replaces `PATH`
//! atomically (write `PATH.tmp`, rename), so a viewer never sees half a file and the output
//! thread never waits for an encoder. When the worker is still busy with the previous
//! preview the new one is skipped. `{tick}` in `PATH` is replaced by the tick number
//! (`preview:out/wall-{tick}.png` keeps every preview). Ports of the wall that go to other
//! sinks show dark.

use super::{ErrorLog, PortShape, Sink, SinkError, SinkStats, check_port};
use image::{ExtendedColorType, ImageFormat};
use ledwall_render::emulate::emulate;
use ledwall_render::{Geometry, WallFrame};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

enum Job {
    Frame(WallFrame),
    /// Reply when every earlier job is done.
    Flush(SyncSender<()>),
}

#[derive(Debug, Default)]
struct Shared {
    written: AtomicU64,
    errors: AtomicU64,
    log: Mutex<ErrorLog>,
}

/// Writes previews.
pub struct PreviewSink {
    url: String,
    path: PathBuf,
    every: u64,
    shapes: Vec<PortShape>,
    /// Wall port index of each of the sink's ports.
    ports: Vec<usize>,
    frame: WallFrame,
    jobs: Option<SyncSender<Job>>,
    worker: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
    stats: SinkStats,
    log: ErrorLog,
    sent: bool,
    skipped: u64,
}

impl std::fmt::Debug for PreviewSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreviewSink")
            .field("url", &self.url)
            .field("path", &self.path)
            .field("every", &self.every)
            .field("ports", &self.ports)
            .finish_non_exhaustive()
    }
}

/// `path` with `{tick}` replaced by `tick`.
pub fn tick_path(path: &Path, tick: u64) -> PathBuf {
    let s = path.to_string_lossy();
    if s.contains("{tick}") {
        PathBuf::from(s.replace("{tick}", &tick.to_string()))
    } else {
        path.to_path_buf()
    }
}

impl PreviewSink {
    /// A preview of the wall ports `ports` of `geometry`, every `every` ticks (ticks
    /// divisible by `every`, so tick 0 is previewed).
    pub fn new(
        url: impl Into<String>,
        path: &Path,
        ports: &[usize],
        geometry: &Geometry,
        every: u64,
    ) -> Result<PreviewSink, SinkError> {
        let url = url.into();
        let mut shapes = Vec::with_capacity(ports.len());
        for &i in ports {
            let p = geometry.ports.get(i).ok_or_else(|| SinkError::Config {
                url: url.clone(),
                reason: format!("port {i} does not exist"),
            })?;
            shapes.push(PortShape {
                format: p.format,
                bytes: p.byte_len(),
            });
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| SinkError::Io {
                url: url.clone(),
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let shared = Arc::new(Shared::default());
        let (tx, rx) = mpsc::sync_channel(1);
        let worker = {
            let geometry = geometry.clone();
            let shared = Arc::clone(&shared);
            let worker_url = url.clone();
            let path = path.to_path_buf();
            std::thread::Builder::new()
                .name("ledwall-preview".into())
                .spawn(move || work(&worker_url, &path, &geometry, &rx, &shared))
                .map_err(|source| SinkError::Io {
                    url: url.clone(),
                    path: PathBuf::new(),
                    source,
                })?
        };
        Ok(PreviewSink {
            url,
            path: path.to_path_buf(),
            every: every.max(1),
            shapes,
            ports: ports.to_vec(),
            frame: WallFrame::new(geometry),
            jobs: Some(tx),
            worker: Some(worker),
            shared,
            stats: SinkStats::default(),
            log: ErrorLog::default(),
            sent: false,
            skipped: 0,
        })
    }

    /// Previews skipped because the worker was still busy.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}

fn work(url: &str, path: &Path, geometry: &Geometry, jobs: &Receiver<Job>, shared: &Shared) {
    for job in jobs {
        match job {
            Job::Frame(frame) => match write_png(path, geometry, &frame) {
                Ok(()) => {
                    shared.written.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    shared.errors.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut log) = shared.log.lock() {
                        log.record(url, format_args!("{e}"));
                    }
                }
            },
            Job::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

fn write_png(path: &Path, geometry: &Geometry, frame: &WallFrame) -> Result<(), String> {
    let path = tick_path(path, frame.frame_number);
    let shown = emulate(geometry, frame);
    let mut tmp = path.clone().into_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    image::save_buffer_with_format(
        &tmp,
        &shown.to_rgba8(),
        shown.width,
        shown.height,
        ExtendedColorType::Rgba8,
        ImageFormat::Png,
    )
    .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

impl Sink for PreviewSink {
    fn url(&self) -> &str {
        &self.url
    }

    fn send(&mut self, port: usize, bytes: &[u8], _tick: u64) {
        if !check_port(&self.shapes, port, bytes, &self.url, &mut self.log) {
            return;
        }
        let Some(buf) = self
            .ports
            .get(port)
            .and_then(|&i| self.frame.ports.get_mut(i))
        else {
            return;
        };
        if buf.bytes.len() == bytes.len() {
            buf.bytes.copy_from_slice(bytes);
            self.stats.bytes += bytes.len() as u64;
            self.sent = true;
        }
    }

    fn sync(&mut self, tick: u64) {
        if !std::mem::take(&mut self.sent) {
            return;
        }
        self.stats.frames += 1;
        if !tick.is_multiple_of(self.every) {
            return;
        }
        let Some(jobs) = &self.jobs else {
            return;
        };
        self.frame.frame_number = tick;
        match jobs.try_send(Job::Frame(self.frame.clone())) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.skipped += 1,
            Err(TrySendError::Disconnected(_)) => {
                self.log
                    .record(&self.url, format_args!("the preview worker has stopped"));
            }
        }
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let stopped = || SinkError::Config {
            url: self.url.clone(),
            reason: "the preview worker has stopped".into(),
        };
        let jobs = self.jobs.as_ref().ok_or_else(stopped)?;
        jobs.send(Job::Flush(tx)).map_err(|_| stopped())?;
        rx.recv().map_err(|_| stopped())
    }

    fn stats(&self) -> SinkStats {
        SinkStats {
            packets: self.shared.written.load(Ordering::Relaxed),
            errors: self.log.total() + self.shared.errors.load(Ordering::Relaxed),
            ..self.stats
        }
    }
}

impl Drop for PreviewSink {
    fn drop(&mut self) {
        // Closing the channel ends the worker after the jobs already queued.
        self.jobs = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}
