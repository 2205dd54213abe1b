//! Video as Y'CbCr (issue 24): a 4:2:0 stream reaches the render core as the decoder's own
//! planes, with the matrix and range its tags say; other streams come as RGBA. The
//! conversion itself is held to an f64 reference in `render/tests/yuv.rs`; here: the planes
//! are exactly ffmpeg's, the metadata is read, 10 bits stay 10 bits, and through the real
//! `ledwall render` the picture matches ffmpeg's own RGBA conversion on flat colours (a wrong
//! matrix or range would be tens of codes off).

use ledwall_player::media::video::{Decode, Ffmpeg, Video};
use ledwall_player::media::{Frame, LoadOptions, MediaSource, Pixels, ReadStatus};
use ledwall_render::yuv::{YuvLayout, YuvMatrix, YuvRange};
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "common/video.rs"]
mod common_video;
use common_video::{ffmpeg, run};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Frame `index` of `clip` through the media layer.
fn frame(clip: &Path, ff: &Ffmpeg, index: u64) -> Frame {
    let mut v =
        Video::open(clip, 0.0, &LoadOptions::default(), ff).unwrap_or_else(|e| panic!("{e}"));
    let mut f = Frame::new();
    let got = v
        .read_frame(index, &mut f)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got, ReadStatus::Frame);
    f
}

/// Frames `0..n` of `clip` as ffmpeg writes them with `-pix_fmt pix_fmt`.
fn raw_frames(ff: &Ffmpeg, clip: &Path, pix_fmt: &str) -> Vec<u8> {
    let clip = clip.to_string_lossy();
    run(
        ff,
        &[
            "-i", &clip, "-an", "-pix_fmt", pix_fmt, "-f", "rawvideo", "pipe:1",
        ],
    )
}

#[test]
fn the_matrix_and_range_follow_the_tags_and_the_size() {
    let yuv = |layout, matrix, range| Decode::Yuv {
        layout,
        matrix,
        range,
    };
    use YuvLayout::{Yuv420p, Yuv420p10};
    use YuvMatrix::{Bt601, Bt709, Bt2020};
    use YuvRange::{Full, Limited};
    let cases = [
        (
            ("yuv420p", "bt709", "tv", 360),
            yuv(Yuv420p, Bt709, Limited),
        ),
        (
            ("yuv420p", "smpte170m", "", 1080),
            yuv(Yuv420p, Bt601, Limited),
        ),
        (
            ("yuv420p", "bt470bg", "pc", 1080),
            yuv(Yuv420p, Bt601, Full),
        ),
        (("yuvj420p", "", "", 480), yuv(Yuv420p, Bt601, Full)),
        (("yuv420p", "", "", 720), yuv(Yuv420p, Bt709, Limited)),
        (
            ("yuv420p", "unknown", "unknown", 576),
            yuv(Yuv420p, Bt601, Limited),
        ),
        (("nv12", "bt709", "tv", 2160), yuv(Yuv420p, Bt709, Limited)),
        (
            ("yuv420p10le", "bt2020nc", "tv", 2160),
            yuv(Yuv420p10, Bt2020, Limited),
        ),
        (
            ("p010le", "bt2020c", "pc", 2160),
            yuv(Yuv420p10, Bt2020, Full),
        ),
        (("yuv422p", "bt709", "tv", 1080), Decode::Rgba),
        (("yuv444p", "bt709", "tv", 1080), Decode::Rgba),
        (("yuva420p", "bt709", "tv", 1080), Decode::Rgba),
        (("gbrp", "gbr", "pc", 1080), Decode::Rgba),
        (("", "", "", 1080), Decode::Rgba),
    ];
    for ((fmt, space, range, h), want) in cases {
        assert_eq!(
            Decode::choose(fmt, space, range, h),
            want,
            "{fmt} {space} {range} {h}"
        );
    }
    assert_eq!(yuv(Yuv420p, Bt709, Limited).pix_fmt(), "yuv420p");
    assert_eq!(yuv(Yuv420p10, Bt709, Limited).pix_fmt(), "yuv420p10le");
    assert_eq!(Decode::Rgba.pix_fmt(), "rgba");
    // 5x3: Y 15, Cb and Cr 3x2 each.
    assert_eq!(yuv(Yuv420p, Bt709, Limited).frame_bytes(5, 3), 15 + 12);
    assert_eq!(yuv(Yuv420p10, Bt709, Limited).frame_bytes(5, 3), 2 * 27);
    assert_eq!(Decode::Rgba.frame_bytes(5, 3), 60);
}

