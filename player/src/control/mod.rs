//! The control API and page of `ledwall play --control ADDR` (design §13).
//!
//! An HTTP server (axum) on a tokio runtime of its own: two worker threads at a lower
//! priority than the render and output threads. It reaches the engine only through the
//! bounded command channel (`try_send`: a full channel is a 503, never a wait) and the
//! engine's [`Telemetry`] atomics; the output thread takes no lock the server can hold.
//! Files (playlists, the wall) are read and checked on the server's blocking pool before a
//! command is sent, so a bad file is a 400 with every problem and never reaches the engine.
//!
//! * Off unless asked. A non-loopback address needs a token ([`check_listen`]); with a token
//!   every request but `GET /` (the page, which holds no data) needs
//!   `Authorization: Bearer TOKEN`, compared in constant time.
//! * Bodies are at most [`MAX_BODY`] bytes (413); JSON with unknown fields, wrong types or
//!   values out of range is a 400 naming the field; every error is `{"error", "field"}`.
//! * `preview.png` is rendered from a copy of the frame last sent, at most every
//!   [`PREVIEW_EVERY`] (clients asking more often get the same picture).

mod paths;
mod status;
pub mod warnings;

pub use paths::{ContentRoots, PathError};

use crate::engine::Command;
use crate::engine::telemetry::Telemetry;
use crate::playlist::{Playlist, Show};
use crate::reload::{JumpTo, Prepared, PreparedPattern};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use crossbeam_channel::{Sender, TrySendError};
use image::ImageEncoder as _;
use ledwall_render::{ConfigError, Geometry, Wall, WallFrame};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// Largest request body accepted (413 above).
pub const MAX_BODY: usize = 64 * 1024;
/// Least time between two renderings of `preview.png`.
pub const PREVIEW_EVERY: Duration = Duration::from_millis(200);
/// Warnings the status keeps (the newest).
pub const WARNINGS_KEPT: usize = 50;
/// Connections served at once; more wait in the listen backlog (a client cannot use up the
/// player's file descriptors).
pub const MAX_CONNECTIONS: usize = 128;
/// Commands waiting for the render thread before the API answers 503.
pub const COMMAND_QUEUE: usize = 64;
/// Longest fade accepted, in seconds.
pub const MAX_FADE_S: f64 = 3600.0;
/// Longest test pattern, in seconds (a day).
pub const MAX_PATTERN_S: f64 = 86_400.0;
/// How long a test pattern shows when `seconds` is not given.
pub const DEFAULT_PATTERN_S: f64 = 60.0;
/// The control page, served at `/`.
pub const PAGE: &str = include_str!("page.html");

/// What the server runs on.
#[derive(Debug)]
pub struct Ctx {
    /// The engine's counters and published program.
    pub telemetry: Arc<Telemetry>,
    /// Commands to the render thread.
    pub commands: Sender<Command>,
    /// The wall file (reread by `reload`).
    pub wall_path: PathBuf,
    /// `cpu` or `gpu`.
    pub backend: String,
    /// The GPU adapter's name.
    pub adapter: Option<String>,
    /// Where playlists may be switched to.
    pub roots: ContentRoots,
    /// The bearer token; `None`: no authentication (loopback only).
    pub token: Option<String>,
    /// Requests answered with 2xx/3xx.
    pub requests_ok: AtomicU64,
    /// Requests answered with 4xx/5xx.
    pub requests_bad: AtomicU64,
    monitor: Mutex<Monitor>,
    preview: tokio::sync::Mutex<PreviewCache>,
    events: tokio::sync::watch::Sender<Arc<String>>,
}

/// What the server's monitor task keeps: the frame rate and recent warnings.
#[derive(Debug, Default)]
pub struct Monitor {
    /// Ticks a second over the last 2 s.
    pub fps: f64,
    /// Newest last.
    pub warnings: VecDeque<warnings::Warning>,
    samples: VecDeque<(Instant, u64)>,
}

#[derive(Debug, Default)]
struct PreviewCache {
    png: Option<(Instant, Bytes)>,
    spare: Option<WallFrame>,
}

