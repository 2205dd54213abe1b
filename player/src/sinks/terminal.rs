//! The terminal view: a live picture of the emulated wall (`ledwall_render::emulate`) in
//! 24-bit colour, two canvas rows per text row with the upper half block `▀` (foreground =
//! upper pixel, background = lower pixel), scaled to the terminal, with a status line: the
//! item on screen, the play time, frames per second and lateness.
//!
//! `ledwall play` opens it when stdout is a terminal and no sink other than `null` is
//! configured. It is not a sink URL: the play command builds it and routes every port to it.
//!
//! The output thread only copies the port bytes (every tick) and, at most [`MAX_REDRAWS`]
//! times a second, hands a copy to a worker thread that emulates the wall, draws it into a
//! reused `String` and writes it; a redraw that would find the worker busy is skipped. The
//! two frame buffers go back and forth, so the output thread allocates nothing.

use super::{ErrorLog, PortShape, Sink, SinkError, SinkStats, check_port};
use crate::engine::LiveStatus;
use ledwall_render::emulate::emulate;
use ledwall_render::{Geometry, WallFrame};
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Most redraws a second.
pub const MAX_REDRAWS: u32 = 30;

/// The text size of the terminal: (columns, rows).
pub type SizeFn = Box<dyn Fn() -> (u32, u32) + Send>;

/// The size of the terminal on stdout: `TIOCGWINSZ`, else `$COLUMNS` × `$LINES`, else 80 × 24.
pub fn terminal_size() -> (u32, u32) {
    #[cfg(unix)]
    {
        let mut ws = libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCGWINSZ writes one `winsize` through the pointer, which is valid and
        // exclusively borrowed for the call.
        let r = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
        if r == 0 && ws.ws_col > 0 && ws.ws_row > 0 {
            return (u32::from(ws.ws_col), u32::from(ws.ws_row));
        }
    }
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u32>().ok());
    (
        env("COLUMNS").filter(|&c| c > 0).unwrap_or(80),
        env("LINES").filter(|&l| l > 0).unwrap_or(24),
    )
}

/// The size in pixels (width, height) that a `width` × `height` canvas is drawn at in a
/// terminal of `cols` × `rows` characters: the largest that fits above the status line,
/// two pixels per character cell vertically (square on most fonts), a whole multiple of
/// the canvas when it is enlarged, and at least 1 × 1.
pub fn view_size(width: u32, height: u32, cols: u32, rows: u32) -> (u32, u32) {
    let (w, h) = (width.max(1) as f64, height.max(1) as f64);
    let avail_h = (rows.saturating_sub(1).max(1) * 2) as f64;
    let mut s = (cols.max(1) as f64 / w).min(avail_h / h);
    if s >= 1.0 {
        s = s.floor();
    }
    let ow = ((w * s).floor() as u32).clamp(1, cols.max(1));
    let oh = ((h * s).floor() as u32).max(1);
    (ow, oh)
}

fn set_color(out: &mut String, fg: bool, c: [u8; 3]) {
    let _ = write!(
        out,
        "\x1b[{};2;{};{};{}m",
        if fg { 38 } else { 48 },
        c[0],
        c[1],
        c[2]
    );
}

/// Draw an RGBA8 image (`width` × `height`, row-major) scaled to fit `cols` × `rows`
/// characters (nearest neighbour, [`view_size`]) into `out` (cleared first): cursor home,
/// one line of `▀` cells per two pixel rows with 24-bit colours (a colour is only written
/// when it changes along the line), each line ending with a reset and clear-to-end-of-line,
/// then `status` (cut to `cols` characters) and clear-to-end-of-screen.
pub fn draw(
    rgba: &[u8],
    width: u32,
    height: u32,
    cols: u32,
    rows: u32,
    status: &str,
    out: &mut String,
) {
    out.clear();
    out.push_str("\x1b[H");
    let (ow, oh) = view_size(width, height, cols, rows);
    let px = |x: u32, y: u32| -> [u8; 3] {
        let sx = (u64::from(x) * u64::from(width) / u64::from(ow)) as usize;
        let sy = (u64::from(y) * u64::from(height) / u64::from(oh)) as usize;
        let i = (sy * width as usize + sx) * 4;
        match rgba.get(i..i + 3) {
            Some(p) => [p[0], p[1], p[2]],
            None => [0, 0, 0],
        }
    };
    for row in 0..oh.div_ceil(2) {
        let (mut fg, mut bg): (Option<[u8; 3]>, Option<[u8; 3]>) = (None, None);
        let mut default_bg = false;
        for x in 0..ow {
            let top = px(x, 2 * row);
            if fg != Some(top) {
                set_color(out, true, top);
                fg = Some(top);
            }
            if 2 * row + 1 < oh {
                let bottom = px(x, 2 * row + 1);
                if bg != Some(bottom) {
                    set_color(out, false, bottom);
                    bg = Some(bottom);
                }
            } else if !default_bg {
                out.push_str("\x1b[49m");
                default_bg = true;
            }
            out.push('▀');
        }
        out.push_str("\x1b[0m\x1b[K\r\n");
    }
    out.push_str("\x1b[0m");
    for (i, c) in status.chars().enumerate() {
        if i as u32 >= cols {
            break;
        }
        out.push(c);
    }
    out.push_str("\x1b[K\x1b[J");
}

