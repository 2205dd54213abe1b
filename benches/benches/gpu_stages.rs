//! Criterion benches of the GPU backend (`ledwall_render::gpu`): whole frames (blocking and
//! pipelined, transfers included) and each of the six stages on its own, for the same
//! walls and sources as `cpu_stages`, so the two files read side by side.
//!
//! Every throughput is `Elements(1)` per iteration (one frame), so `elem/s` reads as frames
//! per second. Per-stage figures come from `gpu::Renderer::profile_stage`: the stage's
//! passes submitted alone and waited for, so each includes one submission's overhead.
//!
//! Without a graphics adapter the benches print a notice and measure nothing. On a machine
//! without a GPU the adapter is Mesa's lavapipe: its figures are for regressions only (see
//! docs/PERFORMANCE.md); the GPU backend's speed shows on real GPUs.

// Benches are not user-facing: a failed setup should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{BenchmarkGroup, Criterion, Throughput, measurement::WallTime};
use ledwall_benches::{FHD, Photo, UHD, load_wall, load_wall_with, photo_rgba8};
use ledwall_render::gpu::{self, Gpu};
use ledwall_render::stage::Stage;
use ledwall_render::wall::ResampleMode;
use ledwall_render::yuv::{YuvImage, YuvLayout, YuvMatrix, YuvRange};
use ledwall_render::{Layer, Scene, SourceImage, Wall, WallFrame};
use std::hint::black_box;
use std::time::Duration;

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(1));
    g
}

fn hd() -> Wall {
    load_wall("hd").unwrap_or_else(|e| panic!("{e}"))
}

fn hd_fast() -> Wall {
    load_wall_with("hd", |s| s.color.resample = ResampleMode::Fast)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn demo() -> Wall {
    load_wall("demo").unwrap_or_else(|e| panic!("{e}"))
}

/// Two different photographs, so every frame uploads new pixels.
fn photos(size: (u32, u32)) -> [Photo<u8>; 2] {
    [
        photo_rgba8(size.0, size.1, 0),
        photo_rgba8(size.0, size.1, 1),
    ]
}

fn end_to_end(
    g: &mut BenchmarkGroup<'_, WallTime>,
    gpu: &Gpu,
    id: &str,
    wall: Wall,
    size: (u32, u32),
    still: bool,
) {
    let mut r = gpu::Renderer::with_gpu(&wall, gpu.clone(), None).unwrap();
    let mut frame = WallFrame::new(r.geometry());
    let photos = photos(size);
    let mut n = 0u64;
    g.bench_function(id, |b| {
        b.iter(|| {
            n += 1;
            let src = if still {
                photos[0].source().with_key(1)
            } else {
                photos[(n & 1) as usize].source()
            };
            r.render_into(&Scene::single(n, Layer::new(src)), &mut frame)
                .unwrap();
            black_box(&frame.ports[0].bytes[0]);
        });
    });
    // The same content with the ring kept full: upload, compute and readback of
    // consecutive frames overlap.
    let mut n = 0u64;
    g.bench_function(format!("{id}/pipelined"), |b| {
        b.iter(|| {
            n += 1;
            if r.in_flight() == gpu::RING {
                r.receive(&mut frame).unwrap();
            }
            let src = if still {
                photos[0].source().with_key(1)
            } else {
                photos[(n & 1) as usize].source()
            };
            r.submit(&Scene::single(n, Layer::new(src))).unwrap();
        });
    });
    while r.in_flight() > 0 {
        r.receive(&mut frame).unwrap();
    }
}

/// Two `yuv420p` frames (BT.709, limited) made from the photographs (Y from green, Cb and
/// Cr from blue and red at the even pixels): the planes are uploaded as they are and
/// converted by the first shader that reads them.
fn yuv420p_frames(size: (u32, u32)) -> [Vec<u8>; 2] {
    photos(size).map(|p| {
        let (w, h) = (p.width as usize, p.height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let limited = |v: u8, span: u32| (16 + u32::from(v) * span / 255) as u8;
        let mut out = vec![0u8; w * h + 2 * cw * ch];
        for (y, px) in out[..w * h].iter_mut().zip(p.pixels.chunks_exact(4)) {
            *y = limited(px[1], 219);
        }
        for j in 0..ch {
            for i in 0..cw {
                let px = &p.pixels[((2 * j) * w + 2 * i) * 4..][..4];
                out[w * h + j * cw + i] = limited(px[2], 224);
                out[w * h + cw * ch + j * cw + i] = limited(px[0], 224);
            }
        }
        out
    })
}

/// [`end_to_end`]'s video case with `yuv420p` sources (blocking and pipelined).
fn end_to_end_yuv(
    g: &mut BenchmarkGroup<'_, WallTime>,
    gpu: &Gpu,
    id: &str,
    wall: Wall,
    size: (u32, u32),
) {
    let mut r = gpu::Renderer::with_gpu(&wall, gpu.clone(), None).unwrap();
    let mut frame = WallFrame::new(r.geometry());
    let frames = yuv420p_frames(size);
    let (m, rg) = (YuvMatrix::Bt709, YuvRange::Limited);
    let images = [0, 1].map(|i| {
        YuvImage::from_frame8(YuvLayout::Yuv420p, size.0, size.1, &frames[i], m, rg).unwrap()
    });
    let src = |n: u64| SourceImage::yuv(size.0, size.1, images[(n & 1) as usize]);
    let mut n = 0u64;
    g.bench_function(id, |b| {
        b.iter(|| {
            n += 1;
            r.render_into(&Scene::single(n, Layer::new(src(n))), &mut frame)
                .unwrap();
            black_box(&frame.ports[0].bytes[0]);
        });
    });
    let mut n = 0u64;
    g.bench_function(format!("{id}/pipelined"), |b| {
        b.iter(|| {
            n += 1;
            if r.in_flight() == gpu::RING {
                r.receive(&mut frame).unwrap();
            }
            r.submit(&Scene::single(n, Layer::new(src(n)))).unwrap();
        });
    });
    while r.in_flight() > 0 {
        r.receive(&mut frame).unwrap();
    }
}

fn stages(c: &mut Criterion, gpu: &Gpu, id: &str, wall: Wall, size: (u32, u32)) {
    let mut r = gpu::Renderer::with_gpu(&wall, gpu.clone(), None).unwrap();
    let mut frame = WallFrame::new(r.geometry());
    let photo = photo_rgba8(size.0, size.1, 0);
    r.render_into(&Scene::single(1, Layer::new(photo.source())), &mut frame)
        .unwrap();
    for stage in Stage::ALL {
        let mut g = group(c, &format!("gpu_{stage}"));
        g.bench_function(id, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| r.profile_stage(stage).unwrap()).sum());
        });
        g.finish();
    }
}

