//! The command line (design §11), parsed with clap: [`Cli`], its subcommands and their
//! arguments, and the `--fit`, `--filter`, `--backend` and `--log-format` values.
//!
//! The defaults of `--max-pixels` and `--max-memory` are the decode limits of
//! [`crate::media`] ([`DEFAULT_MAX_PIXELS`], [`DEFAULT_MAX_BYTES`]). Only the binary,
//! [`crate::run`] and [`crate::commands`] use this module; the rest of the library does not.

use crate::media::{DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS};
use clap::{Args, Parser, Subcommand, ValueEnum};
use ledwall_render::{Filter, Fit};
use std::path::PathBuf;

/// `ledwall`: renders media into the exact bytes LED-wall hardware needs.
#[derive(Debug, Parser)]
#[command(
    name = "ledwall",
    version,
    about = "Renders media into the exact bytes LED-wall hardware needs",
    after_help = "Exit codes: 0 success, 1 the work failed (unreadable media, write errors), \
                  2 the command line or a configuration file is wrong."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Play a playlist on a wall at its refresh rate: the main job.
    ///
    /// PLAYLIST is a playlist file, or one media file or pattern: source (played looped).
    /// With no PLAYLIST the built-in demo playlist plays, and with no --wall the built-in
    /// demo wall (128x64, two ports) is used, from any directory (`ledwall init DIR` writes
    /// them as files). When stdout is a terminal and
    /// no port has a sink other than null, the wall is shown live in the terminal; otherwise
    /// it runs headless into the sinks. Ctrl-C or SIGTERM stops cleanly: the current tick
    /// finishes, sinks are flushed, statistics are printed, exit code 0.
    Play(PlayArgs),
    /// Render one frame of any media (image, animation, image sequence, video, pattern:)
    /// into port buffers, their layout and a preview.
    ///
    /// Writes into DIR: PORT.bin for every output port (exactly the bytes the hardware
    /// gets), frame.json (the port layouts) and preview.png (the emulated wall).
    Render(RenderArgs),
    /// Check wall and playlist files (a playlist with the playlists its schedule names);
    /// list every problem with its file and field, and missing media as warnings.
    Validate(ValidateArgs),
    /// Show the version, the backends built in, the CPU features found, the media formats
    /// that decode, the monitors (for display: sinks) and the network interfaces (for
    /// colorlight:// sinks).
    Info(InfoArgs),
    /// Measure the real pipeline on this machine: throughput (decode → render → null
    /// sink), per-stage p50/p99, latency, pacer lateness at the refresh rate, allocations
    /// per frame, peak RSS, and the memory-bandwidth floor.
    Bench(BenchArgs),
    /// Show what the wall will show, without the wall: an animated GIF or APNG, a contact
    /// sheet or an HTML report of a playlist, rendered through the real pipeline and the
    /// emulator (quantization, dithering, brightness and module layout included).
    ///
    /// The output's extension picks what is written: .gif or .png/.apng (animation),
    /// .sheet.png or --contact-sheet (contact sheet), .html (report).
    Preview(PreviewArgs),
    /// Write the demo wall, playlist and media into DIR as files to start a show from:
    /// DIR/wall.toml, DIR/playlist.toml and DIR/media/.
    ///
    /// DIR is created if missing. Existing files are not overwritten unless --force.
    Init(InitArgs),
    /// Print the shell completion script for SHELL on stdout.
    ///
    /// bash: save as ~/.local/share/bash-completion/completions/ledwall; zsh: as _ledwall in
    /// a folder of $fpath; fish: as ~/.config/fish/completions/ledwall.fish.
    Completions(CompletionsArgs),
    /// Print the man page ledwall(1) on stdout, or write it and one page per subcommand
    /// (ledwall-play(1), ...) into --dir.
    Man(ManArgs),
}

/// `ledwall init`
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// The folder to write into (created if missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Overwrite files that exist already.
    #[arg(long)]
    pub force: bool,
}

