//! A real `nats-server` on random loopback ports, killed on drop.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running nats-server with its monitoring endpoint.
pub struct Nats {
    pub port: u16,
    pub monitor_port: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Nats {
    /// Starts nats-server (from PATH, or `NATS_SERVER_BIN`) and waits until it accepts clients.
    pub async fn start() -> Self {
        let mut nats = Self { port: free_port(), monitor_port: free_port(), child: None };
        nats.spawn().await;
        nats
    }

    async fn spawn(&mut self) {
        let bin = std::env::var("NATS_SERVER_BIN").unwrap_or_else(|_| "nats-server".into());
        let child = Command::new(&bin)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-m",
                &self.monitor_port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin} (install it with `make deps`): {e}"));
        self.child = Some(child);
        for _ in 0..200 {
            if super::http_get(self.monitor(), "/healthz").await.is_ok_and(|(s, _)| s == 200) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("nats-server did not come up on port {}", self.port);
    }

    /// The client URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn monitor(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.monitor_port))
    }

    /// Kills the server (as a crash would).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same ports.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }

    /// Messages the server delivered to subscribers so far (`/varz` `out_msgs`).
    pub async fn out_msgs(&self) -> u64 {
        let (_, body) = super::http_get(self.monitor(), "/varz").await.unwrap();
        let varz: serde_json::Value = serde_json::from_str(&body).unwrap();
        varz["out_msgs"].as_u64().unwrap()
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.kill();
    }
}
