//! The GPU backend: the six stages of design §1 as WGSL compute shaders on wgpu, one file
//! per stage (`render/shaders/<stage>.wgsl`, declared in `render/src/gpu/<stage>.rs`),
//! reading the same LUTs, resample coefficient tables and slot tables as the CPU backend.
//!
//! Everything is created per wall geometry (textures, buffers, pipelines, bind groups) or
//! per source placement (a source texture or planes, coefficient tables); nothing per
//! frame. Frames flow through a ring of [`RING`] staging pairs (an upload buffer the CPU
//! writes while mapped, a readback buffer the GPU copies the port buffers into), so with
//! the pipelined API ([`Renderer::submit`] / [`Renderer::receive`]) the upload of frame
//! n+1, the compute of frame n and the readback of frame n−1 overlap.
//! [`Renderer::render_into`] is the blocking pair.
//!
//! Data layout on the GPU: sources are `rgba8uint` / `rgba16uint` textures (exact code
//! values, alpha ignored), or for Y'CbCr sources their planes as they are (`r8uint` /
//! `r16uint`, `rg8uint` / `rg16uint` when Cb and Cr are interleaved), converted to codes by
//! the first pass that reads them ([`yuv`]); every canvas (layer canvases, composed,
//! coloured, quantized) is an `rgba16uint` texture; the resampler's intermediate is
//! `rgba32float`. Textures are not
//! bound by the storage-binding size limit, so large canvases need no splitting; port
//! buffers are packed in pieces when they exceed one binding (see [`pack`]).
//!
//! # Files
//!
//! | file | holds |
//! | --- | --- |
//! | `mod.rs` | [`GpuOptions`], [`Renderer`] and its frame API (build, colours, submit/receive) |
//! | `device.rs` | adapter discovery, [`Gpu`] (device, queue, limits), error capture |
//! | `kernel.rs` | [`kernel::Kernel`] declarations → pipelines; [`kernel::ALL`]; the naga test |
//! | `linearize.rs` … `pack.rs` | per stage: its uniform struct(s) and named kernels |
//! | `yuv.rs` | Y'CbCr sources: plane textures, the conversion uniform, the reading kernels |
//! | `resources.rs` | texture, buffer and binding helpers; the texture size check |
//! | `build.rs` | the compiled kernels and the per-wall resources, one builder per stage |
//! | `placement.rs` | per source placement: plans (source texture, resample tables), their LRU |
//! | `work.rs` | one frame's work: the layer canvases (shared still cache), plans, upload layout |
//! | `ring.rs` | the upload/readback ring: staging pairs, frames in flight, waiting |
//! | `encode.rs` | recording the compute passes of a set of [`Stage`]s |
//! | `inspect.rs` | per-stage profiling, quantized canvas readback, pack alone |
//!
//! The shaders: `render/shaders/<stage>.wgsl`, each compiled after `common.wgsl` (the
//! per-frame `Frame` struct, constants and helpers they share); the passes that read a
//! source also after `source_rgba.wgsl` or `source_yuv.wgsl`.

pub mod color;
pub mod compose;
pub mod device;
pub mod kernel;
pub mod linearize;
pub mod pack;
pub mod quantize;
pub mod resample;
pub mod yuv;

mod build;
mod encode;
mod inspect;
mod placement;
mod resources;
mod ring;
mod work;

pub use crate::error::GpuError;
pub use device::{AdapterSummary, Gpu, adapters, default_adapter};

use crate::cache::LayerCache;
use crate::color::{Luts, clamp_level, gains_split};
use crate::dither::background_linear;
use crate::error::RenderError;
use crate::frame::{PixelData, Scene, WallFrame};
use crate::geometry::Geometry;
use crate::stage::{Stage, StageTimes};
use crate::wall::{ColorSpec, Wall};
use build::{Kernels, WallRes};
use encode::Stages;
use placement::Plans;
use resources::check_limit;
use ring::Ring;
use std::sync::Arc;
use std::time::Instant;
use work::FrameWork;

/// Frames that can be in flight at once (staging pairs in the ring).
pub const RING: usize = 3;

/// Options for opening the GPU backend.
#[derive(Debug, Clone, Default)]
pub struct GpuOptions {
    /// Adapter name substring (case-insensitive); `None` lets wgpu choose.
    pub adapter: Option<String>,
    /// Largest storage binding to use, below the adapter's (tests force splitting with it).
    pub max_binding: Option<u64>,
}

