//! Measures a running server's worst-case memory per WebSocket connection: `pairs` rooms, each
//! with a receiver that never reads (a 4 KiB socket buffer, so the server cannot park data in
//! the kernel) and a publisher that sends video and audio as fast as the rate limit lets it, so
//! every receiver's queue fills to its bounds. Prints the server's resident memory before and
//! at the end (sampled before the slow-receiver timeout disconnects the receivers).
//!
//! ```sh
//! cargo run --release -p actix-api --example worst_case_memory -- 127.0.0.1:8080 <server pid> 100
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::SinkExt;
use protobuf::{Message as _, MessageField};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use videocall_types::{MediaPacket, MediaType, PacketType, PacketWrapper, RoutingHeader};

/// How long publishers send: under the default 10 s slow-receiver timeout.
const SEND_FOR: Duration = Duration::from_secs(7);

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("server status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A media packet with our routing header and `len` bytes of payload.
fn media(kind: MediaType, key: bool, seq: u64, len: usize) -> Vec<u8> {
    let inner = MediaPacket { media_type: kind.into(), data: vec![7; len], ..Default::default() };
    let route = RoutingHeader {
        media_type: kind.into(),
        keyframe: key,
        sequence: seq,
        ..Default::default()
    };
    PacketWrapper {
        packet_type: PacketType::MEDIA.into(),
        data: inner.write_to_bytes().unwrap(),
        route: MessageField::some(route),
        ..Default::default()
    }
    .write_to_bytes()
    .unwrap()
}

/// A WebSocket that is upgraded and then never read.
async fn deaf_receiver(server: SocketAddr, room: &str) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(server).await.unwrap();
    let request = format!(
        "GET /lobby/deaf/{room}?ext=1 HTTP/1.1\r\nHost: {server}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.unwrap();
    assert_eq!(&head[9..12], b"101", "not upgraded: {}", String::from_utf8_lossy(&head));
    stream
}

/// Sends key frames, deltas and audio at about the default per-connection byte rate.
async fn publisher(server: SocketAddr, room: String) {
    let url = format!("ws://{server}/lobby/loud/{room}");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let started = Instant::now();
    let mut seq = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    while started.elapsed() < SEND_FOR {
        tick.tick().await;
        // 64 KiB of video and one audio packet every 20 ms: ~3.4 MB/s, under the 4 MB/s limit.
        let packet = media(MediaType::VIDEO, seq % 50 == 0, seq, 64 * 1024);
        if ws.send(Message::Binary(packet.into())).await.is_err() {
            return;
        }
        let _ = ws.send(Message::Binary(media(MediaType::AUDIO, true, seq, 2000).into())).await;
        seq += 1;
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let server: SocketAddr = args.next().expect("server address").parse().unwrap();
    let pid: u32 = args.next().expect("server pid").parse().unwrap();
    let pairs: usize = args.next().map_or(100, |n| n.parse().unwrap());
    let before = rss_kib(pid);
    let mut deaf = Vec::with_capacity(pairs);
    for n in 0..pairs {
        deaf.push(deaf_receiver(server, &format!("hoard{n}")).await);
    }
    let joined = rss_kib(pid);
    let publishers: Vec<_> =
        (0..pairs).map(|n| tokio::spawn(publisher(server, format!("hoard{n}")))).collect();
    let mut peak = joined;
    let started = Instant::now();
    while started.elapsed() < SEND_FOR {
        tokio::time::sleep(Duration::from_millis(250)).await;
        peak = peak.max(rss_kib(pid));
    }
    for publisher in publishers {
        let _ = publisher.await;
    }
    let per = |kib: u64| kib as f64 / pairs as f64 / 1024.0;
    println!("server RSS before: {before} KiB");
    println!(
        "after {pairs} idle receivers joined: {joined} KiB ({:.3} MiB per connection)",
        per(joined.saturating_sub(before))
    );
    println!(
        "peak with every receiver's queue full ({pairs} receivers + {pairs} publishers): {peak} KiB \
         ({:.2} MiB per receiver)",
        per(peak.saturating_sub(joined))
    );
    drop(deaf);
}
