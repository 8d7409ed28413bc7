//! The token secret when none is configured: `make run` needs no settings, yet the meeting API
//! mints tokens. Without `JWT_SECRET` and `JWT_SECRETS` the server makes a random 32-byte
//! secret on its first start, keeps it in `DATA_DIR/jwt-secret` (mode 0600) and reads it back
//! on later starts, so tokens survive a restart. The embedded WebTransport listener shares the
//! same [`Access`]. A split deployment (separate `webtransport-server` pods, several
//! instances) sets `JWT_SECRET` instead: a file in one pod's data directory is no shared secret.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use videocall_access::Access;
use videocall_access::cli::AccessArgs;
use videocall_access::token::MIN_SECRET_BYTES;

use crate::server::Error;

/// The file's name inside the data directory.
pub(crate) const FILE: &str = "jwt-secret";

/// Random bytes in a generated secret (kept as their base64url text, 43 characters).
const SECRET_BYTES: usize = 32;

/// Where the secret tokens are signed with came from, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// `JWT_SECRET` / `JWT_SECRETS`.
    Configured,
    /// Generated now and saved here.
    Created(PathBuf),
    /// Read back from here.
    Loaded(PathBuf),
}

/// The access policy of `args`; without a configured secret, one with the secret kept in
/// `data_dir` (made on the first start). `AUTH_REQUIRED` still needs a configured secret: it is
/// for tokens a product mints, which a secret made here could not check.
pub(crate) fn access(args: &AccessArgs, data_dir: &Path) -> Result<(Access, Source), Error> {
    if configured(args) || args.auth_required {
        return Ok((args.access()?, Source::Configured));
    }
    let (secret, source) = load_or_create(data_dir)?;
    let args = AccessArgs { jwt_secret: Some(secret), ..args.clone() };
    Ok((args.access()?, source))
}

/// The flags, with the kept secret filled in if there is one (never creating it): what
/// `actix-api token` signs with, so its tokens open the zero-config server's meetings.
pub(crate) fn existing(args: &AccessArgs, data_dir: &Path) -> Result<AccessArgs, Error> {
    let path = data_dir.join(FILE);
    if configured(args) || !path.exists() {
        return Ok(args.clone());
    }
    Ok(AccessArgs { jwt_secret: Some(read(&path)?), ..args.clone() })
}

fn configured(args: &AccessArgs) -> bool {
    let set = |value: &Option<String>| value.as_deref().is_some_and(|v| !v.is_empty());
    set(&args.jwt_secret) || set(&args.jwt_secrets)
}

fn load_or_create(data_dir: &Path) -> Result<(String, Source), Error> {
    let path = data_dir.join(FILE);
    let file_error = |source| Error::SecretFile { path: path.clone(), source };
    std::fs::create_dir_all(data_dir).map_err(file_error)?;
    let secret = URL_SAFE_NO_PAD.encode(rand::random::<[u8; SECRET_BYTES]>());
    match create_private(&path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())
                .and_then(|()| file.write_all(b"\n"))
                .and_then(|()| file.sync_all())
                .map_err(file_error)?;
            Ok((secret, Source::Created(path)))
        }
        // Made on an earlier start (or by another process starting at the same moment).
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            Ok((read(&path)?, Source::Loaded(path)))
        }
        Err(err) => Err(file_error(err)),
    }
}

/// Creates `path` readable by its owner only; fails if it exists.
fn create_private(path: &Path) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn read(path: &Path) -> Result<String, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| Error::SecretFile { path: path.to_owned(), source })?;
    let secret = text.trim();
    if secret.len() < MIN_SECRET_BYTES {
        return Err(Error::SecretFile {
            path: path.to_owned(),
            source: io::Error::new(
                io::ErrorKind::InvalidData,
                format!("holds {} bytes, fewer than {MIN_SECRET_BYTES}", secret.len()),
            ),
        });
    }
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the token secret is readable by others; chmod 600 it");
        }
    }
    Ok(secret.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn no_secret() -> AccessArgs {
        AccessArgs { auth_required: false, jwt_secret: None, jwt_secrets: None }
    }

    #[test]
    fn a_secret_is_made_once_kept_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("nested");
        let (first, source) = access(&no_secret(), &data).unwrap();
        assert_eq!(source, Source::Created(data.join(FILE)));
        let (again, source) = access(&no_secret(), &data).unwrap();
        assert_eq!(source, Source::Loaded(data.join(FILE)));
        // The same secret: what one start signed, the next one verifies.
        let tag = first.secrets().unwrap().tag("t", "m");
        assert!(again.secrets().unwrap().check_tag("t", "m", &tag));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(data.join(FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // `actix-api token` finds it too.
        assert!(existing(&no_secret(), &data).unwrap().jwt_secret.is_some());
    }

    #[test]
    fn a_configured_secret_wins_and_no_file_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let args = AccessArgs { jwt_secret: Some("s".repeat(32)), ..no_secret() };
        let (access, source) = access(&args, dir.path()).unwrap();
        assert_eq!(source, Source::Configured);
        assert!(access.secrets().is_some());
        assert!(!dir.path().join(FILE).exists());
        assert!(existing(&no_secret(), dir.path()).unwrap().jwt_secret.is_none());
    }

    #[test]
    fn auth_required_still_needs_a_configured_secret() {
        let dir = tempfile::tempdir().unwrap();
        let args = AccessArgs { auth_required: true, ..no_secret() };
        assert!(matches!(access(&args, dir.path()), Err(Error::Access(_))));
        assert!(!dir.path().join(FILE).exists());
    }

    #[test]
    fn a_short_kept_secret_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "short\n").unwrap();
        assert!(matches!(access(&no_secret(), dir.path()), Err(Error::SecretFile { .. })));
    }
}
