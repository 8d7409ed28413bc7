//! geckodriver as a child process, and headless Firefox sessions (Debian's `firefox-esr`) with
//! fake camera and microphone, driven through the same [`Page`] as Chromium.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::page::Page;
use crate::wait::{Check, wait_until};
use crate::{Browser, Error, Server, live_processes_in_group};

/// geckodriver as `cargo install geckodriver --version 0.37.1 --locked` puts it (see
/// `scripts/deps.sh`); `$GECKODRIVER` overrides.
const GECKODRIVER: &str = "geckodriver";
/// Debian's Firefox ESR (package `firefox-esr`); never a browser a test tool downloads.
const FIREFOX: &str = "/usr/bin/firefox-esr";
/// How long geckodriver may take to start listening.
const STARTUP: Duration = Duration::from_secs(20);
/// How long Drop waits for killed processes to be gone.
const KILL_WAIT: Duration = Duration::from_secs(5);
/// Lines of the log printed when a [`Firefox`] is dropped (shown for failed tests).
const LOG_TAIL_LINES: usize = 80;

/// Debian's PulseAudio (package `pulseaudio`): Firefox's audio output in the tests.
///
/// Firefox runs a Web Audio graph (and so the app's microphone capture through a
/// `ScriptProcessorNode`, and its playout) only while an audio output stream is open: with no
/// sound card, an `AudioContext` stays "suspended" for ever and its nodes never run. Test
/// machines have neither a sound card nor a sound server, so [`Firefox::start`] starts a
/// PulseAudio of its own with a null sink, which discards the samples at the real-time rate.
/// (ALSA's `null` device does not do: it takes samples as fast as they come, so the graph runs
/// many times faster than real time and eats the cores.)
const PULSEAUDIO: &str = "/usr/bin/pulseaudio";

/// Firefox's preferences, and why each is there.
fn firefox_prefs() -> serde_json::Value {
    json!({
        // Fake camera (an animated test pattern) and microphone (a tone) instead of devices.
        "media.navigator.streams.fake": true,
        // getUserMedia resolves without a permission prompt.
        "media.navigator.permission.disabled": true,
        // Remote audio (Web Audio and media elements) may play without a click.
        "media.autoplay.default": 0,
        "media.autoplay.block-webaudio": false,
        // Audio output through the PulseAudio that `Firefox::start` runs (see PULSEAUDIO).
        "media.cubeb.backend": "pulse",
        // The page's console messages go to Firefox's stdout, which geckodriver passes on to
        // its own output (kept in a file, printed for failed tests).
        "devtools.console.stdout.content": true,
        // No traffic to Mozilla's services; nothing else competing for the cores.
        "app.update.disabledForTesting": true,
        "browser.shell.checkDefaultBrowser": false,
        "datareporting.policy.dataSubmissionEnabled": false,
        "toolkit.telemetry.reportingpolicy.firstRun": false,
    })
}

/// A running geckodriver that opens one headless Firefox per [`Page`]. Dropping it kills
/// geckodriver's process group, so no Firefox outlives it.
///
/// It takes no machine-wide lock of its own: it runs beside a [`Browser`] (the Chromium
/// participants), which holds it (see [`Firefox::start`]).
pub struct Firefox {
    child: Child,
    pulseaudio: Child,
    url: String,
    dir: tempfile::TempDir,
    pages: AtomicUsize,
}

