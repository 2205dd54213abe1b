//! The CPU backend: the six stages of design §1 on rayon. It is the reference the GPU
//! backend is held to and the fallback when no GPU is worth using.
//!
//! [`Renderer::render_into`] writes into caller-owned [`WallFrame`]s and, after the first
//! frame of a given source size, allocates nothing (see `tests/alloc.rs`). Run it from inside
//! [`Renderer::install_mut`] (the player's render thread will) so that rayon never has to inject
//! work from outside its pool, which would allocate queue blocks.

/// Samples of packed RGB that the per-sample kernels ([`multiversion!`] ones) take at a
/// time: 16 pixels, a whole number of periods of the 3-sample channel pattern and of the
/// 8-pixel (24-sample) dither row, and whole registers of f32 in both builds (three of
/// 512 bits, six of 256). Runs of 24 samples left the AVX-512 builds on 256-bit halves.
pub(crate) const RUN: usize = 48;

/// A per-sample pattern of period `N` (3 channels, 24 dither samples) laid over [`RUN`]
/// samples, so a kernel indexes it with the sample's place in the run.
#[inline(always)]
pub(crate) fn tile<T: Copy, const N: usize>(p: &[T; N]) -> [T; RUN] {
    std::array::from_fn(|j| p[j % N])
}

/// Float → u16, clamped to `0..=65535`, truncating: a plain conversion that vectorizes.
/// (`as u16` saturates, and LLVM turns saturating conversions in vector loops into scalar
/// code: measured 7x slower on the colour stage.) Add 0.5 first to round.
#[inline(always)]
#[allow(clippy::manual_clamp)] // `clamp` passes NaN through; max-then-min maps it to 0
pub(crate) fn to_u16(x: f32) -> u16 {
    // `max` returns the non-NaN operand, so NaN becomes 0; the result is finite and in range.
    let x = x.max(0.0).min(65535.0);
    // SAFETY: `x` is finite and within 0..=65535, which i32 represents exactly.
    unsafe { x.to_int_unchecked::<i32>() as u16 }
}

pub mod bands;
pub mod color;
pub mod compose;
pub mod linearize;
pub mod pack;
pub mod quantize;
pub mod resample;
pub mod simd;

use crate::cache::{CacheKey, LayerCache};
use crate::color::{Luts, clamp_level, gains_at};
use crate::error::RenderError;
use crate::frame::{Filter, Layer, MAX_LAYERS, PixelData, Scene, WallFrame};
use crate::geometry::Geometry;
use crate::place::{Rect, place};
use crate::stage::{Stage, StageTimes};
use crate::wall::{ColorSpec, ResampleMode, Wall};
use bands::Bands;
use rayon::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A sample the stages read: u8 or u16 code values, u16 linear light, or f32 (the rows the
/// 8-bit resampler filters horizontally before its vertical pass).
pub trait Sample: Copy + Send + Sync {
    /// As a LUT index.
    fn index(self) -> usize;
    /// As f32.
    fn f(self) -> f32;
    /// The samples as bytes, when they are u8 (the 8-bit kernels' input).
    fn as_u8(s: &[Self]) -> Option<&[u8]>;
}
macro_rules! impl_sample {
    ($($t:ty => $as_u8:expr),*) => {$(
        impl Sample for $t {
            #[inline(always)]
            fn index(self) -> usize {
                self as usize
            }
            #[inline(always)]
            fn f(self) -> f32 {
                self as f32
            }
            #[inline(always)]
            fn as_u8(s: &[Self]) -> Option<&[u8]> {
                $as_u8(s)
            }
        }
    )*};
}
impl_sample!(u8 => Some, u16 => |_| None, f32 => |_| None);

/// Resample plans kept (two crossfading videos plus headroom for a placement change).
const MAX_PLANS: usize = 4;

/// The inputs of compose + colour, for skipping them when a still frame repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ColorInputs {
    slots: [usize; MAX_LAYERS],
    keys: [Option<CacheKey>; MAX_LAYERS],
    weights: [u32; MAX_LAYERS],
}