impl Ctx {
    /// A context; the frame buffer for previews is made here.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        telemetry: Arc<Telemetry>,
        commands: Sender<Command>,
        wall_path: PathBuf,
        backend: String,
        adapter: Option<String>,
        roots: ContentRoots,
        token: Option<String>,
    ) -> Ctx {
        let spare = WallFrame::new(&telemetry.shape.load().geometry);
        Ctx {
            telemetry,
            commands,
            wall_path,
            backend,
            adapter,
            roots,
            token,
            requests_ok: AtomicU64::new(0),
            requests_bad: AtomicU64::new(0),
            monitor: Mutex::new(Monitor::default()),
            preview: tokio::sync::Mutex::new(PreviewCache {
                png: None,
                spare: Some(spare),
            }),
            events: tokio::sync::watch::Sender::new(Arc::new(String::new())),
        }
    }

    fn status(&self) -> Value {
        match self.monitor.lock() {
            Ok(m) => status::status(self, &m),
            Err(p) => status::status(self, &p.into_inner()),
        }
    }
}

/// Whether `addr` may listen without a token: loopback only.
pub fn check_listen(addr: SocketAddr, token: Option<&str>) -> Result<(), String> {
    if addr.ip().is_loopback() || token.is_some() {
        Ok(())
    } else {
        Err(format!(
            "--control {addr}: a control address other than loopback needs a token: put one \
             in a file given with --control-token-file, or in LEDWALL_CONTROL_TOKEN \
             (or listen on 127.0.0.1 / [::1])"
        ))
    }
}

/// The token from `file` (trimmed), else from `LEDWALL_CONTROL_TOKEN`; an empty or
/// unreadable one is an error.
pub fn load_token(file: Option<&Path>) -> Result<Option<String>, String> {
    let (token, from) = match file {
        Some(f) => (
            std::fs::read_to_string(f)
                .map_err(|e| format!("--control-token-file {}: {e}", f.display()))?,
            format!("--control-token-file {}", f.display()),
        ),
        None => match std::env::var("LEDWALL_CONTROL_TOKEN") {
            Ok(t) => (t, "LEDWALL_CONTROL_TOKEN".to_string()),
            Err(std::env::VarError::NotPresent) => return Ok(None),
            Err(e) => return Err(format!("LEDWALL_CONTROL_TOKEN: {e}")),
        },
    };
    let token = token.trim().to_string();
    if token.is_empty() {
        return Err(format!("{from}: the token is empty"));
    }
    if token.len() < 16 {
        tracing::warn!(
            "{from}: the control token is short ({} characters); use 16 or more",
            token.len()
        );
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "{from}: the token must be printable ASCII without spaces"
        ));
    }
    Ok(Some(token))
}

