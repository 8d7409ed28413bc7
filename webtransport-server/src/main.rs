//! The WebTransport relay server for split deployments: QUIC on one port, health checks over
//! plain HTTP on another, and NATS between instances.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use videocall_access::cli::AccessArgs;
use videocall_relay::bus::{NatsBus, redact_url};
use videocall_relay::cli::{ConnectionArgs, LogArgs, NatsArgs};
use videocall_relay::{Relay, RelayConfig};
use webtransport_server::{Config, Identity, SelfSignedRenewal};

/// The longest health request read; anything longer is answered as a bad request.
const MAX_HEALTH_REQUEST: usize = 1024;

/// How long a health client gets to send its request line.
const HEALTH_READ_TIMEOUT: Duration = Duration::from_secs(2);

/// videocall's WebTransport (HTTP/3) relay server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// UDP address to serve WebTransport on.
    #[arg(long, env = "LISTEN_URL", default_value = "0.0.0.0:4433")]
    listen: SocketAddr,
    /// TCP address for `GET /healthz` (alive) and `GET /readyz` (NATS connected, not draining).
    #[arg(long, env = "HEALTH_LISTEN_URL", default_value = "0.0.0.0:4434")]
    health_listen: SocketAddr,
    /// NATS server URL(s), comma-separated; split deployments always relay through NATS.
    #[arg(long, env = "NATS_URL")]
    nats_url: String,
    /// NATS credentials and TLS.
    #[command(flatten)]
    nats: NatsArgs,
    /// Connection caps.
    #[command(flatten)]
    connections: ConnectionArgs,
    /// Tokens and AUTH_REQUIRED.
    #[command(flatten)]
    access: AccessArgs,
    /// Log format.
    #[command(flatten)]
    log: LogArgs,
    /// PEM certificate chain; with `--key-path`. Without both, a self-signed certificate is
    /// generated and its SHA-256 logged.
    #[arg(long, env = "CERT_PATH", requires = "key_path")]
    cert_path: Option<PathBuf>,
    /// PEM private key; with `--cert-path`.
    #[arg(long, env = "KEY_PATH", requires = "cert_path")]
    key_path: Option<PathBuf>,
    /// Extra host names or IPs for the self-signed certificate (besides localhost, 127.0.0.1, ::1).
    #[arg(long = "cert-name", env = "CERT_NAMES", value_delimiter = ',')]
    cert_names: Vec<String>,
    /// Largest packet a client may send, in bytes.
    #[arg(long, env = "MAX_PACKET_BYTES", default_value_t = 1_000_000)]
    max_packet_bytes: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    args.log.init();
    let access = args.access.access()?;

    let (identity, renewal) = identity(&args).await?;
    tracing::info!(url = %redact_url(&args.nats_url), "using NATS");
    let bus =
        NatsBus::connect(&args.nats.options(&args.nats_url)).await.context("connecting to NATS")?;
    let relay_config = RelayConfig {
        max_packet_bytes: args.max_packet_bytes,
        connections: args.connections.limits(),
        ..RelayConfig::default()
    };
    let config = Config { renewal, access, ..Config::from_relay(&relay_config) };
    let (relay, driver) = Relay::new(Arc::new(bus), relay_config);
    let driver = tokio::spawn(driver.run());

    let health = TcpListener::bind(args.health_listen)
        .await
        .with_context(|| format!("binding health listener {}", args.health_listen))?;
    tracing::info!(addr = %args.health_listen, "health listening");
    tokio::spawn(serve_health(health, relay.clone()));

    let socket = std::net::UdpSocket::bind(args.listen)
        .with_context(|| format!("binding {}", args.listen))?;
    let shutdown = {
        let relay = relay.clone();
        async move {
            signal().await;
            tracing::info!("shutting down: telling clients to reconnect elsewhere");
            relay.shutdown();
        }
    };
    webtransport_server::run(socket, identity, config, relay, shutdown).await?;
    // Every session is gone: the driver ends once it has published their `left` announcements.
    if tokio::time::timeout(Duration::from_secs(2), driver).await.is_err() {
        tracing::warn!("bus driver did not finish in time; some announcements may be lost");
    }
    Ok(())
}

