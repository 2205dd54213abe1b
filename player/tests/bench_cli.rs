//! `ledwall bench` end to end through the real binary: the report, the JSON fields the
//! issue names, and the plot.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn bench_reports_every_figure_and_writes_json_and_a_plot() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("bench.json");
    let plot = tmp.path().join("bench.png");
    let out = Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .current_dir(root())
        .args(["bench", "--wall", "fixtures/walls/demo.toml"])
        .args(["--input", "fixtures/media/photo-160x90.jpg"])
        .args([
            "--backend",
            "cpu",
            "--frames",
            "24",
            "--warmup",
            "3",
            "--quiet",
        ])
        .arg("--json")
        .arg(&json)
        .arg("--plot")
        .arg(&plot)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for needle in [
        "throughput:",
        "bandwidth floor:",
        "resample",
        "pack",
        "pacing at",
        "allocations per frame",
    ] {
        assert!(stdout.contains(needle), "{needle} missing:\n{stdout}");
    }
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["backend"], "cpu");
    assert_eq!(v["frames"], 24);
    assert!(v["fps"].as_f64().unwrap() > 0.0);
    for stage in [
        "linearize",
        "resample",
        "compose",
        "color",
        "quantize",
        "pack",
        "decode",
        "sink",
    ] {
        let s = &v["stages"][stage];
        assert!(
            s["p50_us"].as_f64().is_some() && s["p99_us"].as_f64().is_some(),
            "{stage}: {s}"
        );
        assert!(s["p99_us"].as_f64() >= s["p50_us"].as_f64(), "{stage}: {s}");
    }
    // A scaled still (160x90 on 128x64) resamples every frame: the cache is bypassed.
    assert!(v["stages"]["resample"]["p50_us"].as_f64().unwrap() > 0.0);
    for k in ["p50", "p99"] {
        assert!(v["latency_us"][k].as_f64().is_some());
    }
    for k in ["p50", "p99", "max"] {
        assert!(v["lateness_us"][k].as_f64().is_some());
    }
    // Linux reports steal time (zero on bare metal); elsewhere the field is null.
    if cfg!(target_os = "linux") {
        assert!(v["steal_ms"].as_f64().is_some_and(|s| s >= 0.0), "{v}");
    }
    let ticks = v["new"].as_u64().unwrap() + v["repeated"].as_u64().unwrap();
    assert_eq!(
        ticks, 24,
        "every paced tick sends a new or a repeated frame"
    );
    assert!(v["dropped"].as_u64().is_some());
    // The binary installs the counting allocator, so the figure is measured.
    assert!(v["allocations_per_frame"].as_f64().is_some(), "{v}");
    assert!(v["peak_rss_bytes"].as_u64().unwrap() > 1 << 20);
    assert!(v["copy_bandwidth_bytes_per_s"].as_f64().unwrap() > 1e8);
    let img = image::open(&plot).unwrap().to_rgb8();
    assert_eq!((img.width(), img.height()), (1000, 640));
    // The frame-time series (top half) and at least one lateness bar (bottom half) are
    // drawn, in their colours.
    let has = |rgb: [u8; 3], rows: std::ops::Range<u32>| {
        rows.into_iter()
            .any(|y| (0..img.width()).any(|x| img.get_pixel(x, y).0 == rgb))
    };
    assert!(
        has([200, 60, 20], 0..320),
        "no frame-time series in the plot"
    );
    assert!(has([40, 90, 200], 320..640), "no lateness bar in the plot");
}

#[test]
fn bench_with_a_missing_input_fails_clearly() {
    let out = Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .current_dir(root())
        .args([
            "bench",
            "--wall",
            "fixtures/walls/tiny.toml",
            "--input",
            "no/such.png",
        ])
        .args(["--frames", "2", "--quiet"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no/such.png"), "{stderr}");
}

fn bench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ledwall"))
        .current_dir(root())
        .arg("bench")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_default_input_is_paced_as_rendered_the_synthetic_photographs() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("bench.json");
    let out = bench(&[
        "--wall",
        "fixtures/walls/tiny.toml",
        "--backend",
        "cpu",
        "--frames",
        "3",
        "--warmup",
        "1",
        "--refresh",
        "30",
        "--quiet",
        "--json",
        json.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["source"], serde_json::json!([3840, 2160]));
    let pacing = v["pacing_input"].as_str().unwrap();
    assert!(
        pacing.starts_with("synthetic 3840x2160 photographs") && pacing.contains("30 fps"),
        "{pacing}"
    );
    assert!(v["new"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(
        v["new"].as_u64().unwrap() + v["repeated"].as_u64().unwrap(),
        3
    );
}

#[test]
fn report_files_it_could_not_write_are_refused_before_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |flag: &str, path: &std::path::Path| {
        bench(&[
            "--wall",
            "fixtures/walls/tiny.toml",
            "--input",
            "pattern:bars",
            "--frames",
            "2",
            "--quiet",
            flag,
            path.to_str().unwrap(),
        ])
    };
    let missing = tmp.path().join("no-such-folder").join("bench.json");
    for (flag, path, why) in [
        ("--json", missing.as_path(), "does not exist"),
        ("--plot", tmp.path(), "is a folder"),
    ] {
        let out = run(flag, path);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag}: {stderr}");
        assert!(
            stderr.contains(flag) && stderr.contains(why),
            "{flag}: {stderr}"
        );
        // Nothing was measured: the report would have come first.
        assert!(
            !stdout.contains("throughput"),
            "{flag}: the run went ahead:\n{stdout}"
        );
    }
}

#[test]
fn a_failed_run_leaves_an_earlier_report_as_it_was_and_no_new_file() {
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("old.json");
    std::fs::write(&old, "{\"fps\": 1}\n").unwrap();
    let new = tmp.path().join("new.png");
    let out = bench(&[
        "--wall",
        "fixtures/walls/tiny.toml",
        "--input",
        "no/such.png",
        "--frames",
        "2",
        "--quiet",
        "--json",
        old.to_str().unwrap(),
        "--plot",
        new.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert_eq!(std::fs::read_to_string(&old).unwrap(), "{\"fps\": 1}\n");
    assert!(!new.exists(), "the writability probe left a file behind");
}
