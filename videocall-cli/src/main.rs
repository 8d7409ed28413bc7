//! videocall-cli binary.
fn main() {}
