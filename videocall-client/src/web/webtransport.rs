//! WebTransport through the browser's `WebTransport`: client to server one unidirectional
//! stream per packet; server to client one unidirectional stream per packet.
//!
//! Incoming streams are read concurrently inside this link (at most [`MAX_CONCURRENT_READS`];
//! beyond that QUIC flow control holds the server back). A self-signed server is trusted by the
//! SHA-256 hash of its certificate (`serverCertificateHashes`), as browsers allow for
//! certificates valid at most 14 days.

use std::task::Poll;

use futures::future::LocalBoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use js_sys::Uint8Array;
use url::Url;
use videocall_types::CloseReason;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    ReadableStream, ReadableStreamDefaultReader, ReadableStreamReadResult, WebTransport,
    WebTransportCloseInfo, WebTransportHash, WebTransportOptions, WritableStreamDefaultWriter,
};

use super::js;
use super::transport::{ConnectError, TransportError};
use crate::link::{MAX_PACKET, Received};

/// Incoming streams read at the same time.
const MAX_CONCURRENT_READS: usize = 64;

type Read = LocalBoxFuture<'static, Result<Vec<u8>, &'static str>>;

/// An open WebTransport session to the lobby.
pub(crate) struct Link {
    transport: WebTransport,
    incoming: ReadableStreamDefaultReader,
    /// The pending read of the next incoming stream (kept across cancelled `recv`s).
    accepting: Option<JsFuture>,
    reads: FuturesUnordered<Read>,
    closed: JsFuture<WebTransportCloseInfo>,
}

impl Link {
    /// Opens a WebTransport session at `url`, trusting `cert_hash` if given.
    pub(crate) async fn connect(
        url: &Url,
        cert_hash: Option<[u8; 32]>,
    ) -> Result<Self, ConnectError> {
        let options = WebTransportOptions::new();
        if let Some(hash) = cert_hash {
            let pinned = WebTransportHash::new();
            pinned.set_algorithm("sha-256");
            pinned.set_value_u8_array(&Uint8Array::from(&hash[..]));
            options.set_server_certificate_hashes(&[pinned]);
        }
        let refused = |e: JsValue| ConnectError::Refused(js::describe(&e));
        let transport = WebTransport::new_with_options(url.as_str(), &options).map_err(refused)?;
        let opening = Opening { transport, open: false };
        let transport = &opening.transport;
        let closed = JsFuture::from(transport.closed());
        if let Err(error) = JsFuture::from(transport.ready()).await {
            return Err(ConnectError::Failed(format!(
                "cannot open a WebTransport session to {url}: {}",
                js::describe(&error)
            )));
        }
        let incoming = reader(&transport.incoming_unidirectional_streams())
            .map_err(|e| ConnectError::Failed(js::describe(&e)))?;
        let transport = opening.open();
        Ok(Self { transport, incoming, accepting: None, reads: FuturesUnordered::new(), closed })
    }

    /// Sends one packet on a fresh unidirectional stream.
    pub(crate) async fn send(&mut self, packet: &[u8]) -> Result<(), TransportError> {
        let failed = |e: JsValue| TransportError(js::describe(&e));
        let stream =
            JsFuture::from(self.transport.create_unidirectional_stream()).await.map_err(failed)?;
        let writer: WritableStreamDefaultWriter = stream.get_writer().map_err(failed)?;
        JsFuture::from(writer.write_with_chunk(&Uint8Array::from(packet))).await.map_err(failed)?;
        // The FIN goes out with the data; waiting for the close to be acknowledged would cost a
        // round trip per packet, and a failure shows up on the session anyway.
        js::ignore_rejection(&writer.close());
        Ok(())
    }

    /// The next packet from a finished stream (cancel-safe: pending reads live in the link).
    pub(crate) async fn recv(&mut self) -> Received {
        futures::future::poll_fn(|cx| {
            while self.reads.len() < MAX_CONCURRENT_READS {
                let incoming = &self.incoming;
                let accepting =
                    self.accepting.get_or_insert_with(|| JsFuture::from(incoming.read()));
                let Poll::Ready(next) = accepting.poll_unpin(cx) else { break };
                self.accepting = None;
                match next.map(JsCast::unchecked_into::<ReadableStreamReadResult>) {
                    Ok(result) if !result.get_done().unwrap_or(false) => {
                        let stream = result.get_value().unchecked_into::<ReadableStream>();
                        self.reads.push(read_packet(stream).boxed_local());
                    }
                    _ => return Poll::Ready(Received::Closed(None)),
                }
            }
            if let Poll::Ready(Some(read)) = self.reads.poll_next_unpin(cx) {
                return Poll::Ready(match read {
                    Ok(packet) => Received::Packet(packet),
                    Err(why) => Received::Unreadable(why),
                });
            }
            match self.closed.poll_unpin(cx) {
                Poll::Ready(Ok(info)) => Poll::Ready(Received::Closed(info.get_close_code())),
                Poll::Ready(Err(_)) => Poll::Ready(Received::Closed(None)),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    /// Closes the session with `reason` as the application error code.
    pub(crate) fn close(self, reason: CloseReason) {
        let info = WebTransportCloseInfo::new();
        info.set_close_code(u32::from(reason.code()));
        info.set_reason(reason.description());
        self.transport.close_with_close_info(&info);
    }
}

/// A session being opened: closed if the attempt is abandoned (the driver drops a connect that
/// outlasts its timeout), so that a late handshake does not leave a session nobody reads.
struct Opening {
    transport: WebTransport,
    open: bool,
}

impl Opening {
    /// The session, now owned by its [`Link`] (another reference to the same JS object).
    fn open(mut self) -> WebTransport {
        self.open = true;
        self.transport.clone()
    }
}

impl Drop for Opening {
    fn drop(&mut self) {
        if !self.open {
            self.transport.close();
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Closing twice is harmless; this covers links dropped without `close`.
        self.transport.close();
    }
}

/// A default reader of `stream`.
fn reader(stream: &ReadableStream) -> Result<ReadableStreamDefaultReader, JsValue> {
    stream.get_reader().dyn_into::<ReadableStreamDefaultReader>().map_err(JsValue::from)
}

/// Reads one stream to its end, refusing more than [`MAX_PACKET`] bytes.
async fn read_packet(stream: ReadableStream) -> Result<Vec<u8>, &'static str> {
    let reader = reader(&stream).map_err(|_| "cannot read an incoming stream")?;
    let mut packet = Vec::new();
    loop {
        let result = JsFuture::from(reader.read())
            .await
            .map_err(|_| "stream reset or connection lost")?
            .unchecked_into::<ReadableStreamReadResult>();
        if result.get_done().unwrap_or(false) {
            return Ok(packet);
        }
        let chunk = result.get_value().unchecked_into::<Uint8Array>();
        if packet.len() + chunk.length() as usize > MAX_PACKET {
            js::ignore_rejection(&reader.cancel());
            return Err("stream over the size limit");
        }
        let start = packet.len();
        packet.resize(start + chunk.length() as usize, 0);
        chunk.copy_to(&mut packet[start..]);
    }
}
