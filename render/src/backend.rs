//! Backend choice (design §9): `cpu`, `gpu`, or `auto` — the GPU on a hardware adapter, the
//! CPU when the only adapter is a software one (lavapipe, llvmpipe) or there is none. A
//! software adapter computes the same frames, but on 2 cores it is slower than the CPU
//! backend (see `docs/PERFORMANCE.md`), so `auto` does not take it; `gpu` forces it.

use crate::cpu;
use crate::error::RenderError;
use crate::frame::{Scene, WallFrame};
use crate::geometry::Geometry;
use crate::gpu::{self, GpuOptions};
use crate::wall::{ColorSpec, Wall};
use std::sync::Arc;

/// Which backend to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// GPU on a hardware adapter, else CPU.
    #[default]
    Auto,
    /// The CPU backend (rayon).
    Cpu,
    /// The GPU backend on whatever adapter is chosen, software ones included.
    Gpu,
}

impl BackendChoice {
    /// Every choice.
    pub const ALL: [BackendChoice; 3] =
        [BackendChoice::Auto, BackendChoice::Cpu, BackendChoice::Gpu];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Cpu => "cpu",
            BackendChoice::Gpu => "gpu",
        }
    }

    /// Parse a command-line name.
    pub fn from_name(s: &str) -> Option<BackendChoice> {
        BackendChoice::ALL.into_iter().find(|b| b.name() == s)
    }
}

/// How to build a renderer.
#[derive(Debug, Clone, Default)]
pub struct BackendOptions {
    /// Which backend.
    pub choice: BackendChoice,
    /// Adapter name substring for the GPU backend.
    pub adapter: Option<String>,
    /// CPU render threads (0 = one per core).
    pub threads: usize,
}

/// The CPU backend's kernel level and what it uses on this machine (`ledwall info`).
pub fn cpu_kernels() -> String {
    crate::cpu::simd::describe()
}

/// The CPU features that choose the CPU backend's kernels, each with whether this machine
/// has it (all false off x86-64).
pub fn cpu_features() -> [(&'static str, bool); 9] {
    crate::cpu::simd::features().list()
}

/// What `auto` would pick and why, without building anything.
pub fn auto_choice(adapter: Option<&str>) -> (BackendChoice, String) {
    let summary = match adapter {
        Some(want) => {
            let want_l = want.to_lowercase();
            gpu::adapters()
                .into_iter()
                .find(|a| a.name.to_lowercase().contains(&want_l))
        }
        None => gpu::default_adapter(),
    };
    match summary {
        None => (BackendChoice::Cpu, "no graphics adapter".to_string()),
        Some(a) if a.software => (
            BackendChoice::Cpu,
            format!(
                "the only adapter, {} ({}), is a software renderer",
                a.name, a.backend
            ),
        ),
        Some(a) => (
            BackendChoice::Gpu,
            format!(
                "hardware adapter {} ({}, {})",
                a.name, a.backend, a.device_type
            ),
        ),
    }
}

/// A renderer of either backend.
pub enum AnyRenderer {
    /// The CPU backend.
    Cpu(Box<cpu::Renderer>),
    /// The GPU backend.
    Gpu(Box<gpu::Renderer>),
}

impl std::fmt::Debug for AnyRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AnyRenderer({})", self.name())
    }
}

impl AnyRenderer {
    /// Build the renderer `options` ask for. Returns it with a one-line reason for the
    /// choice (for logs and `ledwall info`).
    pub fn new(
        wall: &Wall,
        options: &BackendOptions,
    ) -> Result<(AnyRenderer, String), RenderError> {
        let gpu_options = GpuOptions {
            adapter: options.adapter.clone(),
            max_binding: None,
        };
        let choice = match options.choice {
            BackendChoice::Auto => auto_choice(options.adapter.as_deref()),
            c => (c, "asked for".to_string()),
        };
        match choice {
            (BackendChoice::Gpu, why) => {
                let r = gpu::Renderer::new(wall, &gpu_options)?;
                let why = format!(
                    "gpu on {} ({}): {why}",
                    r.adapter().name,
                    r.adapter().backend
                );
                Ok((AnyRenderer::Gpu(Box::new(r)), why))
            }
            (_, why) => Ok((
                AnyRenderer::Cpu(Box::new(cpu::Renderer::with_threads(
                    wall,
                    options.threads,
                )?)),
                format!("cpu: {why}"),
            )),
        }
    }

