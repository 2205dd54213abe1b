//! Hot reload and scheduling: the component the playback engine drives once per tick.
//!
//! [`Watcher`] checks the playlist file and the playlists its schedule names by their
//! length and modification time; their content is read (bounded) and hashed only while the
//! modification time is too recent to trust ([`TRUSTED_AGE`]: an edit that keeps the size
//! and lands within the file system's timestamp resolution is still seen), so checking an
//! unchanged file costs a `stat`. When they change, the new version is parsed and
//! validated: a valid one is taken, an invalid one is logged with every problem and the old
//! one keeps playing.
//!
//! [`Program`] holds what plays: the [`Show`], the playlist its schedule selects, that
//! playlist's [`Timeline`] and its [`Deck`]. Its files are watched by a thread of its own
//! (`ledwall-reload`, started with the program and ended when it is dropped): at each
//! [`Program::poll`] the render thread asks it to check and picks up, without waiting,
//! the new version it prepared (parsed, validated, its media probed). A reloaded show takes
//! over at the current playlist's next item boundary, with its first item starting there.
//! A schedule change cuts at once to the newly selected playlist, laid out from the epoch
//! (tick 0) so that players sharing a clock show the same frame.

use crate::deck::Deck;
use crate::media::OpenOptions;
use crate::playlist::Show;
use crate::timeline::{Shown, TickScene, Timeline};
use jiff::civil::DateTime;
use ledwall_render::textfile::{PLAYLIST_LIMIT, read_bytes};
use ledwall_render::{ConfigError, Scene};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A modification time this close to now (or later) is not trusted to show every edit: a
/// file system with coarse timestamps gives two writes within one tick the same time.
pub const TRUSTED_AGE: Duration = Duration::from_secs(2);

/// What identifies one version of a file: its length and modification time, and a hash of
/// its content when the modification time is too recent to trust ([`TRUSTED_AGE`]).
///
/// Two fingerprints are equal when length and modification time are, and so are the
/// hashes where both have one (so equality is not transitive: no `Eq`). So a check of an unchanged file reads nothing but its
/// metadata; the content is read (bounded, [`PLAYLIST_LIMIT`]) only while its
/// modification time is recent, and never for a file over the limit.
#[derive(Debug, Clone, Copy)]
pub struct Fingerprint {
    /// Modification time, when the file system has one.
    pub modified: Option<SystemTime>,
    /// Size in bytes.
    pub len: u64,
    /// Hash of the content, taken while the modification time was recent.
    pub hash: Option<u64>,
}

