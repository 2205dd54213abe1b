//! Output sinks (design §7): where each output port's bytes go at every display tick.
//!
//! A [`Sink`] receives the port buffers routed to it, one [`Sink::send`] per port per tick,
//! then one [`Sink::sync`] that ends the tick: the network sinks send their protocol's sync
//! then (DDP PUSH on the frame's last packet, ArtSync, E1.31 universe sync) so that every
//! controller latches the same frame. [`SinkSet`] opens the sinks of a wall, routes a
//! [`WallFrame`]'s ports to them and syncs them; the playback engine drives it.
//!
//! Ports that name the same sink URL share one sink: their buffers follow each other in wall
//! order (DDP byte offsets continue, Art-Net and sACN universes continue, a `file` sink
//! writes them back to back), and the sink sends one sync for all of them.
//!
//! * [`null`]: counts frames and bytes.
//! * [`file`]: frames back to back in a file, with a JSON sidecar (design §5).
//! * [`preview`]: a PNG of the emulated wall every N ticks, encoded off the output thread.
//! * [`ddp`], [`artnet`], [`sacn`]: the wire protocols, each a pure encoder (bytes into a
//!   caller's packet buffer) plus a UDP sink around it.
//! * [`terminal`]: a live view of the wall in the terminal (`ledwall play`'s default).
//! * [`colorlight`]: a `canvas` port to Colorlight receiving cards over raw Ethernet.
//! * [`display`]: a `canvas` port in a window on a monitor, for a sending card
//!   ([`crate::display`] shows it).
//!
//! A sink that cannot open at start for a reason that may pass (its host does not resolve
//! yet, its interface is not there yet: [`SinkError::is_transient`]) does not stop the show:
//! [`SinkSet::open`] puts a [`PendingSink`] in its place, which retries in the background and
//! says why it waits ([`Sink::waiting`]) while the other sinks play. [`SinkSet::close`] ends
//! the streams at stop ([`Sink::close`]: sACN's stream-terminated packets), and
//! [`SinkSet::reopen`] builds the set of a reloaded wall, keeping the sinks that did not
//! change.
//!
//! Sending never fails the caller: errors are counted in [`SinkStats::errors`] and logged
//! through `tracing` at most once a second per sink, with the count since the last line.
//! Steady-state sending through the null, DDP, Art-Net and sACN sinks allocates nothing:
//! packet buffers are fixed arrays owned by the sink and destinations are resolved once.

pub mod artnet;
pub mod colorlight;
pub mod ddp;
pub mod display;
pub mod file;
pub mod null;
pub mod preview;
pub mod sacn;
pub mod terminal;
mod udp;

use ledwall_render::frame::PortBuffer;
use ledwall_render::wall::{Dim, MonitorSel, OutputFormat, SinkUrl};
use ledwall_render::{Geometry, Wall, WallFrame};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use artnet::ArtNetSink;
pub use colorlight::ColorlightSink;
pub use ddp::DdpSink;
pub use display::{DisplaySink, Displays};
pub use file::FileSink;
pub use null::NullSink;
pub use preview::PreviewSink;
pub use sacn::SacnSink;
pub use terminal::TerminalSink;

/// Bytes of port data per Art-Net or sACN universe: 170 RGB pixels (85 at 16 bits), so no
/// pixel straddles two universes (what WLED, FPP and most nodes assume).
pub const UNIVERSE_BYTES: usize = 510;

/// Least time between two log lines about one sink's errors.
pub const ERROR_LOG_INTERVAL: Duration = Duration::from_secs(1);

/// An output driver: receives port buffers at each tick and ends the tick with a sync.
///
/// The caller (the output thread) calls, at every tick, [`send`](Sink::send) once for each
/// port routed to the sink, then [`sync`](Sink::sync) once; [`flush`](Sink::flush) at
/// shutdown. `send` and `sync` never fail the caller: problems are counted in
/// [`stats`](Sink::stats) and logged at a limited rate.
pub trait Sink: Send {
    /// The sink's URL, for logs and statistics.
    fn url(&self) -> &str;

    /// Send the buffer of the sink's port `port` (an index into the ports the sink was opened
    /// with, not the wall's port index) for display tick `tick`. `bytes` must have the port's
    /// length (design §5 / §6); anything else is counted as an error and not sent.
    fn send(&mut self, port: usize, bytes: &[u8], tick: u64);

    /// Send port `port`'s buffer of a frame: what [`send`](Sink::send) does with its bytes
    /// (the default). A sink that can take a port the GPU renderer kept on the GPU
    /// ([`PortBuffer::gpu`], whose bytes were not read back) overrides it.
    fn send_buffer(&mut self, port: usize, buf: &PortBuffer, tick: u64) {
        self.send(port, &buf.bytes, tick);
    }

    /// The brightness this tick's frame leaves to the hardware, 0..=1 (the frame's
    /// `card_level`: 1 unless the renderer dims externally), given before its ports. Only
    /// sinks whose receivers dim themselves use it; the default ignores it.
    fn set_level(&mut self, _level: f32) {}

