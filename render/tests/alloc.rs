//! The render hot path allocates nothing per frame after warm-up, proven with a counting
//! global allocator on every thread the render runs on: the calling thread and each worker
//! of the renderer's pool (marked with a broadcast before counting).
//!
//! Other threads are not counted, on purpose: a dropped renderer's pool threads exit in the
//! background, and their exit (crossbeam-epoch's thread-local destructor) allocates. That
//! once landed in a later scenario's window and was counted against a frame that had not
//! allocated (found with a backtrace from this allocator).
//!
//! One test function: the counter is process-wide, so scenarios must not overlap.

use ledwall_render::wall::ResampleMode;
use ledwall_render::{Filter, Fit, Layer, Renderer, Scene, SourceImage, Wall, WallFrame};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Whether this thread's allocations count (no destructor: readable while exiting).
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTED.with(Cell::get) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn wall(name: &str) -> Wall {
    let path = format!(
        "{}/../fixtures/walls/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    Wall::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn pattern(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            v.extend_from_slice(&[
                (x.wrapping_mul(7) ^ seed) as u8,
                (y.wrapping_mul(5) + seed) as u8,
                ((x + y) ^ (seed * 3)) as u8,
                255,
            ]);
        }
    }
    v
}

/// How the brightness level moves while [`allocations`] renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// Left at 1.
    Steady,
    /// A fade from 1.0 to 0.0 over all the frames (warm-up included): `set_brightness`
    /// before every frame, as the player's dimmer calls it.
    Fade,
}