/// A running control server; dropping it stops it.
#[derive(Debug)]
pub struct ControlServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ControlServer {
    /// Bind `addr` and serve `ctx` on a runtime of its own. Binding errors are returned here.
    pub fn start(addr: SocketAddr, ctx: Ctx) -> std::io::Result<ControlServer> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(4)
            .thread_name("ledwall-control")
            .on_thread_start(lower_priority)
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let ctx = Arc::new(ctx);
        let thread = std::thread::Builder::new()
            .name("ledwall-control".into())
            .spawn(move || {
                let served = rt.block_on(async move {
                    let listener = Limited {
                        inner: tokio::net::TcpListener::from_std(listener)?,
                        permits: Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS)),
                    };
                    tokio::spawn(monitor(Arc::clone(&ctx)));
                    let app = router(ctx);
                    tokio::select! {
                        r = axum::serve(listener, app) => r,
                        _ = stopped => Ok(()),
                    }
                });
                if let Err(e) = served {
                    tracing::error!("the control server stopped: {e}");
                }
                rt.shutdown_timeout(Duration::from_millis(200));
            })?;
        tracing::info!("control API and page on http://{addr}/");
        Ok(ControlServer {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A TCP listener that serves at most [`MAX_CONNECTIONS`] connections at once.
struct Limited {
    inner: tokio::net::TcpListener,
    permits: Arc<tokio::sync::Semaphore>,
}

/// A connection holding its place among the [`MAX_CONNECTIONS`].
struct Counted {
    stream: tokio::net::TcpStream,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl axum::serve::Listener for Limited {
    type Io = Counted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Counted, SocketAddr) {
        loop {
            // The semaphore is never closed.
            let Ok(permit) = Arc::clone(&self.permits).acquire_owned().await else {
                continue;
            };
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (
                        Counted {
                            stream,
                            _permit: permit,
                        },
                        addr,
                    );
                }
                // Out of descriptors and the like: wait a little, do not spin.
                Err(e) => {
                    tracing::debug!("control: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl tokio::io::AsyncRead for Counted {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Counted {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The server's threads yield to the render and output threads.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid takes no arguments; setpriority on this thread's own id passes no
    // memory.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 5);
    }
}

/// Samples the frame rate, collects warnings and publishes the status for the event
/// stream: on every change of what an operator sees, and at least once a second.
async fn monitor(ctx: Arc<Ctx>) {
    let mut every = tokio::time::interval(Duration::from_millis(250));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_sent = Instant::now();
    let mut last_key = Value::Null;
    loop {
        every.tick().await;
        let now = Instant::now();
        let ticks = ctx.telemetry.ticks.load(Ordering::Relaxed);
        if let Ok(mut m) = ctx.monitor.lock() {
            m.samples.push_back((now, ticks));
            while m
                .samples
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_secs(2))
            {
                m.samples.pop_front();
            }
            if let (Some(a), Some(b)) = (m.samples.front(), m.samples.back()) {
                let dt = b.0.duration_since(a.0).as_secs_f64();
                m.fps = if dt > 0.0 {
                    (b.1 - a.1) as f64 / dt
                } else {
                    0.0
                };
            }
            for w in warnings::drain() {
                if m.warnings.len() == WARNINGS_KEPT {
                    m.warnings.pop_front();
                }
                m.warnings.push_back(w);
            }
        }
        let s = ctx.status();
        // What an operator sees change: everything but the running counters and times.
        let key = json!([
            s["playlist"],
            s["item"]["index"],
            s["next"],
            s["brightness"],
            s["blackout"],
            s["pattern"]["name"],
            s["warnings"].as_array().map_or(0, Vec::len),
            s["render_errors"],
        ]);
        if key != last_key || now.duration_since(last_sent) >= Duration::from_millis(1000) {
            last_key = key;
            last_sent = now;
            ctx.events.send_replace(Arc::new(s.to_string()));
        }
    }
}

/// An error answer: `{"error": ..., "field": ...}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: String,
    field: Option<String>,
    problems: Vec<Value>,
}

impl ApiError {
    fn new(status: StatusCode, error: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error: error.into(),
            field: None,
            problems: Vec::new(),
        }
    }

    fn field(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }

    fn bad(field: &str, error: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, error).field(field)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.error, "field": self.field});
        if !self.problems.is_empty() {
            body["problems"] = Value::Array(self.problems);
        }
        let mut r = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"ledwall\""),
            );
        }
        r
    }
}

type ApiResult = Result<Response, ApiError>;

fn ok(v: Value) -> ApiResult {
    Ok(axum::Json(v).into_response())
}

fn router(ctx: Arc<Ctx>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/v1/status", get(get_status))
        .route("/api/v1/events", get(events))
        .route("/api/v1/playlist", get(get_playlist).post(post_playlist))
        .route("/api/v1/preview.png", get(preview))
        .route("/api/v1/next", post(next))
        .route("/api/v1/previous", post(previous))
        .route("/api/v1/goto", post(goto))
        .route("/api/v1/reload", post(reload))
        .route("/api/v1/brightness", post(brightness))
        .route("/api/v1/blackout", post(blackout))
        .route("/api/v1/pattern", post(pattern))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&ctx), gate))
        .with_state(ctx)
}

/// Authentication and request counting.
async fn gate(State(ctx): State<Arc<Ctx>>, req: Request, next: Next) -> Response {
    let open = req.method() == Method::GET && req.uri().path() == "/";
    let response = match &ctx.token {
        Some(token) if !open => {
            let given = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            let good = given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(token.as_bytes())));
            if good {
                next.run(req).await
            } else {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "this player needs a token: send Authorization: Bearer TOKEN",
                )
                .into_response()
            }
        }
        _ => next.run(req).await,
    };
    let counter = if response.status().as_u16() >= 400 {
        &ctx.requests_bad
    } else {
        &ctx.requests_ok
    };
    counter.fetch_add(1, Ordering::Relaxed);
    response
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no such route; see GET /api/v1/status",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed on this route",
    )
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
        .into_response()
}

async fn get_status(State(ctx): State<Arc<Ctx>>) -> ApiResult {
    ok(ctx.status())
}

