//! Wall model tests: validation reports, grid expansion, module transforms, formats.
//!
//! Expected values here are written out by hand from design §3, never computed with the
//! code under test.

use super::*;
use crate::geometry::Geometry;

/// Load TOML text as `name`, expecting failure.
fn refuse(text: &str, name: &str) -> ConfigError {
    match Wall::from_toml_str(text, name) {
        Ok(_) => panic!("{name}: accepted a wall that should be refused"),
        Err(e) => e,
    }
}

/// Load TOML text, expecting success.
fn accept(text: &str) -> Wall {
    Wall::from_toml_str(text, "test.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// The problem at exactly `field`, with a reason containing `word`.
fn has(e: &ConfigError, field: &str, word: &str) {
    let found = e
        .problems
        .iter()
        .any(|p| p.field == field && p.reason.to_lowercase().contains(&word.to_lowercase()));
    assert!(
        found,
        "no problem at `{field}` mentioning \"{word}\"; the error was:\n{e}"
    );
}

/// Every problem of design §3's list in one file, plus shape problems (an unknown field, a
/// string for a number) that must not hide the semantic ones.
const BROKEN: &str = r#"
name = "broken"
refresh_hz = 0
colour = "oops"                      # unknown field (the British spelling)

[canvas]
width = 64
height = 32

[color]
bit_depth = 20

[module_types.good]
size = [16, 8]
scan = 4

[module_types.x]
size = [16, 8]
scan = 3                             # does not divide 8

[module_types.wide]
size = [64, 32]
scan = 16
mapper = "stripe"                    # stretch 2 needs rows = 4 x scan

[module_types.odd]
size = [16, 8]
scan = 4
color_order = "RGX"

[module_types.typo]
size = [16, 8]
scann = 4                            # unknown field inside a module type

[[outputs]]
name = "a"
format = "bitplanes"
modules = [{ type = "good", at = ["zero", 0] }]

[[outputs]]
name = "b"
format = "bitplanes"
sink = "udp://somewhere"
modules = [
  { type = "nope", at = [0, 0] },
  { type = "good", at = [16, 8] },
  { type = "good", at = [20, 12] },
]

[[outputs]]
name = "b"
format = "rgb8"
modules = [{ type = "good", at = [48, 24] }, { type = "typo", at = [0, 24] }]
"#;

#[test]
fn every_problem_is_reported_at_once_with_its_field() {
    let e = refuse(BROKEN, "walls/broken.toml");
    has(&e, "refresh_hz", "1..=1000");
    has(&e, "colour", "unknown field");
    has(&e, "color.bit_depth", "1..=16");
    has(&e, "module_types.x.scan", "does not divide");
    has(&e, "module_types.wide.mapper", "stretch");
    has(&e, "module_types.odd.color_order", "RGX");
    has(&e, "module_types.typo.scann", "unknown field");
    has(&e, "outputs[0].modules[0].at[0]", "zero");
    has(&e, "outputs[1].sink", "udp");
    has(&e, "outputs[1].modules[0].type", "nope");
    has(
        &e,
        "outputs[1].modules[2]",
        "overlaps outputs[1].modules[1]",
    );
    has(&e, "outputs[2].name", "duplicate");
    // The type that failed to parse is reported once, not again as "unknown" where used.
    assert!(
        !e.problems
            .iter()
            .any(|p| p.field == "outputs[2].modules[1].type"),
        "{e}"
    );
    assert_eq!(e.file, Path::new("walls/broken.toml"));
    let text = e.to_string();
    assert!(text.starts_with("walls/broken.toml: "), "{text}");
    for p in &e.problems {
        assert!(
            text.contains(&format!("walls/broken.toml: {}: ", p.field)),
            "{text}"
        );
    }
    assert_eq!(e.problems.len(), 12, "{e}");
}

#[test]
fn a_typo_in_one_output_does_not_hide_a_problem_in_another() {
    let e = refuse(
        r#"
        name = "two"
        [canvas]
        width = 32
        height = 8
        [module_types.m]
        size = [16, 8]
        scan = 4
        [[outputs]]
        name = "p0"
        format = "rgb8"
        modules = [{ type = "m", at = [0, "eight"] }]
        [[outputs]]
        name = "p1"
        format = "bitplanes"
        sink = "ddp://"
        modules = [{ type = "m", at = [16, 0] }]
        "#,
        "two.toml",
    );
    has(&e, "outputs[0].modules[0].at[1]", "eight");
    has(&e, "outputs[1].sink", "needs a host");
    assert_eq!(e.problems.len(), 2, "{e}");
}

#[test]
fn broken_syntax_is_one_problem_naming_the_file() {
    let e = refuse("name = \n", "syntax.toml");
    assert_eq!(e.problems.len(), 1);
    assert!(e.to_string().contains("syntax.toml"), "{e}");
    let e = Wall::from_json_str("{\"name\": ", "syntax.json").unwrap_err();
    assert!(e.to_string().contains("syntax.json"), "{e}");
}

#[test]
fn missing_sections_are_named() {
    let e = refuse("refresh_hz = 60\n", "empty.toml");
    has(&e, "name", "missing");
    has(&e, "canvas", "missing");
    has(&e, "outputs", "at least one");
}

#[test]
fn refresh_above_1000_and_other_ranges_are_refused() {
    let e = refuse(
        r#"
        name = "r"
        refresh_hz = 1001
        [canvas]
        width = 0
        height = 8
        [color]
        bit_depth = 0
        brightness = 1.5
        white_point = [1.0, -0.1, 1.0]
        background = [0, 256, 0]
        [module_types.m]
        size = [8, 8]
        [[outputs]]
        name = "p"
        format = "rgb8"
        modules = [{ type = "m", at = [0, 0], rotate = 45 }]
        "#,
        "r.toml",
    );
    has(&e, "refresh_hz", "1001");
    has(&e, "canvas.width", "0");
    has(&e, "color.bit_depth", "0");
    has(&e, "color.brightness", "1.5");
    has(&e, "color.white_point[1]", "outside");
    has(&e, "color.background[1]", "256");
    has(&e, "outputs[0].modules[0].rotate", "45");
}

/// A grid of 3 x 2 modules of 4 x 2 pixels at origin (100, 50).
fn grid_wall(start: &str, serpentine: bool, rotate: u32) -> Wall {
    accept(&format!(
        r#"
        name = "grid"
        [canvas]
        width = 200
        height = 100
        [module_types.m]
        size = [4, 2]
        [[outputs]]
        name = "p"
        format = "rgb8"
        grid = {{ type = "m", origin = [100, 50], cols = 3, rows = 2, start = "{start}", serpentine = {serpentine}, rotate = {rotate} }}
        "#
    ))
}

#[test]
fn grid_expands_in_cabling_order_from_every_corner() {
    // (col, row) in cabling order, written out by hand.
    type Case = (&'static str, bool, [(i64, i64); 6]);
    let cases: [Case; 8] = [
        (
            "top-left",
            false,
            [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)],
        ),
        (
            "top-left",
            true,
            [(0, 0), (1, 0), (2, 0), (2, 1), (1, 1), (0, 1)],
        ),
        (
            "top-right",
            false,
            [(2, 0), (1, 0), (0, 0), (2, 1), (1, 1), (0, 1)],
        ),
        (
            "top-right",
            true,
            [(2, 0), (1, 0), (0, 0), (0, 1), (1, 1), (2, 1)],
        ),
        (
            "bottom-left",
            false,
            [(0, 1), (1, 1), (2, 1), (0, 0), (1, 0), (2, 0)],
        ),
        (
            "bottom-left",
            true,
            [(0, 1), (1, 1), (2, 1), (2, 0), (1, 0), (0, 0)],
        ),
        (
            "bottom-right",
            false,
            [(2, 1), (1, 1), (0, 1), (2, 0), (1, 0), (0, 0)],
        ),
        (
            "bottom-right",
            true,
            [(2, 1), (1, 1), (0, 1), (0, 0), (1, 0), (2, 0)],
        ),
    ];
    for (start, serpentine, cells) in cases {
        let wall = grid_wall(start, serpentine, 0);
        let at: Vec<[i64; 2]> = wall.outputs[0].modules.iter().map(|m| m.at).collect();
        let want: Vec<[i64; 2]> = cells
            .iter()
            .map(|&(c, r)| [100 + 4 * c, 50 + 2 * r])
            .collect();
        assert_eq!(at, want, "start {start}, serpentine {serpentine}");
    }
    // Rotated modules tile by their rotated footprint (2 x 4).
    let wall = grid_wall("top-left", true, 90);
    let at: Vec<[i64; 2]> = wall.outputs[0].modules.iter().map(|m| m.at).collect();
    assert_eq!(
        at,
        [
            [100, 50],
            [102, 50],
            [104, 50],
            [104, 54],
            [102, 54],
            [100, 54]
        ]
    );
    assert!(wall.outputs[0].modules.iter().all(|m| m.rotate == 90));
}

/// A 3 x 2 module whose pixels are labelled
/// ```text
/// a b c
/// d e f
/// ```
/// and, for each rotate x mirror, the canvas picture it makes (rows top to bottom), drawn by
/// hand: mirror first, then rotate clockwise.
const PICTURES: [(u32, &str, &[&str]); 16] = [
    (0, "none", &["abc", "def"]),
    (0, "h", &["cba", "fed"]),
    (0, "v", &["def", "abc"]),
    (0, "hv", &["fed", "cba"]),
    (90, "none", &["da", "eb", "fc"]),
    (90, "h", &["fc", "eb", "da"]),
    (90, "v", &["ad", "be", "cf"]),
    (90, "hv", &["cf", "be", "ad"]),
    (180, "none", &["fed", "cba"]),
    (180, "h", &["def", "abc"]),
    (180, "v", &["cba", "fed"]),
    (180, "hv", &["abc", "def"]),
    (270, "none", &["cf", "be", "ad"]),
    (270, "h", &["ad", "be", "cf"]),
    (270, "v", &["fc", "eb", "da"]),
    (270, "hv", &["da", "eb", "fc"]),
];

/// Design §3 written out: mirror (h: x → C−1−x; v: y → R−1−y), then rotate clockwise
/// (90: (R−1−y, x); 180: (C−1−x, R−1−y); 270: (y, C−1−x)), then add `at`.
fn design_transform(
    x: i64,
    y: i64,
    (c, r): (i64, i64),
    rotate: u32,
    mirror: &str,
    at: [i64; 2],
) -> (i64, i64) {
    let x = if mirror.contains('h') { c - 1 - x } else { x };
    let y = if mirror.contains('v') { r - 1 - y } else { y };
    let (u, v) = match rotate {
        0 => (x, y),
        90 => (r - 1 - y, x),
        180 => (c - 1 - x, r - 1 - y),
        270 => (y, c - 1 - x),
        _ => unreachable!(),
    };
    (u + at[0], v + at[1])
}

#[test]
fn module_transforms_mirror_then_rotate_then_offset() {
    let labels = [b"abc", b"def"];
    for (rotate, mirror, picture) in PICTURES {
        let at = [5i64, 3i64];
        let wall = accept(&format!(
            r#"
            name = "t"
            [canvas]
            width = 12
            height = 10
            [module_types.m]
            size = [3, 2]
            [[outputs]]
            name = "p"
            format = "rgb8"
            modules = [{{ type = "m", at = [{}, {}], rotate = {rotate}, mirror = "{mirror}" }}]
            "#,
            at[0], at[1]
        ));
        let m = &wall.outputs[0].modules[0];
        let (fw, fh) = (picture[0].len() as u32, picture.len() as u32);
        assert_eq!(m.footprint(), (fw, fh), "{rotate} {mirror}");
        let geometry = Geometry::compile(&wall);
        let slots = &geometry.ports[0].slots;
        let mut canvas = vec![b'.'; (fw * fh) as usize];
        for y in 0..2u32 {
            for x in 0..3u32 {
                let (cx, cy) = m.to_canvas(x, y);
                assert_eq!(
                    (cx, cy),
                    design_transform(x as i64, y as i64, (3, 2), rotate, mirror, at),
                    "rotate {rotate} mirror {mirror} pixel ({x}, {y})"
                );
                // The compiled table agrees: wire pixel y·C + x reads that canvas pixel.
                assert_eq!(
                    slots[(y * 3 + x) as usize] as i64,
                    cy * 12 + cx,
                    "geometry, rotate {rotate} mirror {mirror} pixel ({x}, {y})"
                );
                let (u, v) = (cx - at[0], cy - at[1]);
                assert!(u >= 0 && v >= 0 && (u as u32) < fw && (v as u32) < fh);
                let cell = &mut canvas[(v as u32 * fw + u as u32) as usize];
                assert_eq!(*cell, b'.', "rotate {rotate} mirror {mirror}: hit twice");
                *cell = labels[y as usize][x as usize];
            }
        }
        let rows: Vec<&str> = canvas
            .chunks(fw as usize)
            .map(|r| std::str::from_utf8(r).unwrap_or("?"))
            .collect();
        assert_eq!(rows, picture, "rotate {rotate} mirror {mirror}");
    }
}

const SAME_WALL_TOML: &str = r#"
name = "same"
refresh_hz = 120

[canvas]
width = 64
height = 32

[color]
transfer = "srgb"
brightness = 0.5
white_point = [1.0, 0.9, 0.8]
bit_depth = 12
dither = "ordered+temporal"
background = [1, 2, 3]
resample = "fast"

[module_types.p]
size = [32, 16]
scan = 4
mapper = "zstripe"
color_order = "BGR"

[module_types.s]
size = [8, 8]
serpentine = true

[[outputs]]
name = "hub"
format = "bitplanes"
sink = "ddp://10.0.0.1:4049"
modules = [
  { type = "p", at = [0, 0] },
  { type = "p", at = [32, 0], rotate = 180, mirror = "h", calibration = [[1.0, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.25]] },
]

[[outputs]]
name = "str"
format = "rgb16"
sink = "sacn://?universe=2&sync=9"
grid = { type = "s", origin = [0, 16], cols = 8, rows = 2, start = "bottom-right", serpentine = true }
"#;

const SAME_WALL_JSON: &str = r#"{
  "name": "same",
  "refresh_hz": 120,
  "canvas": { "width": 64, "height": 32 },
  "color": {
    "transfer": "srgb", "brightness": 0.5, "white_point": [1.0, 0.9, 0.8], "bit_depth": 12,
    "dither": "ordered+temporal", "background": [1, 2, 3], "resample": "fast"
  },
  "module_types": {
    "p": { "size": [32, 16], "scan": 4, "mapper": "zstripe", "color_order": "BGR" },
    "s": { "size": [8, 8], "serpentine": true }
  },
  "outputs": [
    {
      "name": "hub", "format": "bitplanes", "sink": "ddp://10.0.0.1:4049",
      "modules": [
        { "type": "p", "at": [0, 0] },
        { "type": "p", "at": [32, 0], "rotate": 180, "mirror": "h",
          "calibration": [[1.0, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.25]] }
      ]
    },
    {
      "name": "str", "format": "rgb16", "sink": "sacn://?universe=2&sync=9",
      "grid": { "type": "s", "origin": [0, 16], "cols": 8, "rows": 2, "start": "bottom-right", "serpentine": true }
    }
  ]
}"#;

#[test]
fn json_and_toml_of_the_same_wall_are_equal() {
    let from_toml = Wall::from_toml_str(SAME_WALL_TOML, "same").unwrap_or_else(|e| panic!("{e}"));
    let from_json = Wall::from_json_str(SAME_WALL_JSON, "same").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(from_toml, from_json);
    assert_eq!(from_toml.outputs[1].modules.len(), 16);
    assert_eq!(from_toml.color.bit_depth, 12);
    // And a spec built in code round-trips to the same wall.
    let again = Wall::from_spec(&from_toml.spec, "same").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, from_toml);
}

