//! The GPU half of a display: the shared device ([`Gpu`]) and, per window, an [`Output`]
//! that owns the surface and presents the mailbox's newest frame on its own thread.
//!
//! Why a presenter thread per window: with `PresentMode::Fifo`, acquiring or presenting can
//! block for up to a monitor period, so one slow (or missing-vblank) monitor would stall
//! every other window and the event loop if they shared a thread. wgpu's surface, device
//! and queue are `Send + Sync`; the event loop thread only creates and destroys windows and
//! forwards their events (resize, expose) to the presenter.

use super::mailbox::{Mailbox, Wake};
use super::{DisplayError, DisplayTarget, Mode};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use winit::window::Window;

/// The present shader (design §7.1): frame bytes in, the same codes out.
const SHADER: &str = include_str!("present.wgsl");

/// The surface formats that show codes unchanged, in order of preference.
const FORMATS: [wgpu::TextureFormat; 2] = [
    wgpu::TextureFormat::Bgra8Unorm,
    wgpu::TextureFormat::Rgba8Unorm,
];

/// Frames queued between acquiring a texture and the screen: 2 lets one frame wait for
/// the vblank while the next is drawn, so a frame that arrives a little late for one
/// vblank is still shown at the next (smoothness over one period of latency).
const FRAME_LATENCY: u32 = 2;

/// Bind groups of GPU frames a presenter keeps (more than the frames in flight).
const GPU_BINDS: usize = 8;

/// wgpu errors logged per device before the rest are only counted.
const LOGGED_ERRORS: u32 = 8;

/// The shader's uniform block. Keep in sync with `Params` in present.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    /// The region's top-left in window pixels.
    offset: [u32; 2],
    /// The region's width and height.
    size: [u32; 2],
}

/// One device for all displays, on an adapter that can present to their windows.
pub(crate) struct Gpu {
    instance: wgpu::Instance,
    adapter: wgpu::Adapter,
    device: wgpu::Device,
    queue: wgpu::Queue,
    shader: wgpu::ShaderModule,
    layout: wgpu::BindGroupLayout,
    pipeline_layout: wgpu::PipelineLayout,
    /// Configuring a surface waits for the device's queue to empty and fails when another
    /// thread submits or presents meanwhile (wgpu's `GpuWaitTimeout`): presenters hold
    /// this shared around their uploads, submits and presents, configuring takes it
    /// exclusively (so it may wait for one vblank). Acquiring stays outside it.
    submits: std::sync::RwLock<()>,
}

impl Gpu {
    /// Open a device on an adapter compatible with `surface` (the first window's).
    /// `WGPU_BACKEND` (in `instance`) and `WGPU_POWER_PREF` are honoured.
    pub(crate) fn open(
        instance: &wgpu::Instance,
        surface: &wgpu::Surface<'_>,
        label: &str,
    ) -> Result<Gpu, DisplayError> {
        let device_error = |reason: String| DisplayError::Device {
            label: label.to_string(),
            reason,
        };
        let options = wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::from_env()
                .unwrap_or(wgpu::PowerPreference::HighPerformance),
            force_fallback_adapter: false,
            compatible_surface: Some(surface),
            ..Default::default()
        };
        let adapter = pollster::block_on(instance.request_adapter(&options))
            .map_err(|e| device_error(e.to_string()))?;
        let info = adapter.get_info();
        let desc = wgpu::DeviceDescriptor {
            label: Some("ledwall display"),
            required_features: wgpu::Features::empty(),
            required_limits: adapter.limits(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .map_err(|e| device_error(format!("{} ({:?}): {e}", info.name, info.backend)))?;
        // Errors outside a scope must not panic (wgpu's default): log the first few.
        let logged = Arc::new(AtomicU32::new(0));
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if logged.fetch_add(1, Ordering::Relaxed) < LOGGED_ERRORS {
                tracing::error!("display: wgpu error: {e}");
            }
        }));
        device.set_device_lost_callback(|reason, message| {
            tracing::error!("display: graphics device lost ({reason:?}): {message}");
        });
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("present.wgsl"),
            source: wgpu::ShaderSource::Wgsl(SHADER.into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("present"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Storage { read_only: true },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("present"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(DisplayError::Pipeline {
                label: label.to_string(),
                reason: e.to_string(),
            });
        }
        tracing::info!(
            adapter = %info.name,
            backend = ?info.backend,
            "display: presenting through wgpu"
        );
        Ok(Gpu {
            instance: instance.clone(),
            adapter,
            device,
            queue,
            shader,
            layout,
            pipeline_layout,
            submits: std::sync::RwLock::new(()),
        })
    }

    /// The device as a renderer shares it.
    pub(crate) fn shared(&self) -> super::SharedDevice {
        super::SharedDevice {
            adapter: self.adapter.clone(),
            device: self.device.clone(),
            queue: self.queue.clone(),
        }
    }

    /// Configure `surface` while no presenter submits (see `submits`).
    fn configure(&self, surface: &wgpu::Surface<'_>, config: &wgpu::SurfaceConfiguration) {
        let _only = self.submits.write().unwrap_or_else(|e| e.into_inner());
        surface.configure(&self.device, config);
    }
}

