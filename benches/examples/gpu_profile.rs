//! Per-stage GPU times for one wall and source size, on the default adapter:
//! `cargo run --release -p ledwall-benches --example gpu_profile -- [WALL] [WIDTH HEIGHT]`.
//! Each stage is submitted alone and waited for (`gpu::Renderer::profile_stages`); the
//! upload and readback columns are the renderer's own CPU-side clocks for a whole frame.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledwall_benches::{load_wall, photo_rgba8};
use ledwall_render::gpu::{self, GpuOptions};
use ledwall_render::stage::Stage;
use ledwall_render::{Layer, Scene, WallFrame};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let wall = args.first().map_or("hd", String::as_str);
    let (w, h) = match (args.get(1), args.get(2)) {
        (Some(w), Some(h)) => (w.parse().unwrap(), h.parse().unwrap()),
        _ => (3840, 2160),
    };
    let wall = load_wall(wall).unwrap();
    let mut r = gpu::Renderer::new(&wall, &GpuOptions::default()).unwrap();
    println!("adapter: {} ({})", r.adapter().name, r.adapter().backend);
    let mut frame = WallFrame::new(r.geometry());
    let photos = [photo_rgba8(w, h, 0), photo_rgba8(w, h, 1)];
    let frames = 10;
    let mut total = std::time::Duration::ZERO;
    for n in 0..frames + 2 {
        let src = photos[n % 2].source();
        let t = Instant::now();
        r.render_into(&Scene::single(n as u64, Layer::new(src)), &mut frame)
            .unwrap();
        if n >= 2 {
            total += t.elapsed();
        }
    }
    let e2e = total.as_secs_f64() * 1e3 / frames as f64;
    println!("end to end (blocking): {e2e:.2} ms = {:.1} fps", 1e3 / e2e);
    let times = r.profile_stages().unwrap();
    for (s, t) in times.iter() {
        println!("  {s:10} {:8.3} ms", t.as_secs_f64() * 1e3);
    }
    let own = r.stage_times();
    println!(
        "  upload (CPU writes the ring) {:.3} ms, receive (wait + copy out) {:.3} ms",
        own[Stage::Linearize].as_secs_f64() * 1e3,
        own[Stage::Pack].as_secs_f64() * 1e3
    );
}