#[test]
fn wall_load_picks_the_format_by_extension() {
    let dir = std::env::temp_dir().join(format!("ledwall-wall-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let (t, j) = (dir.join("w.toml"), dir.join("w.json"));
    std::fs::write(&t, SAME_WALL_TOML).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&j, SAME_WALL_JSON).unwrap_or_else(|e| panic!("{e}"));
    let a = Wall::load(&t).unwrap_or_else(|e| panic!("{e}"));
    let b = Wall::load(&j).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.outputs, b.outputs);
    assert_eq!(a.spec, b.spec);
    let e = Wall::load(dir.join("missing.toml")).unwrap_err();
    assert!(e.to_string().contains("missing.toml"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_module_partly_off_canvas_is_accepted() {
    let wall = accept(
        r#"
        name = "edge"
        [canvas]
        width = 20
        height = 8
        [module_types.m]
        size = [16, 8]
        scan = 4
        [[outputs]]
        name = "p"
        format = "bitplanes"
        modules = [{ type = "m", at = [0, 0] }, { type = "m", at = [16, -4] }]
        "#,
    );
    assert_eq!(wall.outputs[0].modules[1].at, [16, -4]);
    let g = Geometry::compile(&wall);
    let bg = g.background_pixel();
    // The second module's pixel (0, 0) is at canvas (16, -4): off the canvas.
    // Direct mapper, scan 4: (0, 0) is address 0, line 0, position 16.
    assert_eq!(g.ports[0].slots[16 * 2], bg);
    // Its pixel (0, 4) is at canvas (16, 0): address 0, line 1, position 16.
    assert_eq!(g.ports[0].slots[16 * 2 + 1], 16);
}

#[test]
fn a_bitplanes_port_mixing_scans_is_refused() {
    let e = refuse(
        r#"
        name = "mix"
        [canvas]
        width = 32
        height = 16
        [module_types.s4]
        size = [16, 8]
        scan = 4
        [module_types.s2]
        size = [16, 8]
        scan = 2
        mapper = "stripe"
        [[outputs]]
        name = "p"
        format = "bitplanes"
        modules = [{ type = "s4", at = [0, 0] }, { type = "s2", at = [16, 0] }]
        "#,
        "mix.toml",
    );
    has(&e, "outputs[0].modules[1]", "scan 2 differs from scan 4");
    assert_eq!(e.problems.len(), 1, "{e}");
}

#[test]
fn a_bitplanes_module_without_scan_is_refused() {
    let e = refuse(
        r#"
        name = "noscan"
        [canvas]
        width = 16
        height = 8
        [module_types.m]
        size = [16, 8]
        [[outputs]]
        name = "p"
        format = "bitplanes"
        modules = [{ type = "m", at = [0, 0] }]
        "#,
        "noscan.toml",
    );
    has(&e, "module_types.m.scan", "required");
    // The same type is fine on a pixel stream.
    accept(
        r#"
        name = "noscan"
        [canvas]
        width = 16
        height = 8
        [module_types.m]
        size = [16, 8]
        [[outputs]]
        name = "p"
        format = "rgb8"
        modules = [{ type = "m", at = [0, 0] }]
        "#,
    );
}

#[test]
fn overlaps_across_ports_and_grids_are_found() {
    let e = refuse(
        r#"
        name = "ov"
        [canvas]
        width = 64
        height = 16
        [module_types.m]
        size = [16, 8]
        [[outputs]]
        name = "a"
        format = "rgb8"
        grid = { type = "m", cols = 2, rows = 2 }
        [[outputs]]
        name = "b"
        format = "rgb8"
        modules = [{ type = "m", at = [32, 0] }, { type = "m", at = [31, 8], rotate = 180 }]
        "#,
        "ov.toml",
    );
    // b's second module covers column 31 of the grid's last module (col 1, row 1).
    assert_eq!(e.problems.len(), 1, "{e}");
    has(&e, "outputs[1].modules[1]", "overlaps");
    // Touching edges are not overlaps.
    accept(
        r#"
        name = "touch"
        [canvas]
        width = 64
        height = 16
        [module_types.m]
        size = [16, 8]
        [[outputs]]
        name = "a"
        format = "rgb8"
        grid = { type = "m", cols = 4, rows = 2 }
        "#,
    );
}

#[test]
fn color_orders_are_permutations() {
    assert_eq!(parse_color_order("RGB"), Some([0, 1, 2]));
    assert_eq!(parse_color_order("grb"), Some([1, 0, 2]));
    assert_eq!(parse_color_order("BGR"), Some([2, 1, 0]));
    assert_eq!(parse_color_order("RRB"), None);
    assert_eq!(parse_color_order("RGBW"), None);
    assert_eq!(parse_color_order(""), None);
}

/// A wall with a HUB75 chain and canvas ports, for the §7.1 checks; `ports` are appended.
fn canvas_wall(ports: &str) -> String {
    format!(
        r#"
name = "cards"
[canvas]
width = 64
height = 32
[color]
bit_depth = 11
[module_types.m]
size = [32, 16]
scan = 8
[[outputs]]
name = "hub"
format = "bitplanes"
modules = [{{ type = "m", at = [0, 0] }}]
{ports}
"#
    )
}

#[test]
fn canvas_ports_take_a_region_that_may_overlap_other_ports() {
    let w = accept(&canvas_wall(
        r#"
[[outputs]]
name = "hdmi"
format = "canvas"
region = { at = [16, 8], size = [48, 24] }
sink = "display:1?x=1920&mode=window"
[[outputs]]
name = "all"
format = "canvas"
encoding = "linear"
"#,
    ));
    let hdmi = &w.outputs[1];
    assert_eq!(
        hdmi.canvas,
        Some(CanvasPort {
            at: [16, 8],
            size: [48, 24],
            encoding: Encoding::Display
        })
    );
    assert!(hdmi.modules.is_empty());
    // The default region is the whole canvas.
    let all = w.outputs[2].canvas.unwrap_or_else(|| panic!("no canvas"));
    assert_eq!(
        (all.at, all.size, all.encoding),
        ([0, 0], [64, 32], Encoding::Linear)
    );
    // Compiled: the region's pixels row by row, R, G, B, 8 bits, 3 bytes a pixel.
    let g = Geometry::compile(&w);
    let p = &g.ports[1];
    assert_eq!(
        (p.depth, p.positions, p.byte_len()),
        (8, 48 * 24, 48 * 24 * 3)
    );
    assert_eq!(p.slots[0], 8 * 64 + 16);
    assert_eq!(p.slots[47], 8 * 64 + 63);
    assert_eq!(p.slots[48], 9 * 64 + 16);
    assert_eq!(p.slots[48 * 24 - 1], 31 * 64 + 63);
    assert!(p.order.iter().all(|o| *o == [0, 1, 2]));
    assert_eq!(
        g.quants().len(),
        3,
        "11-bit linear, 8-bit display, 8-bit linear"
    );
}

#[test]
fn canvas_port_problems_are_named() {
    let e = refuse(
        &canvas_wall(
            r#"
[[outputs]]
name = "a"
format = "canvas"
region = { at = [40, 0], size = [32, 8] }
[[outputs]]
name = "b"
format = "canvas"
region = { at = [0, -1], size = [8, 8] }
[[outputs]]
name = "c"
format = "canvas"
region = { at = [0, 0], size = [0, 8] }
[[outputs]]
name = "d"
format = "canvas"
modules = [{ type = "m", at = [32, 16] }]
[[outputs]]
name = "e"
format = "rgb8"
region = { at = [0, 0], size = [8, 8] }
encoding = "display"
modules = [{ type = "m", at = [32, 16] }]
[[outputs]]
name = "f"
format = "canvas"
encoding = "gamma"
[[outputs]]
name = "g"
format = "rgb8"
sink = "display:0"
modules = [{ type = "m", at = [32, 0] }]
"#,
        ),
        "cards.toml",
    );
    has(&e, "outputs[1].region", "outside the 64x32 canvas");
    has(&e, "outputs[2].region", "outside");
    has(&e, "outputs[3].region.size", "at least 1");
    has(&e, "outputs[4].modules", "canvas ports take no modules");
    has(&e, "outputs[5].region", "only canvas ports");
    has(&e, "outputs[5].encoding", "only canvas ports");
    has(&e, "outputs[6].encoding", "unknown variant");
    has(&e, "outputs[7].sink", "display sinks show canvas ports");
    // Canvas ports overlap other ports without complaint; modules still may not.
    assert!(
        !e.problems.iter().any(|p| p.reason.contains("overlaps")),
        "{e}"
    );
}

// ---- Issue 22: configuration files that cannot hang, flood or poison the player ----

const SMALL: &str = r#"
name = "small"
[canvas]
width = 32
height = 16
[module_types.p]
size = [32, 16]
scan = 8
[[outputs]]
name = "a"
format = "bitplanes"
modules = [{ type = "p", at = [0, 0] }]
"#;

/// A folder of its own under the system's temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: u32) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("ledwall-wall-tests-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn mkfifo(path: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

/// Run `f` on another thread; fail if it takes longer than `limit` (a blocked read).
fn within<T: Send + 'static>(
    limit: std::time::Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("still running after {limit:?}: a read blocked"))
}

#[test]
fn a_fifo_as_wall_or_mapping_table_is_refused_without_blocking() {
    let tmp = TempDir::new(line!());
    let fifo = tmp.path().join("wall.toml");
    mkfifo(&fifo);
    let f = fifo.clone();
    let e = within(std::time::Duration::from_secs(5), move || {
        Wall::load(&f).unwrap_err()
    });
    assert_eq!(e.file, fifo);
    has(&e, "", "FIFO");
    has(&e, "", "must be a regular file");

    let table = tmp.path().join("panel.map");
    mkfifo(&table);
    let wall = tmp.path().join("table.toml");
    std::fs::write(
        &wall,
        SMALL.replace(
            "scan = 8",
            "scan = 8\nmapper = \"table\"\ntable = \"panel.map\"",
        ),
    )
    .unwrap();
    let e = within(std::time::Duration::from_secs(5), move || {
        Wall::load(&wall).unwrap_err()
    });
    has(&e, "module_types.p.table", "FIFO");
}

#[test]
fn dev_zero_and_oversized_walls_are_refused_quickly() {
    let t = std::time::Instant::now();
    let e = within(std::time::Duration::from_secs(5), || {
        Wall::load("/dev/zero").unwrap_err()
    });
    has(&e, "", "character device");
    assert!(t.elapsed() < std::time::Duration::from_secs(1));

    let tmp = TempDir::new(line!());
    let big = tmp.path().join("big.toml");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(crate::textfile::WALL_LIMIT + 1).unwrap(); // sparse
    drop(f);
    let e = Wall::load(&big).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains(&format!("{} bytes", crate::textfile::WALL_LIMIT + 1))
            && text.contains("16 MiB")
            && text.contains("big.toml"),
        "{text}"
    );
    // A table over its limit too.
    let table = tmp.path().join("panel.map");
    let f = std::fs::File::create(&table).unwrap();
    f.set_len(crate::textfile::MAP_TABLE_LIMIT + 1).unwrap();
    drop(f);
    let e = crate::mapper::MapTable::load(&table).unwrap_err();
    assert!(e.contains("too large") && e.contains("64 MiB"), "{e}");
}

