//! Bounded reading of configuration files, and the small text helpers their errors need.
//!
//! Every configuration file (walls, mapping tables, playlists and the playlists a schedule
//! names, the files `ledwall validate` is given) is read with [`read_config`]: a file that
//! is not a regular file (a FIFO, a device such as `/dev/zero`, a folder) is refused before
//! anything could block on it, a file larger than its limit is refused with its size and
//! the limit, and no more than the limit plus one byte is ever read, whatever the file
//! claims its size is.
//!
//! The limits are generous for real use:
//!
//! | file            | limit                 |
//! |-----------------|-----------------------|
//! | wall            | [`WALL_LIMIT`] 16 MiB   |
//! | mapping table   | [`MAP_TABLE_LIMIT`] 64 MiB (a 1024x1024 module: ~20 bytes a line) |
//! | playlist        | [`PLAYLIST_LIMIT`] 4 MiB |
//!
//! Errors echo what a file contains (keys, values, names); [`escape_controls`] makes the
//! control characters in such text visible (`\u{1b}`), so that a hostile file cannot
//! rewrite the operator's terminal. [`crate::ConfigError`]'s `Display` applies it to
//! everything it prints and lists at most [`MAX_LISTED_PROBLEMS`] problems.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Read;
use std::path::Path;

/// Largest wall file read, in bytes (16 MiB).
pub const WALL_LIMIT: u64 = 16 << 20;
/// Largest mapping table read, in bytes (64 MiB).
pub const MAP_TABLE_LIMIT: u64 = 64 << 20;
/// Largest playlist file read, in bytes (4 MiB).
pub const PLAYLIST_LIMIT: u64 = 4 << 20;
/// Most problems a [`crate::ConfigError`] lists; the rest are counted ("… and N more").
pub const MAX_LISTED_PROBLEMS: usize = 50;

/// A size in words: `512 bytes`, `3.5 KiB`, `16 MiB`, `4.0 GiB`.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    let whole = n.is_multiple_of(1u64 << (10 * (unit as u32 + 1)));
    if whole {
        format!("{v:.0} {}", UNITS[unit])
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

fn file_kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Read a configuration file as UTF-8 text, `what` naming its kind in errors ("wall file",
/// "playlist", "mapping table"), refusing anything but a regular file of at most `limit`
/// bytes. The error is the reason, without the path (callers put the file in front).
pub fn read_config(path: &Path, what: &str, limit: u64) -> Result<String, String> {
    let bytes = read_bytes(path, what, limit)?;
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "cannot read the file: not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// [`read_config`] without the UTF-8 check: the bytes, at most `limit` of them.
pub fn read_bytes(path: &Path, what: &str, limit: u64) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::OpenOptionsExt;
    // The type first, from the path: a FIFO is never opened (an open would wait for a
    // writer), a device never read.
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the file: {e}"))?;
    check_meta(&meta, what, limit)?;
    let mut file = std::fs::File::options()
        .read(true)
        // Non-blocking: a FIFO that appeared between the type check and the open then
        // does not wait for a writer.
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    // Again from the open file: it may have been replaced in between.
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read the file: {e}"))?;
    check_meta(&meta, what, limit)?;
    let mut bytes = Vec::with_capacity(meta.len().min(limit) as usize + 1);
    (&mut file)
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(what, None, limit));
    }
    Ok(bytes)
}

fn check_meta(meta: &std::fs::Metadata, what: &str, limit: u64) -> Result<(), String> {
    if !meta.file_type().is_file() {
        return Err(format!(
            "cannot read the file: it is {}; a {what} must be a regular file",
            file_kind(&meta.file_type())
        ));
    }
    if meta.len() > limit {
        return Err(too_large(what, Some(meta.len()), limit));
    }
    Ok(())
}

fn too_large(what: &str, size: Option<u64>, limit: u64) -> String {
    let size = match size {
        Some(n) => format!("{n} bytes ({})", human_size(n)),
        None => "larger than that (it grew while being read)".to_string(),
    };
    format!(
        "the file is too large: {size}; a {what} may have at most {limit} bytes ({})",
        human_size(limit)
    )
}

