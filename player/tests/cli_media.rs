//! `ledwall render --input` with every media kind and `--at` (design §11), through the real
//! binary.

use serde_json::Value;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn ledwall(args: Vec<OsString>) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .args(&args)
        .output()
        .unwrap_or_else(|e| panic!("run ledwall: {e}"));
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

fn render(input: impl Into<OsString>, out: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<OsString> = vec![
        "render".into(),
        "--wall".into(),
        root().join("fixtures/walls/demo.toml").into(),
        "--input".into(),
        input.into(),
        "--out".into(),
        out.into(),
    ];
    args.extend(extra.iter().map(OsString::from));
    ledwall(args)
}

fn ok(run: &Run) {
    assert_eq!(
        run.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
}

fn input_info(out: &Path) -> Value {
    let text = std::fs::read_to_string(out.join("frame.json")).unwrap_or_else(|e| panic!("{e}"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    v["input"].clone()
}

fn ports(out: &Path) -> Vec<u8> {
    let mut all = std::fs::read(out.join("port1.bin")).unwrap_or_else(|e| panic!("{e}"));
    all.extend(std::fs::read(out.join("port2.bin")).unwrap_or_else(|e| panic!("{e}")));
    all
}

#[test]
fn at_picks_the_frame_of_an_animated_gif() {
    let tmp = tempfile::tempdir().unwrap();
    let gif = root().join("fixtures/media/anim-32x16.gif");
    let mut frames = Vec::new();
    for (i, at) in ["0", "0.15", "0.1", "0.85"].iter().enumerate() {
        let out = tmp.path().join(format!("o{i}"));
        let run = render(&gif, &out, &["--at", at, "--filter", "nearest"]);
        ok(&run);
        let info = input_info(&out);
        assert_eq!(info["kind"], "animation");
        frames.push((info["source_frame"].as_u64().unwrap(), ports(&out)));
        if *at == "0.15" {
            assert!(
                run.stdout.contains("animation frame 1 at 0.15 s"),
                "{}",
                run.stdout
            );
        }
    }
    // 100 ms frames: 0.15 s and 0.1 s show the second frame; 0.85 s loops round to frame 0.
    let idx: Vec<u64> = frames.iter().map(|f| f.0).collect();
    assert_eq!(idx, [0, 1, 1, 0]);
    assert_eq!(
        frames[1].1, frames[2].1,
        "the same frame gives the same bytes"
    );
    assert_ne!(frames[0].1, frames[1].1, "another frame gives other bytes");
}

#[test]
fn patterns_render_at_canvas_size() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("solid");
    ok(&render("pattern:solid:#ff8000", &out, &[]));
    let info = input_info(&out);
    assert_eq!(info["kind"], "pattern");
    assert_eq!(info["size"], serde_json::json!([128, 64]));
    let preview = image::open(out.join("preview.png")).unwrap().to_rgb8();
    for (x, y) in [(0, 0), (127, 63), (64, 40)] {
        let p = preview.get_pixel(x, y).0;
        assert!(
            p[0] >= 250 && (120..=136).contains(&p[1]) && p[2] <= 4,
            "{x},{y}: {p:?}"
        );
    }

    // The moving line: at --at 0.5 on a 60 Hz wall it is in column 30.
    let out = tmp.path().join("line");
    ok(&render("pattern:line", &out, &["--at", "0.5"]));
    assert_eq!(input_info(&out)["source_frame"], 30);
    let preview = image::open(out.join("preview.png")).unwrap().to_rgb8();
    let lit: Vec<u32> = (0..128)
        .filter(|&x| preview.get_pixel(x, 10).0[0] > 128)
        .collect();
    assert_eq!(lit, [30]);

    for p in [
        "pattern:grid",
        "pattern:bars",
        "pattern:ramp",
        "pattern:checker",
        "pattern:gradient",
    ] {
        ok(&render(p, &tmp.path().join("p"), &[]));
    }
}

#[test]
fn an_unknown_pattern_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let run = render("pattern:plaid", &tmp.path().join("o"), &[]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("unknown pattern \"plaid\""),
        "{}",
        run.stderr
    );
}

#[test]
fn stills_in_every_format_and_sequences_render() {
    let tmp = tempfile::tempdir().unwrap();
    let img = image::DynamicImage::ImageRgb8(ledwall_player::synth::gradient(40, 20));
    for ext in ["bmp", "tiff", "webp", "gif"] {
        let path = tmp.path().join(format!("g.{ext}"));
        img.save(&path).unwrap();
        let out = tmp.path().join(format!("o-{ext}"));
        ok(&render(&path, &out, &[]));
        assert_eq!(input_info(&out)["kind"], "still", "{ext}");
    }
    let seq = tmp.path().join("seq");
    std::fs::create_dir(&seq).unwrap();
    for k in 0..4u8 {
        image::RgbImage::from_pixel(8, 8, image::Rgb([k * 60, 0, 0]))
            .save(seq.join(format!("{k}.png")))
            .unwrap();
    }
    let out = tmp.path().join("o-seq");
    ok(&render(&seq, &out, &["--fps", "2", "--at", "1.0"]));
    let info = input_info(&out);
    assert_eq!(
        (info["kind"].as_str(), info["source_frame"].as_u64()),
        (Some("image sequence"), Some(2))
    );
}

#[test]
fn at_picks_the_frame_of_a_video() {
    let ff = ledwall_player::media::video::Ffmpeg::from_env();
    if !ff.available() {
        let msg = "ffmpeg is not installed: the video render test cannot run";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("\n*** SKIPPED: {msg} ***\n");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let clip = tmp.path().join("clip.mkv");
    let status = Command::new(&ff.ffmpeg)
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("nullsrc=s=32x16:r=20:d=2,geq=r='10*N':g=0:b=0")
        .args(["-c:v", "ffv1", "-pix_fmt", "gbrp"])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(status.success());
    let out = tmp.path().join("o");
    let run = render(
        &clip,
        &out,
        &["--at", "0.5", "--fit", "stretch", "--filter", "nearest"],
    );
    ok(&run);
    let info = input_info(&out);
    assert_eq!(info["kind"], "video");
    assert_eq!(info["source_frame"], 10);
    // Frame 10 is red 100 everywhere: the preview shows one flat colour.
    let preview = image::open(out.join("preview.png")).unwrap().to_rgb8();
    let first = preview.get_pixel(0, 0).0;
    assert!(first[0] > 0 && first[1] == 0 && first[2] == 0, "{first:?}");
    assert!(preview.pixels().all(|p| p.0[0].abs_diff(first[0]) <= 2));
    // Past the end: the last frame, not an error.
    let out = tmp.path().join("late");
    ok(&render(&clip, &out, &["--at", "30"]));
    assert_eq!(input_info(&out)["source_frame"], 39);
}

/// The first half of a 2 s, 25 fps clip (its header still announces 2 s).
fn truncated_clip(dir: &Path) -> PathBuf {
    let full = dir.join("full.mkv");
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("nullsrc=s=64x32:r=25:d=2,geq=r='4*N':g='mod(X*Y*N,256)':b=0")
        .args(["-c:v", "ffv1", "-pix_fmt", "gbrp"])
        .arg(&full)
        .output()
        .unwrap_or_else(|e| panic!("ffmpeg: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&full).unwrap_or_else(|e| panic!("{e}"));
    let cut = dir.join("cut.mkv");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap_or_else(|e| panic!("{e}"));
    cut
}

fn has_ffmpeg() -> bool {
    Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `ledwall play clip` on a truncated clip: the video starts again from its first frame
/// when it runs out (one warning), instead of freezing on its last frame for good.
#[test]
fn play_restarts_a_video_that_ends_early() {
    if !has_ffmpeg() {
        eprintln!("*** SKIPPED: no ffmpeg ***");
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cut = truncated_clip(tmp.path());
    let out = Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .arg("play")
        .arg(&cut)
        .arg("--wall")
        .arg(root().join("fixtures/walls/demo.toml"))
        .args(["--for", "3", "--backend", "cpu"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let restarts: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("earlier than announced; playing it again from its start"))
        .collect();
    assert_eq!(restarts.len(), 1, "{stderr}");
    assert!(
        restarts[0].contains("WARN") && restarts[0].contains("cut.mkv"),
        "{stderr}"
    );
}

/// `ledwall play clip` whose ffmpeg is killed mid-item: a warning, and ffmpeg starts again.
#[test]
fn play_restarts_a_killed_ffmpeg_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    if !has_ffmpeg() {
        eprintln!("*** SKIPPED: no ffmpeg ***");
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clip = tmp.path().join("long.mkv");
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=s=64x32:r=30:d=10")
        .args(["-c:v", "ffv1"])
        .arg(&clip)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success());
    // ffmpeg through a wrapper that notes its pid.
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap_or_else(|e| panic!("{e}"));
    let pids = tmp.path().join("pids");
    let real = String::from_utf8_lossy(
        &Command::new("sh")
            .args(["-c", "command -v ffmpeg ffprobe"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
            .stdout,
    )
    .into_owned();
    let mut real = real.lines();
    let (ffmpeg, ffprobe) = (
        real.next().unwrap_or("ffmpeg"),
        real.next().unwrap_or("ffprobe"),
    );
    for (name, script) in [
        (
            "ffmpeg",
            format!(
                "#!/bin/sh\necho $$ >> {}\nexec {ffmpeg} \"$@\"\n",
                pids.display()
            ),
        ),
        ("ffprobe", format!("#!/bin/sh\nexec {ffprobe} \"$@\"\n")),
    ] {
        let p = bin.join(name);
        std::fs::write(&p, script).unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let child = Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .arg("play")
        .arg(&clip)
        .arg("--wall")
        .arg(root().join("fixtures/walls/demo.toml"))
        .args(["--for", "3", "--backend", "cpu"])
        .env("LEDWALL_FFMPEG", bin.join("ffmpeg"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // The first ffmpeg that plays (ffprobe runs first; the first ffmpeg may be a probe of
    // the media layer's own).
    let t = std::time::Instant::now();
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let first: Vec<u32> = std::fs::read_to_string(&pids)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    let victim = *first.last().unwrap_or_else(|| panic!("no ffmpeg started"));
    let st = Command::new("kill")
        .args(["-9", &victim.to_string()])
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(st.success());
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert!(t.elapsed() < std::time::Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("ffmpeg killed by signal 9 mid-item"))
        .unwrap_or_else(|| panic!("no warning: {stderr}"));
    assert!(line.contains("WARN") && line.contains("long.mkv"), "{line}");
    let started = std::fs::read_to_string(&pids).unwrap_or_default();
    assert!(
        started.split_whitespace().count() > first.len(),
        "ffmpeg was not started again: {started}"
    );
}
