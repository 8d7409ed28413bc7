//! The files a recording is written to: IVF for VP8/VP9 and Ogg Opus for audio, each with a
//! reader to check what was written.

pub mod ivf;
pub mod ogg_opus;