    /// End tick `tick`: send whatever the protocol uses to latch the frame.
    fn sync(&mut self, tick: u64);

    /// Push out anything buffered (files, pending previews) and report an error that leaves
    /// the output incomplete.
    fn flush(&mut self) -> Result<(), SinkError>;

    /// Counters since the sink was opened.
    fn stats(&self) -> SinkStats;

    /// End of stream: called once, after [`flush`](Sink::flush), when the show stops or a
    /// reload removes the sink. sACN sends its stream-terminated packets here; the default
    /// does nothing beyond the flush.
    fn close(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Why the sink is not sending yet, while it waits in the background for its host to
    /// resolve or its interface to appear (a [`PendingSink`]), e.g. "cannot resolve
    /// wall.local: …"; `None` once it sends (the default).
    fn waiting(&self) -> Option<String> {
        None
    }

    /// Whether the sink is still waiting to open ([`waiting`](Sink::waiting) without the
    /// reason: allocates nothing, for the per-tick telemetry).
    fn is_waiting(&self) -> bool {
        false
    }
}

/// What a sink has done since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinkStats {
    /// Ticks that sent data (syncs after at least one `send`).
    pub frames: u64,
    /// Port data bytes handed to the sink.
    pub bytes: u64,
    /// Datagrams sent (network sinks), PNG files written (preview), frames written (file).
    pub packets: u64,
    /// Failed sends and writes, and refused calls.
    pub errors: u64,
}

/// Why a sink cannot be opened or flushed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The host name did not resolve.
    #[error("{url}: cannot resolve {host}: {source}")]
    Resolve {
        /// The sink URL.
        url: String,
        /// The host that failed.
        host: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// A UDP socket could not be opened or configured.
    #[error("{url}: cannot open a UDP socket: {source}")]
    Socket {
        /// The sink URL.
        url: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// A file could not be created or written.
    #[error("{url}: cannot write {}: {source}", path.display())]
    Io {
        /// The sink URL.
        url: String,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The ports routed to the sink do not fit its protocol or its settings.
    #[error("{url}: {reason}")]
    Config {
        /// The sink URL.
        url: String,
        /// What does not fit.
        reason: String,
    },
    /// The network interface the sink sends through is not there (yet): a USB NIC not
    /// enumerated at boot, an address not assigned yet.
    #[error("{url}: {reason}")]
    NoInterface {
        /// The sink URL.
        url: String,
        /// The interface (a name or an address).
        iface: String,
        /// What is missing, naming the interface.
        reason: String,
    },
}

impl SinkError {
    /// Whether the failure may go away by itself (a host name that does not resolve yet, an
    /// interface that is not there yet): [`SinkSet::open`] then retries the sink in the
    /// background ([`PendingSink`]) instead of failing. Configuration errors are not.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SinkError::Resolve { .. } | SinkError::NoInterface { .. }
        )
    }
}

/// The shape of one port routed to a sink: enough to split and label its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortShape {
    /// Buffer format.
    pub format: OutputFormat,
    /// Bytes per frame.
    pub bytes: usize,
}

/// Settings that sink URLs do not carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkOptions {
    /// sACN source name (at most 63 bytes are sent). Empty: `ledwall <wall name>`.
    pub source_name: String,
    /// sACN CID. `None`: derived from the source name and the sink URL, so it stays the
    /// same across restarts ([`sacn::derive_cid`]).
    pub cid: Option<[u8; 16]>,
    /// A preview every this many ticks. `None`: once a second (the wall's refresh rate).
    pub preview_every: Option<u64>,
    /// The windows `ledwall play` opened for `display:` sinks.
    pub displays: Displays,
}

/// A sink URL written back as text (default ports included), for logs and statistics.
pub fn url_text(url: &SinkUrl) -> String {
    fn host_port(host: &str, port: u16) -> String {
        if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        }
    }
    match url {
        SinkUrl::Null => "null".into(),
        SinkUrl::File(p) => format!("file:{}", p.display()),
        SinkUrl::Preview(p) => format!("preview:{}", p.display()),
        SinkUrl::Ddp { host, port } => format!("ddp://{}", host_port(host, *port)),
        SinkUrl::ArtNet {
            host,
            port,
            universe,
        } => match host {
            Some(h) => format!("artnet://{}?universe={universe}", host_port(h, *port)),
            // Without a host the URL cannot name a port: it is always the default.
            None => format!("artnet://?universe={universe}"),
        },
        SinkUrl::Sacn {
            host,
            port,
            universe,
            sync,
            priority,
            iface,
        } => {
            let mut s = match host {
                Some(h) => format!("sacn://{}?universe={universe}", host_port(h, *port)),
                None => format!("sacn://?universe={universe}"),
            };
            if let Some(u) = sync {
                s.push_str(&format!("&sync={u}"));
            }
            s.push_str(&format!("&priority={priority}"));
            if let Some(i) = iface {
                s.push_str(&format!("&iface={i}"));
            }
            s
        }
        SinkUrl::Colorlight {
            iface,
            order,
            dim,
            repeat,
        } => {
            let order: String = order
                .iter()
                .map(|&c| ['R', 'G', 'B'][usize::from(c.min(2))])
                .collect();
            let dim = match dim {
                Dim::Digital => "digital",
                Dim::Card => "card",
            };
            format!("colorlight://{iface}?order={order}&dim={dim}&repeat={repeat}")
        }
        SinkUrl::Display {
            monitor,
            x,
            y,
            mode,
        } => {
            let monitor = match monitor {
                MonitorSel::Index(i) => i.to_string(),
                MonitorSel::Name(n) => n.clone(),
            };
            format!("display:{monitor}?x={x}&y={y}&mode={}", mode.name())
        }
    }
}

