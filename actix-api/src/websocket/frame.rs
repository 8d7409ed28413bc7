//! Server-to-client WebSocket frames (RFC 6455 §5.2): final, unmasked, one message per frame.
//! Only headers are built for packets, so that a packet's bytes are copied once, into the
//! server's write buffer, and never into a frame of their own first.

use actix_http::ws::OpCode;
use bytes::{BufMut, Bytes, BytesMut};

/// Longest frame header: two bytes and a 64-bit length.
pub(crate) const MAX_HEADER: usize = 10;

/// Longest payload of a control frame (ping, pong, close).
const MAX_CONTROL_PAYLOAD: usize = 125;

/// Appends the header of a final, unmasked frame of `opcode` whose payload is `len` bytes.
pub(crate) fn put_header(dst: &mut BytesMut, opcode: OpCode, len: usize) {
    let first = 0x80 | u8::from(opcode);
    match u16::try_from(len) {
        Ok(short) if short < 126 => dst.put_slice(&[first, short as u8]),
        Ok(medium) => {
            dst.put_slice(&[first, 126]);
            dst.put_u16(medium);
        }
        Err(_) => {
            dst.put_slice(&[first, 127]);
            dst.put_u64(len as u64);
        }
    }
}

/// A whole control frame (ping or pong) carrying `payload`, cut to the 125 bytes allowed.
pub(crate) fn control(opcode: OpCode, payload: &[u8]) -> Bytes {
    let payload = &payload[..payload.len().min(MAX_CONTROL_PAYLOAD)];
    let mut frame = BytesMut::with_capacity(2 + payload.len());
    put_header(&mut frame, opcode, payload.len());
    frame.put_slice(payload);
    frame.freeze()
}

/// A whole close frame with `code` and as much of `reason` as fits (123 bytes, cut at a
/// character boundary).
pub(crate) fn close(code: u16, reason: &str) -> Bytes {
    let mut end = reason.len().min(MAX_CONTROL_PAYLOAD - 2);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let reason = &reason.as_bytes()[..end];
    let mut frame = BytesMut::with_capacity(4 + reason.len());
    put_header(&mut frame, OpCode::Close, 2 + reason.len());
    frame.put_u16(code);
    frame.put_slice(reason);
    frame.freeze()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use actix_codec::Decoder;
    use actix_http::ws::{CloseCode, Codec, Frame};

    use super::*;

    /// What a client's decoder makes of `bytes` (one frame).
    fn decode(bytes: &[u8], max: usize) -> Frame {
        let mut buf = BytesMut::from(bytes);
        let frame = Codec::new().client_mode().max_size(max).decode(&mut buf).unwrap().unwrap();
        assert!(buf.is_empty(), "exactly one frame");
        frame
    }

    #[test]
    fn every_length_form_decodes_as_one_binary_frame() {
        for len in [0, 1, 125, 126, 127, 65_535, 65_536, 1_000_000] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut frame = BytesMut::new();
            put_header(&mut frame, OpCode::Binary, len);
            assert!(frame.len() <= MAX_HEADER);
            frame.put_slice(&payload);
            assert_eq!(decode(&frame, len.max(1)), Frame::Binary(Bytes::from(payload)), "{len}");
        }
    }

    #[test]
    fn control_frames_fit_the_limit_and_decode() {
        assert_eq!(decode(&control(OpCode::Ping, b""), 200), Frame::Ping(Bytes::new()));
        let long = [7u8; 300];
        assert_eq!(
            decode(&control(OpCode::Pong, &long), 200),
            Frame::Pong(Bytes::copy_from_slice(&long[..125]))
        );
    }

    #[test]
    fn close_frames_carry_the_code_and_a_reason_cut_at_a_character() {
        let Frame::Close(Some(reason)) = decode(&close(4010, "too large"), 200) else {
            panic!("not a close")
        };
        assert_eq!(reason.code, CloseCode::Other(4010));
        assert_eq!(reason.description.as_deref(), Some("too large"));
        // 61 two-byte characters are 122 bytes; the 62nd would pass the 123 allowed.
        let long = "é".repeat(80);
        let Frame::Close(Some(reason)) = decode(&close(1000, &long), 200) else {
            panic!("not a close")
        };
        assert_eq!(reason.description.unwrap(), "é".repeat(61));
    }
}
