//! `ledwall init DIR`: write the built-in demo ([`crate::demo`]) into DIR as an operator's
//! show folder (`wall.toml`, `playlist.toml`, `media/`) to edit into a real show.
//!
//! Existing files are left alone (the command fails with exit code 2, naming them) unless
//! `--force`. On success it lists the files and the next commands to run.

use crate::UsageError;
use crate::cli::InitArgs;
use crate::demo;
use std::io::Write;

/// Run `ledwall init`.
pub fn run(args: &InitArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let dir = &args.dir;
    if !args.force {
        let existing: Vec<String> = demo::files()
            .iter()
            .map(|(rel, _)| dir.join(rel))
            .filter(|p| p.symlink_metadata().is_ok())
            .map(|p| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(UsageError(format!(
                "{} exist already: not overwritten (--force overwrites them)",
                existing.join(", ")
            ))
            .into());
        }
    }
    let written = demo::write_into(dir, args.force).map_err(|(file, e)| {
        anyhow::Error::new(e).context(format!("cannot write {}", file.display()))
    })?;
    for path in &written {
        writeln!(out, "wrote {}", path.display())?;
    }
    let wall = dir.join(demo::WALL_FILE);
    let playlist = dir.join(demo::PLAYLIST_FILE);
    writeln!(
        out,
        "next: edit {w} to describe your wall, then\n  ledwall validate {w} {p}\n  \
         ledwall preview {p} --wall {w} --out preview.gif\n  ledwall play {p} --wall {w}",
        w = wall.display(),
        p = playlist.display()
    )?;
    Ok(())
}
