//! The brightness the render thread applies at each tick: a level (the wall's own, the
//! brightness schedule's, or the control API's override) and a blackout, each moving
//! between values in a linear fade counted in ticks, so the same commands at the same
//! ticks give the same frames.
//!
//! The multiplier handed to the renderer is `level × (1 − blackout)`, where `blackout`
//! fades from 0 to 1 (and back). A level set through the API holds until the next
//! scheduled change; the schedule then takes over again (design §12).

use super::telemetry::LevelSource;
use jiff::civil::DateTime;

/// A value moving linearly from `from` to `to` over `ticks` ticks from tick `start`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ramp {
    from: f32,
    to: f32,
    start: u64,
    ticks: u64,
}

impl Ramp {
    fn fixed(v: f32) -> Ramp {
        Ramp {
            from: v,
            to: v,
            start: 0,
            ticks: 0,
        }
    }

    fn at(&self, tick: u64) -> f32 {
        if self.ticks == 0 || tick >= self.start.saturating_add(self.ticks) {
            return self.to;
        }
        if tick <= self.start {
            return self.from;
        }
        let t = (tick - self.start) as f64 / self.ticks as f64;
        (f64::from(self.from) + (f64::from(self.to) - f64::from(self.from)) * t) as f32
    }

    /// Move to `to` from wherever it is at `tick`.
    fn retarget(&mut self, tick: u64, to: f32, ticks: u64) {
        *self = Ramp {
            from: self.at(tick),
            to,
            start: tick,
            ticks,
        };
    }
}

/// Brightness level and blackout over ticks.
#[derive(Debug, Clone)]
pub struct Dimmer {
    hz: u32,
    level: Ramp,
    source: LevelSource,
    black: Ramp,
    blackout: bool,
    /// The scheduled state last seen (entry, when its window began): a change of it is a
    /// "scheduled change".
    scheduled: Option<Option<(usize, DateTime)>>,
}

/// Clamp a level to 0..=1 (NaN → 0).
pub fn clamp_level(v: f64) -> f32 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(0.0, 1.0) as f32
    }
}

impl Dimmer {
    /// Full level, no blackout, at `hz` ticks a second.
    pub fn new(hz: u32) -> Dimmer {
        Dimmer {
            hz: hz.max(1),
            level: Ramp::fixed(1.0),
            source: LevelSource::Wall,
            black: Ramp::fixed(0.0),
            blackout: false,
            scheduled: None,
        }
    }

    fn ticks(&self, seconds: f64) -> u64 {
        if seconds.is_finite() && seconds > 0.0 {
            (seconds * f64::from(self.hz)).round() as u64
        } else {
            0
        }
    }

    /// The control API's override: fade to `level` over `fade_s` seconds from `tick`.
    pub fn set_level(&mut self, tick: u64, level: f64, fade_s: f64) {
        let ticks = self.ticks(fade_s);
        self.level.retarget(tick, clamp_level(level), ticks);
        self.source = LevelSource::Api;
    }

    /// Blackout on or off, fading over `fade_s` seconds from `tick`.
    pub fn set_blackout(&mut self, tick: u64, on: bool, fade_s: f64) {
        let ticks = self.ticks(fade_s);
        self.black.retarget(tick, if on { 1.0 } else { 0.0 }, ticks);
        self.blackout = on;
    }

    /// The schedule's state at `tick`: `key` identifies the matching entry and its window
    /// (`None`: no entry matches, the wall's level 1 applies). When it differs from the
    /// last one seen, the level fades to `level` over `fade_s` (the first call jumps), and
    /// an API override ends.
    pub fn schedule(&mut self, tick: u64, key: Option<(usize, DateTime)>, level: f64, fade_s: f64) {
        if self.scheduled == Some(key) {
            return;
        }
        let first = self.scheduled.is_none();
        self.scheduled = Some(key);
        let ticks = if first { 0 } else { self.ticks(fade_s) };
        self.level.retarget(tick, clamp_level(level), ticks);
        self.source = if key.is_some() {
            LevelSource::Schedule
        } else {
            LevelSource::Wall
        };
    }

    /// The level at `tick` (before the blackout).
    pub fn level(&self, tick: u64) -> f32 {
        self.level.at(tick)
    }

    /// The level a fade in progress moves to.
    pub fn target(&self) -> f32 {
        self.level.to
    }

    /// Who set the level.
    pub fn source(&self) -> LevelSource {
        self.source
    }

    /// Whether a blackout is asked for (it may still be fading).
    pub fn blackout(&self) -> bool {
        self.blackout
    }

    /// The multiplier for the renderer at `tick`.
    pub fn effective(&self, tick: u64) -> f32 {
        let v = self.level.at(tick) * (1.0 - self.black.at(tick));
        v.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fades_are_linear_in_ticks_and_restart_from_where_they_are() {
        let mut d = Dimmer::new(100);
        assert_eq!(d.effective(0), 1.0);
        d.set_level(10, 0.5, 0.1); // 10 ticks
        assert_eq!(d.effective(10), 1.0);
        assert!((d.effective(15) - 0.75).abs() < 1e-6);
        assert_eq!(d.effective(20), 0.5);
        assert_eq!(d.source(), LevelSource::Api);
        // Retarget half-way through a fade: from the value there.
        d.set_level(100, 1.0, 1.0);
        assert!((d.level(149) - 0.745).abs() < 1e-6);
        d.set_level(149, 0.0, 1.0);
        assert!(
            (d.level(149) - 0.745).abs() < 1e-6,
            "a new fade starts where the old one is"
        );
        assert!((d.level(199) - 0.3725).abs() < 1e-6);
        assert_eq!(d.effective(249), 0.0);
    }

    #[test]
    fn blackout_multiplies_and_fades_back() {
        let mut d = Dimmer::new(10);
        d.set_level(0, 0.8, 0.0);
        d.set_blackout(0, true, 1.0);
        assert!((d.effective(5) - 0.4).abs() < 1e-6);
        assert_eq!(d.effective(10), 0.0);
        assert!(d.blackout());
        d.set_blackout(20, false, 0.0);
        assert!((d.effective(20) - 0.8).abs() < 1e-6);
    }

    #[test]
    fn an_override_holds_until_the_next_scheduled_change() {
        let mut d = Dimmer::new(10);
        let since = jiff::civil::date(2026, 12, 6).at(18, 0, 0, 0);
        d.schedule(0, Some((0, since)), 0.3, 5.0);
        assert_eq!(
            d.effective(0),
            0.3,
            "the first schedule state applies at once"
        );
        assert_eq!(d.source(), LevelSource::Schedule);
        d.set_level(10, 0.9, 0.0);
        d.schedule(20, Some((0, since)), 0.3, 5.0);
        assert_eq!(d.effective(20), 0.9, "the same window: the override holds");
        d.schedule(30, None, 1.0, 2.0);
        assert_eq!(d.source(), LevelSource::Wall);
        assert_eq!(d.effective(40), 0.95, "fading to 1 over 20 ticks");
        assert_eq!(d.effective(50), 1.0);
    }

    #[test]
    fn levels_are_clamped() {
        assert_eq!(clamp_level(f64::NAN), 0.0);
        assert_eq!(clamp_level(2.0), 1.0);
        assert_eq!(clamp_level(-1.0), 0.0);
    }
}
