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
//! inside error scopes, and everything later is caught by the uncaptured-error handler and
//! turned into a [`RenderError::Gpu`] by the renderer.

use crate::error::RenderError;
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
    /// Errors nobody caught in a scope, oldest first; the renderer drains them after each
    /// submission and reports them as [`RenderError::Gpu`].
    pub errors: Arc<Mutex<Vec<String>>>,
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
                    .ok_or_else(|| {
                        RenderError::Gpu(format!(
                            "no adapter name contains {want:?}; adapters: {}",
                            if names.is_empty() {
                                "none".to_string()
                            } else {
                                names.join(", ")
                            }
                        ))
                    })?
            }
            None => {
                let options = wgpu::RequestAdapterOptions {
                    power_preference: wgpu::PowerPreference::HighPerformance,
                    ..Default::default()
                };
                pollster::block_on(instance.request_adapter(&options))
                    .map_err(|e| RenderError::Gpu(format!("no graphics adapter: {e}")))?
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
        let (device, queue) = pollster::block_on(chosen.request_device(&desc))
            .map_err(|e| RenderError::Gpu(format!("cannot open a device on {}: {e}", info.name)))?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&errors);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock() {
                // Keep the first few: later ones are usually consequences.
                if v.len() < 8 {
                    v.push(e.to_string());
                }
            }
        }));
        let lost = Arc::clone(&errors);
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut v) = lost.lock() {
                v.push(format!("device lost ({reason:?}): {message}"));
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

    /// Take the errors reported since the last call, as one [`RenderError`].
    pub fn take_error(&self) -> Result<(), RenderError> {
        let mut v = match self.errors.lock() {
            Ok(v) => v,
            Err(p) => p.into_inner(),
        };
        if v.is_empty() {
            return Ok(());
        }
        let msg = v.join("; ");
        v.clear();
        Err(RenderError::Gpu(msg))
    }

    /// Run `f` inside a validation error scope and report what it raised.
    pub fn scoped<R>(&self, what: &str, f: impl FnOnce() -> R) -> Result<R, RenderError> {
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let r = f();
        match pollster::block_on(scope.pop()) {
            None => Ok(r),
            Some(e) => Err(RenderError::Gpu(format!("{what}: {e}"))),
        }
    }
}