/// The status line: `ledwall | 3/11 media/clip.mp4 2.4s | 01:02.3 | 60.0 fps | late 0.08 ms`.
pub fn status_line(status: &LiveStatus, hz: u32, fps: f64, late: Duration, out: &mut String) {
    out.clear();
    let hz = f64::from(hz.max(1));
    let t = status.tick.load(Ordering::Relaxed) as f64 / hz;
    let item_t = status.item_tick.load(Ordering::Relaxed) as f64 / hz;
    out.push_str("ledwall | ");
    if let Ok(item) = status.item.lock() {
        out.push_str(&item);
    }
    let minutes = (t / 60.0).floor();
    let _ = write!(
        out,
        " {item_t:.1}s | {minutes:02}:{:04.1} | {fps:.1} fps | late {:.2} ms",
        t - minutes * 60.0,
        late.as_secs_f64() * 1e3
    );
}

/// The live terminal view of the whole wall.
pub struct TerminalSink {
    url: String,
    shapes: Vec<PortShape>,
    ports: Vec<usize>,
    /// The latest bytes of every wall port.
    latest: WallFrame,
    /// The second buffer, when the worker is not drawing it.
    spare: Option<WallFrame>,
    jobs: Option<SyncSender<WallFrame>>,
    back: Receiver<WallFrame>,
    worker: Option<JoinHandle<()>>,
    interval: Duration,
    last_draw: Option<Instant>,
    stats: SinkStats,
    log: ErrorLog,
    sent: bool,
}

impl std::fmt::Debug for TerminalSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalSink")
            .field("url", &self.url)
            .field("ports", &self.ports)
            .finish_non_exhaustive()
    }
}

struct Worker {
    geometry: Geometry,
    out: Box<dyn Write + Send>,
    size: SizeFn,
    status: Arc<LiveStatus>,
    hz: u32,
    text: String,
    line: String,
    last: Option<(Instant, u64)>,
}

/// What gives the terminal back: attributes reset, the cursor shown, a fresh line.
const RESTORE: &[u8] = b"\x1b[0m\x1b[?25h\r\n";

/// Whether a view has hidden the cursor and not shown it again.
static HIDDEN: AtomicBool = AtomicBool::new(false);

/// Give the terminal on stdout back now (cursor shown, attributes reset) if a live view
/// hid its cursor and has not restored it: the clean-up of an exit that does not wait for
/// the view's own ending (a second Ctrl-C, a stop that did not finish). Writes with one
/// `write(2)`, without taking stdout's lock (another thread may hold it).
pub fn restore_now() {
    if HIDDEN.swap(false, Ordering::SeqCst) && std::io::stdout().is_terminal() {
        // SAFETY: fd 1 is the process's stdout; RESTORE is a valid buffer of that length.
        let _ = unsafe { libc::write(1, RESTORE.as_ptr().cast(), RESTORE.len()) };
    }
}

impl Worker {
    fn run(mut self, jobs: Receiver<WallFrame>, back: SyncSender<WallFrame>) {
        HIDDEN.store(true, Ordering::SeqCst);
        let _ = self.out.write_all(b"\x1b[?25l\x1b[2J");
        let _ = self.out.flush();
        while let Ok(frame) = jobs.recv() {
            self.draw(&frame);
            let _ = back.try_send(frame);
        }
        let _ = self.out.write_all(RESTORE);
        let _ = self.out.flush();
        HIDDEN.store(false, Ordering::SeqCst);
    }

    fn draw(&mut self, frame: &WallFrame) {
        let now = Instant::now();
        let frames = self.status.new_frames.load(Ordering::Relaxed);
        let fps = match self.last {
            Some((t, n)) if now > t => (frames - n.min(frames)) as f64 / (now - t).as_secs_f64(),
            _ => 0.0,
        };
        self.last = Some((now, frames));
        let late = Duration::from_nanos(self.status.lateness_max_ns.swap(0, Ordering::Relaxed));
        status_line(&self.status, self.hz, fps, late, &mut self.line);
        let wall = emulate(&self.geometry, frame);
        let rgba = wall.to_rgba8();
        let (cols, rows) = (self.size)();
        draw(
            &rgba,
            wall.width,
            wall.height,
            cols,
            rows,
            &self.line,
            &mut self.text,
        );
        let _ = self.out.write_all(self.text.as_bytes());
        let _ = self.out.flush();
    }
}

