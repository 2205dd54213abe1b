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
    },
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
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            format!("\"{url}\" is not a sink: expected null, file:PATH, preview:PATH, ddp://, artnet:// or sacn://")
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
            _ => &["universe", "sync", "priority"],
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
                priority: 150
            })
        );
        assert_eq!(
            SinkUrl::parse("ddp://[::1]:4049"),
            Ok(SinkUrl::Ddp {
                host: "::1".into(),
                port: 4049
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
            ("file:", "needs a path"),
            ("somewhere", "not a sink"),
        ] {
            let e = SinkUrl::parse(url).unwrap_err();
            assert!(e.contains(word), "{url}: {e}");
        }
    }
}
