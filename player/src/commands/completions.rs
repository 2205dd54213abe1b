//! `ledwall completions SHELL` and `ledwall man`: shell completion scripts and man pages,
//! generated from the clap definitions of [`crate::cli`], so they always match the
//! command line. The package installs copies kept in `packaging/` (a test checks they
//! equal what this build generates).

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use anyhow::Context;
use clap::CommandFactory;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The command name the scripts and pages are made for.
const BIN: &str = "ledwall";

/// Run `ledwall completions`: the script for the shell on `out`.
pub fn run(args: &CompletionsArgs, out: &mut impl Write) -> anyhow::Result<()> {
    out.write_all(&script(args.shell))?;
    Ok(())
}

/// The completion script for `shell`.
pub fn script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut buf);
    buf
}

/// The man page `ledwall(1)` (the subcommands listed, each with its own page).
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut page = Vec::new();
    // As generate_to makes them: `help` has no page of its own.
    clap_mangen::Man::new(Cli::command().disable_help_subcommand(true)).render(&mut page)?;
    Ok(page)
}

/// Write every man page into `dir` (created if missing): `ledwall.1` and
/// `ledwall-SUBCOMMAND.1` for each subcommand. Returns the files written, sorted.
pub fn write_man_pages(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
    let mut written: Vec<PathBuf> = Cli::command()
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| dir.join(format!("{BIN}-{}.1", s.get_name())))
        .chain(std::iter::once(dir.join(format!("{BIN}.1"))))
        .collect();
    written.sort();
    Ok(written)
}

/// Run `ledwall man`: `ledwall.1` on `out`, or every page into `--dir`.
pub fn man(args: &ManArgs, out: &mut impl Write) -> anyhow::Result<()> {
    match &args.dir {
        None => out.write_all(&man_page().context("cannot render the man page")?)?,
        Some(dir) => {
            for path in write_man_pages(dir)? {
                writeln!(out, "wrote {}", path.display())?;
            }
        }
    }
    Ok(())
}
