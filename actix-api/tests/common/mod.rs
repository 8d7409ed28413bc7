//! Test harness: servers on port 0, a real nats-server, raw clients of both transports.

#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

pub mod nats;
pub mod packets;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One `actix-api` server on loopback, stopped (gracefully) on drop.
pub struct Server {
    pub http: SocketAddr,
    pub webtransport: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), actix_api::Error>>>,
    /// Its `DATA_DIR`.
    pub data: std::path::PathBuf,
    /// The server's own temporary `DATA_DIR`, unless the test gave one.
    _data: Option<tempfile::TempDir>,
}

impl Server {
    /// All-in-one server (in-process bus, embedded WebTransport, SQLite in a temporary data
    /// directory) with `tweak` applied.
    pub async fn start(tweak: impl FnOnce(&mut actix_api::Config)) -> Self {
        let data = tempfile::Builder::new().prefix("actix-api-test-").tempdir().unwrap();
        let mut server = Self::start_in(data.path(), tweak).await;
        server._data = Some(data);
        server
    }

    /// Like [`Server::start`] with the data directory `data` (kept after the server stops, so
    /// a test can start another one on it, as a restart would).
    pub async fn start_in(
        data: &std::path::Path,
        tweak: impl FnOnce(&mut actix_api::Config),
    ) -> Self {
        let mut config = actix_api::Config::defaults();
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.webtransport_listen = "127.0.0.1:0".parse().unwrap();
        config.data_dir = data.to_owned();
        // Servers of one test may share a database: each needs its own instance name, or the
        // second to start would close the first one's sessions as abandoned.
        config.instance_name = Some(unique_name("test"));
        tweak(&mut config);
        let http = TcpListener::bind(config.listen).unwrap();
        let webtransport = config
            .webtransport_enabled()
            .then(|| UdpSocket::bind(config.webtransport_listen).unwrap());
        let addrs =
            (http.local_addr().unwrap(), webtransport.as_ref().map(|s| s.local_addr().unwrap()));
        let listeners = actix_api::Listeners { http, webtransport };
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(actix_api::run(listeners, config, async {
            let _ = stopped.await;
        }));
        let server = Self {
            http: addrs.0,
            webtransport: addrs.1,
            stop: Some(stop),
            task: Some(task),
            data: data.to_owned(),
            _data: None,
        };
        server.wait_healthy().await;
        server
    }

    /// Server connected to NATS at `nats_url`, optionally with embedded WebTransport.
    pub async fn with_nats(nats_url: &str, webtransport: bool) -> Self {
        let url = nats_url.to_owned();
        Self::start(move |c| {
            c.nats_url = Some(url);
            c.embedded_webtransport = Some(webtransport);
        })
        .await
    }

    async fn wait_healthy(&self) {
        for _ in 0..200 {
            if matches!(self.get("/healthz").await, Ok((200, _))) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("server on {} never became healthy", self.http);
    }

    /// A plain HTTP/1.1 GET; returns status and body.
    pub async fn get(&self, path: &str) -> std::io::Result<(u16, String)> {
        http_get(self.http, path).await
    }

    /// The value of one Prometheus metric line (`name` includes any labels).
    pub async fn metric(&self, name: &str) -> u64 {
        let (_, body) = self.get("/metrics").await.unwrap();
        body.lines()
            .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("no metric {name}"))
            .trim()
            .parse()
            .unwrap()
    }