#[test]
fn non_finite_numbers_are_named_in_every_float_field() {
    let calibrated = SMALL.replace(
        "modules = [{ type = \"p\", at = [0, 0] }]",
        "modules = [{ type = \"p\", at = [0, 0], calibration = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, VALUE]] }]",
    );
    let cases: [(&str, String); 4] = [
        ("color.gamma", format!("{SMALL}[color]\ngamma = VALUE\n")),
        (
            "color.brightness",
            format!("{SMALL}[color]\nbrightness = VALUE\n"),
        ),
        (
            "color.white_point[1]",
            format!("{SMALL}[color]\nwhite_point = [1.0, VALUE, 1.0]\n"),
        ),
        ("outputs[0].modules[0].calibration[2][2]", calibrated),
    ];
    // The value goes at the end of the file: `[color]` is appended after `[[outputs]]`,
    // so put it back at the top level by reordering.
    for (field, text) in &cases {
        for value in ["inf", "-inf", "nan"] {
            let text = text.replace("VALUE", value);
            let text = match text.split_once("[color]") {
                Some((head, color)) => format!("[color]{color}\n{head}"),
                None => text,
            };
            let e = refuse(&text, "f.toml");
            has(&e, field, "must be a finite number");
            assert!(
                !e.to_string().contains("null"),
                "{field} = {value}: no type error about null: {e}"
            );
        }
    }
}

