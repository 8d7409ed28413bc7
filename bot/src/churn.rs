//! Room churn: one participant after another joins a room of its own and leaves again, a few at
//! a time, while the server's resident memory is sampled. A server that forgets nothing grows
//! with every room; a sound one returns to its baseline.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use videocall_client::{Client, ClientOptions, Event, TransportChoice};
use videocall_types::{RoomId, UserId};

use crate::target::Server;

/// What to churn.
#[derive(Debug, Clone)]
pub struct ChurnPlan {
    /// The server (WebSocket only: this measures the relay, not a transport).
    pub server: Server,
    /// Rooms to open and close.
    pub rooms: usize,
    /// Rooms open at once.
    pub concurrency: usize,
    /// Sample the server's memory after every this many rooms.
    pub sample_every: usize,
    /// `/proc/<pid>/status` of the server, when it runs on this machine.
    pub server_status: Option<PathBuf>,
}

/// One memory sample.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Sample {
    /// Rooms opened and closed so far.
    pub rooms: usize,
    /// The server's resident set, KiB.
    pub rss_kib: u64,
}

/// What a churn run saw.
#[derive(Debug, Default, serde::Serialize)]
pub struct ChurnReport {
    /// Rooms whose participant was welcomed.
    pub joined: usize,
    /// Rooms whose participant never connected.
    pub failed: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// The server's memory as the run went.
    pub samples: Vec<Sample>,
}

/// Runs the plan.
pub async fn run(plan: ChurnPlan) -> anyhow::Result<ChurnReport> {
    let Server::WebSocket(url) = &plan.server else {
        anyhow::bail!("churn runs over WebSocket");
    };
    let started = Instant::now();
    let mut report = ChurnReport::default();
    let sample =
        |rooms| rss_kib(plan.server_status.as_ref()).map(|rss_kib| Sample { rooms, rss_kib });
    report.samples.extend(sample(0));
    let mut running = FuturesUnordered::new();
    let mut next = 0;
    let mut done = 0;
    while done < plan.rooms {
        while next < plan.rooms && running.len() < plan.concurrency.max(1) {
            running.push(one_room(url.clone(), next));
            next += 1;
        }
        let Some(joined) = running.next().await else { break };
        if joined {
            report.joined += 1
        } else {
            report.failed += 1
        }
        done += 1;
        if plan.sample_every > 0 && done % plan.sample_every == 0 {
            report.samples.extend(sample(done));
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Joins room `n` alone, waits to be welcomed, leaves; whether it was welcomed.
async fn one_room(url: url::Url, n: usize) -> bool {
    let (Ok(user), Ok(room)) = (UserId::new("churn"), RoomId::new(&format!("churn-{n}"))) else {
        return false;
    };
    let mut options = ClientOptions::new(user, room, TransportChoice::WebSocket { url });
    options.reconnect = false;
    let Ok((handle, mut events, driver)) = Client::new(options) else { return false };
    let driver = tokio::spawn(driver);
    let welcomed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(event) = events.next().await {
            if matches!(event, Event::Connected { .. }) {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    handle.close();
    let _ = driver.await;
    welcomed
}

/// `VmRSS` of a `/proc/<pid>/status` file, in KiB.
fn rss_kib(status: Option<&PathBuf>) -> Option<u64> {
    let text = std::fs::read_to_string(status?).ok()?;
    let line = text.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
