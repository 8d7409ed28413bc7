//! A WebTransport server on a loopback port over an in-process bus, and a raw `wtransport`
//! client that trusts it by certificate hash.

#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use protobuf::Message;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use videocall_relay::bus::LocalBus;
use videocall_relay::{Relay, RelayConfig};
use videocall_types::protos::media_packet::media_packet::MediaType;
use videocall_types::{MediaPacket, PacketType, PacketWrapper};
use webtransport_server::{CertificateHash, Config, Error, Identity};
use wtransport::endpoint::endpoint_side;
use wtransport::error::{ConnectingError, ConnectionError};
use wtransport::tls::Sha256Digest;
use wtransport::{ClientConfig, Connection, Endpoint, RecvStream, SendStream};

/// Longest wait for anything that should happen.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// How long to listen for something that should not happen.
pub const QUIET: Duration = Duration::from_millis(300);

/// A server running `webtransport_server::run`; stopped when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub hash: CertificateHash,
    pub relay: Relay,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), Error>>>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::with_config(Config::default()).await
    }

    pub async fn with_config(config: Config) -> Self {
        let identity = Identity::self_signed::<&str>(&[]).unwrap();
        Self::with_identity(identity, config).await
    }

    pub async fn with_identity(identity: Identity, config: Config) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        let hash = identity.certificate_hash();
        let relay_config =
            RelayConfig { max_packet_bytes: config.max_packet_bytes, ..RelayConfig::default() };
        let (relay, driver) = Relay::new(Arc::new(LocalBus::standalone()), relay_config);
        tokio::spawn(driver.run());
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(webtransport_server::run(
            socket,
            identity,
            config,
            relay.clone(),
            shutdown,
        ));
        Self { addr, hash, relay, stop: Some(stop), task: Some(task) }
    }

    /// Opens a session at `path` without waiting for the relay to join it.
    pub async fn connect(&self, path: &str) -> Result<Client, ConnectingError> {
        Client::connect(self.addr, self.hash, path).await
    }

    /// Joins `user` to `room` and waits until the relay has the session.
    pub async fn join(&self, user: &str, room: &str) -> Client {
        self.join_path(&format!("/lobby/{user}/{room}")).await
    }

    /// Connects to `path` and waits until the relay has one more session.
    pub async fn join_path(&self, path: &str) -> Client {
        let before = self.relay.metrics().sessions_total.load(Relaxed);
        let client = self.connect(path).await.unwrap();
        self.until(|relay| relay.metrics().sessions_total.load(Relaxed) > before).await;
        client
    }

    /// Waits until `condition` holds on the relay.
    pub async fn until(&self, condition: impl Fn(&Relay) -> bool) {
        tokio::time::timeout(PATIENCE, async {
            while !condition(&self.relay) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("condition never held");
    }

    /// Shuts the relay down, resolves the shutdown future and waits for `run` to return.
    pub async fn stop(mut self) -> Result<(), Error> {
        self.relay.shutdown();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().unwrap();
        tokio::time::timeout(PATIENCE * 2, task).await.expect("run did not return").unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A raw WebTransport client.
pub struct Client {
    pub connection: Connection,
    _endpoint: Endpoint<endpoint_side::Client>,
}

impl Client {
    pub async fn connect(
        addr: SocketAddr,
        hash: CertificateHash,
        path: &str,
    ) -> Result<Self, ConnectingError> {
        let config = ClientConfig::builder()
            .with_bind_default()
            .with_server_certificate_hashes([Sha256Digest::new(*hash.as_bytes())])
            .build();
        let endpoint = Endpoint::client(config).unwrap();
        let url = format!("https://127.0.0.1:{}{path}", addr.port());
        let connection = tokio::time::timeout(PATIENCE, endpoint.connect(url))
            .await
            .expect("connect timed out")?;
        Ok(Self { connection, _endpoint: endpoint })
    }

    /// Sends `packet` on a stream of its own.
    pub async fn send(&self, packet: &[u8]) {
        let mut stream = self.connection.open_uni().await.unwrap().await.unwrap();
        // A packet longer than the server's stream window blocks until the server refuses it
        // (stops the stream): that error is the server's answer, not the test's failure.
        if stream.write_all(packet).await.is_ok() {
            let _ = stream.quic_stream_mut().finish();
        }
    }

    /// Receives the next packet the server sends.
    pub async fn recv(&self) -> Vec<u8> {
        tokio::time::timeout(PATIENCE, self.try_recv())
            .await
            .expect("no packet arrived")
            .expect("connection closed")
    }

    /// Receives the next packet, or `None` when the connection closed.
    pub async fn try_recv(&self) -> Option<Vec<u8>> {
        let mut stream = self.connection.accept_uni().await.ok()?;
        stream.quic_stream_mut().read_to_end(10 << 20).await.ok()
    }

    /// Receives the next packet that is not a SERVER packet.
    pub async fn recv_relayed(&self) -> PacketWrapper {
        loop {
            let packet = PacketWrapper::parse_from_bytes(&self.recv().await).unwrap();
            if packet.packet_type.enum_value() != Ok(PacketType::SERVER) {
                return packet;
            }
        }
    }

    /// Asserts that nothing arrives for a while.
    pub async fn expect_silence(&self) {
        if let Ok(packet) = tokio::time::timeout(QUIET, self.try_recv()).await {
            panic!("expected nothing, received {packet:?}");
        }
    }

    /// Waits for the server to close the connection; returns the application error code.
    pub async fn close_code(&self) -> u64 {
        let error = tokio::time::timeout(PATIENCE, self.connection.closed())
            .await
            .expect("connection stays open");
        match error {
            ConnectionError::ApplicationClosed(close) => close.code().into_inner(),
            other => panic!("closed without an application code: {other}"),
        }
    }
}

impl Client {
    /// Opens a stream to send several length-prefixed packets on (`?streams=1` clients).
    pub async fn open_framed(&self) -> SendStream {
        self.connection.open_uni().await.unwrap().await.unwrap()
    }

    /// Accepts the server's next stream, to read with [`read_framed`].
    pub async fn accept_framed(&self) -> RecvStream {
        tokio::time::timeout(PATIENCE, self.connection.accept_uni())
            .await
            .expect("no stream arrived")
            .unwrap()
    }
}

/// Writes `packet` length-prefixed on `stream`.
pub async fn write_framed(stream: &mut SendStream, packet: &[u8]) {
    stream.write_all(&framed(packet)).await.unwrap();
}

/// `packet` with its 4-byte big-endian length in front.
pub fn framed(packet: &[u8]) -> Vec<u8> {
    let mut out = (packet.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(packet);
    out
}

/// Reads the next length-prefixed packet of `stream`; `None` at its end.
pub async fn read_framed(stream: &mut RecvStream) -> Option<PacketWrapper> {
    let quic = stream.quic_stream_mut();
    let mut prefix = [0u8; 4];
    let read = tokio::time::timeout(PATIENCE, quic.read_exact(&mut prefix)).await;
    read.expect("no packet arrived on the stream").ok()?;
    let mut packet = vec![0; u32::from_be_bytes(prefix) as usize];
    tokio::time::timeout(PATIENCE, quic.read_exact(&mut packet)).await.unwrap().unwrap();
    Some(PacketWrapper::parse_from_bytes(&packet).unwrap())
}

/// A serialized MEDIA packet with a plaintext VIDEO frame (a key frame or not).
pub fn video_packet(email: &str, keyframe: bool, payload: &[u8]) -> Vec<u8> {
    let media = MediaPacket {
        media_type: MediaType::VIDEO.into(),
        frame_type: if keyframe { "key" } else { "delta" }.into(),
        data: payload.to_vec(),
        ..Default::default()
    };
    let wrapper = PacketWrapper {
        packet_type: PacketType::MEDIA.into(),
        email: email.into(),
        data: media.write_to_bytes().unwrap(),
        ..Default::default()
    };
    wrapper.write_to_bytes().unwrap()
}

/// A serialized MEDIA packet with a plaintext audio key frame, claiming to come from `email`.
pub fn media_packet(email: &str, payload: &[u8]) -> Vec<u8> {
    let media = MediaPacket {
        media_type: MediaType::AUDIO.into(),
        frame_type: "key".into(),
        data: payload.to_vec(),
        ..Default::default()
    };
    let wrapper = PacketWrapper {
        packet_type: PacketType::MEDIA.into(),
        email: email.into(),
        data: media.write_to_bytes().unwrap(),
        ..Default::default()
    };
    wrapper.write_to_bytes().unwrap()
}

/// The media payload of a relayed packet.
pub fn payload_of(packet: &PacketWrapper) -> Vec<u8> {
    MediaPacket::parse_from_bytes(&packet.data).unwrap().data
}
