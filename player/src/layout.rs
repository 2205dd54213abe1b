//! The JSON description of a rendered frame's port buffers: `frame.json` of
//! `ledwall render`, and the sidecar the `file` sink will write (design §5). Each port says
//! how to read its buffer: format, addresses × planes × positions for bit planes, pixels for
//! pixel streams, the byte count, the output code depth and the module chain.

use ledwall_render::Geometry;
use ledwall_render::geometry::{ModuleLayout, PortMap};
use ledwall_render::wall::OutputFormat;
use serde::Serialize;

/// `frame.json`.
#[derive(Debug, Clone, Serialize)]
pub struct FrameInfo<'a> {
    /// The wall's name.
    pub wall: &'a str,
    /// Canvas `[width, height]`.
    pub canvas: [u32; 2],
    /// The display tick rendered.
    pub frame: u64,
    /// The backend that rendered it.
    pub backend: &'static str,
    /// What was rendered, when it came from a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<InputInfo>,
    /// One entry per output port, in wall order.
    pub ports: Vec<PortInfo<'a>>,
}

/// The source of a rendered frame.
#[derive(Debug, Clone, Serialize)]
pub struct InputInfo {
    /// The file as given on the command line.
    pub file: String,
    /// Its `[width, height]`.
    pub size: [u32; 2],
    /// Bits per channel handed to the renderer: 8 or 16.
    pub bits: u32,
    /// Fit mode.
    pub fit: &'static str,
    /// Filter.
    pub filter: &'static str,
    /// What kind of source: still, animation, image sequence, video, pattern.
    pub kind: &'static str,
    /// The source frame rendered (0 for stills).
    pub source_frame: u64,
}

/// One port's buffer layout.
#[derive(Debug, Clone, Serialize)]
pub struct PortInfo<'a> {
    /// Port name.
    pub name: &'a str,
    /// `bitplanes`, `rgb8`, `rgb16` or `canvas`.
    pub format: &'static str,
    /// The file holding the buffer, relative to the JSON file.
    pub file: String,
    /// Row addresses (bitplanes); 1 for pixel streams.
    pub addresses: u32,
    /// Bit planes (bitplanes); 1 for pixel streams.
    pub planes: u32,
    /// Shift positions along the chain (bitplanes), or pixels (pixel streams).
    pub positions: u32,
    /// Pixels (pixel streams only; equal to `positions`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pixels: Option<u32>,
    /// Bytes in the buffer: addresses × planes × positions for bit planes, pixels × 3
    /// (rgb8) or × 6 (rgb16) for pixel streams.
    pub bytes: usize,
    /// Output code depth in bits.
    pub depth: u32,
    /// `canvas` ports: the rectangle of the canvas they carry, `{ "at": [x, y], "size":
    /// [w, h] }`; rows top to bottom, pixels left to right, R, G, B (design §7.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    /// `canvas` ports: `display` (re-encoded with the wall's transfer curve) or `linear`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<&'static str>,
    /// The module chain, the first at the connector (empty for `canvas` ports).
    pub modules: &'a [ModuleLayout],
}

/// The region of a `canvas` port in `frame.json`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Region {
    /// Canvas position of its top-left pixel.
    pub at: [u32; 2],
    /// Width and height.
    pub size: [u32; 2],
}

impl<'a> PortInfo<'a> {
    /// Describe `port`, whose buffer is stored in `file`.
    pub fn new(port: &'a PortMap, file: String) -> Self {
        let stream = port.format != OutputFormat::Bitplanes;
        PortInfo {
            name: &port.name,
            format: port.format.name(),
            file,
            addresses: port.addresses,
            planes: port.planes(),
            positions: port.positions,
            pixels: stream.then_some(port.positions),
            bytes: port.byte_len(),
            depth: port.depth,
            region: port.canvas.map(|c| Region {
                at: c.at,
                size: c.size,
            }),
            encoding: port.canvas.map(|c| c.encoding.name()),
            modules: &port.modules,
        }
    }
}

