//! The GPU backend held to the CPU reference (design §9): the same scene through both, then
//!
//! * the quantized canvases differ by at most [`MAX_CODE_DIFF`] code per channel (the
//!   number of samples that reach it is printed: `cargo test -- --nocapture`);
//! * the port buffers, read back through the emulator, differ by at most the same;
//! * `pack` on identical quantized input is bit-exact.
//!
//! The GPU runs for real: on a machine without a GPU, Mesa's lavapipe (Vulkan) or llvmpipe
//! (GL, `WGPU_BACKEND=gl`) provide the adapter. With no adapter at all these tests print a
//! loud skip, except under `CI`, where they fail.

use ledwall_render::emulate::emulate;
use ledwall_render::geometry::Quant;
use ledwall_render::gpu::{self, Gpu};
use ledwall_render::wall::{
    CanvasSpec, ColorSpec, Dither, ModuleSpec, ModuleTypeSpec, OutputFormat, OutputSpec,
    ResampleMode, Transfer, WallSpec,
};
use ledwall_render::{
    Filter, Fit, Layer, PixelData, Renderer, Scene, SourceImage, Wall, WallFrame,
};
use std::collections::BTreeMap;
use std::path::Path;

mod common;
use common::{MAX_CODE_DIFF, device, photo8, random16};

fn gpu_renderer(wall: &Wall, gpu: &Gpu) -> gpu::Renderer {
    gpu::Renderer::with_gpu(wall, gpu.clone(), None).unwrap_or_else(|e| panic!("{e}"))
}

fn fixture(name: &str) -> Wall {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/walls")
        .join(name);
    Wall::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Compare the quantized canvases and the emulated port buffers of the two backends.
/// Returns the number of samples that differ by exactly the tolerance.
fn compare(what: &str, cpu: &mut Renderer, gpu: &mut gpu::Renderer, scene: &Scene<'_>) -> usize {
    let g = cpu.geometry().clone();
    let mut fc = WallFrame::new(&g);
    let mut fg = WallFrame::new(&g);
    cpu.render_into(scene, &mut fc)
        .unwrap_or_else(|e| panic!("{what}: cpu: {e}"));
    gpu.render_into(scene, &mut fg)
        .unwrap_or_else(|e| panic!("{what}: gpu: {e}"));
    let mut at_tolerance = 0;
    for quant in g.quants() {
        let depth = quant.depth;
        let qc = cpu
            .quantized_as(quant)
            .unwrap_or_else(|| panic!("{quant:?}"));
        let qg = gpu
            .read_quantized_as(quant)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(qc.len(), qg.len(), "{what}");
        for (i, (a, b)) in qc.iter().zip(&qg).enumerate() {
            let d = (*a as i32 - *b as i32).abs();
            assert!(
                d <= MAX_CODE_DIFF,
                "{what}: depth {depth} {:?}, pixel {} channel {}: cpu {a}, gpu {b}",
                quant.encoding,
                i / 3,
                i % 3
            );
            at_tolerance += (d == MAX_CODE_DIFF) as usize;
        }
    }
    let (ec, eg) = (emulate(&g, &fc), emulate(&g, &fg));
    for (i, (a, b)) in ec.codes.iter().zip(&eg.codes).enumerate() {
        let d = (*a as i32 - *b as i32).abs();
        assert!(
            d <= MAX_CODE_DIFF,
            "{what}: emulated sample {i}: cpu {a}, gpu {b}"
        );
    }
    assert_eq!(fc.frame_number, fg.frame_number);
    eprintln!("{what}: {at_tolerance} samples differ by {MAX_CODE_DIFF} code");
    at_tolerance
}

/// Pack on the GPU from the CPU's quantized canvases must give the CPU's bytes exactly.
fn pack_exact(what: &str, cpu: &mut Renderer, gpu: &mut gpu::Renderer, scene: &Scene<'_>) {
    let g = cpu.geometry().clone();
    let mut fc = WallFrame::new(&g);
    let mut fg = WallFrame::new(&g);
    cpu.render_into(scene, &mut fc)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let quantized: Vec<(Quant, Vec<u16>)> = g
        .quants()
        .into_iter()
        .map(|q| {
            (
                q,
                cpu.quantized_as(q).map(<[u16]>::to_vec).unwrap_or_default(),
            )
        })
        .collect();
    let borrowed: Vec<(Quant, &[u16])> =
        quantized.iter().map(|(d, q)| (*d, q.as_slice())).collect();
    gpu.pack_quantized(&borrowed, &mut fg)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    for (c, gp) in fc.ports.iter().zip(&fg.ports) {
        if c.bytes != gp.bytes {
            let first = c
                .bytes
                .iter()
                .zip(&gp.bytes)
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "{what}: port {} differs first at byte {first} (cpu {:#04x}, gpu {:#04x})",
                c.name, c.bytes[first], gp.bytes[first]
            );
        }
    }
}

