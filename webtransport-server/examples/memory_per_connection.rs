//! Measures the server's memory per WebTransport connection under its limits: the server runs
//! in a child process (so the clients' own memory is not counted), N loopback connections each
//! hoard as many streams and bytes as the server grants, and the child's resident set size
//! (`VmRSS` in `/proc/<pid>/status`) is read before and after.
//!
//! `cargo run --release -p webtransport-server --example memory_per_connection -- 200`
//!
//! Every connection comes from a loopback address of its own (127.1.0.1, …) and joins a room of
//! its own (no fan-out), sends a heartbeat datagram every two seconds (so the relay's idle timer
//! does not end it), opens unidirectional streams until the server grants no more, and writes on
//! each, never finishing it and stopping short of the packet limit, until the server's flow
//! control blocks every write. Loopback only; ends by itself.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use anyhow::{Context, bail};
use protobuf::Message;
use videocall_relay::bus::LocalBus;
use videocall_relay::{Relay, RelayConfig};
use videocall_types::protos::media_packet::media_packet::MediaType;
use videocall_types::{MediaPacket, PacketType, PacketWrapper};
use webtransport_server::{Config, Identity};
use wtransport::endpoint::endpoint_side;
use wtransport::tls::Sha256Digest;
use wtransport::{ClientConfig, Connection, Endpoint, SendStream};

/// Connections opened when no count is given.
const DEFAULT_CONNECTIONS: usize = 200;

/// Bytes per write: a few QUIC packets.
const CHUNK: usize = 16 * 1024;

/// Pause before measuring a state (and how long an open waits for stream credit).
const SETTLED: Duration = Duration::from_secs(2);

/// A stream is full once the server granted no credit for this long. Credit comes back as the
/// server reads the stream in line, which waits for its bytes to arrive: on loopback with 200
/// connections sending at once, losses and retransmissions take seconds.
const BLOCKED: Duration = Duration::from_secs(5);

/// Longest the whole hoard may take.
const HOARD_DEADLINE: Duration = Duration::from_secs(60);

fn main() -> anyhow::Result<()> {
    let arg = std::env::args().nth(1);
    if arg.as_deref() == Some("serve") {
        return serve();
    }
    let connections = match arg {
        Some(n) => n.parse().context("usage: memory_per_connection [CONNECTIONS]")?,
        None => DEFAULT_CONNECTIONS,
    };
    let server = ServerProcess::spawn()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let result = runtime.block_on(measure(&server, connections));
    drop(server);
    result
}

/// The limits the measured server runs with: the defaults, except a stream deadline long
/// enough to measure the hoard at rest (the deadline bounds how long a hoard lasts, not its
/// size).
fn server_config() -> Config {
    Config { stream_timeout: Duration::from_secs(300), ..Config::default() }
}

/// The child: a server on a loopback port over an in-process bus; prints its address and
/// certificate hash, and stops when its standard input closes.
fn serve() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let config = server_config();
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        let identity = Identity::self_signed::<&str>(&[])?;
        println!("{} {}", socket.local_addr()?, identity.certificate_hash().to_hex());
        let relay_config =
            RelayConfig { max_packet_bytes: config.max_packet_bytes, ..RelayConfig::default() };
        let (relay, driver) = Relay::new(Arc::new(LocalBus::standalone()), relay_config);
        tokio::spawn(driver.run());
        let stdin_closed = async {
            let _ = tokio::task::spawn_blocking(|| std::io::stdin().lines().count()).await;
        };
        webtransport_server::run(socket, identity, config, relay, stdin_closed).await?;
        Ok(())
    })
}

/// The server child process; killed when dropped.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    hash: [u8; 32],
}

impl ServerProcess {
    fn spawn() -> anyhow::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout: ChildStdout = child.stdout.take().context("no child stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let (addr, hex) = line.trim().split_once(' ').context("child printed no address")?;
        Ok(Self { addr: addr.parse()?, hash: parse_hash(hex)?, child })
    }

    /// The child's resident set size in bytes.
    fn rss(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
        let kib: u64 = line.split_whitespace().nth(1).context("bad VmRSS")?.parse()?;
        Ok(kib * 1024)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_hash(hex: &str) -> anyhow::Result<[u8; 32]> {
    let mut hash = [0u8; 32];
    if hex.len() != 64 {
        bail!("certificate hash is not 32 bytes of hex");
    }
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)?;
    }
    Ok(hash)
}

