//! The status object (design §13) and the `/metrics` text, read from the engine's
//! [`Telemetry`] without taking anything from it.

use super::{Ctx, Monitor};
use crate::engine::telemetry::{AtomicHistogram, Telemetry, quantile};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

fn opt_index(v: u64) -> Option<usize> {
    (v != u64::MAX).then_some(v as usize)
}

/// Round to 3 decimals (times in seconds, levels).
fn r3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// The status object.
pub fn status(ctx: &Ctx, mon: &Monitor) -> Value {
    let t: &Telemetry = &ctx.telemetry;
    let shape = t.shape.load();
    let wall = &shape.wall;
    let hz = f64::from(wall.refresh_hz.max(1));
    let program = t.program.load();
    let ticks = t.ticks.load(Ordering::Relaxed);
    let count = program.items.len();
    let item = opt_index(t.item.load(Ordering::Relaxed)).and_then(|i| {
        let info = program.items.get(i)?;
        let elapsed = t.item_tick.load(Ordering::Relaxed) as f64 / hz;
        // A live item without a duration has no length: it plays until the schedule
        // changes (null, not the year the timeline places it for).
        let length = (info.duration_s.is_some() || info.start_s.is_none())
            .then(|| t.item_ticks.load(Ordering::Relaxed) as f64 / hz);
        Some(json!({
            "index": i,
            "count": count,
            "source": info.source,
            "elapsed_s": r3(elapsed),
            "remaining_s": length.map(|l| r3((l - elapsed).max(0.0))),
            "duration_s": length.map(r3),
        }))
    });
    let next = opt_index(t.next.load(Ordering::Relaxed)).and_then(|i| {
        let info = program.items.get(i)?;
        Some(json!({"index": i, "source": info.source}))
    });
    let (level, target, source, effective) = t.level();
    let pattern = program.pattern.as_ref().map(|p| {
        let until = t.pattern_until.load(Ordering::Relaxed);
        let left = until.saturating_sub(ticks) as f64 / hz;
        json!({
            "name": p.strip_prefix("pattern:").unwrap_or(p),
            "remaining_s": r3(left),
        })
    });
    let recent = t.recent_lateness();
    let sinks: Vec<Value> = shape
        .sinks
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "url": s.url,
                "frames": s.frames.load(Ordering::Relaxed),
                "bytes": s.bytes.load(Ordering::Relaxed),
                "packets": s.packets.load(Ordering::Relaxed),
                "errors": s.errors.load(Ordering::Relaxed),
                "waiting": s.waiting.load(Ordering::Relaxed),
            })
        })
        .collect();
    // An FPP MultiSync remote (design §10): what it hears and how it follows.
    let multisync = t.multisync.get().map(|r| {
        let s = r.stats();
        let c = r.counts();
        json!({
            "role": "remote",
            "port": r.remote().local_addr().port(),
            "master_present": s.master_present && !r.lost(),
            "master": r.master().map(|a| a.to_string()),
            "master_frame": r.last_frame(),
            "master_file": r.master_file(),
            "period_factor": r.factor_ppm() as f64 / 1e6,
            "packets": s.packets,
            "bad_packets": s.bad,
            "ignored_sender": s.ignored_sender,
            "corrections": {
                "switches": c.switches,
                "jumps": c.jumps,
                "skips": c.skips,
                "holds": c.holds,
                "stretched_ticks": c.stretched_ticks,
                "lost": c.lost,
            },
        })
    });
    let warnings: Vec<Value> = mon
        .warnings
        .iter()
        .map(|w| json!({"at": w.at, "level": w.level, "message": w.message}))
        .collect();
    json!({
        "wall": {
            "name": wall.name,
            "width": wall.width,
            "height": wall.height,
            "refresh_hz": wall.refresh_hz,
        },
        "backend": ctx.backend,
        "adapter": ctx.adapter,
        "uptime_s": r3(t.started.elapsed().as_secs_f64()),
        "ticks": ticks,
        "playlist": {
            "name": program.name,
            "path": program.path,
            "revision": program.revision,
        },
        "item": item,
        "next": next,
        "brightness": {
            "level": r3(f64::from(level)),
            "source": source.name(),
            "effective": r3(f64::from(effective)),
            "target": r3(f64::from(target)),
        },
        "blackout": t.blackout.load(Ordering::Relaxed),
        "pattern": pattern,
        "fps": (mon.fps * 10.0).round() / 10.0,
        "lateness_us": {
            "p50": quantile(&recent, 0.5),
            "p99": quantile(&recent, 0.99),
            "max": recent.last().copied().unwrap_or(0),
        },
        "frames": {
            "new": t.new.load(Ordering::Relaxed),
            "late": t.late.load(Ordering::Relaxed),
            "repeated": t.repeated.load(Ordering::Relaxed),
            "dropped": t.dropped.load(Ordering::Relaxed),
        },
        "render_errors": t.render_errors.load(Ordering::Relaxed),
        // Playing from an epoch (design §10): system clock steps re-aligned to; else null.
        "clock_steps": Some(t.clock_steps.load(Ordering::Relaxed)).filter(|&n| n != u64::MAX),
        "media": shape.open.faults.snapshot(),
        "sinks": sinks,
        "multisync": multisync,
        "warnings": warnings,
    })
}

