//! The GPU backend: the six stages of design §1 as WGSL compute shaders on wgpu, one file
//! per stage (`render/shaders/<stage>.wgsl`, dispatched from `render/src/gpu/<stage>.rs`),
//! reading the same LUTs, resample coefficient tables and slot tables as the CPU backend.
//!
//! Everything is created per wall geometry (textures, buffers, pipelines, bind groups) or
//! per source placement (a source texture, coefficient tables); nothing per frame. Frames
//! flow through a ring of [`RING`] staging pairs (an upload buffer the CPU writes while
//! mapped, a readback buffer the GPU copies the port buffers into), so with the pipelined
//! API ([`Renderer::submit`] / [`Renderer::receive`]) the upload of frame n+1, the compute
//! of frame n and the readback of frame n−1 overlap. [`Renderer::render_into`] is the
//! blocking pair.
//!
//! Data layout on the GPU: sources are `rgba8uint` / `rgba16uint` textures (exact code
//! values, alpha ignored); every canvas (layer canvases, composed, coloured, quantized) is
//! an `rgba16uint` texture; the resampler's intermediate is `rgba32float`. Textures are not
//! bound by the storage-binding size limit, so large canvases need no splitting; port
//! buffers are packed in pieces when they exceed one binding (see [`pack`]).

pub mod color;
pub mod compose;
pub mod device;
pub mod kernel;
pub mod linearize;
pub mod pack;
pub mod quantize;
pub mod resample;

pub use device::{AdapterSummary, Gpu, adapters, default_adapter};

use crate::color::{Luts, clamp_level, gains_at};
use crate::dither::background_code;
use crate::error::RenderError;
use crate::frame::{Filter, Fit, MAX_LAYERS, PixelData, Scene, WallFrame};
use crate::geometry::Geometry;
use crate::place::{Placement, place};
use crate::stage::{Stage, StageTimes};
use crate::wall::{ColorSpec, ResampleMode, Wall};
use kernel::{Built, groups_2d};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wgpu::util::DeviceExt;

/// Frames that can be in flight at once (staging pairs in the ring).
pub const RING: usize = 3;
/// Source placements kept (two crossfading videos plus headroom).
const MAX_PLANS: usize = 4;
const ROW_ALIGN: u64 = wgpu::COPY_BYTES_PER_ROW_ALIGNMENT as u64;
const RGBA16: wgpu::TextureFormat = wgpu::TextureFormat::Rgba16Uint;

/// Options for opening the GPU backend.
#[derive(Debug, Clone, Default)]
pub struct GpuOptions {
    /// Adapter name substring (case-insensitive); `None` lets wgpu choose.
    pub adapter: Option<String>,
    /// Largest storage binding to use, below the adapter's (tests force splitting with it).
    pub max_binding: Option<u64>,
}

struct Kernels {
    linearize: Built,
    vertical: Built,
    horizontal: Built,
    fill: Built,
    mix: Built,
    color: Built,
    quantize: Built,
    pack: Built,
    pack4: Built,
}

struct Tex {
    tex: wgpu::Texture,
    view: wgpu::TextureView,
}

fn texture(gpu: &Gpu, label: &str, w: u32, h: u32, format: wgpu::TextureFormat) -> Tex {
    let tex = gpu.device.create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size: wgpu::Extent3d {
            width: w.max(1),
            height: h.max(1),
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::TEXTURE_BINDING
            | wgpu::TextureUsages::STORAGE_BINDING
            | wgpu::TextureUsages::COPY_DST
            | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let view = tex.create_view(&Default::default());
    Tex { tex, view }
}

fn uniform<T: bytemuck::Pod>(gpu: &Gpu, label: &str, value: &T) -> wgpu::Buffer {
    gpu.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::bytes_of(value),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        })
}

fn storage(gpu: &Gpu, label: &str, contents: &[u8]) -> wgpu::Buffer {
    gpu.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        })
}

fn tex_res(t: &Tex) -> wgpu::BindingResource<'_> {
    wgpu::BindingResource::TextureView(&t.view)
}

fn buf_res(b: &wgpu::Buffer) -> wgpu::BindingResource<'_> {
    b.as_entire_binding()
}

/// Entries `s..e` (u32 words) of `b` as a binding.
fn range(b: &wgpu::Buffer, (s, e): (u64, u64)) -> wgpu::BindingResource<'_> {
    wgpu::BindingResource::Buffer(wgpu::BufferBinding {
        buffer: b,
        offset: s * 4,
        size: wgpu::BufferSize::new(((e - s) * 4).max(4).min(b.size() - s * 4)),
    })
}

fn pass<'e>(encoder: &'e mut wgpu::CommandEncoder, stage: Stage) -> wgpu::ComputePass<'e> {
    encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(stage.name()),
        timestamp_writes: None,
    })
}

/// Identity of a cached layer canvas (as in the CPU backend).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CacheKey {
    key: u64,
    width: u32,
    height: u32,
    deep: bool,
    fit: Fit,
    filter: Filter,
}

struct LayerSlot {
    canvas: Tex,
    key: Option<CacheKey>,
    last_used: u64,
}

/// What a placement's resources depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PlanKey {
    width: u32,
    height: u32,
    deep: bool,
    fit: Fit,
    filter: Filter,
}

enum Work {
    /// 1:1: linearize the source rect straight into the layer canvas.
    Copy {
        bind: [wgpu::BindGroup; MAX_LAYERS],
        groups: (u32, u32),
    },
    /// Scaled: (linear mode) linearize the read region, then the two resample passes.
    Scaled {
        linearize: Option<(wgpu::BindGroup, (u32, u32))>,
        vertical: wgpu::BindGroup,
        vgroups: (u32, u32),
        horizontal: [wgpu::BindGroup; MAX_LAYERS],
        hgroups: (u32, u32),
        _keep: Vec<Tex>,
    },
}

