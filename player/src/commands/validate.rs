//! `ledwall validate FILE...`: load each wall file with every check the renderer relies on
//! and report every problem, each with its file and field.
//!
//! A valid wall prints `FILE: ok (N ports, M modules, WxH)` on stdout; an invalid one prints
//! the full problem listing on stderr. Playlist files are recognized (an `items` or
//! `schedule` array and no `canvas`) and validated as playlists (design §12), with every
//! playlist their schedule names; media files that do not exist (yet) are listed as
//! warnings, not failures, since content is often copied in after the playlist is
//! written. The `[location]` and `[[brightness]]` entries of a playlist (design §12) are
//! checked with it, each bad field one problem. The command fails (exit code 2) if any
//! file fails.
//!
//! Files are read bounded ([`ledwall_render::textfile`]): a FIFO or a device is refused
//! without blocking, a wall over 16 MiB or a playlist over 4 MiB with its size; at most
//! 50 problems (and 50 missing-media warnings) are listed per file, then "… and N more";
//! control characters of names, keys and values are shown escaped.

use crate::UsageError;
use crate::cli::ValidateArgs;
use crate::media::MediaRef;
use crate::playlist::{Playlist, Show};
use ledwall_render::Wall;
use ledwall_render::textfile::{MAX_LISTED_PROBLEMS, escape_controls};
use std::io::Write;
use std::path::Path;

/// What one file turned out to be.
#[derive(Debug)]
pub enum Outcome {
    /// A valid wall.
    Wall(Box<Wall>),
    /// A wall file with problems.
    Invalid(ledwall_render::ConfigError),
    /// A valid playlist file (with the playlists its schedule names).
    Playlist(Box<Show>),
}

/// Run `ledwall validate`.
pub fn run(args: &ValidateArgs, out: &mut impl Write, err: &mut impl Write) -> anyhow::Result<()> {
    let mut failed = 0usize;
    for file in &args.files {
        match check_file(file) {
            Outcome::Wall(wall) => {
                writeln!(out, "{}: ok ({})", shown(file), summary(&wall))?;
                // The player may run elsewhere: a wall too big for this machine is a
                // warning here (`ledwall play` refuses it).
                if let Err(e) = wall.check_memory() {
                    for p in &e.problems {
                        writeln!(
                            err,
                            "{}: warning: on this machine, {}",
                            shown(file),
                            escape_controls(&p.reason, false)
                        )?;
                    }
                }
            }
            Outcome::Invalid(e) => {
                failed += 1;
                writeln!(err, "{e}")?;
            }
            Outcome::Playlist(show) => {
                writeln!(out, "{}: ok ({})", shown(file), playlist_summary(&show))?;
                for p in std::iter::once(&show.main).chain(&show.scheduled) {
                    let warnings = missing_media(p);
                    let n = warnings.len();
                    for w in warnings.iter().take(MAX_LISTED_PROBLEMS) {
                        writeln!(
                            err,
                            "{}: warning: {}",
                            shown(&p.file),
                            escape_controls(w, false)
                        )?;
                    }
                    if n > MAX_LISTED_PROBLEMS {
                        writeln!(
                            err,
                            "{}: … and {} more warnings",
                            shown(&p.file),
                            n - MAX_LISTED_PROBLEMS
                        )?;
                    }
                }
            }
        }
    }
    out.flush()?;
    if failed > 0 {
        let total = args.files.len();
        return Err(UsageError(if total == 1 {
            format!("{} is not valid", shown(&args.files[0]))
        } else {
            format!("{failed} of {total} files are not valid")
        })
        .into());
    }
    Ok(())
}

/// A path as printed: control characters escaped.
fn shown(path: &Path) -> String {
    escape_controls(&path.display().to_string(), false).into_owned()
}

