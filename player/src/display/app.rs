//! The window side of [`run_with_displays`](super::run_with_displays): the winit
//! application that opens, watches and reopens one window per target, starts their
//! presenters, and runs the body thread.
//!
//! Monitors come and go while playing (a sending card unplugged, its output mode changed,
//! the arrangement moved): after every batch of events, and at least every 2 s, the
//! monitor list is compared with what each window was opened on ([`decide`]). winit's X11
//! backend caches that list and refreshes it only when RandR's screen change notification
//! arrives, which Xlib drops unless libXrandr registered its events on the connection
//! ([`watch_randr`] does): so a change is seen as soon as the X server reports it. A target
//! whose monitor no longer resolves is closed and waits for it (retried every 2 s, like a
//! monitor missing at start); one whose monitor moved or changed size or mode is reopened
//! at the new geometry; a waiting target whose monitor is back is reopened at once.
//! Publishing never notices: frames keep landing in the mailbox, and a reopened presenter
//! shows the newest one. The device is kept across reopenings (a GPU renderer may share it).

use super::mailbox::PresenterState;
use super::present::{Gpu, Output, pack_size};
use super::{DisplayError, DisplayTarget, Loop, Mode, Monitor, MonitorSel, UserEvent, monitors_of};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use winit::application::ApplicationHandler;
use winit::dpi::{PhysicalPosition, PhysicalSize};
use winit::event::WindowEvent;
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoopProxy};
use winit::window::{Fullscreen, Window, WindowId};

/// How often a missing monitor (or a window that failed to open) is tried again.
const RETRY: Duration = Duration::from_secs(2);
/// How often a target that keeps failing is logged.
const WARN_EVERY: Duration = Duration::from_secs(60);
/// The refresh period assumed when the monitor does not report one.
const DEFAULT_PERIOD: Duration = Duration::from_micros(16_667);

/// Check what can be checked before any window opens.
pub(super) fn check_target(t: &DisplayTarget) -> Result<(), DisplayError> {
    let bad = |reason: String| DisplayError::Target {
        label: t.label.clone(),
        reason,
    };
    let [w, h] = t.size;
    if w == 0 || h == 0 {
        return Err(bad(format!("the region is empty ({w}x{h})")));
    }
    let want = u64::from(w) * u64::from(h) * 3;
    if want != t.mailbox.byte_len() as u64 {
        return Err(bad(format!(
            "the mailbox holds frames of {} bytes, a {w}x{h} region needs {want}",
            t.mailbox.byte_len()
        )));
    }
    Ok(())
}

/// An open window and its presenter.
struct Open {
    window: Arc<Window>,
    presenter: JoinHandle<()>,
    window_size: Arc<AtomicU64>,
    /// The monitor as it was when the window was opened on it.
    monitor: Monitor,
}

/// One target and where it stands.
struct Slot {
    target: DisplayTarget,
    open: Option<Open>,
    /// When to try opening it again (while not open).
    next_try: Instant,
    /// When a failure to open it was last logged.
    last_warning: Option<Instant>,
    /// It waits because its monitor is missing (not because its window failed to open):
    /// it is opened as soon as the monitor is back.
    monitor_missing: bool,
    /// Since when its monitor, on which it was shown, is gone.
    lost_since: Option<Instant>,
    /// The monitor refresh rate the wall's was last compared with.
    refresh_checked: Option<Option<u32>>,
}

type Body<R> = Box<dyn FnOnce(Option<super::SharedDevice>) -> R + Send>;

/// Sends [`UserEvent::BodyDone`] when dropped: when the body returns or unwinds.
struct NotifyDone(EventLoopProxy<UserEvent>);

impl Drop for NotifyDone {
    fn drop(&mut self) {
        // The loop may be gone already; nothing to tell then.
        let _ = self.0.send_event(UserEvent::BodyDone);
    }
}

