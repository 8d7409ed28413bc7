//! The admission policy both servers share.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use videocall_types::{DisplayName, RoomId, UserId};

use crate::token::{Secrets, TokenError};

/// How a server admits connections; clones share the counters of refusals.
#[derive(Debug, Clone)]
pub struct Access {
    secrets: Option<Secrets>,
    required: bool,
    /// Refusals so far, indexed like [`Denied::LABELS`].
    denied: Arc<[AtomicU64; Denied::LABELS.len()]>,
}

/// A setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// `AUTH_REQUIRED` without any secret to check tokens with.
    #[error("AUTH_REQUIRED is on but neither JWT_SECRET nor JWT_SECRETS is set")]
    NoSecrets,
}

/// Who joins, as the relay should know them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The user id stamped on everything they send.
    pub user: UserId,
    /// The meeting they join.
    pub meeting: RoomId,
    /// What others see.
    pub name: DisplayName,
    /// May run the meeting.
    pub host: bool,
    /// May send media.
    pub publish: bool,
    /// Admitted by a token (not by the URL alone).
    pub token: bool,
}

/// Why a connection is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// `AUTH_REQUIRED` is on and no token came.
    #[error("this server requires a token: connect to /lobby?token=...")]
    TokenRequired,
    /// No token and no `/{user}/{meeting}` path: nothing says who joins where.
    #[error("no token and no /lobby/{{user}}/{{meeting}} path")]
    NoIdentity,
    /// A token came but this server has no secret to check it with.
    #[error("this server does not accept tokens (no JWT_SECRET is set)")]
    TokensDisabled,
    /// The token is not valid.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The path names another user or meeting than the token.
    #[error("the token is for another {0} than the URL names")]
    Mismatch(&'static str),
}

impl Denied {
    /// A short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::TokenRequired | Self::NoIdentity => "token_missing",
            Self::TokensDisabled => "tokens_disabled",
            Self::Token(TokenError::Expired) => "token_expired",
            Self::Token(_) => "token_invalid",
            Self::Mismatch(_) => "token_mismatch",
        }
    }

    /// Every label [`Denied::label`] returns, for exhaustive metrics.
    pub const LABELS: [&'static str; 5] =
        ["token_missing", "tokens_disabled", "token_expired", "token_invalid", "token_mismatch"];
}

impl Access {
    /// Anyone may join under the ids of the URL; tokens are refused (nothing to check them with).
    pub fn open() -> Self {
        Self { secrets: None, required: false, denied: Arc::default() }
    }

    /// A policy checking tokens with `secrets`, requiring one on every connection if
    /// `required`.
    pub fn new(secrets: Option<Secrets>, required: bool) -> Result<Self, AccessError> {
        if required && secrets.is_none() {
            return Err(AccessError::NoSecrets);
        }
        Ok(Self { secrets, required, denied: Arc::default() })
    }

    /// Whether every connection needs a token.
    pub fn required(&self) -> bool {
        self.required
    }

    /// The secrets tokens are checked (and minted) with, if any.
    pub fn secrets(&self) -> Option<&Secrets> {
        self.secrets.as_ref()
    }

    /// Admits a lobby request at `now` (seconds since the Unix epoch): `path` is the
    /// `/{user}/{meeting}` of the URL if it has one, `token` its `token` query parameter, and
    /// `name` its `name` query parameter (open mode only; a token brings its own name). A
    /// refusal is counted for [`Access::render_metrics`].
    pub fn admit(
        &self,
        path: Option<(UserId, RoomId)>,
        token: Option<&str>,
        name: Option<DisplayName>,
        now: u64,
    ) -> Result<Grant, Denied> {
        let admitted = self.check(path, token, name, now);
        if let Err(denied) = &admitted {
            let index = Denied::LABELS.iter().position(|l| *l == denied.label()).unwrap_or(0);
            self.denied[index].fetch_add(1, Relaxed);
        }
        admitted
    }

