//! The built-in demo: the demo wall, the demo playlist and its five small media files,
//! compiled into the binary from `fixtures/` (one source of truth), so that `ledwall play`
//! with no arguments shows the demo from any directory, and `ledwall init DIR` writes them
//! as files to start a real show from.
//!
//! The files are laid out as an operator's show folder: `wall.toml`, `playlist.toml` and
//! `media/` (the playlist's media paths are rewritten from the fixtures' `../media/` to
//! `media/`, the only change; the wall and the media are byte for byte the fixtures).
//!
//! `ledwall play` gets the demo as [`Demo`]: written into a fresh private folder (mode
//! 0700, a unique name) under `$XDG_RUNTIME_DIR` or else the temporary folder
//! (`$TMPDIR`, `/tmp`), removed again when playing ends. The files make the demo play
//! exactly as the fixtures do (16-bit ramps, animation timing, reloads). Where no such
//! folder can be written (a read-only file system), the demo still plays, from memory:
//! the wall is parsed from its text and each media file is decoded into a
//! [`MemoryClip`] (8 bits per channel, alpha composited over the item's background), with a
//! warning saying why. `$HOME` is never used.

use crate::media::MediaRef;
use crate::media::memory::MemoryClip;
use crate::playlist::Playlist;
use ledwall_render::{ConfigError, Wall};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The demo wall, as `fixtures/walls/demo.toml`.
pub const WALL_TOML: &str = include_str!("../../fixtures/walls/demo.toml");
/// The demo playlist, as `fixtures/playlists/demo.toml` (media paths `../media/...`).
pub const FIXTURE_PLAYLIST_TOML: &str = include_str!("../../fixtures/playlists/demo.toml");

/// The demo's media: file name and bytes, as in `fixtures/media/`.
pub const MEDIA: [(&str, &[u8]); 5] = [
    (
        "alpha-32x32.png",
        include_bytes!("../../fixtures/media/alpha-32x32.png"),
    ),
    (
        "anim-32x16.gif",
        include_bytes!("../../fixtures/media/anim-32x16.gif"),
    ),
    (
        "gradient-64x32.png",
        include_bytes!("../../fixtures/media/gradient-64x32.png"),
    ),
    (
        "photo-160x90.jpg",
        include_bytes!("../../fixtures/media/photo-160x90.jpg"),
    ),
    (
        "ramp16-128x16.png",
        include_bytes!("../../fixtures/media/ramp16-128x16.png"),
    ),
];

/// The wall's file name in a show folder.
pub const WALL_FILE: &str = "wall.toml";
/// The playlist's file name in a show folder.
pub const PLAYLIST_FILE: &str = "playlist.toml";
/// The media folder's name in a show folder.
pub const MEDIA_DIR: &str = "media";

/// The name the demo's files are shown under when it plays from memory.
const BUILT_IN: &str = "<built-in demo>";

/// The fixtures' paths and what they become in a show folder, in the order applied.
const REWRITES: [(&str, &str); 3] = [
    ("fixtures/walls/demo.toml", WALL_FILE),
    ("fixtures/playlists/demo.toml", PLAYLIST_FILE),
    ("\"../media/", "\"media/"),
];

/// The demo playlist as written into a show folder: the fixture with its media paths
/// (`"../media/X"` → `"media/X"`) and the command line in its header comment rewritten.
pub fn playlist_text() -> String {
    REWRITES
        .iter()
        .fold(FIXTURE_PLAYLIST_TOML.to_string(), |text, (from, to)| {
            text.replace(from, to)
        })
}

/// Every file of the demo show folder: its path relative to the folder and its bytes.
pub fn files() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = vec![
        (PathBuf::from(WALL_FILE), WALL_TOML.as_bytes().to_vec()),
        (PathBuf::from(PLAYLIST_FILE), playlist_text().into_bytes()),
    ];
    files.extend(
        MEDIA
            .iter()
            .map(|(name, bytes)| (Path::new(MEDIA_DIR).join(name), bytes.to_vec())),
    );
    files
}

