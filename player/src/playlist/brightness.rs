//! The brightness schedule of a playlist file (design §12): `[location]` and
//! `[[brightness]]` entries.
//!
//! ```toml
//! [location]                 # needed only for sunrise / sunset entries
//! latitude = 52.52           # -90..90, north positive
//! longitude = 13.40          # -180..180, east positive
//!
//! [[brightness]]
//! level = 0.35               # 0..1, multiplies the wall's brightness
//! from = "sunset"            # "HH:MM", "sunrise" or "sunset", optionally "sunset+00:30"
//! to = "sunrise"             # as from; also "24:00"
//! days = ["mon", "fri"]      # optional, as in [[schedule]]
//! dates = ["2026-12-24", "2026-12-26"]   # optional, as in [[schedule]]
//! fade = 60.0                # seconds to move to this level (default 2)
//! ```
//!
//! Every time is local, in the schedule's time zone ([`BrightnessSchedule::time_zone`]: the
//! system's, unless set).
//!
//! **Windows.** Each entry has one window per day, the day it *starts* on, and the window
//! belongs to that day (its `days` and `dates` are checked for it), as in `[[schedule]]`:
//!
//! * `from` is the start (inclusive) on that day: a clock time, or that day's sunrise or
//!   sunset (computed for the day's local date and converted to local time) plus or minus
//!   the offset (at most 12:00; it may move the start into the day before or after).
//!   Omitted: midnight.
//! * `to` is the end (exclusive): the first time it names *after* the start, on the start
//!   day or else the next day. So `from = "22:00"`, `to = "06:00"` and `from = "sunset"`,
//!   `to = "sunrise"` cross midnight and the night belongs to the evening's day; equal
//!   `from` and `to` make a 24-hour window. Omitted or `"24:00"`: the end of the start day.
//!   Note that a mix of both kinds follows the same rule: `from = "sunset"`, `to = "23:00"`
//!   on a day when the sun sets after 23:00 runs to 23:00 the *next* day.
//! * **Polar days and nights.** When a sunrise or sunset a window needs does not happen
//!   (the sun stays above or below the horizon all day), the entry has no window starting
//!   that day: it does not match, and the other entries (or the full level) apply. Nothing
//!   panics; [`BrightnessSchedule::sun`] reports the missing event as `None`.
//!
//! **Evaluation** ([`BrightnessSchedule::at`]): among the windows that contain the time, the
//! one that started latest wins (the first entry in the file on a tie); when none does, the
//! level is 1.0 (the wall's own `[color] brightness` applies unchanged). [`Scheduled`] says
//! which entry and which window won, so a caller can tell a *scheduled change* (another
//! entry, or the same entry in a new window) from the same state seen again: the level set
//! through the control API holds until the next scheduled change. [`fade_level`] ramps
//! between levels.

use super::schedule::{DAY_NAMES, parse_dates, parse_days, parse_time, time_field};
use super::{Weekday, piece};
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use ledwall_render::Problem;
use serde::Deserialize;
use serde_json::Value;
use std::fmt;

/// Seconds to move to an entry's level when it gives no `fade`.
pub const DEFAULT_FADE_SECONDS: f64 = 2.0;
/// The longest `fade` accepted, in seconds (a day).
pub const MAX_FADE_SECONDS: f64 = 86_400.0;
/// The largest offset from sunrise or sunset, in seconds (12 hours).
pub const MAX_SUN_OFFSET_SECONDS: i64 = 12 * 3600;
/// The longest span [`BrightnessSchedule::changes`] looks at, in days; later changes are
/// left out.
pub const MAX_CHANGE_SPAN_DAYS: i64 = 366;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LocationSpec {
    latitude: f64,
    longitude: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BrightnessSpec {
    level: f64,
    from: Option<String>,
    to: Option<String>,
    days: Option<Vec<String>>,
    dates: Option<Vec<String>>,
    fade: Option<f64>,
}

/// Where the wall stands: what sunrise and sunset are computed for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    /// Degrees north (negative: south), -90 to 90.
    pub latitude: f64,
    /// Degrees east (negative: west), -180 to 180.
    pub longitude: f64,
}

