//! The presentation half of `display:` outputs (design §7.1): borderless windows on chosen
//! monitors (winit, X11) that show RGB8 frames through a wgpu surface at the monitor's
//! vertical blank, pixel-exact.
//!
//! * [`list_monitors`]: the monitors as the window system reports them (`ledwall info`).
//! * [`Mailbox`]: the triple buffer that hands frames from the output thread to a display.
//! * [`run_with_displays`]: runs the window event loop on the calling thread, opens one
//!   window per [`DisplayTarget`], presents each target's newest frame, and runs the playing
//!   itself (`body`) on another thread until it returns.
//!
//! How the pixels stay exact: the surface has a non-sRGB 8-bit format (Bgra8Unorm or
//! Rgba8Unorm), so no transfer curve is applied on the way out; the window is placed and
//! sized in physical pixels (no DPI scaling) and the surface has the window's size, so
//! nothing is scaled; the fragment shader (`display/present.wgsl`) fetches the frame's bytes
//! at integer pixel coordinates from a storage buffer (no sampler, no filtering) and writes
//! code / 255, which the unorm store turns back into the same code.
//!
//! X11 only (XWayland serves Wayland desktops): Wayland has no explicit window placement.
//! winit allows one event loop per process; this module creates it on first use and keeps it
//! for the thread that made it, so [`list_monitors`] and [`run_with_displays`] may both be
//! called, from that one thread (the main thread), and the X server is the one `DISPLAY`
//! named at that first use.

mod app;
mod mailbox;
mod present;

pub use mailbox::{Mailbox, MailboxStats, PresenterState};

use std::cell::RefCell;
use std::sync::Arc;
use winit::application::ApplicationHandler;
use winit::event::WindowEvent;
use winit::event_loop::{ActiveEventLoop, EventLoop};
use winit::platform::run_on_demand::EventLoopExtRunOnDemand;
use winit::window::WindowId;

/// One monitor as the window system reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monitor {
    /// Its index, from 0, in the window system's order (what `display:N` selects).
    pub index: usize,
    /// Its name (the RandR output name on X11, e.g. `HDMI-1`).
    pub name: String,
    /// Its top-left on the X screen, in pixels.
    pub position: [i32; 2],
    /// Its width and height in pixels.
    pub size: [u32; 2],
    /// Its refresh rate in millihertz, if the window system knows it.
    pub refresh_millihertz: Option<u32>,
}

/// Which monitor a display target shows on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonitorSel {
    /// By index, from 0, as [`list_monitors`] lists them.
    Index(usize),
    /// The first monitor whose name contains this, ignoring case.
    Name(String),
}

/// How a display target's window is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A borderless window over the whole monitor; the region is drawn at the target's
    /// offset, everything else is black.
    Fullscreen,
    /// A normal, decorated window of exactly the region's size at the monitor's top-left
    /// plus the offset (a window manager may move it).
    Window,
}

/// One display output to open.
#[derive(Debug, Clone)]
pub struct DisplayTarget {
    /// A name for logs and errors, e.g. the sink URL.
    pub label: String,
    /// The monitor to show on.
    pub monitor: MonitorSel,
    /// The region's top-left inside the monitor (x, y), in pixels.
    pub offset: [u32; 2],
    /// Fullscreen (default of `display:`) or a normal window.
    pub mode: Mode,
    /// The region's width and height in pixels.
    pub size: [u32; 2],
    /// The wall's refresh rate: a warning is logged at start when the monitor's differs by
    /// more than 0.5 Hz.
    pub refresh_hz: u32,
    /// Where the frames come from: `size[0] * size[1] * 3` bytes each.
    pub mailbox: Arc<Mailbox>,
}

/// The device the displays present with, for a renderer that shares it so its frames reach
/// the screen without leaving the GPU (`Mailbox::publish_gpu`). Opened with the adapter's
/// own limits.
#[derive(Debug, Clone)]
pub struct SharedDevice {
    /// The adapter it was opened on.
    pub adapter: wgpu::Adapter,
    /// The device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
}

/// Why displays could not be listed or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DisplayError {
    /// No X server to talk to: `DISPLAY` unset, the server unreachable, Xlib missing.
    #[error("no display: {0}")]
    NoDisplay(String),
    /// The window event loop failed or cannot be used from here.
    #[error("the window event loop: {0}")]
    EventLoop(String),
    /// A target that cannot be shown as described (size, mailbox length).
    #[error("{label}: {reason}")]
    Target {
        /// The target's label.
        label: String,
        /// What is wrong.
        reason: String,
    },
    /// The window system refused a window.
    #[error("{label}: cannot open a window: {reason}")]
    Window {
        /// The target's label.
        label: String,
        /// The window system's error.
        reason: String,
    },
    /// wgpu cannot make a surface of the window.
    #[error("{label}: cannot create a wgpu surface for the window: {reason}")]
    Surface {
        /// The target's label.
        label: String,
        /// wgpu's error.
        reason: String,
    },
    /// No graphics adapter can present to the window, or its device would not open.
    #[error("{label}: no graphics device can present to the window: {reason}")]
    Device {
        /// The target's label.
        label: String,
        /// wgpu's error.
        reason: String,
    },
    /// The surface offers no 8-bit non-sRGB format, so pixels cannot be shown unchanged.
    #[error(
        "{label}: the window's surface offers no Bgra8Unorm or Rgba8Unorm format (needed to \
         show codes unchanged); it offers: {formats}"
    )]
    NoFormat {
        /// The target's label.
        label: String,
        /// The formats it offers.
        formats: String,
    },
    /// Building the present pipeline failed (a wgpu validation error).
    #[error("{label}: the present pipeline: {reason}")]
    Pipeline {
        /// The target's label.
        label: String,
        /// wgpu's error.
        reason: String,
    },
}

