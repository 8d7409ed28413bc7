//! Why a server closes a connection: the one table of wire-visible close codes.
//!
//! The same number is the WebSocket close code and the WebTransport application error code, and
//! is repeated in the `ServerError` a server sends just before closing (to `?ext=1` clients).

/// A reason to close a connection, with its wire code and a human-readable text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The client said goodbye.
    Normal,
    /// The server is shutting down: reconnect, possibly to another instance.
    GoingAway,
    /// A text frame, an unknown packet type, or a type only servers may send.
    Unsupported,
    /// A frame that is not a well-formed `PacketWrapper`.
    Malformed,
    /// A packet over the server's size limit.
    TooLarge,
    /// More packets or bytes per second than the server allows one connection.
    RateLimited,
    /// The connection could not keep up with the room and fell hopelessly behind.
    SlowReceiver,
    /// Nothing heard from the client for too long.
    Timeout,
    /// The user or room id in the URL is not valid.
    InvalidId,
    /// The bus the server relays through is unavailable.
    Unavailable,
    /// The server, or the client's address, is at its connection limit.
    TooManyConnections,
    /// The room is at its size limit.
    RoomFull,
    /// A host removed this participant from the meeting: do not reconnect.
    Removed,
    /// A host ended the meeting: do not reconnect.
    MeetingEnded,
}

impl CloseReason {
    /// Every reason, for exhaustive tables (metrics labels, docs).
    pub const ALL: [CloseReason; 14] = [
        Self::Normal,
        Self::GoingAway,
        Self::Unsupported,
        Self::Malformed,
        Self::TooLarge,
        Self::RateLimited,
        Self::SlowReceiver,
        Self::Timeout,
        Self::InvalidId,
        Self::Unavailable,
        Self::TooManyConnections,
        Self::RoomFull,
        Self::Removed,
        Self::MeetingEnded,
    ];

    /// The WebSocket close code, also used as the WebTransport application error code.
    pub const fn code(self) -> u16 {
        match self {
            Self::Normal => 1000,
            Self::GoingAway => 1001,
            Self::Unsupported => 1003,
            Self::Malformed => 1007,
            Self::TooLarge => 1009,
            Self::Unavailable => 1013,
            Self::RateLimited => 4008,
            Self::SlowReceiver => 4009,
            Self::Timeout => 4010,
            Self::InvalidId => 4011,
            Self::TooManyConnections => 4012,
            Self::RoomFull => 4013,
            Self::Removed => 4014,
            Self::MeetingEnded => 4015,
        }
    }

    /// The reason for a received code, if it is one of ours.
    pub fn from_code(code: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|r| u32::from(r.code()) == code)
    }

    /// A short stable name, for metrics labels and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::GoingAway => "going_away",
            Self::Unsupported => "unsupported",
            Self::Malformed => "malformed",
            Self::TooLarge => "too_large",
            Self::RateLimited => "rate_limited",
            Self::SlowReceiver => "slow_receiver",
            Self::Timeout => "timeout",
            Self::InvalidId => "invalid_id",
            Self::Unavailable => "unavailable",
            Self::TooManyConnections => "too_many_connections",
            Self::RoomFull => "room_full",
            Self::Removed => "removed",
            Self::MeetingEnded => "meeting_ended",
        }
    }

    /// The text sent with the close (WebSocket limits it to 123 bytes; these are short).
    pub const fn description(self) -> &'static str {
        match self {
            Self::Normal => "goodbye",
            Self::GoingAway => "server is shutting down; reconnect",
            Self::Unsupported => "unsupported frame or packet type",
            Self::Malformed => "malformed PacketWrapper",
            Self::TooLarge => "packet exceeds the size limit",
            Self::RateLimited => "rate limit exceeded",
            Self::SlowReceiver => "receiver fell too far behind",
            Self::Timeout => "no traffic from client",
            Self::InvalidId => "invalid user or room id",
            Self::Unavailable => "relay bus unavailable; retry later",
            Self::TooManyConnections => "too many connections; retry later",
            Self::RoomFull => "the room is full",
            Self::Removed => "a host removed you from the meeting",
            Self::MeetingEnded => "the host ended the meeting",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn codes_are_unique_and_round_trip() {
        for reason in CloseReason::ALL {
            assert_eq!(CloseReason::from_code(reason.code().into()), Some(reason));
            assert!(reason.description().len() <= 123);
        }
        assert_eq!(CloseReason::from_code(1002), None);
    }

    #[test]
    fn host_actions_have_their_own_codes() {
        assert_eq!(CloseReason::Removed.code(), 4014);
        assert_eq!(CloseReason::MeetingEnded.code(), 4015);
        assert_eq!(CloseReason::from_code(4015), Some(CloseReason::MeetingEnded));
        // `reason as usize` indexes counters: `ALL` is in declaration order.
        for (index, reason) in CloseReason::ALL.iter().enumerate() {
            assert_eq!(*reason as usize, index);
        }
    }
}