/// The CPU renderer for one wall. Build once, render every frame.
pub struct Renderer {
    geometry: Arc<Geometry>,
    color: ColorSpec,
    luts: Luts,
    /// The runtime brightness level ([`Renderer::set_brightness`]), 0..=1.
    level: f32,
    /// The effective gains: white point × brightness × `level`.
    gains: [f32; 3],
    /// The background in linear light (before the gains).
    background: [u16; 3],
    pool: Arc<rayon::ThreadPool>,
    /// Resample plans of recent placements (coefficient tables + scratch), most recent last.
    plans: Vec<resample::Plan>,
    /// The layer canvases (linear light, the background outside the layer's rect), and
    /// which keyed still each holds.
    canvases: [Vec<u16>; MAX_LAYERS],
    cache: LayerCache,
    composed: Vec<u16>,
    colored: Vec<u16>,
    /// One quantized canvas buffer per distinct port depth.
    quantized: Vec<(u32, Vec<u16>)>,
    port_quant: Vec<usize>,
    /// Source byte → output code, for 1:1 RGBA8 video on a wall with one depth.
    codes: Option<color::CodeTable>,
    /// Whether `codes` was built for other gains (rebuilt, in place, when next used).
    codes_stale: bool,
    /// The pack fused into the direct paths' bands (walls with one depth).
    fused: Option<pack::Fused>,
    /// This frame's port buffers, for the fused pack (capacity: one per port).
    outs: Vec<pack::PortOut>,
    times: StageTimes,
    cache_hits: u64,
    /// What `colored` was computed from, when that was cached layers only.
    colored_from: Option<ColorInputs>,
}

impl Renderer {
    /// Compile the wall and allocate every canvas-sized buffer. Uses as many threads as
    /// rayon would by default.
    pub fn new(wall: &Wall) -> Result<Renderer, RenderError> {
        Renderer::with_threads(wall, 0)
    }