/// `ledwall completions`
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `ledwall man`
#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// Write ledwall.1 and ledwall-SUBCOMMAND.1 into this folder (created if missing)
    /// instead of printing ledwall.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `ledwall preview`
#[derive(Debug, Clone, Args)]
pub struct PreviewArgs {
    /// The playlist file (TOML, or JSON with a .json extension), or one media file or
    /// pattern: source (played looped with the defaults).
    #[arg(value_name = "PLAYLIST")]
    pub playlist: String,
    /// The wall file.
    #[arg(long, value_name = "WALL")]
    pub wall: PathBuf,
    /// Output file: .gif, .png or .apng (animation), .sheet.png (contact sheet), .html
    /// (self-contained report).
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// Preview frames per second of an animation (default 10; at most 50 for GIF). Each
    /// frame shows the display tick on screen at its time.
    #[arg(long, value_name = "FPS", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub fps: Option<u32>,
    /// Output pixels per canvas pixel, nearest neighbour (the LED pitch with --led-look).
    /// Default: enough for 512 pixels wide (animations) or 240 (contact-sheet frames), at
    /// most 8; at least 4 with --led-look.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub scale: Option<u32>,
    /// Start of an animation, seconds from the start of the playlist (default 0).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub from: Option<f64>,
    /// End of an animation, seconds (default: one pass of the playlist after --from).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub to: Option<f64>,
    /// Write a contact sheet (one tile per item: first and middle frame, labelled) to a
    /// .png instead of an animation.
    #[arg(long)]
    pub contact_sheet: bool,
    /// Draw every LED as a round dot with dark gaps and seams at module edges, the way the
    /// wall looks from the floor.
    #[arg(long)]
    pub led_look: bool,
    /// Preview the playlist of [[schedule]] entry N (from 0) instead of the file's own items.
    #[arg(long, value_name = "N")]
    pub schedule: Option<usize>,
    /// Render backend (as for render).
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,
    /// Graphics adapter for the GPU backend (part of its name).
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
    /// Refuse images with more pixels than this, before decoding them.
    #[arg(long, value_name = "PIXELS", default_value_t = DEFAULT_MAX_PIXELS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pixels: u64,
    /// Refuse media whose decoded pixels need more memory than this many MiB (all frames
    /// of an animation together), checked before they are decoded.
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_MAX_BYTES >> 20,
          value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    pub max_memory: u64,
    /// No progress bar, no summary, no warnings on the terminal (for scripts).
    #[arg(long, short)]
    pub quiet: bool,
}

/// `ledwall info`
#[derive(Debug, Clone, Args)]
pub struct InfoArgs {
    /// Instead: send the Colorlight discovery request on this network interface and list
    /// the receiving cards that answer (firmware, configured size). Needs CAP_NET_RAW.
    #[arg(long, value_name = "IFACE")]
    pub colorlight: Option<String>,
}

