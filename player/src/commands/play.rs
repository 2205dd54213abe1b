//! `ledwall play`: the main job (design §11). Plays a playlist (or one media file, or a
//! `pattern:` source) on a wall at its refresh rate through the playback engine
//! ([`crate::engine`]) into the wall's sinks, until `--for` seconds have played or Ctrl-C /
//! SIGTERM arrives; then the sinks are flushed and the statistics printed.
//!
//! With no playlist it plays the built-in demo playlist, and with no `--wall` the built-in
//! demo wall ([`crate::demo`]: the fixtures, compiled in), from any directory. When stdout
//! is a terminal and no port goes to a sink other than `null`, the wall is shown live in the
//! terminal ([`TerminalSink`]); otherwise it runs headless into the configured sinks.

use crate::UsageError;
use crate::cli::{LogFormat, MultisyncArg, PlayArgs};
use crate::demo::Demo;
use crate::display::{DisplayTarget, Mailbox, SharedDevice};
use crate::engine::clock::SystemClock;
use crate::engine::telemetry::Telemetry;
use crate::engine::{self, Control, EngineOptions};
use crate::media::{LoadOptions, OpenOptions};
use crate::patterns::Canvas;
use crate::playlist::{Playlist, Show};
use crate::reload::Program;
use crate::sinks::{Displays, SinkOptions, SinkSet, TerminalSink, terminal};
use anyhow::Context;
use ledwall_render::wall::{DisplayMode, MonitorSel, SinkUrl};
use ledwall_render::{AnyRenderer, BackendChoice, BackendOptions, Wall};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// Install the `tracing` subscriber for `--log-format` (stderr; `RUST_LOG` filters, default
/// `info`). Does nothing when one is installed already.
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,wgpu_core=warn,wgpu_hal=warn,naga=warn")
    });
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(crate::control::warnings::WarningLayer);
    let _ = match format {
        LogFormat::Text => registry.with(fmt).try_init(),
        LogFormat::Json => registry.with(fmt.json()).try_init(),
    };
}

/// The process-wide signal flags: stop (Ctrl-C / SIGINT and SIGTERM) and reload (SIGHUP:
/// reread the wall and playlist, as `systemctl reload` asks).
///
/// The handlers only wake a thread that acts: the first stop signal sets the stop flag and
/// arms a [`Deadline`](crate::shutdown::Deadline) (a stop that has not finished within
/// [`STOP_GRACE`](crate::shutdown::STOP_GRACE) ends the process with exit code 4); a second
/// one exits at once with code 130, after the emergency clean-ups (ffmpeg children reaped,
/// the terminal restored).
fn signal_flags() -> &'static (Arc<AtomicBool>, Arc<AtomicBool>) {
    static FLAGS: OnceLock<(Arc<AtomicBool>, Arc<AtomicBool>)> = OnceLock::new();
    FLAGS.get_or_init(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let (stop, reload) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let (stop_flag, reload_flag) = (Arc::clone(&stop), Arc::clone(&reload));
        let install = move || -> std::io::Result<()> {
            let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
            std::thread::Builder::new()
                .name("ledwall-signals".into())
                .spawn(move || {
                    let mut stops = 0u32;
                    for sig in signals.forever() {
                        if sig == SIGHUP {
                            reload_flag.store(true, Ordering::SeqCst);
                            continue;
                        }
                        stops += 1;
                        if stops > 1 {
                            crate::shutdown::emergency_exit(
                                crate::shutdown::EXIT_SIGNAL,
                                "a second stop signal while stopping",
                            );
                        }
                        let name = if sig == SIGINT { "SIGINT" } else { "SIGTERM" };
                        tracing::info!("{name}: stopping (a second signal exits at once)");
                        stop_flag.store(true, Ordering::SeqCst);
                        crate::shutdown::arm_stop(
                            crate::shutdown::STOP_GRACE,
                            "ending the output loop after a stop signal",
                        );
                    }
                })?;
            Ok(())
        };
        if let Err(e) = install() {
            tracing::warn!("cannot install the signal handlers (Ctrl-C, SIGTERM, SIGHUP): {e}");
        }
        (stop, reload)
    })
}

/// The process-wide stop flag (Ctrl-C, SIGTERM), cleared for a new run.
pub fn stop_flag() -> Arc<AtomicBool> {
    let flag = &signal_flags().0;
    flag.store(false, Ordering::SeqCst);
    Arc::clone(flag)
}

/// The process-wide reload flag (SIGHUP), cleared for a new run.
pub fn reload_flag() -> Arc<AtomicBool> {
    let flag = &signal_flags().1;
    flag.store(false, Ordering::SeqCst);
    Arc::clone(flag)
}

/// The built-in demo for the playlist or wall not given, with a log line saying which parts
/// stand in and where their files are.
fn prepare_demo(args: &PlayArgs) -> Demo {
    let parts = match (&args.playlist, &args.wall) {
        (None, None) => "playlist on the demo wall",
        (None, Some(_)) => "playlist",
        (Some(_), _) => "wall",
    };
    let demo = Demo::prepare();
    match (demo.dir(), demo.why_memory()) {
        (Some(dir), _) => tracing::info!(
            "playing the built-in demo {parts} (written to {}; `ledwall init DIR` writes \
             editable copies)",
            dir.display()
        ),
        (None, why) => tracing::warn!(
            "playing the built-in demo {parts} from memory: no folder could be written for its \
             files ({}); its 16-bit media show at 8 bits",
            why.unwrap_or("")
        ),
    }
    demo
}

