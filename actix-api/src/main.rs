//! The `actix-api` binary: parse configuration, bind, serve until SIGTERM or Ctrl-C.

use anyhow::Context;
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = actix_api::Config::parse();
    config.log.init();
    if let Some(actix_api::Command::Token(command)) = &config.command {
        println!("{}", command.token(&config)?);
        return Ok(());
    }
    let listeners = actix_api::Listeners::bind(&config).context("binding listeners")?;
    let http = listeners.http.local_addr()?;
    let webtransport = listeners.webtransport.as_ref().map(|s| s.local_addr()).transpose()?;
    tracing::info!(%http, ?webtransport, "listening");
    println!("videocall is up: open http://{}", display_addr(http));
    if let Some(wt) = webtransport {
        println!("WebTransport on https://{}/lobby/{{user}}/{{room}}", display_addr(wt));
    }
    actix_api::run(listeners, config, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Where a person can reach a listener bound to the wildcard address.
fn display_addr(addr: std::net::SocketAddr) -> String {
    if addr.ip().is_unspecified() { format!("localhost:{}", addr.port()) } else { addr.to_string() }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(err) => {
                    tracing::warn!(%err, "cannot listen for SIGTERM");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
