//! Per source placement: the GPU resources that depend on a source's size, sample depth, fit,
//! filter and (Y'CbCr) layout, matrix and range ([`PlanKey`]) but not on its pixels: the
//! source texture (or plane textures and the conversion uniform), the background fill
//! outside its rect, and either a 1:1 linearize or the resample passes with their
//! coefficient tables ([`Plan`]). Built at a placement's first use and kept in [`Plans`], a
//! small least-recently-used cache of its own ([`MAX_PLANS`]: two crossfading videos plus
//! headroom), apart from the layer canvases' still cache.

use super::Renderer;
use super::build::Kernels;
use super::kernel::{Built, groups_2d};
use super::resources::{
    RGBA16, ROW_ALIGN, Tex, buf_res, check_limit, storage, tex_res, texture, uniform,
};
use super::yuv::{Upload, YuvKey};
use super::{compose, linearize, resample, yuv};
use crate::error::GpuError;
use crate::frame::{Filter, Fit, Layer, MAX_LAYERS};
use crate::place::{Placement, place_on};
use crate::wall::ResampleMode;

/// Source placements kept (two crossfading videos plus headroom).
const MAX_PLANS: usize = 4;

/// What a placement's resources depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PlanKey {
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) deep: bool,
    pub(super) fit: Fit,
    pub(super) filter: Filter,
    /// A Y'CbCr source's layout, matrix and range (`None`: RGBA).
    pub(super) yuv: Option<YuvKey>,
}

impl PlanKey {
    /// The placement of `layer`.
    pub(super) fn of(layer: &Layer<'_>) -> PlanKey {
        let src = &layer.source;
        PlanKey {
            width: src.width,
            height: src.height,
            deep: src.data.is_deep(),
            fit: layer.fit,
            filter: layer.filter,
            yuv: YuvKey::of(&src.data),
        }
    }
}

/// How a placement fills its rect of the layer canvas.
pub(super) enum Work {
    /// 1:1: linearize the source rect straight into the layer canvas.
    Copy {
        /// Per layer slot.
        bind: [wgpu::BindGroup; MAX_LAYERS],
        groups: (u32, u32),
    },
    /// Scaled: (linear mode) linearize the read region, then the two resample passes.
    Scaled {
        linearize: Option<(wgpu::BindGroup, (u32, u32))>,
        vertical: wgpu::BindGroup,
        vgroups: (u32, u32),
        /// Per layer slot.
        horizontal: [wgpu::BindGroup; MAX_LAYERS],
        hgroups: (u32, u32),
        _keep: Vec<Tex>,
    },
}

/// The GPU resources of one source placement.
pub(super) struct Plan {
    pub(super) key: PlanKey,
    /// The source texture (RGBA), or the plane textures (Y'CbCr: Y, then Cb and Cr or
    /// CbCr), written from the upload ring every frame the layer renders.
    pub(super) uploads: Vec<Upload>,
    /// The background outside the rect, per layer slot (`None`: the rect is the canvas).
    pub(super) fill: Option<[wgpu::BindGroup; MAX_LAYERS]>,
    pub(super) work: Work,
    last_used: u64,
    _buffers: Vec<wgpu::Buffer>,
}

impl Plan {
    /// Bytes of the source in the upload buffer (padded rows, planes aligned).
    pub(super) fn upload_len(&self) -> u64 {
        self.uploads.iter().map(Upload::len).sum()
    }

    /// The linearize kernel of its bind groups: for RGBA or for Y'CbCr planes.
    pub(super) fn linearize<'k>(&self, k: &'k Kernels) -> &'k Built {
        if self.key.yuv.is_some() {
            &k.linearize_yuv
        } else {
            &k.linearize
        }
    }

    /// The vertical resample kernel of its bind group: the Y'CbCr one when it reads the
    /// planes (fast mode), the plain one when it reads RGBA or a linearized region.
    pub(super) fn vertical<'k>(&self, k: &'k Kernels) -> &'k Built {
        match &self.work {
            Work::Scaled {
                linearize: None, ..
            } if self.key.yuv.is_some() => &k.vertical_yuv,
            _ => &k.vertical,
        }
    }
}

/// The placements kept, least recently used replaced first.
pub(super) struct Plans {
    plans: Vec<Plan>,
    /// Advanced once per frame ([`Plans::begin_frame`]).
    clock: u64,
}

impl Plans {
    /// None yet.
    pub(super) fn new() -> Plans {
        Plans {
            plans: Vec::with_capacity(MAX_PLANS),
            clock: 0,
        }
    }

    /// Start a frame: plans used from now on count as used by it.
    pub(super) fn begin_frame(&mut self) {
        self.clock += 1;
    }

    /// Plan `i`.
    pub(super) fn get(&self, i: usize) -> &Plan {
        &self.plans[i]
    }

    /// The plan of `key`, if kept (marked used by this frame).
    fn find(&mut self, key: PlanKey) -> Option<usize> {
        let i = self.plans.iter().position(|p| p.key == key)?;
        self.plans[i].last_used = self.clock;
        Some(i)
    }

    /// Keep `plan` (used by this frame), in place of the least recently used plan that
    /// this frame does not use when [`MAX_PLANS`] are kept.
    fn insert(&mut self, mut plan: Plan) -> Result<usize, GpuError> {
        plan.last_used = self.clock;
        if self.plans.len() == MAX_PLANS {
            let (i, _) = self
                .plans
                .iter()
                .enumerate()
                .filter(|(_, p)| p.last_used != self.clock)
                .min_by_key(|(_, p)| p.last_used)
                .ok_or(GpuError::NoPlanSlot)?;
            self.plans[i] = plan;
            return Ok(i);
        }
        self.plans.push(plan);
        Ok(self.plans.len() - 1)
    }

