//! The brightness schedule of the playlist file (design §12): `[location]` and
//! `[[brightness]]` parsing and validation, sunrise and sunset against published figures,
//! windows (overnight, offsets, days, dates), latest-start-wins, polar days and nights, and
//! the fades.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use jiff::civil::{DateTime, date};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, ToSpan};
use ledwall_player::playlist::{
    BrightnessSchedule, Edge, Playlist, Scheduled, Show, Sun, fade_level,
};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Berlin's rules (CET, CEST from the last Sunday of March to the last of October), without
/// the system's time zone database.
fn berlin() -> TimeZone {
    TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap()
}

const BERLIN: &str = "[location]\nlatitude = 52.52\nlongitude = 13.40\n";
/// Tromsø, Norway: midnight sun from late May to late July, polar night from late November
/// to mid January.
const TROMSO: &str = "[location]\nlatitude = 69.65\nlongitude = 18.96\n";

fn playlist(body: &str) -> Result<Playlist, ledwall_render::ConfigError> {
    let text = format!("[[items]]\nsource = \"pattern:bars\"\n{body}");
    Playlist::from_text(&text, Path::new("/shows/dim.toml"))
}

fn schedule(body: &str) -> BrightnessSchedule {
    playlist(body)
        .unwrap_or_else(|e| panic!("{e}"))
        .brightness
        .with_time_zone(berlin())
}

fn problems(body: &str) -> Vec<(String, String)> {
    let e = playlist(body).expect_err("should be refused");
    e.problems
        .into_iter()
        .map(|p| (p.field, p.reason))
        .collect()
}

fn at(y: i16, m: i8, d: i8, h: i8, min: i8) -> DateTime {
    date(y, m, d).at(h, min, 0, 0)
}

fn assert_near(actual: Option<DateTime>, expected: DateTime, minutes: i64) {
    let actual = actual.unwrap_or_else(|| panic!("no time, expected {expected}"));
    let off = actual.duration_since(expected).as_secs().abs();
    assert!(
        off <= minutes * 60,
        "{actual} is {off} s from the published {expected}"
    );
}