#[test]
fn fixture_walls_match_the_cpu() {
    let Some(dev) = device() else { return };
    for name in [
        "tiny.toml",
        "demo.toml",
        "outdoor.toml",
        "hd.toml",
        "sending-card.toml",
    ] {
        let wall = fixture(name);
        let mut cpu = Renderer::new(&wall).unwrap();
        let mut gpu = gpu_renderer(&wall, &dev);
        let (cw, ch) = (wall.width, wall.height);
        // 1:1, a downscale and an upscale of a photographic image, 8 and 16 bits.
        for (sw, sh) in [(cw, ch), (cw * 2 + 6, ch * 2 + 2), (cw / 2 + 3, ch / 3 + 1)] {
            let p8 = photo8(sw, sh, 7);
            let r16 = random16(sw, sh, 9);
            for (i, src) in [
                SourceImage::rgba8(sw, sh, &p8),
                SourceImage::rgba16(sw, sh, &r16),
            ]
            .into_iter()
            .enumerate()
            {
                let scene = Scene::single(3, Layer::new(src).fit(Fit::Cover));
                compare(
                    &format!("{name} {sw}x{sh} source {i}"),
                    &mut cpu,
                    &mut gpu,
                    &scene,
                );
                pack_exact(
                    &format!("{name} {sw}x{sh} source {i}"),
                    &mut cpu,
                    &mut gpu,
                    &scene,
                );
            }
        }
    }
}

const MAPPERS: [(&str, (u32, u32, u32)); 8] = [
    ("direct", (5, 4, 2)),
    ("stripe", (6, 8, 2)),
    ("flipped-stripe", (16, 16, 4)),
    ("checkered", (8, 8, 2)),
    ("spiral", (8, 8, 2)),
    ("zstripe", (8, 8, 2)),
    ("zn-mirror-zstripe", (16, 16, 4)),
    ("zstripe-uneven", (24, 8, 2)),
];
const ORDERS: [&str; 6] = ["RGB", "RBG", "GRB", "GBR", "BRG", "BGR"];