/// The sink URL of every wall port: the wall's, with `--sink PORT=URL` overrides.
pub fn sink_urls(wall: &Wall, overrides: &[String]) -> Result<Vec<SinkUrl>, UsageError> {
    let mut urls: Vec<SinkUrl> = wall.outputs.iter().map(|o| o.sink.clone()).collect();
    for o in overrides {
        let Some((port, url)) = o.split_once('=') else {
            return Err(UsageError(format!(
                "--sink {o}: write PORT=URL, e.g. port1=ddp://10.0.0.2"
            )));
        };
        let Some(i) = wall.outputs.iter().position(|out| out.name == port) else {
            let names: Vec<&str> = wall.outputs.iter().map(|o| o.name.as_str()).collect();
            return Err(UsageError(format!(
                "--sink {o}: the wall has no port \"{port}\" (ports: {})",
                names.join(", ")
            )));
        };
        urls[i] = SinkUrl::parse(url).map_err(|e| UsageError(format!("--sink {o}: {e}")))?;
    }
    Ok(urls)
}

/// Run `ledwall play`. The terminal view and the statistics go to stdout, logs to stderr.
///
/// Threads: without a `display:` sink, this thread runs the playback engine (which starts
/// the render thread and runs the output pacer here). With one, this thread runs the window
/// event loop (winit wants the main thread) and the engine runs on a thread of its own; the
/// windows close when it ends.
pub fn run(args: &PlayArgs) -> anyhow::Result<()> {
    init_logging(args.log_format);
    // The stop the engine arms (`--for` reached, a signal) must finish by its deadline,
    // closing the display windows included (a hung X server blocks that); a wall that
    // takes over, or the end of this function, ends it.
    struct StopDone;
    impl Drop for StopDone {
        fn drop(&mut self) {
            crate::shutdown::stop_finished();
        }
    }
    let _stop_done = StopDone;
    // The built-in demo stands in for a missing playlist or wall; kept (its private
    // folder on disk) until playing ends.
    let mut demo: Option<Demo> = None;
    let (wall_path, wall) = match &args.wall {
        Some(p) => (p.clone(), Wall::load(p)?),
        None => {
            let d = demo.get_or_insert_with(|| prepare_demo(args));
            (d.wall_path(), d.wall()?)
        }
    };
    wall.check_memory()?;
    let urls = sink_urls(&wall, &args.sinks)?;
    let background = wall.color.background.map(|c| c.min(255) as u8);
    let (playlist_arg, show) = match &args.playlist {
        Some(p) => {
            let show = match missing_playlist(p) {
                None => Show::with_schedule(Playlist::from_cli_arg(p)?)?,
                Some(why) => fallback_show(p, &why, args.fallback.as_deref(), &wall)?,
            };
            (p.clone(), show)
        }
        None => {
            let d = demo.get_or_insert_with(|| prepare_demo(args));
            let show = Show::with_schedule(d.playlist(background)?)?;
            (d.playlist_path().display().to_string(), show)
        }
    };
    let (targets, displays) = display_targets(&wall, &urls)?;
    let setup = Setup {
        playlist_arg,
        wall_path,
        wall,
        urls,
        show,
        displays: displays.clone(),
    };
    if targets.is_empty() {
        return play(args, setup, None);
    }
    let owned = args.clone();
    let result = crate::display::run_with_displays(targets, move |shared| {
        let played = play(&owned, setup, shared);
        crate::shutdown::stop_stage("closing the display windows");
        played
    })
    .context("cannot open the display outputs")?;
    for (url, mailbox) in displays.iter() {
        let s = mailbox.stats();
        let mean = s.present_mean().unwrap_or_default();
        tracing::info!(
            display = %crate::sinks::url_text(url),
            published = s.published,
            presented = s.presented,
            replaced_unseen = s.replaced_unseen,
            "{}: {} frames handed over, {} presented, {} replaced before a vblank took them; present {:.2} ms mean, {:.2} ms max",
            crate::sinks::url_text(url),
            s.published,
            s.presented,
            s.replaced_unseen,
            mean.as_secs_f64() * 1e3,
            s.present_max.as_secs_f64() * 1e3
        );
    }
    result
}

/// How often the fallback item ends (and a playlist that has appeared can take over).
const FALLBACK_ITEM_SECONDS: f64 = 1.0;

/// Why the playlist file `arg` names cannot be read yet, when it is a playlist file (`.toml`
/// or `.json`) that does not exist (or sits in a folder that does not): a share that is
/// not mounted yet. `None` for anything else (media, patterns, a file that exists), which
/// loads as usual.
fn missing_playlist(arg: &str) -> Option<String> {
    let path = Path::new(arg);
    let is_file = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml") || e.eq_ignore_ascii_case("json"));
    if !is_file || arg.starts_with("pattern:") {
        return None;
    }
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(e.to_string()),
        _ => None,
    }
}