#[test]
fn control_bytes_from_the_file_are_shown_escaped() {
    let text = format!("\"evil\\u001b[2J\\r\" = 1\n{SMALL}")
        .replace("type = \"p\"", "type = \"p\\u001b]0;title\\u0007\"");
    let e = refuse(&text, "x\u{1b}[31m.toml");
    let shown = e.to_string();
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
    assert!(
        !shown.contains('\r') && !shown.contains('\u{7}'),
        "{shown:?}"
    );
    assert!(shown.contains("evil\\u{1b}[2J\\r"), "{shown}");
    assert!(shown.contains("x\\u{1b}[31m.toml"), "{shown}");
    assert!(shown.contains("p\\u{1b}]0;title\\u{7}"), "{shown}");
}

#[test]
fn a_flood_of_problems_is_listed_up_to_a_cap() {
    let mut text = String::from(SMALL);
    for i in 0..100_000 {
        text.push_str(&format!(
            "[module_types.t{i}]\nsize = [1, 1]\nbogus = {i}\n"
        ));
    }
    let e = refuse(&text, "flood.toml");
    assert_eq!(e.problems.len(), 100_000);
    let shown = e.to_string();
    assert_eq!(shown.lines().count(), 1 + 50 + 1, "{shown:.2000}");
    assert!(shown.ends_with("… and 99950 more"), "{shown:.2000}");
}

