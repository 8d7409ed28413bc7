//! `bot`: the videocall load generator and echo bot.
//!
//! A load run ([`load::run`]) joins R rooms × (N publishers + M subscribers) through
//! `videocall-client` over WebSocket or WebTransport, sends paced synthetic media ([`shape`])
//! whose packets carry a send time and sequence ([`probe`]), and measures on every receiver what
//! arrived ([`stats`]): delivered rate, loss, duplicates, reordering and latency, reported by
//! [`report`]. Echo mode ([`echo`]) mirrors one participant's stream as N fake participants; churn
//! ([`churn`]) opens and closes one-person rooms while sampling the server's memory.

pub mod churn;
pub mod echo;
pub mod load;
pub mod participant;
pub mod probe;
pub mod report;
pub mod shape;
pub mod stats;
pub mod target;

pub use load::{LoadPlan, run};
pub use report::Report;
pub use shape::MediaShape;
pub use target::Server;
