//! Video through ffmpeg.
//!
//! `ffprobe` (next to `ffmpeg`) gives the size, the frame rate, the frame count and the
//! pixel format with its colour metadata; then an `ffmpeg` child decodes from the start
//! offset to raw frames on its stdout, resampled to a constant frame rate (`fps` filter).
//! A 4:2:0 Y'CbCr stream (nearly every H.264, HEVC, VP9 or AV1 file) comes as its planes,
//! `yuv420p` or, at 10 bits and more, `yuv420p10le` ([`Decode`]): the render core converts
//! them (half the bytes of RGBA on the pipe, and no conversion in ffmpeg); anything else
//! (4:2:2, 4:4:4, RGB, alpha) comes as RGBA. A decode-ahead thread reads whole frames into
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
//! Nothing here waits on ffmpeg for long. With [`Video::frame_wait`] set (the live player),
//! a frame that is not decoded yet is [`ReadStatus::Late`] after at most that long, and the
//! previous frame stays on screen. A watchdog ([`Video::start_timeout`],
//! [`Video::stall_timeout`]) kills an ffmpeg that gives no frame for too long, logs what it
//! said and starts it again where the item is; one that dies mid-item (killed, crashed) is
//! started again too; after [`MAX_FAILURES`] in a row the read is an error. Each ffmpeg runs
//! in its own process group, registered so that [`kill_children`] can kill them all at
//! once; a dropped decoder is killed at once and reaped on a thread of its own. ffprobe has
//! a time limit ([`PROBE_TIMEOUT`]).
//!
//! ffmpeg is `$LEDWALL_FFMPEG` when set, else `ffmpeg` from `PATH`; ffprobe is the
//! `ffprobe` in the same folder (or from `PATH`). A missing ffmpeg is
//! [`MediaError::FfmpegMissing`] naming the file.

use super::{
    Frame, LoadOptions, MediaError, MediaFaults, MediaInfo, MediaKind, MediaSource, Pixels,
    ReadStatus, Time, Timing, YuvPixels, check_size,
};
use ledwall_render::yuv::{YuvLayout, YuvMatrix, YuvRange};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Frames decoded ahead.
pub const QUEUE: usize = 4;
/// Frame buffers per decoder (besides the one in the consumer's [`Frame`]): the queue, the
/// one being read, and the one the consumer has just taken and not yet swapped back, so the
/// reader never waits for that hand-back.
pub const POOL: usize = QUEUE + 2;
/// Watchdog: how long a starting ffmpeg may take to give its first frame (opening a file
/// on a slow share, seeking) before it is killed and started again.
pub const START_TIMEOUT: Duration = Duration::from_secs(5);
/// Watchdog: how long a running ffmpeg may go without giving a frame.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(2);
/// Stalls or crashes in a row, without a frame in between, after which the item is given
/// up (an error: the deck tries it again later).
pub const MAX_FAILURES: u32 = 3;
/// How long ffprobe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of ffprobe's output read.
const PROBE_OUTPUT_MAX: u64 = 1 << 20;
/// Frames to decode through before a forward jump is done with a seek instead.
const SEEK_AHEAD: u64 = 120;
/// Frames before the end of a pass at which a second ffmpeg starts at the first frame,
/// ready for a loop ([`Video::standby_for_loop`]).
pub const LOOP_AHEAD: u64 = 30;
/// ffmpeg's stderr kept for messages.
const STDERR_KEEP: usize = 4096;

/// How ffmpeg hands a video's frames over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decode {
    /// RGBA, 4 bytes a pixel, converted by ffmpeg (sources that are not 4:2:0 Y'CbCr, or
    /// `LEDWALL_VIDEO_PIXELS=rgba`).
    Rgba,
    /// 4:2:0 Y'CbCr planes as decoded, converted by the render core.
    Yuv {
        /// `yuv420p` (8-bit sources) or `yuv420p10le` (deeper ones).
        layout: YuvLayout,
        /// The stream's matrix.
        matrix: YuvMatrix,
        /// The stream's range.
        range: YuvRange,
    },
}

impl Decode {
    /// ffmpeg's `-pix_fmt` for it.
    pub fn pix_fmt(self) -> &'static str {
        match self {
            Decode::Rgba => "rgba",
            Decode::Yuv { layout, .. } if layout.is_deep() => "yuv420p10le",
            Decode::Yuv { .. } => "yuv420p",
        }
    }

    /// Bytes of one `width` × `height` frame on the pipe.
    pub fn frame_bytes(self, width: u32, height: u32) -> usize {
        match self {
            Decode::Rgba => width as usize * height as usize * 4,
            Decode::Yuv { layout, .. } => {
                layout.frame_samples(width, height) * if layout.is_deep() { 2 } else { 1 }
            }
        }
    }

    /// How to decode a stream of ffprobe's `pix_fmt`, `color_space` and `color_range`
    /// (empty when ffprobe gives none) and `height`. 4:2:0 Y'CbCr formats stay Y'CbCr:
    /// 8-bit ones as `yuv420p`, deeper ones as `yuv420p10le`. The matrix is the stream's
    /// (`bt709`; `smpte170m`, `bt470bg`, `fcc` and `smpte240m` as BT.601; `bt2020nc` and
    /// `bt2020c` as BT.2020), else by size as players do: BT.709 from 720 rows up, BT.601
    /// below. The range is full for `pc` and the JPEG formats (`yuvj420p`), else limited.
    pub fn choose(pix_fmt: &str, color_space: &str, color_range: &str, height: u32) -> Decode {
        let deep = match pix_fmt {
            "yuv420p" | "yuvj420p" | "nv12" | "nv21" => false,
            "yuv420p10le" | "yuv420p10be" | "yuv420p12le" | "yuv420p12be" | "p010le" | "p010be"
            | "p016le" | "p016be" => true,
            _ => return Decode::Rgba,
        };
        let matrix = match color_space {
            "bt709" => YuvMatrix::Bt709,
            "smpte170m" | "bt470bg" | "fcc" | "smpte240m" => YuvMatrix::Bt601,
            "bt2020nc" | "bt2020c" => YuvMatrix::Bt2020,
            _ if height >= 720 => YuvMatrix::Bt709,
            _ => YuvMatrix::Bt601,
        };
        let range = if color_range == "pc" || pix_fmt.starts_with("yuvj") {
            YuvRange::Full
        } else {
            YuvRange::Limited
        };
        let layout = if deep {
            YuvLayout::Yuv420p10
        } else {
            YuvLayout::Yuv420p
        };
        Decode::Yuv {
            layout,
            matrix,
            range,
        }
    }
}

