//! The wall compiled once into flat tables that every backend reads (design §1, §9).
//!
//! Pixel indices point into a *canvas buffer* of `width · height + 2` pixels: the canvas in
//! row-major order, then [`Geometry::background_pixel`] (module pixels that fall outside the
//! canvas show the background) and [`Geometry::dark_pixel`] (matrix slots with no LED behind
//! them, from mapping tables). With those two extra pixels every gather is branch-free.

use crate::wall::{CanvasPort, Encoding, Mirror, OutputFormat, Transfer, Wall};

/// How a port's codes are made from linear light: the depth and, for `canvas` ports, the
/// encoding. The quantize stage runs once per distinct `Quant` of a wall's ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quant {
    /// Bits per code.
    pub depth: u32,
    /// [`Encoding::Linear`]: PWM-linear codes (every port but display-encoded canvas
    /// ports); [`Encoding::Display`]: re-encoded with the transfer curve (depth 8).
    pub encoding: Encoding,
}

impl Quant {
    /// Linear codes of `depth` bits.
    pub const fn linear(depth: u32) -> Quant {
        Quant {
            depth,
            encoding: Encoding::Linear,
        }
    }

    /// Display-encoded 8-bit codes.
    pub const DISPLAY: Quant = Quant {
        depth: 8,
        encoding: Encoding::Display,
    };
}

/// One output port's compiled layout.
#[derive(Debug, Clone, PartialEq)]
pub struct PortMap {
    /// Port name.
    pub name: String,
    /// Buffer format.
    pub format: OutputFormat,
    /// Output code depth: the wall's bit depth for bitplanes, 8 for rgb8 and canvas, 16 for
    /// rgb16.
    pub depth: u32,
    /// Linear for every format but display-encoded `canvas` ports.
    pub encoding: Encoding,
    /// `canvas` ports: the region they carry (their slots are its pixels, row by row).
    pub canvas: Option<CanvasPort>,
    /// Row addresses S (bitplanes); 1 for pixel streams.
    pub addresses: u32,
    /// Shift positions along the chain (bitplanes), or pixels (pixel streams).
    pub positions: u32,
    /// Bitplanes: `slots[(a · positions + p) · 2 + line]`; pixel streams: `slots[pixel]`.
    /// Values are canvas-buffer pixel indices.
    pub slots: Vec<u32>,
    /// Per position (bitplanes) or pixel (streams): canvas channel for wire slot k.
    pub order: Vec<[u8; 3]>,
    /// The chain, in order.
    pub modules: Vec<ModuleLayout>,
    /// Bitplanes: `runs[a · (positions / PACK_GROUP) + g]` says how the two lines of group
    /// `g` (positions `g · PACK_GROUP ..`, full groups only) of address `a` read the canvas
    /// buffer, so that the pack kernel can load them as contiguous runs. Derived from `slots`
    /// and `order` by [`pack_runs`]; empty for pixel streams. The kernel ignores a table of
    /// the wrong length (and then gathers slot by slot).
    pub runs: Vec<[Run; 2]>,
}

/// Shift positions the bit-plane kernel packs together: 32 byte lanes, one AVX2 register.
pub const PACK_GROUP: usize = 32;

/// How one line (upper or lower half) of a group of [`PACK_GROUP`] positions reads the
/// canvas buffer. Only groups whose colour order is the same (and valid) at every position
/// get a run; a group whose colour order varies is [`Run::Scattered`] on both lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// Position j reads pixel `first + j`.
    Forward(u32),
    /// Position j reads pixel `first - j` (a module chained upside down).
    Reverse(u32),
    /// Every position reads the same pixel (typically background or dark).
    Same(u32),
    /// Anything else: read slot by slot.
    Scattered,
}

/// The [`PortMap::runs`] table of a bitplanes port.
pub fn pack_runs(
    slots: &[u32],
    order: &[[u8; 3]],
    addresses: u32,
    positions: u32,
) -> Vec<[Run; 2]> {
    let positions = positions as usize;
    let groups = positions / PACK_GROUP;
    let mut runs = Vec::with_capacity(addresses as usize * groups);
    for a in 0..addresses as usize {
        for g in 0..groups {
            let p = g * PACK_GROUP;
            let ord = &order[p..p + PACK_GROUP];
            let uniform = ord.iter().all(|o| *o == ord[0]) && ord[0].iter().all(|&c| c < 3);
            let line = |line: usize| -> Run {
                let s = |j: usize| slots[(a * positions + p + j) * 2 + line];
                let first = s(0);
                let step =
                    |d: i64| (0..PACK_GROUP).all(|j| s(j) as i64 == first as i64 + d * j as i64);
                if !uniform {
                    Run::Scattered
                } else if step(1) {
                    Run::Forward(first)
                } else if step(-1) {
                    Run::Reverse(first)
                } else if step(0) {
                    Run::Same(first)
                } else {
                    Run::Scattered
                }
            };
            runs.push([line(0), line(1)]);
        }
    }
    runs
}