pub(super) struct App<R> {
    slots: Vec<Slot>,
    instance: wgpu::Instance,
    gpu: Option<Arc<Gpu>>,
    body: Option<Body<R>>,
    body_thread: Option<JoinHandle<R>>,
    proxy: EventLoopProxy<UserEvent>,
    /// An error before the body started: ends the run.
    fatal: Option<DisplayError>,
    started: bool,
    done: bool,
    /// When to look at the monitors again at the latest (while a window is open).
    next_check: Instant,
}

impl<R: Send + 'static> App<R> {
    pub(super) fn new(targets: Vec<DisplayTarget>, body: Body<R>, event_loop: &Loop) -> App<R> {
        // The instance knows the X display, which the GL backend needs to present.
        let desc = wgpu::InstanceDescriptor::new_with_display_handle(Box::new(
            event_loop.owned_display_handle(),
        ))
        .with_env();
        watch_randr(event_loop);
        let now = Instant::now();
        App {
            slots: targets
                .into_iter()
                .map(|target| Slot {
                    target,
                    open: None,
                    next_try: now,
                    last_warning: None,
                    monitor_missing: false,
                    lost_since: None,
                    refresh_checked: None,
                })
                .collect(),
            instance: wgpu::Instance::new(desc),
            gpu: None,
            body: Some(body),
            body_thread: None,
            proxy: event_loop.create_proxy(),
            fatal: None,
            started: false,
            done: false,
            next_check: now,
        }
    }

    /// After the event loop returned: the body's value, or why there is none.
    pub(super) fn finish(mut self, ran: Result<(), DisplayError>) -> Result<R, DisplayError> {
        self.close_all();
        if let Some(e) = self.fatal.take() {
            return Err(e);
        }
        if let Err(e) = ran {
            // Playing goes on without the displays (other sinks may still run).
            tracing::error!("display: {e}; the displays are closed until playing ends");
        }
        match self.body_thread.take() {
            Some(thread) => match thread.join() {
                Ok(r) => Ok(r),
                Err(panic) => std::panic::resume_unwind(panic),
            },
            None => Err(DisplayError::EventLoop(
                "the event loop ended before the displays were opened".to_string(),
            )),
        }
    }

    fn close_all(&mut self) {
        for i in 0..self.slots.len() {
            self.close(i);
            self.slots[i]
                .target
                .mailbox
                .set_state(PresenterState::Stopped);
        }
    }

    /// Stop a target's presenter and close its window.
    fn close(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        if let Some(open) = slot.open.take() {
            slot.target.mailbox.request_stop();
            if open.presenter.join().is_err() {
                tracing::error!(target_label = %slot.target.label, "display: the presenter panicked");
            }
            drop(open.window);
        }
    }

    fn shutdown(&mut self, event_loop: &ActiveEventLoop) {
        self.done = true;
        self.close_all();
        event_loop.exit();
    }

    fn spawn_body(&mut self) -> Result<(), DisplayError> {
        let Some(body) = self.body.take() else {
            return Ok(());
        };
        let done = NotifyDone(self.proxy.clone());
        let shared = self.gpu.as_ref().map(|g| g.shared());
        let thread = std::thread::Builder::new()
            .name("display-body".to_string())
            .spawn(move || {
                let _done = done;
                body(shared)
            })
            .map_err(|e| DisplayError::EventLoop(format!("cannot start a thread: {e}")))?;
        self.body_thread = Some(thread);
        Ok(())
    }

    /// Try to open target `i`: `Ok(true)` opened, `Ok(false)` its monitor is missing.
    fn open(&mut self, i: usize, event_loop: &ActiveEventLoop) -> Result<bool, DisplayError> {
        let monitors = monitors_of(event_loop);
        let slot = &mut self.slots[i];
        let t = &slot.target;
        let found = monitors.iter().find(|(m, _)| selects(&t.monitor, m));
        let Some((monitor, handle)) = found else {
            t.mailbox.set_state(PresenterState::WaitingForMonitor);
            let now = Instant::now();
            slot.next_try = now + RETRY;
            slot.monitor_missing = true;
            if slot.last_warning.is_none_or(|w| now - w >= WARN_EVERY) {
                slot.last_warning = Some(now);
                let list: Vec<Monitor> = monitors.into_iter().map(|m| m.0).collect();
                tracing::warn!(
                    target_label = %t.label,
                    monitors = %describe(&list),
                    "display: monitor {} not found; retrying every {} s",
                    match &t.monitor {
                        MonitorSel::Index(n) => n.to_string(),
                        MonitorSel::Name(s) => format!("{s:?}"),
                    },
                    RETRY.as_secs()
                );
            }
            return Ok(false);
        };
        if slot.refresh_checked != Some(monitor.refresh_millihertz) {
            slot.refresh_checked = Some(monitor.refresh_millihertz);
            check_refresh(t, monitor);
        }
        let [mx, my] = monitor.position;
        let attributes = match t.mode {
            Mode::Fullscreen => {
                let [ox, oy] = t.offset;
                let [w, h] = t.size;
                if u64::from(ox) + u64::from(w) > u64::from(monitor.size[0])
                    || u64::from(oy) + u64::from(h) > u64::from(monitor.size[1])
                {
                    tracing::warn!(
                        target_label = %t.label,
                        "display: the region {w}x{h} at {ox},{oy} does not fit on monitor \
                         {} ({}x{}): the rest is cut off",
                        monitor.index,
                        monitor.size[0],
                        monitor.size[1]
                    );
                }
                // No window manager (e.g. Xvfb) honours the fullscreen request: the explicit
                // position and size cover the monitor by themselves.
                Window::default_attributes()
                    .with_position(PhysicalPosition::new(mx, my))
                    .with_inner_size(PhysicalSize::new(monitor.size[0], monitor.size[1]))
                    .with_decorations(false)
                    .with_fullscreen(Some(Fullscreen::Borderless(Some(handle.clone()))))
            }
            Mode::Window => Window::default_attributes()
                .with_position(PhysicalPosition::new(
                    mx.saturating_add_unsigned(t.offset[0]),
                    my.saturating_add_unsigned(t.offset[1]),
                ))
                .with_inner_size(PhysicalSize::new(t.size[0], t.size[1]))
                .with_resizable(false),
        }
        .with_title(format!("ledwall {}", t.label));
        let window = event_loop
            .create_window(attributes)
            .map_err(|e| DisplayError::Window {
                label: t.label.clone(),
                reason: e.to_string(),
            })?;
        let window = Arc::new(window);
        let surface = self
            .instance
            .create_surface(Arc::clone(&window))
            .map_err(|e| DisplayError::Surface {
                label: t.label.clone(),
                reason: e.to_string(),
            })?;
        let gpu = match &self.gpu {
            Some(gpu) => Arc::clone(gpu),
            None => {
                let gpu = Arc::new(Gpu::open(&self.instance, &surface, &t.label)?);
                self.gpu = Some(Arc::clone(&gpu));
                gpu
            }
        };
        let size = window.inner_size();
        let window_size = Arc::new(AtomicU64::new(pack_size(size.width, size.height)));
        let period = monitor
            .refresh_millihertz
            .map_or(DEFAULT_PERIOD, |mhz| {
                Duration::from_secs_f64(1000.0 / f64::from(mhz))
            })
            .clamp(Duration::from_millis(1), Duration::from_secs(1));
        let output = Output::new(
            &gpu,
            t,
            Arc::clone(&window),
            surface,
            period,
            Arc::clone(&window_size),
        )?;
        t.mailbox.start_presenter();
        let presenter = std::thread::Builder::new()
            .name(format!("display {}", t.label))
            .spawn(move || output.run())
            .map_err(|e| DisplayError::EventLoop(format!("cannot start a thread: {e}")))?;
        if t.mode == Mode::Fullscreen {
            window.set_cursor_visible(false);
        }
        t.mailbox.set_state(PresenterState::Showing);
        let back = slot
            .lost_since
            .take()
            .map(|since| {
                format!(
                    " (the monitor is back after {:.1} s)",
                    since.elapsed().as_secs_f64()
                )
            })
            .unwrap_or_default();
        tracing::info!(
            target_label = %t.label,
            "display: showing on monitor {} ({}, {}x{} at {},{}), window {}x{}{back}",
            monitor.index,
            monitor.name,
            monitor.size[0],
            monitor.size[1],
            mx,
            my,
            size.width,
            size.height
        );
        slot.open = Some(Open {
            window,
            presenter,
            window_size,
            monitor: monitor.clone(),
        });
        slot.last_warning = None;
        slot.monitor_missing = false;
        Ok(true)
    }

    /// Open the targets whose retry time has come. Before the body runs an error ends the
    /// run; after, it is logged and retried.
    fn open_due(&mut self, event_loop: &ActiveEventLoop) {
        let now = Instant::now();
        for i in 0..self.slots.len() {
            let slot = &self.slots[i];
            if slot.open.is_some() || slot.next_try > now {
                continue;
            }
            if let Err(e) = self.open(i, event_loop) {
                if !self.started {
                    self.fatal = Some(e);
                    return;
                }
                let slot = &mut self.slots[i];
                slot.target
                    .mailbox
                    .set_state(PresenterState::WaitingForMonitor);
                slot.next_try = now + RETRY;
                slot.monitor_missing = false;
                if slot.last_warning.is_none_or(|w| now - w >= WARN_EVERY) {
                    slot.last_warning = Some(now);
                    tracing::warn!("display: {e}; retrying every {} s", RETRY.as_secs());
                }
            }
        }
    }

    /// Compare the monitors with what each window was opened on: close the windows whose
    /// monitor is gone, reopen those whose monitor changed, and make the targets waiting
    /// for a monitor that is back due now (`open_due` opens them).
    fn check_monitors(&mut self, event_loop: &ActiveEventLoop) {
        let now = Instant::now();
        self.next_check = now + RETRY;
        let monitors: Vec<Monitor> = monitors_of(event_loop).into_iter().map(|m| m.0).collect();
        for i in 0..self.slots.len() {
            let slot = &self.slots[i];
            let shown_on = match &slot.open {
                Some(open) => Some(&open.monitor),
                // Waiting for its window, not its monitor: the retry timer handles it.
                None if !slot.monitor_missing => continue,
                None => None,
            };
            match decide(&slot.target.monitor, shown_on, &monitors) {
                Action::Keep => {}
                Action::Close => {
                    tracing::warn!(
                        target_label = %slot.target.label,
                        monitors = %describe(&monitors),
                        "display: monitor {} is gone: its window is closed, the monitor is \
                         retried every {} s",
                        shown_on.map_or_else(String::new, |m| format!("{} ({})", m.index, m.name)),
                        RETRY.as_secs()
                    );
                    self.close(i);
                    let slot = &mut self.slots[i];
                    slot.target
                        .mailbox
                        .set_state(PresenterState::WaitingForMonitor);
                    slot.monitor_missing = true;
                    slot.lost_since = Some(now);
                    // This was the warning: the retries stay quiet for a while.
                    slot.last_warning = Some(now);
                    slot.next_try = now + RETRY;
                }
                Action::Reopen(new) => {
                    if let Some(old) = shown_on {
                        tracing::warn!(
                            target_label = %slot.target.label,
                            "display: monitor {} changed from {} to {}; reopening the window",
                            new.index,
                            geometry(old),
                            geometry(new)
                        );
                    }
                    self.close(i);
                    self.slots[i].next_try = now;
                }
                Action::Open => self.slots[i].next_try = now,
            }
        }
    }

    /// Sleep until the next retry or monitor check, or until an event.
    fn schedule(&self, event_loop: &ActiveEventLoop) {
        let retry = self
            .slots
            .iter()
            .filter(|s| s.open.is_none())
            .map(|s| s.next_try);
        let check = self
            .slots
            .iter()
            .any(|s| s.open.is_some())
            .then_some(self.next_check);
        let next = retry.chain(check).min();
        event_loop.set_control_flow(next.map_or(ControlFlow::Wait, ControlFlow::WaitUntil));
    }
}