/// Hardware decoding through ffmpeg's `-hwaccel` (`--hwaccel`): the decoder runs on the
/// GPU and ffmpeg downloads the frames, which then go on as without it. Where the machine
/// has no such device (or ffmpeg was built without it), or decoding with it fails, ffmpeg
/// decodes in software and the log says so once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Hwaccel {
    /// Software decoding (the default).
    #[default]
    Off,
    /// The first of NVDEC (`cuda`, with `/dev/nvidia0`) and VAAPI (`vaapi`, with a
    /// `/dev/dri/renderD*` node) that this machine and ffmpeg have; else software.
    Auto,
    /// VAAPI (Intel, AMD) on the first `/dev/dri/renderD*` node.
    Vaapi,
    /// NVDEC through CUDA (NVIDIA).
    Cuda,
    /// Intel Quick Sync.
    Qsv,
}

impl Hwaccel {
    /// From its command-line name: `off`, `auto`, `vaapi`, `cuda`, `qsv`.
    pub fn from_name(name: &str) -> Option<Hwaccel> {
        Some(match name {
            "off" | "none" => Hwaccel::Off,
            "auto" => Hwaccel::Auto,
            "vaapi" => Hwaccel::Vaapi,
            "cuda" | "nvdec" => Hwaccel::Cuda,
            "qsv" => Hwaccel::Qsv,
            _ => return None,
        })
    }

    /// ffmpeg's name for it (`off` for software).
    pub fn name(self) -> &'static str {
        match self {
            Hwaccel::Off => "off",
            Hwaccel::Auto => "auto",
            Hwaccel::Vaapi => "vaapi",
            Hwaccel::Cuda => "cuda",
            Hwaccel::Qsv => "qsv",
        }
    }

    /// What to pass ffmpeg on a machine whose device nodes are under `dev` and whose
    /// ffmpeg lists `methods` (`ffmpeg -hwaccels`): the method and its device, or why
    /// decoding stays in software.
    pub fn choose(self, dev: &Path, methods: &[String]) -> Result<HwDecode, String> {
        let has = |m: &str| methods.iter().any(|x| x == m);
        let render_node = || -> Option<PathBuf> {
            let mut nodes: Vec<PathBuf> = std::fs::read_dir(dev.join("dri"))
                .ok()?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("renderD"))
                })
                .collect();
            nodes.sort();
            nodes.into_iter().next()
        };
        let nvidia = || dev.join("nvidia0").exists();
        let vaapi = || match (has("vaapi"), render_node()) {
            (true, Some(node)) => Ok(HwDecode {
                method: "vaapi",
                device: Some(node.display().to_string()),
            }),
            (false, _) => Err("this ffmpeg has no vaapi".to_string()),
            (true, None) => Err(format!("no {}/dri/renderD* node", dev.display())),
        };
        let cuda = || match (has("cuda"), nvidia()) {
            (true, true) => Ok(HwDecode {
                method: "cuda",
                device: None,
            }),
            (false, _) => Err("this ffmpeg has no cuda".to_string()),
            (true, false) => Err(format!("no {}/nvidia0", dev.display())),
        };
        match self {
            Hwaccel::Off => Err("off".into()),
            Hwaccel::Vaapi => vaapi(),
            Hwaccel::Cuda => cuda(),
            Hwaccel::Qsv => match (has("qsv"), render_node()) {
                (true, Some(_)) => Ok(HwDecode {
                    method: "qsv",
                    device: None,
                }),
                (false, _) => Err("this ffmpeg has no qsv".to_string()),
                (true, None) => Err(format!("no {}/dri/renderD* node", dev.display())),
            },
            Hwaccel::Auto => cuda().or_else(|c| vaapi().map_err(|v| format!("{c}; {v}"))),
        }
    }
}

/// A hardware decoder ffmpeg is asked to use: `-hwaccel METHOD [-hwaccel_device DEVICE]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HwDecode {
    /// ffmpeg's method name.
    pub method: &'static str,
    /// Its device, where the method takes one.
    pub device: Option<String>,
}

impl std::fmt::Display for HwDecode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.device {
            Some(d) => write!(f, "{} on {d}", self.method),
            None => f.write_str(self.method),
        }
    }
}

/// What `hwaccel` comes to on this machine with the `ffmpeg` on `PATH` (or `LEDWALL_FFMPEG`):
/// the hardware decoder, or `None` for software.
pub fn hardware_decoder(hw: Hwaccel) -> Option<HwDecode> {
    hw_decode(&Ffmpeg::from_env(), hw)
}

