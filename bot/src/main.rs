//! The `bot` binary: `bot load …` runs a load test and prints a table (and JSON with `--json`);
//! `bot echo …` mirrors one participant as N fake ones until Ctrl-C.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;
use url::Url;

use bot::churn::ChurnPlan;
use bot::echo::{self, EchoPlan};
use bot::target::{self, Server};
use bot::{LoadPlan, MediaShape};

#[derive(Debug, Parser)]
#[command(name = "bot", version, about = "videocall load generator and echo bot")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Rooms of publishers and subscribers; reports delivery, loss and latency.
    Load(LoadArgs),
    /// Mirror one participant's stream as N fake participants.
    Echo(EchoArgs),
    /// Open and close one-person rooms while sampling the server's memory.
    Churn(ChurnArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Transport {
    Websocket,
    Webtransport,
}

/// Which servers to join, shared by both commands.
#[derive(Debug, Args)]
struct ServerArgs {
    /// Server base URL(s): ws://host:port for WebSocket, https://host:port for WebTransport.
    /// Participants are spread over them round-robin.
    #[arg(long = "server", required = true, num_args = 1..)]
    servers: Vec<Url>,
    #[arg(long, value_enum, default_value = "websocket")]
    transport: Transport,
    /// WebTransport: the HTTP address of each server (same order as --server) to fetch its
    /// certificate hash from.
    #[arg(long = "cert-from")]
    cert_from: Vec<Url>,
    /// WebTransport: a certificate SHA-256 (hex) to trust for every server.
    #[arg(long)]
    cert_hash: Option<String>,
}

#[derive(Debug, Args)]
struct LoadArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Rooms.
    #[arg(long, default_value_t = 1)]
    rooms: usize,
    /// Publishers per room (they also receive).
    #[arg(long, default_value_t = 2)]
    publishers: usize,
    /// Subscribers per room.
    #[arg(long, default_value_t = 0)]
    subscribers: usize,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Connections opened per second.
    #[arg(long, default_value_t = 100.0)]
    ramp: f64,
    /// Seconds between everyone connected and the first packet.
    #[arg(long, default_value_t = 1.0)]
    settle: f64,
    /// Seconds receivers keep counting after the last packet.
    #[arg(long, default_value_t = 2.0)]
    drain: f64,
    /// Video frames per second (0: no video).
    #[arg(long, default_value_t = 30.0)]
    video_fps: f64,
    /// Seconds between key frames.
    #[arg(long, default_value_t = 5.0)]
    keyframe_secs: f64,
    /// Key frame payload bytes.
    #[arg(long, default_value_t = 40_000)]
    keyframe_bytes: usize,
    /// Delta frame payload bytes.
    #[arg(long, default_value_t = 3_000)]
    delta_bytes: usize,
    /// Audio packets per second (0: no audio).
    #[arg(long, default_value_t = 50.0)]
    audio_pps: f64,
    /// Audio payload bytes.
    #[arg(long, default_value_t = 100)]
    audio_bytes: usize,
    /// Seconds between publisher heartbeats (0: none).
    #[arg(long, default_value_t = 1.0)]
    publisher_heartbeat: f64,
    /// Seconds between subscriber heartbeats (0: none; large rooms of listeners).
    #[arg(long, default_value_t = 1.0)]
    subscriber_heartbeat: f64,
    /// Speak the old protocol (no `?ext=1`).
    #[arg(long)]
    plain: bool,
    /// WebTransport: one packet per stream, as old clients send (no `?streams=1`), to compare
    /// with the default length-prefixed packets on long-lived streams.
    #[arg(long)]
    one_packet_streams: bool,
    /// Prefix of room names.
    #[arg(long, default_value = "load")]
    room_prefix: String,
    /// Write the report as JSON here too.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct EchoArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The room.
    #[arg(long)]
    room: String,
    /// The participant whose stream is mirrored.
    #[arg(long)]
    echo_user: String,
    /// How many mirrors.
    #[arg(long, default_value_t = 5)]
    count: usize,
    /// User id prefix of the mirrors.
    #[arg(long, default_value = "echo")]
    prefix: String,
}

