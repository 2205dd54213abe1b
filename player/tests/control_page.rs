//! The control page (design §13, `GET /`) in real headless Chromium, driven through
//! chromedriver (WebDriver) as an operator would use it, against a real `ledwall play`
//! process on 127.0.0.1 that plays into a `file` sink:
//!
//! * the page loads and runs with no console messages at error or warning level (the
//!   browser's own log, read through chromedriver; the collector is checked first against a
//!   page that does log an error and throw);
//! * the live picture loads, the connection badge says `live`;
//! * Next, the brightness slider, Blackout and a click on the timeline change what the
//!   player does: its status and the bytes in the sink;
//! * with a token, the page asks for it, and goes live once it is typed in;
//! * on a phone-sized window nothing scrolls sideways.
//!
//! Needs `chromium` and `chromedriver` (Debian: `chromium chromium-driver`, which
//! scripts/test installs). Without them the tests print a loud skip, except under `CI`,
//! where they fail. Timeouts only detect hangs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Player, WALL};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Long items: only the page's buttons move the playlist during a test.
const PLAYLIST: &str = r#"
name = "three"
[[items]]
source = "pattern:solid:#c86432"
duration = 120.0
[[items]]
source = "pattern:solid:#204060"
duration = 120.0
[[items]]
source = "pattern:solid:#60a0e0"
duration = 120.0
transition = { kind = "crossfade", duration = 0.2 }
"#;

const SOURCES: [&str; 3] = [
    "pattern:solid:#c86432",
    "pattern:solid:#204060",
    "pattern:solid:#60a0e0",
];

/// The phone's screen in CSS pixels.
const PHONE: (u32, u32) = (390, 844);

/// How long a wait for the page or the player may take before it counts as a hang.
const PATIENCE: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------------------
// The player (tests/common)

// ---------------------------------------------------------------------------------------
// The browser

/// An executable on PATH.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// (chromium, chromedriver), or None after a loud skip message; under `CI` a missing one
/// fails the test.
fn browser_tools() -> Option<(PathBuf, PathBuf)> {
    let chromium = on_path(&["chromium", "chromium-browser", "google-chrome"]);
    let driver = on_path(&["chromedriver"]);
    if let (Some(c), Some(d)) = (&chromium, &driver) {
        return Some((c.clone(), d.clone()));
    }
    let missing = [
        ("chromium", chromium.is_none()),
        ("chromedriver", driver.is_none()),
    ]
    .iter()
    .filter(|(_, m)| *m)
    .map(|(n, _)| *n)
    .collect::<Vec<_>>()
    .join(" and ");
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the control page tests, but it cannot find {missing} on PATH \
         (apt-get install -y chromium chromium-driver)"
    );
    eprintln!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         !!! SKIPPED: the control page browser test needs headless Chromium and\n\
         !!! chromedriver; not found on PATH: {missing}.\n\
         !!! apt-get install -y chromium chromium-driver (scripts/test does).\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
    );
    None
}

/// chromedriver on a free port, in a process group of its own: dropping it ends the
/// driver and every browser process it started, and removes the browser profile.
struct Driver {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Driver {
    fn start(driver: &PathBuf) -> Driver {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.path().join("chromedriver.log")).unwrap();
        let mut child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(2)))
            .build()
            .into();
        let start = Instant::now();
        loop {
            let ready = agent
                .get(&format!("http://127.0.0.1:{port}/status"))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            if let Ok(Some(code)) = child.try_wait() {
                panic!(
                    "chromedriver exited ({code}):\n{}",
                    std::fs::read_to_string(dir.path().join("chromedriver.log"))
                        .unwrap_or_default()
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "chromedriver does not answer"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, port, dir }
    }

    /// A session of headless Chromium that keeps every message of the browser's console
    /// log: a 1280x1000 desktop window, or with `phone` a 390x844 phone (Chromium's mobile
    /// emulation: a headless window is at least 500 pixels wide).
    async fn browser(&self, chromium: &PathBuf, phone: bool) -> Client {
        let profile = self.dir.path().join("profile");
        let mut caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.display()),
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-extensions",
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        });
        if phone {
            caps["goog:chromeOptions"]["mobileEmulation"] = json!({"deviceMetrics": {
                "width": PHONE.0, "height": PHONE.1, "pixelRatio": 3.0, "mobile": true, "touch": true,
            }});
        }
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "no browser session: {e}\nchromedriver log:\n{}",
                    std::fs::read_to_string(self.dir.path().join("chromedriver.log"))
                        .unwrap_or_default()
                )
            })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = -(self.child.id() as libc::pid_t);
        // SAFETY: kill() signals the process group this guard's child leads; no memory is
        // passed.
        unsafe { libc::kill(group, libc::SIGTERM) };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: as above; whatever of the group is left (a browser that lingers).
        unsafe { libc::kill(group, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// chromedriver's browser log (`goog:loggingPrefs`): the entries since the last call.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(r#"{"type": "browser"}"#.to_string()),
        )
    }
}

