//! ledwall against what users would otherwise reach for, on the same input and machine, in
//! one run, with the memory-bandwidth floor measured alongside (`benches/peers.sh` runs it).
//!
//! * the machine's copy bandwidth (a 256 MiB `copy_from_slice`, best of several, 1 thread
//!   and all threads);
//! * resampling 3840x2160 RGBA8 → 1920x1080, Lanczos3: ffmpeg's swscale
//!   (`-vf scale=1920:1080:flags=lanczos`, its I/O baseline subtracted), fast_image_resize
//!   alone, and ledwall's resample stage (fast mode: code values, as the peers do);
//! * bit-plane packing of the `hd.toml` wall's quantized 12-bit frame: a plain per-bit loop
//!   (design §5 written out) against ledwall's pack stage;
//! * ledwall's whole pipeline onto `hd.toml` for 4K and 1080p sources.
//!
//! Every figure is printed as time per frame, frames per second, the ratio to ledwall, and
//! the fraction of the bandwidth floor (bytes the job must read and write at least, over
//! the measured all-thread copy bandwidth) it reaches.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use fast_image_resize as fr;
use ledwall_benches::{FHD, UHD, load_wall, load_wall_with, photo_rgba8};
use ledwall_render::cpu::{pack, resample};
use ledwall_render::place::place;
use ledwall_render::wall::ResampleMode;
use ledwall_render::{Filter, Fit, Layer, Renderer, Scene, WallFrame};
use rayon::prelude::*;
use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

/// Median of `runs` timings of `f` after one warm-up call.
fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut t: Vec<Duration> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed()
        })
        .collect();
    t.sort();
    t[t.len() / 2]
}

struct Row {
    name: String,
    per_frame: Duration,
    /// Bytes the job must move at least (read + write).
    bytes: u64,
}

fn copy_bandwidth(threads: usize) -> f64 {
    const LEN: usize = 256 << 20;
    let src = vec![1u8; LEN];
    let mut dst = vec![0u8; LEN];
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let best = (0..5)
        .map(|_| {
            let s = Instant::now();
            pool.install(|| {
                dst.par_chunks_mut(LEN / threads)
                    .zip(src.par_chunks(LEN / threads))
                    .for_each(|(d, s)| d.copy_from_slice(s));
            });
            s.elapsed()
        })
        .min()
        .unwrap();
    black_box(&dst);
    // A copy reads and writes every byte.
    2.0 * LEN as f64 / best.as_secs_f64()
}

/// ffmpeg's time per frame for `filter` on `frames` raw RGBA frames in `file`, from its own
/// `-benchmark` real time.
fn ffmpeg(file: &std::path::Path, frames: usize, filter: &str) -> Option<Duration> {
    let out = Command::new(std::env::var("LEDWALL_FFMPEG").unwrap_or_else(|_| "ffmpeg".into()))
        .args([
            "-hide_banner",
            "-nostdin",
            "-benchmark",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgba",
        ])
        .args(["-s", &format!("{}x{}", UHD.0, UHD.1), "-i"])
        .arg(file)
        .args(["-vf", filter, "-f", "null", "-"])
        .output()
        .ok()?;
    let err = String::from_utf8_lossy(&out.stderr);
    let rtime = err
        .lines()
        .find_map(|l| l.split("rtime=").nth(1))
        .and_then(|v| v.trim_end_matches('s').trim().parse::<f64>().ok())?;
    Some(Duration::from_secs_f64(rtime / frames as f64))
}

