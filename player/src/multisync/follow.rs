//! How a remote follows a master: which item, and how to bring its position to the
//! master's, as FPP remotes do (`CalculateNewChannelOutputDelayForFrame` in FPP's
//! `src/channeloutput/channeloutputthread.cpp`), with design §10's jump threshold.
//!
//! Each new sync or start from the master is compared once with the remote's position, in
//! the remote's own frames (`diff = local − master`):
//!
//! * the master names an item other than the one on screen: [`Step::Switch`];
//! * more than [`JUMP_BEYOND_S`] off, either way, or off at all on a start packet (the item
//!   began on the master: a cut there too) or on the first packet followed (at the remote's
//!   start, or when a lost master speaks again): [`Step::Jump`] to the master's frame (FPP
//!   jumps only when behind; ahead it holds one frame per sync);
//! * behind by more than [`SKIP_BEHIND`] frames: [`Step::Skip`] [`SKIP_FRAMES`] frames;
//! * ahead by more than [`HOLD_AHEAD`] frames: [`Step::Hold`] one frame;
//! * then what is left of the difference sets the tick period's factor: 2 or more frames
//!   off stretches it by [`STRETCH_MAX`] (longer when ahead, shorter when behind), and one
//!   frame off ends the stretch only when it pushes the wrong way (FPP's hysteresis). FPP
//!   adds 1 % of the period per frame of difference at every sync, without an upper bound;
//!   design §10 caps the stretch at 1 %.
//! * In step (the same frame), FPP stops stretching, which leaves the remote's ticks
//!   anywhere within a period of the master's: for that share of every period two sections
//!   of one wall show neighbouring frames. A ledwall remote also locks the *phase*: the
//!   sub-frame part of the difference (the master's position is continuous: its frame plus
//!   the time since the packet came) sets a small stretch, [`PHASE_GAIN`] of the period per
//!   frame of difference, so the remote's ticks slide onto the master's within a few syncs
//!   (to within [`PHASE_BAND`] of a period, then the period is nominal again).
//!
//! Between packets the remote plays on by its own clock with the factor last decided. A
//! master silent for longer than the follower's `lost_after` is [`Step::MasterLost`]
//! (once): the factor returns to 1 and the remote keeps its own timeline until the master
//! speaks again.

use super::packet::{Action, FileType};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// More than this far off (seconds, either way): jump to the master's frame.
pub const JUMP_BEYOND_S: f64 = 0.5;
/// Behind by more than this many frames (and not past the jump): skip ahead.
pub const SKIP_BEHIND: i64 = 4;
/// Frames skipped at once when behind (FPP's `FrameSkip = 4`).
pub const SKIP_FRAMES: u32 = 4;
/// Ahead by more than this many frames (and not past the jump): hold one frame.
pub const HOLD_AHEAD: i64 = 2;
/// Largest change of the tick period: the factor stays within 1 ± this.
pub const STRETCH_MAX: f64 = 0.01;
/// In step, the period changes by this share of a period per frame of sub-frame
/// difference: a master syncs every 10 frames, so half the difference is gone at the next
/// sync.
pub const PHASE_GAIN: f64 = 0.05;
/// In step and closer than this (a share of a period), the period is nominal.
pub const PHASE_BAND: f64 = 0.02;
/// How long a master may stay silent before it is lost: FPP's default
/// `RemoteSyncedMediaIdleTimeout` (10 s). A master syncs at least every 10 frames, so this
/// is many missed packets even at low refresh rates.
pub const LOST_AFTER: Duration = Duration::from_secs(10);
/// Seconds at or below this are "no time given": FPP's remote then uses the frame number.
const NO_SECONDS: f32 = 0.0001;

/// The last packet of one file type from the master, as the listener publishes it.
#[derive(Debug, Clone, PartialEq)]
pub struct MasterSync {
    /// Increases with every packet published (over both file types); 0: none yet.
    pub seq: u64,
    /// Start, stop, sync or open.
    pub action: Action,
    /// Frame number in the master's file.
    pub frame: u32,
    /// Seconds into the master's file.
    pub seconds: f32,
    /// The file the master plays.
    pub name: String,
    /// When the packet arrived.
    pub received: Instant,
    /// Who sent it.
    pub from: Option<SocketAddr>,
}