/// The show played while the playlist `playlist` is missing: `fallback` (or the wall's
/// background colour) looped in items of [`FALLBACK_ITEM_SECONDS`], so that the playlist
/// takes over within about a second of appearing (the file watcher sees it; design §12's
/// reload at the next item boundary).
fn fallback_show(
    playlist: &str,
    why: &str,
    fallback: Option<&str>,
    wall: &Wall,
) -> Result<Show, ledwall_render::ConfigError> {
    let source = match fallback {
        Some(s) => s.to_string(),
        None => {
            let [r, g, b] = wall.color.background.map(|c| c.min(255));
            format!("pattern:solid:#{r:02x}{g:02x}{b:02x}")
        }
    };
    tracing::warn!(
        playlist,
        fallback = %source,
        "the playlist {playlist} cannot be read ({why}): showing {source} until it appears"
    );
    let mut list = Playlist::from_cli_arg(&source)?;
    for item in &mut list.items {
        item.duration = Some(FALLBACK_ITEM_SECONDS);
    }
    Show::with_schedule(list)
}

/// What `run` checked before anything opens.
struct Setup {
    playlist_arg: String,
    wall_path: PathBuf,
    wall: Wall,
    urls: Vec<SinkUrl>,
    show: Show,
    displays: Displays,
}

/// The windows the `display:` sinks of `urls` need (one per distinct URL, each showing the
/// one canvas port routed to it) and the mailboxes their sinks publish into.
pub fn display_targets(
    wall: &Wall,
    urls: &[SinkUrl],
) -> Result<(Vec<DisplayTarget>, Displays), UsageError> {
    let mut targets = Vec::new();
    let mut displays = Displays::default();
    for (i, url) in urls.iter().enumerate() {
        let SinkUrl::Display {
            monitor,
            x,
            y,
            mode,
        } = url
        else {
            continue;
        };
        if displays.get(url).is_some() {
            continue;
        }
        let text = crate::sinks::url_text(url);
        let ports: Vec<&str> = urls
            .iter()
            .zip(&wall.outputs)
            .filter(|(u, _)| *u == url)
            .map(|(_, o)| o.name.as_str())
            .collect();
        if ports.len() > 1 {
            return Err(UsageError(format!(
                "{text}: a display shows one canvas port; ports {} all go to it",
                ports.join(", ")
            )));
        }
        let out = &wall.outputs[i];
        let Some(canvas) = out.canvas else {
            return Err(UsageError(format!(
                "{text}: display sinks show canvas ports (format = \"canvas\"); port \"{}\" is {}",
                out.name,
                out.format.name()
            )));
        };
        let mailbox = Arc::new(Mailbox::new(canvas.pixels() * 3));
        displays.insert(url.clone(), Arc::clone(&mailbox));
        targets.push(DisplayTarget {
            label: format!("{text} (port {})", out.name),
            monitor: match monitor {
                MonitorSel::Index(n) => crate::display::MonitorSel::Index(*n as usize),
                MonitorSel::Name(s) => crate::display::MonitorSel::Name(s.clone()),
            },
            offset: [*x, *y],
            mode: match mode {
                DisplayMode::Fullscreen => crate::display::Mode::Fullscreen,
                DisplayMode::Window => crate::display::Mode::Window,
            },
            size: canvas.size,
            refresh_hz: wall.refresh_hz,
            mailbox,
        });
    }
    Ok((targets, displays))
}

/// Whether the cards dim (`dim=card` on the wall's Colorlight sinks): then the renderer
/// leaves the pixels of every port at full level and each frame carries the level for the
/// cards. So every port must go to a Colorlight sink with `dim=card` (or `null`); a mix is a
/// usage error naming the ports that would go undimmed.
pub fn card_dimming(wall: &Wall, urls: &[SinkUrl]) -> Result<bool, UsageError> {
    let card = |u: &SinkUrl| {
        matches!(
            u,
            SinkUrl::Colorlight {
                dim: ledwall_render::wall::Dim::Card,
                ..
            }
        )
    };
    if !urls.iter().any(card) {
        return Ok(false);
    }
    let others: Vec<&str> = urls
        .iter()
        .zip(&wall.outputs)
        .filter(|(u, _)| !card(u) && **u != SinkUrl::Null)
        .map(|(_, o)| o.name.as_str())
        .collect();
    if !others.is_empty() {
        return Err(UsageError(format!(
            "dim=card leaves dimming to the Colorlight cards, so the pipeline renders every port \
             at full level: ports {} would not be dimmed. Send them to colorlight sinks with \
             dim=card too, or use dim=digital",
            others.join(", ")
        )));
    }
    Ok(true)
}

