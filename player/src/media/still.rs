//! Still images: decode a PNG (8 or 16 bits per channel), JPEG, GIF (first frame), WebP, BMP
//! or TIFF into RGBA code values with alpha composited over the wall's background, ready to
//! hand to the renderer (design §1, "SourceFrame").
//!
//! The pixel count and the memory the decode needs are checked against limits from the file's
//! header alone, before any pixel data is decoded, so a hostile or mistaken 50 000 × 50 000
//! image costs nothing.
//!
//! Compositing happens on code values, the way browsers and image editors show transparent
//! images: `out = c · a + bg · (1 − a)`, rounded. A fully transparent pixel becomes exactly
//! the background code, so it shows exactly what the renderer fills around a letterboxed
//! image.

use super::{
    Frame, LoadOptions, MediaError, MediaInfo, MediaKind, MediaSource, ReadStatus, Timing,
    check_size, new_key_base,
};
use image::metadata::Orientation;
use image::{ColorType, DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use ledwall_render::SourceImage;
use ledwall_render::yuv::{YuvImage, YuvLayout, YuvMatrix, YuvRange};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek};
use std::path::Path;

/// The image formats this build decodes.
pub const FORMATS: [ImageFormat; 6] = [
    ImageFormat::Png,
    ImageFormat::Jpeg,
    ImageFormat::Gif,
    ImageFormat::WebP,
    ImageFormat::Bmp,
    ImageFormat::Tiff,
];

/// The image format of a file, from its first bytes; `None` when it is none of
/// [`FORMATS`] (it may be a video).
///
/// A path that is not a regular file (a FIFO, a device) is never read: with an image's
/// extension it is [`MediaError::NotAFile`], otherwise `None` (it goes to ffmpeg as a video,
/// whose watchdog bounds the wait).
pub fn sniff(path: &Path) -> Result<Option<ImageFormat>, MediaError> {
    let file = match open_regular(path) {
        Ok(f) => f,
        Err(e @ MediaError::NotAFile { .. }) => {
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .map(|e| e.to_ascii_lowercase());
            let image = ext.is_some_and(|ext| {
                FORMATS
                    .iter()
                    .any(|f| f.extensions_str().contains(&ext.as_str()))
            });
            return if image { Err(e) } else { Ok(None) };
        }
        Err(e) => return Err(e),
    };
    let mut head = Vec::with_capacity(64);
    file.take(64)
        .read_to_end(&mut head)
        .map_err(|source| MediaError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(image::guess_format(&head)
        .ok()
        .filter(|f| FORMATS.contains(f)))
}

/// Open a media file for reading without blocking on it: the open itself is non-blocking
/// (a FIFO without a writer would otherwise wait for one for ever) and anything but a
/// regular file is [`MediaError::NotAFile`].
pub fn open_regular(path: &Path) -> Result<File, MediaError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|source| MediaError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let meta = file.metadata().map_err(|source| MediaError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_file() {
        return Ok(file);
    }
    let kind = file_kind(&meta);
    Err(MediaError::NotAFile {
        path: path.to_path_buf(),
        kind,
    })
}

fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a folder"
    } else {
        "not a plain file"
    }
}

/// The short name of a format for messages ("png", "jpg", …).
pub fn format_name(format: ImageFormat) -> &'static str {
    format.extensions_str().first().copied().unwrap_or("image")
}

/// Decoded pixels: RGBA, row-major, alpha composited (always at full value), or a video's
/// Y'CbCr planes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pixels {
    /// 8 bits per channel.
    Rgba8(Vec<u8>),
    /// 16 bits per channel (PNG with 16-bit samples).
    Rgba16(Vec<u16>),
    /// 4:2:0 Y'CbCr planes as ffmpeg's `rawvideo` writes them (video).
    Yuv(YuvPixels),
}

