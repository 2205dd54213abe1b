//! `ledwall`: renders media into the exact bytes LED-wall hardware needs.
//!
//! A thin shell around the `ledwall_player` library: parse the command line (clap prints
//! usage errors itself and exits with 2), run it, and report an error with its whole cause
//! chain on stderr. Exit codes: 0 success, 1 the work failed, 2 the command line or a
//! configuration file is wrong.

use clap::Parser;
use ledwall_player::cli::Cli;
use std::process::ExitCode;

fn run() -> anyhow::Result<()> {
    ledwall_player::run(Cli::parse())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            ledwall_player::report_error(&err);
            ExitCode::from(ledwall_player::exit_code(&err))
        }
    }
}