/// `hwaccel` resolved on this machine, once per process and setting (logged once).
pub(super) fn hw_decode(ff: &Ffmpeg, hw: Hwaccel) -> Option<HwDecode> {
    static CHOSEN: Mutex<Vec<(Hwaccel, Option<HwDecode>)>> = Mutex::new(Vec::new());
    if hw == Hwaccel::Off {
        return None;
    }
    let mut chosen = CHOSEN.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, d)) = chosen.iter().find(|(h, _)| *h == hw) {
        return d.clone();
    }
    // Bounded like ffprobe: an ffmpeg that hangs lists no method (software).
    let mut cmd = Command::new(&ff.ffmpeg);
    cmd.args(["-hide_banner", "-hwaccels"]);
    let methods: Vec<String> = match output_within(&mut cmd, PROBE_TIMEOUT) {
        Ok(Some((_, out))) => String::from_utf8_lossy(&out)
            .lines()
            .skip(1)
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect(),
        _ => Vec::new(),
    };
    let d = match hw.choose(Path::new("/dev"), &methods) {
        Ok(d) => {
            tracing::info!(
                "hwaccel {}: decoding video with {d} (in software where it cannot)",
                hw.name()
            );
            Some(d)
        }
        Err(why) => {
            tracing::info!("hwaccel {}: {why}: decoding video in software", hw.name());
            None
        }
    };
    chosen.push((hw, d.clone()));
    d
}

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
    /// `frames` is the container's count of the stream's frames (`nb_frames`), not an
    /// estimate from the duration.
    pub frames_exact: bool,
    /// How ffmpeg hands its frames over ([`Decode::choose`]).
    pub decode: Decode,
}

/// Run ffprobe on `path`.
pub fn probe(path: &Path, ff: &Ffmpeg) -> Result<Probe, MediaError> {
    let mut cmd = Command::new(&ff.ffprobe);
    cmd.args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height,r_frame_rate,avg_frame_rate,nb_frames,pix_fmt,color_space,color_range:stream_tags=rotate:stream_side_data=rotation:format=duration",
            "-of",
            "json",
        ])
        .arg(path);
    let Some((status, stdout)) =
        output_within(&mut cmd, PROBE_TIMEOUT).map_err(|e| missing(path, &ff.ffprobe, e))?
    else {
        return Err(MediaError::Video {
            path: path.to_path_buf(),
            reason: format!(
                "ffprobe gave no answer within {} s (a pipe without a writer, a hung share?); killed it",
                PROBE_TIMEOUT.as_secs()
            ),
        });
    };
    if !status.success() {
        // ffprobe could not read it at all: not a video we know.
        return Err(MediaError::UnknownFormat {
            path: path.to_path_buf(),
        });
    }
    let v: serde_json::Value = serde_json::from_slice(&stdout).map_err(|e| MediaError::Video {
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
    let counted = stream["nb_frames"]
        .as_str()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|&n| n > 0);
    let frames = counted.or_else(|| {
        let d = v["format"]["duration"].as_str()?.parse::<f64>().ok()?;
        let t = Time::from_secs_f64(d);
        // round(duration · fps)
        let n = t.num * fps_num as u128;
        let den = t.den * fps_den as u128;
        let f = ((2 * n + den) / (2 * den)) as u64;
        (f > 0).then_some(f)
    });
    let text = |k: &str| stream[k].as_str().unwrap_or_default();
    let decode = if rgba_only() {
        Decode::Rgba
    } else {
        Decode::choose(
            text("pix_fmt"),
            text("color_space"),
            text("color_range"),
            height,
        )
    };
    Ok(Probe {
        width,
        height,
        fps_num,
        fps_den,
        frames,
        // A variable frame rate (the two rates differ) makes ffmpeg's `fps` filter drop or
        // repeat frames, so the count of what it gives is not the container's.
        frames_exact: counted.is_some() && rate("avg_frame_rate") == rate("r_frame_rate"),
        decode,
    })
}