/// The shapes of wall ports `ports`, or an error naming the port that does not exist.
fn port_shapes(
    text: &str,
    ports: &[usize],
    geometry: &Geometry,
) -> Result<Vec<PortShape>, SinkError> {
    let mut shapes = Vec::with_capacity(ports.len());
    for &i in ports {
        let port = geometry.ports.get(i).ok_or_else(|| SinkError::Config {
            url: text.to_string(),
            reason: format!(
                "port {i} does not exist (the wall has {})",
                geometry.ports.len()
            ),
        })?;
        shapes.push(PortShape {
            format: port.format,
            bytes: port.byte_len(),
        });
    }
    Ok(shapes)
}

/// What opening a network or Colorlight sink needs, taken from the wall and checked: owned,
/// so that a [`PendingSink`]'s thread can open it again later without the wall.
#[derive(Debug, Clone)]
struct Plan {
    url: SinkUrl,
    text: String,
    shapes: Vec<PortShape>,
    /// sACN: the source name and CID.
    source_name: String,
    cid: Option<[u8; 16]>,
    /// Colorlight: the canvas region's width and the port's name.
    canvas: Option<(usize, String)>,
}

impl Plan {
    /// The plan for `url` if it is a sink whose opening can fail transiently (DDP, Art-Net,
    /// sACN, Colorlight); `None` for the others. Configuration errors are found here.
    fn new(
        url: &SinkUrl,
        text: &str,
        shapes: &[PortShape],
        ports: &[usize],
        wall: &Wall,
        geometry: &Geometry,
        options: &SinkOptions,
    ) -> Result<Option<Plan>, SinkError> {
        let mut canvas = None;
        match url {
            SinkUrl::Ddp { .. } | SinkUrl::ArtNet { .. } | SinkUrl::Sacn { .. } => {}
            SinkUrl::Colorlight { .. } => {
                let (&[_], &[i]) = (shapes, ports) else {
                    return Err(SinkError::Config {
                        url: text.to_string(),
                        reason: format!(
                            "a colorlight sink sends one canvas port; {} ports are routed to it",
                            shapes.len()
                        ),
                    });
                };
                let Some(region) = geometry.ports.get(i).and_then(|p| p.canvas) else {
                    return Err(SinkError::Config {
                        url: text.to_string(),
                        reason: "colorlight sinks send canvas ports (format = \"canvas\")".into(),
                    });
                };
                let port = geometry.ports.get(i).map_or("?", |p| p.name.as_str());
                canvas = Some((region.size[0] as usize, port.to_string()));
            }
            _ => return Ok(None),
        }
        let source_name = if options.source_name.is_empty() {
            format!("ledwall {}", wall.name)
        } else {
            options.source_name.clone()
        };
        Ok(Some(Plan {
            url: url.clone(),
            text: text.to_string(),
            shapes: shapes.to_vec(),
            source_name,
            cid: options.cid,
            canvas,
        }))
    }

