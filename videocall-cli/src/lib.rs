//! videocall-cli: a headless participant that streams a camera or a test pattern into a meeting
//! (libvpx VP8/VP9, libopus) and records meetings to IVF and Ogg Opus files.
//!
//! The binary is `src/main.rs`; this library holds everything it runs so tests and benchmarks
//! can use the parts directly.

pub mod args;
pub mod audio;
pub mod camera;
pub mod connect;
pub mod container;
pub mod info;
pub mod pacing;
pub mod record;
pub mod session;
pub mod stream;
pub mod video;
pub mod vpx;
