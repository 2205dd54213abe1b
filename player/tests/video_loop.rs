//! Looping a video while playing (issue 24): near the end of a pass the player starts a
//! second ffmpeg at the first frame, so the loop back finds its first frame decoded instead
//! of starting ffmpeg then (which held the last frame for a few hundred milliseconds).

use ledwall_player::media::video::{Ffmpeg, LOOP_AHEAD, Video};
use ledwall_player::media::{Frame, LoadOptions, MediaSource, ReadStatus};
use std::process::Command;
use std::time::Duration;

#[test]
fn the_loop_back_finds_its_first_frame_decoded() {
    let ff = Ffmpeg::from_env();
    if !ff.available() {
        assert!(std::env::var_os("CI").is_none(), "ffmpeg is not installed");
        eprintln!("\n*** SKIPPED: ffmpeg is not installed ***\n");
        return;
    }
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