/// [`stages`] for the passes that read a `yuv420p` source: linearize and resample.
fn stages_yuv(c: &mut Criterion, gpu: &Gpu, id: &str, wall: Wall, size: (u32, u32)) {
    let mut r = gpu::Renderer::with_gpu(&wall, gpu.clone(), None).unwrap();
    let mut frame = WallFrame::new(r.geometry());
    let frames = yuv420p_frames(size);
    let (m, rg) = (YuvMatrix::Bt709, YuvRange::Limited);
    let img = YuvImage::from_frame8(YuvLayout::Yuv420p, size.0, size.1, &frames[0], m, rg);
    let src = SourceImage::yuv(size.0, size.1, img.unwrap());
    r.render_into(&Scene::single(1, Layer::new(src)), &mut frame)
        .unwrap();
    for stage in [Stage::Linearize, Stage::Resample] {
        let mut g = group(c, &format!("gpu_{stage}"));
        g.bench_function(id, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| r.profile_stage(stage).unwrap()).sum());
        });
        g.finish();
    }
}

fn main() {
    let mut c = config().configure_from_args();
    let gpu = match Gpu::open(None) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("gpu benches: SKIPPED, no graphics adapter ({e})");
            return;
        }
    };
    let a = &gpu.adapter;
    eprintln!(
        "gpu benches on {} ({}, {}, driver {})",
        a.name, a.backend, a.device_type, a.driver
    );
    let mut g = group(&mut c, "gpu_end_to_end");
    end_to_end(&mut g, &gpu, "hd/linear/4k-video", hd(), UHD, false);
    end_to_end_yuv(&mut g, &gpu, "hd/linear/4k-yuv420p", hd(), UHD);
    end_to_end(&mut g, &gpu, "hd/fast/4k-video", hd_fast(), UHD, false);
    end_to_end_yuv(&mut g, &gpu, "hd/fast/4k-yuv420p", hd_fast(), UHD);
    end_to_end(&mut g, &gpu, "hd/linear/1080p-video", hd(), FHD, false);
    end_to_end(&mut g, &gpu, "hd/linear/4k-still", hd(), UHD, true);
    end_to_end(&mut g, &gpu, "demo/linear/1080p-video", demo(), FHD, false);
    g.finish();
    stages(&mut c, &gpu, "hd/linear/4k", hd(), UHD);
    stages(&mut c, &gpu, "hd/fast/4k", hd_fast(), UHD);
    stages_yuv(&mut c, &gpu, "hd/linear/4k-yuv420p", hd(), UHD);
    stages_yuv(&mut c, &gpu, "hd/fast/4k-yuv420p", hd_fast(), UHD);
    c.final_summary();
}