/// `ledwall play`
#[derive(Debug, Clone, Args)]
pub struct PlayArgs {
    /// The playlist file (TOML, or JSON with a .json extension), or one media file or
    /// pattern: source. Default: the built-in demo playlist.
    #[arg(value_name = "PLAYLIST", value_hint = clap::ValueHint::FilePath)]
    pub playlist: Option<String>,
    /// The wall file. Default: the built-in demo wall.
    #[arg(long, value_name = "WALL")]
    pub wall: Option<PathBuf>,
    /// Send output port PORT to URL instead of the wall file's sink (repeatable): null,
    /// file:PATH, preview:PATH, ddp://HOST, artnet://HOST?universe=N,
    /// sacn://HOST?universe=N&sync=U&priority=P, sacn://?universe=N&iface=IFACE,
    /// colorlight://IFACE, display:MONITOR.
    #[arg(long = "sink", value_name = "PORT=URL")]
    pub sinks: Vec<String>,
    /// Render backend (as for render).
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,
    /// Graphics adapter for the GPU backend (part of its name).
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
    /// Stop after this many seconds (rounded to whole ticks). Default: until Ctrl-C or
    /// SIGTERM.
    #[arg(long = "for", value_name = "SECONDS", value_parser = parse_seconds)]
    pub duration: Option<f64>,
    /// Write the statistics as JSON to FILE, and every tick (lateness, new / repeated /
    /// dropped, queue depth, send time) as CSV to FILE with the extension .ticks.csv.
    #[arg(long, value_name = "FILE")]
    pub stats: Option<PathBuf>,
    /// Log lines on stderr as text or as JSON objects (RUST_LOG filters; default info).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Refuse images with more pixels than this, before decoding them.
    #[arg(long, value_name = "PIXELS", default_value_t = DEFAULT_MAX_PIXELS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pixels: u64,
    /// Refuse media whose decoded pixels need more memory than this many MiB (all frames
    /// of an animation together), checked before they are decoded.
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_MAX_BYTES >> 20,
          value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    pub max_memory: u64,
    /// Decode video on the GPU through ffmpeg: `auto` (NVDEC, else VAAPI, when this machine
    /// and its ffmpeg have them), `vaapi`, `cuda`, `qsv`, or `off` (software). Given, it
    /// wins over `hwaccel` in playlist files; without it and them, software. Without the
    /// device, or when decoding with it fails, video is decoded in software and the log says
    /// so once
    #[arg(long, value_name = "auto|off|vaapi|cuda|qsv", value_parser = parse_hwaccel)]
    pub hwaccel: Option<crate::media::video::Hwaccel>,
    /// Start the control API and page on ADDR (e.g. 127.0.0.1:8080, [::1]:8080,
    /// 0.0.0.0:8080). Off unless given. An address other than loopback needs a token.
    #[arg(long, value_name = "ADDR")]
    pub control: Option<std::net::SocketAddr>,
    /// Read the control API's bearer token from FILE (else from LEDWALL_CONTROL_TOKEN).
    #[arg(long, value_name = "FILE")]
    pub control_token_file: Option<PathBuf>,
    /// A folder whose playlists the control API may switch to (repeatable); the started
    /// playlist's folder always is one.
    #[arg(long = "content-root", value_name = "DIR")]
    pub content_roots: Vec<PathBuf>,
    /// What to show while the playlist file is missing (a share not mounted yet at boot): a
    /// still, animation, video or `pattern:` source. The playlist takes over within a
    /// second of appearing. Default: the wall's background colour (black if none).
    #[arg(long, value_name = "SOURCE")]
    pub fallback: Option<String>,
    /// Take tick times from the system clock: tick n is due at RFC3339 + n / refresh_hz
    /// (e.g. 2026-12-06T18:00:00Z), so players whose clocks chrony or PTP keep together
    /// show the same frame at the same moment. Overrides the playlist's `epoch`.
    #[arg(long, value_name = "RFC3339", value_parser = parse_epoch)]
    pub epoch: Option<i64>,
    /// Be an FPP MultiSync master: send start, sync and stop for the item on screen to the
    /// MultiSync group 239.70.80.80:32320 (`master`), or to the listed hosts
    /// (`master:HOST[:PORT][,HOST[:PORT]...]`, port 32320 unless given). Or be a remote
    /// (`remote`): follow the master heard on UDP 32320 (unicast, and the group on every
    /// multicast-capable interface); `remote:PORT` listens on another port;
    /// `remote:HOST[,HOST...]` follows only packets sent from those hosts' IPv4 addresses
    /// (others are ignored and counted); `remote:PORT,HOST[,HOST...]` does both. A number
    /// in the list is the port; hosts take no port (a master's source port varies).
    #[arg(
        long,
        value_name = "master|master:HOSTS|remote|remote:PORT|remote:[PORT,]HOSTS",
        value_parser = parse_multisync
    )]
    pub multisync: Option<MultisyncArg>,
    /// The network interface (a name such as eth1, or one of its IPv4 addresses) MultiSync
    /// multicast uses: a master sends to 239.70.80.80 out of it, a remote joins the group on
    /// it only. Default: a master sends by the route to 224.0.0.0/4, a remote joins on every
    /// interface that is up, multicast-capable and has an IPv4 address.
    #[arg(long, value_name = "IFACE", requires = "multisync")]
    pub multisync_iface: Option<String>,
    /// Hops a master's multicast packets may take (IP TTL, 1 ... 255). Default 1: this
    /// subnet only, as FPP sends.
    #[arg(long, value_name = "N", requires = "multisync",
          value_parser = clap::value_parser!(u32).range(1..=255))]
    pub multisync_ttl: Option<u32>,
}