/// The GPU resources of one source placement.
struct Plan {
    key: PlanKey,
    src: Tex,
    /// Bytes of one source row, and the padded row stride in the upload buffer.
    row: u64,
    row_padded: u64,
    fill: Option<[wgpu::BindGroup; MAX_LAYERS]>,
    work: Work,
    last_used: u64,
    _buffers: Vec<wgpu::Buffer>,
}

impl Plan {
    fn upload_len(&self) -> u64 {
        self.row_padded * self.key.height as u64
    }
}

struct PortRes {
    out: wgpu::Buffer,
    words: u64,
    byte_len: usize,
    readback_at: u64,
    /// The port's output depth.
    depth: u32,
    /// Per piece: bind group, workgroups, whether the grouped bit-plane kernel runs it.
    pieces: Vec<(wgpu::BindGroup, (u32, u32), bool)>,
    /// Per piece: its uniform and the value written there (the background code in it is
    /// rewritten when the gains change).
    params: Vec<(wgpu::Buffer, pack::Params)>,
    _tables: [wgpu::Buffer; 2],
}

struct RingSlot {
    upload: wgpu::Buffer,
    upload_ready: Arc<AtomicBool>,
    readback: wgpu::Buffer,
    read_ready: Arc<AtomicBool>,
    busy: bool,
    submission: Option<wgpu::SubmissionIndex>,
}

struct InFlight {
    slot: usize,
    frame_number: u64,
    submission: wgpu::SubmissionIndex,
}

/// A layer to render this frame: plan, target slot, upload offset.
#[derive(Debug, Clone, Copy)]
struct LayerJob {
    plan: usize,
    slot: usize,
    offset: u64,
}

/// How the colour stage gets its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColorInput {
    /// Mix layer canvases `a` and `b` (or the background alone) into `composed`.
    Mix(usize, usize),
    /// Read layer canvas `s` directly.
    Slot(usize),
}

/// What one frame records (kept for [`Renderer::profile_stages`]).
#[derive(Debug, Clone, Copy)]
struct FrameWork {
    jobs: [Option<LayerJob>; MAX_LAYERS],
    input: ColorInput,
}

/// The GPU renderer for one wall. Build once, render every frame.
pub struct Renderer {
    gpu: Gpu,
    geometry: Arc<Geometry>,
    color: ColorSpec,
    /// The runtime brightness level ([`Renderer::set_brightness`]), 0..=1.
    level: f32,
    /// The effective gains: white point × brightness × `level`.
    gains: [f32; 3],
    /// The background in linear light (before the gains).
    background: [u16; 3],
    k: Kernels,
    lut8: wgpu::Buffer,
    lut16: wgpu::Buffer,
    /// `lut8`'s values (the background is mapped through them).
    lut8_values: Box<[u16; 256]>,
    frame_uniform: wgpu::Buffer,
    /// The uniforms of compose (background) and colour (gains), and the calibration
    /// matrices with the gains multiplied in: rewritten when the colours change.
    compose_params: wgpu::Buffer,
    color_params: wgpu::Buffer,
    matrices: wgpu::Buffer,
    /// The matrices' values before upload (kept so a fade rewrites them in place).
    matrix_values: Vec<f32>,
    slots: [LayerSlot; MAX_LAYERS],
    _composed: Tex,
    mix_bind: [[wgpu::BindGroup; MAX_LAYERS]; MAX_LAYERS],
    color_bind: [wgpu::BindGroup; MAX_LAYERS + 1],
    canvas_groups: (u32, u32),
    /// Per distinct output depth: depth, quantized canvas, quantize bind group.
    quant: Vec<(u32, Tex, wgpu::BindGroup)>,
    ports: Vec<PortRes>,
    readback_len: u64,
    plans: Vec<Plan>,
    ring: Vec<RingSlot>,
    next: usize,
    in_flight: VecDeque<InFlight>,
    last_work: Option<FrameWork>,
    clock: u64,
    times: StageTimes,
    cache_hits: u64,
    _keep: Vec<wgpu::Buffer>,
    _colored: Tex,
    _matrix_of: Tex,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("gpu::Renderer")
            .field("adapter", &self.gpu.adapter)
            .finish_non_exhaustive()
    }
}

