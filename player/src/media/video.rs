//! Video through ffmpeg.
//!
//! `ffprobe` (next to `ffmpeg`) gives the size, the frame rate and the frame count; then an
//! `ffmpeg` child decodes from the start offset to raw RGBA on its stdout, resampled to a
//! constant frame rate (`fps` filter), and a decode-ahead thread reads whole frames into
//! buffers from a free pool and queues them in a bounded channel ([`QUEUE`] frames). The
//! consumer swaps a queued buffer into its [`Frame`] and returns the old one to the pool, so
//! steady playback allocates nothing.
//!
//! Asking for an earlier frame (a loop) or one far ahead restarts ffmpeg with a seek. ffmpeg
//! exits 0 on a truncated file, so the thread counts the frames it actually received: a
//! short stream is the end of the item ([`ReadStatus::End`]), not an error.
//!
//! ffmpeg is `$LEDWALL_FFMPEG` when set, else `ffmpeg` from `PATH`; ffprobe is the
//! `ffprobe` in the same folder (or from `PATH`). A missing ffmpeg is
//! [`MediaError::FfmpegMissing`] naming the file.

use super::{
    Frame, LoadOptions, MediaError, MediaInfo, MediaKind, MediaSource, Pixels, ReadStatus, Time,
    Timing, check_size,
};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Frames decoded ahead.
pub const QUEUE: usize = 4;
/// How long to wait for one frame before giving up on ffmpeg.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(20);
/// Frames to decode through before a forward jump is done with a seek instead.
const SEEK_AHEAD: u64 = 120;
/// ffmpeg's stderr kept for messages.
const STDERR_KEEP: usize = 4096;

/// Where ffmpeg and ffprobe are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ffmpeg {
    /// The ffmpeg executable.
    pub ffmpeg: PathBuf,
    /// The ffprobe executable.
    pub ffprobe: PathBuf,
}

impl Ffmpeg {
    /// `$LEDWALL_FFMPEG`, else `ffmpeg` from `PATH`; ffprobe next to it.
    pub fn from_env() -> Ffmpeg {
        match std::env::var_os("LEDWALL_FFMPEG") {
            Some(p) if !p.is_empty() => Ffmpeg::at(PathBuf::from(p)),
            _ => match find_in_path("ffmpeg") {
                Some(p) => Ffmpeg::at(p),
                None => Ffmpeg {
                    ffmpeg: "ffmpeg".into(),
                    ffprobe: "ffprobe".into(),
                },
            },
        }
    }