/// The renderer `options` ask for. When the GPU backend is chosen and display outputs
/// present on a device (`shared`) of the adapter it would use, the renderer shares that
/// device and keeps the display ports' bytes on the GPU: they go from the render to the
/// screen without a trip through host memory. Otherwise the display sinks upload the bytes
/// the renderer read back, once a frame.
pub fn make_renderer(
    wall: &Wall,
    options: &BackendOptions,
    shared: Option<&SharedDevice>,
    urls: &[SinkUrl],
) -> Result<(AnyRenderer, String), ledwall_render::RenderError> {
    let displays: Vec<usize> = urls
        .iter()
        .enumerate()
        .filter(|(_, u)| matches!(u, SinkUrl::Display { .. }))
        .map(|(i, _)| i)
        .collect();
    if let Some(s) = shared.filter(|_| !displays.is_empty()) {
        let choice = match options.choice {
            BackendChoice::Auto => {
                ledwall_render::backend::auto_choice(options.adapter.as_deref()).0
            }
            c => c,
        };
        let name = s.adapter.get_info().name;
        let same_adapter = options
            .adapter
            .as_ref()
            .is_none_or(|want| name.to_lowercase().contains(&want.to_lowercase()));
        if choice == BackendChoice::Gpu && same_adapter {
            let gpu = ledwall_render::gpu::Gpu::from_device(
                &s.adapter,
                s.device.clone(),
                s.queue.clone(),
            );
            let mut r = ledwall_render::gpu::Renderer::with_gpu(wall, gpu, None)?;
            for &i in &displays {
                r.keep_on_gpu(i)?;
            }
            let why = format!(
                "gpu on {name} ({}), the display outputs' device: their ports go to the screen without leaving the GPU",
                r.adapter().backend
            );
            return Ok((AnyRenderer::Gpu(Box::new(r)), why));
        }
        if choice == BackendChoice::Gpu {
            tracing::warn!(
                "--adapter picks another adapter than the displays' ({name}): display ports are read back and uploaded each frame"
            );
        }
    }
    AnyRenderer::new(wall, options)
}