/// The file name of a port's buffer: `<port>.bin` (port names are validated as file names).
pub fn port_file(port: &PortMap) -> String {
    format!("{}.bin", port.name)
}

/// Describe every port of `geometry`, each stored in [`port_file`].
pub fn ports(geometry: &Geometry) -> Vec<PortInfo<'_>> {
    geometry
        .ports
        .iter()
        .map(|p| PortInfo::new(p, port_file(p)))
        .collect()
}

/// JSON text for people and tools, fields in declaration order: objects and arrays that hold
/// anything nested are spread over lines; "flat" ones (scalars, arrays of scalars, objects
/// of those) stay on one line, so each module of a long chain is one line. Ends with a
/// newline.
pub fn to_json_text(value: &impl Serialize) -> serde_json::Result<String> {
    let compact = serde_json::to_string(value)?;
    let mut parser = Parser {
        text: &compact,
        at: 0,
    };
    match parser.node() {
        Some(node) if parser.at == compact.len() => {
            let mut out = String::with_capacity(compact.len() * 2);
            write_json(&mut out, &node, 0);
            out.push('\n');
            Ok(out)
        }
        // Not reachable for serde_json's own output; stay correct anyway.
        _ => serde_json::to_string_pretty(value).map(|s| s + "\n"),
    }
}

/// Compact JSON as a tree that keeps the order of object fields; scalars and keys stay as
/// their JSON text.
enum Node<'a> {
    Scalar(&'a str),
    Array(Vec<Node<'a>>),
    Object(Vec<(&'a str, Node<'a>)>),
}

/// A parser for the whitespace-free JSON that `serde_json::to_string` writes.
struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.at += 1;
        Some(c)
    }

    fn string(&mut self) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        if bytes.get(start) != Some(&b'"') {
            return None;
        }
        let mut j = start + 1;
        loop {
            match bytes.get(j)? {
                b'\\' => j += 2,
                b'"' => break,
                _ => j += 1,
            }
        }
        self.at = j + 1;
        self.text.get(start..self.at)
    }

    fn node(&mut self) -> Option<Node<'a>> {
        match self.peek()? {
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Some(Node::Array(items));
                }
                loop {
                    items.push(self.node()?);
                    match self.bump()? {
                        b',' => {}
                        b']' => return Some(Node::Array(items)),
                        _ => return None,
                    }
                }
            }
            b'{' => {
                self.at += 1;
                let mut fields = Vec::new();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                    return Some(Node::Object(fields));
                }
                loop {
                    let key = self.string()?;
                    if self.bump()? != b':' {
                        return None;
                    }
                    fields.push((key, self.node()?));
                    match self.bump()? {
                        b',' => {}
                        b'}' => return Some(Node::Object(fields)),
                        _ => return None,
                    }
                }
            }
            b'"' => self.string().map(Node::Scalar),
            _ => {
                let start = self.at;
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b']' | b'}') {
                        break;
                    }
                    self.at += 1;
                }
                self.text.get(start..self.at).map(Node::Scalar)
            }
        }
    }
}

fn is_scalar(v: &Node<'_>) -> bool {
    matches!(v, Node::Scalar(_))
}

fn is_flat(v: &Node<'_>) -> bool {
    let scalars = |v: &Node<'_>| match v {
        Node::Array(items) => items.iter().all(is_scalar),
        _ => is_scalar(v),
    };
    match v {
        Node::Object(fields) => fields.iter().all(|(_, v)| scalars(v)),
        _ => scalars(v),
    }
}

fn write_inline(out: &mut String, v: &Node<'_>) {
    match v {
        Node::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_inline(out, item);
            }
            out.push(']');
        }
        Node::Object(fields) => {
            out.push('{');
            for (i, (k, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(": ");
                write_inline(out, item);
            }
            out.push('}');
        }
        Node::Scalar(s) => out.push_str(s),
    }
}

