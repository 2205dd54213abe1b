//! `[[schedule]]` entries: which playlist plays at a given local date and time.
//!
//! An entry matches when the local time is inside its window and the *day the window
//! started* is one of its `days` and inside its `dates`:
//!
//! * `from = "18:00"`, `to = "23:30"`: 18:00 ≤ t < 23:30 (`to` is exclusive; `"24:00"` is
//!   the end of the day).
//! * `from` later than `to` crosses midnight: `from = "22:00"`, `to = "02:00"` covers
//!   22:00–24:00 of a day and 00:00–02:00 of the next, and Saturday 01:00 belongs to
//!   *Friday's* window (days and dates are checked for Friday).
//! * `from` equal to `to`: 24 hours from `from`. Only `from`: until midnight. Only `to`:
//!   from midnight. Neither: all day.
//! * `dates = ["2026-12-01", "2026-12-31"]` is an inclusive range; one date is that day.
//!
//! Among matching entries the highest `priority` wins, the first in the file on a tie; when
//! none matches, the file's own items play.

use ledwall_render::Problem;
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub use jiff::civil::Weekday;
use jiff::civil::{Date, DateTime, Time};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScheduleSpec {
    playlist: String,
    days: Option<Vec<String>>,
    from: Option<String>,
    to: Option<String>,
    dates: Option<Vec<String>>,
    priority: Option<i32>,
}

/// One validated `[[schedule]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleEntry {
    /// Its index in the file's `schedule` array.
    pub index: usize,
    /// The playlist it plays, resolved against the playlist file's folder.
    pub playlist: PathBuf,
    /// Days the window may start on; `None` = every day.
    pub days: Option<Vec<Weekday>>,
    /// Window start (inclusive); `None` = midnight.
    pub from: Option<Time>,
    /// Window end (exclusive); `None` = the end of the day.
    pub to: Option<Time>,
    /// Inclusive date range the window may start in.
    pub dates: Option<(Date, Date)>,
    /// Higher wins.
    pub priority: i32,
}

/// Day names as written in the file.
pub const DAY_NAMES: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

/// Parse `HH:MM` or `HH:MM:SS`; `"24:00"` is `Ok(None)` (the end of the day).
pub fn parse_time(s: &str) -> Result<Option<Time>, String> {
    let bad = || format!("\"{s}\" is not a time of day; write HH:MM (00:00 to 24:00)");
    let parts: Vec<&str> = s.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2) {
        return Err(bad());
    }
    let n: Vec<i8> = parts
        .iter()
        .map(|p| p.parse::<i8>().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let sec = n.get(2).copied().unwrap_or(0);
    if n[0] == 24 && n[1] == 0 && sec == 0 {
        return Ok(None);
    }
    Time::new(n[0], n[1], sec, 0).map(Some).map_err(|_| bad())
}

fn parse_date(s: &str) -> Result<Date, String> {
    s.parse::<Date>()
        .map_err(|_| format!("\"{s}\" is not a date; write YYYY-MM-DD"))
}

/// Parse `days = [...]` (field path `field`, e.g. `schedule[0].days`): one problem per
/// unknown name, at `field[i]`.
/// A parsed `from`/`to` value (`None` inside `Ok`: 24:00), or its problem: 24:00 is
/// allowed only where `end_ok` (in `to`), and a parse error is reported at `field`.
pub(super) fn time_field<T>(
    parsed: Result<Option<T>, String>,
    end_ok: bool,
    field: String,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    match parsed {
        Ok(Some(t)) => Some(t),
        Ok(None) if end_ok => None,
        Ok(None) => {
            problems.push(Problem::new(field, "24:00 is only allowed in `to`"));
            None
        }
        Err(e) => {
            problems.push(Problem::new(field, e));
            None
        }
    }
}

pub(super) fn parse_days(
    names: &[String],
    field: &str,
    problems: &mut Vec<Problem>,
) -> Vec<Weekday> {
    let mut days = Vec::new();
    for (i, name) in names.iter().enumerate() {
        match DAY_NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some((_, d)) => days.push(*d),
            None => problems.push(Problem::new(
                format!("{field}[{i}]"),
                format!("unknown day \"{name}\"; use mon, tue, wed, thu, fri, sat, sun"),
            )),
        }
    }
    days
}

