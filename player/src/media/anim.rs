//! Animations: animated GIF, APNG and animated WebP.
//!
//! Every frame is decoded up front into one contiguous buffer of full-canvas RGBA8 frames
//! (the decoders apply disposal and blending), alpha composited over the background. The
//! memory limit is checked as frames arrive, so a small file that expands to gigabytes is
//! refused before it gets there. Frame delays and the file's loop count become a
//! [`Timing::Frames`].

use super::{
    Frame, LoadOptions, MediaError, MediaInfo, MediaKind, MediaSource, ReadStatus, Timing,
    check_size, composite8, new_key_base, still::format_name,
};
use image::codecs::gif::GifDecoder;
use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::metadata::LoopCount;
use image::{AnimationDecoder, ColorType, ImageDecoder, ImageError, ImageFormat, Limits};
use std::io::BufReader;
use std::path::Path;

/// A decoded animation.
#[derive(Debug)]
pub struct Animation {
    info: MediaInfo,
    /// All frames, `frame_bytes` each.
    data: Vec<u8>,
    frame_bytes: usize,
    key: u64,
}

impl Animation {
    /// Decode an animated GIF, APNG or WebP. `Ok(None)` when the file is a PNG or WebP
    /// without animation (or a 16-bit APNG, which the decoder cannot animate): decode it as
    /// a still. A GIF with a single frame is an animation whose timing is
    /// [`Timing::Still`].
    pub fn open(
        path: &Path,
        format: ImageFormat,
        opts: &LoadOptions,
    ) -> Result<Option<Animation>, MediaError> {
        let err = |source: ImageError| MediaError::Decode {
            path: path.to_path_buf(),
            format: format_name(format),
            source,
        };
        let file = super::still::open_regular(path)?;
        let reader = BufReader::new(file);
        let mut limits = Limits::default();
        limits.max_alloc = Some(opts.max_bytes);
        match format {
            ImageFormat::Gif => {
                let mut dec = GifDecoder::new(reader).map_err(err)?;
                let (w, h) = dec.dimensions();
                check_size(path, w, h, 4, opts)?;
                dec.set_limits(limits).map_err(err)?;
                let loops = dec.loop_count();
                collect(path, format, w, h, loops, dec.into_frames(), opts).map(Some)
            }
            ImageFormat::Png => {
                let dec = PngDecoder::with_limits(reader, limits).map_err(err)?;
                let deep = matches!(
                    dec.color_type(),
                    ColorType::L16 | ColorType::La16 | ColorType::Rgb16 | ColorType::Rgba16
                );
                if !dec.is_apng().map_err(err)? || deep {
                    return Ok(None);
                }
                let (w, h) = dec.dimensions();
                check_size(path, w, h, 4, opts)?;
                let apng = dec.apng().map_err(err)?;
                let loops = apng.loop_count();
                collect(path, format, w, h, loops, apng.into_frames(), opts).map(Some)
            }
            ImageFormat::WebP => {
                let mut dec = WebPDecoder::new(reader).map_err(err)?;
                if !dec.has_animation() {
                    return Ok(None);
                }
                let (w, h) = dec.dimensions();
                check_size(path, w, h, 4, opts)?;
                dec.set_limits(limits).map_err(err)?;
                let loops = dec.loop_count();
                collect(path, format, w, h, loops, dec.into_frames(), opts).map(Some)
            }
            _ => Ok(None),
        }
    }
}

fn collect(
    path: &Path,
    format: ImageFormat,
    width: u32,
    height: u32,
    loops: LoopCount,
    frames: image::Frames<'_>,
    opts: &LoadOptions,
) -> Result<Animation, MediaError> {
    let frame_bytes = width as usize * height as usize * 4;
    let mut data = Vec::new();
    let mut delays = Vec::new();
    for frame in frames {
        let frame = frame.map_err(|source| MediaError::Decode {
            path: path.to_path_buf(),
            format: format_name(format),
            source,
        })?;
        let n = delays.len() as u64 + 1;
        // Per frame: its pixels and its delay.
        let bytes = n.saturating_mul(frame_bytes as u64 + 8);
        if bytes > opts.max_bytes {
            return Err(MediaError::TooMuchMemory {
                path: path.to_path_buf(),
                what: format!("{n} frames of {width}x{height}"),
                bytes,
                limit: opts.max_bytes,
            });
        }
        delays.push(frame.delay().numer_denom_ms());
        let buf = frame.into_buffer();
        if buf.dimensions() != (width, height) {
            return Err(MediaError::Invalid {
                path: path.to_path_buf(),
                reason: format!(
                    "frame {} is {}x{}, the animation {width}x{height}",
                    n - 1,
                    buf.width(),
                    buf.height()
                ),
            });
        }
        let start = data.len();
        data.extend_from_slice(buf.as_raw());
        composite8(&mut data[start..], opts.background);
    }
    if delays.is_empty() {
        return Err(MediaError::NoFrames {
            path: path.to_path_buf(),
        });
    }
    let (kind, timing) = if delays.len() == 1 {
        (MediaKind::Still, Timing::Still)
    } else {
        let loops = match loops {
            LoopCount::Infinite => None,
            LoopCount::Finite(n) => Some(n.get()),
        };
        (MediaKind::Animation, Timing::from_delays_ms(&delays, loops))
    };
    Ok(Animation {
        info: MediaInfo {
            name: path.display().to_string(),
            kind,
            width,
            height,
            timing,
        },
        data,
        frame_bytes,
        key: new_key_base(),
    })
}

impl MediaSource for Animation {
    fn info(&self) -> &MediaInfo {
        &self.info
    }

    fn read_frame(&mut self, index: u64, out: &mut Frame) -> Result<ReadStatus, MediaError> {
        let frames = (self.data.len() / self.frame_bytes.max(1)) as u64;
        let i = index % frames.max(1);
        let key = self.key + i;
        if out.key == Some(key) {
            return Ok(ReadStatus::Frame);
        }
        let at = i as usize * self.frame_bytes;
        let px = self.data.get(at..at + self.frame_bytes).unwrap_or(&[]);
        out.set_rgba8(self.info.width, self.info.height, px, Some(key));
        Ok(ReadStatus::Frame)
    }
}