    /// ffmpeg at `ffmpeg`; ffprobe in the same folder (or from `PATH` when `ffmpeg` is a
    /// bare name).
    pub fn at(ffmpeg: PathBuf) -> Ffmpeg {
        let name = if cfg!(windows) {
            "ffprobe.exe"
        } else {
            "ffprobe"
        };
        let ffprobe = match ffmpeg.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.join(name),
            _ => PathBuf::from(name),
        };
        Ffmpeg { ffmpeg, ffprobe }
    }

    /// Whether ffmpeg runs (`ffmpeg -version`).
    pub fn available(&self) -> bool {
        Command::new(&self.ffmpeg)
            .arg("-version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// What ffprobe says about a video stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// Display width (after rotation metadata).
    pub width: u32,
    /// Display height.
    pub height: u32,
    /// Frame rate numerator.
    pub fps_num: u64,
    /// Frame rate denominator.
    pub fps_den: u64,
    /// Frames in the whole stream, when ffprobe knows or the duration gives it.
    pub frames: Option<u64>,
}

/// Run ffprobe on `path`.
pub fn probe(path: &Path, ff: &Ffmpeg) -> Result<Probe, MediaError> {
    let out = Command::new(&ff.ffprobe)
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height,r_frame_rate,avg_frame_rate,nb_frames:stream_tags=rotate:stream_side_data=rotation:format=duration",
            "-of",
            "json",
        ])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| missing(path, &ff.ffprobe, e))?;
    if !out.status.success() {
        // ffprobe could not read it at all: not a video we know.
        return Err(MediaError::UnknownFormat {
            path: path.to_path_buf(),
        });
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| MediaError::Video {
            path: path.to_path_buf(),
            reason: format!("ffprobe printed something unexpected: {e}"),
        })?;
    let Some(stream) = v["streams"].get(0) else {
        return Err(MediaError::UnknownFormat {
            path: path.to_path_buf(),
        });
    };
    let dim = |k: &str| {
        stream[k]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|&n| n > 0)
    };
    let (Some(mut width), Some(mut height)) = (dim("width"), dim("height")) else {
        // Not a picture (ffmpeg's text demuxers read anything).
        return Err(MediaError::UnknownFormat {
            path: path.to_path_buf(),
        });
    };
    let rate = |k: &str| {
        let s = stream[k].as_str()?;
        let (n, d) = s.split_once('/')?;
        let (n, d) = (n.parse::<u64>().ok()?, d.parse::<u64>().ok()?);
        (n > 0 && d > 0).then_some((n, d))
    };
    let Some((fps_num, fps_den)) = rate("avg_frame_rate").or_else(|| rate("r_frame_rate")) else {
        return Err(MediaError::Video {
            path: path.to_path_buf(),
            reason: "ffprobe gives no frame rate".into(),
        });
    };
    let rotation = stream["tags"]["rotate"]
        .as_str()
        .and_then(|r| r.parse::<i64>().ok())
        .or_else(|| {
            stream["side_data_list"]
                .as_array()?
                .iter()
                .find_map(|s| s["rotation"].as_i64())
        })
        .unwrap_or(0);
    if rotation.rem_euclid(180) == 90 {
        (width, height) = (height, width);
    }
    let frames = stream["nb_frames"]
        .as_str()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|&n| n > 0)
        .or_else(|| {
            let d = v["format"]["duration"].as_str()?.parse::<f64>().ok()?;
            let t = Time::from_secs_f64(d);
            // round(duration · fps)
            let n = t.num * fps_num as u128;
            let den = t.den * fps_den as u128;
            let f = ((2 * n + den) / (2 * den)) as u64;
            (f > 0).then_some(f)
        });
    Ok(Probe {
        width,
        height,
        fps_num,
        fps_den,
        frames,
    })
}

fn missing(path: &Path, exe: &Path, e: io::Error) -> MediaError {
    MediaError::FfmpegMissing {
        path: path.to_path_buf(),
        reason: format!(
            "cannot run {} ({e}); install ffmpeg or set LEDWALL_FFMPEG to its path",
            exe.display()
        ),
    }
}

enum Msg {
    Frame(Vec<u8>),
    /// The stream ended after `frames` frames; `error` when ffmpeg failed.
    End {
        frames: u64,
        error: Option<String>,
    },
}

/// A running ffmpeg and its reader thread.
struct Decoder {
    child: Child,
    rx: Option<Receiver<Msg>>,
    free: SyncSender<Vec<u8>>,
    thread: Option<JoinHandle<()>>,
    /// The index of the frame the next message carries.
    next: u64,
}

impl Drop for Decoder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        self.rx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = self.child.wait();
    }
}

/// A video file played through ffmpeg.
pub struct Video {
    info: MediaInfo,
    path: PathBuf,
    ff: Ffmpeg,
    start: f64,
    frame_bytes: usize,
    decoder: Option<Decoder>,
    /// Frames the stream really has, once its end has been seen.
    seen_end: Option<u64>,
    /// The index of the frame last written into the caller's buffer.
    last: Option<u64>,
    /// ffmpeg processes started so far.
    spawns: u64,
    /// How long to wait for a frame.
    pub timeout: Duration,
}

