//! The brightness schedule (design §12) over a previewed span, for content staff: a line
//! per scheduled change for the terminal ([`lines`]) and, for the HTML report, an inline
//! SVG of the level over the span with the entry that set it ([`svg`]) and a section with
//! the entries, the day's sunrise and sunset and the changes ([`section`]).
//!
//! Times are local wall-clock times in the schedule's time zone. A preview has no clock of
//! its own, so `ledwall preview` takes the playlist to start when the preview is made
//! ([`crate::commands::preview::run_at`] takes another start); the report shows the
//! whole local day of that start.

use super::check::trim;
use super::report::esc;
use crate::playlist::{BrightnessSchedule, Scheduled};
use jiff::SignedDuration;
use jiff::civil::{Date, DateTime, Time};
use std::fmt::Write as _;

/// `2026-06-21 21:33:00`.
pub fn stamp(t: DateTime) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// `21:33` (or `21:33:05` when the seconds are not 0).
pub fn hhmm(t: DateTime) -> String {
    if t.second() == 0 && t.subsec_nanosecond() == 0 {
        t.strftime("%H:%M").to_string()
    } else {
        t.strftime("%H:%M:%S").to_string()
    }
}

/// Who set a state, in words: `brightness[0] (sunset to sunrise, fade 60 s)`, or
/// `no entry (full level)`.
pub fn who(schedule: &BrightnessSchedule, s: &Scheduled) -> String {
    match s.entry.and_then(|i| schedule.entries.get(i)) {
        Some(e) => format!(
            "brightness[{}] ({}, fade {} s)",
            e.index,
            e.describe(),
            trim(e.fade)
        ),
        None => "no entry (full level)".to_string(),
    }
}

/// The terminal's view of the span `from`..`to`: the level at `from` and a line per
/// scheduled change, e.g. `brightness 0.35 from 2026-06-21 21:33:00: brightness[0] (sunset
/// to sunrise, fade 60 s)`. Nothing when the schedule is empty.
pub fn lines(schedule: &BrightnessSchedule, from: DateTime, to: DateTime) -> Vec<String> {
    if schedule.is_empty() {
        return Vec::new();
    }
    schedule
        .changes(from, to)
        .iter()
        .enumerate()
        .map(|(k, s)| {
            if k == 0 {
                format!(
                    "brightness {} at {}: {}",
                    trim(s.level),
                    stamp(from),
                    who(schedule, s)
                )
            } else {
                format!(
                    "brightness {} from {}: {}",
                    trim(s.level),
                    stamp(s.changed_at.unwrap_or(from)),
                    who(schedule, s)
                )
            }
        })
        .collect()
}

/// One stretch of constant schedule state inside a span.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stretch {
    /// Where it starts (the span's start for the first).
    pub from: DateTime,
    /// Where it ends (exclusive; the span's end for the last).
    pub to: DateTime,
    /// The state.
    pub state: Scheduled,
}

/// The span `from`..`to` cut at every scheduled change.
pub fn stretches(schedule: &BrightnessSchedule, from: DateTime, to: DateTime) -> Vec<Stretch> {
    let changes = schedule.changes(from, to);
    let starts: Vec<DateTime> = changes
        .iter()
        .enumerate()
        .map(|(k, s)| {
            if k == 0 {
                from
            } else {
                s.changed_at.unwrap_or(from).max(from)
            }
        })
        .collect();
    changes
        .iter()
        .enumerate()
        .map(|(k, s)| Stretch {
            from: starts[k],
            to: starts.get(k + 1).copied().unwrap_or(to).max(starts[k]),
            state: *s,
        })
        .collect()
}

/// Band colours of the entries (cycled); the full level has its own.
const PALETTE: [&str; 6] = [
    "#7fb3ff", "#f5c77e", "#9be3b0", "#d6a6f2", "#ff9f8f", "#8fe3e3",
];
const FULL_COLOR: &str = "#3a3a42";

/// Tick spacings of the time axis, in seconds.
const TICKS: [i64; 14] = [
    1,
    5,
    10,
    30,
    60,
    300,
    600,
    1800,
    3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86_400,
    7 * 86_400,
];

