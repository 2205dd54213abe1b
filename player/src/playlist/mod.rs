//! The playlist file (design §12, a public contract): TOML, or JSON with a `.json`
//! extension, same fields.
//!
//! Loading reports every problem at once, each with the file, the field path (`items[2].fit`)
//! and the reason, like the wall loader: the file is parsed into a generic value, the top
//! level and every `[[items]]` / `[[schedule]]` element are deserialized on their own (so one
//! typo does not hide the next), then the semantic checks run on everything that parsed.
//!
//! Files are read bounded ([`read_playlist`]: a regular file of at most 4 MiB, never a
//! FIFO); a number that is inf or nan is refused naming its field.
//!
//! Media files are *not* opened here: a missing or broken file is a runtime matter (the item
//! is skipped with a log line, the wall keeps playing), not a reason to refuse the playlist.
//!
//! The brightness schedule (`[location]`, `[[brightness]]`) is parsed by [`brightness`] and
//! available as [`Playlist::brightness`].
//!
//! [`Show`] is a playlist together with the playlists its `[[schedule]]` entries name,
//! loaded and checked; [`Show::select`] picks the one that plays at a given local time.

pub mod brightness;
pub mod schedule;

pub use brightness::{
    BrightnessEntry, BrightnessSchedule, Edge, Location, Scheduled, Sun, SunTimes, fade_level,
};
pub use schedule::{ScheduleEntry, Weekday};

use crate::media::MediaRef;
use crate::media::video::Hwaccel;
use ledwall_render::{ConfigError, Filter, Fit, Problem};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// How long a still or a pattern shows when its item gives no `duration`, in seconds.
pub const DEFAULT_STILL_SECONDS: f64 = 10.0;
/// Longest `duration`, `start` or crossfade accepted, in seconds (a year).
pub const MAX_SECONDS: f64 = 366.0 * 86400.0;

/// Read a playlist file's text, bounded: a regular file of at most
/// [`ledwall_render::textfile::PLAYLIST_LIMIT`] bytes (4 MiB); a FIFO or a device is refused
/// without blocking.
pub fn read_playlist(path: &Path) -> Result<String, ConfigError> {
    ledwall_render::textfile::read_config(
        path,
        "playlist",
        ledwall_render::textfile::PLAYLIST_LIMIT,
    )
    .map_err(|e| ConfigError::single(path, "", e))
}

/// How an item comes in.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Transition {
    /// Replaces the previous item at once.
    #[default]
    Cut,
    /// Mixes from the previous item over `duration` seconds at the item's start.
    Crossfade {
        /// Seconds.
        duration: f64,
    },
}

/// One validated `[[items]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Its index in the file's `items` array.
    pub index: usize,
    /// `source` as written.
    pub source: String,
    /// What it names, paths resolved against the playlist's folder.
    pub media: MediaRef,
    /// Seconds to show it; `None`: stills show [`DEFAULT_STILL_SECONDS`], animations and
    /// video play to the end (`loops` times).
    pub duration: Option<f64>,
    /// Passes of an animation, video or sequence when `duration` is not given.
    pub loops: Option<u32>,
    /// Video: offset into the file, seconds.
    pub start: f64,
    /// Image sequences: frames per second.
    pub fps: Option<f64>,
    /// Fit mode.
    pub fit: Fit,
    /// Resampling filter.
    pub filter: Filter,
    /// How it comes in.
    pub transition: Transition,
    /// Colour transparent pixels are composited over (code values); the wall's background
    /// when `None`.
    pub background: Option<[u8; 3]>,
    /// Video: hardware decoding (`hwaccel`, the item's or else the playlist's); `None`: as
    /// the command line says (software without `--hwaccel`). `--hwaccel` wins over it.
    pub hwaccel: Option<Hwaccel>,
}

impl Item {
    /// A live source without a `duration`: it has no length of its own and plays until the
    /// schedule changes (design §12).
    pub fn open_ended(&self) -> bool {
        matches!(self.media, MediaRef::Live(_)) && self.duration.is_none()
    }
}