#[test]
fn absurd_canvases_are_refused_and_the_memory_estimate_bounds_the_rest() {
    let e = refuse(
        &SMALL.replace("width = 32\nheight = 16", "width = 16384\nheight = 16384"),
        "huge.toml",
    );
    has(&e, "canvas", "at most 134217728");

    let mut wall = accept(SMALL);
    let small = estimate_memory(&wall);
    assert!(small < 100 << 20, "{small}");
    // The renderer of a 16384x16384 canvas (the wall of the issue, built past validation)
    // holds five u16 canvases of 3 channels: 8 GiB before anything else.
    wall.width = 16384;
    wall.height = 16384;
    let need = estimate_memory(&wall);
    let floor = 5 * 3 * 2 * 16384u64 * 16384;
    assert!(need > floor && need < floor * 2, "{need}");
    let limit = MemoryLimit {
        bytes: 8 << 30,
        source: "cgroup memory.max",
    };
    let e = wall.check_memory_against(Some(limit)).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("the wall needs about 1")
            && text.contains("GiB")
            && text.contains("8 GiB are available (cgroup memory.max)"),
        "{text}"
    );
    assert!(wall.check_memory_against(None).is_ok());
    assert!(
        wall.check_memory_against(Some(MemoryLimit {
            bytes: 64 << 30,
            source: "MemAvailable",
        }))
        .is_ok()
    );
}

