//! `ledwall preview` as a user runs it: the real binary, its exit codes, its output files
//! and what it prints (no progress bar when stderr is not a terminal).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn ledwall(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .args(args)
        .env("NODEVICE_SELECT", "1")
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn writes_a_gif_prints_a_summary_and_warnings_without_a_progress_bar() {
    let dir = tempfile::tempdir().unwrap();
    let playlist = dir.path().join("p.toml");
    std::fs::write(
        &playlist,
        "[[items]]\nsource = \"pattern:bars\"\nduration = 1.0\n\
         [[items]]\nsource = \"nope.png\"\nduration = 1.0\n",
    )
    .unwrap();
    let out = dir.path().join("sub/dir/p.gif");
    let wall = fixtures().join("walls/tiny.toml");
    let o = ledwall(&[
        "preview",
        playlist.to_str().unwrap(),
        "--wall",
        wall.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
    ]);
    let (so, se) = (text(&o.stdout), text(&o.stderr));
    assert!(o.status.success(), "{so}\n{se}");
    assert!(so.contains("10 frames of 256x128 at 10 fps"), "{so}");
    assert!(so.contains("1 warning"), "{so}");
    assert!(se.contains("warning: item 2 (nope.png): missing"), "{se}");
    // stderr is a pipe: indicatif draws nothing.
    assert!(
        !se.contains("ETA") && !se.contains('\r') && !se.contains('\u{1b}'),
        "{se:?}"
    );
    let img = image::open(&out).unwrap();
    assert_eq!((img.width(), img.height()), (256, 128));

    // --quiet: nothing at all.
    let o = ledwall(&[
        "preview",
        playlist.to_str().unwrap(),
        "--wall",
        wall.to_str().unwrap(),
        "--out",
        dir.path().join("q.png").to_str().unwrap(),
        "--backend",
        "cpu",
        "--quiet",
    ]);
    assert!(o.status.success());
    assert!(
        o.stdout.is_empty() && o.stderr.is_empty(),
        "{}",
        text(&o.stderr)
    );
    assert!(dir.path().join("q.png").is_file());
}

#[test]
fn bad_requests_are_usage_errors_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let wall = fixtures().join("walls/tiny.toml");
    let w = wall.to_str().unwrap();
    let out = |name: &str| dir.path().join(name).display().to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![out("x.jpg")], "the extension picks the output"),
        (
            vec![out("x.gif"), "--fps".into(), "60".into()],
            "--fps 50 or less",
        ),
        (
            vec![
                out("x.png"),
                "--led-look".into(),
                "--scale".into(),
                "2".into(),
            ],
            "--led-look needs --scale 3",
        ),
        (
            vec![out("x.gif"), "--contact-sheet".into()],
            "--contact-sheet writes a PNG",
        ),
        (
            vec![out("x.html"), "--fps".into(), "5".into()],
            "--fps applies to animations",
        ),
        (
            vec![
                out("x.gif"),
                "--from".into(),
                "2".into(),
                "--to".into(),
                "1".into(),
            ],
            "must be later",
        ),
        (
            vec![out("x.gif"), "--schedule".into(), "0".into()],
            "[[schedule]] entries",
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["preview", "pattern:bars", "--wall", w, "--out"];
        args.extend(extra.iter().map(String::as_str));
        let o = ledwall(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(want),
            "{args:?}: {}",
            text(&o.stderr)
        );
    }
    // A wall that does not exist is a configuration error too.
    let o = ledwall(&[
        "preview",
        "pattern:bars",
        "--wall",
        "no-wall.toml",
        "--out",
        &out("a.gif"),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn help_lists_preview_and_its_options() {
    let o = ledwall(&["--help"]);
    assert!(text(&o.stdout).contains("preview"));
    let o = ledwall(&["preview", "--help"]);
    assert!(o.status.success());
    let help = text(&o.stdout);
    for flag in [
        "--fps",
        "--scale",
        "--from",
        "--to",
        "--contact-sheet",
        "--led-look",
        "--quiet",
    ] {
        assert!(help.contains(flag), "{flag}");
    }
}
