//! The server's configuration: one clap struct, flags with environment fallbacks.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use videocall_access::cli::AccessArgs;
use videocall_relay::cli::{ConnectionArgs, LogArgs, NatsArgs};
use videocall_relay::{OutboxLimits, RateLimit, RelayConfig};

use crate::origin::AllowedOrigins;

/// Command line and environment of `actix-api`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "actix-api",
    version,
    about = "videocall relay server (WebSocket, and WebTransport in all-in-one mode)"
)]
pub struct Config {
    /// Without a command: run the server.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address for HTTP and WebSocket.
    #[arg(long, env = "LISTEN_ADDR", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,

    /// NATS server(s), e.g. nats://nats:4222. Without it the server runs all-in-one: an
    /// in-process bus and the WebTransport listener in this process.
    #[arg(long, env = "NATS_URL")]
    pub nats_url: Option<String>,

    /// NATS credentials and TLS.
    #[command(flatten)]
    pub nats: NatsArgs,

    /// Connection caps.
    #[command(flatten)]
    pub connections: ConnectionArgs,

    /// Tokens and AUTH_REQUIRED.
    #[command(flatten)]
    pub access: AccessArgs,

    /// Log format.
    #[command(flatten)]
    pub log: LogArgs,

    /// The meetings database: `postgres://user:password@host/db` for PostgreSQL, which every
    /// instance of a scaled-out deployment shares. Unset: an embedded SQLite file,
    /// `DATA_DIR/videocall.db`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Where this server keeps its files: the SQLite database (without DATABASE_URL) and the
    /// generated token secret `jwt-secret` (without JWT_SECRET / JWT_SECRETS). Created if
    /// missing.
    #[arg(long, env = "DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// This server's name in the participants history; it must stay the same across restarts
    /// (a host name, a StatefulSet pod name) and differ between instances sharing a database:
    /// on start, the sessions this name left open are closed as abandoned. Default: the host
    /// name.
    #[arg(long, env = "INSTANCE_NAME")]
    pub instance_name: Option<String>,

    /// Requests per minute one client address (an IPv6 /64) may make to each public meeting
    /// endpoint: creating meetings, asking to join, reading a meeting and polling the waiting
    /// room. A burst of that many, then one every 60/N seconds; over it, 429. 0 turns the limit
    /// off.
    #[arg(long, env = "MEETING_API_RATE_PER_MINUTE", default_value_t = 60)]
    pub meeting_api_rate_per_minute: u32,

    /// How long tokens from the meeting API stay valid (a reconnect after that needs a new
    /// one): 90s, 15m, 12h, 7d (at most 7 days).
    #[arg(long, env = "MEETING_TOKEN_TTL", default_value = "12h", value_parser = crate::tokens::parse_ttl)]
    pub meeting_token_ttl: Duration,

    /// Operator API key: `POST /api/v1/tokens` with `Authorization: Bearer <API_KEY>` mints
    /// join tokens, so a product can plug its own login in; with it, `POST /api/v1/meetings`
    /// may choose the meeting id. Unset: that endpoint answers 404.
    /// At least 32 characters.
    #[arg(long, env = "API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,

    /// Serve WebTransport from this process too. Defaults to on without NATS_URL (all-in-one)
    /// and off with it (split deployments run webtransport-server).
    /// Accepts 1/0, true/false, yes/no, on/off.
    #[arg(long, env = "EMBEDDED_WEBTRANSPORT", value_parser = clap::builder::BoolishValueParser::new())]
    pub embedded_webtransport: Option<bool>,

    /// UDP address of the embedded WebTransport listener.
    #[arg(long, env = "WEBTRANSPORT_LISTEN_ADDR", default_value = "0.0.0.0:4433")]
    pub webtransport_listen: SocketAddr,

    /// PEM certificate for WebTransport; without it a self-signed one (valid 14 days) is made
    /// at start and its hash served at /api/v1/webtransport/certificate-hash.
    #[arg(long, env = "CERT_PATH", requires = "key_path")]
    pub cert_path: Option<PathBuf>,

    /// PEM private key for --cert-path.
    #[arg(long, env = "KEY_PATH", requires = "cert_path")]
    pub key_path: Option<PathBuf>,

