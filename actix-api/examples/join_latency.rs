//! Join latency: from opening a WebSocket to receiving the server's `Welcome`, for `joins`
//! sequential joins against an in-process all-in-one server, in open mode (`/lobby/{user}/{room}`)
//! and with `AUTH_REQUIRED` (`/lobby?token=T`, tokens minted beforehand, as a product's backend
//! would). The difference is what checking a token adds to a join. Prints p50/p99/mean and
//! appends one JSON line per mode to `bench/join-latency.jsonl`.
//!
//! ```sh
//! cargo run --release -p actix-api --example join_latency -- 1000
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use videocall_access::{Claims, Secrets};
use videocall_types::{DisplayName, RoomId, UserId};

const SECRET: &str = "join-latency benchmark secret, 32+ bytes";

#[tokio::main]
async fn main() {
    let joins: usize = std::env::args().nth(1).map_or(1000, |n| n.parse().expect("a count"));
    let mut lines = Vec::new();
    for mode in ["open", "token"] {
        let samples = run(mode, joins).await;
        let (p50, p99, mean) = summary(&samples);
        println!("{mode:>5}: {joins} joins, p50 {p50:.3} ms, p99 {p99:.3} ms, mean {mean:.3} ms");
        lines.push(format!(
            r#"{{"mode":"{mode}","joins":{joins},"p50_ms":{p50:.3},"p99_ms":{p99:.3},"mean_ms":{mean:.3}}}"#
        ));
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/join-latency.jsonl");
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    for line in lines {
        writeln!(file, "{line}").unwrap();
    }
}

/// Milliseconds each join took, in `mode`.
async fn run(mode: &str, joins: usize) -> Vec<f64> {
    let mut config = actix_api::Config::defaults();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.embedded_webtransport = Some(false);
    config.connections.max_connections_per_ip = config.connections.max_connections;
    if mode == "token" {
        config.access.auth_required = true;
        config.access.jwt_secret = Some(SECRET.into());
    }
    let http = std::net::TcpListener::bind(config.listen).unwrap();
    let addr = http.local_addr().unwrap();
    let listeners = actix_api::Listeners { http, webtransport: None };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(actix_api::run(listeners, config, async {
        let _ = stopped.await;
    }));
    let urls: Vec<String> = (0..joins)
        .map(|i| match mode {
            "token" => format!("ws://{addr}/lobby?token={}&ext=1", token(i)),
            _ => format!("ws://{addr}/lobby/user{i}/bench?ext=1"),
        })
        .collect();
    // Warm up: the first connections pay for lazy initialisation.
    for url in urls.iter().take(20) {
        join(url).await;
    }
    let mut samples = Vec::with_capacity(joins);
    for url in &urls {
        let start = Instant::now();
        let mut ws = join(url).await;
        samples.push(start.elapsed().as_secs_f64() * 1e3);
        let _ = ws.close(None).await;
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    samples
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects to `url` and waits for the first binary message (the `Welcome`).
async fn join(url: &str) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("the server accepts");
    let welcome = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(message) = ws.next().await {
            if let Message::Binary(_) = message.expect("a message") {
                return;
            }
        }
        panic!("closed before the welcome");
    });
    welcome.await.expect("a welcome within 5 s");
    ws
}

fn token(i: usize) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let secrets = Secrets::new(Some(SECRET), None).unwrap().unwrap();
    secrets.mint(&Claims {
        user: UserId::new(&format!("user{i}")).unwrap(),
        name: DisplayName::new(&format!("Participant №{i}")).unwrap(),
        meeting: RoomId::new("bench").unwrap(),
        issued_at: now,
        expires_at: now + 3600,
        host: false,
        publish: true,
    })
}

/// p50, p99 and mean of `samples` (milliseconds).
fn summary(samples: &[f64]) -> (f64, f64, f64) {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)];
    let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
    (at(0.50), at(0.99), mean)
}