#[test]
fn the_design_example_parses() {
    let p = playlist(
        r#"
[location]                                   # needed only for sunrise / sunset entries
latitude = 52.52
longitude = 13.40

[[brightness]]
level = 0.35                                 # 0..1, multiplies the wall's brightness
from = "sunset"                              # HH:MM, "sunrise" or "sunset" (optionally "sunset+00:30")
to = "sunrise"
days = ["mon", "tue", "wed", "thu", "fri"]   # optional, as in [[schedule]]
dates = ["2026-12-24", "2026-12-26"]         # optional
fade = 60.0                                  # seconds to move between levels (default 2)

[[brightness]]
level = 1
from = "sunrise-01:15"
to = "sunset+00:30"
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let b = &p.brightness;
    let loc = b.location.unwrap();
    assert_eq!((loc.latitude, loc.longitude), (52.52, 13.40));
    assert_eq!(b.entries.len(), 2);
    let e = &b.entries[0];
    assert_eq!(e.level, 0.35);
    assert_eq!(
        e.from,
        Some(Edge::Sun {
            event: Sun::Sunset,
            offset: SignedDuration::ZERO
        })
    );
    assert_eq!(e.days.as_ref().map(Vec::len), Some(5));
    assert_eq!(
        e.dates,
        Some((date(2026, 12, 24), date(2026, 12, 26))),
        "an inclusive range"
    );
    assert_eq!(e.fade, 60.0);
    let e = &b.entries[1];
    assert_eq!(e.level, 1.0, "an integer level is accepted");
    assert_eq!(e.fade, 2.0, "the default fade");
    assert_eq!(
        e.from.map(|x| x.to_string()).as_deref(),
        Some("sunrise-01:15")
    );
    assert_eq!(e.to.map(|x| x.to_string()).as_deref(), Some("sunset+00:30"));
    assert_eq!(
        e.from,
        Some(Edge::Sun {
            event: Sun::Sunrise,
            offset: SignedDuration::from_secs(-4500)
        })
    );
    // A file without entries has an empty schedule: full level.
    let plain = playlist("").unwrap();
    assert!(plain.brightness.is_empty());
    assert_eq!(plain.brightness.at(at(2026, 1, 1, 3, 0)), Scheduled::FULL);
    // Clock times, "24:00" and omitted ends.
    let e =
        &schedule("[[brightness]]\nlevel = 0.5\nfrom = \"07:05:09\"\nto = \"24:00\"\n").entries[0];
    assert_eq!(e.from.map(|x| x.to_string()).as_deref(), Some("07:05:09"));
    assert_eq!(e.to, None);
}

#[test]
fn every_bad_field_is_one_problem_with_file_field_and_reason() {
    let body = r#"
[location]
latitude = 95.0
longitude = -200.0
[[brightness]]
level = 1.5
[[brightness]]
level = 0.5
from = "sunrise+13:00"
[[brightness]]
level = 0.5
to = "noon"
[[brightness]]
level = 0.5
days = ["mon", "caturday"]
[[brightness]]
level = 0.5
dates = ["2026-12-31", "2026-12-01"]
[[brightness]]
level = 0.5
fade = -1.0
[[brightness]]
level = 0.5
colour = 3
[[brightness]]
from = "18:00"
[[brightness]]
level = 0.5
from = "24:00"
[[brightness]]
level = 0.5
from = "sunset-"
dates = ["2026-02-30"]
[[brightness]]
level = "high"
[[brightness]]
level = -0.1
fade = 1e9
"#;
    let got = problems(body);
    let fields: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "location.latitude",
            "location.longitude",
            "brightness[0].level",
            "brightness[1].from",
            "brightness[2].to",
            "brightness[3].days[1]",
            "brightness[4].dates",
            "brightness[5].fade",
            "brightness[6].colour",
            "brightness[7]",
            "brightness[8].from",
            "brightness[9].from",
            "brightness[9].dates[0]",
            "brightness[10].level",
            "brightness[11].level",
            "brightness[11].fade",
        ],
        "{got:#?}"
    );
    let reason = |field: &str| {
        got.iter()
            .find(|(f, _)| f == field)
            .map(|(_, r)| r.as_str())
            .unwrap_or_default()
    };
    assert!(reason("location.latitude").contains("95 must be from -90 to 90"));
    assert!(reason("location.longitude").contains("-200 must be from -180 to 180"));
    assert!(reason("brightness[0].level").contains("1.5 must be from 0 to 1"));
    assert!(reason("brightness[1].from").contains("at most 12:00"));
    assert!(reason("brightness[2].to").contains("\"noon\" is not a time"));
    assert!(reason("brightness[3].days[1]").contains("unknown day \"caturday\""));
    assert!(reason("brightness[4].dates").contains("ends (2026-12-01) before it starts"));
    assert!(reason("brightness[5].fade").contains("fade -1 must be from 0"));
    assert!(reason("brightness[6].colour").contains("unknown field `colour`"));
    assert!(reason("brightness[7]").contains("missing field `level`"));
    assert!(reason("brightness[8].from").contains("24:00 is only allowed in `to`"));
    assert!(reason("brightness[9].from").contains("\"sunset-\" is not a time"));
    assert!(reason("brightness[9].dates[0]").contains("\"2026-02-30\" is not a date"));
    // The whole error names the file on every line.
    let e = playlist(body).unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("/shows/dim.toml: 16 problems"), "{text}");
    assert!(
        text.contains("/shows/dim.toml: brightness[0].level: level 1.5 must be from 0 to 1"),
        "{text}"
    );
}

