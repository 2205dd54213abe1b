//! When frames show: exact fractions of a second, no floating point.
//!
//! A frame shows from its presentation time until the next frame's. The frame on screen at
//! time `t` is the last one whose presentation time is `<= t`. Display tick `n` of a wall
//! refreshing at `hz` is at `t = n / hz`, so a 30 fps video on a 60 Hz wall shows each frame
//! for exactly two ticks, and 50 fps on 60 Hz shows frame `floor(n · 50 / 60)` at tick `n`
//! (every fifth frame is held for a second tick).

/// An instant or a span in seconds, as the exact fraction `num / den`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time {
    /// Numerator.
    pub num: u128,
    /// Denominator (never 0).
    pub den: u128,
}

impl Time {
    /// Zero.
    pub const ZERO: Time = Time { num: 0, den: 1 };

    /// Display tick `tick` of a wall refreshing at `hz` (`hz` 0 is taken as 1).
    pub fn from_ticks(tick: u64, hz: u32) -> Time {
        Time {
            num: tick as u128,
            den: hz.max(1) as u128,
        }
    }

    /// Seconds from a decimal number, to the microsecond; negative and non-finite values
    /// are 0.
    pub fn from_secs_f64(secs: f64) -> Time {
        let us = if secs.is_finite() && secs > 0.0 {
            (secs * 1e6).round().min(u64::MAX as f64) as u128
        } else {
            0
        };
        Time {
            num: us,
            den: 1_000_000,
        }
    }

    /// As floating-point seconds (messages only).
    pub fn as_secs_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// The number of display ticks at `hz` that start before this time: `ceil(t · hz)`.
    pub fn ticks_before(self, hz: u32) -> u64 {
        let n = self.num * hz.max(1) as u128;
        n.div_ceil(self.den).min(u64::MAX as u128) as u64
    }

    /// The nearest display tick count at `hz`: `round(t · hz)` (halves up).
    pub fn round_ticks(self, hz: u32) -> u64 {
        let n = self.num * hz.max(1) as u128;
        ((2 * n + self.den) / (2 * self.den)).min(u64::MAX as u128) as u64
    }
}

/// How a source's frames are spaced in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timing {
    /// One picture, shown for as long as the item lasts.
    Still,
    /// Frames with their own display times (animations): `ends[i]` is the end of frame `i`
    /// since the start of a pass, in units of `1 / den` seconds (strictly increasing).
    Frames {
        /// Cumulative end time of each frame.
        ends: Vec<u64>,
        /// Units per second.
        den: u64,
        /// Passes the file asks for; `None` = forever.
        loops: Option<u32>,
    },
    /// Frames at a constant rate of `fps_num / fps_den` per second (video, sequences,
    /// moving patterns).
    Rate {
        /// Frame rate numerator.
        fps_num: u64,
        /// Frame rate denominator (never 0).
        fps_den: u64,
        /// Frames in one pass, when known.
        frames: Option<u64>,
    },
}

