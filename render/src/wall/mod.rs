//! The wall model (design §3): load a wall file, check everything, build a [`Wall`].
//!
//! Loading reports every problem at once, each with the file, the field path and the reason.
//! Shape problems (a string where a number belongs, an unknown field) are found section by
//! section and element by element, so one typo does not hide the next; then the semantic
//! checks (unknown module types, overlapping modules, mappers that don't fit, bad sink URLs…)
//! run on everything that parsed.
//!
//! The file is read bounded ([`crate::textfile`]: a regular file of at most 16 MiB, never
//! a FIFO or a device; mapping tables at most 64 MiB); inf and nan are refused in every
//! number field, naming it. [`estimate_memory`] and [`Wall::check_memory`] refuse a wall
//! this machine cannot hold before a renderer is built.

mod sink;
pub mod spec;

pub use sink::{Dim, DisplayMode, MonitorSel, SinkUrl};
pub use spec::{
    CanvasSpec, ColorSpec, Corner, Dither, Encoding, GridSpec, Mirror, ModuleSpec, ModuleTypeSpec,
    OutputFormat, OutputSpec, RegionSpec, ResampleMode, Transfer, WallSpec,
};

use crate::error::{ConfigError, Problem};
use crate::mapper::{MapTable, Mapper};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Largest canvas side (the common GPU 2D texture limit).
pub const MAX_CANVAS_SIDE: u32 = 16384;

/// Largest canvas, in pixels (2^27, e.g. 16384x8192): the CPU renderer alone keeps about
/// 40 bytes a canvas pixel (see [`estimate_memory`]), 5 GiB at this size.
pub const MAX_CANVAS_PIXELS: u64 = 1 << 27;

/// A validated module type.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleType {
    /// Its name in the wall file.
    pub name: String,
    /// Columns.
    pub cols: u32,
    /// Rows.
    pub rows: u32,
    /// Row addresses, for HUB75 modules.
    pub scan: Option<u32>,
    /// Multiplex mapper.
    pub mapper: Mapper,
    /// Canvas channel (0 = R, 1 = G, 2 = B) sent in wire slot k.
    pub color_order: [u8; 3],
    /// Pixel streams: odd rows run right to left.
    pub serpentine: bool,
}

/// A module placed on the canvas, in chain order.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedModule {
    /// Its type.
    pub kind: Arc<ModuleType>,
    /// Canvas position of the rotated footprint's top-left corner.
    pub at: [i64; 2],
    /// Clockwise rotation: 0, 90, 180 or 270.
    pub rotate: u32,
    /// Mirroring before rotation.
    pub mirror: Mirror,
    /// Per-module matrix in linear light.
    pub calibration: Option<[[f32; 3]; 3]>,
}

impl PlacedModule {
    /// Width and height of the rotated footprint.
    pub fn footprint(&self) -> (u32, u32) {
        footprint(self.kind.cols, self.kind.rows, self.rotate)
    }

    /// Canvas position of the module's own pixel (x, y): mirror, then rotate, then `at`.
    pub fn to_canvas(&self, x: u32, y: u32) -> (i64, i64) {
        let (c, r) = (self.kind.cols, self.kind.rows);
        let (mut x, mut y) = (x, y);
        if matches!(self.mirror, Mirror::H | Mirror::Hv) {
            x = c - 1 - x;
        }
        if matches!(self.mirror, Mirror::V | Mirror::Hv) {
            y = r - 1 - y;
        }
        let (rx, ry) = match self.rotate {
            90 => (r - 1 - y, x),
            180 => (c - 1 - x, r - 1 - y),
            270 => (y, c - 1 - x),
            _ => (x, y),
        };
        (self.at[0] + rx as i64, self.at[1] + ry as i64)
    }
}

fn footprint(cols: u32, rows: u32, rotate: u32) -> (u32, u32) {
    if rotate == 90 || rotate == 270 {
        (rows, cols)
    } else {
        (cols, rows)
    }
}

/// A validated output port.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// Unique name; also the file name of its buffer.
    pub name: String,
    /// Buffer format.
    pub format: OutputFormat,
    /// Where frames go.
    pub sink: SinkUrl,
    /// Modules in chain order (none for `canvas` ports).
    pub modules: Vec<PlacedModule>,
    /// `canvas` ports: the rectangle they carry and their encoding.
    pub canvas: Option<CanvasPort>,
}

/// The validated region and encoding of a `canvas` port (design §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CanvasPort {
    /// Canvas position of the region's top-left pixel.
    pub at: [u32; 2],
    /// Width and height, at least 1 each; the region lies inside the canvas.
    pub size: [u32; 2],
    /// What the codes mean.
    pub encoding: Encoding,
}

impl CanvasPort {
    /// Pixels in the region.
    pub fn pixels(&self) -> usize {
        self.size[0] as usize * self.size[1] as usize
    }
}

