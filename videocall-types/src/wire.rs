//! A zero-copy reader for the envelope fields a relay needs, and the identity stamp.
//!
//! Relays must not decode (or copy) media to route it. [`Envelope::read`] walks the protobuf
//! fields of a `PacketWrapper` once, checks that the whole buffer is well formed, and borrows
//! what routing needs. [`stamp`] rewrites the envelope with the server's identity: one pass that
//! copies every field except the sender's own `email` and `session_id`, then appends the
//! authenticated ones, so the media bytes are copied once and never re-encoded.
//! [`Envelope::is_rtt_probe`] recognises the old protocol's round-trip probes, which relays
//! return to their sender instead of relaying.

use crate::protos::media_packet::media_packet::MediaType;
use crate::protos::packet_wrapper::packet_wrapper::PacketType;

/// The largest field number protobuf allows.
const MAX_FIELD_NUMBER: u32 = (1 << 29) - 1;

const WIRE_VARINT: u8 = 0;
const WIRE_I64: u8 = 1;
const WIRE_LEN: u8 = 2;
const WIRE_I32: u8 = 5;

// PacketWrapper field numbers (packet_wrapper.proto; why these, in the crate README).
const PW_PACKET_TYPE: u32 = 1;
const PW_EMAIL: u32 = 2;
const PW_DATA: u32 = 3;
const PW_SESSION_ID: u32 = 4;
const PW_ROUTE: u32 = 1000;

// MediaPacket fields and the wire type each has (media_packet.proto): what a plaintext
// MediaPacket may hold, for telling one from ciphertext.
const MEDIA_TYPE: u32 = 1;
const MEDIA_TIMESTAMP: u32 = 5;
const MEDIA_FIELDS: [(u32, u8); 9] = [
    (MEDIA_TYPE, WIRE_VARINT),
    (2, WIRE_LEN), // email
    (3, WIRE_LEN), // data
    (4, WIRE_LEN), // frame_type
    (MEDIA_TIMESTAMP, WIRE_I64),
    (6, WIRE_I64), // duration
    (7, WIRE_LEN), // audio_metadata
    (8, WIRE_LEN), // video_metadata
    (9, WIRE_LEN), // heartbeat_metadata
];

/// Why a buffer is not a well-formed envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The buffer ends inside a field.
    #[error("truncated protobuf field")]
    Truncated,
    /// A varint is longer than ten bytes or does not fit 64 bits.
    #[error("varint longer than 64 bits")]
    VarintTooLong,
    /// A field uses a wire type that proto3 messages never use (groups, or 6/7).
    #[error("unsupported protobuf wire type {0}")]
    WireType(u8),
    /// A field number of zero or above 2^29 - 1, the largest protobuf allows.
    #[error("protobuf field number {0} out of range")]
    FieldNumber(u64),
    /// A known field is encoded with the wrong wire type.
    #[error("field {field} has wire type {found}, expected {expected}")]
    FieldType {
        /// The field number.
        field: u32,
        /// The wire type found.
        found: u8,
        /// The wire type the schema needs.
        expected: u8,
    },
    /// An enum value that does not fit 32 bits.
    #[error("field {0} holds an enum value out of the 32-bit range")]
    EnumRange(u32),
    /// The sender identity is not UTF-8 (protobuf strings must be).
    #[error("email is not valid UTF-8")]
    Utf8,
}

/// One protobuf field: number, and its value.
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    Varint(u64),
    /// A fixed-size value, with its wire type (`WIRE_I64` or `WIRE_I32`).
    Fixed(u8),
    Bytes(&'a [u8]),
}

impl Value<'_> {
    fn wire_type(&self) -> u8 {
        match self {
            Value::Varint(_) => WIRE_VARINT,
            Value::Fixed(wire) => *wire,
            Value::Bytes(_) => WIRE_LEN,
        }
    }
}

/// One field of a message: its number, value, and the bytes it spans in the buffer.
struct Field<'a> {
    number: u32,
    value: Value<'a>,
    span: std::ops::Range<usize>,
}