/// An inline SVG (no namespace URL needed inside HTML) of the level over `from`..`to`:
/// the level with its fades as a line over a filled area, a band under it coloured by the
/// entry that set it (labelled `#i level`, with a tooltip), and a time axis.
pub fn svg(schedule: &BrightnessSchedule, from: DateTime, to: DateTime) -> String {
    const W: f64 = 960.0;
    const X0: f64 = 34.0;
    const PW: f64 = W - X0 - 24.0;
    const TOP: f64 = 8.0;
    const PH: f64 = 80.0;
    const BAND_Y: f64 = TOP + PH + 6.0;
    const BAND_H: f64 = 20.0;
    let span = to.duration_since(from).as_secs_f64().max(1e-9);
    let x = |t: DateTime| X0 + PW * (t.duration_since(from).as_secs_f64() / span).clamp(0.0, 1.0);
    let y = |level: f64| TOP + PH * (1.0 - level.clamp(0.0, 1.0));
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"brightness\" viewBox=\"0 0 {W} 136\" width=\"100%\" role=\"img\" \
         aria-label=\"brightness from {} to {}\">",
        stamp(from),
        stamp(to)
    );
    // Grid and level labels.
    for level in [0.0, 0.5, 1.0] {
        let _ = write!(
            s,
            "<line x1=\"{X0}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#2a2a30\"/>\
             <text x=\"{}\" y=\"{}\" fill=\"#a8a8b0\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            X0 + PW,
            X0 - 4.0,
            y(level) + 4.0,
            trim(level),
            y = y(level),
        );
    }
    // Time axis.
    let secs = to.duration_since(from).as_secs();
    let step = TICKS
        .iter()
        .copied()
        .find(|&t| secs / t <= 8)
        .unwrap_or(30 * 86_400);
    let day_start = from.date().to_datetime(Time::midnight());
    let offset = from.duration_since(day_start).as_secs();
    let mut k = offset.div_euclid(step) * step;
    if k < offset {
        k += step;
    }
    let axis_y = BAND_Y + BAND_H + 14.0;
    while let Ok(t) = day_start.checked_add(SignedDuration::from_secs(k)) {
        if t > to {
            break;
        }
        let label = if step >= 86_400 {
            t.date().to_string()
        } else if step >= 60 {
            t.strftime("%H:%M").to_string()
        } else {
            t.strftime("%H:%M:%S").to_string()
        };
        let _ = write!(
            s,
            "<line x1=\"{xt:.2}\" x2=\"{xt:.2}\" y1=\"{TOP}\" y2=\"{}\" stroke=\"#2a2a30\"/>\
             <line x1=\"{xt:.2}\" x2=\"{xt:.2}\" y1=\"{}\" y2=\"{}\" stroke=\"#77777f\"/>\
             <text x=\"{xt:.2}\" y=\"{axis_y}\" fill=\"#a8a8b0\" font-size=\"11\" \
             text-anchor=\"middle\">{label}</text>",
            TOP + PH,
            BAND_Y + BAND_H,
            BAND_Y + BAND_H + 3.0,
            xt = x(t),
        );
        k += step;
    }
    // Bands: who sets the level.
    let parts = stretches(schedule, from, to);
    for p in &parts {
        let (x1, x2) = (x(p.from), x(p.to));
        let (color, label) = match p.state.entry {
            Some(i) => (
                PALETTE[i % PALETTE.len()],
                format!("#{i} {}", trim(p.state.level)),
            ),
            None => (FULL_COLOR, "full".to_string()),
        };
        let _ = write!(
            s,
            "<g><title>{} to {}: {} {}</title>\
             <rect x=\"{x1:.2}\" y=\"{BAND_Y}\" width=\"{:.2}\" height=\"{BAND_H}\" fill=\"{color}\"/>",
            stamp(p.from),
            stamp(p.to),
            trim(p.state.level),
            esc(&who(schedule, &p.state)),
            (x2 - x1).max(0.0),
        );
        // The full label where it fits, else the entry's number alone.
        let short = label.split(' ').next().unwrap_or_default().to_string();
        let label = [label, short]
            .into_iter()
            .find(|l| x2 - x1 > 7.0 * l.len() as f64 + 4.0);
        if let Some(label) = label {
            let _ = write!(
                s,
                "<text x=\"{:.2}\" y=\"{}\" font-size=\"11\" fill=\"{}\">{}</text>",
                x1 + 4.0,
                BAND_Y + 14.0,
                if p.state.entry.is_some() {
                    "#111"
                } else {
                    "#c8c8d0"
                },
                esc(&label)
            );
        }
        s.push_str("</g>");
    }
    // The level, fades included: its value at each change and where each fade ends (it is
    // linear in between).
    let mut pts: Vec<DateTime> = vec![from];
    for p in parts.iter().skip(1) {
        if let Ok(before) = p.from.checked_sub(SignedDuration::from_nanos(1)) {
            pts.push(before);
        }
        pts.push(p.from);
        if let Ok(end) = p
            .from
            .checked_add(SignedDuration::from_secs_f64(p.state.fade))
            && end < p.to
        {
            pts.push(end);
        }
    }
    // The first stretch may start inside a fade.
    if let Some(p) = parts.first()
        && let Some(c) = p.state.changed_at
        && let Ok(end) = c.checked_add(SignedDuration::from_secs_f64(p.state.fade))
        && end > from
        && end < p.to
    {
        pts.push(end);
    }
    if let Ok(last) = to.checked_sub(SignedDuration::from_nanos(1)) {
        pts.push(last.max(from));
    }
    pts.sort();
    pts.dedup();
    let line: Vec<String> = pts
        .iter()
        .map(|&t| format!("{:.2},{:.2}", x(t), y(schedule.faded_level(t))))
        .collect();
    let _ = write!(
        s,
        "<polygon points=\"{X0},{bottom} {} {:.2},{bottom}\" fill=\"#ffd27a\" fill-opacity=\"0.18\"/>\
         <polyline points=\"{}\" fill=\"none\" stroke=\"#ffd27a\" stroke-width=\"2\"/>",
        line.join(" "),
        X0 + PW,
        line.join(" "),
        bottom = y(0.0),
    );
    s.push_str("</svg>");
    s
}