/// Allocations per frame over `frames` frames after `warm` frames, each frame rendered from
/// inside the renderer's pool (as the player's render thread does).
#[allow(clippy::too_many_arguments)]
fn allocations(
    renderer: &mut Renderer,
    frame: &mut WallFrame,
    sources: &[(u32, u32, Vec<u8>)],
    keyed: bool,
    fit: Fit,
    level: Level,
    warm: u64,
    frames: u64,
) -> u64 {
    // Count on this thread and on every worker of the renderer's pool.
    let mark = |on: bool| renderer.install(|| rayon::broadcast(|_| COUNTED.with(|c| c.set(on))));
    mark(true);
    let n = renderer.install_mut(|renderer| {
        COUNTED.with(|c| c.set(true));
        let mut before = 0;
        for n in 0..warm + frames {
            if n == warm {
                before = ALLOCS.load(Ordering::SeqCst);
            }
            if level == Level::Fade {
                renderer.set_brightness(1.0 - n as f32 / (warm + frames - 1) as f32);
            }
            let (w, h, data) = &sources[(n as usize) % sources.len()];
            let mut src = SourceImage::rgba8(*w, *h, data);
            if keyed {
                src = src.with_key(n % sources.len() as u64);
            }
            let layer = Layer::new(src).fit(fit).filter(Filter::Lanczos3);
            let (w2, h2, data2) = &sources[(n as usize + 1) % sources.len()];
            let mut other = SourceImage::rgba8(*w2, *h2, data2);
            if keyed {
                other = other.with_key((n + 1) % sources.len() as u64);
            }
            let scene = if n % 3 == 2 {
                Scene::crossfade(n, layer, Layer::new(other).fit(fit), 0.25)
            } else {
                Scene::single(n, layer)
            };
            renderer
                .render_into(&scene, frame)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let n = ALLOCS.load(Ordering::SeqCst) - before;
        COUNTED.with(|c| c.set(false));
        renderer.set_brightness(1.0);
        n
    });
    let mark = |on: bool| renderer.install(|| rayon::broadcast(|_| COUNTED.with(|c| c.set(on))));
    mark(false);
    n
}

#[test]
fn render_into_allocates_nothing_per_frame() {
    for name in ["demo", "outdoor", "hd", "sending-card"] {
        let w = wall(name);
        let mut renderer = Renderer::new(&w).unwrap_or_else(|e| panic!("{e}"));
        let mut frame = WallFrame::new(renderer.geometry());
        let (cw, ch) = (w.width, w.height);
        // Video at canvas size: linearize + compose + colour + quantize + pack every frame.
        let native: Vec<_> = (0..2).map(|s| (cw, ch, pattern(cw, ch, s))).collect();
        let n = allocations(
            &mut renderer,
            &mut frame,
            &native,
            false,
            Fit::Stretch,
            Level::Steady,
            3,
            12,
        );
        assert_eq!(
            n, 0,
            "{name}: 1:1 video path allocated {n} times in 12 frames"
        );
        // Stills: the resampled canvas is cached; colour, quantize and pack rerun.
        let small: Vec<_> = (0..2)
            .map(|s| (cw / 2 + 3, ch / 2 + 1, pattern(cw / 2 + 3, ch / 2 + 1, s)))
            .collect();
        let n = allocations(
            &mut renderer,
            &mut frame,
            &small,
            true,
            Fit::Contain,
            Level::Steady,
            3,
            12,
        );
        assert_eq!(n, 0, "{name}: still path allocated {n} times in 12 frames");
        // Scaled video: every stage, resampling included, every frame.
        let n = allocations(
            &mut renderer,
            &mut frame,
            &small,
            false,
            Fit::Cover,
            Level::Steady,
            3,
            12,
        );
        assert_eq!(
            n, 0,
            "{name}: scaled video path allocated {n} times in 12 frames"
        );
        // A fade: the level changes every frame (1.0 to 0.0 over 15 frames) on the 1:1 video
        // path (its code table rebuilt in place), on stills (their kept colours redone) and
        // crossfades (every third frame of each run), and on scaled video.
        for (what, sources, keyed, fit) in [
            ("1:1 video", &native, false, Fit::Stretch),
            ("still", &small, true, Fit::Contain),
            ("scaled video", &small, false, Fit::Cover),
        ] {
            let n = allocations(
                &mut renderer,
                &mut frame,
                sources,
                keyed,
                fit,
                Level::Fade,
                3,
                12,
            );
            assert_eq!(
                n, 0,
                "{name}: {what} path during a fade allocated {n} times in 12 frames"
            );
        }
        // The same with resample = "fast" (filter code values, LUT on the way out).
        let mut spec = w.spec.clone();
        spec.color.resample = ResampleMode::Fast;
        let fast = Wall::from_spec(&spec, &w.source).unwrap_or_else(|e| panic!("{e}"));
        let mut renderer = Renderer::new(&fast).unwrap_or_else(|e| panic!("{e}"));
        let n = allocations(
            &mut renderer,
            &mut frame,
            &small,
            false,
            Fit::Contain,
            Level::Steady,
            3,
            12,
        );
        assert_eq!(
            n, 0,
            "{name}: fast scaled video path allocated {n} times in 12 frames"
        );
        // Fast mode, scaled to cover the canvas: resample, colour and quantize fused per
        // row into the quantized buffer.
        let n = allocations(
            &mut renderer,
            &mut frame,
            &small,
            false,
            Fit::Cover,
            Level::Steady,
            3,
            12,
        );
        assert_eq!(
            n, 0,
            "{name}: fast scaled covering video path allocated {n} times in 12 frames"
        );
        let n = allocations(
            &mut renderer,
            &mut frame,
            &small,
            false,
            Fit::Cover,
            Level::Fade,
            3,
            12,
        );
        assert_eq!(
            n, 0,
            "{name}: fast scaled covering video path during a fade allocated {n} times"
        );
    }
    yuv_sources_allocate_nothing_per_frame();
}

/// Y'CbCr video (8-bit `yuv420p` and 10-bit `p010le`) on `hd`, in both resample modes: 1:1
/// (converted straight into the canvas), scaled to cover (rows converted into the direct
/// path's rings: linear light, or 8-bit codes for the fast mode's fixed-point rings, whose
/// scratch rows are sized on the first frame; 10-bit fast: the kept RGBA buffer) and
/// contained (the general path).
fn yuv_sources_allocate_nothing_per_frame() {
    use ledwall_render::yuv::{YuvImage, YuvLayout, YuvMatrix, YuvRange};
    let w = wall("hd");
    for mode in [ResampleMode::Linear, ResampleMode::Fast] {
        let mut spec = w.spec.clone();
        spec.color.resample = mode;
        let wall = Wall::from_spec(&spec, &w.source).unwrap_or_else(|e| panic!("{e}"));
        let mut renderer = Renderer::new(&wall).unwrap_or_else(|e| panic!("{e}"));
        let mut frame = WallFrame::new(renderer.geometry());
        for (sw, sh, fit) in [
            (wall.width, wall.height, Fit::Stretch),
            (wall.width / 2 + 3, wall.height / 2 + 1, Fit::Cover),
            (wall.width / 2 + 3, wall.height / 2 + 1, Fit::Contain),
        ] {
            for layout in [YuvLayout::Yuv420p, YuvLayout::P010] {
                let n8 = layout.frame_samples(sw, sh);
                let p8: Vec<u8> = (0..n8).map(|i| (i * 7 % 251) as u8).collect();
                let p16: Vec<u16> = p8.iter().map(|&v| u16::from(v) << 8).collect();
                let (m, r) = (YuvMatrix::Bt709, YuvRange::Limited);
                let img = if layout.is_deep() {
                    YuvImage::from_frame16(layout, sw, sh, &p16, m, r)
                } else {
                    YuvImage::from_frame8(layout, sw, sh, &p8, m, r)
                };
                let img = img.unwrap_or_else(|| panic!("{layout:?} frame"));
                let mark = |on: bool| {
                    renderer.install(|| rayon::broadcast(|_| COUNTED.with(|c| c.set(on))))
                };
                mark(true);
                let n = renderer.install_mut(|renderer| {
                    COUNTED.with(|c| c.set(true));
                    let mut before = 0;
                    for n in 0..15u64 {
                        if n == 3 {
                            before = ALLOCS.load(Ordering::SeqCst);
                        }
                        let src = SourceImage::yuv(sw, sh, img);
                        let scene = Scene::single(n, Layer::new(src).fit(fit));
                        renderer
                            .render_into(&scene, &mut frame)
                            .unwrap_or_else(|e| panic!("{e}"));
                    }
                    let n = ALLOCS.load(Ordering::SeqCst) - before;
                    COUNTED.with(|c| c.set(false));
                    n
                });
                let mark = |on: bool| {
                    renderer.install(|| rayon::broadcast(|_| COUNTED.with(|c| c.set(on))))
                };
                mark(false);
                assert_eq!(
                    n, 0,
                    "hd {mode:?} {layout:?} {sw}x{sh} {fit:?}: allocated {n} times in 12 frames"
                );
            }
        }
    }
}
