//! API keys: created with a secret shown once, verified by it, revoked for good.

use videocall_store::StoreError;
use videocall_store::testing::Scratch;

use crate::{on_both_backends, open};

async fn api_keys_verify_until_revoked(scratch: &Scratch) {
    let store = open(scratch).await;
    let (key, secret) = store.create_api_key("ci").await.expect("create");
    let (other, other_secret) = store.create_api_key("scheduler").await.expect("create");
    assert!(secret.starts_with("vc_") && secret.len() >= 3 + 43, "{secret}");
    assert_ne!(secret, other_secret);
    assert_eq!((key.name.as_str(), key.revoked_at), ("ci", None));

    assert_eq!(store.verify_api_key(&secret).await.expect("verify"), Some(key.clone()));
    assert_eq!(store.verify_api_key(&other_secret).await.expect("verify"), Some(other.clone()));
    let mut wrong = secret.clone();
    let last = if wrong.ends_with('A') { "B" } else { "A" };
    wrong.replace_range(wrong.len() - 1.., last);
    assert_eq!(store.verify_api_key(&wrong).await.expect("verify"), None);
    assert_eq!(store.verify_api_key(&secret[3..]).await.expect("unprefixed"), None);
    assert_eq!(store.verify_api_key("").await.expect("empty"), None);

    let revoked = store.revoke_api_key(key.id).await.expect("revoke");
    assert!(revoked.revoked_at.is_some());
    assert_eq!(store.verify_api_key(&secret).await.expect("verify"), None);
    assert_eq!(store.verify_api_key(&other_secret).await.expect("verify"), Some(other.clone()));
    assert_eq!(store.revoke_api_key(key.id).await.expect("again"), revoked);
    let unknown = store.revoke_api_key(other.id + 100).await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
    assert_eq!(store.api_keys().await.expect("list"), vec![revoked, other]);
}
on_both_backends!(api_keys_verify_until_revoked);
