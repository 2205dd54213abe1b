//! Test patterns for commissioning a wall (design §12 `pattern:` sources), drawn at the
//! wall's canvas size so they map 1:1 onto the modules. A wall whose canvas is a section of
//! a larger show canvas (`show`, `origin`: design §10) draws the show's pattern, at the show
//! size: the renderer places it 1:1 on the show and renders the section's window, so the
//! bars, ramps and the moving line run across the whole show, not once per section.
//!
//! | source | shows | checks |
//! |---|---|---|
//! | `pattern:solid:#ff8000` | one colour | dead pixels, colour uniformity |
//! | `pattern:bars` | eight full-level bars: white, yellow, cyan, green, magenta, red, blue, black | colour order, channel wiring |
//! | `pattern:ramp` | 16-bit ramps, dark to bright, in bands: grey, red, green, blue | gamma, bit depth, banding |
//! | `pattern:checker[:N]` | black and white squares of N pixels (8) | mapping, scan order |
//! | `pattern:grid` | every module outlined, labelled `PORT#CHAIN` | module placement, cabling |
//! | `pattern:line` | a one-pixel vertical line moving one column per display tick | tearing, refresh |
//! | `pattern:gradient` | red grows rightwards, green downwards | orientation, smooth scaling |
//!
//! [`PatternSource`] serves them as media: static patterns are drawn once into an RGBA8
//! buffer (the ramp in 16 bits), the line is drawn per tick. The grid's labels use the
//! built-in 3x5 pixel font of [`crate::font`] (A–Z, 0–9 and a few signs).

use crate::font::{Surface, text_size};
use crate::media::{
    Frame, MediaError, MediaInfo, MediaKind, MediaSource, Pixels, ReadStatus, Timing, new_key_base,
};
use crate::synth;
use ledwall_render::Wall;

/// A test pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// One colour (code values).
    Solid([u8; 3]),
    /// Colour bars.
    Bars,
    /// Per-channel 16-bit ramps.
    Ramp,
    /// Checkerboard with square cells of this many pixels.
    Checker(u32),
    /// Module outlines with port and chain labels.
    Grid,
    /// A moving vertical line.
    Line,
    /// Two-axis gradient.
    Gradient,
}

/// Pattern names, for messages.
pub const NAMES: &str = "solid:#RRGGBB, bars, ramp, checker[:N], grid, line, gradient";

impl Pattern {
    /// Parse what follows `pattern:`.
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let (name, arg) = match text.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (text, None),
        };
        let no_arg = |p: Pattern| match arg {
            None => Ok(p),
            Some(a) => Err(format!("pattern:{name} takes no parameter (got \"{a}\")")),
        };
        match name {
            "solid" => {
                let a = arg.ok_or("pattern:solid needs a colour, e.g. pattern:solid:#ff8000")?;
                parse_hex_color(a)
                    .map(Pattern::Solid)
                    .ok_or_else(|| format!("\"{a}\" is not a colour; write #RRGGBB"))
            }
            "bars" => no_arg(Pattern::Bars),
            "ramp" => no_arg(Pattern::Ramp),
            "checker" => match arg {
                None => Ok(Pattern::Checker(8)),
                Some(a) => match a.parse::<u32>() {
                    Ok(n) if (1..=4096).contains(&n) => Ok(Pattern::Checker(n)),
                    _ => Err(format!(
                        "checker cell size \"{a}\" is not a number of pixels 1..=4096"
                    )),
                },
            },
            "grid" => no_arg(Pattern::Grid),
            "line" => no_arg(Pattern::Line),
            "gradient" => no_arg(Pattern::Gradient),
            _ => Err(format!("unknown pattern \"{name}\"; known: {NAMES}")),
        }
    }

    /// The text after `pattern:` that parses back to this pattern.
    pub fn spec(&self) -> String {
        match self {
            Pattern::Solid([r, g, b]) => format!("solid:#{r:02x}{g:02x}{b:02x}"),
            Pattern::Bars => "bars".into(),
            Pattern::Ramp => "ramp".into(),
            Pattern::Checker(n) => format!("checker:{n}"),
            Pattern::Grid => "grid".into(),
            Pattern::Line => "line".into(),
            Pattern::Gradient => "gradient".into(),
        }
    }
}

/// `#rrggbb` (the `#` is optional) as code values.
pub fn parse_hex_color(s: &str) -> Option<[u8; 3]> {
    let h = s.strip_prefix('#').unwrap_or(s);
    if h.len() != 6 || !h.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let c = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
    Some([c(0)?, c(2)?, c(4)?])
}

