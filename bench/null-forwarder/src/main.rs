//! The benchmark baseline: the simplest WebSocket fan-out that still behaves. Each binary frame a
//! client sends to `/lobby/{user}/{room}` is written to the room's other connections — no
//! protobuf, no identity stamping, no bus, no metrics, no control messages. It marks the
//! practical limit of this machine for the relay to be compared against.
//!
//! Queue policy: each connection has one bounded queue of outgoing frames ([`QUEUE`]); when it
//! is full the new frame is dropped for that connection (a slow reader never blocks the room).
//! Writers batch: they flush the socket only when their queue is momentarily empty.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use clap::Parser;
use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

/// Frames waiting for one connection; when full, new frames for it are dropped.
const QUEUE: usize = 1024;

/// Largest accepted frame, as the relay's default.
const MAX_FRAME: usize = 1_000_000;

/// Command line of the null forwarder.
#[derive(Debug, Parser)]
#[command(name = "null-forwarder", about = "benchmark baseline: plain WebSocket fan-out")]
struct Args {
    /// Address to listen on; port 0 picks one (the address is printed).
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
}

type Peers = Vec<(u64, mpsc::Sender<Message>)>;

#[derive(Default)]
struct Rooms {
    rooms: Mutex<HashMap<String, Peers>>,
    next_id: AtomicU64,
}

impl Rooms {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Peers>> {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn join(&self, room: &str, tx: mpsc::Sender<Message>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().entry(room.to_owned()).or_default().push((id, tx));
        id
    }

    fn leave(&self, room: &str, id: u64) {
        let mut rooms = self.lock();
        if let Some(peers) = rooms.get_mut(room) {
            peers.retain(|(peer, _)| *peer != id);
            if peers.is_empty() {
                rooms.remove(room);
            }
        }
    }

    fn fan_out(&self, room: &str, from: u64, frame: &Message) {
        if let Some(peers) = self.lock().get(room) {
            for (_, tx) in peers.iter().filter(|(id, _)| *id != from) {
                // Full: this connection misses the frame (see the module docs).
                let _ = tx.try_send(frame.clone());
            }
        }
    }
}

/// The room of a lobby path `/lobby/{user}/{room}` (a query string is ignored).
fn room_of(path: &str) -> Option<String> {
    let mut parts = path.split('?').next()?.strip_prefix("/lobby/")?.split('/');
    let (user, room) = (parts.next()?, parts.next()?);
    (parts.next().is_none() && !user.is_empty() && !room.is_empty()).then(|| room.to_owned())
}

async fn serve(stream: TcpStream, rooms: Arc<Rooms>) {
    let _ = stream.set_nodelay(true);
    let mut room = None;
    #[allow(clippy::result_large_err, reason = "the signature tungstenite's callback needs")]
    let callback = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        room = room_of(request.uri().path());
        match room {
            Some(_) => Ok(response),
            None => {
                let mut refusal = ErrorResponse::new(Some("not a lobby path".into()));
                *refusal.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::NOT_FOUND;
                Err(refusal)
            }
        }
    };
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME))
        .max_frame_size(Some(MAX_FRAME));
    let Ok(ws) =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config)).await
    else {
        return;
    };
    let Some(room) = room else { return };
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::channel::<Message>(QUEUE);
    let id = rooms.join(&room, tx);
    let writer = async move {
        while let Some(frame) = rx.recv().await {
            if sink.feed(frame).await.is_err() {
                return;
            }
            while let Ok(frame) = rx.try_recv() {
                if sink.feed(frame).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    };
    let reader = async {
        while let Some(Ok(frame)) = source.next().await {
            match frame {
                Message::Binary(_) => rooms.fan_out(&room, id, &frame),
                Message::Close(_) => break,
                _ => {}
            }
        }
    };
    tokio::select! {
        () = writer => {}
        () = reader => {}
    }
    rooms.leave(&room, id);
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind(args.listen).await?;
    println!("null-forwarder listening on {}", listener.local_addr()?);
    let rooms = Arc::new(Rooms::default());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    tokio::spawn(serve(stream, rooms.clone()));
                }
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::room_of;

    #[test]
    fn lobby_paths_name_the_room() {
        assert_eq!(room_of("/lobby/alice/r1").as_deref(), Some("r1"));
        assert_eq!(room_of("/lobby/alice/r1?ext=1").as_deref(), Some("r1"));
        assert_eq!(room_of("/lobby/alice"), None);
        assert_eq!(room_of("/lobby//r1"), None);
        assert_eq!(room_of("/other/alice/r1"), None);
        assert_eq!(room_of("/lobby/a/b/c"), None);
    }
}