/// One video frame's Y'CbCr planes, tight, one after the other (`yuv420p`: bytes;
/// `yuv420p10le`: little-endian u16 samples in the same bytes), with the stream's matrix and
/// range; the render core converts them ([`ledwall_render::yuv`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YuvPixels {
    /// The frame as it came off the pipe.
    pub data: Vec<u8>,
    /// Its layout: [`YuvLayout::Yuv420p`] or [`YuvLayout::Yuv420p10`].
    pub layout: YuvLayout,
    /// The stream's matrix.
    pub matrix: YuvMatrix,
    /// The stream's range.
    pub range: YuvRange,
}

impl Pixels {
    /// Bits per channel or sample: 8, 10 or 16.
    pub fn bits(&self) -> u32 {
        match self {
            Pixels::Rgba8(_) => 8,
            Pixels::Rgba16(_) => 16,
            Pixels::Yuv(y) => y.layout.bits(),
        }
    }

    /// Borrow `width` × `height` of them as a renderer source. Y'CbCr data that does not
    /// fit the size (or, for 10 bits, is not aligned for u16, which no allocator here
    /// does) gives a source the renderer refuses with an error naming the plane, never a
    /// wrong picture.
    pub fn source(&self, width: u32, height: u32) -> SourceImage<'_> {
        match self {
            Pixels::Rgba8(d) => SourceImage::rgba8(width, height, d),
            Pixels::Rgba16(d) => SourceImage::rgba16(width, height, d),
            Pixels::Yuv(y) => {
                let image = if y.layout.is_deep() {
                    bytemuck::try_cast_slice::<u8, u16>(&y.data)
                        .ok()
                        .and_then(|d| {
                            YuvImage::from_frame16(y.layout, width, height, d, y.matrix, y.range)
                        })
                } else {
                    YuvImage::from_frame8(y.layout, width, height, &y.data, y.matrix, y.range)
                };
                match image {
                    Some(i) => SourceImage::yuv(width, height, i),
                    None => SourceImage::rgba8(width, height, &[]),
                }
            }
        }
    }
}

/// A decoded still image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StillImage {
    /// Width in pixels (after applying the file's orientation tag).
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The pixels.
    pub pixels: Pixels,
    /// The format it was decoded from.
    pub format: ImageFormat,
    /// Whether the file had an alpha channel (now composited).
    pub had_alpha: bool,
}

impl StillImage {
    /// Bits per channel: 8 or 16.
    pub fn bits(&self) -> u32 {
        self.pixels.bits()
    }

    /// Borrow as a renderer source.
    pub fn source(&self) -> SourceImage<'_> {
        self.pixels.source(self.width, self.height)
    }
}

/// Load an image file. The format comes from the content, not the file name.
pub fn load_image(path: impl AsRef<Path>, opts: &LoadOptions) -> Result<StillImage, MediaError> {
    let path = path.as_ref();
    let file = open_regular(path)?;
    decode(BufReader::new(file), path, opts)
}

