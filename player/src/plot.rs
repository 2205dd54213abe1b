//! The `ledwall bench --plot FILE.png` figure: per-frame render time of the throughput run
//! (top) and the pacer's lateness histogram (bottom). Series and bars are drawn with
//! plotters into an RGB buffer; labels use the built-in 3x5 pixel font of the test patterns
//! (plotters' own text needs system font libraries), and the PNG is written with `image`.

use crate::commands::bench::BenchReport;
use crate::patterns::{FONT_H, glyph, text_width};
use plotters::prelude::*;
use std::path::Path;

const W: u32 = 1000;
const H: u32 = 640;
/// Label scale: the 3x5 font drawn at 2x.
const S: u32 = 2;

fn draw_text(buf: &mut [u8], x: u32, y: u32, text: &str, rgb: [u8; 3]) {
    let mut cx = x;
    for ch in text.chars() {
        let g = glyph(ch.to_ascii_uppercase());
        for (row, bits) in g.iter().enumerate() {
            for col in 0..3u32 {
                if bits & (4 >> col) == 0 {
                    continue;
                }
                for dy in 0..S {
                    for dx in 0..S {
                        let (px, py) = (cx + col * S + dx, y + row as u32 * S + dy);
                        if px < W && py < H {
                            let i = ((py * W + px) * 3) as usize;
                            buf[i..i + 3].copy_from_slice(&rgb);
                        }
                    }
                }
            }
        }
        cx += 4 * S;
    }
}

fn plot_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plot: {e:?}")
}

/// Draw the figure of `r` into a PNG at `path`.
pub fn bench_plot(path: &Path, r: &BenchReport) -> anyhow::Result<()> {
    let mut buf = vec![255u8; (W * H * 3) as usize];
    let top = (60u32, 40u32, W - 30, H / 2 - 30);
    let bottom = (60u32, H / 2 + 40, W - 30, H - 40);
    let times = &r.frame_times_us;
    let t_max = times.iter().copied().fold(1.0f64, f64::max) * 1.1;
    let buckets: Vec<(f64, u64)> = r.lateness_buckets.clone();
    let c_max = buckets.iter().map(|b| b.1).max().unwrap_or(1).max(1);
    {
        let root = BitMapBackend::with_buffer(&mut buf, (W, H)).into_drawing_area();
        // Frame times.
        let area = root.margin(top.1, H - top.3, top.0, W - top.2);
        let mut chart = ChartBuilder::on(&area)
            .build_cartesian_2d(0f64..times.len().max(1) as f64, 0f64..t_max)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_labels(0)
            .y_labels(0)
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(
                times.iter().enumerate().map(|(i, t)| (i as f64, *t)),
                &RGBColor(200, 60, 20),
            ))
            .map_err(plot_err)?;
        // Lateness histogram: one bar per bucket, in order.
        let area = root.margin(bottom.1, H - bottom.3, bottom.0, W - bottom.2);
        let n = buckets.len().max(1);
        let mut chart = ChartBuilder::on(&area)
            .build_cartesian_2d(0f64..n as f64, 0f64..c_max as f64 * 1.1)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_labels(0)
            .y_labels(0)
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(buckets.iter().enumerate().map(|(i, (_, c))| {
                Rectangle::new(
                    [(i as f64 + 0.1, 0.0), (i as f64 + 0.9, *c as f64)],
                    RGBColor(40, 90, 200).filled(),
                )
            }))
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    let ink = [30, 30, 30];
    draw_text(
        &mut buf,
        top.0,
        top.1 - 8 * S,
        &format!(
            "render time per frame, {} backend, {} frames: {:.1} fps (max {:.2} ms)",
            r.backend,
            r.frames,
            r.fps,
            t_max / 1.1 / 1e3
        ),
        ink,
    );
    draw_text(&mut buf, 4, top.1, &format!("{:.1} ms", t_max / 1e3), ink);
    draw_text(&mut buf, 4, top.3 - FONT_H * S, "0", ink);
    draw_text(
        &mut buf,
        bottom.0,
        bottom.1 - 8 * S,
        &format!(
            "pacer lateness at {} hz: p50 {:.0} us, p99 {:.0} us, max {:.0} us",
            r.refresh_hz, r.lateness_us.p50, r.lateness_us.p99, r.lateness_us.max
        ),
        ink,
    );
    draw_text(&mut buf, 4, bottom.1, &format!("{c_max}"), ink);
    // Bucket bounds under the first, middle and last bars.
    let n = buckets.len().max(1) as u32;
    let bar_w = (bottom.2 - bottom.0) / n;
    for i in [0, buckets.len() / 2, buckets.len().saturating_sub(1)] {
        if let Some((ub, _)) = buckets.get(i) {
            let label = if ub.is_finite() {
                format!("to {ub:.0} us")
            } else {
                "more".to_string()
            };
            let x = bottom.0 + i as u32 * bar_w;
            let x = x.min(W.saturating_sub(text_width(&label) * S + 4));
            draw_text(&mut buf, x, bottom.3 + 6, &label, ink);
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
