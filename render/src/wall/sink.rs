//! Sink URLs (design §7), parsed and checked when the wall is loaded.

use std::path::PathBuf;

/// Where an output port's frames go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkUrl {
    /// Discard (benchmarks).
    Null,
    /// Frames back to back in a file, with a JSON sidecar.
    File(PathBuf),
    /// PNG previews of the emulated wall.
    Preview(PathBuf),
    /// DDP over UDP.
    Ddp {
        /// Destination host.
        host: String,
        /// UDP port.
        port: u16,
    },
    /// Art-Net 4 ArtDmx + ArtSync.
    ArtNet {
        /// Destination host; `None` broadcasts.
        host: Option<String>,
        /// UDP port.
        port: u16,
        /// First universe (15-bit port address).
        universe: u16,
    },
    /// sACN / E1.31 with universe sync.
    Sacn {
        /// Destination host; `None` uses each universe's multicast group.
        host: Option<String>,
        /// UDP port.
        port: u16,
        /// First universe, 1..63999.
        universe: u16,
        /// Synchronization universe; `None` sends no sync.
        sync: Option<u16>,
        /// Priority 0..200.
        priority: u8,
        /// The interface multicast leaves by (`iface=`): an interface name or one of its IPv4
        /// addresses. `None`: the kernel's choice (the route to the group). Only without a
        /// host.
        iface: Option<String>,
    },
    /// Colorlight 5A-75-class receiving cards over raw Ethernet (design §7.1).
    Colorlight {
        /// The network interface the cards hang off.
        iface: String,
        /// Canvas channel (0 = R, 1 = G, 2 = B) sent in wire slot k (default BGR).
        order: [u8; 3],
        /// Who dims.
        dim: Dim,
        /// How often the display and brightness packets are sent each tick: 1 or 2.
        repeat: u8,
    },
    /// A window on a monitor of this PC, for a sending card that captures the display
    /// output (design §7.1).
    Display {
        /// Which monitor.
        monitor: MonitorSel,
        /// Top-left of the region inside the monitor, in pixels.
        x: u32,
        /// Top-left of the region inside the monitor, in pixels.
        y: u32,
        /// Borderless fullscreen (default) or a plain window.
        mode: DisplayMode,
    },
}

/// How a `colorlight://` sink dims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dim {
    /// The pipeline dims the pixels; the card's brightness bytes stay at 255.
    #[default]
    Digital,
    /// The card dims (its brightness bytes carry the brightness) and the pixels stay at full
    /// level, keeping grey levels on cards with deep PWM.
    Card,
}

/// The monitor of a `display:` sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonitorSel {
    /// By index from 0, as `ledwall info` lists them.
    Index(u32),
    /// By part of its name (case-insensitive).
    Name(String),
}

/// How a `display:` sink's window is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DisplayMode {
    /// A borderless window covering the whole monitor.
    #[default]
    Fullscreen,
    /// A plain window the size of the region.
    Window,
}

impl DisplayMode {
    /// The name used in sink URLs.
    pub fn name(self) -> &'static str {
        match self {
            DisplayMode::Fullscreen => "fullscreen",
            DisplayMode::Window => "window",
        }
    }
}

