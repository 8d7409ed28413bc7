//! Builds the relay and the HTTP app from a [`Config`] and runs them until shutdown.

use std::future::Future;
use std::net::{TcpListener, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use videocall_relay::Relay;
use videocall_relay::bus::{Bus, LocalBus, NatsBus, redact_url};
use webtransport_server::SelfSignedRenewal;

use crate::config::Config;
use crate::meetings::Meetings;
use crate::meetings::limit::Limits;
use crate::origin::OriginPolicy;
use crate::secret::{self, Source};
use crate::state::AppState;
use crate::{headers, meetings, routes, tokens, websocket};

/// How long shutdown waits for the relay's last bus messages to be published.
const DRIVER_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// How long shutdown waits for the last leaves to be written to the participants history.
const HISTORY_FLUSH_TIMEOUT: Duration = Duration::from_secs(3);

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Connecting to NATS failed.
    #[error("bus: {0}")]
    Bus(#[from] videocall_relay::bus::BusError),
    /// The HTTP server failed.
    #[error("http server: {0}")]
    Http(#[from] std::io::Error),
    /// The WebTransport listener failed.
    #[error("webtransport: {0}")]
    WebTransport(#[from] webtransport_server::Error),
    /// All-in-one mode needs a UDP socket for WebTransport.
    #[error("WebTransport is enabled but no UDP socket was given")]
    MissingWebTransportSocket,
    /// The token settings cannot work.
    #[error(transparent)]
    Access(#[from] videocall_access::cli::AccessArgsError),
    /// `API_KEY` is too short to be a secret.
    #[error("API_KEY is {0} characters long; use at least 32")]
    ShortApiKey(usize),
    /// The meetings store could not be opened or migrated.
    #[error("meetings store: {0}")]
    Store(#[from] videocall_store::StoreError),
    /// The generated token secret in `DATA_DIR` could not be made or read.
    #[error("token secret file {}: {source}", path.display())]
    SecretFile {
        /// `DATA_DIR/jwt-secret`.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The sockets the server serves on, bound by the caller (tests bind port 0).
#[derive(Debug)]
pub struct Listeners {
    /// HTTP and WebSocket.
    pub http: TcpListener,
    /// WebTransport, when this process serves it ([`Config::webtransport_enabled`]).
    pub webtransport: Option<UdpSocket>,
}

impl Listeners {
    /// Binds the addresses of `config`; an error names the address that could not be bound
    /// and the setting it came from.
    pub fn bind(config: &Config) -> std::io::Result<Self> {
        let named = |setting: &'static str, addr: std::net::SocketAddr| {
            move |err: std::io::Error| {
                std::io::Error::new(err.kind(), format!("cannot bind {setting}={addr}: {err}"))
            }
        };
        let http = TcpListener::bind(config.listen).map_err(named("LISTEN_ADDR", config.listen))?;
        let webtransport = config
            .webtransport_enabled()
            .then(|| {
                UdpSocket::bind(config.webtransport_listen)
                    .map_err(named("WEBTRANSPORT_LISTEN_ADDR", config.webtransport_listen))
            })
            .transpose()?;
        Ok(Self { http, webtransport })
    }
}

async fn connect_bus(config: &Config) -> Result<Arc<dyn Bus>, Error> {
    Ok(match &config.nats_url {
        Some(url) => {
            tracing::info!(url = %redact_url(url), "using NATS");
            Arc::new(NatsBus::connect(&config.nats.options(url)).await?)
        }
        None => {
            tracing::info!("no NATS_URL: using the in-process bus");
            Arc::new(LocalBus::standalone())
        }
    })
}

/// Runs the server until `shutdown` resolves; then tells every client to go away and waits (up
/// to the configured deadline) for connections to close.
pub async fn run(
    listeners: Listeners,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let config = Arc::new(config);
    let (access, source) = secret::access(&config.access, &config.data_dir)?;
    match source {
        Source::Configured => tracing::info!("join tokens: JWT_SECRET / JWT_SECRETS"),
        Source::Created(path) => {
            tracing::info!(path = %path.display(), "join tokens: generated a secret (set JWT_SECRET when several servers must accept the same tokens)")
        }
        Source::Loaded(path) => {
            tracing::info!(path = %path.display(), "join tokens: the secret generated on an earlier start")
        }
    }
    let api_key = match &config.api_key {
        Some(key) if key.len() < tokens::MIN_API_KEY_LEN => {
            return Err(Error::ShortApiKey(key.len()));
        }
        key => key.as_deref().map(tokens::ApiKey::new),
    };
    let meetings = open_meetings(&config).await?;
    let bus = connect_bus(&config).await?;
    let (relay, driver) = Relay::new(bus, config.relay());
    let driver = tokio::spawn(driver.run());

    let webtransport = match (config.webtransport_enabled(), listeners.webtransport) {
        (false, _) => None,
        (true, None) => return Err(Error::MissingWebTransportSocket),
        (true, Some(socket)) => {
            let (identity, renewal) = load_identity(&config).await?;
            Some((socket, identity, renewal))
        }
    };
    let certificate_hash = webtransport.as_ref().map(|(_, identity, renewal)| match renewal {
        Some(renewal) => renewal.hash(),
        // Fixed: a channel that keeps its one value after the sender is gone.
        None => tokio::sync::watch::channel(identity.certificate_hash()).1,
    });
    let webtransport_port = webtransport
        .as_ref()
        .and_then(|(socket, _, _)| socket.local_addr().ok())
        .map(|addr| addr.port());
    let state = web::Data::new(AppState {
        relay: relay.clone(),
        config: config.clone(),
        certificate_hash,
        webtransport_port,
        origins: OriginPolicy::new(config.allowed_origins.0.clone()),
        refused: Default::default(),
        access: access.clone(),
        api_key,
        meetings: meetings.clone(),
        api_limits: Limits::new(config.meeting_api_rate_per_minute),
    });

    let http = http_server(listeners.http, state, &config)?;
    let http_handle = http.handle();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let webtransport = webtransport.map(|(socket, identity, renewal)| {
        let mut stop = stop_rx.clone();
        let wt_config = webtransport_server::Config {
            renewal,
            access,
            gate: Some(meetings.clone()),
            ..webtransport_server::Config::from_relay(relay.config())
        };
        tokio::spawn(webtransport_server::run(
            socket,
            identity,
            wt_config,
            relay.clone(),
            async move {
                let _ = stop.wait_for(|stop| *stop).await;
            },
        ))
    });
    let http = tokio::spawn(http);

    shutdown.await;
    tracing::info!("shutting down: telling clients to reconnect elsewhere");
    relay.shutdown();
    let _ = stop_tx.send(true);
    http_handle.stop(true).await;
    let http_result = http.await.map_err(std::io::Error::other)?;
    if let Some(webtransport) = webtransport {
        webtransport.await.map_err(std::io::Error::other)??;
    }
    drop(relay);
    // Every session is gone, so the driver ends once it has published what they queued (the
    // `left` announcements other instances need to drop them at once rather than after
    // `remote_timeout`).
    if tokio::time::timeout(DRIVER_FLUSH_TIMEOUT, driver).await.is_err() {
        tracing::warn!("bus driver did not finish in time; some announcements may be lost");
    }
    meetings.shutdown(HISTORY_FLUSH_TIMEOUT).await;
    http_result.map_err(Error::Http)
}

/// Opens the meetings store of `config` and closes what this instance left open last time.
async fn open_meetings(config: &Config) -> Result<Arc<Meetings>, Error> {
    let store =
        videocall_store::Store::open(config.database_url.as_deref(), &config.data_dir).await?;
    match store.kind() {
        "sqlite" if config.database_url.is_none() => tracing::info!(
            path = %config.data_dir.join("videocall.db").display(),
            "meetings store: SQLite"
        ),
        // Never the URL: it may hold a password.
        kind => tracing::info!(kind, "meetings store: DATABASE_URL"),
    }
    let instance = config.instance_name();
    let meetings =
        Arc::new(Meetings::new(store, instance.clone(), tokio::runtime::Handle::current()));
    let closed = meetings.close_abandoned().await;
    if closed > 0 {
        tracing::info!(%instance, closed, "closed sessions an earlier run left open");
    }
    Ok(meetings)
}

/// The WebTransport certificate from files, or a self-signed one and its renewal.
async fn load_identity(
    config: &Config,
) -> Result<(webtransport_server::Identity, Option<SelfSignedRenewal>), Error> {
    if let (Some(cert), Some(key)) = (&config.cert_path, &config.key_path) {
        return Ok((webtransport_server::Identity::load_pem(cert, key).await?, None));
    }
    let (identity, renewal) = SelfSignedRenewal::start(Vec::new())?;
    let renewal = match config.certificate_renewal_secs {
        Some(secs) => renewal.with_interval(Duration::from_secs(secs.max(1))),
        None => renewal,
    };
    tracing::info!(
        hash = %identity.certificate_hash().to_hex(),
        "self-signed WebTransport certificate, valid 14 days, renewed every {:?}",
        renewal.interval()
    );
    Ok((identity, Some(renewal)))
}

fn http_server(
    listener: TcpListener,
    state: web::Data<AppState>,
    config: &Config,
) -> std::io::Result<actix_web::dev::Server> {
    let ui_dir = config.ui_dir.clone();
    let user_timeout = 2 * config.relay().outbox.stall_timeout;
    let server = HttpServer::new(move || {
        let app = App::new()
            .wrap(headers::security_headers())
            .app_data(state.clone())
            .route("/lobby", web::get().to(websocket::lobby_by_token))
            .route("/lobby/{user}/{room}", web::get().to(websocket::lobby))
            .route("/api/v1/tokens", web::post().to(tokens::create))
            .service(meetings::routes())
            .route("/healthz", web::get().to(routes::healthz))
            .route("/readyz", web::get().to(routes::readyz))
            .route("/metrics", web::get().to(routes::metrics))
            .route("/api/v1/config", web::get().to(routes::client_config))
            .route(
                "/api/v1/webtransport/certificate-hash",
                web::get().to(routes::certificate_hash),
            );
        match &ui_dir {
            Some(dir) => app.service(spa(dir)),
            None => app
                .route("/status.js", web::get().to(routes::status_script))
                .route("/status.css", web::get().to(routes::status_style))
                .default_service(web::get().to(routes::status_page)),
        }
    })
    .on_connect(move |connection, _| {
        if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
            // Nagle's algorithm adds tens of milliseconds to small media packets.
            let _ = tcp.set_nodelay(true);
            // A socket that takes no data for twice the slow-receiver timeout (its peer stopped
            // reading, or vanished) is aborted by the kernel. The relay has long dropped such a
            // session by then, but the HTTP server still holds its socket and write buffer,
            // blocked on a write that can never finish; this frees them, where TCP alone would
            // keep probing a zero window forever.
            let _ = socket2::SockRef::from(tcp).set_tcp_user_timeout(Some(user_timeout));
        }
    })
    .disable_signals()
    .shutdown_timeout(config.shutdown_timeout().as_secs())
    .listen(listener)?
    .run();
    Ok(server)
}

/// Static files of the UI, falling back to its `index.html` for client-side routes.
fn spa(dir: &std::path::Path) -> actix_files::Files {
    let index = dir.join("index.html");
    actix_files::Files::new("/", dir).index_file("index.html").default_handler(web::get().to(
        move |req: actix_web::HttpRequest| {
            let index = index.clone();
            async move {
                actix_files::NamedFile::open_async(index).await.map(|file| file.into_response(&req))
            }
        },
    ))
}