impl PartialEq for Fingerprint {
    fn eq(&self, other: &Fingerprint) -> bool {
        self.modified == other.modified
            && self.len == other.len
            && match (self.hash, other.hash) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

impl Fingerprint {
    /// The fingerprint of `path` now; `None` when it cannot be read.
    pub fn of(path: &Path) -> Option<Fingerprint> {
        let meta = std::fs::metadata(path).ok()?;
        let modified = meta.modified().ok();
        let recent = modified.is_none_or(|m| {
            SystemTime::now()
                .duration_since(m)
                .map_or(true, |age| age < TRUSTED_AGE)
        });
        let hash = if recent && meta.is_file() && meta.len() <= PLAYLIST_LIMIT {
            let bytes = read_bytes(path, "playlist", PLAYLIST_LIMIT).ok()?;
            let mut h = DefaultHasher::new();
            bytes.hash(&mut h);
            Some(h.finish())
        } else {
            None
        };
        Some(Fingerprint {
            modified,
            len: meta.len(),
            hash,
        })
    }
}

/// The result of a poll.
#[derive(Debug)]
pub enum Change {
    /// Nothing changed.
    Unchanged,
    /// The files changed and the new version is valid.
    Reloaded(Box<Show>),
    /// The files changed but the new version is invalid (or unreadable): keep the old.
    Rejected(ConfigError),
}

/// Watches a playlist file and the playlists its schedule names.
#[derive(Debug, Clone)]
pub struct Watcher {
    path: PathBuf,
    /// The files of the last version seen, and their fingerprints.
    seen: Vec<(PathBuf, Option<Fingerprint>)>,
}

impl Watcher {
    /// Watch `show`'s files, taking their current state as seen.
    pub fn new(path: &Path, show: &Show) -> Watcher {
        let mut w = Watcher {
            path: path.to_path_buf(),
            seen: Vec::new(),
        };
        w.remember(show);
        w
    }

    fn files(path: &Path, show: &Show) -> Vec<PathBuf> {
        std::iter::once(path.to_path_buf())
            .chain(show.main.schedule.iter().map(|e| e.playlist.clone()))
            .collect()
    }

    fn remember(&mut self, show: &Show) {
        self.seen = Watcher::files(&self.path, show)
            .into_iter()
            .map(|p| {
                let f = Fingerprint::of(&p);
                (p, f)
            })
            .collect();
    }

    /// Forget what was seen: the next [`Watcher::poll`] rereads the files.
    pub fn invalidate(&mut self) {
        for (_, f) in &mut self.seen {
            *f = None;
        }
    }

    /// Check the files; parse and validate them when they changed.
    pub fn poll(&mut self) -> Change {
        let changed = self.seen.iter().any(|(p, f)| Fingerprint::of(p) != *f);
        if !changed {
            return Change::Unchanged;
        }
        // Remember what was seen whatever the outcome, so a broken file is reported once,
        // not on every poll.
        let fingerprints: Vec<_> = self
            .seen
            .iter()
            .map(|(p, _)| (p.clone(), Fingerprint::of(p)))
            .collect();
        self.seen = fingerprints;
        match Show::load(&self.path) {
            Ok(show) => {
                self.remember(&show);
                Change::Reloaded(Box::new(show))
            }
            Err(e) => Change::Rejected(e),
        }
    }
}

/// What the render thread asks of the reload thread.
enum Ask {
    /// Check the files now (after forgetting what was seen, when `reread`); `now` is the
    /// local time the schedule selects by.
    Check { reread: bool, now: DateTime },
    /// Watch these files from now on (a switch, a reload taken over); results of the
    /// watcher before are dropped.
    Watch(u64, Box<Watcher>),
    /// Open media with these options from now on.
    Options(Box<OpenOptions>),
}

/// What the reload thread found.
enum Found {
    /// A valid new version, its media probed.
    Ready(Box<Prepared>),
    /// An invalid new version.
    Rejected(ConfigError),
}

/// The reload thread: checks the files, parses and validates a changed version and probes
/// its media, all off the render thread, which only asks ([`Ask`]) and picks up what was
/// found without waiting. It ends when its [`Reloader`] is dropped (after the check it is
/// doing, if any; nobody waits for it).
#[derive(Debug)]
struct Reloader {
    ask: std::sync::mpsc::Sender<Ask>,
    found: std::sync::mpsc::Receiver<(u64, Found)>,
    /// The generation of the watcher in force: results of an older one are dropped.
    generation: u64,
    /// SIGHUP: the next check forgets what was seen.
    reread: bool,
}

impl std::fmt::Debug for Ask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Ask::Check { .. } => "Check",
            Ask::Watch(..) => "Watch",
            Ask::Options(_) => "Options",
        })
    }
}

impl Reloader {
    fn start(watcher: Watcher, opts: OpenOptions) -> Reloader {
        let (ask, asked) = std::sync::mpsc::channel::<Ask>();
        let (tell, found) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("ledwall-reload".into())
            .spawn(move || reload_thread(watcher, opts, asked, tell));
        if let Err(e) = spawned {
            tracing::error!("cannot start the playlist reload thread, no hot reload: {e}");
        }
        Reloader {
            ask,
            found,
            generation: 0,
            reread: false,
        }
    }

    fn watch(&mut self, watcher: Watcher) {
        self.generation += 1;
        let _ = self
            .ask
            .send(Ask::Watch(self.generation, Box::new(watcher)));
    }
}

