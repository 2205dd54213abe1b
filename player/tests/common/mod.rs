//! The harness of the control API tests: a real `ledwall play --control 127.0.0.1:0`
//! process with a small linear wall and a `file` sink, an HTTP client for it, and helpers
//! to read what the sink received. Used by `control_api.rs` and `control_page.rs`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A 16x8 wall of one rgb8 port, linear transfer, no dither: a code value v shows as v,
/// and brightness b as round(v·b).
pub const WALL: &str = r#"
name = "ctl"
refresh_hz = 30
[canvas]
width = 16
height = 8
[color]
transfer = "linear"
bit_depth = 8
dither = "none"
[module_types.m]
size = [16, 8]
[[outputs]]
name = "strip"
format = "rgb8"
modules = [{ type = "m", at = [0, 0] }]
"#;

/// [`WALL`] at another refresh rate.
pub fn wall_at(hz: u32) -> String {
    WALL.replace("refresh_hz = 30", &format!("refresh_hz = {hz}"))
}

pub const PLAYLIST: &str = r#"
name = "three"
[[items]]
source = "pattern:solid:#c86432"
duration = 1.0
[[items]]
source = "pattern:solid:#204060"
duration = 1.0
[[items]]
source = "pattern:solid:#60a0e0"
duration = 1.0
transition = { kind = "crossfade", duration = 0.2 }
"#;

pub const FRAME: usize = 16 * 8 * 3;

pub struct Player {
    child: Child,
    /// Where the control API listens.
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
    /// The show folder's parent: `wall.toml`, `show/main.toml`, `out.bin`.
    pub dir: tempfile::TempDir,
    token: Option<String>,
}

pub fn ledwall() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ledwall"));
    c.env_remove("RUST_LOG").env_remove("LEDWALL_CONTROL_TOKEN");
    c
}

impl Player {
    /// A show folder with the wall and playlist above, played into `out.bin`.
    pub fn start(extra: &[&str], token: Option<&str>) -> Player {
        Player::start_with(WALL, PLAYLIST, extra, token)
    }

    pub fn start_with(wall: &str, playlist: &str, extra: &[&str], token: Option<&str>) -> Player {
        let dir = tempfile::tempdir().unwrap();
        let show = dir.path().join("show");
        std::fs::create_dir_all(&show).unwrap();
        std::fs::write(dir.path().join("wall.toml"), wall).unwrap();
        std::fs::write(show.join("main.toml"), playlist).unwrap();
        let mut cmd = ledwall();
        cmd.arg("play")
            .arg(show.join("main.toml"))
            .arg("--wall")
            .arg(dir.path().join("wall.toml"))
            .arg("--sink")
            .arg(format!(
                "strip=file:{}",
                dir.path().join("out.bin").display()
            ))
            .args(["--control", "127.0.0.1:0"])
            .args(extra);
        if !extra.contains(&"--backend") {
            cmd.args(["--backend", "cpu"]);
        }
        if let Some(t) = token {
            cmd.env("LEDWALL_CONTROL_TOKEN", t);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("control API and page on http://").nth(1) {
                    let addr = rest.trim_end_matches('/');
                    let _ = tx.send(addr.split('/').next().unwrap_or("").to_string());
                }
                sink.lock().unwrap().push_str(&line);
                sink.lock().unwrap().push('\n');
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a.parse().unwrap(),
            Err(_) => {
                let _ = child.kill();
                panic!("no control address:\n{}", log.lock().unwrap());
            }
        };
        let p = Player {
            child,
            addr,
            log,
            dir,
            token: token.map(str::to_string),
        };
        // Until the first frame is out.
        p.wait_for(|s| s["ticks"].as_u64().unwrap_or(0) > 0, "the first tick");
        p
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into()
    }

    /// (status, body) of a request; `body` None sends no body.
    pub fn req(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Vec<u8>) {
        self.req_token(method, path, body, self.token.as_deref())
    }

