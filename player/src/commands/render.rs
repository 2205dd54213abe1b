//! `ledwall render`: one frame of any media (a still, the frame of an animation, video or
//! sequence on screen at `--at` seconds, or a test pattern), written as the exact port
//! buffers plus a layout description and a preview (design §11).
//!
//! Output, in `--out DIR` (created if missing):
//!
//! * `<port>.bin`: exactly the bytes the renderer produced for that port (design §5, §6);
//! * `frame.json`: the wall, the canvas, the frame number and every port's layout
//!   ([`crate::layout`]);
//! * `preview.png`: the emulated wall at canvas size (`ledwall_render::emulate`).

use crate::UsageError;
use crate::cli::RenderArgs;
use crate::layout::{self, FrameInfo, InputInfo};
use crate::media::{self, Frame, LoadOptions, MediaRef, OpenOptions, ReadStatus, Time};
use crate::patterns::Canvas;
use anyhow::Context;
use image::{ExtendedColorType, ImageFormat};
use ledwall_render::{
    AnyRenderer, BackendOptions, Filter, Fit, Layer, RenderError, Scene, SourceImage, Wall,
    WallFrame, emulate,
};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// A rendered still: the renderer (for its geometry) and the frame.
pub struct Rendered {
    /// The renderer that made the frame.
    pub renderer: AnyRenderer,
    /// The port buffers.
    pub frame: WallFrame,
    /// Time spent in `render_into`.
    pub elapsed: Duration,
    /// Which backend ran and why (`"gpu on … : hardware adapter …"`).
    pub backend: String,
}

/// Render one frame of `source` on `wall` with the backend `options` choose.
pub fn render_still(
    wall: &Wall,
    source: SourceImage<'_>,
    fit: Fit,
    filter: Filter,
    frame_number: u64,
    options: &BackendOptions,
) -> Result<Rendered, RenderError> {
    let (mut renderer, backend) = AnyRenderer::new(wall, options)?;
    let mut frame = WallFrame::new(renderer.geometry());
    let layer = Layer::new(source).fit(fit).filter(filter);
    let t = Instant::now();
    renderer.render_into(&Scene::single(frame_number, layer), &mut frame)?;
    Ok(Rendered {
        renderer,
        frame,
        elapsed: t.elapsed(),
        backend,
    })
}

/// What `--input` names.
pub fn media_ref(input: &Path) -> Result<MediaRef, UsageError> {
    match input.to_str() {
        Some(text) => MediaRef::parse(text, Path::new("")).map_err(UsageError),
        None => Ok(MediaRef::File(input.to_path_buf())),
    }
}

/// The frame of `media` on screen `at` seconds in, decoded into a new [`Frame`]; with the
/// source's kind and the frame index. Animations, sequences and moving patterns loop; a
/// video shorter than `at` gives its last frame.
pub fn frame_at(
    media: &MediaRef,
    opts: &OpenOptions,
    at: f64,
) -> Result<(Frame, &'static str, u64), media::MediaError> {
    let mut source = media::open(media, opts)?;
    let kind = source.info().kind.name();
    let timing = &source.info().timing;
    let (pass, mut index) = timing.frame_at(Time::from_secs_f64(at));
    // Animations and patterns loop; a video past its end shows its last frame.
    if source.info().kind == media::MediaKind::Video
        && pass > 0
        && let Some(n) = timing.frames()
    {
        index = n.saturating_sub(1);
    }
    let mut frame = Frame::new();
    let name = std::path::PathBuf::from(source.info().name.clone());
    let status = media::guarded(&name, || source.read_frame(index, &mut frame))?;
    if let ReadStatus::End { frames } = status {
        if frames == 0 {
            return Err(media::MediaError::NoFrames { path: name });
        }
        let last = frames - 1;
        media::guarded(&name, || source.read_frame(last, &mut frame))?;
        return Ok((frame, kind, last));
    }
    Ok((frame, kind, index))
}

