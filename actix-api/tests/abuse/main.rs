//! The server as an attacker with a socket sees it: each test pins one limit or one refusal.

#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod limits;
