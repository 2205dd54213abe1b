//! Media sources on real files: every format, animations, the decoding corpus in
//! `../shared/corpus` (valid files decode; broken ones are errors, never a panic, a hang or
//! unbounded memory), and video through the real ffmpeg.

use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use ledwall_player::media::video::{Ffmpeg, Video};
use ledwall_player::media::{
    self, Frame, LoadOptions, MediaError, MediaKind, MediaRef, MediaSource, OpenOptions, Pixels,
    ReadStatus, Time, Timing,
};
use ledwall_player::patterns::Canvas;
use ledwall_player::synth;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn opts() -> OpenOptions {
    OpenOptions::new(Canvas::plain(128, 64, 60))
}

fn open(path: &Path) -> Result<Box<dyn MediaSource>, MediaError> {
    media::open(&MediaRef::File(path.to_path_buf()), &opts())
}

fn read(src: &mut dyn MediaSource, index: u64) -> Frame {
    let mut f = Frame::new();
    match src.read_frame(index, &mut f) {
        Ok(ReadStatus::Frame) => f,
        other => panic!("frame {index}: {other:?}"),
    }
}

#[test]
fn every_still_format_decodes_to_the_same_pixels() {
    let tmp = tempfile::tempdir().unwrap();
    let img = synth::gradient(13, 7);
    for (name, format) in [
        ("g.png", ImageFormat::Png),
        ("g.bmp", ImageFormat::Bmp),
        ("g.tiff", ImageFormat::Tiff),
        ("g.webp", ImageFormat::WebP),
        ("g.gif", ImageFormat::Gif),
    ] {
        let path = tmp.path().join(name);
        // Wrong extensions on purpose: the format comes from the content.
        let path = path.with_extension("bin");
        DynamicImage::ImageRgb8(img.clone())
            .save_with_format(&path, format)
            .unwrap();
        let mut src = open(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(src.info().kind, MediaKind::Still, "{name}");
        assert_eq!(src.info().timing, Timing::Still);
        let f = read(src.as_mut(), 0);
        assert_eq!((f.width, f.height), (13, 7), "{name}");
        if format == ImageFormat::Gif {
            // 256-colour palette: close, not exact.
            let p = f.pixel8(12, 6).unwrap();
            assert!(p[0] > 240 && p[1] > 240 && p[2] < 20, "{name} {p:?}");
            continue;
        }
        for (x, y, p) in img.enumerate_pixels() {
            let want = [p.0[0], p.0[1], p.0[2], 255];
            assert_eq!(f.pixel8(x, y), Some(want), "{name} at {x},{y}");
        }
    }
}

#[test]
fn jpeg_and_sixteen_bit_png_fixtures_decode() {
    let mut src = open(&root().join("fixtures/media/ramp16-128x16.png")).unwrap();
    let f = read(src.as_mut(), 0);
    assert!(matches!(f.pixels, Pixels::Rgba16(_)), "16-bit stays 16-bit");
    let mut src = open(&root().join("fixtures/media/photo-160x90.jpg")).unwrap();
    assert_eq!((src.info().width, src.info().height), (160, 90));
    read(src.as_mut(), 0);
}

#[test]
fn animated_gif_fixture_has_its_frames_delays_and_loop() {
    let mut src = open(&root().join("fixtures/media").join(synth::ANIMATION_FIXTURE)).unwrap();
    let info = src.info().clone();
    assert_eq!(info.kind, MediaKind::Animation);
    assert_eq!((info.width, info.height), (32, 16));
    assert_eq!(info.timing.frames(), Some(8));
    assert_eq!(info.timing.file_loops(), None, "loops forever");
    assert_eq!(info.timing.ticks_for(1, 60), Some(48));
    assert_eq!(info.timing.frame_at(Time::from_secs_f64(0.15)), (0, 1));
    for k in 0..8 {
        let f = read(src.as_mut(), k as u64);
        let c = synth::animation_color(k);
        // Column 31 is background in every frame but the last.
        let x = if k == 7 { 0 } else { 31 };
        assert_eq!(f.pixel8(x, 5), Some([c[0], c[1], c[2], 255]), "frame {k}");
        assert_eq!(f.key, read(src.as_mut(), k as u64).key, "stable keys");
    }
}

#[test]
fn gif_frames_are_composited_over_the_background() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("t.gif");
    {
        use image::codecs::gif::GifEncoder;
        use image::{Delay, Frame as ImgFrame};
        let f = std::fs::File::create(&path).unwrap();
        let mut enc = GifEncoder::new(f);
        for a in [0u8, 255] {
            let img = RgbaImage::from_pixel(2, 2, Rgba([200, 100, 50, a]));
            enc.encode_frame(ImgFrame::from_parts(
                img,
                0,
                0,
                Delay::from_numer_denom_ms(50, 1),
            ))
            .unwrap();
        }
    }
    let mut o = opts();
    o.load.background = [1, 2, 3];
    let mut src = media::open(&MediaRef::File(path), &o).unwrap();
    assert_eq!(src.info().kind, MediaKind::Animation);
    assert_eq!(read(src.as_mut(), 0).pixel8(0, 0), Some([1, 2, 3, 255]));
    assert_eq!(
        read(src.as_mut(), 1).pixel8(1, 1),
        Some([200, 100, 50, 255])
    );
}