/// Decode an image from a reader; `path` names it in errors.
pub fn decode<R: BufRead + Seek>(
    reader: R,
    path: &Path,
    opts: &LoadOptions,
) -> Result<StillImage, MediaError> {
    let reader = ImageReader::new(reader)
        .with_guessed_format()
        .map_err(|source| MediaError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    let Some(format) = reader.format() else {
        return Err(MediaError::UnknownFormat {
            path: path.to_path_buf(),
        });
    };
    if !FORMATS.contains(&format) {
        return Err(MediaError::UnknownFormat {
            path: path.to_path_buf(),
        });
    }
    let decode_err = |source| MediaError::Decode {
        path: path.to_path_buf(),
        format: format_name(format),
        source,
    };

    // Only the header is read here.
    let mut decoder = reader.into_decoder().map_err(decode_err)?;
    let (width, height) = decoder.dimensions();
    // Memory: the decoder's own buffer, then the RGBA copy (16 bits per channel for deep
    // images).
    let color = decoder.color_type();
    let out_bpp = if is_deep(color) { 8 } else { 4 };
    let bpp = color.bytes_per_pixel() as u64 + out_bpp;
    check_size(path, width, height, bpp, opts)?;

    // The dimensions are pinned so the file cannot change under us; the decoder may
    // allocate what the memory limit lets through.
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(opts.max_bytes);
    decoder.set_limits(limits).map_err(decode_err)?;

    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(decode_err)?;
    img.apply_orientation(orientation);
    Ok(from_dynamic(img, format, opts.background))
}

fn is_deep(color: ColorType) -> bool {
    matches!(
        color,
        ColorType::L16
            | ColorType::La16
            | ColorType::Rgb16
            | ColorType::Rgba16
            | ColorType::Rgb32F
            | ColorType::Rgba32F
    )
}

fn from_dynamic(img: DynamicImage, format: ImageFormat, background: [u8; 3]) -> StillImage {
    let (width, height) = (img.width(), img.height());
    let color = img.color();
    let had_alpha = color.has_alpha();
    let pixels = if is_deep(color) {
        let mut data = img.into_rgba16().into_raw();
        if had_alpha {
            composite16(&mut data, background);
        }
        Pixels::Rgba16(data)
    } else {
        let mut data = img.into_rgba8().into_raw();
        if had_alpha {
            composite8(&mut data, background);
        }
        Pixels::Rgba8(data)
    };
    StillImage {
        width,
        height,
        pixels,
        format,
        had_alpha,
    }
}

/// A still image as a [`MediaSource`]: decoded once, copied into the caller's frame only
/// when it does not hold it already.
#[derive(Debug)]
pub struct StillSource {
    info: MediaInfo,
    image: StillImage,
    key: u64,
}

impl StillSource {
    /// Decode `path`.
    pub fn open(path: &Path, opts: &LoadOptions) -> Result<StillSource, MediaError> {
        Ok(StillSource::from_image(
            path.display().to_string(),
            load_image(path, opts)?,
        ))
    }

    /// Wrap an already decoded image.
    pub fn from_image(name: String, image: StillImage) -> StillSource {
        StillSource {
            info: MediaInfo {
                name,
                kind: MediaKind::Still,
                width: image.width,
                height: image.height,
                timing: Timing::Still,
            },
            image,
            key: new_key_base(),
        }
    }

    /// The decoded image.
    pub fn image(&self) -> &StillImage {
        &self.image
    }
}

impl MediaSource for StillSource {
    fn info(&self) -> &MediaInfo {
        &self.info
    }

    fn read_frame(&mut self, _index: u64, out: &mut Frame) -> Result<ReadStatus, MediaError> {
        out.set_still(&self.image, self.key);
        Ok(ReadStatus::Frame)
    }
}

/// Composite RGBA8 pixels over `bg` in place: `c · a + bg · (1 − a)`, rounded; alpha
/// becomes 255.
pub fn composite8(rgba: &mut [u8], bg: [u8; 3]) {
    for px in rgba.chunks_exact_mut(4) {
        let a = px[3] as u32;
        if a == 255 {
            continue;
        }
        for c in 0..3 {
            px[c] = ((px[c] as u32 * a + bg[c] as u32 * (255 - a) + 127) / 255) as u8;
        }
        px[3] = 255;
    }
}

/// Composite RGBA16 pixels over `bg` (8-bit code values, scaled by 257) in place; alpha
/// becomes 65535.
pub fn composite16(rgba: &mut [u16], bg: [u8; 3]) {
    let bg = bg.map(|c| c as u64 * 257);
    for px in rgba.chunks_exact_mut(4) {
        let a = px[3] as u64;
        if a == 65535 {
            continue;
        }
        for c in 0..3 {
            px[c] = ((px[c] as u64 * a + bg[c] * (65535 - a) + 32767) / 65535) as u16;
        }
        px[3] = 65535;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb, Rgba, RgbaImage};
    use std::io::Cursor;

    fn png_bytes(img: DynamicImage) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn load(bytes: &[u8], opts: &LoadOptions) -> Result<StillImage, MediaError> {
        decode(Cursor::new(bytes), Path::new("mem.png"), opts)
    }

    #[test]
    fn composite8_rounds_and_keeps_opaque_pixels() {
        let mut px = [10, 20, 30, 255, 200, 100, 0, 0, 255, 255, 255, 128];
        composite8(&mut px, [32, 64, 0]);
        assert_eq!(&px[..4], &[10, 20, 30, 255]);
        assert_eq!(&px[4..8], &[32, 64, 0, 255]);
        // 255·128/255 + 32·127/255 = 128 + 15.94 → 144; 64·127/255 = 31.9 → 160.
        assert_eq!(&px[8..], &[144, 160, 128, 255]);
    }

    #[test]
    fn composite16_matches_8_bit_on_the_extremes() {
        let mut px = [1000, 2000, 3000, 0, 5, 6, 7, 65535];
        composite16(&mut px, [32, 0, 255]);
        assert_eq!(&px[..4], &[32 * 257, 0, 65535, 65535]);
        assert_eq!(&px[4..], &[5, 6, 7, 65535]);
    }

    #[test]
    fn sixteen_bit_png_stays_sixteen_bit() {
        let img: ImageBuffer<Rgb<u16>, Vec<u16>> =
            ImageBuffer::from_fn(4, 2, |x, y| Rgb([x as u16 * 1000 + 1, y as u16, 65535]));
        let bytes = png_bytes(DynamicImage::ImageRgb16(img));
        let s = load(&bytes, &LoadOptions::default()).unwrap();
        assert_eq!((s.width, s.height, s.bits()), (4, 2, 16));
        let Pixels::Rgba16(d) = &s.pixels else {
            panic!("8-bit")
        };
        assert_eq!(&d[4..8], &[1001, 0, 65535, 65535]);
        assert!(s.source().check().is_ok());
    }

    #[test]
    fn rgba8_png_is_composited_over_the_background() {
        let img = RgbaImage::from_fn(2, 1, |x, _| {
            if x == 0 {
                Rgba([255, 0, 255, 0])
            } else {
                Rgba([1, 2, 3, 255])
            }
        });
        let bytes = png_bytes(DynamicImage::ImageRgba8(img));
        let opts = LoadOptions {
            background: [9, 8, 7],
            ..LoadOptions::default()
        };
        let s = load(&bytes, &opts).unwrap();
        assert!(s.had_alpha);
        assert_eq!(s.pixels, Pixels::Rgba8(vec![9, 8, 7, 255, 1, 2, 3, 255]));
    }

    #[test]
    fn too_many_pixels_is_refused_from_the_header() {
        let img = RgbaImage::new(64, 32);
        let mut bytes = png_bytes(DynamicImage::ImageRgba8(img));
        // Damage the compressed pixel data (inside IDAT): decoding would fail, the size check
        // must not get that far.
        let idat = bytes.windows(4).position(|w| w == b"IDAT").unwrap();
        let len = u32::from_be_bytes(bytes[idat - 4..idat].try_into().unwrap()) as usize;
        for b in &mut bytes[idat + 4..idat + 4 + len] {
            *b ^= 0x5a;
        }
        let opts = LoadOptions {
            max_pixels: 100,
            ..LoadOptions::default()
        };
        match load(&bytes, &opts) {
            Err(MediaError::TooLarge {
                width: 64,
                height: 32,
                limit: 100,
                ..
            }) => {}
            other => panic!("expected TooLarge, got {other:?}"),
        }
        assert!(matches!(
            load(&bytes, &LoadOptions::default()),
            Err(MediaError::Decode { .. })
        ));
    }

    #[test]
    fn garbage_is_an_unknown_format_and_a_bad_png_a_decode_error() {
        assert!(matches!(
            load(b"hello, this is not an image", &LoadOptions::default()),
            Err(MediaError::UnknownFormat { .. })
        ));
        let mut bad = b"\x89PNG\r\n\x1a\n".to_vec();
        bad.extend_from_slice(&[0xff; 64]);
        let err = load(&bad, &LoadOptions::default()).unwrap_err();
        assert!(matches!(err, MediaError::Decode { .. }), "{err:?}");
        assert!(err.to_string().contains("cannot decode mem.png as png"));
    }
}
