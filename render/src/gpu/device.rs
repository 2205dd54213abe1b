//! Adapter discovery and device setup.
//!
//! The instance honours `WGPU_BACKEND` (vulkan, gl, …): `Instance::default()` would not, so
//! it is built from `InstanceDescriptor::new_without_display_handle().with_env()`. Adapters
//! are matched by name here (`--adapter NAME`, a case-insensitive substring) rather than
//! through `WGPU_ADAPTER_NAME`, which panics inside wgpu when nothing matches. The device
//! gets the adapter's own limits (the downlevel defaults cap 2D textures at 2048) and no
//! optional features, so it opens on every adapter that has compute shaders.
//!
//! Validation errors are never allowed to panic: device creation and pipeline building run
//! inside error scopes ([`Gpu::scoped`]), and everything later is caught by the
//! uncaptured-error handler and handed to the renderer by [`Gpu::take_error`], as a
//! [`GpuError`] either way.

use crate::error::{GpuError, RenderError};
use std::sync::{Arc, Mutex};

/// What `ledwall info` shows about one adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSummary {
    /// Adapter name, e.g. "NVIDIA H100" or "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// Graphics API: vulkan, gl, metal, dx12.
    pub backend: String,
    /// Discrete, integrated, virtual, cpu or other.
    pub device_type: String,
    /// Driver name and version information.
    pub driver: String,
    /// A CPU implementation (lavapipe, llvmpipe, SwiftShader, WARP): correct but slow, so
    /// `auto` prefers the CPU backend over it.
    pub software: bool,
}

impl AdapterSummary {
    fn of(info: &wgpu::AdapterInfo) -> AdapterSummary {
        let device_type = match info.device_type {
            wgpu::DeviceType::DiscreteGpu => "discrete",
            wgpu::DeviceType::IntegratedGpu => "integrated",
            wgpu::DeviceType::VirtualGpu => "virtual",
            wgpu::DeviceType::Cpu => "cpu",
            wgpu::DeviceType::Other => "other",
        };
        let driver = [info.driver.as_str(), info.driver_info.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        AdapterSummary {
            name: info.name.clone(),
            backend: info.backend.to_str().to_string(),
            device_type: device_type.to_string(),
            driver,
            software: is_software(info),
        }
    }
}

/// Whether an adapter is a CPU implementation. The GL backend reports llvmpipe as
/// `Other`, so the name is checked too.
fn is_software(info: &wgpu::AdapterInfo) -> bool {
    if info.device_type == wgpu::DeviceType::Cpu {
        return true;
    }
    let name = info.name.to_lowercase();
    let driver = info.driver.to_lowercase();
    [
        "llvmpipe",
        "lavapipe",
        "softpipe",
        "swiftshader",
        "microsoft basic render",
    ]
    .iter()
    .any(|s| name.contains(s) || driver.contains(s))
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle().with_env())
}

fn backends() -> wgpu::Backends {
    wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all())
}

/// Every adapter wgpu can see (respecting `WGPU_BACKEND`), in wgpu's order.
pub fn adapters() -> Vec<AdapterSummary> {
    let instance = instance();
    pollster::block_on(instance.enumerate_adapters(backends()))
        .iter()
        .map(|a| AdapterSummary::of(&a.get_info()))
        .collect()
}

/// The adapter wgpu picks by default (high performance preference), if any.
pub fn default_adapter() -> Option<AdapterSummary> {
    let instance = instance();
    let options = wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        ..Default::default()
    };
    pollster::block_on(instance.request_adapter(&options))
        .ok()
        .map(|a| AdapterSummary::of(&a.get_info()))
}

/// An opened device and what it was opened on.
#[derive(Clone)]
pub struct Gpu {
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// The adapter it runs on.
    pub adapter: AdapterSummary,
    /// The device's limits (the adapter's).
    pub limits: wgpu::Limits,
    /// Errors nobody caught in a scope (and device losses), oldest first; the renderer
    /// drains them after each submission ([`Gpu::take_error`]) and reports them as
    /// [`RenderError::Gpu`].
    pub errors: Arc<Mutex<Vec<GpuError>>>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu")
            .field("adapter", &self.adapter)
            .finish_non_exhaustive()
    }
}