    /// Resolve, open the socket, start the sender: the part that may fail transiently.
    fn open(&self) -> Result<Box<dyn Sink>, SinkError> {
        let text = self.text.clone();
        let shapes = &self.shapes[..];
        Ok(match &self.url {
            SinkUrl::Ddp { host, port } => {
                let dest = udp::resolve(&text, host, *port)?;
                Box::new(DdpSink::new(text, dest, shapes)?)
            }
            SinkUrl::ArtNet {
                host,
                port,
                universe,
            } => {
                let dest = match host {
                    Some(h) => udp::resolve(&text, h, *port)?,
                    None => artnet::broadcast(*port),
                };
                Box::new(ArtNetSink::new(text, dest, *universe, shapes)?)
            }
            SinkUrl::Sacn {
                host,
                port,
                universe,
                sync,
                priority,
                iface,
            } => {
                let dest = match host {
                    Some(h) => sacn::Destination::Unicast(udp::resolve(&text, h, *port)?),
                    None => sacn::Destination::Multicast { port: *port },
                };
                let cid = self
                    .cid
                    .unwrap_or_else(|| sacn::derive_cid(&self.source_name, &text));
                let settings = sacn::Settings {
                    universe: *universe,
                    sync: *sync,
                    priority: *priority,
                    source_name: self.source_name.clone(),
                    cid,
                    iface: iface.clone(),
                };
                Box::new(SacnSink::new(text, dest, settings, shapes)?)
            }
            SinkUrl::Colorlight {
                iface,
                order,
                dim,
                repeat,
            } => {
                let (&[shape], Some((width, port))) = (shapes, &self.canvas) else {
                    return Err(SinkError::Config {
                        url: text,
                        reason: "a colorlight sink sends one canvas port".into(),
                    });
                };
                let options = colorlight::Options {
                    order: *order,
                    dim: *dim,
                    repeat: *repeat,
                };
                let named = |reason: String| format!("port \"{port}\": {reason}");
                let sink = ColorlightSink::new(text, iface, shape, *width, options).map_err(
                    |e| match e {
                        SinkError::Config { url, reason } => SinkError::Config {
                            url,
                            reason: named(reason),
                        },
                        SinkError::NoInterface { url, iface, reason } => SinkError::NoInterface {
                            url,
                            iface,
                            reason: named(reason),
                        },
                        other => other,
                    },
                )?;
                Box::new(sink)
            }
            _ => {
                return Err(SinkError::Config {
                    url: text,
                    reason: "this kind of sink is not opened in the background".into(),
                });
            }
        })
    }
}

/// Open the sink for `url`, fed with the wall ports `ports` (indices into
/// `geometry.ports`, in the order the sink's port numbers follow). Every failure is
/// returned, transient ones too ([`SinkSet::open`] retries those in the background).
pub fn open(
    url: &SinkUrl,
    ports: &[usize],
    wall: &Wall,
    geometry: &Geometry,
    options: &SinkOptions,
) -> Result<Box<dyn Sink>, SinkError> {
    open_with(url, ports, wall, geometry, options, false)
}

/// Like [`open`], but a sink that fails transiently ([`SinkError::is_transient`]: its host
/// does not resolve, its interface is not there) comes back as a [`PendingSink`] that keeps
/// trying in the background. Configuration errors still fail.
pub fn open_or_pending(
    url: &SinkUrl,
    ports: &[usize],
    wall: &Wall,
    geometry: &Geometry,
    options: &SinkOptions,
) -> Result<Box<dyn Sink>, SinkError> {
    open_with(url, ports, wall, geometry, options, true)
}

fn open_with(
    url: &SinkUrl,
    ports: &[usize],
    wall: &Wall,
    geometry: &Geometry,
    options: &SinkOptions,
    pending: bool,
) -> Result<Box<dyn Sink>, SinkError> {
    let text = url_text(url);
    let shapes = port_shapes(&text, ports, geometry)?;
    if let Some(plan) = Plan::new(url, &text, &shapes, ports, wall, geometry, options)? {
        return match plan.open() {
            Err(e) if pending && e.is_transient() => Ok(Box::new(PendingSink::start(plan, e)?)),
            r => r,
        };
    }
    Ok(match url {
        SinkUrl::Null => Box::new(NullSink::new(text, &shapes)),
        SinkUrl::File(path) => Box::new(FileSink::create(text, path, ports, wall, geometry)?),
        SinkUrl::Preview(path) => {
            let every = options
                .preview_every
                .unwrap_or(u64::from(wall.refresh_hz))
                .max(1);
            Box::new(PreviewSink::new(text, path, ports, geometry, every)?)
        }
        SinkUrl::Display { .. } => {
            let Some(mailbox) = options.displays.get(url) else {
                return Err(SinkError::Config {
                    url: text,
                    reason: "no window shows this display (display sinks are shown by \
                             `ledwall play`; a display added by a reload needs a restart)"
                        .into(),
                });
            };
            let [shape] = shapes[..] else {
                return Err(SinkError::Config {
                    url: text,
                    reason: format!(
                        "a display shows one canvas port; {} ports are routed to it",
                        shapes.len()
                    ),
                });
            };
            Box::new(DisplaySink::new(text, shape, Arc::clone(mailbox))?)
        }
        // Planned above.
        SinkUrl::Ddp { .. }
        | SinkUrl::ArtNet { .. }
        | SinkUrl::Sacn { .. }
        | SinkUrl::Colorlight { .. } => {
            return Err(SinkError::Config {
                url: text,
                reason: "internal: a network sink without a plan".into(),
            });
        }
    })
}

/// First wait between two attempts to open a [`PendingSink`]; it doubles after each failed
/// attempt, up to [`RETRY_MAX`].
pub const RETRY_FIRST: Duration = Duration::from_secs(1);
/// Longest wait between two attempts to open a [`PendingSink`].
pub const RETRY_MAX: Duration = Duration::from_secs(30);
/// Least time between two log lines about a pending sink's failed attempts (the first one
/// is always logged).
pub const RETRY_LOG_INTERVAL: Duration = Duration::from_secs(60);
/// The name of a pending sink's retry thread.
pub const RETRY_THREAD: &str = "sink-retry";