/// A sun event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sun {
    /// The upper rim of the sun appears on the horizon.
    Sunrise,
    /// The upper rim of the sun disappears below the horizon.
    Sunset,
}

impl Sun {
    /// `sunrise` or `sunset`.
    pub fn name(self) -> &'static str {
        match self {
            Sun::Sunrise => "sunrise",
            Sun::Sunset => "sunset",
        }
    }
}

/// One end of a `[[brightness]]` window as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// A local time of day (`"18:00"`).
    Clock(Time),
    /// The day's sunrise or sunset, shifted by `offset` (`"sunset+00:30"`; at most 12 hours
    /// either way).
    Sun {
        /// Which event.
        event: Sun,
        /// Added to the event's time.
        offset: SignedDuration,
    },
}

impl Edge {
    /// Whether it needs sunrise or sunset (and so a `[location]`).
    pub fn is_sun(&self) -> bool {
        matches!(self, Edge::Sun { .. })
    }
}

impl fmt::Display for Edge {
    /// As written in the file: `18:00`, `07:05:09`, `sunset`, `sunrise-01:15`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Edge::Clock(t) if t.second() == 0 => write!(f, "{:02}:{:02}", t.hour(), t.minute()),
            Edge::Clock(t) => write!(f, "{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()),
            Edge::Sun { event, offset } => {
                f.write_str(event.name())?;
                let s = offset.as_secs();
                if s != 0 {
                    let (sign, s) = if s < 0 { ('-', -s) } else { ('+', s) };
                    write!(f, "{sign}{:02}:{:02}", s / 3600, s / 60 % 60)?;
                    if s % 60 != 0 {
                        write!(f, ":{:02}", s % 60)?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// One validated `[[brightness]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct BrightnessEntry {
    /// Its index in the file's `brightness` array.
    pub index: usize,
    /// 0 to 1; multiplies the wall's brightness.
    pub level: f64,
    /// Window start (inclusive); `None` = midnight.
    pub from: Option<Edge>,
    /// Window end (exclusive); `None` = the end of the start day (omitted, or `"24:00"`).
    pub to: Option<Edge>,
    /// Days the window may start on; `None` = every day.
    pub days: Option<Vec<Weekday>>,
    /// Inclusive date range the window may start in.
    pub dates: Option<(Date, Date)>,
    /// Seconds to move to `level` (and, when no entry follows, back to 1.0).
    pub fade: f64,
}

impl BrightnessEntry {
    /// Whether its window may start on `day` (its `days` and `dates`).
    pub fn runs_on(&self, day: Date) -> bool {
        self.days
            .as_ref()
            .is_none_or(|days| days.contains(&day.weekday()))
            && self.dates.is_none_or(|(a, b)| a <= day && day <= b)
    }

    /// `from`, `to` and `days` in words: `sunset to sunrise, mon, fri`.
    pub fn describe(&self) -> String {
        let from = self.from.map_or("00:00".to_string(), |e| e.to_string());
        let to = self.to.map_or("24:00".to_string(), |e| e.to_string());
        let mut text = format!("{from} to {to}");
        if let Some(days) = &self.days {
            for d in days {
                let name = DAY_NAMES
                    .iter()
                    .find(|(_, w)| w == d)
                    .map_or("?", |(n, _)| n);
                text += &format!(", {name}");
            }
        }
        match self.dates {
            Some((a, b)) if a == b => text += &format!(", {a}"),
            Some((a, b)) => text += &format!(", {a} to {b}"),
            None => {}
        }
        text
    }
}

/// A window of an entry: `start <= t < end`, local times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The first instant inside (local).
    pub start: DateTime,
    /// The first instant after it (local).
    pub end: DateTime,
}

/// Local sunrise and sunset of one date; `None` when the event does not happen that date
/// (polar day or night), or no `[location]` is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SunTimes {
    /// Local time of sunrise.
    pub sunrise: Option<DateTime>,
    /// Local time of sunset.
    pub sunset: Option<DateTime>,
}

/// What the brightness schedule says at one moment ([`BrightnessSchedule::at`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scheduled {
    /// The level that applies: the winning entry's, 1.0 when none matches.
    pub level: f64,
    /// The winning entry's index in the file's `brightness` array; `None` when none matches.
    pub entry: Option<usize>,
    /// Seconds to move to `level` from the level before: the winning entry's `fade`; when
    /// none matches, the `fade` of the entry whose window ended last (the default when none
    /// ended in the two days before).
    pub fade: f64,
    /// The start of the window that matched (local); `None` when none matches.
    pub since: Option<DateTime>,
    /// The end of that window (exclusive, local); `None` when none matches. The level may
    /// change earlier, when a window with a later start opens.
    pub until: Option<DateTime>,
    /// When the schedule changed to this state: `since`, or later when a window that
    /// started after it (and won meanwhile) ended since; when none matches, the end of the
    /// last window that ended (`None` when none ended in the two days before). A fade that
    /// starts at a scheduled change is `fade_level(old, level, fade, now - changed_at)`.
    pub changed_at: Option<DateTime>,
}

impl Scheduled {
    /// The state when no entry matches (and none ended recently).
    pub const FULL: Scheduled = Scheduled {
        level: 1.0,
        entry: None,
        fade: DEFAULT_FADE_SECONDS,
        since: None,
        until: None,
        changed_at: None,
    };