impl SinkUrl {
    /// Parse a sink URL; the error says what is wrong with it.
    pub fn parse(url: &str) -> Result<SinkUrl, String> {
        let url = url.trim();
        if url == "null" {
            return Ok(SinkUrl::Null);
        }
        if let Some(path) = url.strip_prefix("file:") {
            return nonempty_path(path, "file").map(SinkUrl::File);
        }
        if let Some(path) = url.strip_prefix("preview:") {
            return nonempty_path(path, "preview").map(SinkUrl::Preview);
        }
        if let Some(rest) = url.strip_prefix("display:") {
            return parse_display(rest);
        }
        if let Some(rest) = url.strip_prefix("colorlight://") {
            return parse_colorlight(rest);
        }
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            format!("\"{url}\" is not a sink: expected null, file:PATH, preview:PATH, display:[MONITOR], ddp://, artnet:// or sacn://")
        })?;
        let (authority, query) = match rest.split_once('?') {
            Some((a, q)) => (a, q),
            None => (rest, ""),
        };
        let authority = authority.trim_end_matches('/');
        let mut params = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| format!("query parameter \"{pair}\" has no value"))?;
            params.push((k, v));
        }
        let default_port = match scheme {
            "ddp" => 4048,
            "artnet" => 6454,
            "sacn" => 5568,
            _ => {
                return Err(format!(
                    "unknown sink scheme \"{scheme}\" (expected ddp, artnet or sacn)"
                ));
            }
        };
        let (host, port) = split_host_port(authority, default_port)?;
        let get = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let allowed: &[&str] = match scheme {
            "ddp" => &[],
            "artnet" => &["universe"],
            _ => &["universe", "sync", "priority", "iface"],
        };
        if let Some((k, _)) = params.iter().find(|(k, _)| !allowed.contains(k)) {
            return Err(format!("{scheme} sinks take no parameter \"{k}\""));
        }
        match scheme {
            "ddp" => Ok(SinkUrl::Ddp {
                host: host.ok_or("a ddp sink needs a host, e.g. ddp://192.168.1.50")?,
                port,
            }),
            "artnet" => Ok(SinkUrl::ArtNet {
                host,
                port,
                universe: parse_num(get("universe").unwrap_or("0"), "universe", 0, 32767)? as u16,
            }),
            _ => Ok(SinkUrl::Sacn {
                iface: match get("iface") {
                    None => None,
                    Some(_) if host.is_some() => {
                        return Err(format!(
                            "iface chooses the interface of multicast; a sacn sink with a host \
                             (\"{authority}\") sends unicast: drop iface or the host"
                        ));
                    }
                    Some(v) => Some(parse_iface(v)?),
                },
                host,
                port,
                universe: parse_num(get("universe").unwrap_or("1"), "universe", 1, 63999)? as u16,
                sync: get("sync")
                    .map(|s| parse_num(s, "sync", 1, 63999).map(|v| v as u16))
                    .transpose()?,
                priority: parse_num(get("priority").unwrap_or("100"), "priority", 0, 200)? as u8,
            }),
        }
    }
}

/// An `iface=` value: an IPv4 address, or an interface name (1 to 15 letters, digits, '-',
/// '_', '.', '@', ':').
fn parse_iface(v: &str) -> Result<String, String> {
    if v.parse::<std::net::Ipv4Addr>().is_ok() || is_iface_name(v) {
        Ok(v.to_string())
    } else {
        Err(format!(
            "iface \"{v}\" is neither a network interface name (1 to 15 letters, digits, '-', '_', \
             '.') nor an IPv4 address, e.g. iface=eth1 or iface=192.168.1.10"
        ))
    }
}

fn is_iface_name(iface: &str) -> bool {
    !iface.is_empty()
        && iface.len() <= 15
        && iface
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@:".contains(&b))
}

/// `colorlight://IFACE[?order=BGR&dim=digital|card&repeat=1|2]`.
fn parse_colorlight(rest: &str) -> Result<SinkUrl, String> {
    let (iface, query) = rest.split_once('?').unwrap_or((rest, ""));
    let iface = iface.trim_end_matches('/');
    if !is_iface_name(iface) {
        return Err(format!(
            "\"{iface}\" is not a network interface name (1 to 15 letters, digits, '-', '_', '.'), e.g. colorlight://eth1"
        ));
    }
    let (mut order, mut dim, mut repeat) = ([2, 1, 0], Dim::default(), 1);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("query parameter \"{pair}\" has no value"))?;
        match k {
            "order" => {
                order = super::parse_color_order(v)
                    .ok_or_else(|| format!("order \"{v}\" is not a permutation of RGB"))?;
            }
            "dim" => {
                dim = match v {
                    "digital" => Dim::Digital,
                    "card" => Dim::Card,
                    _ => return Err(format!("dim \"{v}\" must be digital or card")),
                }
            }
            "repeat" => repeat = parse_num(v, "repeat", 1, 2)? as u8,
            _ => {
                return Err(format!(
                    "colorlight sinks take no parameter \"{k}\" (order, dim and repeat)"
                ));
            }
        }
    }
    Ok(SinkUrl::Colorlight {
        iface: iface.to_string(),
        order,
        dim,
        repeat,
    })
}

