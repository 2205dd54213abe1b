//! `ledwall`: renders media into the exact bytes LED-wall hardware needs.
//!
//! A thin shell around the `ledwall_player` library: parse the command line (clap prints
//! usage errors itself and exits with 2), run it, and report an error with its whole cause
//! chain on stderr. Exit codes: 0 success, 1 the work failed, 2 the command line or a
//! configuration file is wrong.

use clap::Parser;
use ledwall_player::cli::Cli;
use std::process::ExitCode;

/// Counts allocations so that `ledwall bench` can report allocations per frame (one relaxed
/// atomic increment per allocation).
#[global_allocator]
static ALLOC: ledwall_player::alloc::Counting = ledwall_player::alloc::Counting;

fn run() -> anyhow::Result<()> {
    ledwall_player::run(Cli::parse())
}

fn main() -> ExitCode {
    ledwall_player::alloc::mark_installed();
    // Before any thread starts: resident memory that follows what is live, for months.
    ledwall_player::alloc::tune_malloc();
    // Mesa's Vulkan device-select layer prints "XDG_RUNTIME_DIR is invalid" on headless
    // machines every time an instance is created; it only reorders devices, which wgpu
    // does itself. Turn it off unless the user set it.
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY: nothing else runs yet: no other thread reads or writes the environment.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            ledwall_player::report_error(&err);
            ExitCode::from(ledwall_player::exit_code(&err))
        }
    }
}
