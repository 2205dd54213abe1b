//! The brightness schedule on the command line: `ledwall validate` reports its problems
//! like every playlist problem, and `ledwall preview` shows the level over the previewed
//! span (summary lines, the report's section and SVG) and renders the frames at it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use image::codecs::png::PngDecoder;
use image::{AnimationDecoder, Frame};
use jiff::civil::date;
use jiff::tz::TimeZone;
use ledwall_player::cli::{Cli, Command};
use ledwall_player::commands::preview;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::Output;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn ledwall(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .args(args)
        .env("NODEVICE_SELECT", "1")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn berlin() -> TimeZone {
    TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap()
}

/// `ledwall preview ARGS` through the library, as if the playlist started at `start`.
fn preview_at(args: &[&str], start: &jiff::ZonedDateTime) -> (String, String) {
    let mut argv = vec!["ledwall", "preview", "--backend", "cpu"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).unwrap();
    let Command::Preview(a) = cli.command else {
        panic!("not preview")
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    preview::run_at(&a, start, &mut out, &mut err).unwrap_or_else(|e| panic!("{e:#}"));
    (text(&out), text(&err))
}

#[test]
fn validate_accepts_the_fixture_and_reports_every_brightness_problem() {
    let fixture = fixtures().join("playlists/dimmed.toml");
    let o = ledwall(&["validate", fixture.to_str().unwrap()]);
    let (so, se) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{so}\n{se}");
    assert!(
        so.contains("dimmed.toml: ok (playlist \"dimmed\", 2 items, 2 brightness entries)"),
        "{so}"
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[items]]\nsource = \"pattern:bars\"\n\
         [[brightness]]\nlevel = 2.0\nfrom = \"sunset\"\nto = \"25:00\"\nfade = -3.0\n",
    )
    .unwrap();
    let o = ledwall(&["validate", bad.to_str().unwrap()]);
    let (so, se) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(2), "{so}\n{se}");
    assert!(!se.contains("panicked"), "{se}");
    let file = bad.display().to_string();
    for line in [
        format!("{file}: 4 problems"),
        format!("{file}: brightness[0].level: level 2 must be from 0 to 1"),
        format!(
            "{file}: brightness[0].from: \"sunset\" needs a [location] (latitude and \
             longitude) to compute sunset"
        ),
        format!("{file}: brightness[0].to: \"25:00\" is not a time"),
        format!("{file}: brightness[0].fade: fade -3 must be from 0 to 86400 seconds"),
    ] {
        assert!(se.contains(&line), "stderr lacks {line:?}:\n{se}");
    }
}

