//! Pictures: the I420 frame type, camera format conversion, and the test pattern.

pub mod convert;
pub mod frame;
pub mod pattern;
