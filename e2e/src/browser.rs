//! chromedriver as a child process, and Chromium sessions with the flags the tests need.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::page::Page;
use crate::wait::{Check, wait_until};
use crate::{Error, Server};

/// Debian's chromedriver (package `chromium-driver`), built with the browser below.
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian's Chromium (package `chromium`); never a browser a test tool downloads.
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long chromedriver may take to start listening.
const STARTUP: Duration = Duration::from_secs(20);
/// Lines of each page's log printed when a [`Browser`] is dropped (shown for failed tests).
const LOG_TAIL_LINES: usize = 60;

/// How long Drop waits for killed processes to be gone.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// The processes of process group `group` that are still running (not zombies), from
/// `/proc/<pid>/stat`.
pub fn live_processes_in_group(group: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return vec![] };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // `pid (comm) state ppid pgrp …`; comm may contain spaces, so split after ')'.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let mut fields =
                stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default().split_whitespace();
            let state = fields.next();
            let pgrp = fields.nth(1).and_then(|g| g.parse::<u32>().ok());
            pgrp == Some(group) && state != Some("Z")
        })
        .collect()
}

/// Chromium's flags, and why each is there.
fn chromium_args(profile: &Path, log: &Path) -> Vec<String> {
    [
        // New headless mode: the real browser, no display needed.
        "--headless",
        // Tests run as root here; Chromium refuses to sandbox as root.
        "--no-sandbox",
        "--no-first-run",
        // Fake camera (640×480 test pattern), fake microphone (beeps) and, for getDisplayMedia,
        // a fake screen ("screen:-3:0", animated test pattern).
        "--use-fake-device-for-media-stream",
        // Grants camera/microphone and answers the screen picker with that fake screen, without
        // a prompt. In headless mode this is the only way getDisplayMedia resolves: the
        // `--auto-select-*-capture-source` flags leave it waiting for a picker that never shows.
        "--use-fake-ui-for-media-stream",
        // No traffic to Google services; nothing else competing for the 2 cores.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        // Remote audio may play without a click.
        "--autoplay-policy=no-user-gesture-required",
        // The browser's log, with the page's console messages, goes to a file per page
        // (chromedriver does not pass Chromium's stderr on).
        "--enable-logging",
        "--v=0",
        // QUIC is left enabled (no `--disable-quic`): WebTransport needs it.
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([
        format!("--user-data-dir={}", profile.display()),
        format!("--log-file={}", log.display()),
    ])
    .collect()
}

/// A running chromedriver that opens one Chromium per [`Page`]. Dropping it kills chromedriver's
/// process group, so no Chromium outlives it.
///
/// Only one `Browser` runs at a time on a machine (a file lock, waited for in
/// [`Browser::start`]): several video calls in parallel on 2 cores would make the liveness
/// limits of the tests meaningless.
pub struct Browser {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
    pages: AtomicUsize,
    _exclusive: File,
}

impl Browser {
    /// Waits for the machine-wide browser lock, then starts chromedriver on a free port.
    pub async fn start() -> Result<Self, Error> {
        let lock_path = std::env::temp_dir().join("videocall-e2e-browser.lock");
        let exclusive = tokio::task::spawn_blocking(move || -> std::io::Result<File> {
            let file = File::options().create(true).truncate(false).write(true).open(lock_path)?;
            file.lock()?;
            Ok(file)
        })
        .await
        .map_err(std::io::Error::other)??;

        let dir = tempfile::Builder::new().prefix("videocall-e2e-").tempdir()?;
        let stdout = File::create(dir.path().join("chromedriver.out"))?;
        let stderr = File::create(dir.path().join("chromedriver.log"))?;
        let child = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            // Its own process group: Drop kills chromedriver and every browser it started.
            .process_group(0)
            .spawn()
            .map_err(|source| Error::Spawn { what: CHROMEDRIVER, source })?;
        let mut browser = Self {
            child,
            url: String::new(),
            dir,
            pages: AtomicUsize::new(0),
            _exclusive: exclusive,
        };
        let port = browser.wait_for_port().await?;
        browser.url = format!("http://127.0.0.1:{port}");
        Ok(browser)
    }

    /// chromedriver prints "ChromeDriver was started successfully on port N." once listening.
    async fn wait_for_port(&mut self) -> Result<u16, Error> {
        let out = self.dir.path().join("chromedriver.out");
        wait_until("chromedriver listens", STARTUP, async || {
            if let Some(status) = self.child.try_wait()? {
                return Err(Error::Chromedriver(format!("exited with {status}")));
            }
            let text = std::fs::read_to_string(&out)?;
            let port = text
                .lines()
                .find_map(|line| line.split("started successfully on port ").nth(1))
                .and_then(|rest| rest.trim_end_matches('.').trim().parse().ok());
            Ok(match port {
                Some(port) => Check::Done(port),
                None => Check::NotYet(format!("output so far: {text:?}")),
            })
        })
        .await
    }

    /// Opens a fresh Chromium (its own temporary profile) for pages of `server`.
    pub async fn page(&self, server: &Server) -> Result<Page, Error> {
        let n = self.pages.fetch_add(1, Ordering::Relaxed);
        let profile = tempfile::Builder::new().prefix("profile-").tempdir_in(self.dir.path())?;
        let log = self.dir.path().join(format!("page-{n}.log"));
        let args = chromium_args(profile.path(), &log);
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal");
        };
        // Two rustls crypto providers are linked (ring for WebTransport, aws-lc-rs through
        // fantoccini), so rustls cannot pick one itself; chromedriver is plain HTTP anyway.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = fantoccini::ClientBuilder::rustls()?
            .capabilities(capabilities)
            .connect(&self.url)
            .await?;
        Ok(Page::new(client, server.base_url(), profile))
    }

    /// The process group of chromedriver and every Chromium process it started.
    pub fn process_group(&self) -> u32 {
        self.child.id()
    }

    /// The page's console messages and Chromium's errors from each page's log, numbered in
    /// the order the pages were opened (D-Bus noise of a machine without a desktop left out).
    pub fn page_logs(&self) -> String {
        let mut out = String::new();
        for n in 0..self.pages.load(Ordering::Relaxed) {
            let text = std::fs::read_to_string(self.dir.path().join(format!("page-{n}.log")));
            let text = text.unwrap_or_default();
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| {
                    l.contains(":CONSOLE") || (l.contains(":ERROR:") && !l.contains("dbus"))
                })
                .collect();
            let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
            out.push_str(&format!("--- page {n} ---\n{}\n", tail.join("\n")));
        }
        out
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // SIGKILL to the whole group (chromedriver is its leader): every Chromium process it
        // launched goes too, even if a test failed before closing its pages.
        let group = self.child.id();
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{group}")]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        // SIGKILL is delivered asynchronously: wait (briefly) until the group is really gone,
        // so the next test starts on an idle machine.
        let deadline = std::time::Instant::now() + KILL_WAIT;
        while !live_processes_in_group(group).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        // The test harness shows this only for failed tests.
        eprintln!("browser logs (console messages and errors):\n{}", self.page_logs());
    }
}
