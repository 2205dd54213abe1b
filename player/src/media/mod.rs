//! Media: every kind of source a playlist item can name, decoded into reusable frame
//! buffers of RGBA code values with alpha composited over the background (design §1,
//! "SourceFrame").
//!
//! * [`still`]: single images through `image`: PNG (8 and 16 bits per channel), JPEG, GIF,
//!   WebP, BMP, TIFF.
//! * [`anim`]: animated GIF, APNG and animated WebP, with per-frame delays and loop counts.
//! * [`sequence`]: a folder or glob of images played at a frame rate.
//! * [`video`]: anything ffmpeg decodes, through an `ffmpeg` child process writing raw RGBA
//!   to a pipe, read ahead by a thread into a bounded queue.
//! * [`live`]: live sources (stream URLs, capture devices, the desktop) through ffmpeg: the
//!   newest frame at each tick; stalls hold the last frame (or the item's `fallback`)
//!   while ffmpeg is reconnected with backoff.
//! * [`crate::patterns`]: generated test patterns (`pattern:bars` …).
//! * [`memory`]: frames held in memory (the benchmark's synthetic photographs).
//!
//! All of them implement [`MediaSource`]: [`MediaSource::read_frame`] writes frame `index`
//! into a caller-owned [`Frame`], reusing its allocation. Frame *timing* is described by
//! [`Timing`] (exact fractions of a second), which the timeline turns into display ticks.
//!
//! Decoding is bounded: images with more pixels than [`LoadOptions::max_pixels`] (default
//! [`DEFAULT_MAX_PIXELS`]) are refused from their header, and decoded data larger than
//! [`LoadOptions::max_bytes`] (default [`DEFAULT_MAX_BYTES`]) is refused before it is
//! allocated (animations: as soon as the frames seen so far would pass it). [`open`] runs
//! every decoder under `catch_unwind`, so a decoder bug on a hostile file is an error
//! ([`MediaError::Panicked`]), never a dead player.

pub mod anim;
pub mod live;
pub mod memory;
pub mod sequence;
pub mod still;
pub mod timing;
pub mod video;

pub use live::{LiveInput, LiveRef};
pub use memory::MemoryClip;
pub use still::{Pixels, StillImage, YuvPixels, composite8, composite16, decode, load_image};
pub use timing::{Time, Timing};

use crate::patterns::{self, Canvas, Pattern};
use image::ImageFormat;
use ledwall_render::SourceImage;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Default pixel limit for one image: images with more pixels than this are refused from
/// their header (the command line's `--max-pixels` default).
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;

