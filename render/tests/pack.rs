//! The fast bit-plane kernel equals the per-bit reference byte for byte, on odd sizes that
//! hit the 8-position blocks' tails: module widths 1, 63, 65, 127; chains of 1 and 37
//! modules; every depth 1..=16; random codes.

use ledwall_render::cpu::pack;
use ledwall_render::wall::{
    CanvasSpec, ColorSpec, ModuleSpec, ModuleTypeSpec, OutputFormat, OutputSpec, WallSpec,
};
use ledwall_render::{Geometry, Wall};
use std::collections::BTreeMap;

/// xorshift64*: a tiny deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn module_type(cols: u32, rows: u32, scan: u32, mapper: &str, order: &str) -> ModuleTypeSpec {
    ModuleTypeSpec {
        size: [cols, rows],
        scan: Some(scan),
        mapper: mapper.into(),
        table: None,
        color_order: order.into(),
        serpentine: false,
    }
}

/// One bitplanes port: a chain of `chain` modules of `cols` x `rows`, alternating two types
/// with different colour orders, in a row; the canvas stops half a module short so that the
/// last module's right half shows the background.
fn wall(cols: u32, rows: u32, scan: u32, mapper: &str, chain: u32, depth: u32) -> Wall {
    let mut types = BTreeMap::new();
    types.insert(
        "a".to_string(),
        module_type(cols, rows, scan, mapper, "RGB"),
    );
    types.insert(
        "b".to_string(),
        module_type(cols, rows, scan, mapper, "BRG"),
    );
    let modules = (0..chain)
        .map(|i| ModuleSpec {
            kind: if i % 2 == 0 { "a" } else { "b" }.into(),
            at: [(i * cols) as i64, 0],
            rotate: if i % 3 == 2 { 180 } else { 0 },
            mirror: Default::default(),
            calibration: None,
        })
        .collect();
    let spec = WallSpec {
        name: "pack".into(),
        refresh_hz: 60,
        canvas: CanvasSpec {
            width: (chain * cols - cols / 2).max(1),
            height: rows,
        },
        color: ColorSpec {
            bit_depth: depth,
            ..ColorSpec::default()
        },
        module_types: types,
        outputs: vec![OutputSpec {
            name: "p".into(),
            format: OutputFormat::Bitplanes,
            sink: "null".into(),
            modules,
            grid: None,
        }],
    };
    Wall::from_spec(&spec, "pack.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// Random codes of `depth` bits for every pixel of a canvas buffer (with the extra pixels).
fn codes(g: &Geometry, depth: u32, rng: &mut Rng) -> Vec<u16> {
    let mask = ((1u32 << depth) - 1) as u64;
    (0..g.buffer_pixels() * 3)
        .map(|_| (rng.next() & mask) as u16)
        .collect()
}

fn check(g: &Geometry, depth: u32, rng: &mut Rng, what: &str) {
    let port = &g.ports[0];
    let q = codes(g, depth, rng);
    let mut fast = vec![0xAAu8; port.byte_len()];
    let mut slow = vec![0u8; port.byte_len()];
    pack::bitplanes(port, &q, &mut fast);
    pack::reference_bitplanes(port, &q, &mut slow);
    if let Some(i) = fast.iter().zip(&slow).position(|(a, b)| a != b) {
        let positions = port.positions as usize;
        let planes = port.depth as usize;
        panic!(
            "{what}, depth {depth}: byte {i} (address {}, plane {}, position {}) is {:#04x}, reference {:#04x}",
            i / (planes * positions),
            (i / positions) % planes,
            i % positions,
            fast[i],
            slow[i]
        );
    }
    // Bits 6 and 7 are always zero.
    assert!(fast.iter().all(|b| b & 0xC0 == 0), "{what}, depth {depth}");
}

#[test]
fn fast_bitplanes_equal_the_reference_on_odd_sizes() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for cols in [1, 63, 65, 127] {
        for chain in [1, 37] {
            for depth in 1..=16 {
                let scan = 1 + depth % 3;
                let w = wall(cols, 2 * scan, scan, "direct", chain, depth);
                let g = Geometry::compile(&w);
                assert_eq!(g.ports[0].positions, cols * chain);
                check(
                    &g,
                    depth,
                    &mut rng,
                    &format!("width {cols}, chain {chain}, scan {scan}"),
                );
            }
        }
    }
}

#[test]
fn fast_bitplanes_equal_the_reference_for_stretched_mappers() {
    let mut rng = Rng(12345);
    for (mapper, cols, rows, scan) in [
        ("stripe", 9, 8, 2),
        ("flipped-stripe", 3, 4, 1),
        ("checkered", 6, 12, 3),
        ("spiral", 12, 16, 4),
        ("zstripe", 24, 8, 2),
        ("zn-mirror-zstripe", 8, 16, 4),
        ("zstripe-uneven", 16, 8, 2),
    ] {
        for (chain, depth) in [(1, 1), (3, 7), (5, 8), (2, 9), (7, 16)] {
            let w = wall(cols, rows, scan, mapper, chain, depth);
            let g = Geometry::compile(&w);
            check(&g, depth, &mut rng, &format!("{mapper} {cols}x{rows}"));
        }
    }
}
