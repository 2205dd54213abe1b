//! The HTML report: one self-contained file for content staff. Images are inlined as
//! base64 `data:` URIs and the CSS is inline: no script, no external request, so it can be
//! mailed or opened from a USB stick.
//!
//! It shows, in order: the findings of [`super::check`] (missing and broken media,
//! letterboxing and cropping with percentages, items shorter than their transition, low
//! resolution), the contact sheet, the timeline of every playlist (a bar proportional to
//! time and a table with each item's source as written in the playlist), the schedule, and
//! the brightness schedule over the local day of the preview ([`super::brightness`]).

use super::check::{ItemCheck, PlaylistCheck, trim};
use super::clock;
use super::look::Look;
use crate::playlist::{
    BrightnessSchedule, Playlist, ScheduleEntry, Transition, schedule::DAY_NAMES,
};
use ledwall_render::Wall;
use std::fmt::Write as _;
use std::path::Path;

/// One playlist of the show: the file's own items, or the playlist of a schedule entry.
#[derive(Debug, Clone, Copy)]
pub struct Section<'a> {
    /// Heading.
    pub title: &'a str,
    /// The playlist.
    pub playlist: &'a Playlist,
    /// Its items, checked and laid out.
    pub check: &'a PlaylistCheck,
}

/// Everything the report shows.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// The playlist file as given on the command line.
    pub file: &'a str,
    /// The wall.
    pub wall: &'a Wall,
    /// The wall file.
    pub wall_file: &'a Path,
    /// The file's `[[schedule]]` entries.
    pub schedule: &'a [ScheduleEntry],
    /// The main playlist first, then one per schedule entry.
    pub sections: &'a [Section<'a>],
    /// Which section the contact sheet shows.
    pub previewed: usize,
    /// The contact sheet, PNG bytes.
    pub sheet_png: &'a [u8],
    /// Its size in pixels.
    pub sheet_size: (u32, u32),
    /// How the frames are drawn.
    pub look: Look,
    /// The backend that rendered, and why.
    pub backend: &'a str,
    /// The file's brightness schedule (empty when it has none).
    pub brightness: &'a BrightnessSchedule,
    /// The local day the brightness section shows (the day the preview starts).
    pub day: jiff::civil::Date,
    /// The time zone of `day`, in words (`Europe/Berlin`, `UTC+01:00`).
    pub zone: &'a str,
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Escape text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
:root { color-scheme: dark; }
body { margin: 0; padding: 24px 32px; background: #151518; color: #e8e8ea;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 10px; border-bottom: 1px solid #333; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 22px 0 8px; }
.meta { color: #a8a8b0; margin: 0; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: #cfe3ff; }
img.sheet { max-width: 100%; height: auto; image-rendering: pixelated; border: 1px solid #333; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #2a2a30; vertical-align: top; }
th { color: #a8a8b0; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.dead td { color: #ff8f8f; }
ul.warnings { padding-left: 20px; }
ul.warnings li { margin: 3px 0; }
.kind { display: inline-block; min-width: 7.5em; padding: 0 6px; margin-right: 6px; border-radius: 4px;
  font-size: 12px; text-align: center; background: #4a3a10; color: #ffd27a; }
.kind.missing, .kind.broken, .kind.skipped { background: #5a1c1c; color: #ffb3b3; }
.ok { color: #8fd694; }
.bar { display: flex; height: 34px; border-radius: 4px; overflow: hidden; margin: 6px 0 10px;
  background: #222; }
.seg { overflow: hidden; white-space: nowrap; font-size: 12px; line-height: 34px; padding: 0 4px;
  border-right: 1px solid #151518; color: #111; }
.seg:nth-child(4n+1) { background: #7fb3ff; } .seg:nth-child(4n+2) { background: #9be3b0; }
.seg:nth-child(4n+3) { background: #f5c77e; } .seg:nth-child(4n+4) { background: #d6a6f2; }
footer { margin-top: 36px; color: #77777f; font-size: 13px; }
"#;

/// The report as one HTML document.
pub fn html(r: &Report<'_>) -> String {
    let mut h = String::new();
    let main = r.sections.first();
    let name = main.map_or("playlist", |s| s.playlist.name.as_str());
    let wall = r.wall;
    let modules: usize = wall.outputs.iter().map(|o| o.modules.len()).sum();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>ledwall preview: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(name)
    );
    let _ = write!(
        h,
        "<header>\n<h1>{}</h1>\n<p class=\"meta\">playlist <code>{}</code> on wall \
         <b>{}</b> (<code>{}</code>): {}x{} pixels, {} modules on {} outputs, {} Hz, {}-bit, \
         brightness {}</p>\n</header>\n",
        esc(name),
        esc(r.file),
        esc(&wall.name),
        esc(&r.wall_file.display().to_string()),
        wall.width,
        wall.height,
        modules,
        wall.outputs.len(),
        wall.refresh_hz,
        wall.color.bit_depth,
        trim(wall.color.brightness),
    );

    // Findings.
    let total: usize = r.sections.iter().map(|s| s.check.warnings().count()).sum();
    let _ = write!(
        h,
        "<section id=\"warnings\">\n<h2>Warnings ({total})</h2>\n"
    );
    if total == 0 {
        h.push_str("<p class=\"ok\">No warnings: every item plays, fills the canvas and is sharp enough.</p>\n");
    } else {
        h.push_str("<ul class=\"warnings\">\n");
        for s in r.sections {
            for (c, w) in s.check.warnings() {
                let _ = writeln!(
                    h,
                    "<li><span class=\"kind {k}\">{k}</span>{where_}item {n} <code>{src}</code>: {text}</li>",
                    k = w.kind.name(),
                    where_ = if r.sections.len() > 1 {
                        format!("{}, ", esc(s.title))
                    } else {
                        String::new()
                    },
                    n = c.file_index + 1,
                    src = esc(&c.source),
                    text = esc(&w.text),
                );
            }
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</section>\n");

    // Contact sheet.
    let shown = r
        .sections
        .get(r.previewed)
        .map_or("the playlist", |s| s.title);
    let _ = write!(
        h,
        "<section id=\"sheet\">\n<h2>Contact sheet</h2>\n<p class=\"meta\">{}: every item at \
         its first frame (after its transition) and its middle frame, as the wall shows them \
         (rendered by {}; {}).</p>\n\
         <img class=\"sheet\" alt=\"contact sheet of {}\" width=\"{}\" height=\"{}\" \
         src=\"data:image/png;base64,{}\">\n</section>\n",
        esc(shown),
        esc(r.backend),
        if r.look.led {
            format!("LED look, {} pixels a LED", r.look.scale)
        } else {
            format!("{}x", r.look.scale)
        },
        esc(shown),
        r.sheet_size.0,
        r.sheet_size.1,
        base64(r.sheet_png),
    );

    // Timelines.
    h.push_str("<section id=\"timeline\">\n<h2>Timeline</h2>\n");
    for s in r.sections {
        timeline(&mut h, s);
    }
    h.push_str("</section>\n");

    // Schedule.
    h.push_str("<section id=\"schedule\">\n<h2>Schedule</h2>\n");
    if r.schedule.is_empty() {
        h.push_str("<p>No schedule: the file's own items always play.</p>\n");
    } else {
        let base = Path::new(r.file).parent().unwrap_or(Path::new(""));
        h.push_str(
            "<p>The highest priority entry that matches the player's local time plays (the \
             first on a tie); when none matches, the file's own items play.</p>\n<table>\n\
             <tr><th>#</th><th>playlist</th><th>days</th><th>from</th><th>to</th>\
             <th>dates</th><th>priority</th></tr>\n",
        );
        for e in r.schedule {
            let file = e.playlist.strip_prefix(base).unwrap_or(&e.playlist);
            let _ = writeln!(
                h,
                "<tr><td class=\"num\">{}</td><td><code>{}</code></td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                e.index,
                esc(&file.display().to_string()),
                days(e),
                e.from.map_or("00:00".to_string(), hhmm),
                e.to.map_or("24:00".to_string(), hhmm),
                match e.dates {
                    Some((a, b)) if a == b => a.to_string(),
                    Some((a, b)) => format!("{a} to {b}"),
                    None => "any".to_string(),
                },
                e.priority
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("</section>\n");

    // Brightness.
    h.push_str(&super::brightness::section(
        r.brightness,
        r.day,
        r.zone,
        wall.color.brightness,
    ));
    let _ = write!(
        h,
        "<footer>Made by ledwall {} (<code>ledwall preview</code>). Times are seconds into \
         one pass of the playlist.</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    h
}

fn hhmm(t: jiff::civil::Time) -> String {
    if t.second() == 0 {
        format!("{:02}:{:02}", t.hour(), t.minute())
    } else {
        format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
    }
}

fn days(e: &ScheduleEntry) -> String {
    match &e.days {
        None => "every day".to_string(),
        Some(list) => list
            .iter()
            .map(|d| {
                DAY_NAMES
                    .iter()
                    .find(|(_, w)| w == d)
                    .map_or("?", |(n, _)| n)
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn timeline(h: &mut String, s: &Section<'_>) {
    let hz = s.check.timeline.hz().max(1) as f64;
    let _ = writeln!(
        h,
        "<h3>{}</h3>\n<p class=\"meta\"><code>{}</code>: {} items, one pass {} ({}), {}</p>",
        esc(s.title),
        esc(&s.playlist.file.display().to_string()),
        s.playlist.items.len(),
        clock(s.check.pass_seconds()),
        format_args!("{} s", trim(s.check.pass_seconds())),
        if s.playlist.looped {
            "looped"
        } else {
            "played once, then its last frame holds"
        }
    );
    if s.check.timeline.cycle_ticks() > 0 {
        h.push_str("<div class=\"bar\">");
        for c in &s.check.items {
            if let Some(p) = &c.placed {
                let _ = write!(
                    h,
                    "<div class=\"seg\" style=\"flex: {} 0 0\" title=\"{} {} at {}\">{}</div>",
                    p.ticks,
                    c.file_index + 1,
                    esc(&c.source),
                    clock(p.start as f64 / hz),
                    c.file_index + 1
                );
            }
        }
        h.push_str("</div>\n");
    }
    h.push_str(
        "<table>\n<tr><th>#</th><th>source</th><th>media</th><th>start</th><th>duration</th>\
         <th>fit</th><th>filter</th><th>transition</th><th>warnings</th></tr>\n",
    );
    for (c, item) in s.check.items.iter().zip(&s.playlist.items) {
        row(h, c, item, hz);
    }
    h.push_str("</table>\n");
}

fn row(h: &mut String, c: &ItemCheck, item: &crate::playlist::Item, hz: f64) {
    let media = match (c.kind, c.size) {
        (Some(k), Some((w, hh))) => format!("{} {w}x{hh}", k.name()),
        _ => "—".to_string(),
    };
    let (start, dur) = match &c.placed {
        Some(p) => (
            clock(p.start as f64 / hz),
            format!("{} s", trim(p.ticks as f64 / hz)),
        ),
        None => ("not played".to_string(), "—".to_string()),
    };
    let transition = match item.transition {
        Transition::Cut => "cut".to_string(),
        Transition::Crossfade { duration } => format!("crossfade {} s", trim(duration)),
    };
    let warnings = c
        .warnings
        .iter()
        .map(|w| format!("<span class=\"kind {k}\">{k}</span>", k = w.kind.name()))
        .collect::<Vec<_>>()
        .join(" ");
    let _ = writeln!(
        h,
        "<tr{}><td class=\"num\">{}</td><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        if c.plays() { "" } else { " class=\"dead\"" },
        c.file_index + 1,
        esc(&c.source),
        esc(&media),
        start,
        dur,
        item.fit.name(),
        item.filter.name(),
        transition,
        warnings
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (i, o) in cases {
            assert_eq!(base64(i.as_bytes()), o, "{i}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
