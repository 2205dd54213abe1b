//! Image sequences: every image in a folder, or every file a glob matches, in natural name
//! order (`f2.png` before `f10.png`), at a constant frame rate. Frames are decoded when they
//! are asked for, one at a time, into the caller's buffer; a frame that fails to decode is an
//! error for that frame only (the player holds the last good one).

use super::{
    Frame, LoadOptions, MediaError, MediaInfo, MediaKind, MediaSource, ReadStatus, Timing,
    load_image, new_key_base,
};
use std::cmp::Ordering;
use std::path::{Path, PathBuf};

/// Frame rate of a sequence whose item gives none.
pub const DEFAULT_FPS: f64 = 25.0;

/// File extensions a folder sequence picks up (globs take whatever they match).
pub const EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "gif", "webp", "bmp", "tif", "tiff"];

/// A folder or glob of images.
#[derive(Debug)]
pub struct Sequence {
    info: MediaInfo,
    files: Vec<PathBuf>,
    opts: LoadOptions,
    key: u64,
}

impl Sequence {
    /// List the files of `pattern` (a folder, or a glob) and read the first one's size.
    pub fn open(pattern: &Path, fps: f64, opts: &LoadOptions) -> Result<Sequence, MediaError> {
        let name = pattern.display().to_string();
        let err = |reason: String| MediaError::Sequence {
            pattern: name.clone(),
            reason,
        };
        if !(fps.is_finite() && fps > 0.0) {
            return Err(err(format!("frame rate {fps} is not positive")));
        }
        let mut files = if pattern.is_dir() {
            let entries = std::fs::read_dir(pattern)
                .map_err(|e| err(format!("cannot list the folder: {e}")))?;
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && p.extension()
                            .and_then(|e| e.to_str())
                            .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
                })
                .collect::<Vec<_>>()
        } else {
            let text = pattern
                .to_str()
                .ok_or_else(|| err("the pattern is not valid UTF-8".into()))?;
            glob::glob(text)
                .map_err(|e| err(format!("bad glob: {e}")))?
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .collect()
        };
        files.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
        let Some(first) = files.first() else {
            return Err(err("no image files found".into()));
        };
        let (width, height) = image::image_dimensions(first)
            .map_err(|e| err(format!("cannot read {}: {e}", first.display())))?;
        Ok(Sequence {
            info: MediaInfo {
                name,
                kind: MediaKind::Sequence,
                width,
                height,
                timing: Timing::from_fps_f64(fps, Some(files.len() as u64)),
            },
            files,
            opts: *opts,
            key: new_key_base(),
        })
    }

    /// The files, in play order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

impl MediaSource for Sequence {
    fn info(&self) -> &MediaInfo {
        &self.info
    }

    fn read_frame(&mut self, index: u64, out: &mut Frame) -> Result<ReadStatus, MediaError> {
        let n = self.files.len() as u64;
        let i = index % n.max(1);
        let key = self.key + i;
        if out.key == Some(key) {
            return Ok(ReadStatus::Frame);
        }
        let Some(path) = self.files.get(i as usize) else {
            return Ok(ReadStatus::End { frames: n });
        };
        let img = super::guarded(path, || load_image(path, &self.opts))?;
        out.set_still(&img, key);
        Ok(ReadStatus::Frame)
    }
}

/// Compare names with runs of digits as numbers: `f2` < `f10`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (&a[..da], &b[..db]);
                let ta = trim_zeros(na);
                let tb = trim_zeros(nb);
                let ord = ta.len().cmp(&tb.len()).then(ta.cmp(tb)).then(da.cmp(&db));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let z = d.iter().take_while(|&&c| c == b'0').count();
    &d[z..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    #[test]
    fn natural_order() {
        let mut v = vec!["f10.png", "f2.png", "f1.png", "f01.png", "e9.png"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["e9.png", "f1.png", "f01.png", "f2.png", "f10.png"]);
    }

    #[test]
    fn folder_and_glob_play_in_name_order_at_their_rate() {
        let tmp = tempfile::tempdir().unwrap();
        for i in [10u8, 2, 1] {
            RgbImage::from_pixel(4, 2, Rgb([i, 0, 0]))
                .save(tmp.path().join(format!("f{i}.png")))
                .unwrap();
        }
        std::fs::write(tmp.path().join("notes.txt"), "not a frame").unwrap();
        let opts = LoadOptions::default();
        let mut seq = Sequence::open(tmp.path(), 10.0, &opts).unwrap();
        assert_eq!(seq.files().len(), 3);
        assert_eq!(seq.info().timing.frames(), Some(3));
        assert_eq!((seq.info().width, seq.info().height), (4, 2));
        let mut f = Frame::new();
        let reds: Vec<u8> = (0..4)
            .map(|i| {
                seq.read_frame(i, &mut f).unwrap();
                f.pixel8(0, 0).unwrap()[0]
            })
            .collect();
        assert_eq!(reds, [1, 2, 10, 1]);

        let glob = tmp.path().join("f1*.png");
        let seq = Sequence::open(&glob, 10.0, &opts).unwrap();
        assert_eq!(seq.files().len(), 2);

        let none = tmp.path().join("*.jpg");
        let e = Sequence::open(&none, 10.0, &opts).unwrap_err();
        assert!(e.to_string().contains("no image files found"), "{e}");
    }

    #[test]
    fn a_broken_frame_is_an_error_for_that_frame_only() {
        let tmp = tempfile::tempdir().unwrap();
        RgbImage::from_pixel(2, 2, Rgb([9, 9, 9]))
            .save(tmp.path().join("a1.png"))
            .unwrap();
        std::fs::write(tmp.path().join("a2.png"), b"\x89PNG\r\n\x1a\nbroken").unwrap();
        let mut seq = Sequence::open(tmp.path(), 5.0, &LoadOptions::default()).unwrap();
        let mut f = Frame::new();
        assert_eq!(seq.read_frame(0, &mut f).unwrap(), ReadStatus::Frame);
        let e = seq.read_frame(1, &mut f).unwrap_err();
        assert!(e.to_string().contains("a2.png"), "{e}");
        // The buffer still holds the last good frame.
        assert_eq!(f.pixel8(1, 1), Some([9, 9, 9, 255]));
    }
}