fn reload_thread(
    mut watcher: Watcher,
    mut opts: OpenOptions,
    asked: std::sync::mpsc::Receiver<Ask>,
    tell: std::sync::mpsc::Sender<(u64, Found)>,
) {
    let mut generation = 0;
    while let Ok(first) = asked.recv() {
        // Take everything asked meanwhile; checks asked while one ran collapse into one.
        let mut check: Option<(bool, DateTime)> = None;
        let mut next = Some(first);
        while let Some(a) = next {
            match a {
                Ask::Check { reread, now } => {
                    let before = check.is_some_and(|c| c.0);
                    check = Some((reread || before, now));
                }
                Ask::Watch(g, w) => {
                    generation = g;
                    watcher = *w;
                }
                Ask::Options(o) => opts = *o,
            }
            next = asked.try_recv().ok();
        }
        let Some((reread, now)) = check else {
            continue;
        };
        if reread {
            watcher.invalidate();
        }
        let found = match watcher.poll() {
            Change::Unchanged => continue,
            Change::Rejected(e) => Found::Rejected(e),
            Change::Reloaded(show) => Found::Ready(Box::new(Prepared::new(*show, &opts, now))),
        };
        if tell.send((generation, found)).is_err() {
            return;
        }
    }
}

/// One playlist ready to play.
#[derive(Debug)]
struct Active {
    /// The schedule entry it comes from (`None`: the file's own items).
    selected: Option<usize>,
    timeline: Timeline,
    deck: Deck,
}

/// A test pattern shown over the playlist (the control API's `pattern`): the playlist runs
/// on underneath.
#[derive(Debug)]
struct Overlay {
    /// `pattern:NAME` as asked for.
    source: String,
    /// First tick it shows.
    from: u64,
    /// First tick it no longer shows.
    until: u64,
    timing: crate::media::Timing,
    deck: Deck,
}

/// An operator's jump (next / previous / goto): the item on screen when it was asked for
/// is what the jumped-to item's transition mixes from (frozen on the frame it showed).
#[derive(Debug, Clone, Copy)]
struct Jump {
    at: u64,
    fade: u64,
    from: Shown,
}

/// A test pattern opened and drawn off the render thread.
#[derive(Debug)]
pub struct PreparedPattern {
    source: String,
    timing: crate::media::Timing,
    deck: Deck,
}

impl PreparedPattern {
    /// Open `source` (`pattern:NAME`) with `opts` (the program's
    /// [`Program::open_options`]).
    pub fn new(source: &str, opts: &OpenOptions) -> Result<PreparedPattern, String> {
        let playlist = crate::playlist::Playlist::single(source).map_err(|e| {
            e.problems
                .first()
                .map(|p| p.reason.clone())
                .unwrap_or_else(|| e.to_string())
        })?;
        let mut deck = Deck::new(&playlist, opts.clone());
        let Some(Some(timing)) = deck.probe().into_iter().next() else {
            return Err(format!("{source} cannot be opened"));
        };
        // Draw it now: the render thread then only copies its pixels.
        deck.prepare(&TickScene {
            tick: 0,
            current: Some(Shown {
                item: 0,
                frame: 0,
                local_tick: 0,
            }),
            outgoing: None,
            weight: (1, 1),
        });
        Ok(PreparedPattern {
            source: source.to_string(),
            timing,
            deck,
        })
    }
}

/// Where an operator's jump goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JumpTo {
    /// The item after the one on screen (the first after the last, even without `loop`).
    Next,
    /// The item before the one on screen (the last before the first).
    Previous,
    /// The playlist item with this index (as in the file).
    Item(usize),
}

/// The item on screen and the one after it, for the status of the control API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NowPlaying {
    /// Index in the playlist's items of the item on screen.
    pub item: Option<usize>,
    /// Ticks since it started.
    pub local_tick: u64,
    /// Its length in ticks.
    pub ticks: u64,
    /// The item after it, when there is one.
    pub next: Option<usize>,
}

/// How long before its start the next item is opened and its first frame decoded
/// ([`crate::deck::Deck::preroll`]).
pub const PREROLL: Duration = Duration::from_secs(2);