/// A validated wall: everything the renderer and the player need, already checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Wall {
    /// The file it came from (for messages and relative paths).
    pub source: PathBuf,
    /// The file as written.
    pub spec: WallSpec,
    /// Name.
    pub name: String,
    /// Output refresh rate, 1..=1000 Hz.
    pub refresh_hz: u32,
    /// Canvas width.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// Width and height of the show canvas the canvas is a section of (design §10); the
    /// canvas size when the wall is the whole show.
    pub show: [u32; 2],
    /// Show-canvas position of the canvas's top-left pixel; `[0, 0]` for a whole show.
    pub origin: [u32; 2],
    /// Colour pipeline.
    pub color: ColorSpec,
    /// Output ports.
    pub outputs: Vec<Output>,
}

impl Wall {
    /// Load a wall file: `.json` as JSON, anything else as TOML.
    pub fn load(path: impl AsRef<Path>) -> Result<Wall, ConfigError> {
        let path = path.as_ref();
        let text = crate::textfile::read_config(path, "wall file", crate::textfile::WALL_LIMIT)
            .map_err(|e| ConfigError::single(path, "", e))?;
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            Wall::from_json_str(&text, path)
        } else {
            Wall::from_toml_str(&text, path)
        }
    }

    /// Parse TOML text; `path` names the file in errors and anchors relative paths.
    pub fn from_toml_str(text: &str, path: impl AsRef<Path>) -> Result<Wall, ConfigError> {
        let path = path.as_ref();
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            ConfigError::single(
                path,
                "",
                format!("not valid TOML: {}", e.to_string().trim()),
            )
        })?;
        let mut nonfinite = Vec::new();
        let value = crate::textfile::toml_to_json(table, &mut nonfinite);
        Wall::from_value_checked(value, path, &nonfinite)
    }

    /// Parse JSON text; `path` names the file in errors and anchors relative paths.
    pub fn from_json_str(text: &str, path: impl AsRef<Path>) -> Result<Wall, ConfigError> {
        let path = path.as_ref();
        let value: Value = serde_json::from_str(text)
            .map_err(|e| ConfigError::single(path, "", format!("not valid JSON: {e}")))?;
        Wall::from_value(value, path)
    }

    /// Build a wall from a spec made in code (tests, tools).
    pub fn from_spec(spec: &WallSpec, path: impl AsRef<Path>) -> Result<Wall, ConfigError> {
        let value = serde_json::to_value(spec)
            .map_err(|e| ConfigError::single(path.as_ref(), "", e.to_string()))?;
        Wall::from_value(value, path.as_ref())
    }

    fn from_value(value: Value, path: &Path) -> Result<Wall, ConfigError> {
        Wall::from_value_checked(value, path, &[])
    }

    /// `nonfinite`: fields whose number was inf or nan (now `null` in `value`).
    fn from_value_checked(
        value: Value,
        path: &Path,
        nonfinite: &[String],
    ) -> Result<Wall, ConfigError> {
        let mut problems = Vec::new();
        let parsed = parse_spec(value, &mut problems);
        let wall = parsed.and_then(|parsed| check(parsed, path, &mut problems));
        crate::textfile::merge_nonfinite(nonfinite, &mut problems);
        match wall {
            Some(w) if problems.is_empty() => Ok(w),
            _ => Err(ConfigError {
                file: path.to_path_buf(),
                problems: if problems.is_empty() {
                    vec![Problem::new("", "invalid wall file")]
                } else {
                    problems
                },
            }),
        }
    }

    /// Number of canvas pixels.
    pub fn canvas_pixels(&self) -> usize {
        self.width as usize * self.height as usize
    }
}

/// Deserialize one piece, turning serde's error into a problem with the full field path.
fn piece<T: DeserializeOwned>(v: Value, field: &str, problems: &mut Vec<Problem>) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(v) {
        Ok(t) => Some(t),
        Err(e) => {
            let inner = e.path().to_string();
            let path = match (field.is_empty(), inner.as_str()) {
                (_, ".") => field.to_string(),
                (true, p) => p.to_string(),
                (false, p) if p.starts_with('[') => format!("{field}{p}"),
                (false, p) => format!("{field}.{p}"),
            };
            problems.push(Problem::new(path, e.into_inner().to_string()));
            None
        }
    }
}

/// What parsed. Pieces that did not parse (their problems are already reported) are
/// replaced by harmless stand-ins or left out, so that the semantic checks still run on
/// everything else without reporting anything twice. Problems stop the wall being built.
struct Parsed {
    spec: WallSpec,
    /// Index in the file of each entry of `spec.outputs` (entries that did not parse are
    /// left out of it).
    output_index: Vec<usize>,
    /// `[[outputs]]` entries in the file, parsed or not.
    outputs_in_file: usize,
    /// Module types in the file that did not parse (not "unknown" where they are used).
    broken_types: BTreeSet<String>,
}