async fn measure(server: &ServerProcess, n: usize) -> anyhow::Result<()> {
    // One connection first, so that what every server allocates once is in the baseline.
    let warm = connect(server, n).await?;
    settle().await;
    drop(warm);
    settle().await;
    let baseline = server.rss()?;

    let mut clients = Vec::with_capacity(n);
    for i in 0..n {
        clients.push(connect(server, i).await?);
    }
    let connections: Vec<Connection> = clients.iter().map(|(_, c)| c.clone()).collect();
    let heartbeats: Vec<_> =
        connections.iter().cloned().map(|c| tokio::spawn(heartbeat(c))).collect();
    settle().await;
    let idle = server.rss()?;

    let limits = server_config();
    let written = AtomicU64::new(0);
    let hoards = connections.iter().map(|c| hoard(c, limits.max_packet_bytes, &written));
    let streams = futures::future::join_all(hoards);
    let all: Vec<Vec<SendStream>> = tokio::time::timeout(HOARD_DEADLINE, streams)
        .await
        .context("the hoard did not settle in time")?;
    // What the clients wrote may still be in flight (or being retransmitted) to the server.
    let hoarded = steady_rss(server).await?;

    let closed =
        connections.iter().filter(|c| c.quic_connection().close_reason().is_some()).count();
    if let Some(reason) = connections.iter().find_map(|c| c.quic_connection().close_reason()) {
        eprintln!("{closed} connections closed during the measurement, e.g. {reason}");
    }
    let per = |rss: u64| rss.saturating_sub(baseline) as f64 / n as f64 / 1024.0;
    let stream_count: usize = all.iter().map(Vec::len).sum();
    println!("connections                  {n}");
    println!("server RSS baseline          {:.1} MiB", baseline as f64 / 1048576.0);
    println!("idle, per connection         {:.1} KiB", per(idle));
    println!("hoarding, per connection     {:.1} KiB", per(hoarded));
    println!("streams held, per connection {:.1}", stream_count as f64 / n as f64);
    println!(
        "bytes the server accepted    {:.1} KiB per connection",
        written.load(Relaxed) as f64 / n as f64 / 1024.0
    );
    println!(
        "limits: max_packet_bytes {} stream window {} receive window {} streams {}",
        limits.max_packet_bytes,
        limits.stream_receive_window(),
        limits.receive_window,
        limits.max_incoming_streams
    );
    for task in heartbeats {
        task.abort();
    }
    drop(all);
    drop(clients);
    Ok(())
}

/// Connects client `i` from a loopback address of its own (127.1.0.1, 127.1.0.2, …), as many
/// clients on many addresses would, so that a per-address connection cap does not refuse the
/// measurement. Each joins a room of its own.
async fn connect(
    server: &ServerProcess,
    i: usize,
) -> anyhow::Result<(Endpoint<endpoint_side::Client>, Connection)> {
    let [a, b, c] = [i / 62_500 % 250, i / 250 % 250, i % 250].map(|x| x as u8);
    let local = SocketAddr::from((Ipv4Addr::new(127, 1 + a, b, c + 1), 0));
    let config = ClientConfig::builder()
        .with_bind_address(local)
        .with_server_certificate_hashes([Sha256Digest::new(server.hash)])
        .build();
    let endpoint = Endpoint::client(config)?;
    let url = format!("https://127.0.0.1:{}/lobby/u{i}/room{i}", server.addr.port());
    let connection = endpoint.connect(url).await?;
    Ok((endpoint, connection))
}

/// The server's RSS once it stopped growing (three samples a second apart within 0.5%).
async fn steady_rss(server: &ServerProcess) -> anyhow::Result<u64> {
    let mut samples = vec![server.rss()?];
    while samples.len() < 60 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        samples.push(server.rss()?);
        if let [.., a, _, c] = samples[..]
            && c.abs_diff(a) * 200 <= a
        {
            return Ok(c);
        }
    }
    bail!("the server's memory did not settle: {samples:?}")
}

async fn settle() {
    tokio::time::sleep(SETTLED).await;
}

/// Keeps the relay's idle timer from closing a connection that never finishes a stream.
async fn heartbeat(connection: Connection) {
    let media = MediaPacket { media_type: MediaType::HEARTBEAT.into(), ..Default::default() };
    let packet = PacketWrapper {
        packet_type: PacketType::MEDIA.into(),
        data: media.write_to_bytes().unwrap_or_default(),
        ..Default::default()
    }
    .write_to_bytes()
    .unwrap_or_default();
    loop {
        let _ = connection.send_datagram(&packet);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Opens streams until the server grants no more and writes on all of them until its flow
/// control blocks every write; returns the streams, still open. The first stream is opened
/// and filled alone, so that it is the one the server reads (it holds a nearly full packet in
/// ours) while the others fill the connection window in quinn. (Were another stream the one
/// being read while the window is full, the server would wait for it until `stream_timeout`.)
async fn hoard(
    connection: &Connection,
    max_packet_bytes: usize,
    written: &AtomicU64,
) -> Vec<SendStream> {
    let chunk = vec![7u8; CHUNK];
    let mut streams = Vec::new();
    while let Ok(Ok(opening)) = tokio::time::timeout(SETTLED, connection.open_uni()).await {
        match opening.await {
            Ok(mut stream) => {
                if streams.is_empty() {
                    fill(&mut stream, &chunk, max_packet_bytes, written).await;
                    // Let the server take it up before the others compete for its window.
                    settle().await;
                }
                streams.push(stream);
            }
            Err(_) => break,
        }
    }
    let fills =
        streams.iter_mut().skip(1).map(|stream| fill(stream, &chunk, max_packet_bytes, written));
    futures::future::join_all(fills).await;
    streams
}

/// Writes on `stream` without finishing it, stopping short of the packet limit (a hoarder
/// holds bytes back; it does not send an oversized packet), until the server's flow control
/// blocks it.
async fn fill(stream: &mut SendStream, chunk: &[u8], max_packet_bytes: usize, written: &AtomicU64) {
    let mut sent = 0;
    while sent + chunk.len() < max_packet_bytes {
        match tokio::time::timeout(BLOCKED, stream.write(chunk)).await {
            Ok(Ok(n)) => {
                sent += n;
                written.fetch_add(n as u64, Relaxed);
            }
            _ => break,
        }
    }
}