/// Make Xlib deliver RandR's screen change notifications on the event loop's connection,
/// so that winit refreshes its cached monitor list when monitors change: winit selects them
/// but reads events through Xlib, which drops the events of an extension no library
/// registered (winit 0.30 never loads libXrandr). `XRRQueryExtension` registers them, once
/// per process (there is one event loop, so one connection). Without libXrandr a warning
/// says that monitor changes go unnoticed.
fn watch_randr(event_loop: &Loop) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| register_randr(event_loop));
}

fn register_randr(event_loop: &Loop) {
    use std::ffi::{c_int, c_void};
    use winit::raw_window_handle::{HasDisplayHandle, RawDisplayHandle};
    type QueryExtension = unsafe extern "C" fn(*mut c_void, *mut c_int, *mut c_int) -> c_int;
    let display = match event_loop.display_handle().map(|h| h.as_raw()) {
        Ok(RawDisplayHandle::Xlib(h)) => h.display,
        _ => None,
    };
    let Some(display) = display else {
        return; // not Xlib: nothing to register
    };
    // SAFETY: dlopen with a valid C string; the library stays loaded for good (no dlclose:
    // Xlib keeps pointers to its event converters).
    let lib = unsafe { libc::dlopen(c"libXrandr.so.2".as_ptr(), libc::RTLD_NOW) };
    let query = if lib.is_null() {
        std::ptr::null_mut()
    } else {
        // SAFETY: dlsym on a live handle with a valid C string.
        unsafe { libc::dlsym(lib, c"XRRQueryExtension".as_ptr()) }
    };
    let registered = !query.is_null() && {
        // SAFETY: XRRQueryExtension has this signature (Xrandr.h: Bool
        // XRRQueryExtension(Display *, int *, int *)).
        let query = unsafe { std::mem::transmute::<*mut c_void, QueryExtension>(query) };
        let (mut event_base, mut error_base) = (0, 0);
        // SAFETY: `display` is the event loop's live Xlib display, used from its thread;
        // the out pointers are valid.
        unsafe { query(display.as_ptr(), &mut event_base, &mut error_base) != 0 }
    };
    if !registered {
        tracing::warn!(
            "display: cannot register RandR events with Xlib (libXrandr.so.2 missing?): \
             monitors that change or disappear while playing go unnoticed"
        );
    }
}

