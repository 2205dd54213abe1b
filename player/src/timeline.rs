//! The timeline: a pure function from display tick `n` to what the wall shows.
//!
//! A [`Timeline`] is built once per playlist from the items' media timings (probed when the
//! playlist is loaded; an item whose media cannot be opened has no timing and is left out)
//! and the wall's refresh rate. Everything after that is integer arithmetic on ticks and
//! exact fractions, so the same files and the same epoch give the same scene for the same
//! tick on every machine (design §10).
//!
//! * **Item length** in ticks: `round(duration · hz)` when the item gives a `duration`
//!   (at least one tick); otherwise stills and patterns show for
//!   [`DEFAULT_STILL_SECONDS`](crate::playlist::DEFAULT_STILL_SECONDS), and animations,
//!   sequences and video play `loops` passes (or the file's own loop count, or one pass):
//!   the ticks whose presentation time falls before the end, `ceil(passes · length · hz)`.
//!   A live source (a stream, a capture device, the desktop) without a `duration` lasts
//!   [`MAX_SECONDS`]: until the schedule changes.
//! * **Source frame**: tick `j` of an item is at `t = j / hz` seconds into it; the frame
//!   shown is the last one whose presentation time is `<= t` ([`Timing::frame_at`]), so a
//!   30 fps video on 60 Hz shows each frame twice and 50 fps on 60 Hz holds every fifth
//!   frame for a second tick. When `duration` is longer than the media, the media loops.
//! * **Crossfade**: an item with `transition = { kind = "crossfade", duration = d }` mixes
//!   over its first `D = round(d · hz)` ticks (at most the item's length): at its tick
//!   `j < D` the incoming item has weight `(j + 1) / (D + 1)` and the previous item, frozen
//!   on its last frame, the rest. The first item of the first pass fades in from the
//!   background; on later passes it fades from the last item.
//! * **End**: a looped playlist repeats; one with `loop = false` holds the last frame of its
//!   last item.

use crate::media::{Time, Timing};
use crate::playlist::{DEFAULT_STILL_SECONDS, MAX_SECONDS, Playlist, Transition};

/// One item placed on the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// Index of the item in [`Playlist::items`].
    pub item: usize,
    /// First tick, counted from the start of a pass through the playlist.
    pub start: u64,
    /// Length in ticks (at least 1).
    pub ticks: u64,
    /// Crossfade ticks at its start (0 for a cut).
    pub fade: u64,
    /// Its media's timing.
    pub timing: Timing,
}

/// An item on screen at a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    /// Index of the item in [`Playlist::items`].
    pub item: usize,
    /// The source frame to show (within one pass of the media).
    pub frame: u64,
    /// Ticks since the item started.
    pub local_tick: u64,
}

/// What the wall shows at one tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickScene {
    /// The tick.
    pub tick: u64,
    /// The item playing; `None`: nothing plays (an empty playlist), show the background.
    pub current: Option<Shown>,
    /// During a crossfade: the item fading out. `None` with a weight below 1: fading in
    /// from the background.
    pub outgoing: Option<Shown>,
    /// Weight of `current` as an exact fraction `(num, den)`; the outgoing item (or the
    /// background) gets the rest.
    pub weight: (u64, u64),
}

impl TickScene {
    /// The current item's weight as a float (what the renderer takes).
    pub fn weight_f32(&self) -> f32 {
        self.weight.0 as f32 / self.weight.1.max(1) as f32
    }

    /// Whether a crossfade is in progress.
    pub fn fading(&self) -> bool {
        self.weight.0 < self.weight.1
    }
}

/// A playlist laid out on display ticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    hz: u32,
    /// The tick at which the first item first starts (the playlist's epoch in ticks).
    anchor: u64,
    /// Ticks of the cycle already behind the playlist at the anchor: a jump to item `k` at
    /// a tick earlier than `k`'s start sets the anchor to 0 and this to the difference.
    skip: u64,
    placed: Vec<Placed>,
    cycle: u64,
    looped: bool,
}

/// The number of ticks an item lasts, given its media timing.
pub fn item_ticks(
    duration: Option<f64>,
    loops: Option<u32>,
    timing: &Timing,
    hz: u32,
) -> Option<u64> {
    if let Some(d) = duration {
        return Some(Time::from_secs_f64(d).round_ticks(hz).max(1));
    }
    match timing {
        Timing::Still => Some(
            Time::from_secs_f64(DEFAULT_STILL_SECONDS)
                .round_ticks(hz)
                .max(1),
        ),
        t => {
            let passes = loops.or(t.file_loops()).unwrap_or(1).max(1);
            t.ticks_for(passes as u64, hz).map(|n| n.max(1))
        }
    }
}