    /// `"cpu"` or `"gpu"`.
    pub fn name(&self) -> &'static str {
        match self {
            AnyRenderer::Cpu(_) => "cpu",
            AnyRenderer::Gpu(_) => "gpu",
        }
    }

    /// The compiled geometry.
    pub fn geometry(&self) -> &Arc<Geometry> {
        match self {
            AnyRenderer::Cpu(r) => r.geometry(),
            AnyRenderer::Gpu(r) => r.geometry(),
        }
    }

    /// Render one frame and wait for it.
    pub fn render_into(
        &mut self,
        scene: &Scene<'_>,
        frame: &mut WallFrame,
    ) -> Result<(), RenderError> {
        match self {
            AnyRenderer::Cpu(r) => r.render_into(scene, frame),
            AnyRenderer::Gpu(r) => r.render_into(scene, frame),
        }
    }

    /// Set the runtime brightness level, `0..=1` of the colour section's `brightness`
    /// (see [`cpu::Renderer::set_brightness`]); the next frame uses it. Allocates nothing
    /// on the CPU backend.
    pub fn set_brightness(&mut self, level: f32) {
        match self {
            AnyRenderer::Cpu(r) => r.set_brightness(level),
            AnyRenderer::Gpu(r) => r.set_brightness(level),
        }
    }

    /// The runtime brightness level last set (1 for a new renderer).
    pub fn brightness_level(&self) -> f32 {
        match self {
            AnyRenderer::Cpu(r) => r.brightness_level(),
            AnyRenderer::Gpu(r) => r.brightness_level(),
        }
    }

    /// Replace the colour section, the geometry unchanged (see
    /// [`cpu::Renderer::set_color`]): a new `bit_depth` is refused with
    /// [`RenderError::BitDepthChange`] and needs a new renderer.
    pub fn set_color(&mut self, color: &ColorSpec) -> Result<(), RenderError> {
        match self {
            AnyRenderer::Cpu(r) => r.set_color(color),
            AnyRenderer::Gpu(r) => r.set_color(color),
        }
    }

    /// Per-stage times of the last frame (see each backend's `stage_times`).
    pub fn stage_times(&self) -> crate::stage::StageTimes {
        match self {
            AnyRenderer::Cpu(r) => r.stage_times(),
            AnyRenderer::Gpu(r) => r.stage_times(),
        }
    }

    /// Run a render loop where rendering allocates nothing per frame: for the CPU backend on
    /// one of its own pool's threads ([`cpu::Renderer::install_mut`]), for the GPU backend on
    /// the calling thread. `f` gets the renderer as a [`RenderFrame`].
    pub fn install_mut<R: Send>(&mut self, f: impl FnOnce(&mut dyn RenderFrame) -> R + Send) -> R {
        match self {
            AnyRenderer::Cpu(r) => r.install_mut(|r| f(r)),
            AnyRenderer::Gpu(r) => f(r.as_mut()),
        }
    }
}

/// The calls a render loop makes, for either backend (see [`AnyRenderer::install_mut`]):
/// render a frame, and change the colours between frames without rebuilding the renderer.
/// A test double that wraps a renderer forwards all three.
pub trait RenderFrame {
    /// Render `scene` into `frame` and wait for it.
    fn render_into(&mut self, scene: &Scene<'_>, frame: &mut WallFrame) -> Result<(), RenderError>;

    /// Set the runtime brightness level (`0..=1`, a multiplier of the colour section's
    /// `brightness`; see [`cpu::Renderer::set_brightness`]). The next frame uses it; a fade
    /// may call it before every frame.
    fn set_brightness(&mut self, level: f32);

    /// Replace the colour section, the geometry unchanged (see
    /// [`cpu::Renderer::set_color`]). A new `bit_depth` is refused
    /// ([`RenderError::BitDepthChange`]).
    fn set_color(&mut self, color: &ColorSpec) -> Result<(), RenderError>;

    /// Leave dimming to the hardware (see [`cpu::Renderer::set_external_dimming`]).
    fn set_external_dimming(&mut self, on: bool);
}

impl RenderFrame for cpu::Renderer {
    fn render_into(&mut self, scene: &Scene<'_>, frame: &mut WallFrame) -> Result<(), RenderError> {
        cpu::Renderer::render_into(self, scene, frame)
    }
    fn set_brightness(&mut self, level: f32) {
        cpu::Renderer::set_brightness(self, level)
    }
    fn set_color(&mut self, color: &ColorSpec) -> Result<(), RenderError> {
        cpu::Renderer::set_color(self, color)
    }
    fn set_external_dimming(&mut self, on: bool) {
        cpu::Renderer::set_external_dimming(self, on)
    }
}

impl RenderFrame for gpu::Renderer {
    fn render_into(&mut self, scene: &Scene<'_>, frame: &mut WallFrame) -> Result<(), RenderError> {
        gpu::Renderer::render_into(self, scene, frame)
    }
    fn set_brightness(&mut self, level: f32) {
        gpu::Renderer::set_brightness(self, level)
    }
    fn set_color(&mut self, color: &ColorSpec) -> Result<(), RenderError> {
        gpu::Renderer::set_color(self, color)
    }
    fn set_external_dimming(&mut self, on: bool) {
        gpu::Renderer::set_external_dimming(self, on)
    }
}

impl RenderFrame for AnyRenderer {
    fn render_into(&mut self, scene: &Scene<'_>, frame: &mut WallFrame) -> Result<(), RenderError> {
        AnyRenderer::render_into(self, scene, frame)
    }
    fn set_brightness(&mut self, level: f32) {
        AnyRenderer::set_brightness(self, level)
    }
    fn set_color(&mut self, color: &ColorSpec) -> Result<(), RenderError> {
        AnyRenderer::set_color(self, color)
    }
    fn set_external_dimming(&mut self, on: bool) {
        match self {
            AnyRenderer::Cpu(r) => r.set_external_dimming(on),
            AnyRenderer::Gpu(r) => r.set_external_dimming(on),
        }
    }
}
