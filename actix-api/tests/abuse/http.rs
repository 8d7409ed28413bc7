//! The HTTP surface: forged hosts, forwarded headers, plain GETs of the lobby, security headers
//! and the WebSocket origin check.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::common::{Server, Ws, ws_recv};

/// A response as read off the wire: status, headers (names lower-cased) and body.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// Sends `GET path` with exactly `headers` (raw bytes, so anything a client could send) and
/// reads the whole response; an error means the server reset or never answered.
async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &[u8])]) -> std::io::Result<Response> {
    let mut request = format!("GET {path} HTTP/1.1\r\n").into_bytes();
    for (name, value) in headers {
        request.extend_from_slice(format!("{name}: ").as_bytes());
        request.extend_from_slice(value);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"Connection: close\r\n\r\n");
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(&request).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut raw))
        .await
        .map_err(|_| std::io::Error::other("timeout"))??;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) =
        text.split_once("\r\n\r\n").ok_or_else(|| std::io::Error::other("no response"))?;
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok());
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Response { status: status.unwrap_or(0), headers, body: body.to_owned() })
}

/// `GET /api/v1/config` with `Host: <the server>` and `extra` headers.
async fn config_with(server: &Server, extra: &[(&str, &[u8])]) -> std::io::Result<Response> {
    let host = server.http.to_string();
    let mut headers = vec![("Host", host.as_bytes())];
    headers.extend_from_slice(extra);
    get(server.http, "/api/v1/config", &headers).await
}

/// Hosts no client should send: unbalanced brackets, too many colons, 10 KB, not UTF-8.
fn forged_hosts() -> Vec<Vec<u8>> {
    let mut hosts: Vec<Vec<u8>> = ["[", "[::1", "a:b:c", "[::1]:x", "user@evil:80"]
        .iter()
        .map(|h| h.as_bytes().to_vec())
        .collect();
    hosts.push(vec![b'a'; 10 * 1024]);
    hosts.push(b"caf\xc3\xa9\xff\xfe:80".to_vec());
    hosts
}

async fn assert_still_serving(server: &Server) {
    let response = config_with(server, &[]).await.expect("the server still answers");
    assert_eq!(response.status, 200, "{}", response.body);
}

#[tokio::test]
async fn forged_host_headers_get_a_400_and_the_server_keeps_serving() {
    let server = Server::start(|_| {}).await;
    for host in forged_hosts() {
        let response = get(server.http, "/api/v1/config", &[("Host", &host)]).await;
        let response = response.unwrap_or_else(|e| panic!("Host {host:?}: no answer: {e}"));
        assert_eq!(response.status, 400, "Host {host:?}: {}", response.body);
        assert!(response.json()["error"].is_string());
        assert_still_serving(&server).await;
    }
    let refused = forged_hosts().len() as u64;
    assert_eq!(server.metric("videocall_http_refused_total{reason=\"bad_host\"}").await, refused);
}

#[tokio::test]
async fn forged_forwarded_hosts_are_ignored_by_default_and_refused_when_trusted() {
    let default = Server::start(|_| {}).await;
    let trusting = Server::start(|c| c.trust_forwarded_headers = true).await;
    for host in forged_hosts() {
        for header in ["X-Forwarded-Host", "Forwarded"] {
            let value = if header == "Forwarded" {
                [b"host=".as_slice(), &host].concat()
            } else {
                host.clone()
            };
            let ignored = config_with(&default, &[(header, &value)]).await.unwrap();
            assert_eq!(ignored.status, 200, "{header} {host:?}: {}", ignored.body);
            assert_eq!(ignored.json()["websocket_url"], format!("ws://{}", default.http));
            let refused = config_with(&trusting, &[(header, &value)]).await;
            let refused = refused.unwrap_or_else(|e| panic!("{header} {host:?}: no answer: {e}"));
            assert_eq!(refused.status, 400, "{header} {host:?}: {}", refused.body);
            assert_still_serving(&default).await;
            assert_still_serving(&trusting).await;
        }
    }
}