/// `--multisync`: where a master sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultisyncArg {
    /// The MultiSync multicast group on port 32320.
    Multicast,
    /// Each of these `HOST` or `HOST:PORT` (checked for form; resolved when playing starts).
    Unicast(Vec<String>),
    /// A remote listening on `port` (unicast and the multicast group), following only the
    /// senders `hosts` (IPv4 addresses or names, resolved when playing starts), or any
    /// sender when there are none.
    Remote {
        /// The UDP port listened on.
        port: u16,
        /// The masters followed; empty: any.
        hosts: Vec<String>,
    },
}

fn parse_multisync(s: &str) -> Result<MultisyncArg, String> {
    if s == "master" {
        return Ok(MultisyncArg::Multicast);
    }
    if s == "remote" {
        return Ok(MultisyncArg::Remote {
            port: crate::multisync::PORT,
            hosts: Vec::new(),
        });
    }
    if let Some(list) = s.strip_prefix("remote:") {
        return parse_remote(s, list);
    }
    let Some(list) = s.strip_prefix("master:") else {
        return Err(format!(
            "\"{s}\" is not master, master:HOST[:PORT][,HOST[:PORT]...], remote, \
             remote:PORT or remote:[PORT,]HOST[,HOST...]"
        ));
    };
    let mut hosts = Vec::new();
    for host in list.split(',') {
        let bad = |why: &str| format!("\"{host}\" in \"{s}\": {why}");
        let (name, port) = match host.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host, None),
        };
        if name.is_empty() || name.contains(char::is_whitespace) || name.contains(':') {
            return Err(bad(
                "expected HOST or HOST:PORT (an IPv4 address or a host name)",
            ));
        }
        if let Some(p) = port
            && !matches!(p.parse::<u16>(), Ok(1..))
        {
            return Err(bad("the port is not a number 1 ... 65535"));
        }
        hosts.push(host.to_string());
    }
    Ok(MultisyncArg::Unicast(hosts))
}

/// `remote:LIST`: comma-separated entries, each a port (a number; at most one) or a host
/// (an IPv4 address or a name, without a port).
fn parse_remote(s: &str, list: &str) -> Result<MultisyncArg, String> {
    let mut port = None;
    let mut hosts = Vec::new();
    for entry in list.split(',') {
        let bad = |why: &str| {
            format!(
                "\"{entry}\" in \"{s}\": {why} (expected remote:PORT, remote:HOST[,HOST...] or \
                 remote:PORT,HOST[,HOST...])"
            )
        };
        if !entry.is_empty() && entry.bytes().all(|b| b.is_ascii_digit()) {
            match entry.parse::<u16>() {
                Ok(p @ 1..) if port.is_none() => port = Some(p),
                Ok(1..) => return Err(bad("a second port")),
                _ => return Err(bad("the port is not a number 1 ... 65535")),
            }
        } else if entry.contains(':') {
            return Err(bad(
                "a host takes no port here: the port listened on is its own entry",
            ));
        } else if entry.is_empty() || entry.contains(char::is_whitespace) {
            return Err(bad("not a port or a host"));
        } else {
            hosts.push(entry.to_string());
        }
    }
    Ok(MultisyncArg::Remote {
        port: port.unwrap_or(crate::multisync::PORT),
        hosts,
    })
}

fn parse_epoch(s: &str) -> Result<i64, String> {
    crate::playlist::parse_epoch(s)
}

/// `--log-format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

