//! Video through ffmpeg.
//!
//! `ffprobe` (next to `ffmpeg`) gives the size, the frame rate and the frame count; then an
//! `ffmpeg` child decodes from the start offset to raw RGBA on its stdout, resampled to a
//! constant frame rate (`fps` filter), and a decode-ahead thread reads whole frames into
//! buffers from a fixed pool ([`POOL`] buffers) and queues them in a bounded channel
//! ([`QUEUE`] frames). The consumer swaps a queued buffer into its [`Frame`] and returns the
//! old one to the pool, so steady playback allocates nothing. The reader makes the pool's
//! buffers while it fills the queue and then only reuses them: it never allocates because
//! the consumer has not yet handed a buffer back (a race that, under a busy scheduler, used
//! to add a buffer mid-playback).
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
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Frames decoded ahead.
pub const QUEUE: usize = 4;
/// Frame buffers per decoder (besides the one in the consumer's [`Frame`]): the queue, the
/// one being read, and the one the consumer has just taken and not yet swapped back, so the
/// reader never waits for that hand-back.
pub const POOL: usize = QUEUE + 2;
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
    /// Buffers going back to the reader (`None` once dropping, so a reader waiting for
    /// one wakes up and ends).
    free: Option<SyncSender<Vec<u8>>>,
    thread: Option<JoinHandle<()>>,
    /// The index of the frame the next message carries.
    next: u64,
}

impl Drop for Decoder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        self.rx = None;
        self.free = None;
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
        // The decoder's pool of frames and the consumer's.
        check_size(path, p.width, p.height, 4 * (POOL as u64 + 1), opts)?;
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
        let (free_tx, free_rx) = mpsc::sync_channel::<Vec<u8>>(POOL);
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
            free: Some(free_tx),
            thread: Some(thread),
            next: index,
        })
    }
}

fn read_frames(
    mut stdout: impl Read,
    frame_bytes: usize,
    tx: SyncSender<Msg>,
    free: Receiver<Vec<u8>>,
    err_thread: Option<JoinHandle<()>>,
    errors: Arc<Mutex<String>>,
) {
    let mut frames = 0u64;
    let mut made = 0usize;
    let end_error = loop {
        // The pool's buffers are made first; after that, a returned one is waited for (it
        // is there at once unless the consumer holds them all, which the queue's bound
        // rules out).
        let mut buf = if made < POOL {
            made += 1;
            vec![0; frame_bytes]
        } else {
            match free.recv() {
                Ok(b) => b,
                Err(_) => return, // the consumer is gone
            }
        };
        // A buffer that held another size of frame (handed back from the consumer's
        // frame); same size in steady playback, so this does not allocate then.
        buf.resize(frame_bytes, 0);
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
                    // Every buffer taken from the queue is matched by one handed back, so
                    // the reader's pool stays whole.
                    let back = if i < index {
                        buf
                    } else if let Pixels::Rgba8(v) = &mut out.pixels {
                        std::mem::swap(v, &mut buf);
                        buf
                    } else {
                        // The frame held other pixels: it keeps the queued buffer, and an
                        // empty one goes back for the reader to grow (once, not per frame).
                        out.pixels = Pixels::Rgba8(buf);
                        Vec::new()
                    };
                    if let Some(free) = &dec.free {
                        let _ = free.try_send(back);
                    }
                    if i < index {
                        continue;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The reader makes its [`POOL`] buffers as it starts and then only reuses them, however
    /// late the consumer hands its old buffer back. Frames 0..20: the consumer keeps up and
    /// hands back at once; from frame 20 it dawdles between taking a frame and handing a
    /// buffer back, as a preempted render thread does, so the reader always asks for a
    /// buffer before one is back. No buffer may first appear after the start.
    #[test]
    fn the_reader_reuses_a_fixed_pool_when_the_consumer_is_slow_to_hand_back() {
        const FRAME: usize = 64;
        const FRAMES: u64 = 40;
        let stream: Vec<u8> = (0..FRAMES as usize * FRAME)
            .map(|i| (i / FRAME) as u8)
            .collect();
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let (free_tx, free_rx) = mpsc::sync_channel::<Vec<u8>>(POOL);
        let errors = Arc::new(Mutex::new(String::new()));
        let reader = std::thread::spawn(move || {
            read_frames(io::Cursor::new(stream), FRAME, tx, free_rx, None, errors)
        });
        let mut seen = HashSet::new();
        let mut held = Vec::new(); // the consumer's frame
        let mut n = 0u64;
        loop {
            if n < 20 {
                // The queue fills and the reader waits on it.
                std::thread::sleep(Duration::from_millis(1));
            }
            match rx.recv_timeout(Duration::from_secs(10)) {
                Ok(Msg::Frame(mut buf)) => {
                    assert!(buf.iter().all(|&b| b == n as u8), "frame {n} in order");
                    if seen.insert(buf.as_ptr() as usize) {
                        // The pool's buffers, and the consumer's empty one grown.
                        assert!(n <= POOL as u64, "a new buffer at frame {n}");
                    }
                    std::mem::swap(&mut held, &mut buf);
                    if n >= 20 {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    let _ = free_tx.try_send(buf);
                    n += 1;
                }
                Ok(Msg::End { frames, error }) => {
                    assert_eq!((frames, error), (FRAMES, None));
                    break;
                }
                Err(e) => panic!("reader stalled: {e}"),
            }
        }
        assert_eq!(n, FRAMES);
        drop(free_tx);
        reader.join().unwrap_or_else(|_| panic!("reader panicked"));
    }
}