impl Timeline {
    /// Lay out `playlist` at `hz`. `timings[i]` is the timing of item `i`'s media, `None`
    /// when it could not be opened (the item is skipped). Items whose length cannot be known
    /// (a video without a frame count and no `duration`) are skipped too; [`Timeline::new`]
    /// logs each skip. `anchor` is the tick at which the first item starts.
    pub fn new(playlist: &Playlist, hz: u32, timings: &[Option<Timing>], anchor: u64) -> Timeline {
        let hz = hz.max(1);
        let mut placed = Vec::new();
        let mut start = 0u64;
        for (i, item) in playlist.items.iter().enumerate() {
            let Some(Some(timing)) = timings.get(i) else {
                continue;
            };
            // A live item without a duration plays until the schedule changes (design §12).
            let length = if item.open_ended() {
                Some(Time::from_secs_f64(MAX_SECONDS).round_ticks(hz))
            } else {
                item_ticks(item.duration, item.loops, timing, hz)
            };
            let Some(ticks) = length else {
                tracing::warn!(
                    playlist = %playlist.file.display(),
                    item = item.index,
                    source = %item.source,
                    "skipping item: its length is unknown; give it a duration"
                );
                continue;
            };
            let fade = match item.transition {
                Transition::Cut => 0,
                Transition::Crossfade { duration } => {
                    Time::from_secs_f64(duration).round_ticks(hz).min(ticks)
                }
            };
            placed.push(Placed {
                item: i,
                start,
                ticks,
                fade,
                timing: timing.clone(),
            });
            start = start.saturating_add(ticks);
        }
        Timeline {
            hz,
            anchor,
            skip: 0,
            placed,
            cycle: start,
            looped: playlist.looped,
        }
    }

    /// Re-anchor the timeline so that the placed item `k` (an index into
    /// [`Timeline::placed`]) starts at `tick`, in the first pass (a playlist with
    /// `loop = false` then plays on from there to its end). What follows plays as laid out.
    /// Out-of-range `k` does nothing. Returns whether the timeline moved.
    pub fn start_item_at(&mut self, k: usize, tick: u64) -> bool {
        self.place_item_at(k, tick, 0)
    }

    /// Re-anchor the timeline so that at `tick` the placed item `k` is `local` ticks in
    /// (it started `local` ticks before `tick`), in the first pass; `local` past the item's
    /// end is its last tick. A MultiSync remote follows its master with it. Out-of-range
    /// `k` does nothing. Returns whether the timeline moved.
    pub fn place_item_at(&mut self, k: usize, tick: u64, local: u64) -> bool {
        let Some(p) = self.placed.get(k) else {
            return false;
        };
        let pos = p.start + local.min(p.ticks - 1);
        if tick >= pos {
            self.anchor = tick - pos;
            self.skip = 0;
        } else {
            self.anchor = tick;
            self.skip = pos;
        }
        true
    }

    /// The position in [`Timeline::placed`] of the playlist item `item`, when it plays.
    pub fn placed_index(&self, item: usize) -> Option<usize> {
        self.placed.iter().position(|p| p.item == item)
    }

    /// Display rate.
    pub fn hz(&self) -> u32 {
        self.hz
    }

    /// The tick the first item starts at.
    pub fn anchor(&self) -> u64 {
        self.anchor
    }

    /// Ticks in one pass through the playlist.
    pub fn cycle_ticks(&self) -> u64 {
        self.cycle
    }

    /// The items that play, in order.
    pub fn placed(&self) -> &[Placed] {
        &self.placed
    }

    /// Whether anything plays.
    pub fn is_empty(&self) -> bool {
        self.placed.is_empty()
    }

    fn shown(&self, p: &Placed, local: u64) -> Shown {
        let (_, frame) = p.timing.frame_at(Time::from_ticks(local, self.hz));
        Shown {
            item: p.item,
            frame,
            local_tick: local,
        }
    }

