//! # ledwall-player
//!
//! Everything around the render core that a running wall needs: media decoding, playlists
//! and the timeline, the playback engine and its pacer, the outputs, previews, the control
//! API, and the `ledwall` command line (design §11).
//!
//! * [`cli`]: the command line, parsed with clap.
//! * [`media`]: stills, animations, image sequences and video (ffmpeg) behind one
//!   [`media::MediaSource`] trait, decoded into reusable frames with alpha composited over
//!   the background, behind pixel and memory limits checked before decoding.
//! * [`patterns`]: `pattern:` test sources for commissioning a wall; [`font`]: the built-in
//!   pixel font their labels, the previews' and the bench figure's use.
//! * [`playlist`], [`timeline`], [`deck`], [`reload`]: the playlist file (design §12) and its
//!   schedule, display tick → scene, media that never stops the wall, hot reload.
//! * [`layout`]: the JSON description of a rendered frame's port buffers (`frame.json`).
//! * [`commands`]: one module per subcommand.
//! * [`synth`]: deterministic synthetic images (the fixture media and test sources).
//! * [`sinks`]: where port buffers go at each tick: null, file, preview, DDP, Art-Net, sACN.
//! * [`engine`]: the playback engine: render thread, fixed-refresh pacer, statistics.
//! * [`preview`]: previews for content staff (animations, contact sheet, HTML report).
//! * [`control`]: the control API and page of `ledwall play --control` (design §13).
//!
//! The binary is a thin shell: it parses the command line, calls [`run`], and turns an error
//! into a message on stderr ([`report_error`]) and an exit code ([`exit_code`]).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod alloc;
pub mod cli;
pub mod commands;
pub mod control;
pub mod deck;
pub mod demo;
/// `display:` outputs: windows on chosen monitors that present frames at vblank, pixel-exact.
pub mod display;
pub mod engine;
mod error;
pub mod font;
pub mod layout;
pub mod media;
pub mod multisync;
pub mod patterns;
pub mod playlist;
pub mod preview;
pub mod reload;
/// systemd notifications (READY, WATCHDOG, STATUS) while `play` runs.
pub mod service;
pub mod shutdown;
pub mod sinks;
pub mod synth;
pub mod timeline;

pub use error::{OutputLost, UsageError, exit_code, report_error, write_error};
pub use media::MediaError;

use cli::{Cli, Command};
use std::io;

/// Run a parsed command line, writing normal output to stdout and per-file problem
/// listings to stderr. Errors carry their causes; [`exit_code`] classifies them.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Command::Render(args) => commands::render::run(&args, &mut out),
        Command::Validate(args) => {
            let stderr = io::stderr();
            let mut err = stderr.lock();
            commands::validate::run(&args, &mut out, &mut err)
        }
        Command::Info(args) => match &args.colorlight {
            Some(iface) => commands::info::colorlight(iface, &mut out),
            None => commands::info::run(&mut out),
        },
        Command::Play(args) => {
            // The terminal view writes to stdout from its own thread: release the lock.
            drop(out);
            commands::play::run(&args)
        }
        Command::Bench(args) => commands::bench::run(&args, &mut out),
        Command::Preview(args) => {
            let stderr = io::stderr();
            let mut err = stderr.lock();
            commands::preview::run(&args, &mut out, &mut err)
        }
        Command::Init(args) => commands::init::run(&args, &mut out),
        Command::Completions(args) => commands::completions::run(&args, &mut out),
        Command::Man(args) => commands::completions::man(&args, &mut out),
    }
}