/// The report's brightness section: the schedule over the local day `day` (the day the
/// preview starts), with `zone` naming the time zone. Says so when the file has no
/// schedule.
pub fn section(
    schedule: &BrightnessSchedule,
    day: Date,
    zone: &str,
    wall_brightness: f64,
) -> String {
    let mut h = String::from("<section id=\"brightness\">\n<h2>Brightness</h2>\n");
    if schedule.is_empty() {
        let _ = writeln!(
            h,
            "<p>No brightness schedule: the wall's brightness ({}) applies all day.</p>",
            trim(wall_brightness)
        );
        h.push_str("</section>\n");
        return h;
    }
    let from = day.to_datetime(Time::midnight());
    let to = day
        .tomorrow()
        .map_or(from, |d| d.to_datetime(Time::midnight()));
    let _ = write!(
        h,
        "<p class=\"meta\">The level multiplies the wall's brightness ({}); the entry that \
         matches with the latest start wins, and 1 applies when none does. {day}, local time \
         ({}).",
        trim(wall_brightness),
        esc(zone)
    );
    if let Some(loc) = schedule.location {
        let sun = schedule.sun(day);
        let _ = write!(
            h,
            " At {}, {}: sunrise {}, sunset {}.",
            trim(loc.latitude),
            trim(loc.longitude),
            sun.sunrise
                .map_or("none (polar night or day)".to_string(), hhmm),
            sun.sunset
                .map_or("none (polar night or day)".to_string(), hhmm),
        );
    }
    h.push_str("</p>\n");
    h.push_str(&svg(schedule, from, to));
    h.push_str("\n<table>\n<tr><th>from</th><th>level</th><th>set by</th><th>fade</th></tr>\n");
    for p in stretches(schedule, from, to) {
        let by = match p.state.entry {
            Some(i) => format!("<code>brightness[{i}]</code>"),
            None => "no entry".to_string(),
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{by}</td>\
             <td class=\"num\">{} s</td></tr>",
            hhmm(p.from),
            trim(p.state.level),
            trim(p.state.fade)
        );
    }
    h.push_str(
        "</table>\n<table>\n<tr><th>#</th><th>level</th><th>from</th><th>to</th><th>days</th>\
         <th>dates</th><th>fade</th></tr>\n",
    );
    for e in &schedule.entries {
        let days = match &e.days {
            None => "every day".to_string(),
            Some(list) => list
                .iter()
                .map(|d| {
                    crate::playlist::schedule::DAY_NAMES
                        .iter()
                        .find(|(_, w)| w == d)
                        .map_or("?", |(n, _)| n)
                })
                .collect::<Vec<_>>()
                .join(", "),
        };
        let _ = writeln!(
            h,
            "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td class=\"num\">{} s</td></tr>",
            e.index,
            trim(e.level),
            e.from.map_or("00:00".to_string(), |x| x.to_string()),
            e.to.map_or("24:00".to_string(), |x| x.to_string()),
            days,
            match e.dates {
                Some((a, b)) if a == b => a.to_string(),
                Some((a, b)) => format!("{a} to {b}"),
                None => "any".to_string(),
            },
            trim(e.fade)
        );
    }
    h.push_str("</table>\n</section>\n");
    h
}