#[tokio::test]
async fn forwarded_headers_are_ignored_by_default() {
    let server = Server::start(|_| {}).await;
    let forged: &[(&str, &[u8])] = &[
        ("X-Forwarded-Host", b"evil.example"),
        ("X-Forwarded-Proto", b"https"),
        ("Forwarded", b"host=evil.example;proto=https"),
    ];
    let config = config_with(&server, forged).await.unwrap().json();
    assert_eq!(config["websocket_url"], format!("ws://{}", server.http));
    let wt_port = server.webtransport.unwrap().port();
    assert_eq!(config["webtransport_url"], format!("https://127.0.0.1:{wt_port}"));
}

#[tokio::test]
async fn forwarded_headers_are_honoured_with_trust_forwarded_headers() {
    let server = Server::start(|c| c.trust_forwarded_headers = true).await;
    let wt_port = server.webtransport.unwrap().port();
    let x_forwarded: &[(&str, &[u8])] =
        &[("X-Forwarded-Host", b"meet.example, proxy.internal"), ("X-Forwarded-Proto", b"https")];
    let config = config_with(&server, x_forwarded).await.unwrap().json();
    assert_eq!(config["websocket_url"], "wss://meet.example");
    assert_eq!(config["webtransport_url"], format!("https://meet.example:{wt_port}"));

    let forwarded: &[(&str, &[u8])] =
        &[("Forwarded", b"for=192.0.2.1;host=\"[::1]:8443\";proto=https")];
    let config = config_with(&server, forwarded).await.unwrap().json();
    assert_eq!(config["websocket_url"], "wss://[::1]:8443");
    assert_eq!(config["webtransport_url"], format!("https://[::1]:{wt_port}"));

    let bad_proto: &[(&str, &[u8])] = &[("X-Forwarded-Proto", b"gopher")];
    assert_eq!(config_with(&server, bad_proto).await.unwrap().status, 400);
}

/// Reads everything `ws` is sent until it has been quiet for `quiet`.
async fn drain(ws: &mut Ws, quiet: Duration) {
    while ws_recv(ws, quiet).await.is_some() {}
}

#[tokio::test]
async fn plain_gets_of_the_lobby_send_a_participant_in_the_room_nothing() {
    let server = Server::start(|_| {}).await;
    let mut alice = server.ws("alice", "quiet", true).await;
    drain(&mut alice, Duration::from_millis(300)).await;
    let sessions = server.metric("videocall_sessions_total").await;
    let published = server.metric("videocall_bus_published_total").await;
    let host = server.http.to_string();

    let mut plain = Vec::new();
    for _ in 0..100 {
        plain.push(get(server.http, "/lobby/mallory/quiet", &[("Host", host.as_bytes())]).await);
    }
    // Half a handshake is no handshake either: no Connection, an old version, no or a bad key.
    let upgrade = ("Upgrade", b"websocket".as_slice());
    let connection = ("Connection", b"Upgrade".as_slice());
    let key = ("Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ==".as_slice());
    let v13 = ("Sec-WebSocket-Version", b"13".as_slice());
    let broken: [&[(&str, &[u8])]; 4] = [
        &[upgrade, key, v13],
        &[upgrade, connection, key, ("Sec-WebSocket-Version", b"8")],
        &[upgrade, connection, v13],
        &[upgrade, connection, v13, ("Sec-WebSocket-Key", b"short")],
    ];
    let mut half = Vec::new();
    for headers in broken {
        let mut headers = headers.to_vec();
        headers.push(("Host", host.as_bytes()));
        half.push(get(server.http, "/lobby/mallory/quiet", &headers).await);
    }

    assert_eq!(ws_recv(&mut alice, Duration::from_secs(1)).await, None, "alice was sent a frame");
    assert_eq!(server.metric("videocall_sessions_total").await, sessions);
    assert_eq!(server.metric("videocall_bus_published_total").await, published);
    for response in plain.into_iter().map(Result::unwrap) {
        assert_eq!(response.status, 426, "{}", response.body);
        assert_eq!(response.header("upgrade"), Some("websocket"));
    }
    for response in half.into_iter().map(Result::unwrap) {
        assert_eq!(response.status, 400, "{}", response.body);
    }
    assert_eq!(server.metric("videocall_http_refused_total{reason=\"not_websocket\"}").await, 100);
    assert_eq!(server.metric("videocall_http_refused_total{reason=\"bad_handshake\"}").await, 4);
}