/// Iterates over the fields of a protobuf message.
struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, WireError> {
        let mut value = 0u64;
        for i in 0..10 {
            let byte = *self.buf.get(self.pos).ok_or(WireError::Truncated)?;
            self.pos += 1;
            if i == 9 && byte > 1 {
                // The tenth byte holds bit 63 only; anything more overflows.
                return Err(WireError::VarintTooLong);
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(WireError::VarintTooLong)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).ok_or(WireError::Truncated)?;
        let bytes = self.buf.get(self.pos..end).ok_or(WireError::Truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    /// The next field, `None` at the end of the buffer.
    fn next_field(&mut self) -> Option<Result<Field<'a>, WireError>> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let start = self.pos;
        Some(self.field().map(|(number, value)| Field { number, value, span: start..self.pos }))
    }

    fn field(&mut self) -> Result<(u32, Value<'a>), WireError> {
        let start = self.pos;
        let key = self.varint()?;
        if self.pos - start > 5 {
            // Keys are 32-bit varints; protobuf parsers refuse longer encodings.
            return Err(WireError::VarintTooLong);
        }
        let wire = (key & 7) as u8;
        let number = match u32::try_from(key >> 3) {
            Ok(number @ 1..=MAX_FIELD_NUMBER) => number,
            _ => return Err(WireError::FieldNumber(key >> 3)),
        };
        let value = match wire {
            WIRE_VARINT => Value::Varint(self.varint()?),
            WIRE_I64 => self.take(8).map(|_| Value::Fixed(WIRE_I64))?,
            WIRE_I32 => self.take(4).map(|_| Value::Fixed(WIRE_I32))?,
            WIRE_LEN => {
                let at = self.pos;
                let len = self.varint()?;
                // Lengths are 32-bit varints too: protobuf parsers refuse more than five
                // bytes (even an over-long zero) or a value above u32::MAX.
                if self.pos - at > 5 || len > u64::from(u32::MAX) {
                    return Err(WireError::VarintTooLong);
                }
                let len = usize::try_from(len).map_err(|_| WireError::Truncated)?;
                Value::Bytes(self.take(len)?)
            }
            other => return Err(WireError::WireType(other)),
        };
        Ok((number, value))
    }
}

fn expect_varint(field: u32, value: Value<'_>) -> Result<u64, WireError> {
    match value {
        Value::Varint(v) => Ok(v),
        other => Err(type_error(field, other, WIRE_VARINT)),
    }
}

/// An enum field: a varint holding a sign-extended 32-bit value.
fn expect_enum(field: u32, value: Value<'_>) -> Result<i32, WireError> {
    let raw = expect_varint(field, value)?;
    i32::try_from(raw as i64).map_err(|_| WireError::EnumRange(field))
}

fn expect_bytes(field: u32, value: Value<'_>) -> Result<&[u8], WireError> {
    match value {
        Value::Bytes(b) => Ok(b),
        other => Err(type_error(field, other, WIRE_LEN)),
    }
}

fn type_error(field: u32, value: Value<'_>, expected: u8) -> WireError {
    WireError::FieldType { field, found: value.wire_type(), expected }
}

/// What the relay knows about a media packet's stream without reading its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Route {
    /// Raw `MediaType` value (unknown values are kept, not rejected).
    pub media_type: i32,
    /// A key frame: decoding can start here.
    pub keyframe: bool,
    /// Per-stream sequence number.
    pub sequence: u64,
}

impl Route {
    /// The media type, if it is one this version knows.
    pub fn kind(&self) -> Option<MediaType> {
        protobuf::Enum::from_i32(self.media_type)
    }

    fn merge(&mut self, buf: &[u8]) -> Result<(), WireError> {
        let mut fields = Fields::new(buf);
        while let Some(field) = fields.next_field() {
            let Field { number, value, .. } = field?;
            match number {
                1 => self.media_type = expect_enum(number, value)?,
                2 => self.keyframe = expect_varint(number, value)? != 0,
                3 => self.sequence = expect_varint(number, value)?,
                _ => {}
            }
        }
        Ok(())
    }
}

