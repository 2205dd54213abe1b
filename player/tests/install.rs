//! The binary stands on its own (issue 25): installed with `cargo install` into a temporary
//! root and run from a temporary directory with a clean environment (no repository, no
//! `$HOME`), it plays the built-in demo headless into `file:` sinks, and `ledwall init`
//! writes a show folder that validates. Also: the packaged shell completions and man pages
//! are what this build generates, and the `.deb` installs every one of them.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Run `cmd` to its end; one that runs longer than `limit` is killed and fails the test.
fn run(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{cmd:?} did not end within {limit:?}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `cmd` exited with `code`; the message shows its output otherwise.
fn check(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The installed binary, run in `cwd` with nothing of the caller's environment but a
/// plain `PATH` (and `TMPDIR` when given): no `$HOME`, no `$XDG_RUNTIME_DIR`, no repository.
fn clean(bin: &Path, cwd: &Path, tmpdir: Option<&Path>) -> Command {
    let mut c = Command::new(bin);
    c.current_dir(cwd).env_clear().env("PATH", "/usr/bin:/bin");
    if let Some(t) = tmpdir {
        c.env("TMPDIR", t);
    }
    c
}

/// `cargo install --debug` of the player into `root_dir` (reusing the workspace's debug
/// build); returns the installed binary.
fn install(root_dir: &Path) -> PathBuf {
    // Integration tests see <target>/tmp; the install reuses <target>/debug.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let out = run(
        Command::new(cargo)
            .args(["install", "--debug", "--locked", "--offline", "--path"])
            .arg(root().join("player"))
            .arg("--root")
            .arg(root_dir)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS"),
        Duration::from_secs(1200),
    );
    check(&out, 0, "cargo install failed");
    let bin = root_dir.join("bin/ledwall");
    assert!(bin.is_file(), "{} not installed", bin.display());
    bin
}

/// One frame of each demo port as `ledwall render` writes it: the bytes a `file:` sink
/// frame must hold.
fn frame_bytes(bin: &Path, cwd: &Path, wall: &Path) -> u64 {
    let out_dir = cwd.join("frame");
    let out = run(
        clean(bin, cwd, None)
            .args([
                "render",
                "--backend",
                "cpu",
                "--input",
                "pattern:grid",
                "--wall",
            ])
            .arg(wall)
            .arg("--out")
            .arg(&out_dir),
        Duration::from_secs(120),
    );
    check(&out, 0, "render of the init wall");
    ["port1.bin", "port2.bin"]
        .iter()
        .map(|p| std::fs::metadata(out_dir.join(p)).unwrap().len())
        .sum()
}

/// Play the demo for a second into a `file:` sink per port (each port its own file) and
/// return, per port, its sidecar's frame count after checking the file holds exactly
/// that many whole frames of `expect_bytes[port]`.
fn play_demo(bin: &Path, cwd: &Path, tmpdir: &Path, tag: &str) -> (Output, Vec<u64>) {
    let files: Vec<PathBuf> = ["port1", "port2"]
        .iter()
        .map(|p| cwd.join(format!("{tag}-{p}.bin")))
        .collect();
    let mut cmd = clean(bin, cwd, Some(tmpdir));
    cmd.args(["play", "--backend", "cpu", "--for", "1"]);
    for (port, file) in ["port1", "port2"].iter().zip(&files) {
        cmd.arg("--sink")
            .arg(format!("{port}=file:{}", file.display()));
    }
    let out = run(&mut cmd, Duration::from_secs(120));
    check(&out, 0, "ledwall play (the built-in demo)");
    let mut frames = Vec::new();
    for file in &files {
        let mut sidecar = file.clone().into_os_string();
        sidecar.push(".json");
        let meta: Value =
            serde_json::from_str(&std::fs::read_to_string(&sidecar).unwrap()).unwrap();
        assert_eq!(meta["canvas"], serde_json::json!([128, 64]), "{meta}");
        assert_eq!(meta["refresh_hz"], 60, "{meta}");
        let n = meta["frames"].as_u64().unwrap();
        let each = meta["frame_bytes"].as_u64().unwrap();
        assert_eq!(std::fs::metadata(file).unwrap().len(), n * each, "{meta}");
        frames.push(n);
    }
    (out, frames)
}

#[test]
fn the_installed_binary_plays_the_built_in_demo_anywhere_and_init_validates() {
    let tmp = tempfile::Builder::new()
        .prefix("ledwall-install-")
        .tempdir_in(std::env::temp_dir())
        .unwrap();
    let bin = install(&tmp.path().join("root"));
    let cwd = tmp.path().join("work");
    let private_tmp = tmp.path().join("tmp");
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::create_dir_all(&private_tmp).unwrap();

    // The demo from an empty directory: one second at 60 Hz, every port.
    let (out, frames) = play_demo(&bin, &cwd, &private_tmp, "disk");
    assert_eq!(frames, [60, 60], "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("built-in demo"), "{stderr}");
    // Its private folder is gone afterwards.
    let left: Vec<_> = std::fs::read_dir(&private_tmp).unwrap().collect();
    assert!(left.is_empty(), "left behind in TMPDIR: {left:?}");

    // Nowhere to write (TMPDIR does not exist): the demo still plays, from memory.
    let (out, frames) = play_demo(&bin, &cwd, &tmp.path().join("missing"), "memory");
    assert_eq!(frames, [60, 60], "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("from memory"), "{stderr}");

    // `init` writes a show folder; its files validate, with no missing media.
    let show = cwd.join("show");
    let out = run(
        clean(&bin, &cwd, None).arg("init").arg(&show),
        Duration::from_secs(60),
    );
    check(&out, 0, "ledwall init");
    let mut tomls: Vec<PathBuf> = std::fs::read_dir(&show)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    tomls.sort();
    assert_eq!(tomls, [show.join("playlist.toml"), show.join("wall.toml")]);
    let out = run(
        clean(&bin, &cwd, None).arg("validate").args(&tomls),
        Duration::from_secs(60),
    );
    check(&out, 0, "ledwall validate DIR/*.toml");
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout).matches(": ok (").count(), 2);

    // The file sink's frames are the wall's frames: the size `render` writes for it.
    let frame = frame_bytes(&bin, &cwd, &show.join("wall.toml"));
    let sidecar: Value =
        serde_json::from_str(&std::fs::read_to_string(cwd.join("disk-port1.bin.json")).unwrap())
            .unwrap();
    let other: Value =
        serde_json::from_str(&std::fs::read_to_string(cwd.join("disk-port2.bin.json")).unwrap())
            .unwrap();
    assert_eq!(
        sidecar["frame_bytes"].as_u64().unwrap() + other["frame_bytes"].as_u64().unwrap(),
        frame
    );

    // A second init leaves the edited files alone.
    std::fs::write(show.join("wall.toml"), "edited").unwrap();
    let out = run(
        clean(&bin, &cwd, None).arg("init").arg(&show),
        Duration::from_secs(60),
    );
    check(&out, 2, "ledwall init over an existing show");
    assert!(
        text(&out.stderr).contains("--force"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(show.join("wall.toml")).unwrap(),
        "edited"
    );
}

/// `init`'s files are the fixtures: the wall and media byte for byte, the playlist with
/// its media paths moved beside it.
#[test]
fn init_writes_the_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        Command::new(env!("CARGO_BIN_EXE_ledwall"))
            .arg("init")
            .arg(dir.path()),
        Duration::from_secs(60),
    );
    check(&out, 0, "ledwall init");
    let fixtures = root().join("fixtures");
    assert_eq!(
        std::fs::read(dir.path().join("wall.toml")).unwrap(),
        std::fs::read(fixtures.join("walls/demo.toml")).unwrap()
    );
    let fixture = std::fs::read_to_string(fixtures.join("playlists/demo.toml")).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("playlist.toml")).unwrap(),
        fixture
            .replace("fixtures/walls/demo.toml", "wall.toml")
            .replace("fixtures/playlists/demo.toml", "playlist.toml")
            .replace("\"../media/", "\"media/")
    );
    let mut names: Vec<String> = std::fs::read_dir(fixtures.join("media"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut written: Vec<String> = std::fs::read_dir(dir.path().join("media"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(names, written);
    for n in &names {
        assert_eq!(
            std::fs::read(dir.path().join("media").join(n)).unwrap(),
            std::fs::read(fixtures.join("media").join(n)).unwrap(),
            "{n}"
        );
    }
}

/// The completions and man pages in `packaging/` are what this build generates (after a
/// command-line change: `ledwall completions SHELL > packaging/completions/...` and
/// `ledwall man --dir packaging/man`), and the `.deb` installs each of them.
#[test]
fn packaged_completions_and_man_pages_are_current_and_installed() {
    let bin = env!("CARGO_BIN_EXE_ledwall");
    let packaging = root().join("packaging");
    for (shell, file) in [
        ("bash", "ledwall.bash"),
        ("zsh", "_ledwall"),
        ("fish", "ledwall.fish"),
    ] {
        let out = run(
            Command::new(bin).args(["completions", shell]),
            Duration::from_secs(60),
        );
        check(&out, 0, shell);
        let script = text(&out.stdout);
        for sub in ["play", "init", "validate", "completions", "man"] {
            assert!(script.contains(sub), "{shell}: no {sub}");
        }
        assert!(
            std::fs::read_to_string(packaging.join("completions").join(file)).unwrap() == script,
            "packaging/completions/{file} is stale: run `ledwall completions {shell} > \
             packaging/completions/{file}`"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        Command::new(bin).arg("man").arg("--dir").arg(dir.path()),
        Duration::from_secs(60),
    );
    check(&out, 0, "ledwall man --dir");
    let list = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    let pages = list(dir.path());
    assert!(pages.contains(&"ledwall.1".into()) && pages.contains(&"ledwall-play.1".into()));
    assert_eq!(
        pages,
        list(&packaging.join("man")),
        "packaging/man is stale: run `ledwall man --dir packaging/man`"
    );
    for p in &pages {
        assert!(
            std::fs::read(dir.path().join(p)).unwrap()
                == std::fs::read(packaging.join("man").join(p)).unwrap(),
            "packaging/man/{p} is stale: run `ledwall man --dir packaging/man`"
        );
    }
    let out = run(Command::new(bin).arg("man"), Duration::from_secs(60));
    check(&out, 0, "ledwall man");
    assert!(
        out.stdout == std::fs::read(packaging.join("man/ledwall.1")).unwrap(),
        "`ledwall man` differs from packaging/man/ledwall.1:\n{}",
        text(&out.stdout)
    );

    // The .deb installs every page and every script, where the shells look for them.
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(root().join("player/Cargo.toml")).unwrap())
            .unwrap();
    let assets: Vec<(String, String)> = manifest["package"]["metadata"]["deb"]["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let a = a.as_array().unwrap();
            (
                a[0].as_str().unwrap().to_string(),
                a[1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let has = |src: &str, dest: &str| {
        assets
            .iter()
            .any(|(s, d)| s == &format!("../packaging/{src}") && d == dest)
    };
    for p in &pages {
        assert!(has(&format!("man/{p}"), "usr/share/man/man1/"), "{p}");
    }
    assert!(has(
        "completions/ledwall.bash",
        "usr/share/bash-completion/completions/ledwall"
    ));
    assert!(has(
        "completions/_ledwall",
        "usr/share/zsh/vendor-completions/"
    ));
    assert!(has(
        "completions/ledwall.fish",
        "usr/share/fish/vendor_completions.d/"
    ));
}
