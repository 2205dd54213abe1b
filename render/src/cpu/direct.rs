//! The direct path: one video layer that covers the canvas goes from source rows to the
//! quantized buffer (stages 1, 2, 4, 5 and 6 fused, row by row while each row is in
//! cache), with no canvas written in between.

use super::bands::Bands;
use super::{Renderer, Sample, color, linearize, pack, plan_index, resample};
use crate::frame::{Layer, PixelData, Scene, WallFrame};
use crate::place::{Rect, place_on};
use crate::stage::Stage;
use crate::wall::ResampleMode;
use rayon::prelude::*;
use std::time::{Duration, Instant};

impl Renderer {
    /// The one layer of a frame that can go straight from the source to the quantized
    /// buffer: a single unkeyed (video) layer at full weight that covers the whole canvas
    /// (1:1 or scaled), on a wall with one output depth. Nothing of it is kept for later
    /// frames, so no canvas needs writing.
    pub(super) fn direct_layer<'s>(&self, scene: &'s Scene<'_>) -> Option<&'s Layer<'s>> {
        let mut layers = scene.layers.iter().flatten().filter(|l| l.weight > 0.0);
        let layer = layers.next()?;
        let (cw, ch) = (self.geometry.width, self.geometry.height);
        let section = &self.geometry.section;
        let place = place_on(layer.fit, layer.source.width, layer.source.height, section);
        let full = place.dst
            == Rect {
                x: 0,
                y: 0,
                w: cw,
                h: ch,
            };
        // Y'CbCr goes this way only where it is resampled (its rows converted into the
        // rings: linear light, or 8-bit codes in fast mode); 1:1 takes the general path,
        // whose conversion writes the canvas.
        let yuv_ok = match layer.source.data {
            PixelData::Yuv(img) => {
                place.one_to_one.is_none()
                    && (self.color.resample == ResampleMode::Linear || !img.layout.is_deep())
            }
            _ => true,
        };
        (layers.next().is_none()
            && yuv_ok
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
    /// (fast mode needs RGBA8 or 8-bit Y'CbCr and a source at least one filter window
    /// wide; the general path renders the others).
    pub(super) fn render_direct(
        &mut self,
        layer: &Layer<'_>,
        th: &[[f32; 8]; 8],
        scene: &Scene<'_>,
        frame: &mut WallFrame,
    ) -> bool {
        let t = Instant::now();
        let (cw, ch) = (self.geometry.width, self.geometry.height);
        let src = &layer.source;
        let place = place_on(layer.fit, src.width, src.height, &self.geometry.section);
        let fast = self.color.resample == ResampleMode::Fast;
        let plan = match place.one_to_one {
            Some(_) => None,
            None => Some(plan_index(
                &mut self.plans,
                (src.width, src.height, self.color.resample),
                &place,
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
        let Some((quant, q)) = self.quantized.first_mut() else {
            return false;
        };
        let (quant, w) = (
            super::Quantizer::new(*quant, self.encode.as_ref()),
            cw as usize,
        );
        let row_len = w * 3;
        let canvas_len = g.canvas_pixels() * 3;
        let (canvas, extra) = q.split_at_mut(canvas_len);
        let (gains, cal, spans) = (self.gains, &g.calibrations[..], &g.cal_spans[..]);
        // The extra pixels first: the fused pack may read them from the first row on.
        color::quantized_extra(self.background, gains, extra, quant);
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
                quant,
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
                (false, PixelData::Yuv(img)) => {
                    let rows = super::yuv::Rows::new(&img, sw, src.height);
                    let lut = if rows.deep() { lut16 } else { lut8 };
                    let rows = super::yuv::Linear::new(rows, lut);
                    resample::run_linear_rows(plan, &rows, canvas, cw, b, each)
                }
                (true, PixelData::Yuv(img)) => {
                    let rows = super::yuv::Rows::new(&img, sw, src.height);
                    !rows.deep() && {
                        let src = super::yuv::Rgba8(rows);
                        resample::run_rgba8_rows(plan, &src, canvas, cw, lut8, b, each)
                    }
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
                // Not chosen by `direct_layer`.
                PixelData::Yuv(_) => return false,
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
        frame.card_level = self.card_level;
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
}
