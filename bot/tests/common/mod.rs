//! Test helper: an all-in-one server on loopback.

#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::net::{TcpListener, UdpSocket};
use std::time::Duration;

use bot::target;
use tokio::sync::oneshot;
use url::Url;

/// An all-in-one `actix-api` on port 0; stops when dropped.
pub struct Running {
    pub http: Url,
    pub webtransport: Url,
    _stop: oneshot::Sender<()>,
    /// The server's `DATA_DIR`, removed with it.
    _data: tempfile::TempDir,
}

pub async fn start_server() -> Running {
    let data = tempfile::tempdir().unwrap();
    let mut config = actix_api::Config::defaults();
    config.data_dir = data.path().to_owned();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.webtransport_listen = "127.0.0.1:0".parse().unwrap();
    let http = TcpListener::bind(config.listen).unwrap();
    let udp = UdpSocket::bind(config.webtransport_listen).unwrap();
    let (http_addr, wt_addr) = (http.local_addr().unwrap(), udp.local_addr().unwrap());
    let listeners = actix_api::Listeners { http, webtransport: Some(udp) };
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(actix_api::run(listeners, config, async {
        let _ = stopped.await;
    }));
    let http = Url::parse(&format!("http://{http_addr}")).unwrap();
    // Healthy once the certificate hash is served.
    for _ in 0..200 {
        if target::certificate_hash(&http).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let webtransport = Url::parse(&format!("https://{wt_addr}")).unwrap();
    Running { http, webtransport, _stop: stop, _data: data }
}
