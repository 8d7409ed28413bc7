//! Test harness: the all-in-one server in-process on free ports, and the built `videocall-cli`
//! binary run as a child process whose output is collected.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// The all-in-one server on loopback (WebSocket + WebTransport), stopped on drop.
pub struct Server {
    pub http: SocketAddr,
    pub webtransport: SocketAddr,
    runtime: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// The server's `DATA_DIR`, removed with it.
    _data: tempfile::TempDir,
}

impl Server {
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    /// The server with `tweak` applied to its configuration.
    pub fn start_with(tweak: impl FnOnce(&mut actix_api::Config)) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let data = tempfile::tempdir().unwrap();
        let mut config = actix_api::Config::defaults();
        config.data_dir = data.path().to_owned();
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.webtransport_listen = "127.0.0.1:0".parse().unwrap();
        config.embedded_webtransport = Some(true);
        tweak(&mut config);
        let http = TcpListener::bind(config.listen).unwrap();
        let udp = UdpSocket::bind(config.webtransport_listen).unwrap();
        let (http_addr, wt_addr) = (http.local_addr().unwrap(), udp.local_addr().unwrap());
        let listeners = actix_api::Listeners { http, webtransport: Some(udp) };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        runtime.spawn(actix_api::run(listeners, config, async {
            let _ = stopped.await;
        }));
        let server =
            Self { http: http_addr, webtransport: wt_addr, runtime, stop: Some(stop), _data: data };
        let deadline = Instant::now() + Duration::from_secs(10);
        while http_get(server.http, "/healthz").map(|(s, _)| s) != Some(200) {
            assert!(Instant::now() < deadline, "the server never became healthy");
            std::thread::sleep(Duration::from_millis(25));
        }
        server
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.http)
    }

    pub fn wt_url(&self) -> String {
        format!("https://{}", self.webtransport)
    }

    /// The WebTransport certificate's SHA-256 in hex, from the server's own endpoint.
    pub fn cert_hash(&self) -> String {
        let (status, body) = http_get(self.http, "/api/v1/webtransport/certificate-hash").unwrap();
        assert_eq!(status, 200, "{body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        json["hex"].as_str().unwrap().to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((status, body))
}

/// A running `videocall-cli`; killed on drop if still running.
pub struct Cli {
    child: Child,
    stderr: Receiver<String>,
    seen: Vec<String>,
}

/// What a finished run printed.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Cli {
    pub fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_videocall-cli"))
            .args(args)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, stderr) = channel();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, stderr, seen: Vec::new() }
    }

    /// Runs to completion.
    pub fn run(args: &[&str]) -> Finished {
        Self::spawn(args).wait(Duration::from_secs(30))
    }

    /// Waits until a stderr line contains `needle`.
    pub fn wait_for(&mut self, needle: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.seen.iter().any(|l| l.contains(needle)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => {
                    panic!("no {needle:?} on stderr within {within:?}:\n{}", self.seen.join("\n"))
                }
            }
        }
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        assert!(status.unwrap().success());
    }

    /// Waits for the process to end (killing it after `within`) and collects its output.
    pub fn wait(mut self, within: Duration) -> Finished {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("videocall-cli did not finish within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stdout = String::new();
        self.child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(500)) {
            self.seen.push(line);
        }
        Finished { status, stdout, stderr: self.seen.join("\n") }
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of `key=` in a `key=value` summary line.
pub fn field(text: &str, key: &str) -> Option<String> {
    let prefix = format!("{key}=");
    text.split_whitespace().find_map(|w| w.strip_prefix(&prefix)).map(str::to_owned)
}

/// `field` parsed as a number; panics with the whole text when missing.
pub fn number(text: &str, key: &str) -> u64 {
    field(text, key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric {key}= in:\n{text}"))
}

/// A fresh empty directory for one test's recordings, removed on drop.
pub struct OutputDir(PathBuf);

impl std::ops::Deref for OutputDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh empty directory named after the test.
pub fn output_dir(name: &str) -> OutputDir {
    let dir = std::env::temp_dir().join(format!("videocall-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    OutputDir(dir)
}

/// The one file in `dir` with extension `ext` whose name starts with `user`.
pub fn recorded(dir: &Path, user: &str, ext: &str) -> PathBuf {
    let matches: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(user))
        .collect();
    assert_eq!(matches.len(), 1, "expected one {user}*.{ext} in {}: {matches:?}", dir.display());
    matches.into_iter().next().unwrap()
}
