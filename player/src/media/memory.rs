//! Clips held in memory: RGBA8 frames played at a constant rate, looped.
//!
//! No playlist or command line names one (there is no text form): `ledwall bench` makes
//! one of its synthetic photographs so that its pacing run plays, through the real engine,
//! the same frames its throughput run rendered. Reading a frame copies it into the caller's
//! [`Frame`], as a video decoder's output is copied, and like a video frame it has no key,
//! so the renderer caches nothing.

use super::{Frame, MediaError, MediaInfo, MediaKind, MediaSource, ReadStatus, Timing};

/// Frames in memory, all `width` x `height` RGBA8.
#[derive(Debug, PartialEq, Eq)]
pub struct MemoryClip {
    name: String,
    width: u32,
    height: u32,
    fps: u32,
    frames: Vec<Vec<u8>>,
}

impl MemoryClip {
    /// A clip of `frames` (each `width * height * 4` bytes) at `fps` frames a second. `None`
    /// when there are no frames, a size is 0 or a frame's length does not match.
    pub fn new(
        name: impl Into<String>,
        width: u32,
        height: u32,
        fps: u32,
        frames: Vec<Vec<u8>>,
    ) -> Option<MemoryClip> {
        let len = width as usize * height as usize * 4;
        let ok = !frames.is_empty() && len > 0 && frames.iter().all(|f| f.len() == len);
        ok.then(|| MemoryClip {
            name: name.into(),
            width,
            height,
            fps: fps.max(1),
            frames,
        })
    }

    /// The name it is shown under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Frame width.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Frame height.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Frame `index` of the loop (wrapping).
    pub fn frame(&self, index: u64) -> &[u8] {
        &self.frames[(index % self.frames.len() as u64) as usize]
    }
}

/// A [`MemoryClip`] opened for reading.
pub struct MemorySource {
    clip: std::sync::Arc<MemoryClip>,
    info: MediaInfo,
}

impl MemorySource {
    /// Open `clip`.
    pub fn new(clip: std::sync::Arc<MemoryClip>) -> MemorySource {
        let info = MediaInfo {
            name: clip.name.clone(),
            kind: MediaKind::Memory,
            width: clip.width,
            height: clip.height,
            timing: Timing::Rate {
                fps_num: clip.fps as u64,
                fps_den: 1,
                frames: Some(clip.frames.len() as u64),
            },
        };
        MemorySource { clip, info }
    }
}

impl MediaSource for MemorySource {
    fn info(&self) -> &MediaInfo {
        &self.info
    }

    fn read_frame(&mut self, index: u64, out: &mut Frame) -> Result<ReadStatus, MediaError> {
        let n = self.clip.frames.len() as u64;
        if index >= n {
            return Ok(ReadStatus::End { frames: n });
        }
        let (w, h) = (self.clip.width, self.clip.height);
        out.set_rgba8(w, h, self.clip.frame(index), None);
        Ok(ReadStatus::Frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn frames_play_in_order_at_the_clip_rate_and_end_after_the_last() {
        let frames = vec![vec![1u8; 2 * 3 * 4], vec![2u8; 2 * 3 * 4]];
        let clip = Arc::new(MemoryClip::new("two", 2, 3, 240, frames).unwrap());
        let mut src = MemorySource::new(clip);
        assert_eq!(src.info().kind, MediaKind::Memory);
        assert_eq!((src.info().width, src.info().height), (2, 3));
        assert_eq!(
            src.info().timing,
            Timing::Rate {
                fps_num: 240,
                fps_den: 1,
                frames: Some(2)
            }
        );
        let mut out = Frame::new();
        for (i, want) in [1u8, 2].into_iter().enumerate() {
            assert_eq!(
                src.read_frame(i as u64, &mut out).unwrap(),
                ReadStatus::Frame
            );
            assert_eq!((out.width, out.height, out.key), (2, 3, None));
            assert_eq!(out.pixel8(1, 2), Some([want; 4]));
        }
        assert_eq!(
            src.read_frame(2, &mut out).unwrap(),
            ReadStatus::End { frames: 2 }
        );
        assert_eq!(
            out.pixel8(0, 0),
            Some([2; 4]),
            "an end leaves the buffer as it was"
        );
    }

    #[test]
    fn a_clip_needs_frames_of_its_size() {
        assert!(MemoryClip::new("none", 2, 2, 30, vec![]).is_none());
        assert!(MemoryClip::new("empty", 0, 2, 30, vec![vec![]]).is_none());
        assert!(MemoryClip::new("short", 2, 2, 30, vec![vec![0; 15]]).is_none());
        let clip = MemoryClip::new("ok", 2, 2, 0, vec![vec![0; 16], vec![9; 16]]).unwrap();
        assert_eq!(clip.frame(3)[0], 9, "frame() wraps");
    }
}