async fn get_playlist(State(ctx): State<Arc<Ctx>>) -> ApiResult {
    ok(status::playlist(&ctx))
}

async fn metrics(State(ctx): State<Arc<Ctx>>) -> Response {
    let text = match ctx.monitor.lock() {
        Ok(m) => status::metrics(&ctx, &m),
        Err(p) => status::metrics(&ctx, &p.into_inner()),
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn events(
    State(ctx): State<Arc<Ctx>>,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let mut rx = ctx.events.subscribe();
    rx.mark_changed();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.changed().await.ok()?;
        let data = rx.borrow_and_update().clone();
        Some((Ok(Event::default().event("status").data(data.as_str())), rx))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// The body as `T` (JSON); an empty body is `{}`.
fn parse<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is over {MAX_BODY} bytes"),
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("cannot read the body: {e}"),
            )
        }
    })?;
    let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &body
    };
    let mut de = serde_json::Deserializer::from_slice(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner().to_string();
        let path = e.path().to_string();
        // serde names unknown and missing fields in the message, not in the path.
        let named = ["unknown field `", "missing field `"]
            .iter()
            .find_map(|p| inner.split_once(p))
            .and_then(|(_, rest)| rest.split_once('`'))
            .map(|(f, _)| f.to_string());
        let field = named.unwrap_or(if path == "." || path == "?" {
            String::new()
        } else {
            path
        });
        let mut err = ApiError::new(StatusCode::BAD_REQUEST, inner);
        if !field.is_empty() {
            err.field = Some(field);
        }
        err
    })?;
    de.end()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    Ok(value)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

fn send(ctx: &Ctx, cmd: Command) -> Result<(), ApiError> {
    ctx.commands.try_send(cmd).map_err(|e| match e {
        TrySendError::Full(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the player is busy with earlier commands; try again",
        ),
        TrySendError::Disconnected(_) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the player is stopping")
        }
    })
}

async fn jump(ctx: &Ctx, body: Result<Bytes, BytesRejection>, to: JumpTo) -> ApiResult {
    let _: Empty = parse(body)?;
    if ctx
        .telemetry
        .program
        .load()
        .items
        .iter()
        .all(|i| i.start_s.is_none())
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "nothing in the playlist can play",
        ));
    }
    send(ctx, Command::Jump(to))?;
    ok(json!({"ok": true}))
}

async fn next(State(ctx): State<Arc<Ctx>>, body: Result<Bytes, BytesRejection>) -> ApiResult {
    jump(&ctx, body, JumpTo::Next).await
}

async fn previous(State(ctx): State<Arc<Ctx>>, body: Result<Bytes, BytesRejection>) -> ApiResult {
    jump(&ctx, body, JumpTo::Previous).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GotoBody {
    index: Option<u64>,
    source: Option<String>,
}

async fn goto(State(ctx): State<Arc<Ctx>>, body: Result<Bytes, BytesRejection>) -> ApiResult {
    let b: GotoBody = parse(body)?;
    let program = ctx.telemetry.program.load();
    let count = program.items.len();
    let (index, field) = match (b.index, b.source) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad(
                "index",
                "give \"index\" or \"source\", not both",
            ));
        }
        (None, None) => return Err(ApiError::bad("index", "give \"index\" or \"source\"")),
        (Some(i), None) => {
            let i = usize::try_from(i).unwrap_or(usize::MAX);
            if i >= count {
                return Err(ApiError::bad(
                    "index",
                    format!("{i} is out of range: the playlist has {count} items (0..{count})"),
                ));
            }
            (i, "index")
        }
        (None, Some(s)) => match program.items.iter().position(|it| it.source == s) {
            Some(i) => (i, "source"),
            None => {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("no item of the playlist has the source {s:?}"),
                )
                .field("source"));
            }
        },
    };
    if program.items[index].start_s.is_none() {
        return Err(ApiError::bad(
            field,
            format!(
                "item {index} ({}) cannot play: its media did not open",
                program.items[index].source
            ),
        ));
    }
    send(&ctx, Command::Jump(JumpTo::Item(index)))?;
    ok(json!({"ok": true, "index": index}))
}

/// Load a show as `ledwall play` does: a playlist file, or one media file or pattern.
fn load_show(path: &str) -> Result<Show, ConfigError> {
    let p = Path::new(path);
    if p.is_file() {
        Show::load(p)
    } else {
        Show::with_schedule(Playlist::from_cli_arg(path)?)
    }
}