    /// Appends the refusal counters in Prometheus text format to `out`.
    pub fn render_metrics(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP videocall_access_denied_total Connections refused by the token policy, by reason.\n\
             # TYPE videocall_access_denied_total counter"
        );
        for (label, count) in Denied::LABELS.iter().zip(self.denied.iter()) {
            let count = count.load(Relaxed);
            let _ = writeln!(out, "videocall_access_denied_total{{reason=\"{label}\"}} {count}");
        }
    }

    fn check(
        &self,
        path: Option<(UserId, RoomId)>,
        token: Option<&str>,
        name: Option<DisplayName>,
        now: u64,
    ) -> Result<Grant, Denied> {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            if self.required {
                return Err(Denied::TokenRequired);
            }
            let (user, meeting) = path.ok_or(Denied::NoIdentity)?;
            let name = name.unwrap_or_else(|| DisplayName::of_user(&user));
            return Ok(Grant { user, meeting, name, host: false, publish: true, token: false });
        };
        let secrets = self.secrets.as_ref().ok_or(Denied::TokensDisabled)?;
        let claims = secrets.verify(token, now)?;
        if let Some((user, meeting)) = path {
            if user != claims.user {
                return Err(Denied::Mismatch("user"));
            }
            if meeting != claims.meeting {
                return Err(Denied::Mismatch("meeting"));
            }
        }
        Ok(Grant {
            user: claims.user,
            meeting: claims.meeting,
            name: claims.name,
            host: claims.host,
            publish: claims.publish,
            token: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::Claims;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const NOW: u64 = 1_800_000_000;

    fn ids(user: &str, meeting: &str) -> Option<(UserId, RoomId)> {
        Some((UserId::new(user).unwrap(), RoomId::new(meeting).unwrap()))
    }

    fn token(user: &str, meeting: &str, publish: bool) -> String {
        let secrets = Secrets::new(Some(SECRET), None).unwrap().unwrap();
        secrets.mint(&Claims {
            user: UserId::new(user).unwrap(),
            name: DisplayName::new("Zoë").unwrap(),
            meeting: RoomId::new(meeting).unwrap(),
            issued_at: NOW,
            expires_at: NOW + 60,
            host: true,
            publish,
        })
    }

    fn with_secret(required: bool) -> Access {
        Access::new(Secrets::new(Some(SECRET), None).unwrap(), required).unwrap()
    }

    #[test]
    fn open_mode_admits_the_url_and_its_name() {
        let grant = Access::open().admit(ids("ann", "m1"), None, None, NOW).unwrap();
        assert_eq!((grant.user.as_str(), grant.name.as_str()), ("ann", "ann"));
        assert!(grant.publish && !grant.host && !grant.token);
        let named = DisplayName::new("Ann Lee").ok();
        let grant = Access::open().admit(ids("ann", "m1"), Some(""), named, NOW).unwrap();
        assert_eq!(grant.name.as_str(), "Ann Lee");
        assert_eq!(Access::open().admit(None, None, None, NOW), Err(Denied::NoIdentity));
    }

    #[test]
    fn a_token_brings_identity_name_and_rights() {
        let grant = with_secret(false).admit(None, Some(&token("zoe", "m1", false)), None, NOW);
        let grant = grant.unwrap();
        assert_eq!((grant.user.as_str(), grant.meeting.as_str()), ("zoe", "m1"));
        assert_eq!(grant.name.as_str(), "Zoë");
        assert!(grant.host && !grant.publish && grant.token);
        // The path may repeat the token's ids, not contradict them.
        let t = token("zoe", "m1", true);
        assert!(with_secret(true).admit(ids("zoe", "m1"), Some(&t), None, NOW).is_ok());
        let other_meeting = with_secret(true).admit(ids("zoe", "m2"), Some(&t), None, NOW);
        assert_eq!(other_meeting, Err(Denied::Mismatch("meeting")));
        let other_user = with_secret(false).admit(ids("eve", "m1"), Some(&t), None, NOW);
        assert_eq!(other_user, Err(Denied::Mismatch("user")));
    }

    #[test]
    fn auth_required_refuses_the_url_alone_and_any_bad_token() {
        let required = with_secret(true);
        assert_eq!(required.admit(ids("ann", "m1"), None, None, NOW), Err(Denied::TokenRequired));
        let t = token("zoe", "m1", true);
        let expired = required.admit(None, Some(&t), None, NOW + 3600);
        assert_eq!(expired.as_ref().map_err(Denied::label), Err("token_expired"));
        // Open mode still checks a token it is given.
        let bad = with_secret(false).admit(ids("zoe", "m1"), Some("x.y.z"), None, NOW);
        assert_eq!(bad.map_err(|d| d.label()), Err("token_invalid"));
        let disabled = Access::open().admit(ids("zoe", "m1"), Some(&t), None, NOW);
        assert_eq!(disabled, Err(Denied::TokensDisabled));
        let mut metrics = String::new();
        required.clone().render_metrics(&mut metrics);
        assert!(metrics.contains("videocall_access_denied_total{reason=\"token_missing\"} 1\n"));
        assert!(metrics.contains("videocall_access_denied_total{reason=\"token_expired\"} 1\n"));
        assert!(metrics.contains("videocall_access_denied_total{reason=\"token_invalid\"} 0\n"));
        assert_eq!(Access::new(None, true).unwrap_err(), AccessError::NoSecrets);
    }
}