/// `display:[MONITOR][?x=X&y=Y&mode=fullscreen|window]`.
fn parse_display(rest: &str) -> Result<SinkUrl, String> {
    let (monitor, query) = rest.split_once('?').unwrap_or((rest, ""));
    let monitor = match monitor.trim() {
        "" => MonitorSel::Index(0),
        m if m.bytes().all(|b| b.is_ascii_digit()) => MonitorSel::Index(
            m.parse()
                .map_err(|_| format!("monitor index \"{m}\" is too large"))?,
        ),
        m => MonitorSel::Name(m.to_string()),
    };
    let (mut x, mut y, mut mode) = (0, 0, DisplayMode::default());
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("query parameter \"{pair}\" has no value"))?;
        match k {
            "x" => x = parse_num(v, "x", 0, 65535)?,
            "y" => y = parse_num(v, "y", 0, 65535)?,
            "mode" => {
                mode = match v {
                    "fullscreen" => DisplayMode::Fullscreen,
                    "window" => DisplayMode::Window,
                    _ => {
                        return Err(format!("mode \"{v}\" must be fullscreen or window"));
                    }
                }
            }
            _ => {
                return Err(format!(
                    "display sinks take no parameter \"{k}\" (x, y and mode)"
                ));
            }
        }
    }
    Ok(SinkUrl::Display {
        monitor,
        x,
        y,
        mode,
    })
}

fn nonempty_path(path: &str, kind: &str) -> Result<PathBuf, String> {
    if path.is_empty() {
        Err(format!(
            "a {kind} sink needs a path, e.g. {kind}:out/wall.bin"
        ))
    } else {
        Ok(PathBuf::from(path))
    }
}

fn parse_num(s: &str, name: &str, min: u32, max: u32) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(format!(
            "{name} \"{s}\" must be an integer in {min}..={max}"
        )),
    }
}