    /// Whether going from `previous` to `self` is a scheduled change: another entry, or the
    /// same entry in another window. (A manual level holds until this is true.)
    pub fn is_change_from(&self, previous: &Scheduled) -> bool {
        self.entry != previous.entry || self.since != previous.since
    }
}

/// The brightness level `elapsed_s` seconds into a linear fade of `fade_s` seconds from
/// `from` to `to`. A fade of 0 (or less, or not finite) jumps to `to`; before the fade
/// starts (`elapsed_s <= 0`) it is `from`, after it ends `to`.
pub fn fade_level(from: f64, to: f64, fade_s: f64, elapsed_s: f64) -> f64 {
    if !(fade_s.is_finite() && fade_s > 0.0) || elapsed_s >= fade_s || elapsed_s.is_nan() {
        return to;
    }
    if elapsed_s <= 0.0 {
        return from;
    }
    from + (to - from) * (elapsed_s / fade_s)
}

/// The validated `[location]` and `[[brightness]]` entries of a playlist file, with the time
/// zone they are evaluated in. Empty (always level 1.0) when the file has none.
#[derive(Debug, Clone, PartialEq)]
pub struct BrightnessSchedule {
    /// `[location]`; always given when an entry uses sunrise or sunset.
    pub location: Option<Location>,
    /// The entries in file order.
    pub entries: Vec<BrightnessEntry>,
    tz: TimeZone,
}

impl Default for BrightnessSchedule {
    fn default() -> Self {
        BrightnessSchedule {
            location: None,
            entries: Vec::new(),
            tz: TimeZone::system(),
        }
    }
}

impl BrightnessSchedule {
    /// A schedule of `entries` at `location`, in the system's time zone. (Playlist files are
    /// the usual source; this is for tests and tools. Sun entries without a location never
    /// match.)
    pub fn new(location: Option<Location>, entries: Vec<BrightnessEntry>) -> Self {
        BrightnessSchedule {
            location,
            entries,
            tz: TimeZone::system(),
        }
    }

    /// Whether the file has no `[[brightness]]` entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The time zone sunrise and sunset are converted to (the system's unless set).
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// Evaluate in `tz` instead of the system's time zone.
    pub fn set_time_zone(&mut self, tz: TimeZone) {
        self.tz = tz;
    }

    /// The same schedule evaluated in `tz`.
    pub fn with_time_zone(mut self, tz: TimeZone) -> Self {
        self.tz = tz;
        self
    }

    /// Local sunrise and sunset on local date `date` at the schedule's location.
    pub fn sun(&self, date: Date) -> SunTimes {
        SunTimes {
            sunrise: self.sun_event(Sun::Sunrise, date),
            sunset: self.sun_event(Sun::Sunset, date),
        }
    }