/// A wall of `n` modules of one type in a row on a canvas `crop` columns narrower than the
/// chain, one output of `format`.
#[allow(clippy::too_many_arguments)]
fn wall(
    mapper: &str,
    (cols, rows, scan): (u32, u32, u32),
    order: &str,
    format: OutputFormat,
    depth: u32,
    dither: Dither,
    n: u32,
    crop: u32,
) -> Wall {
    let mut types = BTreeMap::new();
    types.insert(
        "m".to_string(),
        ModuleTypeSpec {
            size: [cols, rows],
            scan: Some(scan),
            mapper: mapper.into(),
            table: None,
            color_order: order.into(),
            serpentine: format != OutputFormat::Bitplanes,
        },
    );
    let modules = (0..n)
        .map(|i| ModuleSpec {
            kind: "m".into(),
            at: [(i * cols) as i64, 0],
            rotate: if i % 2 == 1 { 180 } else { 0 },
            mirror: Default::default(),
            calibration: None,
        })
        .collect();
    let spec = WallSpec {
        name: "parity".into(),
        refresh_hz: 60,
        canvas: CanvasSpec {
            width: (n * cols).saturating_sub(crop).max(1),
            height: rows,
            show: None,
            origin: None,
        },
        color: ColorSpec {
            transfer: Transfer::Srgb,
            bit_depth: depth,
            dither,
            background: [10, 20, 30],
            ..ColorSpec::default()
        },
        module_types: types,
        outputs: vec![OutputSpec {
            name: "p".into(),
            format,
            sink: "null".into(),
            modules,
            grid: None,
            region: None,
            encoding: None,
        }],
    };
    Wall::from_spec(&spec, "parity").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_mapper_order_format_and_depth_matches() {
    let Some(dev) = device() else { return };
    let mut total = 0;
    for (mi, (mapper, size)) in MAPPERS.iter().enumerate() {
        for (oi, order) in ORDERS.iter().enumerate() {
            // Depths 1/8/12/16 over the cases, and every format over the mappers.
            let depth = [1, 8, 12, 16][(mi + oi) % 4];
            let format = [
                OutputFormat::Bitplanes,
                OutputFormat::Rgb8,
                OutputFormat::Rgb16,
            ][(mi + 2 * oi) % 3];
            let w = wall(mapper, *size, order, format, depth, Dither::Ordered, 3, 1);
            let mut cpu = Renderer::new(&w).unwrap();
            let mut gpu = gpu_renderer(&w, &dev);
            let (sw, sh) = (w.width * 3 + 1, w.height * 2 + 1);
            let img = photo8(sw, sh, (mi * 10 + oi) as u64);
            let scene = Scene::single(1, Layer::new(SourceImage::rgba8(sw, sh, &img)));
            let what = format!("{mapper} {order} {format:?} depth {depth}");
            total += compare(&what, &mut cpu, &mut gpu, &scene);
            pack_exact(&what, &mut cpu, &mut gpu, &scene);
        }
    }
    eprintln!("mappers: {total} samples at the tolerance in all");
}

#[test]
fn odd_module_widths_and_canvases_match() {
    let Some(dev) = device() else { return };
    // Widths 1, 63, 65 (not multiples of the 16-wide workgroup, nor of the 4-byte word).
    for cols in [1u32, 63, 65] {
        for format in [
            OutputFormat::Bitplanes,
            OutputFormat::Rgb8,
            OutputFormat::Rgb16,
        ] {
            let w = wall(
                "direct",
                (cols, 6, 3),
                "GRB",
                format,
                11,
                Dither::OrderedTemporal,
                5,
                2,
            );
            let mut cpu = Renderer::new(&w).unwrap();
            let mut gpu = gpu_renderer(&w, &dev);
            let (sw, sh) = (97, 13);
            let img = random16(sw, sh, cols as u64);
            let scene = Scene::single(
                17,
                Layer::new(SourceImage::rgba16(sw, sh, &img)).fit(Fit::Stretch),
            );
            let what = format!("width {cols} {format:?}");
            compare(&what, &mut cpu, &mut gpu, &scene);
            pack_exact(&what, &mut cpu, &mut gpu, &scene);
        }
    }
}

/// Receiver-hardware ports (design §7.1): a display-encoded region, the whole canvas
/// PWM-linear and a HUB75 chain overlapping both, under every transfer curve and dither,
/// through the direct path (one video layer, 1:1 and scaled), the still cache and a
/// crossfade. Display-encoded codes come from the same encode table and integer dither on
/// both backends; they are held to the same tolerance as linear codes.
#[test]
fn canvas_ports_match_in_both_encodings() {
    let Some(dev) = device() else { return };
    for (curve, dither) in [
        (Transfer::Srgb, Dither::OrderedTemporal),
        (Transfer::Power, Dither::None),
        (Transfer::Cie1931, Dither::Ordered),
        (Transfer::Linear, Dither::Ordered),
    ] {
        let text = format!(
            r#"
            name = "canvas"
            [canvas]
            width = 83
            height = 29
            [color]
            transfer = "{}"
            gamma = 2.6
            brightness = 0.7
            white_point = [1.0, 0.8, 0.9]
            bit_depth = 11
            dither = "{}"
            background = [10, 60, 200]
            [module_types.m]
            size = [32, 16]
            scan = 8
            [[outputs]]
            name = "hdmi"
            format = "canvas"
            region = {{ at = [3, 5], size = [61, 21] }}
            [[outputs]]
            name = "monitor"
            format = "canvas"
            encoding = "linear"
            [[outputs]]
            name = "hub"
            format = "bitplanes"
            modules = [{{ type = "m", at = [40, 2] }}]
            "#,
            serde_json::to_value(curve).unwrap().as_str().unwrap(),
            serde_json::to_value(dither).unwrap().as_str().unwrap(),
        );
        let w = Wall::from_toml_str(&text, "canvas.toml").unwrap_or_else(|e| panic!("{e}"));
        let mut cpu = Renderer::new(&w).unwrap();
        let mut gpu = gpu_renderer(&w, &dev);
        let one = photo8(83, 29, 5);
        let big = photo8(150, 70, 6);
        let what = |s: &str| format!("{curve:?} {dither:?} {s}");
        for frame in [0u64, 9] {
            let layer = Layer::new(SourceImage::rgba8(83, 29, &one));
            let scene = Scene::single(frame, layer);
            compare(&what("1:1"), &mut cpu, &mut gpu, &scene);
            pack_exact(&what("1:1"), &mut cpu, &mut gpu, &scene);
            let scaled = Layer::new(SourceImage::rgba8(150, 70, &big)).fit(Fit::Contain);
            compare(
                &what("scaled"),
                &mut cpu,
                &mut gpu,
                &Scene::single(frame, scaled),
            );
            let still = scaled.source.with_key(42);
            let scene = Scene::single(frame, Layer::new(still).fit(Fit::Contain));
            compare(&what("still"), &mut cpu, &mut gpu, &scene);
            let fade = Scene::crossfade(frame, layer, Layer::new(still), 0.3);
            compare(&what("crossfade"), &mut cpu, &mut gpu, &fade);
        }
    }
}

#[test]
fn every_dither_mode_matches_at_the_same_frame_number() {
    let Some(dev) = device() else { return };
    for dither in [Dither::None, Dither::Ordered, Dither::OrderedTemporal] {
        for depth in [1, 4, 12] {
            let w = wall(
                "stripe",
                (16, 16, 4),
                "RGB",
                OutputFormat::Bitplanes,
                depth,
                dither,
                4,
                0,
            );
            let mut cpu = Renderer::new(&w).unwrap();
            let mut gpu = gpu_renderer(&w, &dev);
            let img = photo8(64, 16, depth as u64);
            for frame in [0u64, 5, 63, 64, 1001] {
                let scene = Scene::single(frame, Layer::new(SourceImage::rgba8(64, 16, &img)));
                compare(
                    &format!("{dither:?} depth {depth} frame {frame}"),
                    &mut cpu,
                    &mut gpu,
                    &scene,
                );
            }
        }
    }
}

#[test]
fn every_fit_filter_and_resample_mode_matches() {
    let Some(dev) = device() else { return };
    for mode in [ResampleMode::Linear, ResampleMode::Fast] {
        let mut w = fixture("demo.toml");
        w.color.resample = mode;
        let mut cpu = Renderer::new(&w).unwrap();
        let mut gpu = gpu_renderer(&w, &dev);
        let mut total = 0;
        for (sw, sh) in [(301, 97), (57, 41)] {
            let p8 = photo8(sw, sh, 3);
            let r16 = random16(sw, sh, 4);
            for fit in Fit::ALL {
                for filter in Filter::ALL {
                    for src in [
                        SourceImage::rgba8(sw, sh, &p8),
                        SourceImage::rgba16(sw, sh, &r16),
                    ] {
                        let deep = matches!(src.data, PixelData::Rgba16(_));
                        let scene = Scene::single(2, Layer::new(src).fit(fit).filter(filter));
                        total += compare(
                            &format!("{mode:?} {sw}x{sh} {fit:?} {filter:?} deep={deep}"),
                            &mut cpu,
                            &mut gpu,
                            &scene,
                        );
                    }
                }
            }
        }
        eprintln!("{mode:?}: {total} samples at the tolerance over all fit x filter cases");
    }
}

#[test]
fn crossfades_backgrounds_and_cached_stills_match() {
    let Some(dev) = device() else { return };
    let w = fixture("outdoor.toml");
    let mut cpu = Renderer::new(&w).unwrap();
    let mut gpu = gpu_renderer(&w, &dev);
    let a = photo8(200, 100, 1);
    let b = photo8(90, 160, 2);
    let la = Layer::new(SourceImage::rgba8(200, 100, &a).with_key(1));
    let lb = Layer::new(SourceImage::rgba8(90, 160, &b).with_key(2)).fit(Fit::Contain);
    for (i, t) in [0.0f32, 0.25, 0.5, 0.9, 1.0].into_iter().enumerate() {
        let scene = Scene::crossfade(i as u64, la, lb, t);
        compare(&format!("crossfade {t}"), &mut cpu, &mut gpu, &scene);
    }
    // The last frames came from the still cache on both backends.
    assert!(gpu.cache_hits() >= 3, "gpu cache hits {}", gpu.cache_hits());
    compare("background only", &mut cpu, &mut gpu, &Scene::background(9));
    compare(
        "half-weight layer",
        &mut cpu,
        &mut gpu,
        &Scene::single(10, la.weight(0.5)),
    );
}

#[test]
fn a_port_split_across_bindings_packs_the_same_bytes() {
    let Some(dev) = device() else { return };
    let w = fixture("demo.toml");
    let mut whole = gpu_renderer(&w, &dev);
    // 1 KiB bindings: every port is packed in many pieces.
    let mut split = gpu::Renderer::with_gpu(&w, dev.clone(), Some(1024)).unwrap();
    let img = photo8(160, 90, 5);
    let scene = Scene::single(4, Layer::new(SourceImage::rgba8(160, 90, &img)));
    let g = whole.geometry().clone();
    let (mut a, mut b) = (WallFrame::new(&g), WallFrame::new(&g));
    whole.render_into(&scene, &mut a).unwrap();
    split.render_into(&scene, &mut b).unwrap();
    assert!(
        a.ports.iter().any(|p| p.bytes.len() > 4096),
        "the test needs a port over 1 KiB"
    );
    assert_eq!(a, b);
}

#[test]
fn pipelined_frames_equal_blocking_frames() {
    let Some(dev) = device() else { return };
    let w = fixture("demo.toml");
    let mut pipelined = gpu_renderer(&w, &dev);
    let mut blocking = gpu_renderer(&w, &dev);
    let g = pipelined.geometry().clone();
    let imgs: Vec<Vec<u8>> = (0..5).map(|i| photo8(128 + i, 64, i as u64)).collect();
    let scene = |i: usize| {
        Scene::single(
            i as u64,
            Layer::new(SourceImage::rgba8(128 + i as u32, 64, &imgs[i])),
        )
    };
    let mut got = Vec::new();
    let mut frame = WallFrame::new(&g);
    // Keep the ring full: submit ahead, receive behind.
    for i in 0..5 {
        if pipelined.in_flight() == gpu::RING {
            pipelined.receive(&mut frame).unwrap();
            got.push(frame.clone());
        }
        pipelined.submit(&scene(i)).unwrap();
    }
    assert!(
        pipelined.submit(&scene(0)).is_err(),
        "a full ring refuses a submit"
    );
    while pipelined.in_flight() > 0 {
        pipelined.receive(&mut frame).unwrap();
        got.push(frame.clone());
    }
    assert_eq!(got.len(), 5);
    for (i, f) in got.iter().enumerate() {
        let mut want = WallFrame::new(&g);
        blocking.render_into(&scene(i), &mut want).unwrap();
        assert_eq!(f.frame_number, i as u64);
        assert_eq!(*f, want, "frame {i}");
    }
}

#[test]
fn a_broken_shader_is_an_error_not_a_panic() {
    let Some(dev) = device() else { return };
    let broken = gpu::kernel::Kernel {
        source: "@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }",
        ..gpu::quantize::QUANTIZE
    };
    let err = gpu::kernel::Built::new(&dev, broken).unwrap_err();
    assert!(err.to_string().contains("quantize"), "{err}");
}

/// Read a GPU buffer back (tests only: allocates and waits).
fn read_buffer(dev: &Gpu, src: &wgpu::Buffer, len: usize) -> Vec<u8> {
    let size = src.size();
    let dst = dev.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("test readback"),
        size,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = dev.device.create_command_encoder(&Default::default());
    encoder.copy_buffer_to_buffer(src, 0, &dst, 0, size);
    dev.queue.submit([encoder.finish()]);
    let (tx, rx) = std::sync::mpsc::channel();
    dst.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r.is_ok());
    });
    dev.device
        .poll(wgpu::PollType::wait_indefinitely())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(rx.recv().unwrap_or(false), "map failed");
    dst.get_mapped_range(..).unwrap_or_else(|e| panic!("{e:?}"))[..len].to_vec()
}

