//! The per-wall resources: the compiled kernels ([`Kernels`]) and everything built once per
//! geometry ([`WallRes`]: LUTs, layer and stage canvases, uniforms, bind groups, port
//! buffers), one builder function per stage, and the writes that keep them current when the
//! colours change (a new curve, background or gains) without rebuilding them.
//!
//! The per-source resources (source texture, resample tables) are built per placement
//! instead (`placement.rs`), the staging buffers per ring slot (`ring.rs`).

use super::device::Gpu;
use super::kernel::{Built, groups_2d};
use super::resources::{
    RGBA16, Tex, buf_res, range, storage, tex_res, texture, uniform, write_texture,
};
use super::{color, compose, linearize, pack, quantize, resample, yuv};
use crate::color::{EncodeLut, Luts};
use crate::dither::background_quant;
use crate::error::RenderError;
use crate::frame::MAX_LAYERS;
use crate::geometry::{Geometry, Quant};
use crate::wall::Encoding;

/// Every kernel, compiled.
pub(super) struct Kernels {
    pub(super) linearize: Built,
    pub(super) vertical: Built,
    /// Linearize reading Y'CbCr planes.
    pub(super) linearize_yuv: Built,
    /// The vertical pass reading Y'CbCr planes (fast mode).
    pub(super) vertical_yuv: Built,
    pub(super) horizontal: Built,
    pub(super) fill: Built,
    pub(super) mix: Built,
    pub(super) color: Built,
    pub(super) quantize: Built,
    pub(super) quantize_display: Built,
    pub(super) pack: Built,
    pub(super) pack4: Built,
}

impl Kernels {
    /// Compile every kernel on `gpu`.
    pub(super) fn new(gpu: &Gpu) -> Result<Kernels, RenderError> {
        Ok(Kernels {
            linearize: Built::new(gpu, linearize::LINEARIZE)?,
            vertical: Built::new(gpu, resample::VERTICAL)?,
            linearize_yuv: Built::new(gpu, yuv::LINEARIZE_YUV)?,
            vertical_yuv: Built::new(gpu, yuv::VERTICAL_YUV)?,
            horizontal: Built::new(gpu, resample::HORIZONTAL)?,
            fill: Built::new(gpu, compose::FILL)?,
            mix: Built::new(gpu, compose::MIX)?,
            color: Built::new(gpu, color::COLOR)?,
            quantize: Built::new(gpu, quantize::QUANTIZE)?,
            quantize_display: Built::new(gpu, quantize::QUANTIZE_DISPLAY)?,
            pack: Built::new(gpu, pack::PACK)?,
            pack4: Built::new(gpu, pack::PACK4)?,
        })
    }
}

/// The layer canvases and compose's mix (stage 3).
pub(super) struct Layers {
    /// One canvas per layer slot (linear light; the slots of [`crate::cache::LayerCache`]).
    pub(super) canvases: [Tex; MAX_LAYERS],
    /// The mix of two canvases and the background.
    pub(super) composed: Tex,
    /// The mix uniform (the background is rewritten when it changes).
    pub(super) params: wgpu::Buffer,
    /// `mix[a][b]` mixes canvases `a` and `b` into `composed`.
    pub(super) mix: [[wgpu::BindGroup; MAX_LAYERS]; MAX_LAYERS],
}

/// The colour stage (stage 4).
pub(super) struct Colour {
    /// The uniform (gains).
    pub(super) params: wgpu::Buffer,
    /// The calibration matrices with the gains multiplied in.
    pub(super) matrices: wgpu::Buffer,
    /// The matrices' values before upload (kept so a fade rewrites them in place).
    pub(super) matrix_values: Vec<f32>,
    /// Reading `composed` (index 0) or layer canvas `s` directly (index `1 + s`).
    pub(super) bind: [wgpu::BindGroup; MAX_LAYERS + 1],
    /// The output, quantize's input.
    pub(super) colored: Tex,
    _matrix_of: Tex,
}

/// The quantize stage (stage 5) for one output quantization.
pub(super) struct Quantized {
    /// The depth and encoding.
    pub(super) quant: Quant,
    /// The quantized canvas, pack's input.
    pub(super) canvas: Tex,
    /// The bind group of the kernel.
    pub(super) bind: wgpu::BindGroup,
    _params: wgpu::Buffer,
}

