//! Criterion benches of the CPU backend (`ledwall_render::cpu`): each of the six stages of
//! design §1 on its own, then whole frames through `Renderer::render_into`.
//!
//! Every throughput is `Elements(1)` per iteration, one iteration being one frame (or one
//! frame's worth of a stage), so criterion's `elem/s` reads as frames per second.
//! Stage inputs are the real outputs of the previous stage on synthetic photographs, for the
//! `hd.toml` wall (1920x1080 canvas, 8 bit-plane ports, 12 bits). See `benches/README.md`.
//!
//! `LEDWALL_BENCH_TIME=cpu` measures process CPU time (all threads) instead of wall-clock
//! time, in groups named `<group>.cpu`: a figure that other processes on a shared machine
//! barely move. With `RAYON_NUM_THREADS=1` it is the single-core cost of each bench.

// Benches are not user-facing: a failed setup should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkGroup, Criterion, Throughput};
use fast_image_resize as fr;
use ledwall_benches::{FHD, Photo, UHD, load_wall, load_wall_with, photo_rgba8, photo_rgba16};
use ledwall_render::color::{Luts, gains};
use ledwall_render::cpu::{color, compose, linearize, pack, quantize, resample};
use ledwall_render::geometry::CalSpan;
use ledwall_render::place::{Rect, place};
use ledwall_render::wall::{Dither, ResampleMode};
use ledwall_render::yuv::{YuvImage, YuvLayout, YuvMatrix, YuvRange};
use ledwall_render::{Filter, Fit, Geometry, Layer, Renderer, Scene, SourceImage, Wall, WallFrame};
use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Duration;

// ---------------------------------------------------------------------------------------
// Shared, lazily built inputs (a filtered run builds only what its benches use).

fn photo8(size: (u32, u32), seed: u64) -> &'static Photo<u8> {
    static CELLS: [OnceLock<Photo<u8>>; 4] = [const { OnceLock::new() }; 4];
    assert!(
        (size == UHD || size == FHD) && seed < 2,
        "no cell for {size:?} seed {seed}"
    );
    let i = usize::from(size == FHD) * 2 + (seed as usize & 1);
    CELLS[i].get_or_init(|| photo_rgba8(size.0, size.1, seed))
}

fn uhd16() -> &'static Photo<u16> {
    static CELL: OnceLock<Photo<u16>> = OnceLock::new();
    CELL.get_or_init(|| photo_rgba16(UHD.0, UHD.1, 0))
}

fn hd_wall() -> &'static Wall {
    static CELL: OnceLock<Wall> = OnceLock::new();
    CELL.get_or_init(|| load_wall("hd").unwrap_or_else(|e| panic!("{e}")))
}

fn hd_geometry() -> &'static Geometry {
    static CELL: OnceLock<Geometry> = OnceLock::new();
    CELL.get_or_init(|| Geometry::compile(hd_wall()))
}

fn hd_luts() -> &'static Luts {
    static CELL: OnceLock<Luts> = OnceLock::new();
    CELL.get_or_init(|| Luts::new(&hd_wall().color))
}

/// A rayon pool like the renderer's (one thread per core). Stage benches run their timing
/// loop inside it, as the renderer runs its stages inside its own pool, so that no
/// parallel loop pays for injection from a foreign thread.
fn pool() -> &'static rayon::ThreadPool {
    static CELL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    CELL.get_or_init(|| rayon::ThreadPoolBuilder::new().build().unwrap())
}

fn full(w: u32, h: u32) -> Rect {
    Rect { x: 0, y: 0, w, h }
}

/// `photo` through the hd wall's 8-bit LUT: packed linear RGB.
fn linearized(photo: &Photo<u8>) -> Vec<u16> {
    let (w, h) = (photo.width, photo.height);
    let mut out = vec![0u16; w as usize * h as usize * 3];
    pool().install(|| {
        linearize::rect(
            &photo.pixels,
            w,
            full(w, h),
            &hd_luts().lut8[..],
            &mut out,
            w,
            (0, 0),
        )
    });
    out
}