/// Animation frames shorter than this (in ms) are shown for [`SHORT_DELAY_AS_MS`], as web
/// browsers do: GIFs with a delay of 0 or 1 centisecond were authored for them.
pub const SHORT_DELAY_MAX_MS: u64 = 10;
/// See [`SHORT_DELAY_MAX_MS`].
pub const SHORT_DELAY_AS_MS: u64 = 100;

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Timing {
    /// Frame timing from per-frame delays in milliseconds, each `(numerator, denominator)`
    /// (as `image::Delay` gives them). Delays of at most 10 ms become 100 ms (see
    /// [`SHORT_DELAY_MAX_MS`]). The common denominator is exact unless it would pass 10⁹
    /// units a second; then delays are rounded to microseconds.
    pub fn from_delays_ms(delays: &[(u32, u32)], loops: Option<u32>) -> Timing {
        let delays: Vec<(u64, u64)> = delays
            .iter()
            .map(|&(n, d)| {
                let (n, d) = (n as u64, d.max(1) as u64);
                if n <= SHORT_DELAY_MAX_MS * d {
                    (SHORT_DELAY_AS_MS, 1)
                } else {
                    (n, d)
                }
            })
            .collect();
        // Units of 1 / (1000 · lcm(d)) seconds.
        let mut lcm: u64 = 1;
        for &(_, d) in &delays {
            lcm = lcm / gcd(lcm, d) * d;
            if lcm > 1_000_000 {
                lcm = 0;
                break;
            }
        }
        let (den, scale): (u64, Box<dyn Fn(u64, u64) -> u64>) = if lcm == 0 {
            (1_000_000, Box::new(|n, d| (n * 1000 + d / 2) / d))
        } else {
            (lcm * 1000, Box::new(move |n, d| n * (lcm / d)))
        };
        let mut t = 0u64;
        let ends = delays
            .iter()
            .map(|&(n, d)| {
                t = t.saturating_add(scale(n, d).max(1));
                t
            })
            .collect();
        Timing::Frames { ends, den, loops }
    }

    /// A constant frame rate from a decimal (sequences): exact to 1/1000 fps.
    pub fn from_fps_f64(fps: f64, frames: Option<u64>) -> Timing {
        let milli = if fps.is_finite() && fps > 0.0 {
            ((fps * 1000.0).round() as u64).max(1)
        } else {
            1000
        };
        let g = gcd(milli, 1000);
        Timing::Rate {
            fps_num: milli / g,
            fps_den: 1000 / g,
            frames,
        }
    }

    /// Frames in one pass (1 for a still), when known.
    pub fn frames(&self) -> Option<u64> {
        match self {
            Timing::Still => Some(1),
            Timing::Frames { ends, .. } => Some(ends.len() as u64),
            Timing::Rate { frames, .. } => *frames,
        }
    }

    /// Passes the file itself asks for (animations); `None` = forever or not said.
    pub fn file_loops(&self) -> Option<u32> {
        match self {
            Timing::Frames { loops, .. } => *loops,
            _ => None,
        }
    }

    /// The length of one pass, when it has one.
    pub fn pass_length(&self) -> Option<Time> {
        match self {
            Timing::Still => None,
            Timing::Frames { ends, den, .. } => Some(Time {
                num: ends.last().copied().unwrap_or(0) as u128,
                den: *den as u128,
            }),
            Timing::Rate {
                fps_num,
                fps_den,
                frames,
            } => frames.map(|n| Time {
                num: n as u128 * *fps_den as u128,
                den: (*fps_num).max(1) as u128,
            }),
        }
    }

    /// The frame on screen at time `t` since the start: `(pass, index)`, where passes
    /// repeat the frames when the frame count is known.
    pub fn frame_at(&self, t: Time) -> (u64, u64) {
        match self {
            Timing::Still => (0, 0),
            Timing::Frames { ends, den, .. } => {
                let total = ends.last().copied().unwrap_or(0) as u128;
                if total == 0 {
                    return (0, 0);
                }
                // t in units, floored: a frame starting at an integer unit s shows iff
                // s <= t·den, i.e. s <= floor(t·den).
                let u = t.num * *den as u128 / t.den;
                let pass = (u / total).min(u64::MAX as u128) as u64;
                let r = (u % total) as u64;
                (pass, ends.partition_point(|&e| e <= r) as u64)
            }
            Timing::Rate {
                fps_num,
                fps_den,
                frames,
            } => {
                let idx = t.num * *fps_num as u128 / (t.den * (*fps_den).max(1) as u128);
                let idx = idx.min(u64::MAX as u128) as u64;
                match frames {
                    Some(n) if *n > 0 => (idx / n, idx % n),
                    _ => (0, idx),
                }
            }
        }
    }

    /// Display ticks at `hz` that `passes` passes cover (the ticks whose time is before the
    /// end); `None` for stills and unknown lengths.
    pub fn ticks_for(&self, passes: u64, hz: u32) -> Option<u64> {
        let len = self.pass_length()?;
        Some(
            Time {
                num: len.num * passes as u128,
                den: len.den,
            }
            .ticks_before(hz),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(num: u64, den: u64, frames: Option<u64>) -> Timing {
        Timing::Rate {
            fps_num: num,
            fps_den: den,
            frames,
        }
    }

    #[test]
    fn thirty_fps_on_sixty_hz_shows_each_frame_twice() {
        let t = rate(30, 1, None);
        let shown: Vec<u64> = (0..8)
            .map(|n| t.frame_at(Time::from_ticks(n, 60)).1)
            .collect();
        assert_eq!(shown, [0, 0, 1, 1, 2, 2, 3, 3]);
    }

    #[test]
    fn fifty_fps_on_sixty_hz_repeats_by_presentation_time() {
        let t = rate(50, 1, None);
        let shown: Vec<u64> = (0..13)
            .map(|n| t.frame_at(Time::from_ticks(n, 60)).1)
            .collect();
        // Tick n is at n/60 s; frame k starts at k/50 s.
        assert_eq!(shown, [0, 0, 1, 2, 3, 4, 5, 5, 6, 7, 8, 9, 10]);
        // Sixty ticks show exactly fifty distinct frames.
        let mut distinct: Vec<u64> = (0..60)
            .map(|n| t.frame_at(Time::from_ticks(n, 60)).1)
            .collect();
        distinct.dedup();
        assert_eq!(distinct.len(), 50);
    }

    #[test]
    fn ntsc_rates_are_exact() {
        // 30000/1001 fps on a 60 Hz wall: after 1001 seconds (60060 ticks) exactly 30000
        // frames have started.
        let t = rate(30000, 1001, None);
        assert_eq!(t.frame_at(Time::from_ticks(60060, 60)).1, 30000);
        assert_eq!(t.frame_at(Time::from_ticks(60059, 60)).1, 29999);
    }

    #[test]
    fn frames_with_delays_follow_their_end_times_and_loop() {
        // 100 ms, 50 ms, 150 ms.
        let t = Timing::from_delays_ms(&[(100, 1), (50, 1), (150, 1)], Some(2));
        assert_eq!(t.frames(), Some(3));
        assert_eq!(t.file_loops(), Some(2));
        let at = |s: f64| t.frame_at(Time::from_secs_f64(s));
        assert_eq!(at(0.0), (0, 0));
        assert_eq!(at(0.0999), (0, 0));
        assert_eq!(at(0.1), (0, 1));
        assert_eq!(at(0.15), (0, 2));
        assert_eq!(at(0.2999), (0, 2));
        assert_eq!(at(0.3), (1, 0));
        assert_eq!(at(0.45), (1, 2));
        // 0.3 s a pass: 2 passes on 60 Hz are 36 ticks.
        assert_eq!(t.ticks_for(2, 60), Some(36));
        // On 7 Hz: ticks at k/7 < 0.6 → k < 4.2 → 5 ticks.
        assert_eq!(t.ticks_for(2, 7), Some(5));
    }

    #[test]
    fn short_delays_are_shown_like_browsers_do() {
        let t = Timing::from_delays_ms(&[(0, 1), (10, 1), (20, 1)], None);
        let Timing::Frames { ends, den, .. } = &t else {
            panic!()
        };
        assert_eq!(*den, 1000);
        assert_eq!(ends, &[100, 200, 220]);
    }

    #[test]
    fn fractional_delays_are_exact() {
        // APNG delays of 1/3 s (333.33 ms): three of them are exactly one second.
        let t = Timing::from_delays_ms(&[(1000, 3); 3], None);
        assert_eq!(t.pass_length().map(|l| l.num / l.den), Some(1));
        assert_eq!(t.frame_at(Time::from_ticks(20, 60)), (0, 1));
        assert_eq!(t.frame_at(Time::from_ticks(19, 60)), (0, 0));
        assert_eq!(t.ticks_for(1, 60), Some(60));
    }

    #[test]
    fn rates_with_known_frames_wrap_into_passes() {
        let t = rate(25, 1, Some(10));
        assert_eq!(t.frame_at(Time::from_secs_f64(0.39)), (0, 9));
        assert_eq!(t.frame_at(Time::from_secs_f64(0.4)), (1, 0));
        assert_eq!(t.ticks_for(1, 60), Some(24));
        assert_eq!(t.ticks_for(3, 60), Some(72));
        assert_eq!(rate(25, 1, None).ticks_for(1, 60), None);
        assert_eq!(Timing::Still.ticks_for(1, 60), None);
    }

    #[test]
    fn tick_rounding() {
        assert_eq!(Time::from_secs_f64(0.5).round_ticks(60), 30);
        assert_eq!(Time::from_secs_f64(0.0083).round_ticks(60), 0);
        assert_eq!(Time::from_secs_f64(0.0084).round_ticks(60), 1);
        assert_eq!(Time::from_secs_f64(-1.0), Time::ZERO.into_micro());
        assert_eq!(Time::from_secs_f64(1.0).ticks_before(60), 60);
        assert_eq!(Timing::from_fps_f64(29.97, None), rate(2997, 100, None));
    }

    impl Time {
        fn into_micro(self) -> Time {
            Time {
                num: self.num * 1_000_000 / self.den,
                den: 1_000_000,
            }
        }
    }
}
