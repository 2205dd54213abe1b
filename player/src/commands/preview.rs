//! `ledwall preview`: what the wall will show, for content staff, without the wall
//! (design §11). Everything goes through the real renderer and the emulator
//! ([`crate::preview`]); faster than real time.
//!
//! The output file's name picks what is written:
//!
//! | `--out` | writes |
//! |---|---|
//! | `*.gif` | an animated GIF (256 colours a frame, delays in centiseconds, `--fps` ≤ 50) |
//! | `*.png`, `*.apng` | an animated PNG (lossless) |
//! | `*.sheet.png`, or `*.png` with `--contact-sheet` | the contact sheet |
//! | `*.html` | the report: warnings, contact sheet, timeline, schedule; one self-contained file |
//!
//! Media problems are findings, not failures: a missing or broken file is skipped as the
//! player skips it, and listed (stderr, and the report).
//!
//! The brightness schedule (design §12) needs a wall-clock time, which a preview does not
//! have: the playlist is taken to start when the preview is made, in the system's time
//! zone ([`run_at`] takes another start). An animation's frames are rendered at the level
//! the schedule gives at their time (fades included), and the summary has a line per
//! scheduled change over the animation; the report shows the level over that local day.

use crate::UsageError;
use crate::cli::PreviewArgs;
use crate::media::LoadOptions;
use crate::playlist::{Playlist, Show};
use crate::preview::anim::{AnimWriter, MAX_GIF_FPS};
use crate::preview::check::{PlaylistCheck, check_playlist};
use crate::preview::look::{Look, MIN_LED_SCALE, Painter};
use crate::preview::report::{self, Report, Section};
use crate::preview::sheet::contact_sheet;
use crate::preview::{self, Previewer, clock, sample_ticks};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use jiff::SignedDuration;
use ledwall_render::{BackendOptions, Wall};
use std::io::{BufWriter, Write};
use std::path::Path;

/// Preview frames per second when `--fps` is not given.
pub const DEFAULT_FPS: u32 = 10;
/// Animations are upscaled (when `--scale` is not given) to at least this width...
pub const ANIM_TARGET_WIDTH: u32 = 512;
/// ...and contact-sheet frames to at least this one...
pub const SHEET_TARGET_WIDTH: u32 = 240;
/// ...by at most this factor.
pub const MAX_AUTO_SCALE: u32 = 8;
/// The smallest automatic scale of the LED look.
pub const LED_AUTO_SCALE: u32 = 4;

/// What `--out` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// Animated GIF.
    Gif,
    /// Animated PNG.
    Apng,
    /// Contact sheet PNG.
    Sheet,
    /// HTML report.
    Html,
}

impl OutputKind {
    /// What the output file's name (and `--contact-sheet`) asks for.
    pub fn from_path(out: &Path, contact_sheet: bool) -> Result<OutputKind, UsageError> {
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let kind = if name.ends_with(".html") || name.ends_with(".htm") {
            OutputKind::Html
        } else if name.ends_with(".sheet.png") {
            OutputKind::Sheet
        } else if name.ends_with(".png") || name.ends_with(".apng") {
            if contact_sheet {
                OutputKind::Sheet
            } else {
                OutputKind::Apng
            }
        } else if name.ends_with(".gif") {
            OutputKind::Gif
        } else {
            return Err(UsageError(format!(
                "--out {}: the extension picks the output: .gif or .png/.apng (animation), \
                 .sheet.png (contact sheet), .html (report)",
                out.display()
            )));
        };
        if contact_sheet && !matches!(kind, OutputKind::Sheet) {
            return Err(UsageError(format!(
                "--contact-sheet writes a PNG: name the output *.png (got {})",
                out.display()
            )));
        }
        Ok(kind)
    }

    fn animated(self) -> bool {
        matches!(self, OutputKind::Gif | OutputKind::Apng)
    }
}

/// The smallest integer scale that makes `width` at least `target` wide (1 to
/// [`MAX_AUTO_SCALE`]).
pub fn auto_scale(width: u32, target: u32) -> u32 {
    target.div_ceil(width.max(1)).clamp(1, MAX_AUTO_SCALE)
}

/// The look `args` ask for on a canvas `width` wide, for output `kind`.
pub fn look(args: &PreviewArgs, kind: OutputKind, width: u32) -> Result<Look, UsageError> {
    let target = if kind.animated() {
        ANIM_TARGET_WIDTH
    } else {
        SHEET_TARGET_WIDTH
    };
    let scale = match args.scale {
        Some(s) => s,
        None if args.led_look => auto_scale(width, target).max(LED_AUTO_SCALE),
        None => auto_scale(width, target),
    };
    if args.led_look && scale < MIN_LED_SCALE {
        return Err(UsageError(format!(
            "--led-look needs --scale {MIN_LED_SCALE} or more (pixels per LED), got {scale}"
        )));
    }
    Ok(Look {
        scale,
        led: args.led_look,
    })
}