/// Play: the renderer, the sinks, the control API and the engine, until the end. `shared`:
/// the device the display outputs present with, if any.
fn play(args: &PlayArgs, setup: Setup, shared: Option<SharedDevice>) -> anyhow::Result<()> {
    let Setup {
        playlist_arg,
        wall_path,
        wall,
        urls,
        show,
        displays,
    } = setup;
    // The control API shows what the wall shows from the frames' bytes: with it, display
    // ports are read back (and uploaded) rather than kept on the GPU.
    let shared = shared.filter(|_| args.control.is_none());

    let mut opts = OpenOptions::new(Canvas::from_wall(&wall));
    // The render thread never waits on a decoder for longer than half a tick (at most 5
    // ms): a frame that is not decoded yet leaves the previous one on screen.
    opts.frame_wait = Some(
        std::time::Duration::from_secs_f64(0.5 / f64::from(wall.refresh_hz.max(1)))
            .min(std::time::Duration::from_millis(5)),
    );
    let faults = Arc::clone(&opts.faults);
    opts.load = LoadOptions {
        max_pixels: args.max_pixels,
        max_bytes: args.max_memory << 20,
        background: wall.color.background.map(|c| c.min(255) as u8),
        hwaccel: args.hwaccel.unwrap_or_default(),
    };
    opts.hwaccel_given = args.hwaccel.is_some();
    let epoch = args.epoch.or(show.main.epoch);
    let now = jiff::ZonedDateTime::now().datetime();
    let mut program = Program::new(Path::new(&playlist_arg), show, wall.refresh_hz, opts, now);

    let backend_options = BackendOptions {
        choice: args.backend.into(),
        adapter: args.adapter.clone(),
        threads: 0,
    };
    let (mut renderer, backend) = make_renderer(&wall, &backend_options, shared.as_ref(), &urls)
        .with_context(|| {
            format!(
                "cannot start the {} renderer",
                ledwall_render::BackendChoice::from(args.backend).name()
            )
        })?;
    if card_dimming(&wall, &urls)? {
        ledwall_render::backend::RenderFrame::set_external_dimming(&mut renderer, true);
        tracing::info!("dim=card: the cards dim; the pipeline renders at full level");
    }
    let geometry = Arc::clone(renderer.geometry());

    // The control API: checked before anything starts playing.
    let token = match &args.control {
        Some(addr) => {
            let token = crate::control::load_token(args.control_token_file.as_deref())
                .map_err(UsageError)?;
            crate::control::check_listen(*addr, token.as_deref()).map_err(UsageError)?;
            token
        }
        None => None,
    };
    let roots = if args.control.is_some() {
        let mut dirs: Vec<PathBuf> = Vec::new();
        let started = Path::new(&playlist_arg);
        if started.is_file() {
            let dir = started.parent().filter(|d| !d.as_os_str().is_empty());
            dirs.push(dir.map_or_else(|| PathBuf::from("."), Path::to_path_buf));
        }
        dirs.extend(args.content_roots.iter().cloned());
        crate::control::ContentRoots::new(&dirs).map_err(UsageError)?
    } else {
        crate::control::ContentRoots::default()
    };

    // An exit that cannot wait for the clean stop (a second signal, a stuck thread) still
    // gives the terminal back.
    crate::shutdown::on_emergency_exit("terminal", terminal::restore_now);
    crate::shutdown::on_emergency_exit("ffmpeg", || {
        crate::media::video::kill_children();
    });
    let mut control = Control {
        stop: stop_flag(),
        reload: reload_flag(),
        stop_grace: Some(crate::shutdown::STOP_GRACE),
        wall: Some((wall_path.clone(), Arc::new(wall.clone()))),
        ..Control::default()
    };
    match &args.multisync {
        None => {}
        Some(MultisyncArg::Remote { port, hosts }) => {
            control.remote = Some(Arc::new(multisync_remote(*port, hosts, args)?))
        }
        Some(arg) => {
            control.multisync = Some(Arc::new(std::sync::Mutex::new(multisync_master(
                arg, args,
            )?)));
        }
    }
    let all_null = urls.iter().all(|u| *u == SinkUrl::Null);
    let view = all_null && std::io::stdout().is_terminal();
    let sink_options = SinkOptions {
        displays,
        ..SinkOptions::default()
    };
    let mut sinks = open_sinks(view, &wall, &geometry, &urls, &control, &sink_options)?;

    let telemetry = Arc::new(Telemetry::new(shape(&wall, &geometry, &sinks, &program)));
    if let Some(r) = &control.remote {
        let _ = telemetry.multisync.set(Arc::clone(r));
    }
    control.telemetry = Some(Arc::clone(&telemetry));
    let _server = match args.control {
        Some(addr) => {
            let (tx, rx) = crossbeam_channel::bounded(crate::control::COMMAND_QUEUE);
            control.commands = Some(rx);
            let adapter = match &renderer {
                AnyRenderer::Gpu(r) => Some(r.adapter().name.clone()),
                AnyRenderer::Cpu(_) => None,
            };
            telemetry.program.store(Arc::new(engine::program_info(
                &program,
                wall.refresh_hz,
                None,
            )));
            let ctx = crate::control::Ctx::new(
                Arc::clone(&telemetry),
                tx,
                wall_path.clone(),
                renderer.name().to_string(),
                adapter,
                roots,
                token,
            );
            let server = crate::control::ControlServer::start(addr, ctx)
                .map_err(|e| UsageError(format!("--control {addr}: cannot listen: {e}")))?;
            Some(server)
        }
        None => None,
    };

    let mut options = EngineOptions::for_wall(&wall);
    options.ticks = args
        .duration
        .map(|s| (s * f64::from(wall.refresh_hz)).round() as u64);
    if let Some(e) = epoch {
        // Ticks count from the epoch: start with the tick due now, and let `--for` end the
        // run that many seconds after now (or after the epoch, when it is still ahead).
        let first = epoch_tick_now(e, wall.refresh_hz);
        options.epoch = Some(e);
        options.first_tick = first;
        options.ticks = options.ticks.map(|n| n.saturating_add(first));
        tracing::info!(
            epoch = %jiff::Timestamp::from_nanosecond(i128::from(e)).unwrap_or_default(),
            "ticks are due at the epoch + n / {} Hz on the system clock; the first is tick {first}",
            wall.refresh_hz
        );
    }
    // The summary's file is opened now, so a path that cannot be written is found before
    // the run, not after it (when the figures would be lost).
    let mut stats_file = match &args.stats {
        Some(path) => Some(std::fs::File::create(path).map_err(|e| {
            UsageError(format!("--stats {}: cannot write it: {e}", path.display()))
        })?),
        None => None,
    };
    let mut tick_log = match &args.stats {
        Some(path) => {
            let csv = ticks_path(path);
            let file = std::fs::File::create(&csv)
                .with_context(|| format!("cannot create {}", csv.display()))?;
            Some(std::io::BufWriter::with_capacity(1 << 16, file))
        }
        None => None,
    };
    if options.first_tick > 0
        && let Some(w) = tick_log.as_mut()
    {
        // The engine heads the log only at tick 0 (a later run continues it); from an
        // epoch the first run starts later.
        engine::write_tick_csv(w, None)
            .with_context(|| format!("cannot write {}", ticks_path_of(args).display()))?;
    }
    let sink_names: Vec<&str> = sinks.sinks().iter().map(|s| s.url()).collect();
    tracing::info!(
        playlist = %playlist_arg,
        wall = %wall_path.display(),
        refresh_hz = wall.refresh_hz,
        backend = %backend,
        "playing {} on {} at {} Hz into {}; Ctrl-C stops",
        playlist_arg,
        wall.name,
        wall.refresh_hz,
        sink_names.join(", ")
    );
    // Under systemd: READY once the first frame is out, WATCHDOG while ticks go out.
    let _service = crate::service::Service::start(Arc::clone(&control.status));
    let mut wall = Arc::new(wall);
    let mut geometry = geometry;
    let mut backend = backend;
    let mut lost: Vec<String> = Vec::new();
    let report = loop {
        let report = engine::run(
            &mut renderer,
            &geometry,
            &mut program,
            &mut sinks,
            SystemClock::new(),
            &options,
            &control,
            tick_log.as_mut().map(|w| w as &mut (dyn Write + Send)),
        )?;
        lost.extend(report.output_lost.clone());
        let Some(new) = report.restart.clone() else {
            break report;
        };
        // A changed wall (geometry or sinks) takes over at this item boundary; when it
        // cannot (a sink that does not open, a renderer that does not start), the old wall
        // plays on.
        options.first_tick = report.next_tick;
        let summary = report.summary(&wall.name, wall.refresh_hz, &backend, &sinks);
        tracing::info!("{}", summary.text().lines().next().unwrap_or(""));
        let device = shared.as_ref();
        let old = std::mem::replace(&mut sinks, SinkSet::from_parts(Vec::new(), Vec::new())?);
        match take_over(
            &new,
            old,
            args,
            &backend_options,
            view,
            &control,
            &sink_options,
            device,
        ) {
            Ok((r, b, g, s)) => {
                renderer = r;
                backend = b;
                geometry = g;
                sinks = s;
                wall = new;
                let mut o = program.open_options().clone();
                o.canvas = Canvas::from_wall(&wall);
                o.load.background = wall.color.background.map(|c| c.min(255) as u8);
                program.set_open_options(o);
                telemetry
                    .shape
                    .store(Arc::new(shape(&wall, &geometry, &sinks, &program)));
                control.wall = Some((wall_path.clone(), Arc::clone(&wall)));
                tracing::info!(
                    "the changed wall {} ({}x{}) plays from tick {}",
                    wall.name,
                    wall.width,
                    wall.height,
                    options.first_tick
                );
            }
            Err((e, old)) => {
                sinks = old;
                tracing::error!(
                    "cannot take the changed wall, the old one plays on: {}",
                    crate::deck::error_chain(e.as_ref())
                );
            }
        }
        // Not a stop: the next run goes on (unless a signal came meanwhile, which arms it
        // again and ends that run).
        crate::shutdown::stop_finished();
    };
    if let Some(m) = &control.multisync {
        let s = match m.lock() {
            Ok(g) => g.stats(),
            Err(p) => p.into_inner().stats(),
        };
        tracing::info!(
            "multisync: {} packets sent, {} send errors, {} not sent (name too long)",
            s.packets,
            s.errors,
            s.refused
        );
    }
    if let Some(r) = &control.remote {
        let s = r.stats();
        let c = r.counts();
        tracing::info!(
            "multisync: remote received {} packets ({} start, {} sync, {} stop, {} open, {} \
             other), {} bad packets, {} receive errors, {} from other senders ignored; \
             corrections: {} switches, {} jumps, {} skips, {} holds, {} stretched ticks; \
             master lost {} times",
            s.packets,
            s.starts,
            s.syncs,
            s.stops,
            s.opens,
            s.other,
            s.bad,
            s.errors,
            s.ignored_sender,
            c.switches,
            c.jumps,
            c.skips,
            c.holds,
            c.stretched_ticks,
            c.lost
        );
    }
    crate::shutdown::stop_stage("closing the sinks");
    drop(tick_log);
    // The end of the streams (sACN's stream-terminated packets) and the last flush.
    if let Err(e) = sinks.close()
        && lost.is_empty()
    {
        lost.push(crate::deck::error_chain(&e));
    }
    let mut summary = report.summary(&wall.name, wall.refresh_hz, &backend, &sinks);
    summary.media = Some(faults.snapshot());
    if report.stopped {
        tracing::info!("stopped by a signal; sinks flushed");
    }
    crate::shutdown::stop_stage("writing the summary");
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    out.write_all(summary.text().as_bytes())?;
    out.flush()?;
    if let (Some(path), Some(file)) = (&args.stats, stats_file.as_mut()) {
        let text = serde_json::to_string_pretty(&summary)?;
        file.write_all((text + "\n").as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if !lost.is_empty() {
        return Err(crate::OutputLost(lost.join("; ")).into());
    }
    Ok(())
}

/// The MultiSync remote `--multisync remote[:PORT][,HOST...]` asks for, listening (on
/// `--multisync-iface` only, when given). A host that does not resolve or an interface that
/// is not there is a usage error (exit 2); a port that cannot be bound (in use) is an error
/// of the run (exit 1).
fn multisync_remote(
    port: u16,
    hosts: &[String],
    args: &PlayArgs,
) -> anyhow::Result<crate::engine::remote::RemoteSync> {
    use crate::multisync::{MultisyncError, Remote, RemoteConfig, resolve_masters};
    if args.multisync_ttl.is_some() {
        return Err(UsageError(
            "--multisync-ttl: only a master sends multicast (not --multisync remote)".into(),
        )
        .into());
    }
    let masters = resolve_masters(hosts.iter().map(String::as_str))
        .map_err(|e| UsageError(format!("--multisync remote:{}: {e}", hosts.join(","))))?;
    let config = RemoteConfig {
        port,
        iface: args.multisync_iface.clone(),
        masters,
        ..RemoteConfig::default()
    };
    let remote = Remote::start(&config).map_err(|e| match e {
        MultisyncError::Interface { .. } => UsageError(format!("--multisync-iface: {e}")).into(),
        e => anyhow::anyhow!("--multisync remote: cannot listen on UDP port {port}: {e}"),
    })?;
    let joined = remote.joined();
    let only: Vec<String> = config.masters.iter().map(|a| a.to_string()).collect();
    tracing::info!(
        "multisync: remote, following the master heard on UDP {}{}{}",
        remote.local_addr(),
        if joined.is_empty() {
            " (unicast only)".to_string()
        } else {
            format!(
                " and on {} ({})",
                crate::multisync::MULTICAST_GROUP,
                joined.join(", ")
            )
        },
        if only.is_empty() {
            String::new()
        } else {
            format!(", only from {}", only.join(", "))
        }
    );
    Ok(crate::engine::remote::RemoteSync::new(
        remote,
        config.lost_after,
    ))
}

/// The MultiSync master `--multisync` asks for (with `--multisync-iface` and
/// `--multisync-ttl` for multicast), its socket open and unicast hosts resolved.
fn multisync_master(
    arg: &MultisyncArg,
    args: &PlayArgs,
) -> Result<crate::multisync::Master, UsageError> {
    use crate::multisync::{Destination, Master, MasterConfig};
    let (config, what) = match arg {
        MultisyncArg::Multicast => {
            let mut config = MasterConfig::default();
            if let Destination::Multicast { iface, ttl } = &mut config.destination {
                iface.clone_from(&args.multisync_iface);
                *ttl = args.multisync_ttl.unwrap_or(*ttl);
            }
            (config, "master".to_string())
        }
        MultisyncArg::Unicast(_)
            if args.multisync_iface.is_some() || args.multisync_ttl.is_some() =>
        {
            return Err(UsageError(
                "--multisync-iface and --multisync-ttl are for multicast (--multisync master), \
                 not for master:HOSTS (unicast)"
                    .into(),
            ));
        }
        MultisyncArg::Unicast(hosts) => (
            MasterConfig::unicast(hosts.iter().map(String::as_str), crate::multisync::PORT)
                .map_err(|e| UsageError(format!("--multisync master:{}: {e}", hosts.join(","))))?,
            format!("master:{}", hosts.join(",")),
        ),
        MultisyncArg::Remote { .. } => {
            return Err(UsageError("--multisync remote: not a master".into()));
        }
    };
    let master = Master::new(&config).map_err(|e| match e {
        crate::multisync::MultisyncError::Interface { .. } => {
            UsageError(format!("--multisync-iface: {e}"))
        }
        e => UsageError(format!("--multisync {what}: {e}")),
    })?;
    let to: Vec<String> = master
        .destinations()
        .iter()
        .map(|d| d.to_string())
        .collect();
    let how = match &config.destination {
        Destination::Multicast { iface, ttl } => {
            let by = iface.as_deref().unwrap_or("the route to 224.0.0.0/4");
            format!(" (by {by}, TTL {ttl})")
        }
        Destination::Unicast(_) => String::new(),
    };
    tracing::info!(
        "multisync: master, sending the item on screen to {}{how}",
        to.join(", ")
    );
    Ok(master)
}

/// The sinks of `wall`'s ports: the terminal view (`view`), or the `urls`.
fn open_sinks(
    view: bool,
    wall: &Wall,
    geometry: &Arc<ledwall_render::Geometry>,
    urls: &[SinkUrl],
    control: &Control,
    options: &SinkOptions,
) -> anyhow::Result<SinkSet> {
    Ok(if view {
        let sink = TerminalSink::new(
            geometry,
            Box::new(std::io::stdout()),
            Box::new(terminal::terminal_size),
            Arc::clone(&control.status),
            wall.refresh_hz,
        )?;
        let routes = sink.routes();
        SinkSet::from_parts(vec![Box::new(sink)], routes)?
    } else {
        SinkSet::open(wall, geometry, urls, options)?
    })
}

/// A renderer and sinks for a changed wall.
type TakeOver = (AnyRenderer, String, Arc<ledwall_render::Geometry>, SinkSet);

/// Why a changed wall could not take over.
type TakeOverError = Box<dyn std::error::Error + Send + Sync>;

/// Build a renderer and sinks for the changed `wall`. The sinks are `old`'s reopened
/// ([`SinkSet::reopen`]): a sink whose URL and ports did not change is carried over as it
/// is (an sACN stream goes on), removed ones are closed (an sACN stream ends as E1.31
/// asks). On an error `old` comes back untouched, with the error.
#[allow(clippy::too_many_arguments)]
fn take_over(
    wall: &Wall,
    old: SinkSet,
    args: &PlayArgs,
    backend: &BackendOptions,
    view: bool,
    control: &Control,
    options: &SinkOptions,
    shared: Option<&SharedDevice>,
) -> Result<TakeOver, (TakeOverError, SinkSet)> {
    let prepared = (|| -> Result<_, TakeOverError> {
        let old_hz = control.wall.as_ref().map(|(_, w)| w.refresh_hz);
        if old_hz.is_some_and(|hz| hz != wall.refresh_hz) {
            return Err(format!(
                "refresh_hz changed ({} → {}): restart ledwall play for a new refresh rate",
                old_hz.unwrap_or(0),
                wall.refresh_hz
            )
            .into());
        }
        wall.check_memory()?;
        let urls = sink_urls(wall, &args.sinks)?;
        let card_dim = card_dimming(wall, &urls)?;
        let (mut renderer, name) = make_renderer(wall, backend, shared, &urls)?;
        ledwall_render::backend::RenderFrame::set_external_dimming(&mut renderer, card_dim);
        let geometry = Arc::clone(renderer.geometry());
        Ok((renderer, name, geometry, urls))
    })();
    let (renderer, name, geometry, urls) = match prepared {
        Ok(p) => p,
        Err(e) => return Err((e, old)),
    };
    let sinks = if view {
        match open_sinks(view, wall, &geometry, &urls, control, options) {
            Ok(s) => s,
            Err(e) => return Err((e.into(), old)),
        }
    } else {
        SinkSet::reopen(old, wall, &geometry, &urls, options).map_err(|(e, old)| {
            let e: TakeOverError = Box::new(e);
            (e, old)
        })?
    };
    Ok((renderer, name, geometry, sinks))
}

/// What the control API shows of a wall and its sinks.
fn shape(
    wall: &Wall,
    geometry: &Arc<ledwall_render::Geometry>,
    sinks: &SinkSet,
    program: &Program,
) -> crate::engine::telemetry::Shape {
    crate::engine::telemetry::Shape::new(
        crate::engine::telemetry::WallInfo {
            name: wall.name.clone(),
            width: wall.width,
            height: wall.height,
            refresh_hz: wall.refresh_hz,
        },
        Arc::clone(geometry),
        sink_labels(wall, sinks),
        program.open_options().clone(),
    )
}

/// Per sink of `sinks`: the names of the wall ports routed to it (joined with `+`) and its
/// URL.
pub fn sink_labels(wall: &Wall, sinks: &SinkSet) -> Vec<(String, String)> {
    sinks
        .sinks()
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let names: Vec<&str> = sinks
                .routes()
                .iter()
                .zip(&wall.outputs)
                .filter(|((sink, _), _)| *sink == i)
                .map(|(_, o)| o.name.as_str())
                .collect();
            (names.join("+"), s.url().to_string())
        })
        .collect()
}