#[test]
fn sunrise_and_sunset_need_a_location_and_location_is_checked_on_its_own() {
    let got = problems(
        "[[brightness]]\nlevel = 0.3\nfrom = \"sunset\"\nto = \"sunrise+00:10\"\n\
         [[brightness]]\nlevel = 0.3\nfrom = \"20:00\"\nto = \"06:00\"\n",
    );
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0].0, "brightness[0].from");
    assert!(
        got[0]
            .1
            .contains("\"sunset\" needs a [location] (latitude and longitude)"),
        "{}",
        got[0].1
    );
    assert_eq!(got[1].0, "brightness[0].to");
    assert!(got[1].1.contains("to compute sunrise"), "{}", got[1].1);
    // Clock times alone need none.
    assert!(playlist("[[brightness]]\nlevel = 0.3\nfrom = \"20:00\"\n").is_ok());

    let got = problems("[location]\nlatitude = 1.0\naltitude = 3.0\n");
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].0, "location.altitude");
    assert!(
        got[0].1.contains("unknown field `altitude`"),
        "{}",
        got[0].1
    );
    let got = problems("[location]\nlatitude = 1.0\n");
    assert_eq!(got[0].0, "location");
    assert!(
        got[0].1.contains("missing field `longitude`"),
        "{}",
        got[0].1
    );
    let e = Playlist::from_text(
        "location = 3\nbrightness = 3\n[[items]]\nsource = \"pattern:bars\"\n",
        Path::new("x.toml"),
    )
    .unwrap_err();
    let got: Vec<(String, String)> = e
        .problems
        .into_iter()
        .map(|p| (p.field, p.reason))
        .collect();
    let fields: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, ["brightness", "location"], "{got:#?}");
    assert!(got[0].1.contains("array of [[brightness]] tables"));
}

#[test]
fn sunrise_and_sunset_in_berlin_match_the_published_times() {
    let s = schedule(BERLIN);
    // Published (timeanddate.com, Berlin): 2026-06-21 04:43 / 21:33 CEST,
    // 2026-12-21 08:15 / 15:54 CET.
    let summer = s.sun(date(2026, 6, 21));
    assert_near(summer.sunrise, at(2026, 6, 21, 4, 43), 2);
    assert_near(summer.sunset, at(2026, 6, 21, 21, 33), 2);
    let winter = s.sun(date(2026, 12, 21));
    assert_near(winter.sunrise, at(2026, 12, 21, 8, 15), 2);
    assert_near(winter.sunset, at(2026, 12, 21, 15, 54), 2);
    // The same instants in UTC: two and one hours earlier.
    let utc = s.clone().with_time_zone(TimeZone::UTC);
    assert_near(
        utc.sun(date(2026, 6, 21)).sunrise,
        at(2026, 6, 21, 2, 43),
        2,
    );
    assert_near(
        utc.sun(date(2026, 12, 21)).sunset,
        at(2026, 12, 21, 14, 54),
        2,
    );
    // Far from UTC: Auckland (NZDT, UTC+13) in December; the events fall on the asked
    // local date even though its solar day is the previous UTC date.
    let auckland = schedule("[location]\nlatitude = -36.85\nlongitude = 174.76\n")
        .with_time_zone(TimeZone::posix("NZST-12NZDT,M9.5.0,M4.1.0/3").unwrap());
    let sun = auckland.sun(date(2026, 12, 21));
    assert_near(sun.sunrise, at(2026, 12, 21, 5, 59), 4);
    assert_near(sun.sunset, at(2026, 12, 21, 20, 41), 4);
}

#[test]
fn sunset_to_sunrise_covers_the_night_and_belongs_to_the_evening() {
    // 2026-06-21 is a Sunday.
    let s = schedule(&format!(
        "{BERLIN}[[brightness]]\nlevel = 0.35\nfrom = \"sunset\"\nto = \"sunrise\"\n\
         days = [\"sun\"]\nfade = 60.0\n"
    ));
    let sunset = s.sun(date(2026, 6, 21)).sunset.unwrap();
    let sunrise = s.sun(date(2026, 6, 22)).sunrise.unwrap();
    let before = s.at(sunset - 1.second());
    assert_eq!((before.entry, before.level), (None, 1.0));
    let night = s.at(sunset);
    assert_eq!(
        (night.entry, night.level, night.fade),
        (Some(0), 0.35, 60.0)
    );
    assert_eq!(night.since, Some(sunset));
    assert_eq!(night.until, Some(sunrise));
    assert_eq!(night.changed_at, Some(sunset));
    // Monday 02:00 is still Sunday's night.
    let late = s.at(at(2026, 6, 22, 2, 0));
    assert_eq!((late.entry, late.since), (Some(0), Some(sunset)));
    assert!(!late.is_change_from(&night), "the same window");
    assert_eq!(s.at(sunrise).entry, None, "`to` is exclusive");
    // Monday evening is not listed; Sunday 02:00 is Saturday's night.
    assert_eq!(s.at(at(2026, 6, 22, 23, 0)).entry, None);
    assert_eq!(s.at(at(2026, 6, 21, 2, 0)).entry, None);
}