/// Parse `dates = ["YYYY-MM-DD"]` or `["YYYY-MM-DD", "YYYY-MM-DD"]` (an inclusive range) at
/// field path `field`; `None` (with the problems pushed) when it is not valid.
pub(super) fn parse_dates(
    list: &[String],
    field: &str,
    problems: &mut Vec<Problem>,
) -> Option<(Date, Date)> {
    match list {
        [_] | [_, _] => {
            let first = parse_date(&list[0]);
            let last = list.get(1).map_or_else(|| first.clone(), |s| parse_date(s));
            match (first, last) {
                (Ok(a), Ok(b)) if a <= b => Some((a, b)),
                (Ok(a), Ok(b)) => {
                    problems.push(Problem::new(
                        field.to_string(),
                        format!("the range ends ({b}) before it starts ({a})"),
                    ));
                    None
                }
                (a, b) => {
                    for (i, r) in [a, b].into_iter().enumerate().take(list.len()) {
                        if let Err(e) = r {
                            problems.push(Problem::new(format!("{field}[{i}]"), e));
                        }
                    }
                    None
                }
            }
        }
        _ => {
            problems.push(Problem::new(
                field.to_string(),
                "give one date or two (an inclusive range): [\"YYYY-MM-DD\", \"YYYY-MM-DD\"]",
            ));
            None
        }
    }
}

pub(super) fn check(
    spec: ScheduleSpec,
    index: usize,
    base: &Path,
    problems: &mut Vec<Problem>,
) -> Option<ScheduleEntry> {
    let field = |f: &str| format!("schedule[{index}].{f}");
    let before = problems.len();
    if spec.playlist.trim().is_empty() {
        problems.push(Problem::new(field("playlist"), "must name a playlist file"));
    }
    let days = spec
        .days
        .map(|names| parse_days(&names, &field("days"), problems));
    let mut time = |f: &str, v: Option<String>, end_ok: bool| {
        v.and_then(|s| time_field(parse_time(&s), end_ok, field(f), problems))
    };
    let from = time("from", spec.from, false);
    let to = time("to", spec.to, true);
    let dates = spec
        .dates
        .as_deref()
        .and_then(|list| parse_dates(list, &field("dates"), problems));
    (problems.len() == before).then(|| ScheduleEntry {
        index,
        playlist: base.join(&spec.playlist),
        days,
        from,
        to,
        dates,
        priority: spec.priority.unwrap_or(0),
    })
}

impl ScheduleEntry {
    /// Whether the entry is active at local time `at`.
    pub fn matches(&self, at: DateTime) -> bool {
        let (t, today) = (at.time(), at.date());
        let midnight = Time::midnight();
        let start_day = match (self.from, self.to) {
            (None, None) => Some(today),
            (Some(f), None) => (t >= f).then_some(today),
            (None, Some(e)) => (t < e).then_some(today),
            (Some(f), Some(e)) if f < e => (f <= t && t < e).then_some(today),
            // Crosses midnight (or, when equal, lasts 24 hours).
            (Some(f), Some(e)) => {
                if t >= f {
                    Some(today)
                } else if t < e || (f == e && t >= midnight) {
                    today.yesterday().ok()
                } else {
                    None
                }
            }
        };
        let Some(day) = start_day else {
            return false;
        };
        if let Some(days) = &self.days
            && !days.contains(&day.weekday())
        {
            return false;
        }
        if let Some((a, b)) = self.dates
            && !(a <= day && day <= b)
        {
            return false;
        }
        true
    }
}

/// The index of the entry that plays at `at`: the highest priority among those that match,
/// the first on a tie; `None` when none matches.
pub fn select(entries: &[ScheduleEntry], at: DateTime) -> Option<usize> {
    let mut best: Option<(usize, i32)> = None;
    for (i, e) in entries.iter().enumerate() {
        if e.matches(at) && best.is_none_or(|(_, p)| e.priority > p) {
            best = Some((i, e.priority));
        }
    }
    best.map(|(i, _)| i)
}