/// The routing-relevant fields of a `PacketWrapper`, borrowed from the received buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Envelope<'a> {
    /// Raw `PacketType` value.
    pub packet_type: i32,
    /// Sender identity as the sender wrote it (relays overwrite it, see [`stamp`]).
    pub email: &'a str,
    /// The inner message, possibly encrypted.
    pub data: &'a [u8],
    /// Session id as written in the buffer (0 when unset).
    pub session_id: u64,
    /// The routing header, when the sender set one.
    pub route: Option<Route>,
}

impl<'a> Envelope<'a> {
    /// Reads and checks a whole envelope; later occurrences of a field win, as in protobuf.
    pub fn read(buf: &'a [u8]) -> Result<Self, WireError> {
        let mut env = Envelope::default();
        let mut fields = Fields::new(buf);
        while let Some(field) = fields.next_field() {
            let Field { number, value, .. } = field?;
            match number {
                PW_PACKET_TYPE => env.packet_type = expect_enum(number, value)?,
                PW_EMAIL => {
                    let raw = expect_bytes(number, value)?;
                    env.email = std::str::from_utf8(raw).map_err(|_| WireError::Utf8)?;
                }
                PW_DATA => env.data = expect_bytes(number, value)?,
                PW_SESSION_ID => env.session_id = expect_varint(number, value)?,
                PW_ROUTE => env
                    .route
                    .get_or_insert_with(Route::default)
                    .merge(expect_bytes(number, value)?)?,
                _ => {}
            }
        }
        Ok(env)
    }

    /// The packet type, if it is one this version knows.
    pub fn kind(&self) -> Option<PacketType> {
        protobuf::Enum::from_i32(self.packet_type)
    }

    /// The media route: the routing header, or for senders that set none (the old protocol), the
    /// media type and frame type read from a plaintext `MediaPacket` in `data`. `None` when
    /// neither is available, e.g. an encrypted packet from an old client.
    pub fn media_route(&self) -> Option<Route> {
        if self.kind() != Some(PacketType::MEDIA) {
            return None;
        }
        self.route.or_else(|| legacy_media_route(self.data))
    }

    /// Whether this is a round-trip probe (`MediaType::RTT`), which a relay sends back to its
    /// sender alone: by its routing header, or for senders that set none (the old protocol),
    /// by a plaintext `MediaPacket` in `data`. An encrypted probe without a routing header
    /// cannot be told from media and is not one (the old server could not tell either).
    pub fn is_rtt_probe(&self) -> bool {
        if self.kind() != Some(PacketType::MEDIA) {
            return false;
        }
        match self.route {
            Some(route) => route.kind() == Some(MediaType::RTT),
            None => plaintext_rtt_probe(self.data),
        }
    }
}

/// Whether `data` is a plaintext RTT probe as old clients send it: a `MediaPacket` whose
/// `media_type` is RTT and that has a `timestamp` (the send time the probe measures).
///
/// Only trusted when every field is one a `MediaPacket` has, with the wire type it has, so that
/// ciphertext is very unlikely to pass for a probe (and media sent as one would only be
/// returned to its own sender).
fn plaintext_rtt_probe(data: &[u8]) -> bool {
    let (mut rtt, mut timestamp) = (false, false);
    let mut fields = Fields::new(data);
    while let Some(field) = fields.next_field() {
        let Ok(Field { number, value, .. }) = field else { return false };
        if !MEDIA_FIELDS.contains(&(number, value.wire_type())) {
            return false;
        }
        match (number, value) {
            (MEDIA_TYPE, Value::Varint(v)) => rtt = v == MediaType::RTT as u64,
            (MEDIA_TIMESTAMP, _) => timestamp = true,
            _ => {}
        }
    }
    rtt && timestamp
}