fn parse_spec(value: Value, problems: &mut Vec<Problem>) -> Option<Parsed> {
    let Value::Object(mut map) = value else {
        problems.push(Problem::new("", "a wall file must be a table of fields"));
        return None;
    };
    const KNOWN: [&str; 6] = [
        "name",
        "refresh_hz",
        "canvas",
        "color",
        "module_types",
        "outputs",
    ];
    for key in map.keys() {
        if !KNOWN.contains(&key.as_str()) {
            problems.push(Problem::new(
                key.clone(),
                format!("unknown field; expected one of {}", KNOWN.join(", ")),
            ));
        }
    }
    let mut take = |k: &str| map.remove(k);
    let name = match take("name") {
        Some(v) => piece::<String>(v, "name", problems),
        None => {
            problems.push(Problem::new("name", "missing: every wall needs a name"));
            None
        }
    };
    let refresh_hz = take("refresh_hz").map_or(Some(60), |v| piece(v, "refresh_hz", problems));
    let canvas = match take("canvas") {
        Some(v) => piece::<CanvasSpec>(v, "canvas", problems),
        None => {
            problems.push(Problem::new(
                "canvas",
                "missing: give [canvas] width and height",
            ));
            None
        }
    };
    let color = take("color").map_or(Some(ColorSpec::default()), |v| piece(v, "color", problems));
    let mut module_types = BTreeMap::new();
    let mut broken_types = BTreeSet::new();
    match take("module_types") {
        Some(Value::Object(types)) => {
            for (k, v) in types {
                match piece::<ModuleTypeSpec>(v, &format!("module_types.{k}"), problems) {
                    Some(t) => {
                        module_types.insert(k, t);
                    }
                    None => {
                        broken_types.insert(k);
                    }
                }
            }
        }
        Some(_) => {
            problems.push(Problem::new(
                "module_types",
                "must be a table of module types",
            ));
        }
        None => {}
    }
    let mut outputs = Vec::new();
    let mut output_index = Vec::new();
    let mut outputs_in_file = 0;
    match take("outputs") {
        Some(Value::Array(list)) => {
            outputs_in_file = list.len();
            for (i, v) in list.into_iter().enumerate() {
                if let Some(o) = piece::<OutputSpec>(v, &format!("outputs[{i}]"), problems) {
                    outputs.push(o);
                    output_index.push(i);
                }
            }
        }
        Some(_) => {
            problems.push(Problem::new(
                "outputs",
                "must be an array of [[outputs]] tables",
            ));
            outputs_in_file = 1;
        }
        None => {}
    }
    // Stand-ins for pieces that did not parse: values the checks accept.
    Some(Parsed {
        spec: WallSpec {
            name: name.unwrap_or_else(|| "?".into()),
            refresh_hz: refresh_hz.unwrap_or(60),
            canvas: canvas.unwrap_or(CanvasSpec {
                width: 1,
                height: 1,
                show: None,
                origin: None,
            }),
            color: color.unwrap_or_default(),
            module_types,
            outputs,
        },
        output_index,
        outputs_in_file,
        broken_types,
    })
}

pub(crate) fn parse_color_order(s: &str) -> Option<[u8; 3]> {
    let b = s.as_bytes();
    if b.len() != 3 {
        return None;
    }
    let mut order = [0u8; 3];
    let mut seen = [false; 3];
    for (k, ch) in b.iter().enumerate() {
        let c = match ch.to_ascii_uppercase() {
            b'R' => 0,
            b'G' => 1,
            b'B' => 2,
            _ => return None,
        };
        if seen[c as usize] {
            return None;
        }
        seen[c as usize] = true;
        order[k] = c;
    }
    Some(order)
}

impl ColorSpec {
    /// Every problem with the values of this `[color]` section, as the wall file's
    /// validation reports them (fields named `color.…`); empty when it is valid. The
    /// renderers' `set_color` checks a new section with it.
    pub fn problems(&self) -> Vec<Problem> {
        let c = self;
        let mut problems = Vec::new();
        let mut p = |field: String, reason: String| problems.push(Problem::new(field, reason));
        if !(c.gamma.is_finite() && c.gamma > 0.0 && c.gamma <= 10.0) {
            p(
                "color.gamma".into(),
                format!("{} must be in (0, 10]", c.gamma),
            );
        }
        if !(0.0..=1.0).contains(&c.brightness) {
            p(
                "color.brightness".into(),
                format!("{} is outside 0..1", c.brightness),
            );
        }
        for (i, g) in c.white_point.iter().enumerate() {
            if !(0.0..=1.0).contains(g) {
                p(
                    format!("color.white_point[{i}]"),
                    format!("{g} is outside 0..1"),
                );
            }
        }
        if !(1..=16).contains(&c.bit_depth) {
            p(
                "color.bit_depth".into(),
                format!("{} is outside 1..=16", c.bit_depth),
            );
        }
        for (i, b) in c.background.iter().enumerate() {
            if *b > 255 {
                p(
                    format!("color.background[{i}]"),
                    format!("{b} is outside 0..=255 (code values)"),
                );
            }
        }
        problems
    }
}

