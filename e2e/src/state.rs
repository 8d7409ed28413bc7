//! The app's status as `window.videocallState()` reports it (a JSON string).

use serde::Deserialize;

/// A transport a connection runs over, as the page names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// WebTransport over HTTP/3 (QUIC).
    WebTransport,
    /// WebSocket over TCP.
    WebSocket,
}

impl Transport {
    /// The name the page uses, in the state and in the `?transport=` query.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::WebTransport => "webtransport",
            Self::WebSocket => "websocket",
        }
    }
}

/// Everything the page reports; counters are totals since joining.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct State {
    /// The page has a live connection to the server.
    pub connected: bool,
    /// The transport of that connection, `None` while not connected.
    pub transport: Option<Transport>,
    /// What this page has sent.
    pub sent: Sent,
    /// The remote participants.
    pub peers: Vec<PeerState>,
}

/// Packets this page has sent, by kind (each 0 when left out, as before joining).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct Sent {
    /// Camera video packets.
    pub video: u64,
    /// Microphone audio packets.
    pub audio: u64,
    /// Screen share packets.
    pub screen: u64,
}

/// One remote participant as this page sees it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PeerState {
    /// The peer's user id.
    pub user: String,
    /// The peer's session id, as a string.
    pub session: String,
    /// Camera frames decoded.
    pub video_frames: u64,
    /// Screen share frames decoded.
    pub screen_frames: u64,
    /// Audio packets received.
    pub audio_packets: u64,
    /// Audio frames decoded.
    pub audio_frames: u64,
    /// Packets from this peer the page could not use (counted and dropped).
    #[serde(default)]
    pub malformed: u64,
}

impl State {
    /// Parses what `window.videocallState()` returned; `None` for `{"busy":true}`, which the
    /// app answers while it is updating the call (ask again).
    pub fn parse(json: &str) -> Result<Option<Self>, serde_json::Error> {
        let value: serde_json::Value = serde_json::from_str(json)?;
        if Self::is_busy(&value) {
            return Ok(None);
        }
        Self::deserialize(value).map(Some)
    }

    pub(crate) fn is_busy(value: &serde_json::Value) -> bool {
        value.get("busy").and_then(serde_json::Value::as_bool) == Some(true)
    }

    /// The remote participant `user`, if this page knows it.
    pub fn peer(&self, user: &str) -> Option<&PeerState> {
        self.peers.iter().find(|p| p.user == user)
    }

    /// Whether the page is connected over `transport`.
    pub fn connected_over(&self, transport: Transport) -> bool {
        self.connected && self.transport == Some(transport)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_shape() {
        let state = State::parse(
            r#"{"connected":true,"transport":"webtransport","sent":{"video":3,"audio":9,"screen":0},
                "peers":[{"user":"bob","session":"123","video_frames":5,"screen_frames":0,
                          "audio_packets":40,"audio_frames":38}]}"#,
        )
        .unwrap()
        .unwrap();
        assert!(state.connected_over(Transport::WebTransport));
        assert_eq!(state.peer("bob").map(|p| p.video_frames), Some(5));
        assert_eq!(state.peer("carol"), None);
    }

    #[test]
    fn before_joining_nothing_is_sent_and_there_is_no_transport() {
        let state = State::parse(r#"{"connected":false,"transport":null,"sent":{},"peers":[]}"#)
            .unwrap()
            .unwrap();
        assert!(!state.connected_over(Transport::WebSocket));
        assert_eq!(state.transport, None);
        assert_eq!(state.sent, Sent::default());
    }

    #[test]
    fn a_busy_app_has_no_state_yet() {
        assert_eq!(State::parse(r#"{"busy":true}"#).unwrap(), None);
    }

    #[test]
    fn extra_fields_are_ignored() {
        let state = State::parse(
            r#"{"connected":true,"transport":"websocket","sent":{"video":1},"client":{"sent":4},
                "peers":[{"user":"bob","session":"","video_frames":0,"screen_frames":0,
                          "audio_packets":0,"audio_frames":0,"video_lost":2,"malformed":0}]}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(state.sent.video, 1);
        assert!(state.peer("bob").is_some());
    }
}
