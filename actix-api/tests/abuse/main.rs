//! The server as an attacker with a socket sees it, over plain HTTP, WebSocket and WebTransport
//! on loopback: each test pins one limit or one refusal.

#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod http;
mod limits;