impl PortMap {
    /// How this port's codes are made.
    pub fn quant(&self) -> Quant {
        Quant {
            depth: self.depth,
            encoding: self.encoding,
        }
    }

    /// Bit planes (bitplanes) or 1.
    pub fn planes(&self) -> u32 {
        match self.format {
            OutputFormat::Bitplanes => self.depth,
            _ => 1,
        }
    }

    /// Size of one frame of this port in bytes.
    pub fn byte_len(&self) -> usize {
        match self.format {
            OutputFormat::Bitplanes => {
                self.addresses as usize * self.depth as usize * self.positions as usize
            }
            OutputFormat::Rgb8 | OutputFormat::Canvas => self.positions as usize * 3,
            OutputFormat::Rgb16 => self.positions as usize * 6,
        }
    }
}

/// Where one module sits in its chain and on the canvas.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ModuleLayout {
    /// Module type name.
    #[serde(rename = "type")]
    pub kind: String,
    /// Columns, rows of the module.
    pub size: [u32; 2],
    /// Canvas position of the rotated footprint.
    pub at: [i64; 2],
    /// Rotation in degrees.
    pub rotate: u32,
    /// Mirroring.
    pub mirror: Mirror,
    /// Mapper name (bitplanes ports only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapper: Option<String>,
    /// Odd rows run right to left (pixel-stream ports only).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub serpentine: bool,
    /// Colour order as written, e.g. "GRB".
    pub color_order: String,
    /// First position (bitplanes) or pixel (streams) of this module in the port buffer.
    pub first: u32,
    /// Positions or pixels it contributes.
    pub count: u32,
}

/// A run of canvas pixels on one row that use one calibration matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CalSpan {
    /// First pixel (canvas index).
    pub start: u32,
    /// One past the last pixel.
    pub end: u32,
    /// Index into [`Geometry::calibrations`].
    pub matrix: u32,
}

/// The compiled wall.
#[derive(Debug, Clone, PartialEq)]
pub struct Geometry {
    /// Canvas width.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// Where the canvas lies on the show canvas (the whole show unless the wall says
    /// `show` and `origin`).
    pub section: crate::place::Section,
    /// Ports in wall order.
    pub ports: Vec<PortMap>,
    /// Calibration matrices of modules that have one; pixels outside every span use identity.
    pub calibrations: Vec<[[f32; 3]; 3]>,
    /// Calibrated runs, sorted by start, disjoint.
    pub cal_spans: Vec<CalSpan>,
    /// The wall's transfer curve when compiled (what display-encoded codes decode with in
    /// the emulator).
    pub transfer: Transfer,
    /// The wall's gamma when compiled (for [`Transfer::Power`]).
    pub gamma: f64,
}

