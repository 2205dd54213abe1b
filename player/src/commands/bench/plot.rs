//! The `ledwall bench --plot FILE.png` figure: per-frame render time of the throughput run
//! (top) and the pacer's lateness histogram (bottom). Series and bars are drawn with
//! plotters into an RGB buffer; labels use the built-in 3x5 pixel font of [`crate::font`]
//! (plotters' own text needs system font libraries), and the PNG is written with `image`.

use super::BenchReport;
use crate::font::{FONT_H, Surface, text_size};
use plotters::prelude::*;
use std::path::Path;

const W: u32 = 1000;
const H: u32 = 640;
/// Label scale: the 3x5 font drawn at 2x.
const S: u32 = 2;
/// Label height in pixels.
const LABEL_H: u32 = FONT_H * S;

/// Width of a label in pixels.
fn label_w(text: &str) -> u32 {
    text_size(text, S).0
}

/// Draw a label with its top-left corner at (`x`, `y`).
fn draw_text(to: &mut Surface, x: u32, y: u32, text: &str, rgb: [u8; 3]) {
    to.draw_text(x.into(), y.into(), text, S, &rgb);
}

/// [`draw_text`] on a white box (2 pixels wider on the left and top, 4 on the right and
/// bottom), for labels drawn over a series.
fn draw_label(to: &mut Surface, x: u32, y: u32, text: &str, rgb: [u8; 3]) {
    let (x0, y0) = (i64::from(x) - 2, i64::from(y) - 2);
    let (w, h) = (i64::from(label_w(text)) + 6, i64::from(LABEL_H) + 6);
    to.fill_rect(x0, y0, w, h, &[255; 3]);
    draw_text(to, x, y, text, rgb);
}

fn plot_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plot: {e:?}")
}

/// Upper edges (µs, exclusive) of the lateness histogram's display bins; one more bin
/// holds everything from the last edge on. Fixed 1-2-5 steps, so figures of different runs
/// read the same.
const LATE_EDGES: [f64; 13] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1e3, 2e3, 5e3, 1e4,
];

/// The pacer's fine histogram (`(upper bound µs, exclusive; count)`, as
/// [`crate::engine::stats::Histogram::buckets_us`] gives it) summed into the figure's
/// display bins (1-2-5 steps from 1 µs to 10 ms, then one for everything later): a bucket
/// goes to the bin holding its values just under its upper bound (every fine bucket below
/// 128 µs is 1 µs wide, above it 1/64 of its power of two).
pub fn lateness_bins(buckets: &[(f64, u64)]) -> [u64; LATE_EDGES.len() + 1] {
    let mut bins = [0u64; LATE_EDGES.len() + 1];
    for &(ub, c) in buckets {
        let i = LATE_EDGES.iter().take_while(|e| **e < ub).count();
        bins[i] += c;
    }
    bins
}

/// The label under display bin `i`.
fn bin_label(i: usize) -> String {
    // Bins up to 500 µs in µs, later ones in ms (a label has a bar's width).
    let ms = |v: f64| format!("{}", v / 1e3).trim_start_matches('0').to_string();
    match i {
        0 => "0-1".to_string(),
        _ if i == LATE_EDGES.len() => format!("{}ms+", ms(LATE_EDGES[i - 1])),
        _ if LATE_EDGES[i] >= 1e3 => format!("{}-{}ms", ms(LATE_EDGES[i - 1]), ms(LATE_EDGES[i])),
        _ => format!("{}-{}", LATE_EDGES[i - 1], LATE_EDGES[i]),
    }
}