/// What plays: the show, the selected playlist's timeline and deck, hot reload.
#[derive(Debug)]
pub struct Program {
    show: Show,
    /// The file of the show playing.
    path: PathBuf,
    reloader: Reloader,
    active: Active,
    pending: Option<(Show, Active, u64)>,
    hz: u32,
    opts: OpenOptions,
    overlay: Option<Overlay>,
    /// The overlay shows at the tick last prepared.
    overlay_on: bool,
    jump: Option<Jump>,
    /// The scene last returned by [`Program::tick`] (what is on screen, as far as the render
    /// thread knows).
    last: Option<TickScene>,
    /// Counts playlist changes (switch, reload, schedule), for clients that cache the items.
    revision: u64,
}

/// A show with the media of the playlist it selects already probed: made off the render
/// thread (the control API's worker), so that switching to it costs the render thread no
/// file opening.
#[derive(Debug)]
pub struct Prepared {
    show: Show,
    selected: Option<usize>,
    timings: Vec<Option<crate::media::Timing>>,
    /// The show's files as they were when it was prepared (watched from then on).
    watcher: Watcher,
}

impl Prepared {
    /// Probe the media of the playlist `show` selects at local time `now`, opened with
    /// `opts` (the program's [`Program::open_options`]).
    pub fn new(show: Show, opts: &OpenOptions, now: DateTime) -> Prepared {
        let selected = show.select(now).1;
        let timings = Deck::new(selected_playlist(&show, selected), opts.clone()).probe();
        let watcher = Watcher::new(&show.main.file, &show);
        Prepared {
            show,
            selected,
            timings,
            watcher,
        }
    }

    /// The show.
    pub fn show(&self) -> &Show {
        &self.show
    }
}

fn selected_playlist(show: &Show, selected: Option<usize>) -> &crate::playlist::Playlist {
    match selected.and_then(|i| show.scheduled.get(i)) {
        Some(p) => p,
        None => &show.main,
    }
}

fn activate(
    show: &Show,
    selected: Option<usize>,
    hz: u32,
    opts: &OpenOptions,
    anchor: u64,
) -> Active {
    activate_probed(show, selected, hz, opts, anchor, None)
}

/// [`activate`] with the timings already probed (`None`: probe now).
fn activate_probed(
    show: &Show,
    selected: Option<usize>,
    hz: u32,
    opts: &OpenOptions,
    anchor: u64,
    timings: Option<Vec<Option<crate::media::Timing>>>,
) -> Active {
    let playlist = selected_playlist(show, selected);
    let mut deck = Deck::new(playlist, opts.clone());
    let timings = match timings {
        Some(t) if t.len() == playlist.items.len() => {
            // Probed elsewhere: the items that did not open are tried again from here.
            deck.watch_missing(&t);
            t
        }
        _ => deck.probe(),
    };
    Active {
        selected,
        timeline: Timeline::new(playlist, hz, &timings, anchor),
        deck,
    }
}

impl Program {
    /// Load the show at `path` for a wall refreshing at `hz`, selecting its playlist for
    /// local time `now`.
    pub fn load(
        path: &Path,
        hz: u32,
        opts: OpenOptions,
        now: DateTime,
    ) -> Result<Program, ConfigError> {
        let show = Show::load(path)?;
        Ok(Program::new(path, show, hz, opts, now))
    }

    /// Play an already loaded show (its file is watched at `path`).
    pub fn new(path: &Path, show: Show, hz: u32, opts: OpenOptions, now: DateTime) -> Program {
        let selected = show.select(now).1;
        let active = activate(&show, selected, hz, &opts, 0);
        Program {
            reloader: Reloader::start(Watcher::new(path, &show), opts.clone()),
            path: path.to_path_buf(),
            show,
            active,
            pending: None,
            hz,
            opts,
            overlay: None,
            overlay_on: false,
            jump: None,
            last: None,
            revision: 0,
        }
    }

    /// The options media are opened with.
    pub fn open_options(&self) -> &OpenOptions {
        &self.opts
    }