fn write_json(out: &mut String, v: &Node<'_>, indent: usize) {
    if is_flat(v) {
        return write_inline(out, v);
    }
    let pad = |out: &mut String, n: usize| out.extend(std::iter::repeat_n(' ', n));
    match v {
        Node::Array(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                pad(out, indent + 2);
                write_json(out, item, indent + 2);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            pad(out, indent);
            out.push(']');
        }
        Node::Object(fields) => {
            out.push_str("{\n");
            for (i, (k, item)) in fields.iter().enumerate() {
                pad(out, indent + 2);
                out.push_str(k);
                out.push_str(": ");
                write_json(out, item, indent + 2);
                out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
            }
            pad(out, indent);
            out.push('}');
        }
        Node::Scalar(s) => out.push_str(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledwall_render::Wall;

    #[test]
    fn bitplane_and_stream_ports_are_described() {
        let wall = Wall::from_toml_str(
            r#"
            name = "t"
            [canvas]
            width = 16
            height = 8
            [color]
            bit_depth = 5
            [module_types.m]
            size = [8, 8]
            scan = 4
            [[outputs]]
            name = "a"
            format = "bitplanes"
            modules = [{ type = "m", at = [0, 0] }]
            [[outputs]]
            name = "b"
            format = "rgb16"
            modules = [{ type = "m", at = [8, 0], mirror = "h" }]
            "#,
            "t.toml",
        )
        .unwrap();
        let g = Geometry::compile(&wall);
        let v = serde_json::to_value(ports(&g)).unwrap();
        assert_eq!(v[0]["name"], "a");
        assert_eq!(v[0]["file"], "a.bin");
        assert_eq!(v[0]["addresses"], 4);
        assert_eq!(v[0]["planes"], 5);
        assert_eq!(v[0]["positions"], 8);
        assert_eq!(v[0]["bytes"], 4 * 5 * 8);
        assert!(v[0].get("pixels").is_none());
        assert_eq!(v[1]["format"], "rgb16");
        assert_eq!(v[1]["pixels"], 64);
        assert_eq!(v[1]["bytes"], 64 * 6);
        assert_eq!(v[1]["depth"], 16);
        let m = &v[1]["modules"][0];
        assert_eq!(m["type"], "m");
        assert_eq!(m["at"], serde_json::json!([8, 0]));
        assert_eq!(m["mirror"], "h");
        assert_eq!(m["count"], 64);
    }

    #[test]
    fn json_text_keeps_flat_values_on_one_line_and_round_trips() {
        use serde_json::Value;
        let v = serde_json::json!({
            "a": [1, 2],
            "b": {"x": "q\"uote", "y": [true, null]},
            "list": [{"k": 1}, {"k": 2}],
            "empty": [],
            "deep": {"inner": {"z": 1}}
        });
        let text = to_json_text(&v).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
        assert!(text.contains("\"a\": [1, 2],\n"), "{text}");
        assert!(
            text.contains("\"b\": {\"x\": \"q\\\"uote\", \"y\": [true, null]}"),
            "{text}"
        );
        assert!(text.contains("    {\"k\": 1},\n    {\"k\": 2}\n"), "{text}");
        assert!(text.ends_with("}\n"));
        let m = serde_json::json!({"ü": "ß\u{1}", "n": -1.5e-7});
        let text = to_json_text(&m).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), m);
    }

    #[test]
    fn json_text_keeps_field_order() {
        #[derive(Serialize)]
        struct S {
            zeta: u32,
            alpha: [u32; 2],
            mid: Vec<[u32; 1]>,
        }
        let text = to_json_text(&S {
            zeta: 1,
            alpha: [2, 3],
            mid: vec![[4]],
        })
        .unwrap();
        assert_eq!(
            text,
            "{\n  \"zeta\": 1,\n  \"alpha\": [2, 3],\n  \"mid\": [\n    [4]\n  ]\n}\n"
        );
    }
}
