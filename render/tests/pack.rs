//! The fast bit-plane kernels (`pack::bitplanes` at every instruction-set level this machine
//! has: portable, AVX2, AVX-512 + GFNI) equal the per-bit reference byte for byte: on odd
//! sizes that hit the 32-position groups' tails (module widths 1, 63, 65, 127; chains of 1
//! and 37 modules), every depth 1..=16, random codes; with each kind of run the
//! contiguous-load fast path takes (forward, reversed by 180° modules, background) and the
//! slot-by-slot fallback (colour orders mixed inside a group, non-direct mappers, no run
//! table at all). A corrupted run table must change the output, so the fast path is known
//! to be taken.

use ledwall_render::cpu::{pack, simd};
use ledwall_render::geometry::PortMap;
use ledwall_render::geometry::{PACK_GROUP, Run, pack_runs};
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
/// with different colour orders, in a row, every third one rotated 180° (its runs are
/// reversed); the canvas stops half a module short so that the last module's right half
/// shows the background.
fn wall(cols: u32, rows: u32, scan: u32, mapper: &str, chain: u32, depth: u32) -> Wall {
    wall_with(cols, rows, scan, mapper, chain, depth, ["RGB", "BRG"])
}

/// [`wall`] with the two types' colour orders given (the same twice: one order per port).
fn wall_with(
    cols: u32,
    rows: u32,
    scan: u32,
    mapper: &str,
    chain: u32,
    depth: u32,
    orders: [&str; 2],
) -> Wall {
    let mut types = BTreeMap::new();
    types.insert(
        "a".to_string(),
        module_type(cols, rows, scan, mapper, orders[0]),
    );
    types.insert(
        "b".to_string(),
        module_type(cols, rows, scan, mapper, orders[1]),
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
            show: None,
            origin: None,
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
            region: None,
            encoding: None,
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

/// Where the first differing byte of `fast` and `slow` is, if any.
fn first_difference(port: &PortMap, fast: &[u8], slow: &[u8]) -> Option<String> {
    let i = fast.iter().zip(slow).position(|(a, b)| a != b)?;
    let positions = port.positions as usize;
    let planes = port.depth as usize;
    Some(format!(
        "byte {i} (address {}, plane {}, position {}) is {:#04x}, reference {:#04x}",
        i / (planes * positions),
        (i / positions) % planes,
        i % positions,
        fast[i],
        slow[i]
    ))
}

/// `pack::bitplanes` on `port` equals the reference at every level (the kernel is chosen
/// from the level on each call).
fn check_port(port: &PortMap, q: &[u16], what: &str) {
    let mut slow = vec![0u8; port.byte_len()];
    pack::reference_bitplanes(port, q, &mut slow);
    simd::each_level(|level| {
        let mut fast = vec![0xAAu8; port.byte_len()];
        pack::bitplanes(port, q, &mut fast);
        if let Some(d) = first_difference(port, &fast, &slow) {
            panic!("{level}, {what}: {d}");
        }
        // Bits 6 and 7 are always zero.
        assert!(fast.iter().all(|b| b & 0xC0 == 0), "{level}, {what}");
    });
}

fn check(g: &Geometry, depth: u32, rng: &mut Rng, what: &str) {
    let port = &g.ports[0];
    let q = codes(g, depth, rng);
    check_port(port, &q, &format!("{what}, depth {depth}"));
}

/// How many lines of each kind `port`'s run table has: forward, reverse, same, scattered.
fn kinds(port: &PortMap) -> [usize; 4] {
    let mut n = [0; 4];
    for line in port.runs.iter().flatten() {
        n[match line {
            Run::Forward(_) => 0,
            Run::Reverse(_) => 1,
            Run::Same(_) => 2,
            Run::Scattered => 3,
        }] += 1;
    }
    n
}

#[test]
fn fast_bitplanes_equal_the_reference_on_odd_sizes() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut seen = [0; 4];
    for cols in [1, 63, 65, 127] {
        for chain in [1, 37] {
            for depth in 1..=16 {
                let scan = 1 + depth % 3;
                let w = wall(cols, 2 * scan, scan, "direct", chain, depth);
                let g = Geometry::compile(&w);
                assert_eq!(g.ports[0].positions, cols * chain);
                let k = kinds(&g.ports[0]);
                seen = [0, 1, 2, 3].map(|i| seen[i] + k[i]);
                check(
                    &g,
                    depth,
                    &mut rng,
                    &format!("width {cols}, chain {chain}, scan {scan}"),
                );
            }
        }
    }
    // Every path was taken: forward, reversed, background and slot-by-slot groups.
    assert!(seen.iter().all(|&n| n > 0), "run kinds seen: {seen:?}");
}

/// One colour order for the whole chain: groups that straddle two modules are forward runs
/// when the modules sit side by side, reversed runs inside a rotated module, and only the
/// group where a rotated module meets an upright one is scattered.
#[test]
fn fast_bitplanes_equal_the_reference_with_one_colour_order() {
    let mut rng = Rng(77);
    for (cols, order) in [(63, "GBR"), (65, "RGB"), (127, "BGR"), (32, "RBG")] {
        for depth in [1, 8, 9, 12, 13, 16] {
            let w = wall_with(cols, 4, 2, "direct", 9, depth, [order, order]);
            let g = Geometry::compile(&w);
            let k = kinds(&g.ports[0]);
            assert!(k[0] > 0 && k[1] > 0, "{cols} {order}: {k:?}");
            check(
                &g,
                depth,
                &mut rng,
                &format!("width {cols}, one order {order}"),
            );
        }
    }
}

/// The kernels read the run table: with the table shifted by one pixel the output changes
/// (so the tests above exercise the fast path), and with no table they fall back to the
/// slot-by-slot gather everywhere and still equal the reference.
#[test]
fn fast_path_reads_the_run_table_and_falls_back_without_it() {
    let mut rng = Rng(4242);
    let w = wall_with(64, 32, 16, "direct", 6, 12, ["RGB", "RGB"]);
    let g = Geometry::compile(&w);
    let port = &g.ports[0];
    let k = kinds(port);
    assert!(k[0] > 0 && k[1] > 0 && k[2] > 0, "{k:?}");
    let q = codes(&g, 12, &mut rng);
    check_port(port, &q, "intact table");

    let mut reference = vec![0u8; port.byte_len()];
    pack::reference_bitplanes(port, &q, &mut reference);
    let mut shifted = port.clone();
    for line in shifted.runs.iter_mut().flatten() {
        *line = match *line {
            Run::Forward(f) => Run::Forward(f + 1),
            Run::Reverse(f) => Run::Reverse(f - 1),
            other => other,
        };
    }
    simd::each_level(|level| {
        let mut out = vec![0u8; port.byte_len()];
        pack::bitplanes(&shifted, &q, &mut out);
        assert!(out != reference, "{level}: the run table was not used");
    });

    let mut none = port.clone();
    none.runs.clear();
    check_port(&none, &q, "no run table");
}

/// `pack_runs` on hand-made slot tables: one address, two groups.
#[test]
fn pack_runs_classifies_lines() {
    let n = 2 * PACK_GROUP;
    let mut slots = vec![0u32; n * 2];
    for p in 0..n {
        let j = (p % PACK_GROUP) as u32;
        let (l0, l1) = if p < PACK_GROUP {
            (100 + j, 500 - j)
        } else {
            (7, if j == 5 { 0 } else { 200 + j })
        };
        slots[p * 2] = l0;
        slots[p * 2 + 1] = l1;
    }
    let order = vec![[0u8, 1, 2]; n];
    assert_eq!(
        pack_runs(&slots, &order, 1, n as u32),
        vec![
            [Run::Forward(100), Run::Reverse(500)],
            [Run::Same(7), Run::Scattered]
        ]
    );
    // A colour order change inside the group makes both lines scattered.
    let mut mixed = order.clone();
    mixed[3] = [2, 1, 0];
    assert_eq!(
        pack_runs(&slots, &mixed, 1, n as u32)[0],
        [Run::Scattered, Run::Scattered]
    );
    // A partial last group gets no entry.
    assert_eq!(
        pack_runs(&slots[..(n - 1) * 2], &order[..n - 1], 1, n as u32 - 1).len(),
        1
    );
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