/// A sink that could not be opened yet because of a transient failure (its host does not
/// resolve, its interface is not there): it sends nothing, counts nothing, and owns a thread
/// that retries the open with backoff ([`RETRY_FIRST`] doubling to [`RETRY_MAX`]). The
/// output thread picks the opened sink up at a [`sync`](Sink::sync) (a non-blocking channel
/// check) and from then on every call goes to it. Dropping the pending sink ends the thread
/// (at once while it waits, after the attempt under way otherwise).
pub struct PendingSink {
    url: String,
    opened: Option<Box<dyn Sink>>,
    /// The sink, once the retry thread opened it.
    arrival: crossbeam_channel::Receiver<Box<dyn Sink>>,
    /// The last failure, for [`Sink::waiting`].
    reason: Arc<std::sync::Mutex<String>>,
    /// Dropped with the sink: disconnects the retry thread's wait, which ends it.
    _stop: crossbeam_channel::Sender<()>,
}

impl fmt::Debug for PendingSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingSink")
            .field("url", &self.url)
            .field("opened", &self.opened.is_some())
            .finish()
    }
}

impl PendingSink {
    fn start(plan: Plan, first: SinkError) -> Result<PendingSink, SinkError> {
        let url = plan.text.clone();
        tracing::warn!(
            sink = %url,
            "{first}; retrying in the background (the other sinks play meanwhile)"
        );
        let reason = Arc::new(std::sync::Mutex::new(first.to_string()));
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        let (tx, arrival) = crossbeam_channel::bounded(1);
        let shared = Arc::clone(&reason);
        std::thread::Builder::new()
            .name(RETRY_THREAD.into())
            .spawn(move || retry(plan, shared, stopped, tx))
            .map_err(|e| SinkError::Config {
                url: url.clone(),
                reason: format!("cannot start the thread that retries the sink: {e}"),
            })?;
        Ok(PendingSink {
            url,
            opened: None,
            arrival,
            reason,
            _stop: stop,
        })
    }

    /// Whether the sink has been opened (and every call now goes to it).
    pub fn is_open(&self) -> bool {
        self.opened.is_some()
    }
}

/// A pending sink's thread: wait, try again, until the open succeeds or the sink is dropped.
fn retry(
    plan: Plan,
    reason: Arc<std::sync::Mutex<String>>,
    stop: crossbeam_channel::Receiver<()>,
    tx: crossbeam_channel::Sender<Box<dyn Sink>>,
) {
    let started = Instant::now();
    let mut wait = RETRY_FIRST;
    let mut attempts = 1u64;
    let mut logged = Instant::now();
    let mut unlogged = 0u64;
    loop {
        match stop.recv_timeout(wait) {
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            // The pending sink was dropped.
            _ => return,
        }
        attempts += 1;
        match plan.open() {
            Ok(sink) => {
                tracing::info!(
                    sink = %plan.text,
                    attempts,
                    "{}: opened after {attempts} attempts ({:.0} s); sending from now on",
                    plan.text,
                    started.elapsed().as_secs_f64()
                );
                // The receiver is gone when the pending sink was dropped meanwhile.
                let _ = tx.send(sink);
                return;
            }
            Err(e) => {
                let text = e.to_string();
                unlogged += 1;
                if logged.elapsed() >= RETRY_LOG_INTERVAL {
                    tracing::warn!(
                        sink = %plan.text,
                        attempts,
                        "{text}; still retrying ({unlogged} failed attempt(s) since the last \
                         report, {attempts} in all)"
                    );
                    logged = Instant::now();
                    unlogged = 0;
                }
                if let Ok(mut r) = reason.lock() {
                    *r = text;
                }
            }
        }
        wait = (wait * 2).min(RETRY_MAX);
    }
}

impl Sink for PendingSink {
    fn url(&self) -> &str {
        &self.url
    }

    fn send(&mut self, port: usize, bytes: &[u8], tick: u64) {
        if let Some(s) = &mut self.opened {
            s.send(port, bytes, tick);
        }
    }

    fn send_buffer(&mut self, port: usize, buf: &PortBuffer, tick: u64) {
        if let Some(s) = &mut self.opened {
            s.send_buffer(port, buf, tick);
        }
    }

    fn set_level(&mut self, level: f32) {
        if let Some(s) = &mut self.opened {
            s.set_level(level);
        }
    }

    fn sync(&mut self, tick: u64) {
        match &mut self.opened {
            Some(s) => s.sync(tick),
            None => {
                // Picked up here; it gets its first frame at the next tick.
                if let Ok(s) = self.arrival.try_recv() {
                    self.opened = Some(s);
                }
            }
        }
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        match &mut self.opened {
            Some(s) => s.flush(),
            None => Ok(()),
        }
    }

    fn stats(&self) -> SinkStats {
        self.opened.as_ref().map(|s| s.stats()).unwrap_or_default()
    }

