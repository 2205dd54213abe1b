//! Hot reload and scheduling: the component the playback engine drives once per tick.
//!
//! [`Watcher`] polls the playlist file and the playlists its schedule names (modification
//! time, size and a hash of the content: an edit that keeps the size and lands within the
//! file system's timestamp resolution is still seen). When they change, the new version is
//! parsed and validated: a valid one is taken, an invalid one is logged with every problem
//! and the old one keeps playing.
//!
//! [`Program`] holds what plays: the [`Show`], the playlist its schedule selects, that
//! playlist's [`Timeline`] and its [`Deck`]. A reloaded show takes over at the current
//! playlist's next item boundary, with its first item starting there. A schedule change
//! cuts at once to the newly selected playlist, laid out from the epoch (tick 0) so that
//! players sharing a clock show the same frame.

use crate::deck::Deck;
use crate::media::OpenOptions;
use crate::playlist::Show;
use crate::timeline::{TickScene, Timeline};
use jiff::civil::DateTime;
use ledwall_render::{ConfigError, Scene};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What identifies one version of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    /// Modification time, when the file system has one.
    pub modified: Option<SystemTime>,
    /// Size in bytes.
    pub len: u64,
    /// Hash of the content.
    pub hash: u64,
}

impl Fingerprint {
    /// The fingerprint of `path` now; `None` when it cannot be read.
    pub fn of(path: &Path) -> Option<Fingerprint> {
        let meta = std::fs::metadata(path).ok()?;
        let bytes = std::fs::read(path).ok()?;
        let mut h = DefaultHasher::new();
        bytes.hash(&mut h);
        Some(Fingerprint {
            modified: meta.modified().ok(),
            len: meta.len(),
            hash: h.finish(),
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
#[derive(Debug)]
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

/// One playlist ready to play.
#[derive(Debug)]
struct Active {
    /// The schedule entry it comes from (`None`: the file's own items).
    selected: Option<usize>,
    timeline: Timeline,
    deck: Deck,
}

/// What plays: the show, the selected playlist's timeline and deck, hot reload.
#[derive(Debug)]
pub struct Program {
    show: Show,
    watcher: Watcher,
    active: Active,
    pending: Option<(Show, Active, u64)>,
    hz: u32,
    opts: OpenOptions,
}

fn activate(
    show: &Show,
    selected: Option<usize>,
    hz: u32,
    opts: &OpenOptions,
    anchor: u64,
) -> Active {
    let playlist = match selected.and_then(|i| show.scheduled.get(i)) {
        Some(p) => p,
        None => &show.main,
    };
    let mut deck = Deck::new(playlist, opts.clone());
    let timings = deck.probe();
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
            watcher: Watcher::new(path, &show),
            show,
            active,
            pending: None,
            hz,
            opts,
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

    /// Check the files (call every second or so). A valid change is scheduled for the next
    /// item boundary after `tick`; an invalid one is logged and ignored. Returns what
    /// happened.
    pub fn poll(&mut self, tick: u64, now: DateTime) -> &'static str {
        match self.watcher.poll() {
            Change::Unchanged => "unchanged",
            Change::Rejected(e) => {
                tracing::warn!("playlist change rejected, the old one keeps playing: {e}");
                "rejected"
            }
            Change::Reloaded(show) => {
                let at = self.active.timeline.next_boundary(tick);
                let selected = show.select(now).1;
                let active = activate(&show, selected, self.hz, &self.opts, at);
                tracing::info!(
                    playlist = %show.main.file.display(),
                    "playlist reloaded; it takes over at tick {at}"
                );
                self.pending = Some((*show, active, at));
                "reloaded"
            }
        }
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
        }
        let selected = self.show.select(now).1;
        if selected != self.active.selected {
            let name = match selected.and_then(|i| self.show.scheduled.get(i)) {
                Some(p) => p.file.display().to_string(),
                None => "the default items".into(),
            };
            tracing::info!("schedule: now playing {name}");
            self.active = activate(&self.show, selected, self.hz, &self.opts, 0);
        }
        let ts = self.active.timeline.at(tick);
        self.active.deck.prepare(&ts);
        ts
    }

    /// The renderer's scene for a tick just returned by [`Program::tick`].
    pub fn scene(&self, ts: &TickScene) -> Scene<'_> {
        self.active.deck.scene(ts)
    }

    /// The playlist playing.
    pub fn playlist(&self) -> &crate::playlist::Playlist {
        self.active.deck.playlist()
    }
}
