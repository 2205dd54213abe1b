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
    let mut keys = Vec::new();
    for i in [0u64, 1, 2, 5, 19] {
        assert_eq!(v.read_frame(i, &mut f).unwrap(), ReadStatus::Frame);
        reds.push(red(&f));
        keys.push(
            f.key
                .unwrap_or_else(|| panic!("frame {i} has no content key")),
        );
    }
    // Each frame index its own key (the renderer reuses a frame's canvas while it shows).
    assert_eq!(
        keys.iter().map(|k| k - keys[0]).collect::<Vec<_>>(),
        [0, 1, 2, 5, 19]
    );
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
            ReadStatus::Late => panic!("late without a frame_wait"),
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

// ---------------------------------------------------------------------------------------
// Media that cannot freeze the wall (issue 22): bounded reads, the decoder's watchdog,
// reaped children, restarts, retries, FIFOs and decompression bombs.
// ---------------------------------------------------------------------------------------

use ledwall_player::deck::Deck;
use ledwall_player::playlist::Playlist;
use ledwall_player::timeline::Timeline;
use std::time::Instant;

/// A fake ffmpeg: `script` run by sh, with the real ffprobe beside it. `$PIDS` (a file in the
/// folder) collects the pids the script writes there.
fn fake_ffmpeg(dir: &Path, script: &str) -> Ffmpeg {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("fakebin");
    std::fs::create_dir_all(&bin).unwrap_or_else(|e| panic!("{e}"));
    let real = Ffmpeg::from_env();
    let ffmpeg = bin.join("ffmpeg");
    let text = format!(
        "#!/bin/sh\nREAL={}\nPIDS={}\n{script}\n",
        real.ffmpeg.display(),
        dir.join("pids").display()
    );
    std::fs::write(&ffmpeg, text).unwrap_or_else(|e| panic!("{e}"));
    let ffprobe = bin.join("ffprobe");
    std::fs::write(
        &ffprobe,
        format!("#!/bin/sh\nexec {} \"$@\"\n", real.ffprobe.display()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for p in [&ffmpeg, &ffprobe] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    Ffmpeg::at(ffmpeg)
}

fn pids(dir: &Path) -> Vec<u32> {
    std::fs::read_to_string(dir.join("pids"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Whether `pid` is gone for good: no process, not even a zombie waiting to be reaped.
fn reaped(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

fn wait_reaped(pids: &[u32]) {
    let t = Instant::now();
    while !pids.iter().all(|&p| reaped(p)) {
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "children {pids:?} not reaped: {:?}",
            pids.iter()
                .map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default())
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn an_ffmpeg_that_never_sends_a_frame_is_late_then_killed_restarted_and_reaped() {
    if ffmpeg().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let clip = counting_clip(&Ffmpeg::from_env(), tmp.path(), 30, 20);
    // It starts a child of its own that holds the pipes, as a wrapper script would.
    let ff = fake_ffmpeg(
        tmp.path(),
        "echo 'opening the share...' >&2\nsleep 1000 &\necho $$ $! >> \"$PIDS\"\nwait",
    );
    let mut v = Video::open(&clip, 0.0, &LoadOptions::default(), &ff).unwrap();
    let faults = v.faults().clone();
    v.frame_wait = Some(Duration::from_millis(5));
    v.start_timeout = Duration::from_millis(600);
    let mut f = Frame::new();
    let t = Instant::now();
    assert_eq!(v.read_frame(0, &mut f).unwrap(), ReadStatus::Late);
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
    // Polled like the render thread does: late every time, until the watchdog kills it and
    // starts another; after MAX_FAILURES in a row the item is an error.
    let mut max_read = Duration::ZERO;
    let err = loop {
        let r = Instant::now();
        let res = v.read_frame(0, &mut f);
        max_read = max_read.max(r.elapsed());
        match res {
            Ok(ReadStatus::Late) => std::thread::sleep(Duration::from_millis(10)),
            Ok(other) => panic!("{other:?}"),
            Err(e) => break e,
        }
        assert!(t.elapsed() < Duration::from_secs(5), "no watchdog");
    };
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(1700) && took < Duration::from_secs(4),
        "three starts of 0.6 s: {took:?}"
    );
    assert!(
        max_read < Duration::from_millis(300),
        "a read blocked {max_read:?}"
    );
    let text = err.to_string();
    assert!(text.contains("count.mkv"), "names the file: {text}");
    assert!(text.contains("opening the share"), "ffmpeg's words: {text}");
    let c = faults.snapshot();
    assert_eq!((c.stalls, c.restarts, v.spawns()), (3, 2, 3), "{c:?}");
    assert!(c.late > 10, "{c:?}");
    // Every ffmpeg and the child it started are gone, not zombies.
    let all = pids(tmp.path());
    assert_eq!(all.len(), 6, "{all:?}");
    wait_reaped(&all);
    drop(v);
}

#[test]
fn an_ffmpeg_that_stops_mid_item_is_killed_and_restarted_where_the_item_is() {
    let Some(real) = ffmpeg() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let clip = counting_clip(&real, tmp.path(), 30, 20);
    // Forwards 5 frames of 16x8 RGBA, then hangs with the pipe open.
    let ff = fake_ffmpeg(
        tmp.path(),
        "echo $$ >> \"$PIDS\"\n\"$REAL\" \"$@\" | head -c 2560\nexec sleep 1000",
    );
    let mut v = Video::open(&clip, 0.0, &LoadOptions::default(), &ff).unwrap();
    let faults = v.faults().clone();
    v.stall_timeout = Duration::from_millis(500);
    let mut f = Frame::new();
    for i in 0..5 {
        assert_eq!(v.read_frame(i, &mut f).unwrap(), ReadStatus::Frame);
        assert_eq!(red(&f), 8 * i as u8);
    }
    let first = v.ffmpeg_pid().unwrap();
    // Offline (no frame_wait): the read waits, but only for the watchdog.
    let t = Instant::now();
    assert_eq!(v.read_frame(5, &mut f).unwrap(), ReadStatus::Frame);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(red(&f), 40, "restarted at frame 5");
    let c = faults.snapshot();
    assert_eq!((c.stalls, c.restarts, v.spawns()), (1, 1, 2), "{c:?}");
    wait_reaped(&[first]);
    // Live: the same stall at frame 10 is late, never a long wait.
    v.frame_wait = Some(Duration::from_millis(5));
    for i in 6..10 {
        assert_eq!(v.read_frame(i, &mut f).unwrap(), ReadStatus::Frame);
    }
    let t = Instant::now();
    loop {
        let r = Instant::now();
        match v.read_frame(10, &mut f).unwrap() {
            ReadStatus::Frame => break,
            ReadStatus::Late => assert!(r.elapsed() < Duration::from_millis(300)),
            other => panic!("{other:?}"),
        }
        assert!(t.elapsed() < Duration::from_secs(4), "never restarted");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(red(&f), 80);
    assert_eq!(faults.snapshot().stalls, 2);
    let all = pids(tmp.path());
    drop(v);
    wait_reaped(&all);
}

#[test]
fn a_killed_ffmpeg_is_restarted_and_counted() {
    let Some(ff) = ffmpeg() else { return };
    let tmp = tempfile::tempdir().unwrap();
    // 10 s of 64x32: more than the pipe and the queue hold, so ffmpeg is still running.
    let clip = make_clip(
        &ff,
        tmp.path(),
        "long.mkv",
        "testsrc2=s=64x32:r=30:d=10",
        &["-c:v", "ffv1"],
    );
    let mut v = Video::open(&clip, 0.0, &LoadOptions::default(), &ff).unwrap();
    let faults = v.faults().clone();
    let mut f = Frame::new();
    assert_eq!(v.read_frame(0, &mut f).unwrap(), ReadStatus::Frame);
    let pid = v.ffmpeg_pid().unwrap();
    let st = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    for i in 1..60 {
        assert_eq!(
            v.read_frame(i, &mut f).unwrap(),
            ReadStatus::Frame,
            "frame {i}"
        );
    }
    let c = faults.snapshot();
    assert_eq!((c.crashes, c.restarts, v.spawns()), (1, 1, 2), "{c:?}");
    wait_reaped(&[pid]);
    let now = v.ffmpeg_pid().unwrap();
    assert!(media::video::children().contains(&now));
    drop(v);
    assert!(!media::video::children().contains(&now));
    wait_reaped(&[now]);
}

/// The first half of a 2 s, 25 fps mkv whose frame k has red = 4·k (its header still
/// announces 2 s: 50 frames; about 26 survive the cut).
fn truncated_clip(ff: &Ffmpeg, dir: &Path) -> PathBuf {
    let clip = make_clip(
        ff,
        dir,
        "full.mkv",
        "nullsrc=s=64x32:r=25:d=2,geq=r='4*N':g='mod(X*Y*N,256)':b=0",
        &["-c:v", "ffv1", "-pix_fmt", "gbrp"],
    );
    let bytes = std::fs::read(&clip).unwrap_or_else(|e| panic!("{e}"));
    let cut = dir.join("cut.mkv");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap_or_else(|e| panic!("{e}"));
    cut
}

#[test]
fn a_truncated_video_on_a_one_item_playlist_restarts_and_the_restart_is_counted() {
    let Some(ff) = ffmpeg() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cut = truncated_clip(&ff, tmp.path());
    let playlist = Playlist::single(cut.to_str().unwrap()).unwrap();
    let opts = OpenOptions::new(Canvas::plain(64, 32, 25));
    let faults = opts.faults.clone();
    let mut deck = Deck::new(&playlist, opts);
    let timings = deck.probe();
    let timeline = Timeline::new(&playlist, 25, &timings, 0);
    assert_eq!(timeline.cycle_ticks(), 50, "the header's 2 s");
    let mut reds = Vec::new();
    for tick in 0..50 {
        let ts = timeline.at(tick);
        deck.prepare(&ts);
        let f = deck.frame(ts.current.as_ref().unwrap()).unwrap();
        reds.push(f.pixel8(0, 0).unwrap()[0]);
    }
    let real = (1..50)
        .find(|&k| reds[k] == 0)
        .unwrap_or_else(|| panic!("never started again: {reds:?}"));
    assert!(
        real > 10 && real < 40,
        "restarted after {real} frames: {reds:?}"
    );
    let want: Vec<u8> = (0..50).map(|k| (4 * (k % real)) as u8).collect();
    assert_eq!(reds, want, "plays again from its first frame");
    let c = faults.snapshot();
    assert_eq!((c.early_ends, c.restarts), (1, 1), "{c:?}");
}

#[test]
fn a_fifo_as_a_still_is_refused_at_once_and_as_a_video_in_bounded_time() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("frame.png");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    let t = Instant::now();
    let Err(e) = open(&fifo) else {
        panic!("a FIFO opened")
    };
    assert!(matches!(e, MediaError::NotAFile { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("frame.png") && text.contains("FIFO"),
        "{text}"
    );
    let e = media::load_image(&fifo, &LoadOptions::default()).unwrap_err();
    assert!(matches!(e, MediaError::NotAFile { .. }), "{e:?}");
    // A sequence whose frames include the FIFO.
    let seq = tmp.path().join("seq");
    std::fs::create_dir(&seq).unwrap();
    synth::gradient(4, 4).save(seq.join("a.png")).unwrap();
    synth::gradient(4, 4).save(seq.join("b.png")).unwrap();
    let r = media::open(&MediaRef::Sequence(seq.clone()), &opts()).and_then(|mut s| {
        let mut f = Frame::new();
        s.read_frame(0, &mut f)?;
        // b.png turns into a FIFO after the folder was listed.
        std::fs::remove_file(seq.join("b.png")).unwrap();
        let st = Command::new("mkfifo")
            .arg(seq.join("b.png"))
            .status()
            .unwrap();
        assert!(st.success());
        s.read_frame(1, &mut f)
    });
    assert!(matches!(r, Err(MediaError::NotAFile { .. })), "{r:?}");
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    // Without an image extension it may be a video stream: ffmpeg gets it, bounded by
    // ffprobe's time limit when nobody writes.
    if ffmpeg().is_some() {
        let pipe = tmp.path().join("stream");
        let st = Command::new("mkfifo").arg(&pipe).status().unwrap();
        assert!(st.success());
        let t = Instant::now();
        let Err(e) = open(&pipe) else {
            panic!("a FIFO opened")
        };
        assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
        assert!(e.to_string().contains("stream"), "{e}");
    }
}

#[test]
fn media_that_appears_after_start_is_picked_up_within_the_backoff() {
    let tmp = tempfile::tempdir().unwrap();
    let text = "loop = true\n[[items]]\nsource = \"a.png\"\nduration = 1.0\n[[items]]\nsource = \"b.png\"\nduration = 1.0\n";
    let file = tmp.path().join("late.toml");
    std::fs::write(&file, text).unwrap();
    let playlist = Playlist::load(&file).unwrap();
    let opts = OpenOptions::new(Canvas::plain(16, 8, 60));
    let faults = opts.faults.clone();
    let mut deck = Deck::new(&playlist, opts);
    assert_eq!(deck.probe(), vec![None, None]);
    assert!(deck.poll_retried().is_none());
    let t = Instant::now();
    // The share comes up 1.2 s later: tries at 1 s (fails) and 3 s (opens).
    std::thread::sleep(Duration::from_millis(1200));
    for name in ["a.png", "b.png"] {
        RgbImage::from_pixel(16, 8, Rgb([200, 10, 10]))
            .save(tmp.path().join(name))
            .unwrap();
    }
    let timings = loop {
        if let Some(t) = deck.poll_retried()
            && t.iter().all(|t| t.is_some())
        {
            break t.to_vec();
        }
        assert!(t.elapsed() < Duration::from_secs(6), "never picked up");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        t.elapsed() >= Duration::from_millis(2500),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(timings, vec![Some(Timing::Still), Some(Timing::Still)]);
    let timeline = Timeline::new(&playlist, 60, &timings, 0);
    let ts = timeline.at(0);
    deck.prepare(&ts);
    let f = deck.frame(ts.current.as_ref().unwrap()).unwrap();
    assert_eq!(f.pixel8(0, 0), Some([200, 10, 10, 255]));
    let c = faults.snapshot();
    assert_eq!(c.recovered, 2, "{c:?}");
    assert!(c.failed_opens >= 4, "{c:?}");
}

#[test]
fn an_item_that_fails_while_on_screen_is_tried_again_after_its_backoff() {
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("x.png");
    RgbImage::from_pixel(8, 8, Rgb([1, 2, 3]))
        .save(&img)
        .unwrap();
    let playlist = Playlist::single(img.to_str().unwrap()).unwrap();
    let opts = OpenOptions::new(Canvas::plain(8, 8, 60));
    let faults = opts.faults.clone();
    let mut deck = Deck::new(&playlist, opts);
    let timings = deck.probe();
    let timeline = Timeline::new(&playlist, 60, &timings, 0);
    // Gone before it is first shown: nothing to show, then it comes back.
    std::fs::remove_file(&img).unwrap();
    let ts = timeline.at(0);
    deck.prepare(&ts);
    assert!(deck.frame(ts.current.as_ref().unwrap()).is_none());
    RgbImage::from_pixel(8, 8, Rgb([4, 5, 6]))
        .save(&img)
        .unwrap();
    let t = Instant::now();
    loop {
        let ts = timeline.at(1);
        deck.prepare(&ts);
        if let Some(f) = deck.frame(ts.current.as_ref().unwrap()) {
            assert_eq!(f.pixel8(0, 0), Some([4, 5, 6, 255]));
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(3), "never tried again");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        t.elapsed() >= Duration::from_millis(800),
        "backoff: {:?}",
        t.elapsed()
    );
    let c = faults.snapshot();
    assert_eq!((c.failed_opens, c.recovered), (1, 1), "{c:?}");
}

/// A 30000x30000 1-bit greyscale PNG: about 100 KB of file, 112 MB of 1-bit rows, 900 MB
/// as 8-bit grey and 3.6 GB as RGBA.
fn png_bomb(path: &Path) {
    let file =
        std::io::BufWriter::new(std::fs::File::create(path).unwrap_or_else(|e| panic!("{e}")));
    let mut enc = png::Encoder::new(file, 30000, 30000);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::One);
    enc.set_compression(png::Compression::Fast);
    let mut w = enc.write_header().unwrap_or_else(|e| panic!("{e}"));
    let mut s = w.stream_writer().unwrap_or_else(|e| panic!("{e}"));
    let row = vec![0u8; 3750];
    for _ in 0..30000 {
        std::io::Write::write_all(&mut s, &row).unwrap_or_else(|e| panic!("{e}"));
    }
    s.finish().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_png_bomb_is_refused_before_decoding_naming_the_size_and_the_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let bomb = tmp.path().join("bomb.png");
    png_bomb(&bomb);
    assert!(std::fs::metadata(&bomb).unwrap().len() < 2_000_000);
    let mut o = opts();
    // The pixel limit raised out of the way: only the memory budget stands.
    o.load.max_pixels = u64::MAX;
    o.load.max_bytes = 512 << 20;
    let t = Instant::now();
    let Err(e) = media::open(&MediaRef::File(bomb.clone()), &o) else {
        panic!("the bomb opened")
    };
    // Decoding 112 MB of rows takes far longer than reading a header.
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    match &e {
        MediaError::TooMuchMemory { bytes, limit, .. } => {
            assert!(*bytes >= 30000 * 30000 * 4, "{bytes}");
            assert_eq!(*limit, 512 << 20);
        }
        other => panic!("{other:?}"),
    }
    let text = e.to_string();
    assert!(
        text.contains("bomb.png") && text.contains("30000x30000") && text.contains("536870912"),
        "{text}"
    );
}

/// Whether `pid` is no longer running (gone, or a zombie nobody has reaped yet).
fn dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

/// Run in a process of its own (see the next test): kill_children kills every ffmpeg of the
/// process, which would disturb the other tests of this one.
#[test]
fn kill_children_in_a_process_of_its_own() {
    let Some(dir) = std::env::var_os("LEDWALL_KILL_CHILDREN_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let clip = counting_clip(&Ffmpeg::from_env(), &dir, 30, 20);
    let ff = fake_ffmpeg(&dir, "sleep 1000 &\necho $$ $! >> \"$PIDS\"\nwait");
    let mut videos: Vec<Video> = (0..2)
        .map(|_| Video::open(&clip, 0.0, &LoadOptions::default(), &ff).unwrap())
        .collect();
    let mut f = Frame::new();
    for v in &mut videos {
        v.frame_wait = Some(Duration::from_millis(1));
        assert_eq!(v.read_frame(0, &mut f).unwrap(), ReadStatus::Late);
    }
    let t = Instant::now();
    while pids(&dir).len() < 4 {
        assert!(t.elapsed() < Duration::from_secs(3));
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(media::video::kill_children(), 2);
    assert!(media::video::children().is_empty());
    let all = pids(&dir);
    while !all.iter().all(|&p| dead(p)) {
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "still running: {all:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // What a second signal does next.
    std::process::exit(0);
}

#[test]
fn kill_children_kills_every_ffmpeg_and_what_it_started_at_once() {
    if ffmpeg().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kill_children_in_a_process_of_its_own",
            "--nocapture",
        ])
        .env("LEDWALL_KILL_CHILDREN_DIR", tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let all = pids(tmp.path());
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(all.iter().all(|&p| dead(p)), "orphans left: {all:?}");
}

/// Live (frame_wait set): an item is opened on a thread of its own, so an open that hangs
/// (here ffprobe on a FIFO nobody writes, as on a hung share) never holds up the render
/// thread; the open fails after ffprobe's time limit and is counted.
#[test]
fn live_opens_never_hold_up_the_render_thread() {
    if ffmpeg().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let pipe = tmp.path().join("stream");
    assert!(
        Command::new("mkfifo")
            .arg(&pipe)
            .status()
            .unwrap()
            .success()
    );
    let still = tmp.path().join("red.png");
    RgbImage::from_pixel(8, 8, Rgb([200, 0, 0]))
        .save(&still)
        .unwrap();
    let text = format!(
        "[[items]]\nsource = \"{}\"\nduration = 1.0\n[[items]]\nsource = \"{}\"\nduration = 10.0\n",
        still.display(),
        pipe.display()
    );
    let file = tmp.path().join("live.toml");
    std::fs::write(&file, text).unwrap();
    let playlist = Playlist::load(&file).unwrap();
    let mut opts = OpenOptions::new(Canvas::plain(8, 8, 10));
    opts.frame_wait = Some(Duration::from_millis(2));
    let faults = opts.faults.clone();
    let mut deck = Deck::new(&playlist, opts);
    // Timings as if probed earlier (the probe of the FIFO would take ffprobe's limit).
    let timeline = Timeline::new(
        &playlist,
        10,
        &[Some(Timing::Still), Some(Timing::Still)],
        0,
    );
    // The still: not there on the first tick (being opened), then shown.
    let ts = timeline.at(0);
    deck.prepare(&ts);
    let t = Instant::now();
    loop {
        deck.prepare(&ts);
        if let Some(f) = deck.frame(ts.current.as_ref().unwrap()) {
            assert_eq!(f.pixel8(0, 0), Some([200, 0, 0, 255]));
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "the still never opened"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // The FIFO: every tick returns at once, the still stays on screen.
    let t = Instant::now();
    let mut slowest = Duration::ZERO;
    let ts = timeline.at(20);
    while faults.snapshot().failed_opens == 0 {
        let p = Instant::now();
        deck.prepare(&ts);
        slowest = slowest.max(p.elapsed());
        let f = deck.frame(ts.current.as_ref().unwrap()).unwrap();
        assert_eq!(f.pixel8(0, 0), Some([200, 0, 0, 255]));
        assert!(t.elapsed() < Duration::from_secs(9), "the open never ended");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        slowest < Duration::from_millis(100),
        "a tick took {slowest:?}"
    );
    assert!(t.elapsed() >= Duration::from_secs(4), "{:?}", t.elapsed());
}
