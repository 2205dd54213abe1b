//! Animated previews: GIF or APNG, frame by frame, without keeping the frames.
//!
//! * **APNG** is lossless: every frame is exactly the emulated wall (at the chosen look).
//!   Each frame lasts `1 / fps` s (the fraction is stored as is).
//! * **GIF** has 256 colours a frame (each frame gets its own palette, by NeuQuant) and
//!   delays in whole centiseconds: frame delays follow [`super::gif_delays_cs`], so the total
//!   does not drift. Browsers slow down delays under 2 cs, hence [`MAX_GIF_FPS`].
//!
//! Both loop forever.

use image::RgbaImage;
use rayon::prelude::*;
use std::io::Write;

/// The highest frame rate a GIF preview may have (browsers play delays under 20 ms slower).
pub const MAX_GIF_FPS: u32 = 50;
/// NeuQuant sampling factor for GIF palettes (1 best and slowest, 30 fastest).
const GIF_SPEED: i32 = 10;
/// GIF frames quantized in parallel before they are written.
const GIF_BATCH: usize = 8;

/// An error writing an animation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnimError {
    /// The PNG encoder failed (or its file).
    #[error("APNG encoding failed")]
    Png(#[from] png::EncodingError),
    /// The GIF encoder failed (or its file).
    #[error("GIF encoding failed")]
    Gif(#[from] gif::EncodingError),
    /// A frame of another size than the first.
    #[error("frame {index} is {got:?}, the animation is {want:?}")]
    FrameSize {
        /// Frame index.
        index: u64,
        /// Its size.
        got: (u32, u32),
        /// The animation's size.
        want: (u32, u32),
    },
    /// Too large for the format.
    #[error("{width}x{height} is too large for a GIF (at most 65535 on each side)")]
    TooLarge {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// More frames written than announced, or fewer.
    #[error("the animation announced {want} frames but got {got}")]
    FrameCount {
        /// Announced.
        want: u64,
        /// Written.
        got: u64,
    },
}

/// An animation being written.
pub enum AnimWriter<W: Write> {
    /// An APNG.
    Apng {
        /// The PNG stream.
        writer: png::Writer<W>,
        /// Frame size.
        size: (u32, u32),
        /// Frames written.
        written: u64,
        /// Frames announced.
        frames: u64,
        /// RGB scratch.
        rgb: Vec<u8>,
    },
    /// A GIF.
    Gif {
        /// The GIF stream.
        encoder: gif::Encoder<W>,
        /// Frame size.
        size: (u32, u32),
        /// Delay of each frame, centiseconds.
        delays: Vec<u16>,
        /// Frames written (queued included).
        written: u64,
        /// Frames waiting to be quantized.
        queue: Vec<RgbaImage>,
    },
}

impl<W: Write> std::fmt::Debug for AnimWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnimWriter::Apng { size, written, .. } => {
                write!(f, "AnimWriter::Apng({size:?}, {written} written)")
            }
            AnimWriter::Gif { size, written, .. } => {
                write!(f, "AnimWriter::Gif({size:?}, {written} written)")
            }
        }
    }
}

impl<W: Write> AnimWriter<W> {
    /// Start an APNG of `frames` frames of `width` × `height`, each `1 / fps` s.
    pub fn apng(w: W, width: u32, height: u32, frames: u64, fps: u32) -> Result<Self, AnimError> {
        let mut enc = png::Encoder::new(w, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let announced = u32::try_from(frames.max(1)).unwrap_or(u32::MAX);
        enc.set_animated(announced, 0)?;
        enc.set_frame_delay(1, fps.clamp(1, u16::MAX as u32) as u16)?;
        let writer = enc.write_header()?;
        Ok(AnimWriter::Apng {
            writer,
            size: (width, height),
            written: 0,
            frames: announced as u64,
            rgb: Vec::new(),
        })
    }

    /// Start a GIF of `frames` frames of `width` × `height` at `fps` (delays per
    /// [`super::gif_delays_cs`]).
    pub fn gif(w: W, width: u32, height: u32, frames: u64, fps: u32) -> Result<Self, AnimError> {
        let (Ok(gw), Ok(gh)) = (u16::try_from(width), u16::try_from(height)) else {
            return Err(AnimError::TooLarge { width, height });
        };
        let mut encoder = gif::Encoder::new(w, gw, gh, &[])?;
        encoder.set_repeat(gif::Repeat::Infinite)?;
        Ok(AnimWriter::Gif {
            encoder,
            size: (width, height),
            delays: super::gif_delays_cs(frames as usize, fps),
            written: 0,
            queue: Vec::with_capacity(GIF_BATCH),
        })
    }

    /// Append the next frame.
    pub fn push(&mut self, frame: RgbaImage) -> Result<(), AnimError> {
        let got = (frame.width(), frame.height());
        match self {
            AnimWriter::Apng {
                writer,
                size,
                written,
                frames,
                rgb,
            } => {
                if got != *size {
                    return Err(AnimError::FrameSize {
                        index: *written,
                        got,
                        want: *size,
                    });
                }
                if *written >= *frames {
                    return Err(AnimError::FrameCount {
                        want: *frames,
                        got: *written + 1,
                    });
                }
                rgb.clear();
                for px in frame.as_raw().chunks_exact(4) {
                    rgb.extend_from_slice(&px[..3]);
                }
                writer.write_image_data(rgb)?;
                *written += 1;
                Ok(())
            }
            AnimWriter::Gif {
                size,
                written,
                queue,
                delays,
                ..
            } => {
                if got != *size {
                    return Err(AnimError::FrameSize {
                        index: *written,
                        got,
                        want: *size,
                    });
                }
                if *written >= delays.len() as u64 {
                    return Err(AnimError::FrameCount {
                        want: delays.len() as u64,
                        got: *written + 1,
                    });
                }
                queue.push(frame);
                *written += 1;
                if queue.len() >= GIF_BATCH {
                    self.flush_gif()?;
                }
                Ok(())
            }
        }
    }

    fn flush_gif(&mut self) -> Result<(), AnimError> {
        if let AnimWriter::Gif {
            encoder,
            delays,
            written,
            queue,
            size,
        } = self
        {
            let first = *written - queue.len() as u64;
            let (w, h) = (size.0 as u16, size.1 as u16);
            let frames: Vec<gif::Frame<'static>> = std::mem::take(queue)
                .into_par_iter()
                .map(|img| {
                    let mut raw = img.into_raw();
                    gif::Frame::from_rgba_speed(w, h, &mut raw, GIF_SPEED)
                })
                .collect();
            for (k, mut f) in frames.into_iter().enumerate() {
                f.delay = delays.get(first as usize + k).copied().unwrap_or(10);
                encoder.write_frame(&f)?;
            }
        }
        Ok(())
    }

    /// Write what is left and close the stream (checking the frame count).
    pub fn finish(mut self) -> Result<(), AnimError> {
        self.flush_gif()?;
        match self {
            AnimWriter::Apng {
                writer,
                written,
                frames,
                ..
            } => {
                if written != frames {
                    return Err(AnimError::FrameCount {
                        want: frames,
                        got: written,
                    });
                }
                writer.finish()?;
            }
            AnimWriter::Gif {
                encoder,
                written,
                delays,
                ..
            } => {
                if written != delays.len() as u64 {
                    return Err(AnimError::FrameCount {
                        want: delays.len() as u64,
                        got: written,
                    });
                }
                let mut w = encoder.into_inner()?;
                w.flush().map_err(|e| AnimError::Gif(e.into()))?;
            }
        }
        Ok(())
    }
}