    fn close(&mut self) -> Result<(), SinkError> {
        match &mut self.opened {
            Some(s) => s.close(),
            None => Ok(()),
        }
    }

    fn is_waiting(&self) -> bool {
        self.opened.as_ref().is_none_or(|s| s.is_waiting())
    }

    fn waiting(&self) -> Option<String> {
        match &self.opened {
            Some(s) => s.waiting(),
            None => Some(match self.reason.lock() {
                Ok(r) => r.clone(),
                Err(p) => p.into_inner().clone(),
            }),
        }
    }
}

/// What makes two sinks the same for a reload: the URL and, per port, its format, length
/// and canvas region size.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SinkKey {
    url: SinkUrl,
    ports: Vec<(PortShape, Option<[u32; 2]>)>,
}

impl SinkKey {
    fn new(url: &SinkUrl, ports: &[usize], geometry: &Geometry) -> SinkKey {
        SinkKey {
            url: url.clone(),
            ports: ports
                .iter()
                .filter_map(|&i| geometry.ports.get(i))
                .map(|p| {
                    (
                        PortShape {
                            format: p.format,
                            bytes: p.byte_len(),
                        },
                        p.canvas.map(|c| c.size),
                    )
                })
                .collect(),
        }
    }
}

/// Every sink of a wall, and which sink each port goes to.
pub struct SinkSet {
    sinks: Vec<Box<dyn Sink>>,
    /// Per wall port: (sink index, the port's number in that sink).
    routes: Vec<(usize, usize)>,
    /// Per sink, what a reload compares (`None`: from [`SinkSet::from_parts`], never carried
    /// over).
    keys: Vec<Option<SinkKey>>,
}

impl fmt::Debug for SinkSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinkSet")
            .field(
                "sinks",
                &self.sinks.iter().map(|s| s.url()).collect::<Vec<_>>(),
            )
            .field("routes", &self.routes)
            .finish()
    }
}

/// Distinct URLs in order of first use, with their ports, and each port's route.
type Groups<'a> = (Vec<(&'a SinkUrl, Vec<usize>)>, Vec<(usize, usize)>);

fn group<'a>(urls: &'a [SinkUrl], geometry: &Geometry) -> Result<Groups<'a>, SinkError> {
    if urls.len() != geometry.ports.len() {
        return Err(SinkError::Config {
            url: String::new(),
            reason: format!(
                "{} sink URLs for {} ports",
                urls.len(),
                geometry.ports.len()
            ),
        });
    }
    let mut groups: Vec<(&SinkUrl, Vec<usize>)> = Vec::new();
    let mut routes = Vec::with_capacity(urls.len());
    for (i, url) in urls.iter().enumerate() {
        let g = match groups.iter().position(|(u, _)| *u == url) {
            Some(g) => g,
            None => {
                groups.push((url, Vec::new()));
                groups.len() - 1
            }
        };
        let slot = groups[g].1.len();
        groups[g].1.push(i);
        routes.push((g, slot));
    }
    Ok((groups, routes))
}

impl SinkSet {
    /// Open the sinks the wall file names (each output's `sink`).
    pub fn from_wall(
        wall: &Wall,
        geometry: &Geometry,
        options: &SinkOptions,
    ) -> Result<SinkSet, SinkError> {
        let urls: Vec<SinkUrl> = wall.outputs.iter().map(|o| o.sink.clone()).collect();
        SinkSet::open(wall, geometry, &urls, options)
    }

    /// Open one sink per distinct URL in `urls` (one URL per wall port, in wall order, e.g.
    /// the wall's sinks with `--sink PORT=URL` overrides applied). A sink that fails
    /// transiently (a host that does not resolve yet, an interface not there yet) becomes a
    /// [`PendingSink`] retried in the background while the others play; any other failure
    /// fails the set.
    pub fn open(
        wall: &Wall,
        geometry: &Geometry,
        urls: &[SinkUrl],
        options: &SinkOptions,
    ) -> Result<SinkSet, SinkError> {
        let (groups, routes) = group(urls, geometry)?;
        let mut sinks = Vec::with_capacity(groups.len());
        let mut keys = Vec::with_capacity(groups.len());
        for (url, ports) in &groups {
            sinks.push(open_or_pending(url, ports, wall, geometry, options)?);
            keys.push(Some(SinkKey::new(url, ports, geometry)));
        }
        Ok(SinkSet {
            sinks,
            routes,
            keys,
        })
    }