/// One dispatch of pack.
pub(super) struct Piece {
    /// Its bind group.
    pub(super) bind: wgpu::BindGroup,
    /// Its workgroups.
    pub(super) groups: (u32, u32),
    /// Whether the grouped bit-plane kernel ([`pack::PACK4`]) runs it.
    pub(super) grouped: bool,
    /// Its uniform, and the value written there (the background code in it is rewritten
    /// when the gains change).
    pub(super) params: wgpu::Buffer,
    pub(super) value: pack::Params,
}

/// The pack stage (stage 6) of one port.
pub(super) struct Port {
    /// The port buffer the kernels write.
    pub(super) out: wgpu::Buffer,
    /// Its size in words.
    pub(super) words: u64,
    /// The port's bytes (the frame's buffer length).
    pub(super) byte_len: usize,
    /// Where it lands in a ring slot's readback buffer.
    pub(super) readback_at: u64,
    /// The port's quantization.
    pub(super) quant: Quant,
    /// Its dispatches.
    pub(super) pieces: Vec<Piece>,
    /// Kept on the GPU ([`super::Renderer::keep_on_gpu`]): not read back; each frame's bytes
    /// are copied into the frame's own GPU buffer instead.
    pub(super) kept: bool,
    _tables: [wgpu::Buffer; 2],
}

/// Everything built once per wall geometry.
pub(super) struct WallRes {
    /// The transfer curve's LUTs (256 and 65536 entries, one u32 each).
    pub(super) lut8: wgpu::Buffer,
    pub(super) lut16: wgpu::Buffer,
    /// The encode table of display-encoded `canvas` ports (one u32 per entry), when a port
    /// needs it, and its values.
    pub(super) encode: Option<(wgpu::Buffer, EncodeLut)>,
    /// The per-frame uniform ([`compose::Frame`]), copied from the upload ring.
    pub(super) frame: wgpu::Buffer,
    pub(super) layers: Layers,
    pub(super) color: Colour,
    /// One per distinct output quantization.
    pub(super) quant: Vec<Quantized>,
    pub(super) ports: Vec<Port>,
    /// Bytes of every port's readback, together.
    pub(super) readback_len: u64,
    /// The workgroups that cover the canvas.
    pub(super) groups: (u32, u32),
}

impl WallRes {
    /// Build the resources of geometry `g` with the colours `luts`, `background` (linear,
    /// before the gains) and `gains`. Storage bindings stay within `max_binding` bytes (and
    /// the adapter's limit).
    pub(super) fn build(
        gpu: &Gpu,
        k: &Kernels,
        g: &Geometry,
        (luts, color_spec): (&Luts, &crate::wall::ColorSpec),
        background: [u16; 3],
        gains: [f32; 3],
        max_binding: Option<u64>,
    ) -> WallRes {
        let (lut8, lut16) = (lut_words(&luts.lut8[..]), lut_words(&luts.lut16));
        let lut8 = storage(gpu, "lut8", bytemuck::cast_slice(&lut8));
        let lut16 = storage(gpu, "lut16", bytemuck::cast_slice(&lut16));
        let encode = g
            .quants()
            .iter()
            .any(|q| q.encoding == Encoding::Display)
            .then(|| {
                let lut = EncodeLut::new(color_spec);
                let words = lut_words(lut.table());
                (storage(gpu, "encode", bytemuck::cast_slice(&words)), lut)
            });
        let frame = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("frame"),
            size: compose::FRAME,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let layers = build_layers(gpu, k, g, &frame, background);
        let color = build_color(gpu, k, g, &layers, gains);
        let quant = build_quantize(gpu, k, g, &frame, &color.colored, encode.as_ref());
        let enc = encode.as_ref().map(|(_, lut)| lut);
        let bg = |q| background_quant(background, gains, q, enc);
        let (ports, readback_len) = build_ports(gpu, k, g, &quant, &bg, max_binding);
        WallRes {
            lut8,
            lut16,
            encode,
            frame,
            layers,
            color,
            quant,
            ports,
            readback_len,
            groups: groups_2d(g.width, g.height),
        }
    }