/// `ledwall render`
#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    /// The wall file (TOML, or JSON with a .json extension).
    #[arg(long, value_name = "WALL")]
    pub wall: PathBuf,
    /// What to show: an image (PNG 8/16-bit, JPEG, GIF, WebP, BMP, TIFF; alpha composited
    /// over the wall's background), an animation (GIF, APNG, WebP), a video (through
    /// ffmpeg), a folder or glob of images, or a test pattern (pattern:bars, pattern:grid,
    /// pattern:ramp, pattern:checker, pattern:line, pattern:gradient, pattern:solid:#RRGGBB).
    #[arg(long, short, value_name = "MEDIA")]
    pub input: PathBuf,
    /// Time into an animation, video, sequence or moving pattern, in seconds: the frame on
    /// screen at that time is rendered.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0,
          value_parser = parse_seconds)]
    pub at: f64,
    /// Frame rate of an image sequence (a folder or glob).
    #[arg(long, value_name = "FPS", default_value_t = crate::media::sequence::DEFAULT_FPS,
          value_parser = parse_fps)]
    pub fps: f64,
    /// How the image is fitted to the canvas.
    #[arg(long, value_enum, default_value_t = FitArg::Contain)]
    pub fit: FitArg,
    /// Resampling filter.
    #[arg(long, value_enum, default_value_t = FilterArg::Lanczos3)]
    pub filter: FilterArg,
    /// Render backend: `auto` takes the GPU on a hardware adapter and the CPU when the only
    /// adapter is a software one (lavapipe, llvmpipe) or none; `gpu` forces the GPU path.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,
    /// Graphics adapter for the GPU backend: a case-insensitive part of its name, as
    /// `ledwall info` lists them. `WGPU_BACKEND=vulkan|gl` limits the APIs searched.
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
    /// Display tick to render (moves the temporal dither pattern).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub frame: u64,
    /// Refuse images with more pixels than this, before decoding them.
    #[arg(long, value_name = "PIXELS", default_value_t = DEFAULT_MAX_PIXELS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pixels: u64,
    /// Refuse media whose decoded pixels need more memory than this many MiB (all frames
    /// of an animation together), checked before they are decoded.
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_MAX_BYTES >> 20,
          value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    pub max_memory: u64,
    /// Decode video on the GPU through ffmpeg: `auto` (NVDEC, else VAAPI, when this machine
    /// and its ffmpeg have them), `vaapi`, `cuda`, `qsv`, or `off` (software, the default).
    /// Without the device, or when decoding with it fails, video is decoded in software and
    /// the log says so once
    #[arg(long, value_name = "auto|off|vaapi|cuda|qsv", default_value = "off",
          value_parser = parse_hwaccel)]
    pub hwaccel: crate::media::video::Hwaccel,
    /// Directory for the output files; created if missing.
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("\"{s}\" is not a number of seconds >= 0")),
    }
}

fn parse_fps(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 1000.0 => Ok(v),
        _ => Err(format!("\"{s}\" is not a frame rate in (0, 1000]")),
    }
}

