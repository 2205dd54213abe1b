//! `ledwall bench`: honest refresh performance of the real pipeline on this machine.
//!
//! Two runs of the same wall, backend and input:
//!
//! 1. **Throughput**: decode → render (all six stages) → null sink, as fast as it goes, one
//!    frame after another, every frame through every stage (a still's cache is bypassed
//!    unless `--cache`). Per frame: decode, each stage, the sink, end-to-end latency (decode
//!    start → sink done), allocations. Without `--input` the source is a pair of synthetic
//!    3840x2160 photographs alternating (no decode cost: the render pipeline alone).
//! 2. **Pacing**: the playback engine (render thread → channel → pacer → null sink) at the
//!    refresh rate for the same number of ticks: lateness, frames new/repeated/dropped.
//!    It plays the same input; without `--input`, the two photographs as an in-memory clip
//!    at the refresh rate (a new 3840x2160 frame due every tick, each copied into the
//!    engine's frame buffer as a decoder's output would be).
//!
//! Alongside, the machine's copy bandwidth is measured and every throughput is shown as a
//! fraction of the bandwidth floor (the bytes a frame must read and write at least).
//!
//! This module runs both and prints the report ([`run`], [`BenchReport`], also written by
//! `--json`); [`plot`] draws the `--plot` figure from it.

pub mod plot;

use crate::alloc;
use crate::cli::BenchArgs;
use crate::engine::{self, Control, EngineOptions, clock::SystemClock};
use crate::media::{self, Frame, MediaRef, MediaSource, MemoryClip, OpenOptions, ReadStatus};
use crate::patterns::Canvas;
use crate::reload::Program;
use crate::sinks::{SinkOptions, SinkSet};
use anyhow::Context;
use ledwall_render::stage::{Stage, StageTimes};
use ledwall_render::wall::SinkUrl;
use ledwall_render::{AnyRenderer, BackendOptions, Layer, Scene, SourceImage, Wall, WallFrame};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// p50 / p99 in microseconds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct P50P99 {
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
}

/// Lateness percentiles.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Lateness {
    /// Median, µs.
    pub p50: f64,
    /// 99th percentile, µs.
    pub p99: f64,
    /// Maximum, µs.
    pub max: f64,
}

/// Latency percentiles.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Latency {
    /// Median, µs.
    pub p50: f64,
    /// 99th percentile, µs.
    pub p99: f64,
}

/// The JSON report (`--json FILE`).
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The wall file's name.
    pub wall: String,
    /// `cpu` or `gpu`.
    pub backend: String,
    /// The adapter (GPU) or the CPU thread count.
    pub adapter: String,
    /// Why this backend was chosen.
    pub backend_reason: String,
    /// What was rendered.
    pub input: String,
    /// Video decoding: `software`, or the hardware decoder ffmpeg was asked to use
    /// (`--hwaccel`, resolved on this machine: `cuda`, `vaapi on /dev/dri/renderD128`).
    pub video_decode: String,
    /// Source size.
    pub source: [u32; 2],
    /// Frames timed in the throughput run.
    pub frames: u64,
    /// Frames rendered per second in the throughput run (decode to sink).
    pub fps: f64,
    /// Per stage (the six render stages, plus `decode` and `sink`).
    pub stages: BTreeMap<String, P50P99>,
    /// How per-stage times were taken.
    pub stage_method: String,
    /// Decode start → sink done, per frame.
    pub latency_us: Latency,
    /// The pacing run's refresh rate.
    pub refresh_hz: u32,
    /// What the pacing run played.
    pub pacing_input: String,
    /// Pacer lateness.
    pub lateness_us: Lateness,
    /// CPU time the hypervisor took from this machine's CPUs during the pacing run, all
    /// CPUs together, ms (`steal` in `/proc/stat`; `null` where the OS does not say). On a
    /// VM, lateness the output thread's priority cannot prevent shows up here.
    pub steal_ms: Option<f64>,
    /// Ticks that sent a new frame.
    pub new: u64,
    /// Ticks that repeated the last frame.
    pub repeated: u64,
    /// Frames replaced before they were sent.
    pub dropped: u64,
    /// Heap allocations per frame in the throughput run's steady state (`null` when the
    /// counting allocator is not installed).
    pub allocations_per_frame: Option<f64>,
    /// Peak resident set size of the process.
    pub peak_rss_bytes: Option<u64>,
    /// Copy bandwidth (read + write) measured in the same run, bytes/s.
    pub copy_bandwidth_bytes_per_s: f64,
    /// Bytes a frame must read and write at least (source + port buffers).
    pub bytes_per_frame: u64,
    /// Fps if the frame were limited only by the bandwidth floor.
    pub floor_fps: f64,
    /// Per-frame render times of the throughput run, µs (for plots).
    #[serde(skip)]
    pub frame_times_us: Vec<f64>,
    /// Pacer lateness histogram (µs bucket upper bound, count), for plots.
    #[serde(skip)]
    pub lateness_buckets: Vec<(f64, u64)>,
    /// `--display`: each display output during the pacing run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub displays: Vec<DisplayFigures>,
}