impl Gpu {
    /// Open a device. `adapter` selects by case-insensitive name substring; `None` takes
    /// wgpu's default (high performance) choice.
    pub fn open(adapter: Option<&str>) -> Result<Gpu, RenderError> {
        let instance = instance();
        let chosen = match adapter {
            Some(want) => {
                let want_l = want.to_lowercase();
                let all = pollster::block_on(instance.enumerate_adapters(backends()));
                let names: Vec<String> = all.iter().map(|a| a.get_info().name).collect();
                all.into_iter()
                    .find(|a| a.get_info().name.to_lowercase().contains(&want_l))
                    .ok_or_else(|| GpuError::NoMatchingAdapter {
                        wanted: want.to_string(),
                        adapters: names,
                    })?
            }
            None => {
                let options = wgpu::RequestAdapterOptions {
                    power_preference: wgpu::PowerPreference::HighPerformance,
                    ..Default::default()
                };
                pollster::block_on(instance.request_adapter(&options))
                    .map_err(|e| GpuError::NoAdapter(e.to_string()))?
            }
        };
        let info = chosen.get_info();
        let limits = chosen.limits();
        let desc = wgpu::DeviceDescriptor {
            label: Some("ledwall"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            ..Default::default()
        };
        let (device, queue) =
            pollster::block_on(chosen.request_device(&desc)).map_err(|e| GpuError::Device {
                adapter: info.name.clone(),
                reason: e.to_string(),
            })?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&errors);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock() {
                // Keep the first few: later ones are usually consequences.
                if v.len() < 8 {
                    v.push(classify(&e, None));
                }
            }
        }));
        let lost = Arc::clone(&errors);
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut v) = lost.lock() {
                v.push(GpuError::DeviceLost {
                    reason: format!("{reason:?}"),
                    message,
                });
            }
        });
        Ok(Gpu {
            device,
            queue,
            adapter: AdapterSummary::of(&info),
            limits,
            errors,
        })
    }

    /// A renderer's view of a device opened elsewhere on `adapter` (a display output's, so
    /// that frames go to the screen without leaving the GPU). The device must have been
    /// opened with the adapter's own limits. This installs the renderer's error capture on
    /// the device: errors nobody caught in a scope are reported by the renderer from then on.
    pub fn from_device(adapter: &wgpu::Adapter, device: wgpu::Device, queue: wgpu::Queue) -> Gpu {
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&errors);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock()
                && v.len() < 8
            {
                v.push(classify(&e, None));
            }
        }));
        let limits = device.limits();
        Gpu {
            device,
            queue,
            adapter: AdapterSummary::of(&adapter.get_info()),
            limits,
            errors,
        }
    }

    /// Take the errors reported since the last call: one as itself, several as
    /// [`GpuError::Several`].
    pub fn take_error(&self) -> Result<(), GpuError> {
        let mut v = match self.errors.lock() {
            Ok(v) => v,
            Err(p) => p.into_inner(),
        };
        match v.len() {
            0 => Ok(()),
            1 => Err(v.remove(0)),
            _ => Err(GpuError::Several(std::mem::take(&mut *v))),
        }
    }

    /// Run `f` inside a validation error scope and report what it raised, with `what` as
    /// its context.
    pub fn scoped<R>(&self, what: &str, f: impl FnOnce() -> R) -> Result<R, GpuError> {
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let r = f();
        match pollster::block_on(scope.pop()) {
            None => Ok(r),
            Some(e) => Err(classify(&e, Some(what))),
        }
    }
}

/// A wgpu error as a [`GpuError`] of its kind, raised while doing `context` (if known).
fn classify(e: &wgpu::Error, context: Option<&str>) -> GpuError {
    let context = context.map(str::to_string);
    let message = e.to_string();
    match e {
        wgpu::Error::OutOfMemory { .. } => GpuError::OutOfMemory { context, message },
        wgpu::Error::Validation { .. } => GpuError::Validation { context, message },
        wgpu::Error::Internal { .. } => GpuError::Internal { context, message },
    }
}