/// The GPU renderer for one wall. Build once, render every frame.
pub struct Renderer {
    gpu: Gpu,
    geometry: Arc<Geometry>,
    color: ColorSpec,
    /// The runtime brightness level ([`Renderer::set_brightness`]), 0..=1.
    level: f32,
    /// The effective gains: white point × brightness × `level` (white point only with
    /// external dimming).
    gains: [f32; 3],
    /// Dimming is left to the hardware ([`Renderer::set_external_dimming`]).
    external_dim: bool,
    /// The level left to the hardware, written into each frame.
    card_level: f32,
    /// The background in linear light (before the gains).
    background: [u16; 3],
    /// The LUTs of the current curve (the background is mapped through them).
    luts: Luts,
    k: Kernels,
    /// Everything built per wall geometry.
    res: WallRes,
    /// Which layer canvas holds which still.
    cache: LayerCache,
    /// The source placements kept.
    plans: Plans,
    ring: Ring,
    /// The last frame's work, for [`Renderer::profile_stages`].
    last_work: Option<FrameWork>,
    times: StageTimes,
    cache_hits: u64,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("gpu::Renderer")
            .field("adapter", &self.gpu.adapter)
            .finish_non_exhaustive()
    }
}

impl Renderer {
    /// Open a device with `options` and build the renderer for `wall`.
    pub fn new(wall: &Wall, options: &GpuOptions) -> Result<Renderer, RenderError> {
        let gpu = Gpu::open(options.adapter.as_deref())?;
        Renderer::with_gpu(wall, gpu, options.max_binding)
    }

    /// Build the renderer for `wall` on an opened device (devices can be shared).
    pub fn with_gpu(
        wall: &Wall,
        gpu: Gpu,
        max_binding: Option<u64>,
    ) -> Result<Renderer, RenderError> {
        let geometry = Arc::new(Geometry::compile(wall));
        let g = &geometry;
        let limit = gpu.limits.max_texture_dimension_2d;
        check_limit("the canvas", g.width, g.height, limit)?;
        let k = Kernels::new(&gpu)?;
        let luts = Luts::new(&wall.color);
        let background = background_linear(&wall.color, &luts);
        let (gains, card_level) = gains_split(&wall.color, 1.0, false);
        let (res, ring) = gpu.scoped("GPU resources for the wall", || {
            let res = WallRes::build(
                &gpu,
                &k,
                g,
                (&luts, &wall.color),
                background,
                gains,
                max_binding,
            );
            let ring = Ring::new(&gpu, compose::FRAME, res.readback_len);
            (res, ring)
        })?;
        Ok(Renderer {
            gpu,
            geometry,
            color: wall.color.clone(),
            level: 1.0,
            gains,
            external_dim: false,
            card_level,
            background,
            luts,
            k,
            res,
            cache: LayerCache::default(),
            plans: Plans::new(),
            ring,
            last_work: None,
            times: StageTimes::default(),
            cache_hits: 0,
        })
    }

    /// The compiled geometry (for [`WallFrame::new`] and the emulator).
    pub fn geometry(&self) -> &Arc<Geometry> {
        &self.geometry
    }

    /// The colour configuration in use (the last [`Renderer::set_color`], else the wall's).
    pub fn color(&self) -> &ColorSpec {
        &self.color
    }

    /// Set the runtime brightness level: a multiplier `0..=1` of the colour section's own
    /// `brightness` (clamped; NaN counts as 0), so the gains become
    /// `white_point[c] · brightness · level`. Renderer state, not part of the wall; it
    /// stays in force across [`Renderer::set_color`]. Frames submitted from now on use it
    /// (frames already in flight keep the old one): the colour uniform, the calibration
    /// matrices (which carry the gains) and the ports' background codes are rewritten
    /// with `queue.write_buffer`; the cached layer canvases (linear light before the
    /// gains) are kept. Gains equal to the current ones write nothing. Level 0 gives
    /// all-zero codes on every port, dithered or not.
    pub fn set_brightness(&mut self, level: f32) {
        self.level = clamp_level(level);
        self.update_gains();
    }

    /// Leave dimming to the hardware, as [`crate::cpu::Renderer::set_external_dimming`].
    pub fn set_external_dimming(&mut self, on: bool) {
        self.external_dim = on;
        self.update_gains();
    }