fn check(parsed: Parsed, path: &Path, problems: &mut Vec<Problem>) -> Option<Wall> {
    let Parsed {
        spec,
        output_index,
        outputs_in_file,
        broken_types,
    } = parsed;
    let mut p = |field: String, reason: String| problems.push(Problem::new(field, reason));
    if spec.name.trim().is_empty() {
        p("name".into(), "must not be empty".into());
    }
    if !(1..=1000).contains(&spec.refresh_hz) {
        p(
            "refresh_hz".into(),
            format!("{} is outside 1..=1000 Hz", spec.refresh_hz),
        );
    }
    for (side, v) in [("width", spec.canvas.width), ("height", spec.canvas.height)] {
        if !(1..=MAX_CANVAS_SIDE).contains(&v) {
            p(
                format!("canvas.{side}"),
                format!("{v} is outside 1..={MAX_CANVAS_SIDE}"),
            );
        }
    }
    let pixels = spec.canvas.width as u64 * spec.canvas.height as u64;
    if pixels > MAX_CANVAS_PIXELS {
        p(
            "canvas".into(),
            format!(
                "{}x{} is {pixels} pixels; a canvas may have at most {MAX_CANVAS_PIXELS} \
                 (2^27, e.g. 16384x8192): no renderer holds more",
                spec.canvas.width, spec.canvas.height
            ),
        );
    }
    let (show, origin) = check_section(&spec.canvas, &mut p);
    for q in spec.color.problems() {
        p(q.field, q.reason);
    }

    // Module types.
    let base = path.parent().unwrap_or(Path::new(""));
    let mut types: BTreeMap<String, Arc<ModuleType>> = BTreeMap::new();
    for (name, t) in &spec.module_types {
        let f = |k: &str| format!("module_types.{name}.{k}");
        let [cols, rows] = t.size;
        let mut ok = true;
        if !(1..=MAX_CANVAS_SIDE).contains(&cols) || !(1..=MAX_CANVAS_SIDE).contains(&rows) {
            p(
                f("size"),
                format!("{cols}x{rows}: both sides must be in 1..={MAX_CANVAS_SIDE}"),
            );
            ok = false;
        }
        let order = parse_color_order(&t.color_order);
        if order.is_none() {
            p(
                f("color_order"),
                format!("\"{}\" is not a permutation of RGB", t.color_order),
            );
        }
        let mapper = match (t.mapper.as_str(), &t.table) {
            ("table", Some(file)) => {
                let full = base.join(file);
                match MapTable::load(&full) {
                    Ok(table) => Some(Mapper::Table(Arc::new(table))),
                    Err(e) => {
                        p(f("table"), e);
                        None
                    }
                }
            }
            ("table", None) => {
                p(
                    f("table"),
                    "mapper \"table\" needs `table = \"FILE\"`".into(),
                );
                None
            }
            (name, table) => {
                if table.is_some() {
                    p(
                        f("table"),
                        format!("only used with mapper = \"table\", not \"{name}\""),
                    );
                }
                let m = Mapper::from_name(name);
                if m.is_none() {
                    p(
                        f("mapper"),
                        format!(
                            "unknown mapper \"{name}\"; expected direct, stripe, flipped-stripe, checkered, spiral, zstripe, zn-mirror-zstripe, zstripe-uneven or table"
                        ),
                    );
                }
                m
            }
        };
        if let (Some(scan), Some(m), true) = (t.scan, &mapper, ok)
            && let Err(e) = m.check_fits(cols, rows, scan)
        {
            p(
                f(if scan == 0 || !rows.is_multiple_of(scan) {
                    "scan"
                } else {
                    "mapper"
                }),
                e,
            );
            ok = false;
        }
        if let (Some(order), Some(mapper), true) = (order, mapper, ok) {
            types.insert(
                name.clone(),
                Arc::new(ModuleType {
                    name: name.clone(),
                    cols,
                    rows,
                    scan: t.scan,
                    mapper,
                    color_order: order,
                    serpentine: t.serpentine,
                }),
            );
        }
    }
    let type_exists = |n: &str| spec.module_types.contains_key(n) || broken_types.contains(n);

    // Outputs.
    if outputs_in_file == 0 {
        p(
            "outputs".into(),
            "a wall needs at least one [[outputs]] port".into(),
        );
    }
    let mut outputs = Vec::new();
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    let mut all_ok = true;
    // Every placed module's footprint in file order, for the overlap check, whether or not
    // its port has other problems.
    let mut footprints: Vec<Footprint> = Vec::new();
    for (k, o) in spec.outputs.iter().enumerate() {
        let oi = output_index[k];
        let f = |k: &str| format!("outputs[{oi}].{k}");
        if o.name.is_empty()
            || !o
                .name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
            || o.name.starts_with('.')
        {
            p(
                f("name"),
                format!(
                    "\"{}\": port names are file names: use letters, digits, '-', '_' and '.'",
                    o.name
                ),
            );
        } else if let Some(first) = names.insert(&o.name, oi) {
            p(
                f("name"),
                format!(
                    "duplicate output name \"{}\" (also outputs[{first}])",
                    o.name
                ),
            );
        }
        let sink = match SinkUrl::parse(&o.sink) {
            Ok(s) => Some(s),
            Err(e) => {
                p(f("sink"), e);
                None
            }
        };
        let mut modules: Vec<(String, PlacedModule)> = Vec::new();
        let mut port_ok = true;
        for (mi, m) in o.modules.iter().enumerate() {
            let field = format!("outputs[{oi}].modules[{mi}]");
            match place(
                &m.kind,
                m.at,
                m.rotate,
                m.mirror,
                m.calibration,
                &types,
                &field,
                &mut p,
                type_exists(&m.kind),
            ) {
                Some(pm) => modules.push((field, pm)),
                None => port_ok = false,
            }
        }
        if let Some(g) = &o.grid {
            let field = f("grid");
            if g.cols == 0 || g.rows == 0 || g.cols.saturating_mul(g.rows) > 65536 {
                p(
                    field.clone(),
                    format!(
                        "{}x{} modules: cols and rows must be at least 1 (and at most 65536 modules)",
                        g.cols, g.rows
                    ),
                );
                port_ok = false;
            } else if let Some(t) = types.get(&g.kind) {
                let (fw, fh) = footprint(t.cols, t.rows, g.rotate);
                for (k, (col, row)) in grid_order(g).into_iter().enumerate() {
                    let at = [
                        g.origin[0] + (col * fw) as i64,
                        g.origin[1] + (row * fh) as i64,
                    ];
                    let mfield = format!("{field}[module {k}: col {col}, row {row}]");
                    match place(
                        &g.kind, at, g.rotate, g.mirror, None, &types, &mfield, &mut p, true,
                    ) {
                        Some(pm) => modules.push((mfield, pm)),
                        None => {
                            port_ok = false;
                            break;
                        }
                    }
                }
            } else {
                if !type_exists(&g.kind) {
                    p(
                        format!("{field}.type"),
                        unknown_type(&g.kind, &spec.module_types),
                    );
                }
                port_ok = false;
            }
        }
        let canvas = if o.format == OutputFormat::Canvas {
            if !o.modules.is_empty() || o.grid.is_some() {
                p(
                    f(if o.modules.is_empty() { "grid" } else { "modules" }),
                    "canvas ports take no modules or grid: they carry a rectangle of the canvas (give region = { at = [x, y], size = [w, h] })".into(),
                );
                port_ok = false;
            }
            let region = o.region.unwrap_or(RegionSpec {
                at: [0, 0],
                size: [spec.canvas.width, spec.canvas.height],
            });
            let [x, y] = region.at;
            let [w, h] = region.size;
            let (cw, ch) = (spec.canvas.width as i64, spec.canvas.height as i64);
            if w == 0 || h == 0 {
                p(
                    f("region.size"),
                    format!("{w}x{h}: both sides must be at least 1"),
                );
                port_ok = false;
                None
            } else if x < 0 || y < 0 || x + w as i64 > cw || y + h as i64 > ch {
                p(
                    f("region"),
                    format!(
                        "{w}x{h} at [{x}, {y}] reaches outside the {cw}x{ch} canvas: the region must lie inside it"
                    ),
                );
                port_ok = false;
                None
            } else {
                Some(CanvasPort {
                    at: [x as u32, y as u32],
                    size: [w, h],
                    encoding: o.encoding.unwrap_or_default(),
                })
            }
        } else {
            for (key, given) in [
                ("region", o.region.is_some()),
                ("encoding", o.encoding.is_some()),
            ] {
                if given {
                    p(
                        f(key),
                        format!(
                            "only canvas ports take {key}; this port's format is {}",
                            o.format.name()
                        ),
                    );
                    port_ok = false;
                }
            }
            if modules.is_empty() && port_ok {
                p(
                    f("modules"),
                    "a port needs at least one module (modules = [...] or grid = {...})".into(),
                );
                port_ok = false;
            }
            None
        };
        let receiver = match &sink {
            Some(SinkUrl::Display { .. }) => Some("display sinks show"),
            Some(SinkUrl::Colorlight { .. }) => Some("colorlight sinks send"),
            _ => None,
        };
        if let Some(what) = receiver
            && o.format != OutputFormat::Canvas
        {
            p(
                f("sink"),
                format!(
                    "{what} canvas ports (format = \"canvas\"); this port's format is {}",
                    o.format.name()
                ),
            );
            port_ok = false;
        }
        if o.format == OutputFormat::Bitplanes {
            let mut scans: Option<(u32, &str)> = None;
            for (field, m) in &modules {
                match m.kind.scan {
                    None => {
                        p(
                            format!("module_types.{}.scan", m.kind.name),
                            format!(
                                "required: the type is used on bitplanes output \"{}\" ({field})",
                                o.name
                            ),
                        );
                        port_ok = false;
                        break;
                    }
                    Some(s) => match scans {
                        None => scans = Some((s, field)),
                        Some((s0, f0)) if s0 != s => {
                            p(
                                field.clone(),
                                format!(
                                    "scan {s} differs from scan {s0} of {f0}: every module on a bitplanes chain shares the row address lines"
                                ),
                            );
                            port_ok = false;
                            break;
                        }
                        _ => {}
                    },
                }
            }
        }
        let slots: u64 = modules
            .iter()
            .map(|(_, m)| match o.format {
                OutputFormat::Bitplanes => {
                    m.kind.mapper.positions(m.kind.cols) as u64
                        * 2
                        * m.kind.scan.unwrap_or(1) as u64
                }
                _ => m.kind.cols as u64 * m.kind.rows as u64,
            })
            .sum();
        if slots > 1 << 28 {
            p(
                f("modules"),
                format!("{slots} output slots: a port is limited to 2^28"),
            );
            port_ok = false;
        }
        // A canvas port's modules were refused above: they have no footprint.
        for (field, m) in modules.iter().filter(|_| o.format != OutputFormat::Canvas) {
            let (w, h) = m.footprint();
            footprints.push(Footprint {
                x0: m.at[0],
                y0: m.at[1],
                x1: m.at[0] + w as i64,
                y1: m.at[1] + h as i64,
                field: field.clone(),
                port: o.name.clone(),
            });
        }
        match (sink, port_ok) {
            (Some(sink), true) => outputs.push(Output {
                name: o.name.clone(),
                format: o.format,
                sink,
                modules: modules.into_iter().map(|(_, m)| m).collect(),
                canvas,
            }),
            _ => all_ok = false,
        }
        let _ = &names;
    }

    // Overlaps, across every port: sort footprints by left edge and sweep; the later module
    // in file order is the one reported.
    let mut rects: Vec<(usize, &Footprint)> = footprints.iter().enumerate().collect();
    rects.sort_by_key(|(_, r)| r.x0);
    let mut reported = 0;
    for (i, &(ia, a)) in rects.iter().enumerate() {
        for &(ib, b) in rects[i + 1..].iter().take_while(|(_, b)| b.x0 < a.x1) {
            if a.y0 < b.y1 && b.y0 < a.y1 && reported < 20 {
                reported += 1;
                let (first, second) = if ia < ib { (a, b) } else { (b, a) };
                p(
                    second.field.clone(),
                    format!(
                        "overlaps {} (port \"{}\"): footprints [{}, {})x[{}, {}) and [{}, {})x[{}, {})",
                        first.field,
                        first.port,
                        second.x0,
                        second.x1,
                        second.y0,
                        second.y1,
                        first.x0,
                        first.x1,
                        first.y0,
                        first.y1
                    ),
                );
            }
        }
    }

    if !problems.is_empty() || !all_ok {
        return None;
    }
    Some(Wall {
        source: path.to_path_buf(),
        name: spec.name.clone(),
        refresh_hz: spec.refresh_hz,
        width: spec.canvas.width,
        height: spec.canvas.height,
        show,
        origin,
        color: spec.color.clone(),
        outputs,
        spec,
    })
}