#[test]
fn offsets_move_the_edges_even_past_midnight() {
    let s = schedule(&format!(
        "{BERLIN}[[brightness]]\nlevel = 0.4\nfrom = \"sunset+00:30\"\nto = \"sunrise-01:15\"\n"
    ));
    let sunset = s.sun(date(2026, 6, 21)).sunset.unwrap();
    let sunrise = s.sun(date(2026, 6, 22)).sunrise.unwrap();
    assert_eq!(s.at(sunset + 29.minutes()).entry, None);
    let on = s.at(sunset + 30.minutes());
    assert_eq!((on.entry, on.since), (Some(0), Some(sunset + 30.minutes())));
    assert_eq!(s.at(sunrise - 76.minutes()).entry, Some(0));
    assert_eq!(s.at(sunrise - 75.minutes()).entry, None);

    // Three hours after a 21:33 sunset is 00:33 the next day, and that window still
    // belongs to the Sunday: a Monday 01:00 matches, a Sunday 01:00 does not.
    let s = schedule(&format!(
        "{BERLIN}[[brightness]]\nlevel = 0.2\nfrom = \"sunset+03:00\"\nto = \"sunrise\"\n\
         days = [\"sun\"]\n"
    ));
    let m = s.at(at(2026, 6, 22, 1, 0));
    assert_eq!(m.entry, Some(0));
    assert_eq!(m.since, Some(sunset + 3.hours()));
    assert_eq!(m.since.map(|t| t.date()), Some(date(2026, 6, 22)));
    assert_eq!(s.at(at(2026, 6, 21, 1, 0)).entry, None);
}

#[test]
fn the_latest_start_wins_and_the_first_entry_on_a_tie() {
    let s = schedule(
        "[[brightness]]\nlevel = 0.3\nfrom = \"20:00\"\nto = \"06:00\"\nfade = 30.0\n\
         [[brightness]]\nlevel = 0.6\nfrom = \"22:00\"\nto = \"23:00\"\nfade = 5.0\n\
         [[brightness]]\nlevel = 0.9\nfrom = \"22:00\"\nto = \"22:30\"\n",
    );
    let t = |h, m| at(2026, 3, 6, h, m);
    assert_eq!(s.at(t(19, 59)).entry, None);
    let evening = s.at(t(21, 0));
    assert_eq!((evening.entry, evening.level), (Some(0), 0.3));
    let late = s.at(t(22, 10));
    assert_eq!((late.entry, late.level, late.fade), (Some(1), 0.6, 5.0));
    assert!(late.is_change_from(&evening));
    assert_eq!(s.at(t(22, 45)).entry, Some(1));
    // Entry 1 ends: entry 0 is back, in the window it started at 20:00, changed at 23:00,
    // at its own fade.
    let back = s.at(t(23, 10));
    assert_eq!(back.entry, Some(0));
    assert_eq!(back.since, Some(t(20, 0)));
    assert_eq!(back.changed_at, Some(t(23, 0)));
    assert_eq!(back.fade, 30.0);
    assert!(back.is_change_from(&s.at(t(22, 45))));
    // The next morning nothing matches: full level since 06:00, at the fade of the entry
    // that ended.
    let day = s.at(at(2026, 3, 7, 6, 30));
    assert_eq!((day.entry, day.level, day.since), (None, 1.0, None));
    assert_eq!(day.changed_at, Some(at(2026, 3, 7, 6, 0)));
    assert_eq!(day.fade, 30.0);

    // The same entry in a new window is a change too.
    let s = schedule("[[brightness]]\nlevel = 0.5\nfrom = \"06:00\"\nto = \"06:00\"\n");
    let a = s.at(at(2026, 3, 6, 5, 59));
    let b = s.at(at(2026, 3, 6, 6, 0));
    assert_eq!((a.entry, b.entry), (Some(0), Some(0)));
    assert_eq!(a.since, Some(at(2026, 3, 5, 6, 0)));
    assert_eq!(b.since, Some(at(2026, 3, 6, 6, 0)));
    assert!(b.is_change_from(&a));
}