impl std::fmt::Debug for Video {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Video")
            .field("info", &self.info)
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

impl Video {
    /// Probe `path` and get ready to decode from `start` seconds (nothing is decoded until
    /// the first frame is asked for).
    pub fn open(
        path: &Path,
        start: f64,
        opts: &LoadOptions,
        ff: &Ffmpeg,
    ) -> Result<Video, MediaError> {
        if !path.is_file() {
            // Report the file, not ffprobe's view of it.
            std::fs::File::open(path).map_err(|source| MediaError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let p = probe(path, ff)?;
        // One frame in the consumer, the queue, one being read and the free pool.
        check_size(path, p.width, p.height, 4 * (QUEUE as u64 + 3), opts)?;
        let start = if start.is_finite() {
            start.max(0.0)
        } else {
            0.0
        };
        let skipped = Time::from_secs_f64(start);
        let skipped = (skipped.num * p.fps_num as u128 / (skipped.den * p.fps_den as u128)) as u64;
        let frames = p
            .frames
            .map(|n| n.saturating_sub(skipped))
            .filter(|&n| n > 0);
        Ok(Video {
            info: MediaInfo {
                name: path.display().to_string(),
                kind: MediaKind::Video,
                width: p.width,
                height: p.height,
                timing: Timing::Rate {
                    fps_num: p.fps_num,
                    fps_den: p.fps_den,
                    frames,
                },
            },
            path: path.to_path_buf(),
            ff: ff.clone(),
            start,
            frame_bytes: p.width as usize * p.height as usize * 4,
            decoder: None,
            seen_end: None,
            last: None,
            spawns: 0,
            timeout: FRAME_TIMEOUT,
        })
    }

    /// Frames the stream really had, once its end was reached.
    pub fn frames_seen(&self) -> Option<u64> {
        self.seen_end
    }

    /// How many times ffmpeg has been started (once, plus once per seek).
    pub fn spawns(&self) -> u64 {
        self.spawns
    }

    fn spawn(&self, index: u64) -> Result<Decoder, MediaError> {
        let Timing::Rate {
            fps_num, fps_den, ..
        } = self.info.timing
        else {
            return Err(MediaError::Video {
                path: self.path.clone(),
                reason: "no frame rate".into(),
            });
        };
        let offset = self.start + index as f64 * fps_den as f64 / fps_num as f64;
        let mut cmd = Command::new(&self.ff.ffmpeg);
        cmd.args(["-nostdin", "-nostats", "-v", "error"]);
        if offset > 0.0 {
            cmd.arg("-ss").arg(format!("{offset:.6}"));
        }
        cmd.arg("-i")
            .arg(&self.path)
            .args(["-an", "-sn", "-dn", "-vf"])
            .arg(format!(
                "fps={fps_num}/{fps_den},scale={}:{}:flags=bicubic",
                self.info.width, self.info.height
            ))
            .args(["-pix_fmt", "rgba", "-f", "rawvideo", "pipe:1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| missing(&self.path, &self.ff.ffmpeg, e))?;
        let (Some(stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
            let _ = child.kill();
            return Err(MediaError::Video {
                path: self.path.clone(),
                reason: "ffmpeg's pipes could not be opened".into(),
            });
        };
        let errors = Arc::new(Mutex::new(String::new()));
        let errors_w = Arc::clone(&errors);
        // stderr is drained on its own thread so a chatty ffmpeg never blocks on it.
        let err_thread = std::thread::Builder::new()
            .name("ffmpeg-stderr".into())
            .spawn(move || {
                let mut buf = Vec::new();
                let _ = stderr.read_to_end(&mut buf);
                let text = String::from_utf8_lossy(&buf);
                let text = text.trim();
                let keep = text
                    .char_indices()
                    .nth(STDERR_KEEP)
                    .map_or(text, |(i, _)| &text[..i]);
                if let Ok(mut e) = errors_w.lock() {
                    *e = keep.to_string();
                }
            })
            .ok();
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let (free_tx, free_rx) = mpsc::sync_channel::<Vec<u8>>(QUEUE + 2);
        let frame_bytes = self.frame_bytes;
        let thread = std::thread::Builder::new()
            .name("ffmpeg-read".into())
            .spawn(move || read_frames(stdout, frame_bytes, tx, free_rx, err_thread, errors))
            .map_err(|e| MediaError::Video {
                path: self.path.clone(),
                reason: format!("cannot start the decode thread: {e}"),
            })?;
        Ok(Decoder {
            child,
            rx: Some(rx),
            free: free_tx,
            thread: Some(thread),
            next: index,
        })
    }
}

fn read_frames(
    mut stdout: ChildStdout,
    frame_bytes: usize,
    tx: SyncSender<Msg>,
    free: Receiver<Vec<u8>>,
    err_thread: Option<JoinHandle<()>>,
    errors: Arc<Mutex<String>>,
) {
    let mut frames = 0u64;
    let end_error = loop {
        let mut buf = free
            .try_recv()
            .ok()
            .filter(|b| b.len() == frame_bytes)
            .unwrap_or_else(|| vec![0; frame_bytes]);
        match stdout.read_exact(&mut buf) {
            Ok(()) => {
                frames += 1;
                if tx.send(Msg::Frame(buf)).is_err() {
                    return; // the consumer is gone
                }
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break None,
            Err(e) => break Some(format!("reading ffmpeg's output failed: {e}")),
        }
    };
    drop(stdout);
    if let Some(t) = err_thread {
        let _ = t.join();
    }
    let stderr = errors.lock().map(|e| e.clone()).unwrap_or_default();
    let error = end_error.or_else(|| (!stderr.is_empty()).then_some(stderr));
    let _ = tx.send(Msg::End { frames, error });
}

impl MediaSource for Video {
    fn info(&self) -> &MediaInfo {
        &self.info
    }

    fn read_frame(&mut self, index: u64, out: &mut Frame) -> Result<ReadStatus, MediaError> {
        if let Some(n) = self.seen_end
            && index >= n
        {
            return Ok(ReadStatus::End { frames: n });
        }
        // The frame just read, asked for again (a 30 fps video on a 60 Hz wall): the
        // caller's buffer still holds it.
        if self.last == Some(index)
            && out.key.is_none()
            && (out.width, out.height) == (self.info.width, self.info.height)
        {
            return Ok(ReadStatus::Frame);
        }
        self.last = None;
        let restart = match &self.decoder {
            None => true,
            Some(d) => index < d.next || index - d.next > SEEK_AHEAD,
        };
        if restart {
            self.decoder = None;
            self.decoder = Some(self.spawn(index)?);
            self.spawns += 1;
        }
        loop {
            let Some(dec) = self.decoder.as_mut() else {
                return Ok(ReadStatus::End { frames: index });
            };
            let Some(rx) = dec.rx.as_ref() else {
                return Ok(ReadStatus::End { frames: dec.next });
            };
            let msg = match rx.recv_timeout(self.timeout) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => {
                    self.decoder = None;
                    return Err(MediaError::Video {
                        path: self.path.clone(),
                        reason: format!(
                            "ffmpeg produced no frame within {} s",
                            self.timeout.as_secs()
                        ),
                    });
                }
                Err(RecvTimeoutError::Disconnected) => Msg::End {
                    frames: 0,
                    error: Some("the decode thread stopped".into()),
                },
            };
            match msg {
                Msg::Frame(mut buf) => {
                    let i = dec.next;
                    dec.next += 1;
                    if i < index {
                        let _ = dec.free.try_send(buf);
                        continue;
                    }
                    if let Pixels::Rgba8(v) = &mut out.pixels {
                        std::mem::swap(v, &mut buf);
                        let _ = dec.free.try_send(buf);
                    } else {
                        out.pixels = Pixels::Rgba8(buf);
                    }
                    out.width = self.info.width;
                    out.height = self.info.height;
                    out.key = None;
                    self.last = Some(index);
                    return Ok(ReadStatus::Frame);
                }
                Msg::End { frames, error } => {
                    let start = dec.next - frames;
                    let total = dec.next;
                    self.decoder = None;
                    if frames == 0
                        && start == 0
                        && let Some(reason) = error
                    {
                        return Err(MediaError::Video {
                            path: self.path.clone(),
                            reason,
                        });
                    }
                    if let Some(reason) = error {
                        tracing::warn!(file = %self.path.display(), frames = total, %reason,
                            "video stream ended early");
                    }
                    self.seen_end = Some(total);
                    return Ok(ReadStatus::End { frames: total });
                }
            }
        }
    }
}