/// A wall whose `[canvas]` section is `canvas` (a 16x8 module at the origin).
fn section_wall(canvas: &str) -> String {
    format!(
        "name = \"section\"\n[canvas]\n{canvas}\n[module_types.m]\nsize = [16, 8]\n\
         [[outputs]]\nname = \"p\"\nformat = \"rgb8\"\nmodules = [{{ type = \"m\", at = [0, 0] }}]\n"
    )
}

#[test]
fn show_and_origin_make_the_canvas_a_section_of_the_show() {
    let w = accept(&section_wall(
        "width = 16\nheight = 8\nshow = [100, 40]\norigin = [84, 13]",
    ));
    assert_eq!((w.width, w.height), (16, 8));
    assert_eq!((w.show, w.origin), ([100, 40], [84, 13]));
    let g = Geometry::compile(&w);
    assert_eq!(g.section.show, [100, 40]);
    assert_eq!(g.section.origin, [84, 13]);
    assert_eq!(g.section.size, [16, 8]);
    // Written back as read: the spec keeps both keys and round-trips.
    let toml = toml::to_string(&w.spec).unwrap_or_else(|e| panic!("{e}"));
    assert!(toml.contains("show = [100, 40]"), "{toml}");
    assert!(toml.contains("origin = [84, 13]"), "{toml}");
    assert_eq!(
        accept(&toml),
        Wall {
            source: "test.toml".into(),
            ..w.clone()
        }
    );
    let again = Wall::from_spec(&w.spec, "test.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, w);

    // Without them the canvas is the whole show, and neither key is written.
    let w = accept(&section_wall("width = 16\nheight = 8"));
    assert_eq!((w.show, w.origin), ([16, 8], [0, 0]));
    assert!(Geometry::compile(&w).section.is_whole());
    let toml = toml::to_string(&w.spec).unwrap_or_else(|e| panic!("{e}"));
    assert!(!toml.contains("show") && !toml.contains("origin"), "{toml}");

    // A section's patterns are drawn at the size of the show: the memory estimate counts
    // show-sized sources.
    let section = accept(&section_wall(
        "width = 16\nheight = 8\nshow = [4000, 2000]\norigin = [0, 0]",
    ));
    let alone = accept(&section_wall("width = 16\nheight = 8"));
    assert!(
        estimate_memory(&section) >= estimate_memory(&alone) + 4000 * 2000 * 4,
        "{} vs {}",
        estimate_memory(&section),
        estimate_memory(&alone)
    );
}

#[test]
fn show_and_origin_are_checked_naming_the_field() {
    let e = refuse(
        &section_wall("width = 16\nheight = 8\nshow = [100, 40]"),
        "no-origin.toml",
    );
    has(&e, "canvas.origin", "missing");
    assert!(e.to_string().contains("no-origin.toml"), "{e}");
    let e = refuse(
        &section_wall("width = 16\nheight = 8\norigin = [4, 4]"),
        "no-show.toml",
    );
    has(&e, "canvas.show", "missing");
    // The section reaches outside the show (85 + 16 > 100).
    let e = refuse(
        &section_wall("width = 16\nheight = 8\nshow = [100, 40]\norigin = [85, 0]"),
        "outside.toml",
    );
    has(&e, "canvas.origin", "outside the 100x40 show");
    let e = refuse(
        &section_wall("width = 16\nheight = 8\nshow = [100, 40]\norigin = [0, 33]"),
        "below.toml",
    );
    has(&e, "canvas.origin", "reaches outside");
    // The show within the canvas limits.
    let e = refuse(
        &section_wall("width = 16\nheight = 8\nshow = [0, 40]\norigin = [0, 0]"),
        "zero.toml",
    );
    has(&e, "canvas.show", "width 0 is outside");
    let e = refuse(
        &section_wall("width = 16\nheight = 8\nshow = [16384, 16384]\norigin = [0, 0]"),
        "huge.toml",
    );
    has(&e, "canvas.show", "at most 134217728");
    // Shape problems name the element.
    let e = refuse(
        &section_wall("width = 16\nheight = 8\nshow = [100, 40]\norigin = [-1, 0]"),
        "negative.toml",
    );
    assert!(
        e.problems
            .iter()
            .any(|p| p.field.starts_with("canvas.origin")),
        "{e}"
    );
    let e = refuse(
        &section_wall("width = 16\nheight = 8\nshow = [100]\norigin = [0, 0]"),
        "short.toml",
    );
    assert!(
        e.problems
            .iter()
            .any(|p| p.field.starts_with("canvas.show")),
        "{e}"
    );
}