#[test]
fn days_and_dates_are_checked_on_the_day_a_window_starts() {
    let s = schedule(
        "[[brightness]]\nlevel = 0.5\nfrom = \"20:00\"\nto = \"02:00\"\n\
         dates = [\"2026-12-24\", \"2026-12-26\"]\n\
         [[brightness]]\nlevel = 0.7\ndays = [\"sat\"]\n\
         [[brightness]]\nlevel = 0.8\nfrom = \"12:00\"\nto = \"13:00\"\ndates = [\"2026-03-06\"]\n",
    );
    assert_eq!(s.at(at(2026, 12, 24, 1, 0)).entry, None, "Dec 23's night");
    assert_eq!(s.at(at(2026, 12, 24, 20, 0)).entry, Some(0));
    assert_eq!(
        s.at(at(2026, 12, 27, 1, 59)).entry,
        Some(0),
        "Dec 26's night"
    );
    assert_eq!(s.at(at(2026, 12, 27, 20, 0)).entry, None);
    // A whole Saturday (2026-03-07) from midnight to midnight.
    assert_eq!(s.at(at(2026, 3, 7, 0, 0)).entry, Some(1));
    assert_eq!(s.at(at(2026, 3, 7, 23, 59)).entry, Some(1));
    assert_eq!(s.at(at(2026, 3, 8, 0, 0)).entry, None);
    // One date is that day only.
    assert_eq!(s.at(at(2026, 3, 6, 12, 30)).entry, Some(2));
    assert_eq!(s.at(at(2026, 3, 13, 12, 30)).entry, None);
}

#[test]
fn polar_days_and_nights_have_no_sun_windows_and_never_panic() {
    let s = schedule(&format!(
        "{TROMSO}[[brightness]]\nlevel = 0.3\nfrom = \"sunset\"\nto = \"sunrise\"\n\
         [[brightness]]\nlevel = 0.6\nfrom = \"sunrise\"\nto = \"sunrise+01:00\"\n\
         [[brightness]]\nlevel = 0.5\nfrom = \"23:00\"\nto = \"01:00\"\n"
    ))
    .with_time_zone(TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap());
    // Midnight sun and polar night: no sunrise, no sunset.
    for d in [date(2026, 6, 21), date(2026, 12, 21)] {
        let sun = s.sun(d);
        assert_eq!((sun.sunrise, sun.sunset), (None, None), "{d}");
    }
    // The sun entries do not match those days; the clock entry still does.
    for d in [date(2026, 6, 21), date(2026, 12, 21)] {
        let noon = s.at(d.at(12, 0, 0, 0));
        assert_eq!(
            (noon.entry, noon.level, noon.since),
            (None, 1.0, None),
            "{d}"
        );
        assert_eq!(
            noon.changed_at,
            Some(d.at(1, 0, 0, 0)),
            "the clock entry's end"
        );
        assert_eq!(s.at(d.at(23, 30, 0, 0)).entry, Some(2), "{d}");
    }
    // At the equinox the sun rises and sets, and the night entry works.
    let sun = s.sun(date(2026, 3, 21));
    let (rise, set) = (sun.sunrise.unwrap(), sun.sunset.unwrap());
    assert!(rise < set);
    assert_eq!(s.at(set + 1.minutes()).entry, Some(0));
    // Every hour of a year, and the poles and the date line: no panic, and every window
    // that matches is a real one.
    let mut t = at(2026, 1, 1, 0, 30);
    while t < at(2027, 1, 1, 0, 0) {
        let r = s.at(t);
        if let (Some(a), Some(b)) = (r.since, r.until) {
            assert!(a <= t && t < b, "{t}: {a}..{b}");
        }
        t += 1.hour();
    }
    for (lat, lon) in [(90.0, 0.0), (-90.0, 180.0), (0.0, -180.0), (89.9, 179.9)] {
        let s = schedule(&format!(
            "[location]\nlatitude = {lat}\nlongitude = {lon}\n\
             [[brightness]]\nlevel = 0.3\nfrom = \"sunset-12:00\"\nto = \"sunrise+12:00\"\n"
        ))
        .with_time_zone(TimeZone::UTC);
        for day in 0..366 {
            let d = date(2026, 1, 1) + day.days();
            let _ = s.sun(d);
            let _ = s.at(d.at(6, 0, 0, 0));
        }
        let _ = s.changes(at(2026, 1, 1, 0, 0), at(2026, 12, 31, 0, 0));
    }
}