    /// What shows at `tick` (ticks before the anchor show the first tick's scene).
    pub fn at(&self, tick: u64) -> TickScene {
        let full = (1, 1);
        if self.placed.is_empty() || self.cycle == 0 {
            return TickScene {
                tick,
                current: None,
                outgoing: None,
                weight: full,
            };
        }
        let local = tick.saturating_sub(self.anchor) + self.skip;
        let (pass, pos) = (local / self.cycle, local % self.cycle);
        if !self.looped && pass > 0 {
            // Hold the last frame of the last item.
            let last = &self.placed[self.placed.len() - 1];
            return TickScene {
                tick,
                current: Some(self.shown(last, last.ticks - 1)),
                outgoing: None,
                weight: full,
            };
        }
        let k = self.placed.partition_point(|p| p.start <= pos) - 1;
        let p = &self.placed[k];
        let j = pos - p.start;
        let current = Some(self.shown(p, j));
        if j >= p.fade {
            return TickScene {
                tick,
                current,
                outgoing: None,
                weight: full,
            };
        }
        let prev = if k > 0 {
            Some(&self.placed[k - 1])
        } else if pass > 0 {
            self.placed.last()
        } else {
            None
        };
        TickScene {
            tick,
            current,
            outgoing: prev.map(|q| self.shown(q, q.ticks - 1)),
            weight: (j + 1, p.fade + 1),
        }
    }

