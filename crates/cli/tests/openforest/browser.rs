//! A real headless Chromium (Debian's) driven over the DevTools protocol, for the web tests:
//! pages at a chosen size, typing and clicking, screenshots into the test output directory, and
//! every JavaScript error, console error or CSP violation collected so a test fails on any.

use chromiumoxide::BrowserConfig;
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::cdp::browser_protocol::log::{self, EventEntryAdded, LogEntryLevel};
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::cdp::js_protocol::runtime::{
    self, ConsoleApiCalledType, EventConsoleApiCalled, EventExceptionThrown,
};
use chromiumoxide::page::ScreenshotParams;
use futures_util::StreamExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The flags the architecture fixes for Debian's Chromium in tests.
const FLAGS: [&str; 5] = [
    "disable-gpu",
    "disable-background-networking",
    "disable-component-update",
    "no-first-run",
    "disable-sync",
];

/// How long a condition in the page may take to hold.
const WAIT_MAX: Duration = Duration::from_secs(15);

/// The Chromium binary: `OPENFOREST_CHROMIUM`, else `chromium` (Debian) or `chromium-browser`
/// on the PATH. `None` (after saying so, or failing under `OPENFOREST_TEST_REQUIRE_ALL=1`)
/// when there is none.
pub fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("OPENFOREST_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).find_map(|dir| {
            ["chromium", "chromium-browser"]
                .iter()
                .map(|name| dir.join(name))
                .find(|path| path.is_file())
        })
    });
    if found.is_none() {
        openforest_testkit::skip_or_fail(
            "Chromium",
            "no chromium on the PATH (apt-get install chromium) and OPENFOREST_CHROMIUM unset",
        );
    }
    found
}

pub struct Browser {
    browser: chromiumoxide::Browser,
    handler: tokio::task::JoinHandle<()>,
    errors: Arc<Mutex<Vec<String>>>,
    _profile: tempfile::TempDir,
}

pub struct Page {
    page: chromiumoxide::Page,
    /// The emulated screen (`resize`), restored after each full-page screenshot, which
    /// resets it.
    size: Mutex<(u32, u32)>,
}

impl Browser {
    pub async fn launch(chromium: &std::path::Path) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let config = BrowserConfig::builder()
            .chrome_executable(chromium)
            .disable_default_args()
            .no_sandbox()
            .args(FLAGS)
            .user_data_dir(profile.path())
            .launch_timeout(Duration::from_secs(60))
            .request_timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let (browser, mut handler) = chromiumoxide::Browser::launch(config)
            .await
            .expect("Chromium starts");
        let handler = tokio::spawn(async move { while handler.next().await.is_some() {} });
        Browser {
            browser,
            handler,
            errors: Arc::default(),
            _profile: profile,
        }
    }

    /// A blank tab of `width`×`height` CSS pixels whose errors are collected.
    pub async fn page(&self, width: u32, height: u32) -> Page {
        let page = self.browser.new_page("about:blank").await.unwrap();
        let mut exceptions = page.event_listener::<EventExceptionThrown>().await.unwrap();
        let mut console = page
            .event_listener::<EventConsoleApiCalled>()
            .await
            .unwrap();
        let mut logs = page.event_listener::<EventEntryAdded>().await.unwrap();
        page.execute(runtime::EnableParams::default())
            .await
            .unwrap();
        page.execute(log::EnableParams::default()).await.unwrap();
        let errors = self.errors.clone();
        tokio::spawn(async move {
            while let Some(event) = exceptions.next().await {
                let details = &event.exception_details;
                let description = details
                    .exception
                    .as_ref()
                    .and_then(|exception| exception.description.clone())
                    .unwrap_or_default();
                errors.lock().unwrap().push(format!(
                    "exception: {} {description} at {:?}:{}",
                    details.text, details.url, details.line_number
                ));
            }
        });
        let errors = self.errors.clone();
        tokio::spawn(async move {
            while let Some(event) = console.next().await {
                if matches!(
                    event.r#type,
                    ConsoleApiCalledType::Error | ConsoleApiCalledType::Assert
                ) {
                    errors
                        .lock()
                        .unwrap()
                        .push(format!("console.error: {:?}", event.args));
                }
            }
        });
        let errors = self.errors.clone();
        tokio::spawn(async move {
            // CSP violations and failed loads are reported here.
            while let Some(event) = logs.next().await {
                if event.entry.level == LogEntryLevel::Error {
                    errors
                        .lock()
                        .unwrap()
                        .push(format!("log: {} ({:?})", event.entry.text, event.entry.url));
                }
            }
        });
        let page = Page {
            page,
            size: Mutex::new((width, height)),
        };
        page.resize(width, height).await;
        page
    }

    /// Fails on any JavaScript error seen on any page, then closes Chromium.
    pub async fn finish(mut self) {
        // Events already sent may still be on their way through the handler.
        tokio::task::yield_now().await;
        let errors = self.errors.lock().unwrap().clone();
        let _ = self.browser.close().await;
        let _ = self.browser.wait().await;
        self.handler.abort();
        assert!(errors.is_empty(), "errors in the browser: {errors:#?}");
    }
}