    /// Like [`Renderer::new`] with `threads` render threads (0 = one per core).
    pub fn with_threads(wall: &Wall, threads: usize) -> Result<Renderer, RenderError> {
        let geometry = Arc::new(Geometry::compile(wall));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("ledwall-cpu-{i}"))
            .build()
            .map(Arc::new)
            .map_err(|e| RenderError::ThreadPool(e.to_string()))?;
        // Start every worker now (each allocates its thread-local state once) so the
        // first frames measure rendering, not thread start-up.
        pool.broadcast(|_| ());
        let luts = Luts::new(&wall.color);
        let background = crate::dither::background_linear(&wall.color, &luts);
        let canvas = geometry.canvas_pixels() * 3;
        let buffer = geometry.buffer_pixels() * 3;
        let depths = geometry.depths();
        let port_quant = geometry
            .ports
            .iter()
            .map(|p| depths.iter().position(|&d| d == p.depth).unwrap_or(0))
            .collect();
        let gains = gains_at(&wall.color, 1.0);
        let codes = match depths[..] {
            [depth] => Some(color::CodeTable::new(
                &luts.lut8[..],
                gains,
                depth,
                wall.color.dither,
            )),
            _ => None,
        };
        let fused =
            (codes.is_some()).then(|| pack::Fused::new(&geometry, pool.current_num_threads() * 2));
        Ok(Renderer {
            color: wall.color.clone(),
            level: 1.0,
            gains,
            luts,
            background,
            pool,
            plans: Vec::with_capacity(MAX_PLANS),
            canvases: std::array::from_fn(|_| vec![0; canvas]),
            cache: LayerCache::default(),
            composed: vec![0; canvas],
            colored: vec![0; buffer],
            quantized: depths.into_iter().map(|d| (d, vec![0; buffer])).collect(),
            port_quant,
            codes,
            codes_stale: false,
            fused,
            outs: Vec::with_capacity(geometry.ports.len()),
            times: StageTimes::default(),
            cache_hits: 0,
            colored_from: None,
            geometry,
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
    /// `white_point[c] · brightness · level`. It is renderer state, not part of the wall,
    /// and stays in force across [`Renderer::set_color`]. It takes effect at the next
    /// [`Renderer::render_into`], cached stills included: what depends on the gains (the
    /// coloured canvas kept for a repeated still, the 1:1 code table, the background's
    /// code) is recomputed, the layer canvases (linear light before the gains) are kept.
    /// Setting gains equal to the current ones (the same level) invalidates nothing.
    /// Level 0 gives all-zero codes on every port, dithered or not. Allocates nothing, so
    /// a fade may call it before every frame.
    pub fn set_brightness(&mut self, level: f32) {
        self.level = clamp_level(level);
        self.set_gains(gains_at(&self.color, self.level));
    }

    /// The runtime brightness level last set (1 for a new renderer).
    pub fn brightness_level(&self) -> f32 {
        self.level
    }

    /// Replace the colour section while the geometry stays: `transfer`, `gamma`,
    /// `brightness`, `white_point`, `dither`, `background` and `resample` may change; the
    /// next frame's bytes are those of a renderer built with the new section (at the same
    /// brightness level, which multiplies the new `brightness`). A change of the transfer
    /// curve, the background or the resample mode drops the cached layer canvases; a
    /// change of the gains alone drops what [`Renderer::set_brightness`] drops.
    ///
    /// Refused, with nothing changed: another `bit_depth` ([`RenderError::BitDepthChange`]:
    /// it sizes the port buffers, build a new renderer) and invalid values
    /// ([`RenderError::ColorChange`], the wall file's checks). May allocate (new LUTs).
    pub fn set_color(&mut self, color: &ColorSpec) -> Result<(), RenderError> {
        let change = crate::color::check_change(&self.color, color)?;
        self.color = color.clone();
        if change.curve {
            self.luts = Luts::new(color);
        }
        let background = crate::dither::background_linear(color, &self.luts);
        if change.curve || change.resample || background != self.background {
            // Layer canvases hold linear light made with the curve, the resample mode and
            // (outside the layer's rect) the background.
            self.cache.clear();
            self.colored_from = None;
        }
        self.background = background;
        self.set_gains(gains_at(color, self.level));
        if change.curve || change.dither || self.codes_stale {
            self.rebuild_codes();
        }
        Ok(())
    }

    /// Take new effective gains: drop what was computed with the old ones, unless they are
    /// the same bits.
    fn set_gains(&mut self, gains: [f32; 3]) {
        if gains.map(f32::to_bits) == self.gains.map(f32::to_bits) {
            return;
        }
        self.gains = gains;
        // `colored` (and its background pixel) was coloured with the old gains.
        self.colored_from = None;
        self.codes_stale = self.codes.is_some();
    }

    /// Rebuild the 1:1 code table, in place, for the current LUT, gains and dither.
    fn rebuild_codes(&mut self) {
        if let (Some(codes), Some(&(depth, _))) = (&mut self.codes, self.quantized.first()) {
            codes.rebuild(&self.luts.lut8[..], self.gains, depth, self.color.dither);
        }
        self.codes_stale = false;
    }

    /// Time spent per stage in the last frame, indexed by [`Stage`].
    pub fn stage_times(&self) -> StageTimes {
        self.times
    }

    /// Frames whose layers all came from the still cache.
    pub fn cache_hits(&self) -> u64 {
        self.cache_hits
    }

    /// Run `f` on one of the renderer's threads. Rendering from inside allocates nothing
    /// per frame; from outside, rayon allocates a queue block every 63 frames.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }

    /// Like [`Renderer::install`], handing `f` the renderer itself: the way a render loop
    /// runs (`renderer.install_mut(|r| loop { r.render_into(..) })`).
    pub fn install_mut<R: Send>(&mut self, f: impl FnOnce(&mut Renderer) -> R + Send) -> R {
        let pool = Arc::clone(&self.pool);
        pool.install(|| f(self))
    }

    /// The fused pack's units: packed inside a band, and after the bands (tests).
    #[doc(hidden)]
    pub fn fused_units(&self) -> Option<(usize, usize)> {
        self.fused.as_ref().map(pack::Fused::units)
    }

    /// The quantized canvas buffer for `depth` from the last frame (tests, emulator checks).
    pub fn quantized(&self, depth: u32) -> Option<&[u16]> {
        self.quantized
            .iter()
            .find(|(d, _)| *d == depth)
            .map(|(_, q)| q.as_slice())
    }

    /// Render `scene` into `frame`: all six stages, every port.
    pub fn render_into(
        &mut self,
        scene: &Scene<'_>,
        frame: &mut WallFrame,
    ) -> Result<(), RenderError> {
        if !frame.matches(&self.geometry) {
            return Err(RenderError::FrameMismatch(
                "make it with WallFrame::new(renderer.geometry())".into(),
            ));
        }
        for layer in scene.layers.iter().flatten() {
            layer.source.check()?;
        }
        // From inside the pool this runs in place; from outside it is injected.
        let pool = Arc::clone(&self.pool);
        pool.install(|| self.render_stages(scene, frame))
    }

    fn render_stages(
        &mut self,
        scene: &Scene<'_>,
        frame: &mut WallFrame,
    ) -> Result<(), RenderError> {
        self.times = StageTimes::default();
        self.cache.begin_frame();
        if let Some(layer) = self.direct_layer(scene) {
            let th = crate::dither::thresholds(self.color.dither, scene.frame_number);
            if self.render_direct(layer, &th, scene, frame) {
                return Ok(());
            }
        }
        let mut used = [usize::MAX; MAX_LAYERS];
        let mut weights = [0f32; MAX_LAYERS];
        let mut hits = 0;
        let mut active = 0;
        for (li, layer) in scene.layers.iter().enumerate() {
            let Some(layer) = layer else { continue };
            if layer.weight <= 0.0 {
                continue;
            }
            let key = CacheKey::of(layer);
            let slot = self.cache.choose(key, li, &used[..active]);
            if slot.hit {
                hits += 1;
            } else {
                self.render_layer(layer, slot.index)?;
                self.cache.filled(slot.index, key);
            }
            let slot = slot.index;
            used[active] = slot;
            weights[active] = layer.weight.min(1.0);
            active += 1;
        }
        if active > 0 && hits == active {
            self.cache_hits += 1;
        }

        // Compose and colour depend only on the layer canvases and weights: when every
        // layer is a keyed still and nothing changed since the last frame,
        // `colored` already holds this frame's colours (only quantize and pack depend on
        // the frame number).
        let keyed = used[..active].iter().all(|&s| self.cache.key(s).is_some());
        let inputs = (active > 0 && keyed).then(|| ColorInputs {
            slots: used,
            keys: used.map(|s| (s < MAX_LAYERS).then(|| self.cache.key(s)).flatten()),
            weights: weights.map(f32::to_bits),
        });
        let th = crate::dither::thresholds(self.color.dither, scene.frame_number);
        // A frame whose colours will not be reused (video, crossfades) and that has one
        // output depth is coloured and quantized in one pass: each row is quantized while it
        // is still in cache, and `colored` is never written.
        let fuse = inputs.is_none() && self.quantized.len() == 1;
        if fuse {
            self.colored_from = None;
            self.compose_and_color(active, used, weights, Some(&th));
        } else {
            if inputs.is_none() || inputs != self.colored_from {
                self.colored_from = None;
                self.compose_and_color(active, used, weights, None);
                self.colored_from = inputs;
            }
            // Stage 5: quantize, once per output depth.
            let t = Instant::now();
            let width = self.geometry.width;
            for (depth, q) in &mut self.quantized {
                quantize::run(&self.colored, q, width, *depth, &th);
            }
            self.times[Stage::Quantize] = t.elapsed();
        }

        self.pack(scene, frame);
        Ok(())
    }

    /// Stage 6: pack every port from its depth's quantized buffer.
    fn pack(&mut self, scene: &Scene<'_>, frame: &mut WallFrame) {
        let t = Instant::now();
        self.pack_ports(frame, |_| true);
        frame.frame_number = scene.frame_number;
        self.times[Stage::Pack] = t.elapsed();
    }

    /// Pack the ports `which` selects (by index) from their depth's quantized buffer.
    fn pack_ports(&self, frame: &mut WallFrame, which: impl Fn(usize) -> bool) {
        let ports = self.geometry.ports.iter().zip(&mut frame.ports);
        for (i, ((port, buf), &qi)) in ports.zip(&self.port_quant).enumerate() {
            if which(i) {
                pack::port(port, &self.quantized[qi].1, &mut buf.bytes);
            }
        }
    }

    /// The one layer of a frame that can go straight from the source to the quantized
    /// buffer: a single unkeyed (video) layer at full weight that covers the whole canvas
    /// (1:1 or scaled), on a wall with one output depth. Nothing of it is kept for later
    /// frames, so no canvas needs writing.
    fn direct_layer<'s>(&self, scene: &'s Scene<'_>) -> Option<&'s Layer<'s>> {
        let mut layers = scene.layers.iter().flatten().filter(|l| l.weight > 0.0);
        let layer = layers.next()?;
        let (cw, ch) = (self.geometry.width, self.geometry.height);
        let place = place(layer.fit, layer.source.width, layer.source.height, cw, ch);
        let full = place.dst
            == Rect {
                x: 0,
                y: 0,
                w: cw,
                h: ch,
            };
        (layers.next().is_none()
            && self.quantized.len() == 1
            && layer.weight >= 1.0
            && layer.source.key.is_none()
            && full)
            .then_some(layer)
    }

    /// Stages 1, 2, 4, 5 and 6 fused for a [`Renderer::direct_layer`]: each canvas row is
    /// linearized (1:1) or resampled into the quantized buffer, coloured and quantized
    /// there in place while it is in cache, and the bit-plane groups whose rows are then
    /// complete are packed from the band's rows, also still in cache ([`pack::Fused`]).
    /// The arithmetic is that of the separate stages, so the bytes are the same. Time
    /// counts as colour's (1:1) or resample's (scaled), less pack's share: the groups
    /// packed after the bands, plus the in-band packing time divided by the threads.
    /// Returns false, having done nothing, when the scaled job has no plan for this path
    /// (fast mode needs RGBA8 and a source at least one filter window wide; the general
    /// path renders the others).
    fn render_direct(
        &mut self,
        layer: &Layer<'_>,
        th: &[[f32; 8]; 8],
        scene: &Scene<'_>,
        frame: &mut WallFrame,
    ) -> bool {
        let t = Instant::now();
        let (cw, ch) = (self.geometry.width, self.geometry.height);
        let src = &layer.source;
        let place = place(layer.fit, src.width, src.height, cw, ch);
        let fast = self.color.resample == ResampleMode::Fast;
        let plan = match place.one_to_one {
            Some(_) => None,
            None => Some(plan_index(
                &mut self.plans,
                (src.width, src.height, self.color.resample),
                place.crop,
                place.dst,
                layer.filter,
            )),
        };
        if place.one_to_one.is_some() {
            if self.codes_stale {
                self.rebuild_codes();
            }
            if let Some(codes) = &mut self.codes {
                codes.prepare(th);
            }
        }
        let g = &self.geometry;
        let Some((depth, q)) = self.quantized.first_mut() else {
            return false;
        };
        let (depth, w) = (*depth, cw as usize);
        let row_len = w * 3;
        let canvas_len = g.canvas_pixels() * 3;
        let (canvas, extra) = q.split_at_mut(canvas_len);
        let (gains, cal, spans) = (self.gains, &g.calibrations[..], &g.cal_spans[..]);
        // The extra pixels first: the fused pack may read them from the first row on.
        color::quantized_extra(self.background, gains, extra, depth);
        let extra = &*extra;
        let fused = self.fused.as_ref();
        let bands = fused.map(|f| *f.bands());
        self.outs.clear();
        self.outs.extend(
            frame
                .ports
                .iter_mut()
                .map(|b| pack::PortOut::new(&mut b.bytes)),
        );
        let outs = &self.outs[..];
        let packing = std::sync::atomic::AtomicU64::new(0);
        // After each row: the units it completes, from the band's rows so far.
        let finish = |first: usize, rows: &mut [u16]| {
            let Some(f) = fused else { return };
            let y = first + rows.len() / row_len - 1;
            let t = Instant::now();
            let q = pack::Codes::band(rows, first * row_len, canvas_len, extra);
            // SAFETY: `outs` are this frame's port buffers, which nothing else touches
            // until `f.rest` below; the bands are `f.bands()`, so row `y`'s units are packed
            // once, here, by the band that owns the row.
            if unsafe { f.row(y, &q, &g.ports, outs) } {
                let ns = t.elapsed().as_nanos() as u64;
                packing.fetch_add(ns, std::sync::atomic::Ordering::Relaxed);
            }
        };
        let each = |first: usize, rows: &mut [u16]| {
            let r = rows.len() / row_len - 1;
            color::row_quantized(
                first + r,
                &mut rows[r * row_len..],
                gains,
                cal,
                spans,
                depth,
                th,
            );
            finish(first, rows);
        };
        let stage = if let Some(plan) = plan {
            let (plan, sw) = (&mut self.plans[plan], src.width);
            let (lut8, lut16) = (&self.luts.lut8[..], &self.luts.lut16[..]);
            let src_row = src.width as usize * 4;
            let b = bands.as_ref();
            let done = match (fast, src.data) {
                (true, PixelData::Rgba8(d)) => {
                    resample::run_rgba8(plan, d, src_row, canvas, cw, lut8, b, each)
                }
                (true, PixelData::Rgba16(_)) => false,
                (false, PixelData::Rgba8(d)) => {
                    resample::run_linear(plan, d, sw, lut8, canvas, cw, b, each)
                }
                (false, PixelData::Rgba16(d)) => {
                    resample::run_linear(plan, d, sw, lut16, canvas, cw, b, each)
                }
            };
            if !done {
                return false;
            }
            Stage::Resample
        } else {
            let (sx, sy) = place.one_to_one.unwrap_or((0, 0));
            let origin = (sy as usize * src.width as usize + sx as usize) * 4;
            let bands = bands.unwrap_or_else(|| Bands::per_thread(ch as usize, &[]));
            // Rows without calibrated modules take one table lookup per sample when the
            // source is 8-bit; the others are linearized, then coloured and quantized.
            let table = |y: usize, s: &[u8], o: &mut [u16]| {
                self.codes
                    .as_ref()
                    .is_some_and(|c| !color::calibrated(y, w, spans) && c.row(s, o, y))
            };
            #[allow(clippy::too_many_arguments)]
            fn rows<T: Sample>(
                d: &[T],
                lut: &[u16],
                (origin, src_row, w): (usize, usize, usize),
                canvas: &mut [u16],
                bands: &Bands,
                table: impl Fn(usize, &[u8], &mut [u16]) -> bool + Sync,
                each: impl resample::Each,
                finish: impl resample::Each,
            ) {
                let kernel = linearize::Kernel::new(d, lut);
                let row_len = w * 3;
                let mut parts = bands.split(canvas, row_len);
                parts[..bands.len()]
                    .par_iter_mut()
                    .enumerate()
                    .for_each(|(band, rows)| {
                        let first = bands.start(band);
                        for r in 0..rows.len() / row_len {
                            let y = first + r;
                            let s = &d[origin + y * src_row..][..w * 4];
                            let o = &mut rows[r * row_len..(r + 1) * row_len];
                            if T::as_u8(s).is_some_and(|b| table(y, b, o)) {
                                finish(first, &mut rows[..(r + 1) * row_len]);
                            } else {
                                kernel.row(s, o);
                                each(first, &mut rows[..(r + 1) * row_len]);
                            }
                        }
                    });
            }
            let shape = (origin, src.width as usize * 4, w);
            let luts = (&self.luts.lut8[..], &self.luts.lut16[..]);
            match src.data {
                PixelData::Rgba8(d) => rows(d, luts.0, shape, canvas, &bands, table, each, finish),
                PixelData::Rgba16(d) => rows(d, luts.1, shape, canvas, &bands, table, each, finish),
            }
            Stage::Color
        };
        self.colored_from = None;
        // The units that span two bands, then the ports the units do not cover.
        let t_rest = Instant::now();
        if let Some(f) = fused {
            // SAFETY: every band has finished; `outs` are still this frame's buffers and
            // are not touched after this call.
            unsafe { f.rest(q, &g.ports, outs) };
        }
        self.pack_ports(frame, |i| !fused.is_some_and(|f| f.covers(i)));
        frame.frame_number = scene.frame_number;
        // One end time for both spans: a preemption between two readings would otherwise
        // give pack more than the whole and leave the fused stage at zero.
        let end = Instant::now();
        let total = end - t;
        let threads = rayon::current_num_threads().max(1) as u64;
        let in_band = Duration::from_nanos(packing.into_inner() / threads);
        let pack = (end - t_rest + in_band).min(total);
        self.times[stage] = total - pack;
        self.times[Stage::Pack] = pack;
        true
    }

    /// Stages 3 and 4: mix the layer canvases (or take the only one) and colour them into
    /// `colored`; with `quantize` thresholds, stage 5 too, fused into the colour pass and
    /// written to the (only) quantized buffer (the time counts as colour's).
    fn compose_and_color(
        &mut self,
        active: usize,
        used: [usize; MAX_LAYERS],
        weights: [f32; MAX_LAYERS],
        quantize: Option<&[[f32; 8]; 8]>,
    ) {
        // Stage 3: compose.
        let t = Instant::now();
        let input: &[u16] = match active {
            0 => {
                compose::fill(&mut self.composed, self.background);
                &self.composed
            }
            1 if weights[0] >= 1.0 => &self.canvases[used[0]],
            _ => {
                let a = &self.canvases[used[0]];
                let b = (active > 1).then(|| (self.canvases[used[1]].as_slice(), weights[1]));
                compose::mix(&mut self.composed, a, weights[0], b, self.background);
                &self.composed
            }
        };
        self.times[Stage::Compose] += t.elapsed();

        // Stage 4: colour.
        let t = Instant::now();
        let g = &self.geometry;
        match (quantize, self.quantized.first_mut()) {
            (Some(th), Some((depth, q))) => color::apply(
                input,
                q,
                g.width,
                self.gains,
                &g.calibrations,
                &g.cal_spans,
                self.background,
                Some((*depth, th)),
            ),
            _ => color::apply(
                input,
                &mut self.colored,
                g.width,
                self.gains,
                &g.calibrations,
                &g.cal_spans,
                self.background,
                None,
            ),
        }
        self.times[Stage::Color] = t.elapsed();
    }

    /// Stages 1 and 2 for one layer, into `self.canvases[slot]` (with the background
    /// outside the layer's rect).
    fn render_layer(&mut self, layer: &Layer<'_>, slot: usize) -> Result<(), RenderError> {
        let (cw, ch) = (self.geometry.width, self.geometry.height);
        let src = &layer.source;
        let (sw, sh) = (src.width, src.height);
        let place = place(layer.fit, sw, sh, cw, ch);
        let dst = place.dst;
        let canvas = &mut self.canvases[slot];

        let t = Instant::now();
        compose::fill_outside(canvas, cw, dst, self.background);
        self.times[Stage::Compose] += t.elapsed();

        let lut8: &[u16] = &self.luts.lut8[..];
        let lut16: &[u16] = &self.luts.lut16;
        if let Some((sx, sy)) = place.one_to_one {
            let t = Instant::now();
            let from = Rect {
                x: sx,
                y: sy,
                w: dst.w,
                h: dst.h,
            };
            match src.data {
                PixelData::Rgba8(d) => {
                    linearize::rect(d, sw, from, lut8, canvas, cw, (dst.x, dst.y))
                }
                PixelData::Rgba16(d) => {
                    linearize::rect(d, sw, from, lut16, canvas, cw, (dst.x, dst.y))
                }
            }
            self.times[Stage::Linearize] += t.elapsed();
            return Ok(());
        }
        let filter = layer.filter;
        let mode = self.color.resample;
        let t = Instant::now();
        let plan = plan_index(&mut self.plans, (sw, sh, mode), place.crop, dst, filter);
        let plan = &mut self.plans[plan];
        self.times[Stage::Resample] += t.elapsed();
        match self.color.resample {
            ResampleMode::Linear => {
                // Linearize (each source row the plan reads, once, into a ring) and
                // resample in one pass; the time counts as resample's.
                let t = Instant::now();
                match src.data {
                    PixelData::Rgba8(d) => {
                        resample::run_linear(plan, d, sw, lut8, canvas, cw, None, |_, _| {})
                    }
                    PixelData::Rgba16(d) => {
                        resample::run_linear(plan, d, sw, lut16, canvas, cw, None, |_, _| {})
                    }
                };
                self.times[Stage::Resample] += t.elapsed();
            }
            ResampleMode::Fast => {
                // Filter code values; the LUT is applied to each filtered value on the way
                // out (linearize fused into resample's last step).
                let t = Instant::now();
                let row = sw as usize * 4;
                match src.data {
                    PixelData::Rgba8(d) => resample::run(
                        plan,
                        d,
                        row,
                        (0, 0),
                        canvas,
                        cw,
                        resample::Output::Lut(lut8),
                    ),
                    PixelData::Rgba16(d) => resample::run(
                        plan,
                        d,
                        row,
                        (0, 0),
                        canvas,
                        cw,
                        resample::Output::Lut(lut16),
                    ),
                }
                self.times[Stage::Resample] += t.elapsed();
            }
        }
        Ok(())
    }
}

/// The index in `plans` of the plan for this job, built if it is new (then the most
/// recent, last; the oldest goes when [`MAX_PLANS`] are kept).
fn plan_index(
    plans: &mut Vec<resample::Plan>,
    (sw, sh, mode): (u32, u32, ResampleMode),
    crop: [f64; 4],
    dst: Rect,
    filter: Filter,
) -> usize {
    match plans
        .iter()
        .position(|p| p.matches(sw, sh, mode, crop, dst, filter))
    {
        Some(i) => {
            // Most recent last; rotating a short Vec moves no heap memory.
            plans[i..].rotate_left(1);
        }
        None => {
            if plans.len() == MAX_PLANS {
                plans.remove(0);
            }
            plans.push(resample::Plan::new(sw, sh, mode, crop, dst, filter));
        }
    }
    plans.len() - 1
}