    /// The first tick at or after `tick` where an item starts: where a reloaded playlist
    /// may take over (the anchor, before it). A finished playlist (`loop = false`, past its end) returns `tick`.
    pub fn next_boundary(&self, tick: u64) -> u64 {
        if tick < self.anchor {
            return self.anchor;
        }
        if self.placed.is_empty() || self.cycle == 0 {
            return tick;
        }
        let local = tick - self.anchor + self.skip;
        let (pass, pos) = (local / self.cycle, local % self.cycle);
        if !self.looped && pass > 0 {
            return tick;
        }
        match self.placed.iter().find(|p| p.start >= pos) {
            Some(p) => tick + (p.start - pos),
            None => tick + (self.cycle - pos),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn playlist(text: &str) -> Playlist {
        Playlist::from_text(text, Path::new("/p/show.toml")).unwrap()
    }

    fn gif_100ms(frames: usize) -> Timing {
        Timing::from_delays_ms(&vec![(100, 1); frames], None)
    }

    fn video(fps: u64, frames: u64) -> Timing {
        Timing::Rate {
            fps_num: fps,
            fps_den: 1,
            frames: Some(frames),
        }
    }

    const SHOW: &str = r#"
[[items]]
source = "a.png"
duration = 1.0
[[items]]
source = "b.gif"
transition = { kind = "crossfade", duration = 0.05 }
[[items]]
source = "c.mp4"
loops = 2
"#;

    /// A live item lasts its duration; without one, until the schedule changes (a year of
    /// ticks), never the still's default.
    #[test]
    fn live_items_last_their_duration_or_until_the_schedule_changes() {
        let p = playlist(
            "[[items]]\nsource = \"udp://127.0.0.1:5000\"\nduration = 2.0\n\
             [[items]]\nsource = \"screen:\"\n",
        );
        let t = Timeline::new(&p, 60, &[Some(Timing::Still), Some(Timing::Still)], 0);
        let ticks: Vec<u64> = t.placed().iter().map(|pl| pl.ticks).collect();
        assert_eq!(ticks, [120, (MAX_SECONDS * 60.0) as u64]);
    }

    fn show_timeline(anchor: u64) -> Timeline {
        let p = playlist(SHOW);
        let timings = [Some(Timing::Still), Some(gif_100ms(4)), Some(video(30, 15))];
        Timeline::new(&p, 60, &timings, anchor)
    }

    #[test]
    fn an_item_can_be_started_at_any_tick() {
        let mut t = show_timeline(0);
        // Item 2 (placed third, start 84) from tick 10: before its own start in the cycle.
        assert!(t.start_item_at(2, 10));
        let at = t.at(10).current.unwrap();
        assert_eq!((at.item, at.local_tick, at.frame), (2, 0, 0));
        assert_eq!(t.at(69).current.unwrap().item, 2);
        // Then the playlist goes on from the top, with item 1's crossfade from item 0.
        assert_eq!(t.at(70).current.unwrap().item, 0);
        assert_eq!(t.next_boundary(11), 70);
        // Item 1 from a late tick: it fades in from item 0 as laid out.
        assert!(t.start_item_at(1, 1000));
        let s = t.at(1000);
        assert_eq!(s.current.unwrap().item, 1);
        assert_eq!(s.outgoing.unwrap().item, 0);
        assert_eq!(t.at(1024).current.unwrap().item, 2);
        assert_eq!(t.next_boundary(1001), 1024);
        assert!(!t.start_item_at(3, 5), "no fourth item");
        assert_eq!(t.placed_index(2), Some(2));
    }

    #[test]
    fn an_item_can_be_placed_at_a_position_at_any_tick() {
        let mut t = show_timeline(0);
        let at = |t: &Timeline, tick| {
            let c = t.at(tick).current.unwrap();
            (c.item, c.local_tick)
        };
        // Item 0 (60 ticks) 30 ticks in at tick 10: it ends at tick 40, item 1 follows.
        assert!(t.place_item_at(0, 10, 30));
        assert_eq!(at(&t, 10), (0, 30));
        assert_eq!(at(&t, 39), (0, 59));
        assert_eq!(at(&t, 40), (1, 0));
        // Item 2 (start 84, 60 ticks) 50 ticks in at tick 5: earlier than its own place in
        // the cycle; then the next pass from the top.
        assert!(t.place_item_at(2, 5, 50));
        assert_eq!(at(&t, 5), (2, 50));
        assert_eq!(at(&t, 14), (2, 59));
        assert_eq!(at(&t, 15), (0, 0));
        // Late ticks, and a position past the item's end is its last tick.
        assert!(t.place_item_at(2, 100_000, 3));
        assert_eq!(at(&t, 100_000), (2, 3));
        assert_eq!(at(&t, 100_001), (2, 4));
        assert!(t.place_item_at(1, 500, 1000));
        assert_eq!(at(&t, 500), (1, 23));
        assert_eq!(at(&t, 501), (2, 0));
        assert!(!t.place_item_at(3, 5, 0), "no fourth item");
        // Position 0 is start_item_at.
        let mut u = show_timeline(0);
        u.start_item_at(1, 77);
        t.place_item_at(1, 77, 0);
        assert_eq!(t, u);
    }

    #[test]
    fn items_are_laid_out_by_their_lengths() {
        let t = show_timeline(0);
        let lay: Vec<(usize, u64, u64, u64)> = t
            .placed()
            .iter()
            .map(|p| (p.item, p.start, p.ticks, p.fade))
            .collect();
        // a: 1 s = 60 ticks; b: 4 × 100 ms = 24 ticks, 3 fading; c: 2 × 0.5 s = 60 ticks.
        assert_eq!(lay, [(0, 0, 60, 0), (1, 60, 24, 3), (2, 84, 60, 0)]);
        assert_eq!(t.cycle_ticks(), 144);
    }

    #[test]
    fn frames_follow_presentation_time() {
        let t = show_timeline(0);
        // The GIF's frames change every 6 ticks at 60 Hz.
        let gif: Vec<u64> = (60..84).map(|n| t.at(n).current.unwrap().frame).collect();
        let want: Vec<u64> = (0..24).map(|j| j / 6).collect();
        assert_eq!(gif, want);
        // 30 fps on 60 Hz: each frame twice; the second pass starts again at frame 0.
        let vid: Vec<u64> = (84..144).map(|n| t.at(n).current.unwrap().frame).collect();
        let want: Vec<u64> = (0..60).map(|j| (j / 2) % 15).collect();
        assert_eq!(vid, want);
    }

    #[test]
    fn a_crossfade_mixes_from_the_previous_items_last_frame() {
        let t = show_timeline(0);
        let s = t.at(59);
        assert_eq!(
            (s.current.unwrap().item, s.outgoing, s.weight),
            (0, None, (1, 1))
        );
        let w: Vec<(u64, u64)> = (60..64).map(|n| t.at(n).weight).collect();
        assert_eq!(w, [(1, 4), (2, 4), (3, 4), (1, 1)]);
        let s = t.at(61);
        assert_eq!(s.current.unwrap().item, 1);
        assert_eq!(
            s.outgoing,
            Some(Shown {
                item: 0,
                frame: 0,
                local_tick: 59
            })
        );
        assert!(s.fading() && !t.at(63).fading());
        assert_eq!(t.at(61).weight_f32(), 0.5);
    }

    #[test]
    fn the_playlist_loops_and_the_first_item_fades_from_the_last_after_the_first_pass() {
        let p = playlist(
            "[[items]]\nsource = \"a.png\"\nduration = 1.0\n\
             transition = { kind = \"crossfade\", duration = 0.5 }\n\
             [[items]]\nsource = \"b.png\"\nduration = 1.0\n",
        );
        let t = Timeline::new(&p, 10, &[Some(Timing::Still), Some(Timing::Still)], 0);
        // First pass: fade in from the background.
        let s = t.at(0);
        assert_eq!((s.outgoing, s.weight), (None, (1, 6)));
        // Second pass: from item 1.
        let s = t.at(20);
        assert_eq!(s.outgoing.map(|o| o.item), Some(1));
        assert_eq!(s.current.map(|c| (c.item, c.local_tick)), Some((0, 0)));
        assert_eq!(t.at(35).current.map(|c| c.item), Some(1));
    }

    #[test]
    fn the_same_tick_gives_the_same_scene_and_the_anchor_shifts_it() {
        let a = show_timeline(0);
        let b = show_timeline(0);
        let c = show_timeline(1000);
        for n in [0, 1, 59, 60, 61, 100, 143, 144, 10_000, u32::MAX as u64] {
            assert_eq!(a.at(n), b.at(n));
            let shifted = c.at(n + 1000);
            assert_eq!(
                (shifted.current, shifted.outgoing, shifted.weight),
                (a.at(n).current, a.at(n).outgoing, a.at(n).weight)
            );
        }
    }

    #[test]
    fn a_finished_playlist_holds_its_last_frame() {
        let p = playlist(
            "loop = false\n[[items]]\nsource = \"a.png\"\nduration = 0.5\n\
             [[items]]\nsource = \"c.mp4\"\n",
        );
        let t = Timeline::new(&p, 60, &[Some(Timing::Still), Some(video(30, 10))], 0);
        assert_eq!(t.cycle_ticks(), 30 + 20);
        let end = t.at(49).current.unwrap();
        assert_eq!((end.item, end.frame), (1, 9));
        assert_eq!(t.at(50).current, t.at(49).current);
        assert_eq!(t.at(1_000_000).current, t.at(49).current);
        assert_eq!(t.next_boundary(60), 60);
    }

    #[test]
    fn unopenable_items_are_skipped_and_an_empty_timeline_shows_the_background() {
        let p = playlist(SHOW);
        let t = Timeline::new(&p, 60, &[Some(Timing::Still), None, Some(video(30, 15))], 0);
        let items: Vec<usize> = t.placed().iter().map(|p| p.item).collect();
        assert_eq!(items, [0, 2]);
        assert_eq!(t.at(60).current.unwrap().item, 2);
        // A video of unknown length without a duration cannot be placed.
        let unknown = Timing::Rate {
            fps_num: 25,
            fps_den: 1,
            frames: None,
        };
        let t = Timeline::new(&p, 60, &[None, None, Some(unknown)], 0);
        assert!(t.is_empty());
        let s = t.at(5);
        assert_eq!((s.current, s.outgoing, s.weight), (None, None, (1, 1)));
    }

    #[test]
    fn durations_longer_than_an_animation_loop_it() {
        let p = playlist("[[items]]\nsource = \"b.gif\"\nduration = 1.0\n");
        let t = Timeline::new(&p, 60, &[Some(gif_100ms(4))], 0);
        assert_eq!(t.cycle_ticks(), 60);
        // 0.4 s a pass: tick 24 (0.4 s) is frame 0 again, tick 30 (0.5 s) frame 1.
        assert_eq!(t.at(24).current.unwrap().frame, 0);
        assert_eq!(t.at(30).current.unwrap().frame, 1);
    }

    #[test]
    fn the_files_loop_count_is_used_when_the_item_gives_none() {
        let p = playlist("[[items]]\nsource = \"b.gif\"\n");
        let three = Timing::from_delays_ms(&[(100, 1); 4], Some(3));
        let t = Timeline::new(&p, 60, &[Some(three)], 0);
        assert_eq!(t.cycle_ticks(), 72);
        let p = playlist("[[items]]\nsource = \"b.gif\"\nloops = 1\n");
        let three = Timeline::new(
            &p,
            60,
            &[Some(Timing::from_delays_ms(&[(100, 1); 4], Some(3)))],
            0,
        );
        assert_eq!(three.cycle_ticks(), 24);
    }

    #[test]
    fn next_boundary_is_the_next_item_start() {
        let t = show_timeline(100);
        assert_eq!(t.next_boundary(0), 100);
        assert_eq!(t.next_boundary(100), 100);
        assert_eq!(t.next_boundary(101), 160);
        assert_eq!(t.next_boundary(160), 160);
        assert_eq!(t.next_boundary(185), 244);
        assert_eq!(t.next_boundary(244), 244);
        assert_eq!(t.next_boundary(245), 304);
    }

    #[test]
    fn still_defaults_and_minimum_length() {
        assert_eq!(item_ticks(None, None, &Timing::Still, 60), Some(600));
        assert_eq!(item_ticks(Some(0.001), None, &Timing::Still, 60), Some(1));
        assert_eq!(item_ticks(Some(2.0), None, &video(30, 3), 50), Some(100));
        assert_eq!(item_ticks(None, Some(2), &video(30, 3), 60), Some(12));
    }
}