#[derive(Debug, Args)]
struct ChurnArgs {
    /// Server base URL (ws://host:port).
    #[arg(long)]
    server: Url,
    /// Rooms to open and close, one participant each.
    #[arg(long, default_value_t = 10_000)]
    rooms: usize,
    /// Rooms open at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Sample the server's resident memory after every this many rooms.
    #[arg(long, default_value_t = 1000)]
    sample_every: usize,
    /// The server's process id, when it runs on this machine (its memory is sampled).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Load(args) => load(args).await,
        Command::Echo(args) => echo(args).await,
        Command::Churn(args) => churn(args).await,
    }
}

async fn churn(args: ChurnArgs) -> anyhow::Result<()> {
    let plan = ChurnPlan {
        server: Server::WebSocket(args.server),
        rooms: args.rooms,
        concurrency: args.concurrency,
        sample_every: args.sample_every,
        server_status: args.server_pid.map(|pid| PathBuf::from(format!("/proc/{pid}/status"))),
    };
    let report = bot::churn::run(plan).await?;
    for sample in &report.samples {
        println!("after {:>7} rooms: server RSS {:>8} KiB", sample.rooms, sample.rss_kib);
    }
    println!(
        "{} rooms joined and left ({} failed) in {:.1} s",
        report.joined, report.failed, report.seconds
    );
    if let Some(path) = args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

async fn load(args: LoadArgs) -> anyhow::Result<()> {
    let secs = |s: f64| (s > 0.0).then(|| Duration::from_secs_f64(s));
    let mut plan = LoadPlan::new(servers(&args.server).await?);
    plan.rooms = args.rooms;
    plan.publishers = args.publishers;
    plan.subscribers = args.subscribers;
    plan.duration = Duration::from_secs_f64(args.duration.max(0.0));
    plan.ramp_per_sec = args.ramp;
    plan.settle = Duration::from_secs_f64(args.settle.max(0.0));
    plan.drain = Duration::from_secs_f64(args.drain.max(0.0));
    plan.publisher_heartbeat = secs(args.publisher_heartbeat);
    plan.subscriber_heartbeat = secs(args.subscriber_heartbeat);
    plan.ext = !args.plain;
    plan.wt_streams = !args.one_packet_streams;
    plan.room_prefix = args.room_prefix;
    plan.shape = MediaShape {
        video_fps: args.video_fps,
        keyframe_interval_secs: args.keyframe_secs,
        keyframe_bytes: args.keyframe_bytes,
        delta_bytes: args.delta_bytes,
        audio_pps: args.audio_pps,
        audio_bytes: args.audio_bytes,
    };
    let report = bot::run(plan).await?;
    println!("{report}");
    if let Some(path) = args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

async fn echo(args: EchoArgs) -> anyhow::Result<()> {
    let mut servers = servers(&args.server).await?;
    if servers.len() != 1 {
        bail!("echo joins one server");
    }
    let plan = EchoPlan {
        server: servers.remove(0),
        room: args.room,
        echo_user: args.echo_user,
        count: args.count,
        prefix: args.prefix,
        ramp_gap: Duration::from_millis(50),
    };
    println!("mirroring {} as {} participants; Ctrl-C to stop", plan.echo_user, plan.count);
    let stats = echo::run(plan, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    println!("received {}, echoed {}, refused {}", stats.received, stats.echoed, stats.refused);
    Ok(())
}

async fn servers(args: &ServerArgs) -> anyhow::Result<Vec<Server>> {
    let mut out = Vec::with_capacity(args.servers.len());
    for (i, url) in args.servers.iter().enumerate() {
        out.push(match args.transport {
            Transport::Websocket => Server::WebSocket(url.clone()),
            Transport::Webtransport => {
                let cert_hash = match (&args.cert_hash, args.cert_from.get(i)) {
                    (Some(hex), _) => Some(
                        target::parse_hex_hash(hex).context("--cert-hash is not 64 hex digits")?,
                    ),
                    (None, Some(http)) => {
                        Some(target::certificate_hash(http).await.with_context(|| {
                            format!("fetching the certificate hash from {http}")
                        })?)
                    }
                    (None, None) => None,
                };
                Server::WebTransport { url: url.clone(), cert_hash }
            }
        });
    }
    Ok(out)
}