/// One module's footprint on the canvas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleBox {
    /// Its port's name.
    pub port: String,
    /// Its index in the port's chain (0 at the connector).
    pub chain: usize,
    /// Canvas x of the footprint's left edge.
    pub x: i64,
    /// Canvas y of the top edge.
    pub y: i64,
    /// Footprint width.
    pub width: u32,
    /// Footprint height.
    pub height: u32,
}

/// What patterns are drawn for: the show canvas size (what sources are placed on), the
/// display rate and the modules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canvas {
    /// Show canvas width: the wall's canvas width unless the wall is a section of a larger
    /// show.
    pub width: u32,
    /// Show canvas height.
    pub height: u32,
    /// Show position of the wall canvas's top-left pixel (`[0, 0]` unless a section).
    pub origin: [u32; 2],
    /// Display ticks per second (the moving line moves one column a tick).
    pub refresh_hz: u32,
    /// Every module, port by port in chain order, in wall-canvas coordinates.
    pub modules: Vec<ModuleBox>,
}

impl Canvas {
    /// The canvas of a wall: its show canvas (its own canvas unless it is a section).
    pub fn from_wall(wall: &Wall) -> Canvas {
        let modules = wall
            .outputs
            .iter()
            .flat_map(|o| {
                o.modules.iter().enumerate().map(|(i, m)| {
                    let (w, h) = m.footprint();
                    ModuleBox {
                        port: o.name.clone(),
                        chain: i,
                        x: m.at[0],
                        y: m.at[1],
                        width: w,
                        height: h,
                    }
                })
            })
            .collect();
        Canvas {
            width: wall.show[0],
            height: wall.show[1],
            origin: wall.origin,
            refresh_hz: wall.refresh_hz,
            modules,
        }
    }

    /// A canvas without modules (the grid pattern then outlines the canvas).
    pub fn plain(width: u32, height: u32, refresh_hz: u32) -> Canvas {
        Canvas {
            width: width.max(1),
            height: height.max(1),
            origin: [0, 0],
            refresh_hz: refresh_hz.max(1),
            modules: Vec::new(),
        }
    }
}

/// A pattern as a media source.
#[derive(Debug)]
pub struct PatternSource {
    info: MediaInfo,
    pattern: Pattern,
    /// Static patterns: drawn once.
    still: Option<Pixels>,
    key: u64,
}

/// Open a pattern on a canvas.
pub fn open(pattern: &Pattern, canvas: &Canvas) -> Box<dyn MediaSource> {
    Box::new(PatternSource::new(*pattern, canvas))
}

impl PatternSource {
    /// Draw `pattern` for `canvas`.
    pub fn new(pattern: Pattern, canvas: &Canvas) -> PatternSource {
        let (w, h) = (canvas.width.max(1), canvas.height.max(1));
        let timing = match pattern {
            Pattern::Line => Timing::Rate {
                fps_num: canvas.refresh_hz.max(1) as u64,
                fps_den: 1,
                frames: Some(w as u64),
            },
            _ => Timing::Still,
        };
        let still = match pattern {
            Pattern::Line => None,
            Pattern::Ramp => Some(Pixels::Rgba16(
                synth::ramp16(w, h)
                    .pixels()
                    .flat_map(|p| [p.0[0], p.0[1], p.0[2], 65535])
                    .collect(),
            )),
            _ => Some(Pixels::Rgba8(draw8(pattern, canvas))),
        };
        PatternSource {
            info: MediaInfo {
                name: format!("pattern:{}", pattern.spec()),
                kind: MediaKind::Pattern,
                width: w,
                height: h,
                timing,
            },
            pattern,
            still,
            key: new_key_base(),
        }
    }
}

impl MediaSource for PatternSource {
    fn info(&self) -> &MediaInfo {
        &self.info
    }

    fn read_frame(&mut self, index: u64, out: &mut Frame) -> Result<ReadStatus, MediaError> {
        let (w, h) = (self.info.width, self.info.height);
        match (&self.still, self.pattern) {
            (Some(p), _) => {
                if out.key != Some(self.key) {
                    out.set_pixels(w, h, p, Some(self.key));
                }
            }
            (None, _) => {
                let x = (index % w as u64) as u32;
                let key = self.key + x as u64;
                if out.key != Some(key) {
                    let Pixels::Rgba8(v) = &mut out.pixels else {
                        out.pixels = Pixels::Rgba8(Vec::new());
                        return self.read_frame(index, out);
                    };
                    v.clear();
                    v.resize(w as usize * h as usize * 4, 0);
                    for (i, px) in v.chunks_exact_mut(4).enumerate() {
                        let on = (i % w as usize) as u32 == x;
                        px.copy_from_slice(if on { &[255; 4] } else { &[0, 0, 0, 255] });
                    }
                    out.width = w;
                    out.height = h;
                    out.key = Some(key);
                }
            }
        }
        Ok(ReadStatus::Frame)
    }
}