/// `canvas.show` and `canvas.origin` (design §10): both or neither; the show within the
/// canvas limits; the section (the canvas at `origin`) inside the show. Returns the show
/// size and origin to use (the canvas itself at `[0, 0]` when absent or invalid).
fn check_section(c: &CanvasSpec, p: &mut impl FnMut(String, String)) -> ([u32; 2], [u32; 2]) {
    let whole = ([c.width, c.height], [0, 0]);
    let (show, origin) = match (c.show, c.origin) {
        (None, None) => return whole,
        (Some(show), Some(origin)) => (show, origin),
        (Some(_), None) => {
            p(
                "canvas.origin".into(),
                "missing: a canvas with `show` is a section of the show canvas; give \
                 origin = [x, y], the show position of its top-left pixel"
                    .into(),
            );
            return whole;
        }
        (None, Some(_)) => {
            p(
                "canvas.show".into(),
                "missing: a canvas with `origin` is a section of the show canvas; give \
                 show = [width, height], the size of the show canvas"
                    .into(),
            );
            return whole;
        }
    };
    let mut ok = true;
    for (i, side) in ["width", "height"].iter().enumerate() {
        if !(1..=MAX_CANVAS_SIDE).contains(&show[i]) {
            p(
                "canvas.show".into(),
                format!(
                    "the show {side} {} is outside 1..={MAX_CANVAS_SIDE}",
                    show[i]
                ),
            );
            ok = false;
        }
    }
    let pixels = show[0] as u64 * show[1] as u64;
    if ok && pixels > MAX_CANVAS_PIXELS {
        p(
            "canvas.show".into(),
            format!(
                "{}x{} is {pixels} pixels; a show canvas may have at most \
                 {MAX_CANVAS_PIXELS} (2^27, e.g. 16384x8192)",
                show[0], show[1]
            ),
        );
        ok = false;
    }
    let (x1, y1) = (
        origin[0] as u64 + c.width as u64,
        origin[1] as u64 + c.height as u64,
    );
    if ok && (x1 > show[0] as u64 || y1 > show[1] as u64) {
        p(
            "canvas.origin".into(),
            format!(
                "the {}x{} canvas at [{}, {}] reaches outside the {}x{} show canvas (to \
                 [{x1}, {y1}]): the section must lie inside the show",
                c.width, c.height, origin[0], origin[1], show[0], show[1]
            ),
        );
        ok = false;
    }
    if ok { (show, origin) } else { whole }
}

