//! videocall's HTTP server: the WebSocket relay endpoint, health and metrics, the web UI, and in
//! all-in-one mode the WebTransport listener in the same process.
//!
//! [`run`] takes sockets the caller bound and a shutdown future, so tests run servers on port 0.

mod config;
mod headers;
mod host;
mod meetings;
mod origin;
mod refused;
mod routes;
mod secret;
mod server;
mod state;
mod tokens;
mod upgrade;
mod websocket;

pub use config::{Command, Config};
pub use origin::{AllowedOrigin, AllowedOrigins, InvalidOrigin, Origin};
pub use server::{Error, Listeners, run};
pub use tokens::TokenCommand;