/// The hd canvas of the 1080p photo (seed 0), linear light.
fn hd_canvas() -> &'static [u16] {
    static CELL: OnceLock<Vec<u16>> = OnceLock::new();
    CELL.get_or_init(|| linearized(photo8(FHD, 0)))
}

/// The hd canvas buffer after the colour stage (no calibration: hd.toml has none).
fn hd_colored() -> &'static [u16] {
    static CELL: OnceLock<Vec<u16>> = OnceLock::new();
    CELL.get_or_init(|| {
        let g = hd_geometry();
        let mut out = vec![0u16; g.buffer_pixels() * 3];
        let wall = hd_wall();
        let bg = [0u16; 3];
        pool().install(|| {
            color::apply(
                hd_canvas(),
                &mut out,
                g.width,
                gains(&wall.color),
                &[],
                &[],
                bg,
                None,
            )
        });
        out
    })
}

/// The hd canvas buffer quantized to the wall's 12 bits with its own dither.
fn hd_quantized() -> &'static [u16] {
    static CELL: OnceLock<Vec<u16>> = OnceLock::new();
    CELL.get_or_init(|| {
        let g = hd_geometry();
        let colored = hd_colored();
        let mut out = vec![0u16; colored.len()];
        let th = ledwall_render::dither::thresholds(hd_wall().color.dither, 0);
        let depth = hd_wall().color.bit_depth;
        pool().install(|| {
            quantize::run(
                colored,
                &mut out,
                g.width,
                quantize::Quantizer::Linear(depth),
                &th,
            )
        });
        out
    })
}

// ---------------------------------------------------------------------------------------
// Harness.

/// Criterion settings small enough for the whole suite to finish in a few minutes on two
/// cores; override on the command line (`--sample-size`, `--measurement-time`, ...).
fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
}

/// What the benches can be measured with: wall-clock time ([`WallTime`]) or [`CpuTime`].
/// `Sync` so that a `Bencher` can move into the bench pool.
trait Clock: Measurement<Value = Duration> + Sync + 'static {
    /// Appended to group names so the two kinds of figures never share a baseline.
    const SUFFIX: &'static str;
}

impl Clock for WallTime {
    const SUFFIX: &'static str = "";
}

/// CPU time of the whole process (every thread), from `CLOCK_PROCESS_CPUTIME_ID`.
struct CpuTime;

impl CpuTime {
    fn now() -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, exclusive timespec for the call to write.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }
}

impl Measurement for CpuTime {
    type Intermediate = Duration;
    type Value = Duration;
    fn start(&self) -> Duration {
        CpuTime::now()
    }
    fn end(&self, start: Duration) -> Duration {
        CpuTime::now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        // Durations either way: borrow wall time's formatter.
        static WALL: WallTime = WallTime;
        WALL.formatter()
    }
}

impl Clock for CpuTime {
    const SUFFIX: &'static str = ".cpu";
}

/// A group whose throughput reads as frames per second.
fn group<'a, M: Clock>(c: &'a mut Criterion<M>, name: &str) -> BenchmarkGroup<'a, M> {
    let mut g = c.benchmark_group(format!("{name}{}", M::SUFFIX));
    g.throughput(Throughput::Elements(1));
    g
}

fn run_all<M: Clock>(c: &mut Criterion<M>) {
    bench_linearize(c);
    bench_resample(c);
    bench_compose(c);
    bench_color(c);
    bench_quantize(c);
    bench_pack(c);
    bench_end_to_end(c);
    c.final_summary();
}

fn main() {
    if std::env::var("LEDWALL_BENCH_TIME").is_ok_and(|v| v == "cpu") {
        run_all(&mut config().with_measurement(CpuTime).configure_from_args());
    } else {
        run_all(&mut config().configure_from_args());
    }
}

// ---------------------------------------------------------------------------------------
// Stage 1: linearize.