/// Frames of the player's pool counted by [`estimate_memory`] (the frames rendered ahead
/// plus the ones in the output's hands; `ledwall play` keeps `lead + 2`).
pub const ESTIMATE_POOL_FRAMES: u64 = 10;

/// Canvas-sized RGBA8 source images counted by [`estimate_memory`]: the current and the
/// outgoing item, a test pattern over them and a prepared reload.
pub const ESTIMATE_SOURCE_IMAGES: u64 = 4;

/// What the process needs besides the wall's buffers (code, threads, decoders' pipes).
pub const ESTIMATE_BASE: u64 = 64 << 20;

/// An upper bound (within a factor of about 1.5) of the memory, in bytes, that playing
/// `wall` takes: the CPU renderer's buffers (per canvas pixel and channel a `u16` in each of
/// the [`crate::frame::MAX_LAYERS`] layer canvases, the composed and the coloured canvas
/// and one quantized canvas per distinct depth), its resample scratch rows, the compiled
/// port tables (a `u32` per output slot), [`ESTIMATE_POOL_FRAMES`] frames of port buffers,
/// [`ESTIMATE_SOURCE_IMAGES`] canvas-sized source images and [`ESTIMATE_BASE`].
pub fn estimate_memory(wall: &Wall) -> u64 {
    let canvas_px = wall.width as u64 * wall.height as u64 + 2;
    let mut quants: BTreeSet<(u32, Encoding)> = BTreeSet::new();
    let mut port_bytes = 0u64;
    let mut slot_bytes = 0u64;
    for o in &wall.outputs {
        let (depth, encoding) = match o.format {
            OutputFormat::Bitplanes => (wall.color.bit_depth, Encoding::Linear),
            OutputFormat::Rgb8 => (8, Encoding::Linear),
            OutputFormat::Rgb16 => (16, Encoding::Linear),
            OutputFormat::Canvas => (8, o.canvas.map_or(Encoding::Display, |c| c.encoding)),
        };
        quants.insert((depth, encoding));
        let (bytes, slots, positions) = match (o.format, &o.canvas) {
            (OutputFormat::Canvas, Some(c)) => {
                let px = c.pixels() as u64;
                (px * 3, px, px)
            }
            (OutputFormat::Bitplanes, _) => {
                let scan = o
                    .modules
                    .iter()
                    .map(|m| m.kind.scan.unwrap_or(1) as u64)
                    .max()
                    .unwrap_or(1);
                let positions: u64 = o
                    .modules
                    .iter()
                    .map(|m| m.kind.mapper.positions(m.kind.cols) as u64)
                    .sum();
                (
                    scan * depth as u64 * positions,
                    scan * positions * 2,
                    positions,
                )
            }
            (format, _) => {
                let px: u64 = o
                    .modules
                    .iter()
                    .map(|m| m.kind.cols as u64 * m.kind.rows as u64)
                    .sum();
                let per = if format == OutputFormat::Rgb16 { 6 } else { 3 };
                (px * per, px, px)
            }
        };
        port_bytes += bytes;
        // Slot table, colour order per position, pack runs and the module layouts.
        slot_bytes += slots * 4 + positions * 4;
    }
    let float_canvases = crate::frame::MAX_LAYERS as u64 + 2 + quants.len().max(1) as u64;
    let renderer = float_canvases * canvas_px * 3 * 2;
    // Resample plans: a ring of rows and a float row per band, a few bands per thread.
    let resample = 4 * 64 * wall.width as u64 * 3 * 4;
    // Decoded sources: a section's patterns are drawn at the size of the whole show.
    let show_px = wall.show[0] as u64 * wall.show[1] as u64;
    let sources = ESTIMATE_SOURCE_IMAGES * show_px.max(canvas_px) * 4;
    ESTIMATE_BASE + renderer + resample + sources + slot_bytes + ESTIMATE_POOL_FRAMES * port_bytes
}

