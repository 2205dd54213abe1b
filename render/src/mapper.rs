//! HUB75 multiplex mappers (design §4): a module's visible pixel (x, y) → matrix (mx, my).
//!
//! A module of C × R pixels with `scan = S` row addresses is driven as a matrix of
//! `positions` columns × 2S rows. Row address `a` drives matrix rows `a` (data line 1) and
//! `a + S` (data line 2). Formula mappers have `positions = C · s` with the stretch
//! `s = R / (2S)`; a [`MapTable`] states its own.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A multiplex mapper.
#[derive(Clone, PartialEq)]
pub enum Mapper {
    /// 0: mx = x, my = y (s = 1).
    Direct,
    /// 1: two half-height stripes side by side (s = 2).
    Stripe,
    /// 17: like stripe with `top` negated.
    FlippedStripe,
    /// 2: quarters in a checkered order (s = 2).
    Checkered,
    /// 3: columns in quarter-width spirals (s = 2).
    Spiral,
    /// 4: 8×4 tiles.
    ZStripe,
    /// 5: 8×4 tiles, mirrored half tiles.
    ZnMirrorZStripe,
    /// 8: 8×4 tiles, uneven.
    ZStripeUneven,
    /// A mapping read from a table file.
    Table(Arc<MapTable>),
}

impl fmt::Debug for Mapper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mapper::Table(t) => write!(f, "Table({})", t.source.display()),
            other => f.write_str(other.name()),
        }
    }
}

/// Every formula mapper by name.
pub const FORMULA_MAPPERS: [Mapper; 8] = [
    Mapper::Direct,
    Mapper::Stripe,
    Mapper::FlippedStripe,
    Mapper::Checkered,
    Mapper::Spiral,
    Mapper::ZStripe,
    Mapper::ZnMirrorZStripe,
    Mapper::ZStripeUneven,
];

impl Mapper {
    /// Look a formula mapper up by its file name (e.g. `"zstripe"`) or number (e.g. `"4"`).
    pub fn from_name(name: &str) -> Option<Mapper> {
        FORMULA_MAPPERS
            .iter()
            .find(|m| {
                m.name() == name || m.number().map(|n| n.to_string()).as_deref() == Some(name)
            })
            .cloned()
    }