/// Default memory limit for one item's decoded pixels: 1 GiB (the command line's
/// `--max-memory` default, in MiB).
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// Why media could not be loaded or played.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The file could not be opened.
    #[error("cannot open {}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// An image, animation or sequence frame that is not a regular file (a FIFO, a device,
    /// a socket): reading it could block the player for good, so it is refused unread.
    #[error(
        "{} is {kind}, not a regular file; images, animations and sequence frames must be files (only a video may come from a pipe)",
        path.display()
    )]
    NotAFile {
        /// The file.
        path: PathBuf,
        /// What it is instead ("a FIFO", "a character device", …).
        kind: &'static str,
    },
    /// The content is neither an image format this build decodes nor a video.
    #[error(
        "{} is not an image this build decodes (PNG, JPEG, GIF, WebP, BMP, TIFF) and not a video ffprobe recognizes",
        path.display()
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The image has more pixels than allowed; refused from its header, before decoding.
    #[error(
        "{} is {width}x{height} = {pixels} pixels, more than the limit of {limit}; refused before decoding",
        path.display(),
        pixels = *width as u64 * *height as u64
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// The limit in pixels.
        limit: u64,
    },
    /// Decoding would need more memory than allowed; refused before allocating it.
    #[error(
        "{} needs at least {bytes} bytes of decoded pixels ({what}), more than the limit of {limit}",
        path.display()
    )]
    TooMuchMemory {
        /// The file.
        path: PathBuf,
        /// What needs the memory, e.g. "31 frames of 640x480".
        what: String,
        /// Bytes needed (so far).
        bytes: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The image has no pixels.
    #[error("{} is empty ({width}x{height})", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
    },
    /// The header or the pixel data is damaged or uses a feature the decoder lacks.
    #[error("cannot decode {} as {format}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// The format it was recognized as.
        format: &'static str,
        /// The decoder's reason.
        #[source]
        source: image::ImageError,
    },
    /// The file parsed but its content cannot be used.
    #[error("{} cannot be played: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An animation with no frames.
    #[error("{} is an animation without frames", path.display())]
    NoFrames {
        /// The file.
        path: PathBuf,
    },
    /// An image sequence that cannot be played.
    #[error("image sequence {pattern}: {reason}")]
    Sequence {
        /// The folder or glob.
        pattern: String,
        /// Why.
        reason: String,
    },
    /// ffmpeg or ffprobe could not be found or started.
    #[error("cannot play {} as video: {reason}", path.display())]
    FfmpegMissing {
        /// The file.
        path: PathBuf,
        /// What was tried.
        reason: String,
    },
    /// ffmpeg or ffprobe ran but failed.
    #[error("cannot play {} as video: {reason}", path.display())]
    Video {
        /// The file.
        path: PathBuf,
        /// Why (ffmpeg's own message where it gave one).
        reason: String,
    },
    /// A `pattern:` source that does not exist or has bad parameters.
    #[error("{source_text}: {reason}")]
    Pattern {
        /// The source as written.
        source_text: String,
        /// Why.
        reason: String,
    },
    /// The decoder panicked (a bug in it, triggered by this file); the panic was caught.
    #[error("the decoder crashed on {} (caught): {message}", path.display())]
    Panicked {
        /// The file.
        path: PathBuf,
        /// The panic message.
        message: String,
    },
}

/// How to load media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Refuse images with more pixels than this (checked from the header).
    pub max_pixels: u64,
    /// Refuse media whose decoded pixels need more bytes than this (all frames of an
    /// animation together; one frame of a video).
    pub max_bytes: u64,
    /// Code values (0..255) that transparent pixels are composited over: the wall's
    /// `color.background` or the item's `background`.
    pub background: [u8; 3],
    /// Video: decode on the GPU through ffmpeg (`--hwaccel`, `hwaccel` in playlists).
    pub hwaccel: video::Hwaccel,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_pixels: DEFAULT_MAX_PIXELS,
            max_bytes: DEFAULT_MAX_BYTES,
            background: [0; 3],
            hwaccel: video::Hwaccel::Off,
        }
    }
}

/// A reusable frame buffer: RGBA code values, alpha composited.
///
/// Sources write into it with [`MediaSource::read_frame`], reusing the allocation when the
/// size allows. `key` identifies the content: two frames with the same `Some(key)` hold the
/// same pixels (stills, animation frames), which lets sources skip a copy and the renderer
/// reuse a resampled canvas; video frames have `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The pixels.
    pub pixels: Pixels,
    /// Content identity, see above.
    pub key: Option<u64>,
}

impl Default for Frame {
    fn default() -> Self {
        Frame::new()
    }
}

impl Frame {
    /// An empty frame (0x0) to decode into.
    pub fn new() -> Self {
        Frame {
            width: 0,
            height: 0,
            pixels: Pixels::Rgba8(Vec::new()),
            key: None,
        }
    }