/// `GET /api/v1/playlist`: the playlist playing with its items.
pub fn playlist(ctx: &Ctx) -> Value {
    let p = ctx.telemetry.program.load();
    let items: Vec<Value> = p
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            json!({
                "index": i,
                "source": it.source,
                "start_s": it.start_s.map(r3),
                "duration_s": it.duration_s.map(r3),
                "transition": it.transition,
                "playable": it.start_s.is_some(),
            })
        })
        .collect();
    json!({
        "name": p.name,
        "path": p.path,
        "revision": p.revision,
        "cycle_s": p.cycle_s.map(r3),
        "loop": p.looped,
        "items": items,
    })
}

/// A label value with `\`, `"` and newlines escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn histogram(out: &mut String, name: &str, help: &str, h: &AtomicHistogram) {
    head(out, name, "histogram", help);
    let (counts, sum) = h.cumulative();
    for (b, c) in h.bounds().iter().zip(&counts) {
        let _ = writeln!(out, "{name}_bucket{{le=\"{}\"}} {c}", *b as f64 / 1e6);
    }
    let total = counts.last().copied().unwrap_or(0);
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {total}");
    let _ = writeln!(out, "{name}_sum {sum}");
    let _ = writeln!(out, "{name}_count {total}");
}

/// `/metrics` in the Prometheus text format (version 0.0.4).
pub fn metrics(ctx: &Ctx, mon: &Monitor) -> String {
    let t = &ctx.telemetry;
    let shape = t.shape.load();
    let mut o = String::with_capacity(4096);
    head(
        &mut o,
        "ledwall_build_info",
        "gauge",
        "Version, backend and adapter of the running player (always 1).",
    );
    let _ = writeln!(
        o,
        "ledwall_build_info{{version=\"{}\",backend=\"{}\",adapter=\"{}\",wall=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION"),
        label(&ctx.backend),
        label(ctx.adapter.as_deref().unwrap_or("")),
        label(&shape.wall.name)
    );
    head(
        &mut o,
        "ledwall_uptime_seconds",
        "gauge",
        "Seconds since the player started.",
    );
    let _ = writeln!(
        o,
        "ledwall_uptime_seconds {:.3}",
        t.started.elapsed().as_secs_f64()
    );
    head(
        &mut o,
        "ledwall_refresh_hz",
        "gauge",
        "The wall's refresh rate.",
    );
    let _ = writeln!(o, "ledwall_refresh_hz {}", shape.wall.refresh_hz);
    head(
        &mut o,
        "ledwall_ticks_total",
        "counter",
        "Display ticks sent.",
    );
    let _ = writeln!(o, "ledwall_ticks_total {}", t.ticks.load(Ordering::Relaxed));
    head(
        &mut o,
        "ledwall_frames_total",
        "counter",
        "Ticks by what they sent (new, late, repeated) and frames dropped unsent.",
    );
    for (kind, c) in [
        ("new", &t.new),
        ("late", &t.late),
        ("repeated", &t.repeated),
        ("dropped", &t.dropped),
    ] {
        let _ = writeln!(
            o,
            "ledwall_frames_total{{kind=\"{kind}\"}} {}",
            c.load(Ordering::Relaxed)
        );
    }
    histogram(
        &mut o,
        "ledwall_lateness_seconds",
        "How late each tick was sent after its deadline.",
        &t.lateness,
    );
    histogram(
        &mut o,
        "ledwall_render_seconds",
        "Time to render a frame.",
        &t.render,
    );
    head(
        &mut o,
        "ledwall_render_errors_total",
        "counter",
        "Renders that failed or panicked.",
    );
    let _ = writeln!(
        o,
        "ledwall_render_errors_total {}",
        t.render_errors.load(Ordering::Relaxed)
    );
    head(
        &mut o,
        "ledwall_fps",
        "gauge",
        "Ticks sent per second, last 2 s.",
    );
    let _ = writeln!(o, "ledwall_fps {:.2}", mon.fps);
    for (name, help, pick) in [
        (
            "ledwall_sink_frames_total",
            "Ticks that sent data, per sink.",
            0usize,
        ),
        ("ledwall_sink_bytes_total", "Port bytes sent, per sink.", 1),
        (
            "ledwall_sink_packets_total",
            "Datagrams, files or frames written, per sink.",
            2,
        ),
        (
            "ledwall_sink_errors_total",
            "Failed sends and writes, per sink.",
            3,
        ),
    ] {
        head(&mut o, name, "counter", help);
        for s in &shape.sinks {
            let v = [&s.frames, &s.bytes, &s.packets, &s.errors][pick].load(Ordering::Relaxed);
            let _ = writeln!(
                o,
                "{name}{{sink=\"{}\",url=\"{}\"}} {v}",
                label(&s.name),
                label(&s.url)
            );
        }
    }
    let (level, _, source, effective) = t.level();
    head(
        &mut o,
        "ledwall_brightness_level",
        "gauge",
        "The brightness level in force (multiplies the wall's brightness), by who set it.",
    );
    let _ = writeln!(
        o,
        "ledwall_brightness_level{{source=\"{}\"}} {level}",
        source.name()
    );
    head(
        &mut o,
        "ledwall_brightness_effective",
        "gauge",
        "The multiplier the renderer applies now (level, faded, times the blackout).",
    );
    let _ = writeln!(o, "ledwall_brightness_effective {effective}");
    head(
        &mut o,
        "ledwall_blackout",
        "gauge",
        "1 while a blackout is asked for.",
    );
    let _ = writeln!(
        o,
        "ledwall_blackout {}",
        u8::from(t.blackout.load(Ordering::Relaxed))
    );
    head(
        &mut o,
        "ledwall_item_index",
        "gauge",
        "Playlist index of the item on screen (-1: none).",
    );
    let item = opt_index(t.item.load(Ordering::Relaxed)).map_or(-1, |i| i as i64);
    let _ = writeln!(o, "ledwall_item_index {item}");
    head(
        &mut o,
        "ledwall_playlist_revision",
        "gauge",
        "Counts playlist switches and reloads.",
    );
    let _ = writeln!(o, "ledwall_playlist_revision {}", t.program.load().revision);
    head(
        &mut o,
        "ledwall_control_requests_total",
        "counter",
        "Control API requests, by outcome.",
    );
    for (outcome, v) in [
        ("ok", &ctx.requests_ok),
        ("client_error", &ctx.requests_bad),
    ] {
        let v = v.load(Ordering::Relaxed);
        let _ = writeln!(
            o,
            "ledwall_control_requests_total{{outcome=\"{outcome}\"}} {v}"
        );
    }
    o
}