    pub fn req_token(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        token: Option<&str>,
    ) -> (u16, Vec<u8>) {
        let agent = Player::agent();
        let url = self.url(path);
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut r = match (method, body) {
            ("GET", _) => {
                let mut b = agent.get(&url);
                if let Some(a) = &auth {
                    b = b.header("Authorization", a);
                }
                b.call()
            }
            (m, body) => {
                let mut b = match m {
                    "POST" => agent.post(&url),
                    "PUT" => agent.put(&url),
                    other => panic!("{other}"),
                };
                if let Some(a) = &auth {
                    b = b.header("Authorization", a);
                }
                match body {
                    Some(text) => b
                        .header("Content-Type", "application/json")
                        .send(text.as_bytes()),
                    None => b.send_empty(),
                }
            }
        }
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = r.status().as_u16();
        let bytes = r
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .unwrap();
        (status, bytes)
    }

    pub fn json(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let (s, b) = self.req(method, path, body);
        let v = serde_json::from_slice(&b)
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {}", String::from_utf8_lossy(&b)));
        (s, v)
    }

    pub fn status(&self) -> Value {
        let (s, v) = self.json("GET", "/api/v1/status", None);
        assert_eq!(s, 200, "{v}");
        v
    }

    pub fn post(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.json("POST", path, Some(&body.to_string()));
        assert_eq!(s, 200, "POST {path} {body}: {v}");
        v
    }

    /// Poll the status until `pred` holds (15 s at most).
    pub fn wait_for(&self, pred: impl Fn(&Value) -> bool, what: &str) -> Value {
        let start = Instant::now();
        loop {
            let s = self.status();
            if pred(&s) {
                return s;
            }
            if start.elapsed() > Duration::from_secs(15) {
                panic!(
                    "timed out waiting for {what}; last status {s}\nlog:\n{}",
                    self.log.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The frames the file sink holds so far.
    pub fn frames(&self) -> Vec<Vec<u8>> {
        let bytes = std::fs::read(self.dir.path().join("out.bin")).unwrap_or_default();
        bytes.chunks_exact(FRAME).map(<[u8]>::to_vec).collect()
    }

    /// Wait until the sink has written `n` more frames than now, and at least 300 ms (the
    /// file sink pushes its buffer to the file every 100 ms; frames render 2 ticks ahead).
    pub fn later_frames(&self, n: usize) -> Vec<Vec<u8>> {
        std::thread::sleep(Duration::from_millis(300));
        let have = self.frames().len();
        let start = Instant::now();
        loop {
            let f = self.frames();
            if f.len() >= have + n {
                return f;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "the sink stopped"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The colour of the sink's newest frame once `n` more have come, when that frame is
    /// one solid colour.
    pub fn settled(&self, n: usize) -> Option<[u8; 3]> {
        let f = self.later_frames(n);
        f.last().and_then(|f| solid(f))
    }

    pub fn show_dir(&self) -> PathBuf {
        self.dir.path().join("show")
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        // SAFETY: kill() sends a signal to our own child process; no memory is passed.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            panic!("ledwall play did not stop on SIGTERM:\n{}", self.log());
        }
    }
}

pub fn rgb(frame: &[u8]) -> [u8; 3] {
    [frame[0], frame[1], frame[2]]
}

/// Every pixel of a frame has the same colour.
pub fn solid(frame: &[u8]) -> Option<[u8; 3]> {
    let c = rgb(frame);
    frame.chunks_exact(3).all(|p| p == c).then_some(c)
}

/// Whether a graphics adapter opens; without one, say so loudly, and fail under `CI`.
pub fn have_gpu() -> bool {
    match ledwall_render::gpu::Gpu::open(None) {
        Ok(_) => true,
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("CI must run the GPU tests, but no adapter opened: {e}")
        }
        Err(e) => {
            eprintln!("!!! SKIPPED: no graphics adapter ({e}); scripts/test installs lavapipe");
            false
        }
    }
}

/// Wait for `child` to exit, at most `limit` (then kill it and fail: it hangs); its exit
/// code (`None`: ended by a signal).
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.code(),
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                panic!("ledwall play did not end within {limit:?}: it hangs");
            }
            Err(e) => panic!("{e}"),
        }
    }
}