/// The local date and time now, from the system's time zone (UTC when it has none). The
/// player calls this; tests pass their own times to [`select`].
pub fn local_now() -> DateTime {
    jiff::ZonedDateTime::now().datetime()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn entry(
        days: Option<&[Weekday]>,
        from: Option<&str>,
        to: Option<&str>,
        dates: Option<(&str, &str)>,
        priority: i32,
    ) -> ScheduleEntry {
        ScheduleEntry {
            index: 0,
            playlist: "p.toml".into(),
            days: days.map(|d| d.to_vec()),
            from: from.and_then(|s| parse_time(s).unwrap()),
            to: to.and_then(|s| parse_time(s).unwrap()),
            dates: dates.map(|(a, b)| (a.parse().unwrap(), b.parse().unwrap())),
            priority,
        }
    }

    // 2026-03-06 is a Friday.
    fn fri(h: i8, m: i8) -> DateTime {
        date(2026, 3, 6).at(h, m, 0, 0)
    }
    fn sat(h: i8, m: i8) -> DateTime {
        date(2026, 3, 7).at(h, m, 0, 0)
    }

    #[test]
    fn times_parse() {
        assert_eq!(
            parse_time("18:00").unwrap(),
            Some(Time::constant(18, 0, 0, 0))
        );
        assert_eq!(
            parse_time("07:05:09").unwrap(),
            Some(Time::constant(7, 5, 9, 0))
        );
        assert_eq!(parse_time("24:00").unwrap(), None);
        for bad in [
            "25:00",
            "7:00",
            "12:60",
            "noon",
            "12",
            "12:00:00:00",
            "24:01",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_window_is_inclusive_at_its_start_and_exclusive_at_its_end() {
        let e = entry(None, Some("18:00"), Some("23:30"), None, 0);
        assert!(!e.matches(fri(17, 59)));
        assert!(e.matches(fri(18, 0)));
        assert!(e.matches(fri(23, 29)));
        assert!(!e.matches(fri(23, 30)));
        let until_midnight = entry(None, Some("18:00"), Some("24:00"), None, 0);
        assert!(until_midnight.matches(fri(23, 59)));
        assert!(!until_midnight.matches(sat(0, 0)));
    }

    #[test]
    fn days_apply_to_the_day_a_window_crossing_midnight_started() {
        let e = entry(
            Some(&[Weekday::Friday]),
            Some("22:00"),
            Some("02:00"),
            None,
            0,
        );
        assert!(!e.matches(fri(21, 59)));
        assert!(e.matches(fri(22, 0)));
        assert!(e.matches(sat(1, 59)), "Saturday 01:59 is Friday's night");
        assert!(!e.matches(sat(2, 0)));
        assert!(
            !e.matches(sat(22, 0)),
            "Saturday's own window is not listed"
        );
        // Friday 01:00 belongs to Thursday's window.
        assert!(!e.matches(fri(1, 0)));
    }

    #[test]
    fn date_ranges_are_inclusive_and_checked_on_the_start_day() {
        let e = entry(
            None,
            Some("20:00"),
            Some("04:00"),
            Some(("2026-03-01", "2026-03-06")),
            0,
        );
        assert!(e.matches(date(2026, 3, 1).at(20, 0, 0, 0)));
        assert!(
            !e.matches(date(2026, 3, 1).at(3, 0, 0, 0)),
            "Feb 28's night"
        );
        assert!(e.matches(fri(23, 0)));
        assert!(
            e.matches(sat(3, 0)),
            "the night of the last day runs past midnight"
        );
        assert!(!e.matches(sat(21, 0)));
    }

    #[test]
    fn equal_from_and_to_is_a_full_day_and_no_window_is_all_day() {
        let e = entry(
            Some(&[Weekday::Friday]),
            Some("06:00"),
            Some("06:00"),
            None,
            0,
        );
        assert!(!e.matches(fri(5, 59)));
        assert!(e.matches(fri(6, 0)));
        assert!(e.matches(sat(5, 59)));
        assert!(!e.matches(sat(6, 0)));
        let all = entry(Some(&[Weekday::Saturday]), None, None, None, 0);
        assert!(all.matches(sat(0, 0)) && all.matches(sat(23, 59)) && !all.matches(fri(12, 0)));
    }

    #[test]
    fn the_highest_priority_wins_and_the_first_on_a_tie() {
        let entries = [
            entry(None, Some("08:00"), Some("20:00"), None, 1),
            entry(Some(&[Weekday::Saturday]), None, None, None, 5),
            entry(None, Some("12:00"), Some("13:00"), None, 5),
            entry(None, Some("12:00"), Some("13:00"), None, 0),
        ];
        assert_eq!(select(&entries, fri(7, 0)), None);
        assert_eq!(select(&entries, fri(9, 0)), Some(0));
        assert_eq!(select(&entries, fri(12, 30)), Some(2));
        assert_eq!(select(&entries, sat(9, 0)), Some(1));
        assert_eq!(
            select(&entries, sat(12, 30)),
            Some(1),
            "tie: first in the file"
        );
    }
}
