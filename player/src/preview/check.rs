//! What content staff should know about a playlist before it reaches the wall: every item
//! is opened (and its first frame decoded) the way the player opens it, laid out on the
//! wall's timeline, and checked:
//!
//! * **missing** or **broken** media (the player skips such items);
//! * items the player **skips** because their length is unknown;
//! * **letterboxed** or **cropped** by the fit mode, with the percentage, from the same
//!   placement the renderer uses ([`ledwall_render::place::place`]); **stretched**
//!   when `stretch` changes the aspect ratio;
//! * items **shorter than their transition** (the crossfade is cut to the item's length);
//! * media whose resolution is **far below the canvas** (under half on either axis).
//!
//! Test patterns are drawn at canvas size and are never letterboxed or low resolution.

use crate::deck::error_chain;
use crate::media::{self, Frame, MediaKind, MediaRef, OpenOptions, Time, Timing};
use crate::playlist::{Item, Playlist, Transition};
use crate::timeline::{Placed, Timeline};
use ledwall_render::Fit;
use ledwall_render::place::place;

/// Below this fraction of the canvas on either axis, media counts as low resolution.
pub const LOW_RES_FRACTION: f64 = 0.5;
/// Letterboxing, cropping and aspect changes smaller than this (percent) are not reported.
pub const MIN_REPORTED_PERCENT: f64 = 1.0;

/// What kind of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningKind {
    /// The file does not exist.
    Missing,
    /// The media cannot be opened or decoded.
    Broken,
    /// The player skips the item (its length is unknown).
    Skipped,
    /// Fit leaves bars of background on the canvas.
    Letterboxed,
    /// Fit cuts part of the picture off.
    Cropped,
    /// `stretch` changes the aspect ratio.
    Stretched,
    /// The crossfade is longer than the item.
    ShorterThanTransition,
    /// Under half the canvas on either axis.
    LowResolution,
}

impl WarningKind {
    /// A short name (CSS class, summaries).
    pub fn name(self) -> &'static str {
        match self {
            WarningKind::Missing => "missing",
            WarningKind::Broken => "broken",
            WarningKind::Skipped => "skipped",
            WarningKind::Letterboxed => "letterboxed",
            WarningKind::Cropped => "cropped",
            WarningKind::Stretched => "stretched",
            WarningKind::ShorterThanTransition => "short",
            WarningKind::LowResolution => "low-resolution",
        }
    }

    /// Whether the item does not play at all.
    pub fn is_fatal(self) -> bool {
        matches!(
            self,
            WarningKind::Missing | WarningKind::Broken | WarningKind::Skipped
        )
    }
}

/// One finding about one item.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    /// What kind.
    pub kind: WarningKind,
    /// A sentence for content staff.
    pub text: String,
}

/// One item, opened and laid out.
#[derive(Debug, Clone)]
pub struct ItemCheck {
    /// Index into [`Playlist::items`].
    pub item: usize,
    /// Index in the file's `items` array (`items[N]`).
    pub file_index: usize,
    /// `source` as written in the playlist.
    pub source: String,
    /// The kind of media, when it opened.
    pub kind: Option<MediaKind>,
    /// Its frame size, when it opened.
    pub size: Option<(u32, u32)>,
    /// Its timing, when it opened.
    pub timing: Option<Timing>,
    /// Where it plays; `None`: it does not play.
    pub placed: Option<Placed>,
    /// The findings.
    pub warnings: Vec<Warning>,
}

impl ItemCheck {
    /// Whether the item plays.
    pub fn plays(&self) -> bool {
        self.placed.is_some()
    }
}

/// A playlist, checked item by item, with its timeline.
#[derive(Debug, Clone)]
pub struct PlaylistCheck {
    /// One per playlist item, in order.
    pub items: Vec<ItemCheck>,
    /// The timeline the player lays out (ticks from 0).
    pub timeline: Timeline,
}

impl PlaylistCheck {
    /// Each item's timing (`None`: it cannot be opened), as [`Timeline::new`] takes them.
    pub fn timings(&self) -> Vec<Option<Timing>> {
        self.items.iter().map(|c| c.timing.clone()).collect()
    }

    /// Every finding, with the item it is about.
    pub fn warnings(&self) -> impl Iterator<Item = (&ItemCheck, &Warning)> {
        self.items
            .iter()
            .flat_map(|c| c.warnings.iter().map(move |w| (c, w)))
    }