    /// Recompute the gains and the hardware's level; rewrite what carries the gains when
    /// they changed.
    fn update_gains(&mut self) {
        let (gains, card_level) = gains_split(&self.color, self.level, self.external_dim);
        self.card_level = card_level;
        if gains.map(f32::to_bits) != self.gains.map(f32::to_bits) {
            self.gains = gains;
            self.res
                .write_gains(&self.gpu, &self.geometry, self.background, gains);
        }
    }

    /// The runtime brightness level last set (1 for a new renderer).
    pub fn brightness_level(&self) -> f32 {
        self.level
    }

    /// Replace the colour section while the geometry stays: `transfer`, `gamma`,
    /// `brightness`, `white_point`, `dither`, `background` and `resample` may change; the
    /// frames submitted next are those of a renderer built with the new section (at the
    /// same brightness level, which multiplies the new `brightness`). A new curve rewrites
    /// the LUT buffers; a change of the curve, the background or the resample mode drops
    /// the cached layer canvases; a new background or resample mode also drops the
    /// per-placement resources (rebuilt at their next use).
    ///
    /// Refused, with nothing changed: another `bit_depth` ([`RenderError::BitDepthChange`]:
    /// it sizes the port buffers, build a new renderer) and invalid values
    /// ([`RenderError::ColorChange`], the wall file's checks). May allocate.
    pub fn set_color(&mut self, color: &ColorSpec) -> Result<(), RenderError> {
        let change = crate::color::check_change(&self.color, color)?;
        if change.curve {
            self.luts = Luts::new(color);
            self.res.write_luts(&self.gpu, &self.luts, color);
        }
        let background = background_linear(color, &self.luts);
        let new_background = background != self.background;
        if new_background {
            self.res
                .write_background(&self.gpu, &self.geometry, background);
        }
        if new_background || change.resample {
            // Each placement's fill uniform holds the background, its resample tables and
            // passes the mode: build them again when next used.
            self.plans.clear();
            self.last_work = None;
        }
        if change.curve || change.resample || new_background {
            // Layer canvases hold linear light made with the curve, the resample mode and
            // (outside the layer's rect) the background.
            self.cache.clear();
        }
        self.color = color.clone();
        self.background = background;
        let (gains, card_level) = gains_split(color, self.level, self.external_dim);
        self.gains = gains;
        self.card_level = card_level;
        self.res
            .write_gains(&self.gpu, &self.geometry, background, self.gains);
        Ok(())
    }