/// The tick due next by the system clock for `epoch` (ns since 1970) at `hz`: the first
/// one not before now; 0 before the epoch.
fn epoch_tick_now(epoch: i64, hz: u32) -> u64 {
    use crate::engine::clock::{Clock, SystemClock};
    let since = i128::from(SystemClock::new().realtime()) - i128::from(epoch);
    if since <= 0 {
        return 0;
    }
    let n = (since * i128::from(hz.max(1)) + 999_999_999) / 1_000_000_000;
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The per-tick CSV's path for `args` (empty without `--stats`).
fn ticks_path_of(args: &PlayArgs) -> PathBuf {
    args.stats.as_deref().map(ticks_path).unwrap_or_default()
}

/// Where the per-tick CSV of `--stats FILE` goes: `FILE` with its extension replaced by
/// `ticks.csv` (`stats.json` → `stats.ticks.csv`).
pub fn ticks_path(stats: &Path) -> PathBuf {
    stats.with_extension("ticks.csv")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_wall() -> Wall {
        Wall::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/walls/demo.toml"
        ))
        .unwrap()
    }

    #[test]
    fn sink_overrides_replace_one_port() {
        let wall = demo_wall();
        let urls = sink_urls(&wall, &["port2=ddp://10.0.0.2".into()]).unwrap();
        assert_eq!(urls[0], SinkUrl::Null);
        assert_eq!(urls[1], SinkUrl::parse("ddp://10.0.0.2").unwrap());
        let e = sink_urls(&wall, &["port9=null".into()]).unwrap_err();
        assert!(
            e.0.contains("no port \"port9\" (ports: port1, port2)"),
            "{e}"
        );
        assert!(sink_urls(&wall, &["port1".into()]).is_err());
        assert!(sink_urls(&wall, &["port1=gopher://x".into()]).is_err());
    }

    #[test]
    fn card_dimming_needs_every_port_on_a_dimming_card() {
        let wall = Wall::from_toml_str(
            r#"
            name = "cl"
            [canvas]
            width = 8
            height = 4
            [[outputs]]
            name = "a"
            format = "canvas"
            [[outputs]]
            name = "b"
            format = "canvas"
            "#,
            "cl.toml",
        )
        .unwrap();
        let url = |s: &str| SinkUrl::parse(s).unwrap();
        let card = url("colorlight://eth1?dim=card");
        let digital = url("colorlight://eth2");
        assert!(!card_dimming(&wall, &[digital.clone(), SinkUrl::Null]).unwrap());
        assert!(card_dimming(&wall, &[card.clone(), SinkUrl::Null]).unwrap());
        assert!(card_dimming(&wall, &[card.clone(), url("colorlight://eth2?dim=card")]).unwrap());
        let e = card_dimming(&wall, &[card, digital]).unwrap_err();
        assert!(e.0.contains("ports b would not be dimmed"), "{e}");
    }

    #[test]
    fn per_tick_file_sits_beside_the_stats() {
        assert_eq!(
            ticks_path(Path::new("out/stats.json")),
            Path::new("out/stats.ticks.csv")
        );
    }
}
