//! `file:PATH`: every tick's port buffers back to back in one file, with a JSON sidecar at
//! `PATH.json` (design §5).
//!
//! A frame is the buffers of the sink's ports in wall order (exactly the bytes of §5 / §6),
//! `frame_bytes` long; frame k of the file starts at byte k × `frame_bytes`. The sidecar
//! says, besides the wall and its canvas, each port's `offset` in a frame and its layout as
//! in `frame.json` ([`crate::layout`]), and how many frames were written (updated by
//! [`Sink::flush`]).
//!
//! Writes go through a 64 KiB buffer, pushed to the file at least every
//! [`FLUSH_EVERY`], so a file being watched while the wall plays (`tail -c`, a test
//! following the control API's effect) is never more than that behind.

use super::{ErrorLog, PortShape, Sink, SinkError, SinkStats, check_port};
use crate::layout::{self, PortInfo};
use ledwall_render::geometry::PortMap;
use ledwall_render::{Geometry, Wall};
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Longest time written frames wait in the buffer before they go to the file.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

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

/// Writes frames to a file.
#[derive(Debug)]
pub struct FileSink {
    url: String,
    path: PathBuf,
    sidecar_path: PathBuf,
    writer: BufWriter<File>,
    shapes: Vec<PortShape>,
    /// The sink's ports without their slot tables (only the layout is described).
    ports: Vec<PortMap>,
    wall: String,
    canvas: [u32; 2],
    refresh_hz: u32,
    stats: SinkStats,
    log: ErrorLog,
    sent: bool,
    /// Bytes of the current frame written so far.
    frame_fill: usize,
    /// When the buffer last went to the file.
    flushed: Instant,
}

/// The sidecar's path: `PATH.json`.
pub fn sidecar_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

impl FileSink {
    /// Create (truncate) `path` and its sidecar for the wall ports `ports`.
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
        let file = File::create(path).map_err(io(path))?;
        let sink = FileSink {
            shapes: maps
                .iter()
                .map(|p| PortShape {
                    format: p.format,
                    bytes: p.byte_len(),
                })
                .collect(),
            url: url.clone(),
            path: path.to_path_buf(),
            sidecar_path: sidecar_path(path),
            writer: BufWriter::with_capacity(1 << 16, file),
            ports: maps,
            wall: wall.name.clone(),
            canvas: [geometry.width, geometry.height],
            refresh_hz: wall.refresh_hz,
            stats: SinkStats::default(),
            log: ErrorLog::default(),
            sent: false,
            frame_fill: 0,
            flushed: Instant::now(),
        };
        sink.write_sidecar()?;
        Ok(sink)
    }

    /// The data file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes per frame.
    pub fn frame_bytes(&self) -> usize {
        self.shapes.iter().map(|s| s.bytes).sum()
    }

    fn write_sidecar(&self) -> Result<(), SinkError> {
        let file = self
            .path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut offset = 0;
        let mut ports = Vec::with_capacity(self.ports.len());
        for (p, s) in self.ports.iter().zip(&self.shapes) {
            ports.push(SidecarPort {
                offset,
                info: PortInfo::new(p, file.clone()),
            });
            offset += s.bytes;
        }
        let sidecar = Sidecar {
            wall: &self.wall,
            canvas: self.canvas,
            refresh_hz: self.refresh_hz,
            frame_bytes: offset,
            frames: self.stats.frames,
            ports,
        };
        let err = |source| SinkError::Io {
            url: self.url.clone(),
            path: self.sidecar_path.clone(),
            source,
        };
        let text = layout::to_json_text(&sidecar).map_err(|e| err(e.into()))?;
        std::fs::write(&self.sidecar_path, text).map_err(err)
    }
}

impl Sink for FileSink {
    fn url(&self) -> &str {
        &self.url
    }

    fn send(&mut self, port: usize, bytes: &[u8], _tick: u64) {
        if !check_port(&self.shapes, port, bytes, &self.url, &mut self.log) {
            self.stats.errors = self.log.total();
            return;
        }
        match self.writer.write_all(bytes) {
            Ok(()) => {
                self.stats.bytes += bytes.len() as u64;
                self.frame_fill += bytes.len();
                self.sent = true;
            }
            Err(e) => {
                self.log.record(
                    &self.url,
                    format_args!("cannot write {}: {e}", self.path.display()),
                );
                self.stats.errors = self.log.total();
            }
        }
    }

    fn sync(&mut self, _tick: u64) {
        if std::mem::take(&mut self.sent) {
            self.stats.frames += 1;
            self.stats.packets += 1;
            let frame = self.frame_bytes();
            if self.frame_fill != frame {
                self.log.record(
                    &self.url,
                    format_args!(
                        "frame {} has {} of its {frame} bytes: the file is out of step",
                        self.stats.frames, self.frame_fill
                    ),
                );
                self.stats.errors = self.log.total();
            }
        }
        self.frame_fill = 0;
        if self.flushed.elapsed() >= FLUSH_EVERY {
            self.flushed = Instant::now();
            if let Err(e) = self.writer.flush() {
                self.log.record(
                    &self.url,
                    format_args!("cannot write {}: {e}", self.path.display()),
                );
                self.stats.errors = self.log.total();
            }
        }
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.writer.flush().map_err(|source| SinkError::Io {
            url: self.url.clone(),
            path: self.path.clone(),
            source,
        })?;
        self.write_sidecar()
    }

    fn stats(&self) -> SinkStats {
        self.stats
    }
}