/// Colours the grid gives the ports, in port order (cycled).
pub const PORT_COLORS: [[u8; 3]; 6] = [
    [255, 0, 0],
    [0, 255, 0],
    [0, 96, 255],
    [255, 255, 0],
    [0, 255, 255],
    [255, 0, 255],
];

/// Bar colours, left to right.
pub const BARS: [[u8; 3]; 8] = [
    [255, 255, 255],
    [255, 255, 0],
    [0, 255, 255],
    [0, 255, 0],
    [255, 0, 255],
    [255, 0, 0],
    [0, 0, 255],
    [0, 0, 0],
];

fn draw8(pattern: Pattern, canvas: &Canvas) -> Vec<u8> {
    let (w, h) = (canvas.width.max(1), canvas.height.max(1));
    let mut img = Canvas8::new(w, h);
    match pattern {
        Pattern::Solid(c) => img.fill(c),
        Pattern::Bars => {
            for x in 0..w {
                let c = BARS[(x as u64 * 8 / w as u64) as usize];
                for y in 0..h {
                    img.put(x as i64, y as i64, c);
                }
            }
        }
        Pattern::Checker(n) => {
            for y in 0..h {
                for x in 0..w {
                    let on = ((x / n) + (y / n)) % 2 == 0;
                    img.put(x as i64, y as i64, if on { [255; 3] } else { [0; 3] });
                }
            }
        }
        Pattern::Gradient => {
            for (x, y, p) in synth::gradient(w, h).enumerate_pixels() {
                img.put(x as i64, y as i64, p.0);
            }
        }
        Pattern::Grid => draw_grid(&mut img, canvas),
        Pattern::Ramp | Pattern::Line => {}
    }
    img.data
}

fn draw_grid(img: &mut Canvas8, canvas: &Canvas) {
    let mut ports: Vec<&str> = Vec::new();
    let boxes: Vec<ModuleBox> = if canvas.modules.is_empty() {
        vec![ModuleBox {
            port: "canvas".into(),
            chain: 0,
            x: 0,
            y: 0,
            width: img.width,
            height: img.height,
        }]
    } else {
        // Module footprints are on the wall's canvas; the pattern is drawn on the show.
        let [ox, oy] = canvas.origin.map(i64::from);
        canvas
            .modules
            .iter()
            .map(|m| ModuleBox {
                x: m.x + ox,
                y: m.y + oy,
                ..m.clone()
            })
            .collect()
    };
    for m in &boxes {
        let port_index = match ports.iter().position(|p| *p == m.port) {
            Some(i) => i,
            None => {
                ports.push(&m.port);
                ports.len() - 1
            }
        };
        let c = PORT_COLORS[port_index % PORT_COLORS.len()];
        let (x0, y0) = (m.x, m.y);
        let (x1, y1) = (m.x + m.width as i64 - 1, m.y + m.height as i64 - 1);
        for x in x0..=x1 {
            img.put(x, y0, c);
            img.put(x, y1, c);
        }
        for y in y0..=y1 {
            img.put(x0, y, c);
            img.put(x1, y, c);
        }
        // The longest label that fits inside the outline.
        let labels = [
            format!("{}#{}", m.port, m.chain),
            format!("{}#{}", port_index + 1, m.chain),
            m.chain.to_string(),
        ];
        if let Some(label) = labels.iter().find(|l| {
            let (w, h) = text_size(l, 1);
            w + 4 <= m.width && h + 4 <= m.height
        }) {
            Surface::new(&mut img.data, img.width, 4).draw_text(x0 + 2, y0 + 2, label, 1, &c);
        }
    }
}

/// An RGBA8 drawing surface.
struct Canvas8 {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl Canvas8 {
    fn new(width: u32, height: u32) -> Canvas8 {
        let mut data = vec![0; width as usize * height as usize * 4];
        for px in data.chunks_exact_mut(4) {
            px[3] = 255;
        }
        Canvas8 {
            width,
            height,
            data,
        }
    }

    fn fill(&mut self, c: [u8; 3]) {
        for px in self.data.chunks_exact_mut(4) {
            px[..3].copy_from_slice(&c);
        }
    }

