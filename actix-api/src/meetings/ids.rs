//! Ids the meeting API makes up: meeting and user ids, and the handles of waiting-room entries.
//!
//! Generated ids are [`ID_LEN`] characters of `[A-Za-z0-9_-]` drawn from the OS's random
//! source: 72 bits, so nobody finds a meeting by guessing. A waiting-room entry is shown to its
//! guest as `{row id}.{tag}`, where the tag is an HMAC of the meeting and row under the token
//! secret: the row ids count up, and the handle is what lets its holder collect a token once
//! the host admits them, so it must not be guessable either.

use videocall_access::Secrets;
use videocall_types::{RoomId, UserId};

/// Characters in a generated id.
pub(crate) const ID_LEN: usize = 12;

/// The 64 characters of generated ids: six random bits each.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// What entry tags are made for (a tag for one purpose is no good for another).
const ENTRY_PURPOSE: &str = "waiting-entry";

fn random_id() -> String {
    rand::random::<[u8; ID_LEN]>()
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 63)]))
        .collect()
}

/// A fresh meeting id.
pub(crate) fn meeting() -> RoomId {
    // Every character of the alphabet is valid in an id.
    RoomId::new(&random_id()).unwrap_or_else(|_| unreachable!("generated ids are valid"))
}

/// A fresh user id.
pub(crate) fn user() -> UserId {
    UserId::new(&random_id()).unwrap_or_else(|_| unreachable!("generated ids are valid"))
}

/// The handle of waiting-room entry `row` of `meeting`, for its guest.
pub(crate) fn entry_handle(secrets: &Secrets, meeting: &str, row: i64) -> String {
    format!("{row}.{}", secrets.tag(ENTRY_PURPOSE, &format!("{meeting}/{row}")))
}

/// The row of a handle made by [`entry_handle`] for `meeting`; `None` for anything else.
pub(crate) fn entry_row(secrets: &Secrets, meeting: &str, handle: &str) -> Option<i64> {
    let (row, tag) = handle.split_once('.')?;
    let row: i64 = row.parse().ok()?;
    secrets.check_tag(ENTRY_PURPOSE, &format!("{meeting}/{row}"), tag).then_some(row)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn generated_ids_are_long_valid_and_different() {
        let ids: Vec<String> = (0..100).map(|_| meeting().to_string()).collect();
        for id in &ids {
            assert_eq!(id.len(), ID_LEN);
            assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        }
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        assert_eq!(user().as_str().len(), ID_LEN);
    }

    #[test]
    fn an_entry_handle_opens_its_own_entry_only() {
        let secrets = Secrets::new(Some(&"s".repeat(32)), None).unwrap().unwrap();
        let handle = entry_handle(&secrets, "m1", 7);
        assert!(handle.starts_with("7."));
        assert_eq!(entry_row(&secrets, "m1", &handle), Some(7));
        assert_eq!(entry_row(&secrets, "m2", &handle), None);
        let next = handle.replacen('7', "8", 1);
        assert_eq!(entry_row(&secrets, "m1", &next), None);
        for bad in ["7", "7.", "x.y", "", "."] {
            assert_eq!(entry_row(&secrets, "m1", bad), None, "{bad}");
        }
    }
}
