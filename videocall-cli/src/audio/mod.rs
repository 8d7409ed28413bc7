//! Sound: Opus coding and the microphone.

pub mod microphone;
pub mod opus;
