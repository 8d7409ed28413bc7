//! What the relay tests share: reading a session's output the way a transport's writer does.

use bytes::Bytes;
use videocall_relay::Receiver;
use videocall_types::CloseReason;

/// One thing a writer got from a session: a packet to send, or the reason to close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Out {
    Packet(Bytes),
    Close(CloseReason),
}

/// The next thing for the writer, through the batch path the transports use (a batch of one).
pub(crate) async fn next(rx: &Receiver) -> Out {
    let mut batch = Vec::with_capacity(1);
    match rx.next_batch(&mut batch, 1).await {
        Ok(()) => Out::Packet(batch.remove(0)),
        Err(reason) => Out::Close(reason),
    }
}
