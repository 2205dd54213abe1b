//! The deck: opens the media of a playlist's items and keeps the frames the timeline asks
//! for, so that bad media never stops the wall.
//!
//! * [`Deck::probe`] opens every item once to learn its timing. An item that cannot be
//!   opened gets one log line naming the file and the reason, and no timing: the timeline
//!   skips it. Such items (files and sequences) are tried again on a background thread,
//!   with a backoff per item ([`RETRY_FIRST`] doubling to [`RETRY_MAX`]); when one opens,
//!   [`Deck::poll_retried`] hands the new timings to the caller, which lays the timeline out
//!   again, so media that appears after start plays.
//! * [`Deck::prepare`] decodes the frames a [`TickScene`] shows into per-item buffers. An
//!   item that fails part-way (a broken frame, an ffmpeg that gives up) or cannot be opened
//!   gets a log line and stops decoding; its last good frame (or, when it never showed one,
//!   the last item's) holds, and it is tried again after its backoff. A frame that is not
//!   decoded yet ([`ReadStatus::Late`]) leaves the previous frame on screen. A video that
//!   ends before its announced length restarts from its first frame (logged at warn,
//!   counted in [`MediaFaults::restarts`]).
//! * [`Deck::scene`] borrows those buffers as the renderer's [`Scene`].
//!
//! Only the items on screen keep their source open; others are closed (and reopened when
//! they come round again). Live (with [`OpenOptions::frame_wait`] set, as the player's
//! render thread runs it) an item is opened on a thread of its own and the previous frame
//! holds until it is ready, so a slow open (a big image, ffprobe on a hung share) never
//! holds up the render thread; offline (previews, `render`) it is opened in place. Faults
//! are counted in the options' [`MediaFaults`].

use crate::media::{
    self, Frame, MediaError, MediaFaults, MediaRef, MediaSource, OpenOptions, ReadStatus, Timing,
};
use crate::playlist::{Item, Playlist};
use crate::timeline::{Shown, TickScene};
use ledwall_render::{Layer, Scene};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

/// The first wait before an item that failed is tried again.
pub const RETRY_FIRST: Duration = Duration::from_secs(1);
/// The longest wait between tries (the wait doubles from [`RETRY_FIRST`] up to this).
pub const RETRY_MAX: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Slot {
    source: Option<Box<dyn MediaSource>>,
    frame: Frame,
    /// Stopped after an error (logged); tried again when its backoff has passed.
    failed: bool,
    /// Frames the item really has, once it ended before its announced length: frames from
    /// there on wrap round (the item restarts).
    real_frames: Option<u64>,
    /// Live: the source being opened on a thread of its own.
    opening: Option<Receiver<Result<Box<dyn MediaSource>, MediaError>>>,
    /// Pre-rolled: its first frame is decoded (or decoding it failed), ahead of its start.
    prerolled: bool,
}

/// When a failed item is tried again; kept across passes.
#[derive(Debug, Clone, Copy)]
struct Backoff {
    at: Option<Instant>,
    wait: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            at: None,
            wait: RETRY_FIRST,
        }
    }
}

impl Backoff {
    fn due(&self, now: Instant) -> bool {
        self.at.is_none_or(|at| now >= at)
    }

    fn failed(&mut self, now: Instant) {
        self.at = Some(now + self.wait);
        self.wait = (self.wait * 2).min(RETRY_MAX);
    }
}

/// The background thread that tries missing items again.
struct Retrier {
    results: Receiver<(usize, Timing)>,
    /// Dropped with the deck: the thread sees the disconnect and ends.
    _stop: Sender<()>,
}