    /// Seconds in one pass of the playlist.
    pub fn pass_seconds(&self) -> f64 {
        self.timeline.cycle_ticks() as f64 / self.timeline.hz().max(1) as f64
    }
}

/// The options the player opens `item` with (see [`crate::deck::Deck`]).
pub fn item_options(opts: &OpenOptions, item: &Item) -> OpenOptions {
    let mut o = opts.clone();
    o.start = item.start;
    if let Some(fps) = item.fps {
        o.fps = fps;
    }
    if let Some(bg) = item.background {
        o.load.background = bg;
    }
    o
}

/// Open every item of `playlist` (decoding its first frame), lay the playlist out at `hz`
/// and check every item on the canvas of `opts`. Never fails: problems are findings.
pub fn check_playlist(playlist: &Playlist, opts: &OpenOptions, hz: u32) -> PlaylistCheck {
    let mut items: Vec<ItemCheck> = playlist
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| open_item(i, item, opts))
        .collect();
    let timings: Vec<Option<Timing>> = items.iter().map(|c| c.timing.clone()).collect();
    let timeline = Timeline::new(playlist, hz, &timings, 0);
    for p in timeline.placed() {
        if let Some(c) = items.get_mut(p.item) {
            c.placed = Some(p.clone());
        }
    }
    let (cw, ch) = (opts.canvas.width, opts.canvas.height);
    for (c, item) in items.iter_mut().zip(&playlist.items) {
        if c.timing.is_some() && c.placed.is_none() {
            c.warnings.push(Warning {
                kind: WarningKind::Skipped,
                text: "skipped: its length is unknown (a video without a frame count); \
                       give it a duration"
                    .into(),
            });
        }
        if let (Some(p), Transition::Crossfade { duration }) = (&c.placed, item.transition) {
            let fade = Time::from_secs_f64(duration).round_ticks(hz);
            if fade > p.ticks {
                c.warnings.push(Warning {
                    kind: WarningKind::ShorterThanTransition,
                    text: format!(
                        "shorter than its transition: the crossfade of {} s is cut to the \
                         item's {} s, so it is never shown on its own",
                        trim(duration),
                        trim(p.ticks as f64 / hz.max(1) as f64)
                    ),
                });
            }
        }
        if let (Some(size), Some(kind)) = (c.size, c.kind)
            && kind != MediaKind::Pattern
        {
            c.warnings
                .extend(placement_warnings(item.fit, size, (cw, ch)));
        }
    }
    PlaylistCheck { items, timeline }
}

fn open_item(i: usize, item: &Item, opts: &OpenOptions) -> ItemCheck {
    let mut c = ItemCheck {
        item: i,
        file_index: item.index,
        source: item.source.clone(),
        kind: None,
        size: None,
        timing: None,
        placed: None,
        warnings: Vec::new(),
    };
    let broken = |e: &media::MediaError| {
        let missing = matches!(&item.media, MediaRef::File(p) if !p.exists());
        if missing {
            Warning {
                kind: WarningKind::Missing,
                text: format!(
                    "missing: {} does not exist; the player skips this item",
                    item.media.display()
                ),
            }
        } else {
            Warning {
                kind: WarningKind::Broken,
                text: format!("broken: {}; the player skips this item", error_chain(e)),
            }
        }
    };
    let mut source = match media::open(&item.media, &item_options(opts, item)) {
        Ok(s) => s,
        Err(e) => {
            c.warnings.push(broken(&e));
            return c;
        }
    };
    let info = source.info().clone();
    let name = std::path::PathBuf::from(&info.name);
    let mut frame = Frame::new();
    if let Err(e) = media::guarded(&name, || source.read_frame(0, &mut frame)) {
        c.warnings.push(broken(&e));
        return c;
    }
    c.kind = Some(info.kind);
    c.size = Some((info.width, info.height));
    c.timing = Some(info.timing);
    c
}