    /// Open media with `opts` from now on (a wall with another canvas took over): the decks
    /// are made anew, the timeline stays.
    pub fn set_open_options(&mut self, opts: OpenOptions) {
        self.active.deck = Deck::new(self.active.deck.playlist(), opts.clone());
        if let Some(o) = &mut self.overlay {
            o.deck = Deck::new(o.deck.playlist(), opts.clone());
        }
        let _ = self.reloader.ask.send(Ask::Options(Box::new(opts.clone())));
        self.opts = opts;
    }

    /// Counts the changes of the playlist playing (a switch, a reload taking over, a
    /// schedule change).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The file of the show playing (the started playlist, or the one switched to).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Play `show` (loaded from `path`) from `tick` on, at once: its selected playlist's
    /// first item starts at `tick`; its files are watched from now on.
    pub fn switch(&mut self, path: &Path, prepared: Prepared, tick: u64, now: DateTime) {
        let watcher = prepared.watcher.clone();
        let (show, active) = self.take_prepared(prepared, tick, now);
        self.reloader.watch(watcher);
        self.path = path.to_path_buf();
        self.show = show;
        self.active = active;
        self.pending = None;
        self.jump = None;
        self.revision += 1;
    }

    /// Take `show` (a reload of the file playing) at once, keeping the item on screen
    /// when the new playlist still has it (same index and source), else starting from its
    /// first item.
    pub fn reload_now(&mut self, prepared: Prepared, tick: u64, now: DateTime) {
        let keep = self.last.and_then(|ts| ts.current).and_then(|c| {
            let old = self.active.deck.playlist().items.get(c.item)?;
            Some((c, old.source.clone()))
        });
        let watcher = prepared.watcher.clone();
        let (show, mut active) = self.take_prepared(prepared, tick, now);
        if let Some((c, source)) = keep {
            let same = active.deck.playlist().items.get(c.item).map(|i| &i.source) == Some(&source);
            if same && let Some(k) = active.timeline.placed_index(c.item) {
                active
                    .timeline
                    .start_item_at(k, tick.saturating_sub(c.local_tick));
            }
        }
        self.reloader.watch(watcher);
        self.show = show;
        self.active = active;
        self.pending = None;
        self.jump = None;
        self.revision += 1;
    }

    /// The show and its active playlist from `prepared`, probed again only when the
    /// schedule selects another playlist by now.
    fn take_prepared(&self, prepared: Prepared, tick: u64, now: DateTime) -> (Show, Active) {
        let Prepared {
            show,
            selected,
            timings,
            ..
        } = prepared;
        let now_selected = show.select(now).1;
        let timings = (now_selected == selected).then_some(timings);
        let active = activate_probed(&show, now_selected, self.hz, &self.opts, tick, timings);
        (show, active)
    }

    /// Start an item at `tick` (with its transition, mixing from what is on screen).
    /// Returns the playlist index of the item that starts, or why none does.
    pub fn jump(&mut self, to: JumpTo, tick: u64) -> Result<usize, String> {
        let tl = &self.active.timeline;
        let placed = tl.placed();
        if placed.is_empty() {
            return Err("nothing in the playlist can play".into());
        }
        let on_screen = self.last.and_then(|ts| ts.current);
        let here = on_screen.and_then(|c| tl.placed_index(c.item));
        let n = placed.len();
        let k = match to {
            JumpTo::Next => here.map_or(0, |k| (k + 1) % n),
            JumpTo::Previous => here.map_or(n - 1, |k| (k + n - 1) % n),
            JumpTo::Item(i) => {
                let count = self.active.deck.playlist().items.len();
                if i >= count {
                    return Err(format!("the playlist has {count} items (0..{count})"));
                }
                tl.placed_index(i).ok_or_else(|| {
                    format!(
                        "item {i} cannot play (its media did not open, or its length is unknown)"
                    )
                })?
            }
        };
        let fade = placed[k].fade;
        let item = placed[k].item;
        self.active.timeline.start_item_at(k, tick);
        self.jump = on_screen.filter(|c| c.item != item).map(|from| Jump {
            at: tick,
            fade,
            from,
        });
        Ok(item)
    }