    /// Whether it holds a picture.
    pub fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0
    }

    /// Borrow as a renderer source (with the key, so stills hit the renderer's cache).
    pub fn source(&self) -> SourceImage<'_> {
        let s = self.pixels.source(self.width, self.height);
        match self.key {
            Some(k) => s.with_key(k),
            None => s,
        }
    }

    /// Copy `width` x `height` RGBA8 pixels in, reusing the allocation.
    pub fn set_rgba8(&mut self, width: u32, height: u32, data: &[u8], key: Option<u64>) {
        match &mut self.pixels {
            Pixels::Rgba8(v) => {
                v.clear();
                v.extend_from_slice(data);
            }
            p => *p = Pixels::Rgba8(data.to_vec()),
        }
        self.width = width;
        self.height = height;
        self.key = key;
    }

    /// Copy `width` x `height` RGBA16 pixels in, reusing the allocation.
    pub fn set_rgba16(&mut self, width: u32, height: u32, data: &[u16], key: Option<u64>) {
        match &mut self.pixels {
            Pixels::Rgba16(v) => {
                v.clear();
                v.extend_from_slice(data);
            }
            p => *p = Pixels::Rgba16(data.to_vec()),
        }
        self.width = width;
        self.height = height;
        self.key = key;
    }

    /// Copy a decoded still in (skipped when `key` says the frame already holds it).
    pub fn set_still(&mut self, still: &StillImage, key: u64) {
        if self.key == Some(key) && self.width == still.width && self.height == still.height {
            return;
        }
        self.set_pixels(still.width, still.height, &still.pixels, Some(key));
    }

    /// Copy `width` x `height` of `pixels` in, reusing the allocation.
    pub fn set_pixels(&mut self, width: u32, height: u32, pixels: &Pixels, key: Option<u64>) {
        match pixels {
            Pixels::Rgba8(d) => self.set_rgba8(width, height, d, key),
            Pixels::Rgba16(d) => self.set_rgba16(width, height, d, key),
            p @ Pixels::Yuv(_) => {
                self.pixels.clone_from(p);
                (self.width, self.height, self.key) = (width, height, key);
            }
        }
    }

    /// The RGBA8 pixel at (x, y), 16-bit frames reduced to 8 bits (tests, previews).
    pub fn pixel8(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 4;
        match &self.pixels {
            Pixels::Rgba8(d) => d.get(i..i + 4).and_then(|p| p.try_into().ok()),
            Pixels::Rgba16(d) => {
                let p = d.get(i..i + 4)?;
                Some([0, 1, 2, 3].map(|c| ((p[c] as u32 + 128) / 257) as u8))
            }
            Pixels::Yuv(_) => {
                // Tests and previews only: the whole picture converted, one pixel kept.
                let ledwall_render::PixelData::Yuv(img) = self.source().data else {
                    return None;
                };
                let n = self.width as usize * self.height as usize * 4;
                if img.layout.is_deep() {
                    let mut rgba = vec![0u16; n];
                    img.to_rgba16(self.width, self.height, &mut rgba).ok()?;
                    let p = rgba.get(i..i + 4)?;
                    Some([0, 1, 2, 3].map(|c| ((p[c] as u32 + 128) / 257) as u8))
                } else {
                    let mut rgba = vec![0u8; n];
                    img.to_rgba8(self.width, self.height, &mut rgba).ok()?;
                    rgba.get(i..i + 4).and_then(|p| p.try_into().ok())
                }
            }
        }
    }
}

/// What kind of source it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// One image.
    Still,
    /// An animated GIF, APNG or WebP.
    Animation,
    /// A folder or glob of images.
    Sequence,
    /// A video through ffmpeg.
    Video,
    /// A generated test pattern.
    Pattern,
    /// Frames held in memory.
    Memory,
    /// A live stream, capture device or the desktop through ffmpeg.
    Live,
}

impl MediaKind {
    /// Lower-case name for messages.
    pub fn name(self) -> &'static str {
        match self {
            MediaKind::Still => "still",
            MediaKind::Animation => "animation",
            MediaKind::Sequence => "image sequence",
            MediaKind::Video => "video",
            MediaKind::Pattern => "pattern",
            MediaKind::Memory => "in-memory clip",
            MediaKind::Live => "live source",
        }
    }
}

