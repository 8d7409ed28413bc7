//! Who may join which meeting.
//!
//! Both servers admit a connection the same way: [`Access::admit`] reads the lobby request (an
//! optional `/lobby/{user}/{meeting}` path, an optional `token` and an optional display name)
//! and answers with a [`Grant`] (the identity the relay stamps, the name others see, and what
//! the participant may do) or a [`Denied`] the server turns into an HTTP status before any
//! room work.
//!
//! Open mode (the default) lets anyone in under the ids of the URL, as the old protocol did; a
//! token, when one is given, must be valid even then. With `AUTH_REQUIRED` every connection
//! needs a valid token ([`token`]). A [`gate::Gate`] then asks the meetings store whether the
//! meeting still takes the join (ended, removed users).

#[cfg(feature = "cli")]
pub mod cli;
pub mod gate;
mod policy;
pub mod token;

pub use gate::{Barred, Gate, Pass, Stay};
pub use policy::{Access, AccessError, Denied, Grant};
pub use token::{Claims, Secrets, SecretsError, TokenError, unix_now};
