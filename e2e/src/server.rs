//! The all-in-one `actix-api` server, in-process on free loopback ports, on its own thread.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

use crate::Error;
use crate::wait::{Check, wait_until};

/// How long the server may take to answer `/healthz`.
const STARTUP: Duration = Duration::from_secs(10);

/// The repository's root directory (this crate's parent).
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The built browser app, `<repo>/yew-ui/dist`, or [`Error::UiNotBuilt`] if it has no
/// `index.html`.
pub fn app_dir() -> Result<PathBuf, Error> {
    let dir = repo_root().join("yew-ui").join("dist");
    if dir.join("index.html").is_file() {
        Ok(dir)
    } else {
        Err(Error::UiNotBuilt(dir.join("index.html")))
    }
}

type Outcome = Result<(), actix_api::Error>;

/// One all-in-one server (in-process bus, embedded WebTransport). Dropping it stops the server
/// and waits for its thread.
pub struct Server {
    http: SocketAddr,
    webtransport: Option<SocketAddr>,
    /// The server's `DATA_DIR` (meetings database, generated token secret), removed after it
    /// stops.
    _data: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<Outcome>>,
}

impl Server {
    /// Serves the built app from `yew-ui/dist`, with `tweak` applied to the configuration.
    pub async fn app(tweak: impl FnOnce(&mut actix_api::Config)) -> Result<Self, Error> {
        let dir = app_dir()?;
        Self::start(|config| {
            config.ui_dir = Some(dir);
            tweak(config);
        })
        .await
    }

    /// Serves the files of `dir` (with the same SPA fallback as the app).
    pub async fn static_dir(dir: &Path) -> Result<Self, Error> {
        let dir = dir.to_path_buf();
        Self::start(|config| config.ui_dir = Some(dir)).await
    }

    /// Starts a server on `127.0.0.1:0` (TCP and UDP) with `tweak` applied to the defaults.
    pub async fn start(tweak: impl FnOnce(&mut actix_api::Config)) -> Result<Self, Error> {
        let data = tempfile::Builder::new().prefix("e2e-server-").tempdir()?;
        let mut config = actix_api::Config::defaults();
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        config.webtransport_listen = SocketAddr::from(([127, 0, 0, 1], 0));
        config.data_dir = data.path().to_owned();
        // Browsers are gone when a test ends: do not wait 10 s for their connections.
        config.shutdown_timeout_secs = 1;
        tweak(&mut config);
        let http = TcpListener::bind(config.listen)?;
        let webtransport = config
            .webtransport_enabled()
            .then(|| UdpSocket::bind(config.webtransport_listen))
            .transpose()?;
        let http_addr = http.local_addr()?;
        let webtransport_addr = webtransport.as_ref().map(UdpSocket::local_addr).transpose()?;
        let listeners = actix_api::Listeners { http, webtransport };

        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("actix-api".into())
            .spawn(move || -> Outcome {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(actix_api::Error::Http)?;
                runtime.block_on(actix_api::run(listeners, config, async {
                    let _ = stopped.await;
                }))
            })
            .map_err(|source| Error::Spawn { what: "the server thread", source })?;
        let mut server = Self {
            http: http_addr,
            webtransport: webtransport_addr,
            stop: Some(stop),
            thread: Some(thread),
            _data: data,
        };
        server.wait_healthy().await?;
        Ok(server)
    }

    async fn wait_healthy(&mut self) -> Result<(), Error> {
        let addr = self.http;
        let thread = &mut self.thread;
        wait_until("the server answers /healthz", STARTUP, async || {
            if thread.as_ref().is_some_and(JoinHandle::is_finished) {
                let outcome = thread.take().map(JoinHandle::join);
                return Err(Error::Server(format!("stopped at start: {outcome:?}")));
            }
            Ok(match http_get(addr, "/healthz").await {
                Ok((200, _)) => Check::Done(()),
                other => Check::NotYet(format!("{other:?}")),
            })
        })
        .await
    }

    /// `http://127.0.0.1:{port}`, the base of page URLs.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.http)
    }

    /// The HTTP and WebSocket address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http
    }

    /// The embedded WebTransport (UDP) address, when this server serves WebTransport.
    pub fn webtransport_addr(&self) -> Option<SocketAddr> {
        self.webtransport
    }

    /// A plain HTTP GET of `path`: status and body.
    pub async fn get(&self, path: &str) -> Result<(u16, String), Error> {
        Ok(http_get(self.http, path).await?)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A plain HTTP/1.1 GET over TCP with `Connection: close`.
async fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut response))
        .await
        .map_err(|_| std::io::Error::other("no answer within 5 s"))??;
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}