/// What a source is: its name, size and timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaInfo {
    /// The file, folder, glob or pattern, as named.
    pub name: String,
    /// The kind of source.
    pub kind: MediaKind,
    /// Frame width (frames of a sequence may differ; this is the first one's).
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// When each frame shows.
    pub timing: Timing,
}

/// The result of asking a source for a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStatus {
    /// The frame was written.
    Frame,
    /// The source has fewer frames than asked for: it ended after `frames` frames (a
    /// truncated video). The buffer is unchanged.
    End {
        /// Frames the source actually has.
        frames: u64,
    },
    /// The frame is not ready yet (a video whose decoder is behind, or still starting) and
    /// the source was asked not to wait for it ([`OpenOptions::frame_wait`]). The buffer is
    /// unchanged: the previous frame stays on screen. Counted in [`MediaFaults::late`].
    Late,
}

/// Media faults, counted as they happen: shared (through [`OpenOptions::faults`]) by every
/// source and deck opened with the same options, so the engine can show them in its stats
/// and the control API. Read them with [`MediaFaults::snapshot`].
#[derive(Debug, Default)]
pub struct MediaFaults {
    /// Reads that found no frame ready and returned [`ReadStatus::Late`] (the previous frame
    /// stayed on screen).
    pub late: AtomicU64,
    /// Decoders (ffmpeg) that gave no frame within the watchdog's bound and were killed.
    pub stalls: AtomicU64,
    /// Decoders that died mid-item (killed, crashed, non-zero exit).
    pub crashes: AtomicU64,
    /// Restarts after a stall, a crash or an early end (a decoder started again, or an
    /// item played again from its start).
    pub restarts: AtomicU64,
    /// Videos that ended before the frame count their header announced.
    pub early_ends: AtomicU64,
    /// Items that could not be opened (each try counts).
    pub failed_opens: AtomicU64,
    /// Items that failed to open and opened on a later try.
    pub recovered: AtomicU64,
    /// Live sources that gave no new frame for [`live::STALL_AFTER`] (the last frame, or the
    /// item's fallback, showed while it lasted).
    pub live_stalls: AtomicU64,
    /// Live sources' ffmpeg started again (it exited, or gave no frame in time).
    pub live_reconnects: AtomicU64,
    /// Live sources whose frames came again after a stall.
    pub live_recoveries: AtomicU64,
    /// Live frames replaced by a newer one before a tick showed them.
    pub live_dropped: AtomicU64,
    /// Live sources stalled now (a gauge).
    pub live_stalled_now: AtomicU64,
    /// Live sources showing their fallback now (a gauge).
    pub live_fallback_now: AtomicU64,
    /// Video frames handed to the screen (each source frame once).
    pub video_shown: AtomicU64,
    /// Video frames decoded but read through, because by the time they came a later frame
    /// was due (the decoder fell behind the wall).
    pub video_skipped: AtomicU64,
}

/// A copy of [`MediaFaults`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MediaFaultCounts {
    /// See [`MediaFaults::late`].
    pub late: u64,
    /// See [`MediaFaults::stalls`].
    pub stalls: u64,
    /// See [`MediaFaults::crashes`].
    pub crashes: u64,
    /// See [`MediaFaults::restarts`].
    pub restarts: u64,
    /// See [`MediaFaults::early_ends`].
    pub early_ends: u64,
    /// See [`MediaFaults::failed_opens`].
    pub failed_opens: u64,
    /// See [`MediaFaults::recovered`].
    pub recovered: u64,
    /// See [`MediaFaults::live_stalls`].
    pub live_stalls: u64,
    /// See [`MediaFaults::live_reconnects`].
    pub live_reconnects: u64,
    /// See [`MediaFaults::live_recoveries`].
    pub live_recoveries: u64,
    /// See [`MediaFaults::live_dropped`].
    pub live_dropped: u64,
    /// See [`MediaFaults::live_stalled_now`].
    pub live_stalled_now: u64,
    /// See [`MediaFaults::live_fallback_now`].
    pub live_fallback_now: u64,
    /// See [`MediaFaults::video_shown`].
    pub video_shown: u64,
    /// See [`MediaFaults::video_skipped`].
    pub video_skipped: u64,
}

