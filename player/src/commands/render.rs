//! `ledwall render`: one frame of a still image, written as the exact port buffers plus a
//! layout description and a preview (design §11).
//!
//! Output, in `--out DIR` (created if missing):
//!
//! * `<port>.bin`: exactly the bytes the renderer produced for that port (design §5, §6);
//! * `frame.json`: the wall, the canvas, the frame number and every port's layout
//!   ([`crate::layout`]);
//! * `preview.png`: the emulated wall at canvas size (`ledwall_render::emulate`).

use crate::UsageError;
use crate::cli::{BackendArg, RenderArgs};
use crate::layout::{self, FrameInfo, InputInfo};
use crate::media::{self, LoadOptions, StillImage};
use anyhow::Context;
use image::{ExtendedColorType, ImageFormat};
use ledwall_render::{
    Filter, Fit, Layer, RenderError, Renderer, Scene, SourceImage, Wall, WallFrame, emulate,
};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// The backend a `--backend` choice runs on, or why it cannot run.
pub fn resolve_backend(choice: BackendArg) -> Result<&'static str, UsageError> {
    match choice {
        BackendArg::Auto | BackendArg::Cpu => Ok("cpu"),
        BackendArg::Gpu => Err(UsageError(
            "the GPU backend is not built yet; use --backend cpu (or auto)".into(),
        )),
    }
}

/// A rendered still: the renderer (for its geometry) and the frame.
pub struct Rendered {
    /// The renderer that made the frame.
    pub renderer: Renderer,
    /// The port buffers.
    pub frame: WallFrame,
    /// Time spent in `render_into`.
    pub elapsed: Duration,
}

/// Render one frame of `source` on `wall` with the CPU backend.
pub fn render_still(
    wall: &Wall,
    source: SourceImage<'_>,
    fit: Fit,
    filter: Filter,
    frame_number: u64,
) -> Result<Rendered, RenderError> {
    let mut renderer = Renderer::new(wall)?;
    let mut frame = WallFrame::new(renderer.geometry());
    let layer = Layer::new(source).fit(fit).filter(filter);
    let t = Instant::now();
    renderer.render_into(&Scene::single(frame_number, layer), &mut frame)?;
    Ok(Rendered {
        renderer,
        frame,
        elapsed: t.elapsed(),
    })
}

/// Run `ledwall render`; a summary goes to `out`.
pub fn run(args: &RenderArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let backend = resolve_backend(args.backend)?;
    let wall = Wall::load(&args.wall)?;
    let opts = LoadOptions {
        max_pixels: args.max_pixels,
        background: wall.color.background.map(|c| c.min(255) as u8),
    };
    let image = media::load_image(&args.input, &opts)?;
    let (fit, filter) = (Fit::from(args.fit), Filter::from(args.filter));
    let rendered = render_still(&wall, image.source(), fit, filter, args.frame)
        .with_context(|| format!("cannot render {}", args.input.display()))?;
    let input = InputInfo {
        file: args.input.display().to_string(),
        size: [image.width, image.height],
        bits: image.bits(),
        fit: fit.name(),
        filter: filter.name(),
    };
    write_outputs(&args.out, &wall, &rendered, backend, Some(input))?;
    summarize(out, args, &wall, &image, &rendered, backend)?;
    Ok(())
}

/// Write `<port>.bin` for every port, `frame.json` and `preview.png` into `dir`.
pub fn write_outputs(
    dir: &Path,
    wall: &Wall,
    rendered: &Rendered,
    backend: &'static str,
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
        backend,
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
    image: &StillImage,
    rendered: &Rendered,
    backend: &str,
) -> std::io::Result<()> {
    writeln!(
        out,
        "rendered {} ({}x{}, {}-bit) on wall \"{}\" ({}x{}), frame {}, {} backend, {:.1} ms",
        args.input.display(),
        image.width,
        image.height,
        image.bits(),
        wall.name,
        wall.width,
        wall.height,
        rendered.frame.frame_number,
        backend,
        rendered.elapsed.as_secs_f64() * 1e3,
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