/// Whether `sel` selects monitor `m`.
fn selects(sel: &MonitorSel, m: &Monitor) -> bool {
    match sel {
        MonitorSel::Index(n) => m.index == *n,
        MonitorSel::Name(s) => m.name.to_lowercase().contains(&s.to_lowercase()),
    }
}

/// What to do with a target after the monitors changed.
#[derive(Debug, PartialEq, Eq)]
enum Action<'a> {
    /// Nothing: still shown where it was, or still waiting.
    Keep,
    /// Its monitor is gone: close the window and wait for it.
    Close,
    /// Its monitor is there but moved, or changed size, mode or name: reopen on this one.
    Reopen(&'a Monitor),
    /// It waits for its monitor, which is back: open it now.
    Open,
}

/// Decide what becomes of a target that selects `sel` and is shown on `shown_on` (the
/// monitor as it was when its window opened; `None`: it waits for its monitor), now that
/// the monitors are `monitors`.
fn decide<'a>(sel: &MonitorSel, shown_on: Option<&Monitor>, monitors: &'a [Monitor]) -> Action<'a> {
    let now = monitors.iter().find(|m| selects(sel, m));
    match (shown_on, now) {
        (Some(_), None) => Action::Close,
        (Some(old), Some(new)) if !same_place(old, new) => Action::Reopen(new),
        (None, Some(_)) => Action::Open,
        _ => Action::Keep,
    }
}