/// An 8-bit H.264 clip tagged BT.709 limited: every frame read is ffmpeg's own yuv420p
/// frame, byte for byte (also after a seek back), with the tags' matrix and range.
#[test]
fn an_eight_bit_stream_arrives_as_its_planes() {
    let Some(ff) = ffmpeg() else { return };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clip = dir.path().join("bars.mp4");
    let out = clip.to_string_lossy().to_string();
    run(
        &ff,
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=58x34:r=25:d=1",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-color_primaries",
            "bt709",
            "-color_trc",
            "bt709",
            "-colorspace",
            "bt709",
            "-color_range",
            "tv",
            &out,
        ],
    );
    let raw = raw_frames(&ff, &clip, "yuv420p");
    let bytes = 58 * 34 + 2 * 29 * 17;
    assert_eq!(raw.len() % bytes, 0);
    let mut v =
        Video::open(&clip, 0.0, &LoadOptions::default(), &ff).unwrap_or_else(|e| panic!("{e}"));
    let mut f = Frame::new();
    for index in [0u64, 1, 2, 10, 24, 3] {
        assert_eq!(v.read_frame(index, &mut f).ok(), Some(ReadStatus::Frame));
        let Pixels::Yuv(y) = &f.pixels else {
            panic!("frame {index} is not Y'CbCr: {:?}", f.pixels.bits());
        };
        assert_eq!(
            (y.layout, y.matrix, y.range),
            (YuvLayout::Yuv420p, YuvMatrix::Bt709, YuvRange::Limited)
        );
        let i = index as usize;
        assert!(
            y.data == raw[i * bytes..(i + 1) * bytes],
            "frame {index}: not ffmpeg's planes"
        );
        assert!(
            f.source().check().is_ok(),
            "frame {index}: {:?}",
            f.source().check()
        );
    }
}

/// A 10-bit stream (lossless, tagged BT.2020 full range) whose luma is a ramp of 600
/// distinct 10-bit codes arrives as 10-bit planes holding all of them (an 8-bit path would
/// keep at most 256), equal to ffmpeg's `yuv420p10le`.
#[test]
fn a_ten_bit_stream_keeps_its_depth() {
    let Some(ff) = ffmpeg() else { return };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (w, h) = (600usize, 4usize);
    let mut frame = Vec::new();
    for _ in 0..h {
        for x in 0..w {
            frame.extend_from_slice(&(200 + x as u16).to_le_bytes());
        }
    }
    let chroma = (w / 2) * (h / 2) * 2;
    for _ in 0..chroma {
        frame.extend_from_slice(&512u16.to_le_bytes());
    }
    let raw_in = dir.path().join("ramp.yuv");
    std::fs::write(&raw_in, frame.repeat(3)).unwrap_or_else(|e| panic!("{e}"));
    let clip = dir.path().join("ramp.mkv");
    let size = format!("{w}x{h}");
    run(
        &ff,
        &[
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p10le",
            "-s",
            &size,
            "-r",
            "25",
            "-i",
            &raw_in.to_string_lossy(),
            "-c:v",
            "ffv1",
            "-colorspace",
            "bt2020nc",
            "-color_range",
            "pc",
            &clip.to_string_lossy(),
        ],
    );
    let f = frame_of(&clip, &ff);
    let Pixels::Yuv(y) = &f.pixels else {
        panic!("not Y'CbCr");
    };
    assert_eq!(
        (y.layout, y.matrix, y.range),
        (YuvLayout::Yuv420p10, YuvMatrix::Bt2020, YuvRange::Full)
    );
    assert_eq!(y.data, frame, "not the 10-bit planes");
    let luma: std::collections::BTreeSet<u16> = y.data[..w * h * 2]
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert_eq!(luma.len(), 600);
    assert_eq!(f.pixels.bits(), 10);
}