    /// The name used in wall files.
    pub fn name(&self) -> &'static str {
        match self {
            Mapper::Direct => "direct",
            Mapper::Stripe => "stripe",
            Mapper::FlippedStripe => "flipped-stripe",
            Mapper::Checkered => "checkered",
            Mapper::Spiral => "spiral",
            Mapper::ZStripe => "zstripe",
            Mapper::ZnMirrorZStripe => "zn-mirror-zstripe",
            Mapper::ZStripeUneven => "zstripe-uneven",
            Mapper::Table(_) => "table",
        }
    }

    /// The widely used number of this panel type, if it has one.
    pub fn number(&self) -> Option<u32> {
        Some(match self {
            Mapper::Direct => 0,
            Mapper::Stripe => 1,
            Mapper::FlippedStripe => 17,
            Mapper::Checkered => 2,
            Mapper::Spiral => 3,
            Mapper::ZStripe => 4,
            Mapper::ZnMirrorZStripe => 5,
            Mapper::ZStripeUneven => 8,
            Mapper::Table(_) => return None,
        })
    }

    /// Stretch factor s of a formula mapper (matrix columns per module column).
    fn stretch(&self) -> u32 {
        match self {
            Mapper::Direct => 1,
            _ => 2,
        }
    }

    /// Shift positions one module of `cols` columns contributes to its chain.
    pub fn positions(&self, cols: u32) -> u32 {
        match self {
            Mapper::Table(t) => t.positions,
            m => cols * m.stretch(),
        }
    }

    /// Check that this mapper can drive a module of `cols` × `rows` with `scan` addresses.
    pub fn check_fits(&self, cols: u32, rows: u32, scan: u32) -> Result<(), String> {
        if scan == 0 || !rows.is_multiple_of(scan) {
            return Err(format!(
                "scan {scan} does not divide the module height {rows}"
            ));
        }
        if let Mapper::Table(t) = self {
            if (t.cols, t.rows, t.scan) != (cols, rows, scan) {
                return Err(format!(
                    "mapping table {} is for {}x{} scan {}, module type is {cols}x{rows} scan {scan}",
                    t.source.display(),
                    t.cols,
                    t.rows,
                    t.scan
                ));
            }
            return Ok(());
        }
        let s = self.stretch();
        if rows != 2 * s * scan {
            return Err(format!(
                "mapper \"{}\" has stretch {s}, so it needs rows = {} × scan; a {cols}x{rows} module with scan {scan} has rows = {} × scan",
                self.name(),
                2 * s,
                rows / scan
            ));
        }
        let (cdiv, rdiv) = match self {
            Mapper::Direct => (1, 2),
            Mapper::Stripe | Mapper::FlippedStripe => (1, 4),
            Mapper::Checkered => (2, 4),
            Mapper::Spiral => (4, 4),
            Mapper::ZStripe | Mapper::ZnMirrorZStripe | Mapper::ZStripeUneven => (8, 8),
            Mapper::Table(_) => (1, 1),
        };
        if !cols.is_multiple_of(cdiv) || !rows.is_multiple_of(rdiv) {
            return Err(format!(
                "mapper \"{}\" needs a width divisible by {cdiv} and a height divisible by {rdiv}; the module is {cols}x{rows}",
                self.name()
            ));
        }
        Ok(())
    }

    /// Map visible pixel (x, y) of a `cols` × `rows` module to matrix (mx, my).
    ///
    /// Callers must have checked [`Mapper::check_fits`]; `my` is in `0..2·scan`, `mx` in
    /// `0..positions`.
    pub fn map(&self, x: u32, y: u32, cols: u32, rows: u32) -> (u32, u32) {
        let c = cols;
        let r = rows;
        if let Mapper::Direct = self {
            return (x, y);
        }
        if let Mapper::Table(t) = self {
            return t.forward[(y * t.cols + x) as usize];
        }
        // Stretch-2 mappers: rows are a multiple of 4 (checked by `check_fits`).
        let top = (y % (r / 2)) < r / 4;
        let my2 = (y / (r / 2)) * (r / 4) + (y % (r / 4));
        match self {
            Mapper::Stripe => (x + if top { c } else { 0 }, my2),
            Mapper::FlippedStripe => (x + if top { 0 } else { c }, my2),
            Mapper::Checkered => {
                let left = x < c / 2;
                let mx = match (top, left) {
                    (true, true) => x + c / 2,
                    (true, false) => x + c,
                    (false, true) => x,
                    (false, false) => x + c / 2,
                };
                (mx, my2)
            }
            Mapper::Spiral => {
                let q = c / 4;
                let k = x / q;
                let o = x % q;
                (2 * k * q + if top { q - 1 - o } else { q + o }, my2)
            }
            Mapper::ZStripe | Mapper::ZnMirrorZStripe | Mapper::ZStripeUneven => {
                let (e, o) = match self {
                    Mapper::ZStripe => (0, 8),
                    Mapper::ZnMirrorZStripe => (4, 4),
                    _ => (8, 0),
                };
                let odd = (y / 4) % 2 == 1;
                let mx = x + 8 * ((x + if odd { 0 } else { e }) / 8) + if odd { o } else { 0 };
                (mx, (y % 4) + 4 * (y / 8))
            }
            Mapper::Direct | Mapper::Table(_) => unreachable!("handled above"),
        }
    }
}

/// One table line: line number, (address, line, position), visible pixel or none.
type TableEntry = (usize, [u32; 3], Option<(u32, u32)>);

/// A mapping read from a table file: any panel, described without code.
///
/// The format (text, one entry a line, `#` starts a comment):
///
/// ```text
/// size 32 16          # module columns, rows
/// scan 4              # row addresses
/// positions 64        # shift positions this module contributes to its chain
/// # address line position  x y   (line 0 = R1G1B1, line 1 = R2G2B2)
/// 0 0 0  0 0
/// 0 0 1  none         # a slot with no LED behind it (clocked out dark)
/// ```
///
/// Every visible pixel must appear exactly once; slots not listed are dark.
#[derive(Debug, Clone, PartialEq)]
pub struct MapTable {
    /// Where it was read from.
    pub source: PathBuf,
    /// Module columns.
    pub cols: u32,
    /// Module rows.
    pub rows: u32,
    /// Row addresses.
    pub scan: u32,
    /// Shift positions per module.
    pub positions: u32,
    /// Visible pixel (row-major) → (mx, my).
    forward: Vec<(u32, u32)>,
}