fn write_apng(path: &Path, frames: u32, delay: (u16, u16), plays: u32) {
    let file = std::fs::File::create(path).unwrap_or_else(|e| panic!("APNG: {e}"));
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), 4, 2);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_animated(frames, plays)
        .unwrap_or_else(|e| panic!("APNG: {e}"));
    enc.set_frame_delay(delay.0, delay.1)
        .unwrap_or_else(|e| panic!("APNG: {e}"));
    let mut w = enc.write_header().unwrap_or_else(|e| panic!("APNG: {e}"));
    for k in 0..frames {
        let data: Vec<u8> = (0..8).flat_map(|_| [k as u8 * 10, 0, 0]).collect();
        w.write_image_data(&data)
            .unwrap_or_else(|e| panic!("APNG: {e}"));
    }
    w.finish().unwrap_or_else(|e| panic!("APNG: {e}"));
}

#[test]
fn apng_has_exact_fractional_delays_and_its_loop_count() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("a.png");
    write_apng(&path, 3, (1, 3), 2);
    let mut src = open(&path).unwrap();
    let t = src.info().timing.clone();
    assert_eq!(src.info().kind, MediaKind::Animation);
    assert_eq!(t.frames(), Some(3));
    assert_eq!(t.file_loops(), Some(2));
    // Three frames of 1/3 s: exactly one second, 60 ticks at 60 Hz.
    assert_eq!(t.ticks_for(1, 60), Some(60));
    assert_eq!(t.frame_at(Time::from_ticks(40, 60)), (0, 2));
    assert_eq!(read(src.as_mut(), 2).pixel8(3, 1), Some([20, 0, 0, 255]));
}

#[test]
fn animated_webp_from_the_corpus_is_an_animation() {
    let path = root().join("../shared/corpus/webp-image-webp/animated/random_lossy.webp");
    if !path.exists() {
        corpus_missing();
        return;
    }
    let mut src = open(&path).unwrap();
    assert_eq!(src.info().kind, MediaKind::Animation);
    let n = src.info().timing.frames().unwrap();
    assert!(n > 1, "{n} frames");
    read(src.as_mut(), n - 1);
}