/// `LEDWALL_VIDEO_PIXELS=rgba`: every video as RGBA converted by ffmpeg (to compare with the
/// Y'CbCr path; read once).
fn rgba_only() -> bool {
    static RGBA: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *RGBA.get_or_init(|| {
        std::env::var("LEDWALL_VIDEO_PIXELS").is_ok_and(|v| v.eq_ignore_ascii_case("rgba"))
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

/// The process groups of the ffmpeg and ffprobe children running now.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn children_lock() -> std::sync::MutexGuard<'static, Vec<u32>> {
    CHILDREN.lock().unwrap_or_else(|e| e.into_inner())
}

fn register(pid: u32) {
    children_lock().push(pid);
}

pub(super) fn unregister(pid: u32) {
    children_lock().retain(|&p| p != pid);
}

/// SIGKILL the process group `pid` leads (ffmpeg and anything a wrapper script started).
pub(super) fn kill_group(pid: u32) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(pid)
        && pid > 0
    {
        // SAFETY: kill(2) has no memory effects; a group that is already gone is ESRCH.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

/// Kill every ffmpeg and ffprobe child this process runs now (each in its own process
/// group, so a wrapper's children die too). For the last moments of the process (a second
/// signal): nothing is waited for, no ffmpeg is left behind. Returns how many there were.
pub fn kill_children() -> usize {
    let pids = std::mem::take(&mut *children_lock());
    for &pid in &pids {
        kill_group(pid);
    }
    pids.len()
}

/// The process ids of the ffmpeg and ffprobe children running now (tests, diagnostics).
pub fn children() -> Vec<u32> {
    children_lock().clone()
}

/// Wait for a killed child (and the threads that read its pipes) on a thread of its own, so
/// that a process stuck in the kernel (a hung network share) never holds up the caller.
pub(super) fn reap(child: Option<Child>, thread: Option<JoinHandle<()>>) {
    let work = move || {
        if let Some(mut c) = child {
            let _ = c.wait();
        }
        if let Some(t) = thread {
            let _ = t.join();
        }
    };
    let mut work = Some(work);
    let spawned = std::thread::Builder::new()
        .name("ffmpeg-reap".into())
        .spawn({
            let w = work.take();
            move || {
                if let Some(w) = w {
                    w()
                }
            }
        });
    if spawned.is_err()
        && let Some(w) = work
    {
        w();
    }
}

/// ffmpeg's stderr, as much of its start as [`STDERR_KEEP`] allows, filled as it comes.
pub(super) type Stderr = Arc<Mutex<String>>;

pub(super) fn stderr_text(e: &Stderr) -> String {
    e.lock().map(|e| e.trim().to_string()).unwrap_or_default()
}

/// Drain `stderr` into `keep` on a thread of its own, so a chatty ffmpeg never blocks on it
/// and what it said so far can be logged while it still runs.
fn drain_stderr(mut stderr: impl Read + Send + 'static, keep: Stderr) -> Option<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("ffmpeg-stderr".into())
        .spawn(move || {
            let mut buf = [0u8; 1024];
            loop {
                match stderr.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if let Ok(mut e) = keep.lock()
                            && e.len() < STDERR_KEEP
                        {
                            e.push_str(&String::from_utf8_lossy(&buf[..n]));
                            if e.len() > STDERR_KEEP {
                                let mut cut = STDERR_KEEP;
                                while !e.is_char_boundary(cut) {
                                    cut -= 1;
                                }
                                e.truncate(cut);
                            }
                        }
                    }
                }
            }
        })
        .ok()
}

/// Run `cmd` (ffprobe, `ffmpeg -hwaccels`) with a time limit; `Ok(None)` when it ran past
/// it (it is killed and reaped in the background).
fn output_within(cmd: &mut Command, limit: Duration) -> io::Result<Option<(ExitStatus, Vec<u8>)>> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id();
    register(pid);
    let (tx, rx) = mpsc::channel();
    if let Some(mut out) = child.stdout.take() {
        let spawned = std::thread::Builder::new()
            .name("ffprobe-read".into())
            .spawn(move || {
                let mut buf = Vec::new();
                let _ = (&mut out).take(PROBE_OUTPUT_MAX).read_to_end(&mut buf);
                let _ = tx.send(buf);
            });
        if let Err(e) = spawned {
            kill_group(pid);
            unregister(pid);
            reap(Some(child), None);
            return Err(e);
        }
    }
    let deadline = Instant::now() + limit;
    let out = rx.recv_timeout(limit);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                unregister(pid);
                return Ok(out.ok().map(|o| (status, o)));
            }
            Ok(None) if Instant::now() < deadline && out.is_ok() => {
                std::thread::sleep(Duration::from_millis(2));
            }
            _ => {
                kill_group(pid);
                unregister(pid);
                reap(Some(child), None);
                return Ok(None);
            }
        }
    }
}

/// An ffmpeg started by [`spawn_piped`]: its stdout to read, its stderr drained on a
/// thread of its own into `stderr`.
pub(super) struct Piped {
    pub child: Child,
    pub pid: u32,
    pub stdout: std::process::ChildStdout,
    pub stderr: Stderr,
    pub err_thread: Option<JoinHandle<()>>,
}

/// Start `cmd` (ffmpeg, its arguments set) in a process group of its own, registered for
/// [`kill_children`], stdout piped, stderr drained. `path` and `exe` name the media and
/// the program in errors.
pub(super) fn spawn_piped(cmd: &mut Command, path: &Path, exe: &Path) -> Result<Piped, MediaError> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    // Its own process group: the watchdog and kill_children kill it with whatever it
    // started.
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().map_err(|e| missing(path, exe, e))?;
    let pid = child.id();
    register(pid);
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        kill_group(pid);
        unregister(pid);
        reap(Some(child), None);
        return Err(MediaError::Video {
            path: path.to_path_buf(),
            reason: "ffmpeg's pipes could not be opened".into(),
        });
    };
    let errors: Stderr = Arc::default();
    let err_thread = drain_stderr(stderr, Arc::clone(&errors));
    Ok(Piped {
        child,
        pid,
        stdout,
        stderr: errors,
        err_thread,
    })
}

/// A running ffmpeg and its reader thread. Dropping it kills ffmpeg's process group and
/// reaps it in the background.
struct Decoder {
    child: Option<Child>,
    pid: u32,
    rx: Option<Receiver<Msg>>,
    /// Buffers going back to the reader (`None` once dropping, so a reader waiting for
    /// one wakes up and ends).
    free: Option<SyncSender<Vec<u8>>>,
    thread: Option<JoinHandle<()>>,
    /// The index of the frame the next message carries (counting on over passes when
    /// `pass` is set).
    next: u64,
    /// `Some(n)`: ffmpeg loops the file (`-stream_loop -1`) and each pass is `n` frames, so
    /// stream frame `i` is the video's frame `i % n`.
    pass: Option<u64>,
    /// When it started or last gave a frame: the watchdog counts from here.
    progress: Instant,
    /// Frames received from this ffmpeg.
    received: u64,
    stderr: Stderr,
    /// Messages in the queue (one more while the reader waits to put one in); the end
    /// counts as a full queue.
    queued: Arc<AtomicUsize>,
}