/// Whether a window opened on `old` still fits `new`: the same output at the same place,
/// size and refresh rate (its index may change when another monitor goes).
fn same_place(old: &Monitor, new: &Monitor) -> bool {
    old.name == new.name
        && old.position == new.position
        && old.size == new.size
        && old.refresh_millihertz == new.refresh_millihertz
}

/// "NAME WxH at X,Y, R Hz" for logs.
fn geometry(m: &Monitor) -> String {
    let refresh = m.refresh_millihertz.map_or_else(String::new, |r| {
        format!(", {:.3} Hz", f64::from(r) / 1000.0)
    });
    format!(
        "{} {}x{} at {},{}{refresh}",
        m.name, m.size[0], m.size[1], m.position[0], m.position[1]
    )
}

/// Warn when the wall's refresh rate and the monitor's differ by more than 0.5 Hz.
/// The warning for a wall refreshing at `wall_hz` on `monitor`, if the rates differ by
/// more than half a hertz (a 59.94 Hz monitor is a 60 Hz wall's match).
fn refresh_mismatch(wall_hz: u32, monitor: &Monitor) -> Option<String> {
    let hz = f64::from(monitor.refresh_millihertz?) / 1000.0;
    ((hz - f64::from(wall_hz)).abs() > 0.5).then(|| {
        format!(
            "display: the wall refreshes at {wall_hz} Hz, monitor {} ({}) at {hz:.3} Hz: \
             frames will be repeated or dropped; set refresh_hz to the monitor's rate",
            monitor.index, monitor.name
        )
    })
}