/// `ledwall bench`
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// The wall file.
    #[arg(long, value_name = "WALL")]
    pub wall: PathBuf,
    /// What to render: any media or `pattern:` source. Default: two synthetic 3840x2160
    /// photographs alternating (the render pipeline without decode cost).
    #[arg(long, short, value_name = "MEDIA")]
    pub input: Option<String>,
    /// Render backend.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,
    /// Graphics adapter for the GPU backend (part of its name).
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
    /// Decode video on the GPU through ffmpeg: `auto` (NVDEC, else VAAPI, when this machine
    /// and its ffmpeg have them), `vaapi`, `cuda`, `qsv`, or `off` (software, the default).
    /// Without the device, or when decoding with it fails, video is decoded in software and
    /// the log says so once
    #[arg(long, value_name = "auto|off|vaapi|cuda|qsv", default_value = "off",
          value_parser = parse_hwaccel)]
    pub hwaccel: crate::media::video::Hwaccel,
    /// Frames timed in each run (after the warm-up).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub frames: u64,
    /// Untimed frames first.
    #[arg(long, default_value_t = 10)]
    pub warmup: u64,
    /// Refresh rate of the pacing run (default: the wall's `refresh_hz`).
    #[arg(long, value_name = "HZ", value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub refresh: Option<u32>,
    /// Measure the still path: keep the source's cache key (by default every frame goes
    /// through every stage, as video does).
    #[arg(long)]
    pub cache: bool,
    /// Write the figures as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Draw per-frame render times and the lateness histogram into a PNG.
    #[arg(long, value_name = "FILE.png")]
    pub plot: Option<PathBuf>,
    /// Pace into the wall's `display:` ports (their windows; needs an X server) instead of
    /// null sinks, and report each display's present time and the frames it missed.
    #[arg(long)]
    pub display: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `ledwall validate`
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// Wall and playlist files to check (a playlist is recognized by its items or
    /// schedule and no canvas).
    #[arg(value_name = "FILE", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
}

/// `--fit` values: the render crate's [`Fit`] modes, same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FitArg {
    /// Scale to fit inside, letterbox with the background.
    Contain,
    /// Scale to fill, crop the overflow.
    Cover,
    /// Scale each axis to the canvas.
    Stretch,
    /// No scaling: centre, crop or pad.
    Center,
}

impl From<FitArg> for Fit {
    fn from(f: FitArg) -> Fit {
        match f {
            FitArg::Contain => Fit::Contain,
            FitArg::Cover => Fit::Cover,
            FitArg::Stretch => Fit::Stretch,
            FitArg::Center => Fit::Center,
        }
    }
}

/// `--filter` values: the render crate's [`Filter`]s, same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FilterArg {
    /// Nearest neighbour (pixel art).
    Nearest,
    /// Bilinear.
    Bilinear,
    /// Catmull-Rom cubic.
    CatmullRom,
    /// Lanczos, 3 lobes.
    Lanczos3,
    /// Area (box) average, for large downscales.
    Area,
}

impl From<FilterArg> for Filter {
    fn from(f: FilterArg) -> Filter {
        match f {
            FilterArg::Nearest => Filter::Nearest,
            FilterArg::Bilinear => Filter::Bilinear,
            FilterArg::CatmullRom => Filter::CatmullRom,
            FilterArg::Lanczos3 => Filter::Lanczos3,
            FilterArg::Area => Filter::Area,
        }
    }
}

/// `--backend` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// GPU on a hardware adapter, else CPU.
    Auto,
    /// The CPU reference backend (rayon).
    Cpu,
    /// The wgpu compute backend, on any adapter (software ones included).
    Gpu,
}

impl From<BackendArg> for ledwall_render::BackendChoice {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::Auto => ledwall_render::BackendChoice::Auto,
            BackendArg::Cpu => ledwall_render::BackendChoice::Cpu,
            BackendArg::Gpu => ledwall_render::BackendChoice::Gpu,
        }
    }
}