impl MediaFaults {
    /// The counters now.
    pub fn snapshot(&self) -> MediaFaultCounts {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        MediaFaultCounts {
            late: g(&self.late),
            stalls: g(&self.stalls),
            crashes: g(&self.crashes),
            restarts: g(&self.restarts),
            early_ends: g(&self.early_ends),
            failed_opens: g(&self.failed_opens),
            recovered: g(&self.recovered),
            live_stalls: g(&self.live_stalls),
            live_reconnects: g(&self.live_reconnects),
            live_recoveries: g(&self.live_recoveries),
            live_dropped: g(&self.live_dropped),
            live_stalled_now: g(&self.live_stalled_now),
            live_fallback_now: g(&self.live_fallback_now),
            video_shown: g(&self.video_shown),
            video_skipped: g(&self.video_skipped),
        }
    }

    /// Add one to a counter.
    pub fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A source of frames: a still, an animation, a sequence, a video or a pattern.
pub trait MediaSource: Send {
    /// Name, size and timing.
    fn info(&self) -> &MediaInfo;

    /// Write frame `index` (0-based, within one pass; callers wrap loops with the frame
    /// count of [`MediaInfo::timing`]) into `out`, reusing its allocation.
    fn read_frame(&mut self, index: u64, out: &mut Frame) -> Result<ReadStatus, MediaError>;

    /// Start decoding frame `index` before it is shown (the deck's pre-roll of the next
    /// item): like [`MediaSource::read_frame`], but it never waits for a decoder and counts
    /// nothing as late; [`ReadStatus::Late`] means "not decoded yet, ask again".
    fn prefetch(&mut self, index: u64, out: &mut Frame) -> Result<ReadStatus, MediaError> {
        self.read_frame(index, out)
    }

    /// Whether the frames after the one just read are decoded ahead: a video's decoder has
    /// filled its queue (or reached the end). The player's first frame waits for it, so
    /// that a video starting with the run does not drop the frames its decoder takes to
    /// get going. Sources that decode on demand are always ready.
    fn decoded_ahead(&self) -> bool {
        true
    }
}

/// A unique content key for a new source (its frames use `key + index`).
pub fn new_key_base() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1 << 32, Ordering::Relaxed)
}

/// What a playlist item (or `--input`) names.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaRef {
    /// A file: an image, an animation or a video (told apart by content).
    File(PathBuf),
    /// A folder of images, or a glob (`frames/*.png`), played in name order.
    Sequence(PathBuf),
    /// A generated pattern.
    Pattern(Pattern),
    /// Frames in memory (made by a program, never parsed from text).
    Memory(Arc<MemoryClip>),
    /// A live source: a stream URL, a capture device or the desktop (with the item's
    /// fallback, when it has one).
    Live(LiveRef),
}

impl MediaRef {
    /// Interpret a source string: `pattern:...`, a live source (a stream URL, `v4l2:PATH`,
    /// `screen:`; see [`live`]), a glob (contains `*`, `?` or `[`), a folder, or a file.
    /// Relative paths are taken relative to `base` (the playlist's folder); a URL is not a
    /// path.
    pub fn parse(text: &str, base: &Path) -> Result<MediaRef, String> {
        if let Some(rest) = text.strip_prefix("pattern:") {
            return Pattern::parse(rest).map(MediaRef::Pattern);
        }
        if let Some(live) = LiveInput::parse(text) {
            return live.map(|input| MediaRef::Live(LiveRef::new(input, None)));
        }
        if text.trim().is_empty() {
            return Err("empty source".into());
        }
        let path = base.join(text);
        if text.contains(['*', '?', '[']) || path.is_dir() {
            Ok(MediaRef::Sequence(path))
        } else {
            Ok(MediaRef::File(path))
        }
    }