fn check_args(args: &PreviewArgs, kind: OutputKind) -> Result<(), UsageError> {
    if !kind.animated() {
        for (given, flag) in [
            (args.fps.is_some(), "--fps"),
            (args.from.is_some(), "--from"),
            (args.to.is_some(), "--to"),
        ] {
            if given {
                return Err(UsageError(format!(
                    "{flag} applies to animations (--out *.gif, *.png); contact sheets and \
                     reports show every item"
                )));
            }
        }
    }
    let fps = args.fps.unwrap_or(DEFAULT_FPS);
    if kind == OutputKind::Gif && fps > MAX_GIF_FPS {
        return Err(UsageError(format!(
            "--fps {fps}: GIF delays are whole centiseconds and browsers slow down frames \
             under 20 ms; use --fps {MAX_GIF_FPS} or less, or write an APNG (--out *.png)"
        )));
    }
    if let (Some(f), Some(t)) = (args.from, args.to)
        && t <= f
    {
        return Err(UsageError(format!(
            "--to {t} must be later than --from {f}"
        )));
    }
    Ok(())
}

/// A progress bar on stderr with an ETA; hidden with `quiet` and when stderr is not a
/// terminal (indicatif draws nothing then).
fn progress(len: u64, quiet: bool, what: &'static str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:32}] {pos}/{len} frames, {elapsed} so far, ETA {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what);
    bar
}

/// Run `ledwall preview`: a summary goes to `out`, warnings to `err` (neither with
/// `--quiet`). The playlist is taken to start now, in the system's time zone.
pub fn run(args: &PreviewArgs, out: &mut impl Write, err: &mut impl Write) -> anyhow::Result<()> {
    run_at(args, &jiff::ZonedDateTime::now(), out, err)
}

/// The time zone of `start` in words: its IANA name, else its offset then (`UTC+01:00`).
fn zone_name(start: &jiff::ZonedDateTime) -> String {
    match start.time_zone().iana_name() {
        Some(name) => name.to_string(),
        None => format!("UTC{}", start.strftime("%:z")),
    }
}