fn check_refresh(t: &DisplayTarget, monitor: &Monitor) {
    match monitor.refresh_millihertz {
        Some(_) => {
            if let Some(warning) = refresh_mismatch(t.refresh_hz, monitor) {
                tracing::warn!(target_label = %t.label, "{warning}");
            }
        }
        None => tracing::info!(
            target_label = %t.label,
            "display: monitor {} ({}) reports no refresh rate; cannot compare it with the \
             wall's {} Hz",
            monitor.index,
            monitor.name,
            t.refresh_hz
        ),
    }
}

/// "0: NAME WxH at X,Y; 1: …" for logs.
fn describe(monitors: &[Monitor]) -> String {
    if monitors.is_empty() {
        return "none".to_string();
    }
    monitors
        .iter()
        .map(|m| {
            format!(
                "{}: {} {}x{} at {},{}",
                m.index, m.name, m.size[0], m.size[1], m.position[0], m.position[1]
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl<R: Send + 'static> ApplicationHandler<UserEvent> for App<R> {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.started || self.done {
            return;
        }
        self.open_due(event_loop);
        if self.fatal.is_none()
            && let Err(e) = self.spawn_body()
        {
            self.fatal = Some(e);
        }
        if self.fatal.is_some() {
            self.shutdown(event_loop);
            return;
        }
        self.started = true;
        self.schedule(event_loop);
    }

    fn user_event(&mut self, event_loop: &ActiveEventLoop, event: UserEvent) {
        match event {
            UserEvent::BodyDone => self.shutdown(event_loop),
        }
    }

    fn window_event(&mut self, _: &ActiveEventLoop, id: WindowId, event: WindowEvent) {
        let Some(i) = self
            .slots
            .iter()
            .position(|s| s.open.as_ref().is_some_and(|o| o.window.id() == id))
        else {
            return;
        };
        match event {
            WindowEvent::CloseRequested | WindowEvent::Destroyed => {
                tracing::warn!(
                    target_label = %self.slots[i].target.label,
                    "display: the window was closed by the user or the window system; reopening it"
                );
                self.close(i);
                self.slots[i].next_try = Instant::now();
            }
            WindowEvent::Resized(size) => {
                let slot = &self.slots[i];
                if let Some(open) = &slot.open {
                    open.window_size
                        .store(pack_size(size.width, size.height), Ordering::Relaxed);
                }
                slot.target.mailbox.request_redraw();
            }
            WindowEvent::RedrawRequested | WindowEvent::Occluded(false) => {
                self.slots[i].target.mailbox.request_redraw();
            }
            _ => {}
        }
    }

    fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
        if !self.started || self.done {
            return;
        }
        // After every batch of events (a RandR change is one) and at least every 2 s:
        // cheap, winit keeps the list until the X server says it changed.
        self.check_monitors(event_loop);
        self.open_due(event_loop);
        self.schedule(event_loop);
    }

    fn exiting(&mut self, _: &ActiveEventLoop) {
        self.close_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monitor(index: usize, name: &str, position: [i32; 2], size: [u32; 2]) -> Monitor {
        Monitor {
            index,
            name: name.to_string(),
            position,
            size,
            refresh_millihertz: Some(60_000),
        }
    }

    #[test]
    fn a_refresh_rate_half_a_hertz_off_is_warned_about() {
        let m = |mhz| Monitor {
            index: 1,
            name: "HDMI-1".into(),
            position: [0, 0],
            size: [1920, 1080],
            refresh_millihertz: mhz,
        };
        assert_eq!(refresh_mismatch(60, &m(Some(59_940))), None);
        assert_eq!(refresh_mismatch(60, &m(Some(60_000))), None);
        assert_eq!(refresh_mismatch(60, &m(None)), None);
        let w = refresh_mismatch(60, &m(Some(50_000))).unwrap_or_default();
        assert!(
            w.contains("60 Hz") && w.contains("50.000 Hz") && w.contains("HDMI-1"),
            "{w}"
        );
        assert!(refresh_mismatch(120, &m(Some(119_000))).is_some());
    }

    #[test]
    fn a_monitor_that_goes_closes_its_window_and_the_others_stay() {
        let hdmi1 = monitor(0, "HDMI-1", [0, 0], [1920, 1080]);
        let hdmi2 = monitor(1, "HDMI-2", [1920, 0], [1280, 720]);
        let both = [hdmi1.clone(), hdmi2.clone()];
        let only_first = [hdmi1.clone()];
        let only_second = [monitor(0, "HDMI-2", [1920, 0], [1280, 720])];
        let by_index = MonitorSel::Index(1);
        let by_name = MonitorSel::Name("hdmi-2".to_string());
        assert_eq!(decide(&by_index, Some(&hdmi2), &both), Action::Keep);
        assert_eq!(decide(&by_name, Some(&hdmi2), &both), Action::Keep);
        // The second goes: whoever showed on it closes, the first stays.
        assert_eq!(decide(&by_index, Some(&hdmi2), &only_first), Action::Close);
        assert_eq!(decide(&by_name, Some(&hdmi2), &only_first), Action::Close);
        let first = MonitorSel::Index(0);
        assert_eq!(decide(&first, Some(&hdmi1), &only_first), Action::Keep);
        // None at all.
        assert_eq!(decide(&first, Some(&hdmi1), &[]), Action::Close);
        // The first goes: the second moves up to index 0 but stays where it was, so a
        // target selecting it by name keeps its window; one by index 0 now selects another
        // output and reopens there; index 1 is gone.
        assert_eq!(decide(&by_name, Some(&hdmi2), &only_second), Action::Keep);
        assert_eq!(
            decide(&first, Some(&hdmi1), &only_second),
            Action::Reopen(&only_second[0])
        );
        assert_eq!(decide(&by_index, Some(&hdmi2), &only_second), Action::Close);
    }

    #[test]
    fn a_monitor_that_changes_reopens_and_one_that_returns_opens() {
        let old = monitor(0, "HDMI-1", [0, 0], [1920, 1080]);
        let sel = MonitorSel::Index(0);
        let resized = [monitor(0, "HDMI-1", [0, 0], [1280, 720])];
        let moved = [monitor(0, "HDMI-1", [0, 1080], [1920, 1080])];
        let mut retimed = [old.clone()];
        retimed[0].refresh_millihertz = Some(50_000);
        for changed in [&resized, &moved, &retimed] {
            assert_eq!(
                decide(&sel, Some(&old), changed),
                Action::Reopen(&changed[0])
            );
        }
        // Waiting for it: back opens, still missing keeps waiting.
        assert_eq!(decide(&sel, None, &resized), Action::Open);
        assert_eq!(decide(&sel, None, &[]), Action::Keep);
        assert_eq!(
            decide(&MonitorSel::Name("DP".to_string()), None, &resized),
            Action::Keep
        );
    }
}