impl Drop for Decoder {
    fn drop(&mut self) {
        kill_group(self.pid);
        unregister(self.pid);
        self.rx = None;
        self.free = None;
        reap(self.child.take(), self.thread.take());
    }
}

impl Decoder {
    /// Frames to decode through before this ffmpeg gives the video's frame `index`; `None`
    /// when it never will (a frame behind it, or past a looping ffmpeg's pass).
    fn ahead(&self, index: u64) -> Option<u64> {
        match self.pass {
            None => index.checked_sub(self.next),
            Some(n) if index >= n => None,
            Some(n) => {
                let at = self.next % n;
                Some(if index >= at {
                    index - at
                } else {
                    n - at + index
                })
            }
        }
    }

    /// ffmpeg's exit status once it has exited (waits up to `wait` for it).
    fn exit_status(&mut self, wait: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + wait;
        loop {
            match child.try_wait() {
                Ok(Some(s)) => return Some(s),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                _ => return None,
            }
        }
    }
}

/// A video file played through ffmpeg.
pub struct Video {
    info: MediaInfo,
    path: PathBuf,
    ff: Ffmpeg,
    start: f64,
    decode: Decode,
    frame_bytes: usize,
    decoder: Option<Decoder>,
    /// Frame `i`'s content key is `key_base + i` ([`super::new_key_base`]).
    key_base: u64,
    /// A second ffmpeg at the first frame, started near the end of a pass for the loop.
    standby: Option<Decoder>,
    /// The probe's frame count is the container's (see [`Video::loop_pass`]).
    frames_exact: bool,
    /// ffmpeg may loop the file itself (`-stream_loop -1`); off for good once a pass of
    /// such an ffmpeg did not come round to the first frame where it should have.
    stream_loop: bool,
    /// A fingerprint of the first frame ([`fingerprint`]): a looping ffmpeg's pass must
    /// start with it.
    first_print: Option<u64>,
    /// The hardware decoder ffmpeg is asked to use (`None`: software; set to `None` when
    /// decoding with it failed).
    hw: Option<HwDecode>,
    /// Frames the stream really has, once its end has been seen.
    seen_end: Option<u64>,
    /// The index of the frame last written into the caller's buffer.
    last: Option<u64>,
    /// ffmpeg processes started so far.
    spawns: u64,
    /// Stalls and crashes since the last frame received.
    failures: u32,
    faults: Arc<MediaFaults>,
    /// How long [`MediaSource::read_frame`] may wait for a frame: `None`, until one comes or
    /// the watchdog fires; `Some(d)`, at most `d`, then [`ReadStatus::Late`] (see
    /// [`super::OpenOptions::frame_wait`]).
    pub frame_wait: Option<Duration>,
    /// Reading ahead of the screen ([`MediaSource::prefetch`]): a frame not decoded yet is
    /// not late.
    prefetching: bool,
    /// Watchdog: how long a starting ffmpeg (or one restarted with a seek) may take to give
    /// its first frame before it is killed and started again.
    pub start_timeout: Duration,
    /// Watchdog: how long a running ffmpeg may go without giving a frame.
    pub stall_timeout: Duration,
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
        // Report the file, not ffprobe's view of it; a FIFO opens without waiting for a
        // writer (ffprobe's time limit and the watchdog bound the rest).
        match super::still::open_regular(path) {
            Ok(_) | Err(MediaError::NotAFile { .. }) => {}
            Err(e) => return Err(e),
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
            decode: p.decode,
            frame_bytes: p.decode.frame_bytes(p.width, p.height),
            decoder: None,
            key_base: super::new_key_base(),
            standby: None,
            frames_exact: p.frames_exact,
            stream_loop: true,
            first_print: None,
            hw: hw_decode(ff, opts.hwaccel),
            seen_end: None,
            last: None,
            spawns: 0,
            failures: 0,
            faults: Arc::default(),
            frame_wait: None,
            prefetching: false,
            start_timeout: START_TIMEOUT,
            stall_timeout: STALL_TIMEOUT,
        })
    }

    /// Count faults in `faults` (shared with the deck and the engine's stats).
    pub fn set_faults(&mut self, faults: Arc<MediaFaults>) {
        self.faults = faults;
    }

    /// The fault counters this video counts in.
    pub fn faults(&self) -> &Arc<MediaFaults> {
        &self.faults
    }

    /// Frames the stream really had, once its end was reached.
    pub fn frames_seen(&self) -> Option<u64> {
        self.seen_end
    }

    /// How many times ffmpeg has been started (once, plus once per seek or restart).
    pub fn spawns(&self) -> u64 {
        self.spawns
    }

    /// Playing (with [`Video::frame_wait`] set) within [`LOOP_AHEAD`] frames of the end of
    /// the pass: start a second ffmpeg at the first frame now, so that a loop back to it
    /// (the item's own loops, a one-item playlist) finds it decoded instead of starting
    /// ffmpeg then (a few hundred milliseconds of held frame on a busy machine). It is
    /// dropped with the video when nothing loops.
    fn standby_for_loop(&mut self, index: u64) {
        let Some(frames) = self.seen_end.or(self.info.timing.frames()) else {
            return;
        };
        if self.frame_wait.is_none()
            || self.prefetching
            || self.standby.is_some()
            || self.decoder.as_ref().is_some_and(|d| d.pass.is_some())
            || index < LOOP_AHEAD
            || index + LOOP_AHEAD < frames
        {
            return;
        }
        match self.spawn(0) {
            Ok(d) => {
                self.standby = Some(d);
                self.spawns += 1;
            }
            // Not fatal: the loop starts ffmpeg when it comes, as without a standby.
            Err(e) => tracing::debug!("cannot start ffmpeg ahead of the loop: {e}"),
        }
    }

    /// Frames in a pass when ffmpeg may loop the file itself (`-stream_loop -1`): playing
    /// ([`Video::frame_wait`] set), from the file's start (ffmpeg's loop goes back to the
    /// file's start, not to a `-ss` offset), with the pass's frames known: counted by an
    /// ffmpeg that reached the end, or the container's count. Each pass a looping ffmpeg
    /// gives is checked to start with the first frame's [`fingerprint`] (a container's
    /// count can be wrong: a trimmed clip's edit list); when one does not, looping goes back
    /// to starting ffmpeg again for this video.
    fn loop_pass(&self) -> Option<u64> {
        if !self.stream_loop || self.frame_wait.is_none() || self.start > 0.0 {
            return None;
        }
        self.seen_end
            .or(self.info.timing.frames().filter(|_| self.frames_exact))
    }

    /// Ask ffmpeg for this hardware decoder from the next start on (`None`: software);
    /// [`Hwaccel`] chooses it when the video opens.
    pub fn set_hw_decode(&mut self, hw: Option<HwDecode>) {
        self.hw = hw;
    }

    /// The hardware decoder ffmpeg is asked to use (`None`: software).
    pub fn hw_decode(&self) -> Option<&HwDecode> {
        self.hw.as_ref()
    }

    /// The process id of the running ffmpeg (its process group), if one runs.
    pub fn ffmpeg_pid(&self) -> Option<u32> {
        self.decoder.as_ref().map(|d| d.pid)
    }

    /// Start ffmpeg at frame `index`; looping the file itself when [`Video::loop_pass`] says
    /// it may and `index` is the first frame.
    fn spawn(&self, index: u64) -> Result<Decoder, MediaError> {
        // The first ffmpeg plays the first pass to its real end, so a container that
        // announces more frames than there are is found out (an early end).
        let pass = self.loop_pass().filter(|_| index == 0 && self.spawns > 0);
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
        if let Some(hw) = &self.hw {
            cmd.args(["-hwaccel", hw.method]);
            if let Some(d) = &hw.device {
                cmd.arg("-hwaccel_device").arg(d);
            }
        }
        if offset > 0.0 {
            cmd.arg("-ss").arg(format!("{offset:.6}"));
        }
        if pass.is_some() {
            cmd.args(["-stream_loop", "-1"]);
        }
        cmd.arg("-i")
            .arg(&self.path)
            .args(["-an", "-sn", "-dn", "-vf"])
            .arg(format!(
                "fps={fps_num}/{fps_den},scale={}:{}:flags=bicubic",
                self.info.width, self.info.height
            ))
            .args([
                "-pix_fmt",
                self.decode.pix_fmt(),
                "-f",
                "rawvideo",
                "pipe:1",
            ])
            .stdin(Stdio::null());
        let Piped {
            child,
            pid,
            stdout,
            stderr: errors,
            err_thread,
        } = spawn_piped(&mut cmd, &self.path, &self.ff.ffmpeg)?;
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let (free_tx, free_rx) = mpsc::sync_channel::<Vec<u8>>(POOL);
        let frame_bytes = self.frame_bytes;
        let errors_r = Arc::clone(&errors);
        let queued = Arc::new(AtomicUsize::new(0));
        let queued_r = Arc::clone(&queued);
        let thread = std::thread::Builder::new()
            .name("ffmpeg-read".into())
            .spawn(move || {
                read_frames(
                    stdout,
                    frame_bytes,
                    Queue {
                        tx,
                        queued: queued_r,
                    },
                    free_rx,
                    err_thread,
                    errors_r,
                )
            });
        let thread = match thread {
            Ok(t) => t,
            Err(e) => {
                kill_group(pid);
                unregister(pid);
                reap(Some(child), None);
                return Err(MediaError::Video {
                    path: self.path.clone(),
                    reason: format!("cannot start the decode thread: {e}"),
                });
            }
        };
        Ok(Decoder {
            child: Some(child),
            pid,
            rx: Some(rx),
            free: Some(free_tx),
            thread: Some(thread),
            next: index,
            pass,
            progress: Instant::now(),
            received: 0,
            stderr: errors,
            queued,
        })
    }

    /// After a stall or a crash: count it, and give up (an error) when ffmpeg has failed
    /// [`MAX_FAILURES`] times in a row without giving a frame; otherwise the caller starts
    /// it again.
    fn failed(&mut self, what: String) -> Result<(), MediaError> {
        if let Some(hw) = self.hw.take() {
            // Hardware decoding may be what failed (a device that cannot open, a codec or
            // profile it cannot do): go on in software, and say so once.
            tracing::warn!(
                "{}: decoding with {} failed ({what}); decoding it in software",
                self.path.display(),
                hw.method
            );
            self.standby = None;
            return Ok(());
        }
        self.failures += 1;
        if self.failures >= MAX_FAILURES {
            self.failures = 0;
            return Err(MediaError::Video {
                path: self.path.clone(),
                reason: format!(
                    "ffmpeg failed {MAX_FAILURES} times in a row ({what}); giving up on this item for now"
                ),
            });
        }
        MediaFaults::count(&self.faults.restarts);
        Ok(())
    }
}

