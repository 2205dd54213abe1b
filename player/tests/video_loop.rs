//! Looping a video while playing, and starting one (issue 24). Near the end of a pass the
//! player starts a second ffmpeg at the first frame, so the loop back finds its first frame
//! decoded instead of starting ffmpeg then (which held the last frame for a few hundred
//! milliseconds). That ffmpeg loops the file itself when the pass's frames are known, so
//! later loops start no process at all; a pass that does not come round to the first frame
//! where it should (a container that miscounts) falls back to starting ffmpeg again. A
//! video that starts with the run has its decoder's queue filled before the first frame.

use ledwall_player::media::still::Pixels;
use ledwall_player::media::video::{Ffmpeg, LOOP_AHEAD, Video};
use ledwall_player::media::{Frame, LoadOptions, MediaSource, ReadStatus};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[path = "common/video.rs"]
mod common_video;
use common_video::ffmpeg;

fn make(ff: &Ffmpeg, args: &[&str]) {
    common_video::run(ff, args);
}

/// The frame's bytes as decoded.
fn bytes(f: &Frame) -> Vec<u8> {
    match &f.pixels {
        Pixels::Rgba8(d) => d.clone(),
        Pixels::Yuv(y) => y.data.clone(),
        Pixels::Rgba16(d) => d.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// Every frame of `clip` as a plain read from the start gives them (no looping), and the
/// count its container announces.
fn reference(ff: &Ffmpeg, clip: &Path) -> (Vec<Vec<u8>>, Option<u64>) {
    let mut v =
        Video::open(clip, 0.0, &LoadOptions::default(), ff).unwrap_or_else(|e| panic!("{e}"));
    let announced = v.info().timing.frames();
    let mut f = Frame::new();
    let mut frames = Vec::new();
    loop {
        match v.read_frame(frames.len() as u64, &mut f) {
            Ok(ReadStatus::Frame) => frames.push(bytes(&f)),
            Ok(ReadStatus::End { .. }) => return (frames, announced),
            other => panic!("frame {}: {other:?}", frames.len()),
        }
    }
}

/// Play `passes` passes of `clip` as the player does (the next pass from frame 0 after the
/// last frame, or after the end when it comes early), checking every frame against `want`;
/// returns the ffmpeg processes started.
fn play_passes(ff: &Ffmpeg, clip: &Path, want: &[Vec<u8>], passes: usize) -> u64 {
    let mut v =
        Video::open(clip, 0.0, &LoadOptions::default(), ff).unwrap_or_else(|e| panic!("{e}"));
    v.frame_wait = Some(Duration::from_secs(5));
    let mut f = Frame::new();
    for pass in 0..passes {
        for (i, w) in want.iter().enumerate() {
            assert_eq!(
                v.read_frame(i as u64, &mut f).ok(),
                Some(ReadStatus::Frame),
                "pass {pass}, frame {i}"
            );
            assert!(bytes(&f) == *w, "pass {pass}, frame {i}: not the frame");
        }
        if v.info().timing.frames() > Some(want.len() as u64) {
            // The deck reads on to the end the container announced.
            assert!(
                matches!(
                    v.read_frame(want.len() as u64, &mut f),
                    Ok(ReadStatus::End { .. })
                ),
                "pass {pass}: the early end"
            );
        }
    }
    v.spawns()
}

/// The container counts the frames exactly: the first ffmpeg plays the first pass to its
/// end, the one started for the loop loops the file itself, and no later loop starts one.
#[test]
fn ffmpeg_loops_the_file_itself_when_the_pass_is_known() {
    let Some(ff) = ffmpeg() else { return };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clip = dir.path().join("count.mov");
    make(
        &ff,
        &[
            "-f",
            "lavfi",
            "-i",
            "nullsrc=s=16x8:r=30:d=2,geq=r='4*N':g=0:b=0",
            "-c:v",
            "ffv1",
            "-pix_fmt",
            "gbrp",
            clip.to_str().unwrap_or_default(),
        ],
    );
    let (want, announced) = reference(&ff, &clip);
    assert_eq!((want.len(), announced), (60, Some(60)));
    assert_eq!(
        play_passes(&ff, &clip, &want, 4),
        2,
        "two ffmpeg for 4 passes"
    );
    // H.264 with B-frames in MP4 (what most files are): the same.
    let h264 = dir.path().join("bframes.mp4");
    make(
        &ff,
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=64x32:r=30:d=2",
            "-c:v",
            "libx264",
            "-bf",
            "2",
            "-g",
            "15",
            "-pix_fmt",
            "yuv420p",
            h264.to_str().unwrap_or_default(),
        ],
    );
    let (want, announced) = reference(&ff, &h264);
    assert_eq!((want.len(), announced), (60, Some(60)));
    assert_eq!(
        play_passes(&ff, &h264, &want, 4),
        2,
        "two ffmpeg for 4 passes of H.264"
    );
}

/// A trimmed clip (cut from a long-GOP file without re-encoding): its container counts the
/// frames before the cut that the edit list hides, and a looping ffmpeg's passes are not
/// the first pass's length. Every frame of every pass is still the right one: the pass that
/// does not come round to the first frame is found out, and loops start ffmpeg again.
#[test]
fn a_clip_whose_container_miscounts_still_loops_frame_exact() {
    let Some(ff) = ffmpeg() else { return };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let long = dir.path().join("long.mp4");
    let clip = dir.path().join("trimmed.mp4");
    make(
        &ff,
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=64x32:r=30:d=4",
            "-c:v",
            "libx264",
            "-g",
            "30",
            "-pix_fmt",
            "yuv420p",
            long.to_str().unwrap_or_default(),
        ],
    );
    make(
        &ff,
        &[
            "-ss",
            "0.5",
            "-i",
            long.to_str().unwrap_or_default(),
            "-c",
            "copy",
            clip.to_str().unwrap_or_default(),
        ],
    );
    let (want, announced) = reference(&ff, &clip);
    assert!(
        announced > Some(want.len() as u64),
        "the trimmed clip announces {announced:?} frames and has {}",
        want.len()
    );
    let spawns = play_passes(&ff, &clip, &want, 4);
    assert!(spawns > 2, "{spawns} ffmpeg: looping fell back to restarts");
}