/// How much memory this process may use, and what says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLimit {
    /// Bytes.
    pub bytes: u64,
    /// Where the figure comes from: `MemAvailable`, `cgroup memory.max`, `RLIMIT_AS`.
    pub source: &'static str,
}

/// The smallest of what the machine allows this process: `MemAvailable` of
/// `/proc/meminfo`, the cgroup v2 `memory.max` of its cgroup and of the cgroups above it
/// (when set), and its soft `RLIMIT_AS` (when set). `None` where none can be read.
pub fn memory_limit() -> Option<MemoryLimit> {
    let mut best: Option<MemoryLimit> = None;
    let mut offer = |bytes: Option<u64>, source: &'static str| {
        if let Some(bytes) = bytes
            && best.is_none_or(|b| bytes < b.bytes)
        {
            best = Some(MemoryLimit { bytes, source });
        }
    };
    offer(meminfo_available(), "MemAvailable");
    offer(cgroup_memory_max(), "cgroup memory.max");
    offer(rlimit_as(), "RLIMIT_AS");
    best
}

fn meminfo_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn cgroup_memory_max() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    let mut dir = PathBuf::from("/sys/fs/cgroup");
    let mut best: Option<u64> = None;
    let mut read = |dir: &Path| {
        if let Ok(v) = std::fs::read_to_string(dir.join("memory.max"))
            && let Ok(n) = v.trim().parse::<u64>()
        {
            best = Some(best.map_or(n, |b| b.min(n)));
        }
    };
    read(&dir);
    for part in rel.trim().split('/').filter(|p| !p.is_empty()) {
        dir.push(part);
        read(&dir);
    }
    best
}