fn check_limit(what: &str, w: u32, h: u32, limit: u32) -> Result<(), RenderError> {
    if w > limit || h > limit {
        return Err(RenderError::Gpu(format!(
            "{what} is {w}x{h}, larger than the adapter's 2D texture limit of {limit}"
        )));
    }
    Ok(())
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
        let k = Kernels {
            linearize: Built::new(&gpu, linearize::KERNELS[0])?,
            vertical: Built::new(&gpu, resample::KERNELS[0])?,
            horizontal: Built::new(&gpu, resample::KERNELS[1])?,
            fill: Built::new(&gpu, compose::KERNELS[0])?,
            mix: Built::new(&gpu, compose::KERNELS[1])?,
            color: Built::new(&gpu, color::KERNELS[0])?,
            quantize: Built::new(&gpu, quantize::KERNELS[0])?,
            pack: Built::new(&gpu, pack::KERNELS[0])?,
            pack4: Built::new(&gpu, pack::KERNELS[1])?,
        };
        let luts = Luts::new(&wall.color);
        let background = crate::dither::background_linear(&wall.color, &luts);
        let gains = gains_at(&wall.color, 1.0);
        gpu.scoped("GPU resources for the wall", || {
            Renderer::build(
                wall,
                gpu.clone(),
                k,
                &luts,
                background,
                gains,
                max_binding,
                &geometry,
            )
        })?
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        wall: &Wall,
        gpu: Gpu,
        k: Kernels,
        luts: &Luts,
        background: [u16; 3],
        gains: [f32; 3],
        max_binding: Option<u64>,
        geometry: &Arc<Geometry>,
    ) -> Result<Renderer, RenderError> {
        let g = geometry;
        let (w, h) = (g.width, g.height);
        let lut8: Vec<u32> = luts.lut8.iter().map(|&v| v as u32).collect();
        let lut16: Vec<u32> = luts.lut16.iter().map(|&v| v as u32).collect();
        let lut8 = storage(&gpu, "lut8", bytemuck::cast_slice(&lut8));
        let lut16 = storage(&gpu, "lut16", bytemuck::cast_slice(&lut16));
        let frame_uniform = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("frame"),
            size: compose::FRAME,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let slot = |i: usize| LayerSlot {
            canvas: texture(&gpu, &format!("layer {i}"), w, h, RGBA16),
            key: None,
            last_used: 0,
        };
        let slots = [slot(0), slot(1)];
        let composed = texture(&gpu, "composed", w, h, RGBA16);
        let colored = texture(&gpu, "colored", w, h, RGBA16);
        let bg4 = [
            background[0] as u32,
            background[1] as u32,
            background[2] as u32,
            0,
        ];
        let compose_params = uniform(&gpu, "compose", &compose_params(w, h, bg4));
        let mix_bind = [0, 1].map(|a| {
            [0, 1].map(|b| {
                k.mix.bind(
                    &gpu,
                    &[
                        buf_res(&compose_params),
                        buf_res(&frame_uniform),
                        tex_res(&slots[a].canvas),
                        tex_res(&slots[b].canvas),
                        tex_res(&composed),
                    ],
                )
            })
        });

        // Colour: the per-pixel matrix map and the gain-multiplied matrices.
        let (map, matrix_values) = color::matrices(g, gains);
        let matrix_of = if map.is_empty() {
            texture(&gpu, "matrix map", 1, 1, wgpu::TextureFormat::R32Uint)
        } else {
            let t = texture(&gpu, "matrix map", w, h, wgpu::TextureFormat::R32Uint);
            gpu.queue.write_texture(
                t.tex.as_image_copy(),
                bytemuck::cast_slice(&map),
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(w * 4),
                    rows_per_image: Some(h),
                },
                wgpu::Extent3d {
                    width: w,
                    height: h,
                    depth_or_array_layers: 1,
                },
            );
            t
        };
        let matrices = storage(&gpu, "matrices", bytemuck::cast_slice(&matrix_values));
        let color_params = uniform(&gpu, "color", &color_params(w, h, gains));
        let color_input = |t: &Tex| {
            k.color.bind(
                &gpu,
                &[
                    buf_res(&color_params),
                    tex_res(t),
                    tex_res(&matrix_of),
                    buf_res(&matrices),
                    tex_res(&colored),
                ],
            )
        };
        let color_bind = [
            color_input(&composed),
            color_input(&slots[0].canvas),
            color_input(&slots[1].canvas),
        ];

        // Quantize: one canvas per distinct depth.
        let mut keep = Vec::new();
        let mut quant = Vec::new();
        for depth in g.depths() {
            let max = ((1u32 << depth) - 1) as f32;
            let params = uniform(
                &gpu,
                "quantize",
                &quantize::Params {
                    size: [w, h],
                    scale: max / 65535.0,
                    max,
                },
            );
            let t = texture(&gpu, &format!("quantized {depth}"), w, h, RGBA16);
            let bind = k.quantize.bind(
                &gpu,
                &[
                    buf_res(&params),
                    buf_res(&frame_uniform),
                    tex_res(&colored),
                    tex_res(&t),
                ],
            );
            keep.push(params);
            quant.push((depth, t, bind));
        }

        // Pack: per port, its tables, output buffer and pieces.
        let max_binding = max_binding
            .unwrap_or(u64::MAX)
            .min(gpu.limits.max_storage_buffer_binding_size)
            .max(1024);
        let align = gpu.limits.min_storage_buffer_offset_alignment as u64;
        let mut ports = Vec::with_capacity(g.ports.len());
        let mut readback_len = 0u64;
        for port in &g.ports {
            let qi = quant.iter().position(|q| q.0 == port.depth).unwrap_or(0);
            let words = pack::words(port);
            let out = gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(&port.name),
                size: (words * 4).max(4),
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            let mut slot_words = port.slots.clone();
            if slot_words.is_empty() {
                slot_words.push(0);
            }
            let slots_buf = storage(&gpu, "slots", bytemuck::cast_slice(&slot_words));
            let order_buf = storage(
                &gpu,
                "order",
                bytemuck::cast_slice(&pack::order_words(port)),
            );
            let bg = background_code(background, gains, port.depth).map(u32::from);
            let mut pieces = Vec::new();
            let mut params_keep = Vec::new();
            let split = pack::pieces(port, max_binding, align);
            let grouped = pack::grouped(port, &split);
            for piece in split {
                // The grouped kernel counts (address, 4 positions) items, not words.
                let n = if grouped {
                    port.addresses as u64 * (port.positions / 4) as u64
                } else {
                    piece.words.1 - piece.words.0
                };
                let groups = n.div_ceil(pack::WORKGROUP as u64);
                let gx = groups.min(32768) as u32;
                let gy = groups.div_ceil(gx as u64) as u32;
                let value = pack::Params {
                    format: pack::format_code(port.format),
                    positions: port.positions,
                    planes: port.planes(),
                    byte_len: port.byte_len() as u32,
                    word_base: piece.words.0 as u32,
                    word_count: n as u32,
                    slot_base: piece.slots.0 as u32,
                    order_base: piece.order.0 as u32,
                    canvas_w: w,
                    canvas_len: g.canvas_pixels() as u32,
                    row_words: gx * pack::WORKGROUP,
                    pad: 0,
                    bg: [bg[0], bg[1], bg[2], 0],
                };
                let params = uniform(&gpu, "pack", &value);
                let kernel = if grouped { &k.pack4 } else { &k.pack };
                let bind = kernel.bind(
                    &gpu,
                    &[
                        buf_res(&params),
                        range(&slots_buf, piece.slots),
                        range(&order_buf, piece.order),
                        tex_res(&quant[qi].1),
                        range(&out, piece.words),
                    ],
                );
                pieces.push((bind, (gx, gy), grouped));
                params_keep.push((params, value));
            }
            ports.push(PortRes {
                out,
                words,
                byte_len: port.byte_len(),
                readback_at: readback_len,
                depth: port.depth,
                pieces,
                params: params_keep,
                _tables: [slots_buf, order_buf],
            });
            readback_len += words * 4;
        }
        let readback_len = readback_len.max(4);
        let ring = (0..RING)
            .map(|i| RingSlot {
                upload: upload_buffer(&gpu, i, compose::FRAME),
                upload_ready: Arc::new(AtomicBool::new(true)),
                readback: gpu.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(&format!("readback {i}")),
                    size: readback_len,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                }),
                read_ready: Arc::new(AtomicBool::new(false)),
                busy: false,
                submission: None,
            })
            .collect();
        Ok(Renderer {
            gpu,
            geometry: Arc::clone(geometry),
            color: wall.color.clone(),
            level: 1.0,
            gains,
            background,
            k,
            lut8,
            lut16,
            lut8_values: luts.lut8.clone(),
            frame_uniform,
            compose_params,
            color_params,
            matrices,
            matrix_values,
            slots,
            _composed: composed,
            mix_bind,
            color_bind,
            canvas_groups: groups_2d(w, h),
            quant,
            ports,
            readback_len,
            plans: Vec::with_capacity(MAX_PLANS),
            ring,
            next: 0,
            in_flight: VecDeque::with_capacity(RING),
            last_work: None,
            clock: 0,
            times: StageTimes::default(),
            cache_hits: 0,
            _keep: keep,
            _colored: colored,
            _matrix_of: matrix_of,
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
        let gains = gains_at(&self.color, self.level);
        if gains.map(f32::to_bits) != self.gains.map(f32::to_bits) {
            self.gains = gains;
            self.write_gains();
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
        let q = &self.gpu.queue;
        if change.curve {
            // The LUT buffers keep their size (256 and 65536 entries): rewrite them in place,
            // so the placements' bind groups stay valid.
            let luts = Luts::new(color);
            let lut8: Vec<u32> = luts.lut8.iter().map(|&v| v as u32).collect();
            let lut16: Vec<u32> = luts.lut16.iter().map(|&v| v as u32).collect();
            q.write_buffer(&self.lut8, 0, bytemuck::cast_slice(&lut8));
            q.write_buffer(&self.lut16, 0, bytemuck::cast_slice(&lut16));
            self.lut8_values.copy_from_slice(&luts.lut8[..]);
        }
        let background = color
            .background
            .map(|c| self.lut8_values[c.min(255) as usize]);
        let new_background = background != self.background;
        if new_background {
            let bg = background.map(u32::from);
            let (w, h) = (self.geometry.width, self.geometry.height);
            let params = compose_params(w, h, [bg[0], bg[1], bg[2], 0]);
            q.write_buffer(&self.compose_params, 0, bytemuck::bytes_of(&params));
        }
        if new_background || change.resample {
            // Each placement's fill uniform holds the background, its resample tables and
            // passes the mode: build them again when next used.
            self.plans.clear();
            self.last_work = None;
        }
        if change.curve || change.resample || new_background {
            for slot in &mut self.slots {
                slot.key = None;
            }
        }
        self.color = color.clone();
        self.background = background;
        self.gains = gains_at(color, self.level);
        self.write_gains();
        Ok(())
    }

    /// Write everything that carries the gains: the colour uniform, the calibration
    /// matrices and each port piece's background code.
    fn write_gains(&mut self) {
        let (q, g, gains) = (&self.gpu.queue, &self.geometry, self.gains);
        let params = color_params(g.width, g.height, gains);
        q.write_buffer(&self.color_params, 0, bytemuck::bytes_of(&params));
        if !g.calibrations.is_empty() {
            color::fill_matrices(g, gains, &mut self.matrix_values);
            q.write_buffer(&self.matrices, 0, bytemuck::cast_slice(&self.matrix_values));
        }
        for port in &mut self.ports {
            let bg = background_code(self.background, gains, port.depth).map(u32::from);
            for (buf, value) in &mut port.params {
                value.bg = [bg[0], bg[1], bg[2], 0];
                q.write_buffer(buf, 0, bytemuck::bytes_of(value));
            }
        }
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

    /// Wall-clock time of the last frame in the `upload`/`wait` sense: index 0 holds the
    /// CPU time spent writing the upload ring, index 5 the time waiting for the readback.
    /// Per-stage GPU times come from [`Renderer::profile_stages`].
    pub fn stage_times(&self) -> StageTimes {
        self.times
    }

    /// Frames submitted and not yet received.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Render `scene` into `frame` and wait for it: [`Renderer::submit`] then
    /// [`Renderer::receive`]. Frames submitted earlier are received (and dropped) first.
    pub fn render_into(
        &mut self,
        scene: &Scene<'_>,
        frame: &mut WallFrame,
    ) -> Result<(), RenderError> {
        while !self.in_flight.is_empty() {
            self.receive(frame)?;
        }
        self.submit(scene)?;
        self.receive(frame).map(|_| ())
    }

    /// Upload `scene` and queue all six stages without waiting for them. At most [`RING`]
    /// frames may be in flight: receive one before submitting more.
    pub fn submit(&mut self, scene: &Scene<'_>) -> Result<(), RenderError> {
        for layer in scene.layers.iter().flatten() {
            layer.source.check()?;
        }
        let ring_i = self.next;
        if self.ring[ring_i].busy {
            return Err(RenderError::Gpu(format!(
                "{RING} frames are already in flight: receive one before submitting another"
            )));
        }
        self.times = StageTimes::default();
        self.clock += 1;
        let t0 = Instant::now();

        // Which layers render, into which slots, with which plans (as the CPU backend).
        let mut used = [usize::MAX; MAX_LAYERS];
        let mut weights = [0f32; MAX_LAYERS];
        let mut jobs: [Option<LayerJob>; MAX_LAYERS] = [None; MAX_LAYERS];
        let mut active = 0;
        let mut hits = 0;
        let mut upload_len = compose::FRAME.next_multiple_of(ROW_ALIGN);
        for (li, layer) in scene.layers.iter().enumerate() {
            let Some(layer) = layer else { continue };
            if layer.weight <= 0.0 {
                continue;
            }
            let src = &layer.source;
            let deep = matches!(src.data, PixelData::Rgba16(_));
            let key = src.key.map(|key| CacheKey {
                key,
                width: src.width,
                height: src.height,
                deep,
                fit: layer.fit,
                filter: layer.filter,
            });
            let hit = key.and_then(|k| (0..MAX_LAYERS).find(|&s| self.slots[s].key == Some(k)));
            let slot = match hit {
                Some(s) => {
                    hits += 1;
                    s
                }
                None => {
                    let s = (0..MAX_LAYERS)
                        .filter(|s| !used.contains(s))
                        .min_by_key(|&s| self.slots[s].last_used)
                        .unwrap_or(li);
                    let plan = self.plan(PlanKey {
                        width: src.width,
                        height: src.height,
                        deep,
                        fit: layer.fit,
                        filter: layer.filter,
                    })?;
                    let offset = upload_len;
                    upload_len += self.plans[plan].upload_len().next_multiple_of(ROW_ALIGN);
                    jobs[li] = Some(LayerJob {
                        plan,
                        slot: s,
                        offset,
                    });
                    self.slots[s].key = key;
                    s
                }
            };
            self.slots[slot].last_used = self.clock;
            used[active] = slot;
            weights[active] = layer.weight.min(1.0);
            active += 1;
        }
        if active > 0 && hits == active {
            self.cache_hits += 1;
        }
        let input = match active {
            0 => ColorInput::Mix(0, 0),
            1 if weights[0] >= 1.0 => ColorInput::Slot(used[0]),
            1 => ColorInput::Mix(used[0], used[0]),
            _ => ColorInput::Mix(used[0], used[1]),
        };
        let (wa, wb) = match active {
            0 => (0.0, 0.0),
            1 => (weights[0], 0.0),
            _ => (weights[0], weights[1]),
        };
        let th = crate::dither::thresholds(self.color.dither, scene.frame_number);
        let frame_params = compose::Frame {
            thresholds: std::array::from_fn(|i| th[i / 8][i % 8]),
            weights: [wa, wb, (1.0 - wa - wb).max(0.0), 0.0],
        };

        // Write the frame's parameters and pixels into the ring's upload buffer.
        self.ensure_upload(ring_i, upload_len)?;
        let slot = &self.ring[ring_i];
        {
            let mut view = slot
                .upload
                .slice(..upload_len)
                .get_mapped_range_mut()
                .map_err(|e| RenderError::Gpu(format!("upload buffer: {e}")))?;
            view.slice(..compose::FRAME as usize)
                .copy_from_slice(bytemuck::bytes_of(&frame_params));
            for (li, job) in jobs.iter().enumerate() {
                let (Some(job), Some(layer)) = (job, &scene.layers[li]) else {
                    continue;
                };
                let plan = &self.plans[job.plan];
                let bytes: &[u8] = match layer.source.data {
                    PixelData::Rgba8(d) => d,
                    PixelData::Rgba16(d) => bytemuck::cast_slice(d),
                };
                let (row, padded) = (plan.row as usize, plan.row_padded as usize);
                for (y, src_row) in bytes.chunks_exact(row).enumerate() {
                    let at = job.offset as usize + y * padded;
                    view.slice(at..at + row).copy_from_slice(src_row);
                }
            }
        }
        slot.upload.unmap();
        slot.upload_ready.store(false, Ordering::Release);
        let upload_time = t0.elapsed();

        let work = FrameWork { jobs, input };
        let mut encoder = self
            .gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("frame"),
            });
        encoder.copy_buffer_to_buffer(&slot.upload, 0, &self.frame_uniform, 0, compose::FRAME);
        for job in jobs.iter().flatten() {
            let plan = &self.plans[job.plan];
            encoder.copy_buffer_to_texture(
                wgpu::TexelCopyBufferInfo {
                    buffer: &slot.upload,
                    layout: wgpu::TexelCopyBufferLayout {
                        offset: job.offset,
                        bytes_per_row: Some(plan.row_padded as u32),
                        rows_per_image: Some(plan.key.height),
                    },
                },
                plan.src.tex.as_image_copy(),
                wgpu::Extent3d {
                    width: plan.key.width,
                    height: plan.key.height,
                    depth_or_array_layers: 1,
                },
            );
        }
        self.encode(&mut encoder, &work, [true; 6]);
        for port in &self.ports {
            encoder.copy_buffer_to_buffer(
                &port.out,
                0,
                &slot.readback,
                port.readback_at,
                port.words * 4,
            );
        }
        let submission = self.gpu.queue.submit([encoder.finish()]);
        let ready = Arc::clone(&slot.upload_ready);
        slot.upload.map_async(wgpu::MapMode::Write, .., move |r| {
            ready.store(r.is_ok(), Ordering::Release);
        });
        let ready = Arc::clone(&slot.read_ready);
        slot.readback
            .map_async(wgpu::MapMode::Read, ..self.readback_len, move |r| {
                ready.store(r.is_ok(), Ordering::Release);
            });
        let slot = &mut self.ring[ring_i];
        slot.busy = true;
        slot.submission = Some(submission.clone());
        self.in_flight.push_back(InFlight {
            slot: ring_i,
            frame_number: scene.frame_number,
            submission,
        });
        self.next = (ring_i + 1) % RING;
        self.last_work = Some(work);
        self.times[Stage::Linearize] = upload_time;
        self.gpu.take_error()
    }

    /// Wait for the oldest submitted frame and copy its port buffers into `frame`.
    /// Returns its frame number.
    pub fn receive(&mut self, frame: &mut WallFrame) -> Result<u64, RenderError> {
        if !frame.matches(&self.geometry) {
            return Err(RenderError::FrameMismatch(
                "make it with WallFrame::new(renderer.geometry())".into(),
            ));
        }
        let Some(f) = self.in_flight.pop_front() else {
            return Err(RenderError::Gpu("no frame was submitted".into()));
        };
        let t = Instant::now();
        let slot = &mut self.ring[f.slot];
        slot.busy = false;
        wait(&self.gpu, &slot.read_ready, Some(f.submission))?;
        {
            let view = slot
                .readback
                .slice(..self.readback_len)
                .get_mapped_range()
                .map_err(|e| RenderError::Gpu(format!("readback buffer: {e}")))?;
            for (port, buf) in self.ports.iter().zip(&mut frame.ports) {
                let at = port.readback_at as usize;
                buf.bytes.copy_from_slice(&view[at..at + port.byte_len]);
            }
        }
        slot.readback.unmap();
        slot.read_ready.store(false, Ordering::Release);
        frame.frame_number = f.frame_number;
        self.times[Stage::Pack] = t.elapsed();
        self.gpu.take_error()?;
        Ok(f.frame_number)
    }

    /// Make sure ring slot `i` has a mapped upload buffer of at least `len` bytes.
    fn ensure_upload(&mut self, i: usize, len: u64) -> Result<(), RenderError> {
        let slot = &mut self.ring[i];
        if slot.upload.size() < len {
            // A new source size: a bigger buffer, mapped from the start. (Per placement
            // change, never per frame.)
            slot.upload = upload_buffer(&self.gpu, i, len.next_multiple_of(1 << 20));
            slot.upload_ready.store(true, Ordering::Release);
            return Ok(());
        }
        let sub = slot.submission.clone();
        wait(&self.gpu, &slot.upload_ready, sub)
    }

    /// The plan for `key`, building its resources when it is new.
    fn plan(&mut self, key: PlanKey) -> Result<usize, RenderError> {
        if let Some(i) = self.plans.iter().position(|p| p.key == key) {
            self.plans[i].last_used = self.clock;
            return Ok(i);
        }
        let plan = self
            .gpu
            .scoped("GPU resources for a source", || self.build_plan(key))??;
        if self.plans.len() == MAX_PLANS {
            // Replace the least recently used plan that this frame does not use.
            let (i, _) = self
                .plans
                .iter()
                .enumerate()
                .filter(|(_, p)| p.last_used != self.clock)
                .min_by_key(|(_, p)| p.last_used)
                .ok_or_else(|| RenderError::Gpu("no free plan slot".into()))?;
            self.plans[i] = plan;
            return Ok(i);
        }
        self.plans.push(plan);
        Ok(self.plans.len() - 1)
    }

    fn build_plan(&self, key: PlanKey) -> Result<Plan, RenderError> {
        let gpu = &self.gpu;
        let g = &self.geometry;
        let (cw, ch) = (g.width, g.height);
        let limit = gpu.limits.max_texture_dimension_2d;
        check_limit("the source", key.width, key.height, limit)?;
        let bpp: u64 = if key.deep { 8 } else { 4 };
        let format = if key.deep {
            wgpu::TextureFormat::Rgba16Uint
        } else {
            wgpu::TextureFormat::Rgba8Uint
        };
        let src = texture(gpu, "source", key.width, key.height, format);
        let lut = if key.deep { &self.lut16 } else { &self.lut8 };
        let lut_max = if key.deep { 65535 } else { 255 };
        let p: Placement = place(key.fit, key.width, key.height, cw, ch);
        let dst = p.dst;
        let mut buffers = Vec::new();
        let fill = if dst.x == 0 && dst.y == 0 && dst.w == cw && dst.h == ch {
            None
        } else {
            let bg = self.background.map(u32::from);
            let params = uniform(
                gpu,
                "fill",
                &compose::Params {
                    size: [cw, ch],
                    pad: [0; 2],
                    rect: [dst.x, dst.y, dst.w, dst.h],
                    bg: [bg[0], bg[1], bg[2], 0],
                },
            );
            let bind = [0, 1].map(|s| {
                self.k
                    .fill
                    .bind(gpu, &[buf_res(&params), tex_res(&self.slots[s].canvas)])
            });
            buffers.push(params);
            Some(bind)
        };
        let lin_bind = |params: &wgpu::Buffer, out: &Tex| {
            self.k.linearize.bind(
                gpu,
                &[buf_res(params), tex_res(&src), buf_res(lut), tex_res(out)],
            )
        };
        let work = if let Some((sx, sy)) = p.one_to_one {
            let params = uniform(
                gpu,
                "linearize",
                &linearize::Params {
                    src_origin: [sx, sy],
                    dst_origin: [dst.x, dst.y],
                    size: [dst.w, dst.h],
                    pad: [0; 2],
                },
            );
            let bind = [0, 1].map(|s| lin_bind(&params, &self.slots[s].canvas));
            buffers.push(params);
            Work::Copy {
                bind,
                groups: groups_2d(dst.w, dst.h),
            }
        } else {
            let fast = self.color.resample == ResampleMode::Fast;
            let plan = crate::filter::Tables::new(key.width, key.height, p.crop, dst, key.filter);
            let mut params = resample::Params {
                src_origin: [0, 0],
                x0: plan.x0,
                width: plan.width,
                dst: [dst.x, dst.y, dst.w, dst.h],
                lut_mode: fast as u32,
                lut_max,
                ..bytemuck::Zeroable::zeroed()
            };
            let tables = resample::tables(&plan, &mut params);
            let mut keep = Vec::new();
            let linearize = if fast {
                None
            } else {
                // Linearize only the region the plan reads, into its own texture.
                params.src_origin = [plan.x0, plan.y0];
                let region = texture(gpu, "linear source", plan.width, plan.height, RGBA16);
                let lp = uniform(
                    gpu,
                    "linearize",
                    &linearize::Params {
                        src_origin: [plan.x0, plan.y0],
                        dst_origin: [0, 0],
                        size: [plan.width, plan.height],
                        pad: [0; 2],
                    },
                );
                let bind = lin_bind(&lp, &region);
                buffers.push(lp);
                keep.push(region);
                Some((bind, groups_2d(plan.width, plan.height)))
            };
            let read: &Tex = keep.first().unwrap_or(&src);
            let tables = storage(gpu, "resample tables", bytemuck::cast_slice(&tables));
            let params_buf = uniform(gpu, "resample", &params);
            let mid = texture(
                gpu,
                "resample mid",
                plan.width,
                dst.h,
                wgpu::TextureFormat::Rgba32Float,
            );
            check_limit("the resample intermediate", plan.width, dst.h, limit)?;
            let vertical = self.k.vertical.bind(
                gpu,
                &[
                    buf_res(&params_buf),
                    tex_res(read),
                    buf_res(&tables),
                    tex_res(&mid),
                ],
            );
            let horizontal = [0, 1].map(|s| {
                self.k.horizontal.bind(
                    gpu,
                    &[
                        buf_res(&params_buf),
                        buf_res(&tables),
                        tex_res(&mid),
                        buf_res(lut),
                        tex_res(&self.slots[s].canvas),
                    ],
                )
            });
            buffers.push(tables);
            buffers.push(params_buf);
            keep.push(mid);
            Work::Scaled {
                linearize,
                vertical,
                vgroups: groups_2d(plan.width, dst.h),
                horizontal,
                hgroups: groups_2d(dst.w, dst.h),
                _keep: keep,
            }
        };
        let row = key.width as u64 * bpp;
        Ok(Plan {
            key,
            src,
            row,
            row_padded: row.next_multiple_of(ROW_ALIGN),
            fill,
            work,
            last_used: self.clock,
            _buffers: buffers,
        })
    }

    /// Record the compute passes of `work`, the stages selected by `stages` (by
    /// [`Stage::index`]), one compute pass per stage.
    fn encode(&self, encoder: &mut wgpu::CommandEncoder, work: &FrameWork, stages: [bool; 6]) {
        let k = &self.k;
        // Stages 1 to 3 for each layer: fill outside its rect (compose), linearize,
        // resample. Each layer's order matters, so they share a pass per layer.
        for job in work.jobs.iter().flatten() {
            let plan = &self.plans[job.plan];
            let s = job.slot;
            if stages[Stage::Compose.index()]
                && let Some(fill) = &plan.fill
            {
                let mut p = pass(encoder, Stage::Compose);
                k.fill.dispatch(&mut p, &fill[s], self.canvas_groups);
            }
            match &plan.work {
                Work::Copy { bind, groups } => {
                    if stages[Stage::Linearize.index()] {
                        let mut p = pass(encoder, Stage::Linearize);
                        k.linearize.dispatch(&mut p, &bind[s], *groups);
                    }
                }
                Work::Scaled {
                    linearize,
                    vertical,
                    vgroups,
                    horizontal,
                    hgroups,
                    ..
                } => {
                    if stages[Stage::Linearize.index()]
                        && let Some((bind, groups)) = linearize
                    {
                        let mut p = pass(encoder, Stage::Linearize);
                        k.linearize.dispatch(&mut p, bind, *groups);
                    }
                    if stages[Stage::Resample.index()] {
                        let mut p = pass(encoder, Stage::Resample);
                        k.vertical.dispatch(&mut p, vertical, *vgroups);
                        k.horizontal.dispatch(&mut p, &horizontal[s], *hgroups);
                    }
                }
            }
        }
        let color_bind = match work.input {
            ColorInput::Mix(a, b) => {
                if stages[Stage::Compose.index()] {
                    let mut p = pass(encoder, Stage::Compose);
                    k.mix
                        .dispatch(&mut p, &self.mix_bind[a][b], self.canvas_groups);
                }
                &self.color_bind[0]
            }
            ColorInput::Slot(s) => &self.color_bind[1 + s],
        };
        if stages[Stage::Color.index()] {
            let mut p = pass(encoder, Stage::Color);
            k.color.dispatch(&mut p, color_bind, self.canvas_groups);
        }
        if stages[Stage::Quantize.index()] {
            let mut p = pass(encoder, Stage::Quantize);
            for (_, _, bind) in &self.quant {
                k.quantize.dispatch(&mut p, bind, self.canvas_groups);
            }
        }
        if stages[Stage::Pack.index()] {
            let mut p = pass(encoder, Stage::Pack);
            for port in &self.ports {
                for (bind, groups, grouped) in &port.pieces {
                    let kernel = if *grouped { &k.pack4 } else { &k.pack };
                    kernel.dispatch(&mut p, bind, *groups);
                }
            }
        }
    }

    /// Time each stage of the last frame on its own: the stage's passes are submitted alone
    /// and waited for, pipeline order. Includes one submission's overhead per stage; use
    /// it for per-stage comparisons, and end-to-end timing for throughput.
    pub fn profile_stages(&mut self) -> Result<StageTimes, RenderError> {
        let mut times = StageTimes::default();
        for s in Stage::ALL {
            times[s] = self.profile_stage(s)?;
        }
        Ok(times)
    }

    /// Time stage `stage`  of the last frame on its own, as
    /// [`Renderer::profile_stages`] does for all six.
    pub fn profile_stage(&mut self, stage: Stage) -> Result<Duration, RenderError> {
        let Some(work) = self.last_work else {
            return Err(RenderError::Gpu("render a frame before profiling".into()));
        };
        let mut stages = [false; 6];
        stages[stage.index()] = true;
        let mut encoder = self
            .gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some(stage.name()),
            });
        self.encode(&mut encoder, &work, stages);
        let start = Instant::now();
        let idx = self.gpu.queue.submit([encoder.finish()]);
        self.gpu
            .device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(idx),
                timeout: None,
            })
            .map_err(|e| RenderError::Gpu(format!("waiting for the GPU: {e}")))?;
        let t = start.elapsed();
        self.gpu.take_error()?;
        Ok(t)
    }

    /// The quantized canvas buffer for `depth` from the last frame, laid out as the CPU
    /// backend's (packed RGB, then the background and dark pixels). For tests and tools:
    /// it allocates and waits.
    pub fn read_quantized(&mut self, depth: u32) -> Result<Vec<u16>, RenderError> {
        let Some(qi) = self.quant.iter().position(|q| q.0 == depth) else {
            return Err(RenderError::Gpu(format!("no output has depth {depth}")));
        };
        let g = &self.geometry;
        let (w, h) = (g.width, g.height);
        let row = (w as u64 * 8).next_multiple_of(ROW_ALIGN);
        let buf = self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("read quantized"),
            size: row * h as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
        encoder.copy_texture_to_buffer(
            self.quant[qi].1.tex.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &buf,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(row as u32),
                    rows_per_image: Some(h),
                },
            },
            wgpu::Extent3d {
                width: w,
                height: h,
                depth_or_array_layers: 1,
            },
        );
        let idx = self.gpu.queue.submit([encoder.finish()]);
        let ready = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ready);
        buf.map_async(wgpu::MapMode::Read, .., move |r| {
            flag.store(r.is_ok(), Ordering::Release)
        });
        wait(&self.gpu, &ready, Some(idx))?;
        let mut out = Vec::with_capacity(g.buffer_pixels() * 3);
        {
            let view = buf
                .get_mapped_range(..)
                .map_err(|e| RenderError::Gpu(format!("readback: {e}")))?;
            for y in 0..h as usize {
                let r: &[u8] = &view[y * row as usize..][..w as usize * 8];
                for px in r.chunks_exact(8) {
                    for c in 0..3 {
                        out.push(u16::from_ne_bytes([px[2 * c], px[2 * c + 1]]));
                    }
                }
            }
        }
        buf.unmap();
        out.extend(background_code(self.background, self.gains, depth));
        out.extend([0, 0, 0]);
        self.gpu.take_error()?;
        Ok(out)
    }

    /// Run only the pack stage on given quantized canvas buffers (one per depth, laid out
    /// as [`Renderer::read_quantized`] returns them; their last two pixels are ignored, the
    /// backend's own background code is used) and read the ports back into `frame`. The
    /// bit-exactness test of pack uses it.
    pub fn pack_quantized(
        &mut self,
        quantized: &[(u32, &[u16])],
        frame: &mut WallFrame,
    ) -> Result<(), RenderError> {
        let g = Arc::clone(&self.geometry);
        let (w, h) = (g.width, g.height);
        for (depth, q) in quantized {
            let Some(qi) = self.quant.iter().position(|t| t.0 == *depth) else {
                return Err(RenderError::Gpu(format!("no output has depth {depth}")));
            };
            if q.len() < g.canvas_pixels() * 3 {
                return Err(RenderError::Gpu("quantized buffer too short".into()));
            }
            let rgba: Vec<u16> = q[..g.canvas_pixels() * 3]
                .chunks_exact(3)
                .flat_map(|p| [p[0], p[1], p[2], 0])
                .collect();
            self.gpu.queue.write_texture(
                self.quant[qi].1.tex.as_image_copy(),
                bytemuck::cast_slice(&rgba),
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(w * 8),
                    rows_per_image: Some(h),
                },
                wgpu::Extent3d {
                    width: w,
                    height: h,
                    depth_or_array_layers: 1,
                },
            );
        }
        while !self.in_flight.is_empty() {
            self.receive(frame)?;
        }
        let ring_i = self.next;
        let work = FrameWork {
            jobs: [None; MAX_LAYERS],
            input: ColorInput::Slot(0),
        };
        let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
        self.encode(
            &mut encoder,
            &work,
            [false, false, false, false, false, true],
        );
        let slot = &self.ring[ring_i];
        for port in &self.ports {
            encoder.copy_buffer_to_buffer(
                &port.out,
                0,
                &slot.readback,
                port.readback_at,
                port.words * 4,
            );
        }
        let submission = self.gpu.queue.submit([encoder.finish()]);
        let ready = Arc::clone(&slot.read_ready);
        slot.readback
            .map_async(wgpu::MapMode::Read, ..self.readback_len, move |r| {
                ready.store(r.is_ok(), Ordering::Release);
            });
        self.ring[ring_i].busy = true;
        self.in_flight.push_back(InFlight {
            slot: ring_i,
            frame_number: frame.frame_number,
            submission,
        });
        self.next = (ring_i + 1) % RING;
        self.receive(frame).map(|_| ())
    }
}

