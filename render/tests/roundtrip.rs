//! The emulator inverts pack: for random quantized canvases, every formula mapper, rotation,
//! mirror, colour order and depth, `emulate(pack(q))` gives `q` back on every canvas pixel a
//! module covers, and shows nothing anywhere else.

use ledwall_render::cpu::pack;
use ledwall_render::emulate::emulate;
use ledwall_render::wall::{
    CanvasSpec, ColorSpec, Mirror, ModuleSpec, ModuleTypeSpec, OutputFormat, OutputSpec, WallSpec,
};
use ledwall_render::{Geometry, Wall, WallFrame};
use proptest::prelude::*;
use std::collections::BTreeMap;

const MAPPERS: [&str; 8] = [
    "direct",
    "stripe",
    "flipped-stripe",
    "checkered",
    "spiral",
    "zstripe",
    "zn-mirror-zstripe",
    "zstripe-uneven",
];

/// Module sizes (cols, rows, scan) each mapper fits (design §4: stretch 2 needs rows = 4 x
/// scan; checkered needs even widths, spiral widths divisible by 4, the zstripe family 8x8
/// tiles).
fn sizes(mapper: &str) -> [(u32, u32, u32); 3] {
    match mapper {
        "direct" => [(5, 4, 2), (7, 6, 3), (1, 2, 1)],
        "stripe" | "flipped-stripe" => [(6, 8, 2), (3, 4, 1), (16, 16, 4)],
        "checkered" => [(8, 8, 2), (4, 4, 1), (6, 12, 3)],
        "spiral" => [(8, 8, 2), (12, 16, 4), (4, 4, 1)],
        _ => [(8, 8, 2), (16, 16, 4), (24, 8, 2)],
    }
}

const ORDERS: [&str; 6] = ["RGB", "RBG", "GRB", "GBR", "BRG", "BGR"];
const MIRRORS: [Mirror; 4] = [Mirror::None, Mirror::H, Mirror::V, Mirror::Hv];
const ROTATIONS: [u32; 4] = [0, 90, 180, 270];

#[derive(Debug, Clone)]
struct Case {
    mapper: usize,
    size: usize,
    format: OutputFormat,
    depth: u32,
    order: usize,
    serpentine: bool,
    /// (rotate index, mirror index) per module in the chain.
    modules: Vec<(usize, usize)>,
    /// Columns cut off the right of the canvas, rows off the bottom.
    crop: (u32, u32),
    seed: u64,
}

/// The wall of a case: the chain's modules side by side in a row at y = 0, the canvas
/// cropped so that some module pixels fall off it.
fn wall(c: &Case) -> (Wall, Vec<[i64; 4]>) {
    let mapper = MAPPERS[c.mapper];
    let (cols, rows, scan) = sizes(mapper)[c.size];
    let mut types = BTreeMap::new();
    types.insert(
        "m".to_string(),
        ModuleTypeSpec {
            size: [cols, rows],
            scan: Some(scan),
            mapper: mapper.into(),
            table: None,
            color_order: ORDERS[c.order].into(),
            serpentine: c.serpentine,
        },
    );
    let mut x = 0i64;
    let mut modules = Vec::new();
    let mut rects = Vec::new();
    let mut height = 0;
    for &(r, m) in &c.modules {
        let rotate = ROTATIONS[r];
        let (fw, fh) = if rotate.is_multiple_of(180) {
            (cols, rows)
        } else {
            (rows, cols)
        };
        modules.push(ModuleSpec {
            kind: "m".into(),
            at: [x, 0],
            rotate,
            mirror: MIRRORS[m],
            calibration: None,
        });
        rects.push([x, 0, x + fw as i64, fh as i64]);
        x += fw as i64;
        height = height.max(fh);
    }
    let spec = WallSpec {
        name: "roundtrip".into(),
        refresh_hz: 60,
        canvas: CanvasSpec {
            width: (x as u32).saturating_sub(c.crop.0).max(1),
            height: height.saturating_sub(c.crop.1).max(1),
            show: None,
            origin: None,
        },
        color: ColorSpec {
            bit_depth: c.depth,
            ..ColorSpec::default()
        },
        module_types: types,
        outputs: vec![OutputSpec {
            name: "p".into(),
            format: c.format,
            sink: "null".into(),
            modules,
            grid: None,
            region: None,
            encoding: None,
        }],
    };
    let wall = Wall::from_spec(&spec, "roundtrip.toml").unwrap_or_else(|e| panic!("{e}"));
    (wall, rects)
}

