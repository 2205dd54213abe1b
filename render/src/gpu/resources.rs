//! The GPU objects the other files build from: textures with their view ([`Tex`]), uniform
//! and storage buffers, the binding resources of both (whole or a range), writing a
//! texture from the CPU, and the check of a texture's size against the adapter's limit.

use super::device::Gpu;
use crate::error::GpuError;
use wgpu::util::DeviceExt;

/// Alignment of a row in a buffer ↔ texture copy.
pub(super) const ROW_ALIGN: u64 = wgpu::COPY_BYTES_PER_ROW_ALIGNMENT as u64;
/// The format of every canvas (layer, composed, coloured, quantized).
pub(super) const RGBA16: wgpu::TextureFormat = wgpu::TextureFormat::Rgba16Uint;

/// A 2D texture and its default view.
pub(super) struct Tex {
    pub(super) tex: wgpu::Texture,
    pub(super) view: wgpu::TextureView,
}

/// A `w` × `h` texture (at least 1 × 1) that shaders can read, write and copy.
pub(super) fn texture(gpu: &Gpu, label: &str, w: u32, h: u32, format: wgpu::TextureFormat) -> Tex {
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

/// Write `w` × `h` texels of `texel` bytes each, rows packed, into `t`.
pub(super) fn write_texture(gpu: &Gpu, t: &Tex, data: &[u8], texel: u32, w: u32, h: u32) {
    gpu.queue.write_texture(
        t.tex.as_image_copy(),
        data,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(w * texel),
            rows_per_image: Some(h),
        },
        extent(w, h),
    );
}

/// The size of a `w` × `h` copy.
pub(super) fn extent(w: u32, h: u32) -> wgpu::Extent3d {
    wgpu::Extent3d {
        width: w,
        height: h,
        depth_or_array_layers: 1,
    }
}

/// A uniform buffer holding `value` (rewritable).
pub(super) fn uniform<T: bytemuck::Pod>(gpu: &Gpu, label: &str, value: &T) -> wgpu::Buffer {
    gpu.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::bytes_of(value),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        })
}

/// A storage buffer holding `contents` (rewritable).
pub(super) fn storage(gpu: &Gpu, label: &str, contents: &[u8]) -> wgpu::Buffer {
    gpu.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        })
}

/// A texture as a binding.
pub(super) fn tex_res(t: &Tex) -> wgpu::BindingResource<'_> {
    wgpu::BindingResource::TextureView(&t.view)
}

/// A whole buffer as a binding.
pub(super) fn buf_res(b: &wgpu::Buffer) -> wgpu::BindingResource<'_> {
    b.as_entire_binding()
}

/// Entries `s..e` (u32 words) of `b` as a binding.
pub(super) fn range(b: &wgpu::Buffer, (s, e): (u64, u64)) -> wgpu::BindingResource<'_> {
    wgpu::BindingResource::Buffer(wgpu::BufferBinding {
        buffer: b,
        offset: s * 4,
        size: wgpu::BufferSize::new(((e - s) * 4).max(4).min(b.size() - s * 4)),
    })
}

/// Refuse a `w` × `h` texture when a side exceeds the adapter's `limit`.
pub(super) fn check_limit(what: &'static str, w: u32, h: u32, limit: u32) -> Result<(), GpuError> {
    if w > limit || h > limit {
        return Err(GpuError::Limit {
            what,
            width: w,
            height: h,
            limit,
        });
    }
    Ok(())
}