/// Media and frame buffers for one playlist.
pub struct Deck {
    playlist: Playlist,
    opts: OpenOptions,
    slots: Vec<Slot>,
    backoff: Vec<Backoff>,
    /// The item whose frame was last shown successfully.
    last_good: Option<usize>,
    /// The next item, opened and its first frame decoded before it comes on screen.
    preroll: Option<usize>,
    /// The items of the last [`Deck::prepare`]: current and outgoing.
    on_screen: [Option<usize>; 2],
    /// Each item's timing as last known (`None`: it could not be opened).
    timings: Vec<Option<Timing>>,
    retrier: Option<Retrier>,
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
            backoff: vec![Backoff::default(); playlist.items.len()],
            last_good: None,
            preroll: None,
            on_screen: [None; 2],
            timings: Vec::new(),
            retrier: None,
        }
    }

    /// The fault counters this deck and its sources count in.
    pub fn faults(&self) -> &MediaFaults {
        &self.opts.faults
    }

    /// Each item's timing as last known: from [`Deck::probe`] (or
    /// [`Deck::watch_missing`]), updated by [`Deck::poll_retried`].
    pub fn timings(&self) -> &[Option<Timing>] {
        &self.timings
    }

    /// The playlist.
    pub fn playlist(&self) -> &Playlist {
        &self.playlist
    }

    fn open_item(&self, i: usize) -> Result<Box<dyn MediaSource>, MediaError> {
        open_item(&self.playlist, &self.opts, i)
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
    /// Items that cannot be opened are then tried again in the background (see
    /// [`Deck::watch_missing`]).
    pub fn probe(&mut self) -> Vec<Option<Timing>> {
        let timings: Vec<Option<Timing>> = (0..self.playlist.items.len())
            .map(|i| match self.open_item(i) {
                Ok(s) => Some(s.info().timing.clone()),
                Err(e) => {
                    MediaFaults::count(&self.opts.faults.failed_opens);
                    self.log_skip(
                        i,
                        "skipping item for now (tried again in the background): cannot open",
                        &e,
                    );
                    None
                }
            })
            .collect();
        self.watch_missing(&timings);
        timings
    }

    /// Take `timings` (as [`Deck::probe`] gives them, probed elsewhere) as the items'
    /// timings and try the files and sequences among them that are `None` again on a
    /// background thread, each with its own backoff ([`RETRY_FIRST`] doubling to
    /// [`RETRY_MAX`]), until they open or the deck is dropped. [`Deck::poll_retried`] gives
    /// the result.
    pub fn watch_missing(&mut self, timings: &[Option<Timing>]) {
        self.timings = timings.to_vec();
        self.timings.resize(self.playlist.items.len(), None);
        self.retrier = None;
        let missing: Vec<usize> = self
            .timings
            .iter()
            .enumerate()
            .filter(|(i, t)| {
                t.is_none()
                    && matches!(
                        self.playlist.items[*i].media,
                        MediaRef::File(_) | MediaRef::Sequence(_)
                    )
            })
            .map(|(i, _)| i)
            .collect();
        if missing.is_empty() {
            return;
        }
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let (tx, rx) = mpsc::channel();
        let playlist = self.playlist.clone();
        let opts = self.opts.clone();
        let spawned = std::thread::Builder::new()
            .name("media-retry".into())
            .spawn(move || retry_missing(&playlist, &opts, missing, &stop_rx, &tx));
        match spawned {
            Ok(_) => {
                self.retrier = Some(Retrier {
                    results: rx,
                    _stop: stop_tx,
                })
            }
            Err(e) => tracing::warn!(
                playlist = %self.playlist.file.display(),
                "cannot start the thread that retries missing media: {e}"
            ),
        }
    }

    /// Items that could not be opened and now can: `Some(timings)` (all items' timings, as
    /// [`Deck::probe`] gives them) when any opened since the last call, for the caller to
    /// lay the timeline out again; `None` otherwise. Never blocks; allocates nothing when
    /// nothing changed.
    pub fn poll_retried(&mut self) -> Option<&[Option<Timing>]> {
        let retrier = self.retrier.as_ref()?;
        let mut changed = false;
        while let Ok((i, timing)) = retrier.results.try_recv() {
            if let Some(t) = self.timings.get_mut(i) {
                *t = Some(timing);
                changed = true;
            }
            if let Some(slot) = self.slots.get_mut(i) {
                slot.failed = false;
            }
            if let Some(b) = self.backoff.get_mut(i) {
                *b = Backoff::default();
            }
        }
        changed.then_some(self.timings.as_slice())
    }

    /// Decode what `scene` shows. Never fails: problems are logged once per item and the
    /// last good frame holds.
    pub fn prepare(&mut self, scene: &TickScene) {
        self.on_screen = [
            scene.current.map(|s| s.item),
            scene.outgoing.map(|s| s.item),
        ];
        let keep = [
            scene.current.map(|s| s.item),
            scene.outgoing.map(|s| s.item),
            self.last_good,
            self.preroll,
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

    /// Pre-roll `first`, the first frame of the item that comes on screen next (live only,
    /// with [`OpenOptions::frame_wait`] set): open its source (on a thread of its own) and
    /// start decoding that frame, so that the item has its own picture from its first tick
    /// (a video's ffmpeg takes a few hundred milliseconds to its first frame; without
    /// this, the last frame would hold meanwhile, and for a different time on each player
    /// of a show). Never waits and counts no late frame; `None` (nothing coming, or it is
    /// on screen already) ends a pre-roll. An item that fails here is logged when it comes
    /// on screen, as without a pre-roll.
    pub fn preroll(&mut self, first: Option<Shown>) {
        if self.opts.frame_wait.is_none() {
            return;
        }
        let next = first.map(|s| s.item);
        let changed = self.preroll != next;
        self.preroll = next;
        let Some(s) = first else {
            return;
        };
        if changed
            && !self.on_screen.contains(&Some(s.item))
            && self.last_good != Some(s.item)
            && let Some(slot) = self.slots.get_mut(s.item)
        {
            // Still open from an earlier showing (kept as the frame that held): open it
            // afresh, as it would be when it comes round, so a file replaced since is read.
            *slot = Slot::default();
        }
        match self.slots.get(s.item) {
            Some(slot) if !slot.failed && !slot.prerolled => {}
            _ => return,
        }
        if self.source_ready(s.item).is_err() {
            return;
        }
        let slot = &mut self.slots[s.item];
        let Some(src) = slot.source.as_mut() else {
            return;
        };
        let name = std::path::Path::new(&self.playlist.items[s.item].source);
        match media::guarded(name, || src.prefetch(s.frame, &mut slot.frame)) {
            Ok(ReadStatus::Late) => {}
            Ok(_) => slot.prerolled = true,
            Err(_) => {
                // Opened again, and the error logged, when it comes on screen.
                slot.source = None;
                slot.prerolled = true;
            }
        }
    }

    /// Decode `s` into its slot; whether the slot holds a frame to show.
    fn show(&mut self, s: &Shown) -> bool {
        let Some(slot) = self.slots.get_mut(s.item) else {
            return false;
        };
        if slot.failed {
            let now = Instant::now();
            if !self.backoff[s.item].due(now) {
                return !slot.frame.is_empty();
            }
            slot.failed = false;
        }
        if let Err(held) = self.source_ready(s.item) {
            return held;
        }
        let slot = &mut self.slots[s.item];
        let Some(src) = slot.source.as_mut() else {
            return false;
        };
        // The item's source as written names it in a panic report; borrowed, so decoding a
        // frame allocates nothing here.
        let name = std::path::Path::new(&self.playlist.items[s.item].source);
        // Twice at most: once more, from the start, when the item turns out shorter than
        // announced.
        for _ in 0..2 {
            let index = match slot.real_frames {
                Some(n) if n > 0 => s.frame % n,
                _ => s.frame,
            };
            let result = media::guarded(name, || src.read_frame(index, &mut slot.frame));
            match result {
                Ok(ReadStatus::Frame) => return true,
                Ok(ReadStatus::Late) => return !slot.frame.is_empty(),
                Ok(ReadStatus::End { frames }) if frames > 0 && slot.real_frames.is_none() => {
                    slot.real_frames = Some(frames);
                    let item = &self.playlist.items[s.item];
                    if src.info().timing.frames().is_some() {
                        MediaFaults::count(&self.opts.faults.restarts);
                        tracing::warn!(
                            playlist = %self.playlist.file.display(),
                            item = item.index,
                            "{} ended after {frames} frames, earlier than announced; playing it again from its start",
                            item.media.display()
                        );
                    }
                }
                Ok(ReadStatus::End { frames }) => {
                    // Nothing to restart from: hold what is there until it is tried again.
                    let item = &self.playlist.items[s.item];
                    tracing::warn!(
                        playlist = %self.playlist.file.display(),
                        item = item.index,
                        "{} has no frame {index} (it ended after {frames}); holding the last frame",
                        item.media.display()
                    );
                    break;
                }
                Err(e) => {
                    slot.source = None;
                    slot.failed = true;
                    let held = !slot.frame.is_empty();
                    self.backoff[s.item].failed(Instant::now());
                    self.log_skip(
                        s.item,
                        "item failed while playing, holding the last good frame (tried again later):",
                        &e,
                    );
                    return held;
                }
            }
        }
        let slot = &mut self.slots[s.item];
        slot.failed = true;
        slot.source = None;
        self.backoff[s.item].failed(Instant::now());
        !slot.frame.is_empty()
    }

    /// The item's source: open already, or opened now (offline), or being opened on a
    /// thread of its own (live: [`OpenOptions::frame_wait`] set), so that a slow open (a big
    /// image, ffprobe on a hung share) never holds up the render thread. `Err(held)` when
    /// there is none yet or it failed: whether the slot holds a frame to show.
    fn source_ready(&mut self, i: usize) -> Result<(), bool> {
        let slot = &mut self.slots[i];
        if slot.source.is_some() {
            return Ok(());
        }
        let result = if self.opts.frame_wait.is_none() {
            open_item(&self.playlist, &self.opts, i)
        } else {
            match &slot.opening {
                None => {
                    let (tx, rx) = mpsc::channel();
                    let item = &self.playlist.items[i];
                    let media = item.media.clone();
                    let opts = item_options(&self.opts, item);
                    let spawned =
                        std::thread::Builder::new()
                            .name("media-open".into())
                            .spawn(move || {
                                let _ = tx.send(media::open(&media, &opts));
                            });
                    match spawned {
                        Ok(_) => {
                            slot.opening = Some(rx);
                            return Err(!slot.frame.is_empty());
                        }
                        // No thread: open it here.
                        Err(_) => open_item(&self.playlist, &self.opts, i),
                    }
                }
                Some(rx) => match rx.try_recv() {
                    Ok(r) => {
                        slot.opening = None;
                        r
                    }
                    Err(mpsc::TryRecvError::Empty) => return Err(!slot.frame.is_empty()),
                    Err(mpsc::TryRecvError::Disconnected) => {
                        slot.opening = None;
                        Err(MediaError::Panicked {
                            path: std::path::PathBuf::from(&self.playlist.items[i].source),
                            message: "the thread opening it stopped".into(),
                        })
                    }
                },
            }
        };
        match result {
            Ok(src) => {
                self.slots[i].source = Some(src);
                let b = &mut self.backoff[i];
                if b.at.is_some() {
                    MediaFaults::count(&self.opts.faults.recovered);
                    let item = &self.playlist.items[i];
                    tracing::info!(
                        playlist = %self.playlist.file.display(),
                        item = item.index,
                        "{} opens again",
                        item.media.display()
                    );
                }
                *b = Backoff::default();
                Ok(())
            }
            Err(e) => {
                MediaFaults::count(&self.opts.faults.failed_opens);
                self.backoff[i].failed(Instant::now());
                self.log_skip(i, "cannot open (tried again later)", &e);
                self.slots[i].failed = true;
                Err(!self.slots[i].frame.is_empty())
            }
        }
    }

    /// The frame for `s`: its own, or the last good frame shown when it has none.
    pub fn frame(&self, s: &Shown) -> Option<&Frame> {
        self.frame_of(s).map(|(f, _)| f)
    }

    /// The frame for `s` and the item it belongs to: `s`'s own, or the last good one.
    fn frame_of(&self, s: &Shown) -> Option<(&Frame, usize)> {
        let own = self.slots.get(s.item).map(|slot| &slot.frame);
        match own {
            Some(f) if !f.is_empty() => Some((f, s.item)),
            _ => self.last_good.and_then(|i| {
                self.slots
                    .get(i)
                    .map(|slot| (&slot.frame, i))
                    .filter(|(f, _)| !f.is_empty())
            }),
        }
    }

    /// Whether the item on screen at `ts` is still being opened (on a thread of its own)
    /// and there is nothing to show for it yet, not even an earlier item's last frame: the
    /// caller should keep what is on the wall rather than show the background.
    pub fn opening(&self, ts: &TickScene) -> bool {
        ts.current.as_ref().is_some_and(|s| {
            self.slots
                .get(s.item)
                .is_some_and(|slot| slot.opening.is_some())
                && self.frame(s).is_none()
        })
    }

    /// Whether the item on screen at `ts` is open but its decoder has not filled its queue
    /// yet ([`MediaSource::decoded_ahead`]): the run's first frame waits for it.
    pub fn warming(&self, ts: &TickScene) -> bool {
        ts.current.as_ref().is_some_and(|s| {
            self.slots
                .get(s.item)
                .and_then(|slot| slot.source.as_ref())
                .is_some_and(|src| !src.decoded_ahead())
        })
    }

    /// The renderer's scene for a prepared tick.
    pub fn scene(&self, ts: &TickScene) -> Scene<'_> {
        // A stand-in frame (another item's, while this one has none yet) is placed as its
        // own item places it, so a held picture does not jump.
        let layer = |s: &Shown| {
            self.frame_of(s).map(|(f, i)| {
                let item = &self.playlist.items[i];
                Layer::new(f.source()).fit(item.fit).filter(item.filter)
            })
        };
        let own = |s: &Shown| {
            self.slots
                .get(s.item)
                .is_some_and(|slot| !slot.frame.is_empty())
        };
        // In a fade, an incoming item without its own frame yet is left out: the outgoing
        // one stays whole rather than fade against a copy of itself.
        let waiting = match (&ts.current, &ts.outgoing) {
            (Some(c), Some(o)) => ts.fading() && !own(c) && own(o),
            _ => false,
        };
        let current = if waiting {
            None
        } else {
            ts.current.as_ref().and_then(layer)
        };
        let outgoing = ts.outgoing.as_ref().and_then(layer);
        let w = ts.weight_f32();
        match (current, outgoing) {
            (None, Some(o)) if waiting => Scene::single(ts.tick, o),
            (Some(c), Some(o)) if ts.fading() => Scene::crossfade(ts.tick, o, c, w),
            (Some(c), _) => Scene::single(ts.tick, c.weight(w)),
            (None, Some(o)) => Scene::single(ts.tick, o.weight(1.0 - w)),
            (None, None) => Scene::background(ts.tick),
        }
    }
}

fn open_item(
    playlist: &Playlist,
    opts: &OpenOptions,
    i: usize,
) -> Result<Box<dyn MediaSource>, MediaError> {
    let item = &playlist.items[i];
    media::open(&item.media, &item_options(opts, item))
}

/// The options `item` opens with: the deck's, with the item's start, frame rate,
/// background and hardware decoding (unless `--hwaccel` was given).
fn item_options(opts: &OpenOptions, item: &Item) -> OpenOptions {
    let mut opts = opts.clone();
    opts.start = item.start;
    if let Some(hw) = item.hwaccel
        && !opts.hwaccel_given
    {
        opts.load.hwaccel = hw;
    }
    if let Some(fps) = item.fps {
        opts.fps = fps;
    }
    if let Some(bg) = item.background {
        opts.load.background = bg;
    }
    opts
}

/// The retry thread: open each of `missing` with its own backoff until it opens (sent on
/// `found`) or `stop` disconnects.
fn retry_missing(
    playlist: &Playlist,
    opts: &OpenOptions,
    missing: Vec<usize>,
    stop: &Receiver<()>,
    found: &Sender<(usize, Timing)>,
) {
    let now = Instant::now();
    let mut waiting: Vec<(usize, Backoff)> = missing
        .into_iter()
        .map(|i| {
            let mut b = Backoff::default();
            b.failed(now);
            (i, b)
        })
        .collect();
    while let Some(next) = waiting.iter().filter_map(|(_, b)| b.at).min() {
        match stop.recv_timeout(next.saturating_duration_since(Instant::now())) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        let now = Instant::now();
        let mut k = 0;
        while k < waiting.len() {
            let (i, mut b) = waiting[k];
            if !b.due(now) {
                k += 1;
                continue;
            }
            match open_item(playlist, opts, i) {
                Ok(src) => {
                    let item = &playlist.items[i];
                    tracing::info!(
                        playlist = %playlist.file.display(),
                        item = item.index,
                        "{} can be opened now; it joins the show",
                        item.media.display()
                    );
                    MediaFaults::count(&opts.faults.recovered);
                    if found.send((i, src.info().timing.clone())).is_err() {
                        return;
                    }
                    waiting.swap_remove(k);
                }
                Err(e) => {
                    MediaFaults::count(&opts.faults.failed_opens);
                    let item = &playlist.items[i];
                    tracing::debug!(
                        playlist = %playlist.file.display(),
                        item = item.index,
                        "still cannot open {}: {}",
                        item.media.display(),
                        error_chain(&e)
                    );
                    b.failed(now);
                    waiting[k].1 = b;
                    k += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::video::Hwaccel;

    /// An item's `hwaccel` (its own or its playlist's) replaces the deck's default, unless
    /// `--hwaccel` was given.
    #[test]
    fn the_items_hwaccel_applies_unless_the_command_line_gave_one() {
        let p = Playlist::from_text(
            "[[items]]\nsource = \"a.mp4\"\nhwaccel = \"cuda\"\n\
             [[items]]\nsource = \"b.mp4\"\n",
            std::path::Path::new("p.toml"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut opts = OpenOptions::new(crate::patterns::Canvas::plain(4, 4, 60));
        opts.load.hwaccel = Hwaccel::Auto;
        assert_eq!(item_options(&opts, &p.items[0]).load.hwaccel, Hwaccel::Cuda);
        assert_eq!(item_options(&opts, &p.items[1]).load.hwaccel, Hwaccel::Auto);
        opts.hwaccel_given = true;
        assert_eq!(item_options(&opts, &p.items[0]).load.hwaccel, Hwaccel::Auto);
    }
}