impl Firefox {
    /// Starts geckodriver on a free port. `_alongside` is the running [`Browser`] whose
    /// machine-wide lock keeps other browser tests off the machine meanwhile; keep it alive
    /// for as long as this.
    pub async fn start(_alongside: &Browser) -> Result<Self, Error> {
        let dir = tempfile::Builder::new().prefix("videocall-e2e-firefox-").tempdir()?;
        let log = File::create(dir.path().join("geckodriver.log"))?;
        let (mut pulseaudio, pulse_socket) = start_pulseaudio(dir.path()).await?;
        let program = std::env::var("GECKODRIVER").unwrap_or_else(|_| GECKODRIVER.to_owned());
        let spawned = Command::new(&program)
            .args(["--host", "127.0.0.1", "--port", "0", "--log", "info"])
            .arg("--profile-root")
            .arg(dir.path())
            // Inherited by every Firefox geckodriver starts.
            .env("PULSE_SERVER", format!("unix:{}", pulse_socket.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group: Drop kills geckodriver and every Firefox it started.
            .process_group(0)
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(source) => {
                let _ = pulseaudio.kill();
                let _ = pulseaudio.wait();
                return Err(Error::Spawn { what: "geckodriver", source });
            }
        };
        let mut firefox =
            Self { child, pulseaudio, url: String::new(), dir, pages: AtomicUsize::new(0) };
        let port = firefox.wait_for_port().await?;
        firefox.url = format!("http://127.0.0.1:{port}");
        Ok(firefox)
    }

    /// geckodriver logs "Listening on 127.0.0.1:N" once listening.
    async fn wait_for_port(&mut self) -> Result<u16, Error> {
        let log = self.dir.path().join("geckodriver.log");
        wait_until("geckodriver listens", STARTUP, async || {
            if let Some(status) = self.child.try_wait()? {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(Error::Spawn {
                    what: "geckodriver",
                    source: std::io::Error::other(format!("exited with {status}: {text}")),
                });
            }
            let text = std::fs::read_to_string(&log)?;
            let port = text
                .lines()
                .find_map(|line| line.split("Listening on ").nth(1))
                .and_then(|address| address.trim().rsplit(':').next()?.parse().ok());
            Ok(match port {
                Some(port) => Check::Done(port),
                None => Check::NotYet(format!("output so far: {text:?}")),
            })
        })
        .await
    }

    /// Opens a fresh headless Firefox (its own temporary profile) for pages of `server`.
    pub async fn page(&self, server: &Server) -> Result<Page, Error> {
        self.pages.fetch_add(1, Ordering::Relaxed);
        let profile = tempfile::Builder::new().prefix("profile-").tempdir_in(self.dir.path())?;
        let capabilities = json!({
            "browserName": "firefox",
            "moz:firefoxOptions": {
                "binary": FIREFOX,
                "args": ["-headless", "-profile", profile.path()],
                "prefs": firefox_prefs(),
            },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal");
        };
        // As in `Browser::page`: two rustls providers are linked, so name one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = fantoccini::ClientBuilder::rustls()?
            .capabilities(capabilities)
            .connect(&self.url)
            .await?;
        Ok(Page::new(client, server.base_url(), profile))
    }

    /// The process group of geckodriver and every Firefox process it started.
    pub fn process_group(&self) -> u32 {
        self.child.id()
    }

    /// The last lines of geckodriver's log: its own messages, Firefox's output and the pages'
    /// console messages (`console.*`), from every page it opened.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("geckodriver.log"));
        let text = text.unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    }
}

/// Starts PulseAudio with a null sink, answering on a socket in `dir` (its home and runtime
/// directory too, so nothing of the user's is touched); returns it and its socket once the
/// socket is there.
async fn start_pulseaudio(dir: &Path) -> Result<(Child, PathBuf), Error> {
    let socket = dir.join("pulse.sock");
    let log = File::create(dir.join("pulseaudio.log"))?;
    let mut child = Command::new(PULSEAUDIO)
        .args(["-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no"])
        .args(["--system=false", "--disable-shm=yes", "--log-target=stderr"])
        .arg("--load")
        .arg(format!("module-native-protocol-unix socket={} auth-anonymous=1", socket.display()))
        .args(["--load", "module-null-sink sink_name=null"])
        .env("HOME", dir)
        .env("XDG_RUNTIME_DIR", dir)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .map_err(|source| Error::Spawn { what: PULSEAUDIO, source })?;
    let up = wait_until("pulseaudio listens", STARTUP, async || {
        if let Some(status) = child.try_wait()? {
            let text = std::fs::read_to_string(dir.join("pulseaudio.log")).unwrap_or_default();
            return Err(Error::Spawn {
                what: PULSEAUDIO,
                source: std::io::Error::other(format!("exited with {status}: {text}")),
            });
        }
        Ok(if socket.exists() { Check::Done(()) } else { Check::NotYet("no socket yet".into()) })
    })
    .await;
    if let Err(error) = up {
        let _ = child.kill();
        let _ = child.wait();
        return Err(error);
    }
    Ok((child, socket))
}

impl Drop for Firefox {
    fn drop(&mut self) {
        // SIGKILL to the whole group (geckodriver is its leader), Firefox's processes with it.
        let group = self.child.id();
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{group}")]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let deadline = std::time::Instant::now() + KILL_WAIT;
        while !live_processes_in_group(group).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.pulseaudio.kill();
        let _ = self.pulseaudio.wait();
        // The test harness shows this only for failed tests.
        eprintln!("geckodriver log (Firefox output and console messages):\n{}", self.log_tail());
    }
}
