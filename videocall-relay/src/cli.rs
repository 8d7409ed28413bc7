//! Command-line flags both server binaries share (with `#[command(flatten)]`), so a setting
//! means the same in either and the flags→config mapping is written once.

use std::path::PathBuf;

use crate::bus::{NatsAuth, NatsOptions, NatsTls};
use crate::config::ConnectionLimits;

/// How to reach NATS.
#[derive(Debug, Clone, clap::Args)]
pub struct NatsArgs {
    /// `.creds` file (user JWT and nkey seed) to authenticate to NATS with.
    #[arg(long, env = "NATS_CREDS", conflicts_with_all = ["nats_nkey", "nats_token"])]
    pub nats_creds: Option<PathBuf>,
    /// Nkey seed to authenticate to NATS with.
    #[arg(long, env = "NATS_NKEY", hide_env_values = true, conflicts_with = "nats_token")]
    pub nats_nkey: Option<String>,
    /// Token to authenticate to NATS with.
    #[arg(long, env = "NATS_TOKEN", hide_env_values = true)]
    pub nats_token: Option<String>,
    /// PEM file of the CA(s) that signed the NATS servers' certificates (implies TLS).
    #[arg(long, env = "NATS_TLS_CA")]
    pub nats_tls_ca: Option<PathBuf>,
    /// PEM client certificate for NATS servers that verify clients (with --nats-tls-key).
    #[arg(long, env = "NATS_TLS_CERT", requires = "nats_tls_key")]
    pub nats_tls_cert: Option<PathBuf>,
    /// PEM key of --nats-tls-cert.
    #[arg(long, env = "NATS_TLS_KEY", requires = "nats_tls_cert")]
    pub nats_tls_key: Option<PathBuf>,
    /// Require TLS to NATS even if the URL is `nats://` and the server does not ask for it.
    #[arg(long, env = "NATS_TLS_REQUIRED", default_value_t = false, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub nats_tls_required: bool,
}

impl NatsArgs {
    /// Connection options for `url`.
    pub fn options(&self, url: &str) -> NatsOptions {
        let auth = match (&self.nats_creds, &self.nats_nkey, &self.nats_token) {
            (Some(path), _, _) => NatsAuth::CredsFile(path.clone()),
            (None, Some(seed), _) => NatsAuth::Nkey(seed.clone()),
            (None, None, Some(token)) => NatsAuth::Token(token.clone()),
            (None, None, None) => NatsAuth::None,
        };
        let tls = NatsTls {
            required: self.nats_tls_required || self.nats_tls_ca.is_some(),
            ca: self.nats_tls_ca.clone(),
            client: self.nats_tls_cert.clone().zip(self.nats_tls_key.clone()),
        };
        NatsOptions { auth, tls, ..NatsOptions::new(url) }
    }
}

/// How the server writes its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines for people.
    Text,
    /// One JSON object per line, for log collectors (Loki, Elasticsearch, Cloud Logging).
    Json,
}

/// Logging: the format here, the filter in `RUST_LOG` (default `info`).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct LogArgs {
    /// Log format: `text` or `json` (one object per line).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl LogArgs {
    /// Installs the global logger: `RUST_LOG` filters (default `info`), the format is ours.
    pub fn init(&self) {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let logger = tracing_subscriber::fmt().with_env_filter(filter);
        match self.log_format {
            LogFormat::Text => logger.init(),
            LogFormat::Json => logger.json().flatten_event(true).init(),
        }
    }
}

/// Caps on connections.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct ConnectionArgs {
    /// Open connections on this instance (WebSocket and WebTransport together); more are
    /// refused (HTTP 503 / close code 4012) before any room work.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = ConnectionLimits::default().max_connections)]
    pub max_connections: usize,
    /// Open connections from one IPv4 address or IPv6 /64.
    #[arg(long, env = "MAX_CONNECTIONS_PER_IP", default_value_t = ConnectionLimits::default().max_per_ip)]
    pub max_connections_per_ip: usize,
    /// Participants in one room (HTTP 503 / close code 4013 beyond).
    #[arg(long, env = "MAX_ROOM_SIZE", default_value_t = ConnectionLimits::default().max_room_size)]
    pub max_room_size: usize,
}

impl ConnectionArgs {
    /// The limits these flags set.
    pub fn limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: self.max_connections,
            max_per_ip: self.max_connections_per_ip,
            max_room_size: self.max_room_size.max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        nats: NatsArgs,
        #[command(flatten)]
        connections: ConnectionArgs,
        #[command(flatten)]
        log: LogArgs,
    }

    #[test]
    fn defaults_are_open_plain_nats_and_the_documented_caps() {
        let flags = Flags::try_parse_from(["x"]).unwrap();
        let options = flags.nats.options("nats://n:4222");
        assert!(matches!(options.auth, NatsAuth::None));
        assert!(!options.tls.required);
        assert_eq!(flags.log.log_format, LogFormat::Text);
        let json = Flags::try_parse_from(["x", "--log-format", "json"]).unwrap();
        assert_eq!(json.log.log_format, LogFormat::Json);
        assert!(Flags::try_parse_from(["x", "--log-format", "xml"]).is_err());
        let limits = flags.connections.limits();
        assert_eq!(
            (limits.max_connections, limits.max_per_ip, limits.max_room_size),
            (5000, 64, 1000)
        );
    }

    #[test]
    fn a_ca_turns_tls_on_and_one_auth_method_is_allowed() {
        let flags =
            Flags::try_parse_from(["x", "--nats-tls-ca", "ca.pem", "--nats-token", "t"]).unwrap();
        let options = flags.nats.options("nats://n:4222");
        assert!(options.tls.required && matches!(options.auth, NatsAuth::Token(_)));
        assert!(Flags::try_parse_from(["x", "--nats-token", "t", "--nats-nkey", "SU"]).is_err());
        assert!(Flags::try_parse_from(["x", "--nats-tls-cert", "c"]).is_err());
        for (value, expected) in [("1", true), ("yes", true), ("false", false), ("0", false)] {
            let flags = Flags::try_parse_from(["x", "--nats-tls-required", value]).unwrap();
            assert_eq!(flags.nats.nats_tls_required, expected);
        }
    }
}
