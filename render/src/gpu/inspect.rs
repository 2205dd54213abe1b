//! Profiling and inspection, for benches, tools and tests (they allocate and wait): each
//! stage of the last frame timed alone ([`Renderer::profile_stages`],
//! [`Renderer::profile_stage`]), a quantized canvas read back
//! ([`Renderer::read_quantized`]), and pack run alone on given quantized canvases
//! ([`Renderer::pack_quantized`]).

use super::Renderer;
use super::encode::Stages;
use super::resources::{ROW_ALIGN, extent, write_texture};
use super::ring::wait;
use super::work::{ColorInput, FrameWork};
use crate::dither::background_quant;
use crate::error::{GpuError, RenderError};
use crate::frame::{MAX_LAYERS, WallFrame};
use crate::geometry::Quant;
use crate::stage::{Stage, StageTimes};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

impl Renderer {
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

    /// Time stage `stage` of the last frame on its own, as [`Renderer::profile_stages`]
    /// does for all six.
    pub fn profile_stage(&mut self, stage: Stage) -> Result<Duration, RenderError> {
        let work = self.last_work.ok_or(GpuError::NotRendered)?;
        let mut encoder = self
            .gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some(stage.name()),
            });
        self.encode(&mut encoder, &work, Stages::only(stage));
        let start = Instant::now();
        let idx = self.gpu.queue.submit([encoder.finish()]);
        self.gpu
            .device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(idx),
                timeout: None,
            })
            .map_err(|e| GpuError::Wait(e.to_string()))?;
        let t = start.elapsed();
        self.gpu.take_error()?;
        Ok(t)
    }

    /// The linear quantized canvas buffer for `depth` from the last frame, laid out as the
    /// CPU backend's (packed RGB, then the background and dark pixels). For tests and
    /// tools: it allocates and waits.
    pub fn read_quantized(&mut self, depth: u32) -> Result<Vec<u16>, RenderError> {
        self.read_quantized_as(Quant::linear(depth))
    }

    /// [`Renderer::read_quantized`] for any quantization (display-encoded ones included).
    pub fn read_quantized_as(&mut self, quant: Quant) -> Result<Vec<u16>, RenderError> {
        let q = self
            .res
            .quantized(quant)
            .ok_or(GpuError::NoDepth(quant.depth))?;
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
            q.canvas.tex.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &buf,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(row as u32),
                    rows_per_image: Some(h),
                },
            },
            extent(w, h),
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
            let view = buf.get_mapped_range(..).map_err(|e| GpuError::Map {
                buffer: "readback",
                reason: e.to_string(),
            })?;
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
        let enc = self.res.encode.as_ref().map(|(_, lut)| lut);
        out.extend(background_quant(self.background, self.gains, quant, enc));
        out.extend([0, 0, 0]);
        self.gpu.take_error()?;
        Ok(out)
    }

    /// Run only the pack stage on given quantized canvas buffers (one per quantization, laid out
    /// as [`Renderer::read_quantized`] returns them; their last two pixels are ignored, the
    /// backend's own background code is used) and read the ports back into `frame`. The
    /// bit-exactness test of pack uses it.
    pub fn pack_quantized(
        &mut self,
        quantized: &[(Quant, &[u16])],
        frame: &mut WallFrame,
    ) -> Result<(), RenderError> {
        let g = Arc::clone(&self.geometry);
        let (w, h) = (g.width, g.height);
        for (quant, q) in quantized {
            let target = self
                .res
                .quantized(*quant)
                .ok_or(GpuError::NoDepth(quant.depth))?;
            if q.len() < g.canvas_pixels() * 3 {
                return Err(GpuError::QuantizedTooShort.into());
            }
            let rgba: Vec<u16> = q[..g.canvas_pixels() * 3]
                .chunks_exact(3)
                .flat_map(|p| [p[0], p[1], p[2], 0])
                .collect();
            write_texture(
                &self.gpu,
                &target.canvas,
                bytemuck::cast_slice(&rgba),
                8,
                w,
                h,
            );
        }
        while self.ring.in_flight() > 0 {
            self.receive(frame)?;
        }
        let work = FrameWork {
            jobs: [None; MAX_LAYERS],
            input: ColorInput::Slot(0),
        };
        let mut encoder = self.gpu.device.create_command_encoder(&Default::default());
        self.encode(&mut encoder, &work, Stages::only(Stage::Pack));
        self.ring.submit(
            &self.gpu,
            encoder,
            &self.res.ports,
            (frame.frame_number, frame.card_level),
            false,
        );
        self.receive(frame).map(|_| ())
    }
}
