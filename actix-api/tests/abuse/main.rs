//! Abuse tests: an anonymous client trying, as an attacker would over plain HTTP and WebSocket
//! on loopback, to crash a handler, make phantom participants or slip past the origin check.

#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod http;