/// A validated playlist file.
#[derive(Debug, Clone, PartialEq)]
pub struct Playlist {
    /// The file it came from.
    pub file: PathBuf,
    /// Its name (the file's stem when not given).
    pub name: String,
    /// Start again after the last item (`loop`, default true).
    pub looped: bool,
    /// Items in play order.
    pub items: Vec<Item>,
    /// `[[schedule]]` entries in file order.
    pub schedule: Vec<ScheduleEntry>,
    /// `[location]` and the `[[brightness]]` entries; empty when the file has none.
    pub brightness: BrightnessSchedule,
    /// `epoch`: tick 0's time on the system clock, ns since 1970 (design §10); `--epoch`
    /// overrides it. Only the playlist named on the command line sets it.
    pub epoch: Option<i64>,
}

/// Parse an epoch (`--epoch`, `epoch = "..."`): an RFC 3339 time with its UTC offset, such
/// as `2026-12-06T18:00:00Z` or `2026-12-06T19:00:00+01:00`. Returns ns since 1970.
pub fn parse_epoch(s: &str) -> Result<i64, String> {
    let t: jiff::Timestamp = s.trim().parse().map_err(|e| {
        format!(
            "\"{s}\" is not an RFC 3339 time with a UTC offset, such as \
             2026-12-06T18:00:00Z or 2026-12-06T19:00:00+01:00 ({e})"
        )
    })?;
    i64::try_from(t.as_nanosecond()).map_err(|_| format!("\"{s}\" is outside the years 1678..2262"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemSpec {
    source: String,
    duration: Option<f64>,
    loops: Option<u32>,
    start: Option<f64>,
    fps: Option<f64>,
    fit: Option<Fit>,
    filter: Option<Filter>,
    transition: Option<TransitionSpec>,
    background: Option<[u8; 3]>,
    fallback: Option<String>,
    hwaccel: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
enum TransitionSpec {
    Cut,
    Crossfade { duration: f64 },
}

/// Top-level fields of a playlist file.
const KNOWN: [&str; 8] = [
    "name",
    "loop",
    "epoch",
    "hwaccel",
    "items",
    "schedule",
    "location",
    "brightness",
];

impl Playlist {
    /// Load a playlist file: `.json` as JSON, anything else as TOML.
    pub fn load(path: impl AsRef<Path>) -> Result<Playlist, ConfigError> {
        let path = path.as_ref();
        let text = read_playlist(path)?;
        Playlist::from_text(&text, path)
    }

    /// Parse file content; the extension of `path` picks JSON or TOML, and relative media
    /// paths are taken from its folder.
    pub fn from_text(text: &str, path: &Path) -> Result<Playlist, ConfigError> {
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let mut nonfinite = Vec::new();
        let value = if json {
            serde_json::from_str::<Value>(text)
                .map_err(|e| ConfigError::single(path, "", format!("not valid JSON: {e}")))?
        } else {
            let table: toml::Table = toml::from_str(text).map_err(|e| {
                ConfigError::single(
                    path,
                    "",
                    format!("not valid TOML: {}", e.to_string().trim()),
                )
            })?;
            ledwall_render::textfile::toml_to_json(table, &mut nonfinite)
        };
        let mut problems = Vec::new();
        let playlist = parse(value, path, &mut problems);
        ledwall_render::textfile::merge_nonfinite(&nonfinite, &mut problems);
        match playlist {
            Some(p) if problems.is_empty() => Ok(p),
            _ => Err(ConfigError {
                file: path.to_path_buf(),
                problems: if problems.is_empty() {
                    vec![Problem::new("", "invalid playlist file")]
                } else {
                    problems
                },
            }),
        }
    }

    /// A one-item looped playlist: what a single media file or `pattern:` source on the
    /// command line plays (design §12, last paragraph). Relative paths are taken as given.
    pub fn single(source: &str) -> Result<Playlist, ConfigError> {
        let media = MediaRef::parse(source, Path::new(""))
            .map_err(|e| ConfigError::single(source, "", e))?;
        Ok(Playlist::of_media(source, media))
    }

    /// A looped playlist of one item showing `media` with the defaults, named `name`.
    pub fn of_media(name: &str, media: MediaRef) -> Playlist {
        Playlist {
            file: PathBuf::from(name),
            name: name.to_string(),
            looped: true,
            items: vec![Item {
                index: 0,
                source: name.to_string(),
                media,
                duration: None,
                loops: None,
                start: 0.0,
                fps: None,
                fit: Fit::default(),
                filter: Filter::default(),
                transition: Transition::Cut,
                background: None,
                hwaccel: None,
            }],
            schedule: Vec::new(),
            brightness: BrightnessSchedule::default(),
            epoch: None,
        }
    }

    /// A playlist file (`.toml`, `.json`) is loaded; anything else is one media source.
    pub fn from_cli_arg(arg: &str) -> Result<Playlist, ConfigError> {
        let is_file = Path::new(arg)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml") || e.eq_ignore_ascii_case("json"));
        if is_file && !arg.starts_with("pattern:") {
            Playlist::load(arg)
        } else {
            Playlist::single(arg)
        }
    }

    /// The folder relative media paths start from.
    pub fn base(&self) -> &Path {
        self.file.parent().unwrap_or(Path::new(""))
    }
}

/// `hwaccel = "..."` (the playlist's or an item's): one of `--hwaccel`'s names.
fn hwaccel_named(text: &str, field: &str, problems: &mut Vec<Problem>) -> Option<Hwaccel> {
    let hw = Hwaccel::from_name(text);
    if hw.is_none() {
        problems.push(Problem::new(
            field,
            format!("\"{text}\" is not a hardware decoder; use auto, off, vaapi, cuda or qsv"),
        ));
    }
    hw
}

/// Deserialize one piece, turning serde's error into a problem with the full field path.
fn piece<T: DeserializeOwned>(v: Value, field: &str, problems: &mut Vec<Problem>) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(v) {
        Ok(t) => Some(t),
        Err(e) => {
            let inner = e.path().to_string();
            let path = match (field.is_empty(), inner.as_str()) {
                (_, ".") => field.to_string(),
                (true, p) => p.to_string(),
                (false, p) if p.starts_with('[') => format!("{field}{p}"),
                (false, p) => format!("{field}.{p}"),
            };
            problems.push(Problem::new(path, e.into_inner().to_string()));
            None
        }
    }
}

fn array(
    v: Option<Value>,
    field: &str,
    what: &str,
    problems: &mut Vec<Problem>,
) -> Vec<(usize, Value)> {
    match v {
        None => Vec::new(),
        Some(Value::Array(list)) => list.into_iter().enumerate().collect(),
        Some(_) => {
            problems.push(Problem::new(
                field,
                format!("must be an array of [[{what}]] tables"),
            ));
            Vec::new()
        }
    }
}

fn seconds(v: f64, field: String, what: &str, zero_ok: bool, problems: &mut Vec<Problem>) {
    let ok = v.is_finite() && (v > 0.0 || (zero_ok && v == 0.0)) && v <= MAX_SECONDS;
    if !ok {
        let range = if zero_ok { "0" } else { "more than 0" };
        problems.push(Problem::new(
            field,
            format!("{what} {v} must be {range} and at most {MAX_SECONDS} seconds"),
        ));
    }
}

/// A live source (a stream URL, `v4l2:`, `screen:`; design §12 "Live sources"): `loops`
/// and `start` have no meaning for it; its `fallback` (any source that is not live) is
/// parsed and attached to it. A `fallback` on any other item is a problem.
fn check_live(
    spec: &ItemSpec,
    media: &mut Option<MediaRef>,
    base: &Path,
    field: &dyn Fn(&str) -> String,
    problems: &mut Vec<Problem>,
) {
    let live = match media {
        Some(MediaRef::Live(l)) => Some(l),
        _ => None,
    };
    let Some(live) = live else {
        if spec.fallback.is_some() && media.is_some() {
            problems.push(Problem::new(
                field("fallback"),
                "only a live source (a stream URL, v4l2: or screen:) has a fallback",
            ));
        }
        return;
    };
    if spec.loops.is_some() {
        problems.push(Problem::new(
            field("loops"),
            "a live source has no passes to repeat; give a duration (or none: it plays until the schedule changes)",
        ));
    }
    if spec.start.is_some() {
        problems.push(Problem::new(
            field("start"),
            "a live source cannot start at an offset",
        ));
    }
    if let Some(text) = &spec.fallback {
        match MediaRef::parse(text, base) {
            Ok(MediaRef::Live(_)) => problems.push(Problem::new(
                field("fallback"),
                format!(
                    "\"{text}\" is live itself; a fallback must be a file, a folder or a pattern"
                ),
            )),
            Ok(fb) => live.fallback = Some(Box::new(fb)),
            Err(reason) => problems.push(Problem::new(field("fallback"), reason)),
        }
    }
}

fn parse(value: Value, path: &Path, problems: &mut Vec<Problem>) -> Option<Playlist> {
    let Value::Object(mut map) = value else {
        problems.push(Problem::new(
            "",
            "a playlist file must be a table of fields",
        ));
        return None;
    };
    for key in map.keys() {
        if !KNOWN.contains(&key.as_str()) {
            problems.push(Problem::new(
                key.clone(),
                format!("unknown field; expected one of {}", KNOWN.join(", ")),
            ));
        }
    }
    let name = map
        .remove("name")
        .and_then(|v| piece::<String>(v, "name", problems))
        .unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
    let looped = map
        .remove("loop")
        .map_or(Some(true), |v| piece::<bool>(v, "loop", problems))
        .unwrap_or(true);
    let epoch = map
        .remove("epoch")
        .and_then(|v| piece::<String>(v, "epoch", problems))
        .and_then(|text| match parse_epoch(&text) {
            Ok(ns) => Some(ns),
            Err(e) => {
                problems.push(Problem::new("epoch", e));
                None
            }
        });
    let hwaccel = map
        .remove("hwaccel")
        .and_then(|v| piece::<String>(v, "hwaccel", problems))
        .and_then(|text| hwaccel_named(&text, "hwaccel", problems));
    let base = path.parent().unwrap_or(Path::new(""));

    let mut items = Vec::new();
    let item_values = array(map.remove("items"), "items", "items", problems);
    for (i, v) in item_values {
        let field = |f: &str| format!("items[{i}].{f}");
        let Some(spec) = piece::<ItemSpec>(v, &format!("items[{i}]"), problems) else {
            continue;
        };
        let before = problems.len();
        let mut media = match MediaRef::parse(&spec.source, base) {
            Ok(m) => Some(m),
            Err(reason) => {
                problems.push(Problem::new(field("source"), reason));
                None
            }
        };
        check_live(&spec, &mut media, base, &field, problems);
        if let Some(d) = spec.duration {
            seconds(d, field("duration"), "duration", false, problems);
        }
        if spec.loops == Some(0) {
            problems.push(Problem::new(field("loops"), "loops must be at least 1"));
        }
        if spec.duration.is_some() && spec.loops.is_some() {
            problems.push(Problem::new(
                field("loops"),
                "give either duration or loops, not both",
            ));
        }
        if let Some(s) = spec.start {
            seconds(s, field("start"), "start", true, problems);
        }
        if let Some(f) = spec.fps
            && !(f.is_finite() && f > 0.0 && f <= 1000.0)
        {
            problems.push(Problem::new(
                field("fps"),
                format!("fps {f} must be more than 0 and at most 1000"),
            ));
        }
        let transition = match spec.transition {
            None | Some(TransitionSpec::Cut) => Transition::Cut,
            Some(TransitionSpec::Crossfade { duration }) => {
                seconds(
                    duration,
                    field("transition.duration"),
                    "crossfade duration",
                    false,
                    problems,
                );
                if let Some(d) = spec.duration
                    && duration > d
                {
                    problems.push(Problem::new(
                        field("transition.duration"),
                        format!("crossfade of {duration} s is longer than the item ({d} s)"),
                    ));
                }
                Transition::Crossfade { duration }
            }
        };
        let item_hwaccel = match &spec.hwaccel {
            Some(text) => hwaccel_named(text, &field("hwaccel"), problems),
            None => hwaccel,
        };
        if let (Some(media), true) = (media, problems.len() == before) {
            items.push(Item {
                index: i,
                source: spec.source,
                media,
                duration: spec.duration,
                loops: spec.loops,
                start: spec.start.unwrap_or(0.0),
                fps: spec.fps,
                fit: spec.fit.unwrap_or_default(),
                filter: spec.filter.unwrap_or_default(),
                transition,
                background: spec.background,
                hwaccel: item_hwaccel,
            });
        }
    }

    let mut schedule = Vec::new();
    let entries = array(map.remove("schedule"), "schedule", "schedule", problems);
    let any_schedule = !entries.is_empty();
    for (i, v) in entries {
        let prefix = format!("schedule[{i}]");
        if let Some(spec) = piece::<schedule::ScheduleSpec>(v, &prefix, problems)
            && let Some(e) = schedule::check(spec, i, base, problems)
        {
            schedule.push(e);
        }
    }
    let brightness_values = array(
        map.remove("brightness"),
        "brightness",
        "brightness",
        problems,
    );
    let brightness = brightness::parse(map.remove("location"), brightness_values, problems);
    if items.is_empty() && !any_schedule && problems.is_empty() {
        problems.push(Problem::new(
            "items",
            "the playlist has no items (and no [[schedule]])",
        ));
    }
    Some(Playlist {
        file: path.to_path_buf(),
        name,
        looped,
        items,
        schedule,
        brightness,
        epoch,
    })
}

/// A playlist and the playlists its schedule names, all loaded and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Show {
    /// The file's own playlist (its items are the default).
    pub main: Playlist,
    /// The playlist of each `[[schedule]]` entry, in the same order.
    pub scheduled: Vec<Playlist>,
}

impl Show {
    /// Load a playlist file and every playlist its schedule names. Problems in a scheduled
    /// playlist are reported under `schedule[i].playlist` of the main file, with the other
    /// file's own field path.
    pub fn load(path: impl AsRef<Path>) -> Result<Show, ConfigError> {
        let main = Playlist::load(path)?;
        Show::with_schedule(main)
    }

    /// Load the playlists `main`'s schedule names.
    pub fn with_schedule(main: Playlist) -> Result<Show, ConfigError> {
        let mut problems = Vec::new();
        let mut scheduled = Vec::new();
        for e in &main.schedule {
            let field = format!("schedule[{}].playlist", e.index);
            match Playlist::load(&e.playlist) {
                Ok(p) if !p.schedule.is_empty() => problems.push(Problem::new(
                    field,
                    format!(
                        "{} has a [[schedule]] of its own; schedules do not nest",
                        e.playlist.display()
                    ),
                )),
                Ok(p) if !p.brightness.is_empty() => problems.push(Problem::new(
                    field,
                    format!(
                        "{} has [[brightness]] entries of its own; the brightness schedule \
                         belongs in the main playlist file",
                        e.playlist.display()
                    ),
                )),
                Ok(p) => scheduled.push(p),
                Err(err) => {
                    for p in err.problems {
                        let inner = if p.field.is_empty() {
                            p.reason
                        } else {
                            format!("{}: {}", p.field, p.reason)
                        };
                        problems.push(Problem::new(
                            field.clone(),
                            format!("{}: {inner}", e.playlist.display()),
                        ));
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(Show { main, scheduled })
        } else {
            Err(ConfigError {
                file: main.file.clone(),
                problems,
            })
        }
    }

    /// The playlist that plays at local time `at`: the matching schedule entry with the
    /// highest priority (the first in the file on a tie), else the file's own items.
    /// Returns the playlist and the index of the schedule entry (`None`: the default).
    pub fn select(&self, at: jiff::civil::DateTime) -> (&Playlist, Option<usize>) {
        match schedule::select(&self.main.schedule, at) {
            Some(i) => match self.scheduled.get(i) {
                Some(p) => (p, Some(i)),
                None => (&self.main, None),
            },
            None => (&self.main, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESIGN_EXAMPLE: &str = r#"
name = "lobby"
loop = true                                  # start again after the last item

[[items]]
source = "media/logo.png"
duration = 10.0
fit = "contain"
filter = "lanczos3"
transition = { kind = "crossfade", duration = 0.5 }

[[items]]
source = "media/clip.mp4"
start = 2.0

[[schedule]]
playlist = "evening.toml"
days = ["sat", "sun"]
from = "18:00"
to = "23:30"
dates = ["2026-12-01", "2026-12-31"]
priority = 10
"#;

    #[test]
    fn the_design_example_parses() {
        let p = Playlist::from_text(DESIGN_EXAMPLE, Path::new("/shows/lobby.toml")).unwrap();
        assert_eq!(p.name, "lobby");
        assert!(p.looped);
        assert_eq!(p.items.len(), 2);
        let a = &p.items[0];
        assert_eq!(a.media, MediaRef::File("/shows/media/logo.png".into()));
        assert_eq!(a.duration, Some(10.0));
        assert_eq!(a.transition, Transition::Crossfade { duration: 0.5 });
        let b = &p.items[1];
        assert_eq!(
            (b.start, b.duration, b.transition),
            (2.0, None, Transition::Cut)
        );
        assert_eq!(p.schedule.len(), 1);
        assert_eq!(p.schedule[0].playlist, PathBuf::from("/shows/evening.toml"));
        assert_eq!(p.schedule[0].priority, 10);
    }

    #[test]
    fn hwaccel_is_the_playlists_default_for_its_items_and_an_items_own_wins() {
        let text = "hwaccel = \"auto\"\n[[items]]\nsource = \"a.mp4\"\n\
                    [[items]]\nsource = \"b.mp4\"\nhwaccel = \"vaapi\"\n";
        let p = Playlist::from_text(text, Path::new("p.toml")).unwrap();
        assert_eq!(p.items[0].hwaccel, Some(Hwaccel::Auto));
        assert_eq!(p.items[1].hwaccel, Some(Hwaccel::Vaapi));
        let p =
            Playlist::from_text("[[items]]\nsource = \"a.mp4\"\n", Path::new("p.toml")).unwrap();
        assert_eq!(p.items[0].hwaccel, None, "as the command line says");
        let e = Playlist::from_text(
            "hwaccel = \"gpu\"\n[[items]]\nsource = \"a.mp4\"\nhwaccel = 3\n",
            Path::new("p.toml"),
        )
        .unwrap_err();
        let fields: Vec<&str> = e.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["hwaccel", "items[0].hwaccel"], "{e}");
    }

    #[test]
    fn json_is_accepted_with_the_same_fields() {
        let json = r#"{"name": "j", "loop": false, "items": [
            {"source": "pattern:bars", "duration": 2.5, "fit": "stretch"},
            {"source": "a.gif", "loops": 3, "transition": {"kind": "cut"}}]}"#;
        let p = Playlist::from_text(json, Path::new("x/p.json")).unwrap();
        assert!(!p.looped);
        assert_eq!(p.items[0].fit, Fit::Stretch);
        assert_eq!(p.items[1].loops, Some(3));
        // The same text with a .toml name is not TOML.
        let e = Playlist::from_text(json, Path::new("x/p.toml")).unwrap_err();
        assert!(e.to_string().contains("not valid TOML"), "{e}");
    }

    #[test]
    fn live_sources_and_their_fallbacks_are_checked_without_opening_them() {
        use crate::media::{LiveInput, LiveRef};
        let text = r#"
[[items]]
source = "UDP://127.0.0.1:5000"
duration = 30.0
fallback = "media/standby.png"
[[items]]
source = "screen:"
[[items]]
source = "v4l2:/dev/video0"
fallback = "pattern:bars"
"#;
        let p = Playlist::from_text(text, Path::new("/shows/live.toml")).unwrap();
        assert_eq!(
            p.items[0].media,
            MediaRef::Live(LiveRef::new(
                LiveInput::Url("UDP://127.0.0.1:5000".into()),
                Some(MediaRef::File("/shows/media/standby.png".into()))
            ))
        );
        assert!(matches!(&p.items[1].media, MediaRef::Live(l) if l.fallback.is_none()));
        assert!(matches!(
            &p.items[2].media,
            MediaRef::Live(l) if matches!(l.fallback.as_deref(), Some(MediaRef::Pattern(_)))
        ));
        let text = r#"
[[items]]
source = "udp://127.0.0.1"
[[items]]
source = "rtsp://cam/1"
fallback = "srt://other:9000"
[[items]]
source = "a.png"
fallback = "pattern:bars"
[[items]]
source = "http://host/x.m3u8"
loops = 2
start = 3.0
[[items]]
source = "screen:/0x0"
[[items]]
source = "rtsp://cam/2"
fallback = "pattern:nope"
"#;
        let e = Playlist::from_text(text, Path::new("live.toml")).unwrap_err();
        let fields: Vec<&str> = e.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "items[0].source",
                "items[1].fallback",
                "items[2].fallback",
                "items[3].loops",
                "items[3].start",
                "items[4].source",
                "items[5].fallback",
            ],
            "{e}"
        );
        let text = e.to_string();
        assert!(
            text.contains("live.toml: items[0].source: udp://127.0.0.1: a udp URL needs a port"),
            "{text}"
        );
        assert!(text.contains("is live itself"), "{text}");
    }

    #[test]
    fn every_problem_is_reported_with_file_item_and_field() {
        let text = r#"
nmae = "typo"
[[items]]
source = "pattern:nope"
[[items]]
source = "a.png"
duration = -1.0
fit = "zoom"
[[items]]
source = "b.png"
duration = 1.0
transition = { kind = "crossfade", duration = 2.0 }
[[items]]
source = "c.mp4"
loops = 0
colour = 3
[[items]]
source = "d.gif"
duration = 2.0
loops = 2
[[schedule]]
playlist = "e.toml"
days = ["mon", "fri", "caturday"]
from = "25:00"
dates = ["2026-12-31", "2026-12-01"]
"#;
        let e = Playlist::from_text(text, Path::new("show.toml")).unwrap_err();
        let fields: Vec<&str> = e.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "nmae",
                "items[0].source",
                "items[1].fit",
                "items[2].transition.duration",
                "items[3].colour",
                "items[4].loops",
                "schedule[0].days[2]",
                "schedule[0].from",
                "schedule[0].dates",
            ],
            "{e}"
        );
        let text = e.to_string();
        assert!(text.starts_with("show.toml: 9 problems"), "{text}");
        assert!(text.contains("show.toml: items[0].source: unknown pattern \"nope\""));
        assert!(text.contains("unknown field `colour`"), "{text}");
        assert!(text.contains("caturday"), "{text}");
        // The duration error is hidden behind fit's type error in the same element (serde
        // stops at the first); fix fit and it shows.
        let e = Playlist::from_text(
            "[[items]]\nsource = \"a.png\"\nduration = -1.0\n",
            Path::new("s.toml"),
        )
        .unwrap_err();
        assert_eq!(e.problems[0].field, "items[0].duration");
        assert!(e.problems[0].reason.contains("-1"), "{e}");
    }

    #[test]
    fn an_empty_playlist_is_refused() {
        let e = Playlist::from_text("name = \"x\"\n", Path::new("e.toml")).unwrap_err();
        assert_eq!(e.problems[0].field, "items");
        let e = Playlist::from_text("items = 3\n", Path::new("e.toml")).unwrap_err();
        assert_eq!(e.problems[0].field, "items");
    }

    #[test]
    fn single_sources_play_looped() {
        let p = Playlist::from_cli_arg("pattern:grid").unwrap();
        assert!(p.looped);
        assert_eq!(p.items.len(), 1);
        let p = Playlist::from_cli_arg("clip.mp4").unwrap();
        assert_eq!(p.items[0].media, MediaRef::File("clip.mp4".into()));
        assert!(Playlist::from_cli_arg("pattern:zzz").is_err());
        let e = Playlist::from_cli_arg("/nonexistent/show.toml").unwrap_err();
        assert!(e.to_string().contains("cannot read the file"), "{e}");
    }

    #[test]
    fn scheduled_playlists_are_loaded_and_their_problems_reported_in_the_main_file() {
        let tmp = tempfile::tempdir().unwrap();
        let main = tmp.path().join("main.toml");
        std::fs::write(
            &main,
            "[[items]]\nsource = \"pattern:bars\"\n\
             [[schedule]]\nplaylist = \"night.toml\"\nfrom = \"22:00\"\nto = \"06:00\"\n",
        )
        .unwrap();
        let night = tmp.path().join("night.toml");
        std::fs::write(&night, "[[items]]\nsource = \"pattern:line\"\nfit = 3\n").unwrap();
        let e = Show::load(&main).unwrap_err();
        assert_eq!(e.problems.len(), 1);
        assert_eq!(e.problems[0].field, "schedule[0].playlist");
        assert!(
            e.problems[0].reason.contains("night.toml: items[0].fit"),
            "{e}"
        );

        std::fs::write(&night, "[[items]]\nsource = \"pattern:line\"\n").unwrap();
        let show = Show::load(&main).unwrap();
        let at = |h: i8| jiff::civil::date(2026, 3, 4).at(h, 0, 0, 0);
        assert_eq!(show.select(at(23)).1, Some(0));
        assert_eq!(show.select(at(23)).0.items[0].source, "pattern:line");
        assert_eq!(show.select(at(12)).1, None);
        assert_eq!(show.select(at(12)).0.items[0].source, "pattern:bars");
    }
}
