//! Encode benchmark (filled in below).
fn main() {}
