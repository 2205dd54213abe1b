//! The separate stages of the general path: each layer linearized and resampled into its
//! cached canvas (stages 1 and 2), then composed and coloured (3 and 4); and the choice of
//! the resample plan for a placement.

use super::{Renderer, color, compose, linearize, resample, yuv};
use crate::error::RenderError;
use crate::frame::{Filter, Layer, MAX_LAYERS, PixelData};
use crate::place::{Placement, Rect, place_on};
use crate::stage::Stage;
use crate::wall::ResampleMode;
use std::time::Instant;

/// Resample plans kept (two crossfading videos plus headroom for a placement change).
pub(super) const MAX_PLANS: usize = 4;

impl Renderer {
    /// Stages 3 and 4: mix the layer canvases (or take the only one) and colour them into
    /// `colored`; with `quantize` thresholds, stage 5 too, fused into the colour pass and
    /// written to the (only) quantized buffer (the time counts as colour's).
    pub(super) fn compose_and_color(
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
            (Some(th), Some((quant, q))) => color::apply(
                input,
                q,
                g.width,
                self.gains,
                &g.calibrations,
                &g.cal_spans,
                self.background,
                Some((super::Quantizer::new(*quant, self.encode.as_ref()), th)),
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
    pub(super) fn render_layer(
        &mut self,
        layer: &Layer<'_>,
        slot: usize,
    ) -> Result<(), RenderError> {
        let cw = self.geometry.width;
        let src = &layer.source;
        let (sw, sh) = (src.width, src.height);
        let place = place_on(layer.fit, sw, sh, &self.geometry.section);
        let dst = place.dst;
        let canvas = &mut self.canvases[slot];

        let t = Instant::now();
        if place.is_empty() {
            // The source lies outside this section of the show: background only.
            compose::fill(canvas, self.background);
            self.times[Stage::Compose] += t.elapsed();
            return Ok(());
        }
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
                PixelData::Yuv(img) => {
                    let rows = yuv::Rows::new(&img, sw, sh);
                    let lut = if rows.deep() { lut16 } else { lut8 };
                    yuv::rect(&rows, from, lut, canvas, cw, (dst.x, dst.y))
                }
            }
            self.times[Stage::Linearize] += t.elapsed();
            return Ok(());
        }
        let filter = layer.filter;
        let mode = self.color.resample;
        let t = Instant::now();
        let plan = plan_index(&mut self.plans, (sw, sh, mode), &place, filter);
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
                    PixelData::Yuv(img) => {
                        // Each source row the ring needs, converted straight to linear.
                        let rows = yuv::Rows::new(&img, sw, sh);
                        let lut = if rows.deep() { lut16 } else { lut8 };
                        let rows = yuv::Linear::new(rows, lut);
                        resample::run_linear_rows(plan, &rows, canvas, cw, None, |_, _| {})
                    }
                };
                self.times[Stage::Resample] += t.elapsed();
            }
            ResampleMode::Fast => {
                // Filter code values; the LUT is applied to each filtered value on the way
                // out (linearize fused into resample's last step).
                let t = Instant::now();
                let row = sw as usize * 4;
                let (yuv8, yuv16) = (&mut self.yuv_rgba8, &mut self.yuv_rgba16);
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
                    PixelData::Yuv(img) => 'yuv: {
                        let rows = yuv::Rows::new(&img, sw, sh);
                        // 8-bit: the fixed-point resampler converts each source row its
                        // rings need, as it needs it.
                        if !rows.deep() {
                            let src = yuv::Rgba8(rows);
                            let none = |_: usize, _: &mut [u16]| {};
                            if resample::run_rgba8_rows(plan, &src, canvas, cw, lut8, None, none) {
                                break 'yuv;
                            }
                        }
                        // The float resampler (10-bit codes, sources narrower than a
                        // filter window) reads several rows per output row: the picture is
                        // converted to RGBA codes first, into a buffer the renderer keeps.
                        yuv::convert_all(&rows, yuv8, yuv16);
                        if rows.deep() {
                            let d = &yuv16[..sw as usize * sh as usize * 4];
                            let out = resample::Output::Lut(lut16);
                            resample::run(plan, d, row, (0, 0), canvas, cw, out)
                        } else {
                            let d = &yuv8[..sw as usize * sh as usize * 4];
                            let out = resample::Output::Lut(lut8);
                            resample::run(plan, d, row, (0, 0), canvas, cw, out)
                        }
                    }
                }
                self.times[Stage::Resample] += t.elapsed();
            }
        }
        Ok(())
    }
}

/// The index in `plans` of the plan for this job (`place` not empty), built if it is new
/// (then the most recent, last; the oldest goes when [`MAX_PLANS`] are kept).
pub(super) fn plan_index(
    plans: &mut Vec<resample::Plan>,
    (sw, sh, mode): (u32, u32, ResampleMode),
    place: &Placement,
    filter: Filter,
) -> usize {
    let Placement {
        crop, dst, span, ..
    } = *place;
    match plans
        .iter()
        .position(|p| p.matches_span(sw, sh, mode, crop, dst, span, filter))
    {
        Some(i) => {
            // Most recent last; rotating a short Vec moves no heap memory.
            plans[i..].rotate_left(1);
        }
        None => {
            if plans.len() == MAX_PLANS {
                plans.remove(0);
            }
            plans.push(resample::Plan::windowed(
                sw, sh, mode, crop, dst, span, filter,
            ));
        }
    }
    plans.len() - 1
}
