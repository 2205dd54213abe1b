//! Show canvas and sections through the real binary (design §10): `ledwall render` of
//! `fixtures/walls/sections/show.toml` (every port on one PC) against the same input on
//! `left.toml` and `right.toml` (the show split over two PCs; the right section starts at
//! show column 67, not a multiple of 8). Every port's `PORT.bin` must be identical, byte
//! for byte, at several display ticks (temporal dither phases), for a photograph scaled up
//! with cover, a video made with ffmpeg, and the bars pattern; on the CPU backend and on
//! the GPU backend (any adapter, lavapipe included; a loud skip without one, a failure
//! under `CI`). Crossfades are covered in the render crate (`render/tests/sections.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::have_gpu;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn walls() -> PathBuf {
    root().join("fixtures/walls/sections")
}

/// `ledwall render` of `input` on `wall` into `out`; the port buffers by name.
fn render(wall: &str, input: &str, args: &[&str], out: &Path) -> BTreeMap<String, Vec<u8>> {
    let run = Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .arg("render")
        .arg("--wall")
        .arg(walls().join(wall))
        .arg("--input")
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        run.status.success(),
        "ledwall render --wall {wall} --input {input} {args:?}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut ports = BTreeMap::new();
    for e in std::fs::read_dir(out).unwrap_or_else(|e| panic!("{e}")) {
        let path = e.unwrap_or_else(|e| panic!("{e}")).path();
        if path.extension().is_some_and(|x| x == "bin") {
            let name = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            ports.insert(name, std::fs::read(&path).unwrap_or_else(|e| panic!("{e}")));
        }
    }
    ports
}

/// A 10 s clip at 25 fps whose frames differ, 200x60 (scaled down onto the 150x40 show).
fn make_clip(dir: &Path) -> Option<PathBuf> {
    let ff = ledwall_player::media::video::Ffmpeg::from_env();
    if !ff.available() {
        let msg = "ffmpeg is not installed: the video section test cannot run";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("\n*** SKIPPED: {msg} ***\n");
        return None;
    }
    let clip = dir.join("clip.mkv");
    let status = Command::new(&ff.ffmpeg)
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("nullsrc=s=200x60:r=25:d=2,geq=r='mod(3*X+7*N,256)':g='mod(X*Y,256)':b='mod(5*Y+N,256)'")
        .args(["-c:v", "ffv1", "-pix_fmt", "gbrp"])
        .arg(&clip)
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    Some(clip)
}

fn sections_match_the_whole_show(backend: &str) {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let photo = root().join("fixtures/media/photo-160x90.jpg");
    let mut inputs: Vec<(String, Vec<&str>)> = vec![
        (
            photo.display().to_string(),
            vec!["--fit", "cover", "--filter", "lanczos3"],
        ),
        ("pattern:bars".into(), vec![]),
        ("pattern:gradient".into(), vec!["--fit", "stretch"]),
    ];
    if let Some(clip) = make_clip(tmp.path()) {
        inputs.push((
            clip.display().to_string(),
            vec![
                "--at",
                "0.52",
                "--fit",
                "contain",
                "--filter",
                "catmull-rom",
            ],
        ));
    }
    let mut n = 0;
    for (input, args) in &inputs {
        for frame in ["0", "5", "22"] {
            let mut a = args.clone();
            a.extend(["--frame", frame, "--backend", backend]);
            let mut dir = |what: &str| {
                n += 1;
                tmp.path().join(format!("{n}-{what}"))
            };
            let whole = render("show.toml", input, &a, &dir("show"));
            let mut parts = render("left.toml", input, &a, &dir("left"));
            parts.extend(render("right.toml", input, &a, &dir("right")));
            assert_eq!(
                whole.keys().collect::<Vec<_>>(),
                parts.keys().collect::<Vec<_>>()
            );
            for (port, bytes) in &whole {
                let got = &parts[port];
                assert_eq!(bytes.len(), got.len(), "{input} {port}");
                let differ = bytes.iter().zip(got).filter(|(a, b)| a != b).count();
                assert!(
                    differ == 0,
                    "{backend}: {input} {args:?} tick {frame}: port {port}: {differ} of {} \
                     bytes differ between the whole show and its section",
                    bytes.len()
                );
            }
        }
    }
}

#[test]
fn sections_match_the_whole_show_cpu() {
    sections_match_the_whole_show("cpu");
}

#[test]
fn sections_match_the_whole_show_gpu() {
    if !have_gpu() {
        return;
    }
    sections_match_the_whole_show("gpu");
}

/// The bars run once across the whole show: the right section's column 0 is show column
/// 67 of 150, in the fourth bar of eight (green); its column 40 is show column 107, in the
/// sixth (red). Bars drawn for the section alone would put white and black there.
#[test]
fn bars_run_across_the_show_not_per_section() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = tmp.path().join("right");
    render("right.toml", "pattern:bars", &["--backend", "cpu"], &out);
    // r1: rgb16, big-endian, colour order BGR; its first pixel is canvas (0, 0).
    let r1 = std::fs::read(out.join("r1.bin")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(&r1[..6], &[0, 0, 255, 255, 0, 0], "{:?}", &r1[..12]);
    assert_eq!(
        &r1[240..246],
        &[0, 0, 0, 0, 255, 255],
        "{:?}",
        &r1[240..246]
    );
}