impl MasterSync {
    /// Nothing received yet.
    pub fn empty() -> MasterSync {
        MasterSync {
            seq: 0,
            action: Action::Sync,
            frame: 0,
            seconds: 0.0,
            name: String::new(),
            received: Instant::now(),
            from: None,
        }
    }

    /// Copy `other` into `self`, reusing the name's memory.
    pub fn set_from(&mut self, other: &MasterSync) {
        self.seq = other.seq;
        self.action = other.action;
        self.frame = other.frame;
        self.seconds = other.seconds;
        self.name.clone_from(&other.name);
        self.received = other.received;
        self.from = other.from;
    }
}

/// The master's latest word on each file type (FPP players send both for a sequence with
/// audio: the sequence's name and the audio file's).
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    /// The last sequence (`.fseq`) packet.
    pub sequence: MasterSync,
    /// The last media packet (what ledwall masters send).
    pub media: MasterSync,
}

impl Default for Latest {
    fn default() -> Self {
        Latest {
            sequence: MasterSync::empty(),
            media: MasterSync::empty(),
        }
    }
}

impl Latest {
    /// The slot of a file type.
    pub fn slot_mut(&mut self, file_type: FileType) -> &mut MasterSync {
        match file_type {
            FileType::Sequence => &mut self.sequence,
            FileType::Media => &mut self.media,
        }
    }

    /// Copy `other` into `self` without allocating once names have been seen.
    pub fn set_from(&mut self, other: &Latest) {
        self.sequence.set_from(&other.sequence);
        self.media.set_from(&other.media);
    }

    /// The newest packet of either type, if any.
    pub fn newest(&self) -> Option<&MasterSync> {
        [&self.sequence, &self.media]
            .into_iter()
            .filter(|s| s.seq > 0)
            .max_by_key(|s| s.seq)
    }
}

/// How well a master's file name matches a playlist item's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NameMatch {
    /// Different files.
    None,
    /// The same file name after the last `/` (FPP sends bare file names; playlists often
    /// name media with a folder).
    FileName,
    /// Exactly the source as written in the playlist.
    Exact,
}

/// Compare a master's file name with an item's source.
pub fn name_match(name: &str, source: &str) -> NameMatch {
    fn file_name(s: &str) -> &str {
        s.rsplit('/').next().unwrap_or(s)
    }
    if name == source {
        NameMatch::Exact
    } else if !name.is_empty() && file_name(name) == file_name(source) {
        NameMatch::FileName
    } else {
        NameMatch::None
    }
}

/// The index of the item a master's file name names among `sources` (the playlist's items
/// in order): the first exact match, else the first with the same file name.
pub fn find_item<'s>(sources: impl IntoIterator<Item = &'s str>, name: &str) -> Option<usize> {
    let mut best: Option<(NameMatch, usize)> = None;
    for (i, source) in sources.into_iter().enumerate() {
        let m = name_match(name, source);
        if m > best.map_or(NameMatch::None, |b| b.0) {
            best = Some((m, i));
            if m == NameMatch::Exact {
                break;
            }
        }
    }
    best.map(|b| b.1)
}

/// The remote's own state at this tick.
#[derive(Debug, Clone, Copy)]
pub struct Local<'a> {
    /// The source of the item on screen (`None`: nothing plays).
    pub source: Option<&'a str>,
    /// The frame of that item on screen, counted in the remote's ticks from its start.
    pub frame: u64,
    /// The remote's refresh rate (ticks per second).
    pub refresh_hz: f64,
}

/// What the remote does at this tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step<'m> {
    /// Play on.
    None,
    /// Play the item whose source matches `name` (see [`find_item`]), from `frame`.
    Switch {
        /// The master's file name.
        name: &'m str,
        /// The master's position in the remote's frames.
        frame: u64,
    },
    /// Go to `frame` of the item on screen.
    Jump {
        /// The master's position in the remote's frames.
        frame: u64,
    },
    /// Advance this many frames more than usual at the next tick.
    Skip {
        /// Frames to skip.
        frames: u32,
    },
    /// Show the current frame this many ticks longer.
    Hold {
        /// Ticks to hold.
        frames: u32,
    },
    /// The master went silent: keep the own timeline.
    MasterLost,
}