impl Page {
    pub async fn resize(&self, width: u32, height: u32) {
        *self.size.lock().unwrap() = (width, height);
        self.page
            .execute(SetDeviceMetricsOverrideParams::new(
                width,
                height,
                1.0,
                width < 600,
            ))
            .await
            .unwrap();
    }

    pub async fn visit(&self, url: &str) {
        self.page.goto(url).await.unwrap();
        self.page.wait_for_navigation().await.unwrap();
    }

    async fn eval<T: serde::de::DeserializeOwned>(&self, expression: &str) -> T {
        self.page
            .evaluate(expression)
            .await
            .unwrap()
            .into_value()
            .unwrap()
    }

    pub async fn path(&self) -> String {
        self.eval("location.pathname").await
    }

    /// The text of the first element matching `selector`, read in one evaluation: finding the
    /// node and then reading it could fail when the page replaced the node in between.
    pub async fn text(&self, selector: &str) -> String {
        let expression = format!(
            "(() => {{ const found = document.querySelector({}); return found ? found.innerText.trim() : null; }})()",
            serde_json::to_string(selector).unwrap()
        );
        let started = Instant::now();
        loop {
            // Evaluating during a navigation may fail; that is not yet the answer.
            if let Some(text) = self
                .page
                .evaluate(expression.as_str())
                .await
                .ok()
                .and_then(|result| result.into_value::<Option<String>>().ok())
                .flatten()
            {
                return text;
            }
            if started.elapsed() > WAIT_MAX {
                let body: String = self.eval("document.body.innerText").await;
                panic!("waited in vain for {selector}; the page reads:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn count(&self, selector: &str) -> usize {
        self.eval(&format!(
            "document.querySelectorAll({}).length",
            serde_json::to_string(selector).unwrap()
        ))
        .await
    }

    pub async fn type_into(&self, selector: &str, text: &str) {
        self.page
            .find_element(selector)
            .await
            .unwrap()
            .click()
            .await
            .unwrap()
            .type_str(text)
            .await
            .unwrap();
    }

    pub async fn click(&self, selector: &str) {
        self.page
            .find_element(selector)
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Clicks a button that submits a form and waits until the page at `path` has loaded.
    pub async fn submit(&self, selector: &str, path: &str) {
        self.click(selector).await;
        let expression = format!(
            "location.pathname === {} && document.readyState === 'complete'",
            serde_json::to_string(path).unwrap()
        );
        self.wait_until(&format!("the page {path}"), &expression)
            .await;
    }

    async fn wait_until(&self, what: &str, expression: &str) {
        let started = Instant::now();
        // Evaluating during a navigation may fail; that is not yet the answer.
        while !self
            .page
            .evaluate(expression)
            .await
            .ok()
            .and_then(|result| result.into_value::<bool>().ok())
            .unwrap_or(false)
        {
            if started.elapsed() > WAIT_MAX {
                let body: String = self.eval("document.body.innerText").await;
                panic!("waited in vain for {what}; the page reads:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_for_text(&self, selector: &str, text: &str) {
        let expression = format!(
            "(document.querySelector({0}) || {{}}).textContent === undefined ? false : document.querySelector({0}).textContent.trim() === {1}",
            serde_json::to_string(selector).unwrap(),
            serde_json::to_string(text).unwrap()
        );
        self.wait_until(&format!("{selector} to read {text}"), &expression)
            .await;
    }

    pub async fn wait_for_count(&self, selector: &str, count: usize) {
        let expression = format!(
            "document.querySelectorAll({}).length === {count}",
            serde_json::to_string(selector).unwrap()
        );
        self.wait_until(&format!("{count} of {selector}"), &expression)
            .await;
    }

    /// Chooses `files` in the file input at `selector`, as a person picking them would
    /// (`DOM.setFileInputFiles`).
    pub async fn set_files(&self, selector: &str, files: &[&std::path::Path]) {
        use chromiumoxide::cdp::browser_protocol::dom::SetFileInputFilesParams;
        let input = self.page.find_element(selector).await.unwrap();
        let mut params = SetFileInputFilesParams::new(
            files
                .iter()
                .map(|file| file.display().to_string())
                .collect(),
        );
        params.backend_node_id = Some(input.backend_node_id);
        self.page.execute(params).await.unwrap();
    }

    /// A full-page PNG under the test output directory: `…/tmp/screenshots/NAME.png`.
    pub async fn screenshot(&self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        self.page
            .save_screenshot(
                ScreenshotParams::builder()
                    .format(CaptureScreenshotFormat::Png)
                    .full_page(true)
                    .build(),
                &path,
            )
            .await
            .unwrap();
        let (width, height) = *self.size.lock().unwrap();
        self.resize(width, height).await;
        let bytes = std::fs::metadata(&path).unwrap().len();
        assert!(bytes > 1_000, "{} is a real picture", path.display());
        eprintln!("screenshot: {}", path.display());
    }
}