#[test]
fn an_animation_past_the_memory_limit_is_refused_while_decoding() {
    let path = root().join("fixtures/media").join(synth::ANIMATION_FIXTURE);
    let mut o = opts();
    // Three 32x16 frames fit, eight do not.
    o.load.max_bytes = 3 * (32 * 16 * 4 + 8);
    match media::open(&MediaRef::File(path), &o) {
        Err(MediaError::TooMuchMemory { what, limit, .. }) => {
            assert_eq!(what, "4 frames of 32x16");
            assert_eq!(limit, o.load.max_bytes);
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("opened"),
    }
}

#[test]
fn image_sequence_through_the_media_layer() {
    let tmp = tempfile::tempdir().unwrap();
    for k in 0..5u8 {
        RgbImage::from_pixel(3, 3, Rgb([k * 50, 1, 2]))
            .save(tmp.path().join(format!("f{k:03}.png")))
            .unwrap();
    }
    let mut o = opts();
    o.fps = 10.0;
    let glob = tmp.path().join("f*.png");
    let media = MediaRef::parse(glob.to_str().unwrap(), Path::new("")).unwrap();
    let mut src = media::open(&media, &o).unwrap();
    assert_eq!(src.info().kind, MediaKind::Sequence);
    // 10 fps: at 0.35 s the fourth image.
    let (_, i) = src.info().timing.frame_at(Time::from_secs_f64(0.35));
    assert_eq!(i, 3);
    assert_eq!(read(src.as_mut(), i).pixel8(0, 0), Some([150, 1, 2, 255]));
}

#[test]
fn unknown_content_and_missing_files_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let notes = tmp.path().join("notes.png");
    std::fs::write(&notes, "just text\n").unwrap();
    let e = open(&notes).err().unwrap();
    assert!(
        matches!(
            e,
            MediaError::UnknownFormat { .. } | MediaError::FfmpegMissing { .. }
        ),
        "{e}"
    );
    let e = open(&tmp.path().join("gone.png")).err().unwrap();
    assert!(matches!(e, MediaError::Open { .. }), "{e}");
    assert!(e.to_string().contains("gone.png"));
}

// ---------------------------------------------------------------------------------------
// The corpus.

fn corpus_missing() {
    let msg = "the decoding corpus ../shared/corpus is missing";
    if std::env::var_os("CI").is_some() {
        panic!("{msg}");
    }
    eprintln!("\n*** SKIPPED: {msg} ***\n");
}

fn corpus_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            corpus_files(&p, out);
        } else if p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
            ["png", "jpg", "jpeg", "gif", "webp", "bmp", "tif", "tiff"]
                .contains(&e.to_ascii_lowercase().as_str())
        }) {
            out.push(p);
        }
    }
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Expect {
    Valid,
    Broken,
    /// Fuzzer and crash-test files: some are valid, some not; either way no panic or hang.
    Either,
}

fn expectation(rel: &str) -> Expect {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    if rel.starts_with("pngsuite/") {
        if name.starts_with('x') {
            Expect::Broken
        } else {
            Expect::Valid
        }
    } else if rel.starts_with("png-bugfixes/") {
        if name.starts_with("x_") {
            Expect::Broken
        } else {
            Expect::Valid
        }
    } else if rel.starts_with("webp-image-webp/")
        || rel.starts_with("libjpeg-turbo-testimages/")
        || rel.starts_with("gif-image-gif/samples/")
        || rel.starts_with("gif-image-gif/regression/")
    {
        Expect::Valid
    } else {
        Expect::Either
    }
}

/// Valid files this build does not decode, and why. Each is still an error, not a crash.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "libjpeg-turbo-testimages/monkey12.jpg",
        "12-bit JPEG: the jpeg decoder (zune-jpeg) reads 8-bit precision only",
    ),
    (
        "libjpeg-turbo-testimages/testimgari.jpg",
        "arithmetic-coded JPEG (DAC segment): not supported by zune-jpeg",
    ),
    (
        "gif-image-gif/regression/issue-209-extension-block-type.gif",
        "an unknown GIF extension block: the gif crate refuses it in its default mode",
    ),
];

/// Open the file and read every frame, on a thread, bounded in time.
fn decode_all(path: &Path) -> Option<Result<u64, String>> {
    let (tx, rx) = mpsc::channel();
    let p = path.to_path_buf();
    std::thread::spawn(move || {
        let mut o = opts();
        o.load.max_pixels = 40_000_000;
        o.load.max_bytes = 256 << 20;
        let result = media::open(&MediaRef::File(p), &o)
            .and_then(|mut src| {
                let n = src.info().timing.frames().unwrap_or(1);
                let mut f = Frame::new();
                for i in 0..n {
                    src.read_frame(i, &mut f)?;
                }
                Ok(n)
            })
            .map_err(|e| match e {
                MediaError::Panicked { .. } => format!("PANIC: {e}"),
                e => ledwall_player::deck::error_chain(&e),
            });
        let _ = tx.send(result);
    });
    rx.recv_timeout(Duration::from_secs(120)).ok()
}