    /// Play item `item` (a playlist index) so that at `tick` it is `local` ticks in, as a
    /// cut (a MultiSync remote following its master). Returns false when the item does not
    /// play (its media did not open).
    pub fn seek(&mut self, item: usize, tick: u64, local: u64) -> bool {
        let Some(k) = self.active.timeline.placed_index(item) else {
            return false;
        };
        self.jump = None;
        self.active.timeline.place_item_at(k, tick, local)
    }

    /// Show a pattern prepared off the render thread from `tick` for `ticks` ticks.
    pub fn show_pattern(&mut self, pattern: PreparedPattern, tick: u64, ticks: u64) {
        self.overlay = Some(Overlay {
            source: pattern.source,
            from: tick,
            until: tick.saturating_add(ticks.max(1)),
            timing: pattern.timing,
            deck: pattern.deck,
        });
    }

    /// End the test pattern shown.
    pub fn end_pattern(&mut self) {
        self.overlay = None;
    }

    /// The test pattern shown over the playlist at `tick`, and its last tick + 1.
    pub fn overlay(&self, tick: u64) -> Option<(&str, u64)> {
        self.overlay
            .as_ref()
            .filter(|o| tick < o.until)
            .map(|o| (o.source.as_str(), o.until))
    }

    /// The item on screen at the last tick prepared, and the next one.
    pub fn now_playing(&self) -> NowPlaying {
        let Some(c) = self.last.and_then(|ts| ts.current) else {
            return NowPlaying::default();
        };
        let tl = &self.active.timeline;
        let placed = tl.placed();
        let k = tl.placed_index(c.item);
        let ticks = k.map_or(0, |k| placed[k].ticks);
        let next = k.and_then(|k| {
            if k + 1 < placed.len() {
                Some(placed[k + 1].item)
            } else if self.active.deck.playlist().looped {
                placed.first().map(|p| p.item)
            } else {
                None
            }
        });
        NowPlaying {
            item: Some(c.item),
            local_tick: c.local_tick,
            ticks,
            next,
        }
    }

    /// The show playing.
    pub fn show(&self) -> &Show {
        &self.show
    }

    /// The timeline playing.
    pub fn timeline(&self) -> &Timeline {
        &self.active.timeline
    }

    /// The tick a reloaded show will take over at, when one is waiting.
    pub fn pending_switch(&self) -> Option<u64> {
        self.pending.as_ref().map(|p| p.2)
    }