/// Reads `media_type`, `frame_type` and the sequence of a plaintext `MediaPacket`.
///
/// Only trusted when `frame_type` is exactly "key" or "delta" (every media packet of the old
/// protocol sets it), so random ciphertext is very unlikely to pass for media.
fn legacy_media_route(data: &[u8]) -> Option<Route> {
    let mut route = Route::default();
    let mut frame_type_seen = false;
    let mut fields = Fields::new(data);
    while let Some(field) = fields.next_field() {
        let Field { number, value, .. } = field.ok()?;
        match (number, value) {
            (1, Value::Varint(v)) => route.media_type = v as i32,
            (4, Value::Bytes(b"key")) => (route.keyframe, frame_type_seen) = (true, true),
            (4, Value::Bytes(b"delta")) => (route.keyframe, frame_type_seen) = (false, true),
            (4, _) => return None,
            (7 | 8, Value::Bytes(meta)) => route.sequence = metadata_sequence(number, meta)?,
            _ => {}
        }
    }
    (frame_type_seen && route.kind().is_some()).then_some(route)
}

fn metadata_sequence(field: u32, meta: &[u8]) -> Option<u64> {
    // AudioMetadata.sequence = 5, VideoMetadata.sequence = 1.
    let wanted = if field == 7 { 5 } else { 1 };
    let mut sequence = 0;
    let mut fields = Fields::new(meta);
    while let Some(field) = fields.next_field() {
        if let Field { number, value: Value::Varint(v), .. } = field.ok()?
            && number == wanted
        {
            sequence = v;
        }
    }
    Some(sequence)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_key(out: &mut Vec<u8>, field: u32, wire: u8) {
    put_varint(out, (u64::from(field) << 3) | u64::from(wire));
}

/// Rewrites an envelope with the server's view of the sender: every field is kept byte for byte
/// except `email` and `session_id`, which are replaced by `user` and `session`.
///
/// Fails only when `buf` is not well-formed protobuf.
pub fn stamp(buf: &[u8], user: &str, session: u64) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(buf.len() + user.len() + 16);
    let mut fields = Fields::new(buf);
    while let Some(field) = fields.next_field() {
        let Field { number, span, .. } = field?;
        if number != PW_EMAIL && number != PW_SESSION_ID {
            out.extend_from_slice(&buf[span]);
        }
    }
    put_key(&mut out, PW_EMAIL, WIRE_LEN);
    put_varint(&mut out, user.len() as u64);
    out.extend_from_slice(user.as_bytes());
    put_key(&mut out, PW_SESSION_ID, WIRE_VARINT);
    put_varint(&mut out, session);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protos::media_packet::{MediaPacket, VideoMetadata};
    use crate::protos::packet_wrapper::{PacketWrapper, RoutingHeader};
    use protobuf::{Message, MessageField};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn media(kind: MediaType, frame: &str, seq: u64) -> Vec<u8> {
        let packet = MediaPacket {
            media_type: kind.into(),
            frame_type: frame.into(),
            data: vec![7; 100],
            video_metadata: MessageField::some(VideoMetadata {
                sequence: seq,
                ..Default::default()
            }),
            ..Default::default()
        };
        packet.write_to_bytes().unwrap()
    }

    fn wrapper(email: &str, data: Vec<u8>, route: Option<RoutingHeader>) -> Vec<u8> {
        let w = PacketWrapper {
            packet_type: PacketType::MEDIA.into(),
            email: email.into(),
            data,
            session_id: 99,
            route: route.into(),
            ..Default::default()
        };
        w.write_to_bytes().unwrap()
    }

    #[test]
    fn reads_what_rust_protobuf_writes() {
        let route = RoutingHeader {
            media_type: MediaType::SCREEN.into(),
            keyframe: true,
            sequence: 12,
            ..Default::default()
        };
        let buf = wrapper("mallory", vec![1, 2, 3], Some(route));
        let env = Envelope::read(&buf).unwrap();
        assert_eq!(env.kind(), Some(PacketType::MEDIA));
        assert_eq!(env.email, "mallory");
        assert_eq!(env.data, &[1, 2, 3]);
        assert_eq!(env.session_id, 99);
        let r = env.media_route().unwrap();
        assert_eq!((r.kind(), r.keyframe, r.sequence), (Some(MediaType::SCREEN), true, 12));
    }

    #[test]
    fn reads_the_route_of_an_old_plaintext_packet() {
        let buf = wrapper("a", media(MediaType::VIDEO, "key", 5), None);
        let r = Envelope::read(&buf).unwrap().media_route().unwrap();
        assert_eq!((r.kind(), r.keyframe, r.sequence), (Some(MediaType::VIDEO), true, 5));
        let buf = wrapper("a", media(MediaType::AUDIO, "delta", 0), None);
        let r = Envelope::read(&buf).unwrap().media_route().unwrap();
        assert_eq!((r.kind(), r.keyframe), (Some(MediaType::AUDIO), false));
    }

    #[test]
    fn ciphertext_has_no_route() {
        let noise: Vec<u8> = (0..200u32).map(|i| (i * 97 + 13) as u8).collect();
        let buf = wrapper("a", noise, None);
        assert_eq!(Envelope::read(&buf).unwrap().media_route(), None);
    }

    #[test]
    fn stamp_overwrites_identity_and_keeps_the_rest() {
        let inner = media(MediaType::VIDEO, "delta", 3);
        let buf = wrapper("mallory", inner.clone(), None);
        let stamped = stamp(&buf, "alice", 1234).unwrap();
        let w = PacketWrapper::parse_from_bytes(&stamped).unwrap();
        assert_eq!(w.email, "alice");
        assert_eq!(w.session_id, 1234);
        assert_eq!(w.data, inner);
        assert!(!stamped.windows(7).any(|win| win == b"mallory"));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let good = wrapper("a", vec![1; 10], None);
        for cut in 1..good.len() {
            // Every strict prefix ends inside a field (the last field is the route/session).
            let _ = Envelope::read(&good[..cut]);
        }
        assert_eq!(Envelope::read(&[0x0a, 0x05, 1]), Err(WireError::Truncated));
        assert_eq!(Envelope::read(&[0xff; 11]), Err(WireError::VarintTooLong));
        assert_eq!(Envelope::read(&[0x0b]), Err(WireError::WireType(3)));
        assert_eq!(Envelope::read(&[0x00, 0x00]), Err(WireError::FieldNumber(0)));
        // Found by the mutation test below: what rust-protobuf refuses, the relay refuses too.
        let largest_field = [0xf8, 0xff, 0xff, 0xff, 0x0f, 0x00];
        assert!(Envelope::read(&largest_field).is_ok());
        let too_large_field = [0x80, 0x80, 0x80, 0x80, 0x10, 0x00];
        assert_eq!(Envelope::read(&too_large_field), Err(WireError::FieldNumber(1 << 29)));
        assert_eq!(
            Envelope::read(&[0x85, 0xbc, 0xb1, 0x8c, 0x8d, 0x00, 1, 2, 3, 4]),
            Err(WireError::VarintTooLong)
        );
        assert_eq!(
            Envelope::read(&[0x08, 0xc1, 0xb4, 0xb2, 0xf7, 0x63]),
            Err(WireError::EnumRange(1))
        );
        let mut overflow = vec![0x18];
        overflow.extend([0xff; 9]);
        overflow.push(0x02);
        assert_eq!(Envelope::read(&overflow), Err(WireError::VarintTooLong));
        // Found by `cargo fuzz` (envelope): an unknown field whose length is a six-byte zero.
        // Kept byte for byte by the stamp, it made the stamped packet unparsable by clients.
        let long_length = [0x3a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
        assert_eq!(Envelope::read(&long_length), Err(WireError::VarintTooLong));
        let five_byte_length = [0x3a, 0x80, 0x80, 0x80, 0x80, 0x00];
        assert!(Envelope::read(&five_byte_length).is_ok());
        assert!(PacketWrapper::parse_from_bytes(&five_byte_length).is_ok());
        let length_over_u32 = [0x3a, 0x80, 0x80, 0x80, 0x80, 0x10];
        assert_eq!(Envelope::read(&length_over_u32), Err(WireError::VarintTooLong));
        assert_eq!(Envelope::read(&[0x12, 0x01, 0xff]), Err(WireError::Utf8));
        assert!(matches!(
            Envelope::read(&[0x0a, 0x00]),
            Err(WireError::FieldType { field: 1, .. })
        ));
        assert!(stamp(&[0x1a, 0x09], "a", 1).is_err());
    }

    #[test]
    fn empty_buffer_is_an_rsa_key_packet_by_proto3_defaults() {
        let env = Envelope::read(&[]).unwrap();
        assert_eq!(env.kind(), Some(PacketType::RSA_PUB_KEY));
    }

    /// Deterministic pseudo-random numbers (xorshift64), so the test needs no dependency and
    /// every failure reproduces.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn whatever_the_reader_accepts_is_stamped_into_a_packet_every_client_can_parse() {
        let route = RoutingHeader {
            media_type: MediaType::VIDEO.into(),
            keyframe: true,
            ..Default::default()
        };
        let seeds = [
            wrapper("alice", media(MediaType::VIDEO, "key", 1), Some(route)),
            wrapper("bob", media(MediaType::AUDIO, "delta", 2), None),
            wrapper("", Vec::new(), None),
        ];
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        let mut accepted = 0;
        for i in 0..50_000 {
            let buf: Vec<u8> = if i % 3 == 0 {
                let len = next(&mut rng) % 48;
                (0..len).map(|_| next(&mut rng) as u8).collect()
            } else {
                let mut buf = seeds[i % seeds.len()].clone();
                for _ in 0..=next(&mut rng) % 4 {
                    let at = (next(&mut rng) as usize) % buf.len().max(1);
                    match next(&mut rng) % 3 {
                        0 if !buf.is_empty() => buf[at] = next(&mut rng) as u8,
                        1 => buf.truncate(at),
                        _ => buf.insert(at.min(buf.len()), next(&mut rng) as u8),
                    }
                }
                buf
            };
            let Ok(envelope) = Envelope::read(&buf) else { continue };
            accepted += 1;
            let _ = envelope.media_route();
            let stamped = stamp(&buf, "zed", 77).expect("a readable envelope can be stamped");
            let again = Envelope::read(&stamped).expect("a stamped envelope stays readable");
            assert_eq!((again.email, again.session_id), ("zed", 77));
            let parsed = PacketWrapper::parse_from_bytes(&stamped)
                .unwrap_or_else(|e| panic!("clients cannot parse {buf:02x?}: {e}"));
            assert_eq!(parsed.email, "zed");
        }
        assert!(accepted > 1000, "the test must exercise the accepting path ({accepted})");
    }

    /// An RTT probe as a videocall-rs client of mid-2025 sends it, byte for byte from its
    /// protobuf/types/packet_wrapper.proto (commit 3145a82973964e4ab9e7b8eeceb5da56cec28da6:
    /// `packet_type = 1`, `email = 2`, `data = 3`, MEDIA = 2) and media_packet.proto with RTT = 4
    /// (as generated into videocall-types/src/protos/media_packet.rs at commit
    /// 82d89391cfd5c28b2193c4522040cda3d6b46be3: `media_type = 1`, `email = 2`,
    /// `timestamp = 5` double).
    const OLD_RTT_PROBE: [u8; 29] = [
        0x08, 0x02, // packet_type: MEDIA
        0x12, 0x05, b'a', b'l', b'i', b'c', b'e', // email
        0x1a, 0x12, // data: an 18-byte MediaPacket
        0x08, 0x04, // media_type: RTT
        0x12, 0x05, b'a', b'l', b'i', b'c', b'e', // email
        0x29, 0x00, 0xb0, 0xc7, 0xe5, 0x2f, 0x89, 0x79, 0x42, // timestamp: 1754812800123.0 ms
    ];

    #[test]
    fn an_old_clients_rtt_probe_is_recognised_from_its_plaintext() {
        let env = Envelope::read(&OLD_RTT_PROBE).unwrap();
        assert_eq!((env.kind(), env.email), (Some(PacketType::MEDIA), "alice"));
        assert!(env.is_rtt_probe());
        assert_eq!(env.media_route(), None, "a probe is not a media stream");
        // What rust-protobuf reads, for comparison.
        let media = MediaPacket::parse_from_bytes(env.data).unwrap();
        assert_eq!(media.media_type.enum_value(), Ok(MediaType::RTT));
        assert_eq!(media.timestamp, 1_754_812_800_123.0);
    }

    #[test]
    fn only_a_plaintext_media_packet_of_type_rtt_with_a_timestamp_is_a_probe() {
        let probe = |data: &[u8]| {
            let mut buf = vec![0x08, 0x02, 0x1a, data.len() as u8];
            buf.extend_from_slice(data);
            Envelope::read(&buf).unwrap().is_rtt_probe()
        };
        let inner = &OLD_RTT_PROBE[11..];
        assert!(probe(inner));
        assert!(!probe(&inner[..9]), "no timestamp: nothing to measure");
        assert!(!probe(&[0x08, 0x03, 0x29, 0, 0, 0, 0, 0, 0, 0, 0]), "a heartbeat");
        let mut unknown_field = inner.to_vec();
        unknown_field.extend_from_slice(&[0x50, 0x01]); // field 10: no MediaPacket has one
        assert!(!probe(&unknown_field));
        let mut wrong_type = inner.to_vec();
        wrong_type.extend_from_slice(&[0x30, 0x01]); // duration (6) as a varint
        assert!(!probe(&wrong_type));
        assert!(!probe(&inner[..inner.len() - 1]), "truncated");
        // The same bytes in another packet type are not a probe.
        let mut diagnostics = OLD_RTT_PROBE;
        diagnostics[1] = 0x04;
        assert!(!Envelope::read(&diagnostics).unwrap().is_rtt_probe());
        // A routing header decides for encrypted probes, and over the payload.
        let rtt = RoutingHeader { media_type: MediaType::RTT.into(), ..Default::default() };
        assert!(Envelope::read(&wrapper("a", vec![9; 40], Some(rtt))).unwrap().is_rtt_probe());
        let audio = RoutingHeader { media_type: MediaType::AUDIO.into(), ..Default::default() };
        let buf = wrapper("a", inner.to_vec(), Some(audio));
        assert!(!Envelope::read(&buf).unwrap().is_rtt_probe());
        // Media and ciphertext are not probes.
        let buf = wrapper("a", media(MediaType::VIDEO, "key", 1), None);
        assert!(!Envelope::read(&buf).unwrap().is_rtt_probe());
        let noise: Vec<u8> = (0..200u32).map(|i| (i * 97 + 13) as u8).collect();
        assert!(!Envelope::read(&wrapper("a", noise, None)).unwrap().is_rtt_probe());
    }

    #[test]
    fn fields_newer_videocall_rs_clients_send_in_5_and_6_are_skipped_not_refused() {
        // videocall-rs v4 protobuf/types/packet_wrapper.proto (commit
        // 09726273c363a59360566740c16e5b8679dae393): MEDIA = 3, `uint32 simulcast_layer_id = 5`,
        // `MediaKind media_kind = 6`; an earlier v4 (commit
        // 6060df6d20207b13a2d4f98b6815f0f58b953753) had `ConnectionPhase connection_phase = 5`.
        // Both are varints, where our routing header (a message) used to be field 5.
        let buf = [0x08, 0x03, 0x1a, 0x01, 0x00, 0x28, 0x02, 0x30, 0x01];
        let env = Envelope::read(&buf).unwrap();
        assert_eq!((env.packet_type, env.route), (3, None));
        let stamped = stamp(&buf, "bob", 5).unwrap();
        assert!(stamped.starts_with(&buf), "their fields pass through untouched");
    }

    #[test]
    fn unknown_fields_pass_through_the_stamp() {
        let mut buf = wrapper("a", vec![1], None);
        buf.extend_from_slice(&[0xa0, 0x06, 0x2a]); // field 100, varint 42
        let stamped = stamp(&buf, "b", 1).unwrap();
        assert!(stamped.windows(3).any(|w| w == [0xa0, 0x06, 0x2a]));
    }
}