/// One display output during the pacing run (`--display`).
#[derive(Debug, Clone, Serialize)]
pub struct DisplayFigures {
    /// The sink URL.
    pub sink: String,
    /// How frames reached it: `gpu` (kept on the GPU, no readback) or `upload` (read
    /// back, uploaded once a frame).
    pub path: &'static str,
    /// Frames the output thread handed over.
    pub published: u64,
    /// Frames presented.
    pub presented: u64,
    /// Frames replaced by a newer one before a vblank took them (missed at the monitor's
    /// rate).
    pub missed: u64,
    /// Present time (frame taken → `present()` returned), mean, µs.
    pub present_mean_us: f64,
    /// Present time, longest, µs.
    pub present_max_us: f64,
}

/// What `--display` adds: the display sinks' mailboxes, the device their windows present
/// with, and every port's sink URL for the pacing run (display ports keep theirs, the rest
/// go to null).
struct DisplayRun {
    displays: crate::sinks::Displays,
    shared: Option<crate::display::SharedDevice>,
    urls: Vec<SinkUrl>,
}

/// Where the frames come from.
enum Input {
    Synthetic(Arc<MemoryClip>),
    Media {
        source: Box<dyn MediaSource>,
        frames: u64,
    },
}

/// A backend as the bench drives it (the concrete renderer, for its stage clock).
trait Target {
    fn render(
        &mut self,
        scene: &Scene<'_>,
        frame: &mut WallFrame,
    ) -> Result<(), ledwall_render::RenderError>;
    fn stages(&self) -> StageTimes;
}

impl Target for ledwall_render::Renderer {
    fn render(
        &mut self,
        scene: &Scene<'_>,
        frame: &mut WallFrame,
    ) -> Result<(), ledwall_render::RenderError> {
        self.render_into(scene, frame)
    }
    fn stages(&self) -> StageTimes {
        self.stage_times()
    }
}

impl Target for ledwall_render::gpu::Renderer {
    fn render(
        &mut self,
        scene: &Scene<'_>,
        frame: &mut WallFrame,
    ) -> Result<(), ledwall_render::RenderError> {
        self.render_into(scene, frame)
    }
    fn stages(&self) -> StageTimes {
        StageTimes::default()
    }
}

/// Per-frame samples of the throughput run.
#[derive(Default)]
struct Samples {
    decode: Vec<Duration>,
    stages: [Vec<Duration>; 6],
    sink: Vec<Duration>,
    render: Vec<Duration>,
    latency: Vec<Duration>,
    allocations: u64,
    wall: Duration,
}

fn pct(v: &mut [Duration], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    v[i.min(v.len() - 1)].as_secs_f64() * 1e6
}

fn p50p99(v: &mut [Duration]) -> P50P99 {
    P50P99 {
        p50_us: pct(v, 0.5),
        p99_us: pct(v, 0.99),
    }
}

/// Copy bandwidth (read + write) of this machine, bytes/s: the best of five 256 MiB copies
/// split over every rayon thread.
pub fn copy_bandwidth() -> f64 {
    const LEN: usize = 256 << 20;
    let src = vec![1u8; LEN];
    let mut dst = vec![0u8; LEN];
    let parts = rayon::current_num_threads().max(1);
    let best = (0..5)
        .map(|_| {
            let t = Instant::now();
            dst.par_chunks_mut(LEN.div_ceil(parts))
                .zip(src.par_chunks(LEN.div_ceil(parts)))
                .for_each(|(d, s)| d.copy_from_slice(s));
            t.elapsed()
        })
        .min()
        .unwrap_or(Duration::from_secs(1));
    std::hint::black_box(&dst);
    2.0 * LEN as f64 / best.as_secs_f64().max(1e-9)
}