/// One window's presenter: its surface, pipeline and frame buffer.
pub(crate) struct Output {
    label: String,
    gpu: Arc<Gpu>,
    window: Arc<Window>,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    pipeline: wgpu::RenderPipeline,
    /// Reads `frame` (frames published as bytes).
    bind_group: wgpu::BindGroup,
    /// The uniform (the region's offset and size), for the bind groups of GPU frames.
    params: wgpu::Buffer,
    /// Bind groups of the GPU buffers frames were published in (the frames in flight: a
    /// few), most recent last.
    gpu_binds: Vec<(wgpu::Buffer, wgpu::BindGroup)>,
    /// The entry of `gpu_binds` the front frame is drawn from; `None`: from `frame`.
    current: Option<usize>,
    frame: wgpu::Buffer,
    mailbox: Arc<Mailbox>,
    /// How long to wait for a frame before looking at the window again: one monitor period.
    period: Duration,
    /// The window's size (width << 32 | height), updated by the event loop on resizes.
    window_size: Arc<AtomicU64>,
    /// The surface needs configuring again before the next acquire.
    stale: bool,
}

/// Pack a window size for [`Output`]'s `window_size`.
pub(crate) fn pack_size(width: u32, height: u32) -> u64 {
    (u64::from(width) << 32) | u64::from(height)
}

fn unpack_size(v: u64) -> (u32, u32) {
    ((v >> 32) as u32, v as u32)
}