#[test]
fn the_loop_back_finds_its_first_frame_decoded() {
    let Some(ff) = ffmpeg() else { return };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clip = dir.path().join("count.mkv");
    // 60 frames at 30 fps whose frame k has red = 4·k.
    let out = Command::new(&ff.ffmpeg)
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("nullsrc=s=16x8:r=30:d=2,geq=r='4*N':g=0:b=0")
        .args(["-c:v", "ffv1", "-pix_fmt", "gbrp"])
        .arg(&clip)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v =
        Video::open(&clip, 0.0, &LoadOptions::default(), &ff).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.info().timing.frames(), Some(60));
    let red = |f: &Frame| f.pixel8(3, 3).map_or(0, |p| p[0]);
    let mut f = Frame::new();
    // A pass as the player reads it, waiting as long as a frame takes.
    v.frame_wait = Some(Duration::from_secs(5));
    for i in 0..60 {
        assert_eq!(
            v.read_frame(i, &mut f).ok(),
            Some(ReadStatus::Frame),
            "frame {i}"
        );
        assert_eq!(u64::from(red(&f)), 4 * i, "frame {i}");
    }
    assert_eq!(
        v.spawns(),
        2,
        "one ffmpeg for the pass, one for the loop from frame {}",
        60 - LOOP_AHEAD
    );
    // The loop, with the player's short wait: frame 0 is there at once, and the ones after.
    std::thread::sleep(Duration::from_millis(300));
    v.frame_wait = Some(Duration::from_millis(1));
    assert_eq!(
        v.read_frame(0, &mut f).ok(),
        Some(ReadStatus::Frame),
        "the loop's frame 0"
    );
    assert_eq!(red(&f), 0);
    v.frame_wait = Some(Duration::from_secs(5));
    for i in 1..5 {
        assert_eq!(
            v.read_frame(i, &mut f).ok(),
            Some(ReadStatus::Frame),
            "frame {i}"
        );
        assert_eq!(u64::from(red(&f)), 4 * i, "frame {i}");
    }
    assert_eq!(v.spawns(), 2, "the loop started no ffmpeg");
}

/// A video that starts with the run: its ffmpeg hands over the first frame at once and the
/// rest only 400 ms later (as a 4K decoder getting going on a busy machine does). The run's
/// first frame waits until the decoder has filled its queue, so no frame is dropped; without
/// that wait the frames due in those 400 ms were skipped.
#[test]
fn a_video_starting_with_the_run_drops_none_of_its_first_frames() {
    let Some(ff) = ffmpeg() else { return };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clip = dir.path().join("clip.mp4");
    make(
        &ff,
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=64x32:r=30:d=3",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            clip.to_str().unwrap_or_default(),
        ],
    );
    // A stand-in ffmpeg: the real one, its first frame (64x32 yuv420p: 3072 bytes) passed
    // on at once, the rest after 400 ms.
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap_or_else(|e| panic!("{e}"));
    let wrapper = bin.join("ffmpeg");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n'{}' \"$@\" | {{ dd bs=3072 count=1 iflag=fullblock 2>/dev/null; sleep 0.4; cat; }}\n",
            ff.ffmpeg.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(&ff.ffprobe, bin.join("ffprobe")).unwrap_or_else(|e| panic!("{e}"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let stats = dir.path().join("stats.json");
    let out = Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .arg("play")
        .arg(&clip)
        .arg("--wall")
        .arg(root.join("fixtures/walls/tiny.toml"))
        .args(["--for", "2"])
        .arg("--stats")
        .arg(&stats)
        .env("LEDWALL_FFMPEG", &wrapper)
        .env_remove("LEDWALL_VIDEO_PIXELS")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let text = std::fs::read_to_string(&stats).unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let (shown, skipped) = (
        v["media"]["video_shown"].as_u64(),
        v["media"]["video_skipped"].as_u64(),
    );
    assert_eq!(skipped, Some(0), "{text}");
    assert!(shown >= Some(55), "{text}");
}