/// The throughput loop: warm-up frames, then `frames` timed ones.
#[allow(clippy::too_many_arguments)]
fn throughput(
    target: &mut dyn Target,
    input: &mut Input,
    decoded: &mut Frame,
    out: &mut WallFrame,
    sinks: &mut SinkSet,
    warmup: u64,
    frames: u64,
    cache: bool,
    progress: &dyn Fn(u64),
) -> anyhow::Result<Samples> {
    let mut s = Samples::default();
    let n = frames as usize;
    s.decode.reserve(n);
    s.sink.reserve(n);
    s.render.reserve(n);
    s.latency.reserve(n);
    for st in &mut s.stages {
        st.reserve(n);
    }
    let mut allocs_at_start = None;
    let start = Instant::now();
    let mut timed_start = start;
    for i in 0..warmup + frames {
        if i == warmup {
            allocs_at_start = alloc::allocations();
            timed_start = Instant::now();
        }
        let t0 = Instant::now();
        let source: SourceImage<'_> = match input {
            Input::Synthetic(clip) => {
                let src = SourceImage::rgba8(clip.width(), clip.height(), clip.frame(i));
                if cache { src.with_key(1) } else { src }
            }
            Input::Media { source, frames: n } => {
                let index = i % (*n).max(1);
                let status = source
                    .read_frame(index, decoded)
                    .with_context(|| format!("decoding frame {index}"))?;
                if let ReadStatus::End { frames } = status {
                    // A stream shorter than announced: wrap around.
                    *n = frames.max(1);
                    source.read_frame(i % *n, decoded)?;
                }
                let src = decoded.source();
                if cache {
                    src
                } else {
                    SourceImage { key: None, ..src }
                }
            }
        };
        let t1 = Instant::now();
        target.render(&Scene::single(i, Layer::new(source)), out)?;
        let t2 = Instant::now();
        sinks.send_frame(out, i);
        let t3 = Instant::now();
        if i >= warmup {
            s.decode.push(t1 - t0);
            s.render.push(t2 - t1);
            s.sink.push(t3 - t2);
            s.latency.push(t3 - t0);
            for (v, (_, t)) in s.stages.iter_mut().zip(target.stages().iter()) {
                v.push(t);
            }
            progress(i - warmup + 1);
        }
    }
    s.wall = timed_start.elapsed();
    if let (Some(a), Some(b)) = (allocs_at_start, alloc::allocations()) {
        s.allocations = b - a;
    }
    Ok(s)
}

fn null_sinks(wall: &Wall, renderer: &AnyRenderer) -> anyhow::Result<SinkSet> {
    let g = renderer.geometry();
    let urls = vec![SinkUrl::Null; g.ports.len()];
    Ok(SinkSet::open(wall, g, &urls, &SinkOptions::default())?)
}

