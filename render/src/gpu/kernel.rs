//! What every compute kernel declares (shader, entry point, workgroup size, bindings), and
//! how a declaration becomes a bind group layout and a pipeline. The declarations are the
//! single source of truth: the pipelines are built from them, and a unit test holds every
//! WGSL file to them through naga (`tests` below), so a binding or workgroup size changed on
//! one side only fails the build's tests, not a frame on a wall.
//!
//! Each stage file declares its kernels by name ([`super::linearize::LINEARIZE`],
//! [`super::resample::VERTICAL`] ...); [`ALL`] lists them. A kernel's source is
//! `shaders/common.wgsl` (the structs, constants and helpers several shaders share) followed
//! by the stage's own shader, concatenated at compile time since WGSL has no `#include`; the
//! passes that read a source put `shaders/source_rgba.wgsl` or `source_yuv.wgsl` (its
//! bindings and `source_code`) in between.

use super::device::Gpu;
use super::{color, compose, linearize, pack, quantize, resample, yuv};
use crate::error::RenderError;

/// The kind of one binding (all in group 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bind {
    /// A uniform struct of this many bytes (`#[repr(C)]` Rust struct, checked against the
    /// WGSL struct's size).
    Uniform(u64),
    /// A read-only storage buffer.
    StorageRead,
    /// A read-write storage buffer.
    StorageWrite,
    /// A sampled 2D texture read with `textureLoad`, unsigned integer texels.
    TextureUint,
    /// A sampled 2D texture read with `textureLoad`, float texels (not filterable).
    TextureFloat,
    /// A write-only 2D storage texture of this format.
    StorageTexture(wgpu::TextureFormat),
}

/// One compute entry point and its bindings.
#[derive(Debug, Clone, Copy)]
pub struct Kernel {
    /// Label (stage and entry).
    pub label: &'static str,
    /// WGSL source: `shaders/common.wgsl` and the stage's shader.
    pub source: &'static str,
    /// Entry point name.
    pub entry: &'static str,
    /// `@workgroup_size` of the entry point.
    pub workgroup: [u32; 3],
    /// `(binding, kind)` in group 0, every binding the entry point uses.
    pub bindings: &'static [(u32, Bind)],
}

/// The 2D workgroup of the image stages.
pub const WG_2D: [u32; 3] = [16, 16, 1];

/// Workgroups to cover `w` × `h` invocations with [`WG_2D`].
pub fn groups_2d(w: u32, h: u32) -> (u32, u32) {
    (w.div_ceil(WG_2D[0]).max(1), h.div_ceil(WG_2D[1]).max(1))
}

impl Bind {
    fn ty(self) -> wgpu::BindingType {
        match self {
            Bind::Uniform(size) => wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: wgpu::BufferSize::new(size),
            },
            Bind::StorageRead | Bind::StorageWrite => wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage {
                    read_only: self == Bind::StorageRead,
                },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            Bind::TextureUint | Bind::TextureFloat => wgpu::BindingType::Texture {
                sample_type: if self == Bind::TextureUint {
                    wgpu::TextureSampleType::Uint
                } else {
                    wgpu::TextureSampleType::Float { filterable: false }
                },
                view_dimension: wgpu::TextureViewDimension::D2,
                multisampled: false,
            },
            Bind::StorageTexture(format) => wgpu::BindingType::StorageTexture {
                access: wgpu::StorageTextureAccess::WriteOnly,
                format,
                view_dimension: wgpu::TextureViewDimension::D2,
            },
        }
    }
}

/// A built kernel.
#[derive(Debug)]
pub struct Built {
    /// The declaration.
    pub kernel: Kernel,
    /// Its bind group layout (group 0).
    pub layout: wgpu::BindGroupLayout,
    /// Its pipeline.
    pub pipeline: wgpu::ComputePipeline,
}