fn config_problems(e: &ConfigError) -> Vec<Value> {
    e.problems
        .iter()
        .map(
            |p| json!({"file": e.file.display().to_string(), "field": p.field, "reason": p.reason}),
        )
        .collect()
}

fn config_error(what: &str, errors: &[ConfigError]) -> ApiError {
    let problems: Vec<Value> = errors.iter().flat_map(config_problems).collect();
    let first = errors
        .iter()
        .find_map(|e| e.problems.first().map(|p| (e, p)));
    let mut err = ApiError::new(
        StatusCode::BAD_REQUEST,
        match first {
            Some((e, p)) => format!(
                "{what}: {} has {} problem(s), the first: {}: {}",
                e.file.display(),
                e.problems.len(),
                p.field,
                p.reason
            ),
            None => what.to_string(),
        },
    );
    err.field = first.map(|(_, p)| p.field.clone());
    err.problems = problems;
    err
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the worker failed: {e}"),
        )
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaylistBody {
    path: String,
}

async fn post_playlist(
    State(ctx): State<Arc<Ctx>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let b: PlaylistBody = parse(body)?;
    let path = ctx.roots.resolve(&b.path).map_err(|e| match e {
        PathError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m).field("path"),
        PathError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, m).field("path"),
        PathError::Bad(m) => ApiError::bad("path", m),
    })?;
    let p = path.clone();
    let opts = ctx.telemetry.shape.load().open.clone();
    let show = blocking(move || {
        Show::load(&p).map(|show| Prepared::new(show, &opts, jiff::ZonedDateTime::now().datetime()))
    })
    .await?
    .map_err(|e| config_error("the playlist cannot play", &[e]))?;
    send(
        &ctx,
        Command::Playlist {
            path: path.clone(),
            show: Box::new(show),
        },
    )?;
    ok(json!({"ok": true, "path": path.display().to_string()}))
}

async fn reload(State(ctx): State<Arc<Ctx>>, body: Result<Bytes, BytesRejection>) -> ApiResult {
    let _: Empty = parse(body)?;
    let playlist = ctx.telemetry.program.load().path.clone();
    let wall_path = ctx.wall_path.clone();
    let opts = ctx.telemetry.shape.load().open.clone();
    let (show, wall) = blocking(move || {
        let show = load_show(&playlist)
            .map(|show| Prepared::new(show, &opts, jiff::ZonedDateTime::now().datetime()));
        (show, Wall::load(&wall_path))
    })
    .await?;
    let (show, wall) = match (show, wall) {
        (Ok(s), Ok(w)) => (s, w),
        (s, w) => {
            let errors: Vec<ConfigError> = [s.err(), w.err()].into_iter().flatten().collect();
            return Err(config_error(
                "not reloaded, the old files keep playing",
                &errors,
            ));
        }
    };
    send(
        &ctx,
        Command::Reload {
            show: Box::new(show),
            wall: Box::new(wall),
        },
    )?;
    ok(json!({"ok": true}))
}

