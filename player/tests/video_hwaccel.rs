//! Hardware decoding (`--hwaccel`, issue 24): which method and device ffmpeg is asked to
//! use on a machine, and the fall back to software, with one log line, where there is none
//! or where decoding with it fails. The test machines have no GPU: the device choice is
//! checked against made-up `/dev` folders, and the failure path with a device that does
//! not exist.

use ledwall_player::media::video::{Ffmpeg, HwDecode, Hwaccel, Video};
use ledwall_player::media::{Frame, LoadOptions, MediaSource, ReadStatus};
use std::path::Path;
use std::process::Command;

#[path = "common/video.rs"]
mod common_video;
use common_video::{ffmpeg, no_gpu_device, run};

fn methods(m: &[&str]) -> Vec<String> {
    m.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_method_and_device_follow_the_machine() {
    let dev = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let all = methods(&["vdpau", "cuda", "vaapi", "qsv", "drm"]);
    // Nothing: software, saying why.
    let why = Hwaccel::Auto.choose(dev.path(), &all).unwrap_err();
    assert!(why.contains("nvidia0") && why.contains("renderD"), "{why}");
    assert!(Hwaccel::Vaapi.choose(dev.path(), &all).is_err());
    assert!(Hwaccel::Off.choose(dev.path(), &all).is_err());
    // A render node: VAAPI on the first one.
    std::fs::create_dir(dev.path().join("dri")).unwrap_or_else(|e| panic!("{e}"));
    for n in ["card0", "renderD129", "renderD128"] {
        std::fs::write(dev.path().join("dri").join(n), "").unwrap_or_else(|e| panic!("{e}"));
    }
    let node = dev.path().join("dri/renderD128").display().to_string();
    let vaapi = HwDecode {
        method: "vaapi",
        device: Some(node),
    };
    assert_eq!(Hwaccel::Auto.choose(dev.path(), &all), Ok(vaapi.clone()));
    assert_eq!(Hwaccel::Vaapi.choose(dev.path(), &all), Ok(vaapi));
    // An ffmpeg built without it: software.
    let why = Hwaccel::Vaapi
        .choose(dev.path(), &methods(&["cuda"]))
        .unwrap_err();
    assert!(why.contains("no vaapi"), "{why}");
    // NVIDIA too: auto prefers NVDEC.
    std::fs::write(dev.path().join("nvidia0"), "").unwrap_or_else(|e| panic!("{e}"));
    let cuda = HwDecode {
        method: "cuda",
        device: None,
    };
    assert_eq!(Hwaccel::Auto.choose(dev.path(), &all), Ok(cuda.clone()));
    assert_eq!(Hwaccel::Cuda.choose(dev.path(), &all), Ok(cuda));
    assert_eq!(
        Hwaccel::Qsv.choose(dev.path(), &all).map(|d| d.method),
        Ok("qsv")
    );
    for (name, hw) in [
        ("auto", Hwaccel::Auto),
        ("off", Hwaccel::Off),
        ("vaapi", Hwaccel::Vaapi),
        ("cuda", Hwaccel::Cuda),
        ("qsv", Hwaccel::Qsv),
    ] {
        assert_eq!(Hwaccel::from_name(name), Some(hw));
        assert_eq!(hw.name(), name);
    }
    assert_eq!(Hwaccel::from_name("gpu"), None);
}

fn clip(ff: &Ffmpeg, dir: &Path) -> std::path::PathBuf {
    let clip = dir.join("count.mp4");
    let path = clip.to_str().unwrap_or_default();
    run(
        ff,
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=64x32:r=25:d=1",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            path,
        ],
    );
    clip
}

