//! The bot against a real all-in-one server on loopback: a tiny run delivers everything.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bot::target::{self, Server};
use bot::{LoadPlan, MediaShape};
use common::start_server;

/// Small frames at a modest rate, so a debug build on a busy machine keeps up.
fn tiny(servers: Vec<Server>) -> LoadPlan {
    let mut plan = LoadPlan::new(servers);
    plan.rooms = 2;
    plan.publishers = 2;
    plan.subscribers = 2;
    plan.duration = Duration::from_secs(2);
    plan.settle = Duration::from_millis(500);
    plan.drain = Duration::from_secs(2);
    plan.shape = MediaShape {
        video_fps: 10.0,
        keyframe_interval_secs: 1.0,
        keyframe_bytes: 4_000,
        delta_bytes: 500,
        audio_pps: 20.0,
        audio_bytes: 50,
    };
    plan
}

fn assert_everything_arrived(report: &bot::Report) {
    println!("{report}");
    assert_eq!(report.setup.connected, 8, "everyone connected");
    let all = report.all().unwrap();
    // 4 publishers × 2 s × (10 + 20) packets/s, give or take a tick of the timers.
    assert!(all.sent >= 4 * 50, "sent only {}", all.sent);
    assert_eq!(all.not_sent, 0);
    // Each packet goes to the 3 other participants of its room.
    assert_eq!(all.expected, all.sent * 3);
    assert_eq!(all.delivered, all.expected, "nothing lost");
    assert_eq!((all.lost, all.duplicates, all.gaps), (0, 0, 0));
    for kind in &report.delivery {
        assert!(kind.latency_ms.max > 0.0, "{} latency was measured", kind.kind);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_websocket_run_delivers_every_packet_exactly_once() {
    let server = start_server().await;
    let report = bot::run(tiny(vec![Server::WebSocket(server.http.clone())])).await.unwrap();
    assert_everything_arrived(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_webtransport_run_delivers_every_packet_exactly_once() {
    let server = start_server().await;
    let cert_hash = Some(target::certificate_hash(&server.http).await.unwrap());
    let servers = vec![Server::WebTransport { url: server.webtransport.clone(), cert_hash }];
    assert_everything_arrived(&bot::run(tiny(servers)).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_old_protocol_works_too() {
    let server = start_server().await;
    let mut plan = tiny(vec![Server::WebSocket(server.http.clone())]);
    plan.ext = false;
    assert_everything_arrived(&bot::run(plan).await.unwrap());
}