fn bench_linearize<M: Clock>(c: &mut Criterion<M>) {
    let mut g = group(c, "linearize");
    for (name, size) in [("4k-rgba8", UHD), ("1080p-rgba8", FHD)] {
        let mut out = Vec::new();
        g.bench_function(name, |b| {
            let src = photo8(size, 0);
            out.resize(size.0 as usize * size.1 as usize * 3, 0);
            let lut = &hd_luts().lut8[..];
            let rect = full(size.0, size.1);
            pool().install(|| {
                b.iter(|| linearize::rect(&src.pixels, size.0, rect, lut, &mut out, size.0, (0, 0)))
            });
        });
    }
    let mut out = Vec::new();
    g.bench_function("4k-rgba16", |b| {
        let src = uhd16();
        out.resize(UHD.0 as usize * UHD.1 as usize * 3, 0);
        let lut = &hd_luts().lut16[..];
        let rect = full(UHD.0, UHD.1);
        pool().install(|| {
            b.iter(|| linearize::rect(&src.pixels, UHD.0, rect, lut, &mut out, UHD.0, (0, 0)))
        });
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------
// Stage 2: resample.

struct ResampleCase {
    name: &'static str,
    src: (u32, u32),
    canvas: (u32, u32),
    fit: Fit,
    filter: Filter,
}

const RESAMPLE_CASES: [ResampleCase; 4] = [
    ResampleCase {
        name: "4k-1080p-lanczos3",
        src: UHD,
        canvas: FHD,
        fit: Fit::Contain,
        filter: Filter::Lanczos3,
    },
    ResampleCase {
        name: "4k-1080p-bilinear",
        src: UHD,
        canvas: FHD,
        fit: Fit::Contain,
        filter: Filter::Bilinear,
    },
    // Same pixel count class, other aspect: a 16:10 canvas covered by 16:9 video (the
    // 1728x1080 centre crop upscaled by 1.11).
    ResampleCase {
        name: "1080p-1920x1200-cover-lanczos3",
        src: FHD,
        canvas: (1920, 1200),
        fit: Fit::Cover,
        filter: Filter::Lanczos3,
    },
    // A small wall showing 4K content: a 10x area downscale.
    ResampleCase {
        name: "4k-384x216-area",
        src: UHD,
        canvas: (384, 216),
        fit: Fit::Contain,
        filter: Filter::Area,
    },
];

/// Time `resample::run` for one case through a plan built beforehand (the renderer keeps
/// one per placement). `mode` is `Linear` for linear RGB sources, `Fast` for RGBA code
/// values.
fn resample_case<T: resample::Sample + 'static, M: Clock>(
    g: &mut BenchmarkGroup<'_, M>,
    id: String,
    case: &ResampleCase,
    mode: ResampleMode,
    src: impl Fn() -> &'static [T],
    out: impl Fn() -> resample::Output<'static>,
) {
    let (sw, sh) = case.src;
    let (cw, ch) = case.canvas;
    let place = place(case.fit, sw, sh, cw, ch);
    assert!(place.one_to_one.is_none(), "{}: not a resample", case.name);
    let mut state = None;
    g.bench_function(id, |b| {
        let (plan, canvas) = state.get_or_insert_with(|| {
            let plan = resample::Plan::new(sw, sh, mode, place.crop, place.dst, case.filter);
            (plan, vec![0u16; cw as usize * ch as usize * 3])
        });
        let (src, out) = (src(), out());
        let row = sw as usize * plan.stride();
        pool().install(|| {
            b.iter(|| resample::run(plan, src, row, (0, 0), canvas, cw, out));
        });
    });
}

/// The 4K source linearized through hd's LUT (stride 3), or the 1080p one.
fn linear_source(size: (u32, u32)) -> &'static [u16] {
    static CELLS: [OnceLock<Vec<u16>>; 2] = [const { OnceLock::new() }; 2];
    CELLS[usize::from(size == FHD)].get_or_init(|| linearized(photo8(size, 0)))
}

/// The same job through fast_image_resize 6.1 (which ledwall-render used before its own
/// resampler), alpha handling off: a yardstick for the resampler.
fn fr_reference<M: Clock>(
    g: &mut BenchmarkGroup<'_, M>,
    id: &str,
    case: &ResampleCase,
    pixel: fr::PixelType,
    src: impl Fn() -> &'static [u8],
) {
    let (sw, sh) = case.src;
    let (cw, ch) = case.canvas;
    let place = place(case.fit, sw, sh, cw, ch);
    let mut state = None;
    g.bench_function(id, |b| {
        let (resizer, dst) = state.get_or_insert_with(|| {
            (
                fr::Resizer::new(),
                fr::images::Image::new(place.dst.w, place.dst.h, pixel),
            )
        });
        let src = fr::images::ImageRef::new(sw, sh, src(), pixel).unwrap();
        let [x, y, w, h] = place.crop;
        let options = fr::ResizeOptions::new()
            .resize_alg(fr::ResizeAlg::Convolution(match case.filter {
                Filter::Bilinear => fr::FilterType::Bilinear,
                Filter::Area => fr::FilterType::Box,
                _ => fr::FilterType::Lanczos3,
            }))
            .crop(x, y, w, h)
            .use_alpha(false);
        pool().install(|| b.iter(|| resizer.resize(&src, dst, &options).unwrap()));
    });
}

fn bench_resample<M: Clock>(c: &mut Criterion<M>) {
    let mut g = group(c, "resample");
    // Linear light (`resample = "linear"`, the default): the linearized source, stride 3.
    for case in &RESAMPLE_CASES {
        let size = case.src;
        let id = format!("linear/{}", case.name);
        resample_case(
            &mut g,
            id,
            case,
            ResampleMode::Linear,
            move || linear_source(size),
            || resample::Output::Linear,
        );
    }
    // Code values (`resample = "fast"`): the RGBA8 source, LUT applied on the way out.
    for case in &RESAMPLE_CASES {
        let size = case.src;
        let id = format!("fast/{}", case.name);
        resample_case(
            &mut g,
            id,
            case,
            ResampleMode::Fast,
            move || &photo8(size, 0).pixels[..],
            || resample::Output::Lut(&hd_luts().lut8[..]),
        );
    }
    // Code values of a 16-bit source (65536-entry LUT).
    let case = &RESAMPLE_CASES[0];
    let id = format!("fast-rgba16/{}", case.name);
    resample_case(
        &mut g,
        id,
        case,
        ResampleMode::Fast,
        || &uhd16().pixels[..],
        || resample::Output::Lut(&hd_luts().lut16[..]),
    );
    // Building a plan: paid once per placement (first frame, or a fit/size change).
    g.bench_function(format!("plan/{}", case.name), |b| {
        let place = place(case.fit, UHD.0, UHD.1, FHD.0, FHD.1);
        let linear = ResampleMode::Linear;
        b.iter(|| resample::Plan::new(UHD.0, UHD.1, linear, place.crop, place.dst, case.filter));
    });
    // Yardsticks: fast_image_resize on the same two 4K jobs.
    fr_reference(
        &mut g,
        "fr-u8x4/4k-1080p-lanczos3",
        case,
        fr::PixelType::U8x4,
        || &photo8(UHD, 0).pixels,
    );
    fr_reference(
        &mut g,
        "fr-u16x3/4k-1080p-lanczos3",
        case,
        fr::PixelType::U16x3,
        || bytemuck::cast_slice(linear_source(UHD)),
    );
    g.finish();
}

// ---------------------------------------------------------------------------------------
// Stage 3: compose.

fn bench_compose<M: Clock>(c: &mut Criterion<M>) {
    let mut g = group(c, "compose");
    let (w, h) = FHD;
    let n = w as usize * h as usize * 3;
    let bg = [0u16; 3];
    let mut out = vec![0u16; n];
    g.bench_function("mix2-1080p", |b| {
        static B: OnceLock<Vec<u16>> = OnceLock::new();
        let a = hd_canvas();
        let other = B.get_or_init(|| linearized(photo8(FHD, 1)));
        pool().install(|| b.iter(|| compose::mix(&mut out, a, 0.7, Some((other, 0.3)), bg)));
    });
    g.bench_function("fade1-1080p", |b| {
        let a = hd_canvas();
        pool().install(|| b.iter(|| compose::mix(&mut out, a, 0.5, None, bg)));
    });
    // Every uncached layer calls this before its resample; for a layer that covers the
    // whole canvas there is nothing to fill, so it should cost nothing.
    g.bench_function("fill-outside-full-1080p", |b| {
        pool().install(|| b.iter(|| compose::fill_outside(&mut out, w, full(w, h), bg)));
    });
    // 4:3 content pillarboxed on the 16:9 canvas.
    g.bench_function("fill-outside-pillarbox-1080p", |b| {
        let rect = Rect {
            x: 240,
            y: 0,
            w: 1440,
            h,
        };
        pool().install(|| b.iter(|| compose::fill_outside(&mut out, w, rect, bg)));
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------
// Stage 4: colour.

/// Calibration for every 64x32 module of the hd layout (30 per module row): one span per
/// module per canvas row, each module with its own matrix.
fn every_module_calibrated(g: &Geometry) -> (Vec<[[f32; 3]; 3]>, Vec<CalSpan>) {
    let (mw, mh) = (64u32, 32u32);
    let cols = g.width.div_ceil(mw);
    let rows = g.height.div_ceil(mh);
    let matrices = (0..cols * rows)
        .map(|i| {
            let d = (i % 7) as f32 * 0.004;
            [
                [0.95 - d, 0.03, 0.0],
                [0.02, 0.9 + d, 0.01],
                [0.0, 0.05, 0.92 - d],
            ]
        })
        .collect();
    let mut spans = Vec::new();
    for y in 0..g.height {
        for mx in 0..cols {
            let x0 = mx * mw;
            let x1 = (x0 + mw).min(g.width);
            spans.push(CalSpan {
                start: y * g.width + x0,
                end: y * g.width + x1,
                matrix: (y / mh) * cols + mx,
            });
        }
    }
    (matrices, spans)
}

fn bench_color<M: Clock>(c: &mut Criterion<M>) {
    let mut g = group(c, "color");
    let mut out = Vec::new();
    g.bench_function("1080p-no-calibration", |b| {
        let geo = hd_geometry();
        out.resize(geo.buffer_pixels() * 3, 0);
        let gains = gains(&hd_wall().color);
        let input = hd_canvas();
        pool().install(|| {
            b.iter(|| color::apply(input, &mut out, geo.width, gains, &[], &[], [0; 3], None))
        });
    });
    g.bench_function("1080p-every-module-calibrated", |b| {
        let geo = hd_geometry();
        out.resize(geo.buffer_pixels() * 3, 0);
        let gains = gains(&hd_wall().color);
        let input = hd_canvas();
        let (m, spans) = every_module_calibrated(geo);
        pool().install(|| {
            b.iter(|| color::apply(input, &mut out, geo.width, gains, &m, &spans, [0; 3], None))
        });
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------
// Stage 5: quantize.

fn bench_quantize<M: Clock>(c: &mut Criterion<M>) {
    let mut g = group(c, "quantize");
    let mut out = Vec::new();
    for (name, dither) in [
        ("1080p-12bit-dither-none", Dither::None),
        ("1080p-12bit-ordered-temporal", Dither::OrderedTemporal),
    ] {
        g.bench_function(name, |b| {
            let input = hd_colored();
            out.resize(input.len(), 0);
            let w = hd_geometry().width;
            let mut n = 0u64;
            pool().install(|| {
                b.iter(|| {
                    // Thresholds are made per frame, as the renderer does.
                    n += 1;
                    let th = ledwall_render::dither::thresholds(dither, n);
                    quantize::run(input, &mut out, w, quantize::Quantizer::Linear(12), &th)
                })
            });
        });
    }
    g.finish();
}

// ---------------------------------------------------------------------------------------
// Stage 6: pack.

fn bench_pack<M: Clock>(c: &mut Criterion<M>) {
    let mut g = group(c, "pack");
    let mut bufs: Vec<Vec<u8>> = Vec::new();
    g.bench_function("hd-8-ports-12-planes", |b| {
        let geo = hd_geometry();
        let q = hd_quantized();
        if bufs.is_empty() {
            bufs = geo.ports.iter().map(|p| vec![0u8; p.byte_len()]).collect();
        }
        pool().install(|| {
            b.iter(|| {
                for (port, buf) in geo.ports.iter().zip(&mut bufs) {
                    pack::port(port, q, buf);
                }
            })
        });
    });
    let mut buf = Vec::new();
    g.bench_function("hd-port1-12-planes", |b| {
        let port = &hd_geometry().ports[0];
        let q = hd_quantized();
        buf.resize(port.byte_len(), 0);
        pool().install(|| b.iter(|| pack::port(port, q, &mut buf)));
    });
    // The per-bit specification kernel, single-threaded, on the same port.
    let mut reference = Vec::new();
    g.bench_function("hd-port1-12-planes-reference", |b| {
        let port = &hd_geometry().ports[0];
        let q = hd_quantized();
        if reference.is_empty() {
            // Check once that the two kernels agree on this input.
            reference.resize(port.byte_len(), 0);
            pack::reference_bitplanes(port, q, &mut reference);
            let mut fast = vec![0u8; port.byte_len()];
            pool().install(|| pack::port(port, q, &mut fast));
            assert!(fast == reference, "fast and reference kernels disagree");
        }
        pool().install(|| b.iter(|| pack::reference_bitplanes(port, q, &mut reference)));
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------
// End to end.

/// What one end-to-end bench renders.
#[derive(Clone, Copy)]
enum Content {
    /// A new frame every tick (two different photographs alternating), unkeyed: every
    /// stage runs every frame.
    Video((u32, u32)),
    /// One keyed photograph: resampled once, then only colour, quantize and pack.
    Still((u32, u32)),
    /// [`Content::Video`] handed over as `yuv420p` (BT.709, limited range), as a decoder
    /// gives it: the renderer converts the planes inside its pipeline.
    Yuv((u32, u32)),
}

/// The photograph `seed` of `size` as a `yuv420p` frame (BT.709 limited, chroma of the
/// even columns averaged over row pairs): what ffmpeg's `rawvideo` writes.
fn yuv420p(size: (u32, u32), seed: u64) -> &'static [u8] {
    static CELLS: [OnceLock<Vec<u8>>; 4] = [const { OnceLock::new() }; 4];
    let i = usize::from(size == FHD) * 2 + (seed as usize & 1);
    CELLS[i].get_or_init(|| {
        let p = photo8(size, seed);
        let (w, h) = (p.width as usize, p.height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let mut out = vec![0u8; w * h + 2 * cw * ch];
        let (kr, kb) = (0.2126, 0.0722);
        let ycc = |x: usize, y: usize| {
            let px = &p.pixels[(y * w + x) * 4..][..3];
            let [r, g, b] = [0, 1, 2].map(|c| f64::from(px[c]) / 255.0);
            let l = kr * r + (1.0 - kr - kb) * g + kb * b;
            [
                l,
                (b - l) / (2.0 * (1.0 - kb)),
                (r - l) / (2.0 * (1.0 - kr)),
            ]
        };
        for y in 0..h {
            for x in 0..w {
                out[y * w + x] = (16.0 + 219.0 * ycc(x, y)[0]).round() as u8;
            }
        }
        for j in 0..ch {
            for i in 0..cw {
                let (a, b) = (ycc(2 * i, 2 * j), ycc(2 * i, (2 * j + 1).min(h - 1)));
                let cb = (128.0 + 224.0 * (a[1] + b[1]) / 2.0).round() as u8;
                let cr = (128.0 + 224.0 * (a[2] + b[2]) / 2.0).round() as u8;
                out[w * h + j * cw + i] = cb;
                out[w * h + cw * ch + j * cw + i] = cr;
            }
        }
        out
    })
}

fn end_to_end_case<M: Clock>(
    g: &mut BenchmarkGroup<'_, M>,
    id: &str,
    wall: fn() -> Wall,
    content: Content,
) {
    let mut state: Option<(Renderer, WallFrame)> = None;
    // Frame counter (drives temporal dithering) and the renderer's own per-stage times,
    // summed over every timed frame.
    let mut n = 0u64;
    let mut stage_sum = ledwall_render::StageTimes::default();
    let mut timed = 0u64;
    g.bench_function(id, |b| {
        let (renderer, frame) = state.get_or_insert_with(|| {
            let renderer = Renderer::new(&wall()).unwrap();
            let frame = WallFrame::new(renderer.geometry());
            (renderer, frame)
        });
        let (size, keyed) = match content {
            Content::Video(size) | Content::Yuv(size) => (size, false),
            Content::Still(size) => (size, true),
        };
        let photos = [photo8(size, 0), photo8(size, 1)];
        let yuv = matches!(content, Content::Yuv(_)).then(|| {
            [0, 1].map(|seed| {
                let (m, r) = (YuvMatrix::Bt709, YuvRange::Limited);
                YuvImage::from_frame8(
                    YuvLayout::Yuv420p,
                    size.0,
                    size.1,
                    yuv420p(size, seed),
                    m,
                    r,
                )
                .unwrap()
            })
        });
        // `render_into` is called from this (non-pool) thread: `Renderer::install` borrows
        // the renderer shared while `render_into` needs it exclusively, so the two cannot
        // be combined without unsafe aliasing. Each frame therefore pays one rayon
        // injection into the renderer's pool (about 14 µs here; see README.md).
        b.iter(|| {
            n += 1;
            let source = if let Some(yuv) = &yuv {
                SourceImage::yuv(size.0, size.1, yuv[(n & 1) as usize])
            } else if keyed {
                photos[0].source().with_key(1)
            } else {
                photos[(n & 1) as usize].source()
            };
            let scene = Scene::single(n, Layer::new(source));
            renderer.render_into(&scene, frame).unwrap();
            stage_sum += renderer.stage_times();
            timed += 1;
            black_box(&frame.ports[0].bytes[0]);
        });
    });
    if timed > 0 {
        // Where the frames went, by the renderer's own clock (wall time per stage).
        let per_stage: Vec<String> = stage_sum
            .iter()
            .map(|(name, t)| format!("{name} {:.3} ms", t.as_secs_f64() * 1e3 / timed as f64))
            .collect();
        eprintln!(
            "{id}: mean stage times over {timed} frames: {}",
            per_stage.join(", ")
        );
    }
}

fn hd_linear() -> Wall {
    hd_wall().clone()
}

fn hd_fast() -> Wall {
    load_wall_with("hd", |s| s.color.resample = ResampleMode::Fast)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn demo() -> Wall {
    load_wall("demo").unwrap_or_else(|e| panic!("{e}"))
}

fn bench_end_to_end<M: Clock>(c: &mut Criterion<M>) {
    let mut g = group(c, "end_to_end");
    g.measurement_time(Duration::from_secs(3));
    end_to_end_case(&mut g, "hd/linear/4k-video", hd_linear, Content::Video(UHD));
    end_to_end_case(&mut g, "hd/fast/4k-video", hd_fast, Content::Video(UHD));
    end_to_end_case(&mut g, "hd/linear/4k-yuv420p", hd_linear, Content::Yuv(UHD));
    end_to_end_case(&mut g, "hd/fast/4k-yuv420p", hd_fast, Content::Yuv(UHD));
    end_to_end_case(
        &mut g,
        "hd/linear/1080p-video",
        hd_linear,
        Content::Video(FHD),
    );
    end_to_end_case(&mut g, "hd/fast/1080p-video", hd_fast, Content::Video(FHD));
    end_to_end_case(&mut g, "hd/linear/4k-still", hd_linear, Content::Still(UHD));
    end_to_end_case(&mut g, "demo/linear/1080p-video", demo, Content::Video(FHD));
    end_to_end_case(&mut g, "demo/linear/4k-video", demo, Content::Video(UHD));
    g.finish();
}