fn split_host_port(authority: &str, default_port: u16) -> Result<(Option<String>, u16), String> {
    if authority.is_empty() {
        return Ok((None, default_port));
    }
    // [v6]:port, [v6], host:port, host
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("\"{authority}\": unclosed [ in an IPv6 address"))?;
        match after.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if after.is_empty() => (h, None),
            None => {
                return Err(format!(
                    "\"{authority}\": unexpected \"{after}\" after the address"
                ));
            }
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/' || c == '@') {
        return Err(format!("\"{host}\" is not a valid host"));
    }
    let port = match port {
        Some(p) => match p.parse::<u16>() {
            Ok(v) if v > 0 => v,
            _ => return Err(format!("port \"{p}\" must be an integer in 1..=65535")),
        },
        None => default_port,
    };
    Ok((Some(host.to_string()), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(SinkUrl::parse("null"), Ok(SinkUrl::Null));
        assert_eq!(
            SinkUrl::parse("file:out/a.bin"),
            Ok(SinkUrl::File("out/a.bin".into()))
        );
        assert_eq!(
            SinkUrl::parse("ddp://127.0.0.1"),
            Ok(SinkUrl::Ddp {
                host: "127.0.0.1".into(),
                port: 4048
            })
        );
        assert_eq!(
            SinkUrl::parse("artnet://10.0.0.2:6455?universe=3"),
            Ok(SinkUrl::ArtNet {
                host: Some("10.0.0.2".into()),
                port: 6455,
                universe: 3
            })
        );
        assert_eq!(
            SinkUrl::parse("sacn://?universe=5&sync=9&priority=150"),
            Ok(SinkUrl::Sacn {
                host: None,
                port: 5568,
                universe: 5,
                sync: Some(9),
                priority: 150,
                iface: None
            })
        );
        assert_eq!(
            SinkUrl::parse("sacn://?universe=5&iface=eth1"),
            Ok(SinkUrl::Sacn {
                host: None,
                port: 5568,
                universe: 5,
                sync: None,
                priority: 100,
                iface: Some("eth1".into())
            })
        );
        assert_eq!(
            SinkUrl::parse("sacn://?iface=10.0.0.1"),
            Ok(SinkUrl::Sacn {
                host: None,
                port: 5568,
                universe: 1,
                sync: None,
                priority: 100,
                iface: Some("10.0.0.1".into())
            })
        );
        assert_eq!(
            SinkUrl::parse("ddp://[::1]:4049"),
            Ok(SinkUrl::Ddp {
                host: "::1".into(),
                port: 4049
            })
        );
        assert_eq!(
            SinkUrl::parse("display:"),
            Ok(SinkUrl::Display {
                monitor: MonitorSel::Index(0),
                x: 0,
                y: 0,
                mode: DisplayMode::Fullscreen
            })
        );
        assert_eq!(
            SinkUrl::parse("display:HDMI?x=1920&y=8&mode=window"),
            Ok(SinkUrl::Display {
                monitor: MonitorSel::Name("HDMI".into()),
                x: 1920,
                y: 8,
                mode: DisplayMode::Window
            })
        );
        assert_eq!(
            SinkUrl::parse("colorlight://eth1"),
            Ok(SinkUrl::Colorlight {
                iface: "eth1".into(),
                order: [2, 1, 0],
                dim: Dim::Digital,
                repeat: 1
            })
        );
        assert_eq!(
            SinkUrl::parse("colorlight://enp3s0?order=GRB&dim=card&repeat=2"),
            Ok(SinkUrl::Colorlight {
                iface: "enp3s0".into(),
                order: [1, 0, 2],
                dim: Dim::Card,
                repeat: 2
            })
        );
        assert_eq!(
            SinkUrl::parse("display:1"),
            Ok(SinkUrl::Display {
                monitor: MonitorSel::Index(1),
                x: 0,
                y: 0,
                mode: DisplayMode::Fullscreen
            })
        );
    }

    #[test]
    fn refuses_with_reasons() {
        for (url, word) in [
            ("udp://x", "unknown sink scheme"),
            ("ddp://", "needs a host"),
            ("ddp://h:0", "port"),
            ("ddp://h:99999", "port"),
            ("artnet://h?universe=40000", "universe"),
            ("sacn://h?universe=0", "universe"),
            ("sacn://h?priority=201", "priority"),
            ("sacn://h?colour=1", "no parameter"),
            ("sacn://10.0.0.9?iface=eth1", "iface"),
            ("sacn://?iface=", "iface"),
            ("sacn://?iface=a/b", "iface"),
            ("sacn://?iface=a-very-long-interface", "iface"),
            ("file:", "needs a path"),
            ("somewhere", "not a sink"),
            ("display:0?x=-1", "x"),
            ("display:0?mode=tiled", "mode"),
            ("display:0?zoom=2", "no parameter"),
            ("display:99999999999", "too large"),
            ("colorlight://", "not a network interface"),
            (
                "colorlight://a-very-long-interface",
                "not a network interface",
            ),
            ("colorlight://eth1?order=RGG", "permutation"),
            ("colorlight://eth1?dim=half", "dim"),
            ("colorlight://eth1?repeat=3", "repeat"),
            ("colorlight://eth1?speed=1", "no parameter"),
        ] {
            let e = SinkUrl::parse(url).unwrap_err();
            assert!(e.contains(word), "{url}: {e}");
        }
    }
}