impl TerminalSink {
    /// A view of every port of `geometry`, written to `out` (stdout) at most
    /// [`MAX_REDRAWS`] times a second, sized by `size` ([`terminal_size`]), with the status
    /// of a run (`hz` turns ticks into seconds).
    pub fn new(
        geometry: &Geometry,
        out: Box<dyn Write + Send>,
        size: SizeFn,
        status: Arc<LiveStatus>,
        hz: u32,
    ) -> Result<TerminalSink, SinkError> {
        let url = "terminal".to_string();
        let ports: Vec<usize> = (0..geometry.ports.len()).collect();
        let shapes = geometry
            .ports
            .iter()
            .map(|p| PortShape {
                format: p.format,
                bytes: p.byte_len(),
            })
            .collect();
        let (jobs, jobs_rx) = mpsc::sync_channel(1);
        let (back_tx, back) = mpsc::sync_channel(1);
        let worker = Worker {
            geometry: geometry.clone(),
            out,
            size,
            status,
            hz,
            text: String::new(),
            line: String::new(),
            last: None,
        };
        let handle = std::thread::Builder::new()
            .name("ledwall-terminal".into())
            .spawn(move || worker.run(jobs_rx, back_tx))
            .map_err(|source| SinkError::Io {
                url: url.clone(),
                path: "stdout".into(),
                source,
            })?;
        Ok(TerminalSink {
            url,
            shapes,
            ports,
            latest: WallFrame::new(geometry),
            spare: Some(WallFrame::new(geometry)),
            jobs: Some(jobs),
            back,
            worker: Some(handle),
            interval: Duration::from_secs(1) / MAX_REDRAWS,
            last_draw: None,
            stats: SinkStats::default(),
            log: ErrorLog::default(),
            sent: false,
        })
    }

    /// The ports it shows (every wall port, in order): the routes for
    /// [`SinkSet::from_parts`](super::SinkSet::from_parts).
    pub fn routes(&self) -> Vec<(usize, usize)> {
        self.ports.iter().map(|&p| (0, p)).collect()
    }