/// Write the demo show folder into `dir` (created if missing, with its `media/`), each file
/// created new: an existing file is an error (`AlreadyExists`) unless `overwrite`. Returns
/// the paths written. Errors name the file.
pub fn write_into(dir: &Path, overwrite: bool) -> Result<Vec<PathBuf>, (PathBuf, std::io::Error)> {
    let media = dir.join(MEDIA_DIR);
    std::fs::create_dir_all(&media).map_err(|e| (media.clone(), e))?;
    let mut written = Vec::new();
    for (rel, bytes) in files() {
        let path = dir.join(rel);
        let mut options = std::fs::OpenOptions::new();
        options.write(true);
        if overwrite {
            options.create(true).truncate(true);
        } else {
            options.create_new(true);
        }
        let result = options
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, &bytes));
        result.map_err(|e| (path.clone(), e))?;
        written.push(path);
    }
    Ok(written)
}

/// The demo ready to play: on disk in a private folder, or in memory.
#[derive(Debug)]
pub struct Demo {
    /// The private folder holding the files; `None`: playing from memory.
    dir: Option<tempfile::TempDir>,
    /// Why no folder could be written (when playing from memory).
    why_memory: Option<String>,
}

/// The private folder of the demo playing now, removed by the emergency exit too.
static DIR_IN_USE: Mutex<Option<PathBuf>> = Mutex::new(None);

fn remove_dir_in_use() {
    let dir = match DIR_IN_USE.lock() {
        Ok(mut d) => d.take(),
        Err(p) => p.into_inner().take(),
    };
    if let Some(dir) = dir {
        let _ = std::fs::remove_dir_all(dir);
    }
}

impl Demo {
    /// Write the demo into a private folder under `$XDG_RUNTIME_DIR` or else the temporary
    /// folder; in memory when neither can be written.
    pub fn prepare() -> Demo {
        let mut candidates = Vec::new();
        if let Some(run) = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from)
            && run.is_absolute()
        {
            candidates.push(run);
        }
        candidates.push(std::env::temp_dir());
        Demo::prepare_in(&candidates)
    }

    /// Write the demo into a private folder under the first of `parents` where that works;
    /// in memory when none does.
    pub fn prepare_in(parents: &[PathBuf]) -> Demo {
        let mut why = Vec::new();
        for parent in parents {
            use std::os::unix::fs::PermissionsExt as _;
            let made = tempfile::Builder::new()
                .prefix("ledwall-demo-")
                .permissions(std::fs::Permissions::from_mode(0o700))
                .tempdir_in(parent)
                .map_err(|e| format!("{}: {e}", parent.display()))
                .and_then(|dir| match write_into(dir.path(), false) {
                    Ok(_) => Ok(dir),
                    Err((file, e)) => Err(format!("{}: {e}", file.display())),
                });
            match made {
                Ok(dir) => {
                    if let Ok(mut d) = DIR_IN_USE.lock() {
                        *d = Some(dir.path().to_path_buf());
                    }
                    crate::shutdown::on_emergency_exit("demo files", remove_dir_in_use);
                    return Demo {
                        dir: Some(dir),
                        why_memory: None,
                    };
                }
                Err(e) => why.push(e),
            }
        }
        Demo {
            dir: None,
            why_memory: Some(if why.is_empty() {
                "no folder to write to".into()
            } else {
                why.join("; ")
            }),
        }
    }

    /// The private folder the files are in; `None` when playing from memory.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(|d| d.path())
    }

    /// Why the demo plays from memory (no folder could be written), if it does.
    pub fn why_memory(&self) -> Option<&str> {
        self.why_memory.as_deref()
    }

    /// The wall file's path (a name only, when playing from memory).
    pub fn wall_path(&self) -> PathBuf {
        self.folder().join(WALL_FILE)
    }

    /// The playlist file's path (a name only, when playing from memory).
    pub fn playlist_path(&self) -> PathBuf {
        self.folder().join(PLAYLIST_FILE)
    }

    fn folder(&self) -> PathBuf {
        self.dir()
            .map_or_else(|| PathBuf::from(BUILT_IN), Path::to_path_buf)
    }

    /// The demo wall: loaded from its file, or parsed from the built-in text.
    pub fn wall(&self) -> Result<Wall, ConfigError> {
        match self.dir() {
            Some(_) => Wall::load(self.wall_path()),
            None => Wall::from_toml_str(WALL_TOML, self.wall_path()),
        }
    }

    /// The demo playlist: loaded from its file, or parsed from the built-in text with every
    /// media file decoded into memory (alpha composited over the item's background, else
    /// `background`).
    pub fn playlist(&self, background: [u8; 3]) -> Result<Playlist, ConfigError> {
        if self.dir().is_some() {
            return Playlist::load(self.playlist_path());
        }
        let path = self.playlist_path();
        let mut list = Playlist::from_text(&playlist_text(), &path)?;
        for item in &mut list.items {
            let MediaRef::File(file) = &item.media else {
                continue;
            };
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let clip = memory_clip(name, item.background.unwrap_or(background)).map_err(|e| {
                ConfigError::single(&path, &format!("items[{}].source", item.index), e)
            })?;
            item.media = MediaRef::Memory(Arc::new(clip));
        }
        Ok(list)
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if self.dir.is_some()
            && let Ok(mut d) = DIR_IN_USE.lock()
        {
            *d = None;
        }
    }
}

