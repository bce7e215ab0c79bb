//! A headless Chromium driven over WebDriver (fantoccini → chromedriver), for e2e tests.

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use std::time::Duration;
use tokio::process::{Child, Command};

/// How long to wait for anything the page should show. Generous on purpose: polls return as
/// soon as the condition holds, and the live tail waits for simulated traffic, which is thin
/// at night (about one log line every 10 s at the quietest).
const WAIT: Duration = Duration::from_secs(60);

/// A chromedriver process and a browser session on it.
pub struct Browser {
    /// Held while the browser lives: no process cluster runs meanwhile ([`crate::HEAVY`]).
    _light: tokio::sync::RwLockReadGuard<'static, ()>,
    client: Client,
    _driver: Child,
    /// chromedriver's and Chromium's TMPDIR (profiles, crash dumps): removed with the browser,
    /// so failed runs leave nothing in /tmp.
    _scratch: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless session.
    pub async fn start() -> Self {
        let light = crate::HEAVY.read().await;
        let port = free_port();
        let scratch = tempfile::tempdir().expect("a scratch directory for Chromium");
        let driver =
            Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
                .arg(format!("--port={port}"))
                .env("TMPDIR", scratch.path())
                .kill_on_drop(true)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("chromedriver is installed (cargo xtask test installs it)");
        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                         "--disable-gpu", "--window-size=1280,900",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--no-first-run"]
            },
            "goog:loggingPrefs": { "browser": "ALL" }
        });
        let caps = caps.as_object().cloned().unwrap_or_default();
        let url = format!("http://127.0.0.1:{port}");
        let client = poll(|| async {
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
                .ok()
        })
        .await
        .expect("chromedriver accepts a session");
        Self {
            _light: light,
            client,
            _driver: driver,
            _scratch: scratch,
        }
    }

    /// Opens `url` and waits for the app to mount.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// Waits until the canvas `id` has pixels of a series colour (the palette of
    /// `frontend::charts::palette`; axes, grid, text and legend panel are other colours), and
    /// returns how many; 0 when none appeared within the wait.
    pub async fn series_pixels(&self, id: &str) -> u64 {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Id(id))
            .await
            .expect("chart canvas appears");
        let script = r#"
            const c = document.getElementById(arguments[0]);
            const colours = arguments[1];
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4) {
                if (d[i + 3] < 200) continue;
                for (const [r, g, b] of colours) {
                    if (Math.abs(d[i] - r) <= 8 && Math.abs(d[i + 1] - g) <= 8 && Math.abs(d[i + 2] - b) <= 8) { n++; break; }
                }
            }
            return n;"#;
        let colours: Vec<[u8; 3]> = SERIES_COLOURS.to_vec();
        poll(|| async {
            let v = self
                .client
                .execute(
                    script,
                    vec![serde_json::json!(id), serde_json::json!(colours)],
                )
                .await
                .ok()?;
            v.as_u64().filter(|n| *n > 0)
        })
        .await
        .unwrap_or(0)
    }

    /// Clicks the rightmost drawn bar or line of the chart canvas `id` (a pixel of a series
    /// colour), as a person clicks what they see; `false` when nothing is drawn.
    pub async fn click_series(&self, id: &str) -> bool {
        self.series_pixels(id).await;
        let script = r#"
            const c = document.getElementById(arguments[0]);
            const colours = arguments[1];
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const ratio = c.width / c.clientWidth;
            for (let x = c.width - 1; x >= 0; x--) {
                for (let y = 0; y < c.height; y++) {
                    const i = (y * c.width + x) * 4;
                    if (d[i + 3] < 200) continue;
                    for (const [r, g, b] of colours) {
                        if (Math.abs(d[i] - r) <= 8 && Math.abs(d[i + 1] - g) <= 8 && Math.abs(d[i + 2] - b) <= 8) {
                            const rect = c.getBoundingClientRect();
                            c.dispatchEvent(new MouseEvent('click', { clientX: rect.left + x / ratio - 2, clientY: rect.top + y / ratio, bubbles: true }));
                            return true;
                        }
                    }
                }
            }
            return false;"#;
        let colours: Vec<[u8; 3]> = SERIES_COLOURS.to_vec();
        self.client
            .execute(
                script,
                vec![serde_json::json!(id), serde_json::json!(colours)],
            )
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    /// Waits for an element matching `css`.
    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} should appear: {e}"))
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Focuses the element matching `css` and presses `keys` on it, as a keyboard user would
    /// (`\u{E007}` is Enter, `" "` Space): no pointer involved.
    pub async fn press(&self, css: &str, keys: &str) {
        self.wait_for(css)
            .await
            .send_keys(keys)
            .await
            .unwrap_or_else(|e| panic!("press keys on {css}: {e}"));
    }

    /// Types `text` into the element matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.wait_for(css)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Replaces the value of the input at `css` with `text`, typed.
    pub async fn fill(&self, css: &str, text: &str) {
        let el = self.wait_for(css).await;
        el.clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        el.send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Waits until the visible text contains `needle`.
    pub async fn wait_for_text(&self, needle: &str) {
        let found = poll(|| async { self.text().await.contains(needle).then_some(()) }).await;
        assert!(
            found.is_some(),
            "the page should show {needle:?}; it shows:\n{}",
            self.text().await
        );
    }

    /// The current URL.
    pub async fn url(&self) -> String {
        self.client.current_url().await.expect("url").to_string()
    }

    /// Runs a script and returns its value.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .expect("script runs")
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.client
            .find(Locator::Css("body"))
            .await
            .expect("body")
            .text()
            .await
            .expect("text")
    }

    /// Saves a PNG under `target/e2e-screenshots/<name>.png`, for people to look at.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Error messages the browser console logged since the last call, and warnings of a chart
    /// that failed to draw.
    pub async fn console_errors(&self) -> Vec<String> {
        let logs = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .expect("read browser log");
        logs.as_array()
            .map(|a| {
                a.iter()
                    .filter(|e| {
                        e["level"] == "SEVERE"
                            || (e["level"] == "WARNING"
                                && e["message"]
                                    .as_str()
                                    .is_some_and(|m| m.contains("failed to draw")))
                    })
                    .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Fails with the messages if the browser console logged any error.
    pub async fn assert_no_console_errors(&self) {
        let errors = self.console_errors().await;
        assert!(errors.is_empty(), "console errors: {errors:#?}");
    }

    /// The serious and critical accessibility violations axe-core finds on the page as it is
    /// now (WCAG 2.1 A and AA rules and axe's best practices), one line each: rule, impact,
    /// what to fix and the elements.
    pub async fn accessibility_violations(&self) -> Vec<String> {
        let loaded = self.eval("return typeof window.axe === 'object'").await;
        if loaded != serde_json::Value::Bool(true) {
            self.client
                .execute(&axe_source(), vec![])
                .await
                .expect("axe-core loads");
        }
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                    .then(r => done(r.violations
                        .filter(v => v.impact === 'serious' || v.impact === 'critical')
                        .map(v => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 5).map(n => n.target.join(' ') + (n.failureSummary ? ' [' + n.failureSummary.replace(/\\s+/g, ' ') + ']' : '')).join('; ')}`)))
                    .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("axe runs");
        serde_json::from_value(result).expect("axe-core answers a list of strings")
    }

    /// Fails with axe-core's serious and critical violations of the page as it is now.
    pub async fn assert_accessible(&self, what: &str) {
        let violations = self.accessibility_violations().await;
        assert!(
            violations.is_empty(),
            "axe-core on {what}: serious or critical accessibility violations:\n{}",
            violations.join("\n")
        );
    }

    /// Ends the session.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// chromedriver's `POST /session/{id}/se/log` (browser console entries since the last call).
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.into()))
    }
}

/// axe-core's browser build, as `cargo xtask bootstrap --browser` installs it (npm, under
/// `$CARGO_HOME/falscope-axe`), or from `AXE_CORE_JS`.
fn axe_source() -> String {
    let path = std::env::var_os("AXE_CORE_JS").map_or_else(
        || {
            let home = std::env::var_os("CARGO_HOME")
                .map(std::path::PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cargo"))
                })
                .unwrap_or_default();
            home.join("falscope-axe/node_modules/axe-core/axe.min.js")
        },
        std::path::PathBuf::from,
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core at {} ({e}): run `cargo xtask bootstrap --browser`",
            path.display()
        )
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Polls `f` until it yields `Some` ([`crate::poll_until`]); `None` after [`WAIT`].
pub async fn poll<T, F, Fut>(f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    crate::poll_until(WAIT, f).await.ok()
}

/// The series and share colours of `frontend::charts::palette` (RGB): what a drawn series
/// paints.
const SERIES_COLOURS: [[u8; 3]; 14] = [
    [46, 160, 90],
    [214, 69, 65],
    [230, 160, 40],
    [140, 150, 165],
    [79, 70, 229],
    [16, 163, 127],
    [234, 138, 0],
    [214, 48, 49],
    [0, 150, 214],
    [171, 71, 188],
    [124, 179, 66],
    [240, 98, 146],
    [93, 64, 55],
    [120, 144, 156],
];