/// `text` with its control characters written as escapes (`\u{1b}`, `\0`, `\r`, `\t`;
/// newlines too unless `keep_newlines`), so that printing it cannot move the cursor, clear
/// the screen or set the terminal's title. Borrowed when there is nothing to escape.
pub fn escape_controls(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let bad = |c: char| c.is_control() && !(keep_newlines && c == '\n');
    if !text.chars().any(bad) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if bad(c) {
            match c {
                '\0' => out.push_str("\\0"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                c => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A TOML table as JSON, for the loaders that check JSON values piece by piece. JSON has
/// no infinity or NaN (serde_json would make them `null`): each non-finite float is
/// reported in `nonfinite` with its field path (`color.gamma`, `items[2].duration`) and
/// becomes `null` in the result.
pub fn toml_to_json(table: toml::Table, nonfinite: &mut Vec<String>) -> serde_json::Value {
    let mut path = String::new();
    convert_table(table, &mut path, nonfinite)
}

fn convert_table(
    table: toml::Table,
    path: &mut String,
    nonfinite: &mut Vec<String>,
) -> serde_json::Value {
    let mut map = serde_json::Map::with_capacity(table.len());
    for (k, v) in table {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(&k);
        let v = convert(v, path, nonfinite);
        path.truncate(len);
        map.insert(k, v);
    }
    serde_json::Value::Object(map)
}

fn convert(v: toml::Value, path: &mut String, nonfinite: &mut Vec<String>) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        toml::Value::String(s) => J::String(s),
        toml::Value::Integer(i) => J::from(i),
        toml::Value::Float(f) => match serde_json::Number::from_f64(f) {
            Some(n) => J::Number(n),
            None => {
                nonfinite.push(path.clone());
                J::Null
            }
        },
        toml::Value::Boolean(b) => J::Bool(b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(list) => J::Array(
            list.into_iter()
                .enumerate()
                .map(|(i, v)| {
                    let len = path.len();
                    let _ = write!(path, "[{i}]");
                    let v = convert(v, path, nonfinite);
                    path.truncate(len);
                    v
                })
                .collect(),
        ),
        toml::Value::Table(t) => convert_table(t, path, nonfinite),
    }
}

/// The reason reported for a non-finite number.
pub const NOT_FINITE: &str = "must be a finite number (not inf or nan)";

/// Merge the non-finite fields found by [`toml_to_json`] into `problems`: one problem each
/// ([`NOT_FINITE`]), first, and without the type errors the `null` standing in for them
/// caused at the same field (or the table around it).
pub fn merge_nonfinite(nonfinite: &[String], problems: &mut Vec<crate::Problem>) {
    if nonfinite.is_empty() {
        return;
    }
    // serde names the field, or (inside a tagged enum) the table around it.
    problems.retain(|p| {
        !(p.reason.contains("null") && nonfinite.iter().any(|f| f.starts_with(&p.field)))
    });
    let mut all: Vec<crate::Problem> = nonfinite
        .iter()
        .map(|f| crate::Problem::new(f.clone(), NOT_FINITE))
        .collect();
    all.append(problems);
    *problems = all;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_words() {
        assert_eq!(human_size(10), "10 bytes");
        assert_eq!(human_size(16 << 20), "16 MiB");
        assert_eq!(human_size(3 << 29), "1.5 GiB");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            escape_controls("a\u{1b}[2Jb\0\r", false),
            "a\\u{1b}[2Jb\\0\\r"
        );
        assert_eq!(escape_controls("x\ny", true), "x\ny");
        assert_eq!(escape_controls("x\ny", false), "x\\ny");
        assert!(matches!(
            escape_controls("plain é", false),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn toml_floats_that_are_not_finite_are_named() {
        let t: toml::Table = toml::from_str("a = inf\n[b]\nc = [1.0, nan]\nd = 2.5\n").unwrap();
        let mut bad = Vec::new();
        let v = toml_to_json(t, &mut bad);
        assert_eq!(bad, ["a", "b.c[1]"]);
        assert_eq!(v["b"]["d"], 2.5);
        assert!(v["a"].is_null());
    }
}