#[test]
fn fades_are_linear_and_zero_jumps() {
    assert_eq!(fade_level(1.0, 0.35, 60.0, 0.0), 1.0);
    assert!((fade_level(1.0, 0.35, 60.0, 30.0) - 0.675).abs() < 1e-12);
    assert!((fade_level(0.2, 1.0, 2.0, 0.5) - 0.4).abs() < 1e-12);
    assert_eq!(fade_level(1.0, 0.35, 60.0, 60.0), 0.35);
    assert_eq!(fade_level(1.0, 0.35, 60.0, 600.0), 0.35);
    assert_eq!(fade_level(1.0, 0.35, 60.0, -5.0), 1.0, "not started");
    assert_eq!(fade_level(1.0, 0.35, 0.0, 0.0), 0.35, "fade 0 jumps");
    assert_eq!(fade_level(1.0, 0.35, f64::NAN, 1.0), 0.35);

    // The schedule's own fades: into the entry at its fade, and back out of it at its fade.
    let s =
        schedule("[[brightness]]\nlevel = 0.2\nfrom = \"20:00\"\nto = \"06:00\"\nfade = 60.0\n");
    let t = |h, m, sec| date(2026, 3, 6).at(h, m, sec, 0);
    assert_eq!(s.faded_level(t(19, 59, 59)), 1.0);
    assert_eq!(s.faded_level(t(20, 0, 0)), 1.0);
    assert!((s.faded_level(t(20, 0, 30)) - 0.6).abs() < 1e-9);
    assert_eq!(s.faded_level(t(20, 1, 0)), 0.2);
    let m = |h, mi, sec| date(2026, 3, 7).at(h, mi, sec, 0);
    assert_eq!(s.faded_level(m(5, 59, 59)), 0.2);
    assert!((s.faded_level(m(6, 0, 30)) - 0.6).abs() < 1e-9);
    assert_eq!(s.faded_level(m(6, 1, 0)), 1.0);
}

#[test]
fn changes_list_each_scheduled_change_in_a_span() {
    let s = schedule(
        "[[brightness]]\nlevel = 0.3\nfrom = \"20:00\"\nto = \"06:00\"\n\
         [[brightness]]\nlevel = 0.6\nfrom = \"22:00\"\nto = \"23:00\"\n",
    );
    let c = s.changes(at(2026, 3, 6, 12, 0), at(2026, 3, 7, 12, 0));
    let got: Vec<(Option<usize>, Option<DateTime>)> =
        c.iter().map(|s| (s.entry, s.changed_at)).collect();
    assert_eq!(
        got,
        [
            (None, Some(at(2026, 3, 6, 6, 0))),
            (Some(0), Some(at(2026, 3, 6, 20, 0))),
            (Some(1), Some(at(2026, 3, 6, 22, 0))),
            (Some(0), Some(at(2026, 3, 6, 23, 0))),
            (None, Some(at(2026, 3, 7, 6, 0))),
        ]
    );
    // An empty span: the state at its start.
    assert_eq!(
        s.changes(at(2026, 3, 6, 21, 0), at(2026, 3, 6, 21, 0))
            .len(),
        1
    );
}