fn frame_of(clip: &Path, ff: &Ffmpeg) -> Frame {
    frame(clip, ff, 0)
}

/// 4:4:4 and alpha streams come as RGBA, as before.
#[test]
fn other_streams_come_as_rgba() {
    let Some(ff) = ffmpeg() else { return };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (name, fmt) in [("full.mkv", "yuv444p"), ("alpha.mkv", "yuva420p")] {
        let clip = dir.path().join(name);
        run(
            &ff,
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=s=32x16:r=25:d=0.2",
                "-c:v",
                "ffv1",
                "-pix_fmt",
                fmt,
                &clip.to_string_lossy(),
            ],
        );
        let f = frame_of(&clip, &ff);
        assert!(
            matches!(f.pixels, Pixels::Rgba8(_)),
            "{fmt}: {:?}",
            f.pixels.bits()
        );
    }
}

/// Through the real binary: `ledwall render` of SMPTE bars (H.264, BT.709 limited) through
/// the Y'CbCr path against the same frame through ffmpeg's RGBA (`LEDWALL_VIDEO_PIXELS=rgba`)
/// on a linear 8-bit wall: inside each bar (away from its edges, where the two chroma
/// upsamplings differ) within 3 codes (ours is within one of the exact conversion; swscale's
/// integer path without `accurate_rnd` is a code or two off it). BT.601 instead of BT.709
/// puts the bars tens of codes off.
#[test]
fn the_rendered_picture_matches_ffmpegs_rgba_on_flat_colours() {
    let Some(ff) = ffmpeg() else { return };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clip = dir.path().join("bars.mp4");
    run(
        &ff,
        &[
            "-f",
            "lavfi",
            "-i",
            "smptehdbars=s=128x72:r=25:d=0.4",
            "-c:v",
            "libx264",
            "-crf",
            "0",
            "-pix_fmt",
            "yuv420p",
            "-colorspace",
            "bt709",
            "-color_primaries",
            "bt709",
            "-color_trc",
            "bt709",
            "-color_range",
            "tv",
            &clip.to_string_lossy(),
        ],
    );
    let wall = dir.path().join("wall.toml");
    std::fs::write(
        &wall,
        r#"
name = "flat"
refresh_hz = 25
[canvas]
width = 128
height = 72
[color]
transfer = "linear"
bit_depth = 8
dither = "none"
[module_types.m]
size = [128, 72]
[[outputs]]
name = "p"
format = "rgb8"
modules = [{ type = "m", at = [0, 0] }]
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let render = |rgba: bool, out: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ledwall"));
        cmd.arg("render")
            .arg("--wall")
            .arg(&wall)
            .arg("--input")
            .arg(&clip)
            .args(["--fit", "stretch", "--filter", "nearest", "--out"])
            .arg(dir.path().join(out))
            .env_remove("LEDWALL_VIDEO_PIXELS");
        if rgba {
            cmd.env("LEDWALL_VIDEO_PIXELS", "rgba");
        }
        let o = cmd.output().unwrap_or_else(|e| panic!("{e}"));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(dir.path().join(out).join("p.bin")).unwrap_or_else(|e| panic!("{e}"))
    };
    let (yuv, rgba) = (render(false, "yuv"), render(true, "rgba"));
    assert_eq!(yuv.len(), 128 * 72 * 3);
    assert_eq!(yuv.len(), rgba.len());
    // Pixels whose 5x5 neighbourhood is one colour in ffmpeg's picture.
    let at = |x: usize, y: usize| &rgba[(y * 128 + x) * 3..][..3];
    let (mut flat, mut worst) = (0, 0u8);
    for y in 2..70 {
        for x in 2..126 {
            let c = at(x, y);
            if (y - 2..=y + 2).all(|j| (x - 2..=x + 2).all(|i| at(i, j) == c)) {
                flat += 1;
                let i = (y * 128 + x) * 3;
                for k in 0..3 {
                    worst = worst.max(yuv[i + k].abs_diff(rgba[i + k]));
                }
            }
        }
    }
    assert!(flat > 3000, "only {flat} flat pixels");
    assert!(
        worst <= 3,
        "the Y'CbCr path is {worst} codes off ffmpeg's RGBA on flat colour"
    );
    let _ = root();
}