/// Letterboxing, cropping, stretching and low resolution of a `size` picture placed on a
/// `canvas` with `fit`.
pub fn placement_warnings(fit: Fit, size: (u32, u32), canvas: (u32, u32)) -> Vec<Warning> {
    let mut out = Vec::new();
    let ((sw, sh), (cw, ch)) = (size, canvas);
    if sw == 0 || sh == 0 || cw == 0 || ch == 0 {
        return out;
    }
    let p = place(fit, sw, sh, cw, ch);
    let canvas_area = cw as f64 * ch as f64;
    let bars = 100.0 * (1.0 - (p.dst.w as f64 * p.dst.h as f64) / canvas_area);
    let cut = 100.0 * (1.0 - (p.crop[2] * p.crop[3]) / (sw as f64 * sh as f64));
    let fit_name = fit.name();
    if bars >= MIN_REPORTED_PERCENT {
        out.push(Warning {
            kind: WarningKind::Letterboxed,
            text: format!(
                "letterboxed by fit \"{fit_name}\": {bars:.1}% of the canvas shows the \
                 background ({sw}x{sh} fills {}x{} of {cw}x{ch})",
                p.dst.w, p.dst.h
            ),
        });
    }
    if cut >= MIN_REPORTED_PERCENT {
        out.push(Warning {
            kind: WarningKind::Cropped,
            text: format!(
                "cropped by fit \"{fit_name}\": {cut:.1}% of the picture is cut off \
                 ({:.0}x{:.0} of {sw}x{sh} is shown)",
                p.crop[2], p.crop[3]
            ),
        });
    }
    if fit == Fit::Stretch {
        let change = 100.0 * ((cw as f64 / ch as f64) / (sw as f64 / sh as f64) - 1.0).abs();
        if change >= MIN_REPORTED_PERCENT {
            out.push(Warning {
                kind: WarningKind::Stretched,
                text: format!(
                    "stretched by fit \"stretch\": the aspect ratio changes by {change:.1}% \
                     ({sw}x{sh} onto {cw}x{ch})"
                ),
            });
        }
    }
    let (fw, fh) = (sw as f64 / cw as f64, sh as f64 / ch as f64);
    if fw < LOW_RES_FRACTION || fh < LOW_RES_FRACTION {
        out.push(Warning {
            kind: WarningKind::LowResolution,
            text: format!(
                "low resolution: {sw}x{sh} is {:.0}% x {:.0}% of the canvas ({cw}x{ch}); {}",
                fw * 100.0,
                fh * 100.0,
                if fit == Fit::Center {
                    "it shows small, at its own size"
                } else {
                    "it is scaled up and looks soft or blocky"
                }
            ),
        });
    }
    out
}

/// A number of seconds without trailing zeros (`0.5`, `4`, `1.25`).
pub fn trim(seconds: f64) -> String {
    let s = format!("{seconds:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(w: &[Warning]) -> Vec<WarningKind> {
        w.iter().map(|w| w.kind).collect()
    }

    #[test]
    fn contain_letterboxes_cover_crops_with_percentages() {
        // 160x90 (16:9) on 128x64 (2:1): contain gives 114x64 → 10.9% bars.
        let w = placement_warnings(Fit::Contain, (160, 90), (128, 64));
        assert_eq!(kinds(&w), [WarningKind::Letterboxed]);
        assert!(w[0].text.contains("10.9%"), "{}", w[0].text);
        // Cover keeps 160x80 of 160x90: 11.1% cut.
        let w = placement_warnings(Fit::Cover, (160, 90), (128, 64));
        assert_eq!(kinds(&w), [WarningKind::Cropped]);
        assert!(w[0].text.contains("11.1%"), "{}", w[0].text);
        // Same aspect: nothing.
        assert!(placement_warnings(Fit::Contain, (256, 128), (128, 64)).is_empty());
        assert!(placement_warnings(Fit::Cover, (256, 128), (128, 64)).is_empty());
    }

    #[test]
    fn low_resolution_and_stretch() {
        let w = placement_warnings(Fit::Contain, (32, 16), (128, 64));
        assert_eq!(kinds(&w), [WarningKind::LowResolution]);
        assert!(w[0].text.contains("25% x 25%"), "{}", w[0].text);
        let w = placement_warnings(Fit::Stretch, (128, 16), (128, 64));
        assert_eq!(
            kinds(&w),
            [WarningKind::Stretched, WarningKind::LowResolution]
        );
        // Center: a small picture is padded (letterboxed) and low resolution.
        let w = placement_warnings(Fit::Center, (32, 32), (128, 64));
        assert_eq!(
            kinds(&w),
            [WarningKind::Letterboxed, WarningKind::LowResolution]
        );
    }

    #[test]
    fn trim_seconds() {
        assert_eq!(trim(0.5), "0.5");
        assert_eq!(trim(4.0), "4");
        assert_eq!(trim(1.25), "1.25");
    }
}