/// A port kept on the GPU (for a display output on the same device) is not read back: its
/// bytes stay as they were, and each frame's bytes are in the frame's own GPU buffer, equal
/// to what a renderer that reads it back gets. Two frames in turn keep their own copies.
#[test]
fn a_kept_port_has_its_bytes_in_the_frames_gpu_buffer() {
    let Some(dev) = device() else { return };
    let w = fixture("sending-card.toml");
    let mut plain = gpu_renderer(&w, &dev);
    let mut kept = gpu_renderer(&w, &dev);
    kept.keep_on_gpu(0).unwrap();
    assert!(kept.keep_on_gpu(9).is_err());
    let g = plain.geometry().clone();
    let mut frames = [WallFrame::new(&g), WallFrame::new(&g)];
    let mut want = Vec::new();
    for (n, frame) in frames.iter_mut().enumerate() {
        let img = photo8(333, 177, n as u64 + 3);
        let layer = Layer::new(SourceImage::rgba8(333, 177, &img)).fit(Fit::Cover);
        let scene = Scene::single(n as u64 * 7 + 1, layer);
        let mut read = WallFrame::new(&g);
        plain.render_into(&scene, &mut read).unwrap();
        frame.ports[0].bytes.fill(0xA5);
        kept.render_into(&scene, frame).unwrap();
        assert!(
            frame.ports[0].bytes.iter().all(|&b| b == 0xA5),
            "port 0 was read back"
        );
        assert_eq!(
            frame.ports[1].bytes, read.ports[1].bytes,
            "port 1 is read back"
        );
        want.push(read.ports[0].bytes.clone());
    }
    assert_ne!(want[0], want[1], "the frames differ");
    for (frame, want) in frames.iter().zip(&want) {
        let buf = frame.ports[0]
            .gpu
            .as_ref()
            .unwrap_or_else(|| panic!("no GPU buffer"));
        assert!(
            read_buffer(&dev, buf, want.len()) == *want,
            "kept bytes differ"
        );
    }
}