    /// Drop every plan (their fill uniforms hold the old background, their resample
    /// passes the old mode).
    pub(super) fn clear(&mut self) {
        self.plans.clear();
    }
}

impl Renderer {
    /// The plan for `key`, building its resources when it is new.
    pub(super) fn plan(&mut self, key: PlanKey) -> Result<usize, GpuError> {
        if let Some(i) = self.plans.find(key) {
            return Ok(i);
        }
        let plan = self
            .gpu
            .scoped("GPU resources for a source", || self.build_plan(key))??;
        self.plans.insert(plan)
    }

    /// The resources of placement `key` on this renderer's canvas.
    fn build_plan(&self, key: PlanKey) -> Result<Plan, GpuError> {
        let gpu = &self.gpu;
        let (k, res) = (&self.k, &self.res);
        let canvases = &res.layers.canvases;
        let (cw, ch) = (self.geometry.width, self.geometry.height);
        let limit = gpu.limits.max_texture_dimension_2d;
        check_limit("the source", key.width, key.height, limit)?;
        let uploads = match key.yuv {
            Some(y) => yuv::planes(gpu, y.layout, key.width, key.height),
            None => {
                let bpp: u64 = if key.deep { 8 } else { 4 };
                let format = if key.deep {
                    wgpu::TextureFormat::Rgba16Uint
                } else {
                    wgpu::TextureFormat::Rgba8Uint
                };
                let row = key.width as u64 * bpp;
                vec![Upload {
                    tex: texture(gpu, "source", key.width, key.height, format),
                    width: key.width,
                    height: key.height,
                    row,
                    row_padded: row.next_multiple_of(ROW_ALIGN),
                    at: 0,
                }]
            }
        };
        let src = &uploads[0].tex;
        // A Y'CbCr source's chroma planes and conversion uniform, bound after the kernels'
        // own bindings (Cr is CbCr again when interleaved: bound, not read).
        let yuv_params = key
            .yuv
            .map(|y| uniform(gpu, "yuv", &yuv::Params::new(y, key.width, key.height)));
        let extra: Vec<wgpu::BindingResource<'_>> = match &yuv_params {
            Some(u) => vec![
                tex_res(&uploads[1].tex),
                tex_res(&uploads[uploads.len() - 1].tex),
                buf_res(u),
            ],
            None => Vec::new(),
        };
        let (k_lin, k_vert) = if key.yuv.is_some() {
            (&k.linearize_yuv, &k.vertical_yuv)
        } else {
            (&k.linearize, &k.vertical)
        };
        let bind_with = |kernel: &Built, first: [wgpu::BindingResource<'_>; 4]| {
            let all: Vec<_> = first.into_iter().chain(extra.iter().cloned()).collect();
            kernel.bind(gpu, &all)
        };
        let lut = if key.deep { &res.lut16 } else { &res.lut8 };
        let lut_max = if key.deep { 65535 } else { 255 };
        let p: Placement = place_on(key.fit, key.width, key.height, &self.geometry.section);
        let dst = p.dst;
        let mut buffers = Vec::new();
        let fill = if dst.x == 0 && dst.y == 0 && dst.w == cw && dst.h == ch {
            None
        } else {
            let rect = [dst.x, dst.y, dst.w, dst.h];
            let params = uniform(
                gpu,
                "fill",
                &compose::Params::new(cw, ch, rect, self.background),
            );
            let bind = std::array::from_fn(|s| {
                k.fill.bind(gpu, &[buf_res(&params), tex_res(&canvases[s])])
            });
            buffers.push(params);
            Some(bind)
        };
        let lin_bind = |params: &wgpu::Buffer, out: &Tex| {
            bind_with(
                k_lin,
                [buf_res(params), tex_res(src), buf_res(lut), tex_res(out)],
            )
        };
        let work = if p.is_empty() {
            // The source lies outside this section of the show: the fill (over the whole
            // canvas, the rect being empty) is all there is; a linearize of nothing stands
            // in for the work.
            let params = uniform(
                gpu,
                "linearize",
                &linearize::Params {
                    src_origin: [0, 0],
                    dst_origin: [0, 0],
                    size: [0, 0],
                    pad: [0; 2],
                },
            );
            let bind = std::array::from_fn(|s| lin_bind(&params, &canvases[s]));
            buffers.push(params);
            Work::Copy {
                bind,
                groups: (0, 0),
            }
        } else if let Some((sx, sy)) = p.one_to_one {
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
            let bind = std::array::from_fn(|s| lin_bind(&params, &canvases[s]));
            buffers.push(params);
            Work::Copy {
                bind,
                groups: groups_2d(dst.w, dst.h),
            }
        } else {
            let fast = self.color.resample == ResampleMode::Fast;
            let plan = crate::filter::Tables::windowed(
                key.width, key.height, p.crop, dst, p.span, key.filter,
            );
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
            let read: &Tex = keep.first().unwrap_or(src);
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
            // Fast mode reads the source itself, linear mode the linearized region (an
            // RGBA16 canvas: the plain kernel).
            let read_res = [
                buf_res(&params_buf),
                tex_res(read),
                buf_res(&tables),
                tex_res(&mid),
            ];
            let vertical = if fast {
                bind_with(k_vert, read_res)
            } else {
                k.vertical.bind(gpu, &read_res)
            };
            let horizontal = std::array::from_fn(|s| {
                k.horizontal.bind(
                    gpu,
                    &[
                        buf_res(&params_buf),
                        buf_res(&tables),
                        tex_res(&mid),
                        buf_res(lut),
                        tex_res(&canvases[s]),
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
        buffers.extend(yuv_params);
        Ok(Plan {
            key,
            uploads,
            fill,
            work,
            last_used: 0,
            _buffers: buffers,
        })
    }
}
