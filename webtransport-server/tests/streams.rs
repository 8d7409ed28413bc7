//! `?streams=1` sessions: several length-prefixed packets per stream, both ways, beside old
//! one-packet-per-stream clients.

mod support;

use std::time::Duration;

use support::{
    TestServer, framed, media_packet, payload_of, read_framed, video_packet, write_framed,
};
use videocall_types::CloseReason;
use webtransport_server::Config;
use wtransport::VarInt;

/// Packets a test sends on each stream.
const PER_STREAM: usize = 5;

#[tokio::test]
async fn packets_on_two_long_lived_streams_arrive_in_order_per_stream_for_new_and_old_clients() {
    let server = TestServer::start().await;
    let alice = server.join_path("/lobby/alice/r1?streams=1").await;
    let bob = server.join_path("/lobby/bob/r1?streams=1").await;
    let carol = server.join("carol", "r1").await;

    let mut first = alice.open_framed().await;
    let mut second = alice.open_framed().await;
    for i in 0..PER_STREAM {
        write_framed(&mut first, &media_packet("alice", format!("a{i}").as_bytes())).await;
        write_framed(&mut second, &media_packet("alice", format!("b{i}").as_bytes())).await;
    }

    // A framed client gets all of one sender's audio on one long-lived framed stream.
    let mut stream = bob.accept_framed().await;
    let mut got = Vec::new();
    while got.len() < 2 * PER_STREAM {
        let packet = read_framed(&mut stream).await.expect("stream ended early");
        assert_eq!(packet.email, "alice");
        got.push(String::from_utf8(payload_of(&packet)).unwrap());
    }
    for lane in ["a", "b"] {
        let order: Vec<&String> = got.iter().filter(|p| p.starts_with(lane)).collect();
        let expected: Vec<String> = (0..PER_STREAM).map(|i| format!("{lane}{i}")).collect();
        assert_eq!(order, expected.iter().collect::<Vec<_>>(), "order of stream {lane}");
    }

    // An old client gets the same packets, one per stream.
    let mut old: Vec<String> = Vec::new();
    for _ in 0..2 * PER_STREAM {
        old.push(String::from_utf8(payload_of(&carol.recv_relayed().await)).unwrap());
    }
    old.sort();
    got.sort();
    assert_eq!(old, got);
}

#[tokio::test]
async fn a_reset_video_stream_loses_only_the_rest_of_its_group_and_the_session_stays_up() {
    let server = TestServer::start().await;
    let alice = server.join_path("/lobby/alice/r1?streams=1").await;
    let bob = server.join("bob", "r1").await;

    let mut group = alice.open_framed().await;
    write_framed(&mut group, &video_packet("alice", true, b"key 1")).await;
    write_framed(&mut group, &video_packet("alice", false, b"delta 1")).await;
    assert_eq!(payload_of(&bob.recv_relayed().await), b"key 1");
    assert_eq!(payload_of(&bob.recv_relayed().await), b"delta 1");
    // Half a packet, then the stream is reset: that packet is lost.
    let lost = framed(&video_packet("alice", false, b"delta 2, never whole"));
    group.write_all(&lost[..lost.len() / 2]).await.unwrap();
    group.reset(VarInt::from_u32(0)).unwrap();

    let mut next = alice.open_framed().await;
    write_framed(&mut next, &video_packet("alice", true, b"key 2")).await;
    assert_eq!(payload_of(&bob.recv_relayed().await), b"key 2");
    let mut audio = alice.open_framed().await;
    write_framed(&mut audio, &media_packet("alice", b"still here")).await;
    assert_eq!(payload_of(&bob.recv_relayed().await), b"still here");
    assert_eq!(server.relay.metrics().closes(CloseReason::Malformed), 0);
}

#[tokio::test]
async fn a_length_prefix_over_the_packet_limit_closes_with_1009() {
    let config = Config { max_packet_bytes: 1000, ..Config::default() };
    let server = TestServer::with_config(config).await;
    let mallory = server.join_path("/lobby/mallory/r1?streams=1").await;

    let mut stream = mallory.open_framed().await;
    write_framed(&mut stream, &media_packet("mallory", b"fine")).await;
    stream.write_all(&1001u32.to_be_bytes()).await.unwrap();

    assert_eq!(mallory.close_code().await, u64::from(CloseReason::TooLarge.code()));
}

#[tokio::test]
async fn a_stream_may_idle_between_packets_but_not_inside_one() {
    let stream_timeout = Duration::from_millis(300);
    let config = Config { stream_timeout, ..Config::default() };
    let server = TestServer::with_config(config).await;
    let alice = server.join_path("/lobby/alice/r1?streams=1").await;
    let bob = server.join("bob", "r1").await;

    let mut stream = alice.open_framed().await;
    write_framed(&mut stream, &media_packet("alice", b"one")).await;
    assert_eq!(payload_of(&bob.recv_relayed().await), b"one");
    tokio::time::sleep(stream_timeout * 3).await;
    write_framed(&mut stream, &media_packet("alice", b"two")).await;
    assert_eq!(payload_of(&bob.recv_relayed().await), b"two");

    let stuck = framed(&media_packet("alice", b"three, never whole"));
    stream.write_all(&stuck[..6]).await.unwrap();
    assert_eq!(alice.close_code().await, u64::from(CloseReason::Timeout.code()));
}

#[tokio::test]
async fn at_most_eight_streams_are_read_at_once_so_at_most_eight_partial_packets_are_held() {
    let server = TestServer::start().await;
    let mallory = server.join_path("/lobby/mallory/r1?streams=1").await;
    let bob = server.join("bob", "r1").await;

    // Eight streams, each stuck in the middle of a packet: the server reads (and buffers) them.
    let mut stuck = Vec::new();
    for i in 0..8 {
        let mut stream = mallory.open_framed().await;
        let packet = framed(&media_packet("mallory", format!("stuck {i}").as_bytes()));
        stream.write_all(&packet[..packet.len() - 1]).await.unwrap();
        stuck.push((stream, packet));
    }
    // A ninth, complete packet waits unread in QUIC's flow-controlled buffers.
    let mut ninth = mallory.open_framed().await;
    write_framed(&mut ninth, &media_packet("mallory", b"ninth")).await;
    bob.expect_silence().await;

    // Completing and finishing one stream frees a reader for the ninth.
    let (mut stream, packet) = stuck.remove(0);
    stream.write_all(&packet[packet.len() - 1..]).await.unwrap();
    stream.finish().await.unwrap();
    let mut got =
        vec![payload_of(&bob.recv_relayed().await), payload_of(&bob.recv_relayed().await)];
    got.sort();
    assert_eq!(got, [b"ninth".to_vec(), b"stuck 0".to_vec()]);
}
