//! The HTML report: self-contained (inline images and CSS, no script, no external
//! request), every item with its source as written, the findings with percentages, the
//! schedule; and opened in headless Chromium: no console errors, every item in the DOM.

use clap::Parser;
use ledwall_player::cli::{Cli, Command};
use ledwall_player::commands::preview;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// The sources of the show below, as written.
struct Show {
    dir: tempfile::TempDir,
    file: PathBuf,
    sources: Vec<String>,
}

fn show() -> Show {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let media = fixtures().join("media");
    std::fs::write(
        dir.path().join("broken.png"),
        b"\x89PNG\r\n\x1a\nnot really",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let sources = vec![
        "pattern:bars".to_string(),
        media.join("photo-160x90.jpg").display().to_string(),
        media.join("anim-32x16.gif").display().to_string(),
        "missing <file>.png".to_string(),
        "broken.png".to_string(),
        "pattern:checker:4".to_string(),
    ];
    let text = format!(
        r#"
name = "Lobby & friends"
[[items]]
source = "{}"
duration = 1.0
[[items]]
source = "{}"
duration = 1.0
fit = "contain"
[[items]]
source = "{}"
loops = 1
transition = {{ kind = "crossfade", duration = 1.5 }}
[[items]]
source = "{}"
[[items]]
source = "{}"
[[items]]
source = "{}"
duration = 0.5

[[schedule]]
playlist = "evening.toml"
days = ["sat", "sun"]
from = "18:00"
to = "23:30"
priority = 5
"#,
        sources[0], sources[1], sources[2], sources[3], sources[4], sources[5]
    );
    std::fs::write(
        dir.path().join("evening.toml"),
        "[[items]]\nsource = \"pattern:gradient\"\nduration = 2.0\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("lobby.toml");
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
    Show { dir, file, sources }
}

fn report(show: &Show) -> (PathBuf, String, String) {
    let out = show.dir.path().join("report.html");
    let wall = fixtures().join("walls/demo.toml");
    let cli = Cli::try_parse_from([
        "ledwall",
        "preview",
        show.file.to_str().unwrap_or_default(),
        "--wall",
        wall.to_str().unwrap_or_default(),
        "--out",
        out.to_str().unwrap_or_default(),
        "--backend",
        "cpu",
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    let Command::Preview(a) = cli.command else {
        panic!("not preview")
    };
    let (mut so, mut se) = (Vec::new(), Vec::new());
    preview::run(&a, &mut so, &mut se).unwrap_or_else(|e| panic!("{e:#}"));
    let html = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("{e}"));
    (out, html, String::from_utf8_lossy(&se).into_owned())
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[test]
fn report_is_self_contained_and_lists_items_schedule_and_findings() {
    let show = show();
    let (_, html, warnings) = report(&show);
    assert!(html.starts_with("<!DOCTYPE html>"));
    // Self-contained: no script, nothing loaded from elsewhere, the sheet inline.
    assert!(!html.contains("<script"), "no JS");
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains("<link"));
    assert!(!html.contains("url("));
    assert_eq!(html.matches("src=\"").count(), 1);
    assert!(html.contains("src=\"data:image/png;base64,"));
    assert!(html.contains("<style>"));
    // The name is escaped.
    assert!(html.contains("Lobby &amp; friends"));
    // Every item with its source as written (escaped), in the table.
    for s in &show.sources {
        assert!(html.contains(&format!("<code>{}</code>", esc(s))), "{s}");
    }
    // The scheduled playlist's items and the schedule.
    assert!(html.contains("<code>pattern:gradient</code>"));
    assert!(html.contains("<code>evening.toml</code>"));
    assert!(html.contains("sat, sun") && html.contains("18:00") && html.contains("23:30"));
    // Findings, with percentages.
    for needle in [
        "letterboxed by fit \"contain\": 10.9% of the canvas",
        "missing: ",
        "broken: ",
        "shorter than its transition: the crossfade of 1.5 s is cut to the item's 0.8 s",
        "low resolution: 32x16 is 25% x 25% of the canvas",
    ] {
        assert!(html.contains(&esc(needle)), "{needle}");
        assert!(
            warnings.contains(needle),
            "stderr lacks {needle}: {warnings}"
        );
    }
    // The inlined sheet decodes.
    let start = html.find("base64,").unwrap_or(0) + "base64,".len();
    let end = start + html[start..].find('"').unwrap_or(0);
    let png = decode_base64(&html[start..end]);
    let img = image::load_from_memory(&png).unwrap_or_else(|e| panic!("{e}"));
    assert!(img.width() > 0 && img.height() > 0);
}

fn decode_base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("bad base64 {c}"),
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::new();
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= (val(c) as u32) << (18 - 6 * i);
        }
        let k = chunk.len() - 1;
        for i in 0..k {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

/// A line of Chromium's log that reports a console message or an uncaught exception
/// (`INFO:CONSOLE:1] "Uncaught ReferenceError: ..."`, `ERROR:CONSOLE(3)] ...`). The report
/// has no script, so there must be none.
fn is_console_message(line: &str) -> bool {
    line.contains("Uncaught") || line.contains(":CONSOLE")
}

/// The headless browser, if any.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Run the browser with `args` on `url`; stdout and stderr. Bounded: killed after 120 s.
fn browse(browser: &Path, profile: &Path, args: &[String], url: &str) -> (String, String) {
    let mut child = Process::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let mut so = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut se = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > Duration::from_secs(120) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} did not finish in 120 s", browser.display());
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("{e}"),
        }
    }
    (
        t_out.join().unwrap_or_default(),
        t_err.join().unwrap_or_default(),
    )
}

#[test]
fn report_opens_in_headless_chromium_without_errors_and_shows_every_item() {
    let Some(browser) = chromium() else {
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             SKIPPED: the HTML report browser test needs headless Chromium\n\
             (apt-get install -y chromium); it was not found on PATH.\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is required under CI (apt-get install -y chromium)"
        );
        return;
    };
    let show = show();
    let (out, _, _) = report(&show);
    let url = format!("file://{}", out.display());
    let profile = tempfile::tempdir().unwrap();

    // A screenshot: the page renders.
    let shot = show.dir.path().join("shot.png");
    let (_, log) = browse(
        &browser,
        profile.path(),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000".to_string(),
        ],
        &url,
    );
    let console: Vec<&str> = log.lines().filter(|l| is_console_message(l)).collect();
    assert!(console.is_empty(), "console errors: {console:#?}");
    let img = image::open(&shot).unwrap_or_else(|e| panic!("no screenshot ({e}); log:\n{log}"));
    assert_eq!((img.width(), img.height()), (1280, 2000));
    // Not a blank page: the dark background and lighter text and images.
    let rgb = img.to_rgb8();
    let distinct: std::collections::HashSet<[u8; 3]> = rgb.pixels().map(|p| p.0).collect();
    assert!(distinct.len() > 50, "{} colours", distinct.len());

    // The rendered DOM has every item's source, and the contact sheet image loaded inline.
    let (dom, log) = browse(&browser, profile.path(), &["--dump-dom".to_string()], &url);
    assert!(dom.contains("contact sheet"), "no DOM dumped; log:\n{log}");
    for s in &show.sources {
        assert!(dom.contains(&esc(s)), "{s} not in the DOM");
    }
    assert!(dom.contains("pattern:gradient"));
    let console: Vec<&str> = log.lines().filter(|l| is_console_message(l)).collect();
    assert!(console.is_empty(), "console errors: {console:#?}");
}