    /// Waits until `/readyz` answers `status`.
    pub async fn wait_ready(&self, status: u16, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline {
            if matches!(self.get("/readyz").await, Ok((s, _)) if s == status) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("/readyz never answered {status} within {within:?}");
    }

    /// The SHA-256 of the WebTransport certificate, from the server's own endpoint.
    pub async fn certificate_hash(&self) -> [u8; 32] {
        let (status, body) = self.get("/api/v1/webtransport/certificate-hash").await.unwrap();
        assert_eq!(status, 200, "{body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["algorithm"], "sha-256");
        let bytes: Vec<u8> =
            json["value"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u8).collect();
        bytes.try_into().unwrap()
    }

    /// Opens a WebSocket to `/lobby/{user}/{room}` (plus `?ext=1` when `ext`).
    pub async fn ws(&self, user: &str, room: &str, ext: bool) -> Ws {
        let query = if ext { "?ext=1" } else { "" };
        let url = format!("ws://{}/lobby/{user}/{room}{query}", self.http);
        tokio_tungstenite::connect_async(url).await.unwrap().0
    }

    /// Opens a WebSocket whose kernel receive buffer is tiny, so a client that stops reading
    /// pushes back on the server at once instead of after megabytes.
    pub async fn ws_small_buffer(&self, user: &str, room: &str) -> Ws {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(16 * 1024).unwrap();
        let stream = socket.connect(self.http).await.unwrap();
        let url = format!("ws://{}/lobby/{user}/{room}", self.http);
        let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
        tokio_tungstenite::client_async(url, stream).await.unwrap().0
    }

    /// Opens a WebTransport session to `/lobby/{user}/{room}` (plus `?ext=1` when `ext`).
    pub async fn wt(&self, user: &str, room: &str, ext: bool) -> wtransport::Connection {
        self.try_wt(user, room, ext).await.unwrap()
    }

    /// Like [`Server::wt`], with the error when the server refuses.
    pub async fn try_wt(
        &self,
        user: &str,
        room: &str,
        ext: bool,
    ) -> Result<wtransport::Connection, wtransport::error::ConnectingError> {
        let addr = self.webtransport.expect("WebTransport is not served here");
        let query = if ext { "?ext=1" } else { "" };
        let hash = self.certificate_hash().await;
        let config = wtransport::ClientConfig::builder()
            .with_bind_default()
            .with_server_certificate_hashes([wtransport::tls::Sha256Digest::new(hash)])
            .build();
        let endpoint = wtransport::Endpoint::client(config).unwrap();
        endpoint.connect(format!("https://{addr}/lobby/{user}/{room}{query}")).await
    }

    /// Opens a WebTransport session to `path` (e.g. `/lobby?token=...`).
    pub async fn wt_path(
        &self,
        path: &str,
    ) -> Result<wtransport::Connection, wtransport::error::ConnectingError> {
        let addr = self.webtransport.expect("WebTransport is not served here");
        let hash = self.certificate_hash().await;
        let config = wtransport::ClientConfig::builder()
            .with_bind_default()
            .with_server_certificate_hashes([wtransport::tls::Sha256Digest::new(hash)])
            .build();
        wtransport::Endpoint::client(config).unwrap().connect(format!("https://{addr}{path}")).await
    }

    /// Opens a WebSocket to `path`; the HTTP status of a refused upgrade is the error.
    pub async fn ws_path(&self, path: &str) -> Result<Ws, u16> {
        let url = format!("ws://{}{path}", self.http);
        match tokio_tungstenite::connect_async(url).await {
            Ok((ws, _)) => Ok(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(err) => panic!("websocket to {path}: {err}"),
        }
    }

    /// Stops the server gracefully and returns what `run` returned.
    pub async fn stop(mut self) -> Result<(), actix_api::Error> {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap()
    }
}

/// `{prefix}-{pid}-{n}`: a name no other call on this machine returns at the same time.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A plain HTTP/1.1 GET over TCP with `Connection: close`.
pub async fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut response))
        .await
        .map_err(|_| std::io::Error::other("timeout"))??;
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}

/// A plain HTTP/1.1 request with `headers` (`Name: value` lines) and a body; returns status,
/// response headers and body.
pub async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &str,
) -> std::io::Result<(u16, String, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut response))
        .await
        .map_err(|_| std::io::Error::other("timeout"))??;
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    Ok((status, head.to_owned(), body.to_owned()))
}

/// Sends one packet as a binary message.
pub async fn ws_send(ws: &mut Ws, packet: Vec<u8>) {
    ws.send(Message::Binary(packet.into())).await.unwrap();
}

/// The next binary message within `within`, skipping pings; `None` on timeout or close.
pub async fn ws_recv(ws: &mut Ws, within: Duration) -> Option<Vec<u8>> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let next = tokio::time::timeout_at(deadline, ws.next()).await.ok()??;
        match next.ok()? {
            Message::Binary(data) => return Some(data.to_vec()),
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

/// Reads until the server closes; returns the close code.
pub async fn ws_close_code(ws: &mut Ws) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.ok()?? {
            Ok(Message::Close(Some(frame))) => return Some(u16::from(frame.code)),
            Ok(Message::Close(None)) => return Some(u16::from(CloseCode::Status)),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

/// Sends one packet on its own unidirectional stream.
pub async fn wt_send(connection: &wtransport::Connection, packet: &[u8]) {
    let mut stream = connection.open_uni().await.unwrap().await.unwrap();
    stream.write_all(packet).await.unwrap();
    stream.finish().await.unwrap();
}

/// Sends bytes on their own unidirectional stream, accepting that the server may stop the stream
/// before it is finished (it does so to one longer than the packet limit, which QUIC flow
/// control already holds at the limit).
pub async fn wt_send_refusable(connection: &wtransport::Connection, bytes: &[u8]) {
    let mut stream = connection.open_uni().await.unwrap().await.unwrap();
    if stream.write_all(bytes).await.is_ok() {
        let _ = stream.finish().await;
    }
}

/// The next packet (one unidirectional stream) within `within`.
pub async fn wt_recv(connection: &wtransport::Connection, within: Duration) -> Option<Vec<u8>> {
    let mut stream = tokio::time::timeout(within, connection.accept_uni()).await.ok()?.ok()?;
    let mut packet = Vec::new();
    stream.read_to_end(&mut packet).await.ok()?;
    Some(packet)
}