#[test]
fn every_corpus_file_decodes_or_fails_cleanly() {
    let dir = root().join("../shared/corpus");
    if !dir.is_dir() {
        corpus_missing();
        return;
    }
    let mut files = Vec::new();
    corpus_files(&dir, &mut files);
    assert!(files.len() > 300, "{} files", files.len());
    let mut wrong = Vec::new();
    let (mut ok, mut errors) = (0, 0);
    for path in &files {
        let rel = path
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let expect = expectation(&rel);
        let unsupported = UNSUPPORTED.iter().any(|(f, _)| *f == rel);
        match decode_all(path) {
            None => wrong.push(format!("{rel}: HANG (no result within 120 s)")),
            Some(Err(e)) if e.starts_with("PANIC") => wrong.push(format!("{rel}: {e}")),
            Some(Ok(_)) => {
                ok += 1;
                if expect == Expect::Broken {
                    wrong.push(format!("{rel}: broken on purpose, but decoded"));
                }
            }
            Some(Err(e)) => {
                errors += 1;
                if expect == Expect::Valid && !unsupported {
                    wrong.push(format!("{rel}: valid, but: {e}"));
                }
                assert!(!e.is_empty());
            }
        }
    }
    eprintln!(
        "corpus: {} files, {ok} decoded, {errors} refused with an error",
        files.len()
    );
    assert!(
        wrong.is_empty(),
        "{} problems:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// Video through ffmpeg.

/// ffmpeg, or `None` after a loud skip message (a failure under CI).
fn ffmpeg() -> Option<Ffmpeg> {
    let ff = Ffmpeg::from_env();
    if ff.available() {
        return Some(ff);
    }
    let msg = "ffmpeg is not installed (or LEDWALL_FFMPEG is wrong): video tests cannot run";
    if std::env::var_os("CI").is_some() {
        panic!("{msg}");
    }
    eprintln!("\n*** SKIPPED: {msg} ***\n");
    None
}

/// Make a clip with ffmpeg from one of its own test sources.
fn make_clip(ff: &Ffmpeg, dir: &Path, name: &str, lavfi: &str, codec: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let out = Command::new(&ff.ffmpeg)
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", lavfi])
        .args(codec)
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("ffmpeg: {e}"));
    assert!(
        out.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

/// 16x8 lossless clip whose frame k is red = 8·k (exactly), at `fps`.
fn counting_clip(ff: &Ffmpeg, dir: &Path, fps: u32, frames: u32) -> PathBuf {
    let src = format!(
        "nullsrc=s=16x8:r={fps}:d={},geq=r='8*N':g=0:b=0",
        frames as f64 / fps as f64
    );
    make_clip(
        ff,
        dir,
        "count.mkv",
        &src,
        &["-c:v", "ffv1", "-pix_fmt", "gbrp"],
    )
}

fn red(f: &Frame) -> u8 {
    f.pixel8(3, 3)
        .map_or_else(|| panic!("no pixel (3, 3)"), |p| p[0])
}

#[test]
fn video_is_probed_and_decoded_frame_by_frame() {
    let Some(ff) = ffmpeg() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let clip = counting_clip(&ff, tmp.path(), 30, 20);
    let mut v = Video::open(&clip, 0.0, &LoadOptions::default(), &ff).unwrap();
    assert_eq!((v.info().width, v.info().height), (16, 8));
    assert_eq!(
        v.info().timing,
        Timing::Rate {
            fps_num: 30,
            fps_den: 1,
            frames: Some(20)
        }
    );
    let mut f = Frame::new();
    let mut reds = Vec::new();
    for i in [0u64, 1, 2, 5, 19] {
        assert_eq!(v.read_frame(i, &mut f).unwrap(), ReadStatus::Frame);
        assert_eq!(f.key, None, "video frames are not cached as stills");
        reds.push(red(&f));
    }
    assert_eq!(reds, [0, 8, 16, 40, 152]);
    assert_eq!(v.spawns(), 1, "reading forward decodes on");
    // The same frame again (each frame shows twice at 30 fps on 60 Hz): no new ffmpeg.
    v.read_frame(19, &mut f).unwrap();
    assert_eq!((red(&f), v.spawns()), (152, 1));
    // Going back (a loop) restarts ffmpeg.
    v.read_frame(3, &mut f).unwrap();
    assert_eq!((red(&f), v.spawns()), (24, 2));
    // Past the end: the end, with the real frame count.
    assert_eq!(
        v.read_frame(25, &mut f).unwrap(),
        ReadStatus::End { frames: 20 }
    );
    assert_eq!(v.frames_seen(), Some(20));
}

#[test]
fn a_start_offset_skips_into_the_video() {
    let Some(ff) = ffmpeg() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let clip = counting_clip(&ff, tmp.path(), 10, 20);
    let mut v = Video::open(&clip, 0.5, &LoadOptions::default(), &ff).unwrap();
    assert_eq!(v.info().timing.frames(), Some(15));
    let mut f = Frame::new();
    v.read_frame(0, &mut f).unwrap();
    assert_eq!(red(&f), 40, "frame 5 is at 0.5 s");
    v.read_frame(2, &mut f).unwrap();
    assert_eq!(red(&f), 56);
}

#[test]
fn a_truncated_video_ends_early_instead_of_failing() {
    let Some(ff) = ffmpeg() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let clip = make_clip(
        &ff,
        tmp.path(),
        "full.mp4",
        "testsrc2=s=64x32:r=25:d=4",
        &["-c:v", "mpeg4", "-q:v", "5", "-g", "10"],
    );
    let bytes = std::fs::read(&clip).unwrap();
    let cut = tmp.path().join("cut.mp4");
    // mp4 keeps its index (moov) at the end by default: keep it at the front instead so the
    // header survives the cut.
    let faststart = tmp.path().join("fast.mp4");
    let out = Command::new(&ff.ffmpeg)
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(&clip)
        .args(["-c", "copy", "-movflags", "+faststart"])
        .arg(&faststart)
        .output()
        .unwrap();
    assert!(out.status.success());
    let fast = std::fs::read(&faststart).unwrap();
    std::fs::write(&cut, &fast[..fast.len() / 2]).unwrap();
    assert!(bytes.len() > 1000);

    let mut v = Video::open(&cut, 0.0, &LoadOptions::default(), &ff).unwrap();
    let announced = v.info().timing.frames().unwrap();
    assert_eq!(announced, 100, "the header still announces 4 s at 25 fps");
    let mut f = Frame::new();
    let mut got = 0;
    let end = loop {
        match v.read_frame(got, &mut f).unwrap() {
            ReadStatus::Frame => got += 1,
            ReadStatus::End { frames } => break frames,
        }
        assert!(got <= announced, "more frames than announced");
    };
    assert_eq!(end, got);
    assert!(got > 0 && got < announced, "{got} of {announced} frames");
}

#[test]
fn the_media_layer_opens_video_by_content() {
    let Some(ff) = ffmpeg() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let clip = make_clip(
        &ff,
        tmp.path(),
        "clip.avi",
        "testsrc2=s=48x24:r=30:d=1",
        &["-c:v", "mpeg4"],
    );
    let mut src = open(&clip).unwrap();
    assert_eq!(src.info().kind, MediaKind::Video);
    assert_eq!(src.info().timing.frames(), Some(30));
    read(src.as_mut(), 29);
}

#[test]
fn a_missing_ffmpeg_is_a_clear_error_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let clip = tmp.path().join("clip.mp4");
    std::fs::write(&clip, b"\x00\x00\x00\x18ftypmp42 not really").unwrap();
    let ff = Ffmpeg::at(tmp.path().join("no-such-dir/ffmpeg"));
    let e = Video::open(&clip, 0.0, &LoadOptions::default(), &ff).unwrap_err();
    assert!(matches!(e, MediaError::FfmpegMissing { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("clip.mp4") && text.contains("LEDWALL_FFMPEG"),
        "{text}"
    );
}