    /// Rewrite the LUT buffers (and the encode table) with a new curve. They keep their
    /// size, so the placements' bind groups stay valid.
    pub(super) fn write_luts(
        &mut self,
        gpu: &Gpu,
        luts: &Luts,
        color_spec: &crate::wall::ColorSpec,
    ) {
        if let Some((buf, lut)) = &mut self.encode {
            *lut = EncodeLut::new(color_spec);
            let words = lut_words(lut.table());
            gpu.queue.write_buffer(buf, 0, bytemuck::cast_slice(&words));
        }
        let (lut8, lut16) = (lut_words(&luts.lut8[..]), lut_words(&luts.lut16));
        gpu.queue
            .write_buffer(&self.lut8, 0, bytemuck::cast_slice(&lut8));
        gpu.queue
            .write_buffer(&self.lut16, 0, bytemuck::cast_slice(&lut16));
    }

    /// Rewrite the mix uniform with a new background (the placements' fill uniforms hold
    /// it too: they are rebuilt).
    pub(super) fn write_background(&self, gpu: &Gpu, g: &Geometry, background: [u16; 3]) {
        let params = compose::Params::new(g.width, g.height, [0; 4], background);
        gpu.queue
            .write_buffer(&self.layers.params, 0, bytemuck::bytes_of(&params));
    }

    /// Rewrite everything that carries the gains: the colour uniform, the calibration
    /// matrices and each port piece's background code.
    pub(super) fn write_gains(
        &mut self,
        gpu: &Gpu,
        g: &Geometry,
        background: [u16; 3],
        gains: [f32; 3],
    ) {
        let q = &gpu.queue;
        let params = color::Params::new(g.width, g.height, gains);
        q.write_buffer(&self.color.params, 0, bytemuck::bytes_of(&params));
        if !g.calibrations.is_empty() {
            color::fill_matrices(g, gains, &mut self.color.matrix_values);
            q.write_buffer(
                &self.color.matrices,
                0,
                bytemuck::cast_slice(&self.color.matrix_values),
            );
        }
        let enc = self.encode.as_ref().map(|(_, lut)| lut);
        for port in &mut self.ports {
            let bg = background_quant(background, gains, port.quant, enc).map(u32::from);
            for piece in &mut port.pieces {
                piece.value.bg = [bg[0], bg[1], bg[2], 0];
                q.write_buffer(&piece.params, 0, bytemuck::bytes_of(&piece.value));
            }
        }
    }

    /// The quantized canvas of `quant`, if an output has it.
    pub(super) fn quantized(&self, quant: Quant) -> Option<&Quantized> {
        self.quant.iter().find(|q| q.quant == quant)
    }
}

/// A LUT as the shaders read it: one u32 per entry.
fn lut_words(lut: &[u16]) -> Vec<u32> {
    lut.iter().map(|&v| v as u32).collect()
}

/// Stage 3: the layer canvases, `composed` and the mix of every pair of canvases.
fn build_layers(
    gpu: &Gpu,
    k: &Kernels,
    g: &Geometry,
    frame: &wgpu::Buffer,
    background: [u16; 3],
) -> Layers {
    let (w, h) = (g.width, g.height);
    let canvases: [Tex; MAX_LAYERS] =
        std::array::from_fn(|i| texture(gpu, &format!("layer {i}"), w, h, RGBA16));
    let composed = texture(gpu, "composed", w, h, RGBA16);
    let value = compose::Params::new(w, h, [0; 4], background);
    let params = uniform(gpu, "compose", &value);
    let mix = std::array::from_fn(|a| {
        std::array::from_fn(|b| {
            k.mix.bind(
                gpu,
                &[
                    buf_res(&params),
                    buf_res(frame),
                    tex_res(&canvases[a]),
                    tex_res(&canvases[b]),
                    tex_res(&composed),
                ],
            )
        })
    });
    Layers {
        canvases,
        composed,
        params,
        mix,
    }
}

