//! # ledwall-player
//!
//! Everything around the render core that a running wall needs: media decoding, and the
//! `ledwall` command line (design §11). Playlists, the timeline, the pacer and the network
//! outputs come later; this crate already holds the pieces the `render`, `validate` and
//! `info` commands use.
//!
//! * [`cli`]: the command line, parsed with clap.
//! * [`media`]: still images (PNG, including 16-bit, and JPEG) decoded into source frames
//!   with alpha composited over the wall's background, behind a pixel limit that is checked
//!   before anything is decoded.
//! * [`layout`]: the JSON description of a rendered frame's port buffers (`frame.json`).
//! * [`commands`]: one module per subcommand.
//! * [`synth`]: deterministic synthetic images (the fixture media and test sources).
//!
//! The binary is a thin shell: it parses the command line, calls [`run`], and turns an error
//! into a message on stderr ([`report_error`]) and an exit code ([`exit_code`]).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod cli;
pub mod commands;
mod error;
pub mod layout;
pub mod media;
pub mod synth;

pub use error::{UsageError, exit_code, report_error, write_error};
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
        Command::Info => commands::info::run(&mut out),
    }
}