    /// The name used in messages.
    pub fn display(&self) -> String {
        match self {
            MediaRef::File(p) | MediaRef::Sequence(p) => p.display().to_string(),
            MediaRef::Pattern(p) => format!("pattern:{}", p.spec()),
            MediaRef::Memory(c) => c.name().to_string(),
            MediaRef::Live(l) => l.input.display(),
        }
    }
}

/// How to open a source.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Decode limits and the background for alpha.
    pub load: LoadOptions,
    /// Video: offset into the stream, in seconds.
    pub start: f64,
    /// Image sequences: frames per second.
    pub fps: f64,
    /// The wall's canvas, for patterns (size, modules, refresh rate).
    pub canvas: Canvas,
    /// Video: how long [`MediaSource::read_frame`] may wait for a frame that is not decoded
    /// yet. `None` (offline rendering, the default): wait for it, up to the decoder's
    /// watchdog. `Some(d)` (the live player's render thread, with `d` about a frame period
    /// or less): wait at most `d`, then return [`ReadStatus::Late`].
    pub frame_wait: Option<Duration>,
    /// Where media faults are counted (shared by clones of these options).
    pub faults: Arc<MediaFaults>,
    /// `load.hwaccel` was given on the command line (`--hwaccel`): it wins over the
    /// `hwaccel` of playlists and items.
    pub hwaccel_given: bool,
}

impl OpenOptions {
    /// Options for a canvas, with default limits, no start offset and 25 fps sequences.
    pub fn new(canvas: Canvas) -> Self {
        OpenOptions {
            load: LoadOptions::default(),
            start: 0.0,
            fps: sequence::DEFAULT_FPS,
            canvas,
            frame_wait: None,
            faults: Arc::default(),
            hwaccel_given: false,
        }
    }
}

/// Open any source. Errors name the file and the reason; a panicking decoder is caught and
/// reported as [`MediaError::Panicked`].
pub fn open(media: &MediaRef, opts: &OpenOptions) -> Result<Box<dyn MediaSource>, MediaError> {
    match media {
        MediaRef::Pattern(p) => Ok(patterns::open(p, &opts.canvas)),
        MediaRef::Memory(c) => Ok(Box::new(memory::MemorySource::new(c.clone()))),
        MediaRef::Sequence(p) => guarded(p, || {
            sequence::Sequence::open(p, opts.fps, &opts.load)
                .map(|s| Box::new(s) as Box<dyn MediaSource>)
        }),
        MediaRef::File(p) => guarded(p, || open_file(p, opts)),
        MediaRef::Live(l) => Ok(Box::new(live::LiveSource::open(l, opts))),
    }
}

fn open_file(path: &Path, opts: &OpenOptions) -> Result<Box<dyn MediaSource>, MediaError> {
    match still::sniff(path)? {
        Some(format @ (ImageFormat::Gif | ImageFormat::Png | ImageFormat::WebP)) => {
            match anim::Animation::open(path, format, &opts.load)? {
                Some(a) => Ok(Box::new(a)),
                None => Ok(Box::new(still::StillSource::open(path, &opts.load)?)),
            }
        }
        Some(_) => Ok(Box::new(still::StillSource::open(path, &opts.load)?)),
        None => {
            let mut v =
                video::Video::open(path, opts.start, &opts.load, &video::Ffmpeg::from_env())?;
            v.frame_wait = opts.frame_wait;
            v.set_faults(Arc::clone(&opts.faults));
            Ok(Box::new(v))
        }
    }
}