fn rlimit_as() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max address space"))?;
    let soft = line
        .strip_prefix("Max address space")?
        .split_whitespace()
        .next()?;
    soft.parse().ok()
}

impl Wall {
    /// Refuse the wall when the memory it needs ([`estimate_memory`]) is more than
    /// [`memory_limit`] allows; returns the estimate. Call it before building a renderer.
    pub fn check_memory(&self) -> Result<u64, ConfigError> {
        self.check_memory_against(memory_limit())
    }

    /// [`Wall::check_memory`] against a given limit (`None`: no limit known, accept).
    pub fn check_memory_against(&self, limit: Option<MemoryLimit>) -> Result<u64, ConfigError> {
        let need = estimate_memory(self);
        match limit {
            Some(l) if need > l.bytes => Err(ConfigError::single(
                &self.source,
                "canvas",
                format!(
                    "the wall needs about {} of memory ({}x{} canvas, {} port{}); {} {} \
                     available ({})",
                    crate::textfile::human_size(need),
                    self.width,
                    self.height,
                    self.outputs.len(),
                    if self.outputs.len() == 1 { "" } else { "s" },
                    crate::textfile::human_size(l.bytes),
                    if l.bytes == 1 { "is" } else { "are" },
                    l.source
                ),
            )),
            _ => Ok(need),
        }
    }
}

/// A placed module's canvas footprint `[x0, x1) x [y0, y1)`, for the overlap check.
struct Footprint {
    x0: i64,
    y0: i64,
    x1: i64,
    y1: i64,
    /// Where the module is in the file.
    field: String,
    /// Its port's name.
    port: String,
}

fn unknown_type(name: &str, known: &BTreeMap<String, ModuleTypeSpec>) -> String {
    let list: Vec<&str> = known.keys().map(String::as_str).collect();
    if list.is_empty() {
        format!("unknown module type \"{name}\": the file defines no [module_types]")
    } else {
        format!(
            "unknown module type \"{name}\" (defined: {})",
            list.join(", ")
        )
    }
}

/// Build one placed module, reporting problems under `field`.
#[allow(clippy::too_many_arguments)]
fn place(
    kind: &str,
    at: [i64; 2],
    rotate: u32,
    mirror: Mirror,
    calibration: Option<[[f64; 3]; 3]>,
    types: &BTreeMap<String, Arc<ModuleType>>,
    field: &str,
    p: &mut impl FnMut(String, String),
    type_defined: bool,
) -> Option<PlacedModule> {
    let mut ok = true;
    if ![0, 90, 180, 270].contains(&rotate) {
        p(
            format!("{field}.rotate"),
            format!("{rotate} is not one of 0, 90, 180, 270"),
        );
        ok = false;
    }
    const FAR: i64 = 1 << 20;
    if at.iter().any(|v| v.abs() > FAR) {
        p(
            format!("{field}.at"),
            format!("{at:?} is implausibly far from the canvas"),
        );
        ok = false;
    }
    if let Some(m) = &calibration
        && m.iter().flatten().any(|v| !v.is_finite() || v.abs() > 16.0)
    {
        p(
            format!("{field}.calibration"),
            "every entry must be a finite number in -16..16".into(),
        );
        ok = false;
    }
    let t = match types.get(kind) {
        Some(t) => t.clone(),
        None => {
            if !type_defined {
                let known: Vec<&str> = types.keys().map(String::as_str).collect();
                p(
                    format!("{field}.type"),
                    if known.is_empty() {
                        format!("unknown module type \"{kind}\"")
                    } else {
                        format!(
                            "unknown module type \"{kind}\" (defined: {})",
                            known.join(", ")
                        )
                    },
                );
            }
            return None;
        }
    };
    ok.then(|| PlacedModule {
        kind: t,
        at,
        rotate,
        mirror,
        calibration: calibration.map(|m| m.map(|row| row.map(|v| v as f32))),
    })
}

/// (col, row) of each grid module in cabling order.
fn grid_order(g: &GridSpec) -> Vec<(u32, u32)> {
    let mut order = Vec::with_capacity((g.cols * g.rows) as usize);
    let (from_right, from_bottom) = match g.start {
        Corner::TopLeft => (false, false),
        Corner::TopRight => (true, false),
        Corner::BottomLeft => (false, true),
        Corner::BottomRight => (true, true),
    };
    for i in 0..g.rows {
        let row = if from_bottom { g.rows - 1 - i } else { i };
        let reverse = from_right ^ (g.serpentine && i % 2 == 1);
        for j in 0..g.cols {
            let col = if reverse { g.cols - 1 - j } else { j };
            order.push((col, row));
        }
    }
    order
}

#[cfg(test)]
mod tests;
