//! Joins a room from the command line and prints what happens: a smoke test for a running
//! server over either transport.
//!
//! ```sh
//! cargo run -p videocall-client --example join -- --user alice --room demo --transport webtransport
//! ```

use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;
use videocall_client::{Client, ClientOptions, Event, TransportChoice};
use videocall_types::{RoomId, UserId};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Transport {
    Websocket,
    Webtransport,
    Auto,
}

/// Join a videocall room and print its events.
#[derive(Debug, Parser)]
struct Args {
    /// The server's HTTP address (WebSocket and the certificate-hash endpoint).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: Url,
    /// The WebTransport address.
    #[arg(long, default_value = "https://127.0.0.1:4433")]
    webtransport: Url,
    #[arg(long, value_enum, default_value = "auto")]
    transport: Transport,
    #[arg(long)]
    user: String,
    #[arg(long)]
    room: String,
    /// Leave after this many seconds (0: stay until Ctrl-C).
    #[arg(long, default_value_t = 0)]
    seconds: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut websocket = args.server.clone();
    let scheme = if args.server.scheme() == "https" { "wss" } else { "ws" };
    websocket.set_scheme(scheme).map_err(|()| anyhow::anyhow!("bad --server URL"))?;
    let choice = match args.transport {
        Transport::Websocket => TransportChoice::WebSocket { url: websocket },
        Transport::Webtransport => TransportChoice::WebTransport {
            url: args.webtransport.clone(),
            cert_hash: Some(certificate_hash(&args.server).await?),
        },
        Transport::Auto => TransportChoice::Auto {
            webtransport: args.webtransport.clone(),
            cert_hash: certificate_hash(&args.server).await.ok(),
            websocket,
        },
    };
    let options = ClientOptions::new(UserId::new(&args.user)?, RoomId::new(&args.room)?, choice);
    let (handle, mut events, driver) = Client::new(options)?;
    tokio::spawn(driver);
    handle.set_enabled(false, false, false);

    let deadline = async {
        match args.seconds {
            0 => std::future::pending().await,
            s => tokio::time::sleep(Duration::from_secs(s)).await,
        }
    };
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => print(&event),
                None => break,
            },
            _ = tokio::signal::ctrl_c() => break,
            () = &mut deadline => break,
        }
    }
    handle.close();
    while let Some(event) = events.recv().await {
        print(&event);
    }
    Ok(())
}

fn print(event: &Event) {
    match event {
        Event::Packet { from, wrapper } => {
            println!("packet from {from:?}: {} bytes", wrapper.data.len())
        }
        other => println!("{other:?}"),
    }
}

/// Fetches the WebTransport certificate hash the server publishes for browsers.
async fn certificate_hash(server: &Url) -> anyhow::Result<[u8; 32]> {
    let host = server.host_str().context("--server has no host")?;
    let port = server.port_or_known_default().context("--server has no port")?;
    if server.scheme() != "http" {
        bail!("fetching the certificate hash needs a plain http:// --server");
    }
    let mut stream = tokio::net::TcpStream::connect((host, port)).await?;
    let request = format!(
        "GET /api/v1/webtransport/certificate-hash HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b).context("no HTTP body")?;
    let json: serde_json::Value =
        serde_json::from_str(body).context("certificate hash is not JSON")?;
    let bytes: Vec<u8> = json["value"]
        .as_array()
        .context("no certificate hash in the answer")?
        .iter()
        .filter_map(|v| v.as_u64().and_then(|b| u8::try_from(b).ok()))
        .collect();
    bytes.try_into().map_err(|_| anyhow::anyhow!("certificate hash is not 32 bytes"))
}