    /// The set for a reloaded wall, made from `old`: sinks whose URL and ports (format,
    /// length, canvas size) are unchanged are carried over as they are (sACN sequence numbers
    /// go on, nothing is terminated), new ones are opened (transient failures pending, as in
    /// [`SinkSet::open`]), and the old sinks no longer used are flushed and closed (sACN
    /// terminates their universes; errors are logged). When a new sink fails, the error comes
    /// back with `old`, untouched.
    // Once per reload, off the hot path: the old set comes back by value.
    #[allow(clippy::result_large_err)]
    pub fn reopen(
        old: SinkSet,
        wall: &Wall,
        geometry: &Geometry,
        urls: &[SinkUrl],
        options: &SinkOptions,
    ) -> Result<SinkSet, (SinkError, SinkSet)> {
        let (groups, routes) = match group(urls, geometry) {
            Ok(g) => g,
            Err(e) => return Err((e, old)),
        };
        // Old sink index to carry over, or the newly opened sink.
        let mut taken = vec![false; old.sinks.len()];
        let mut plan: Vec<Result<usize, Box<dyn Sink>>> = Vec::with_capacity(groups.len());
        let mut keys = Vec::with_capacity(groups.len());
        for (url, ports) in &groups {
            let key = SinkKey::new(url, ports, geometry);
            let same = old
                .keys
                .iter()
                .enumerate()
                .position(|(j, k)| !taken[j] && k.as_ref() == Some(&key));
            match same {
                Some(j) => {
                    taken[j] = true;
                    plan.push(Ok(j));
                }
                None => match open_or_pending(url, ports, wall, geometry, options) {
                    Ok(s) => plan.push(Err(s)),
                    Err(e) => return Err((e, old)),
                },
            }
            keys.push(Some(key));
        }
        let mut olds: Vec<Option<Box<dyn Sink>>> = old.sinks.into_iter().map(Some).collect();
        let mut sinks = Vec::with_capacity(plan.len());
        for p in plan {
            match p {
                Ok(j) => match olds.get_mut(j).and_then(Option::take) {
                    Some(s) => sinks.push(s),
                    None => unreachable!("each old sink is carried over once"),
                },
                Err(s) => sinks.push(s),
            }
        }
        for mut s in olds.into_iter().flatten() {
            if let Err(e) = s.flush().and_then(|()| s.close()) {
                tracing::warn!(sink = s.url(), "closing a sink the reload removed: {e}");
            }
        }
        Ok(SinkSet {
            sinks,
            routes,
            keys,
        })
    }

    /// Build a set from sinks opened by the caller; `routes[i]` = (sink index, port number in
    /// that sink) for wall port `i`.
    pub fn from_parts(
        sinks: Vec<Box<dyn Sink>>,
        routes: Vec<(usize, usize)>,
    ) -> Result<SinkSet, SinkError> {
        if let Some(&(s, _)) = routes.iter().find(|(s, _)| *s >= sinks.len()) {
            return Err(SinkError::Config {
                url: String::new(),
                reason: format!("a port is routed to sink {s} of {}", sinks.len()),
            });
        }
        let keys = sinks.iter().map(|_| None).collect();
        Ok(SinkSet {
            sinks,
            routes,
            keys,
        })
    }

    /// Send every port of `frame` to its sink, then sync every sink: one display tick.
    pub fn send_frame(&mut self, frame: &WallFrame, tick: u64) {
        for sink in &mut self.sinks {
            sink.set_level(frame.card_level);
        }
        for (port, &(s, slot)) in frame.ports.iter().zip(&self.routes) {
            if let Some(sink) = self.sinks.get_mut(s) {
                sink.send_buffer(slot, port, tick);
            }
        }
        for sink in &mut self.sinks {
            sink.sync(tick);
        }
    }

    /// Flush every sink; the first error is returned, after every sink was flushed.
    pub fn flush(&mut self) -> Result<(), SinkError> {
        let mut first = Ok(());
        for sink in &mut self.sinks {
            let r = sink.flush();
            if first.is_ok() {
                first = r;
            }
        }
        first
    }

    /// End of stream: flush every sink, then close it ([`Sink::close`]: sACN sends its
    /// stream-terminated packets). Called once, when the show stops; the first error is
    /// returned, after every sink was flushed and closed.
    pub fn close(&mut self) -> Result<(), SinkError> {
        let mut first = self.flush();
        for sink in &mut self.sinks {
            let r = sink.close();
            if first.is_ok() {
                first = r;
            }
        }
        first
    }

    /// The sinks, in order of first use by the wall's ports.
    pub fn sinks(&self) -> &[Box<dyn Sink>] {
        &self.sinks
    }

    /// Per wall port: (sink index, the port's number in that sink).
    pub fn routes(&self) -> &[(usize, usize)] {
        &self.routes
    }

    /// Each sink's URL and counters.
    pub fn stats(&self) -> Vec<(String, SinkStats)> {
        self.sinks
            .iter()
            .map(|s| (s.url().to_string(), s.stats()))
            .collect()
    }
}

/// Counts errors and logs them at most once per [`ERROR_LOG_INTERVAL`], with the number of
/// errors since the previous line. Allocates nothing unless a line is written.
#[derive(Debug, Default)]
pub(crate) struct ErrorLog {
    total: u64,
    unreported: u64,
    last: Option<Instant>,
}