/// Refuse, before a run of minutes, a report file its end could not write: a folder, a
/// missing folder, a place this user may not write. An existing file is left as it is
/// until the run has its figures; a file that did not exist is not left behind.
fn check_writable(path: &Path, flag: &str) -> anyhow::Result<()> {
    if path.is_dir() {
        return Err(crate::UsageError(format!(
            "--{flag} {}: is a folder; name a file",
            path.display()
        ))
        .into());
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(crate::UsageError(format!(
            "--{flag} {}: the folder {} does not exist",
            path.display(),
            dir.display()
        ))
        .into());
    }
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("--{flag}: cannot write {}", path.display()))?;
    if !existed {
        // Best effort: the probe is empty, and the run writes the file again at its end.
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// Run `ledwall bench`.
pub fn run(args: &BenchArgs, out: &mut impl Write) -> anyhow::Result<()> {
    for (path, flag) in [(&args.json, "json"), (&args.plot, "plot")] {
        if let Some(path) = path {
            check_writable(path, flag)?;
        }
    }
    let wall = Wall::load(&args.wall)?;
    wall.check_memory()?;
    if !args.display {
        return run_with(args, wall, out, None);
    }
    // The display ports keep their sinks; the event loop takes this (the main) thread and
    // the bench runs on another, its report buffered until it ends.
    let urls: Vec<SinkUrl> = wall
        .outputs
        .iter()
        .map(|o| match o.sink {
            SinkUrl::Display { .. } => o.sink.clone(),
            _ => SinkUrl::Null,
        })
        .collect();
    let (targets, displays) = super::play::display_targets(&wall, &urls)?;
    if targets.is_empty() {
        return Err(crate::UsageError(format!(
            "--display: {} has no port with a display: sink",
            args.wall.display()
        ))
        .into());
    }
    let owned = args.clone();
    let text = crate::display::run_with_displays(targets, move |shared| {
        let mut buf = Vec::new();
        let run = DisplayRun {
            displays,
            shared,
            urls,
        };
        run_with(&owned, wall, &mut buf, Some(run)).map(|_| buf)
    })
    .context("cannot open the display outputs")??;
    out.write_all(&text)?;
    Ok(())
}

fn run_with(
    args: &BenchArgs,
    wall: Wall,
    out: &mut impl Write,
    display: Option<DisplayRun>,
) -> anyhow::Result<()> {
    let refresh = args.refresh.unwrap_or(wall.refresh_hz).max(1);
    let options = BackendOptions {
        choice: args.backend.into(),
        adapter: args.adapter.clone(),
        threads: 0,
    };
    let (mut renderer, why) = match &display {
        Some(d) => super::play::make_renderer(&wall, &options, d.shared.as_ref(), &d.urls)?,
        None => AnyRenderer::new(&wall, &options)?,
    };
    let backend = renderer.name().to_string();
    let adapter = match &renderer {
        AnyRenderer::Gpu(r) => format!("{} ({})", r.adapter().name, r.adapter().backend),
        AnyRenderer::Cpu(_) => format!("{} CPU threads", rayon::current_num_threads()),
    };
    let mut opts = OpenOptions::new(Canvas::from_wall(&wall));
    opts.load.background = wall.color.background.map(|c| c.min(255) as u8);
    opts.load.hwaccel = args.hwaccel;
    let (mut input, input_name, size) = match &args.input {
        None => {
            let (w, h) = (3840, 2160);
            let photos = [0, 1]
                .map(|seed| {
                    let rgb = crate::synth::photo(w, h, seed);
                    rgb.pixels().flat_map(|p| [p[0], p[1], p[2], 255]).collect()
                })
                .to_vec();
            let name = format!("synthetic {w}x{h} photographs");
            let clip = MemoryClip::new(&name, w, h, refresh, photos)
                .context("the synthetic photographs do not make a clip")?;
            let shown = format!("{name} (no decode)");
            (Input::Synthetic(Arc::new(clip)), shown, [w, h])
        }
        Some(text) => {
            let mref = MediaRef::parse(text, Path::new("")).map_err(crate::UsageError)?;
            let source = media::open(&mref, &opts)?;
            let info = source.info();
            let frames = info.timing.frames().unwrap_or(1).max(1);
            let size = [info.width, info.height];
            (Input::Media { source, frames }, text.clone(), size)
        }
    };

    let bandwidth = copy_bandwidth();
    let g = renderer.geometry().clone();
    let port_bytes: u64 = g.ports.iter().map(|p| p.byte_len() as u64).sum();
    let bytes_per_frame = size[0] as u64 * size[1] as u64 * 4 + port_bytes;
    let floor_fps = bandwidth / bytes_per_frame as f64;

    // Run 1: throughput.
    let mut sinks = null_sinks(&wall, &renderer)?;
    let mut frame = WallFrame::new(&g);
    let mut decoded = Frame::new();
    let bar = progress_bar(args.quiet, args.frames, "throughput");
    let tick = |n: u64| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
    };
    let (mut samples, stage_method) = match &mut renderer {
        AnyRenderer::Cpu(r) => {
            let s = r.install_mut(|r| {
                throughput(
                    r,
                    &mut input,
                    &mut decoded,
                    &mut frame,
                    &mut sinks,
                    args.warmup,
                    args.frames,
                    args.cache,
                    &tick,
                )
            })?;
            (
                s,
                "the renderer's own clock around each stage, every frame".to_string(),
            )
        }
        AnyRenderer::Gpu(r) => {
            let mut s = throughput(
                r.as_mut(),
                &mut input,
                &mut decoded,
                &mut frame,
                &mut sinks,
                args.warmup,
                args.frames,
                args.cache,
                &tick,
            )?;
            // GPU stages: each stage of the last frame resubmitted alone and waited for.
            let reps = 30.min(args.frames.max(1)) as usize;
            for v in &mut s.stages {
                v.clear();
            }
            for _ in 0..reps {
                for (stage, v) in Stage::ALL.into_iter().zip(&mut s.stages) {
                    v.push(r.profile_stage(stage)?);
                }
            }
            let method = format!(
                "each stage of the last frame submitted alone and waited for, {reps} times \
                 (includes one submission's overhead)"
            );
            (s, method)
        }
    };
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let fps = samples.render.len() as f64 / samples.wall.as_secs_f64().max(1e-9);
    let mut stages = BTreeMap::new();
    for (stage, v) in Stage::ALL.iter().zip(samples.stages.iter_mut()) {
        let name = stage.name();
        stages.insert(name.to_string(), p50p99(v));
    }
    stages.insert("decode".into(), p50p99(&mut samples.decode));
    stages.insert("sink".into(), p50p99(&mut samples.sink));
    let frame_times_us: Vec<f64> = samples
        .render
        .iter()
        .map(|d| d.as_secs_f64() * 1e6)
        .collect();
    let latency = Latency {
        p50: pct(&mut samples.latency, 0.5),
        p99: pct(&mut samples.latency, 0.99),
    };
    let allocations_per_frame = alloc::allocations()
        .map(|_| samples.allocations as f64 / samples.render.len().max(1) as f64);

    // Run 2: pacing through the engine.
    let (pacing_input, playlist) = match &input {
        Input::Media { .. } => (
            input_name.clone(),
            crate::playlist::Playlist::from_cli_arg(&input_name)?,
        ),
        Input::Synthetic(clip) => {
            let name = format!("{}, a clip in memory at {refresh} fps", clip.name());
            let media = MediaRef::Memory(clip.clone());
            (
                name.clone(),
                crate::playlist::Playlist::of_media(&name, media),
            )
        }
    };
    let show = crate::playlist::Show::with_schedule(playlist)?;
    let now = jiff::ZonedDateTime::now().datetime();
    let mut program = Program::new(Path::new(&pacing_input), show, refresh, opts, now);
    let mut engine_options = EngineOptions::for_wall(&wall);
    engine_options.hz = refresh;
    engine_options.ticks = Some(args.frames);
    engine_options.poll_every = None;
    let control = Control::default();
    let mut sinks = match &display {
        Some(d) => {
            let options = SinkOptions {
                displays: d.displays.clone(),
                ..SinkOptions::default()
            };
            SinkSet::open(&wall, renderer.geometry(), &d.urls, &options)?
        }
        None => null_sinks(&wall, &renderer)?,
    };
    let bar = progress_bar(args.quiet, args.frames, "pacing");
    let steal_before = steal();
    let report = {
        let status = control.status.clone();
        let bar_ref = bar.clone();
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            if let Some(b) = bar_ref {
                let (done, status) = (&done, &status);
                scope.spawn(move || {
                    while !done.load(std::sync::atomic::Ordering::Relaxed) {
                        b.set_position(status.tick.load(std::sync::atomic::Ordering::Relaxed));
                        std::thread::sleep(Duration::from_millis(100));
                    }
                });
            }
            let r = engine::run(
                &mut renderer,
                &g,
                &mut program,
                &mut sinks,
                SystemClock::new(),
                &engine_options,
                &control,
                None,
            );
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            r
        })?
    };
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let steal_ms = steal()
        .zip(steal_before)
        .map(|(after, before)| after.saturating_sub(before).as_secs_f64() * 1e3);
    let p = &report.pacer;
    let lat = p.lateness.summary();
    let report_json = BenchReport {
        wall: wall.name.clone(),
        backend,
        adapter,
        backend_reason: why,
        input: input_name,
        video_decode: crate::media::video::hardware_decoder(args.hwaccel)
            .map_or_else(|| "software".to_string(), |d| d.to_string()),
        source: size,
        frames: samples.render.len() as u64,
        fps,
        stages,
        stage_method,
        latency_us: latency,
        refresh_hz: refresh,
        pacing_input,
        lateness_us: Lateness {
            p50: lat.p50_us,
            p99: lat.p99_us,
            max: lat.max_us,
        },
        steal_ms,
        new: p.new + p.late,
        repeated: p.repeated,
        dropped: p.dropped,
        allocations_per_frame,
        peak_rss_bytes: alloc::peak_rss_bytes(),
        copy_bandwidth_bytes_per_s: bandwidth,
        bytes_per_frame,
        floor_fps,
        frame_times_us,
        lateness_buckets: p.lateness.buckets_us(),
        displays: display.map_or_else(Vec::new, |d| display_figures(&d, &renderer)),
    };
    print_report(out, &report_json)?;
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report_json)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.plot {
        plot::bench_plot(path, &report_json)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Each display's figures after the pacing run.
fn display_figures(d: &DisplayRun, renderer: &AnyRenderer) -> Vec<DisplayFigures> {
    d.displays
        .iter()
        .map(|(url, mailbox)| {
            let s = mailbox.stats();
            let port = d.urls.iter().position(|u| u == url);
            let kept = match renderer {
                AnyRenderer::Gpu(r) => port.is_some_and(|p| r.is_kept(p)),
                AnyRenderer::Cpu(_) => false,
            };
            DisplayFigures {
                sink: crate::sinks::url_text(url),
                path: if kept { "gpu" } else { "upload" },
                published: s.published,
                presented: s.presented,
                missed: s.replaced_unseen,
                present_mean_us: s.present_mean().unwrap_or_default().as_secs_f64() * 1e6,
                present_max_us: s.present_max.as_secs_f64() * 1e6,
            }
        })
        .collect()
}

fn progress_bar(quiet: bool, len: u64, what: &str) -> Option<indicatif::ProgressBar> {
    if quiet {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>10} [{bar:30}] {pos}/{len} frames, {per_sec}, ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    Some(bar)
}

fn print_report(out: &mut impl Write, r: &BenchReport) -> std::io::Result<()> {
    let ms = |us: f64| us / 1e3;
    writeln!(
        out,
        "ledwall bench: wall \"{}\", {} backend on {} ({})",
        r.wall, r.backend, r.adapter, r.backend_reason
    )?;
    writeln!(
        out,
        "input: {} ({}x{}; video decoded in {})",
        r.input, r.source[0], r.source[1], r.video_decode
    )?;
    writeln!(
        out,
        "throughput: {:.1} fps over {} frames (decode → render → null sink); latency p50 {:.2} ms, p99 {:.2} ms",
        r.fps,
        r.frames,
        ms(r.latency_us.p50),
        ms(r.latency_us.p99)
    )?;
    writeln!(
        out,
        "bandwidth floor: {:.1} MB a frame at {:.1} GB/s copy bandwidth = {:.0} fps; this run reaches {:.1}% of it",
        r.bytes_per_frame as f64 / 1e6,
        r.copy_bandwidth_bytes_per_s / 1e9,
        r.floor_fps,
        100.0 * r.fps / r.floor_fps.max(1e-9)
    )?;
    writeln!(out, "stages ({}):", r.stage_method)?;
    let order = [
        "decode",
        Stage::Linearize.name(),
        Stage::Resample.name(),
        Stage::Compose.name(),
        Stage::Color.name(),
        Stage::Quantize.name(),
        Stage::Pack.name(),
        "sink",
    ];
    for name in order {
        if let Some(s) = r.stages.get(name) {
            writeln!(
                out,
                "  {name:10} p50 {:8.3} ms   p99 {:8.3} ms",
                ms(s.p50_us),
                ms(s.p99_us)
            )?;
        }
    }
    writeln!(
        out,
        "pacing at {} Hz ({}): lateness p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs; frames new {}, repeated {}, dropped {}",
        r.refresh_hz,
        r.pacing_input,
        r.lateness_us.p50,
        r.lateness_us.p99,
        r.lateness_us.max,
        r.new,
        r.repeated,
        r.dropped
    )?;
    for d in &r.displays {
        writeln!(
            out,
            "display {} ({}): {} frames handed over, {} presented, {} missed; present mean {:.2} ms, max {:.2} ms",
            d.sink,
            d.path,
            d.published,
            d.presented,
            d.missed,
            ms(d.present_mean_us),
            ms(d.present_max_us)
        )?;
    }
    if let Some(steal) = r.steal_ms {
        writeln!(
            out,
            "CPU time stolen by the hypervisor while pacing: {steal:.0} ms"
        )?;
    }
    match r.allocations_per_frame {
        Some(a) => writeln!(out, "allocations per frame (steady state): {a:.2}")?,
        None => writeln!(out, "allocations per frame: not measured")?,
    }
    if let Some(rss) = r.peak_rss_bytes {
        writeln!(out, "peak RSS: {:.1} MiB", rss as f64 / (1024.0 * 1024.0))?;
    }
    Ok(())
}

/// The machine's CPU steal time so far (Linux: the `cpu` line of `/proc/stat`), if known.
fn steal() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    // user nice system idle iowait irq softirq steal ...
    let ticks: u64 = line.split_whitespace().nth(8)?.parse().ok()?;
    #[cfg(target_os = "linux")]
    // SAFETY: sysconf reads a constant; no memory is passed.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    #[cfg(not(target_os = "linux"))]
    let hz = 100;
    let hz = u64::try_from(hz).ok().filter(|&h| h > 0)?;
    Some(Duration::from_nanos(
        ticks.saturating_mul(1_000_000_000 / hz),
    ))
}