/// Stage 4: the per-pixel matrix map, the gain-multiplied matrices, `colored`, and a bind
/// group per input (`composed`, each layer canvas).
fn build_color(gpu: &Gpu, k: &Kernels, g: &Geometry, layers: &Layers, gains: [f32; 3]) -> Colour {
    let (w, h) = (g.width, g.height);
    let colored = texture(gpu, "colored", w, h, RGBA16);
    let (map, matrix_values) = color::matrices(g, gains);
    let matrix_of = if map.is_empty() {
        texture(gpu, "matrix map", 1, 1, wgpu::TextureFormat::R32Uint)
    } else {
        let t = texture(gpu, "matrix map", w, h, wgpu::TextureFormat::R32Uint);
        write_texture(gpu, &t, bytemuck::cast_slice(&map), 4, w, h);
        t
    };
    let matrices = storage(gpu, "matrices", bytemuck::cast_slice(&matrix_values));
    let params = uniform(gpu, "color", &color::Params::new(w, h, gains));
    let bind_input = |t: &Tex| {
        k.color.bind(
            gpu,
            &[
                buf_res(&params),
                tex_res(t),
                tex_res(&matrix_of),
                buf_res(&matrices),
                tex_res(&colored),
            ],
        )
    };
    let bind = std::array::from_fn(|i| match i {
        0 => bind_input(&layers.composed),
        s => bind_input(&layers.canvases[s - 1]),
    });
    Colour {
        params,
        matrices,
        matrix_values,
        bind,
        colored,
        _matrix_of: matrix_of,
    }
}

/// Stage 5: one quantized canvas per distinct output quantization.
fn build_quantize(
    gpu: &Gpu,
    k: &Kernels,
    g: &Geometry,
    frame: &wgpu::Buffer,
    colored: &Tex,
    encode: Option<&(wgpu::Buffer, EncodeLut)>,
) -> Vec<Quantized> {
    let (w, h) = (g.width, g.height);
    g.quants()
        .into_iter()
        .map(|quant| {
            let depth = quant.depth;
            let params = uniform(gpu, "quantize", &quantize::Params::new(w, h, depth));
            let label = format!("quantized {depth} {}", quant.encoding.name());
            let canvas = texture(gpu, &label, w, h, RGBA16);
            let mut res = vec![
                buf_res(&params),
                buf_res(frame),
                tex_res(colored),
                tex_res(&canvas),
            ];
            let kernel = match (quant.encoding, encode) {
                (Encoding::Display, Some((table, _))) => {
                    res.push(buf_res(table));
                    &k.quantize_display
                }
                _ => &k.quantize,
            };
            let bind = kernel.bind(gpu, &res);
            Quantized {
                quant,
                canvas,
                bind,
                _params: params,
            }
        })
        .collect()
}

/// Stage 6: per port, its slot and order tables, output buffer and pieces; and the bytes
/// of all ports' readback.
fn build_ports(
    gpu: &Gpu,
    k: &Kernels,
    g: &Geometry,
    quant: &[Quantized],
    background_code: &dyn Fn(Quant) -> [u16; 3],
    max_binding: Option<u64>,
) -> (Vec<Port>, u64) {
    let max_binding = max_binding
        .unwrap_or(u64::MAX)
        .min(gpu.limits.max_storage_buffer_binding_size)
        .max(1024);
    let align = gpu.limits.min_storage_buffer_offset_alignment as u64;
    let mut ports = Vec::with_capacity(g.ports.len());
    let mut readback_len = 0u64;
    for port in &g.ports {
        let qi = quant
            .iter()
            .position(|q| q.quant == port.quant())
            .unwrap_or(0);
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
        let slots = storage(gpu, "slots", bytemuck::cast_slice(&slot_words));
        let order = storage(gpu, "order", bytemuck::cast_slice(&pack::order_words(port)));
        let bg = background_code(port.quant()).map(u32::from);
        let split = pack::pieces(port, max_binding, align);
        let grouped = pack::grouped(port, &split);
        let mut pieces = Vec::with_capacity(split.len());
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
                canvas_w: g.width,
                canvas_len: g.canvas_pixels() as u32,
                row_words: gx * pack::WORKGROUP,
                pad: 0,
                bg: [bg[0], bg[1], bg[2], 0],
            };
            let params = uniform(gpu, "pack", &value);
            let kernel = if grouped { &k.pack4 } else { &k.pack };
            let bind = kernel.bind(
                gpu,
                &[
                    buf_res(&params),
                    range(&slots, piece.slots),
                    range(&order, piece.order),
                    tex_res(&quant[qi].canvas),
                    range(&out, piece.words),
                ],
            );
            pieces.push(Piece {
                bind,
                groups: (gx, gy),
                grouped,
                params,
                value,
            });
        }
        ports.push(Port {
            out,
            words,
            byte_len: port.byte_len(),
            readback_at: readback_len,
            quant: port.quant(),
            pieces,
            kept: false,
            _tables: [slots, order],
        });
        readback_len += words * 4;
    }
    (ports, readback_len.max(4))
}