impl MapTable {
    /// Read a table file.
    pub fn load(path: &Path) -> Result<MapTable, String> {
        let text =
            crate::textfile::read_config(path, "mapping table", crate::textfile::MAP_TABLE_LIMIT)
                .map_err(|e| format!("mapping table {}: {e}", path.display()))?;
        MapTable::parse(&text, path)
    }

    /// Parse table text; `source` names it in errors.
    pub fn parse(text: &str, source: &Path) -> Result<MapTable, String> {
        let name = source.display();
        let mut size = None;
        let mut scan = None;
        let mut positions = None;
        let mut entries: Vec<TableEntry> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let num = |w: &str| -> Result<u32, String> {
                w.parse::<u32>()
                    .map_err(|_| format!("{name}:{line_no}: \"{w}\" is not a non-negative integer"))
            };
            match words[0] {
                "size" if words.len() == 3 => size = Some((num(words[1])?, num(words[2])?)),
                "scan" if words.len() == 2 => scan = Some(num(words[1])?),
                "positions" if words.len() == 2 => positions = Some(num(words[1])?),
                _ if words.len() == 4 && words[3] == "none" => entries.push((
                    line_no,
                    [num(words[0])?, num(words[1])?, num(words[2])?],
                    None,
                )),
                _ if words.len() == 5 => entries.push((
                    line_no,
                    [num(words[0])?, num(words[1])?, num(words[2])?],
                    Some((num(words[3])?, num(words[4])?)),
                )),
                _ => {
                    return Err(format!(
                        "{name}:{line_no}: expected `size C R`, `scan S`, `positions P`, `a line p x y` or `a line p none`, found \"{line}\""
                    ));
                }
            }
        }
        let (cols, rows) = size.ok_or_else(|| format!("{name}: missing `size C R` line"))?;
        let scan = scan.ok_or_else(|| format!("{name}: missing `scan S` line"))?;
        let positions = positions.ok_or_else(|| format!("{name}: missing `positions P` line"))?;
        if cols == 0 || rows == 0 || scan == 0 || positions == 0 {
            return Err(format!("{name}: size, scan and positions must be positive"));
        }
        if cols.saturating_mul(rows) > 1 << 20 || positions > 1 << 16 || scan > 1024 {
            return Err(format!("{name}: table is implausibly large"));
        }
        const UNSET: (u32, u32) = (u32::MAX, u32::MAX);
        let mut forward = vec![UNSET; (cols * rows) as usize];
        let mut slots: HashMap<(u32, u32, u32), usize> = HashMap::new();
        for (line_no, [a, l, p], xy) in entries {
            if a >= scan || l > 1 || p >= positions {
                return Err(format!(
                    "{name}:{line_no}: slot (address {a}, line {l}, position {p}) is outside scan {scan}, lines 0..1, positions {positions}"
                ));
            }
            if let Some(prev) = slots.insert((a, l, p), line_no) {
                return Err(format!(
                    "{name}:{line_no}: slot (address {a}, line {l}, position {p}) already given on line {prev}"
                ));
            }
            if let Some((x, y)) = xy {
                if x >= cols || y >= rows {
                    return Err(format!(
                        "{name}:{line_no}: pixel ({x}, {y}) is outside the {cols}x{rows} module"
                    ));
                }
                let cell = &mut forward[(y * cols + x) as usize];
                if *cell != UNSET {
                    return Err(format!(
                        "{name}:{line_no}: pixel ({x}, {y}) is mapped twice"
                    ));
                }
                *cell = (p, a + l * scan);
            }
        }
        if let Some(i) = forward.iter().position(|&c| c == UNSET) {
            let i = i as u32;
            return Err(format!(
                "{name}: pixel ({}, {}) has no slot; every visible pixel needs one",
                i % cols,
                i / cols
            ));
        }
        Ok(MapTable {
            source: source.to_path_buf(),
            cols,
            rows,
            scan,
            positions,
            forward,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_bijection(m: &Mapper, c: u32, r: u32, scan: u32) {
        m.check_fits(c, r, scan).unwrap();
        let positions = m.positions(c);
        let mut seen = vec![false; (positions * 2 * scan) as usize];
        for y in 0..r {
            for x in 0..c {
                let (mx, my) = m.map(x, y, c, r);
                assert!(
                    mx < positions && my < 2 * scan,
                    "{m:?} {c}x{r}: ({x},{y}) -> ({mx},{my}) out of range"
                );
                let i = (my * positions + mx) as usize;
                assert!(
                    !seen[i],
                    "{m:?} {c}x{r}: ({x},{y}) -> ({mx},{my}) hit twice"
                );
                seen[i] = true;
            }
        }
        assert!(seen.iter().all(|&s| s), "{m:?} {c}x{r}: not onto");
    }

    #[test]
    fn worked_examples_from_design() {
        assert_eq!(Mapper::Stripe.map(0, 0, 32, 16), (32, 0));
        assert_eq!(Mapper::Stripe.map(0, 4, 32, 16), (0, 0));
        assert_eq!(Mapper::Stripe.map(0, 8, 32, 16), (32, 4));
        assert_eq!(Mapper::ZStripe.map(8, 0, 32, 16), (16, 0));
        assert_eq!(Mapper::FlippedStripe.map(0, 0, 32, 16), (0, 0));
        assert_eq!(Mapper::FlippedStripe.map(0, 4, 32, 16), (32, 0));
        assert_eq!(Mapper::Direct.map(5, 7, 64, 32), (5, 7));
    }

    #[test]
    fn every_mapper_is_a_bijection_onto_the_stretched_matrix() {
        for (c, r) in [(32, 16), (64, 32), (64, 16), (128, 64)] {
            for m in FORMULA_MAPPERS.iter() {
                let s = if *m == Mapper::Direct { 1 } else { 2 };
                let scan = r / (2 * s);
                check_bijection(m, c, r, scan);
            }
        }
    }

    #[test]
    fn names_and_numbers_round_trip() {
        for m in FORMULA_MAPPERS.iter() {
            assert_eq!(Mapper::from_name(m.name()).as_ref(), Some(m));
            let n = m.number().unwrap().to_string();
            assert_eq!(Mapper::from_name(&n).as_ref(), Some(m));
        }
        assert_eq!(Mapper::from_name("diagonal"), None);
    }

    #[test]
    fn misfits_are_explained() {
        let e = Mapper::Stripe.check_fits(64, 32, 16).unwrap_err();
        assert!(e.contains("stretch 2"), "{e}");
        let e = Mapper::Direct.check_fits(64, 32, 5).unwrap_err();
        assert!(e.contains("does not divide"), "{e}");
        let e = Mapper::Spiral.check_fits(30, 16, 4).unwrap_err();
        assert!(e.contains("divisible by 4"), "{e}");
        let e = Mapper::ZStripe.check_fits(36, 16, 4).unwrap_err();
        assert!(e.contains("divisible by 8"), "{e}");
    }

    #[test]
    fn table_equal_to_a_formula_mapper_maps_the_same() {
        let (c, r, scan) = (16, 8, 2);
        let mut text = format!("size {c} {r}\nscan {scan}\npositions {}\n", 2 * c);
        for y in 0..r {
            for x in 0..c {
                let (mx, my) = Mapper::Stripe.map(x, y, c, r);
                text += &format!("{} {} {} {x} {y}\n", my % scan, my / scan, mx);
            }
        }
        let t = Mapper::Table(Arc::new(
            MapTable::parse(&text, Path::new("t.map")).unwrap(),
        ));
        check_bijection(&t, c, r, scan);
        for y in 0..r {
            for x in 0..c {
                assert_eq!(t.map(x, y, c, r), Mapper::Stripe.map(x, y, c, r));
            }
        }
    }

    #[test]
    fn broken_tables_are_refused_with_a_line_number() {
        let p = Path::new("bad.map");
        let e = MapTable::parse("size 2 2\nscan 1\npositions 2\n0 0 0 0 0\n0 0 0 1 0\n", p)
            .unwrap_err();
        assert!(
            e.contains("bad.map:5") && e.contains("already given"),
            "{e}"
        );
        let e = MapTable::parse("size 2 2\nscan 1\npositions 2\n0 0 0 0 0\n", p).unwrap_err();
        assert!(e.contains("has no slot"), "{e}");
        let e = MapTable::parse("size 2 2\nscan 1\npositions 2\n0 0 9 0 0\n", p).unwrap_err();
        assert!(e.contains("outside"), "{e}");
        let e = MapTable::parse("scan x\n", p).unwrap_err();
        assert!(e.contains("bad.map:1"), "{e}");
        let e = MapTable::parse("hello world\n", p).unwrap_err();
        assert!(e.contains("expected"), "{e}");
    }
}