/// Validate one file.
pub fn check_file(path: &Path) -> Outcome {
    if looks_like_playlist(path) {
        return match Show::load(path) {
            Ok(show) => Outcome::Playlist(Box::new(show)),
            Err(e) => Outcome::Invalid(e),
        };
    }
    match Wall::load(path) {
        Ok(w) => Outcome::Wall(Box::new(w)),
        Err(e) => Outcome::Invalid(e),
    }
}

/// `N ports, M modules, WxH`.
pub fn summary(wall: &Wall) -> String {
    let ports = wall.outputs.len();
    let modules: usize = wall.outputs.iter().map(|o| o.modules.len()).sum();
    format!(
        "{ports} port{}, {modules} module{}, {}x{}",
        if ports == 1 { "" } else { "s" },
        if modules == 1 { "" } else { "s" },
        wall.width,
        wall.height
    )
}

/// `playlist "NAME", N items, M schedule entries, K brightness entries` (the last two when
/// there are any).
pub fn playlist_summary(show: &Show) -> String {
    let p = &show.main;
    let n = p.items.len();
    let s = p.schedule.len();
    let mut text = format!(
        "playlist \"{}\", {n} item{}",
        escape_controls(&p.name, false),
        if n == 1 { "" } else { "s" }
    );
    if s > 0 {
        text += &format!(", {s} schedule entr{}", if s == 1 { "y" } else { "ies" });
    }
    let b = p.brightness.entries.len();
    if b > 0 {
        text += &format!(", {b} brightness entr{}", if b == 1 { "y" } else { "ies" });
    }
    text
}

/// `items[i].source: PATH does not exist` for every item whose file or folder is missing.
pub fn missing_media(p: &Playlist) -> Vec<String> {
    p.items
        .iter()
        .filter_map(|item| match &item.media {
            MediaRef::File(path) if !path.exists() => Some(format!(
                "items[{}].source: {} does not exist ({:?} as written)",
                item.index,
                path.display(),
                item.source
            )),
            _ => None,
        })
        .collect()
}

/// Whether the file parses as a table with `items` or `schedule` and no `canvas`: a playlist
/// (design §12), not a wall. Unreadable or unparsable files are left to the wall loader,
/// which reports them.
pub fn looks_like_playlist(path: &Path) -> bool {
    // Bounded by the larger limit (a wall's): an oversized playlist is still recognized,
    // then refused by the playlist loader with its own limit.
    let Ok(text) = ledwall_render::textfile::read_config(
        path,
        "configuration file",
        ledwall_render::textfile::WALL_LIMIT,
    ) else {
        return false;
    };
    let json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let keys: Vec<String> = if json {
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
            _ => return false,
        }
    } else {
        match toml::from_str::<toml::Table>(&text) {
            Ok(t) => t.keys().cloned().collect(),
            Err(_) => return false,
        }
    };
    let has = |k: &str| keys.iter().any(|x| x == k);
    (has("items") || has("schedule")) && !has("canvas")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlists_are_recognized() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lobby.toml");
        std::fs::write(
            &p,
            "name = \"lobby\"\n[[items]]\nsource = \"pattern:bars\"\nduration = 5.0\n",
        )
        .unwrap();
        assert!(looks_like_playlist(&p));
        assert!(matches!(check_file(&p), Outcome::Playlist(_)));
        let j = dir.path().join("lobby.json");
        std::fs::write(&j, r#"{"name": "x", "items": []}"#).unwrap();
        assert!(looks_like_playlist(&j));
        // Recognized as a playlist, then validated as one: an empty playlist is refused.
        assert!(matches!(check_file(&j), Outcome::Invalid(_)));
        let w = dir.path().join("wall.toml");
        std::fs::write(&w, "name = \"w\"\n[canvas]\nwidth = 1\nheight = 1\n").unwrap();
        assert!(!looks_like_playlist(&w));
        assert!(matches!(check_file(&w), Outcome::Invalid(_)));
        assert!(!looks_like_playlist(&dir.path().join("missing.toml")));
    }
}