    /// Directory with the built web UI, served with a fallback to its index.html. Without it, a
    /// built-in status page is served.
    #[arg(long, env = "UI_DIR")]
    pub ui_dir: Option<PathBuf>,

    /// Renew the self-signed WebTransport certificate this often (default: every 12 days, two
    /// before browsers refuse it).
    #[arg(long, env = "CERTIFICATE_RENEWAL_SECS", hide = true)]
    pub certificate_renewal_secs: Option<u64>,

    /// WebTransport URL the browser app connects to (e.g. `https://rtc.example.com:443`). By
    /// default: the page's host name with this process's WebTransport port.
    #[arg(long, env = "WEBTRANSPORT_URL")]
    pub webtransport_url: Option<String>,

    /// WebSocket URL the browser app connects to (e.g. `wss://api.example.com`). By default:
    /// the page's own origin with `ws`/`wss`.
    #[arg(long, env = "WEBSOCKET_URL")]
    pub websocket_url: Option<String>,

    /// Take the client's scheme and host from `Forwarded` / `X-Forwarded-Host` /
    /// `X-Forwarded-Proto`. Only behind a proxy that sets them and drops clients' own: anyone
    /// can send them. The variable takes true/false, yes/no, on/off or 1/0.
    #[arg(long, env = "TRUST_FORWARDED_HEADERS", value_parser = clap::builder::BoolishValueParser::new())]
    pub trust_forwarded_headers: bool,

    /// Web origins allowed to open WebSockets, comma-separated (`https://meet.example.com`, or
    /// `*` for any). The page's own host is always allowed, and so is a client sending no
    /// `Origin` (the CLI, the bot). Unset: also any localhost/127.0.0.1/[::1] origin.
    #[arg(long, env = "ALLOWED_ORIGINS", default_value = "")]
    pub allowed_origins: AllowedOrigins,

    /// Video codec the browser app encodes with by default.
    #[arg(long, env = "VIDEO_CODEC", default_value = "vp9", value_parser = ["vp9", "vp8"])]
    pub video_codec: String,

    /// Largest accepted packet, in bytes.
    #[arg(long, env = "MAX_PACKET_BYTES", default_value_t = 1_000_000)]
    pub max_packet_bytes: usize,

    /// Sustained packets per second one connection may send.
    #[arg(long, env = "RATE_LIMIT_PACKETS", default_value_t = 1000)]
    pub rate_limit_packets: u32,

    /// Sustained bytes per second one connection may send.
    #[arg(long, env = "RATE_LIMIT_BYTES", default_value_t = 4_000_000)]
    pub rate_limit_bytes: u32,

    /// Microseconds a packet for a WebSocket may wait for others to join its write (rounded up
    /// to the runtime's millisecond timer tick); 0 writes as soon as anything is queued.
    #[arg(long, env = "WS_WRITE_INTERVAL_MICROS", default_value_t = 500)]
    pub ws_write_interval_micros: u64,

    /// Seconds between WebSocket pings.
    #[arg(long, env = "PING_INTERVAL_SECS", default_value_t = 5)]
    pub ping_interval_secs: u64,

    /// Seconds of silence (not even a pong) after which a client is dropped.
    #[arg(long, env = "CLIENT_TIMEOUT_SECS", default_value_t = 15)]
    pub client_timeout_secs: u64,

    /// Seconds a client may leave queued packets unread before it is disconnected as too slow.
    #[arg(long, env = "SLOW_RECEIVER_TIMEOUT_SECS", default_value_t = 10)]
    pub slow_receiver_timeout_secs: u64,

    /// Seconds to wait for connections to close on shutdown.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECS", default_value_t = 10)]
    pub shutdown_timeout_secs: u64,
}

/// What else the binary does besides serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Print a join token signed with JWT_SECRET / JWT_SECRETS.
    Token(crate::tokens::TokenCommand),
}

impl Config {
    /// This instance's stable name: `INSTANCE_NAME`, else the host name, else `actix-api`.
    pub fn instance_name(&self) -> String {
        let configured = self.instance_name.as_deref().map(str::trim).filter(|n| !n.is_empty());
        configured.map(str::to_owned).or_else(host_name).unwrap_or_else(|| "actix-api".into())
    }

    /// Whether this process also serves WebTransport.
    pub fn webtransport_enabled(&self) -> bool {
        self.embedded_webtransport.unwrap_or(self.nats_url.is_none())
    }

