//! Previews for content staff: what the wall will show, without the wall (`ledwall
//! preview`, design §11).
//!
//! Every preview image goes through the real pipeline: the playlist's [`Timeline`] picks
//! the scene of a display tick, the [`Deck`] decodes its frames, the wall's renderer turns
//! them into port buffers and the emulator ([`ledwall_render::emulate`]) turns those back
//! into the canvas the LEDs show. Quantization, dithering, brightness, calibration and the
//! module layout are therefore all visible, and a preview frame is exactly the `preview.png`
//! that `ledwall render` would write for the same tick.
//!
//! * [`sample_ticks`]: preview frame times → display ticks (the tick on screen at each time).
//! * [`look`]: emulated wall → picture: integer upscaling, or the LED look (round dots,
//!   dark gaps, module seams).
//! * [`anim`]: animated GIF and APNG writers.
//! * [`sheet`]: the contact sheet (one tile per item, first and middle frame, labelled).
//! * [`check`]: per-item findings for content staff (missing media, letterboxing, ...).
//! * [`report`]: the self-contained HTML report.
//! * [`text`]: labels in the built-in 3x5 font of [`crate::patterns`].
//! * [`brightness`]: the brightness schedule over the previewed span (lines, an SVG strip).

pub mod anim;
pub mod brightness;
pub mod check;
pub mod look;
pub mod report;
pub mod sheet;
pub mod text;

use crate::deck::Deck;
use crate::media::{LoadOptions, OpenOptions, Timing};
use crate::patterns::Canvas;
use crate::playlist::Playlist;
use crate::timeline::Timeline;
use ledwall_render::emulate::{self, EmulatedWall};
use ledwall_render::{AnyRenderer, BackendOptions, RenderError, Wall, WallFrame};

/// Media options for previewing on `wall`: its canvas (for patterns), its background
/// (for alpha) and the decode limits of `load` (whose background is replaced).
pub fn open_options(wall: &Wall, load: LoadOptions) -> OpenOptions {
    let mut opts = OpenOptions::new(Canvas::from_wall(wall));
    opts.load = LoadOptions {
        background: wall.color.background.map(|c| c.min(255) as u8),
        ..load
    };
    opts
}

/// Renders the ticks of one playlist on one wall and emulates what the wall shows.
pub struct Previewer {
    renderer: AnyRenderer,
    frame: WallFrame,
    deck: Deck,
    timeline: Timeline,
    backend: String,
}

impl std::fmt::Debug for Previewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Previewer")
            .field("backend", &self.backend)
            .field("timeline", &self.timeline)
            .finish_non_exhaustive()
    }
}

impl Previewer {
    /// A previewer of `playlist` on `wall`. `timings[i]` is item `i`'s media timing
    /// (`None`: it cannot be opened and is skipped, as the player skips it), as
    /// [`check::check_playlist`] or [`Deck::probe`] give them.
    pub fn new(
        wall: &Wall,
        playlist: &Playlist,
        opts: OpenOptions,
        backend: &BackendOptions,
        timings: &[Option<Timing>],
    ) -> Result<Previewer, RenderError> {
        let (renderer, why) = AnyRenderer::new(wall, backend)?;
        let frame = WallFrame::new(renderer.geometry());
        let deck = Deck::new(playlist, opts);
        let timeline = Timeline::new(playlist, wall.refresh_hz, timings, 0);
        Ok(Previewer {
            renderer,
            frame,
            deck,
            timeline,
            backend: why,
        })
    }

    /// The playlist's timeline (ticks from 0).
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// Which backend renders and why.
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// Set the runtime brightness level (0..=1 of the wall's own brightness) the next
    /// frames are rendered at, as the player does for its brightness schedule.
    pub fn set_brightness(&mut self, level: f64) {
        self.renderer.set_brightness(level as f32);
    }

    /// Render display tick `tick` and emulate what the wall shows. Media problems never
    /// fail this: the deck skips broken items and holds the last good frame, as the player
    /// does.
    pub fn render_tick(&mut self, tick: u64) -> Result<EmulatedWall, RenderError> {
        let ts = self.timeline.at(tick);
        self.deck.prepare(&ts);
        let scene = self.deck.scene(&ts);
        self.renderer.render_into(&scene, &mut self.frame)?;
        Ok(emulate::emulate(self.renderer.geometry(), &self.frame))
    }
}