    /// The local time of `event` on local date `date`; `None` when it does not happen that
    /// date or there is no location. The events of the solar days around `date` are
    /// converted to local time and the one that falls on `date` is taken, so time zones far
    /// from their longitude's get the right day.
    fn sun_event(&self, event: Sun, date: Date) -> Option<DateTime> {
        let loc = self.location?;
        let coords = sunrise::Coordinates::new(loc.latitude, loc.longitude)?;
        let which = match event {
            Sun::Sunrise => sunrise::SolarEvent::Sunrise,
            Sun::Sunset => sunrise::SolarEvent::Sunset,
        };
        for delta in [0i64, -1, 1] {
            let Ok(d) = date.checked_add(delta.days()) else {
                continue;
            };
            let Some(naive) = chrono::NaiveDate::from_ymd_opt(
                i32::from(d.year()),
                u32::from(d.month().unsigned_abs()),
                u32::from(d.day().unsigned_abs()),
            ) else {
                continue;
            };
            let Some(utc) = sunrise::SolarDay::new(coords, naive).event_time(which) else {
                continue;
            };
            let Ok(ts) = Timestamp::from_second(utc.timestamp()) else {
                continue;
            };
            let local = self.tz.to_datetime(ts);
            if local.date() == date {
                return Some(local);
            }
        }
        None
    }

    /// Where `edge` falls for the window starting on `day`.
    fn resolve(&self, edge: Edge, day: Date) -> Option<DateTime> {
        match edge {
            Edge::Clock(t) => Some(day.to_datetime(t)),
            Edge::Sun { event, offset } => self.sun_event(event, day)?.checked_add(offset).ok(),
        }
    }

    /// The window of entry `index` that starts on `day`, whether or not its `days` and
    /// `dates` allow that day; `None` when it has none (a sun event it needs does not
    /// happen, or the window would be empty).
    pub fn window(&self, index: usize, day: Date) -> Option<Window> {
        let e = self.entries.get(index)?;
        let start = match e.from {
            None => day.to_datetime(Time::midnight()),
            Some(edge) => self.resolve(edge, day)?,
        };
        let end = match e.to {
            None => day.tomorrow().ok()?.to_datetime(Time::midnight()),
            Some(edge) => {
                let next = day.tomorrow().ok();
                [Some(day), next]
                    .into_iter()
                    .flatten()
                    .filter_map(|d| self.resolve(edge, d))
                    .find(|&t| t > start)?
            }
        };
        (end > start).then_some(Window { start, end })
    }

    /// Every window (entry index, window) of an entry that may start on a day from `first`
    /// to `last`, both inclusive, with its `days` and `dates` applied.
    fn windows(&self, first: Date, last: Date) -> Vec<(usize, Window)> {
        let mut out = Vec::new();
        let mut day = first;
        while day <= last {
            for (i, e) in self.entries.iter().enumerate() {
                if e.runs_on(day)
                    && let Some(w) = self.window(i, day)
                {
                    out.push((i, w));
                }
            }
            match day.tomorrow() {
                Ok(d) => day = d,
                Err(_) => break,
            }
        }
        out
    }

    /// The windows that can contain a moment of `date` (a window with sun offsets may start
    /// the day before its day and end two days after it).
    fn windows_around(&self, date: Date) -> Vec<(usize, Window)> {
        let first = date.checked_sub(2.days()).unwrap_or(date);
        let last = date.tomorrow().unwrap_or(date);
        self.windows(first, last)
    }

    /// What the schedule says at local time `now`: among the windows that contain `now`
    /// the one that started latest wins (the first entry in the file on a tie); level 1.0
    /// when none does.
    pub fn at(&self, now: DateTime) -> Scheduled {
        if self.entries.is_empty() {
            return Scheduled::FULL;
        }
        evaluate(&self.entries, &self.windows_around(now.date()), now)
    }

    /// The level the schedule alone gives at `now`, fades included: [`Self::at`]'s level,
    /// reached from the level before its `changed_at` over its `fade` seconds (linearly,
    /// [`fade_level`]). The level before is itself taken with its fade, up to a few changes
    /// back.
    pub fn faded_level(&self, now: DateTime) -> f64 {
        self.faded(now, 4)
    }

    fn faded(&self, now: DateTime, depth: u32) -> f64 {
        let s = self.at(now);
        let Some(changed) = s.changed_at else {
            return s.level;
        };
        let elapsed = now.duration_since(changed).as_secs_f64();
        if depth == 0 || elapsed >= s.fade {
            return s.level;
        }
        let before = match changed.checked_sub(SignedDuration::from_nanos(1)) {
            Ok(t) => self.faded(t, depth - 1),
            Err(_) => s.level,
        };
        fade_level(before, s.level, s.fade, elapsed)
    }