impl Output {
    /// Set up presenting `target` into `window` (through `surface`). `period` is the
    /// monitor's refresh period.
    pub(crate) fn new(
        gpu: &Arc<Gpu>,
        target: &DisplayTarget,
        window: Arc<Window>,
        surface: wgpu::Surface<'static>,
        period: Duration,
        window_size: Arc<AtomicU64>,
    ) -> Result<Output, DisplayError> {
        let label = target.label.clone();
        let caps = surface.get_capabilities(&gpu.adapter);
        if caps.formats.is_empty() {
            return Err(DisplayError::Device {
                label,
                reason: "the adapter opened for the first window cannot present to this one"
                    .to_string(),
            });
        }
        let Some(format) = FORMATS.into_iter().find(|f| caps.formats.contains(f)) else {
            return Err(DisplayError::NoFormat {
                label,
                formats: format!("{:?}", caps.formats),
            });
        };
        let alpha_mode = if caps.alpha_modes.contains(&wgpu::CompositeAlphaMode::Opaque) {
            wgpu::CompositeAlphaMode::Opaque
        } else {
            // The shader writes alpha 1 anyway.
            caps.alpha_modes
                .first()
                .copied()
                .unwrap_or(wgpu::CompositeAlphaMode::Auto)
        };
        let (width, height) = unpack_size(window_size.load(Ordering::Relaxed));
        let config = wgpu::SurfaceConfiguration {
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
            format,
            color_space: wgpu::SurfaceColorSpace::Auto,
            width: width.max(1),
            height: height.max(1),
            // Mailbox, where the driver offers it, shows the newest complete image at each
            // vblank without queueing; Fifo (always there) queues up to FRAME_LATENCY. Both
            // wait for the vblank: no tearing.
            present_mode: if caps.present_modes.contains(&wgpu::PresentMode::Mailbox) {
                wgpu::PresentMode::Mailbox
            } else {
                wgpu::PresentMode::Fifo
            },
            desired_maximum_frame_latency: FRAME_LATENCY,
            alpha_mode,
            view_formats: Vec::new(),
        };

        let device = &gpu.device;
        let limits = device.limits();
        let frame_len = target.mailbox.byte_len().div_ceil(4).max(1) as u64 * 4;
        let max = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        if frame_len > max {
            return Err(DisplayError::Target {
                label,
                reason: format!(
                    "a frame of {frame_len} bytes exceeds the device's storage buffer limit \
                     ({max} bytes)"
                ),
            });
        }
        let region_offset = match target.mode {
            Mode::Fullscreen => target.offset,
            Mode::Window => [0, 0],
        };
        let params = Params {
            offset: region_offset,
            size: target.size,
        };

        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        gpu.configure(&surface, &config);
        let frame = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("display frame"),
            size: frame_len,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let params_buf = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("display params"),
            size: std::mem::size_of::<Params>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        gpu.queue
            .write_buffer(&params_buf, 0, bytemuck::bytes_of(&params));
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("present"),
            layout: &gpu.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: params_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: frame.as_entire_binding(),
                },
            ],
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("present"),
            layout: Some(&gpu.pipeline_layout),
            vertex: wgpu::VertexState {
                module: &gpu.shader,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &gpu.shader,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(DisplayError::Pipeline {
                label,
                reason: e.to_string(),
            });
        }
        tracing::debug!(
            target_label = %label,
            ?format,
            ?alpha_mode,
            present_mode = ?config.present_mode,
            width,
            height,
            "display: surface configured"
        );
        Ok(Output {
            label,
            gpu: Arc::clone(gpu),
            window,
            surface,
            config,
            pipeline,
            bind_group,
            params: params_buf,
            gpu_binds: Vec::with_capacity(GPU_BINDS),
            current: None,
            frame,
            mailbox: Arc::clone(&target.mailbox),
            period,
            window_size,
            stale: false,
        })
    }

    /// The presenter thread: present each new frame once, redraw when the window asks,
    /// until the mailbox is closed or the presenter is stopped.
    pub(crate) fn run(mut self) {
        // A reopened window starts with the frame its predecessor showed.
        self.upload();
        // When the newest frame was taken, while it is not presented yet (the surface
        // timed out): tried again at the next wake-up.
        let mut pending: Option<Instant> = None;
        loop {
            let redraw = match self.mailbox.wait(self.period) {
                Wake::Stop => break,
                Wake::Frame => {
                    pending = Some(Instant::now());
                    self.upload();
                    false
                }
                Wake::Redraw => true,
                Wake::Timeout => false,
            };
            if pending.is_none() && !redraw {
                continue;
            }
            if self.draw() {
                match pending.take() {
                    Some(taken) => self.mailbox.record_present(true, taken.elapsed()),
                    None => self.mailbox.record_present(false, Duration::ZERO),
                }
            }
        }
        tracing::debug!(target_label = %self.label, "display: presenter stopped");
    }

    /// Make the mailbox's front frame the one to draw (no-op before the first frame): a
    /// frame published as bytes is uploaded into `frame`; one published on the GPU is drawn
    /// from its slot's buffer.
    fn upload(&mut self) {
        match self.mailbox.front_gpu() {
            Some(buffer) => {
                self.current = Some(self.bind_gpu(buffer));
            }
            None => {
                self.current = None;
                let (queue, frame) = (&self.gpu.queue, &self.frame);
                let _shared = self.gpu.submits.read().unwrap_or_else(|e| e.into_inner());
                self.mailbox
                    .with_front(|bytes| queue.write_buffer(frame, 0, bytes));
            }
        }
    }

    /// The `gpu_binds` entry for `buffer`, made on first use (a frame object's buffer is
    /// reused every time the renderer renders into it, so there are only a few).
    fn bind_gpu(&mut self, buffer: wgpu::Buffer) -> usize {
        if let Some(i) = self.gpu_binds.iter().position(|(b, _)| *b == buffer) {
            return i;
        }
        if self.gpu_binds.len() == GPU_BINDS {
            self.gpu_binds.remove(0);
        }
        let bind = self
            .gpu
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("present gpu frame"),
                layout: &self.gpu.layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: self.params.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: buffer.as_entire_binding(),
                    },
                ],
            });
        self.gpu_binds.push((buffer, bind));
        self.gpu_binds.len() - 1
    }

    fn configure(&mut self) {
        let (w, h) = unpack_size(self.window_size.load(Ordering::Relaxed));
        if w > 0 && h > 0 {
            self.config.width = w;
            self.config.height = h;
        }
        self.gpu.configure(&self.surface, &self.config);
        self.stale = false;
    }

    /// Draw the frame buffer to the window and present it; false if nothing was presented.
    fn draw(&mut self) -> bool {
        let (w, h) = unpack_size(self.window_size.load(Ordering::Relaxed));
        if self.stale || (w, h) != (self.config.width, self.config.height) {
            self.configure();
        }
        for _ in 0..3 {
            let texture = match self.surface.get_current_texture() {
                wgpu::CurrentSurfaceTexture::Success(t) => t,
                wgpu::CurrentSurfaceTexture::Suboptimal(t) => {
                    self.stale = true;
                    t
                }
                wgpu::CurrentSurfaceTexture::Timeout | wgpu::CurrentSurfaceTexture::Occluded => {
                    return false;
                }
                wgpu::CurrentSurfaceTexture::Outdated => {
                    self.configure();
                    continue;
                }
                wgpu::CurrentSurfaceTexture::Lost => {
                    tracing::warn!(target_label = %self.label, "display: surface lost, recreating it");
                    match self.gpu.instance.create_surface(Arc::clone(&self.window)) {
                        Ok(s) => self.surface = s,
                        Err(e) => {
                            tracing::warn!(target_label = %self.label, "display: {e}");
                            return false;
                        }
                    }
                    self.configure();
                    continue;
                }
                wgpu::CurrentSurfaceTexture::Validation => {
                    self.stale = true;
                    return false;
                }
            };
            let _shared = self.gpu.submits.read().unwrap_or_else(|e| e.into_inner());
            self.encode(&texture.texture);
            self.gpu.queue.present(texture);
            return true;
        }
        false
    }

    fn encode(&self, target: &wgpu::Texture) {
        let view = target.create_view(&wgpu::TextureViewDescriptor::default());
        let mut encoder = self
            .gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("present"),
            });
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("present"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                ..Default::default()
            });
            pass.set_pipeline(&self.pipeline);
            let bind = match self.current.and_then(|i| self.gpu_binds.get(i)) {
                Some((_, b)) => b,
                None => &self.bind_group,
            };
            pass.set_bind_group(0, bind, &[]);
            pass.draw(0..3, 0..1);
        }
        self.gpu.queue.submit([encoder.finish()]);
    }
}