#[test]
fn the_report_shows_the_level_over_the_day_with_the_entry_that_set_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dimmed.html");
    let start = date(2026, 6, 21)
        .at(12, 0, 0, 0)
        .to_zoned_datetime(berlin())
        .unwrap();
    let (so, _) = preview_at(
        &[
            fixtures().join("playlists/dimmed.toml").to_str().unwrap(),
            "--wall",
            fixtures().join("walls/tiny.toml").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &start,
    );
    // Sunday 2026-06-21 in Berlin: the night of Saturday, the first hour after sunrise
    // (a weekend), the day, the night from sunset + 30 min.
    let lines: Vec<&str> = so.lines().filter(|l| l.starts_with("brightness")).collect();
    assert_eq!(
        lines,
        [
            "brightness 0.35 at 2026-06-21 00:00:00: brightness[0] (sunset+00:30 to sunrise, fade 60 s)",
            "brightness 0.6 from 2026-06-21 04:43:04: brightness[1] (sunrise to sunrise+01:00, sat, sun, fade 300 s)",
            "brightness 1 from 2026-06-21 05:43:04: no entry (full level)",
            "brightness 0.35 from 2026-06-21 22:03:10: brightness[0] (sunset+00:30 to sunrise, fade 60 s)",
        ],
        "{so}"
    );
    let html = std::fs::read_to_string(&out).unwrap();
    let section = &html[html
        .find("<section id=\"brightness\">")
        .expect("a brightness section")..];
    let section = &section[..section.find("</section>").unwrap_or(section.len())];
    for needle in [
        "2026-06-21, local time (UTC+02:00)",
        "At 52.52, 13.4: sunrise 04:43:04, sunset 21:33:10.",
        "<svg class=\"brightness\"",
        // The bands: who set the level, with tooltips.
        "#0 0.35",
        ">#1</text>",
        "<title>2026-06-21 04:43:04 to 2026-06-21 05:43:04: 0.6 brightness[1] (sunrise to \
         sunrise+01:00, sat, sun, fade 300 s)</title>",
        // The changes and the entries.
        "<td class=\"num\">22:03:10</td><td class=\"num\">0.35</td><td><code>brightness[0]</code></td>",
        "<td>sunset+00:30</td><td>sunrise</td><td>every day</td>",
        "<td>sunrise</td><td>sunrise+01:00</td><td>sat, sun</td>",
    ] {
        assert!(
            section.contains(needle),
            "the section lacks {needle:?}:\n{section}"
        );
    }
    // Still self-contained: the SVG is inline, no namespace URL, nothing loaded.
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert_eq!(html.matches("src=\"").count(), 1);
    assert!(!html.contains("<script"));

    // Without a schedule the report says so.
    let plain = dir.path().join("plain.toml");
    std::fs::write(
        &plain,
        "[[items]]\nsource = \"pattern:bars\"\nduration = 1.0\n",
    )
    .unwrap();
    let out = dir.path().join("plain.html");
    let (so, _) = preview_at(
        &[
            plain.to_str().unwrap(),
            "--wall",
            fixtures().join("walls/tiny.toml").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &start,
    );
    assert!(!so.contains("brightness "), "{so}");
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(
        html.contains("No brightness schedule: the wall's brightness (1) applies all day."),
        "{html}"
    );
}

fn apng_frames(path: &Path) -> Vec<Frame> {
    let f = std::fs::File::open(path).unwrap();
    let dec = PngDecoder::new(BufReader::new(f)).unwrap();
    dec.apng().unwrap().into_frames().collect_frames().unwrap()
}

fn mean(f: &Frame) -> f64 {
    let px = f.buffer().as_raw();
    px.chunks(4)
        .map(|p| p[..3].iter().map(|&c| c as f64).sum::<f64>())
        .sum::<f64>()
        / px.len() as f64
}

#[test]
fn animation_frames_are_rendered_at_the_scheduled_level() {
    let dir = tempfile::tempdir().unwrap();
    let playlist = dir.path().join("noon.toml");
    std::fs::write(
        &playlist,
        "[[items]]\nsource = \"pattern:solid:#ffffff\"\nduration = 2.0\n\
         [[brightness]]\nlevel = 0.25\nfrom = \"12:00\"\nto = \"13:00\"\nfade = 0\n",
    )
    .unwrap();
    let out = dir.path().join("noon.png");
    // One second before noon: frames 0-3 at full level, 4-7 at 0.25.
    let start = date(2026, 6, 21)
        .at(11, 59, 59, 0)
        .to_zoned_datetime(berlin())
        .unwrap();
    let (so, _) = preview_at(
        &[
            playlist.to_str().unwrap(),
            "--wall",
            fixtures().join("walls/tiny.toml").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--fps",
            "4",
            "--to",
            "2",
        ],
        &start,
    );
    assert!(so.contains("8 frames of"), "{so}");
    assert!(
        so.contains("brightness 1 at 2026-06-21 11:59:59: no entry (full level)\n"),
        "{so}"
    );
    assert!(
        so.contains(
            "brightness 0.25 from 2026-06-21 12:00:00: brightness[0] (12:00 to 13:00, fade 0 s)\n"
        ),
        "{so}"
    );
    let frames = apng_frames(&out);
    assert_eq!(frames.len(), 8);
    let m: Vec<f64> = frames.iter().map(mean).collect();
    for k in 1..4 {
        assert_eq!(m[k], m[0], "{m:?}");
        assert_eq!(m[4 + k], m[4], "{m:?}");
    }
    assert!(m[4] < 0.6 * m[0], "dimmed frames are darker: {m:?}");
}

#[test]
fn the_binary_prints_the_brightness_and_writes_the_section() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.html");
    let o = ledwall(&[
        "preview",
        fixtures().join("playlists/dimmed.toml").to_str().unwrap(),
        "--wall",
        fixtures().join("walls/tiny.toml").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
    ]);
    let (so, se) = (text(&o.stdout), text(&o.stderr));
    assert!(o.status.success(), "{so}\n{se}");
    // Whatever day it is (today, in the system's time zone): the level at midnight, and
    // at least the night's start.
    let lines: Vec<&str> = so
        .lines()
        .filter(|l| l.starts_with("brightness "))
        .collect();
    assert!(lines.len() >= 2, "{so}");
    assert!(
        lines[0].starts_with("brightness ") && lines[0].contains(" 00:00:00: "),
        "the report's day starts at midnight: {so}"
    );
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(
        html.contains("<section id=\"brightness\">") && html.contains("<svg class=\"brightness\"")
    );
}