    /// The scheduled states from `from` up to (not including) `to`: the state at `from`,
    /// then each scheduled change in order (its `changed_at` is when it happens). Spans over
    /// [`MAX_CHANGE_SPAN_DAYS`] are cut there.
    pub fn changes(&self, from: DateTime, to: DateTime) -> Vec<Scheduled> {
        let first = self.at(from);
        let mut out = vec![first];
        if self.entries.is_empty() || to <= from {
            return out;
        }
        let cap = from
            .checked_add(SignedDuration::from_hours(24 * MAX_CHANGE_SPAN_DAYS))
            .unwrap_or(to);
        let to = to.min(cap);
        let windows = self.windows(
            from.date().checked_sub(2.days()).unwrap_or(from.date()),
            to.date().tomorrow().unwrap_or(to.date()),
        );
        let mut points: Vec<DateTime> = windows
            .iter()
            .flat_map(|(_, w)| [w.start, w.end])
            .filter(|&t| from < t && t < to)
            .collect();
        points.sort();
        points.dedup();
        let mut previous = first;
        for t in points {
            let s = evaluate(&self.entries, &windows, t);
            if s.is_change_from(&previous) {
                out.push(s);
                previous = s;
            }
        }
        out
    }
}

/// [`BrightnessSchedule::at`] over a precomputed set of windows.
fn evaluate(entries: &[BrightnessEntry], windows: &[(usize, Window)], now: DateTime) -> Scheduled {
    // (start, entry) orders windows: the later start wins, the lower index on a tie.
    let beats = |a: &(usize, Window), b: &(usize, Window)| {
        a.1.start > b.1.start || (a.1.start == b.1.start && a.0 < b.0)
    };
    let mut best: Option<&(usize, Window)> = None;
    for w in windows {
        if w.1.start <= now && now < w.1.end && best.is_none_or(|b| beats(w, b)) {
            best = Some(w);
        }
    }
    match best {
        Some(b @ &(i, win)) => {
            // The winner has held since its start, or since the last window that beat it
            // ended.
            let changed_at = windows
                .iter()
                .filter(|x| beats(x, b) && x.1.end <= now && x.1.end > win.start)
                .map(|x| x.1.end)
                .fold(win.start, DateTime::max);
            let e = &entries[i];
            Scheduled {
                level: e.level,
                entry: Some(i),
                fade: e.fade,
                since: Some(win.start),
                until: Some(win.end),
                changed_at: Some(changed_at),
            }
        }
        None => {
            // Back to full level since the last window ended; that window's entry says how
            // fast (the one that was winning just before: the latest start among those
            // ending then).
            let mut last: Option<&(usize, Window)> = None;
            for w in windows.iter().filter(|w| w.1.end <= now) {
                let later =
                    last.is_none_or(|l| w.1.end > l.1.end || (w.1.end == l.1.end && beats(w, l)));
                if later {
                    last = Some(w);
                }
            }
            match last {
                Some(&(i, w)) => Scheduled {
                    fade: entries[i].fade,
                    changed_at: Some(w.end),
                    ..Scheduled::FULL
                },
                None => Scheduled::FULL,
            }
        }
    }
}

/// Parse an edge: `HH:MM[:SS]`, `"24:00"` (returns `Ok(None)`, the end of the day),
/// `sunrise`, `sunset`, or either with `+HH:MM` / `-HH:MM` (at most 12:00).
pub fn parse_edge(s: &str) -> Result<Option<Edge>, String> {
    let bad = || {
        format!(
            "\"{s}\" is not a time; write HH:MM (00:00 to 24:00), \"sunrise\" or \"sunset\", \
             optionally with an offset (\"sunset+00:30\", \"sunrise-01:15\")"
        )
    };
    let lower = s.to_ascii_lowercase();
    for event in [Sun::Sunrise, Sun::Sunset] {
        let Some(rest) = lower.strip_prefix(event.name()) else {
            continue;
        };
        if rest.is_empty() {
            return Ok(Some(Edge::Sun {
                event,
                offset: SignedDuration::ZERO,
            }));
        }
        let (sign, hhmm) = match (rest.strip_prefix('+'), rest.strip_prefix('-')) {
            (Some(h), _) => (1, h),
            (_, Some(h)) => (-1, h),
            _ => return Err(bad()),
        };
        let t = match parse_time(hhmm) {
            Ok(Some(t)) => t,
            _ => return Err(bad()),
        };
        let secs = i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60 + i64::from(t.second());
        if secs > MAX_SUN_OFFSET_SECONDS {
            return Err(format!(
                "\"{s}\": the offset from {} must be at most 12:00",
                event.name()
            ));
        }
        return Ok(Some(Edge::Sun {
            event,
            offset: SignedDuration::from_secs(sign * secs),
        }));
    }
    match parse_time(s) {
        Ok(Some(t)) => Ok(Some(Edge::Clock(t))),
        Ok(None) => Ok(None),
        Err(_) => Err(bad()),
    }
}

/// Parse and check `[location]` and the `[[brightness]]` entries (`entries`: index and
/// value of each array element), one problem per bad field.
pub(super) fn parse(
    location: Option<Value>,
    entries: Vec<(usize, Value)>,
    problems: &mut Vec<Problem>,
) -> BrightnessSchedule {
    let location_given = location.is_some();
    let location = location
        .and_then(|v| piece::<LocationSpec>(v, "location", problems))
        .and_then(|spec| {
            let before = problems.len();
            for (name, v, limit) in [
                ("latitude", spec.latitude, 90.0),
                ("longitude", spec.longitude, 180.0),
            ] {
                if !(v.is_finite() && (-limit..=limit).contains(&v)) {
                    problems.push(Problem::new(
                        format!("location.{name}"),
                        format!("{name} {v} must be from -{limit} to {limit} degrees"),
                    ));
                }
            }
            (problems.len() == before).then_some(Location {
                latitude: spec.latitude,
                longitude: spec.longitude,
            })
        });
    let mut list = Vec::new();
    for (index, v) in entries {
        let prefix = format!("brightness[{index}]");
        if let Some(spec) = piece::<BrightnessSpec>(v, &prefix, problems)
            && let Some(e) = check(spec, index, location_given, problems)
        {
            list.push(e);
        }
    }
    BrightnessSchedule::new(location, list)
}

fn check(
    spec: BrightnessSpec,
    index: usize,
    location_given: bool,
    problems: &mut Vec<Problem>,
) -> Option<BrightnessEntry> {
    let field = |f: &str| format!("brightness[{index}].{f}");
    let before = problems.len();
    let level = spec.level;
    if !(level.is_finite() && (0.0..=1.0).contains(&level)) {
        problems.push(Problem::new(
            field("level"),
            format!("level {level} must be from 0 to 1"),
        ));
    }
    let mut edge = |f: &str, v: Option<String>, end_ok: bool| {
        let s = v?;
        let e = time_field(parse_edge(&s), end_ok, field(f), problems)?;
        if let Edge::Sun { event, .. } = e
            && !location_given
        {
            problems.push(Problem::new(
                field(f),
                format!(
                    "\"{s}\" needs a [location] (latitude and longitude) to compute {}",
                    event.name()
                ),
            ));
        }
        Some(e)
    };
    let from = edge("from", spec.from, false);
    let to = edge("to", spec.to, true);
    let days = spec
        .days
        .map(|names| parse_days(&names, &field("days"), problems));
    let dates = spec
        .dates
        .as_deref()
        .and_then(|list| parse_dates(list, &field("dates"), problems));
    let fade = spec.fade.unwrap_or(DEFAULT_FADE_SECONDS);
    if !(fade.is_finite() && (0.0..=MAX_FADE_SECONDS).contains(&fade)) {
        problems.push(Problem::new(
            field("fade"),
            format!("fade {fade} must be from 0 to {MAX_FADE_SECONDS} seconds"),
        ));
    }
    (problems.len() == before).then_some(BrightnessEntry {
        index,
        level,
        from,
        to,
        days,
        dates,
        fade,
    })
}