    /// The relay's limits.
    pub fn relay(&self) -> RelayConfig {
        RelayConfig {
            max_packet_bytes: self.max_packet_bytes,
            rate: RateLimit {
                packets_per_sec: self.rate_limit_packets,
                bytes_per_sec: self.rate_limit_bytes,
                ..RateLimit::default()
            },
            outbox: OutboxLimits {
                stall_timeout: Duration::from_secs(self.slow_receiver_timeout_secs.max(1)),
                ..OutboxLimits::default()
            },
            connections: self.connections.limits(),
            ..RelayConfig::default()
        }
    }

    /// WebSocket ping interval.
    pub fn ping_interval(&self) -> Duration {
        Duration::from_secs(self.ping_interval_secs.max(1))
    }

    /// How long a WebSocket's first waiting packet waits for others to join its write.
    pub fn ws_write_interval(&self) -> Duration {
        Duration::from_micros(self.ws_write_interval_micros)
    }

    /// Silent-client timeout.
    pub fn client_timeout(&self) -> Duration {
        Duration::from_secs(self.client_timeout_secs.max(1))
    }

    /// Shutdown deadline.
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_secs)
    }

    /// A configuration with every default, for tests and embedding.
    pub fn defaults() -> Self {
        <Self as clap::Parser>::parse_from(["actix-api"])
    }
}

/// The kernel's host name (Linux), else the one in `/etc/hostname`.
fn host_name() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"].into_iter().find_map(|path| {
        let name = std::fs::read_to_string(path).ok()?;
        let name = name.trim();
        (!name.is_empty()).then(|| name.to_owned())
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use clap::Parser;

    use super::*;
    use crate::origin::AllowedOrigin;

    #[test]
    fn forwarded_headers_are_untrusted_and_origins_default_by_default() {
        let config = Config::defaults();
        assert!(!config.trust_forwarded_headers);
        assert!(config.allowed_origins.0.is_empty());
    }

    #[test]
    fn allowed_origins_are_a_comma_separated_list_of_origins() {
        let args =
            ["actix-api", "--allowed-origins", "https://a.example, *", "--trust-forwarded-headers"];
        let config = Config::try_parse_from(args).unwrap();
        assert_eq!(config.allowed_origins.0.len(), 2);
        assert_eq!(config.allowed_origins.0[1], AllowedOrigin::Any);
        assert!(config.trust_forwarded_headers);
        assert!(Config::try_parse_from(["actix-api", "--allowed-origins", "a.example"]).is_err());
        // Empty (an empty variable) and trailing commas are no entries, not bad ones.
        let empty = Config::try_parse_from(["actix-api", "--allowed-origins", ""]).unwrap();
        assert!(empty.allowed_origins.0.is_empty());
        let trailing = ["actix-api", "--allowed-origins", "https://a.example,"];
        assert_eq!(Config::try_parse_from(trailing).unwrap().allowed_origins.0.len(), 1);
    }

    #[test]
    fn the_store_defaults_to_sqlite_in_the_data_directory_under_a_stable_name() {
        let config = Config::defaults();
        assert_eq!(config.database_url, None);
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        // The default is the host name, which stays the same from one start to the next.
        assert_eq!(config.instance_name(), Config::defaults().instance_name());
        assert!(!config.instance_name().is_empty());
        assert_eq!(config.meeting_api_rate_per_minute, 60);
        assert_eq!(config.meeting_token_ttl, Duration::from_secs(12 * 3600));
        let named = Config::try_parse_from(["actix-api", "--instance-name", " pod-1 "]).unwrap();
        assert_eq!(named.instance_name(), "pod-1");
    }

    #[test]
    fn boolean_settings_accept_the_usual_spellings() {
        for (text, on) in [("1", true), ("yes", true), ("true", true), ("0", false), ("no", false)]
        {
            let args = ["actix-api", "--embedded-webtransport", text, "--trust-forwarded-headers"];
            let config = Config::try_parse_from(args).unwrap();
            assert_eq!(config.embedded_webtransport, Some(on), "{text}");
            assert!(config.trust_forwarded_headers);
        }
        let bad = ["actix-api", "--embedded-webtransport", "maybe"];
        assert!(Config::try_parse_from(bad).is_err());
    }
}
