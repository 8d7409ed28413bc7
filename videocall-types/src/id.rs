//! Validated identifiers: user ids, room ids and server-assigned session ids.
//!
//! User and room ids end up inside bus subjects and URLs, so they are restricted to short tokens
//! that cannot change a subject's meaning: ASCII letters, digits, `_` and `-`, 1 to 64 of them.

use std::fmt;

/// The longest user or room id accepted, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// Why a user or room id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id is empty.
    #[error("{kind} id is empty")]
    Empty {
        /// `"user"` or `"room"`.
        kind: &'static str,
    },
    /// The id is longer than [`MAX_ID_LEN`].
    #[error("{kind} id is {len} bytes long; the limit is {MAX_ID_LEN}")]
    TooLong {
        /// `"user"` or `"room"`.
        kind: &'static str,
        /// The length that was given.
        len: usize,
    },
    /// The id contains a character outside `[A-Za-z0-9_-]`.
    #[error("{kind} id contains {found:?}; only letters, digits, '_' and '-' are allowed")]
    BadChar {
        /// `"user"` or `"room"`.
        kind: &'static str,
        /// The first offending character.
        found: char,
    },
}

fn validate(kind: &'static str, raw: &str) -> Result<String, IdError> {
    // The old protocol turned spaces into underscores; keep accepting such names.
    let id: String = raw.chars().map(|c| if c == ' ' { '_' } else { c }).collect();
    if id.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if let Some(found) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(IdError::BadChar { kind, found });
    }
    if id.len() > MAX_ID_LEN {
        return Err(IdError::TooLong { kind, len: id.len() });
    }
    Ok(id)
}

macro_rules! token_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates `raw` (spaces become `_`, as in the old protocol).
            pub fn new(raw: &str) -> Result<Self, IdError> {
                validate($kind, raw).map(Self)
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }
    };
}

token_id!(
    /// A user id as given in the lobby URL (the "email" of the old protocol).
    UserId,
    "user"
);
token_id!(
    /// A room (meeting) id as given in the lobby URL.
    RoomId,
    "room"
);

/// The longest display name accepted, in characters (not bytes).
pub const MAX_NAME_CHARS: usize = 64;

/// Why a display name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing but white space.
    #[error("display name is empty")]
    Empty,
    /// More than [`MAX_NAME_CHARS`] characters.
    #[error("display name is {chars} characters long; the limit is {MAX_NAME_CHARS}")]
    TooLong {
        /// The length that was given, in characters.
        chars: usize,
    },
    /// A control character (line breaks, escapes, bidirectional overrides).
    #[error("display name contains the control character {found:?}")]
    Control {
        /// The first offending character.
        found: char,
    },
}

/// What people call a participant: free Unicode text (accents, scripts, emoji), 1 to
/// [`MAX_NAME_CHARS`] characters, trimmed, without control characters. Unlike ids it never
/// reaches a bus subject or a URL path; it is shown to people, so characters that could forge
/// lines or reorder the text around it (C0/C1 controls and Unicode's bidirectional overrides
/// and isolates) are refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DisplayName(String);

impl DisplayName {
    /// Validates `raw`, trimmed of surrounding white space.
    pub fn new(raw: &str) -> Result<Self, NameError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if let Some(found) = name.chars().find(|&c| c.is_control() || is_bidi_control(c)) {
            return Err(NameError::Control { found });
        }
        let chars = name.chars().count();
        if chars > MAX_NAME_CHARS {
            return Err(NameError::TooLong { chars });
        }
        Ok(Self(name.to_owned()))
    }

    /// The name of someone known only by their user id.
    pub fn of_user(user: &UserId) -> Self {
        Self(user.as_str().to_owned())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Unicode's explicit bidirectional formatting characters (UAX #9): embeddings, overrides,
/// isolates and marks that would reorder what is shown next to the name.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A server-assigned connection id, unique across server instances; never 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(u64);

impl SessionId {
    /// Wraps a raw id; `None` for 0, which the wire format uses for "not set".
    pub fn new(raw: u64) -> Option<Self> {
        (raw != 0).then_some(Self(raw))
    }

    /// The raw id as carried on the wire.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn accepts_tokens_and_maps_spaces() {
        assert_eq!(UserId::new("alice_1-b").unwrap().as_str(), "alice_1-b");
        assert_eq!(RoomId::new("team standup").unwrap().as_str(), "team_standup");
        assert!(RoomId::new(&"r".repeat(MAX_ID_LEN)).is_ok());
    }

    #[test]
    fn refuses_what_could_change_a_subject() {
        for bad in ["*", ">", "a.b", "room.*", "a>b", "tab\t", "ü", "a/b", "%2A"] {
            let err = RoomId::new(bad).unwrap_err();
            assert!(matches!(err, IdError::BadChar { kind: "room", .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn refuses_empty_and_too_long() {
        assert_eq!(UserId::new(""), Err(IdError::Empty { kind: "user" }));
        assert_eq!(UserId::new(&"u".repeat(65)), Err(IdError::TooLong { kind: "user", len: 65 }));
        assert!(UserId::new(&"u".repeat(64)).is_ok());
    }

    #[test]
    fn errors_read_well() {
        let err = RoomId::new("a.b").unwrap_err().to_string();
        assert_eq!(err, "room id contains '.'; only letters, digits, '_' and '-' are allowed");
    }

    #[test]
    fn display_names_are_free_text_within_limits() {
        assert_eq!(DisplayName::new("  José Müller 🎥 ").unwrap().as_str(), "José Müller 🎥");
        assert_eq!(DisplayName::new("山田太郎").unwrap().as_str(), "山田太郎");
        // 64 characters of two bytes each are fine: the limit counts characters.
        assert!(DisplayName::new(&"é".repeat(MAX_NAME_CHARS)).is_ok());
        assert_eq!(DisplayName::new(&"é".repeat(65)), Err(NameError::TooLong { chars: 65 }));
        assert_eq!(DisplayName::new(" \t "), Err(NameError::Empty));
        assert_eq!(DisplayName::new("a\nb"), Err(NameError::Control { found: '\n' }));
        assert_eq!(
            DisplayName::new("evil\u{202E}gnp.exe"),
            Err(NameError::Control { found: '\u{202E}' })
        );
        assert_eq!(DisplayName::of_user(&UserId::new("ann").unwrap()).as_str(), "ann");
    }

    #[test]
    fn session_zero_is_unset() {
        assert_eq!(SessionId::new(0), None);
        assert_eq!(SessionId::new(7).map(SessionId::get), Some(7));
    }
}