/// Run `ledwall render`; a summary goes to `out`.
pub fn run(args: &RenderArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let wall = Wall::load(&args.wall)?;
    wall.check_memory()?;
    let media = media_ref(&args.input)?;
    let mut opts = OpenOptions::new(Canvas::from_wall(&wall));
    opts.load = LoadOptions {
        max_pixels: args.max_pixels,
        max_bytes: args.max_memory << 20,
        background: wall.color.background.map(|c| c.min(255) as u8),
        hwaccel: args.hwaccel,
    };
    opts.fps = args.fps;
    let (image, kind, index) = frame_at(&media, &opts, args.at)?;
    let (fit, filter) = (Fit::from(args.fit), Filter::from(args.filter));
    let options = BackendOptions {
        choice: args.backend.into(),
        adapter: args.adapter.clone(),
        threads: 0,
    };
    let rendered = render_still(&wall, image.source(), fit, filter, args.frame, &options)
        .with_context(|| format!("cannot render {}", args.input.display()))?;
    let bits = image.pixels.bits();
    let input = InputInfo {
        file: args.input.display().to_string(),
        size: [image.width, image.height],
        bits,
        fit: fit.name(),
        filter: filter.name(),
        kind,
        source_frame: index,
    };
    write_outputs(&args.out, &wall, &rendered, Some(input.clone()))?;
    summarize(out, args, &wall, &input, &rendered)?;
    Ok(())
}

/// Write `<port>.bin` for every port, `frame.json` and `preview.png` into `dir`.
pub fn write_outputs(
    dir: &Path,
    wall: &Wall,
    rendered: &Rendered,
    input: Option<InputInfo>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the output directory {}", dir.display()))?;
    let geometry = rendered.renderer.geometry();
    for (port, buf) in geometry.ports.iter().zip(&rendered.frame.ports) {
        let path = dir.join(layout::port_file(port));
        std::fs::write(&path, &buf.bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }

    let info = FrameInfo {
        wall: &wall.name,
        canvas: [geometry.width, geometry.height],
        frame: rendered.frame.frame_number,
        backend: rendered.renderer.name(),
        input,
        ports: layout::ports(geometry),
    };
    let json = layout::to_json_text(&info).context("cannot describe the frame")?;
    let path = dir.join("frame.json");
    std::fs::write(&path, json).with_context(|| format!("cannot write {}", path.display()))?;

    let shown = emulate::emulate(geometry, &rendered.frame);
    let path = dir.join("preview.png");
    image::save_buffer_with_format(
        &path,
        &shown.to_rgba8(),
        shown.width,
        shown.height,
        ExtendedColorType::Rgba8,
        ImageFormat::Png,
    )
    .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn summarize(
    out: &mut impl Write,
    args: &RenderArgs,
    wall: &Wall,
    input: &InputInfo,
    rendered: &Rendered,
) -> std::io::Result<()> {
    let which = if input.kind == "still" {
        String::new()
    } else {
        format!(
            ", {} frame {} at {} s",
            input.kind, input.source_frame, args.at
        )
    };
    writeln!(
        out,
        "rendered {} ({}x{}, {}-bit{which}) on wall \"{}\" ({}x{}), frame {}, {:.1} ms\nbackend: {}",
        args.input.display(),
        input.size[0],
        input.size[1],
        input.bits,
        wall.name,
        wall.width,
        wall.height,
        rendered.frame.frame_number,
        rendered.elapsed.as_secs_f64() * 1e3,
        rendered.backend,
    )?;
    for port in &rendered.renderer.geometry().ports {
        let shape = match port.format {
            ledwall_render::wall::OutputFormat::Bitplanes => format!(
                "{} addresses x {} planes x {} positions",
                port.addresses,
                port.planes(),
                port.positions
            ),
            _ => format!("{} pixels", port.positions),
        };
        writeln!(
            out,
            "  {}  {} bytes  {} {}",
            layout::port_file(port),
            port.byte_len(),
            port.format.name(),
            shape
        )?;
    }
    writeln!(out, "  frame.json, preview.png")?;
    writeln!(out, "written to {}", args.out.display())
}