fn fade(v: Option<f64>) -> Result<f64, ApiError> {
    match v {
        None => Ok(0.0),
        Some(f) if f.is_finite() && (0.0..=MAX_FADE_S).contains(&f) => Ok(f),
        Some(f) => Err(ApiError::bad(
            "fade_s",
            format!("{f} is out of range (0..{MAX_FADE_S} seconds)"),
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BrightnessBody {
    level: f64,
    fade_s: Option<f64>,
}

async fn brightness(State(ctx): State<Arc<Ctx>>, body: Result<Bytes, BytesRejection>) -> ApiResult {
    let b: BrightnessBody = parse(body)?;
    if !(b.level.is_finite() && (0.0..=1.0).contains(&b.level)) {
        return Err(ApiError::bad(
            "level",
            format!("{} is out of range (0..1)", b.level),
        ));
    }
    let fade_s = fade(b.fade_s)?;
    send(
        &ctx,
        Command::Brightness {
            level: b.level,
            fade_s,
        },
    )?;
    ok(json!({"ok": true, "level": b.level, "fade_s": fade_s}))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlackoutBody {
    on: bool,
    fade_s: Option<f64>,
}

async fn blackout(State(ctx): State<Arc<Ctx>>, body: Result<Bytes, BytesRejection>) -> ApiResult {
    let b: BlackoutBody = parse(body)?;
    let fade_s = fade(b.fade_s)?;
    send(&ctx, Command::Blackout { on: b.on, fade_s })?;
    ok(json!({"ok": true, "on": b.on, "fade_s": fade_s}))
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    seconds: Option<f64>,
}

async fn pattern(State(ctx): State<Arc<Ctx>>, body: Result<Bytes, BytesRejection>) -> ApiResult {
    let b: PatternBody = parse(body)?;
    let Some(name) = b.name else {
        return Err(ApiError::bad(
            "name",
            "missing field `name` (a pattern name, or null to end the pattern)",
        ));
    };
    let seconds = match b.seconds {
        None => DEFAULT_PATTERN_S,
        Some(s) if s.is_finite() && s > 0.0 && s <= MAX_PATTERN_S => s,
        Some(s) => {
            return Err(ApiError::bad(
                "seconds",
                format!("{s} is out of range (above 0, at most {MAX_PATTERN_S})"),
            ));
        }
    };
    let (pattern, shown) = match name {
        None => (None, None),
        Some(n) => {
            let n = n.strip_prefix("pattern:").unwrap_or(&n).to_string();
            crate::patterns::Pattern::parse(&n).map_err(|e| ApiError::bad("name", e))?;
            let source = format!("pattern:{n}");
            let opts = ctx.telemetry.shape.load().open.clone();
            let s = source.clone();
            // Drawn here: a pattern of a big canvas takes a while.
            let p = blocking(move || PreparedPattern::new(&s, &opts))
                .await?
                .map_err(|e| ApiError::bad("name", e))?;
            (Some(Box::new(p)), Some(source))
        }
    };
    send(&ctx, Command::Pattern { pattern, seconds })?;
    ok(json!({"ok": true, "pattern": shown, "seconds": seconds}))
}

async fn preview(State(ctx): State<Arc<Ctx>>) -> ApiResult {
    let mut cache = ctx.preview.lock().await;
    if let Some((at, png)) = &cache.png
        && at.elapsed() < PREVIEW_EVERY
    {
        return Ok(png_response(png.clone()));
    }
    let snap = &ctx.telemetry.snapshot;
    let geometry = Arc::clone(&ctx.telemetry.shape.load().geometry);
    let buf = match cache.spare.take() {
        Some(b) => b,
        // A request that timed out earlier: its buffer comes back here.
        None => snap.replies.try_recv().map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the output is not sending frames yet",
            )
        })?,
    };
    // A changed wall took over: a buffer of its shape.
    let buf = if buf.matches(&geometry) {
        buf
    } else {
        WallFrame::new(&geometry)
    };
    if let Err(e) = snap.request.try_send(buf) {
        cache.spare = Some(e.into_inner());
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "a preview is already being taken",
        ));
    }
    let deadline = Instant::now() + Duration::from_secs(1);
    let frame = loop {
        if let Ok(f) = snap.replies.try_recv() {
            break f;
        }
        if Instant::now() >= deadline {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the output has not sent a frame for a second",
            ));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    if !frame.matches(&geometry) {
        cache.spare = Some(frame);
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the wall changed while the preview was taken; ask again",
        ));
    }
    let (frame, png) = blocking(move || {
        let png = encode_png(&geometry, &frame);
        (frame, png)
    })
    .await?;
    cache.spare = Some(frame);
    let png = Bytes::from(png.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode the PNG: {e}"),
        )
    })?);
    cache.png = Some((Instant::now(), png.clone()));
    Ok(png_response(png))
}

fn png_response(png: Bytes) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        png,
    )
        .into_response()
}

/// The emulated wall of `frame` as a PNG.
pub fn encode_png(geometry: &Geometry, frame: &WallFrame) -> Result<Vec<u8>, image::ImageError> {
    let wall = ledwall_render::emulate::emulate(geometry, frame);
    let rgba = wall.to_rgba8();
    let mut out = Vec::with_capacity(rgba.len() / 4);
    image::codecs::png::PngEncoder::new_with_quality(
        &mut out,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::Adaptive,
    )
    .write_image(
        &rgba,
        wall.width,
        wall.height,
        image::ExtendedColorType::Rgba8,
    )?;
    Ok(out)
}