/// Run a decoder, turning a panic into [`MediaError::Panicked`].
pub fn guarded<T>(path: &Path, f: impl FnOnce() -> Result<T, MediaError>) -> Result<T, MediaError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            tracing::error!(file = %path.display(), %message, "media decoder panicked; caught");
            Err(MediaError::Panicked {
                path: path.to_path_buf(),
                message,
            })
        }
    }
}

/// Check a decoded size against the limits before decoding.
pub fn check_size(
    path: &Path,
    width: u32,
    height: u32,
    bytes_per_pixel: u64,
    opts: &LoadOptions,
) -> Result<(), MediaError> {
    if width == 0 || height == 0 {
        return Err(MediaError::Empty {
            path: path.to_path_buf(),
            width,
            height,
        });
    }
    let pixels = width as u64 * height as u64;
    if pixels > opts.max_pixels {
        return Err(MediaError::TooLarge {
            path: path.to_path_buf(),
            width,
            height,
            limit: opts.max_pixels,
        });
    }
    let bytes = pixels.saturating_mul(bytes_per_pixel);
    if bytes > opts.max_bytes {
        return Err(MediaError::TooMuchMemory {
            path: path.to_path_buf(),
            what: format!("one {width}x{height} frame"),
            bytes,
            limit: opts.max_bytes,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_refs_are_told_apart() {
        let base = Path::new("/nonexistent/base");
        assert_eq!(
            MediaRef::parse("a.png", base).unwrap(),
            MediaRef::File(base.join("a.png"))
        );
        assert_eq!(
            MediaRef::parse("frames/*.png", base).unwrap(),
            MediaRef::Sequence(base.join("frames/*.png"))
        );
        assert!(matches!(
            MediaRef::parse("pattern:bars", base).unwrap(),
            MediaRef::Pattern(Pattern::Bars)
        ));
        assert!(MediaRef::parse("pattern:nope", base).is_err());
        assert!(MediaRef::parse("", base).is_err());
        let dir = std::env::temp_dir();
        assert_eq!(
            MediaRef::parse(dir.to_str().unwrap(), base).unwrap(),
            MediaRef::Sequence(dir)
        );
    }

    #[test]
    fn a_panicking_decoder_is_an_error() {
        let r: Result<(), MediaError> = guarded(Path::new("x.gif"), || panic!("boom {}", 7));
        match r {
            Err(MediaError::Panicked { message, .. }) => assert_eq!(message, "boom 7"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn frames_reuse_their_allocation() {
        let mut f = Frame::new();
        f.set_rgba8(2, 1, &[1, 2, 3, 255, 4, 5, 6, 255], Some(9));
        let Pixels::Rgba8(v) = &f.pixels else {
            panic!()
        };
        let ptr = v.as_ptr();
        f.set_rgba8(1, 2, &[7, 8, 9, 255, 1, 1, 1, 255], None);
        let Pixels::Rgba8(v) = &f.pixels else {
            panic!()
        };
        assert_eq!(v.as_ptr(), ptr);
        assert_eq!(f.pixel8(0, 1), Some([1, 1, 1, 255]));
        assert_eq!(f.pixel8(1, 0), None);
        assert!(f.source().check().is_ok());
    }

    #[test]
    fn limits_refuse_before_decoding() {
        let opts = LoadOptions {
            max_pixels: 100,
            max_bytes: 300,
            ..LoadOptions::default()
        };
        let p = Path::new("x");
        assert!(check_size(p, 10, 10, 3, &opts).is_ok());
        assert!(matches!(
            check_size(p, 10, 11, 1, &opts),
            Err(MediaError::TooLarge { .. })
        ));
        assert!(matches!(
            check_size(p, 10, 10, 4, &opts),
            Err(MediaError::TooMuchMemory { bytes: 400, .. })
        ));
        assert!(matches!(
            check_size(p, 0, 10, 4, &opts),
            Err(MediaError::Empty { .. })
        ));
    }
}
