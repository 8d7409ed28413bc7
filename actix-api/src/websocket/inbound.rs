//! The WebSocket's receiving half: frames decoded from the request's byte stream into relay
//! input. Fragmented messages are joined (up to the packet limit), pings are answered through
//! the writer, and a close frame, a broken connection or the end of the stream ends it.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use actix_codec::Decoder;
use actix_http::ws::{Codec, Frame, Item, ProtocolError};
use actix_web::web;
use bytes::{Bytes, BytesMut};
use futures::Stream;
use videocall_relay::connection::Incoming;
use videocall_types::CloseReason;

use super::writer::Pong;

/// The client's messages (see the module docs).
pub(crate) struct Inbound {
    payload: web::Payload,
    buffer: BytesMut,
    codec: Codec,
    /// A fragmented binary message being joined.
    partial: Option<BytesMut>,
    max_packet: usize,
    pong: Arc<Pong>,
    done: bool,
}

impl Inbound {
    pub(crate) fn new(payload: web::Payload, max_packet: usize, pong: Arc<Pong>) -> Self {
        Self {
            payload,
            buffer: BytesMut::new(),
            codec: Codec::new().max_size(max_packet),
            partial: None,
            max_packet,
            pong,
            done: false,
        }
    }

    /// What a decoded frame means for the relay; `None` for a fragment that is not the last.
    fn on_frame(&mut self, frame: Frame) -> Option<Incoming> {
        let refuse = |reason| Some(Incoming::Refused(reason));
        match frame {
            Frame::Binary(packet) => Some(Incoming::Packet(packet)),
            Frame::Text(_) | Frame::Continuation(Item::FirstText(_)) => {
                refuse(CloseReason::Unsupported)
            }
            Frame::Continuation(Item::FirstBinary(first)) => {
                self.partial = Some(BytesMut::from(first));
                None
            }
            Frame::Continuation(Item::Continue(more)) => self.join(&more).err(),
            Frame::Continuation(Item::Last(last)) => match self.join(&last) {
                Err(refused) => Some(refused),
                Ok(()) => self.partial.take().map(|whole| Incoming::Packet(whole.freeze())),
            },
            Frame::Ping(payload) => {
                self.pong.answer(payload);
                Some(Incoming::Alive)
            }
            Frame::Pong(_) => Some(Incoming::Alive),
            Frame::Close(_) => {
                self.done = true;
                None
            }
        }
    }

    /// Appends a fragment to the message being joined, within the packet limit.
    fn join(&mut self, fragment: &Bytes) -> Result<(), Incoming> {
        let Some(partial) = self.partial.as_mut() else {
            return Err(Incoming::Refused(CloseReason::Malformed));
        };
        if partial.len() + fragment.len() > self.max_packet {
            return Err(Incoming::Refused(CloseReason::TooLarge));
        }
        partial.extend_from_slice(fragment);
        Ok(())
    }
}

impl Stream for Inbound {
    type Item = Incoming;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Incoming>> {
        let this = self.get_mut();
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match this.codec.decode(&mut this.buffer) {
                Ok(Some(frame)) => {
                    if let Some(incoming) = this.on_frame(frame) {
                        return Poll::Ready(Some(incoming));
                    }
                }
                Ok(None) => match ready!(Pin::new(&mut this.payload).poll_next(cx)) {
                    Some(Ok(bytes)) => this.buffer.extend_from_slice(&bytes),
                    // The connection broke (the client vanished without a close frame): that
                    // ends the session; it is not malformed input.
                    Some(Err(err)) => {
                        tracing::debug!(%err, "websocket connection lost");
                        return Poll::Ready(None);
                    }
                    None => return Poll::Ready(None),
                },
                Err(ProtocolError::Overflow) => {
                    this.done = true;
                    return Poll::Ready(Some(Incoming::Refused(CloseReason::TooLarge)));
                }
                Err(err) => {
                    tracing::debug!(%err, "websocket protocol error");
                    this.done = true;
                    return Poll::Ready(Some(Incoming::Refused(CloseReason::Malformed)));
                }
            }
        }
    }
}