/// Pack a random canvas and emulate it; compare on covered pixels, and check that exactly
/// the pixels inside some module's footprint are covered.
fn roundtrip(c: &Case) -> Result<(), String> {
    let (wall, rects) = wall(c);
    let g = Geometry::compile(&wall);
    let depth = match c.format {
        OutputFormat::Bitplanes => c.depth,
        OutputFormat::Rgb8 | OutputFormat::Canvas => 8,
        OutputFormat::Rgb16 => 16,
    };
    assert_eq!(g.ports[0].depth, depth);
    let mask = (1u64 << depth) - 1;
    let mut s = c.seed | 1;
    let q: Vec<u16> = (0..g.buffer_pixels() * 3)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s & mask) as u16
        })
        .collect();
    let mut frame = WallFrame::new(&g);
    for b in &mut frame.ports[0].bytes {
        *b = 0x5A;
    }
    pack::port(&g.ports[0], &q, &mut frame.ports[0].bytes);
    let shown = emulate(&g, &frame);
    let (w, h) = (g.width as i64, g.height as i64);
    for y in 0..h {
        for x in 0..w {
            let i = (y * w + x) as usize;
            let covered = rects
                .iter()
                .any(|r| x >= r[0] && x < r[2] && y >= r[1] && y < r[3]);
            let want_depth = if covered { depth as u8 } else { 0 };
            if shown.depth[i] != want_depth {
                return Err(format!(
                    "pixel ({x}, {y}): depth {} shown, expected {want_depth}",
                    shown.depth[i]
                ));
            }
            if covered && shown.codes[i * 3..i * 3 + 3] != q[i * 3..i * 3 + 3] {
                return Err(format!(
                    "pixel ({x}, {y}): shows {:?}, canvas has {:?}",
                    &shown.codes[i * 3..i * 3 + 3],
                    &q[i * 3..i * 3 + 3]
                ));
            }
        }
    }
    Ok(())
}

/// Every mapper x rotation x mirror, deterministically, cycling through colour orders,
/// depths and formats.
#[test]
fn every_mapper_rotation_and_mirror_round_trips() {
    let formats = [
        OutputFormat::Bitplanes,
        OutputFormat::Bitplanes,
        OutputFormat::Rgb8,
        OutputFormat::Bitplanes,
        OutputFormat::Rgb16,
    ];
    let depths = [1, 8, 11, 16];
    let mut n = 0usize;
    for mapper in 0..MAPPERS.len() {
        for rotate in 0..4 {
            for mirror in 0..4 {
                n += 1;
                let case = Case {
                    mapper,
                    size: n % 3,
                    format: formats[n % formats.len()],
                    depth: depths[n % depths.len()],
                    order: n % ORDERS.len(),
                    serpentine: n.is_multiple_of(2),
                    modules: vec![(rotate, mirror), ((rotate + 1) % 4, (mirror + n) % 4)],
                    crop: ((n % 3) as u32, (n % 2) as u32),
                    seed: n as u64 * 0x9E37_79B9,
                };
                if let Err(e) = roundtrip(&case) {
                    panic!("{case:?}: {e}");
                }
            }
        }
    }
}

fn case() -> impl Strategy<Value = Case> {
    (
        0..MAPPERS.len(),
        0..3usize,
        prop_oneof![
            3 => Just(OutputFormat::Bitplanes),
            1 => Just(OutputFormat::Rgb8),
            1 => Just(OutputFormat::Rgb16),
        ],
        prop::sample::select(vec![1u32, 8, 11, 16]),
        0..ORDERS.len(),
        any::<bool>(),
        prop::collection::vec((0..4usize, 0..4usize), 1..=3),
        (0..6u32, 0..3u32),
        any::<u64>(),
    )
        .prop_map(
            |(mapper, size, format, depth, order, serpentine, modules, crop, seed)| Case {
                mapper,
                size,
                format,
                depth,
                order,
                serpentine,
                modules,
                crop,
                seed,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_walls_round_trip(c in case()) {
        let r = roundtrip(&c);
        prop_assert!(r.is_ok(), "{}", r.err().unwrap_or_default());
    }
}