    fn put(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 {
            return;
        }
        let i = (y as usize * self.width as usize + x as usize) * 4;
        self.data[i..i + 3].copy_from_slice(&c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::font::glyph;

    fn frame(p: Pattern, canvas: &Canvas, index: u64) -> Frame {
        let mut src = PatternSource::new(p, canvas);
        let mut f = Frame::new();
        assert_eq!(src.read_frame(index, &mut f).unwrap(), ReadStatus::Frame);
        assert_eq!((f.width, f.height), (canvas.width, canvas.height));
        assert!(f.source().check().is_ok());
        f
    }

    #[test]
    fn names_parse_and_round_trip() {
        for text in [
            "solid:#ff8000",
            "bars",
            "ramp",
            "checker:8",
            "checker:3",
            "grid",
            "line",
            "gradient",
        ] {
            let p = Pattern::parse(text).unwrap();
            assert_eq!(p.spec(), text);
        }
        assert_eq!(Pattern::parse("checker").unwrap(), Pattern::Checker(8));
        assert_eq!(
            Pattern::parse("solid:#FF8000").unwrap(),
            Pattern::Solid([255, 128, 0])
        );
        for bad in [
            "solid",
            "solid:#ff80",
            "solid:red",
            "checker:0",
            "bars:2",
            "plaid",
        ] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn solid_bars_checker_gradient() {
        let c = Canvas::plain(16, 4, 60);
        let f = frame(Pattern::Solid([255, 128, 0]), &c, 0);
        assert_eq!(f.pixel8(15, 3), Some([255, 128, 0, 255]));
        let f = frame(Pattern::Bars, &c, 0);
        let row: Vec<[u8; 3]> = (0..8)
            .map(|b| {
                let p = f.pixel8(b * 2 + 1, 2).unwrap();
                [p[0], p[1], p[2]]
            })
            .collect();
        assert_eq!(row, BARS);
        let f = frame(Pattern::Checker(2), &c, 0);
        assert_eq!(f.pixel8(0, 0), Some([255; 4]));
        assert_eq!(f.pixel8(2, 0), Some([0, 0, 0, 255]));
        assert_eq!(f.pixel8(2, 2), Some([255; 4]));
        let f = frame(Pattern::Gradient, &c, 0);
        assert_eq!(f.pixel8(0, 0), Some([0, 0, 255, 255]));
        assert_eq!(f.pixel8(15, 3), Some([255, 255, 0, 255]));
    }

    #[test]
    fn ramp_is_sixteen_bit_per_channel() {
        let c = Canvas::plain(64, 8, 60);
        let f = frame(Pattern::Ramp, &c, 0);
        let Pixels::Rgba16(d) = &f.pixels else {
            panic!("8-bit ramp")
        };
        // Grey band, left to right; red band has only red.
        assert_eq!(&d[..4], &[0, 0, 0, 65535]);
        assert_eq!(&d[63 * 4..64 * 4], &[65535, 65535, 65535, 65535]);
        let red = (2 * 64 + 63) * 4;
        assert_eq!(&d[red..red + 4], &[65535, 0, 0, 65535]);
    }

    #[test]
    fn line_moves_one_column_per_tick_and_wraps() {
        let c = Canvas::plain(8, 2, 60);
        let mut src = PatternSource::new(Pattern::Line, &c);
        assert_eq!(
            src.info().timing,
            Timing::Rate {
                fps_num: 60,
                fps_den: 1,
                frames: Some(8)
            }
        );
        let mut f = Frame::new();
        for i in [0u64, 3, 7, 8, 11] {
            src.read_frame(i, &mut f).unwrap();
            let lit: Vec<u32> = (0..8)
                .filter(|&x| f.pixel8(x, 1) == Some([255; 4]))
                .collect();
            assert_eq!(lit, [(i % 8) as u32]);
        }
    }

    #[test]
    fn grid_outlines_each_module_in_its_port_colour_with_a_label() {
        let wall = Wall::load(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/walls/demo.toml"),
        )
        .unwrap();
        let c = Canvas::from_wall(&wall);
        assert_eq!(c.modules.len(), 4);
        let f = frame(Pattern::Grid, &c, 0);
        for m in &c.modules {
            let port = if m.port == "port1" { 0 } else { 1 };
            let col = PORT_COLORS[port];
            let want = Some([col[0], col[1], col[2], 255]);
            let (x, y) = (m.x as u32, m.y as u32);
            assert_eq!(f.pixel8(x, y), want, "{m:?} corner");
            assert_eq!(f.pixel8(x + m.width - 1, y + m.height - 1), want);
            assert_eq!(
                f.pixel8(x + m.width / 2, y + m.height - 5),
                Some([0, 0, 0, 255])
            );
            // The label "portN#C" starts at (x+2, y+2): "P" has its top row lit.
            assert_eq!(f.pixel8(x + 2, y + 2), want, "{m:?} label");
            // The chain index is the label's last glyph.
            let label = format!("{}#{}", m.port, m.chain);
            let gx = x + 2 + (label.len() as u32 - 1) * 4;
            let g = glyph(label.chars().last().unwrap());
            for (dy, row) in g.iter().enumerate() {
                for dx in 0..3u32 {
                    let lit = f.pixel8(gx + dx, y + 2 + dy as u32) == want;
                    assert_eq!(lit, row & (4 >> dx) != 0, "{label} glyph at {dx},{dy}");
                }
            }
        }
    }
}
