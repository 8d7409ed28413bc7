//! What an anonymous WebTransport client can try against the server's memory and time —
//! hoarded streams, a second bidirectional stream, a dribbled stream, a datagram flood — stays
//! within the documented limits while the rest of its room keeps working. Loopback only; every
//! test is bounded in count and time.

mod support;

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use support::{Client, PATIENCE, QUIET, TestServer, media_packet, payload_of};
use videocall_types::CloseReason;
use webtransport_server::Config;

/// HTTP/3's own unidirectional streams (control, QPACK encoder and decoder), which the server's
/// stream limit leaves room for besides `max_incoming_streams`.
const H3_UNI_STREAMS: usize = 3;

/// Waits until `client` receives a relayed packet with `payload`, skipping any others.
async fn until_received(client: &Client, payload: &[u8]) {
    let found = async { while payload_of(&client.recv_relayed().await) != payload {} };
    tokio::time::timeout(PATIENCE * 2, found).await.expect("the packet never arrived");
}

/// Carol and Bob still hear each other.
async fn room_still_works(bob: &Client, carol: &Client) {
    carol.send(&media_packet("carol", b"to bob")).await;
    until_received(bob, b"to bob").await;
    bob.send(&media_packet("bob", b"to carol")).await;
    until_received(carol, b"to carol").await;
}

#[tokio::test]
async fn hoarded_streams_stay_within_the_stream_and_byte_limits_and_the_room_keeps_working() {
    let config = Config {
        max_packet_bytes: 100_000,
        max_incoming_streams: 8,
        receive_window: 150_000,
        // Long enough not to end the hoard during the test: this one is about space.
        stream_timeout: Duration::from_secs(60),
        ..Config::default()
    };
    let server = TestServer::with_config(config.clone()).await;
    let hoarder = server.join("hoarder", "r1").await;
    let bob = server.join("bob", "r1").await;
    let carol = server.join("carol", "r1").await;

    // Open streams, never finishing them, until the server grants no more.
    let mut streams = Vec::new();
    for _ in 0..4 * config.max_incoming_streams {
        let Ok(opening) = tokio::time::timeout(QUIET, hoarder.connection.open_uni()).await else {
            break;
        };
        streams.push(opening.unwrap().await.unwrap());
    }
    let limit = config.max_incoming_streams as usize + H3_UNI_STREAMS;
    assert!(
        (config.max_incoming_streams as usize..limit).contains(&streams.len()),
        "{} streams opened, the limit is {limit} including the client's own HTTP/3 ones",
        streams.len()
    );

    // Fill every stream as far as the server lets us, stopping short of the packet limit (a
    // hoarder holds bytes back; it does not send an oversized packet).
    let written = AtomicU64::new(0);
    let chunk = vec![7u8; 10_000];
    let fill = futures::future::join_all(streams.iter_mut().map(|stream| {
        let (written, chunk) = (&written, &chunk);
        async move {
            let mut sent = 0;
            while sent + chunk.len() < config.max_packet_bytes {
                let Ok(n) = stream.write(chunk).await else { break };
                sent += n;
                written.fetch_add(n as u64, Relaxed);
            }
        }
    }));
    let _ = tokio::time::timeout(Duration::from_secs(2), fill).await;

    // The stream being read plus what the connection window lets wait behind it.
    let written = written.load(Relaxed);
    let bound = config.receive_window + config.stream_receive_window();
    assert!(
        written <= bound,
        "the server took {written} bytes of unfinished streams, bound {bound}"
    );
    assert!(written >= config.receive_window / 2, "the hoarder barely hoarded ({written} bytes)");
    room_still_works(&bob, &carol).await;
    drop(streams);
}

#[tokio::test]
async fn a_bidirectional_stream_after_the_session_gets_no_credit() {
    let server = TestServer::start().await;
    let alice = server.join("alice", "r1").await;
    let bob = server.join("bob", "r1").await;

    // The session's CONNECT request is the one bidirectional stream the server allows.
    let opened = tokio::time::timeout(QUIET, alice.connection.open_bi()).await;
    assert!(opened.is_err(), "the server granted a second bidirectional stream");

    alice.send(&media_packet("alice", b"uni still works")).await;
    assert_eq!(payload_of(&bob.recv_relayed().await), b"uni still works");
}

#[tokio::test]
async fn a_stream_that_dribbles_is_cut_off_and_the_room_keeps_working() {
    let config = Config { stream_timeout: Duration::from_secs(1), ..Config::default() };
    let server = TestServer::with_config(config).await;
    let mallory = server.join("mallory", "r1").await;
    let bob = server.join("bob", "r1").await;
    let carol = server.join("carol", "r1").await;

    let mut stream = mallory.connection.open_uni().await.unwrap().await.unwrap();
    let alive = media_packet("mallory", b"alive");
    let dribble = async {
        // A byte every 100 ms, and a packet by datagram beside it, so that neither QUIC's nor
        // the relay's idle timer ends the connection: only the stream deadline may.
        while stream.write_all(&[0x0a]).await.is_ok() {
            let _ = mallory.connection.send_datagram(&alive);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        std::future::pending::<()>().await;
    };
    let code = tokio::select! {
        code = mallory.close_code() => code,
        () = dribble => unreachable!("the dribble never ends by itself"),
    };

    assert_eq!(code, u64::from(CloseReason::Timeout.code()));
    server.until(|relay| relay.metrics().closes(CloseReason::Timeout) == 1).await;
    room_still_works(&bob, &carol).await;
}

#[tokio::test]
async fn a_datagram_flood_is_cut_off_by_the_rate_limit_and_the_room_keeps_working() {
    let server = TestServer::start().await;
    let mallory = server.join("mallory", "r1").await;
    let bob = server.join("bob", "r1").await;
    let carol = server.join("carol", "r1").await;

    let packet = media_packet("mallory", &[1; 500]);
    let flood = async {
        while mallory.connection.send_datagram(&packet).is_ok() {
            tokio::task::yield_now().await;
        }
        std::future::pending::<()>().await;
    };
    let code = tokio::select! {
        code = mallory.close_code() => code,
        () = flood => unreachable!("the flood never ends by itself"),
    };

    assert_eq!(code, u64::from(CloseReason::RateLimited.code()));
    room_still_works(&bob, &carol).await;
}
