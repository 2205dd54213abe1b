//! The CPU backend: the six stages of design §1 on rayon. It is the reference the GPU
//! backend is held to and the fallback when no GPU is worth using.
//!
//! [`Renderer::render_into`] writes into caller-owned [`WallFrame`]s and, after the first
//! frame of a given source size, allocates nothing (see `tests/alloc.rs`). Run it from inside
//! [`Renderer::install_mut`] (the player's render thread will) so that rayon never has to inject
//! work from outside its pool, which would allocate queue blocks.
//!
//! # Files
//!
//! * `mod.rs`: [`Renderer`]: construction, runtime colour, the frame's route (the direct
//!   path, or the separate stages with the still cache), quantize and pack of the general
//!   path.
//! * `direct.rs`: the direct path (one video layer covering the canvas: stages 1, 2, 4, 5
//!   and 6 fused row by row). `stages.rs`: the general path's per-layer stages 1 and 2,
//!   compose + colour, and the resample plans kept.
//! * One file or folder per stage: `linearize.rs`, `resample/`, `compose.rs`, `color.rs`,
//!   `quantize.rs`, `pack/`; `bands.rs` splits canvas rows into per-thread bands.
//! * `simd.rs`: CPU features, detected once; the level tokens every kernel choice goes
//!   through; `multiversion!`. `sample.rs`: what the per-sample kernels share.
//!
//! What the GPU backend computes the same way (placement, resample tables, dither
//! thresholds, the background's code, stage names, the still cache's bookkeeping) lives
//! outside this module, in `crate::{place, filter, dither, stage, cache}`.

mod direct;
mod sample;
mod stages;
pub(crate) mod yuv;

pub mod bands;
pub mod color;
pub mod compose;
pub mod linearize;
pub mod pack;
pub mod quantize;
pub mod resample;
pub mod simd;

use crate::cache::{CacheKey, FrameSlots, LayerCache};
use crate::color::{EncodeLut, Luts, clamp_level, gains_split};
use crate::error::RenderError;
use crate::frame::{MAX_LAYERS, Scene, WallFrame};
use crate::geometry::{Geometry, Quant};
use crate::stage::{Stage, StageTimes};
use crate::wall::{ColorSpec, Encoding, Wall};
use quantize::Quantizer;
pub use sample::Sample;
pub(crate) use sample::{RUN, tile, to_u16};
use stages::plan_index;
use std::sync::Arc;
use std::time::Instant;

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
    /// Linear → display code, when a port is a display-encoded `canvas` port.
    encode: Option<EncodeLut>,
    /// The runtime brightness level ([`Renderer::set_brightness`]), 0..=1.
    level: f32,
    /// The effective gains: white point × brightness × `level` (white point only with
    /// external dimming).
    gains: [f32; 3],
    /// Dimming is left to the hardware ([`Renderer::set_external_dimming`]).
    external_dim: bool,
    /// The level left to the hardware, written into each frame.
    card_level: f32,
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
    /// One quantized canvas buffer per distinct port quantization.
    quantized: Vec<(Quant, Vec<u16>)>,
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
    /// Y'CbCr sources converted to RGBA codes for the fast mode's float resampler (10-bit
    /// layouts, and 8-bit sources narrower than a filter window; the fixed-point one
    /// converts rows as it reads them), sized at first use and reused.
    yuv_rgba8: Vec<u8>,
    yuv_rgba16: Vec<u16>,
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
        let quants = geometry.quants();
        let port_quant = geometry
            .ports
            .iter()
            .map(|p| quants.iter().position(|&q| q == p.quant()).unwrap_or(0))
            .collect();
        let encode = quants
            .iter()
            .any(|q| q.encoding == Encoding::Display)
            .then(|| EncodeLut::new(&wall.color));
        let (gains, card_level) = gains_split(&wall.color, 1.0, false);
        let codes = match quants[..] {
            [quant] => Some(color::CodeTable::new(
                &luts.lut8[..],
                gains,
                Quantizer::new(quant, encode.as_ref()),
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
            external_dim: false,
            card_level,
            luts,
            encode,
            background,
            pool,
            plans: Vec::with_capacity(stages::MAX_PLANS),
            canvases: std::array::from_fn(|_| vec![0; canvas]),
            cache: LayerCache::default(),
            composed: vec![0; canvas],
            colored: vec![0; buffer],
            quantized: quants.into_iter().map(|q| (q, vec![0; buffer])).collect(),
            port_quant,
            codes,
            codes_stale: false,
            fused,
            outs: Vec::with_capacity(geometry.ports.len()),
            times: StageTimes::default(),
            cache_hits: 0,
            colored_from: None,
            yuv_rgba8: Vec::new(),
            yuv_rgba16: Vec::new(),
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
        self.update_gains();
    }

    /// Leave dimming to the hardware (receiving cards that dim themselves, `dim=card`): the
    /// pipeline keeps only the white point, so pixels stay at full level and keep their
    /// grey levels, and each frame's `card_level` carries the colour section's `brightness`
    /// × the runtime level for the sink to send. Off (the default): the pipeline dims and
    /// `card_level` is 1.
    pub fn set_external_dimming(&mut self, on: bool) {
        self.external_dim = on;
        self.update_gains();
    }

    fn update_gains(&mut self) {
        let (gains, card_level) = gains_split(&self.color, self.level, self.external_dim);
        self.card_level = card_level;
        self.set_gains(gains);
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
            if self.encode.is_some() {
                self.encode = Some(EncodeLut::new(color));
            }
        }
        let background = crate::dither::background_linear(color, &self.luts);
        if change.curve || change.resample || background != self.background {
            // Layer canvases hold linear light made with the curve, the resample mode and
            // (outside the layer's rect) the background.
            self.cache.clear();
            self.colored_from = None;
        }
        self.background = background;
        self.update_gains();
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
        if let (Some(codes), Some(&(quant, _))) = (&mut self.codes, self.quantized.first()) {
            let quant = Quantizer::new(quant, self.encode.as_ref());
            codes.rebuild(&self.luts.lut8[..], self.gains, quant, self.color.dither);
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

    /// The linear quantized canvas buffer for `depth` from the last frame (tests,
    /// emulator checks).
    pub fn quantized(&self, depth: u32) -> Option<&[u16]> {
        self.quantized_as(Quant::linear(depth))
    }

    /// The quantized canvas buffer for `quant` from the last frame.
    pub fn quantized_as(&self, quant: Quant) -> Option<&[u16]> {
        self.quantized
            .iter()
            .find(|(q, _)| *q == quant)
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
            let th = crate::dither::thresholds_at(
                self.color.dither,
                scene.frame_number,
                self.geometry.section.origin,
            );
            if self.render_direct(layer, &th, scene, frame) {
                return Ok(());
            }
        }
        // The layer canvases: cached stills are kept, the others rendered into their slot.
        let mut cache = std::mem::take(&mut self.cache);
        let placed = cache.place_layers(scene, |_, layer, slot| self.render_layer(layer, slot));
        self.cache = cache;
        let placed = placed?;
        if placed.all_cached() {
            self.cache_hits += 1;
        }
        let FrameSlots {
            used,
            weights,
            active,
            ..
        } = placed;

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
        let th = crate::dither::thresholds_at(
            self.color.dither,
            scene.frame_number,
            self.geometry.section.origin,
        );
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
            let encode = self.encode.as_ref();
            for (quant, q) in &mut self.quantized {
                let quant = Quantizer::new(*quant, encode);
                quantize::run(&self.colored, q, width, quant, &th);
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
        frame.card_level = self.card_level;
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
}