impl Built {
    /// Compile `kernel` on `gpu`. Shader and pipeline errors come back as
    /// [`RenderError::Gpu`], with the kernel's label as their context.
    pub fn new(gpu: &Gpu, kernel: Kernel) -> Result<Built, RenderError> {
        let built = gpu.scoped(kernel.label, || {
            let device = &gpu.device;
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(kernel.label),
                source: wgpu::ShaderSource::Wgsl(kernel.source.into()),
            });
            let entries: Vec<wgpu::BindGroupLayoutEntry> = kernel
                .bindings
                .iter()
                .map(|&(binding, kind)| wgpu::BindGroupLayoutEntry {
                    binding,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: kind.ty(),
                    count: None,
                })
                .collect();
            let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some(kernel.label),
                entries: &entries,
            });
            let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(kernel.label),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
            let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(kernel.label),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(kernel.entry),
                compilation_options: Default::default(),
                cache: None,
            });
            Built {
                kernel,
                layout,
                pipeline,
            }
        })?;
        Ok(built)
    }

    /// A bind group of `resources`, one per declared binding, in the declaration's order.
    pub fn bind(&self, gpu: &Gpu, resources: &[wgpu::BindingResource<'_>]) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry<'_>> = self
            .kernel
            .bindings
            .iter()
            .zip(resources)
            .map(|(&(binding, _), resource)| wgpu::BindGroupEntry {
                binding,
                resource: resource.clone(),
            })
            .collect();
        gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(self.kernel.label),
            layout: &self.layout,
            entries: &entries,
        })
    }

    /// Record one dispatch of `groups` workgroups with `bind_group` (nothing for no
    /// workgroups: a source outside a section of the show has nothing to linearize).
    pub fn dispatch(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        bind_group: &wgpu::BindGroup,
        groups: (u32, u32),
    ) {
        if groups.0 == 0 || groups.1 == 0 {
            return;
        }
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, bind_group, &[]);
        pass.dispatch_workgroups(groups.0, groups.1, 1);
    }
}

/// Every kernel of the GPU backend, in pipeline order.
pub const ALL: [Kernel; 12] = [
    linearize::LINEARIZE,
    yuv::LINEARIZE_YUV,
    resample::VERTICAL,
    yuv::VERTICAL_YUV,
    resample::HORIZONTAL,
    compose::FILL,
    compose::MIX,
    color::COLOR,
    quantize::QUANTIZE,
    quantize::QUANTIZE_DISPLAY,
    pack::PACK,
    pack::PACK4,
];

#[cfg(test)]
mod tests {
    use super::*;
    use naga::{AddressSpace, ImageClass, ScalarKind, StorageAccess, TypeInner};