/// Draw the figure of `r` into a PNG at `path`: render time per frame against the refresh
/// period and the run's p50 (top), and the pacer's lateness in fixed 1-2-5 bins with a
/// log count axis, so a handful of late ticks among thousands still shows (bottom).
pub fn bench_plot(path: &Path, r: &BenchReport) -> anyhow::Result<()> {
    let mut buf = vec![255u8; (W * H * 3) as usize];
    let top = (70u32, 40u32, W - 30, H / 2 - 40);
    let bottom = (70u32, H / 2 + 30, W - 30, H - 40);
    let times = &r.frame_times_us;
    let period = 1e6 / f64::from(r.refresh_hz.max(1));
    let t_peak = times.iter().copied().fold(1.0f64, f64::max);
    let t_max = t_peak.max(period) * 1.1;
    let p50 = {
        let mut v = times.clone();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let bins = lateness_bins(&r.lateness_buckets);
    // Bar height: 1 + log10(count), so one tick is a visible bar and each decade a step.
    let height = |c: u64| {
        if c == 0 {
            0.0
        } else {
            1.0 + (c as f64).log10()
        }
    };
    let c_max = bins.iter().copied().max().unwrap_or(1).max(1);
    let decades = (c_max as f64).log10().ceil().max(1.0) as u32;
    let y_top = 1.0 + f64::from(decades);
    let period_colour = RGBColor(20, 150, 60);
    let p50_colour = RGBColor(120, 120, 120);
    {
        let root = BitMapBackend::with_buffer(&mut buf, (W, H)).into_drawing_area();
        // Frame times, with the refresh period and the median as horizontal lines.
        let area = root.margin(top.1, H - top.3, top.0, W - top.2);
        let n = times.len().max(1) as f64;
        let mut chart = ChartBuilder::on(&area)
            .build_cartesian_2d(0f64..n, 0f64..t_max)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_labels(0)
            .y_labels(0)
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(plot_err)?;
        for (y, colour) in [(period, period_colour), (p50, p50_colour)] {
            chart
                .draw_series(LineSeries::new([(0.0, y), (n, y)], &colour))
                .map_err(plot_err)?;
        }
        chart
            .draw_series(LineSeries::new(
                times.iter().enumerate().map(|(i, t)| (i as f64, *t)),
                &RGBColor(200, 60, 20),
            ))
            .map_err(plot_err)?;
        // Lateness: one bar per fixed bin, empty bins left empty.
        let area = root.margin(bottom.1, H - bottom.3, bottom.0, W - bottom.2);
        let mut chart = ChartBuilder::on(&area)
            .build_cartesian_2d(0f64..bins.len() as f64, 0f64..y_top)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_labels(0)
            .y_labels(0)
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(bins.iter().enumerate().map(|(i, c)| {
                Rectangle::new(
                    [(i as f64 + 0.1, 0.0), (i as f64 + 0.9, height(*c))],
                    RGBColor(40, 90, 200).filled(),
                )
            }))
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    let to = &mut Surface::new(&mut buf, W, 3);
    let ink = [30, 30, 30];
    let rgb = |c: RGBColor| [c.0, c.1, c.2];
    // Top panel: title, y ticks in ms, x extent in frames, the two reference lines.
    draw_text(
        to,
        top.0,
        top.1 - 8 * S,
        &format!(
            "render time per frame (ms), {} backend, {} frames: {:.1} fps, max {:.2} ms",
            r.backend,
            r.frames,
            r.fps,
            t_peak / 1e3
        ),
        ink,
    );
    let y_of = |t: f64| top.3 - ((t / t_max) * f64::from(top.3 - top.1)) as u32;
    for k in 0..=4 {
        let t = t_max * f64::from(k) / 4.0;
        let label = format!("{:.1}", t / 1e3);
        let x = top.0.saturating_sub(label_w(&label) + 8);
        draw_text(to, x, y_of(t).saturating_sub(LABEL_H / 2), &label, ink);
    }
    draw_text(to, top.0, top.3 + 6, "frame 0", ink);
    let last = format!("{}", times.len());
    draw_text(to, top.2 - label_w(&last), top.3 + 6, &last, ink);
    let period_label = format!("{} hz period {:.2} ms", r.refresh_hz, period / 1e3);
    let p50_label = format!("p50 {:.2} ms", p50 / 1e3);
    let (yp, y50) = (y_of(period), y_of(p50));
    // Labels just above their lines, at the right end; the lower one moves down if the
    // two would overlap.
    let gap = LABEL_H + 4;
    let (ya, yb) = (yp.saturating_sub(gap), y50.saturating_sub(gap));
    let yb = if ya.abs_diff(yb) < gap {
        ya + gap + 2
    } else {
        yb
    };
    let right = |label: &str| top.2 - label_w(label) - 4;
    draw_label(
        to,
        right(&period_label),
        ya,
        &period_label,
        rgb(period_colour),
    );
    draw_label(to, right(&p50_label), yb, &p50_label, rgb(p50_colour));

    // Bottom panel: title, count decades, bin labels, counts over the bars.
    draw_text(
        to,
        bottom.0,
        bottom.1 - 8 * S,
        &format!(
            "pacer lateness (us) at {} hz, {} ticks: p50 {:.0} us, p99 {:.0} us, max {:.0} us",
            r.refresh_hz,
            bins.iter().sum::<u64>(),
            r.lateness_us.p50,
            r.lateness_us.p99,
            r.lateness_us.max
        ),
        ink,
    );
    let yc = |h: f64| bottom.3 - ((h / y_top) * f64::from(bottom.3 - bottom.1)) as u32;
    for d in 0..=decades {
        let label = format!("{}", 10u64.pow(d));
        let x = bottom.0.saturating_sub(label_w(&label) + 8);
        let y = yc(1.0 + f64::from(d)).saturating_sub(LABEL_H / 2);
        draw_text(to, x, y, &label, ink);
    }
    let bar_w = (bottom.2 - bottom.0) as f64 / bins.len() as f64;
    for (i, c) in bins.iter().enumerate() {
        let centre = bottom.0 + ((i as f64 + 0.5) * bar_w) as u32;
        let label = bin_label(i);
        let x = centre.saturating_sub(label_w(&label) / 2);
        draw_text(to, x, bottom.3 + 6, &label, ink);
        if *c > 0 {
            let count = format!("{c}");
            let x = centre.saturating_sub(label_w(&count) / 2);
            let y = yc(height(*c)).saturating_sub(LABEL_H + 4).max(bottom.1);
            draw_text(to, x, y, &count, ink);
        }
    }
    image::save_buffer_with_format(
        path,
        &buf,
        W,
        H,
        image::ExtendedColorType::Rgb8,
        image::ImageFormat::Png,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_bins_sum_fine_buckets_by_their_values() {
        // Fine buckets as the pacer's histogram gives them: [0,1) 500 ticks, [1,2) 3,
        // [199,200) 2, [200,202) 1 (over 200 µs), one of 3 ms and one past 10 ms.
        let fine = [
            (1.0, 500),
            (2.0, 3),
            (200.0, 2),
            (202.0, 1),
            (3072.0, 1),
            (20480.0, 1),
        ];
        let bins = lateness_bins(&fine);
        assert_eq!(bins.iter().sum::<u64>(), 508, "no tick lost or doubled");
        assert_eq!(bins[0], 500);
        assert_eq!(bins[1], 3);
        assert_eq!(bins[7], 2, "100-200 µs");
        assert_eq!(bins[8], 1, "200-500 µs");
        assert_eq!(bins[11], 1, "2-5 ms");
        assert_eq!(bins[13], 1, "10 ms and later");
        assert_eq!(bin_label(0), "0-1");
        assert_eq!(bin_label(8), "200-500");
        assert_eq!(bin_label(9), ".5-1ms");
        assert_eq!(bin_label(11), "2-5ms");
        assert_eq!(bin_label(13), "10ms+");
    }
}