/// A step and the tick period's factor (nominal period × factor, in
/// [1 − [`STRETCH_MAX`], 1 + [`STRETCH_MAX`]]), which holds until the next decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision<'m> {
    /// What to do now.
    pub step: Step<'m>,
    /// Multiply the tick period by this.
    pub period_factor: f64,
}

/// The remote's correction state: which packet it acted on last, the stretch in force,
/// and whether the master is lost.
#[derive(Debug, Clone)]
pub struct Follower {
    handled: u64,
    /// No packet acted on yet, or none since the master was lost: the next one aligns.
    fresh: bool,
    factor: f64,
    lost: bool,
    lost_after: Duration,
}

impl Default for Follower {
    fn default() -> Self {
        Follower::new(LOST_AFTER)
    }
}

impl Follower {
    /// A follower that declares the master lost after `lost_after` of silence.
    pub fn new(lost_after: Duration) -> Follower {
        Follower {
            handled: 0,
            fresh: true,
            factor: 1.0,
            lost: false,
            lost_after,
        }
    }

    /// Whether the master is lost (no packet for `lost_after`).
    pub fn lost(&self) -> bool {
        self.lost
    }

    /// Decide at the tick at `now`. `playable` says whether the playlist has an item for a
    /// master's file name (packets naming other files, such as an FPP player's sequence
    /// beside the video a ledwall remote plays, are left alone). Allocates nothing.
    pub fn decide<'m>(
        &mut self,
        now: Instant,
        latest: &'m Latest,
        local: &Local<'_>,
        playable: impl Fn(&str) -> bool,
    ) -> Decision<'m> {
        let Some(newest) = latest.newest() else {
            return self.keep(Step::None);
        };
        let silent = now.saturating_duration_since(newest.received);
        if silent > self.lost_after {
            if self.lost {
                return self.keep(Step::None);
            }
            self.lost = true;
            self.fresh = true;
            self.factor = 1.0;
            return self.keep(Step::MasterLost);
        }
        self.lost = false;
        let candidate = [&latest.sequence, &latest.media]
            .into_iter()
            .filter(|s| s.seq > self.handled && playable(&s.name))
            .max_by_key(|s| s.seq);
        let Some(sync) = candidate else {
            return self.keep(Step::None);
        };
        self.handled = sync.seq;
        match sync.action {
            Action::Open => self.keep(Step::None),
            Action::Stop => {
                self.factor = 1.0;
                self.keep(Step::None)
            }
            Action::Start | Action::Sync => self.correct(now, sync, local),
        }
    }

    fn keep<'m>(&self, step: Step<'m>) -> Decision<'m> {
        Decision {
            step,
            period_factor: self.factor,
        }
    }

    fn correct<'m>(
        &mut self,
        now: Instant,
        sync: &'m MasterSync,
        local: &Local<'_>,
    ) -> Decision<'m> {
        let hz = if local.refresh_hz.is_finite() && local.refresh_hz > 0.0 {
            local.refresh_hz
        } else {
            1.0
        };
        // The master kept playing since it sent the packet.
        let age = now.saturating_duration_since(sync.received).as_secs_f64();
        // The master's position now, in the remote's frames, and its nearest frame.
        let exact = if sync.seconds > NO_SECONDS {
            (f64::from(sync.seconds) + age) * hz
        } else {
            f64::from(sync.frame) + age * hz
        };
        let target = exact.round().max(0.0) as u64;
        let on_screen = local
            .source
            .is_some_and(|s| name_match(&sync.name, s) != NameMatch::None);
        if !on_screen {
            self.factor = 1.0;
            return self.keep(Step::Switch {
                name: &sync.name,
                frame: target,
            });
        }
        let diff = local.frame as i64 - target as i64;
        // A start is a cut on the master, and the first packet heard (at the remote's start,
        // or the master's return) is where following begins: a remote already on the item
        // (both started it about together) takes the master's frame at once rather than
        // close a few frames at 1 % (400 ticks for 4 frames).
        let started = (sync.action == Action::Start || self.fresh) && diff != 0;
        self.fresh = false;
        if started || diff.unsigned_abs() as f64 / hz > JUMP_BEYOND_S {
            self.factor = 1.0;
            return self.keep(Step::Jump { frame: target });
        }
        let (step, rest) = if diff < -SKIP_BEHIND {
            (
                Step::Skip {
                    frames: SKIP_FRAMES,
                },
                diff + i64::from(SKIP_FRAMES),
            )
        } else if diff > HOLD_AHEAD {
            (Step::Hold { frames: 1 }, diff - 1)
        } else {
            (Step::None, diff)
        };
        self.factor = match rest {
            r if r > 1 => 1.0 + STRETCH_MAX,
            r if r < -1 => 1.0 - STRETCH_MAX,
            1 if self.factor < 1.0 => 1.0,
            -1 if self.factor > 1.0 => 1.0,
            0 => {
                // The same frame: lock the phase (ahead: longer periods; behind: shorter).
                let phase = local.frame as f64 - exact;
                if phase.abs() < PHASE_BAND || !phase.is_finite() {
                    1.0
                } else {
                    1.0 + (PHASE_GAIN * phase).clamp(-STRETCH_MAX, STRETCH_MAX)
                }
            }
            _ => self.factor,
        };
        self.keep(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HZ: f64 = 30.0;

    /// A follower past its first packet (which aligns at once, see
    /// `the_first_packet_and_a_found_master_align_at_once`).
    fn following(lost_after: Duration) -> Follower {
        Follower {
            fresh: false,
            ..Follower::new(lost_after)
        }
    }

    /// The first packet a remote follows, and the first after its master was lost, align it
    /// at once when it is off at all; later ones at the same distance only stretch.
    #[test]
    fn the_first_packet_and_a_found_master_align_at_once() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut f = Follower::new(Duration::from_secs(2));
        let l = latest(t0, 1, Action::Sync, 10.0, "a");
        assert_eq!(
            f.decide(t0, &l, &local("a", 297), |_| true).step,
            Step::Jump { frame: 300 }
        );
        let l = latest(at(100), 2, Action::Sync, 10.1, "a");
        let d = f.decide(at(100), &l, &local("a", 300), |_| true);
        assert_eq!(d.step, Step::None);
        assert_eq!(d.period_factor, 0.99);
        // Lost, then found again 3 frames off.
        assert_eq!(
            f.decide(at(2200), &l, &local("a", 366), |_| true).step,
            Step::MasterLost
        );
        let l = latest(at(3000), 3, Action::Sync, 13.0, "a");
        assert_eq!(
            f.decide(at(3000), &l, &local("a", 393), |_| true).step,
            Step::Jump { frame: 390 }
        );
    }

    fn latest(t0: Instant, seq: u64, action: Action, seconds: f32, name: &str) -> Latest {
        let mut l = Latest::default();
        let s = l.slot_mut(FileType::Media);
        s.seq = seq;
        s.action = action;
        s.seconds = seconds;
        s.frame = (f64::from(seconds) * HZ).round() as u32;
        s.name = name.to_string();
        s.received = t0;
        l
    }

    fn local(source: &str, frame: u64) -> Local<'_> {
        Local {
            source: Some(source),
            frame,
            refresh_hz: HZ,
        }
    }

    /// One packet at master position 10 s (frame 300 at 30 Hz), the remote at `frame`:
    /// (step, factor) with no stretch in force before.
    #[test]
    fn corrections_by_distance() {
        let cases: &[(u64, Step<'static>, f64)] = &[
            (300, Step::None, 1.0),
            (301, Step::None, 1.0),
            (299, Step::None, 1.0),
            (302, Step::None, 1.01),
            (298, Step::None, 0.99),
            (303, Step::Hold { frames: 1 }, 1.01),
            (304, Step::Hold { frames: 1 }, 1.01),
            (296, Step::None, 0.99),
            (295, Step::Skip { frames: 4 }, 1.0),
            (294, Step::Skip { frames: 4 }, 0.99),
            (286, Step::Skip { frames: 4 }, 0.99),
            // 15 frames = 0.5 s: not more than 0.5 s.
            (285, Step::Skip { frames: 4 }, 0.99),
            (315, Step::Hold { frames: 1 }, 1.01),
            (284, Step::Jump { frame: 300 }, 1.0),
            (316, Step::Jump { frame: 300 }, 1.0),
            (0, Step::Jump { frame: 300 }, 1.0),
            (10_000, Step::Jump { frame: 300 }, 1.0),
        ];
        let t0 = Instant::now();
        let l = latest(t0, 1, Action::Sync, 10.0, "clip.mp4");
        for &(frame, want, factor) in cases {
            let mut f = following(LOST_AFTER);
            let d = f.decide(t0, &l, &local("clip.mp4", frame), |_| true);
            assert_eq!(
                (d.step, d.period_factor),
                (want, factor),
                "remote at {frame}"
            );
            assert!((1.0 - STRETCH_MAX..=1.0 + STRETCH_MAX).contains(&d.period_factor));
        }
    }

    /// In step, the sub-frame difference sets a small stretch toward the master's phase,
    /// none inside the band; behind shortens the period, ahead lengthens it.
    #[test]
    fn in_step_the_phase_sets_a_small_stretch() {
        let t0 = Instant::now();
        // (the remote's frame 300 minus the master's position, in frames; the factor)
        for (phase, factor) in [
            (0.0, 1.0),
            (0.01, 1.0),
            (-0.1, 1.0 - PHASE_GAIN * 0.1),
            (-0.35, 1.0 - STRETCH_MAX),
            (0.1, 1.0 + PHASE_GAIN * 0.1),
            (0.4, 1.0 + STRETCH_MAX),
        ] {
            let mut f = following(LOST_AFTER);
            let seconds = ((300.0 - phase) / HZ) as f32;
            let l = latest(t0, 1, Action::Sync, seconds, "clip.mp4");
            let d = f.decide(t0, &l, &local("clip.mp4", 300), |_| true);
            assert_eq!(d.step, Step::None, "phase {phase}");
            assert!(
                (d.period_factor - factor).abs() < 1e-4,
                "phase {phase}: {d:?}"
            );
        }
    }

    /// A remote ticking 0.45 of a period after a master with the same nominal rate (syncs
    /// every 10 frames, each acted on at the remote's next tick) slides onto the master's
    /// phase and stays there: simulated tick by tick with the decided factors.
    #[test]
    fn the_phase_locks_onto_the_masters_ticks() {
        let t0 = Instant::now();
        let period = 1.0 / HZ;
        let mut f = following(LOST_AFTER);
        let mut factor = 1.0;
        // Remote tick j goes out at `t`, showing frame j of the item.
        let mut t = 0.45 * period;
        let mut seq = 0;
        let mut phase = 0.45;
        for j in 1..400u64 {
            let prev = t;
            t += period * factor;
            // The master's packets between the previous tick and this one (frames 10k at
            // k·10·period); the newest one counts.
            let m = (t / period).floor() as u64;
            if m / 10 != (prev / period).floor() as u64 / 10 {
                seq += 1;
                let frame = m / 10 * 10;
                let mut l = latest(
                    t0 + Duration::from_secs_f64(frame as f64 * period),
                    seq,
                    Action::Sync,
                    (frame as f64 / HZ) as f32,
                    "clip.mp4",
                );
                l.media.frame = frame as u32;
                let d = f.decide(
                    t0 + Duration::from_secs_f64(t),
                    &l,
                    &local("clip.mp4", j),
                    |_| true,
                );
                assert_eq!(d.step, Step::None, "tick {j}");
                factor = d.period_factor;
            }
            // How far (in periods) this tick is after the master's tick of the same frame.
            phase = t / period - j as f64;
            if j > 200 {
                assert!(phase.abs() < 0.05, "tick {j}: phase {phase}");
            }
        }
        assert!(phase.abs() < 0.05, "phase {phase}");
    }

    #[test]
    fn one_frame_off_keeps_a_stretch_that_pushes_the_right_way() {
        let t0 = Instant::now();
        // (remote frame for packets 1, 2, 3 …, factor after each)
        let runs: &[(&[u64], &[f64])] = &[
            (&[302, 301, 300], &[1.01, 1.01, 1.0]),
            (&[302, 299], &[1.01, 1.0]),
            (&[298, 299, 301], &[0.99, 0.99, 1.0]),
            (&[301, 301], &[1.0, 1.0]),
        ];
        for (frames, factors) in runs {
            let mut f = following(LOST_AFTER);
            for (i, (&frame, &want)) in frames.iter().zip(factors.iter()).enumerate() {
                let l = latest(t0, i as u64 + 1, Action::Sync, 10.0, "clip.mp4");
                let d = f.decide(t0, &l, &local("clip.mp4", frame), |_| true);
                assert_eq!(d.period_factor, want, "{frames:?} packet {i}");
            }
        }
    }

    #[test]
    fn acts_once_per_packet_and_extrapolates_its_age() {
        let t0 = Instant::now();
        let l = latest(t0, 1, Action::Sync, 10.0, "clip.mp4");
        let mut f = following(LOST_AFTER);
        // 100 ms after the packet the master is at 10.1 s = frame 303: the remote at 297
        // is 6 behind.
        let later = t0 + Duration::from_millis(100);
        let d = f.decide(later, &l, &local("clip.mp4", 297), |_| true);
        assert_eq!(d.step, Step::Skip { frames: 4 });
        // The same packet again: no second skip; the stretch stays.
        let d = f.decide(later, &l, &local("clip.mp4", 302), |_| true);
        assert_eq!(
            d,
            Decision {
                step: Step::None,
                period_factor: 0.99
            }
        );
    }

    #[test]
    fn switches_to_the_master_item() {
        let t0 = Instant::now();
        let l = latest(t0, 1, Action::Start, 0.0, "media/b.mp4");
        let mut f = following(LOST_AFTER);
        let d = f.decide(t0, &l, &local("media/a.mp4", 40), |_| true);
        assert_eq!(
            d.step,
            Step::Switch {
                name: "media/b.mp4",
                frame: 0
            }
        );
        // Nothing on screen: switch too, at the master's position.
        let l = latest(t0, 2, Action::Sync, 2.0, "b.mp4");
        let idle = Local {
            source: None,
            frame: 0,
            refresh_hz: HZ,
        };
        assert_eq!(
            f.decide(t0, &l, &idle, |_| true).step,
            Step::Switch {
                name: "b.mp4",
                frame: 60
            }
        );
        // A bare file name matches a source with a folder: no switch.
        let l = latest(t0, 3, Action::Sync, 2.0, "b.mp4");
        assert_eq!(
            f.decide(t0, &l, &local("media/b.mp4", 60), |_| true).step,
            Step::None
        );
        // A name the playlist does not have is left alone.
        let l = latest(t0, 4, Action::Sync, 2.0, "show.fseq");
        assert_eq!(
            f.decide(t0, &l, &local("media/b.mp4", 0), |n| n != "show.fseq")
                .step,
            Step::None
        );
    }

    #[test]
    fn follows_the_playable_file_type_of_an_fpp_player() {
        let t0 = Instant::now();
        let mut l = Latest::default();
        l.sequence = MasterSync {
            seq: 2,
            action: Action::Sync,
            frame: 200,
            seconds: 5.0,
            name: "show.fseq".into(),
            received: t0,
            from: None,
        };
        l.media = MasterSync {
            seq: 1,
            name: "song.mp4".into(),
            ..l.sequence.clone()
        };
        let mut f = following(LOST_AFTER);
        let d = f.decide(t0, &l, &local("song.mp4", 100), |n| n == "song.mp4");
        assert_eq!(d.step, Step::Jump { frame: 150 });
    }

    #[test]
    fn start_stop_open_and_frame_only_packets() {
        let t0 = Instant::now();
        let mut f = following(LOST_AFTER);
        let l = latest(t0, 1, Action::Sync, 10.0, "a");
        assert_eq!(
            f.decide(t0, &l, &local("a", 302), |_| true).period_factor,
            1.01
        );
        // A stop ends the stretch; the remote plays on.
        let l = latest(t0, 2, Action::Stop, 0.0, "a");
        assert_eq!(
            f.decide(t0, &l, &local("a", 400), |_| true),
            Decision {
                step: Step::None,
                period_factor: 1.0
            }
        );
        // Open: nothing.
        let l = latest(t0, 3, Action::Open, 0.0, "b");
        assert_eq!(
            f.decide(t0, &l, &local("a", 400), |_| true).step,
            Step::None
        );
        // Seconds 0: the frame number counts (FPP's rule), advanced by the packet's age.
        let mut l = latest(t0, 4, Action::Sync, 0.0, "a");
        l.media.frame = 90;
        let d = f.decide(t0 + Duration::from_millis(100), &l, &local("a", 0), |_| {
            true
        });
        assert_eq!(d.step, Step::Jump { frame: 93 });
        // A start on the item on screen: off by 3 frames (behind or ahead), the remote takes
        // the master's frame at once; in step, nothing.
        for (seq, remote, step) in [
            (5, 0, Step::Jump { frame: 3 }),
            (6, 6, Step::Jump { frame: 3 }),
            (7, 3, Step::None),
        ] {
            let mut l = latest(t0, seq, Action::Start, 0.0, "a");
            l.media.frame = 3;
            let d = f.decide(t0, &l, &local("a", remote), |_| true);
            assert_eq!(d.step, step, "start at 3, remote at {remote}");
        }
        // The same distance in a sync only stretches the period.
        let mut l = latest(t0, 8, Action::Sync, 0.0, "a");
        l.media.frame = 3;
        let d = f.decide(t0, &l, &local("a", 0), |_| true);
        assert_eq!(
            d,
            Decision {
                step: Step::None,
                period_factor: 0.99
            }
        );
    }

    #[test]
    fn a_silent_master_is_lost_once_and_found_again() {
        let t0 = Instant::now();
        let mut f = following(Duration::from_secs(2));
        let none = Latest::default();
        assert_eq!(
            f.decide(t0, &none, &local("a", 0), |_| true).step,
            Step::None
        );
        let l = latest(t0, 1, Action::Sync, 10.0, "a");
        assert_eq!(
            f.decide(t0, &l, &local("a", 298), |_| true).period_factor,
            0.99
        );
        let at = |ms| t0 + Duration::from_millis(ms);
        assert_eq!(
            f.decide(at(1900), &l, &local("a", 355), |_| true)
                .period_factor,
            0.99
        );
        assert!(!f.lost());
        let d = f.decide(at(2100), &l, &local("a", 361), |_| true);
        assert_eq!(
            d,
            Decision {
                step: Step::MasterLost,
                period_factor: 1.0
            }
        );
        assert!(f.lost());
        assert_eq!(
            f.decide(at(5000), &l, &local("a", 450), |_| true).step,
            Step::None
        );
        // A new packet: followed again.
        let l = latest(at(6000), 2, Action::Sync, 16.0, "a");
        let d = f.decide(at(6000), &l, &local("a", 400), |_| true);
        assert_eq!(d.step, Step::Jump { frame: 480 });
        assert!(!f.lost());
    }

    #[test]
    fn finds_items_by_name() {
        let sources = [
            "media/a.mp4",
            "b.png",
            "other/a.mp4",
            "a.mp4",
            "pattern:bars",
        ];
        assert_eq!(find_item(sources, "a.mp4"), Some(3));
        assert_eq!(find_item(sources, "other/a.mp4"), Some(2));
        assert_eq!(find_item(sources, "x/a.mp4"), Some(0));
        assert_eq!(find_item(sources, "c.mp4"), None);
        assert_eq!(find_item(sources, "pattern:bars"), Some(4));
        assert_eq!(name_match("", "a/"), NameMatch::None);
    }
}
