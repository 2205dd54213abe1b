//! The deck: opens the media of a playlist's items and keeps the frames the timeline asks
//! for, so that bad media never stops the wall.
//!
//! * [`Deck::probe`] opens every item once to learn its timing. An item that cannot be
//!   opened gets one log line naming the file and the reason, and no timing: the timeline
//!   skips it.
//! * [`Deck::prepare`] decodes the frames a [`TickScene`] shows into per-item buffers. An
//!   item that fails part-way (a broken frame, a dying ffmpeg) gets one log line and stops
//!   decoding; its last good frame (or, when it never showed one, the last item's) holds until
//!   the next item. A video that ends early holds its last frame.
//! * [`Deck::scene`] borrows those buffers as the renderer's [`Scene`].
//!
//! Only the items on screen keep their source open; others are closed (and reopened, with a
//! fresh chance to fail, when they come round again).

use crate::media::{self, Frame, MediaError, MediaSource, OpenOptions, ReadStatus, Timing};
use crate::playlist::Playlist;
use crate::timeline::{Shown, TickScene};
use ledwall_render::{Layer, Scene};

#[derive(Default)]
struct Slot {
    source: Option<Box<dyn MediaSource>>,
    frame: Frame,
    /// Stopped after an error (logged once).
    failed: bool,
    /// The source ended early (logged once).
    ended: bool,
}

/// Media and frame buffers for one playlist.
pub struct Deck {
    playlist: Playlist,
    opts: OpenOptions,
    slots: Vec<Slot>,
    /// The item whose frame was last shown successfully.
    last_good: Option<usize>,
}

impl std::fmt::Debug for Deck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deck")
            .field("playlist", &self.playlist.file)
            .field("last_good", &self.last_good)
            .finish_non_exhaustive()
    }
}

/// An error and its causes on one line: `a: b: c`.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !text.ends_with(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        cur = c.source();
    }
    text
}

impl Deck {
    /// A deck for `playlist`; `opts` carries the canvas, the limits and the wall's
    /// background (items may override the background, `start` and `fps`).
    pub fn new(playlist: &Playlist, opts: OpenOptions) -> Deck {
        Deck {
            playlist: playlist.clone(),
            opts,
            slots: playlist.items.iter().map(|_| Slot::default()).collect(),
            last_good: None,
        }
    }

    /// The playlist.
    pub fn playlist(&self) -> &Playlist {
        &self.playlist
    }

    fn open_item(&self, i: usize) -> Result<Box<dyn MediaSource>, MediaError> {
        let item = &self.playlist.items[i];
        let mut opts = self.opts.clone();
        opts.start = item.start;
        if let Some(fps) = item.fps {
            opts.fps = fps;
        }
        if let Some(bg) = item.background {
            opts.load.background = bg;
        }
        media::open(&item.media, &opts)
    }

    fn log_skip(&self, i: usize, what: &str, e: &MediaError) {
        let item = &self.playlist.items[i];
        tracing::warn!(
            playlist = %self.playlist.file.display(),
            item = item.index,
            "{what} {}: {}",
            item.media.display(),
            error_chain(e)
        );
    }

    /// Open every item to learn its timing; `None` (and one log line) for each that cannot
    /// be opened. Sources are closed again.
    pub fn probe(&mut self) -> Vec<Option<Timing>> {
        (0..self.playlist.items.len())
            .map(|i| match self.open_item(i) {
                Ok(s) => Some(s.info().timing.clone()),
                Err(e) => {
                    self.log_skip(i, "skipping item: cannot open", &e);
                    None
                }
            })
            .collect()
    }

    /// Decode what `scene` shows. Never fails: problems are logged once per item and the
    /// last good frame holds.
    pub fn prepare(&mut self, scene: &TickScene) {
        let keep = [
            scene.current.map(|s| s.item),
            scene.outgoing.map(|s| s.item),
            self.last_good,
        ];
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if !keep.contains(&Some(i)) {
                *slot = Slot::default();
            }
        }
        if let Some(s) = scene.outgoing {
            self.show(&s);
        }
        if let Some(s) = scene.current
            && self.show(&s)
        {
            self.last_good = Some(s.item);
        }
    }

    /// Decode `s` into its slot; whether the slot holds a frame to show.
    fn show(&mut self, s: &Shown) -> bool {
        let Some(slot) = self.slots.get(s.item) else {
            return false;
        };
        if slot.failed || slot.ended {
            return !slot.frame.is_empty();
        }
        if slot.source.is_none() {
            match self.open_item(s.item) {
                Ok(src) => self.slots[s.item].source = Some(src),
                Err(e) => {
                    self.log_skip(s.item, "skipping item: cannot open", &e);
                    self.slots[s.item].failed = true;
                    return !self.slots[s.item].frame.is_empty();
                }
            }
        }
        let slot = &mut self.slots[s.item];
        let Some(src) = slot.source.as_mut() else {
            return false;
        };
        // The item's source as written names it in a panic report; borrowed, so decoding a
        // frame allocates nothing here.
        let name = std::path::Path::new(&self.playlist.items[s.item].source);
        let result = media::guarded(name, || src.read_frame(s.frame, &mut slot.frame));
        match result {
            Ok(ReadStatus::Frame) => true,
            Ok(ReadStatus::End { frames }) => {
                let item = &self.playlist.items[s.item];
                tracing::info!(
                    playlist = %self.playlist.file.display(),
                    item = item.index,
                    "{} ended after {frames} frames, earlier than announced; holding its last frame",
                    item.media.display()
                );
                slot.ended = true;
                slot.source = None;
                !slot.frame.is_empty()
            }
            Err(e) => {
                slot.failed = true;
                slot.source = None;
                let held = !slot.frame.is_empty();
                self.log_skip(
                    s.item,
                    "item failed while playing, holding the last good frame:",
                    &e,
                );
                held
            }
        }
    }

    /// The frame for `s`: its own, or the last good frame shown when it has none.
    pub fn frame(&self, s: &Shown) -> Option<&Frame> {
        let own = self.slots.get(s.item).map(|slot| &slot.frame);
        match own {
            Some(f) if !f.is_empty() => Some(f),
            _ => self
                .last_good
                .and_then(|i| self.slots.get(i))
                .map(|slot| &slot.frame)
                .filter(|f| !f.is_empty()),
        }
    }

    /// The renderer's scene for a prepared tick.
    pub fn scene(&self, ts: &TickScene) -> Scene<'_> {
        let layer = |s: &Shown| {
            self.frame(s).map(|f| {
                let item = &self.playlist.items[s.item];
                Layer::new(f.source()).fit(item.fit).filter(item.filter)
            })
        };
        let current = ts.current.as_ref().and_then(layer);
        let outgoing = ts.outgoing.as_ref().and_then(layer);
        let w = ts.weight_f32();
        match (current, outgoing) {
            (Some(c), Some(o)) if ts.fading() => Scene::crossfade(ts.tick, o, c, w),
            (Some(c), _) => Scene::single(ts.tick, c.weight(w)),
            (None, Some(o)) => Scene::single(ts.tick, o.weight(1.0 - w)),
            (None, None) => Scene::background(ts.tick),
        }
    }
}