/// [`run`] as if the playlist started at `start`: the brightness schedule is evaluated in
/// `start`'s time zone, an animation's second 0 (before `--from`) is `start`'s local time,
/// and the report shows the brightness over `start`'s local day.
pub fn run_at(
    args: &PreviewArgs,
    start: &jiff::ZonedDateTime,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    let kind = OutputKind::from_path(&args.out, args.contact_sheet)?;
    check_args(args, kind)?;
    let wall = Wall::load(&args.wall)?;
    wall.check_memory()?;
    let look = look(args, kind, wall.width)?;
    let mut main = Playlist::from_cli_arg(&args.playlist)?;
    main.brightness.set_time_zone(start.time_zone().clone());
    let t0 = start.datetime();
    let show = Show::with_schedule(main)?;
    let previewed = match args.schedule {
        None => 0,
        Some(i) if i < show.scheduled.len() => i + 1,
        Some(i) => {
            return Err(UsageError(format!(
                "--schedule {i}: {} has {} [[schedule]] entries (counted from 0)",
                args.playlist,
                show.scheduled.len()
            ))
            .into());
        }
    };
    let playlists: Vec<&Playlist> = std::iter::once(&show.main)
        .chain(show.scheduled.iter())
        .collect();
    let titles: Vec<String> = std::iter::once("the file's own items".to_string())
        .chain(show.main.schedule.iter().map(|e| {
            format!(
                "schedule[{}]: {}",
                e.index,
                e.playlist.file_name().map_or_else(
                    || e.playlist.display().to_string(),
                    |n| n.to_string_lossy().into_owned()
                )
            )
        }))
        .collect();
    let playlist = playlists[previewed];
    let opts = preview::open_options(
        &wall,
        LoadOptions {
            max_pixels: args.max_pixels,
            max_bytes: args.max_memory << 20,
            ..LoadOptions::default()
        },
    );
    let hz = wall.refresh_hz;
    // The report covers every playlist of the show; the other outputs only the one shown.
    let checks: Vec<Option<PlaylistCheck>> = playlists
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (kind == OutputKind::Html || i == previewed).then(|| check_playlist(p, &opts, hz))
        })
        .collect();
    let Some(check) = checks[previewed].as_ref() else {
        anyhow::bail!("internal: the previewed playlist was not checked");
    };
    let backend = BackendOptions {
        choice: args.backend.into(),
        adapter: args.adapter.clone(),
        threads: 0,
    };
    let mut previewer = Previewer::new(&wall, playlist, opts.clone(), &backend, &check.timings())
        .context("cannot start the renderer")?;
    let painter = Painter::new(look, &opts.canvas.modules);
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the folder {}", dir.display()))?;
    }
    let canvas = (wall.width, wall.height);
    let bright = &show.main.brightness;
    // The local time at `s` seconds into the playlist.
    let civil = |s: f64| {
        SignedDuration::try_from_secs_f64(s)
            .ok()
            .and_then(|d| t0.checked_add(d).ok())
            .unwrap_or(t0)
    };
    let mut brightness_lines = Vec::new();
    let summary = match kind {
        OutputKind::Gif | OutputKind::Apng => {
            let fps = args.fps.unwrap_or(DEFAULT_FPS);
            let from = args.from.unwrap_or(0.0);
            let pass = check.pass_seconds();
            let to = args
                .to
                .unwrap_or(from + if pass > 0.0 { pass } else { 1.0 / fps as f64 });
            let ticks = sample_ticks(from, to, fps, hz);
            let (w, h) = look.size(canvas.0, canvas.1);
            let file = std::fs::File::create(&args.out)
                .with_context(|| format!("cannot create {}", args.out.display()))?;
            let sink = BufWriter::new(file);
            let n = ticks.len() as u64;
            let mut anim = if kind == OutputKind::Gif {
                AnimWriter::gif(sink, w, h, n, fps)
            } else {
                AnimWriter::apng(sink, w, h, n, fps)
            }
            .with_context(|| format!("cannot write {}", args.out.display()))?;
            let bar = progress(n, args.quiet, "rendering");
            for &tick in &ticks {
                if !bright.is_empty() {
                    previewer.set_brightness(bright.faded_level(civil(tick as f64 / hz as f64)));
                }
                let shown = previewer.render_tick(tick)?;
                anim.push(painter.paint(&shown))
                    .with_context(|| format!("cannot write {}", args.out.display()))?;
                bar.inc(1);
            }
            anim.finish()
                .with_context(|| format!("cannot write {}", args.out.display()))?;
            bar.finish_and_clear();
            brightness_lines = preview::brightness::lines(bright, civil(from), civil(to));
            format!(
                "{n} frame{} of {w}x{h} at {fps} fps, {} to {} of \"{}\"",
                if n == 1 { "" } else { "s" },
                clock(from),
                clock(to),
                playlist.name
            )
        }
        OutputKind::Sheet | OutputKind::Html => {
            let frames = 2 * check.items.iter().filter(|c| c.plays()).count() as u64;
            let bar = progress(frames, args.quiet, "rendering the contact sheet");
            let sheet = contact_sheet(&mut previewer, check, &painter, canvas, &mut || bar.inc(1))?;
            bar.finish_and_clear();
            let mut png = Vec::new();
            image::DynamicImage::ImageRgba8(sheet.image.clone())
                .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
                .context("cannot encode the contact sheet")?;
            let (sw, sh) = sheet.image.dimensions();
            if kind == OutputKind::Sheet {
                std::fs::write(&args.out, &png)
                    .with_context(|| format!("cannot write {}", args.out.display()))?;
                format!("contact sheet of {} items, {sw}x{sh}", sheet.tiles.len())
            } else {
                let sections: Vec<Section<'_>> = checks
                    .iter()
                    .zip(&playlists)
                    .zip(&titles)
                    .filter_map(|((c, p), t)| {
                        c.as_ref().map(|check| Section {
                            title: t,
                            playlist: p,
                            check,
                        })
                    })
                    .collect();
                let html = report::html(&Report {
                    file: &args.playlist,
                    wall: &wall,
                    wall_file: &args.wall,
                    schedule: &show.main.schedule,
                    sections: &sections,
                    previewed,
                    sheet_png: &png,
                    sheet_size: (sw, sh),
                    look,
                    backend: previewer.backend(),
                    brightness: bright,
                    day: t0.date(),
                    zone: &zone_name(start),
                });
                let day = t0.date().to_datetime(jiff::civil::Time::midnight());
                let next = t0
                    .date()
                    .tomorrow()
                    .map_or(day, |d| d.to_datetime(jiff::civil::Time::midnight()));
                brightness_lines = preview::brightness::lines(bright, day, next);
                std::fs::write(&args.out, html)
                    .with_context(|| format!("cannot write {}", args.out.display()))?;
                format!(
                    "report of {} playlist(s), contact sheet of {} items",
                    sections.len(),
                    sheet.tiles.len()
                )
            }
        }
    };
    if !args.quiet {
        let mut count = 0;
        for (i, c) in checks.iter().enumerate() {
            let Some(c) = c else { continue };
            for (item, w) in c.warnings() {
                count += 1;
                let whose = if i == 0 {
                    String::new()
                } else {
                    format!("{}: ", titles[i])
                };
                writeln!(
                    err,
                    "warning: {whose}item {} ({}): {}",
                    item.file_index + 1,
                    item.source,
                    w.text
                )?;
            }
        }
        writeln!(
            out,
            "wrote {}: {summary}; {count} warning{}\nbackend: {}",
            args.out.display(),
            if count == 1 { "" } else { "s" },
            previewer.backend()
        )?;
        for line in &brightness_lines {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}