/// The event loop's user events.
#[derive(Debug)]
enum UserEvent {
    /// The body thread returned (or panicked): shut down.
    BodyDone,
}

type Loop = EventLoop<UserEvent>;

thread_local! {
    /// winit allows one event loop per process: made on first use, kept for reuse
    /// (`run_app_on_demand`), or the reason it could not be made.
    static EVENT_LOOP: RefCell<Option<Result<Loop, String>>> = const { RefCell::new(None) };
}

fn build_event_loop() -> Result<Loop, String> {
    if std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty()) {
        return Err(
            "DISPLAY is not set (display outputs need an X server or XWayland)".to_string(),
        );
    }
    let mut builder = EventLoop::<UserEvent>::with_user_event();
    // X11 has no main-thread requirement; allowing any thread lets `ledwall info` list
    // monitors from wherever it runs (unit tests run on worker threads).
    #[cfg(target_os = "linux")]
    {
        use winit::platform::x11::EventLoopBuilderExtX11;
        builder.with_any_thread(true);
    }
    builder.build().map_err(|e| match e {
        winit::error::EventLoopError::RecreationAttempt => {
            "the window event loop was already created on another thread (one per process)"
                .to_string()
        }
        other => {
            let display = std::env::var("DISPLAY").unwrap_or_default();
            // winit's message starts with its own source location: keep the reason.
            let message = other.to_string();
            let reason = message
                .split_once(": ")
                .filter(|(at, _)| at.starts_with("os error at "))
                .map_or(message.as_str(), |(_, reason)| reason);
            format!("cannot connect to the X server (DISPLAY {display}): {reason}")
        }
    })
}

/// Run `f` on this thread's event loop, creating it on first use.
fn with_event_loop<R>(
    f: impl FnOnce(&mut Loop) -> Result<R, DisplayError>,
) -> Result<R, DisplayError> {
    EVENT_LOOP.with(|cell| {
        let mut slot = cell.try_borrow_mut().map_err(|_| {
            DisplayError::EventLoop("called from inside the running event loop".to_string())
        })?;
        match slot.get_or_insert_with(build_event_loop) {
            Ok(event_loop) => f(event_loop),
            Err(reason) => Err(DisplayError::NoDisplay(reason.clone())),
        }
    })
}

/// The monitors an active event loop sees, in its order.
fn monitors_of(event_loop: &ActiveEventLoop) -> Vec<(Monitor, winit::monitor::MonitorHandle)> {
    event_loop
        .available_monitors()
        .enumerate()
        .map(|(index, m)| {
            let (pos, size) = (m.position(), m.size());
            let monitor = Monitor {
                index,
                name: m.name().unwrap_or_else(|| format!("monitor {index}")),
                position: [pos.x, pos.y],
                size: [size.width, size.height],
                refresh_millihertz: m.refresh_rate_millihertz().filter(|&r| r > 0),
            };
            (monitor, m)
        })
        .collect()
}

/// List the monitors (for `ledwall info`). The first call connects to the X server named by
/// `DISPLAY` and creates the process's one window event loop, so call it from the thread
/// that will run [`run_with_displays`] (the main thread). Without a display: an error, not a
/// panic.
pub fn list_monitors() -> Result<Vec<Monitor>, DisplayError> {
    struct Lister(Option<Vec<Monitor>>);
    impl ApplicationHandler<UserEvent> for Lister {
        fn resumed(&mut self, event_loop: &ActiveEventLoop) {
            self.0 = Some(monitors_of(event_loop).into_iter().map(|m| m.0).collect());
            event_loop.exit();
        }
        fn window_event(&mut self, _: &ActiveEventLoop, _: WindowId, _: WindowEvent) {}
    }
    with_event_loop(|event_loop| {
        let mut lister = Lister(None);
        event_loop
            .run_app_on_demand(&mut lister)
            .map_err(|e| DisplayError::EventLoop(e.to_string()))?;
        lister.0.ok_or_else(|| {
            DisplayError::EventLoop("the event loop ended before it started".to_string())
        })
    })
}

/// Run the window event loop on the calling thread (the main thread, see [`list_monitors`]),
/// open one window per target, present each target's newest frame, and run `body` on a new
/// thread; when `body` returns, close the windows, leave the event loop and return body's
/// value (a panic in `body` is resumed here). `body` gets the device the windows present
/// with (`None` when no window could open yet), for a GPU renderer to share.
///
/// Errors (no X server, no device that can present to a window, no usable surface format,
/// a mailbox of the wrong length) come before `body` runs, naming the target. Later trouble
/// never ends playing: a missing monitor is logged and retried every 2 s (the target's
/// mailbox says [`PresenterState::WaitingForMonitor`]), a monitor that disappears or changes
/// (position, size, mode) while playing closes or reopens its window, and a window closed by
/// the user or the window system is reopened.
pub fn run_with_displays<R: Send + 'static>(
    targets: Vec<DisplayTarget>,
    body: impl FnOnce(Option<SharedDevice>) -> R + Send + 'static,
) -> Result<R, DisplayError> {
    for t in &targets {
        app::check_target(t)?;
    }
    with_event_loop(|event_loop| {
        let mut app = app::App::new(targets, Box::new(body), event_loop);
        let ran = event_loop.run_app_on_demand(&mut app);
        app.finish(ran.map_err(|e| DisplayError::EventLoop(e.to_string())))
    })
}