    /// The adapter this renderer runs on.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.gpu.adapter
    }

    /// The device (to share it with another renderer).
    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// Frames whose layers all came from the still cache.
    pub fn cache_hits(&self) -> u64 {
        self.cache_hits
    }

    /// Wall-clock time of the last frame in the `upload`/`wait` sense:
    /// [`Stage::Linearize`] holds the CPU time spent choosing the layers and writing the
    /// upload ring, [`Stage::Pack`] the time waiting for the readback. Per-stage GPU times
    /// come from [`Renderer::profile_stages`].
    pub fn stage_times(&self) -> StageTimes {
        self.times
    }

    /// Frames submitted and not yet received.
    pub fn in_flight(&self) -> usize {
        self.ring.in_flight()
    }

    /// Render `scene` into `frame` and wait for it: [`Renderer::submit`] then
    /// [`Renderer::receive`]. Frames submitted earlier are received (and dropped) first.
    pub fn render_into(
        &mut self,
        scene: &Scene<'_>,
        frame: &mut WallFrame,
    ) -> Result<(), RenderError> {
        while self.ring.in_flight() > 0 {
            self.receive(frame)?;
        }
        self.submit(scene)?;
        self.copy_kept(frame)?;
        self.receive(frame).map(|_| ())
    }

    /// Keep wall port `port` on the GPU: from the next frame on, [`Renderer::render_into`]
    /// does not read its bytes back (the frame's `bytes` keep whatever they held) but copies
    /// them into the frame's own GPU buffer ([`crate::frame::PortBuffer::gpu`], made on this
    /// renderer's device the first time), for a consumer on the same device: a display
    /// output that presents them without a round trip through host memory. The frame holds
    /// its copy until it is rendered into again, so a consumer that takes it while it owns
    /// the frame (the output thread, between two renders into it) reads that frame's bytes.
    pub fn keep_on_gpu(&mut self, port: usize) -> Result<(), RenderError> {
        let ports = self.res.ports.len();
        let p = self
            .res
            .ports
            .get_mut(port)
            .ok_or(GpuError::NoPort { port, ports })?;
        p.kept = true;
        Ok(())
    }

    /// Whether wall port `port` is kept on the GPU ([`Renderer::keep_on_gpu`]).
    pub fn is_kept(&self, port: usize) -> bool {
        self.res.ports.get(port).is_some_and(|p| p.kept)
    }

    /// Copy the kept ports' buffers into `frame`'s GPU buffers (after `submit`, so the copy
    /// reads this frame's pack).
    fn copy_kept(&mut self, frame: &mut WallFrame) -> Result<(), RenderError> {
        if !self.res.ports.iter().any(|p| p.kept) {
            return Ok(());
        }
        let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
        for (port, buf) in self.res.ports.iter().zip(&mut frame.ports) {
            if !port.kept {
                continue;
            }
            let size = port.words * 4;
            let dst = match &buf.gpu {
                Some(b) if b.size() == size => b,
                _ => buf
                    .gpu
                    .insert(self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some("kept port"),
                        size,
                        usage: wgpu::BufferUsages::STORAGE
                            | wgpu::BufferUsages::COPY_SRC
                            | wgpu::BufferUsages::COPY_DST,
                        mapped_at_creation: false,
                    })),
            };
            encoder.copy_buffer_to_buffer(&port.out, 0, dst, 0, size);
        }
        self.gpu.queue.submit([encoder.finish()]);
        Ok(())
    }

    /// Upload `scene` and queue all six stages without waiting for them. At most [`RING`]
    /// frames may be in flight: receive one before submitting more.
    pub fn submit(&mut self, scene: &Scene<'_>) -> Result<(), RenderError> {
        for layer in scene.layers.iter().flatten() {
            layer.source.check()?;
        }
        self.ring.next_free()?;
        self.times = StageTimes::default();
        let t0 = Instant::now();
        let planned = self.plan_frame(scene)?;
        let work = planned.work;
        // The frame's parameters, then each rendered layer's rows, padded: RGBA pixels, or
        // Y'CbCr planes as they are (the first pass converts them).
        self.ring.ensure_upload(&self.gpu, planned.upload_len)?;
        self.ring.write_upload(planned.upload_len, |view| {
            view.slice(..compose::FRAME as usize)
                .copy_from_slice(bytemuck::bytes_of(&planned.frame));
            for (li, job) in work.jobs.iter().enumerate() {
                let (Some(job), Some(layer)) = (job, &scene.layers[li]) else {
                    continue;
                };
                let plan = self.plans.get(job.plan);
                for (p, up) in plan.uploads.iter().enumerate() {
                    // The plane's bytes and row stride (checked against the size above).
                    let (bytes, stride): (&[u8], usize) = match layer.source.data {
                        PixelData::Rgba8(d) => (d, up.row as usize),
                        PixelData::Rgba16(d) => (bytemuck::cast_slice(d), up.row as usize),
                        PixelData::Yuv(img) => yuv::plane_bytes(&img, p),
                    };
                    let (row, padded) = (up.row as usize, up.row_padded as usize);
                    for y in 0..up.height as usize {
                        let at = (job.offset + up.at) as usize + y * padded;
                        view.slice(at..at + row)
                            .copy_from_slice(&bytes[y * stride..y * stride + row]);
                    }
                }
            }
        })?;
        let upload_time = t0.elapsed();

        let mut encoder = self
            .gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("frame"),
            });
        self.ring
            .record_upload(&mut encoder, &self.res.frame, &self.plans, &work);
        self.encode(&mut encoder, &work, Stages::ALL);
        self.ring.submit(
            &self.gpu,
            encoder,
            &self.res.ports,
            (scene.frame_number, self.card_level),
            true,
        );
        self.last_work = Some(work);
        self.times[Stage::Linearize] = upload_time;
        Ok(self.gpu.take_error()?)
    }

    /// Wait for the oldest submitted frame and copy its port buffers into `frame`.
    /// Returns its frame number.
    pub fn receive(&mut self, frame: &mut WallFrame) -> Result<u64, RenderError> {
        if !frame.matches(&self.geometry) {
            return Err(RenderError::FrameMismatch(
                "make it with WallFrame::new(renderer.geometry())".into(),
            ));
        }
        let t = Instant::now();
        let frame_number = self.ring.receive(&self.gpu, &self.res.ports, frame)?;
        self.times[Stage::Pack] = t.elapsed();
        self.gpu.take_error()?;
        Ok(frame_number)
    }
}