    /// Check the files (call every second or so): asks the reload thread to check them
    /// and picks up, without waiting, what it found since the last call. A valid change is
    /// scheduled for the next item boundary after `tick`; an invalid one is logged and
    /// ignored. Returns what was picked up: `unchanged` (nothing yet), `rejected` or
    /// `reloaded`. Parsing, validating and probing the media of a new version happen on
    /// the reload thread, so a change shows at a later call than the one that asked.
    pub fn poll(&mut self, tick: u64, now: DateTime) -> &'static str {
        let mut outcome = "unchanged";
        while let Ok((generation, found)) = self.reloader.found.try_recv() {
            if generation != self.reloader.generation {
                continue;
            }
            match found {
                Found::Rejected(e) => {
                    tracing::warn!("playlist change rejected, the old one keeps playing: {e}");
                    outcome = "rejected";
                }
                Found::Ready(prepared) => {
                    let at = self.active.timeline.next_boundary(tick);
                    let (show, active) = self.take_prepared(*prepared, at, now);
                    tracing::info!(
                        playlist = %show.main.file.display(),
                        "playlist reloaded; it takes over at tick {at}"
                    );
                    self.pending = Some((show, active, at));
                    outcome = "reloaded";
                }
            }
        }
        let reread = std::mem::take(&mut self.reloader.reread);
        let _ = self.reloader.ask.send(Ask::Check { reread, now });
        outcome
    }

    /// Reread the playlist files at the next [`Program::poll`], changed or not (SIGHUP).
    pub fn reread(&mut self) {
        self.reloader.reread = true;
    }

    /// What shows at `tick` (local time `now` for the schedule); decodes the frames, so
    /// [`Program::scene`] can borrow them.
    pub fn tick(&mut self, tick: u64, now: DateTime) -> TickScene {
        if let Some((_, _, at)) = &self.pending
            && tick >= *at
            && let Some((show, active, _)) = self.pending.take()
        {
            self.show = show;
            self.active = active;
            self.jump = None;
            self.revision += 1;
        }
        let selected = self.show.select(now).1;
        if selected != self.active.selected {
            let name = match selected.and_then(|i| self.show.scheduled.get(i)) {
                Some(p) => p.file.display().to_string(),
                None => "the default items".into(),
            };
            tracing::info!("schedule: now playing {name}");
            self.active = activate(&self.show, selected, self.hz, &self.opts, 0);
            self.jump = None;
            self.revision += 1;
        }
        // Items that were missing and have opened since (tried again in the background):
        // lay the timeline out again with them.
        if let Some(t) = self.active.deck.poll_retried() {
            let timings = t.to_vec();
            self.active.timeline = Timeline::new(
                self.active.deck.playlist(),
                self.hz,
                &timings,
                self.active.timeline.anchor(),
            );
            self.revision += 1;
        }
        let mut ts = self.active.timeline.at(tick);
        if let Some(j) = self.jump {
            let since = tick.wrapping_sub(j.at);
            if tick >= j.at && since < j.fade {
                // The jumped-to item mixes from what was on screen, frozen.
                ts.outgoing = Some(j.from);
            } else if tick >= j.at {
                self.jump = None;
            }
        }
        self.active.deck.prepare(&ts);
        // The next item, pre-rolled when it starts within PREROLL (a jump, a schedule change
        // or a playlist switch comes unannounced and is not).
        let timeline = &self.active.timeline;
        let on_screen = |i: usize| {
            ts.current.is_some_and(|s| s.item == i) || ts.outgoing.is_some_and(|s| s.item == i)
        };
        let within = u64::from(self.hz).saturating_mul(PREROLL.as_secs());
        let start = timeline.next_boundary(tick.saturating_add(1));
        let first = (start > tick && start - tick <= within)
            .then(|| timeline.at(start).current)
            .flatten()
            .filter(|s| s.local_tick == 0 && !on_screen(s.item));
        self.active.deck.preroll(first);
        self.last = Some(ts);
        self.overlay_on = false;
        if let Some(o) = &mut self.overlay {
            if tick >= o.until {
                self.overlay = None;
            } else if tick >= o.from {
                let local = tick - o.from;
                let frame = o
                    .timing
                    .frame_at(crate::media::Time::from_ticks(local, self.hz))
                    .1;
                let ots = TickScene {
                    tick,
                    current: Some(Shown {
                        item: 0,
                        frame,
                        local_tick: local,
                    }),
                    outgoing: None,
                    weight: (1, 1),
                };
                o.deck.prepare(&ots);
                self.overlay_on = true;
                return ots;
            }
        }
        ts
    }

    /// Whether the item on screen at `ts` (just returned by [`Program::tick`]) is still
    /// opening with nothing to show yet ([`Deck::opening`]).
    pub fn opening(&self, ts: &TickScene) -> bool {
        match &self.overlay {
            Some(o) if self.overlay_on => o.deck.opening(ts),
            _ => self.active.deck.opening(ts),
        }
    }

    /// Whether the item on screen at `ts` is open with its decoder still filling its queue
    /// ([`Deck::warming`]).
    pub fn warming(&self, ts: &TickScene) -> bool {
        match &self.overlay {
            Some(o) if self.overlay_on => o.deck.warming(ts),
            _ => self.active.deck.warming(ts),
        }
    }

    /// The renderer's scene for a tick just returned by [`Program::tick`].
    pub fn scene(&self, ts: &TickScene) -> Scene<'_> {
        match &self.overlay {
            Some(o) if self.overlay_on => o.deck.scene(ts),
            _ => self.active.deck.scene(ts),
        }
    }

    /// The playlist playing.
    pub fn playlist(&self) -> &crate::playlist::Playlist {
        self.active.deck.playlist()
    }
}
