//! WebSocket through the browser's `WebSocket`: one binary message per packet.
//!
//! The browser pushes messages through callbacks and cannot be paused, so they land in a
//! bounded inbox (policy: when the page falls that far behind, new messages are dropped and
//! reported as unreadable, which the session counts). Outgoing packets are dropped (counted by
//! the caller) while the socket's own send buffer holds more than [`MAX_BUFFERED`] bytes.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::task::{Poll, Waker};

use url::Url;
use videocall_types::CloseReason;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use super::js;
use super::transport::{ConnectError, TransportError};
use crate::link::{MAX_PACKET, Received};

/// Messages held for the driver at most.
const INBOX: usize = 4096;

/// Bytes the browser may buffer for sending before new packets are dropped: about a second of
/// HD video. Beyond that, the network is slower than the encoders and old media is worthless.
const MAX_BUFFERED: u32 = 4 * 1024 * 1024;

#[derive(Debug, Default)]
struct Inbox {
    items: VecDeque<Received>,
    opened: bool,
    closed: bool,
    waker: Option<Waker>,
}

impl Inbox {
    fn push(&mut self, item: Received) {
        if self.closed {
            return;
        }
        if matches!(item, Received::Closed(_)) {
            self.closed = true;
            self.items.push_back(item);
        } else if self.items.len() < INBOX {
            self.items.push_back(item);
        } else if let Some(last) = self.items.back_mut() {
            // Full: the newest slot reports the loss once instead of holding the packet.
            *last = Received::Unreadable("inbox full");
        }
        self.wake();
    }

    fn wake(&mut self) {
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

/// Callbacks the socket holds; dropping them detaches the handlers first.
struct Handlers {
    _message: Closure<dyn FnMut(MessageEvent)>,
    _close: Closure<dyn FnMut(CloseEvent)>,
    _open: Closure<dyn FnMut()>,
}

/// One open WebSocket.
pub(crate) struct Link {
    socket: WebSocket,
    inbox: Rc<RefCell<Inbox>>,
    _handlers: Handlers,
}

impl Link {
    /// Opens `url` and waits for the handshake.
    pub(crate) async fn connect(url: &Url) -> Result<Self, ConnectError> {
        let socket =
            WebSocket::new(url.as_str()).map_err(|e| ConnectError::Refused(js::describe(&e)))?;
        socket.set_binary_type(BinaryType::Arraybuffer);
        let inbox = Rc::new(RefCell::new(Inbox::default()));

        let sink = inbox.clone();
        let message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let item = match event.data().dyn_into::<js_sys::ArrayBuffer>() {
                Ok(buffer) if buffer.byte_length() as usize <= MAX_PACKET => {
                    Received::Packet(js_sys::Uint8Array::new(&buffer).to_vec())
                }
                Ok(_) => Received::Unreadable("message too large"),
                Err(_) => Received::Unreadable("text message"),
            };
            sink.borrow_mut().push(item);
        });
        let sink = inbox.clone();
        let close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            // 1005/1006: no code was sent (or the connection just dropped).
            let code = Some(u32::from(event.code())).filter(|c| !matches!(c, 1005 | 1006));
            sink.borrow_mut().push(Received::Closed(code));
        });
        let sink = inbox.clone();
        let open = Closure::<dyn FnMut()>::new(move || {
            let mut inbox = sink.borrow_mut();
            inbox.opened = true;
            inbox.wake();
        });
        socket.set_onmessage(Some(message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(close.as_ref().unchecked_ref()));
        socket.set_onopen(Some(open.as_ref().unchecked_ref()));
        let link = Self {
            socket,
            inbox,
            _handlers: Handlers { _message: message, _close: close, _open: open },
        };

        let opened = futures::future::poll_fn(|cx| {
            let mut inbox = link.inbox.borrow_mut();
            if inbox.closed {
                Poll::Ready(false)
            } else if inbox.opened {
                Poll::Ready(true)
            } else {
                inbox.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
        if opened {
            Ok(link)
        } else {
            Err(ConnectError::Failed(format!("cannot open a WebSocket to {url}")))
        }
    }

    /// Sends one packet; `Ok(false)` when it was dropped because the socket is backed up.
    pub(crate) fn send(&mut self, packet: &[u8]) -> Result<bool, TransportError> {
        if self.socket.buffered_amount() > MAX_BUFFERED {
            return Ok(false);
        }
        self.socket
            .send_with_u8_array(packet)
            .map(|()| true)
            .map_err(|e| TransportError(js::describe(&e)))
    }

    /// The next message (cancel-safe: messages wait in the inbox).
    pub(crate) async fn recv(&mut self) -> Received {
        futures::future::poll_fn(|cx| {
            let mut inbox = self.inbox.borrow_mut();
            match inbox.items.pop_front() {
                Some(item) => Poll::Ready(item),
                None => {
                    inbox.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// Closes with `reason`'s code.
    pub(crate) fn close(self, reason: CloseReason) {
        let _ = self.socket.close_with_code_and_reason(reason.code(), reason.as_str());
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        self.socket.set_onopen(None);
        if self.socket.ready_state() <= WebSocket::OPEN {
            let _ = self.socket.close();
        }
    }
}