/// `--hwaccel`: one of the names of [`crate::media::video::Hwaccel::from_name`].
fn parse_hwaccel(s: &str) -> Result<crate::media::video::Hwaccel, String> {
    crate::media::video::Hwaccel::from_name(s)
        .ok_or_else(|| format!("{s:?}: use auto, off, vaapi, cuda or qsv"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn multisync_values() {
        let m = |s: &str| parse_multisync(s);
        assert_eq!(m("master"), Ok(MultisyncArg::Multicast));
        assert_eq!(
            m("master:10.0.0.2,wall-b:4000"),
            Ok(MultisyncArg::Unicast(vec![
                "10.0.0.2".into(),
                "wall-b:4000".into()
            ]))
        );
        for bad in [
            "",
            "master:",
            "master:a,,b",
            "master:a:0",
            "master:a:x",
            "slave",
            "Master",
        ] {
            assert!(m(bad).is_err(), "{bad:?} accepted");
        }
        let remote = |port, hosts: &[&str]| {
            Ok(MultisyncArg::Remote {
                port,
                hosts: hosts.iter().map(|h| h.to_string()).collect(),
            })
        };
        assert_eq!(m("remote"), remote(32320, &[]));
        assert_eq!(m("remote:4000"), remote(4000, &[]));
        assert_eq!(m("remote:10.0.0.1"), remote(32320, &["10.0.0.1"]));
        assert_eq!(
            m("remote:10.0.0.1,wall-a"),
            remote(32320, &["10.0.0.1", "wall-a"])
        );
        assert_eq!(
            m("remote:4000,10.0.0.1,wall-a"),
            remote(4000, &["10.0.0.1", "wall-a"])
        );
        assert_eq!(m("remote:wall-a,4000"), remote(4000, &["wall-a"]));
        for bad in [
            "remote:",
            "remote:0",
            "remote:65536",
            "remote:10.0.0.1:4000",
            "remote:4000,4001",
            "remote:a,,b",
            "remote:a b",
            "remote:,a",
        ] {
            let e = m(bad).unwrap_err();
            assert!(e.contains("remote:PORT"), "{bad}: {e}");
        }
    }

    #[test]
    fn multisync_iface_and_ttl() {
        let play = |extra: &[&str]| {
            let mut argv = vec!["ledwall", "play", "pattern:bars"];
            argv.extend_from_slice(extra);
            Cli::try_parse_from(argv).map(|c| match c.command {
                Command::Play(a) => (a.multisync_iface, a.multisync_ttl),
                _ => panic!("not play"),
            })
        };
        assert_eq!(play(&[]).unwrap(), (None, None));
        assert_eq!(
            play(&[
                "--multisync",
                "master",
                "--multisync-iface",
                "eth1",
                "--multisync-ttl",
                "4"
            ])
            .unwrap(),
            (Some("eth1".into()), Some(4))
        );
        for bad in [
            &["--multisync-iface", "eth1"][..],
            &["--multisync-ttl", "2"],
            &["--multisync", "master", "--multisync-ttl", "0"],
            &["--multisync", "master", "--multisync-ttl", "256"],
        ] {
            assert!(play(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn value_names_are_the_render_crate_names() {
        for f in FitArg::value_variants() {
            let name = f.to_possible_value().unwrap().get_name().to_string();
            assert_eq!(Fit::from(*f).name(), name);
        }
        for f in FilterArg::value_variants() {
            let name = f.to_possible_value().unwrap().get_name().to_string();
            assert_eq!(Filter::from(*f).name(), name);
        }
        assert_eq!(FitArg::value_variants().len(), Fit::ALL.len());
        assert_eq!(FilterArg::value_variants().len(), Filter::ALL.len());
    }

    #[test]
    fn render_defaults() {
        let cli = Cli::try_parse_from([
            "ledwall", "render", "--wall", "w.toml", "--input", "a.png", "--out", "o",
        ])
        .unwrap();
        let Command::Render(a) = cli.command else {
            panic!("not render")
        };
        assert_eq!(a.fit, FitArg::Contain);
        assert_eq!(a.filter, FilterArg::Lanczos3);
        assert_eq!(a.backend, BackendArg::Auto);
        assert_eq!(a.frame, 0);
        assert_eq!(a.max_pixels, DEFAULT_MAX_PIXELS);
        assert_eq!(a.at, 0.0);
    }

    #[test]
    fn at_must_be_a_non_negative_number() {
        let parse = |at: &str| {
            Cli::try_parse_from([
                "ledwall", "render", "--wall", "w", "--input", "a", "--out", "o", "--at", at,
            ])
        };
        assert!(parse("0.15").is_ok());
        for bad in ["-1", "x", "inf", "NaN"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn max_pixels_zero_is_a_usage_error() {
        let r = Cli::try_parse_from([
            "ledwall",
            "render",
            "--wall",
            "w",
            "--input",
            "a",
            "--out",
            "o",
            "--max-pixels",
            "0",
        ]);
        assert!(r.is_err());
    }
}