/// ffmpeg asked for a VAAPI device that does not open: the video decodes in software
/// (the same frames as without hardware decoding), with one ffmpeg more.
#[test]
fn a_hardware_decoder_that_fails_falls_back_to_software() {
    let Some(ff) = ffmpeg() else { return };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clip = clip(&ff, dir.path());
    let open =
        || Video::open(&clip, 0.0, &LoadOptions::default(), &ff).unwrap_or_else(|e| panic!("{e}"));
    let mut soft = open();
    let mut hard = open();
    hard.set_hw_decode(Some(HwDecode {
        method: "vaapi",
        device: Some(dir.path().join("renderD999").display().to_string()),
    }));
    let (mut a, mut b) = (Frame::new(), Frame::new());
    for i in [0u64, 1, 12] {
        assert_eq!(soft.read_frame(i, &mut a).ok(), Some(ReadStatus::Frame));
        assert_eq!(
            hard.read_frame(i, &mut b).ok(),
            Some(ReadStatus::Frame),
            "frame {i}"
        );
        assert!(
            a.pixels == b.pixels,
            "frame {i}: not the software decoder's picture"
        );
    }
    assert_eq!(
        hard.hw_decode(),
        None,
        "still asking for the device that failed"
    );
    assert_eq!((soft.spawns(), hard.spawns()), (1, 2));
}

/// `--hwaccel auto` on a machine without a device (these test machines): `play` plays and
/// the log says once that video decodes in software.
#[test]
fn auto_without_a_device_says_so_once() {
    let Some(ff) = ffmpeg() else { return };
    if !no_gpu_device() {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clip = clip(&ff, dir.path());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .arg("play")
        .arg(&clip)
        .arg("--wall")
        .arg(root.join("fixtures/walls/tiny.toml"))
        .args(["--for", "0.5", "--hwaccel", "auto"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        err.matches("decoding video in software").count(),
        1,
        "{err}"
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .args([
            "render",
            "--hwaccel",
            "gpu",
            "--wall",
            "x",
            "--input",
            "y",
            "--out",
            "z",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("auto, off, vaapi, cuda or qsv"));
}

/// `hwaccel` in a playlist file: the playlist's value is its items' default, an item's own
/// wins over it, `--hwaccel` wins over both; a name that is not a decoder is a validation
/// problem naming the field. `bench --hwaccel` says how the video was decoded.
#[test]
fn the_playlist_sets_it_an_item_overrides_it_and_the_flag_wins() {
    let Some(ff) = ffmpeg() else { return };
    if !no_gpu_device() {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let clip = clip(&ff, dir.path());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let wall = root.join("fixtures/walls/tiny.toml");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
        p
    };
    let source = clip.display().to_string();
    let playlist_auto = write(
        "auto.toml",
        &format!("hwaccel = \"auto\"\n[[items]]\nsource = \"{source}\"\n"),
    );
    let item_off = write(
        "item-off.toml",
        &format!("hwaccel = \"auto\"\n[[items]]\nsource = \"{source}\"\nhwaccel = \"off\"\n"),
    );
    let item_auto = write(
        "item-auto.toml",
        &format!("[[items]]\nsource = \"{source}\"\nhwaccel = \"auto\"\n"),
    );
    // How many times `play` says that video decodes in software.
    let said = |playlist: &Path, extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_ledwall"))
            .arg("play")
            .arg(playlist)
            .arg("--wall")
            .arg(&wall)
            .args(["--for", "0.5"])
            .args(extra)
            .env_remove("RUST_LOG")
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        err.matches("decoding video in software").count()
    };
    assert_eq!(said(&playlist_auto, &[]), 1, "the playlist's hwaccel");
    assert_eq!(said(&item_auto, &[]), 1, "the item's hwaccel");
    assert_eq!(said(&item_off, &[]), 0, "the item's off wins");
    assert_eq!(
        said(&playlist_auto, &["--hwaccel", "off"]),
        0,
        "the flag wins"
    );
    assert_eq!(said(&item_off, &["--hwaccel", "auto"]), 1, "the flag wins");

    let bad = write(
        "bad.toml",
        &format!("hwaccel = \"gpu\"\n[[items]]\nsource = \"{source}\"\nhwaccel = \"nvenc\"\n"),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .arg("validate")
        .arg(&bad)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    for want in [
        "hwaccel: \"gpu\" is not a hardware decoder",
        "items[0].hwaccel: \"nvenc\" is not a hardware decoder",
    ] {
        assert!(text.contains(want), "{want:?} in {text}");
    }

    let out = Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .arg("bench")
        .arg("--wall")
        .arg(&wall)
        .arg("--input")
        .arg(&clip)
        .args(["--frames", "5", "--warmup", "1", "-q", "--hwaccel", "auto"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("video decoded in software"), "{text}");
}