    fn check(kernel: &Kernel) -> Result<(), String> {
        let module = naga::front::wgsl::parse_str(kernel.source)
            .map_err(|e| e.emit_to_string(kernel.source))?;
        let info = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&module)
        .map_err(|e| format!("{e:?}"))?;
        let (ep_index, ep) = module
            .entry_points
            .iter()
            .enumerate()
            .find(|(_, e)| e.name == kernel.entry)
            .ok_or_else(|| format!("no entry point {}", kernel.entry))?;
        if ep.stage != naga::ShaderStage::Compute {
            return Err("not a compute entry point".into());
        }
        if ep.workgroup_size != kernel.workgroup {
            return Err(format!(
                "workgroup size {:?} in WGSL, {:?} in Rust",
                ep.workgroup_size, kernel.workgroup
            ));
        }
        let mut layouter = naga::proc::Layouter::default();
        layouter
            .update(module.to_ctx())
            .map_err(|e| format!("{e:?}"))?;
        let ep_info = info.get_entry_point(ep_index);
        let mut used = Vec::new();
        for (handle, var) in module.global_variables.iter() {
            let Some(binding) = &var.binding else {
                continue;
            };
            if ep_info[handle].is_empty() {
                continue;
            }
            if binding.group != 0 {
                return Err(format!("{:?} is not in group 0", var.name));
            }
            used.push(binding.binding);
            let Some(&(_, want)) = kernel.bindings.iter().find(|(b, _)| *b == binding.binding)
            else {
                return Err(format!(
                    "binding {} ({:?}) is used by the shader but not declared in Rust",
                    binding.binding, var.name
                ));
            };
            let ty = &module.types[var.ty].inner;
            let ok = match (want, var.space, ty) {
                (Bind::Uniform(size), AddressSpace::Uniform, _) => {
                    let wgsl = layouter[var.ty].size as u64;
                    if wgsl != size {
                        return Err(format!(
                            "uniform {:?}: {wgsl} bytes in WGSL, {size} in Rust",
                            var.name
                        ));
                    }
                    true
                }
                (Bind::StorageRead, AddressSpace::Storage { access }, _) => {
                    !access.contains(StorageAccess::STORE)
                }
                (Bind::StorageWrite, AddressSpace::Storage { access }, _) => {
                    access.contains(StorageAccess::STORE)
                }
                (
                    Bind::TextureUint,
                    AddressSpace::Handle,
                    TypeInner::Image {
                        class: ImageClass::Sampled { kind, multi: false },
                        ..
                    },
                ) => *kind == ScalarKind::Uint,
                (
                    Bind::TextureFloat,
                    AddressSpace::Handle,
                    TypeInner::Image {
                        class: ImageClass::Sampled { kind, multi: false },
                        ..
                    },
                ) => *kind == ScalarKind::Float,
                (
                    Bind::StorageTexture(format),
                    AddressSpace::Handle,
                    TypeInner::Image {
                        class: ImageClass::Storage { format: f, .. },
                        ..
                    },
                ) => {
                    let name = format!("{f:?}").to_lowercase();
                    let want = format!("{format:?}").to_lowercase();
                    name == want
                }
                _ => false,
            };
            if !ok {
                return Err(format!(
                    "binding {} ({:?}): WGSL {:?} {:?} does not match Rust {want:?}",
                    binding.binding, var.name, var.space, ty
                ));
            }
        }
        for (b, _) in kernel.bindings {
            if !used.contains(b) {
                return Err(format!(
                    "binding {b} is declared in Rust but unused by the entry point"
                ));
            }
        }
        Ok(())
    }

    #[test]
    fn every_shader_validates_and_matches_its_rust_declaration() {
        let mut failures = Vec::new();
        for k in &ALL {
            if let Err(e) = check(k) {
                failures.push(format!("{}: {e}", k.label));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn a_mismatch_is_caught() {
        // The check itself must be able to fail: a wrong workgroup size, a wrong uniform
        // size and a missing binding are each reported.
        let k = quantize::QUANTIZE;
        let wrong_wg = Kernel {
            workgroup: [8, 8, 1],
            ..k
        };
        assert!(check(&wrong_wg).unwrap_err().contains("workgroup"));
        let wrong_size: &'static [(u32, Bind)] = Box::leak(
            k.bindings
                .iter()
                .map(|&(b, kind)| match kind {
                    Bind::Uniform(s) => (b, Bind::Uniform(s + 16)),
                    other => (b, other),
                })
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        let e = check(&Kernel {
            bindings: wrong_size,
            ..k
        })
        .unwrap_err();
        assert!(e.contains("bytes"), "{e}");
        let missing = Kernel {
            bindings: &k.bindings[1..],
            ..k
        };
        assert!(check(&missing).unwrap_err().contains("not declared"));
    }

    #[test]
    fn every_kernel_is_listed_once_and_includes_the_common_file() {
        let common = include_str!("../../shaders/common.wgsl");
        for (i, k) in ALL.iter().enumerate() {
            assert!(
                k.source.starts_with(common),
                "{}: the source does not begin with shaders/common.wgsl",
                k.label
            );
            assert!(
                k.source.len() > common.len(),
                "{}: no shader after shaders/common.wgsl",
                k.label
            );
            let same = ALL[..i]
                .iter()
                .any(|o| o.source == k.source && o.entry == k.entry);
            assert!(!same, "{} is listed twice", k.label);
        }
    }
}