impl Geometry {
    /// Compile a validated wall. Cost is proportional to the number of LEDs; do it once.
    pub fn compile(wall: &Wall) -> Geometry {
        let (w, h) = (wall.width, wall.height);
        let canvas_len = w as usize * h as usize;
        let background = canvas_len as u32;
        let dark = background + 1;
        let index_of = |(cx, cy): (i64, i64)| -> u32 {
            if cx >= 0 && cy >= 0 && cx < w as i64 && cy < h as i64 {
                (cy as u32) * w + cx as u32
            } else {
                background
            }
        };
        let mut ports = Vec::with_capacity(wall.outputs.len());
        let mut calibrations = Vec::new();
        let mut cal_spans = Vec::new();
        for out in &wall.outputs {
            let mut modules = Vec::with_capacity(out.modules.len());
            let (addresses, positions, slots, order, depth, runs);
            match out.format {
                OutputFormat::Bitplanes => {
                    let scan = out.modules.first().and_then(|m| m.kind.scan).unwrap_or(1);
                    let total: u32 = out
                        .modules
                        .iter()
                        .map(|m| m.kind.mapper.positions(m.kind.cols))
                        .sum();
                    let mut s = vec![dark; scan as usize * total as usize * 2];
                    let mut o = Vec::with_capacity(total as usize);
                    let mut first = 0u32;
                    for m in &out.modules {
                        let t = &m.kind;
                        let count = t.mapper.positions(t.cols);
                        for y in 0..t.rows {
                            for x in 0..t.cols {
                                let (mx, my) = t.mapper.map(x, y, t.cols, t.rows);
                                let (a, line) = (my % scan, my / scan);
                                let slot = ((a * total + first + mx) * 2 + line) as usize;
                                s[slot] = index_of(m.to_canvas(x, y));
                            }
                        }
                        o.extend(std::iter::repeat_n(t.color_order, count as usize));
                        modules.push(layout(m, first, count, true));
                        first += count;
                    }
                    runs = pack_runs(&s, &o, scan, total);
                    (addresses, positions, slots, order) = (scan, total, s, o);
                    depth = wall.color.bit_depth;
                }
                OutputFormat::Rgb8 | OutputFormat::Rgb16 => {
                    let total: u32 = out.modules.iter().map(|m| m.kind.cols * m.kind.rows).sum();
                    let mut s = Vec::with_capacity(total as usize);
                    let mut o = Vec::with_capacity(total as usize);
                    for m in &out.modules {
                        let t = &m.kind;
                        modules.push(layout(m, s.len() as u32, t.cols * t.rows, false));
                        for y in 0..t.rows {
                            for i in 0..t.cols {
                                let x = if t.serpentine && y % 2 == 1 {
                                    t.cols - 1 - i
                                } else {
                                    i
                                };
                                s.push(index_of(m.to_canvas(x, y)));
                                o.push(t.color_order);
                            }
                        }
                    }
                    (addresses, positions, slots, order) = (1, total, s, o);
                    runs = Vec::new();
                    depth = if out.format == OutputFormat::Rgb8 {
                        8
                    } else {
                        16
                    };
                }
                OutputFormat::Canvas => {
                    let region = out.canvas.unwrap_or(CanvasPort {
                        at: [0, 0],
                        size: [w, h],
                        encoding: Encoding::Display,
                    });
                    let [x0, y0] = region.at;
                    let [rw, rh] = region.size;
                    let s: Vec<u32> = (y0..y0 + rh)
                        .flat_map(|y| (x0..x0 + rw).map(move |x| index_of((x as i64, y as i64))))
                        .collect();
                    let o = vec![[0, 1, 2]; s.len()];
                    (addresses, positions, slots, order) = (1, s.len() as u32, s, o);
                    runs = Vec::new();
                    depth = 8;
                }
            }
            for m in &out.modules {
                let Some(cal) = m.calibration else { continue };
                let matrix = calibrations.len() as u32;
                calibrations.push(cal);
                let (fw, fh) = m.footprint();
                let x0 = m.at[0].clamp(0, w as i64) as u32;
                let x1 = (m.at[0] + fw as i64).clamp(0, w as i64) as u32;
                let y0 = m.at[1].clamp(0, h as i64) as u32;
                let y1 = (m.at[1] + fh as i64).clamp(0, h as i64) as u32;
                if x0 < x1 {
                    for y in y0..y1 {
                        cal_spans.push(CalSpan {
                            start: y * w + x0,
                            end: y * w + x1,
                            matrix,
                        });
                    }
                }
            }
            let canvas = match out.format {
                OutputFormat::Canvas => out.canvas,
                _ => None,
            };
            ports.push(PortMap {
                name: out.name.clone(),
                format: out.format,
                depth,
                encoding: canvas.map_or(Encoding::Linear, |c| c.encoding),
                canvas,
                addresses,
                positions,
                slots,
                order,
                modules,
                runs,
            });
        }
        cal_spans.sort_by_key(|s| s.start);
        Geometry {
            width: w,
            height: h,
            section: crate::place::Section {
                show: wall.show,
                origin: wall.origin,
                size: [w, h],
            },
            ports,
            calibrations,
            cal_spans,
            transfer: wall.color.transfer,
            gamma: wall.color.gamma,
        }
    }

    /// Pixels in the canvas (without the two extra pixels).
    pub fn canvas_pixels(&self) -> usize {
        self.width as usize * self.height as usize
    }

    /// Pixels in a canvas buffer: the canvas, the background pixel and the dark pixel.
    pub fn buffer_pixels(&self) -> usize {
        self.canvas_pixels() + 2
    }

    /// Index of the background pixel in a canvas buffer.
    pub fn background_pixel(&self) -> u32 {
        self.canvas_pixels() as u32
    }

    /// Index of the always-dark pixel in a canvas buffer.
    pub fn dark_pixel(&self) -> u32 {
        self.canvas_pixels() as u32 + 1
    }

    /// Distinct quantizations the ports need (depth, then encoding), ascending.
    pub fn quants(&self) -> Vec<Quant> {
        let mut d: Vec<Quant> = self.ports.iter().map(PortMap::quant).collect();
        d.sort_unstable();
        d.dedup();
        d
    }
}

fn layout(m: &crate::wall::PlacedModule, first: u32, count: u32, bitplanes: bool) -> ModuleLayout {
    let t = &m.kind;
    ModuleLayout {
        kind: t.name.clone(),
        size: [t.cols, t.rows],
        at: m.at,
        rotate: m.rotate,
        mirror: m.mirror,
        mapper: bitplanes.then(|| t.mapper.name().to_string()),
        serpentine: !bitplanes && t.serpentine,
        color_order: t
            .color_order
            .iter()
            .map(|&c| ['R', 'G', 'B'][c as usize])
            .collect(),
        first,
        count,
    }
}