/// The certificate from files, or a self-signed one and its renewal.
async fn identity(args: &Args) -> anyhow::Result<(Identity, Option<SelfSignedRenewal>)> {
    if let (Some(cert), Some(key)) = (&args.cert_path, &args.key_path) {
        let identity = Identity::load_pem(cert, key).await.context("loading certificate")?;
        tracing::info!(cert = %cert.display(), hash = %identity.certificate_hash(), "certificate loaded");
        return Ok((identity, None));
    }
    let (identity, renewal) =
        SelfSignedRenewal::start(args.cert_names.clone()).context("generating certificate")?;
    let hash = identity.certificate_hash();
    tracing::info!(
        hash = %hash.to_hex(),
        base64 = %hash.to_base64(),
        "self-signed certificate generated (valid 14 days, renewed every 12); give its hash to clients"
    );
    Ok((identity, Some(renewal)))
}

/// Resolves on SIGTERM or SIGINT.
async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot watch SIGTERM; only SIGINT stops the server")
            }
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Answers health checks until the process ends; one short task per check.
async fn serve_health(listener: TcpListener, relay: Relay) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(answer_health(stream, relay.clone()));
            }
            Err(error) => {
                tracing::warn!(%error, "health accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// A minimal HTTP/1.1 responder: reads the request line, answers, closes.
async fn answer_health(mut stream: TcpStream, relay: Relay) {
    let mut buf = [0u8; MAX_HEALTH_REQUEST];
    let mut len = 0;
    let read_line = async {
        while !buf[..len].contains(&b'\n') && len < buf.len() {
            match stream.read(&mut buf[len..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => len += n,
            }
        }
    };
    if tokio::time::timeout(HEALTH_READ_TIMEOUT, read_line).await.is_err() {
        return;
    }
    let line = buf[..len].split(|&b| b == b'\n').next().unwrap_or_default();
    let (status, body) = health_response(line, || relay.is_ready());
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Status line and body for a request line.
fn health_response(line: &[u8], ready: impl FnOnce() -> bool) -> (&'static str, &'static str) {
    let mut words = line.split(|&b| b == b' ');
    let (method, path) = (words.next(), words.next());
    match (method, path) {
        (Some(b"GET"), Some(b"/healthz")) => ("200 OK", "ok\n"),
        (Some(b"GET"), Some(b"/readyz")) if ready() => ("200 OK", "ready\n"),
        (Some(b"GET"), Some(b"/readyz")) => ("503 Service Unavailable", "not ready\n"),
        (Some(b"GET"), Some(_)) => ("404 Not Found", "not found\n"),
        _ => ("400 Bad Request", "bad request\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_answers_by_path_and_readiness() {
        assert_eq!(health_response(b"GET /healthz HTTP/1.1\r", || false).0, "200 OK");
        assert_eq!(health_response(b"GET /readyz HTTP/1.1\r", || true).0, "200 OK");
        assert_eq!(
            health_response(b"GET /readyz HTTP/1.1\r", || false).0,
            "503 Service Unavailable"
        );
        assert_eq!(health_response(b"GET /metrics HTTP/1.1\r", || true).0, "404 Not Found");
        assert_eq!(health_response(b"POST /healthz HTTP/1.1\r", || true).0, "400 Bad Request");
        assert_eq!(health_response(b"", || true).0, "400 Bad Request");
    }

    #[test]
    fn flags_parse_with_defaults() {
        let args =
            Args::try_parse_from(["webtransport-server", "--nats-url", "nats://n:4222"]).unwrap();
        assert_eq!(args.listen, "0.0.0.0:4433".parse().unwrap());
        assert_eq!(args.health_listen, "0.0.0.0:4434".parse().unwrap());
        assert_eq!(args.max_packet_bytes, 1_000_000);
        assert!(args.cert_path.is_none() && args.cert_names.is_empty());
        assert!(
            Args::try_parse_from(["webtransport-server", "--nats-url", "n", "--cert-path", "c"])
                .is_err()
        );
    }
}