/// The uniform of compose's mix (the background, in linear light).
fn compose_params(w: u32, h: u32, bg: [u32; 4]) -> compose::Params {
    compose::Params {
        size: [w, h],
        pad: [0; 2],
        rect: [0; 4],
        bg,
    }
}

/// The uniform of the colour stage.
fn color_params(w: u32, h: u32, gains: [f32; 3]) -> color::Params {
    color::Params {
        size: [w, h],
        pad: [0; 2],
        gains: [gains[0], gains[1], gains[2], 0.0],
    }
}

fn upload_buffer(gpu: &Gpu, i: usize, size: u64) -> wgpu::Buffer {
    gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(&format!("upload {i}")),
        size,
        usage: wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: true,
    })
}

/// Poll the device until `flag` is set by a map callback.
fn wait(
    gpu: &Gpu,
    flag: &AtomicBool,
    submission: Option<wgpu::SubmissionIndex>,
) -> Result<(), RenderError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !flag.load(Ordering::Acquire) {
        gpu.device
            .poll(wgpu::PollType::Wait {
                submission_index: submission.clone(),
                timeout: Some(Duration::from_secs(5)),
            })
            .map_err(|e| RenderError::Gpu(format!("waiting for the GPU: {e}")))?;
        gpu.take_error()?;
        if flag.load(Ordering::Acquire) {
            break;
        }
        if Instant::now() > deadline {
            return Err(RenderError::Gpu(
                "the GPU did not finish a frame within 30 s".into(),
            ));
        }
        // The submission is done but the callback has not run yet: poll again.
        std::thread::yield_now();
    }
    Ok(())
}