/// Removes a temporary UI directory when dropped.
struct TempUi(std::path::PathBuf);

impl TempUi {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("videocall-abuse-ui-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "<!doctype html><title>ui</title>").unwrap();
        Self(dir)
    }
}

impl Drop for TempUi {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn assert_security_headers(path: &str, response: &Response) {
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"), "{path}");
    assert_eq!(response.header("x-frame-options"), Some("DENY"), "{path}");
    assert_eq!(response.header("referrer-policy"), Some("no-referrer"), "{path}");
    let csp =
        response.header("content-security-policy").unwrap_or_else(|| panic!("{path}: no CSP"));
    for directive in
        ["script-src 'self' 'wasm-unsafe-eval'", "frame-ancestors 'none'", "object-src 'none'"]
    {
        assert!(csp.contains(directive), "{path}: {csp}");
    }
    assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{path}: {csp}");
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let server = Server::start(|_| {}).await;
    let host = server.http.to_string();
    let host = [("Host", host.as_bytes())];
    for path in
        ["/", "/status.js", "/api/v1/config", "/healthz", "/metrics", "/lobby/a/b", "/lobby/a.b/c"]
    {
        let response = get(server.http, path, &host).await.unwrap();
        assert_security_headers(path, &response);
    }

    let ui = TempUi::new();
    let dir = ui.0.clone();
    let server = Server::start(move |c| c.ui_dir = Some(dir)).await;
    let host = server.http.to_string();
    for path in ["/", "/index.html", "/meeting/some-room"] {
        let response = get(server.http, path, &[("Host", host.as_bytes())]).await.unwrap();
        assert_eq!(response.status, 200, "{path}");
        assert_security_headers(path, &response);
    }
}

/// Opens a WebSocket to `/lobby/{user}/r` with `origin`; the HTTP status of a refusal.
async fn ws_with_origin(server: &Server, user: &str, origin: Option<&str>) -> Result<Ws, u16> {
    let mut request = format!("ws://{}/lobby/{user}/r", server.http).into_client_request().unwrap();
    if let Some(origin) = origin {
        request.headers_mut().insert("Origin", HeaderValue::from_str(origin).unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(err) => panic!("{origin:?}: {err}"),
    }
}

#[tokio::test]
async fn websocket_upgrades_are_refused_from_foreign_origins_only() {
    let server = Server::start(|_| {}).await;
    let sessions = server.metric("videocall_sessions_total").await;
    assert_eq!(
        ws_with_origin(&server, "mallory", Some("https://evil.example")).await.err(),
        Some(403)
    );
    assert_eq!(ws_with_origin(&server, "mallory", Some("null")).await.err(), Some(403));
    assert_eq!(
        server.metric("videocall_sessions_total").await,
        sessions,
        "a refused upgrade joined"
    );
    assert_eq!(server.metric("videocall_http_refused_total{reason=\"origin\"}").await, 2);

    let own = format!("http://{}", server.http);
    for origin in
        [None, Some("http://localhost:3000"), Some("http://[::1]:8080"), Some(own.as_str())]
    {
        assert!(ws_with_origin(&server, "alice", origin).await.is_ok(), "{origin:?} refused");
    }
}

#[tokio::test]
async fn allowed_origins_replace_the_localhost_default() {
    let server =
        Server::start(|c| c.allowed_origins = "https://meet.example".parse().unwrap()).await;
    assert!(ws_with_origin(&server, "alice", Some("https://meet.example")).await.is_ok());
    assert!(ws_with_origin(&server, "bob", None).await.is_ok());
    let own = format!("http://{}", server.http);
    assert!(ws_with_origin(&server, "carol", Some(&own)).await.is_ok());
    assert_eq!(
        ws_with_origin(&server, "mallory", Some("http://localhost:3000")).await.err(),
        Some(403)
    );
    assert_eq!(
        ws_with_origin(&server, "mallory", Some("https://evil.example")).await.err(),
        Some(403)
    );
}