/// A fingerprint of a decoded frame (FNV-1a over 64 Ki bytes spread evenly through it):
/// whether a looping ffmpeg's pass starts with the video's first frame.
fn fingerprint(buf: &[u8]) -> u64 {
    let step = (buf.len() >> 16).max(1);
    buf.iter()
        .step_by(step)
        .fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// The reader's end of a decoder's queue, counting what is in it.
struct Queue {
    tx: SyncSender<Msg>,
    queued: Arc<AtomicUsize>,
}

impl Queue {
    fn send(&self, msg: Msg) -> Result<(), mpsc::SendError<Msg>> {
        // Counted before it goes in, so the consumer never takes one not counted yet.
        let n = if matches!(msg, Msg::End { .. }) {
            QUEUE
        } else {
            1
        };
        self.queued.fetch_add(n, Ordering::Relaxed);
        self.tx.send(msg)
    }
}

fn read_frames(
    mut stdout: impl Read,
    frame_bytes: usize,
    tx: Queue,
    free: Receiver<Vec<u8>>,
    err_thread: Option<JoinHandle<()>>,
    errors: Stderr,
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
    let stderr = stderr_text(&errors);
    let error = end_error.or_else(|| (!stderr.is_empty()).then_some(stderr));
    let _ = tx.send(Msg::End { frames, error });
}

/// Put a decoded frame's buffer into `pixels` as `decode` says; the buffer to hand back to
/// the reader: the frame's previous one, or (when the frame held other pixels) an empty one
/// for the reader to grow (once, not per frame).
fn hand_over(decode: Decode, pixels: &mut Pixels, mut buf: Vec<u8>) -> Vec<u8> {
    match (decode, &mut *pixels) {
        (Decode::Rgba, Pixels::Rgba8(v)) => {
            std::mem::swap(v, &mut buf);
            buf
        }
        (
            Decode::Yuv {
                layout,
                matrix,
                range,
            },
            Pixels::Yuv(y),
        ) => {
            std::mem::swap(&mut y.data, &mut buf);
            (y.layout, y.matrix, y.range) = (layout, matrix, range);
            buf
        }
        (Decode::Rgba, p) => {
            *p = Pixels::Rgba8(buf);
            Vec::new()
        }
        (
            Decode::Yuv {
                layout,
                matrix,
                range,
            },
            p,
        ) => {
            *p = Pixels::Yuv(YuvPixels {
                data: buf,
                layout,
                matrix,
                range,
            });
            Vec::new()
        }
    }
}

impl MediaSource for Video {
    fn info(&self) -> &MediaInfo {
        &self.info
    }

    fn decoded_ahead(&self) -> bool {
        self.decoder
            .as_ref()
            .is_none_or(|d| d.queued.load(Ordering::Relaxed) >= QUEUE)
    }

    fn prefetch(&mut self, index: u64, out: &mut Frame) -> Result<ReadStatus, MediaError> {
        let wait = self.frame_wait.replace(Duration::ZERO);
        self.prefetching = true;
        let result = self.read_frame(index, out);
        self.prefetching = false;
        self.frame_wait = wait;
        result
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
            && out.key == Some(self.key_base + index)
            && (out.width, out.height) == (self.info.width, self.info.height)
        {
            return Ok(ReadStatus::Frame);
        }
        self.last = None;
        let deadline = self.frame_wait.map(|w| Instant::now() + w);
        loop {
            let restart = match &self.decoder {
                None => true,
                Some(d) => d.ahead(index).is_none_or(|n| n > SEEK_AHEAD),
            };
            if restart {
                self.decoder = None;
                match self.standby.take() {
                    // The loop back to the start, decoded ahead while the pass ended.
                    Some(d) if d.ahead(index).is_some_and(|n| n <= SEEK_AHEAD) => {
                        self.decoder = Some(d);
                    }
                    _ => {
                        self.decoder = Some(self.spawn(index)?);
                        self.spawns += 1;
                    }
                }
            }
            let Some(dec) = self.decoder.as_mut() else {
                return Ok(ReadStatus::End { frames: index });
            };
            let bound = if dec.received == 0 {
                self.start_timeout
            } else {
                self.stall_timeout
            };
            let watchdog = dec.progress + bound;
            let until = deadline.map_or(watchdog, |d| d.min(watchdog));
            let Some(rx) = dec.rx.as_ref() else {
                return Ok(ReadStatus::End { frames: dec.next });
            };
            let msg = match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(m) => {
                    if matches!(m, Msg::Frame(_)) {
                        dec.queued.fetch_sub(1, Ordering::Relaxed);
                    }
                    m
                }
                Err(RecvTimeoutError::Timeout) if Instant::now() < watchdog => {
                    if !self.prefetching {
                        MediaFaults::count(&self.faults.late);
                    }
                    return Ok(ReadStatus::Late);
                }
                Err(RecvTimeoutError::Timeout) => {
                    // The watchdog: no frame for `bound`. Kill it, say what it said, start
                    // it again where we are.
                    let stderr = stderr_text(&dec.stderr);
                    let received = dec.received;
                    self.decoder = None;
                    MediaFaults::count(&self.faults.stalls);
                    tracing::warn!(
                        file = %self.path.display(),
                        frame = index,
                        frames_received = received,
                        stderr = %stderr,
                        "ffmpeg gave no frame for {:.1} s; killed it, starting it again",
                        bound.as_secs_f64()
                    );
                    self.failed(format!(
                        "no frame within {:.1} s{}",
                        bound.as_secs_f64(),
                        if stderr.is_empty() {
                            String::new()
                        } else {
                            format!("; it said: {stderr}")
                        }
                    ))?;
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => Msg::End {
                    frames: dec.received,
                    error: Some("the decode thread stopped".into()),
                },
            };
            match msg {
                Msg::Frame(buf) => {
                    let i = dec.next;
                    dec.next += 1;
                    dec.received += 1;
                    dec.progress = Instant::now();
                    self.failures = 0;
                    // The video's frame this is: a looping ffmpeg counts on over passes.
                    let at = dec.pass.map_or(i, |n| i % n);
                    if at == 0 {
                        let print = fingerprint(&buf);
                        match (self.first_print, dec.pass) {
                            (None, _) => self.first_print = Some(print),
                            (Some(first), Some(n)) if i > 0 && first != print => {
                                // This ffmpeg's passes are not `n` frames long: loop by
                                // starting ffmpeg again, as before, from now on.
                                tracing::info!(
                                    file = %self.path.display(),
                                    "ffmpeg looping the file did not come round to the \
                                     first frame after {n} frames; looping by restarting it"
                                );
                                if let Some(free) = &dec.free {
                                    let _ = free.try_send(buf);
                                }
                                self.stream_loop = false;
                                self.decoder = None;
                                continue;
                            }
                            _ => {}
                        }
                    }
                    // Every buffer taken from the queue is matched by one handed back, so
                    // the reader's pool stays whole.
                    let back = if at != index {
                        if !self.prefetching {
                            MediaFaults::count(&self.faults.video_skipped);
                        }
                        buf
                    } else {
                        MediaFaults::count(&self.faults.video_shown);
                        hand_over(self.decode, &mut out.pixels, buf)
                    };
                    if let Some(free) = &dec.free {
                        let _ = free.try_send(back);
                    }
                    if at != index {
                        continue;
                    }
                    out.width = self.info.width;
                    out.height = self.info.height;
                    // Frame `index` of this stream is always the same picture: its key lets
                    // the renderer reuse its resampled canvas on every tick that shows it (a
                    // 30 fps video on a 120 Hz wall with temporal dither resamples each frame
                    // once, not four times), and skip ticks that change nothing.
                    out.key = Some(self.key_base + index);
                    self.last = Some(index);
                    self.standby_for_loop(index);
                    return Ok(ReadStatus::Frame);
                }
                Msg::End { frames, error } => {
                    let start = dec.next - frames;
                    let total = dec.next;
                    let looped = dec.pass.is_some();
                    // ffmpeg closed its output: it has exited or is about to.
                    let status = dec.exit_status(Duration::from_millis(50));
                    let clean = status.is_some_and(|s| s.success());
                    let signal = status.and_then(|s| {
                        #[cfg(unix)]
                        {
                            use std::os::unix::process::ExitStatusExt;
                            s.signal()
                        }
                        #[cfg(not(unix))]
                        {
                            let _ = s;
                            None
                        }
                    });
                    self.decoder = None;
                    if looped && signal.is_none() {
                        // ffmpeg stopped although asked to loop (an input it cannot go
                        // back to the start of; the first pass played without it): loop by
                        // starting it again from now on.
                        tracing::info!(
                            file = %self.path.display(),
                            stderr = %error.unwrap_or_default(),
                            "ffmpeg stopped looping the file; looping by restarting it"
                        );
                        self.stream_loop = false;
                        continue;
                    }
                    if !clean && (frames > 0 || start > 0 || signal.is_some()) {
                        // Killed or crashed mid-item: start it again where we are.
                        MediaFaults::count(&self.faults.crashes);
                        let how = match (signal, status) {
                            (Some(sig), _) => format!("killed by signal {sig}"),
                            (None, Some(s)) => format!("exited with {s}"),
                            (None, None) => "did not exit".to_string(),
                        };
                        let said = error.unwrap_or_default();
                        tracing::warn!(
                            file = %self.path.display(),
                            frame = total,
                            stderr = %said,
                            "ffmpeg {how} mid-item; starting it again at frame {index}"
                        );
                        self.failed(format!("ffmpeg {how}"))?;
                        continue;
                    }
                    if !clean && frames == 0 && start == 0 && self.hw.is_some() {
                        // ffmpeg gave up before a frame with hardware decoding asked for
                        // (a device that does not open): once more in software.
                        let said = error.unwrap_or_default();
                        self.failed(format!("ffmpeg exited before a frame: {said}"))?;
                        continue;
                    }
                    if frames == 0 && start == 0 {
                        let reason = match (&error, status) {
                            (Some(e), _) => Some(e.clone()),
                            (None, Some(s)) if !s.success() => Some(format!("ffmpeg {s}")),
                            _ => None,
                        };
                        if let Some(reason) = reason {
                            return Err(MediaError::Video {
                                path: self.path.clone(),
                                reason,
                            });
                        }
                    }
                    if let Some(announced) = self.info.timing.frames()
                        && total < announced
                    {
                        MediaFaults::count(&self.faults.early_ends);
                        tracing::warn!(
                            file = %self.path.display(),
                            frames = total,
                            announced,
                            stderr = %error.unwrap_or_default(),
                            "video ended after {total} of the {announced} frames its header announces"
                        );
                    }
                    self.seen_end = Some(total);
                    if self
                        .standby
                        .as_ref()
                        .is_some_and(|d| d.pass.is_some_and(|n| n != total))
                    {
                        // Started to loop passes of the announced length.
                        self.standby = None;
                    }
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
            let tx = Queue {
                tx,
                queued: Arc::default(),
            };
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