/// Decode the built-in media file `name` into a clip: an animated GIF frame by frame at its
/// frame rate, anything else as one frame.
pub fn memory_clip(name: &str, background: [u8; 3]) -> Result<MemoryClip, String> {
    use image::AnimationDecoder as _;
    let Some((_, bytes)) = MEDIA.iter().find(|(n, _)| *n == name) else {
        return Err(format!("{name}: not one of the built-in media"));
    };
    let bad = |e: image::ImageError| format!("{name}: {e}");
    let (width, height, fps, mut frames) = if name.ends_with(".gif") {
        let decoder =
            image::codecs::gif::GifDecoder::new(std::io::Cursor::new(*bytes)).map_err(bad)?;
        let frames = decoder.into_frames().collect_frames().map_err(bad)?;
        let Some(first) = frames.first() else {
            return Err(format!("{name}: no frames"));
        };
        let (num, den) = first.delay().numer_denom_ms();
        let fps = if num == 0 {
            10
        } else {
            (1000 * den).div_ceil(num).clamp(1, 100)
        };
        let (w, h) = first.buffer().dimensions();
        let frames: Vec<Vec<u8>> = frames
            .into_iter()
            .map(|f| f.into_buffer().into_raw())
            .collect();
        (w, h, fps, frames)
    } else {
        let img = image::load_from_memory(bytes).map_err(bad)?.into_rgba8();
        let (w, h) = img.dimensions();
        (w, h, 1, vec![img.into_raw()])
    };
    for f in &mut frames {
        crate::media::still::composite8(f, background);
    }
    MemoryClip::new(name, width, height, fps, frames)
        .ok_or_else(|| format!("{name}: frames of different sizes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
    }

    #[test]
    fn the_built_in_files_are_the_fixtures() {
        let f = fixtures();
        assert_eq!(
            WALL_TOML,
            std::fs::read_to_string(f.join("walls/demo.toml")).unwrap()
        );
        assert_eq!(
            FIXTURE_PLAYLIST_TOML,
            std::fs::read_to_string(f.join("playlists/demo.toml")).unwrap()
        );
        let mut names: Vec<String> = std::fs::read_dir(f.join("media"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let built_in: Vec<&str> = MEDIA.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, built_in, "fixtures/media and MEDIA differ");
        for (name, bytes) in MEDIA {
            assert_eq!(std::fs::read(f.join("media").join(name)).unwrap(), bytes);
        }
    }

    /// Every media path of the fixture is rewritten, and nothing else changes: the show
    /// folder's playlist names the same media, with the same settings, as the fixture.
    #[test]
    fn the_show_folder_playlist_is_the_fixture_with_media_beside_it() {
        let text = playlist_text();
        assert!(
            !text.contains("fixtures/") && !text.contains("../"),
            "{text}"
        );
        let media_items = FIXTURE_PLAYLIST_TOML.matches("\"../media/").count();
        assert_eq!(media_items, 5);
        assert_eq!(text.matches("\"media/").count(), media_items);
        let fixture = Playlist::load(fixtures().join("playlists/demo.toml")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_into(dir.path(), false).unwrap();
        let ours = Playlist::load(dir.path().join(PLAYLIST_FILE)).unwrap();
        assert_eq!(fixture.items.len(), ours.items.len());
        for (a, b) in fixture.items.iter().zip(&ours.items) {
            match (&a.media, &b.media) {
                (MediaRef::File(fa), MediaRef::File(fb)) => {
                    assert_eq!(std::fs::read(fa).unwrap(), std::fs::read(fb).unwrap());
                }
                (ma, mb) => assert_eq!(ma, mb),
            }
            assert_eq!(
                (a.duration, a.loops, a.fit, a.filter, a.background),
                (b.duration, b.loops, b.fit, b.filter, b.background)
            );
            assert_eq!(a.transition, b.transition);
        }
    }

    #[test]
    fn write_into_refuses_to_overwrite_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_into(dir.path(), false).unwrap();
        assert_eq!(written.len(), 7);
        std::fs::write(dir.path().join(WALL_FILE), "edited").unwrap();
        let (file, e) = write_into(dir.path(), false).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(file, dir.path().join(WALL_FILE));
        assert_eq!(
            std::fs::read_to_string(dir.path().join(WALL_FILE)).unwrap(),
            "edited"
        );
        write_into(dir.path(), true).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join(WALL_FILE)).unwrap(),
            WALL_TOML
        );
    }

    #[test]
    fn the_demo_plays_from_a_private_folder_removed_afterwards() {
        let parent = tempfile::tempdir().unwrap();
        let demo = Demo::prepare_in(&[parent.path().to_path_buf()]);
        let dir = demo.dir().unwrap().to_path_buf();
        assert!(dir.starts_with(parent.path()));
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert_eq!(demo.wall().unwrap().spec.canvas.width, 128);
        assert_eq!(demo.playlist([0; 3]).unwrap().items.len(), 11);
        drop(demo);
        assert!(!dir.exists());
    }

    /// No folder can be written (here: the parents do not exist): the demo plays from
    /// memory, every media item a decoded clip.
    #[test]
    fn without_a_writable_folder_the_demo_plays_from_memory() {
        let demo = Demo::prepare_in(&[PathBuf::from("/nonexistent/ledwall-test")]);
        assert!(demo.dir().is_none());
        assert!(
            demo.why_memory()
                .unwrap()
                .contains("/nonexistent/ledwall-test"),
            "{:?}",
            demo.why_memory()
        );
        assert_eq!(demo.wall().unwrap().spec.canvas.width, 128);
        let list = demo.playlist([0; 3]).unwrap();
        let clips: Vec<&MemoryClip> = list
            .items
            .iter()
            .filter_map(|i| match &i.media {
                MediaRef::Memory(c) => Some(&**c),
                MediaRef::Pattern(_) => None,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(clips.len(), 5);
        let gif = clips.iter().find(|c| c.name() == "anim-32x16.gif").unwrap();
        assert_eq!((gif.width(), gif.height()), (32, 16));
        // The alpha item composites over its own dark blue: a transparent corner pixel.
        let alpha = clips
            .iter()
            .find(|c| c.name() == "alpha-32x32.png")
            .unwrap();
        let raw = image::load_from_memory(MEDIA[0].1).unwrap().into_rgba8();
        let clear = raw.pixels().position(|p| p[3] == 0).unwrap();
        assert_eq!(&alpha.frame(0)[clear * 4..clear * 4 + 4], &[0, 0, 64, 255]);
    }

    #[test]
    fn the_gif_clip_keeps_its_frames_and_rate() {
        let clip = memory_clip("anim-32x16.gif", [0; 3]).unwrap();
        // 8 frames of 100 ms: frame 8 wraps to frame 0, frame 1 differs.
        assert_eq!(clip.frame(8), clip.frame(0));
        assert_ne!(clip.frame(1), clip.frame(0));
        let src = crate::media::memory::MemorySource::new(Arc::new(clip));
        let info = crate::media::MediaSource::info(&src);
        assert_eq!(
            info.timing,
            crate::media::Timing::Rate {
                fps_num: 10,
                fps_den: 1,
                frames: Some(8)
            }
        );
        assert!(memory_clip("nope.png", [0; 3]).is_err());
    }
}