fn main() {
    let threads = rayon::current_num_threads();
    println!(
        "ledwall peers: {threads} threads, {}",
        std::env::consts::ARCH
    );
    let bw1 = copy_bandwidth(1);
    let bw = copy_bandwidth(threads);
    println!(
        "copy bandwidth (read + write): {:.1} GB/s on 1 thread, {:.1} GB/s on {threads}",
        bw1 / 1e9,
        bw / 1e9
    );

    let photo = photo_rgba8(UHD.0, UHD.1, 0);
    let src_bytes = photo.pixels.len() as u64;
    let out_bytes = (FHD.0 * FHD.1 * 4) as u64;
    let mut rows: Vec<(&str, Vec<Row>)> = Vec::new();

    // ---- resampling 4K RGBA8 → 1080p, Lanczos3, code values
    let mut r = Vec::new();
    let place = place(Fit::Stretch, UHD.0, UHD.1, FHD.0, FHD.1);
    let fast = ResampleMode::Fast;
    let mut plan = resample::Plan::new(UHD.0, UHD.1, fast, place.crop, place.dst, Filter::Lanczos3);
    let mut canvas = vec![0u16; (FHD.0 * FHD.1 * 3) as usize];
    let lut: Vec<u16> = (0..256u32).map(|v| (v * 257) as u16).collect();
    let row = UHD.0 as usize * plan.stride();
    r.push(Row {
        name: "ledwall resample stage (fast mode)".into(),
        per_frame: time(7, || {
            resample::run(
                &mut plan,
                &photo.pixels,
                row,
                (0, 0),
                &mut canvas,
                FHD.0,
                resample::Output::Lut(&lut),
            )
        }),
        bytes: src_bytes + (FHD.0 * FHD.1 * 6) as u64,
    });
    let mut resizer = fr::Resizer::new();
    let mut dst = fr::images::Image::new(FHD.0, FHD.1, fr::PixelType::U8x4);
    let src = fr::images::ImageRef::new(UHD.0, UHD.1, &photo.pixels, fr::PixelType::U8x4).unwrap();
    let options = fr::ResizeOptions::new()
        .resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3))
        .use_alpha(false);
    r.push(Row {
        name: "fast_image_resize 6 (U8x4, rayon)".into(),
        per_frame: time(7, || resizer.resize(&src, &mut dst, &options).unwrap()),
        bytes: src_bytes + out_bytes,
    });
    let tmp = std::env::temp_dir().join(format!("ledwall-peers-{}.rgba", std::process::id()));
    let frames = 8;
    let mut raw = Vec::with_capacity(photo.pixels.len() * frames);
    for _ in 0..frames {
        raw.extend_from_slice(&photo.pixels);
    }
    std::fs::write(&tmp, &raw).unwrap();
    drop(raw);
    let scale = ffmpeg(
        &tmp,
        frames,
        &format!("scale={}:{}:flags=lanczos", FHD.0, FHD.1),
    );
    let base = ffmpeg(&tmp, frames, "null");
    let _ = std::fs::remove_file(&tmp);
    match (scale, base) {
        (Some(s), Some(b)) => r.push(Row {
            name: "ffmpeg swscale lanczos (I/O baseline subtracted)".into(),
            per_frame: s.saturating_sub(b),
            bytes: src_bytes + out_bytes,
        }),
        _ => println!("ffmpeg: not found or failed; set LEDWALL_FFMPEG (skipped)"),
    }
    rows.push(("resample 3840x2160 → 1920x1080, Lanczos3", r));

    // ---- bit-plane pack of hd.toml, 12 planes
    let wall = load_wall("hd").unwrap();
    let mut renderer = Renderer::new(&wall).unwrap();
    let g = renderer.geometry().clone();
    let mut frame = WallFrame::new(&g);
    let hd_photo = photo_rgba8(FHD.0, FHD.1, 1);
    renderer
        .render_into(&Scene::single(1, Layer::new(hd_photo.source())), &mut frame)
        .unwrap();
    let q = renderer.quantized(wall.color.bit_depth).unwrap().to_vec();
    let frame_bytes: u64 = g.ports.iter().map(|p| p.byte_len() as u64).sum();
    let q_bytes = (q.len() * 2) as u64;
    let mut r = Vec::new();
    r.push(Row {
        name: "ledwall pack stage".into(),
        per_frame: time(9, || {
            renderer.install(|| {
                for (port, buf) in g.ports.iter().zip(frame.ports.iter_mut()) {
                    pack::port(port, &q, &mut buf.bytes);
                }
            })
        }),
        bytes: q_bytes + frame_bytes,
    });
    r.push(Row {
        name: "plain per-bit loop (design §5, 1 thread)".into(),
        per_frame: time(3, || {
            for (port, buf) in g.ports.iter().zip(frame.ports.iter_mut()) {
                pack::reference_bitplanes(port, &q, &mut buf.bytes);
            }
        }),
        bytes: q_bytes + frame_bytes,
    });
    rows.push(("pack hd.toml (1920x1080, 8 ports, 12 planes)", r));

    // ---- the whole pipeline
    let mut r = Vec::new();
    for (name, mode, size) in [
        (
            "ledwall 3840x2160 → hd.toml, linear",
            ResampleMode::Linear,
            UHD,
        ),
        ("ledwall 3840x2160 → hd.toml, fast", ResampleMode::Fast, UHD),
        ("ledwall 1920x1080 → hd.toml", ResampleMode::Linear, FHD),
    ] {
        let wall = load_wall_with("hd", |s| s.color.resample = mode).unwrap();
        let mut renderer = Renderer::new(&wall).unwrap();
        let mut frame = WallFrame::new(renderer.geometry());
        let photos = [
            photo_rgba8(size.0, size.1, 2),
            photo_rgba8(size.0, size.1, 3),
        ];
        let mut n = 0u64;
        let per_frame = time(15, || {
            n += 1;
            let src = photos[(n & 1) as usize].source();
            renderer
                .render_into(&Scene::single(n, Layer::new(src)), &mut frame)
                .unwrap();
        });
        r.push(Row {
            name: name.into(),
            per_frame,
            bytes: (size.0 * size.1 * 4) as u64 + frame_bytes,
        });
    }
    rows.push(("whole pipeline (every frame a new picture)", r));

    for (title, r) in &rows {
        println!("\n{title}");
        let reference = r[0].per_frame.as_secs_f64();
        println!(
            "  {:52} {:>10} {:>9} {:>12} {:>14}",
            "", "ms/frame", "fps", "vs first", "of bw floor"
        );
        for row in r {
            let t = row.per_frame.as_secs_f64();
            let floor = row.bytes as f64 / bw;
            println!(
                "  {:52} {:>10.3} {:>9.1} {:>11.2}x {:>13.1}%",
                row.name,
                t * 1e3,
                1.0 / t,
                t / reference,
                100.0 * floor / t
            );
        }
    }
    println!(
        "\n'vs first': time relative to the first row of the group (ledwall's own figure).\n\
         'of bw floor': the bytes the job must read and write, at the measured {threads}-thread\n\
         copy bandwidth, as a fraction of the time taken (100% = memory-bound)."
    );
}