/// The page as the test sees it: the session, and every console entry so far.
struct Page {
    c: Client,
    console: Vec<Value>,
    started: Instant,
    name: &'static str,
}

impl Page {
    fn new(c: Client, name: &'static str) -> Page {
        Page {
            c,
            console: Vec::new(),
            started: Instant::now(),
            name,
        }
    }

    /// Progress, for `--nocapture`.
    fn step(&self, what: &str) {
        eprintln!(
            "[{} {:5.2} s] {what}",
            self.name,
            self.started.elapsed().as_secs_f64()
        );
    }

    /// Read the new console entries into `console` (each printed).
    async fn drain_console(&mut self) {
        let v = self.c.issue_cmd(BrowserLog).await.unwrap();
        for e in v.as_array().cloned().unwrap_or_default() {
            eprintln!("[{}] browser console: {e}", self.name);
            self.console.push(e);
        }
    }

    /// The console entries at error or warning level (JavaScript errors, console.error and
    /// console.warn, failed requests).
    async fn console_problems(&mut self) -> Vec<Value> {
        self.drain_console().await;
        self.console
            .iter()
            .filter(|e| matches!(e["level"].as_str(), Some("SEVERE" | "WARNING")))
            .cloned()
            .collect()
    }

    async fn js(&self, script: &str) -> Value {
        self.c
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    async fn text(&self, css: &str) -> String {
        self.js(&format!(
            "const e = document.querySelector({}); return e ? e.textContent : null;",
            json!(css)
        ))
        .await
        .as_str()
        .unwrap_or_else(|| panic!("no element {css}"))
        .trim()
        .to_string()
    }

    async fn click(&self, css: &str) {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
        self.step(&format!("clicked {css}"));
    }

    /// Poll the JavaScript expression `expr` until it is true.
    async fn wait(&mut self, what: &str, expr: &str) {
        let script = format!("return !!({expr});");
        let start = Instant::now();
        while self.js(&script).await != Value::Bool(true) {
            if start.elapsed() > PATIENCE {
                let state = self
                    .js(
                        "return {conn: document.getElementById('conn').textContent, \
                         now: document.getElementById('now-source').textContent, \
                         toasts: document.getElementById('toasts').textContent, \
                         auth_hidden: document.getElementById('auth').hidden};",
                    )
                    .await;
                self.drain_console().await;
                panic!("timed out waiting for {what} ({expr}); page: {state}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.step(what);
    }

    /// Wait until `css` shows exactly `want`.
    async fn wait_text(&mut self, css: &str, want: &str) {
        let expr = format!(
            "(document.querySelector({}) || {{}}).textContent?.trim() === {}",
            json!(css),
            json!(want)
        );
        self.wait(&format!("{css} to show {want:?}"), &expr).await;
    }

    /// Nothing on the page scrolls sideways: the document is no wider than the viewport,
    /// and the viewport is the phone's width at scale 1 (a mobile browser widens the
    /// layout viewport and zooms out to fit a page that is too wide).
    async fn assert_no_sideways_scroll(&self, when: &str) {
        let v = self
            .js(
                "return {sw: document.documentElement.scrollWidth, bw: document.body.scrollWidth, \
                 iw: innerWidth, vw: visualViewport.width, scale: visualViewport.scale};",
            )
            .await;
        let phone = f64::from(PHONE.0);
        let n = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
        assert!(
            n("sw") <= phone && n("bw") <= phone && n("sw") <= n("iw") && n("bw") <= n("iw"),
            "{when}: the page is wider than the phone's {phone} pixels and scrolls sideways \
             (sw, bw: the scroll widths of the document and the body; iw: innerWidth, which \
             a mobile browser widens to fit; vw: the visible width): {v}"
        );
        assert!(
            n("iw") == phone && (n("vw") - phone).abs() < 1.0 && (n("scale") - 1.0).abs() < 1e-3,
            "{when}: the viewport is not the phone's {phone} pixels at scale 1: {v}"
        );
    }
}

/// The test's own check of the console collector: a page that logs an error and throws
/// must show both, at error level.
async fn check_the_console_collector(page: &mut Page) {
    page.c
        .goto("data:text/html,<title>x</title><script>console.error('collector-check');</script><script>nosuchfunction()</script>")
        .await
        .unwrap();
    // The entries arrive asynchronously: poll a little.
    let start = Instant::now();
    loop {
        let problems = page.console_problems().await;
        let text = |e: &Value| e["message"].as_str().unwrap_or("").to_string();
        let logged = problems.iter().any(|e| text(e).contains("collector-check"));
        let thrown = problems.iter().any(|e| text(e).contains("nosuchfunction"));
        if logged && thrown {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the browser console log misses console.error or an uncaught exception: {problems:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    page.console.clear();
    page.step("the console collector works");
}

// ---------------------------------------------------------------------------------------
// The tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_drives_the_player_from_the_page() {
    let Some((chromium, driver)) = browser_tools() else {
        return;
    };
    let started = Instant::now();
    let driver = Driver::start(&driver);
    let player = Player::start_with(WALL, PLAYLIST, &[], None);
    let mut page = Page::new(driver.browser(&chromium, false).await, "operator");
    check_the_console_collector(&mut page).await;

    page.c.goto(&player.url("/")).await.unwrap();
    page.step("the page loaded");
    assert_eq!(page.c.title().await.unwrap(), "ledwall control");

    // Live: the event stream is up and the wall's picture shows.
    page.wait_text("#conn", "live").await;
    page.wait(
        "the live picture",
        "(p => !p.hidden && p.complete && p.naturalWidth > 0)(document.getElementById('preview'))",
    )
    .await;
    let size = page
        .js("const p = document.getElementById('preview'); return [p.naturalWidth, p.naturalHeight];")
        .await;
    assert_eq!(size, json!([16, 8]), "the preview is the wall's canvas");
    assert!(page.text("#wall-info").await.contains("ctl"));

    // What plays now, as the status says.
    let s = player.status();
    assert_eq!(s["item"]["index"], 0, "{s}");
    page.wait_text("#now-source", SOURCES[0]).await;
    page.wait_text("#next-source", SOURCES[1]).await;
    page.wait(
        "the playlist on the timeline",
        "document.querySelectorAll('#timeline .item').length === 3",
    )
    .await;
    assert_eq!(player.settled(2), Some([200, 100, 50]));

    // Brightness: fade 0, then the slider to 50 % as a drag ends (input, then change).
    page.c
        .find(Locator::Css("#fade"))
        .await
        .unwrap()
        .select_by_value("0")
        .await
        .unwrap();
    page.js(
        "const s = document.getElementById('brightness'); s.value = '50'; \
         s.dispatchEvent(new Event('input', {bubbles: true})); \
         s.dispatchEvent(new Event('change', {bubbles: true}));",
    )
    .await;
    let s = player.wait_for(
        |s| s["brightness"]["level"] == 0.5 && s["brightness"]["effective"] == 0.5,
        "brightness 0.5 from the slider",
    );
    assert_eq!(s["brightness"]["source"], "api", "{s}");
    assert_eq!(player.settled(5), Some([100, 50, 25]), "halved codes");
    page.wait_text("#brightness-value", "50 %").await;
    page.wait_text("#brightness-source", "API override").await;
    page.wait_text("#brightness-effective", "50 %").await;

    // Next: the page and the status move to item 1, and so does the sink.
    page.click("#btn-next").await;
    page.wait_text("#now-source", SOURCES[1]).await;
    let s = player.wait_for(|s| s["item"]["index"] == 1, "item 1 after Next");
    assert_eq!(s["item"]["source"], SOURCES[1], "{s}");
    assert_eq!(
        page.text("#now-source").await,
        s["item"]["source"].as_str().unwrap()
    );
    page.wait_text("#next-source", SOURCES[2]).await;
    page.wait(
        "item 1 marked current on the timeline",
        "document.querySelector('#timeline .item[data-index=\"1\"]').classList.contains('current')",
    )
    .await;
    // (0x20, 0x40, 0x60) at half.
    assert_eq!(player.settled(5), Some([16, 32, 48]));

    // Blackout: every byte the sink gets is zero; the page says so.
    page.click("#btn-blackout").await;
    player.wait_for(
        |s| s["blackout"] == true && s["brightness"]["effective"] == 0.0,
        "blackout from the button",
    );
    let f = player.later_frames(5);
    assert!(
        f.last().unwrap().iter().all(|&b| b == 0),
        "not black: {:?}",
        f.last()
    );
    page.wait(
        "the blackout banner",
        "!document.getElementById('blackout-banner').hidden",
    )
    .await;
    page.wait(
        "the pressed blackout button",
        "document.getElementById('btn-blackout').getAttribute('aria-pressed') === 'true'",
    )
    .await;

    // A click on the timeline's item 2: it plays (still black).
    page.click("#timeline .item[data-index=\"2\"]").await;
    let s = player.wait_for(|s| s["item"]["index"] == 2, "item 2 from the timeline");
    assert_eq!(s["item"]["source"], SOURCES[2], "{s}");
    page.wait_text("#now-source", SOURCES[2]).await;
    let f = player.later_frames(5);
    assert!(
        f.last().unwrap().iter().all(|&b| b == 0),
        "blackout holds: {:?}",
        f.last()
    );

    // Blackout off: item 2 at half brightness, (0x60, 0xa0, 0xe0) / 2.
    page.click("#btn-blackout").await;
    player.wait_for(
        |s| s["blackout"] == false && s["brightness"]["effective"] == 0.5,
        "the end of the blackout",
    );
    assert_eq!(player.settled(5), Some([48, 80, 112]));
    page.wait(
        "the banner gone",
        "document.getElementById('blackout-banner').hidden",
    )
    .await;
    page.wait_text("#btn-blackout", "Blackout").await;

    // No toast (a failed action) and not a single console problem throughout.
    assert_eq!(page.text("#toasts").await, "", "an action failed");
    let problems = page.console_problems().await;
    assert!(
        problems.is_empty(),
        "console errors or warnings: {problems:#?}"
    );
    page.c.close().await.unwrap();
    eprintln!("operator test: {:.1} s", started.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_enters_the_token_and_goes_live_without_sideways_scroll() {
    let Some((chromium, driver)) = browser_tools() else {
        return;
    };
    let started = Instant::now();
    let token = "s3cret-token-for-the-page-0123456789";
    let driver = Driver::start(&driver);
    let player = Player::start_with(WALL, PLAYLIST, &[], Some(token));
    let mut page = Page::new(driver.browser(&chromium, true).await, "phone");
    check_the_console_collector(&mut page).await;

    page.c.goto(&player.url("/")).await.unwrap();
    page.step("the page loaded");

    // Locked: the token form, nothing live.
    page.wait("the token form", "!document.getElementById('auth').hidden")
        .await;
    page.wait_text("#conn", "locked").await;
    page.assert_no_sideways_scroll("the token form").await;

    let field = page.c.find(Locator::Css("#token")).await.unwrap();
    field.send_keys(token).await.unwrap();
    page.click("#auth button[type=submit]").await;

    page.wait_text("#conn", "live").await;
    page.wait(
        "the form to go away",
        "document.getElementById('auth').hidden",
    )
    .await;
    page.wait(
        "the live picture",
        "(p => !p.hidden && p.complete && p.naturalWidth > 0)(document.getElementById('preview'))",
    )
    .await;
    let s = player.status();
    page.wait_text("#now-source", s["item"]["source"].as_str().unwrap())
        .await;
    page.wait(
        "the playlist on the timeline",
        "document.querySelectorAll('#timeline .item').length === 3",
    )
    .await;
    page.assert_no_sideways_scroll("live").await;

    // The page's first request (before the token) got a 401, which Chromium logs as a
    // failed resource: that, and nothing else.
    let problems = page.console_problems().await;
    let (unauthorized, other): (Vec<Value>, Vec<Value>) = problems.into_iter().partition(|e| {
        e["source"] == "network"
            && e["message"].as_str().is_some_and(|m| {
                m.contains("/api/v1/") && m.contains("status of 401 (Unauthorized)")
            })
    });
    assert!(other.is_empty(), "console errors or warnings: {other:#?}");
    assert_eq!(
        unauthorized.len(),
        1,
        "one request before the token is entered: {unauthorized:#?}"
    );
    page.c.close().await.unwrap();
    eprintln!("token/phone test: {:.1} s", started.elapsed().as_secs_f64());
}