/// Microseconds in a second: `--from`/`--to` are taken to the microsecond.
const US: u128 = 1_000_000;

/// The display ticks a preview at `fps` frames a second shows, from `from_s` up to (not
/// including) `to_s` seconds, on a wall refreshing at `hz`: preview frame `k` is at
/// `t = from + k / fps` and shows the tick on screen then, `floor(t · hz)`. At least one
/// frame. Exact integer arithmetic (times to the microsecond).
pub fn sample_ticks(from_s: f64, to_s: f64, fps: u32, hz: u32) -> Vec<u64> {
    let us = |s: f64| {
        if s.is_finite() && s > 0.0 {
            (s * 1e6).round() as u128
        } else {
            0
        }
    };
    let (from, to) = (us(from_s), us(to_s));
    let (fps, hz) = (fps.max(1) as u128, hz.max(1) as u128);
    // Frames k with from + k/fps < to: k < (to - from) · fps / 1e6.
    let n = (to.saturating_sub(from) * fps).div_ceil(US).max(1);
    (0..n)
        .map(|k| {
            let t_num = from * fps + k * US; // t = t_num / (US · fps) seconds
            ((t_num * hz) / (US * fps)).min(u64::MAX as u128) as u64
        })
        .collect()
}

/// GIF frame delays in centiseconds (the unit GIF has) for `n` frames at `fps`: frame `k`
/// lasts `round(100 (k+1) / fps) − round(100 k / fps)`, so the total never drifts from
/// `n / fps` seconds by more than half a centisecond.
pub fn gif_delays_cs(n: usize, fps: u32) -> Vec<u16> {
    let fps = fps.max(1) as u64;
    let at = |k: u64| (200 * k + fps) / (2 * fps);
    (0..n as u64)
        .map(|k| (at(k + 1) - at(k)).min(u16::MAX as u64) as u16)
        .collect()
}

/// Seconds as `M:SS.s` (`0:04.0`, `12:30.5`).
pub fn clock(seconds: f64) -> String {
    let tenths = (seconds.max(0.0) * 10.0).round() as u64;
    let (m, rest) = (tenths / 600, tenths % 600);
    format!("{m}:{:02}.{}", rest / 10, rest % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_the_ones_on_screen_at_each_preview_time() {
        // 10 fps on 60 Hz: every sixth tick.
        assert_eq!(
            sample_ticks(0.0, 1.0, 10, 60),
            (0..10).map(|k| k * 6).collect::<Vec<_>>()
        );
        // 25 fps on 60 Hz: t = k/25, tick floor(k · 2.4).
        assert_eq!(sample_ticks(0.0, 0.2, 25, 60), vec![0, 2, 4, 7, 9]);
        // An offset start; the end is exclusive.
        assert_eq!(sample_ticks(1.5, 2.0, 4, 60), vec![90, 105]);
        // At least one frame.
        assert_eq!(sample_ticks(3.0, 3.0, 10, 60), vec![180]);
        // A partial last frame counts.
        assert_eq!(sample_ticks(0.0, 0.25, 10, 50).len(), 3);
    }

    #[test]
    fn gif_delays_add_up_without_drift() {
        assert_eq!(gif_delays_cs(4, 10), vec![10; 4]);
        assert_eq!(gif_delays_cs(6, 30), vec![3, 4, 3, 3, 4, 3]);
        let d = gif_delays_cs(300, 30);
        assert_eq!(d.iter().map(|&x| x as u32).sum::<u32>(), 1000);
        assert_eq!(
            gif_delays_cs(7, 7).iter().map(|&x| x as u32).sum::<u32>(),
            100
        );
    }

    #[test]
    fn clock_format() {
        assert_eq!(clock(0.0), "0:00.0");
        assert_eq!(clock(4.25), "0:04.3");
        assert_eq!(clock(750.5), "12:30.5");
    }
}