    fn finish(&mut self) {
        self.jobs = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

impl Sink for TerminalSink {
    fn url(&self) -> &str {
        &self.url
    }

    fn send(&mut self, port: usize, bytes: &[u8], _tick: u64) {
        if check_port(&self.shapes, port, bytes, &self.url, &mut self.log)
            && let Some(buf) = self.latest.ports.get_mut(port)
        {
            buf.bytes.copy_from_slice(bytes);
            self.stats.bytes += bytes.len() as u64;
            self.sent = true;
        }
        self.stats.errors = self.log.total();
    }

    fn sync(&mut self, tick: u64) {
        if !std::mem::take(&mut self.sent) {
            return;
        }
        self.stats.frames += 1;
        if self.spare.is_none() {
            self.spare = self.back.try_recv().ok();
        }
        let now = Instant::now();
        if self
            .last_draw
            .is_some_and(|t| now.duration_since(t) < self.interval)
        {
            return;
        }
        let (Some(mut frame), Some(jobs)) = (self.spare.take(), self.jobs.as_ref()) else {
            return;
        };
        for (dst, src) in frame.ports.iter_mut().zip(&self.latest.ports) {
            dst.bytes.copy_from_slice(&src.bytes);
        }
        frame.frame_number = tick;
        match jobs.try_send(frame) {
            Ok(()) => {
                self.last_draw = Some(now);
                self.stats.packets += 1;
            }
            Err(TrySendError::Full(f) | TrySendError::Disconnected(f)) => {
                self.spare = Some(f);
            }
        }
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.finish();
        Ok(())
    }

    fn stats(&self) -> SinkStats {
        self.stats
    }
}

impl Drop for TerminalSink {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledwall_render::{Layer, Renderer, Scene, SourceImage, Wall};
    use std::sync::Mutex;

    #[test]
    fn view_size_fits_above_the_status_line() {
        // 128x64 in 80x24: 23 rows = 46 pixel rows; 80/128 < 46/64 → width-bound.
        assert_eq!(view_size(128, 64, 80, 24), (80, 40));
        // Enlarged by a whole factor: 4x2 in 80x24 → x20 (80/4 = 20 < 46/2 = 23).
        assert_eq!(view_size(4, 2, 80, 24), (80, 40));
        assert_eq!(view_size(3, 2, 80, 24), (69, 46));
        // Degenerate terminals still get one pixel.
        assert_eq!(view_size(128, 64, 0, 0), (1, 1));
    }

    #[test]
    fn draws_half_blocks_with_24_bit_colours() {
        // 2x3 image: red green / blue white / yellow yellow.
        let rgba = [
            255, 0, 0, 255, 0, 255, 0, 255, //
            0, 0, 255, 255, 255, 255, 255, 255, //
            255, 255, 0, 255, 255, 255, 0, 255,
        ];
        let mut out = String::new();
        draw(&rgba, 2, 3, 2, 3, "status line", &mut out);
        let want = concat!(
            "\x1b[H",
            "\x1b[38;2;255;0;0m\x1b[48;2;0;0;255m▀",
            "\x1b[38;2;0;255;0m\x1b[48;2;255;255;255m▀",
            "\x1b[0m\x1b[K\r\n",
            // Last row: yellow on top, nothing below (the terminal's own background);
            // the colour is written once for both cells.
            "\x1b[38;2;255;255;0m\x1b[49m▀▀",
            "\x1b[0m\x1b[K\r\n",
            "\x1b[0mst\x1b[K\x1b[J",
        );
        assert_eq!(out, want);
        // The buffer is reused: drawing again gives the same text without growing it.
        let cap = out.capacity();
        draw(&rgba, 2, 3, 2, 3, "status line", &mut out);
        assert_eq!((out.as_str(), out.capacity()), (want, cap));
    }

    #[test]
    fn draws_an_emulated_wall() {
        // A 4x2 canvas: one 4x2 rgb8 module; the left half red, the right half blue.
        let wall = Wall::from_toml_str(
            r#"
name = "t"
refresh_hz = 30
[canvas]
width = 4
height = 2
[color]
transfer = "linear"
[module_types.m]
size = [4, 2]
[[outputs]]
name = "a"
format = "rgb8"
modules = [{ type = "m", at = [0, 0] }]
"#,
            "t.toml",
        )
        .unwrap();
        let mut r = Renderer::with_threads(&wall, 1).unwrap();
        let mut frame = WallFrame::new(r.geometry());
        let px: Vec<u8> = (0..8)
            .flat_map(|i| {
                if i % 4 < 2 {
                    [255, 0, 0, 255]
                } else {
                    [0, 0, 255, 255]
                }
            })
            .collect();
        let scene = Scene::single(0, Layer::new(SourceImage::rgba8(4, 2, &px)));
        r.render_into(&scene, &mut frame).unwrap();

        // Through the sink: the worker emulates, draws and writes to our buffer.
        #[derive(Clone, Default)]
        struct Shared(Arc<Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let written = Shared::default();
        let status = Arc::new(LiveStatus::default());
        *status.item.lock().unwrap() = "1/1 pattern:x".into();
        status.tick.store(45, Ordering::Relaxed);
        let mut sink = TerminalSink::new(
            r.geometry(),
            Box::new(written.clone()),
            Box::new(|| (4, 2)),
            status,
            30,
        )
        .unwrap();
        sink.send(0, &frame.ports[0].bytes, 0);
        sink.sync(0);
        sink.flush().unwrap();
        assert_eq!(sink.stats().frames, 1);
        assert_eq!(sink.stats().packets, 1, "one redraw");
        let text = String::from_utf8(written.0.lock().unwrap().clone()).unwrap();
        let red = "\x1b[38;2;255;0;0m\x1b[48;2;255;0;0m▀▀";
        let blue = "\x1b[38;2;0;0;255m\x1b[48;2;0;0;255m▀▀";
        let want = format!(
            "\x1b[?25l\x1b[2J\x1b[H{red}{blue}\x1b[0m\x1b[K\r\n\x1b[0mledw\x1b[K\x1b[J\x1b[0m\x1b[?25h\r\n"
        );
        assert_eq!(text, want);
        // The status line itself.
        let mut line = String::new();
        let s = LiveStatus::default();
        *s.item.lock().unwrap() = "2/5 clip.mp4".into();
        s.tick.store(30 * 61 + 3, Ordering::Relaxed);
        s.item_tick.store(45, Ordering::Relaxed);
        status_line(&s, 30, 29.96, Duration::from_micros(80), &mut line);
        assert_eq!(
            line,
            "ledwall | 2/5 clip.mp4 1.5s | 01:01.1 | 30.0 fps | late 0.08 ms"
        );
    }
}
