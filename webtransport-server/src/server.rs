//! The accept loop: a QUIC endpoint on the caller's socket, one task per connection, and the
//! drain at shutdown.

use std::future::Future;
use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;
use tracing::field::Empty;
use videocall_relay::Relay;
use videocall_types::CloseReason;
use wtransport::endpoint::endpoint_side;
use wtransport::{Endpoint, ServerConfig, VarInt};

use crate::Error;
use crate::config::Config;
use crate::identity::{Identity, SelfSignedRenewal};
use crate::session;

/// How long the closed endpoint gets to deliver its last CONNECTION_CLOSE frames.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

type ConnectionTasks = tokio::task::JoinSet<()>;

/// Serves WebTransport sessions on `socket` (already bound, e.g. to port 0 in tests) until
/// `shutdown` resolves, then stops accepting and waits up to `config.drain_timeout` for open
/// connections to end.
///
/// Each connection runs as a task this function spawns on the current runtime (a server's
/// accept loop is the one place the library spawns); the tasks do not outlive it. The caller
/// owns the relay's lifecycle: to drain, call [`Relay::shutdown`] before or as `shutdown`
/// resolves, which makes every session close with "going away" (1001).
pub async fn run(
    socket: UdpSocket,
    identity: Identity,
    config: Config,
    relay: Relay,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    socket.set_nonblocking(true).map_err(Error::Endpoint)?;
    let bound = ServerConfig::builder().with_bind_socket(socket);
    let endpoint =
        Endpoint::server(server_config(bound, identity, &config)?).map_err(Error::Endpoint)?;
    if let Ok(addr) = endpoint.local_addr() {
        tracing::info!(%addr, "webtransport listening");
    }
    let config = Arc::new(config);
    let mut connections = ConnectionTasks::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let renewal = config.renewal.clone();
    let every = renewal.as_ref().map_or(Duration::MAX, SelfSignedRenewal::interval);
    let mut renew_at = tokio::time::Instant::now() + every.min(Duration::from_secs(1 << 30));
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            () = tokio::time::sleep_until(renew_at), if renewal.is_some() => {
                if let Some(renewal) = &renewal {
                    renew(&endpoint, renewal, &config);
                }
                renew_at += every;
            }
            incoming = endpoint.accept() => {
                let span = tracing::info_span!(
                    "webtransport",
                    remote = %incoming.remote_address(),
                    user = Empty,
                    room = Empty,
                    session = Empty,
                );
                let task = session::handle(incoming, relay.clone(), config.clone());
                connections.spawn(task.instrument(span));
            }
            Some(done) = connections.join_next(), if !connections.is_empty() => log_task_end(done),
        }
    }
    drain(&endpoint, connections, config.drain_timeout).await;
    Ok(())
}

/// Serves a fresh self-signed certificate from now on; open connections keep theirs.
fn renew(endpoint: &Endpoint<endpoint_side::Server>, renewal: &SelfSignedRenewal, config: &Config) {
    let fresh = renewal.renew().and_then(|identity| {
        let hash = identity.certificate_hash();
        // The bind address of a reloaded configuration is ignored (no rebind).
        let unbound = ServerConfig::builder().with_bind_default(0);
        let reloaded = server_config(unbound, identity, config)?;
        endpoint.reload_config(reloaded, false).map_err(Error::Endpoint)?;
        Ok(hash)
    });
    match fresh {
        Ok(hash) => {
            renewal.publish(hash);
            tracing::info!(%hash, "self-signed certificate renewed");
        }
        Err(error) => tracing::error!(%error, "cannot renew the self-signed certificate"),
    }
}

/// The endpoint's configuration: `identity`, and every QUIC limit from `config`.
fn server_config(
    bound: wtransport::config::ServerConfigBuilder<wtransport::config::states::WantsIdentity>,
    identity: Identity,
    config: &Config,
) -> Result<ServerConfig, Error> {
    let mut server =
        bound.with_custom_transport(identity.into_inner(), config.quic_transport()?).build();
    Config::bound_incoming(server.quic_config_mut());
    Ok(server)
}

/// Refuses new connections while the open ones end, then closes the endpoint.
async fn drain(
    endpoint: &Endpoint<endpoint_side::Server>,
    mut connections: ConnectionTasks,
    timeout: Duration,
) {
    tracing::info!(open = connections.len(), "webtransport draining");
    let drained = tokio::time::timeout(timeout, async {
        loop {
            tokio::select! {
                incoming = endpoint.accept() => incoming.refuse(),
                done = connections.join_next() => match done {
                    Some(done) => log_task_end(done),
                    None => break,
                },
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(open = connections.len(), "drain deadline passed; dropping connections");
        connections.shutdown().await;
    }
    // No `accept` is pending here (closing under one would make wtransport panic).
    let reason = CloseReason::GoingAway;
    endpoint.close(VarInt::from_u32(reason.code().into()), reason.description().as_bytes());
    let _ = tokio::time::timeout(CLOSE_GRACE, endpoint.wait_idle()).await;
    tracing::info!("webtransport stopped");
}

fn log_task_end(done: Result<(), tokio::task::JoinError>) {
    if let Err(error) = done {
        tracing::error!(%error, "connection task failed");
    }
}