#[test]
fn the_fixture_playlist_dims_at_night_and_on_weekend_mornings() {
    let p = Playlist::load(root().join("fixtures/playlists/dimmed.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.name, "dimmed");
    assert_eq!(p.items.len(), 2);
    let s = p.brightness.with_time_zone(berlin());
    assert!(s.location.is_some());
    assert_eq!(s.entries.len(), 2);
    // Saturday 2026-06-20: the night from Friday's sunset + 30 min, then the first hour
    // after sunrise at 0.6 (the later start), then full level.
    let fri_sunset = s.sun(date(2026, 6, 19)).sunset.unwrap();
    let sat_sunrise = s.sun(date(2026, 6, 20)).sunrise.unwrap();
    let night = s.at(at(2026, 6, 20, 2, 0));
    assert_eq!((night.entry, night.level), (Some(0), 0.35));
    assert_eq!(night.since, Some(fri_sunset + 30.minutes()));
    let morning = s.at(sat_sunrise + 10.minutes());
    assert_eq!(
        (morning.entry, morning.level, morning.fade),
        (Some(1), 0.6, 300.0)
    );
    assert_eq!(s.at(sat_sunrise + 61.minutes()).entry, None);
    // Weekday mornings are not dimmed after sunrise.
    let mon_sunrise = s.sun(date(2026, 6, 22)).sunrise.unwrap();
    assert_eq!(s.at(mon_sunrise + 10.minutes()).entry, None);
}

#[test]
fn scheduled_playlists_may_not_have_a_brightness_schedule_of_their_own() {
    let tmp = tempfile::tempdir().unwrap();
    let main = tmp.path().join("main.toml");
    std::fs::write(
        &main,
        "[[items]]\nsource = \"pattern:bars\"\n\
         [[schedule]]\nplaylist = \"night.toml\"\nfrom = \"22:00\"\nto = \"06:00\"\n\
         [[brightness]]\nlevel = 0.5\nfrom = \"22:00\"\nto = \"06:00\"\n",
    )
    .unwrap();
    let night = tmp.path().join("night.toml");
    std::fs::write(
        &night,
        "[[items]]\nsource = \"pattern:line\"\n[[brightness]]\nlevel = 0.1\n",
    )
    .unwrap();
    let e = Show::load(&main).unwrap_err();
    assert_eq!(e.problems.len(), 1, "{e}");
    assert_eq!(e.problems[0].field, "schedule[0].playlist");
    assert!(
        e.problems[0]
            .reason
            .contains("[[brightness]] entries of its own"),
        "{e}"
    );
    std::fs::write(&night, "[[items]]\nsource = \"pattern:line\"\n").unwrap();
    let show = Show::load(&main).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(show.main.brightness.entries.len(), 1);
}

#[test]
fn edges_parse_as_written() {
    use ledwall_player::playlist::brightness::parse_edge;
    let sun = |event, secs| {
        Some(Edge::Sun {
            event,
            offset: SignedDuration::from_secs(secs),
        })
    };
    assert_eq!(parse_edge("sunset").unwrap(), sun(Sun::Sunset, 0));
    assert_eq!(parse_edge("Sunrise").unwrap(), sun(Sun::Sunrise, 0));
    assert_eq!(parse_edge("sunset+00:30").unwrap(), sun(Sun::Sunset, 1800));
    assert_eq!(
        parse_edge("sunrise-01:15").unwrap(),
        sun(Sun::Sunrise, -4500)
    );
    assert_eq!(parse_edge("sunset+12:00").unwrap(), sun(Sun::Sunset, 43200));
    assert_eq!(
        parse_edge("sunset-00:00:30").unwrap(),
        sun(Sun::Sunset, -30)
    );
    assert_eq!(
        parse_edge("sunset-00:00:30")
            .unwrap()
            .map(|e| e.to_string()),
        Some("sunset-00:00:30".to_string())
    );
    assert_eq!(parse_edge("24:00").unwrap(), None, "the end of the day");
    assert!(matches!(parse_edge("06:30").unwrap(), Some(Edge::Clock(_))));
    for bad in [
        "sunset+12:01",
        "sunset+0:30",
        "sunset 00:30",
        "sunset+",
        "sunset+24:00",
        "sundown",
        "dusk",
        "",
        "6:30",
        "25:00",
    ] {
        assert!(parse_edge(bad).is_err(), "{bad:?}");
    }
}