impl ErrorLog {
    /// Count one error; log it unless a line went out less than the interval ago.
    pub(crate) fn record(&mut self, url: &str, what: fmt::Arguments<'_>) {
        self.total += 1;
        self.unreported += 1;
        let now = Instant::now();
        if self
            .last
            .is_none_or(|t| now.duration_since(t) >= ERROR_LOG_INTERVAL)
        {
            tracing::warn!(
                sink = url,
                errors = self.unreported,
                total = self.total,
                "{url}: {what} ({} error(s) since the last report)",
                self.unreported
            );
            self.unreported = 0;
            self.last = Some(now);
        }
    }

    /// Errors counted so far.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }
}

/// Check a `send` call against the sink's ports; on a mismatch, count it and say so.
pub(crate) fn check_port(
    shapes: &[PortShape],
    port: usize,
    bytes: &[u8],
    url: &str,
    log: &mut ErrorLog,
) -> bool {
    match shapes.get(port) {
        Some(s) if s.bytes == bytes.len() => true,
        Some(s) => {
            log.record(
                url,
                format_args!(
                    "port {port}: got {} bytes, expected {}; not sent",
                    bytes.len(),
                    s.bytes
                ),
            );
            false
        }
        None => {
            log.record(
                url,
                format_args!(
                    "port {port} is not routed to this sink (it has {} ports); not sent",
                    shapes.len()
                ),
            );
            false
        }
    }
}

/// Consecutive universes for `shapes`, [`UNIVERSE_BYTES`] each, every port starting on a
/// fresh universe: the first universe index (from 0) of each port, and the total count.
pub(crate) fn universe_layout(shapes: &[PortShape]) -> (Vec<usize>, usize) {
    let mut firsts = Vec::with_capacity(shapes.len());
    let mut n = 0;
    for s in shapes {
        firsts.push(n);
        n += s.bytes.div_ceil(UNIVERSE_BYTES);
    }
    (firsts, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_written_back_with_their_ports() {
        for (text, want) in [
            ("null", "null"),
            ("file:out/a.bin", "file:out/a.bin"),
            ("ddp://10.0.0.2", "ddp://10.0.0.2:4048"),
            ("ddp://[::1]:9", "ddp://[::1]:9"),
            (
                "artnet://10.0.0.2?universe=3",
                "artnet://10.0.0.2:6454?universe=3",
            ),
            ("artnet://?universe=3", "artnet://?universe=3"),
            (
                "sacn://10.0.0.9?universe=2&sync=7",
                "sacn://10.0.0.9:5568?universe=2&sync=7&priority=100",
            ),
            ("sacn://", "sacn://?universe=1&priority=100"),
            (
                "sacn://?iface=eth1&universe=4",
                "sacn://?universe=4&priority=100&iface=eth1",
            ),
            (
                "sacn://?iface=10.1.2.3",
                "sacn://?universe=1&priority=100&iface=10.1.2.3",
            ),
            ("display:", "display:0?x=0&y=0&mode=fullscreen"),
            (
                "colorlight://eth1",
                "colorlight://eth1?order=BGR&dim=digital&repeat=1",
            ),
            (
                "colorlight://eth1?order=grb&repeat=2",
                "colorlight://eth1?order=GRB&dim=digital&repeat=2",
            ),
            (
                "display:HDMI-1?y=4&mode=window",
                "display:HDMI-1?x=0&y=4&mode=window",
            ),
        ] {
            let url = SinkUrl::parse(text).unwrap();
            assert_eq!(url_text(&url), want, "{text}");
            assert_eq!(SinkUrl::parse(&url_text(&url)).unwrap(), url, "{text}");
        }
    }

    #[test]
    fn unresolved_hosts_and_missing_interfaces_are_transient_config_errors_are_not() {
        let io = || std::io::Error::other("x");
        let url = || "u".to_string();
        assert!(
            SinkError::Resolve {
                url: url(),
                host: "h".into(),
                source: io()
            }
            .is_transient()
        );
        assert!(
            SinkError::NoInterface {
                url: url(),
                iface: "eth9".into(),
                reason: "network interface eth9 does not exist".into()
            }
            .is_transient()
        );
        assert!(
            !SinkError::Config {
                url: url(),
                reason: "r".into()
            }
            .is_transient()
        );
        assert!(
            !SinkError::Socket {
                url: url(),
                source: io()
            }
            .is_transient()
        );
    }

    #[test]
    fn universes_start_fresh_for_each_port() {
        let s = |bytes| PortShape {
            format: OutputFormat::Rgb8,
            bytes,
        };
        let (firsts, n) = universe_layout(&[s(510), s(511), s(3), s(1020)]);
        assert_eq!(firsts, vec![0, 1, 3, 4]);
        assert_eq!(n, 6);
    }

    #[test]
    fn error_log_counts_every_error_but_logs_at_a_limited_rate() {
        let mut log = ErrorLog::default();
        for _ in 0..5 {
            log.record("x", format_args!("boom"));
        }
        assert_eq!(log.total(), 5);
        // The first error was logged, the next four are waiting for the next line.
        assert_eq!(log.unreported, 4);
    }
}
