//! Command-line flags both server binaries share (with `#[command(flatten)]`).

use crate::{Access, AccessError, Secrets, SecretsError};

/// Who may connect.
#[derive(Debug, Clone, clap::Args)]
pub struct AccessArgs {
    /// Refuse every connection without a valid token (HTTP 401 on WebSocket, 403 on
    /// WebTransport) before any room work. Off by default: anyone with a meeting URL may join.
    #[arg(long, env = "AUTH_REQUIRED", default_value_t = false, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub auth_required: bool,
    /// HS256 secret (≥ 32 bytes) for join tokens without a `kid`.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// HS256 secrets by key id, `kid1:secret1,kid2:secret2`, for rotation: a token's `kid`
    /// header picks one; new tokens are signed with the first.
    #[arg(long, env = "JWT_SECRETS", hide_env_values = true)]
    pub jwt_secrets: Option<String>,
}

/// A setting that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum AccessArgsError {
    /// A secret is too short or `JWT_SECRETS` does not parse.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    /// `AUTH_REQUIRED` without secrets.
    #[error(transparent)]
    Access(#[from] AccessError),
}

impl AccessArgs {
    /// The policy these flags set.
    pub fn access(&self) -> Result<Access, AccessArgsError> {
        let secrets = Secrets::new(self.jwt_secret.as_deref(), self.jwt_secrets.as_deref())?;
        Ok(Access::new(secrets, self.auth_required)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        access: AccessArgs,
    }

    fn parse(args: &[&str]) -> Result<Access, AccessArgsError> {
        let mut argv = vec!["x"];
        argv.extend_from_slice(args);
        Flags::try_parse_from(argv).unwrap().access.access()
    }

    #[test]
    fn the_default_is_open_without_tokens() {
        let access = parse(&[]).unwrap();
        assert!(!access.required() && access.secrets().is_none());
    }

    #[test]
    fn auth_required_needs_a_long_enough_secret() {
        let secret = "s".repeat(32);
        assert!(matches!(
            parse(&["--auth-required", "true"]),
            Err(AccessArgsError::Access(AccessError::NoSecrets))
        ));
        assert!(matches!(
            parse(&["--auth-required", "1", "--jwt-secret", "short"]),
            Err(AccessArgsError::Secrets(SecretsError::TooShort { len: 5, .. }))
        ));
        let access = parse(&["--auth-required", "yes", "--jwt-secret", &secret]).unwrap();
        assert!(access.required() && access.secrets().is_some());
        let keyed = format!("k1:{secret},k2:{secret}");
        assert!(parse(&["--auth-required", "on", "--jwt-secrets", &keyed]).unwrap().required());
    }
}
